// ComposeMail's output read back by the MIME intake (ParseMail), plus what only the raw text shows: line
// ends, headers, encodings.
#include "mail/mail_compose.hpp"

#include <gtest/gtest.h>

#include <string>

#include "mail/mime_intake.hpp"

namespace faxd::mail {
namespace {

using namespace std::string_literals;

// 2026-03-01 12:00:00 UTC
const auto kDate = std::chrono::system_clock::time_point(std::chrono::seconds(1'772'366'400));

OutgoingMail Basic() {
    OutgoingMail mail;
    mail.from = "faxd@example.com";
    mail.from_name = "Fax Server";
    mail.to = {"anna@example.com"};
    mail.subject = "Fax sent";
    mail.text_body = "Your fax to +49 30 1234 was sent.\nPages: 3\n";
    return mail;
}

std::string MustCompose(const OutgoingMail& mail) {
    auto raw = ComposeMail(mail, kDate, "fax.example.com");
    EXPECT_TRUE(raw.has_value()) << raw.error().ToString();
    return raw.value_or("");
}

ParsedMail MustParse(const std::string& raw) {
    auto parsed = ParseMail(raw);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().ToString();
    return parsed.value_or(ParsedMail{});
}

// Every LF is part of CRLF and every CR is followed by LF.
bool OnlyCrlf(const std::string& raw) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) return false;
        if (raw[i] == '\r' && (i + 1 == raw.size() || raw[i + 1] != '\n')) return false;
    }
    return true;
}

// The intake keeps the wire's CRLF in decoded text.
std::string WithoutCr(std::string text) {
    std::erase(text, '\r');
    return text;
}

std::string HeaderBlock(const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n") + 2); }

// A PDF-like file with every byte value, NULs and bare line ends included.
std::string BinaryPdf() {
    std::string data = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\r\n"s;
    for (int round = 0; round < 40; ++round) {
        for (int byte = 0; byte < 256; ++byte) data += static_cast<char>(byte);
    }
    data += "\0\0\r\r\n\n%%EOF"s;
    return data;
}

TEST(ComposeMail, PlainTextMailHasTheRequiredHeaders) {
    const std::string raw = MustCompose(Basic());
    EXPECT_TRUE(OnlyCrlf(raw));
    const std::string headers = HeaderBlock(raw);
    EXPECT_NE(headers.find("Date: Sun, 01 Mar 2026 12:00:00 +0000\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("MIME-Version: 1.0\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("Auto-Submitted: auto-generated\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("X-Auto-Response-Suppress: All\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("@fax.example.com>\r\n"), std::string::npos) << headers;  // Message-ID
    EXPECT_EQ(headers.find("MIME-Version", headers.find("MIME-Version") + 1), std::string::npos) << "once";

    const ParsedMail parsed = MustParse(raw);
    EXPECT_EQ(parsed.from_address, "faxd@example.com");
    EXPECT_EQ(parsed.from_name, "Fax Server");
    EXPECT_EQ(parsed.to, std::vector<std::string>{"anna@example.com"});
    EXPECT_EQ(parsed.subject, "Fax sent");
    EXPECT_EQ(parsed.text_body.find("Your fax to +49 30 1234 was sent."), 0u) << parsed.text_body;
    EXPECT_TRUE(parsed.attachments.empty());
    EXPECT_TRUE(parsed.automatic) << "our own intake must see it as machine mail";
    EXPECT_EQ(parsed.message_id.size(), 32 + 1 + std::string("fax.example.com").size()) << parsed.message_id;
}

TEST(ComposeMail, MessageIdsAreRandomOrChosen) {
    const ParsedMail first = MustParse(MustCompose(Basic()));
    const ParsedMail second = MustParse(MustCompose(Basic()));
    EXPECT_NE(first.message_id, second.message_id);

    OutgoingMail mail = Basic();
    mail.message_id = NewMessageId("example.org");
    EXPECT_EQ(MustParse(MustCompose(mail)).message_id, mail.message_id);
}

TEST(ComposeMail, UmlautsInSubjectNamesAndBody) {
    OutgoingMail mail = Basic();
    mail.from_name = "Faxserver Müller & Söhne";
    mail.subject = "Fax an Jörg Übermaß empfangen – 3 Seiten, Größe “groß” 😀";
    mail.text_body = "Grüße aus Köln\r\nZeile 2 mit ß\n";
    const std::string raw = MustCompose(mail);
    EXPECT_TRUE(OnlyCrlf(raw));
    const std::string headers = HeaderBlock(raw);
    for (const unsigned char c : headers) ASSERT_LT(c, 0x80) << "RFC 2047 keeps headers ASCII:\n" << headers;
    EXPECT_NE(headers.find("=?"), std::string::npos);

    const ParsedMail parsed = MustParse(raw);
    EXPECT_EQ(parsed.subject, mail.subject);
    EXPECT_EQ(parsed.from_name, mail.from_name);
    EXPECT_EQ(WithoutCr(parsed.text_body).find("Grüße aus Köln\nZeile 2 mit ß\n"), 0u) << parsed.text_body;
}

TEST(ComposeMail, LongLinesAndHeaderInjection) {
    OutgoingMail mail = Basic();
    mail.subject = "Fax\r\nBcc: victim@example.com";
    mail.text_body = std::string(3000, 'x') + "\n.\n.. dots\n";
    const std::string raw = MustCompose(mail);
    EXPECT_TRUE(OnlyCrlf(raw));
    EXPECT_EQ(raw.find("\r\nBcc:"), std::string::npos);
    std::size_t start = 0;
    for (std::size_t end; (end = raw.find("\r\n", start)) != std::string::npos; start = end + 2)
        ASSERT_LE(end - start, 998u) << "RFC 5322 §2.1.1 line length";
    const ParsedMail parsed = MustParse(raw);
    EXPECT_EQ(parsed.subject, "Fax  Bcc: victim@example.com");
    EXPECT_EQ(parsed.text_body.substr(0, 3000), std::string(3000, 'x'));
    EXPECT_NE(WithoutCr(parsed.text_body).find("\n.\n.. dots\n"), std::string::npos);
}

TEST(ComposeMail, AttachmentsArriveByteExact) {
    OutgoingMail mail = Basic();
    const std::string pdf = BinaryPdf();
    mail.attachments.push_back({"fax-2026.00000042.pdf", "application/pdf", pdf, ""});
    mail.attachments.push_back(
        {"Bericht für Jürgen – Übersicht.pdf", "application/pdf", "%PDF-1.4 tiny", ""});
    mail.attachments.push_back({"notes.txt", "text/plain", "line\nbare lf\rbare cr\r\n", ""});
    mail.attachments.push_back({"../../etc/passwd", "", "x", ""});
    const std::string raw = MustCompose(mail);
    EXPECT_TRUE(OnlyCrlf(raw));
    EXPECT_NE(raw.find("Content-Type: multipart/mixed"), std::string::npos);

    const ParsedMail parsed = MustParse(raw);
    ASSERT_EQ(parsed.attachments.size(), 4u);
    EXPECT_EQ(parsed.attachments[0].file_name, "fax-2026.00000042.pdf");
    EXPECT_EQ(parsed.attachments[0].content_type, "application/pdf");
    EXPECT_EQ(parsed.attachments[0].data.size(), pdf.size());
    EXPECT_TRUE(parsed.attachments[0].data == pdf) << "the PDF's bytes, NULs included";
    EXPECT_EQ(parsed.attachments[1].file_name, "Bericht für Jürgen – Übersicht.pdf");
    EXPECT_EQ(parsed.attachments[2].data, "line\nbare lf\rbare cr\r\n");
    EXPECT_EQ(parsed.attachments[3].file_name, "passwd");
    EXPECT_EQ(parsed.attachments[3].content_type, "application/octet-stream");
    EXPECT_NE(parsed.text_body.find("Pages: 3"), std::string::npos);
    for (const auto& attachment : parsed.attachments) EXPECT_FALSE(attachment.inline_image);
}

TEST(ComposeMail, HtmlWithInlineImage) {
    OutgoingMail mail = Basic();
    mail.html_body = "<p>Your fax, first page:</p><img src=\"cid:page1@faxd\" alt=\"page 1\">";
    std::string png = "\x89PNG\r\n\x1a\n"s + std::string(3000, '\0') + "IEND";
    mail.attachments.push_back({"page1.png", "image/png", png, "page1@faxd"});
    mail.attachments.push_back({"fax.pdf", "application/pdf", BinaryPdf(), ""});
    const std::string raw = MustCompose(mail);
    EXPECT_TRUE(OnlyCrlf(raw));
    EXPECT_NE(raw.find("multipart/alternative"), std::string::npos);
    EXPECT_NE(raw.find("multipart/related"), std::string::npos);
    EXPECT_NE(raw.find("Content-Id: <page1@faxd>"), std::string::npos) << raw.substr(0, 3000);

    const ParsedMail parsed = MustParse(raw);
    EXPECT_NE(parsed.html_body.find("cid:page1@faxd"), std::string::npos);
    EXPECT_NE(parsed.text_body.find("Your fax to"), std::string::npos) << "the text alternative is the body";
    ASSERT_EQ(parsed.attachments.size(), 2u);
    EXPECT_EQ(parsed.attachments[0].content_id, "page1@faxd");
    EXPECT_TRUE(parsed.attachments[0].inline_image);
    EXPECT_TRUE(parsed.attachments[0].data == png);
    EXPECT_EQ(parsed.attachments[1].file_name, "fax.pdf");
    EXPECT_FALSE(parsed.attachments[1].inline_image);
    EXPECT_TRUE(parsed.attachments[1].data == BinaryPdf());
}

TEST(ComposeMail, HtmlOnly) {
    OutgoingMail mail = Basic();
    mail.text_body.clear();
    mail.html_body = "<p>Grüße</p>";
    const std::string raw = MustCompose(mail);
    EXPECT_EQ(raw.find("multipart/"), std::string::npos);
    EXPECT_NE(raw.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
    EXPECT_NE(MustParse(raw).html_body.find("Grüße"), std::string::npos);
}

TEST(ComposeMail, RefusalReplyThreadsAndSaysAutoReplied) {
    OutgoingMail mail = Basic();
    mail.auto_submitted = "auto-replied";
    mail.in_reply_to = "abc.123@sender.example";
    mail.references = "<root@sender.example> abc.123@sender.example";
    mail.extra_headers = {{"X-Faxd-Reason", "unknown sender – bitte registrieren"}, {"Precedence", "bulk"}};
    const std::string raw = MustCompose(mail);
    const std::string headers = HeaderBlock(raw);
    EXPECT_NE(headers.find("Auto-Submitted: auto-replied\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("In-Reply-To: <abc.123@sender.example>\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("References: <root@sender.example> <abc.123@sender.example>\r\n"),
              std::string::npos)
        << headers;
    EXPECT_NE(headers.find("Precedence: bulk\r\n"), std::string::npos) << headers;
    EXPECT_NE(headers.find("X-Faxd-Reason: unknown sender =?UTF-8?B?4oCT?= bitte registrieren\r\n"),
              std::string::npos)
        << headers;
    const ParsedMail parsed = MustParse(raw);
    EXPECT_TRUE(parsed.automatic);
    EXPECT_NE(parsed.automatic_reason.find("auto-replied"), std::string::npos) << parsed.automatic_reason;
}

TEST(ComposeMail, SeveralRecipients) {
    OutgoingMail mail = Basic();
    mail.to = {"a@example.com", "b@example.org", "c@example.net"};
    EXPECT_EQ(MustParse(MustCompose(mail)).to, mail.to);
}

TEST(ComposeMail, RefusesWhatWouldBeAnOddMail) {
    auto refused = [](const OutgoingMail& mail) {
        auto raw = ComposeMail(mail, kDate, "fax.example.com");
        return !raw && raw.error().code == base::ErrorCode::kInvalidArgument;
    };
    OutgoingMail mail = Basic();
    mail.from.clear();
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.to.clear();
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.to = {"anna@example.com\r\nRCPT TO:<x@y>"};
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.auto_submitted = "no";
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.extra_headers = {{"Bad Name", "x"}};
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.extra_headers = {{"X-Ok", "a\r\nBcc: x@y"}};
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.extra_headers = {{"auto-submitted", "no"}};
    EXPECT_TRUE(refused(mail));
    mail = Basic();
    mail.in_reply_to = "a@b\r\nX: y";
    EXPECT_TRUE(refused(mail));
    EXPECT_FALSE(ComposeMail(Basic(), kDate, "bad domain"));
}

}  // namespace
}  // namespace faxd::mail
