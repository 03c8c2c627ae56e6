#include "mail/fax_address.hpp"

#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

std::vector<FaxRecipient> MustParse(std::string_view subject) {
    auto recipients = RecipientsFromSubject(subject);
    EXPECT_TRUE(recipients.has_value()) << recipients.error().message;
    return recipients.value_or(std::vector<FaxRecipient>{});
}

std::string ErrorOf(std::string_view subject) {
    auto recipients = RecipientsFromSubject(subject);
    EXPECT_FALSE(recipients.has_value());
    if (recipients) return "";
    EXPECT_EQ(recipients.error().code, base::ErrorCode::kInvalidArgument);
    return recipients.error().message;
}

TEST(RecipientsFromSubjectTest, OneNumber) {
    EXPECT_EQ(MustParse("0301234"), (std::vector<FaxRecipient>{{"0301234", ""}}));
    EXPECT_EQ(MustParse("  0301234  "), (std::vector<FaxRecipient>{{"0301234", ""}}));
}

TEST(RecipientsFromSubjectTest, SeparatorsAndPunctuationInNumbers) {
    EXPECT_EQ(MustParse("+49 (30) 123-45, 040/555.66 ; 0891 2345"),
              (std::vector<FaxRecipient>{{"+493012345", ""}, {"04055566", ""}, {"08912345", ""}}));
    EXPECT_EQ(MustParse("0301234;;, ,0405678;"),
              (std::vector<FaxRecipient>{{"0301234", ""}, {"0405678", ""}}));
}

TEST(RecipientsFromSubjectTest, EntityAfterAt) {
    EXPECT_EQ(MustParse("0301234@sales, 0405678 @ support ;0891"),
              (std::vector<FaxRecipient>{{"0301234", "sales"}, {"0405678", "support"}, {"0891", ""}}));
}

TEST(RecipientsFromSubjectTest, BadTokensAreNamed) {
    EXPECT_EQ(ErrorOf("0301234, abc"), "subject: 'abc' is not a fax number");
    EXPECT_EQ(ErrorOf("Fax to 0301234"), "subject: 'Fax to 0301234' is not a fax number");
    EXPECT_EQ(ErrorOf("12"), "subject: '12' is not a fax number");
    EXPECT_EQ(ErrorOf("123456789012345678901"), "subject: '123456789012345678901' is not a fax number");
    EXPECT_EQ(ErrorOf("03+01234"), "subject: '03+01234' is not a fax number");
    EXPECT_EQ(ErrorOf("0301234@"), "subject: '0301234@' names no valid fax entity after '@'");
    EXPECT_EQ(ErrorOf("0301234@a@b"), "subject: '0301234@a@b' names no valid fax entity after '@'");
    EXPECT_EQ(ErrorOf(""), "subject: no fax number");
    EXPECT_EQ(ErrorOf(" ; , "), "subject: no fax number");
    EXPECT_EQ(ErrorOf(std::string(100, 'x')),
              "subject: '" + std::string(40, 'x') + "...' is not a fax number");
}

TEST(RecipientFromAddressTest, NumberAtTheFaxDomain) {
    EXPECT_EQ(RecipientFromAddress("0301234@fax.example.com", "fax.example.com"),
              (FaxRecipient{"0301234", ""}));
    EXPECT_EQ(RecipientFromAddress("<+49301234@FAX.Example.COM>", "fax.example.com"),
              (FaxRecipient{"+49301234", ""}));
    EXPECT_EQ(RecipientFromAddress("030-123.4@fax.example.com", "fax.example.com"),
              (FaxRecipient{"0301234", ""}));
}

TEST(RecipientFromAddressTest, AnythingElseIsNoRecipient) {
    EXPECT_FALSE(RecipientFromAddress("0301234@example.com", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("0301234@sales.fax.example.com", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("anna@fax.example.com", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("12@fax.example.com", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("-0301234@fax.example.com", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("0301234", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("@fax.example.com", "fax.example.com"));
    EXPECT_FALSE(RecipientFromAddress("0301234@fax.example.com", ""));
}

TEST(FindPinTest, FindsThePinLine) {
    EXPECT_EQ(FindPin("Hello\nPIN: 1234\nBye"), "1234");
    EXPECT_EQ(FindPin("pin:123456789012"), "123456789012");
    EXPECT_EQ(FindPin("text\r\n   Pin :  98765 \r\n"), "98765");
    EXPECT_EQ(FindPin("PIN: 12\nPIN: 4321"), "4321");
}

TEST(FindPinTest, RejectsWhatIsNoPinLine) {
    EXPECT_FALSE(FindPin("my PIN: 1234"));
    EXPECT_FALSE(FindPin("PIN: 123"));
    EXPECT_FALSE(FindPin("PIN: 1234567890123"));
    EXPECT_FALSE(FindPin("PIN: 1234x"));
    EXPECT_FALSE(FindPin("PIN 1234"));
    EXPECT_FALSE(FindPin("PINS: 1234"));
    EXPECT_FALSE(FindPin(""));
}

}  // namespace
}  // namespace faxd::mail
