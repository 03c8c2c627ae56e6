#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace faxd::base {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
    switch (level) {
        case LogLevel::kTrace: return spdlog::level::trace;
        case LogLevel::kDebug: return spdlog::level::debug;
        case LogLevel::kInfo: return spdlog::level::info;
        case LogLevel::kWarn: return spdlog::level::warn;
        case LogLevel::kError: return spdlog::level::err;
        case LogLevel::kOff: return spdlog::level::off;
    }
    return spdlog::level::info;
}

}  // namespace

void ConfigureLogging(LogLevel level) {
    spdlog::set_level(ToSpdlog(level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
}

Logger GetLogger(std::string_view name) {
    const std::string key(name);
    if (auto existing = spdlog::get(key)) return existing;
    try {
        // Logs go to stderr so that stdout stays clean for machine-readable output (faxctl --json).
        return spdlog::stderr_color_mt(key);
    } catch (const spdlog::spdlog_ex&) {
        return spdlog::get(key);  // another thread created it first
    }
}

bool ParseLogLevel(std::string_view text, LogLevel* level) {
    if (text == "trace") *level = LogLevel::kTrace;
    else if (text == "debug") *level = LogLevel::kDebug;
    else if (text == "info") *level = LogLevel::kInfo;
    else if (text == "warn" || text == "warning") *level = LogLevel::kWarn;
    else if (text == "error") *level = LogLevel::kError;
    else if (text == "off") *level = LogLevel::kOff;
    else return false;
    return true;
}

}  // namespace faxd::base
