#include "web/api_context.hpp"

#include "web/credentials.hpp"

namespace faxd::web::api {

using nlohmann::json;

HttpResponse Json(int status, const json& body) {
    HttpResponse response;
    response.status = status;
    response.body = body.dump();
    return response;
}

HttpResponse FromError(const base::Error& error, bool invalid_is_conflict) {
    using base::ErrorCode;
    switch (error.code) {
        case ErrorCode::kNotFound:
            return JsonError(404, "not_found", error.message);
        case ErrorCode::kInvalidArgument:
            return invalid_is_conflict ? JsonError(409, "conflict", error.message)
                                       : JsonError(400, "invalid_field", error.message);
        case ErrorCode::kMalformed:
            return JsonError(422, "document_error", error.message);
        case ErrorCode::kUnsupported:
            return JsonError(415, "unsupported_media_type", error.message);
        case ErrorCode::kLimitExceeded:
            return JsonError(413, "payload_too_large", error.message);
        case ErrorCode::kIo:
        case ErrorCode::kTimeout:
            return JsonError(503, "unavailable", error.message);
        default:
            return JsonError(500, "internal", error.ToString());
    }
}

std::variant<Context, HttpResponse> Authenticate(const HttpRequest& request, ApiBackend& backend) {
    auto unauthorized = [](std::string_view message) {
        HttpResponse response = JsonError(401, "unauthorized", message);
        response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"faxd\"");
        return response;
    };
    const std::string_view header = request.Header("authorization");
    if (header.empty()) return unauthorized("authentication required: Authorization: Bearer <token>");
    auto directory = backend.Directory();
    if (!directory) return FromError(directory.error());
    const core::User* user = nullptr;
    if (auto token = ParseBearerAuthorization(header)) {
        auto found = backend.accounts().FindToken(TokenHash(*token), backend.Now());
        if (!found) {
            if (found.error().code == base::ErrorCode::kNotFound)
                return unauthorized("unknown or revoked token");
            return FromError(found.error());
        }
        user = (*directory)->FindUser(found->user);
    } else if (auto basic = ParseBasicAuthorization(header)) {
        for (const core::User& candidate : (*directory)->users) {
            if (candidate.login == basic->login) user = &candidate;
        }
        if (!user) return unauthorized("wrong login or password");
        auto hash = backend.accounts().PasswordHash(user->id);
        if (!hash) return FromError(hash.error());
        if (!VerifyPassword(*hash, basic->password)) return unauthorized("wrong login or password");
    } else {
        return unauthorized("unsupported Authorization scheme (use Bearer or Basic)");
    }
    if (!user) return unauthorized("the token's user no longer exists");
    Context context{core::Caller{*user, core::EffectivePermission(*user, backend.DefaultPermission())},
                    *directory};
    if (!context.caller.MayUseApi()) {
        return JsonError(403, "forbidden", "user '" + user->login + "' has permission level 0");
    }
    return context;
}

std::variant<json, HttpResponse> ParseObject(const HttpRequest& request,
                                             const std::vector<std::string_view>& allowed, bool optional) {
    if (request.body.empty() && optional) return json::object();
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded()) return JsonError(400, "bad_request", "the body is not valid JSON");
    if (!body.is_object()) return JsonError(400, "bad_request", "the body must be a JSON object");
    for (const auto& [key, value] : body.items()) {
        bool known = false;
        for (std::string_view name : allowed) known = known || key == name;
        if (!known) return JsonError(400, "bad_request", "unknown field '" + key + "'");
    }
    return body;
}

std::optional<std::string> NormalizeNumber(std::string_view text) {
    std::string digits;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c >= '0' && c <= '9') {
            digits += c;
        } else if (c == '+' && digits.empty() && text.find_first_not_of(" \t") == i) {
            digits += c;
        } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' && c != '/') {
            return std::nullopt;
        }
    }
    const std::size_t count = digits.size() - (digits.starts_with('+') ? 1 : 0);
    if (count == 0 || count > 32) return std::nullopt;
    return digits;
}

}  // namespace faxd::web::api

namespace faxd::web {

void AddApiRoutes(Router& router, ApiBackend& backend, EventHub& events, ApiOptions options) {
    router.Add("GET", "/api/v1/health", [version = options.version](HttpRequest&) {
        return api::Json(200, {{"status", "ok"}, {"version", version}});
    });
    router.Add("GET", "/api/v1/openapi.json", [text = options.openapi_json](HttpRequest&) {
        HttpResponse response;
        response.body = text;
        return response;
    });
    api::AddFaxRoutes(router, backend, events, options);
    api::AddAdminRoutes(router, backend, events, options);
}

}  // namespace faxd::web
