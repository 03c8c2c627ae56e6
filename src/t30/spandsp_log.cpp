#include <cstring>
#include <mutex>
#include <string_view>

#include "base/log.hpp"
#include "t30/spandsp.hpp"

namespace faxd::t30 {
namespace {

// spandsp 0.0.6's handler has no user data, so lines are attributed to calls by their tag text.
void ForwardLine(int level, const char* text) {
    static const auto logger = base::GetLogger("spandsp");
    std::string_view line(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    const int severity = level & SPAN_LOG_SEVERITY_MASK;
    if (severity <= SPAN_LOG_ERROR) logger->error("{}", line);
    else if (severity <= SPAN_LOG_PROTOCOL_WARNING) logger->warn("{}", line);
    else if (severity <= SPAN_LOG_FLOW_3) logger->debug("{}", line);
    else logger->trace("{}", line);
}

void ForwardError(const char* text) { ForwardLine(SPAN_LOG_ERROR, text); }

}  // namespace

void InstallSpandspLogging() {
    static std::once_flag once;
    std::call_once(once, [] {
        span_set_message_handler(&ForwardLine);
        span_set_error_handler(&ForwardError);
    });
}

void ConfigureLogging(logging_state_t* state, const std::string& tag) {
    static const auto logger = base::GetLogger("spandsp");
    int level = SPAN_LOG_PROTOCOL_WARNING;
    if (logger->should_log(spdlog::level::trace)) level = SPAN_LOG_DEBUG;
    else if (logger->should_log(spdlog::level::debug)) level = SPAN_LOG_FLOW;
    span_log_set_level(state, level | SPAN_LOG_SHOW_TAG | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_SEVERITY);
    if (!tag.empty()) span_log_set_tag(state, tag.c_str());
    span_log_set_message_handler(state, &ForwardLine);
    span_log_set_error_handler(state, &ForwardError);
}

}  // namespace faxd::t30
