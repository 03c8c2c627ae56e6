// The JSON shapes of the REST API (docs/api.md): faxes, attempts, users, entities, groups, webhooks, times.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "core/accounts.hpp"
#include "core/directory.hpp"
#include "core/job.hpp"
#include "core/ports.hpp"

namespace faxd::web {

// RFC 3339 in UTC with milliseconds: "2026-12-05T10:04:00.123Z".
std::string FormatTime(base::WallTime time);
// RFC 3339 with "Z" or an offset, seconds fraction optional; empty when it does not parse.
std::optional<base::WallTime> ParseTime(std::string_view text);

std::string JobFaxId(core::JobId id);       // "out-12"
std::string InboundFaxId(std::int64_t id);  // "in-5"
struct FaxRef {
    bool outbound = true;
    std::int64_t id = 0;
};
std::optional<FaxRef> ParseFaxId(std::string_view text);

// The typed error class of a failure ("line_error", "fax_error", ...), as the cloud fax APIs type errors.
std::string_view ErrorType(core::FailureClass failure);

nlohmann::json JobJson(const core::Job& job, const core::Directory& directory,
                       const std::vector<core::Attempt>* attempts = nullptr);
nlohmann::json InboundJson(const core::InboundFax& fax, const core::Directory& directory);
nlohmann::json UserJson(const core::User& user, core::Permission default_level);
nlohmann::json EntityJson(const core::FaxEntity& entity);
nlohmann::json GroupJson(const core::Group& group);
nlohmann::json WebhookJson(const core::Webhook& webhook, bool with_secret);
nlohmann::json DeliveryJson(const core::WebhookDelivery& delivery);

}  // namespace faxd::web
