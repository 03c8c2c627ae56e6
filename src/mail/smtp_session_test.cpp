// The SMTP state machine, scripted: bytes in, replies out, with a recording policy and simulated time.
#include "mail/smtp_session.hpp"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kDate = "Thu, 01 Jan 2026 00:00:00 +0000";

class SmtpSessionTest : public ::testing::Test {
protected:
    SmtpSessionTest() {
        config_.hostname = "fax.test";
        policy_.check_recipient = [this](const std::string& address) {
            checked_.push_back(address);
            if (address.ends_with("@other.com"))
                return SmtpVerdict::Reject("550 5.1.1 <" + address + ">: not a fax domain");
            if (address.starts_with("abc@"))
                return SmtpVerdict::Reject("553 5.1.3 <" + address + ">: not a fax number");
            return SmtpVerdict::Accept();
        };
        policy_.deliver = [this](const SmtpEnvelope& envelope,
                                 const std::string& message) -> base::Result<std::string> {
            if (fail_delivery_) return base::MakeError(base::ErrorCode::kIo, "disk full");
            envelopes_.push_back(envelope);
            messages_.push_back(message);
            return "Q" + std::to_string(messages_.size());
        };
        policy_.authenticate = [](const std::string& user, const std::string& password) {
            return user == "alice" && password == "secret";
        };
    }

    SmtpSession& Open(bool tls_available = false, bool tls_active = false) {
        session_.emplace(config_, policy_, clock_,
                         SmtpSession::Connection{"192.0.2.7", tls_available, tls_active});
        session_->Start();
        last_step_ = RunSmtpSession(*session_, policy_);
        greeting_ = session_->TakeOutput();
        return *session_;
    }

    // Feeds bytes, runs the session (callbacks inline) and returns what it answered.
    std::string Talk(std::string_view bytes) {
        session_->Receive(bytes);
        last_step_ = RunSmtpSession(*session_, policy_);
        return session_->TakeOutput();
    }

    // Reply lines of one exchange, CRLF removed.
    std::vector<std::string> Lines(std::string_view bytes) {
        const std::string out = Talk(bytes);
        std::vector<std::string> lines;
        for (std::size_t start = 0; start < out.size();) {
            const std::size_t end = out.find("\r\n", start);
            EXPECT_NE(end, std::string::npos) << out;
            if (end == std::string::npos) break;
            lines.push_back(out.substr(start, end - start));
            start = end + 2;
        }
        return lines;
    }

    void Envelope(std::string_view rcpt = "5551234@fax.test") {
        ASSERT_EQ(Talk("EHLO client.example\r\n").substr(0, 4), "250-");
        ASSERT_EQ(Talk("MAIL FROM:<a@example.com>\r\n"), "250 2.1.0 Ok\r\n");
        ASSERT_EQ(Talk("RCPT TO:<" + std::string(rcpt) + ">\r\n"), "250 2.1.5 Ok\r\n");
    }

    std::string Body(const std::string& message) {
        const std::size_t end = message.find(std::string(kDate) + "\r\n");
        return end == std::string::npos ? "<no Received header>" : message.substr(end + kDate.size() + 2);
    }

    SmtpSessionConfig config_;
    SmtpPolicy policy_;
    base::SimulatedClock clock_;
    std::optional<SmtpSession> session_;
    SmtpStep last_step_ = SmtpStep::kNeedInput;
    std::string greeting_;
    std::vector<std::string> checked_;
    std::vector<SmtpEnvelope> envelopes_;
    std::vector<std::string> messages_;
    bool fail_delivery_ = false;
};

TEST_F(SmtpSessionTest, GreetsAndAdvertisesExtensions) {
    Open();
    EXPECT_EQ(greeting_, "220 fax.test ESMTP faxd\r\n");
    EXPECT_THAT(Lines("EHLO client.example\r\n"),
                ElementsAre("250-fax.test", "250-PIPELINING", "250-SIZE 26214400", "250-8BITMIME",
                            "250 ENHANCEDSTATUSCODES"));
    EXPECT_THAT(Lines("HELO client.example\r\n"), ElementsAre("250 fax.test"));
}

TEST_F(SmtpSessionTest, OffersStartTlsAndAuthOnlyWhereAllowed) {
    Open(/*tls_available=*/true);
    EXPECT_THAT(Lines("EHLO c\r\n"), ::testing::Contains("250 STARTTLS"));
    EXPECT_THAT(Talk("EHLO c\r\n"), ::testing::Not(HasSubstr("AUTH")));
    Open(/*tls_available=*/false, /*tls_active=*/true);
    const std::string ehlo = Talk("EHLO c\r\n");
    EXPECT_THAT(ehlo, HasSubstr("250 AUTH PLAIN LOGIN\r\n"));
    EXPECT_THAT(ehlo, ::testing::Not(HasSubstr("STARTTLS")));
    config_.allow_auth_without_tls = true;
    Open();
    EXPECT_THAT(Talk("EHLO c\r\n"), HasSubstr("AUTH PLAIN LOGIN"));
}

TEST_F(SmtpSessionTest, DeliversWithReceivedHeaderAndExactBytes) {
    Open();
    Envelope();
    EXPECT_EQ(Talk("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
    EXPECT_EQ(Talk("Subject: hi\r\n\r\nline one\r\n"), "");
    EXPECT_EQ(Talk(".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
    ASSERT_EQ(messages_.size(), 1u);
    EXPECT_EQ(messages_[0],
              "Received: from client.example ([192.0.2.7])\r\n\tby fax.test (faxd) with ESMTP\r\n"
              "\tfor <5551234@fax.test>;\r\n\tThu, 01 Jan 2026 00:00:00 +0000\r\n"
              "Subject: hi\r\n\r\nline one\r\n");
    const SmtpEnvelope& envelope = envelopes_[0];
    EXPECT_EQ(envelope.helo, "client.example");
    EXPECT_EQ(envelope.mail_from, "a@example.com");
    EXPECT_THAT(envelope.rcpt_to, ElementsAre("5551234@fax.test"));
    EXPECT_EQ(envelope.remote_address, "192.0.2.7");
    EXPECT_FALSE(envelope.tls);
    EXPECT_EQ(envelope.authenticated_user, "");
    // The transaction is over: a new one needs MAIL again.
    EXPECT_EQ(Talk("RCPT TO:<1@fax.test>\r\n"), "503 5.5.1 Need MAIL before RCPT\r\n");
}

TEST_F(SmtpSessionTest, UnstuffsDotsAndNeedsCrLfDotCrLf) {
    Open();
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk("..leading dot\r\n...\r\n.x\r\n"), "");
    EXPECT_EQ(Talk(". \r\n"), "");  // not the end: a space follows the dot
    EXPECT_EQ(Talk("a\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
    EXPECT_EQ(Body(messages_.at(0)), ".leading dot\r\n..\r\nx\r\n \r\na\r\n");
}

TEST_F(SmtpSessionTest, EmptyMessageAndEndSplitAcrossReads) {
    Open();
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk("x\r"), "");
    EXPECT_EQ(Talk("\n."), "");
    EXPECT_EQ(Talk("\r"), "");
    EXPECT_EQ(Talk("\n"), "250 2.0.0 Ok: queued as Q1\r\n");
    EXPECT_EQ(Body(messages_.at(0)), "x\r\n");
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk(".\r\n"), "250 2.0.0 Ok: queued as Q2\r\n");
    EXPECT_EQ(Body(messages_.at(1)), "");
}

// SMTP smuggling: only CRLF.CRLF ends DATA; a bare LF or CR inside makes the message refused.
TEST_F(SmtpSessionTest, BareLineFeedsDoNotEndDataAndAreRefused) {
    Open();
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk("a\n.\nMAIL FROM:<evil@x>\r\nb\r.\r\n"), "");
    EXPECT_EQ(Talk("c\r\n.\r\n"),
              "550 5.6.0 Message contains a bare CR or LF; lines must end with CRLF (RFC 5321 §2.3.8)\r\n");
    EXPECT_TRUE(messages_.empty());

    config_.accept_bare_newlines = true;
    Open();
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk("a\n.\nb\r\n.\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
    EXPECT_EQ(Body(messages_.at(0)), "a\n.\nb\r\n");
}

TEST_F(SmtpSessionTest, CommandsMayEndWithBareLineFeed) {
    Open();
    EXPECT_EQ(Talk("NOOP\n"), "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, DeliveryFailureIsTemporary) {
    fail_delivery_ = true;
    Open();
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk("x\r\n.\r\n"), "451 4.3.0 Cannot store the message now (disk full); try again later\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@example.com>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, RecipientsAreCheckedAtRcptTime) {
    Open();
    Talk("EHLO c\r\nMAIL FROM:<a@example.com>\r\n");
    EXPECT_EQ(Talk("RCPT TO:<x@other.com>\r\n"), "550 5.1.1 <x@other.com>: not a fax domain\r\n");
    EXPECT_EQ(Talk("RCPT TO:<abc@fax.test>\r\n"), "553 5.1.3 <abc@fax.test>: not a fax number\r\n");
    EXPECT_EQ(Talk("DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
    EXPECT_EQ(Talk("RCPT TO: <@relay.example:5551234@fax.test>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_THAT(checked_, ElementsAre("x@other.com", "abc@fax.test", "5551234@fax.test"));
    EXPECT_EQ(Talk("RCPT TO:<>\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
    EXPECT_EQ(Talk("RCPT TO:<a@b> NOTIFY=NEVER\r\n"), "555 5.5.4 Unsupported RCPT parameter\r\n");
    EXPECT_EQ(Talk("RCPT <a@b>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
}

TEST_F(SmtpSessionTest, PolicyRepliesWithoutCodeOrWithLineBreaksAreSanitised) {
    policy_.check_recipient = [](const std::string&) { return SmtpVerdict::Reject("nope\r\n250 fake"); };
    policy_.check_sender = [](const std::string& address) {
        return address == "spam@x" ? SmtpVerdict::Reject("554 5.7.1 go away") : SmtpVerdict::Accept();
    };
    Open();
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<spam@x>\r\n"), "554 5.7.1 go away\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<>\r\n"), "250 2.1.0 Ok\r\n");  // the null sender (bounces)
    EXPECT_EQ(Talk("RCPT TO:<1@fax.test>\r\n"), "550 nope  250 fake\r\n");
}

TEST_F(SmtpSessionTest, TooManyRecipients) {
    config_.max_recipients = 2;
    Open();
    Envelope("1@fax.test");
    EXPECT_EQ(Talk("RCPT TO:<2@fax.test>\r\n"), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(Talk("RCPT TO:<3@fax.test>\r\n"), "452 4.5.3 Too many recipients\r\n");
    Talk("DATA\r\nx\r\n.\r\n");
    EXPECT_THAT(envelopes_.at(0).rcpt_to, ElementsAre("1@fax.test", "2@fax.test"));
    EXPECT_THAT(messages_.at(0), ::testing::Not(HasSubstr("for <")));  // only with a single recipient
}

TEST_F(SmtpSessionTest, SizeLimits) {
    config_.max_message_bytes = 2000;
    Open();
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b> SIZE=2001\r\n"),
              "552 5.3.4 Message size exceeds fixed maximum message size (2000 bytes)\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b> SIZE=12x\r\n"), "501 5.5.4 Bad SIZE parameter\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b> SIZE=99999999999999999999999\r\n"), "501 5.5.4 Bad SIZE parameter\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b> SIZE=2000 BODY=8BITMIME AUTH=<>\r\n"), "250 2.1.0 Ok\r\n");
    Talk("RCPT TO:<1@fax.test>\r\nDATA\r\n");
    const std::string line(98, 'x');
    std::string body;
    for (int i = 0; i < 20; ++i) body += line + "\r\n";  // exactly 2000 bytes: accepted
    EXPECT_EQ(Talk(body + ".\r\n"), "250 2.0.0 Ok: queued as Q1\r\n");
    Talk("MAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nDATA\r\n");
    EXPECT_EQ(Talk(body + "y\r\n.\r\n"),
              "552 5.3.4 Message size exceeds fixed maximum message size (2000 bytes)\r\n");
    EXPECT_EQ(messages_.size(), 1u);
}

TEST_F(SmtpSessionTest, MailParameters) {
    Open();
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b> BODY=BINARYMIME\r\n"), "501 5.5.4 Bad BODY parameter\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b> SMTPUTF8\r\n"), "555 5.5.4 Unsupported MAIL parameter\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b\r\n"), "501 5.1.7 Bad sender address syntax\r\n");
    EXPECT_EQ(Talk("MAIL TO:<a@b>\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
    EXPECT_EQ(Talk("mail from: a@b\r\n"), "250 2.1.0 Ok\r\n");  // lenient: case, space, no brackets
    EXPECT_EQ(Talk("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Nested MAIL command\r\n");
}

TEST_F(SmtpSessionTest, QuotedLocalPartMayHoldAngleBracket) {
    Open();
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<\"a>b\"@example.com>\r\n"), "250 2.1.0 Ok\r\n");
    Talk("RCPT TO:<1@fax.test>\r\nDATA\r\n.\r\n");
    EXPECT_EQ(envelopes_.at(0).mail_from, "\"a>b\"@example.com");
}

TEST_F(SmtpSessionTest, BadSequences) {
    Open();
    EXPECT_EQ(Talk("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Send EHLO or HELO first\r\n");
    EXPECT_EQ(Talk("EHLO\r\n"), "501 5.5.4 EHLO needs a domain\r\n");
    Talk("HELO c\r\n");
    EXPECT_EQ(Talk("RCPT TO:<1@fax.test>\r\n"), "503 5.5.1 Need MAIL before RCPT\r\n");
    EXPECT_EQ(Talk("DATA\r\n"), "503 5.5.1 Need MAIL before DATA\r\n");
    EXPECT_EQ(Talk("DATA x\r\n"), "501 5.5.4 DATA takes no arguments\r\n");
}

TEST_F(SmtpSessionTest, SmallCommands) {
    Open();
    EXPECT_EQ(Talk("NOOP\r\n"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(Talk("VRFY 5551234\r\n"),
              "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
    EXPECT_EQ(Talk("VRFY\r\n"), "501 5.5.4 VRFY needs an argument\r\n");
    EXPECT_THAT(Talk("HELP\r\n"), StartsWith("214 2.0.0 Commands: EHLO"));
    EXPECT_EQ(Talk("EXPN staff\r\n"), "502 5.5.1 Command not implemented\r\n");
    EXPECT_EQ(Talk("XYZZY\r\n"), "500 5.5.2 Command unrecognized\r\n");
    EXPECT_EQ(Talk("STARTTLS\r\n"), "502 5.5.1 STARTTLS not available\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN\r\n"),
              "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
    EXPECT_EQ(Talk("RSET now\r\n"), "501 5.5.4 RSET takes no arguments\r\n");
    EXPECT_EQ(Talk("QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
    EXPECT_EQ(last_step_, SmtpStep::kClose);
    EXPECT_EQ(Talk("NOOP\r\n"), "");
}

TEST_F(SmtpSessionTest, RsetForgetsTheTransaction) {
    Open();
    Envelope();
    EXPECT_EQ(Talk("RSET\r\n"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(Talk("DATA\r\n"), "503 5.5.1 Need MAIL before DATA\r\n");
    Envelope("2@fax.test");
    Talk("DATA\r\nx\r\n.\r\n");
    EXPECT_THAT(envelopes_.at(0).rcpt_to, ElementsAre("2@fax.test"));
}

// RFC 2920: a pipelined group gets its replies in order, in one batch.
TEST_F(SmtpSessionTest, PipelinedTransaction) {
    Open();
    EXPECT_THAT(
        Lines("EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nRCPT TO:<x@other.com>\r\n"
              "RCPT TO:<2@fax.test>\r\nDATA\r\nhello\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@other.com>\r\n"
              "DATA\r\nQUIT\r\n")
            .size(),
        15u);
    EXPECT_THAT(envelopes_.at(0).rcpt_to, ElementsAre("1@fax.test", "2@fax.test"));
    EXPECT_EQ(Body(messages_.at(0)), "hello\r\n");
    EXPECT_EQ(last_step_, SmtpStep::kClose);
    Open();
    EXPECT_THAT(Lines("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@other.com>\r\nDATA\r\nRSET\r\n"),
                ElementsAre("250 fax.test", "250 2.1.0 Ok", "550 5.1.1 <x@other.com>: not a fax domain",
                            "554 5.5.1 No valid recipients", "250 2.0.0 Ok"));
}

TEST_F(SmtpSessionTest, PausesForDeliveryWithLaterCommandsBuffered) {
    Open();
    Envelope();
    session_->Receive("DATA\r\nx\r\n.\r\nNOOP\r\n");
    EXPECT_EQ(session_->Process(), SmtpStep::kDeliver);
    EXPECT_EQ(session_->TakeOutput(), "354 End data with <CR><LF>.<CR><LF>\r\n");
    EXPECT_EQ(Body(session_->message()), "x\r\n");
    EXPECT_EQ(session_->Process(), SmtpStep::kDeliver);  // still waiting
    session_->DeliveryDone(std::string("77"));
    EXPECT_EQ(session_->Process(), SmtpStep::kNeedInput);
    EXPECT_EQ(session_->TakeOutput(), "250 2.0.0 Ok: queued as 77\r\n250 2.0.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, CommandLineTooLong) {
    Open();
    EXPECT_EQ(Talk(std::string(999, 'N') + "\r\n"), "500 5.5.2 Line too long\r\n");
    EXPECT_EQ(Talk("NOOP " + std::string(993, 'x') + "\r\n"), "250 2.0.0 Ok\r\n");  // exactly 1000
    // Reported as soon as it cannot fit any more; the rest of the line is skipped.
    EXPECT_EQ(Talk(std::string(1500, 'N')), "500 5.5.2 Line too long\r\n");
    EXPECT_EQ(Talk(std::string(5000, 'N')), "");
    EXPECT_EQ(Talk("NNN\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, DataLineTooLong) {
    config_.max_data_line_bytes = 1000;
    Open();
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(Talk("." + std::string(1200, 'a')), "");
    EXPECT_EQ(Talk(std::string(600, 'b') + "\r\n.\r\n"),
              "500 5.5.2 Line too long in the message (over 1000 bytes)\r\n");
    EXPECT_TRUE(messages_.empty());
    EXPECT_EQ(Talk("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, TooManyBadCommandsCloses) {
    config_.max_bad_commands = 3;
    Open();
    EXPECT_THAT(Lines("X\r\nY\r\nNOOP\r\nZ\r\nNOOP\r\n"),
                ElementsAre("500 5.5.2 Command unrecognized", "500 5.5.2 Command unrecognized",
                            "250 2.0.0 Ok", "500 5.5.2 Command unrecognized",
                            "421 4.7.0 fax.test Too many errors, closing connection"));
    EXPECT_EQ(last_step_, SmtpStep::kClose);
    EXPECT_TRUE(session_->closed());
}

TEST_F(SmtpSessionTest, HttpRequestClosesAtOnce) {
    Open();
    EXPECT_EQ(Talk("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
              "421 4.7.0 fax.test That is not SMTP, closing connection\r\n");
    EXPECT_EQ(last_step_, SmtpStep::kClose);
}

// RFC 3207 §4.2 and the STARTTLS command injection defence.
TEST_F(SmtpSessionTest, StartTlsDiscardsPipelinedPlaintextAndResets) {
    Open(/*tls_available=*/true);
    Talk("EHLO c\r\n");
    session_->Receive("STARTTLS\r\nMAIL FROM:<injected@evil>\r\n");
    EXPECT_EQ(session_->Process(), SmtpStep::kStartTls);
    EXPECT_EQ(session_->TakeOutput(), "220 2.0.0 Ready to start TLS\r\n");
    session_->Receive("RCPT TO:<also-injected@evil>\r\n");  // still plaintext: dropped too
    EXPECT_EQ(session_->Process(), SmtpStep::kStartTls);
    session_->TlsStarted();
    EXPECT_TRUE(session_->tls_active());
    EXPECT_EQ(Talk(""), "");  // nothing of the injected commands runs
    EXPECT_EQ(Talk("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Send EHLO or HELO first\r\n");
    const std::string ehlo = Talk("EHLO c\r\n");
    EXPECT_THAT(ehlo, ::testing::Not(HasSubstr("STARTTLS")));
    EXPECT_THAT(ehlo, HasSubstr("AUTH PLAIN LOGIN"));
    EXPECT_EQ(Talk("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
    Talk("MAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nDATA\r\nx\r\n.\r\n");
    EXPECT_TRUE(envelopes_.at(0).tls);
    EXPECT_THAT(messages_.at(0), HasSubstr("with ESMTPS"));
    EXPECT_EQ(Talk("STARTTLS now\r\n"), "503 5.5.1 TLS already active\r\n");
}

TEST_F(SmtpSessionTest, AuthPlain) {
    Open(false, true);
    Talk("EHLO c\r\n");
    // base64("\0alice\0wrong"), then "\0alice\0secret"
    EXPECT_EQ(Talk("AUTH PLAIN AGFsaWNlAHdyb25n\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN\r\n"), "334 \r\n");
    EXPECT_EQ(Talk("AGFsaWNlAHNlY3JldA==\r\n"), "235 2.7.0 Authentication successful\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), "503 5.5.1 Already authenticated\r\n");
    Talk("MAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nDATA\r\nx\r\n.\r\n");
    EXPECT_EQ(envelopes_.at(0).authenticated_user, "alice");
    EXPECT_THAT(messages_.at(0), HasSubstr("with ESMTPSA"));
}

TEST_F(SmtpSessionTest, AuthPlainRefusesOtherAuthorizationIdentityAndBadBase64) {
    Open(false, true);
    Talk("EHLO c\r\n");
    // base64("bob\0alice\0secret")
    EXPECT_EQ(Talk("AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n"),
              "535 5.7.8 Authentication credentials invalid\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN !!!!\r\n"), "501 5.5.2 Cannot decode the response\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN =\r\n"), "501 5.5.2 Malformed PLAIN response\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN\r\n*\r\n"), "334 \r\n501 5.7.0 Authentication cancelled\r\n");
    EXPECT_EQ(Talk("AUTH CRAM-MD5\r\n"), "504 5.5.4 Unrecognized authentication type\r\n");
}

TEST_F(SmtpSessionTest, AuthLogin) {
    Open(false, true);
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
    EXPECT_EQ(Talk("YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
    EXPECT_EQ(Talk("c2VjcmV0\r\n"), "235 2.7.0 Authentication successful\r\n");
    Open(false, true);
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("AUTH LOGIN YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
    EXPECT_EQ(Talk("d3Jvbmc=\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
}

TEST_F(SmtpSessionTest, AuthNeedsEhloAndIsNotOfferedWithoutCallback) {
    Open(false, true);
    EXPECT_EQ(Talk("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), "503 5.5.1 Send EHLO first\r\n");
    policy_.authenticate = nullptr;
    Open(false, true);
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("AUTH PLAIN\r\n"), "502 5.5.1 AUTH not available\r\n");
}

TEST_F(SmtpSessionTest, RequireAuth) {
    config_.require_auth = true;
    Open(false, true);
    Talk("EHLO c\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b>\r\n"), "530 5.7.0 Authentication required\r\n");
    Talk("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    EXPECT_EQ(Talk("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(SmtpSessionTest, TimeoutsDependOnState) {
    config_.command_timeout = std::chrono::milliseconds(300000);
    config_.data_timeout = std::chrono::milliseconds(600000);
    Open();
    EXPECT_EQ(session_->CurrentTimeout(), std::chrono::milliseconds(300000));
    Envelope();
    Talk("DATA\r\n");
    EXPECT_EQ(session_->CurrentTimeout(), std::chrono::milliseconds(600000));
    session_->OnTimeout();
    EXPECT_EQ(session_->TakeOutput(), "421 4.4.2 fax.test Timeout exceeded, closing connection\r\n");
    EXPECT_EQ(session_->Process(), SmtpStep::kClose);
}

TEST_F(SmtpSessionTest, ReceivedHeaderForIpv6AndHelo) {
    Open();
    session_.emplace(config_, policy_, clock_, SmtpSession::Connection{"::1", false, false});
    session_->Start();
    session_->TakeOutput();
    Talk("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@fax.test>\r\nDATA\r\nx\r\n.\r\n");
    EXPECT_THAT(messages_.at(0),
                StartsWith("Received: from c ([IPv6:::1])\r\n\tby fax.test (faxd) with SMTP\r\n"));
}

}  // namespace
}  // namespace faxd::mail
