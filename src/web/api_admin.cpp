// /api/v1: the caller, users and their tokens, entities, groups, routes, settings, the queue, webhooks.
#include <charconv>

#include "web/api_context.hpp"
#include "web/credentials.hpp"

namespace faxd::web::api {
namespace {

using nlohmann::json;

// Runs `body` for an authenticated caller; `admin` demands permission level 10.
template <typename Body>
Handler Authed(ApiBackend& backend, bool admin, Body body) {
    return [&backend, admin, body](HttpRequest& request) -> HttpResponse {
        auto auth = Authenticate(request, backend);
        if (auto* error = std::get_if<HttpResponse>(&auth)) return *error;
        const Context& context = std::get<Context>(auth);
        if (admin && !context.caller.IsAdministrator())
            return JsonError(403, "forbidden",
                             "administrators only (user '" + context.caller.user.login + "')");
        return body(request, context);
    };
}

std::optional<std::int64_t> ParseId(std::string_view text) {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
    return value;
}

// The user the path names ("me" is the caller), if the caller may manage them.
std::variant<core::User, HttpResponse> PathUser(HttpRequest& request, const Context& context) {
    const std::string& text = request.params["id"];
    std::optional<std::int64_t> id =
        text == "me" ? std::optional<std::int64_t>(context.caller.user.id) : ParseId(text);
    const HttpResponse not_found = JsonError(404, "not_found", "no user '" + text + "'");
    if (!id) return not_found;
    if (*id != context.caller.user.id && !context.caller.IsAdministrator()) return not_found;
    const core::User* user = context.directory->FindUser(*id);
    if (!user) return not_found;
    return *user;
}

const std::vector<std::string_view> kUserFields = {
    "login",           "name",         "email",      "fax_email",         "numbers",    "send_enabled",
    "receive_enabled", "fax_to_email", "attach_fax", "attachment_format", "cover_page", "language",
    "permission",      "password",     "mail_pin"};

// Applies the JSON fields to `user`; returns an error response for a wrong value. The password is returned
// separately (hashed by the caller).
std::optional<HttpResponse> ApplyUserFields(const json& body, core::User& user,
                                            std::optional<std::string>& password) {
    try {
        if (body.contains("login")) user.login = body["login"].get<std::string>();
        if (body.contains("name")) user.name = body["name"].get<std::string>();
        if (body.contains("email")) user.email = body["email"].get<std::string>();
        if (body.contains("fax_email")) user.fax_email = body["fax_email"].get<std::string>();
        if (body.contains("numbers")) {
            user.numbers.clear();
            for (const json& number : body["numbers"]) {
                auto normalized = NormalizeNumber(number.get<std::string>());
                if (!normalized)
                    return JsonError(400, "invalid_field",
                                     "numbers: '" + number.get<std::string>() + "' is not a number");
                user.numbers.push_back(*normalized);
            }
        }
        if (body.contains("send_enabled")) user.send_enabled = body["send_enabled"].get<bool>();
        if (body.contains("receive_enabled")) user.receive_enabled = body["receive_enabled"].get<bool>();
        if (body.contains("fax_to_email")) user.fax_to_email = body["fax_to_email"].get<bool>();
        if (body.contains("attach_fax")) user.attach_fax = body["attach_fax"].get<bool>();
        if (body.contains("attachment_format")) {
            const std::string format = body["attachment_format"].get<std::string>();
            if (format != "pdf" && format != "tiff")
                return JsonError(400, "invalid_field", "attachment_format: pdf or tiff");
            user.attachment_format =
                format == "pdf" ? core::AttachmentFormat::kPdf : core::AttachmentFormat::kTiff;
        }
        if (body.contains("cover_page")) user.cover_page = body["cover_page"].get<std::string>();
        if (body.contains("language")) user.language = body["language"].get<std::string>();
        if (body.contains("permission")) {
            if (body["permission"].is_null()) {
                user.permission.reset();
            } else {
                const int level = body["permission"].get<int>();
                if (level != 0 && level != 2 && level != 10)
                    return JsonError(400, "invalid_field", "permission: 0, 2, 10 or null");
                user.permission = static_cast<core::Permission>(level);
            }
        }
        if (body.contains("password")) password = body["password"].get<std::string>();
        if (body.contains("mail_pin")) {
            // Write-only, like the password: the PIN mails to the gateway carry (docs/mail.md); "" clears it.
            const std::string pin = body["mail_pin"].get<std::string>();
            if (pin.empty()) {
                user.mail_pin_hash.clear();
            } else {
                if (pin.size() < 4 || pin.size() > 12 ||
                    pin.find_first_not_of("0123456789") != std::string::npos)
                    return JsonError(400, "invalid_field", "mail_pin: 4 to 12 digits, or \"\" to remove it");
                auto hash = HashPin(pin);
                if (!hash) return JsonError(400, "invalid_field", "mail_pin: " + hash.error().message);
                user.mail_pin_hash = *hash;
            }
        }
    } catch (const json::exception&) {
        return JsonError(400, "invalid_field", "a user field has the wrong type (see docs/api.md)");
    }
    if (user.login.empty() || user.login.size() > 64 ||
        user.login.find_first_of(" \t\r\n:/") != std::string::npos)
        return JsonError(400, "invalid_field", "login: 1 to 64 characters, no spaces, ':' or '/'");
    return std::nullopt;
}

std::optional<HttpResponse> SavePassword(ApiBackend& backend, core::UserId id,
                                         const std::optional<std::string>& password) {
    if (!password) return std::nullopt;
    auto hash = HashPassword(*password);
    if (!hash) return JsonError(400, "invalid_field", "password: " + hash.error().message);
    if (auto saved = backend.accounts().SetPasswordHash(id, *hash); !saved) return FromError(saved.error());
    return std::nullopt;
}

HttpResponse AddUser(HttpRequest& request, ApiBackend& backend, const Context& context) {
    auto parsed = ParseObject(request, kUserFields);
    if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
    core::User user;
    user.permission.reset();
    std::optional<std::string> password;
    if (auto error = ApplyUserFields(std::get<json>(parsed), user, password)) return *error;
    for (const core::User& other : context.directory->users) {
        if (other.login == user.login)
            return JsonError(409, "conflict", "a user '" + user.login + "' exists");
    }
    if (password) {
        if (auto check = HashPassword(*password); !check)
            return JsonError(400, "invalid_field", "password: " + check.error().message);
    }
    auto id = backend.AddUser(user);
    if (!id) return FromError(id.error(), true);
    user.id = *id;
    if (auto error = SavePassword(backend, user.id, password)) return *error;
    HttpResponse response = Json(201, UserJson(user, backend.DefaultPermission()));
    response.headers.emplace_back("Location", "/api/v1/users/" + std::to_string(user.id));
    return response;
}

HttpResponse PatchUser(HttpRequest& request, ApiBackend& backend, const Context& context) {
    auto found = PathUser(request, context);
    if (auto* error = std::get_if<HttpResponse>(&found)) return *error;
    core::User user = std::get<core::User>(found);
    auto parsed = ParseObject(request, kUserFields);
    if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
    const json& body = std::get<json>(parsed);
    if (!context.caller.IsAdministrator()) {
        for (const auto& [key, value] : body.items()) {
            if (key != "name" && key != "password" && key != "cover_page" && key != "language" &&
                key != "mail_pin")
                return JsonError(403, "forbidden", "only administrators change '" + key + "'");
        }
    }
    const std::string old_login = user.login;
    std::optional<std::string> password;
    if (auto error = ApplyUserFields(body, user, password)) return *error;
    if (user.login != old_login) {
        for (const core::User& other : context.directory->users) {
            if (other.login == user.login)
                return JsonError(409, "conflict", "a user '" + user.login + "' exists");
        }
    }
    if (auto saved = backend.UpdateUser(user); !saved) return FromError(saved.error(), true);
    if (auto error = SavePassword(backend, user.id, password)) return *error;
    return Json(200, UserJson(user, backend.DefaultPermission()));
}

json TokenJson(const core::ApiToken& token) {
    return {{"id", token.id},
            {"name", token.name},
            {"prefix", token.prefix},
            {"created_at", FormatTime(token.created)},
            {"last_used_at", token.last_used ? json(FormatTime(*token.last_used)) : json(nullptr)}};
}

HttpResponse QueueView(ApiBackend& backend, const Context& context) {
    auto entries = backend.queue().List();
    if (!entries) return FromError(entries.error());
    auto stopped = backend.SendingStopped();
    if (!stopped) return FromError(stopped.error());
    auto until = backend.StoppedUntil();
    if (!until) return FromError(until.error());
    json jobs = json::array();
    for (const core::QueueEntry& entry : *entries) {
        jobs.push_back({{"position", entry.position}, {"fax", JobJson(entry.job, *context.directory)}});
    }
    auto settings = backend.Settings();
    if (!settings) return FromError(settings.error());
    return Json(200, {{"sending_stopped", *stopped},
                      {"sending_enabled", settings->sending_enabled},
                      {"stopped_until", *until ? json(FormatTime(**until)) : json(nullptr)},
                      {"jobs", jobs}});
}

const std::set<std::string>& EventTypes() {
    static const std::set<std::string> types = {"fax.queued", "fax.state_changed", "fax.page",
                                                "fax.completed", "fax.received"};
    return types;
}

// A webhook the caller may manage: their own, or any for administrators.
std::variant<core::Webhook, HttpResponse> PathWebhook(HttpRequest& request, ApiBackend& backend,
                                                      const Context& context) {
    const std::string& text = request.params["id"];
    const HttpResponse not_found = JsonError(404, "not_found", "no webhook '" + text + "'");
    auto id = ParseId(text);
    if (!id) return not_found;
    auto webhook = backend.accounts().GetWebhook(*id);
    if (!webhook)
        return webhook.error().code == base::ErrorCode::kNotFound ? not_found : FromError(webhook.error());
    if (!context.caller.IsAdministrator() && webhook->user != context.caller.user.id) return not_found;
    return *webhook;
}

}  // namespace

void AddAdminRoutes(Router& router, ApiBackend& backend, EventHub& events, const ApiOptions&) {
    router.Add("GET", "/api/v1/me", Authed(backend, false, [&backend](HttpRequest&, const Context& c) {
                   return Json(200, UserJson(c.caller.user, backend.DefaultPermission()));
               }));

    // Users.
    router.Add("GET", "/api/v1/users", Authed(backend, true, [&backend](HttpRequest&, const Context& c) {
                   json users = json::array();
                   for (const core::User& user : c.directory->users)
                       users.push_back(UserJson(user, backend.DefaultPermission()));
                   return Json(200, {{"users", users}});
               }));
    router.Add("POST", "/api/v1/users", Authed(backend, true, [&backend](HttpRequest& r, const Context& c) {
                   return AddUser(r, backend, c);
               }));
    router.Add("GET", "/api/v1/users/{id}",
               Authed(backend, false, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto user = PathUser(r, c);
                   if (auto* error = std::get_if<HttpResponse>(&user)) return *error;
                   return Json(200, UserJson(std::get<core::User>(user), backend.DefaultPermission()));
               }));
    router.Add("PATCH", "/api/v1/users/{id}",
               Authed(backend, false,
                      [&backend](HttpRequest& r, const Context& c) { return PatchUser(r, backend, c); }));

    // Tokens.
    router.Add("POST", "/api/v1/users/{id}/tokens",
               Authed(backend, false, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto user = PathUser(r, c);
                   if (auto* error = std::get_if<HttpResponse>(&user)) return *error;
                   auto body = ParseObject(r, {"name"}, true);
                   if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
                   const json& fields = std::get<json>(body);
                   if (fields.contains("name") && !fields["name"].is_string())
                       return JsonError(400, "invalid_field", "name: a string");
                   NewToken made = GenerateToken();
                   core::ApiToken token;
                   token.user = std::get<core::User>(user).id;
                   token.name = fields.value("name", "");
                   token.hash = made.hash;
                   token.prefix = made.prefix;
                   token.created = backend.Now();
                   auto id = backend.accounts().AddToken(token);
                   if (!id) return FromError(id.error());
                   token.id = *id;
                   json out = TokenJson(token);
                   out["token"] = made.token;
                   return Json(201, out);
               }));
    router.Add("GET", "/api/v1/users/{id}/tokens",
               Authed(backend, false, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto user = PathUser(r, c);
                   if (auto* error = std::get_if<HttpResponse>(&user)) return *error;
                   auto tokens = backend.accounts().ListTokens(std::get<core::User>(user).id);
                   if (!tokens) return FromError(tokens.error());
                   json list = json::array();
                   for (const auto& token : *tokens) list.push_back(TokenJson(token));
                   return Json(200, {{"tokens", list}});
               }));
    router.Add("DELETE", "/api/v1/users/{id}/tokens/{token_id}",
               Authed(backend, false, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto user = PathUser(r, c);
                   if (auto* error = std::get_if<HttpResponse>(&user)) return *error;
                   auto id = ParseId(r.params["token_id"]);
                   if (!id) return JsonError(404, "not_found", "no token '" + r.params["token_id"] + "'");
                   auto deleted = backend.accounts().DeleteToken(std::get<core::User>(user).id, *id);
                   if (!deleted) return FromError(deleted.error());
                   if (!*deleted)
                       return JsonError(404, "not_found", "no token '" + r.params["token_id"] + "'");
                   HttpResponse response;
                   response.status = 204;
                   response.content_type.clear();
                   return response;
               }));

    // Entities and groups.
    router.Add("GET", "/api/v1/entities", Authed(backend, true, [](HttpRequest&, const Context& c) {
                   json list = json::array();
                   for (const auto& entity : c.directory->entities) list.push_back(EntityJson(entity));
                   return Json(200, {{"entities", list}});
               }));
    router.Add(
        "POST", "/api/v1/entities",
        Authed(backend, true, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
            auto body = ParseObject(r, {"name", "number", "settings_template", "members"});
            if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
            const json& fields = std::get<json>(body);
            core::FaxEntity entity;
            try {
                entity.name = fields.value("name", "");
                entity.number = fields.value("number", "");
                entity.settings_template = fields.value("settings_template", "");
                if (fields.contains("members")) {
                    for (const json& m : fields["members"]) {
                        for (const auto& [key, value] : m.items())
                            if (key != "user" && key != "send" && key != "receive")
                                return JsonError(400, "bad_request", "unknown field 'members[]." + key + "'");
                        core::EntityMember member{m.at("user").get<core::UserId>(), m.value("send", true),
                                                  m.value("receive", true)};
                        if (!c.directory->FindUser(member.user))
                            return JsonError(400, "invalid_field",
                                             "members: no user " + std::to_string(member.user));
                        entity.members.push_back(member);
                    }
                }
            } catch (const json::exception&) {
                return JsonError(400, "invalid_field",
                                 "entity fields: name, number (strings), members [{user, send, receive}]");
            }
            if (entity.name.empty()) return JsonError(400, "invalid_field", "name: required");
            for (const auto& other : c.directory->entities)
                if (other.name == entity.name)
                    return JsonError(409, "conflict", "an entity '" + entity.name + "' exists");
            if (!entity.number.empty()) {
                auto number = NormalizeNumber(entity.number);
                if (!number) return JsonError(400, "invalid_field", "number: not a fax number");
                entity.number = *number;
            }
            auto id = backend.AddEntity(entity);
            if (!id) return FromError(id.error(), true);
            entity.id = *id;
            return Json(201, EntityJson(entity));
        }));
    router.Add("GET", "/api/v1/groups", Authed(backend, true, [](HttpRequest&, const Context& c) {
                   json list = json::array();
                   for (const auto& group : c.directory->groups) list.push_back(GroupJson(group));
                   return Json(200, {{"groups", list}});
               }));
    router.Add("POST", "/api/v1/groups",
               Authed(backend, true, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto body = ParseObject(r, {"name", "numbers", "members"});
                   if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
                   const json& fields = std::get<json>(body);
                   core::Group group;
                   try {
                       group.name = fields.value("name", "");
                       if (fields.contains("numbers"))
                           for (const json& n : fields["numbers"]) {
                               auto number = NormalizeNumber(n.get<std::string>());
                               if (!number)
                                   return JsonError(400, "invalid_field", "numbers: not a fax number");
                               group.numbers.push_back(*number);
                           }
                       if (fields.contains("members"))
                           group.members = fields["members"].get<std::vector<core::UserId>>();
                   } catch (const json::exception&) {
                       return JsonError(400, "invalid_field",
                                        "group fields: name, numbers [strings], members [user ids]");
                   }
                   if (group.name.empty()) return JsonError(400, "invalid_field", "name: required");
                   for (const auto& other : c.directory->groups)
                       if (other.name == group.name)
                           return JsonError(409, "conflict", "a group '" + group.name + "' exists");
                   for (core::UserId member : group.members)
                       if (!c.directory->FindUser(member))
                           return JsonError(400, "invalid_field",
                                            "members: no user " + std::to_string(member));
                   auto id = backend.AddGroup(group);
                   if (!id) return FromError(id.error(), true);
                   group.id = *id;
                   return Json(201, GroupJson(group));
               }));

    // Routes and settings.
    router.Add(
        "GET", "/api/v1/routes", Authed(backend, true, [&backend](HttpRequest&, const Context& c) {
            const RoutesView routes = backend.Routes();
            json numbers = json::array();
            for (const auto& user : c.directory->users)
                for (const auto& n : user.numbers)
                    numbers.push_back({{"number", n}, {"kind", "user"}, {"name", user.login}});
            for (const auto& entity : c.directory->entities)
                if (!entity.number.empty())
                    numbers.push_back({{"number", entity.number}, {"kind", "entity"}, {"name", entity.name}});
            for (const auto& group : c.directory->groups)
                for (const auto& n : group.numbers)
                    numbers.push_back({{"number", n}, {"kind", "group"}, {"name", group.name}});
            auto pairs = [](const std::vector<std::pair<std::string, std::string>>& list, const char* key) {
                json out = json::array();
                for (const auto& [a, b] : list) out.push_back({{key, a}, {"to", b}});
                return out;
            };
            return Json(200, {{"inbound",
                               {{"numbers", numbers},
                                {"ranges", pairs(routes.ranges, "range")},
                                {"lines", pairs(routes.lines, "line")},
                                {"default_user", routes.default_user}}},
                              {"outbound", pairs(routes.outbound, "prefix")}});
        }));
    auto settings_json = [](const RuntimeSettings& s) {
        return json{{"incoming_enabled", s.incoming_enabled},
                    {"sending_enabled", s.sending_enabled},
                    {"retention_days", s.retention_days}};
    };
    router.Add("GET", "/api/v1/settings",
               Authed(backend, true, [&backend, settings_json](HttpRequest&, const Context&) -> HttpResponse {
                   auto settings = backend.Settings();
                   if (!settings) return FromError(settings.error());
                   return Json(200, settings_json(*settings));
               }));
    router.Add(
        "PATCH", "/api/v1/settings",
        Authed(backend, true, [&backend, settings_json](HttpRequest& r, const Context&) -> HttpResponse {
            auto body = ParseObject(r, {"incoming_enabled", "sending_enabled", "retention_days"});
            if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
            const json& fields = std::get<json>(body);
            auto settings = backend.Settings();
            if (!settings) return FromError(settings.error());
            try {
                if (fields.contains("incoming_enabled"))
                    settings->incoming_enabled = fields["incoming_enabled"].get<bool>();
                if (fields.contains("sending_enabled"))
                    settings->sending_enabled = fields["sending_enabled"].get<bool>();
                if (fields.contains("retention_days"))
                    settings->retention_days = fields["retention_days"].get<int>();
            } catch (const json::exception&) {
                return JsonError(
                    400, "invalid_field",
                    "incoming_enabled and sending_enabled are booleans, retention_days a number");
            }
            if (settings->retention_days < 0 || settings->retention_days > 36500)
                return JsonError(400, "invalid_field", "retention_days: 0 (keep) to 36500");
            if (auto saved = backend.SaveSettings(*settings); !saved) return FromError(saved.error());
            return Json(200, settings_json(*settings));
        }));

    // Queue.
    router.Add("GET", "/api/v1/queue", Authed(backend, true, [&backend](HttpRequest&, const Context& c) {
                   return QueueView(backend, c);
               }));
    router.Add("POST", "/api/v1/queue/stop",
               Authed(backend, true, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto body = ParseObject(r, {"until"}, true);
                   if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
                   const json& fields = std::get<json>(body);
                   std::optional<base::WallTime> until;
                   if (fields.contains("until") && !fields["until"].is_null()) {
                       until = fields["until"].is_string() ? ParseTime(fields["until"].get<std::string>())
                                                           : std::nullopt;
                       if (!until) return JsonError(400, "invalid_field", "until: an RFC 3339 time");
                   }
                   if (auto done = backend.queue().StopSending(until); !done) return FromError(done.error());
                   return QueueView(backend, c);
               }));
    router.Add("POST", "/api/v1/queue/continue",
               Authed(backend, true, [&backend](HttpRequest&, const Context& c) -> HttpResponse {
                   if (auto done = backend.queue().ContinueSending(); !done) return FromError(done.error());
                   return QueueView(backend, c);
               }));

    // Webhooks.
    router.Add("GET", "/api/v1/webhooks",
               Authed(backend, false, [&backend](HttpRequest&, const Context& c) -> HttpResponse {
                   auto all = backend.accounts().ListWebhooks();
                   if (!all) return FromError(all.error());
                   json list = json::array();
                   for (const auto& webhook : *all)
                       if (c.caller.IsAdministrator() || webhook.user == c.caller.user.id)
                           list.push_back(WebhookJson(webhook, false));
                   return Json(200, {{"webhooks", list}});
               }));
    router.Add("POST", "/api/v1/webhooks",
               Authed(backend, false, [&backend, &events](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto body = ParseObject(r, {"url", "events", "global"});
                   if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
                   const json& fields = std::get<json>(body);
                   core::Webhook webhook;
                   try {
                       webhook.url = fields.value("url", "");
                       if (fields.contains("events"))
                           webhook.events = fields["events"].get<std::vector<std::string>>();
                       if (!fields.value("global", false)) webhook.user = c.caller.user.id;
                   } catch (const json::exception&) {
                       return JsonError(400, "invalid_field",
                                        "url: a string, events: an array of event types, global: a boolean");
                   }
                   if (!(webhook.url.starts_with("http://") || webhook.url.starts_with("https://")) ||
                       webhook.url.size() > 2048 || webhook.url.find_first_of(" \r\n\t") != std::string::npos)
                       return JsonError(400, "invalid_field", "url: an http:// or https:// URL");
                   for (const std::string& type : webhook.events)
                       if (!EventTypes().count(type))
                           return JsonError(400, "invalid_field",
                                            "events: unknown event type '" + type + "'");
                   if (!webhook.user && !c.caller.IsAdministrator())
                       return JsonError(403, "forbidden", "only administrators add global webhooks");
                   webhook.secret = RandomSecret();
                   webhook.created = backend.Now();
                   auto id = backend.accounts().AddWebhook(webhook);
                   if (!id) return FromError(id.error());
                   webhook.id = *id;
                   events.WebhooksChanged();
                   return Json(201, WebhookJson(webhook, true));
               }));
    router.Add("DELETE", "/api/v1/webhooks/{id}",
               Authed(backend, false, [&backend, &events](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto webhook = PathWebhook(r, backend, c);
                   if (auto* error = std::get_if<HttpResponse>(&webhook)) return *error;
                   if (auto done = backend.accounts().DeleteWebhook(std::get<core::Webhook>(webhook).id);
                       !done)
                       return FromError(done.error());
                   events.WebhooksChanged();
                   HttpResponse response;
                   response.status = 204;
                   response.content_type.clear();
                   return response;
               }));
    router.Add("GET", "/api/v1/webhooks/{id}/deliveries",
               Authed(backend, false, [&backend](HttpRequest& r, const Context& c) -> HttpResponse {
                   auto webhook = PathWebhook(r, backend, c);
                   if (auto* error = std::get_if<HttpResponse>(&webhook)) return *error;
                   auto deliveries =
                       backend.accounts().ListDeliveries(std::get<core::Webhook>(webhook).id, 100);
                   if (!deliveries) return FromError(deliveries.error());
                   json list = json::array();
                   for (const auto& delivery : *deliveries) list.push_back(DeliveryJson(delivery));
                   return Json(200, {{"deliveries", list}});
               }));
}

}  // namespace faxd::web::api
