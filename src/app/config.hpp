// faxd's configuration: one TOML file; every key optional, defaults built in (faxd --print-default-config).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "base/result.hpp"
#include "core/directory.hpp"
#include "core/retry_policy.hpp"
#include "core/scheduler.hpp"
#include "sip/numbers.hpp"
#include "sip/routing.hpp"
#include "sip/sip_endpoint.hpp"

namespace faxd::app {

// An owner named in the config file (resolved against the directory when faxd starts).
struct OwnerRef {
    core::OwnerKind kind = core::OwnerKind::kUser;
    std::string name;  // user login, entity name or group name
};

struct RangeRoute {
    core::NumberRange range;
    OwnerRef owner;
};

struct LineRoute {
    std::string line;
    OwnerRef owner;
};

struct InboundConfig {
    bool enabled = true;
    std::string default_user = "admin";  // login; "" = none (unrouted faxes are refused)
    std::vector<RangeRoute> ranges;
    std::vector<LineRoute> lines;
};

struct QueueConfig {
    std::string node;  // "" = the host name
    core::SchedulerConfig lines;
    core::RetryPolicy retry;
    std::chrono::seconds lease{60};
    std::chrono::milliseconds poll_interval{1000};
    int retention_days = 0;       // 0 keeps faxes and call records for ever
    bool sending_enabled = true;  // false: jobs are queued but nothing is dialled (global outgoing switch)
};

struct RenderConfig {
    std::string resolution = "fine";  // standard, fine, superfine
    int max_pages = 500;
    std::chrono::seconds timeout{300};  // per converter run
    bool office = true;                 // LibreOffice for Word, Excel, PowerPoint, OpenDocument, RTF
    int office_instances = 1;
    std::chrono::seconds office_timeout{120};
    std::filesystem::path cover_dir;  // administrators' cover page templates ("" = built-in only)
};

// Shared fax entities and groups named in the config file; members by login (resolved at start).
struct EntityConfig {
    std::string name;
    std::string number;
    std::string settings_template;
    struct Member {
        std::string login;
        bool send = true;
        bool receive = true;
    };
    std::vector<Member> members;
};

struct GroupConfig {
    std::string name;
    std::vector<std::string> numbers;
    std::vector<std::string> members;  // logins
};

// The REST API and web server (docs/api.md).
struct HttpConfig {
    bool enabled = true;
    std::string listen = "127.0.0.1";
    std::uint16_t port = 8080;
    int threads = 4;
    std::filesystem::path tls_certificate;  // PEM; with tls_private_key: HTTPS only
    std::filesystem::path tls_private_key;
    int max_upload_mb = 64;
    // Where the administrator's first API token is written (mode 0600) when faxd creates it.
    std::filesystem::path admin_token_file = "var/admin.token";
};

struct FaxdConfig {
    base::LogLevel log_level = base::LogLevel::kInfo;
    std::filesystem::path spool_dir = "var/spool";
    std::string store_url = "sqlite:var/faxd.db";
    sip::SipConfig sip;
    std::vector<sip::Route> routes;
    sip::NumberPlan numbers;
    QueueConfig queue;
    InboundConfig inbound;
    RenderConfig render;
    HttpConfig http;
    std::vector<core::User> users;       // provisioned at start: created, or updated by login
    std::vector<EntityConfig> entities;  // created at start when no entity has the name
    std::vector<GroupConfig> groups;     // created at start when no group has the name
};

// The documented default configuration file; parsing it gives the built-in defaults.
std::string_view DefaultConfigText();

base::Result<FaxdConfig> ParseConfig(std::string_view text, const std::string& source_name);
base::Result<FaxdConfig> LoadConfig(const std::filesystem::path& path);

}  // namespace faxd::app
