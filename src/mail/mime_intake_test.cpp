#include "mail/mime_intake.hpp"

#include <string>

#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

constexpr std::string_view kHeaders =
    "From: \"Anna Schmidt\" <anna@example.com>\n"
    "To: 0301234@fax.example.com, Bob <0405678@fax.example.com>\n"
    "Cc: boss@example.com\n"
    "Reply-To: office@example.com\n"
    "Message-ID: <abc.123@example.com>\n"
    "MIME-Version: 1.0\n";

// "%PDF-1.4 test" in base64.
constexpr std::string_view kPdfBase64 = "JVBERi0xLjQgdGVzdA==";

std::string Mail(std::string_view extra_headers, std::string_view body) {
    return std::string(kHeaders) + std::string(extra_headers) + "\n" + std::string(body);
}

std::string Part(std::string_view headers, std::string_view body) {
    return std::string(headers) + "\n" + std::string(body) + "\n";
}

std::string Multipart(std::string_view subtype, std::string_view boundary,
                      const std::vector<std::string>& parts) {
    std::string out = "Content-Type: multipart/" + std::string(subtype) + "; boundary=\"" +
                      std::string(boundary) + "\"\n\n";
    for (const auto& part : parts) out += "--" + std::string(boundary) + "\n" + part;
    return out + "--" + std::string(boundary) + "--\n";
}

std::string PdfPart(std::string_view disposition_name) {
    return Part(
        "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"" +
            std::string(disposition_name) + "\"\n",
        kPdfBase64);
}

ParsedMail MustParse(std::string_view raw, const MailLimits& limits = {}) {
    auto mail = ParseMail(raw, limits);
    EXPECT_TRUE(mail.has_value()) << mail.error().message;
    return mail.value_or(ParsedMail{});
}

TEST(ParseMailTest, SimpleMailWithPdf) {
    const std::string message =
        std::string(kHeaders) + "Subject: 0301234\n" +
        Multipart("mixed", "b1",
                  {Part("Content-Type: text/plain\n", "Please fax this."), PdfPart("invoice.pdf")});
    const ParsedMail mail = MustParse(message);
    EXPECT_EQ(mail.from_address, "anna@example.com");
    EXPECT_EQ(mail.from_name, "Anna Schmidt");
    EXPECT_EQ(mail.reply_to, "office@example.com");
    EXPECT_EQ(mail.to, (std::vector<std::string>{"0301234@fax.example.com", "0405678@fax.example.com"}));
    EXPECT_EQ(mail.cc, (std::vector<std::string>{"boss@example.com"}));
    EXPECT_EQ(mail.subject, "0301234");
    EXPECT_EQ(mail.message_id, "abc.123@example.com");
    EXPECT_EQ(mail.text_body, "Please fax this.");
    ASSERT_EQ(mail.attachments.size(), 1u);
    EXPECT_EQ(mail.attachments[0].file_name, "invoice.pdf");
    EXPECT_EQ(mail.attachments[0].content_type, "application/pdf");
    EXPECT_EQ(mail.attachments[0].data, "%PDF-1.4 test");
    EXPECT_FALSE(mail.attachments[0].inline_image);
    EXPECT_FALSE(mail.automatic);
    EXPECT_TRUE(mail.warnings.empty());
}

std::string MixedMail(const std::vector<std::string>& parts,
                      std::string_view extra_headers = "Subject: x\n") {
    return std::string(kHeaders) + std::string(extra_headers) + Multipart("mixed", "bnd", parts);
}

TEST(ParseMailTest, TwoAttachmentsKeepTheirOrder) {
    const ParsedMail mail = MustParse(MixedMail({PdfPart("b-second-name.pdf"), PdfPart("a-first-name.pdf")}));
    ASSERT_EQ(mail.attachments.size(), 2u);
    EXPECT_EQ(mail.attachments[0].file_name, "b-second-name.pdf");
    EXPECT_EQ(mail.attachments[1].file_name, "a-first-name.pdf");
    EXPECT_EQ(mail.text_body, "");
}

TEST(ParseMailTest, BodyTextOnly) {
    const ParsedMail mail =
        MustParse(Mail("Subject: hi\nContent-Type: text/plain; charset=utf-8\n", "Just text.\n"));
    EXPECT_EQ(mail.text_body, "Just text.\n");
    EXPECT_TRUE(mail.html_body.empty());
    EXPECT_TRUE(mail.attachments.empty());
}

TEST(ParseMailTest, HtmlOnlyBodyIsConvertedToText) {
    const ParsedMail mail = MustParse(Mail("Content-Type: text/html; charset=utf-8\n",
                                           "<html><body><p>Line&nbsp;one</p><p>Line &lt;two&gt;</p>"
                                           "<!-- hidden --><style>x{}</style>PIN: 1234</body></html>"));
    EXPECT_EQ(mail.text_body, "Line one\n\nLine <two>\nPIN: 1234");
    EXPECT_NE(mail.html_body.find("<p>Line&nbsp;one</p>"), std::string::npos);
}

TEST(ParseMailTest, AlternativePrefersPlainText) {
    const ParsedMail mail =
        MustParse(std::string(kHeaders) + Multipart("alternative", "alt",
                                                    {Part("Content-Type: text/plain\n", "plain"),
                                                     Part("Content-Type: text/html\n", "<b>html</b>")}));
    EXPECT_EQ(mail.text_body, "plain");
    EXPECT_EQ(mail.html_body, "<b>html</b>");
}

TEST(ParseMailTest, NestedMultipartsFlagTheInlineLogo) {
    const std::string logo =
        Part("Content-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n",
             std::string(4000, 'A'));
    const std::string related = Multipart(
        "related", "rel", {Part("Content-Type: text/html\n", "<p>Hi</p><img src=\"cid:logo@x\">"), logo});
    const std::string alternative =
        Multipart("alternative", "alt", {Part("Content-Type: text/plain\n", "Hi"), related});
    const ParsedMail mail = MustParse(MixedMail({alternative, PdfPart("doc.pdf")}));
    EXPECT_EQ(mail.text_body, "Hi");
    ASSERT_EQ(mail.attachments.size(), 2u);
    EXPECT_EQ(mail.attachments[0].content_type, "image/png");
    EXPECT_EQ(mail.attachments[0].content_id, "logo@x");
    EXPECT_EQ(mail.attachments[0].data.size(), 3000u);
    EXPECT_TRUE(mail.attachments[0].inline_image);
    EXPECT_EQ(mail.attachments[0].file_name, "attachment-1.png");
    EXPECT_FALSE(mail.attachments[1].inline_image);
}

TEST(ParseMailTest, ImageReferencedByCidOutsideRelatedIsInline) {
    const std::string image_escaped =
        Part("Content-Type: image/jpeg\nContent-ID: <sig 1>\nContent-Transfer-Encoding: base64\n",
             std::string(8000, 'B'));
    const ParsedMail mail = MustParse(MixedMail(
        {Part("Content-Type: text/html\n", "<img src='cid:sig%201'>"), image_escaped,
         Part("Content-Type: image/jpeg\nContent-Transfer-Encoding: base64\n", std::string(8000, 'C'))}));
    ASSERT_EQ(mail.attachments.size(), 2u);
    EXPECT_TRUE(mail.attachments[0].inline_image);
    EXPECT_FALSE(mail.attachments[1].inline_image) << "a real picture, not referenced and not tiny";
}

TEST(ParseMailTest, MissingClosingBoundaryKeepsTheLastPart) {
    std::string raw = MixedMail({Part("Content-Type: text/plain\n", "body"), PdfPart("last.pdf")});
    raw.resize(raw.rfind("--bnd--"));
    const ParsedMail mail = MustParse(raw);
    EXPECT_EQ(mail.text_body, "body");
    ASSERT_EQ(mail.attachments.size(), 1u);
    EXPECT_EQ(mail.attachments[0].file_name, "last.pdf");
    EXPECT_EQ(mail.attachments[0].data, "%PDF-1.4 test");
}

TEST(ParseMailTest, Base64WithGarbageCharactersIsDecoded) {
    const ParsedMail mail = MustParse(MixedMail({Part(
        "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; "
        "filename=a.pdf\n",
        "JVBER  i0x*Lj!Qg\tdGV\nzdA==")}));
    ASSERT_EQ(mail.attachments.size(), 1u);
    EXPECT_EQ(mail.attachments[0].data, "%PDF-1.4 test");
}

TEST(ParseMailTest, QuotedPrintableBody) {
    const ParsedMail mail =
        MustParse(Mail("Content-Type: text/plain; charset=iso-8859-1\n"
                       "Content-Transfer-Encoding: quoted-printable\n",
                       "Gr=FC=DFe, soft=\nbreak =3D equals\n"));
    EXPECT_EQ(mail.text_body, "Gr\u00fc\u00dfe, softbreak = equals\n");
}

TEST(ParseMailTest, EncodedWordSubjects) {
    EXPECT_EQ(MustParse(Mail("Subject: =?ISO-8859-1?Q?M=FCller_=DF?=\n", "x")).subject, "M\u00fcller \u00df");
    EXPECT_EQ(MustParse(Mail("Subject: =?UTF-8?B?w6TDtsO8IOKCrA==?=\n", "x")).subject,
              "\u00e4\u00f6\u00fc \u20ac");
    EXPECT_EQ(MustParse(Mail("Subject: =?utf-8?q?0301234?= =?utf-8?q?=2C_0405?=\n", "x")).subject,
              "0301234, 0405");
    const ParsedMail name = MustParse("From: =?iso-8859-1?q?J=F6rg?= <j@example.com>\n\nx");
    EXPECT_EQ(name.from_name, "J\u00f6rg");
}

TEST(ParseMailTest, AttachmentNamedOnlyByContentTypeName) {
    const ParsedMail mail = MustParse(MixedMail(
        {Part("Content-Type: application/pdf; name=\"scan.pdf\"\nContent-Transfer-Encoding: base64\n",
              kPdfBase64)}));
    ASSERT_EQ(mail.attachments.size(), 1u);
    EXPECT_EQ(mail.attachments[0].file_name, "scan.pdf");
}

TEST(ParseMailTest, Rfc2231FileName) {
    const ParsedMail mail = MustParse(
        MixedMail({Part("Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
                        "Content-Disposition: attachment; filename*=UTF-8''%C3%84rger%20%E2%82%AC.pdf\n",
                        kPdfBase64)}));
    ASSERT_EQ(mail.attachments.size(), 1u);
    EXPECT_EQ(mail.attachments[0].file_name, "\u00c4rger \u20ac.pdf");
}

TEST(ParseMailTest, FileNamesLoseTheirPathAndControlCharacters) {
    const ParsedMail mail = MustParse(MixedMail(
        {PdfPart("..\\\\..\\\\evil.pdf"), PdfPart("../../etc/passwd"), PdfPart(".."), PdfPart("a\tb.pdf")}));
    ASSERT_EQ(mail.attachments.size(), 4u);
    EXPECT_EQ(mail.attachments[0].file_name, "evil.pdf");
    EXPECT_EQ(mail.attachments[1].file_name, "passwd");
    EXPECT_EQ(mail.attachments[2].file_name, "attachment-3.pdf");
    EXPECT_EQ(mail.attachments[3].file_name, "ab.pdf");
}

TEST(ParseMailTest, ForwardedMessageGivesItsTextAndAttachments) {
    const std::string forwarded =
        "From: shop@example.net\nSubject: Order 42\nDate: Mon, 3 Jun 2024 09:00:00 +0000\n" +
        Multipart("mixed", "in",
                  {Part("Content-Type: text/plain\n", "Thanks for order 42."), PdfPart("order.pdf")});
    const ParsedMail mail =
        MustParse(MixedMail({Part("Content-Type: text/plain\n", "See below."),
                             Part("Content-Type: message/rfc822\n", forwarded), PdfPart("after.pdf")}));
    EXPECT_EQ(mail.text_body, "See below.");
    ASSERT_EQ(mail.attachments.size(), 3u);
    EXPECT_EQ(mail.attachments[0].file_name, "forwarded-1.txt");
    EXPECT_EQ(mail.attachments[0].data,
              "From: shop@example.net\nDate: Mon, 3 Jun 2024 09:00:00 +0000\nSubject: Order 42\n\nThanks for "
              "order 42.");
    EXPECT_EQ(mail.attachments[1].file_name, "order.pdf");
    EXPECT_EQ(mail.attachments[2].file_name, "after.pdf");
}

TEST(ParseMailTest, UnknownCharsetIsReadAsLatin1WithAWarning) {
    const ParsedMail mail = MustParse(Mail("Content-Type: text/plain; charset=x-foo\n", "caf\xe9"));
    EXPECT_EQ(mail.text_body, "caf\u00e9");
    ASSERT_EQ(mail.warnings.size(), 1u);
    EXPECT_EQ(mail.warnings[0], "part 1: unknown charset x-foo, read as Latin-1");
}

TEST(ParseMailTest, OtherCharsetsBecomeUtf8) {
    EXPECT_EQ(MustParse(Mail("Content-Type: text/plain; charset=windows-1252\n", "\x80 5")).text_body,
              "\u20ac 5");
    EXPECT_EQ(MustParse(Mail("Content-Type: text/plain; charset=koi8-r\n", "\xf0\xd2\xc9")).text_body,
              "\u041f\u0440\u0438");
    // Declared UTF-8 with a stray byte: the rest stays readable.
    EXPECT_EQ(MustParse(Mail("Content-Type: text/plain; charset=utf-8\n", "ok \xff ok")).text_body,
              "ok \ufffd ok");
}

TEST(ParseMailTest, SignaturePartsAreNoAttachments) {
    const ParsedMail mail =
        MustParse(MixedMail({Part("Content-Type: text/plain\n", "signed"),
                             Part("Content-Type: application/pgp-signature\n", "-----BEGIN")}));
    EXPECT_TRUE(mail.attachments.empty());
}

TEST(ParseMailTest, NothingLikeAMailIsMalformed) {
    for (const std::string_view raw : {std::string_view(""), std::string_view("\n\n\n"),
                                       std::string_view("From a@b.c Tue Jun  4 10:00:00 2024\n")}) {
        const auto mail = ParseMail(raw);
        ASSERT_FALSE(mail.has_value());
        EXPECT_EQ(mail.error().code, base::ErrorCode::kMalformed);
        EXPECT_EQ(mail.error().message, "mail: no message headers found");
    }
}

struct AutomaticCase {
    std::string headers;
    std::string reason;
};

class AutomaticMailTest : public testing::TestWithParam<AutomaticCase> {};

TEST_P(AutomaticMailTest, IsFlagged) {
    const ParsedMail mail = MustParse("From: someone@example.com\n" + GetParam().headers + "\nbody\n");
    EXPECT_TRUE(mail.automatic);
    EXPECT_EQ(mail.automatic_reason, GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    EachSign, AutomaticMailTest,
    testing::Values(AutomaticCase{"Auto-Submitted: auto-replied\n", "Auto-Submitted: auto-replied"},
                    AutomaticCase{"Auto-Submitted: auto-generated; owner-email=x@y\n",
                                  "Auto-Submitted: auto-generated; owner-email=x@y"},
                    AutomaticCase{"Precedence: bulk\n", "Precedence: bulk"},
                    AutomaticCase{"Precedence: JUNK\n", "Precedence: JUNK"},
                    AutomaticCase{"Precedence: list\n", "Precedence: list"},
                    AutomaticCase{"List-Id: <a.b.c>\n", "List-Id header"},
                    AutomaticCase{"List-Unsubscribe: <mailto:u@x>\n", "List-Unsubscribe header"},
                    AutomaticCase{"Return-Path: <>\n", "null Return-Path <>"},
                    AutomaticCase{"Return-Path: < >\n", "null Return-Path <>"},
                    AutomaticCase{"X-Autoreply: yes\n", "X-Autoreply header"},
                    AutomaticCase{"X-Autorespond: vacation\n", "X-Autorespond header"},
                    AutomaticCase{"X-Failed-Recipients: a@b\n", "X-Failed-Recipients header"},
                    AutomaticCase{"X-Auto-Response-Suppress: OOF, AutoReply\n",
                                  "X-Auto-Response-Suppress: OOF, AutoReply"},
                    AutomaticCase{"Content-Type: multipart/report; report-type=delivery-status; boundary=r\n",
                                  "multipart/report (delivery or read report)"}));

TEST(AutomaticMailTest, BounceFromMailerDaemon) {
    const ParsedMail mail = MustParse("From: MAILER-DAEMON@mx.example.com\nSubject: failure\n\nbody\n");
    EXPECT_TRUE(mail.automatic);
    EXPECT_EQ(mail.automatic_reason, "From MAILER-DAEMON@mx.example.com");
}

TEST(AutomaticMailTest, LongReasonIsCutBetweenCharacters) {
    const ParsedMail mail = MustParse("From: a@example.com\nAuto-Submitted: auto-replied " +
                                      std::string(46, 'x') + "\xc3\xbc\n\nbody\n");
    EXPECT_EQ(mail.automatic_reason, "Auto-Submitted: auto-replied " + std::string(46, 'x'));
}

TEST(AutomaticMailTest, PersonalMailIsNotFlagged) {
    const ParsedMail mail = MustParse(
        "From: a@example.com\nAuto-Submitted: no\nPrecedence: normal\nReturn-Path: <a@example.com>\n"
        "X-Auto-Response-Suppress: RN, NRN\n\nbody\n");
    EXPECT_FALSE(mail.automatic) << mail.automatic_reason;
}

TEST(MailLimitsTest, TooManyParts) {
    std::vector<std::string> parts(30, Part("Content-Type: text/plain\n", "x"));
    MailLimits limits;
    limits.max_parts = 20;
    const auto mail = ParseMail(MixedMail(parts), limits);
    ASSERT_FALSE(mail.has_value());
    EXPECT_EQ(mail.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_EQ(mail.error().message, "mail: more than 20 MIME parts");
}

TEST(MailLimitsTest, ManyBoundaryLinesAreRefusedBeforeParsing) {
    std::string body;
    for (int i = 0; i < 1000; ++i) body += "--b\n\n";
    const auto mail =
        ParseMail(std::string(kHeaders) + "Content-Type: multipart/mixed; boundary=b\n\n" + body);
    ASSERT_FALSE(mail.has_value());
    EXPECT_EQ(mail.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_EQ(mail.error().message.rfind("mail: more than 200 MIME parts", 0), 0u) << mail.error().message;
}

TEST(MailLimitsTest, TooDeep) {
    std::string nested = Part("Content-Type: text/plain\n", "deep");
    for (int level = 0; level < 25; ++level) {
        nested = Multipart("mixed", "level" + std::to_string(level), {nested});
    }
    const auto mail = ParseMail(std::string(kHeaders) + nested);
    ASSERT_FALSE(mail.has_value());
    EXPECT_EQ(mail.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_EQ(mail.error().message, "mail: MIME parts nested deeper than 20 levels");

    MailLimits generous;
    generous.max_depth = 30;
    EXPECT_EQ(MustParse(std::string(kHeaders) + nested, generous).text_body, "deep");
}

TEST(MailLimitsTest, TooManyAttachmentsTooManyBytesAndTooMuchDecoded) {
    MailLimits limits;
    limits.max_attachments = 2;
    const auto three = ParseMail(MixedMail({PdfPart("1.pdf"), PdfPart("2.pdf"), PdfPart("3.pdf")}), limits);
    ASSERT_FALSE(three.has_value());
    EXPECT_EQ(three.error().message, "mail: more than 2 attachments");

    limits = MailLimits{};
    limits.max_bytes = 100;
    const auto big = ParseMail(std::string(101, 'x'), limits);
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error().message, "mail: 101 bytes, more than the limit of 100");

    limits = MailLimits{};
    limits.max_decoded_bytes = 20;
    const auto decoded = ParseMail(MixedMail({PdfPart("1.pdf"), PdfPart("2.pdf")}), limits);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_EQ(decoded.error().message, "mail: decoded parts larger than 20 bytes");
}

}  // namespace
}  // namespace faxd::mail
