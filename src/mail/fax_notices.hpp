// The texts of the mails faxd sends (issue 7): a received fax to its user, a fax call that brought no page,
// receipts to the sender of a fax, refusals of mail that was not faxed, and alerts to the administrator.
//
// Decisions:
// - Pure functions of plain structs: no core types, no clock, no time zone. Times come broken down in the
//   reader's local time (LocalDateTime, e.g. from localtime_r); the texts show ISO dates "2026-12-05" and
//   24-hour times "11:51:38", which read the same in every language.
// - Only the received-fax mail is templated (subject, bodies, attachment file name, see mail_template.hpp):
//   that is the mail sites sort with mail rules and file with scripts, and some must keep what their old fax
//   server sent (the Kalliope file name preset). Receipts, refusals and alerts have conditional parts
//   (partial sends, advice per refusal reason) and are fixed English text.
// - Every mail has a plain text and an HTML body with the same facts. Every value in HTML is escaped, every
//   subject is one line, and every value from the network or from a stranger's mail is made one line and cut
//   to a bounded length (a refusal echoes at most kMaxEchoBytes of what the sender wrote).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "mail/mail_template.hpp"

namespace faxd::mail {

// A moment in the reader's local time; the caller converts (faxd's configured time zone).
struct LocalDateTime {
    int year = 0;
    int month = 0;  // 1-12
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    friend bool operator==(const LocalDateTime&, const LocalDateTime&) = default;
};

LocalDateTime LocalDateTimeFromTm(const std::tm& local);
std::string DateText(const LocalDateTime& time);      // "2026-12-05"
std::string TimeText(const LocalDateTime& time);      // "11:51:38"
std::string DateTimeText(const LocalDateTime& time);  // "2026-12-05 11:51:38"

// "45 s", "2 min", "2 min 05 s", "1 h 02 min", "1 h 00 min 05 s"; negative counts as 0.
std::string DurationText(std::int64_t seconds);

struct NoticeText {
    std::string subject;    // one line
    std::string text_body;  // plain text, LF line ends
    std::string html_body;  // a whole HTML document
};

// ---- Received fax (fax to mail) and a fax call that brought no page ----

struct ReceivedFaxFacts {
    std::string reference;     // "2026.00000001"
    std::string id;            // the fax's number for {id} (Kalliope's running number), "211"
    std::string ani;           // calling number as the network gave it; empty when withheld
    std::string dnis;          // called number
    std::string remote_ident;  // the sender's fax ident (TSI); often empty
    LocalDateTime received;    // when the call began
    int duration_seconds = 0;
    int pages = 0;
    bool partial = false;        // the call ended before the sender was done
    std::string reason;          // plain words: why partial, or why a call brought no page
    std::string recipient_name;  // the user the fax was routed to; empty when none
};

// The values of the placeholders:
//   {reference} {id} {date} "2020-03-12" {time} "11:51:38" {yyyy} {mm} {dd} {HH} {MM} {SS}
//   {calling} the calling number, "unknown" when withheld; {calling0} "0" + calling number (Kalliope's
//   "F0..." names, where the PBX strips the outside-line 0), "unknown" when withheld; {called} the called
//   number {remote_ident} "(none)" when empty; {recipient} the user's name, else the called number {duration}
//   "1 min 05 s"; {duration_seconds} "65"; {pages} "3"; {reason} (may be empty) {status} "complete" or
//   "incomplete: <reason>; pages may be missing, ..."; {incomplete} "" or " (incomplete)"
// Network values are made one line and cut (numbers and ident to 64 bytes, names and reason to 200).
TemplateValues ReceivedFaxValues(const ReceivedFaxFacts& facts);

// What a received-fax file name, subject or body template may use: the names above; the subject and bodies
// also {file_name}, the attachment's name.
std::set<std::string> ReceivedFaxFileNamePlaceholders();
std::set<std::string> ReceivedFaxPlaceholders();

inline constexpr std::string_view kReceivedFaxSubject =
    "[{reference}] Fax received from {calling}{incomplete}";
inline constexpr std::string_view kReceivedFaxTextBody =
    "A fax for {recipient} has arrived; it is attached as {file_name}.\n"
    "\n"
    "From:          {calling}\n"
    "Sender ident:  {remote_ident}\n"
    "To:            {called}\n"
    "Received:      {date} {time}\n"
    "Duration:      {duration}\n"
    "Pages:         {pages}\n"
    "Status:        {status}\n"
    "Reference:     {reference}\n"
    "\n"
    "This message was sent automatically by the fax server.\n";
inline constexpr std::string_view kReceivedFaxHtmlBody =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>Fax received from {calling}</title></head>\n"
    "<body>\n"
    "<p>A fax for {recipient} has arrived; it is attached as {file_name}.</p>\n"
    "<table>\n"
    "<tr><th align=\"left\">From</th><td>{calling}</td></tr>\n"
    "<tr><th align=\"left\">Sender ident</th><td>{remote_ident}</td></tr>\n"
    "<tr><th align=\"left\">To</th><td>{called}</td></tr>\n"
    "<tr><th align=\"left\">Received</th><td>{date} {time}</td></tr>\n"
    "<tr><th align=\"left\">Duration</th><td>{duration}</td></tr>\n"
    "<tr><th align=\"left\">Pages</th><td>{pages}</td></tr>\n"
    "<tr><th align=\"left\">Status</th><td>{status}</td></tr>\n"
    "<tr><th align=\"left\">Reference</th><td>{reference}</td></tr>\n"
    "</table>\n"
    "<p>This message was sent automatically by the fax server.</p>\n"
    "</body></html>\n";

// Attachment names without the extension, which comes from the file format.
inline constexpr std::string_view kDefaultFileNameTemplate = "fax-{reference}";
inline constexpr std::string_view kKalliopeFileNameTemplate =
    "F{calling0}_T{called}_{yyyy}-{mm}-{dd}_{HH}_{MM}_{SS}_{id}";

// The named presets a configuration may give instead of a template: "default" and "kalliope".
std::optional<std::string_view> FileNameTemplatePreset(std::string_view name);

enum class FaxFileFormat { kPdf, kTiff };
std::string_view FileExtension(FaxFileFormat format);  // ".pdf", ".tif"

struct ReceivedFaxTemplates {
    std::string subject{kReceivedFaxSubject};
    std::string text_body{kReceivedFaxTextBody};
    std::string html_body{kReceivedFaxHtmlBody};  // values are HTML-escaped
    std::string file_name{kDefaultFileNameTemplate};
    FaxFileFormat format = FaxFileFormat::kPdf;
};

// For start-up: kInvalidArgument "file name template: unknown placeholder {foo}; known: ..." (likewise
// "subject template", "text body template", "HTML body template").
base::Result<void> CheckReceivedFaxTemplates(const ReceivedFaxTemplates& templates);

// F00501234567_T0509655637_2020-03-12_11_51_38_211.pdf - always one safe path component (SafeFileName).
std::string ReceivedFaxFileName(const ReceivedFaxFacts& facts, std::string_view name_template,
                                FaxFileFormat format);

struct ReceivedFaxNotice {
    NoticeText text;
    std::string file_name;  // for the attachment
};
ReceivedFaxNotice BuildReceivedFaxNotice(const ReceivedFaxFacts& facts,
                                         const ReceivedFaxTemplates& templates = {});

// A call announced a fax but brought no page: the same facts (pages 0, reason why) and placeholders, no file.
inline constexpr std::string_view kFailedCallSubject =
    "[{reference}] Fax call from {calling} brought no page";
inline constexpr std::string_view kFailedCallTextBody =
    "A fax call for {recipient} brought no page: {reason}.\n"
    "\n"
    "From:          {calling}\n"
    "Sender ident:  {remote_ident}\n"
    "To:            {called}\n"
    "Call at:       {date} {time}\n"
    "Duration:      {duration}\n"
    "Reference:     {reference}\n"
    "\n"
    "If you expected a fax, ask the sender to send it again.\n"
    "This message was sent automatically by the fax server.\n";
inline constexpr std::string_view kFailedCallHtmlBody =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>Fax call from {calling} brought no page</title></head>\n"
    "<body>\n"
    "<p>A fax call for {recipient} brought no page: {reason}.</p>\n"
    "<table>\n"
    "<tr><th align=\"left\">From</th><td>{calling}</td></tr>\n"
    "<tr><th align=\"left\">Sender ident</th><td>{remote_ident}</td></tr>\n"
    "<tr><th align=\"left\">To</th><td>{called}</td></tr>\n"
    "<tr><th align=\"left\">Call at</th><td>{date} {time}</td></tr>\n"
    "<tr><th align=\"left\">Duration</th><td>{duration}</td></tr>\n"
    "<tr><th align=\"left\">Reference</th><td>{reference}</td></tr>\n"
    "</table>\n"
    "<p>If you expected a fax, ask the sender to send it again.</p>\n"
    "<p>This message was sent automatically by the fax server.</p>\n"
    "</body></html>\n";

struct FailedCallTemplates {
    std::string subject{kFailedCallSubject};
    std::string text_body{kFailedCallTextBody};
    std::string html_body{kFailedCallHtmlBody};
};

// Placeholders: ReceivedFaxFileNamePlaceholders(). An empty reason reads "the call ended before any page".
base::Result<void> CheckFailedCallTemplates(const FailedCallTemplates& templates);
NoticeText BuildFailedCallNotice(const ReceivedFaxFacts& facts, const FailedCallTemplates& templates = {});

// ---- Receipts to the sender of a fax ----

enum class ReceiptKind {
    kQueued,  // the fax was accepted and waits in the queue
    kSent,
    kFailed,  // given up: no more attempts
};

struct ReceiptFacts {
    ReceiptKind kind = ReceiptKind::kSent;
    std::string reference;
    std::string recipient_number;
    std::string recipient_name;  // may be empty
    std::string fax_subject;     // the fax's subject (cover page), may be empty
    int pages_sent = 0;
    int pages_total = 0;  // 0 when not known yet (kQueued before conversion)
    int duration_seconds = 0;
    int attempts = 0;
    std::string remote_ident;  // the receiving fax's ident (CSI), may be empty
    std::string reason;        // kFailed, plain words: "the line was busy on all 5 attempts"
    std::string error_class;   // kFailed, the queue's failure class: "busy"
    LocalDateTime submitted;
    std::optional<LocalDateTime> finished;  // kSent and kFailed
    std::string thumbnail_cid;  // Content-ID of an image of the first page in the mail; "" for none
};

// The first line, e.g. "Your fax to 0301234 was sent: 3 of 3 pages." or
// "Your fax to ACME Corp (0301234) could not be sent: the line was busy on all 5 attempts."
std::string ReceiptOutcome(const ReceiptFacts& facts);

struct ReportRow {
    std::string label;  // "Pages sent"
    std::string value;  // "3 of 3"
    friend bool operator==(const ReportRow&, const ReportRow&) = default;
};

// Reference, recipient, subject, pages, duration, attempts, remote ident, submitted, finished, result and
// error class, leaving out what is empty or does not apply (a queued fax has no duration yet).
std::vector<ReportRow> ReportRows(const ReceiptFacts& facts);

// The transmission report for the PDF attachment, one line each: a title, the outcome, then the rows as
// aligned "Label:  value" lines (empty strings are blank lines).
std::vector<std::string> ReportLines(const ReceiptFacts& facts);

// Subject e.g. "[2026.00000001] Fax to 0301234 sent (3 of 3 pages) - Offer"; the bodies hold the outcome,
// the report rows and, when thumbnail_cid is set, <img src="cid:...">.
NoticeText BuildReceipt(const ReceiptFacts& facts);

// ---- Refusals: a mail to the gateway that was not faxed ----

enum class RefusalReason {
    kUnknownSender,
    kNotAllowedToSend,
    kWrongPin,
    kMissingPin,
    kNotSigned,
    kBadSignature,
    kNotEncrypted,
    kNoRecipient,
    kBadRecipient,
    kNoDocument,
    kDocumentError,
    kDkimSpfFailed,
};

// "unknown_sender", "wrong_pin", ... for logs and statistics.
std::string_view RefusalReasonName(RefusalReason reason);

// At most this much of anything the sender wrote comes back in a refusal.
inline constexpr std::size_t kMaxEchoBytes = 200;

struct RefusalFacts {
    RefusalReason reason = RefusalReason::kNoRecipient;
    std::string detail;            // the particular thing, e.g. "'abc' is not a fax number"; may be empty
    std::string original_subject;  // of the refused mail
    std::string fax_domain;  // "fax.example.com" for the "<number>@fax.example.com" advice; may be empty
};

// Subject "Re: <original subject>" (one line, at most kMaxEchoBytes of it; no second "Re:"), or "Your fax
// was not sent" when the mail had no subject. The body says why in its first sentence ("Your mail "0301234"
// was not faxed: ..."), then the detail, then what to do. Whether to answer at all (an automatic mail, or a
// sender that may be forged after kDkimSpfFailed: no backscatter) is the caller's decision.
NoticeText BuildRefusal(const RefusalFacts& facts);

// ---- Alerts to the administrator ----

struct RelayUnreachableAlert {
    std::string relay;  // "smtp.example.com:587"
    LocalDateTime since;
    std::string error;
    int waiting_mails = 0;
};

struct QueueStuckAlert {
    std::int64_t oldest_job_age_seconds = 0;
    int job_count = 0;
    std::string oldest_reference;  // may be empty
};

struct ConversionFailuresAlert {
    int failures = 0;
    std::int64_t window_seconds = 0;
    std::string last_error;
};

struct MailboxPollAlert {
    std::string mailbox;  // "fax@example.com on imap.example.com"
    LocalDateTime since;
    std::string error;
    int failed_polls = 0;
};

// Subjects start "[faxd alert] "; the body says what is wrong, what it means for users and what to check.
// `node` (the reporting faxd, when several share a queue) is named at the end when not empty.
NoticeText BuildAlert(const RelayUnreachableAlert& alert, std::string_view node = {});
NoticeText BuildAlert(const QueueStuckAlert& alert, std::string_view node = {});
NoticeText BuildAlert(const ConversionFailuresAlert& alert, std::string_view node = {});
NoticeText BuildAlert(const MailboxPollAlert& alert, std::string_view node = {});

}  // namespace faxd::mail
