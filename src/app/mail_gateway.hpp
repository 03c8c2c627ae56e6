// The e-mail gateway (issue 7, docs/mail.md): mail to fax through the SMTP listener and polled mailboxes,
// fax to mail, receipts, refusals and administrator alerts through the company's SMTP relay.
//
// Every mail faxd accepts goes first into a durable drop box (<spool>/../mail/in) - before the SMTP 250 or
// the mailbox delete - and two worker threads turn each into a submission (or a refusal reply) and only then
// removes it. Submissions carry the idempotency key "mail:<sha256 of Message-ID or the whole mail>", so a
// mail handled twice (crash after the submission, a client that retried, a POP3 message fetched again)
// faxes once. Notices (receipts, received faxes, failed calls) are recorded in a second drop box
// (<spool>/../mail/notices) when the fax changes state, and a worker makes the mails and hands them to the
// durable outbox (<spool>/../mail/out), which retries the relay with backoff.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "app/config.hpp"
#include "app/mail_drop.hpp"
#include "app/server_api.hpp"
#include "core/ports.hpp"
#include "mail/fax_notices.hpp"
#include "mail/mail_outbox.hpp"
#include "mail/mailbox_poller.hpp"
#include "mail/mime_intake.hpp"
#include "mail/pgp_keyring.hpp"
#include "mail/smtp_server.hpp"
#include "store/spool.hpp"
#include "store/store.hpp"

namespace faxd::app {

struct MailGatewayParts {
    const FaxdConfig* config = nullptr;
    ServerApi* api = nullptr;
    store::Store* store = nullptr;
    store::Spool* spool = nullptr;
    std::filesystem::path directory;  // holds in/, notices/, out/ and the PGP home
};

class MailGateway {
public:
    static base::Result<std::unique_ptr<MailGateway>> Start(MailGatewayParts parts);
    ~MailGateway();
    void Stop();

    // Called by the job store's writers when a job ends or a reception is closed: records the notice
    // durably (never blocks on mail).
    void JobFinished(const core::Job& job);
    void InboundFinished(const core::InboundFax& fax);

    std::uint16_t smtp_port() const { return smtp_ ? smtp_->port() : 0; }

    // What one accepted mail became (the intake worker's result; public for tests and the benchmark).
    enum class Outcome { kSubmitted, kRefused, kIgnored, kRetryLater };

private:
    explicit MailGateway(MailGatewayParts parts, MailDrop in, MailDrop notices)
        : parts_(std::move(parts)), in_(std::move(in)), notices_(std::move(notices)) {}
    const MailConfig& mail() const { return parts_.config->mail; }

    base::Result<void> ProvisionSecrets();
    base::Result<std::string> Accept(const std::string& header, const std::string& message);
    mail::SmtpVerdict CheckRecipient(const std::string& address) const;
    bool Authenticate(const std::string& login, const std::string& password);

    void IntakeLoop(std::size_t worker);
    Outcome Process(const std::string& id, const MailDrop::Entry& entry);
    void NoticeLoop();
    base::Result<void> MakeNotice(const std::string& header);
    void Refuse(const mail::ParsedMail& mail, const std::string& to, mail::RefusalReason reason,
                const std::string& detail);
    base::Result<void> Send(const std::vector<std::string>& to, const std::string& subject,
                            const std::string& text, const std::string& html,
                            std::vector<std::pair<std::string, std::string>> attachments_name_data,
                            const std::string& thumbnail_png = {}, const std::string& in_reply_to = {});
    // Where a mail-submitted job's receipt goes: <directory>/reply/<job id>, written atomically.
    base::Result<void> RememberReplyAddress(core::JobId job, const std::string& address);
    std::string RecallReplyAddress(core::JobId job) const;
    void ForgetReplyAddress(core::JobId job);
    void Alert(const std::string& key, const std::string& subject, const std::string& body);
    void WatchLoop();
    void Wake();

    MailGatewayParts parts_;
    MailDrop in_;
    MailDrop notices_;
    std::unique_ptr<mail::PgpKeyring> keyring_;
    std::unique_ptr<mail::MailOutbox> outbox_;
    std::unique_ptr<mail::SmtpServer> smtp_;
    std::vector<std::unique_ptr<mail::MailboxPoller>> pollers_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t intake_wakes_ = 0;  // counts Wake()s: each intake worker compares with the last it saw
    bool notice_work_ = false;
    std::atomic<bool> stopping_{false};
    std::map<std::string, std::chrono::steady_clock::time_point> alerted_;  // alert key -> last sent
    std::vector<std::chrono::steady_clock::time_point> conversion_failures_;
    // Wrong PINs per user in the last hour (intake thread only).
    std::mutex pins_mutex_;
    std::map<core::UserId, std::vector<std::chrono::steady_clock::time_point>> wrong_pins_;
    // Intake workers: each takes the drop box entries whose id hashes to it (fsync-bound work, so two
    // workers nearly double the mails per second even on two cores).
    std::vector<std::jthread> intake_threads_;
    std::jthread notice_thread_;
    std::jthread watch_thread_;
};

}  // namespace faxd::app
