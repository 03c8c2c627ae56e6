// The [mail] section of the config file: the e-mail gateway (docs/mail.md).
#include <algorithm>
#include <cctype>

#include "app/config_reader.hpp"
#include "app/config_server.hpp"

namespace faxd::app {
namespace {

using base::ErrorCode;
using base::MakeError;

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

base::Result<MailAuth> ParseAuth(const std::string& text, const std::string& where) {
    if (text == "address") return MailAuth::kAddress;
    if (text == "pin") return MailAuth::kPin;
    if (text == "pgp_signed") return MailAuth::kPgpSigned;
    if (text == "pgp_encrypted") return MailAuth::kPgpEncrypted;
    return MakeError(ErrorCode::kInvalidArgument,
                     where + " is address, pin, pgp_signed or pgp_encrypted, not '" + text + "'");
}

bool ValidPort(std::int64_t port) { return port > 0 && port <= 65535; }

base::Result<void> ParseMailboxes(const toml::table& root, const std::string& source, MailConfig& mail) {
    const auto* list = root.at_path("mail.mailboxes").as_array();
    if (list == nullptr) return {};
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string where = source + ": mail.mailboxes[" + std::to_string(i) + "]";
        const auto* table = (*list)[i].as_table();
        if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
        MailboxSourceConfig box;
        Reader r(*table, where);
        std::int64_t port = box.port, interval = box.interval.count();
        std::string ca = box.ca_file.string(), auth;
        r.Get("name", box.name);
        r.Get("host", box.host);
        r.Get("port", port);
        r.Get("protocol", box.protocol);
        r.Get("user", box.user);
        r.Get("password", box.password);
        r.Get("folder", box.folder);
        r.Get("require_tls", box.require_tls);
        r.Get("verify_certificate", box.verify_certificate);
        r.Get("ca_file", ca);
        r.Get("interval_seconds", interval);
        r.Get("auth", auth);
        if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
        if (!ValidPort(port)) return MakeError(ErrorCode::kInvalidArgument, where + ".port is 1-65535");
        box.protocol = Lower(box.protocol);
        const bool known_port = port == 110 || port == 995 || port == 143 || port == 993;
        if (box.protocol.empty() && !known_port) {
            return MakeError(ErrorCode::kInvalidArgument,
                             where + ": port " + std::to_string(port) +
                                 " is not 110, 995, 143 or 993, so set protocol (pop3, pop3s, imap, imaps)");
        }
        if (!box.protocol.empty() && box.protocol != "pop3" && box.protocol != "pop3s" &&
            box.protocol != "imap" && box.protocol != "imaps") {
            return MakeError(ErrorCode::kInvalidArgument, where + ".protocol is pop3, pop3s, imap or imaps");
        }
        if (box.user.empty()) return MakeError(ErrorCode::kInvalidArgument, where + " needs a user");
        if (interval < 5) {
            return MakeError(ErrorCode::kInvalidArgument, where + ".interval_seconds is at least 5");
        }
        if (!auth.empty()) {
            auto method = ParseAuth(auth, where + ".auth");
            if (!method) return tl::unexpected(method.error());
            box.auth = *method;
        }
        if (box.name.empty()) box.name = box.user + "@" + box.host;
        box.port = static_cast<std::uint16_t>(port);
        box.interval = std::chrono::seconds(interval);
        box.ca_file = ca;
        mail.mailboxes.push_back(std::move(box));
    }
    return {};
}

base::Result<void> ParseAuthRules(const toml::table& root, const std::string& source, MailConfig& mail) {
    const auto* list = root.at_path("mail.auth_rules").as_array();
    if (list == nullptr) return {};
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string where = source + ": mail.auth_rules[" + std::to_string(i) + "]";
        const auto* table = (*list)[i].as_table();
        if (!table) return MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
        Reader r(*table, where);
        std::string domain, auth;
        r.Get("domain", domain);
        r.Get("auth", auth);
        if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
        if (domain.empty()) return MakeError(ErrorCode::kInvalidArgument, where + " needs a domain");
        auto method = ParseAuth(auth, where + ".auth");
        if (!method) return tl::unexpected(method.error());
        mail.auth_rules.push_back({Lower(domain), *method});
    }
    return {};
}

}  // namespace

base::Result<void> ParseMailSection(const toml::table& root, const std::string& source, MailConfig& mail) {
    Reader r(root, source);
    std::string auth = "address", pgp_home = mail.pgp_home.string(),
                pgp_key = mail.pgp_secret_key_file.string(), certificate, key, ca;
    std::int64_t smtp_port = mail.smtp_port, relay_port = mail.relay_port;
    r.Get("mail.enabled", mail.enabled);
    r.Get("mail.fax_domain", mail.fax_domain);
    r.Get("mail.from_address", mail.from_address);
    r.Get("mail.from_name", mail.from_name);
    r.Get("mail.admin_address", mail.admin_address);
    r.Get("mail.auth", auth);
    r.Get("mail.require_dkim_or_spf", mail.require_dkim_or_spf);
    r.Get("mail.trusted_authserv_id", mail.trusted_authserv_id);
    r.Get("mail.body_as_page", mail.body_as_page);
    r.Get("mail.pgp_home", pgp_home);
    r.Get("mail.pgp_secret_key_file", pgp_key);
    r.Get("mail.smtp.enabled", mail.smtp_enabled);
    r.Get("mail.smtp.listen", mail.smtp_listen);
    r.Get("mail.smtp.port", smtp_port);
    r.Get("mail.smtp.hostname", mail.smtp_hostname);
    r.Get("mail.smtp.tls_certificate", certificate);
    r.Get("mail.smtp.tls_private_key", key);
    r.Get("mail.smtp.implicit_tls", mail.smtp_implicit_tls);
    r.Get("mail.smtp.max_message_mb", mail.smtp_max_message_mb);
    r.Get("mail.relay.host", mail.relay_host);
    r.Get("mail.relay.port", relay_port);
    r.Get("mail.relay.tls", mail.relay_tls);
    r.Get("mail.relay.user", mail.relay_user);
    r.Get("mail.relay.password", mail.relay_password);
    r.Get("mail.relay.verify_certificate", mail.relay_verify_certificate);
    r.Get("mail.relay.ca_file", ca);
    r.Get("mail.enqueued_receipt", mail.enqueued_receipt);
    r.Get("mail.return_receipt", mail.return_receipt);
    r.Get("mail.failed_call_notice", mail.failed_call_notice);
    r.Get("mail.received_subject", mail.received_subject);
    r.Get("mail.received_body", mail.received_body);
    r.Get("mail.received_file_name", mail.received_file_name);
    if (!r.error().empty()) return MakeError(ErrorCode::kInvalidArgument, r.error());
    auto method = ParseAuth(auth, source + ": mail.auth");
    if (!method) return tl::unexpected(method.error());
    mail.auth = *method;
    mail.fax_domain = Lower(mail.fax_domain);
    if (mail.fax_domain.empty() || mail.fax_domain.find('@') != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": mail.fax_domain must be a domain like fax.example.com");
    }
    if (mail.from_address.find('@') == std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument, source + ": mail.from_address must be an address");
    }
    if (smtp_port < 0 || smtp_port > 65535 || !ValidPort(relay_port)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": mail.smtp.port 0-65535, mail.relay.port 1-65535");
    }
    if (mail.smtp_max_message_mb < 1 || mail.smtp_max_message_mb > 1024) {
        return MakeError(ErrorCode::kInvalidArgument, source + ": mail.smtp.max_message_mb is 1-1024");
    }
    if (certificate.empty() != key.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": mail.smtp.tls_certificate and mail.smtp.tls_private_key go together");
    }
    if (mail.smtp_implicit_tls && certificate.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": mail.smtp.implicit_tls needs a certificate");
    }
    if (mail.relay_tls != "none" && mail.relay_tls != "starttls" && mail.relay_tls != "implicit") {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": mail.relay.tls is none, starttls or implicit");
    }
    if (mail.body_as_page != "auto" && mail.body_as_page != "always" && mail.body_as_page != "never") {
        return MakeError(ErrorCode::kInvalidArgument,
                         source + ": mail.body_as_page is auto, always or never");
    }
    if (mail.require_dkim_or_spf && mail.trusted_authserv_id.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         source +
                             ": mail.require_dkim_or_spf needs mail.trusted_authserv_id (the mail server "
                             "whose Authentication-Results faxd believes)");
    }
    mail.smtp_port = static_cast<std::uint16_t>(smtp_port);
    mail.relay_port = static_cast<std::uint16_t>(relay_port);
    mail.smtp_tls_certificate = certificate;
    mail.smtp_tls_private_key = key;
    mail.relay_ca_file = ca;
    mail.pgp_home = pgp_home;
    mail.pgp_secret_key_file = pgp_key;
    if (auto rules = ParseAuthRules(root, source, mail); !rules) return rules;
    return ParseMailboxes(root, source, mail);
}

}  // namespace faxd::app
