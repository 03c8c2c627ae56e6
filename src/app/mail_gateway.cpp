// The e-mail gateway's parts and threads: SMTP listener, mailbox pollers, the intake and notice workers, the
// outbox and the alert watch.
#include "app/mail_gateway.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.hpp"
#include "base/log.hpp"
#include "mail/fax_address.hpp"
#include "mail/mail_compose.hpp"
#include "web/credentials.hpp"

namespace faxd::app {
namespace {

constexpr std::size_t kIntakeBatch = 256;  // drop box entries listed per scan
constexpr std::size_t kIntakeWorkers = 2;

using base::ErrorCode;
using base::MakeError;

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

base::Result<std::string> ReadText(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kNotFound, "cannot read " + path.string());
    std::ostringstream all;
    all << in.rdbuf();
    return std::move(all).str();
}

mail::MailboxProtocol ProtocolOf(const std::string& name) {
    if (name == "pop3") return mail::MailboxProtocol::kPop3;
    if (name == "pop3s") return mail::MailboxProtocol::kPop3s;
    if (name == "imap") return mail::MailboxProtocol::kImap;
    if (name == "imaps") return mail::MailboxProtocol::kImaps;
    return mail::MailboxProtocol::kAuto;
}

const char* AuthName(MailAuth auth) {
    switch (auth) {
        case MailAuth::kPin:
            return "pin";
        case MailAuth::kPgpSigned:
            return "pgp_signed";
        case MailAuth::kPgpEncrypted:
            return "pgp_encrypted";
        case MailAuth::kAddress:
            break;
    }
    return "address";
}

}  // namespace

base::Result<std::unique_ptr<MailGateway>> MailGateway::Start(MailGatewayParts parts) {
    auto log = base::GetLogger("mail");
    const MailConfig& config = parts.config->mail;
    auto in = MailDrop::Open(parts.directory / "in");
    if (!in) return tl::unexpected(in.error());
    auto notices = MailDrop::Open(parts.directory / "notices");
    if (!notices) return tl::unexpected(notices.error());
    std::unique_ptr<MailGateway> gateway(
        new MailGateway(std::move(parts), std::move(*in), std::move(*notices)));
    MailGateway* self = gateway.get();

    const auto pgp_home = config.pgp_home.empty() ? gateway->parts_.directory / "pgp" : config.pgp_home;
    if (auto keyring = mail::PgpKeyring::Open(pgp_home)) {
        gateway->keyring_ = std::move(*keyring);
    } else {
        log->warn("no PGP keyring at {} ({}): PGP-signed and encrypted mail will be refused",
                  pgp_home.string(), keyring.error().message);
    }
    if (auto provisioned = gateway->ProvisionSecrets(); !provisioned)
        return tl::unexpected(provisioned.error());

    mail::OutboxConfig outbox;
    outbox.directory = gateway->parts_.directory / "out";
    outbox.relay.host = config.relay_host;
    outbox.relay.port = config.relay_port;
    outbox.relay.tls = config.relay_tls == "starttls"   ? mail::SmtpRelay::Tls::kStartTls
                       : config.relay_tls == "implicit" ? mail::SmtpRelay::Tls::kImplicit
                                                        : mail::SmtpRelay::Tls::kNone;
    outbox.relay.user = config.relay_user;
    outbox.relay.password = config.relay_password;
    outbox.relay.verify_certificate = config.relay_verify_certificate;
    outbox.relay.ca_file = config.relay_ca_file;
    outbox.relay.helo_name = config.smtp_hostname;
    mail::OutboxEvents events;
    events.relay_unreachable = [self](const std::string& error) {
        base::GetLogger("mail")->error("mail relay unreachable, mails wait in the outbox: {}", error);
        // Queued like every mail: it reaches the administrator when the relay is back.
        mail::RelayUnreachableAlert alert;
        alert.relay = self->mail().relay_host + ":" + std::to_string(self->mail().relay_port);
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        alert.since = mail::LocalDateTimeFromTm(local);
        alert.error = error;
        alert.waiting_mails = self->outbox_ ? static_cast<int>(self->outbox_->stats().queued) : 0;
        const auto text = mail::BuildAlert(alert, self->parts_.config->queue.node);
        self->Alert("relay", text.subject, text.text_body);
    };
    events.relay_back = [] {
        base::GetLogger("mail")->info("mail relay reachable again; sending the outbox");
    };
    events.given_up = [](const std::string& id, const std::string& error) {
        base::GetLogger("mail")->error("outgoing mail {} given up: {}", id, error);
    };
    auto opened = mail::MailOutbox::Open(outbox, events);
    if (!opened) return tl::unexpected(opened.error());
    gateway->outbox_ = std::move(*opened);
    gateway->outbox_->Start();

    if (config.smtp_enabled) {
        mail::SmtpServerConfig smtp;
        smtp.address = config.smtp_listen;
        smtp.port = config.smtp_port;
        smtp.tls_certificate = config.smtp_tls_certificate;
        smtp.tls_private_key = config.smtp_tls_private_key;
        smtp.implicit_tls = config.smtp_implicit_tls;
        smtp.session.hostname = config.smtp_hostname;
        smtp.session.max_message_bytes = static_cast<std::size_t>(config.smtp_max_message_mb) * 1024 * 1024;
        mail::SmtpPolicy policy;
        policy.check_recipient = [self](const std::string& address) { return self->CheckRecipient(address); };
        policy.authenticate = [self](const std::string& user, const std::string& password) {
            return self->Authenticate(user, password);
        };
        policy.deliver = [self](const mail::SmtpEnvelope& envelope,
                                const std::string& message) -> base::Result<std::string> {
            nlohmann::json header{{"source", "smtp"},
                                  {"mail_from", envelope.mail_from},
                                  {"rcpt", envelope.rcpt_to},
                                  {"auth_user", envelope.authenticated_user},
                                  {"remote", envelope.remote_address},
                                  {"tls", envelope.tls}};
            return self->Accept(header.dump(), message);
        };
        auto server = mail::SmtpServer::Start(smtp, std::move(policy));
        if (!server) return tl::unexpected(server.error());
        gateway->smtp_ = std::move(*server);
        log->info("mail to fax: SMTP on {}:{} for <number>@{}{}", config.smtp_listen, gateway->smtp_->port(),
                  config.fax_domain, config.smtp_tls_certificate.empty() ? "" : " (TLS)");
    }

    for (const MailboxSourceConfig& box : config.mailboxes) {
        if (Lower(box.user) == Lower(config.from_address) ||
            Lower(box.user + "@" + box.host) == Lower(config.from_address)) {
            log->warn(
                "mailbox {}: faxd's own From address {} is the polled mailbox; replies to faxd's mail "
                "would come back to it (faxd ignores automatic mail, but check the setup)",
                box.name, config.from_address);
        }
        mail::MailboxConfig polled;
        polled.name = box.name;
        polled.host = box.host;
        polled.port = box.port;
        polled.protocol = ProtocolOf(box.protocol);
        polled.user = box.user;
        polled.password = box.password;
        polled.folder = box.folder;
        polled.require_tls = box.require_tls;
        polled.verify_certificate = box.verify_certificate;
        polled.ca_file = box.ca_file;
        polled.interval = box.interval;
        nlohmann::json header{{"source", "mailbox:" + box.name}};
        if (box.auth) header["auth"] = AuthName(*box.auth);
        const std::string header_line = header.dump();
        auto poller = mail::MailboxPoller::Create(polled, [self, header_line](const std::string& raw) {
            auto accepted = self->Accept(header_line, raw);
            if (!accepted) return base::Result<void>(tl::unexpected(accepted.error()));
            return base::Result<void>();
        });
        if (!poller) return tl::unexpected(poller.error());
        (*poller)->Start();
        log->info("mail to fax: polling {} every {} s", box.name, box.interval.count());
        gateway->pollers_.push_back(std::move(*poller));
    }

    for (std::size_t worker = 0; worker < kIntakeWorkers; ++worker) {
        gateway->intake_threads_.emplace_back([self, worker] { self->IntakeLoop(worker); });
    }
    gateway->notice_thread_ = std::jthread([self] { self->NoticeLoop(); });
    gateway->watch_thread_ = std::jthread([self] { self->WatchLoop(); });
    return gateway;
}

MailGateway::~MailGateway() { Stop(); }

void MailGateway::Stop() {
    if (stopping_.exchange(true)) return;
    // Listeners first, so nothing new arrives; the workers finish the mail in hand.
    if (smtp_) smtp_->Stop();
    for (auto& poller : pollers_) poller->Stop();
    Wake();
    for (auto& thread : intake_threads_) {
        if (thread.joinable()) thread.join();
    }
    if (notice_thread_.joinable()) notice_thread_.join();
    if (watch_thread_.joinable()) watch_thread_.join();
    if (outbox_) outbox_->Stop();
}

void MailGateway::Wake() {
    {
        std::lock_guard lock(mutex_);
        ++intake_wakes_;
        notice_work_ = true;
    }
    wake_.notify_all();
}

// Users' mail PINs (hashed) and PGP keys (imported) from [[users]].
base::Result<void> MailGateway::ProvisionSecrets() {
    for (const UserMailSecrets& secrets : parts_.config->user_mail_secrets) {
        auto found = parts_.store->FindUserByLogin(secrets.login);
        if (!found) return tl::unexpected(found.error());
        if (!*found) continue;
        core::User user = **found;
        bool changed = false;
        if (!secrets.pin.empty() &&
            (user.mail_pin_hash.empty() || !web::VerifyPassword(user.mail_pin_hash, secrets.pin))) {
            auto hash = web::HashPin(secrets.pin);
            if (!hash) return tl::unexpected(hash.error());
            user.mail_pin_hash = *hash;
            changed = true;
        }
        if (!secrets.pgp_key_file.empty()) {
            if (!keyring_) {
                return MakeError(ErrorCode::kUnsupported,
                                 "user " + secrets.login + " has a pgp_key_file but faxd has no PGP keyring");
            }
            auto armored = ReadText(secrets.pgp_key_file);
            if (!armored) return tl::unexpected(armored.error());
            auto fingerprint = keyring_->ImportPublicKey(*armored);
            if (!fingerprint) {
                return MakeError(ErrorCode::kInvalidArgument, "user " + secrets.login + ": " +
                                                                  secrets.pgp_key_file.string() + ": " +
                                                                  fingerprint.error().message);
            }
            if (user.pgp_fingerprint != *fingerprint) {
                user.pgp_fingerprint = *fingerprint;
                changed = true;
            }
        }
        if (changed) {
            if (auto updated = parts_.store->UpdateUser(user); !updated) return updated;
        }
    }
    if (!mail().pgp_secret_key_file.empty()) {
        if (!keyring_)
            return MakeError(ErrorCode::kUnsupported, "mail.pgp_secret_key_file needs a PGP keyring");
        auto armored = ReadText(mail().pgp_secret_key_file);
        if (!armored) return tl::unexpected(armored.error());
        if (auto imported = keyring_->ImportSecretKey(*armored); !imported) {
            return MakeError(ErrorCode::kInvalidArgument,
                             mail().pgp_secret_key_file.string() + ": " + imported.error().message);
        }
    }
    if (!parts_.config->user_mail_secrets.empty()) parts_.api->DirectoryChanged();
    return {};
}

mail::SmtpVerdict MailGateway::CheckRecipient(const std::string& address) const {
    const auto at = address.rfind('@');
    const std::string domain = at == std::string::npos ? std::string() : Lower(address.substr(at + 1));
    if (domain != mail().fax_domain) {
        return mail::SmtpVerdict::Reject("550 5.7.1 <" + address + ">: faxd only takes mail for @" +
                                         mail().fax_domain);
    }
    if (!mail::RecipientFromAddress(address, mail().fax_domain)) {
        return mail::SmtpVerdict::Reject("553 5.1.3 <" + address +
                                         ">: the local part must be a fax number (3 to 20 digits)");
    }
    return mail::SmtpVerdict::Accept();
}

bool MailGateway::Authenticate(const std::string& login, const std::string& password) {
    auto user = parts_.store->FindUserByLogin(login);
    if (!user || !*user) return false;
    auto hash = parts_.store->PasswordHash((*user)->id);
    return hash && !hash->empty() && web::VerifyPassword(*hash, password);
}

base::Result<std::string> MailGateway::Accept(const std::string& header, const std::string& message) {
    if (stopping_) return MakeError(ErrorCode::kCancelled, "faxd is stopping");
    auto id = in_.Put(header, message);
    if (id) Wake();
    return id;
}

void MailGateway::IntakeLoop(std::size_t worker) {
    auto log = base::GetLogger("mail");
    auto retry_delay = std::chrono::seconds(1);
    std::uint64_t seen_wakes = 0;
    while (!stopping_) {
        {
            std::lock_guard lock(mutex_);
            seen_wakes = intake_wakes_;
        }
        bool retry_later = false;
        std::size_t mine = 0;
        const std::vector<std::string> batch = in_.List(kIntakeBatch);
        for (const std::string& id : batch) {
            if (stopping_) break;
            if (std::hash<std::string>{}(id) % kIntakeWorkers != worker) continue;
            ++mine;
            auto entry = in_.Read(id);
            if (!entry) {
                log->error("mail {}: {}", id, entry.error().message);
                (void)in_.Remove(id);
                continue;
            }
            const Outcome outcome = Process(id, *entry);
            if (outcome == Outcome::kRetryLater) {
                retry_later = true;
                break;  // the store or the directory is away
            }
            if (auto removed = in_.Remove(id); !removed)
                log->error("mail {}: {}", id, removed.error().message);
        }
        std::unique_lock lock(mutex_);
        if (retry_later) {
            wake_.wait_for(lock, retry_delay, [this] { return stopping_.load(); });
            retry_delay = std::min(retry_delay * 2, std::chrono::seconds(60));
        } else if (batch.size() == kIntakeBatch && mine > 0) {
            continue;  // more waiting in the drop box: no pause between batches
        } else if (batch.size() == kIntakeBatch) {
            // A full batch of the other worker's mail: let it work rather than rescan at once.
            wake_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_.load(); });
        } else {
            retry_delay = std::chrono::seconds(1);
            wake_.wait_for(lock, std::chrono::seconds(5),
                           [&] { return intake_wakes_ != seen_wakes || stopping_.load(); });
        }
    }
}

void MailGateway::JobFinished(const core::Job& job) {
    if (job.last_failure == core::FailureClass::kDocumentError) {
        std::lock_guard lock(mutex_);
        conversion_failures_.push_back(std::chrono::steady_clock::now());
    }
    if (job.state == core::JobState::kCancelled) ForgetReplyAddress(job.id);
    if (!mail().return_receipt || job.state == core::JobState::kCancelled) return;
    nlohmann::json notice{{"kind", "receipt"}, {"job", job.id}};
    if (auto put = notices_.Put(notice.dump(), ""); !put) {
        base::GetLogger("mail")->error("cannot record the receipt of {}: {}", job.reference.ToString(),
                                       put.error().message);
    }
    Wake();
}

void MailGateway::InboundFinished(const core::InboundFax& fax) {
    if (fax.state == core::InboundState::kReceiving) return;
    nlohmann::json notice{{"kind", "inbound"}, {"id", fax.id}};
    if (auto put = notices_.Put(notice.dump(), ""); !put) {
        base::GetLogger("mail")->error("cannot record the mail of received fax {}: {}",
                                       fax.reference.ToString(), put.error().message);
    }
    Wake();
}

void MailGateway::NoticeLoop() {
    auto log = base::GetLogger("mail");
    while (!stopping_) {
        const std::vector<std::string> batch = notices_.List(kIntakeBatch);
        for (const std::string& id : batch) {
            if (stopping_) break;
            auto entry = notices_.Read(id);
            if (entry) {
                if (auto made = MakeNotice(entry->header); !made) {
                    log->error("notice {} not sent: {}", id, made.error().message);
                }
            }
            (void)notices_.Remove(id);
        }
        if (batch.size() == kIntakeBatch) continue;  // more waiting
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, std::chrono::seconds(5), [this] { return notice_work_ || stopping_.load(); });
        notice_work_ = false;
    }
}

base::Result<void> MailGateway::Send(const std::vector<std::string>& to, const std::string& subject,
                                     const std::string& text, const std::string& html,
                                     std::vector<std::pair<std::string, std::string>> attachments,
                                     const std::string& thumbnail_png, const std::string& in_reply_to) {
    mail::OutgoingMail message;
    message.from = mail().from_address;
    message.from_name = mail().from_name;
    message.to = to;
    message.subject = subject;
    message.text_body = text;
    message.html_body = html;
    message.in_reply_to = in_reply_to;
    message.references = in_reply_to;
    if (!in_reply_to.empty()) message.auto_submitted = "auto-replied";
    for (auto& [name, data] : attachments) {
        mail::OutgoingAttachment attachment;
        attachment.file_name = name;
        attachment.data = std::move(data);
        attachment.content_type = name.ends_with(".pdf") ? "application/pdf"
                                  : name.ends_with(".tif") || name.ends_with(".tiff")
                                      ? "image/tiff"
                                      : "application/octet-stream";
        message.attachments.push_back(std::move(attachment));
    }
    if (!thumbnail_png.empty()) {
        mail::OutgoingAttachment thumbnail;
        thumbnail.file_name = "first-page.png";
        thumbnail.content_type = "image/png";
        thumbnail.content_id = "first-page";
        thumbnail.data = thumbnail_png;
        message.attachments.push_back(std::move(thumbnail));
    }
    const std::string domain = mail().from_address.substr(mail().from_address.rfind('@') + 1);
    auto composed = mail::ComposeMail(message, std::chrono::system_clock::now(), domain);
    if (!composed) return tl::unexpected(composed.error());
    // The null reverse path: bounces of faxd's own mail must not come back to a mailbox faxd reads.
    auto queued = outbox_->Enqueue("", to, *composed);
    if (!queued) return tl::unexpected(queued.error());
    return {};
}

base::Result<void> MailGateway::RememberReplyAddress(core::JobId job, const std::string& address) {
    const auto directory = parts_.directory / "reply";
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    return base::WriteFileAtomically(directory / std::to_string(job), address);
}

std::string MailGateway::RecallReplyAddress(core::JobId job) const {
    auto text = ReadText(parts_.directory / "reply" / std::to_string(job));
    return text ? *text : std::string();
}

void MailGateway::ForgetReplyAddress(core::JobId job) {
    std::error_code ec;
    std::filesystem::remove(parts_.directory / "reply" / std::to_string(job), ec);
}

void MailGateway::Alert(const std::string& key, const std::string& subject, const std::string& body) {
    if (mail().admin_address.empty()) return;
    {
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        auto it = alerted_.find(key);
        if (it != alerted_.end() && now - it->second < std::chrono::hours(1)) return;  // at most hourly
        alerted_[key] = now;
    }
    if (auto sent = Send({mail().admin_address}, subject, body, "", {}); !sent) {
        base::GetLogger("mail")->error("cannot queue the alert '{}': {}", subject, sent.error().message);
    }
}

// Once a minute: conversion failures piling up, jobs stuck in the queue, mailboxes that cannot be read.
void MailGateway::WatchLoop() {
    const auto local_now = [] {
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        return mail::LocalDateTimeFromTm(local);
    };
    const std::string node = parts_.config->queue.node;
    while (!stopping_) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(60), [this] { return stopping_.load(); });
        }
        if (stopping_) break;
        const auto now = std::chrono::steady_clock::now();
        std::size_t failures = 0;
        {
            std::lock_guard lock(mutex_);
            std::erase_if(conversion_failures_, [&](auto at) { return now - at > std::chrono::minutes(15); });
            failures = conversion_failures_.size();
        }
        if (failures >= 5) {
            mail::ConversionFailuresAlert alert;
            alert.failures = static_cast<int>(failures);
            alert.window_seconds = 15 * 60;
            const auto text = mail::BuildAlert(alert, node);
            Alert("conversion", text.subject, text.text_body);
        }
        // Stuck: a job waiting over an hour to be converted, or due for over an hour and not dialled while
        // the queue is not stopped.
        const base::WallTime wall = parts_.api->Now();
        std::optional<core::Job> stuck;
        if (auto queued = parts_.store->QueuedJobs(1);
            queued && !queued->empty() && wall - queued->front().created > std::chrono::hours(1)) {
            stuck = queued->front();
        }
        auto stopped = parts_.api->SendingStopped();
        if (!stuck && stopped && !*stopped) {
            if (auto due = parts_.store->DueJobs(wall - std::chrono::hours(1), 1); due && !due->empty()) {
                stuck = due->front();
            }
        }
        if (stuck) {
            mail::QueueStuckAlert alert;
            alert.oldest_job_age_seconds =
                std::chrono::duration_cast<std::chrono::seconds>(wall - stuck->created).count();
            alert.job_count = 1;
            alert.oldest_reference = stuck->reference.ToString();
            const auto text = mail::BuildAlert(alert, node);
            Alert("queue", text.subject, text.text_body);
        }
        for (std::size_t i = 0; i < pollers_.size(); ++i) {
            const auto status = pollers_[i]->status();
            if (status.last_error.empty()) continue;
            mail::MailboxPollAlert alert;
            alert.mailbox = mail().mailboxes[i].name;
            alert.since = local_now();
            alert.error = status.last_error;
            alert.failed_polls = 1;
            const auto text = mail::BuildAlert(alert, node);
            Alert("mailbox:" + alert.mailbox, text.subject, text.text_body);
        }
    }
}

}  // namespace faxd::app
