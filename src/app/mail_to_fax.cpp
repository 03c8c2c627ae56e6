// Mail to fax: one accepted mail from the drop box becomes a submission, a refusal reply, or nothing (mail
// sent by machines is never answered).
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "app/mail_gateway.hpp"
#include "base/log.hpp"
#include "core/access.hpp"
#include "mail/auth_results.hpp"
#include "mail/fax_address.hpp"
#include "mail/fax_notices.hpp"
#include "render/detect.hpp"
#include "web/credentials.hpp"

namespace faxd::app {
namespace {

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::string DomainOf(const std::string& address) {
    const auto at = address.rfind('@');
    return at == std::string::npos ? std::string() : Lower(address.substr(at + 1));
}

const core::User* FindSender(const core::Directory& directory, const std::string& address) {
    const std::string wanted = Lower(address);
    for (const core::User& user : directory.users) {
        if ((!user.email.empty() && Lower(user.email) == wanted) ||
            (!user.fax_email.empty() && Lower(user.fax_email) == wanted)) {
            return &user;
        }
    }
    return nullptr;
}

// The body without what is no message: the signature ("-- " line and after), quoted lines ("> "), the PIN
// line and blank lines.
std::string MessageText(const std::string& body) {
    std::string out;
    std::size_t at = 0;
    while (at <= body.size()) {
        std::size_t end = body.find('\n', at);
        if (end == std::string::npos) end = body.size();
        std::string line = body.substr(at, end - at);
        at = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "-- " || line == "--") break;
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos) continue;
        if (line[first] == '>') continue;
        if (mail::FindPin(line)) continue;
        out += line + "\n";
        if (end == body.size()) break;
    }
    return out;
}

// "Real text": at least 12 letters or digits once signature, quotes and the PIN line are gone, so "Hi," or
// "Sent from my phone" alone does not become a page of its own.
bool HasRealText(const std::string& text) {
    if (text.find("Sent from my") == 0 && text.find('\n') + 1 >= text.size()) return false;
    int letters = 0;
    for (unsigned char c : text) letters += std::isalnum(c) != 0 || c >= 0x80;
    return letters >= 12;
}

std::string StripEncryptedSuffix(std::string name) {
    for (const char* suffix : {".pgp", ".gpg", ".asc"}) {
        if (name.size() > 4 && Lower(name).ends_with(suffix)) return name.substr(0, name.size() - 4);
    }
    return name;
}

}  // namespace

MailGateway::Outcome MailGateway::Process(const std::string& id, const MailDrop::Entry& entry) {
    auto log = base::GetLogger("mail");
    const auto header = nlohmann::json::parse(entry.header, nullptr, false);
    if (header.is_discarded()) {
        log->error("mail {}: unreadable drop header; dropped", id);
        return Outcome::kIgnored;
    }
    const std::string source = header.value("source", "smtp");
    const std::string envelope_from = header.value("mail_from", "");
    const std::string auth_user = header.value("auth_user", "");

    mail::MailLimits limits;
    limits.max_bytes = static_cast<std::size_t>(mail().smtp_max_message_mb) * 1024 * 1024 + 64 * 1024;
    auto parsed = mail::ParseMail(entry.body, limits);
    if (!parsed) {
        log->warn("mail {} ({}) from <{}> cannot be read, nothing faxed: {}", id, source, envelope_from,
                  parsed.error().message);
        return Outcome::kIgnored;
    }
    const mail::ParsedMail& mail = *parsed;
    const std::string from = Lower(mail.from_address);
    if (mail.automatic || (source == "smtp" && envelope_from.empty())) {
        log->info("mail {} from <{}> not answered and not faxed: sent by a machine ({})", id, from,
                  mail.automatic ? mail.automatic_reason : "null sender");
        return Outcome::kIgnored;
    }
    if (from.empty() || from == Lower(this->mail().from_address)) {
        log->info("mail {}: from faxd itself or no sender; ignored (no mail loops)", id);
        return Outcome::kIgnored;
    }
    const std::string reply_to = mail.reply_to.empty() ? from : mail.reply_to;
    mail::ParsedMail content = mail;  // what is faxed: the signed part only, when a signature is required

    auto directory = parts_.api->Directory();
    if (!directory) {
        log->warn("mail {}: directory not readable ({}); will retry", id, directory.error().message);
        return Outcome::kRetryLater;
    }
    const core::User* sender = nullptr;
    if (!auth_user.empty()) {
        for (const core::User& user : (*directory)->users) {
            if (user.login == auth_user) sender = &user;
        }
    } else {
        sender = FindSender(**directory, from);
    }
    if (sender == nullptr) {
        Refuse(mail, reply_to, mail::RefusalReason::kUnknownSender, from);
        return Outcome::kRefused;
    }
    if (core::EffectivePermission(*sender, core::Permission::kUser) == core::Permission::kNone ||
        !sender->send_enabled) {
        Refuse(mail, reply_to, mail::RefusalReason::kNotAllowedToSend, sender->login);
        return Outcome::kRefused;
    }

    // How this sender proves who they are: the mailbox's rule, else their domain's, else the default.
    MailAuth method = this->mail().auth;
    for (const MailAuthRule& rule : this->mail().auth_rules) {
        if (rule.domain == DomainOf(from)) method = rule.method;
    }
    if (header.contains("auth") && header["auth"].is_string()) {
        const std::string box_auth = header["auth"];
        if (box_auth == "pin") method = MailAuth::kPin;
        if (box_auth == "pgp_signed") method = MailAuth::kPgpSigned;
        if (box_auth == "pgp_encrypted") method = MailAuth::kPgpEncrypted;
        if (box_auth == "address") method = MailAuth::kAddress;
    }
    // SMTP AUTH as this user already proved it.
    if (auth_user.empty()) {
        if (method == MailAuth::kPin) {
            const auto pin = mail::FindPin(mail.text_body);
            if (!pin) {
                Refuse(mail, reply_to, mail::RefusalReason::kMissingPin, "");
                return Outcome::kRefused;
            }
            // Short PINs are guessable by mail: after 5 wrong ones in an hour the user's PIN mails are
            // refused for the rest of that hour (the log says so; the user is told "wrong PIN").
            const auto now = std::chrono::steady_clock::now();
            std::lock_guard pins_lock(pins_mutex_);
            auto& wrong = wrong_pins_[sender->id];
            std::erase_if(wrong, [&](auto at) { return now - at > std::chrono::hours(1); });
            const bool locked = wrong.size() >= 5;
            if (locked || sender->mail_pin_hash.empty() ||
                !web::VerifyPassword(sender->mail_pin_hash, *pin)) {
                if (!locked) wrong.push_back(now);
                log->warn(
                    "mail {} from <{}>: wrong PIN{}", id, from,
                    locked ? " (5 wrong PINs within the hour: PIN mail of this user refused for now)" : "");
                Refuse(mail, reply_to, mail::RefusalReason::kWrongPin, "");
                return Outcome::kRefused;
            }
        } else if (method == MailAuth::kPgpSigned) {
            if (!keyring_) {
                Refuse(mail, reply_to, mail::RefusalReason::kNotSigned, "faxd has no PGP keyring");
                return Outcome::kRefused;
            }
            auto verified = keyring_->VerifySignedMail(entry.body);
            if (!verified) {
                const auto code = verified.error().code;
                if (code == base::ErrorCode::kIo || code == base::ErrorCode::kInternal) {
                    log->warn("mail {}: gpg failed ({}); will retry", id, verified.error().message);
                    return Outcome::kRetryLater;
                }
                Refuse(mail, reply_to,
                       code == base::ErrorCode::kNotFound ? mail::RefusalReason::kNotSigned
                                                          : mail::RefusalReason::kBadSignature,
                       verified.error().message);
                return Outcome::kRefused;
            }
            if (sender->pgp_fingerprint.empty() ||
                Lower(verified->fingerprint) != Lower(sender->pgp_fingerprint)) {
                Refuse(
                    mail, reply_to, mail::RefusalReason::kBadSignature,
                    "signed by key " + verified->fingerprint + ", which is not the key of " + sender->login);
                return Outcome::kRefused;
            }
            // Fax only what the signature covers (headers and, for inline signatures, attachments are not).
            if (verified->kind == mail::VerifiedMail::Kind::kPgpMime) {
                // A signed part has only Content-* fields (RFC 3156), which GMime does not count as message
                // headers; a neutral MIME-Version makes it a message to the intake.
                auto inner = mail::ParseMail("MIME-Version: 1.0\r\n" + verified->signed_content, limits);
                if (!inner) {
                    Refuse(mail, reply_to, mail::RefusalReason::kBadSignature,
                           "the signed part cannot be read: " + inner.error().message);
                    return Outcome::kRefused;
                }
                content.text_body = inner->text_body;
                content.attachments = inner->attachments;
            } else {
                const bool has_attachments =
                    std::any_of(mail.attachments.begin(), mail.attachments.end(),
                                [](const mail::MailAttachment& a) { return !a.inline_image; });
                if (has_attachments) {
                    Refuse(mail, reply_to, mail::RefusalReason::kBadSignature,
                           "an inline signature does not cover attachments; sign with PGP/MIME");
                    return Outcome::kRefused;
                }
                content.text_body = verified->signed_content;
            }
        }
    }
    if (this->mail().require_dkim_or_spf) {
        const auto verdict =
            mail::CheckDkimSpfAlignment(entry.body, this->mail().trusted_authserv_id, mail.from_address);
        if (!verdict.aligned) {
            Refuse(mail, reply_to, mail::RefusalReason::kDkimSpfFailed, verdict.detail);
            return Outcome::kRefused;
        }
    }

    // Recipients: the fax-domain addresses of the SMTP path, else the numbers in the subject.
    std::vector<mail::FaxRecipient> recipients;
    for (const auto& rcpt : header.value("rcpt", std::vector<std::string>())) {
        if (auto recipient = mail::RecipientFromAddress(rcpt, this->mail().fax_domain)) {
            recipients.push_back(*recipient);
        }
    }
    if (recipients.empty()) {
        auto from_subject = mail::RecipientsFromSubject(mail.subject);
        if (!from_subject) {
            Refuse(
                mail, reply_to,
                mail.subject.empty() ? mail::RefusalReason::kNoRecipient : mail::RefusalReason::kBadRecipient,
                from_subject.error().message);
            return Outcome::kRefused;
        }
        recipients = *from_subject;
    }

    // Documents: the body first when it has real text, then the attachments in order.
    std::vector<std::string> names;
    std::vector<std::string> datas;
    std::vector<std::string> skipped;
    const std::string body_text = MessageText(content.text_body);
    // With pgp_encrypted only what was encrypted is faxed: the body travelled in clear.
    const bool body_allowed = method != MailAuth::kPgpEncrypted || !auth_user.empty();
    if (body_allowed && (this->mail().body_as_page == "always" ||
                         (this->mail().body_as_page == "auto" && HasRealText(body_text)))) {
        names.push_back("mail-text.txt");
        datas.push_back(body_text);
    }
    for (const mail::MailAttachment& attachment : content.attachments) {
        if (attachment.inline_image) continue;
        std::string data = attachment.data;
        std::string name = attachment.file_name;
        if (method == MailAuth::kPgpEncrypted && auth_user.empty()) {
            if (!mail::PgpKeyring::LooksEncrypted(data, attachment.content_type, name) || !keyring_) {
                Refuse(mail, reply_to, mail::RefusalReason::kNotEncrypted, name);
                return Outcome::kRefused;
            }
            auto plain = keyring_->Decrypt(data, limits.max_decoded_bytes);
            if (!plain) {
                Refuse(mail, reply_to, mail::RefusalReason::kNotEncrypted,
                       name + ": " + plain.error().message);
                return Outcome::kRefused;
            }
            data = std::move(plain->data);
            name = StripEncryptedSuffix(name);
        }
        const auto head = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data.data()),
                                                        std::min(data.size(), render::kDetectHeadBytes));
        const render::DocumentType type = render::DetectType(head, name);
        if (type == render::DocumentType::kUnknown ||
            (render::IsOfficeType(type) && !parts_.config->render.office)) {
            skipped.push_back(name);
            continue;
        }
        names.push_back(name);
        datas.push_back(std::move(data));
    }
    if (method == MailAuth::kPgpEncrypted && auth_user.empty() &&
        std::none_of(content.attachments.begin(), content.attachments.end(),
                     [](const mail::MailAttachment& a) { return !a.inline_image; })) {
        Refuse(mail, reply_to, mail::RefusalReason::kNotEncrypted, "no attachment");
        return Outcome::kRefused;
    }
    if (names.empty()) {
        std::string detail;
        for (const auto& name : skipped) detail += (detail.empty() ? "" : ", ") + name;
        Refuse(mail, reply_to, mail::RefusalReason::kNoDocument, detail);
        return Outcome::kRefused;
    }
    std::vector<web::UploadedDocument> files;
    for (std::size_t i = 0; i < names.size(); ++i) files.push_back({names[i], datas[i]});

    // One submission per sending entity ("number@entity" picks one; plain numbers the sender's own line).
    std::map<std::string, std::vector<core::Recipient>> by_entity;
    for (const mail::FaxRecipient& recipient : recipients) {
        by_entity[Lower(recipient.entity)].push_back({recipient.number, ""});
    }
    const std::string key_source = mail.message_id.empty() ? entry.body : mail.message_id + "\n" + from;
    const std::string key = "mail:" + web::TokenHash(key_source).substr(0, 32);
    std::vector<std::string> references;
    for (const auto& [entity_name, numbers] : by_entity) {
        core::NewSubmission submission;
        submission.owner = sender->id;
        submission.recipients = numbers;
        submission.subject = mail.subject;
        submission.cover_page = "";
        submission.idempotency_key = entity_name.empty() ? key : key + "@" + entity_name;
        if (!entity_name.empty()) {
            const core::FaxEntity* entity = nullptr;
            for (const core::FaxEntity& candidate : (*directory)->entities) {
                if (Lower(candidate.name) == entity_name) entity = &candidate;
            }
            if (entity == nullptr || !core::MaySendAs(*entity, sender->id)) {
                Refuse(mail, reply_to, mail::RefusalReason::kNotAllowedToSend,
                       "fax entity '" + entity_name + "'");
                return Outcome::kRefused;
            }
            submission.entity = entity->id;
        }
        auto submitted = parts_.api->Submit(submission, files);
        if (!submitted) {
            if (submitted.error().code == base::ErrorCode::kUnsupported ||
                submitted.error().code == base::ErrorCode::kInvalidArgument) {
                Refuse(mail, reply_to, mail::RefusalReason::kDocumentError, submitted.error().message);
                return Outcome::kRefused;
            }
            log->warn("mail {}: cannot submit ({}); will retry", id, submitted.error().message);
            return Outcome::kRetryLater;
        }
        for (const core::Job& job : submitted->jobs) {
            references.push_back(job.reference.ToString());
            // The return receipt goes where the mail came from (it may differ from the user's fax_email).
            if (auto kept = this->mail().return_receipt ? RememberReplyAddress(job.id, reply_to)
                                                        : base::Result<void>();
                !kept) {
                log->warn("mail {}: the receipt of {} will go to the user's address: {}", id,
                          job.reference.ToString(), kept.error().message);
            }
            if (this->mail().enqueued_receipt && !submitted->replayed) {
                nlohmann::json notice{{"kind", "queued"}, {"job", job.id}, {"to", reply_to}};
                if (auto put = notices_.Put(notice.dump(), ""); !put) {
                    log->error("cannot record the queued receipt of {}: {}", job.reference.ToString(),
                               put.error().message);
                }
            }
        }
        if (submitted->replayed) log->info("mail {}: already submitted earlier (same mail again)", id);
    }
    std::string list;
    for (const auto& reference : references) list += (list.empty() ? "" : ", ") + reference;
    log->info("mail {} ({}) from {} ({}): {} document(s) to {} recipient(s): {}{}", id, source, from,
              sender->login, files.size(), recipients.size(), list,
              skipped.empty() ? "" : " (not faxable, skipped: " + std::to_string(skipped.size()) + ")");
    return Outcome::kSubmitted;
}

}  // namespace faxd::app
