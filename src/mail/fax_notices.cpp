#include "mail/fax_notices.hpp"

#include <algorithm>
#include <cctype>

namespace faxd::mail {
namespace {

constexpr std::size_t kMaxNumberBytes = 64;
constexpr std::size_t kMaxNameBytes = 100;
constexpr std::size_t kMaxFaxSubjectInSubject = 80;
constexpr std::string_view kAutomaticFooter = "This message was sent automatically by the fax server.";

std::string Padded(int value, int width) {
    std::string digits = std::to_string(value < 0 ? 0 : value);
    if (digits.size() < static_cast<std::size_t>(width)) digits.insert(0, width - digits.size(), '0');
    return digits;
}

// A value from the network or a stranger: one line, bounded.
std::string Clean(std::string_view text, std::size_t max_bytes) {
    return Abbreviate(OneLine(text), max_bytes);
}

// Plain words that go in front of a '.' or ';': one line, bounded, without a trailing full stop.
std::string Clause(std::string_view text) {
    std::string clause = OneLine(text);
    while (!clause.empty() && (clause.back() == '.' || clause.back() == ' ')) clause.pop_back();
    return Abbreviate(clause, kMaxEchoBytes);
}

// "1 page", "3 pages"; `plural` for nouns that do not just add an 's'.
std::string Count(int n, std::string_view noun, std::string_view plural = {}) {
    if (n == 1) return "1 " + std::string(noun);
    return std::to_string(n) + " " + (plural.empty() ? std::string(noun) + "s" : std::string(plural));
}

std::string PagesOf(int sent, int total) { return std::to_string(sent) + " of " + Count(total, "page"); }

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i]))) {
            return false;
        }
    }
    return true;
}

std::set<std::string> KeysOf(const TemplateValues& values) {
    std::set<std::string> keys;
    for (const auto& [key, value] : values) keys.insert(key);
    return keys;
}

base::Result<void> CheckNamed(std::string_view what, std::string_view text,
                              const std::set<std::string>& known) {
    auto checked = CheckTemplate(text, known);
    if (!checked) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               std::string(what) + " template: " + checked.error().message);
    }
    return {};
}

// ---- Shared layout of the fixed-text mails ----

std::string TextTable(const std::vector<ReportRow>& rows) {
    std::size_t width = 0;
    for (const ReportRow& row : rows) width = std::max(width, row.label.size());
    std::string text;
    for (const ReportRow& row : rows) {
        std::string line = row.label + ":";
        line.append(width + 2 - line.size(), ' ');
        text += line + row.value + "\n";
    }
    return text;
}

std::string HtmlTable(const std::vector<ReportRow>& rows) {
    std::string html = "<table>\n";
    for (const ReportRow& row : rows) {
        html += "<tr><th align=\"left\">" + HtmlEscape(row.label) + "</th><td>" + HtmlEscape(row.value) +
                "</td></tr>\n";
    }
    html += "</table>\n";
    return html;
}

std::string HtmlParagraph(std::string_view text) { return "<p>" + HtmlEscape(text) + "</p>\n"; }

std::string HtmlDocument(std::string_view title, std::string_view body) {
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + HtmlEscape(title) +
           "</title></head>\n<body>\n" + std::string(body) + "</body></html>\n";
}

// Paragraphs of one line each, with the automatic-message footer and the reporting node.
NoticeText ParagraphMail(std::string subject, std::vector<std::string> paragraphs,
                         std::string_view node = {}) {
    if (!node.empty()) paragraphs.push_back("Reported by faxd on " + Clean(node, kMaxNameBytes) + ".");
    paragraphs.emplace_back(kAutomaticFooter);
    NoticeText notice;
    notice.subject = OneLine(subject);
    std::string html;
    for (std::size_t i = 0; i < paragraphs.size(); ++i) {
        if (i > 0) notice.text_body += "\n";
        notice.text_body += paragraphs[i] + "\n";
        html += HtmlParagraph(paragraphs[i]);
    }
    notice.html_body = HtmlDocument(notice.subject, html);
    return notice;
}

// ---- Receipts ----

std::string RecipientText(const ReceiptFacts& facts) {
    const std::string number = Clean(facts.recipient_number, kMaxNumberBytes);
    const std::string name = Clean(facts.recipient_name, kMaxNameBytes);
    if (name.empty()) return number;
    if (number.empty()) return name;
    return name + " (" + number + ")";
}

std::string FailureReason(const ReceiptFacts& facts) {
    std::string reason = Clause(facts.reason);
    return reason.empty() ? "the reason is not known" : reason;
}

// ---- Refusals ----

struct RefusalWords {
    std::string_view why;
    std::string_view what_to_do;
};

RefusalWords WordsFor(RefusalReason reason) {
    switch (reason) {
        case RefusalReason::kUnknownSender:
            return {"your sender address is not registered with the fax server",
                    "Send from the address your fax account is registered with, or ask your administrator to "
                    "register this address."};
        case RefusalReason::kNotAllowedToSend:
            return {"your account is not allowed to send faxes",
                    "Ask your administrator for permission to send faxes."};
        case RefusalReason::kWrongPin:
            return {"the PIN in the mail is wrong",
                    "Put a line 'PIN: <your PIN>' with your correct PIN in the mail body and send the mail "
                    "again. Your administrator can tell you your PIN."};
        case RefusalReason::kMissingPin:
            return {"your account needs a PIN in every mail, and this mail has none",
                    "Put a line 'PIN: <your PIN>' in the mail body and send the mail again."};
        case RefusalReason::kNotSigned:
            return {"the fax server accepts signed mail only, and this mail is not signed",
                    "Sign the mail (S/MIME or OpenPGP) with the key registered for your account and send it "
                    "again."};
        case RefusalReason::kBadSignature:
            return {
                "the signature of the mail could not be verified",
                "Check that your certificate or key is valid and registered for your account, and send the "
                "mail again. A signature also breaks when a mail server changes the mail on the way, for "
                "example by adding a footer."};
        case RefusalReason::kNotEncrypted:
            return {"the fax server accepts encrypted mail only, and this mail is not encrypted",
                    "Encrypt the mail to the fax server's certificate and send it again."};
        case RefusalReason::kNoRecipient:
            return {"the mail names no fax number", ""};  // the advice depends on the fax domain
        case RefusalReason::kBadRecipient:
            return {
                "a fax number in the mail is not valid",
                "Write each fax number with digits, optionally a leading '+' (for example '+49 30 1234567'), "
                "several numbers separated by commas, and send the mail again. No fax was sent to any of "
                "its numbers."};
        case RefusalReason::kNoDocument:
            return {"the mail has nothing to fax",
                    "Attach the document (PDF, Office document, image or text) or write the text in the mail "
                    "body, and send the mail again."};
        case RefusalReason::kDocumentError:
            return {"an attachment could not be turned into fax pages",
                    "Check that the attachment opens and is not password-protected, or attach it as PDF, and "
                    "send the mail again."};
        case RefusalReason::kDkimSpfFailed:
            return {"the mail failed the sender checks (DKIM and SPF), so it may not come from you",
                    "Send the mail directly from your own mail account, not through a forwarding service. If "
                    "this keeps happening, tell your administrator."};
    }
    return {"the fax server refused it", "Ask your administrator."};
}

}  // namespace

// ---- Times ----

LocalDateTime LocalDateTimeFromTm(const std::tm& local) {
    return {local.tm_year + 1900, local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec};
}

std::string DateText(const LocalDateTime& time) {
    return Padded(time.year, 4) + "-" + Padded(time.month, 2) + "-" + Padded(time.day, 2);
}

std::string TimeText(const LocalDateTime& time) {
    return Padded(time.hour, 2) + ":" + Padded(time.minute, 2) + ":" + Padded(time.second, 2);
}

std::string DateTimeText(const LocalDateTime& time) { return DateText(time) + " " + TimeText(time); }

std::string DurationText(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 60) return std::to_string(seconds) + " s";
    const std::int64_t hours = seconds / 3600;
    const int minutes = static_cast<int>(seconds % 3600 / 60);
    const int rest = static_cast<int>(seconds % 60);
    std::string text;
    if (hours > 0) {
        text = std::to_string(hours) + " h";
        if (minutes > 0 || rest > 0) text += " " + Padded(minutes, 2) + " min";
    } else {
        text = std::to_string(minutes) + " min";
    }
    if (rest > 0) text += " " + Padded(rest, 2) + " s";
    return text;
}

// ---- Received fax and failed call ----

TemplateValues ReceivedFaxValues(const ReceivedFaxFacts& facts) {
    const std::string ani = Clean(facts.ani, kMaxNumberBytes);
    const std::string dnis = Clean(facts.dnis, kMaxNumberBytes);
    const std::string ident = Clean(facts.remote_ident, kMaxNumberBytes);
    const std::string name = Clean(facts.recipient_name, kMaxNameBytes);
    const std::string reason = Clause(facts.reason);
    const LocalDateTime& at = facts.received;

    std::string status = "complete";
    if (facts.partial) {
        status = "incomplete: " + (reason.empty() ? std::string("the call ended early") : reason) +
                 "; pages may be missing, ask the sender to send the fax again";
    }
    return {
        {"reference", facts.reference},
        {"id", facts.id},
        {"calling", ani.empty() ? "unknown" : ani},
        {"calling0", ani.empty() ? "unknown" : "0" + ani},
        {"called", dnis},
        {"remote_ident", ident.empty() ? "(none)" : ident},
        {"recipient", name.empty() ? dnis : name},
        {"date", DateText(at)},
        {"time", TimeText(at)},
        {"yyyy", Padded(at.year, 4)},
        {"mm", Padded(at.month, 2)},
        {"dd", Padded(at.day, 2)},
        {"HH", Padded(at.hour, 2)},
        {"MM", Padded(at.minute, 2)},
        {"SS", Padded(at.second, 2)},
        {"duration", DurationText(facts.duration_seconds)},
        {"duration_seconds", std::to_string(std::max(facts.duration_seconds, 0))},
        {"pages", std::to_string(std::max(facts.pages, 0))},
        {"reason", reason},
        {"status", status},
        {"incomplete", facts.partial ? " (incomplete)" : ""},
    };
}

std::set<std::string> ReceivedFaxFileNamePlaceholders() { return KeysOf(ReceivedFaxValues({})); }

std::set<std::string> ReceivedFaxPlaceholders() {
    std::set<std::string> names = ReceivedFaxFileNamePlaceholders();
    names.insert("file_name");
    return names;
}

std::optional<std::string_view> FileNameTemplatePreset(std::string_view name) {
    if (name == "default") return kDefaultFileNameTemplate;
    if (name == "kalliope") return kKalliopeFileNameTemplate;
    return std::nullopt;
}

std::string_view FileExtension(FaxFileFormat format) {
    switch (format) {
        case FaxFileFormat::kPdf:
            return ".pdf";
        case FaxFileFormat::kTiff:
            return ".tif";
    }
    return ".pdf";
}

base::Result<void> CheckReceivedFaxTemplates(const ReceivedFaxTemplates& templates) {
    const std::set<std::string> known = ReceivedFaxPlaceholders();
    if (auto ok = CheckNamed("file name", templates.file_name, ReceivedFaxFileNamePlaceholders()); !ok)
        return ok;
    if (auto ok = CheckNamed("subject", templates.subject, known); !ok) return ok;
    if (auto ok = CheckNamed("text body", templates.text_body, known); !ok) return ok;
    return CheckNamed("HTML body", templates.html_body, known);
}

std::string ReceivedFaxFileName(const ReceivedFaxFacts& facts, std::string_view name_template,
                                FaxFileFormat format) {
    return SafeFileNameFromTemplate(name_template, ReceivedFaxValues(facts)) +
           std::string(FileExtension(format));
}

ReceivedFaxNotice BuildReceivedFaxNotice(const ReceivedFaxFacts& facts,
                                         const ReceivedFaxTemplates& templates) {
    TemplateValues values = ReceivedFaxValues(facts);
    ReceivedFaxNotice notice;
    notice.file_name =
        SafeFileNameFromTemplate(templates.file_name, values) + std::string(FileExtension(templates.format));
    values["file_name"] = notice.file_name;
    notice.text.subject = ExpandHeaderTemplate(templates.subject, values);
    notice.text.text_body = ExpandTemplate(templates.text_body, values);
    notice.text.html_body = ExpandHtmlTemplate(templates.html_body, values);
    return notice;
}

base::Result<void> CheckFailedCallTemplates(const FailedCallTemplates& templates) {
    const std::set<std::string> known = ReceivedFaxFileNamePlaceholders();
    if (auto ok = CheckNamed("subject", templates.subject, known); !ok) return ok;
    if (auto ok = CheckNamed("text body", templates.text_body, known); !ok) return ok;
    return CheckNamed("HTML body", templates.html_body, known);
}

NoticeText BuildFailedCallNotice(const ReceivedFaxFacts& facts, const FailedCallTemplates& templates) {
    TemplateValues values = ReceivedFaxValues(facts);
    if (values["reason"].empty()) values["reason"] = "the call ended before any page";
    return {ExpandHeaderTemplate(templates.subject, values), ExpandTemplate(templates.text_body, values),
            ExpandHtmlTemplate(templates.html_body, values)};
}

// ---- Receipts ----

std::string ReceiptOutcome(const ReceiptFacts& facts) {
    const std::string to = "Your fax to " + RecipientText(facts);
    switch (facts.kind) {
        case ReceiptKind::kQueued:
            if (facts.pages_total > 0) {
                return to + " was accepted and is queued for sending: " + Count(facts.pages_total, "page") +
                       ".";
            }
            return to + " was accepted and is queued for sending.";
        case ReceiptKind::kSent:
            return to + " was sent: " + PagesOf(facts.pages_sent, facts.pages_total) + ".";
        case ReceiptKind::kFailed:
            if (facts.pages_sent > 0) {
                return to + " could not be sent completely: " + FailureReason(facts) + ". " +
                       PagesOf(facts.pages_sent, facts.pages_total) + " got through.";
            }
            return to + " could not be sent: " + FailureReason(facts) + ".";
    }
    return to + ".";
}

std::vector<ReportRow> ReportRows(const ReceiptFacts& facts) {
    std::vector<ReportRow> rows;
    const auto add = [&](std::string label, std::string value) {
        if (!value.empty()) rows.push_back({std::move(label), std::move(value)});
    };
    const bool queued = facts.kind == ReceiptKind::kQueued;
    add("Reference", facts.reference);
    add("Recipient", RecipientText(facts));
    add("Subject", Clean(facts.fax_subject, kMaxEchoBytes));
    if (queued) {
        if (facts.pages_total > 0) add("Pages", std::to_string(facts.pages_total));
    } else {
        add("Pages sent", std::to_string(facts.pages_sent) + " of " + std::to_string(facts.pages_total));
        if (facts.duration_seconds > 0) add("Duration", DurationText(facts.duration_seconds));
        if (facts.attempts > 0) add("Attempts", std::to_string(facts.attempts));
    }
    add("Remote ident", Clean(facts.remote_ident, kMaxNumberBytes));
    add("Submitted", DateTimeText(facts.submitted));
    if (facts.finished) add("Finished", DateTimeText(*facts.finished));
    switch (facts.kind) {
        case ReceiptKind::kQueued:
            add("Result", "queued for sending");
            break;
        case ReceiptKind::kSent:
            add("Result", "sent");
            break;
        case ReceiptKind::kFailed:
            add("Result", "not sent: " + FailureReason(facts));
            add("Error class", Clean(facts.error_class, kMaxNumberBytes));
            break;
    }
    return rows;
}

std::vector<std::string> ReportLines(const ReceiptFacts& facts) {
    std::vector<std::string> lines = {"Fax transmission report", "", ReceiptOutcome(facts), ""};
    const std::string table = TextTable(ReportRows(facts));
    std::size_t start = 0;
    while (start < table.size()) {
        const std::size_t end = table.find('\n', start);
        lines.push_back(table.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

NoticeText BuildReceipt(const ReceiptFacts& facts) {
    std::string subject =
        "[" + facts.reference + "] Fax to " + Clean(facts.recipient_number, kMaxNumberBytes);
    switch (facts.kind) {
        case ReceiptKind::kQueued:
            subject += " queued";
            if (facts.pages_total > 0) subject += " (" + Count(facts.pages_total, "page") + ")";
            break;
        case ReceiptKind::kSent:
            subject += " sent (" + PagesOf(facts.pages_sent, facts.pages_total) + ")";
            break;
        case ReceiptKind::kFailed:
            if (facts.pages_sent > 0) {
                subject += " not sent completely (" + PagesOf(facts.pages_sent, facts.pages_total) + ")";
            } else {
                subject += " not sent";
            }
            break;
    }
    const std::string fax_subject = Clean(facts.fax_subject, kMaxFaxSubjectInSubject);
    if (!fax_subject.empty()) subject += " - " + fax_subject;

    const std::string outcome = ReceiptOutcome(facts);
    const std::vector<ReportRow> rows = ReportRows(facts);
    NoticeText notice;
    notice.subject = OneLine(subject);
    notice.text_body = outcome + "\n\n" + TextTable(rows) + "\n" + std::string(kAutomaticFooter) + "\n";
    std::string html = HtmlParagraph(outcome) + HtmlTable(rows);
    if (!facts.thumbnail_cid.empty()) {
        html += "<p><img src=\"cid:" + HtmlEscape(OneLine(facts.thumbnail_cid)) +
                "\" alt=\"The first page of the fax\"></p>\n";
    }
    html += HtmlParagraph(kAutomaticFooter);
    notice.html_body = HtmlDocument(notice.subject, html);
    return notice;
}

// ---- Refusals ----

std::string_view RefusalReasonName(RefusalReason reason) {
    switch (reason) {
        case RefusalReason::kUnknownSender:
            return "unknown_sender";
        case RefusalReason::kNotAllowedToSend:
            return "not_allowed_to_send";
        case RefusalReason::kWrongPin:
            return "wrong_pin";
        case RefusalReason::kMissingPin:
            return "missing_pin";
        case RefusalReason::kNotSigned:
            return "not_signed";
        case RefusalReason::kBadSignature:
            return "bad_signature";
        case RefusalReason::kNotEncrypted:
            return "not_encrypted";
        case RefusalReason::kNoRecipient:
            return "no_recipient";
        case RefusalReason::kBadRecipient:
            return "bad_recipient";
        case RefusalReason::kNoDocument:
            return "no_document";
        case RefusalReason::kDocumentError:
            return "document_error";
        case RefusalReason::kDkimSpfFailed:
            return "dkim_spf_failed";
    }
    return "unknown";
}

NoticeText BuildRefusal(const RefusalFacts& facts) {
    const std::string original = Clean(facts.original_subject, kMaxEchoBytes);
    std::string subject = "Your fax was not sent";
    if (!original.empty()) subject = StartsWithIgnoreCase(original, "re:") ? original : "Re: " + original;

    const RefusalWords words = WordsFor(facts.reason);
    std::vector<std::string> paragraphs;
    std::string first = "Your mail";
    if (!original.empty()) first += " \"" + original + "\"";
    paragraphs.push_back(first + " was not faxed: " + std::string(words.why) + ".");
    if (const std::string detail = Clean(facts.detail, kMaxEchoBytes); !detail.empty()) {
        paragraphs.push_back("Details: " + detail);
    }
    std::string what_to_do(words.what_to_do);
    if (facts.reason == RefusalReason::kNoRecipient) {
        what_to_do =
            "Write the fax number as the subject of the mail (for example '0301234'; several numbers "
            "separated by commas)";
        const std::string domain = Clean(facts.fax_domain, kMaxNameBytes);
        if (!domain.empty()) what_to_do += ", or send the mail to <fax number>@" + domain;
        what_to_do += ".";
    }
    paragraphs.push_back("What to do: " + what_to_do);
    return ParagraphMail(std::move(subject), std::move(paragraphs));
}

// ---- Alerts ----

NoticeText BuildAlert(const RelayUnreachableAlert& alert, std::string_view node) {
    const std::string relay = Clean(alert.relay, kMaxNameBytes);
    const std::string since = DateTimeText(alert.since);
    std::vector<std::string> paragraphs = {
        "faxd cannot hand mail to the mail relay " + relay + " since " + since + ": " + Clause(alert.error) +
            ".",
        Count(alert.waiting_mails, "mail") +
            " waiting. faxd keeps them and tries again, so none is lost, but received faxes, receipts and "
            "refusals reach their readers late until the relay takes mail again.",
        "Check: the relay's host, port, TLS and login in the configuration, the network between faxd and the "
        "relay, and the relay's own logs.",
    };
    return ParagraphMail("[faxd alert] mail relay " + relay + " unreachable since " + since,
                         std::move(paragraphs), node);
}

NoticeText BuildAlert(const QueueStuckAlert& alert, std::string_view node) {
    const std::string age = DurationText(alert.oldest_job_age_seconds);
    const std::string faxes = Count(alert.job_count, "fax", "faxes");
    std::string first = "The fax queue is not moving: " + faxes + " waiting, the oldest";
    if (const std::string reference = Clean(alert.oldest_reference, kMaxNameBytes); !reference.empty()) {
        first += " (" + reference + ")";
    }
    first += " for " + age + ".";
    std::vector<std::string> paragraphs = {
        std::move(first),
        "Senders' faxes go out late or not at all until the queue moves again.",
        "Check: the SIP trunk or PBX (registrations, routes), whether a faxd node is running and sending, "
        "and "
        "the faxd logs.",
    };
    return ParagraphMail("[faxd alert] fax queue stuck: " + faxes + " waiting, the oldest for " + age,
                         std::move(paragraphs), node);
}

NoticeText BuildAlert(const ConversionFailuresAlert& alert, std::string_view node) {
    const std::string window = DurationText(alert.window_seconds);
    const std::string count = Count(alert.failures, "document");
    std::vector<std::string> paragraphs = {
        count + " could not be converted to fax pages in the last " + window + ".",
        "The last error: " + Clause(alert.last_error) + ".",
        "Their senders were told that those faxes were not sent. When many documents fail, the cause is "
        "usually on the server: check that LibreOffice and Ghostscript work, the free space in the spool, "
        "and "
        "the faxd logs.",
    };
    return ParagraphMail("[faxd alert] " + count + " failed to convert in the last " + window,
                         std::move(paragraphs), node);
}

NoticeText BuildAlert(const MailboxPollAlert& alert, std::string_view node) {
    const std::string mailbox = Clean(alert.mailbox, kMaxNameBytes);
    const std::string since = DateTimeText(alert.since);
    std::vector<std::string> paragraphs = {
        "faxd cannot fetch mail from the mailbox " + mailbox + " since " + since + " (" +
            Count(alert.failed_polls, "failed poll") + "): " + Clause(alert.error) + ".",
        "Faxes sent by mail to this mailbox wait there until faxd can fetch them again.",
        "Check: the mailbox's server, user name and password in the configuration, the server's certificate, "
        "and whether the mailbox still exists.",
    };
    return ParagraphMail("[faxd alert] mailbox " + mailbox + " cannot be fetched since " + since,
                         std::move(paragraphs), node);
}

}  // namespace faxd::mail
