// faxd's configuration: one TOML file; every key optional, defaults built in (faxd --print-default-config).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
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

// The e-mail gateway (docs/mail.md): mail to fax over an SMTP listener and polled mailboxes, fax to mail,
// receipts and alerts through the company's SMTP relay.
enum class MailAuth { kAddress, kPin, kPgpSigned, kPgpEncrypted };

struct MailAuthRule {
    std::string domain;  // the sender's domain, lower case
    MailAuth method = MailAuth::kAddress;
};

struct MailboxSourceConfig {
    std::string name;
    std::string host = "127.0.0.1";
    std::uint16_t port = 110;
    std::string protocol;  // "" = from the port; pop3, pop3s, imap, imaps
    std::string user;
    std::string password;
    std::string folder = "INBOX";
    bool require_tls = false;  // STARTTLS is used where offered either way
    bool verify_certificate = true;
    std::filesystem::path ca_file;
    std::chrono::seconds interval{20};
    std::optional<MailAuth> auth;  // empty: [mail] auth and its rules
};

struct MailConfig {
    bool enabled = false;
    std::string fax_domain = "fax.localhost";  // mail to <number>@<fax_domain> is faxed
    std::string from_address = "faxd@localhost";
    std::string from_name = "faxd";
    std::string admin_address;  // alerts; "" = none
    // Mail to fax: how senders prove who they are, by default and per sender domain.
    MailAuth auth = MailAuth::kAddress;
    std::vector<MailAuthRule> auth_rules;
    // Require a pass for DKIM or SPF aligned with the From domain, as the trusted mail server wrote it into
    // Authentication-Results (RFC 8601).
    bool require_dkim_or_spf = false;
    std::string trusted_authserv_id;
    std::string body_as_page = "auto";  // auto (when it has real text), always, never
    std::filesystem::path pgp_home;     // faxd's GnuPG home ("" = <spool>/../pgp)
    std::filesystem::path pgp_secret_key_file;  // faxd's own key for encrypted attachments ("" = none)
    // SMTP listener
    bool smtp_enabled = true;
    std::string smtp_listen = "127.0.0.1";
    std::uint16_t smtp_port = 2525;
    std::string smtp_hostname = "localhost";
    std::filesystem::path smtp_tls_certificate;
    std::filesystem::path smtp_tls_private_key;
    bool smtp_implicit_tls = false;
    int smtp_max_message_mb = 25;
    // Polled mailboxes
    std::vector<MailboxSourceConfig> mailboxes;
    // The SMTP relay faxd sends through
    std::string relay_host = "127.0.0.1";
    std::uint16_t relay_port = 25;
    std::string relay_tls = "none";  // none, starttls, implicit
    std::string relay_user;
    std::string relay_password;
    bool relay_verify_certificate = true;
    std::filesystem::path relay_ca_file;
    // What faxd sends
    bool enqueued_receipt = false;
    bool return_receipt = true;
    bool failed_call_notice = true;
    std::string received_subject;    // "" = built-in template
    std::string received_body;       // "" = built-in template
    std::string received_file_name;  // "" = built-in; "kalliope" = F<0calling>_T<called>_date_time_id
};

// What [[users]] say about a user's mail (provisioned at start: the PIN hashed, the key imported).
struct UserMailSecrets {
    std::string login;
    std::string pin;                     // "" = keep what the store has
    std::filesystem::path pgp_key_file;  // "" = keep what the store has
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
    MailConfig mail;
    std::vector<core::User> users;       // provisioned at start: created, or updated by login
    std::vector<UserMailSecrets> user_mail_secrets;
    std::vector<EntityConfig> entities;  // created at start when no entity has the name
    std::vector<GroupConfig> groups;     // created at start when no group has the name
};

// The documented default configuration file; parsing it gives the built-in defaults.
std::string_view DefaultConfigText();

base::Result<FaxdConfig> ParseConfig(std::string_view text, const std::string& source_name);
base::Result<FaxdConfig> LoadConfig(const std::filesystem::path& path);

}  // namespace faxd::app
