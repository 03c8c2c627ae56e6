// Fax to mail: received faxes to their users, failed-call notices, receipts to senders, refusal replies.
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/mail_gateway.hpp"
#include "base/log.hpp"
#include "render/subprocess.hpp"
#include "render/thumbnail.hpp"

namespace faxd::app {
namespace {

using base::ErrorCode;
using base::MakeError;

mail::LocalDateTime Local(base::WallTime at) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(at));
    std::tm local{};
    localtime_r(&seconds, &local);
    return mail::LocalDateTimeFromTm(local);
}

std::string AddressOf(const core::User& user) { return user.fax_email.empty() ? user.email : user.fax_email; }

base::Result<std::string> ReadAll(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kNotFound, "cannot read " + path.string());
    std::ostringstream all;
    all << in.rdbuf();
    return std::move(all).str();
}

// Page 1 of a fax TIFF as a small PNG, or "" when it cannot be made (a receipt goes out without it).
std::string Thumbnail(const std::filesystem::path& tiff, const std::filesystem::path& work) {
    const auto png = work / ("thumb-" + std::to_string(std::hash<std::string>{}(tiff.string())) + ".png");
    if (!render::WriteThumbnailPng(tiff, png, 300)) return {};
    auto bytes = ReadAll(png);
    std::error_code ec;
    std::filesystem::remove(png, ec);
    return bytes ? *bytes : std::string();
}

}  // namespace

void MailGateway::Refuse(const mail::ParsedMail& parsed, const std::string& to, mail::RefusalReason reason,
                         const std::string& detail) {
    auto log = base::GetLogger("mail");
    log->warn("mail from <{}> refused ({}){}; nothing faxed", parsed.from_address,
              mail::RefusalReasonName(reason), detail.empty() ? "" : ": " + detail);
    // A failed DKIM/SPF check means the From may be forged: answering it would send mail to a stranger
    // (backscatter), so that refusal is only logged.
    if (reason == mail::RefusalReason::kDkimSpfFailed) return;
    mail::RefusalFacts facts;
    facts.reason = reason;
    facts.detail = detail;
    facts.original_subject = parsed.subject;
    facts.fax_domain = mail().fax_domain;
    const mail::NoticeText text = mail::BuildRefusal(facts);
    const std::string in_reply_to = parsed.message_id.empty() ? "" : "<" + parsed.message_id + ">";
    if (auto sent = Send({to}, text.subject, text.text_body, text.html_body, {}, {}, in_reply_to); !sent) {
        log->error("cannot queue the refusal to <{}>: {}", to, sent.error().message);
    }
}

base::Result<void> MailGateway::MakeNotice(const std::string& header_line) {
    const auto header = nlohmann::json::parse(header_line, nullptr, false);
    if (header.is_discarded() || !header.contains("kind"))
        return MakeError(ErrorCode::kInvalidArgument, "bad notice");
    const std::string kind = header["kind"];
    auto directory = parts_.api->Directory();
    if (!directory) return tl::unexpected(directory.error());
    const std::filesystem::path work = parts_.directory / "tmp";
    std::error_code ec;
    std::filesystem::create_directories(work, ec);

    if (kind == "receipt" || kind == "queued") {
        auto job = parts_.store->GetJob(header.value("job", std::int64_t{0}));
        if (!job) return tl::unexpected(job.error());
        const core::User* owner = (*directory)->FindUser(job->owner);
        std::string to = header.value("to", "");
        if (to.empty()) to = RecallReplyAddress(job->id);
        if (to.empty() && owner != nullptr) to = AddressOf(*owner);
        if (to.empty()) return {};  // nobody to tell
        auto attempts = parts_.store->Attempts(job->id);
        mail::ReceiptFacts facts;
        facts.kind = kind == "queued"                      ? mail::ReceiptKind::kQueued
                     : job->state == core::JobState::kSent ? mail::ReceiptKind::kSent
                                                           : mail::ReceiptKind::kFailed;
        facts.reference = job->reference.ToString();
        facts.recipient_number = job->number;
        facts.recipient_name = job->recipient_name;
        if (auto submission = parts_.store->GetSubmission(job->submission))
            facts.fax_subject = submission->subject;
        facts.pages_sent = job->pages_confirmed;
        facts.pages_total = job->pages_total;
        facts.attempts = job->dials;
        facts.submitted = Local(job->created);
        if (attempts && !attempts->empty()) {
            double seconds = 0;
            for (const core::Attempt& attempt : *attempts) seconds += attempt.duration_seconds;
            facts.duration_seconds = static_cast<int>(seconds + 0.5);
            facts.remote_ident = attempts->back().remote_ident;
            facts.finished = Local(attempts->back().started +
                                   std::chrono::duration_cast<base::Duration>(
                                       std::chrono::duration<double>(attempts->back().duration_seconds)));
        }
        if (facts.kind == mail::ReceiptKind::kFailed) {
            facts.reason = job->last_reason;
            facts.error_class = std::string(core::FailureClassName(job->last_failure));
        }
        std::vector<std::pair<std::string, std::string>> attachments;
        std::string thumbnail;
        if (facts.kind != mail::ReceiptKind::kQueued) {
            if (auto report = parts_.api->ReportPdf(mail::ReportLines(facts))) {
                attachments.emplace_back("report-" + facts.reference + ".pdf", std::move(*report));
            }
            if (!job->document.empty()) {
                if (auto tiff = parts_.spool->PathOf(job->document)) thumbnail = Thumbnail(*tiff, work);
            }
            if (!thumbnail.empty()) facts.thumbnail_cid = "first-page";
        }
        const mail::NoticeText text = mail::BuildReceipt(facts);
        auto sent =
            Send({to}, text.subject, text.text_body, text.html_body, std::move(attachments), thumbnail);
        if (sent && kind == "receipt") ForgetReplyAddress(job->id);
        return sent;
    }

    if (kind == "inbound") {
        auto fax = parts_.store->GetInbound(header.value("id", std::int64_t{0}));
        if (!fax) return tl::unexpected(fax.error());
        if (!fax->destination) return {};
        mail::ReceivedFaxFacts facts;
        facts.reference = fax->reference.ToString();
        facts.id = std::to_string(fax->id);
        facts.ani = fax->ani;
        facts.dnis = fax->dnis;
        facts.remote_ident = fax->remote_ident;
        facts.received = Local(fax->started);
        facts.duration_seconds = static_cast<int>(fax->duration_seconds + 0.5);
        facts.pages = fax->pages;
        facts.partial = fax->state == core::InboundState::kPartial;
        facts.reason = fax->failure_reason;
        const bool no_page = fax->pages == 0;
        if (no_page && !mail().failed_call_notice) return {};
        std::optional<std::filesystem::path> tiff;
        if (!no_page && !fax->document.empty()) {
            if (auto path = parts_.spool->PathOf(fax->document)) tiff = *path;
        }
        std::optional<std::string> pdf;  // made once, for every user who wants PDF
        for (core::UserId id : fax->destination->recipients) {
            const core::User* user = (*directory)->FindUser(id);
            if (user == nullptr || !user->fax_to_email || !user->receive_enabled || AddressOf(*user).empty())
                continue;
            facts.recipient_name = user->name;
            if (no_page) {
                const mail::NoticeText text = mail::BuildFailedCallNotice(facts);
                if (auto sent = Send({AddressOf(*user)}, text.subject, text.text_body, text.html_body, {});
                    !sent)
                    return sent;
                continue;
            }
            mail::ReceivedFaxTemplates templates;
            if (!mail().received_subject.empty()) templates.subject = mail().received_subject;
            if (!mail().received_body.empty()) {
                templates.text_body = mail().received_body;
                templates.html_body.clear();
            }
            if (!mail().received_file_name.empty()) {
                templates.file_name = std::string(mail::FileNameTemplatePreset(mail().received_file_name)
                                                      .value_or(mail().received_file_name));
            }
            templates.format = user->attachment_format == core::AttachmentFormat::kTiff
                                   ? mail::FaxFileFormat::kTiff
                                   : mail::FaxFileFormat::kPdf;
            const mail::ReceivedFaxNotice notice = mail::BuildReceivedFaxNotice(facts, templates);
            std::vector<std::pair<std::string, std::string>> attachments;
            if (user->attach_fax && tiff) {
                if (templates.format == mail::FaxFileFormat::kTiff) {
                    auto bytes = ReadAll(*tiff);
                    if (!bytes) return tl::unexpected(bytes.error());
                    attachments.emplace_back(notice.file_name, std::move(*bytes));
                } else {
                    if (!pdf) {
                        auto made = parts_.api->TiffAsPdf(*tiff);
                        if (!made) return tl::unexpected(made.error());
                        pdf = std::move(*made);
                    }
                    attachments.emplace_back(notice.file_name, *pdf);
                }
            }
            if (auto sent = Send({AddressOf(*user)}, notice.text.subject, notice.text.text_body,
                                 notice.text.html_body, std::move(attachments));
                !sent) {
                return sent;
            }
        }
        return {};
    }
    return MakeError(ErrorCode::kInvalidArgument, "unknown notice kind " + kind);
}

}  // namespace faxd::app
