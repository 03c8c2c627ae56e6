// Shared by the API's route files: who is calling, JSON in and out, errors. Private to src/web.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "web/api.hpp"
#include "web/api_json.hpp"

namespace faxd::web::api {

struct Context {
    core::Caller caller;
    std::shared_ptr<const core::Directory> directory;
};

// The caller, or the error response (401, 403, 503).
std::variant<Context, HttpResponse> Authenticate(const HttpRequest& request, ApiBackend& backend);

HttpResponse Json(int status, const nlohmann::json& body);
// The HTTP error for a backend error: kNotFound 404, kInvalidArgument 400/409 (as `conflict` says), ...
HttpResponse FromError(const base::Error& error, bool invalid_is_conflict = false);

// A JSON object body; an empty body is {} when `optional`. Fields outside `allowed` are refused.
std::variant<nlohmann::json, HttpResponse> ParseObject(const HttpRequest& request,
                                                       const std::vector<std::string_view>& allowed,
                                                       bool optional = false);

// Normalises a fax number as typed ("+49 (30) 123-45") to digits with an optional leading '+'.
std::optional<std::string> NormalizeNumber(std::string_view text);

void AddFaxRoutes(Router& router, ApiBackend& backend, EventHub& events, const ApiOptions& options);
void AddAdminRoutes(Router& router, ApiBackend& backend, EventHub& events, const ApiOptions& options);

}  // namespace faxd::web::api
