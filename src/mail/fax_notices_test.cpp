#include "mail/fax_notices.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The example the Kalliope file name preset was taken from.
ReceivedFaxFacts SeedFax() {
    ReceivedFaxFacts facts;
    facts.reference = "2020.00000211";
    facts.id = "211";
    facts.ani = "0501234567";
    facts.dnis = "0509655637";
    facts.remote_ident = "+49 501 234567";
    facts.received = {2020, 3, 12, 11, 51, 38};
    facts.duration_seconds = 65;
    facts.pages = 3;
    facts.recipient_name = "Erika Mustermann";
    return facts;
}

ReceiptFacts SentFax() {
    ReceiptFacts facts;
    facts.kind = ReceiptKind::kSent;
    facts.reference = "2026.00000042";
    facts.recipient_number = "0301234";
    facts.fax_subject = "Offer 4711";
    facts.pages_sent = 3;
    facts.pages_total = 3;
    facts.duration_seconds = 72;
    facts.attempts = 1;
    facts.remote_ident = "ACME Berlin";
    facts.submitted = {2026, 12, 5, 11, 50, 2};
    facts.finished = LocalDateTime{2026, 12, 5, 11, 51, 38};
    return facts;
}

ReceiptFacts BusyFax() {
    ReceiptFacts facts = SentFax();
    facts.kind = ReceiptKind::kFailed;
    facts.pages_sent = 0;
    facts.duration_seconds = 0;
    facts.attempts = 5;
    facts.remote_ident.clear();
    facts.reason = "the line was busy on all 5 attempts";
    facts.error_class = "busy";
    facts.finished = LocalDateTime{2026, 12, 5, 13, 10, 0};
    return facts;
}

TEST(TimeTextTest, IsoDateAndTime) {
    const LocalDateTime time{2026, 12, 5, 9, 7, 3};
    EXPECT_EQ(DateText(time), "2026-12-05");
    EXPECT_EQ(TimeText(time), "09:07:03");
    EXPECT_EQ(DateTimeText(time), "2026-12-05 09:07:03");
    std::tm tm{};
    tm.tm_year = 126;
    tm.tm_mon = 11;
    tm.tm_mday = 5;
    tm.tm_hour = 9;
    tm.tm_min = 7;
    tm.tm_sec = 3;
    EXPECT_EQ(LocalDateTimeFromTm(tm), time);
}

TEST(DurationTextTest, Units) {
    EXPECT_EQ(DurationText(0), "0 s");
    EXPECT_EQ(DurationText(-5), "0 s");
    EXPECT_EQ(DurationText(45), "45 s");
    EXPECT_EQ(DurationText(60), "1 min");
    EXPECT_EQ(DurationText(125), "2 min 05 s");
    EXPECT_EQ(DurationText(3600), "1 h");
    EXPECT_EQ(DurationText(3720), "1 h 02 min");
    EXPECT_EQ(DurationText(3605), "1 h 00 min 05 s");
    EXPECT_EQ(DurationText(2 * 86400), "48 h");
}

TEST(ReceivedFaxFileNameTest, KalliopePresetForTheSeedExample) {
    EXPECT_EQ(ReceivedFaxFileName(SeedFax(), kKalliopeFileNameTemplate, FaxFileFormat::kPdf),
              "F00501234567_T0509655637_2020-03-12_11_51_38_211.pdf");
    EXPECT_EQ(ReceivedFaxFileName(SeedFax(), kKalliopeFileNameTemplate, FaxFileFormat::kTiff),
              "F00501234567_T0509655637_2020-03-12_11_51_38_211.tif");
}

TEST(ReceivedFaxFileNameTest, DefaultAndPresets) {
    EXPECT_EQ(ReceivedFaxFileName(SeedFax(), kDefaultFileNameTemplate, FaxFileFormat::kPdf),
              "fax-2020.00000211.pdf");
    EXPECT_EQ(FileNameTemplatePreset("kalliope"), kKalliopeFileNameTemplate);
    EXPECT_EQ(FileNameTemplatePreset("default"), kDefaultFileNameTemplate);
    EXPECT_EQ(FileNameTemplatePreset("hylafax"), std::nullopt);
}

TEST(ReceivedFaxFileNameTest, PathCharactersInTheCallingNumberCannotEscape) {
    ReceivedFaxFacts facts = SeedFax();
    facts.ani = "/../../../etc/cron.d/x";
    const std::string name = ReceivedFaxFileName(facts, kKalliopeFileNameTemplate, FaxFileFormat::kPdf);
    EXPECT_EQ(name, "F0_.._.._.._etc_cron.d_x_T0509655637_2020-03-12_11_51_38_211.pdf");
    EXPECT_EQ(name.find('/'), std::string::npos);

    facts.ani = "..";
    EXPECT_EQ(ReceivedFaxFileName(facts, "{calling}", FaxFileFormat::kPdf), "__.pdf");
    facts.ani = "12\\34\r\n";
    EXPECT_EQ(ReceivedFaxFileName(facts, "{calling}", FaxFileFormat::kPdf), "12_34.pdf");
}

TEST(ReceivedFaxValuesTest, WithheldNumberAndNoIdent) {
    ReceivedFaxFacts facts = SeedFax();
    facts.ani.clear();
    facts.remote_ident.clear();
    facts.recipient_name.clear();
    const TemplateValues values = ReceivedFaxValues(facts);
    EXPECT_EQ(values.at("calling"), "unknown");
    EXPECT_EQ(values.at("calling0"), "unknown");
    EXPECT_EQ(values.at("remote_ident"), "(none)");
    EXPECT_EQ(values.at("recipient"), "0509655637");
    EXPECT_EQ(values.at("status"), "complete");
    EXPECT_EQ(values.at("incomplete"), "");
    EXPECT_EQ(values.at("duration"), "1 min 05 s");
    EXPECT_EQ(values.at("duration_seconds"), "65");
}

TEST(ReceivedFaxValuesTest, NetworkValuesAreBounded) {
    ReceivedFaxFacts facts = SeedFax();
    facts.remote_ident = std::string(500, 'X');
    EXPECT_LE(ReceivedFaxValues(facts).at("remote_ident").size(), 64u);
}

TEST(ReceivedFaxNoticeTest, Defaults) {
    const ReceivedFaxNotice notice = BuildReceivedFaxNotice(SeedFax());
    EXPECT_EQ(notice.file_name, "fax-2020.00000211.pdf");
    EXPECT_EQ(notice.text.subject, "[2020.00000211] Fax received from 0501234567");
    EXPECT_EQ(notice.text.text_body,
              "A fax for Erika Mustermann has arrived; it is attached as fax-2020.00000211.pdf.\n"
              "\n"
              "From:          0501234567\n"
              "Sender ident:  +49 501 234567\n"
              "To:            0509655637\n"
              "Received:      2020-03-12 11:51:38\n"
              "Duration:      1 min 05 s\n"
              "Pages:         3\n"
              "Status:        complete\n"
              "Reference:     2020.00000211\n"
              "\n"
              "This message was sent automatically by the fax server.\n");
    EXPECT_THAT(notice.text.html_body, StartsWith("<!DOCTYPE html>"));
    EXPECT_THAT(notice.text.html_body, HasSubstr("<tr><th align=\"left\">From</th><td>0501234567</td></tr>"));
    EXPECT_THAT(notice.text.html_body, HasSubstr("<td>2020-03-12 11:51:38</td>"));
}

TEST(ReceivedFaxNoticeTest, PartialFaxSaysSoInSubjectAndBody) {
    ReceivedFaxFacts facts = SeedFax();
    facts.partial = true;
    facts.reason = "the line dropped during page 3.";
    const ReceivedFaxNotice notice = BuildReceivedFaxNotice(facts);
    EXPECT_EQ(notice.text.subject, "[2020.00000211] Fax received from 0501234567 (incomplete)");
    EXPECT_THAT(
        notice.text.text_body,
        HasSubstr("Status:        incomplete: the line dropped during page 3; pages may be missing, ask "
                  "the sender to send the fax again\n"));
    EXPECT_THAT(notice.text.html_body, HasSubstr("incomplete: the line dropped during page 3;"));
}

TEST(ReceivedFaxNoticeTest, HtmlEscapesTheRemoteIdent) {
    ReceivedFaxFacts facts = SeedFax();
    facts.remote_ident = "<script>alert(1)</script>";
    const ReceivedFaxNotice notice = BuildReceivedFaxNotice(facts);
    EXPECT_THAT(notice.text.html_body, HasSubstr("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
    EXPECT_THAT(notice.text.html_body, Not(HasSubstr("<script>")));
    EXPECT_THAT(notice.text.text_body, HasSubstr("Sender ident:  <script>alert(1)</script>\n"));
}

TEST(ReceivedFaxNoticeTest, LineBreaksFromTheNetworkNeverReachTheSubject) {
    ReceivedFaxFacts facts = SeedFax();
    facts.ani = "0501234567\r\nBcc: everyone@example.com";
    ReceivedFaxTemplates templates;
    templates.subject = "Fax {calling} {remote_ident}\r\nX-Injected: 1";
    const ReceivedFaxNotice notice = BuildReceivedFaxNotice(facts, templates);
    EXPECT_EQ(notice.text.subject, "Fax 0501234567 Bcc: everyone@example.com +49 501 234567 X-Injected: 1");
    EXPECT_EQ(notice.text.subject.find_first_of("\r\n"), std::string::npos);
}

TEST(ReceivedFaxNoticeTest, CustomTemplatesKalliopeStyle) {
    ReceivedFaxTemplates templates;
    templates.subject = "Fax von {calling0} an {called} ({pages} Seiten)";
    templates.text_body = "Anhang: {file_name}\nTippfehler: {seiten}\n";
    templates.html_body = "<p style=\"x\">{file_name}</p><style>p { margin: 0 }</style>";
    templates.file_name = std::string(kKalliopeFileNameTemplate);
    templates.format = FaxFileFormat::kTiff;
    const ReceivedFaxNotice notice = BuildReceivedFaxNotice(SeedFax(), templates);
    EXPECT_EQ(notice.file_name, "F00501234567_T0509655637_2020-03-12_11_51_38_211.tif");
    EXPECT_EQ(notice.text.subject, "Fax von 00501234567 an 0509655637 (3 Seiten)");
    EXPECT_EQ(notice.text.text_body,
              "Anhang: F00501234567_T0509655637_2020-03-12_11_51_38_211.tif\nTippfehler: {seiten}\n");
    EXPECT_EQ(notice.text.html_body,
              "<p style=\"x\">F00501234567_T0509655637_2020-03-12_11_51_38_211.tif</p>"
              "<style>p { margin: 0 }</style>");
}

TEST(ReceivedFaxTemplatesTest, PlaceholderLists) {
    const std::set<std::string> file_names = ReceivedFaxFileNamePlaceholders();
    for (const char* name : {"reference",
                             "id",
                             "calling",
                             "calling0",
                             "called",
                             "remote_ident",
                             "recipient",
                             "date",
                             "time",
                             "yyyy",
                             "mm",
                             "dd",
                             "HH",
                             "MM",
                             "SS",
                             "duration",
                             "duration_seconds",
                             "pages",
                             "reason",
                             "status",
                             "incomplete"}) {
        EXPECT_TRUE(file_names.contains(name)) << name;
    }
    EXPECT_FALSE(file_names.contains("file_name"));
    EXPECT_TRUE(ReceivedFaxPlaceholders().contains("file_name"));
}

TEST(ReceivedFaxTemplatesTest, DefaultsPassTheCheck) {
    EXPECT_TRUE(CheckReceivedFaxTemplates({}).has_value());
    ReceivedFaxTemplates kalliope;
    kalliope.file_name = std::string(kKalliopeFileNameTemplate);
    EXPECT_TRUE(CheckReceivedFaxTemplates(kalliope).has_value());
    EXPECT_TRUE(CheckFailedCallTemplates({}).has_value());
}

TEST(ReceivedFaxTemplatesTest, CheckNamesTheTemplateAndThePlaceholder) {
    ReceivedFaxTemplates templates;
    templates.subject = "Fax from {caller}";
    auto checked = CheckReceivedFaxTemplates(templates);
    ASSERT_FALSE(checked.has_value());
    EXPECT_EQ(checked.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_THAT(checked.error().message,
                StartsWith("subject template: unknown placeholder {caller}; known: "));
    EXPECT_THAT(checked.error().message, HasSubstr("{calling0}"));

    templates = {};
    templates.file_name = "{file_name}";  // the file name cannot contain itself
    checked = CheckReceivedFaxTemplates(templates);
    ASSERT_FALSE(checked.has_value());
    EXPECT_THAT(checked.error().message, StartsWith("file name template: unknown placeholder {file_name}"));

    templates = {};
    templates.html_body = "<p>{pagez}</p>";
    checked = CheckReceivedFaxTemplates(templates);
    ASSERT_FALSE(checked.has_value());
    EXPECT_THAT(checked.error().message, StartsWith("HTML body template: unknown placeholder {pagez}"));

    FailedCallTemplates failed;
    failed.text_body = "{file_name}";  // a failed call has no file
    const auto failed_checked = CheckFailedCallTemplates(failed);
    ASSERT_FALSE(failed_checked.has_value());
    EXPECT_THAT(failed_checked.error().message,
                StartsWith("text body template: unknown placeholder {file_name}"));
}

TEST(FailedCallNoticeTest, Defaults) {
    ReceivedFaxFacts facts = SeedFax();
    facts.pages = 0;
    facts.duration_seconds = 41;
    facts.remote_ident.clear();
    facts.reason = "the sender hung up during training";
    const NoticeText notice = BuildFailedCallNotice(facts);
    EXPECT_EQ(notice.subject, "[2020.00000211] Fax call from 0501234567 brought no page");
    EXPECT_EQ(notice.text_body,
              "A fax call for Erika Mustermann brought no page: the sender hung up during training.\n"
              "\n"
              "From:          0501234567\n"
              "Sender ident:  (none)\n"
              "To:            0509655637\n"
              "Call at:       2020-03-12 11:51:38\n"
              "Duration:      41 s\n"
              "Reference:     2020.00000211\n"
              "\n"
              "If you expected a fax, ask the sender to send it again.\n"
              "This message was sent automatically by the fax server.\n");
    EXPECT_THAT(notice.html_body,
                HasSubstr("<p>A fax call for Erika Mustermann brought no page: the sender hung "
                          "up during training.</p>"));
}

TEST(FailedCallNoticeTest, WithheldNumberAndNoReason) {
    ReceivedFaxFacts facts = SeedFax();
    facts.ani.clear();
    facts.reason.clear();
    const NoticeText notice = BuildFailedCallNotice(facts);
    EXPECT_EQ(notice.subject, "[2020.00000211] Fax call from unknown brought no page");
    EXPECT_THAT(notice.text_body, HasSubstr("brought no page: the call ended before any page.\n"));
}

TEST(ReceiptTest, Sent) {
    const ReceiptFacts facts = SentFax();
    EXPECT_EQ(ReceiptOutcome(facts), "Your fax to 0301234 was sent: 3 of 3 pages.");
    const NoticeText notice = BuildReceipt(facts);
    EXPECT_EQ(notice.subject, "[2026.00000042] Fax to 0301234 sent (3 of 3 pages) - Offer 4711");
    EXPECT_EQ(notice.text_body,
              "Your fax to 0301234 was sent: 3 of 3 pages.\n"
              "\n"
              "Reference:    2026.00000042\n"
              "Recipient:    0301234\n"
              "Subject:      Offer 4711\n"
              "Pages sent:   3 of 3\n"
              "Duration:     1 min 12 s\n"
              "Attempts:     1\n"
              "Remote ident: ACME Berlin\n"
              "Submitted:    2026-12-05 11:50:02\n"
              "Finished:     2026-12-05 11:51:38\n"
              "Result:       sent\n"
              "\n"
              "This message was sent automatically by the fax server.\n");
    EXPECT_THAT(notice.html_body, HasSubstr("<p>Your fax to 0301234 was sent: 3 of 3 pages.</p>"));
    EXPECT_THAT(notice.html_body, HasSubstr("<tr><th align=\"left\">Pages sent</th><td>3 of 3</td></tr>"));
    EXPECT_THAT(notice.html_body, Not(HasSubstr("<img")));
}

TEST(ReceiptTest, FailedBusy) {
    ReceiptFacts facts = BusyFax();
    facts.recipient_name = "ACME Corp";
    EXPECT_EQ(ReceiptOutcome(facts),
              "Your fax to ACME Corp (0301234) could not be sent: the line was busy on all 5 attempts.");
    const NoticeText notice = BuildReceipt(facts);
    EXPECT_EQ(notice.subject, "[2026.00000042] Fax to 0301234 not sent - Offer 4711");
    EXPECT_THAT(notice.text_body, HasSubstr("Attempts:    5\n"));
    EXPECT_THAT(notice.text_body, HasSubstr("Result:      not sent: the line was busy on all 5 attempts\n"));
    EXPECT_THAT(notice.text_body, HasSubstr("Error class: busy\n"));
    EXPECT_THAT(notice.text_body, Not(HasSubstr("Duration")));
    EXPECT_THAT(notice.text_body, Not(HasSubstr("Remote ident")));
}

TEST(ReceiptTest, FailedAfterSomePages) {
    ReceiptFacts facts = SentFax();
    facts.kind = ReceiptKind::kFailed;
    facts.pages_sent = 2;
    facts.pages_total = 5;
    facts.reason = "the receiving fax hung up.";
    EXPECT_EQ(ReceiptOutcome(facts),
              "Your fax to 0301234 could not be sent completely: the receiving fax hung up. 2 of 5 pages got "
              "through.");
    EXPECT_EQ(BuildReceipt(facts).subject,
              "[2026.00000042] Fax to 0301234 not sent completely (2 of 5 pages) - Offer 4711");
    facts.reason.clear();
    facts.pages_sent = 0;
    EXPECT_EQ(ReceiptOutcome(facts), "Your fax to 0301234 could not be sent: the reason is not known.");
}

TEST(ReceiptTest, Queued) {
    ReceiptFacts facts;
    facts.kind = ReceiptKind::kQueued;
    facts.reference = "2026.00000043";
    facts.recipient_number = "+4940555";
    facts.pages_total = 1;
    facts.submitted = {2026, 12, 5, 8, 0, 0};
    EXPECT_EQ(ReceiptOutcome(facts), "Your fax to +4940555 was accepted and is queued for sending: 1 page.");
    const NoticeText notice = BuildReceipt(facts);
    EXPECT_EQ(notice.subject, "[2026.00000043] Fax to +4940555 queued (1 page)");
    EXPECT_EQ(ReportRows(facts), (std::vector<ReportRow>{{"Reference", "2026.00000043"},
                                                         {"Recipient", "+4940555"},
                                                         {"Pages", "1"},
                                                         {"Submitted", "2026-12-05 08:00:00"},
                                                         {"Result", "queued for sending"}}));
    facts.pages_total = 0;
    EXPECT_EQ(ReceiptOutcome(facts), "Your fax to +4940555 was accepted and is queued for sending.");
}

TEST(ReceiptTest, HtmlHasTheThumbnailAndEscapesEveryValue) {
    ReceiptFacts facts = SentFax();
    facts.remote_ident = "<script>x</script>";
    facts.fax_subject = "Q&A \"2026\"";
    facts.recipient_name = "<b>Evil</b>";
    facts.thumbnail_cid = "page1.2026.00000042@faxd";
    const NoticeText notice = BuildReceipt(facts);
    EXPECT_THAT(notice.html_body, HasSubstr("<img src=\"cid:page1.2026.00000042@faxd\""));
    EXPECT_THAT(notice.html_body, HasSubstr("<td>&lt;script&gt;x&lt;/script&gt;</td>"));
    EXPECT_THAT(notice.html_body, HasSubstr("<td>Q&amp;A &quot;2026&quot;</td>"));
    EXPECT_THAT(notice.html_body, HasSubstr("Your fax to &lt;b&gt;Evil&lt;/b&gt; (0301234) was sent"));
    EXPECT_THAT(notice.html_body, Not(HasSubstr("<script>")));
    EXPECT_THAT(notice.html_body, Not(HasSubstr("<b>")));

    facts.thumbnail_cid = "x\"><script>";
    EXPECT_THAT(BuildReceipt(facts).html_body, HasSubstr("<img src=\"cid:x&quot;&gt;&lt;script&gt;\""));
}

TEST(ReceiptTest, SubjectIsOneLine) {
    ReceiptFacts facts = SentFax();
    facts.fax_subject = "Offer\r\nBcc: someone@example.com";
    EXPECT_EQ(BuildReceipt(facts).subject,
              "[2026.00000042] Fax to 0301234 sent (3 of 3 pages) - Offer Bcc: someone@example.com");
}

TEST(ReportLinesTest, ForThePdfReport) {
    EXPECT_EQ(ReportLines(BusyFax()),
              (std::vector<std::string>{
                  "Fax transmission report",
                  "",
                  "Your fax to 0301234 could not be sent: the line was busy on all 5 attempts.",
                  "",
                  "Reference:   2026.00000042",
                  "Recipient:   0301234",
                  "Subject:     Offer 4711",
                  "Pages sent:  0 of 3",
                  "Attempts:    5",
                  "Submitted:   2026-12-05 11:50:02",
                  "Finished:    2026-12-05 13:10:00",
                  "Result:      not sent: the line was busy on all 5 attempts",
                  "Error class: busy",
              }));
}

TEST(RefusalTest, MissingPin) {
    RefusalFacts facts;
    facts.reason = RefusalReason::kMissingPin;
    facts.original_subject = "0301234";
    const NoticeText notice = BuildRefusal(facts);
    EXPECT_EQ(notice.subject, "Re: 0301234");
    EXPECT_EQ(
        notice.text_body,
        "Your mail \"0301234\" was not faxed: your account needs a PIN in every mail, and this mail has "
        "none.\n"
        "\n"
        "What to do: Put a line 'PIN: <your PIN>' in the mail body and send the mail again.\n"
        "\n"
        "This message was sent automatically by the fax server.\n");
    EXPECT_THAT(notice.html_body, HasSubstr("<p>What to do: Put a line &#39;PIN: &lt;your PIN&gt;&#39; in"));
}

TEST(RefusalTest, NoRecipientNamesTheFaxDomain) {
    RefusalFacts facts;
    facts.reason = RefusalReason::kNoRecipient;
    facts.fax_domain = "fax.example.com";
    const NoticeText notice = BuildRefusal(facts);
    EXPECT_EQ(notice.subject, "Your fax was not sent");
    EXPECT_THAT(notice.text_body, StartsWith("Your mail was not faxed: the mail names no fax number.\n"));
    EXPECT_THAT(notice.text_body, HasSubstr("or send the mail to <fax number>@fax.example.com.\n"));
    facts.fax_domain.clear();
    EXPECT_THAT(BuildRefusal(facts).text_body, Not(HasSubstr("@")));
}

TEST(RefusalTest, EveryReasonHasItsOwnWords) {
    std::set<std::string> bodies;
    std::set<std::string_view> names;
    for (int i = 0; i <= static_cast<int>(RefusalReason::kDkimSpfFailed); ++i) {
        RefusalFacts facts;
        facts.reason = static_cast<RefusalReason>(i);
        facts.original_subject = "0301234";
        const NoticeText notice = BuildRefusal(facts);
        EXPECT_THAT(notice.text_body, StartsWith("Your mail \"0301234\" was not faxed: "));
        EXPECT_THAT(notice.text_body, HasSubstr("\nWhat to do: "));
        bodies.insert(notice.text_body);
        names.insert(RefusalReasonName(facts.reason));
    }
    EXPECT_EQ(bodies.size(), 12u);
    EXPECT_EQ(names.size(), 12u);
    EXPECT_EQ(RefusalReasonName(RefusalReason::kDkimSpfFailed), "dkim_spf_failed");
}

TEST(RefusalTest, EchoesLittleOfTheSenderAndNoLineBreaks) {
    RefusalFacts facts;
    facts.reason = RefusalReason::kBadRecipient;
    facts.original_subject = "Re: 0301234, abc\r\nBcc: victim@example.com";
    facts.detail = "'abc' is not a fax number" + std::string(5000, '!') + "\n<script>";
    const NoticeText notice = BuildRefusal(facts);
    EXPECT_EQ(notice.subject, "Re: 0301234, abc Bcc: victim@example.com");
    const std::size_t details = notice.text_body.find("Details: ");
    ASSERT_NE(details, std::string::npos);
    const std::string detail_line =
        notice.text_body.substr(details + 9, notice.text_body.find('\n', details) - details - 9);
    EXPECT_EQ(detail_line.size(), kMaxEchoBytes);
    EXPECT_THAT(detail_line, StartsWith("'abc' is not a fax number!!!"));
    EXPECT_THAT(detail_line, testing::EndsWith("..."));
    EXPECT_THAT(notice.html_body, Not(HasSubstr("<script>")));

    facts.original_subject = std::string(1000, 'S');
    EXPECT_EQ(BuildRefusal(facts).subject.size(), 4 + kMaxEchoBytes);
}

TEST(AlertTest, MailRelayUnreachable) {
    RelayUnreachableAlert alert;
    alert.relay = "smtp.example.com:587";
    alert.since = {2026, 12, 5, 11, 51, 38};
    alert.error = "connection refused";
    alert.waiting_mails = 14;
    const NoticeText notice = BuildAlert(alert, "faxd-2");
    EXPECT_EQ(notice.subject,
              "[faxd alert] mail relay smtp.example.com:587 unreachable since 2026-12-05 11:51:38");
    EXPECT_THAT(notice.text_body,
                StartsWith("faxd cannot hand mail to the mail relay smtp.example.com:587 since "
                           "2026-12-05 11:51:38: connection refused.\n"));
    EXPECT_THAT(notice.text_body, HasSubstr("14 mails waiting."));
    EXPECT_THAT(notice.text_body, HasSubstr("Reported by faxd on faxd-2.\n"));
    EXPECT_THAT(notice.html_body, HasSubstr("<p>Reported by faxd on faxd-2.</p>"));
}

TEST(AlertTest, QueueStuck) {
    QueueStuckAlert alert;
    alert.oldest_job_age_seconds = 7500;
    alert.job_count = 42;
    alert.oldest_reference = "2026.00000007";
    const NoticeText notice = BuildAlert(alert);
    EXPECT_EQ(notice.subject, "[faxd alert] fax queue stuck: 42 faxes waiting, the oldest for 2 h 05 min");
    EXPECT_THAT(notice.text_body, StartsWith("The fax queue is not moving: 42 faxes waiting, the oldest "
                                             "(2026.00000007) for 2 h 05 min.\n"));
    EXPECT_THAT(notice.text_body, Not(HasSubstr("Reported by")));
    alert.job_count = 1;
    EXPECT_EQ(BuildAlert(alert).subject,
              "[faxd alert] fax queue stuck: 1 fax waiting, the oldest for 2 h 05 min");
}

TEST(AlertTest, ConversionFailures) {
    ConversionFailuresAlert alert;
    alert.failures = 12;
    alert.window_seconds = 3600;
    alert.last_error = "gs: /undefined in --showpage--\n";
    const NoticeText notice = BuildAlert(alert);
    EXPECT_EQ(notice.subject, "[faxd alert] 12 documents failed to convert in the last 1 h");
    EXPECT_THAT(notice.text_body,
                StartsWith("12 documents could not be converted to fax pages in the last 1 h.\n"));
    EXPECT_THAT(notice.text_body, HasSubstr("The last error: gs: /undefined in --showpage--.\n"));
}

TEST(AlertTest, MailboxPollFailing) {
    MailboxPollAlert alert;
    alert.mailbox = "fax@example.com on imap.example.com";
    alert.since = {2026, 12, 5, 6, 0, 0};
    alert.error = "authentication failed <AUTHENTICATIONFAILED>";
    alert.failed_polls = 3;
    const NoticeText notice = BuildAlert(alert);
    EXPECT_EQ(notice.subject,
              "[faxd alert] mailbox fax@example.com on imap.example.com cannot be fetched since 2026-12-05 "
              "06:00:00");
    EXPECT_THAT(notice.text_body,
                HasSubstr("(3 failed polls): authentication failed <AUTHENTICATIONFAILED>.\n"));
    EXPECT_THAT(notice.html_body, HasSubstr("authentication failed &lt;AUTHENTICATIONFAILED&gt;."));
}

}  // namespace
}  // namespace faxd::mail
