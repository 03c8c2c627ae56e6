#include "web/api_json.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace faxd::web {

using nlohmann::json;

std::string FormatTime(base::WallTime time) {
    const auto since_epoch = time.time_since_epoch();
    auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
    const std::time_t t = seconds.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    return text;
}

namespace {

bool Digits(std::string_view text, std::size_t at, std::size_t count, int* value) {
    if (at + count > text.size()) return false;
    int result = 0;
    for (std::size_t i = at; i < at + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        result = result * 10 + (text[i] - '0');
    }
    *value = result;
    return true;
}

}  // namespace

std::optional<base::WallTime> ParseTime(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
    int year, month, day, hour, minute, second;
    if (text.size() < 20 || !Digits(text, 0, 4, &year) || text[4] != '-' || !Digits(text, 5, 2, &month) ||
        text[7] != '-' || !Digits(text, 8, 2, &day) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !Digits(text, 11, 2, &hour) ||
        text[13] != ':' || !Digits(text, 14, 2, &minute) || text[16] != ':' ||
        !Digits(text, 17, 2, &second)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    std::size_t at = 19;
    std::int64_t nanos = 0;
    if (at < text.size() && text[at] == '.') {
        ++at;
        std::int64_t scale = 100'000'000;
        const std::size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
            if (scale > 0) nanos += (text[at] - '0') * scale;
            scale /= 10;
            ++at;
        }
        if (at == start) return std::nullopt;
    }
    int offset_minutes = 0;
    if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
        ++at;
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
        int oh, om;
        if (!Digits(text, at + 1, 2, &oh) || at + 3 >= text.size() || text[at + 3] != ':' ||
            !Digits(text, at + 4, 2, &om)) {
            return std::nullopt;
        }
        offset_minutes = (oh * 60 + om) * (text[at] == '-' ? -1 : 1);
        at += 6;
    } else {
        return std::nullopt;
    }
    if (at != text.size()) return std::nullopt;
    const auto days =
        std::chrono::sys_days(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day));
    if (!(std::chrono::year(year) / std::chrono::month(month) / std::chrono::day(day)).ok())
        return std::nullopt;
    const auto time = days + std::chrono::hours(hour) + std::chrono::minutes(minute - offset_minutes) +
                      std::chrono::seconds(second);
    return base::WallTime(std::chrono::duration_cast<base::Duration>(time.time_since_epoch()) +
                          std::chrono::nanoseconds(nanos));
}

std::string JobFaxId(core::JobId id) { return "out-" + std::to_string(id); }
std::string InboundFaxId(std::int64_t id) { return "in-" + std::to_string(id); }

std::optional<FaxRef> ParseFaxId(std::string_view text) {
    FaxRef ref;
    std::string_view digits;
    if (text.starts_with("out-")) {
        digits = text.substr(4);
    } else if (text.starts_with("in-")) {
        ref.outbound = false;
        digits = text.substr(3);
    } else {
        return std::nullopt;
    }
    if (digits.empty() || digits.size() > 18) return std::nullopt;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), ref.id);
    if (error != std::errc() || end != digits.data() + digits.size() || ref.id <= 0) return std::nullopt;
    return ref;
}

std::string_view ErrorType(core::FailureClass failure) {
    using core::FailureClass;
    switch (failure) {
        case FailureClass::kNone:
            return "";
        case FailureClass::kBusy:
        case FailureClass::kNoAnswer:
        case FailureClass::kBadNumber:
        case FailureClass::kRejected:
        case FailureClass::kUnavailable:
        case FailureClass::kCallDropped:
            return "line_error";
        case FailureClass::kNotAFax:
        case FailureClass::kT38Failed:
        case FailureClass::kProtocolError:
            return "fax_error";
        case FailureClass::kDocumentError:
            return "document_error";
        case FailureClass::kCancelled:
            return "cancelled";
        case FailureClass::kInterrupted:
        case FailureClass::kInternal:
            return "general_error";
    }
    return "general_error";
}

namespace {

json Optional(const std::optional<base::WallTime>& time) {
    return time ? json(FormatTime(*time)) : json(nullptr);
}

json OwnerJson(core::UserId id, const core::Directory& directory) {
    const core::User* user = directory.FindUser(id);
    return {{"id", id}, {"login", user ? user->login : ""}};
}

std::string_view InboundStateText(core::InboundState state) {
    switch (state) {
        case core::InboundState::kReceiving:
            return "receiving";
        case core::InboundState::kReceived:
            return "received";
        case core::InboundState::kPartial:
            return "partial";
        case core::InboundState::kFailed:
            return "failed";
    }
    return "failed";
}

std::string_view OwnerKindText(core::OwnerKind kind) {
    switch (kind) {
        case core::OwnerKind::kUser:
            return "user";
        case core::OwnerKind::kEntity:
            return "entity";
        case core::OwnerKind::kGroup:
            return "group";
    }
    return "user";
}

std::string OwnerName(const core::Directory& directory, core::OwnerKind kind, std::int64_t id) {
    switch (kind) {
        case core::OwnerKind::kUser:
            if (const core::User* user = directory.FindUser(id)) return user->login;
            break;
        case core::OwnerKind::kEntity:
            for (const auto& entity : directory.entities)
                if (entity.id == id) return entity.name;
            break;
        case core::OwnerKind::kGroup:
            for (const auto& group : directory.groups)
                if (group.id == id) return group.name;
            break;
    }
    return "";
}

json AttemptJson(const core::Attempt& attempt) {
    return {
        {"number", attempt.number},
        {"started_at", FormatTime(attempt.started)},
        {"duration_seconds", attempt.duration_seconds},
        {"route", attempt.route},
        {"transport", attempt.used_t38 ? "t38" : "g711"},
        {"ecm", attempt.ecm},
        {"result", attempt.failure == core::FailureClass::kNone ? std::string_view("sent")
                                                                : core::FailureClassName(attempt.failure)},
        {"sip_status", attempt.sip_status},
        {"t30_code", attempt.t30_code},
        {"pages_confirmed", attempt.pages_confirmed},
        {"bit_rate", attempt.bit_rate},
        {"remote_ident", attempt.remote_ident},
        {"reason", attempt.reason}};
}

}  // namespace

json JobJson(const core::Job& job, const core::Directory& directory,
             const std::vector<core::Attempt>* attempts) {
    json out = {{"id", JobFaxId(job.id)},
                {"direction", "outbound"},
                {"reference", job.reference.ToString()},
                {"state", core::JobStateName(job.state)},
                {"owner", OwnerJson(job.owner, directory)},
                {"entity", nullptr},
                {"number", job.number},
                {"recipient_name", job.recipient_name},
                {"pages", job.pages_total},
                {"pages_sent", job.pages_confirmed},
                {"priority", job.priority},
                {"created_at", FormatTime(job.created)},
                {"send_at", Optional(job.send_at)},
                {"kill_at", Optional(job.kill_at)},
                {"next_attempt_at", nullptr},
                {"tries", job.tries},
                {"dials", job.dials},
                {"economy", job.economy},
                {"error", nullptr}};
    if (job.entity) {
        const std::string name = OwnerName(directory, core::OwnerKind::kEntity, *job.entity);
        out["entity"] = name.empty() ? json(*job.entity) : json(name);
    }
    if (job.state == core::JobState::kScheduled || job.state == core::JobState::kRetryWait) {
        out["next_attempt_at"] = FormatTime(job.next_attempt_at);
    }
    if (job.last_failure != core::FailureClass::kNone && (job.state != core::JobState::kSent)) {
        out["error"] = {{"type", ErrorType(job.last_failure)},
                        {"class", core::FailureClassName(job.last_failure)},
                        {"message", job.last_reason}};
    }
    if (attempts) {
        json list = json::array();
        for (const auto& attempt : *attempts) list.push_back(AttemptJson(attempt));
        out["attempts"] = std::move(list);
    }
    return out;
}

json InboundJson(const core::InboundFax& fax, const core::Directory& directory) {
    json out = {{"id", InboundFaxId(fax.id)},
                {"direction", "inbound"},
                {"reference", fax.reference.ToString()},
                {"state", InboundStateText(fax.state)},
                {"number", fax.dnis},
                {"from", fax.ani},
                {"remote_ident", fax.remote_ident},
                {"pages", fax.pages},
                {"created_at", FormatTime(fax.started)},
                {"duration_seconds", fax.duration_seconds},
                {"owner", nullptr},
                {"recipients", json::array()},
                {"error", nullptr}};
    if (fax.destination) {
        out["owner"] = {{"kind", OwnerKindText(fax.destination->kind)},
                        {"id", fax.destination->owner},
                        {"name", OwnerName(directory, fax.destination->kind, fax.destination->owner)},
                        {"matched_by", fax.destination->matched_by}};
        out["recipients"] = fax.destination->recipients;
    }
    if (fax.state == core::InboundState::kFailed || fax.state == core::InboundState::kPartial) {
        out["error"] = {{"type", "fax_error"}, {"class", "receive_failed"}, {"message", fax.failure_reason}};
    }
    return out;
}

json UserJson(const core::User& user, core::Permission default_level) {
    json permission = user.permission ? json(static_cast<int>(*user.permission)) : json(nullptr);
    return {{"id", user.id},
            {"login", user.login},
            {"name", user.name},
            {"email", user.email},
            {"fax_email", user.fax_email},
            {"numbers", user.numbers},
            {"send_enabled", user.send_enabled},
            {"receive_enabled", user.receive_enabled},
            {"fax_to_email", user.fax_to_email},
            {"attach_fax", user.attach_fax},
            {"attachment_format", user.attachment_format == core::AttachmentFormat::kPdf ? "pdf" : "tiff"},
            {"cover_page", user.cover_page},
            {"language", user.language},
            {"permission", permission},
            {"effective_permission", static_cast<int>(core::EffectivePermission(user, default_level))}};
}

json EntityJson(const core::FaxEntity& entity) {
    json members = json::array();
    for (const auto& member : entity.members) {
        members.push_back(
            {{"user", member.user}, {"send", member.can_send}, {"receive", member.can_receive}});
    }
    return {{"id", entity.id},
            {"name", entity.name},
            {"number", entity.number},
            {"settings_template", entity.settings_template},
            {"members", members}};
}

json GroupJson(const core::Group& group) {
    return {{"id", group.id}, {"name", group.name}, {"numbers", group.numbers}, {"members", group.members}};
}

json WebhookJson(const core::Webhook& webhook, bool with_secret) {
    json out = {{"id", webhook.id},
                {"url", webhook.url},
                {"global", !webhook.user.has_value()},
                {"user", webhook.user ? json(*webhook.user) : json(nullptr)},
                {"events", webhook.events},
                {"enabled", webhook.enabled},
                {"created_at", FormatTime(webhook.created)}};
    if (with_secret) out["secret"] = webhook.secret;
    return out;
}

json DeliveryJson(const core::WebhookDelivery& delivery) {
    std::string_view state = "pending";
    if (delivery.state == core::DeliveryState::kDelivered) state = "delivered";
    if (delivery.state == core::DeliveryState::kFailed) state = "failed";
    return {{"id", delivery.id},
            {"event", delivery.event_type},
            {"state", state},
            {"attempts", delivery.attempts},
            {"created_at", FormatTime(delivery.created)},
            {"next_attempt_at", delivery.state == core::DeliveryState::kPending
                                    ? json(FormatTime(delivery.next_attempt_at))
                                    : json(nullptr)},
            {"last_status", delivery.last_status},
            {"last_error", delivery.last_error}};
}

}  // namespace faxd::web
