// Every message in tests/mail/corpus parses to the result stated here (issue 7: odd real-world messages,
// a clear result for each). A new corpus file without a row fails the test.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mail/mime_intake.hpp"

namespace faxd::mail {
namespace {

struct ExpectedAttachment {
    std::string file_name;
    std::string content_type;
    bool inline_image = false;
};

struct Expected {
    std::vector<ExpectedAttachment> attachments;
    std::string body_contains;  // "" : the text body is empty
    bool automatic = false;
    std::string warning_contains;  // "" : no warnings
};

const std::map<std::string, Expected>& Expectations() {
    static const std::map<std::string, Expected> table = {
        {"apple_mail_split_body.eml",
         {{{"IMG_0001.jpeg", "image/jpeg", false}}, "damage:\n\nRegards, Anna", false, ""}},
        {"base64_garbage.eml", {{{"dirty.pdf", "application/pdf"}}, "", false, ""}},
        {"bounce_report.eml",
         {{{"attachment-1.bin", "message/delivery-status"}, {"attachment-2.bin", "text/rfc822-headers"}},
          "could not be delivered",
          true,
          ""}},
        {"content_type_name_only.eml",
         {{{"scan0001.pdf", "application/pdf"}, {"attachment-2.bin", "application/octet-stream"}},
          "see attachment",
          false,
          ""}},
        {"crlf_two_attachments.eml",
         {{{"letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
           {"appendix.pdf", "application/pdf"}},
          "first the letter",
          false,
          ""}},
        {"encoded_subject_utf8.eml", {{}, "12 \u20ac f\u00fcr M\u00e4rz", false, ""}},
        {"forwarded_rfc822.eml",
         {{{"forwarded-1.txt", "text/plain"}, {"order-42.pdf", "application/pdf"}},
          "forwarded order",
          false,
          ""}},
        {"headers_only.eml", {{}, "", false, "message truncated"}},
        {"html_only.eml", {{}, "please find the order below & confirm.", false, ""}},
        {"mailing_list.eml", {{}, "Newsletter", true, ""}},
        {"mbox_envelope.eml", {{}, "mbox style", false, ""}},
        {"missing_closing_boundary.eml",
         {{{"cut.pdf", "application/pdf"}}, "got lost", false, "message truncated"}},
        {"multipart_without_boundary.eml", {{}, "text", false, "multipart without boundary"}},
        {"nested_related_logo.eml",
         {{{"logo.png", "image/png", true}, {"order.pdf", "application/pdf"}},
          "Anna Schmidt, ACME",
          false,
          ""}},
        {"no_mime_latin1.eml", {{}, "Gr\u00fc\u00dfe", false, "read as Latin-1"}},
        {"out_of_office.eml", {{}, "out of the office", true, ""}},
        {"pgp_signed.eml", {{}, "Signed text.", false, ""}},
        {"quoted_printable_latin1.eml",
         {{}, "Gr\u00fc\u00dfen, ein sehr langer Satz, der weich umbrochen wird.", false, ""}},
        {"rfc2231_filename.eml",
         {{{"Rechnung M\u00e4rz.pdf", "application/pdf"},
           {"Sehr langer Dateiname f\u00fcr den Test.pdf", "application/pdf"}},
          "",
          false,
          ""}},
        {"simple_pdf.eml", {{{"invoice.pdf", "application/pdf"}}, "attached invoice", false, ""}},
        {"tracking_pixel.eml", {{{"pixel.gif", "image/gif", true}}, "with a pixel", false, ""}},
        {"unknown_charset.eml", {{}, "Stra\u00dfe 5", false, "unknown charset x-foo, read as Latin-1"}},
        {"uuencode.eml", {{{"fax.pdf", "application/pdf"}}, "", false, ""}},
        {"winmail_broken.eml", {{{"winmail.dat", "application/ms-tnef"}}, "", false, "not a TNEF stream"}},
        {"winmail_dat.eml",
         {{{"Report M\u00e4rz.pdf", "application/pdf"}, {"notes.txt", "text/plain"}},
          "See attached.",
          false,
          ""}},
    };
    return table;
}

std::string ReadFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(MimeCorpusTest, EveryMessageParsesToItsStatedResult) {
    std::size_t checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(FAXD_MAIL_CORPUS_DIR)) {
        if (entry.path().extension() != ".eml") continue;
        const std::string name = entry.path().filename().string();
        SCOPED_TRACE(name);
        const auto expected = Expectations().find(name);
        ASSERT_NE(expected, Expectations().end()) << "corpus file without an expectation row";
        const auto mail = ParseMail(ReadFile(entry.path()));
        ASSERT_TRUE(mail.has_value()) << mail.error().message;

        const Expected& want = expected->second;
        ASSERT_EQ(mail->attachments.size(), want.attachments.size());
        for (std::size_t i = 0; i < want.attachments.size(); ++i) {
            EXPECT_EQ(mail->attachments[i].file_name, want.attachments[i].file_name);
            EXPECT_EQ(mail->attachments[i].content_type, want.attachments[i].content_type);
            EXPECT_EQ(mail->attachments[i].inline_image, want.attachments[i].inline_image);
            EXPECT_FALSE(mail->attachments[i].data.empty());
            if (want.attachments[i].content_type == "application/pdf") {
                EXPECT_EQ(mail->attachments[i].data.substr(0, 5), "%PDF-");
            }
        }
        if (want.body_contains.empty()) {
            EXPECT_EQ(mail->text_body, "");
        } else {
            EXPECT_NE(mail->text_body.find(want.body_contains), std::string::npos) << mail->text_body;
        }
        EXPECT_EQ(mail->automatic, want.automatic) << mail->automatic_reason;
        if (want.warning_contains.empty()) {
            EXPECT_TRUE(mail->warnings.empty()) << mail->warnings.front();
        } else {
            bool found = false;
            for (const auto& warning : mail->warnings)
                found = found || warning.find(want.warning_contains) != std::string::npos;
            EXPECT_TRUE(found) << "no warning with: " << want.warning_contains;
        }
        ++checked;
    }
    EXPECT_EQ(checked, Expectations().size()) << "an expectation row without its corpus file";
}

}  // namespace
}  // namespace faxd::mail
