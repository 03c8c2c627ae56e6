// The server parts of the config file: [store], [queue] with its retry rules, [inbound] routing and the
// [[users]] provisioned at start.
#include "app/config_server.hpp"

#include <algorithm>
#include <cstdio>

#include "app/config_reader.hpp"

namespace faxd::app {
namespace {

using base::ErrorCode;
using base::MakeError;

base::Result<int> ParseClock(const std::string& text, const std::string& where) {
    int hours = -1, minutes = -1;
    char colon = 0;
    if (text.size() == 5 && std::sscanf(text.c_str(), "%2d%c%2d", &hours, &colon, &minutes) == 3 &&
        colon == ':' && hours >= 0 && hours < 24 && minutes >= 0 && minutes < 60) {
        return hours * 60 + minutes;
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     where + " must be a time of day like \"22:00\", not '" + text + "'");
}

base::Result<OwnerRef> ParseOwner(const toml::table& table, const std::string& where) {
    int named = 0;
    OwnerRef owner;
    for (auto [key, kind] :
         {std::pair{"user", core::OwnerKind::kUser}, std::pair{"entity", core::OwnerKind::kEntity},
          std::pair{"group", core::OwnerKind::kGroup}}) {
        if (auto value = table[key].value<std::string>()) {
            owner = {kind, *value};
            ++named;
        }
    }
    if (named != 1)
        return MakeError(ErrorCode::kInvalidArgument, where + " names exactly one of user, entity, group");
    return owner;
}

bool AllDigits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

base::Result<void> ParseQueue(const toml::table& root, const std::string& source, QueueConfig& queue) {
    Reader r(root, source);
    r.Get("store.node", queue.node);
    auto& lines = queue.lines;
    r.Get("queue.channels", lines.channels);
    r.Get("queue.max_outgoing", lines.max_outgoing);
    r.Get("queue.reserved_for_incoming", lines.reserved_for_incoming);
    r.Get("queue.broadcast_share", lines.broadcast_share);
    std::string economy_start, economy_end;
    r.Get("queue.economy_start", economy_start);
    r.Get("queue.economy_end", economy_end);
    r.Get("queue.max_tries", queue.retry.max_tries);
    r.Get("queue.max_dials", queue.retry.max_dials);
    r.Get("queue.max_dials_never_reached", queue.retry.max_dials_never_reached);
    std::int64_t kill_after = queue.retry.default_kill_after.count(), lease = queue.lease.count(),
                 poll = queue.poll_interval.count();
    r.Get("queue.kill_after", kill_after);
    r.Get("queue.lease", lease);
    r.Get("queue.poll_interval_ms", poll);
    r.Get("queue.retention_days", queue.retention_days);
    r.Get("queue.sending_enabled", queue.sending_enabled);
    if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
    if (lines.channels < 1 || lines.max_outgoing < 0 || lines.reserved_for_incoming < 0 ||
        lines.reserved_for_incoming > lines.channels) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": queue.channels >= 1 and 0 <= reserved_for_incoming <= channels");
    }
    if (lines.broadcast_share <= 0 || lines.broadcast_share > 1) {
        return MakeError(ErrorCode::kInvalidArgument, source + ": queue.broadcast_share is in (0, 1]");
    }
    if (kill_after < 60 || lease < 5 || poll < 10 || queue.retention_days < 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source +
                             ": queue.kill_after >= 60 s, lease >= 5 s, poll_interval_ms >= 10, "
                             "retention_days >= 0");
    }
    if (economy_start.empty() != economy_end.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": queue.economy_start and economy_end go together");
    }
    if (!economy_start.empty()) {
        auto start = ParseClock(economy_start, source + ": queue.economy_start");
        if (!start) return tl::unexpected(start.error());
        auto end = ParseClock(economy_end, source + ": queue.economy_end");
        if (!end) return tl::unexpected(end.error());
        lines.economy = core::TimeWindow{*start, *end};
    }
    queue.retry.default_kill_after = std::chrono::seconds(kill_after);
    queue.lease = std::chrono::seconds(lease);
    queue.poll_interval = std::chrono::milliseconds(poll);

    if (const auto* retry = root.at_path("queue.retry").as_table()) {
        for (const auto& [key, value] : *retry) {
            const std::string where = source + ": queue.retry." + std::string(key.str());
            auto failure = core::ParseFailureClass(key.str());
            const auto* rule_table = value.as_table();
            if (!failure || !rule_table) {
                return MakeError(ErrorCode::kInvalidArgument,
                                 where + " is not a failure class with { delay, max }");
            }
            core::RetryRule rule = queue.retry.rules[*failure];
            Reader rr(*rule_table, where);
            std::int64_t delay = rule.delay.count();
            rr.Get("delay", delay);
            rr.Get("max", rule.max_attempts);
            if (!rr.error().empty()) return MakeError(ErrorCode::kInvalidArgument, rr.error());
            if (delay < 1 || rule.max_attempts < 0) {
                return MakeError(ErrorCode::kInvalidArgument, where + ": delay >= 1 s and max >= 0");
            }
            rule.delay = std::chrono::seconds(delay);
            queue.retry.rules[*failure] = rule;
        }
    }
    return {};
}

base::Result<void> ParseInbound(const toml::table& root, const std::string& source, InboundConfig& inbound) {
    Reader r(root, source);
    r.Get("inbound.enabled", inbound.enabled);
    r.Get("inbound.default_user", inbound.default_user);
    if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
    if (const auto* ranges = root.at_path("inbound.ranges").as_array()) {
        for (std::size_t i = 0; i < ranges->size(); ++i) {
            const std::string where = source + ": inbound.ranges[" + std::to_string(i) + "]";
            const auto* table = (*ranges)[i].as_table();
            if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
            RangeRoute route;
            Reader rr(*table, where);
            rr.Get("first", route.range.first);
            rr.Get("last", route.range.last);
            if (!rr.error().empty()) return MakeError(ErrorCode::kInvalidArgument, rr.error());
            if (!AllDigits(route.range.first) || route.range.first.size() != route.range.last.size() ||
                route.range.first > route.range.last) {
                return MakeError(ErrorCode::kInvalidArgument,
                                 where + ": first and last are digit strings of one length, first <= last");
            }
            auto owner = ParseOwner(*table, where);
            if (!owner) return tl::unexpected(owner.error());
            route.owner = *owner;
            inbound.ranges.push_back(route);
        }
    }
    if (const auto* lines = root.at_path("inbound.lines").as_array()) {
        for (std::size_t i = 0; i < lines->size(); ++i) {
            const std::string where = source + ": inbound.lines[" + std::to_string(i) + "]";
            const auto* table = (*lines)[i].as_table();
            if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
            LineRoute route;
            Reader rr(*table, where);
            rr.Get("line", route.line);
            if (!rr.error().empty() || route.line.empty()) {
                return MakeError(ErrorCode::kInvalidArgument, where + " needs a line name");
            }
            auto owner = ParseOwner(*table, where);
            if (!owner) return tl::unexpected(owner.error());
            route.owner = *owner;
            inbound.lines.push_back(route);
        }
    }
    return {};
}

base::Result<void> ParseUsers(const toml::table& root, const std::string& source,
                              std::vector<core::User>& users, std::vector<UserMailSecrets>& mail_secrets) {
    const auto* list = root["users"].as_array();
    if (list == nullptr) return {};
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string where = source + ": users[" + std::to_string(i) + "]";
        const auto* table = (*list)[i].as_table();
        if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
        core::User user;
        Reader rr(*table, where);
        rr.Get("login", user.login);
        rr.Get("name", user.name);
        rr.Get("email", user.email);
        rr.Get("fax_email", user.fax_email);
        rr.Get("send", user.send_enabled);
        rr.Get("receive", user.receive_enabled);
        rr.Get("fax_to_email", user.fax_to_email);
        rr.Get("attach_fax", user.attach_fax);
        rr.Get("cover_page", user.cover_page);
        rr.Get("language", user.language);
        // The PIN is hashed when faxd provisions the user; the key file is imported into faxd's keyring.
        UserMailSecrets secrets{user.login, "", ""};
        std::string key_file;
        rr.Get("mail_pin", secrets.pin);
        rr.Get("pgp_key_file", key_file);
        secrets.pgp_key_file = key_file;
        std::string format = "pdf";
        rr.Get("attachment_format", format);
        std::int64_t permission = -1;
        rr.Get("permission", permission);
        if (!rr.error().empty()) return MakeError(ErrorCode::kInvalidArgument, rr.error());
        if (user.login.empty()) return MakeError(ErrorCode::kInvalidArgument, where + " needs a login");
        if (format != "pdf" && format != "tiff") {
            return MakeError(ErrorCode::kInvalidArgument, where + ": attachment_format is pdf or tiff");
        }
        user.attachment_format =
            format == "pdf" ? core::AttachmentFormat::kPdf : core::AttachmentFormat::kTiff;
        if (permission == 0 || permission == 2 || permission == 10) {
            user.permission = static_cast<core::Permission>(permission);
        } else if (permission != -1) {
            return MakeError(ErrorCode::kInvalidArgument, where + ": permission is 0, 2 or 10");
        }
        if (const auto* numbers = (*table)["numbers"].as_array()) {
            for (const auto& number : *numbers) {
                auto text = number.value<std::string>();
                if (!text || !AllDigits(*text)) {
                    return MakeError(ErrorCode::kInvalidArgument, where + ".numbers holds digit strings");
                }
                user.numbers.push_back(*text);
            }
        }
        if (!secrets.pin.empty() || !secrets.pgp_key_file.empty()) mail_secrets.push_back(std::move(secrets));
        users.push_back(std::move(user));
    }
    return {};
}

base::Result<void> ParseRender(const toml::table& root, const std::string& source, RenderConfig& render) {
    Reader r(root, source);
    std::int64_t timeout = render.timeout.count(), office_timeout = render.office_timeout.count();
    std::string cover_dir = render.cover_dir.string();
    r.Get("render.resolution", render.resolution);
    r.Get("render.max_pages", render.max_pages);
    r.Get("render.timeout", timeout);
    r.Get("render.office", render.office);
    r.Get("render.office_instances", render.office_instances);
    r.Get("render.office_timeout", office_timeout);
    r.Get("render.cover_dir", cover_dir);
    if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
    if (render.resolution != "standard" && render.resolution != "fine" && render.resolution != "superfine") {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": render.resolution is standard, fine or superfine");
    }
    if (render.max_pages < 1 || timeout < 1 || office_timeout < 1 || render.office_instances < 1 ||
        render.office_instances > 16) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            source + ": render.max_pages, timeout and office_timeout >= 1; office_instances 1-16");
    }
    render.timeout = std::chrono::seconds(timeout);
    render.office_timeout = std::chrono::seconds(office_timeout);
    render.cover_dir = cover_dir;
    return {};
}

base::Result<std::vector<std::string>> DigitList(const toml::table& table, const char* key,
                                                 const std::string& where) {
    std::vector<std::string> out;
    if (const auto* list = table[key].as_array()) {
        for (const auto& item : *list) {
            auto text = item.value<std::string>();
            if (!text || !AllDigits(*text)) {
                return MakeError(ErrorCode::kInvalidArgument, where + "." + key + " holds digit strings");
            }
            out.push_back(*text);
        }
    }
    return out;
}

base::Result<void> ParseEntitiesAndGroups(const toml::table& root, const std::string& source,
                                          FaxdConfig& config) {
    if (const auto* list = root["entities"].as_array()) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string where = source + ": entities[" + std::to_string(i) + "]";
            const auto* table = (*list)[i].as_table();
            if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
            EntityConfig entity;
            Reader rr(*table, where);
            rr.Get("name", entity.name);
            rr.Get("number", entity.number);
            rr.Get("settings", entity.settings_template);
            if (!rr.error().empty()) return MakeError(ErrorCode::kInvalidArgument, rr.error());
            if (entity.name.empty() || !AllDigits(entity.number)) {
                return MakeError(ErrorCode::kInvalidArgument, where + " needs a name and a number of digits");
            }
            if (const auto* members = (*table)["members"].as_array()) {
                for (const auto& m : *members) {
                    const auto* mt = m.as_table();
                    if (!mt) return MakeError(ErrorCode::kInvalidArgument, where + ".members holds tables");
                    EntityConfig::Member member;
                    Reader mr(*mt, where + ".members");
                    mr.Get("user", member.login);
                    mr.Get("send", member.send);
                    mr.Get("receive", member.receive);
                    if (!mr.error().empty()) return MakeError(ErrorCode::kInvalidArgument, mr.error());
                    if (member.login.empty()) {
                        return MakeError(ErrorCode::kInvalidArgument, where + ": a member needs a user");
                    }
                    entity.members.push_back(member);
                }
            }
            config.entities.push_back(std::move(entity));
        }
    }
    if (const auto* list = root["groups"].as_array()) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string where = source + ": groups[" + std::to_string(i) + "]";
            const auto* table = (*list)[i].as_table();
            if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
            GroupConfig group;
            Reader rr(*table, where);
            rr.Get("name", group.name);
            if (!rr.error().empty()) return MakeError(ErrorCode::kInvalidArgument, rr.error());
            if (group.name.empty()) return MakeError(ErrorCode::kInvalidArgument, where + " needs a name");
            auto numbers = DigitList(*table, "numbers", where);
            if (!numbers) return tl::unexpected(numbers.error());
            group.numbers = *numbers;
            if (const auto* members = (*table)["members"].as_array()) {
                for (const auto& m : *members) {
                    auto login = m.value<std::string>();
                    if (!login)
                        return MakeError(ErrorCode::kInvalidArgument, where + ".members holds logins");
                    group.members.push_back(*login);
                }
            }
            config.groups.push_back(std::move(group));
        }
    }
    return {};
}

}  // namespace

base::Result<void> ParseHttp(const toml::table& root, const std::string& source, HttpConfig& http) {
    Reader r(root, source);
    r.Get("http.enabled", http.enabled);
    r.Get("http.listen", http.listen);
    std::int64_t port = http.port;
    r.Get("http.port", port);
    r.Get("http.threads", http.threads);
    std::string certificate = http.tls_certificate.string(), key = http.tls_private_key.string(),
                token_file = http.admin_token_file.string();
    r.Get("http.tls_certificate", certificate);
    r.Get("http.tls_private_key", key);
    r.Get("http.max_upload_mb", http.max_upload_mb);
    r.Get("http.admin_token_file", token_file);
    if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
    if (port < 0 || port > 65535 || http.threads < 1 || http.threads > 256 || http.max_upload_mb < 1 ||
        http.max_upload_mb > 4096) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": http.port 0-65535, http.threads 1-256, http.max_upload_mb 1-4096");
    }
    if (certificate.empty() != key.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": http.tls_certificate and http.tls_private_key go together");
    }
    http.port = static_cast<std::uint16_t>(port);
    http.tls_certificate = certificate;
    http.tls_private_key = key;
    http.admin_token_file = token_file;
    return {};
}

base::Result<void> ParseServerSections(const toml::table& root, const std::string& source,
                                       FaxdConfig& config) {
    Reader r(root, source);
    r.Get("store.url", config.store_url);
    if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
    if (config.store_url.rfind("sqlite:", 0) != 0 && config.store_url.rfind("postgresql://", 0) != 0) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            source + ": store.url is sqlite:PATH or postgresql://..., not '" + config.store_url + "'");
    }
    if (auto queue = ParseQueue(root, source, config.queue); !queue) return queue;
    if (auto inbound = ParseInbound(root, source, config.inbound); !inbound) return inbound;
    if (auto render = ParseRender(root, source, config.render); !render) return render;
    if (auto http = ParseHttp(root, source, config.http); !http) return http;
    if (auto mail = ParseMailSection(root, source, config.mail); !mail) return mail;
    if (auto shared = ParseEntitiesAndGroups(root, source, config); !shared) return shared;
    return ParseUsers(root, source, config.users, config.user_mail_secrets);
}

}  // namespace faxd::app
