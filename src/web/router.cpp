// HttpRequest accessors, JSON errors and the method+path router.
#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/log.hpp"
#include "web/http_server.hpp"

namespace faxd::web {
namespace {

// "/api/v1/faxes/{id}" -> {"api", "v1", "faxes", "{id}"}; "/" -> {""}.
std::vector<std::string> SplitSegments(std::string_view path) {
    if (path.starts_with('/')) path.remove_prefix(1);
    std::vector<std::string> segments;
    while (true) {
        const std::size_t slash = path.find('/');
        segments.emplace_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return segments;
}

bool IsParameter(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Fills `params` when every segment matches.
bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
             std::map<std::string, std::string>& params) {
    if (pattern.size() != segments.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (IsParameter(pattern[i])) {
            if (segments[i].empty()) return false;
        } else if (pattern[i] != segments[i]) {
            return false;
        }
    }
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (IsParameter(pattern[i])) params[pattern[i].substr(1, pattern[i].size() - 2)] = segments[i];
    }
    return true;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
    const auto found = headers.find(std::string(name));
    return found == headers.end() ? std::string_view() : std::string_view(found->second);
}

std::optional<std::string> HttpRequest::Query(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (key == name) return value;
    }
    return std::nullopt;
}

HttpResponse JsonError(int status, std::string_view code, std::string_view message) {
    const nlohmann::json body = {{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}};
    HttpResponse response;
    response.status = status;
    // Messages may quote client input: replace invalid UTF-8 instead of throwing.
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return response;
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
    routes_.push_back(Route{std::move(method), SplitSegments(pattern), std::move(handler)});
}

HttpResponse Router::Dispatch(HttpRequest& request) const {
    const std::vector<std::string> segments = SplitSegments(request.path);
    std::vector<std::string> allowed;  // methods of the routes whose path matches
    for (const Route& route : routes_) {
        std::map<std::string, std::string> params;
        if (!Matches(route.segments, segments, params)) continue;
        if (route.method != request.method) {
            if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
                allowed.push_back(route.method);
            }
            continue;
        }
        request.params = std::move(params);
        try {
            return route.handler(request);
        } catch (const std::exception& error) {
            base::GetLogger("http")->error("{} {} failed: {}", request.method, request.path, error.what());
        } catch (...) {
            base::GetLogger("http")->error("{} {} failed with an unknown exception", request.method,
                                           request.path);
        }
        return JsonError(500, "internal", "internal error");
    }
    if (allowed.empty()) return JsonError(404, "not_found", "no such path: " + request.path);
    HttpResponse response =
        JsonError(405, "method_not_allowed", request.method + " is not allowed on " + request.path);
    std::string allow_header;
    for (const std::string& method : allowed) allow_header += (allow_header.empty() ? "" : ", ") + method;
    response.headers.emplace_back("Allow", allow_header);
    return response;
}

}  // namespace faxd::web
