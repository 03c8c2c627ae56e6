#include "web/credentials.hpp"

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace faxd::web {
namespace {

TEST(Passwords, HashThenVerify) {
    const auto hash = HashPassword("correct horse battery staple");
    ASSERT_TRUE(hash) << hash.error().ToString();
    EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
    EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
    EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapl"));
    EXPECT_FALSE(VerifyPassword(*hash, "Correct horse battery staple"));
    EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(Passwords, EverySaltIsNew) {
    const std::string first = HashPassword("same password").value();
    const std::string second = HashPassword("same password").value();
    EXPECT_NE(first, second);
    EXPECT_TRUE(VerifyPassword(first, "same password"));
    EXPECT_TRUE(VerifyPassword(second, "same password"));
}

TEST(Passwords, LengthIsBounded) {
    for (const std::string& refused : {std::string(), std::string("1234567"), std::string(1025, 'x')}) {
        const auto hash = HashPassword(refused);
        ASSERT_FALSE(hash) << refused.size();
        EXPECT_EQ(hash.error().code, base::ErrorCode::kInvalidArgument);
        EXPECT_NE(hash.error().message.find("8 to 1024 bytes"), std::string::npos) << hash.error().message;
    }
    EXPECT_TRUE(HashPassword("12345678"));
    const std::string longest(1024, 'x');
    const auto hash = HashPassword(longest);
    ASSERT_TRUE(hash);
    EXPECT_TRUE(VerifyPassword(*hash, longest));
    EXPECT_FALSE(VerifyPassword(*hash, longest + "x"));
}

TEST(Passwords, NoHashOrABrokenOneNeverVerifies) {
    EXPECT_FALSE(VerifyPassword("", "anything at all"));
    EXPECT_FALSE(VerifyPassword("", ""));
    EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=65536,t=2,p=1$garbage", "anything at all"));
    EXPECT_FALSE(VerifyPassword("plain text password", "plain text password"));
    EXPECT_FALSE(VerifyPassword(std::string(500, '$'), "anything at all"));
}

TEST(Tokens, FormatHashAndPrefix) {
    const std::regex format("^fxd_[A-Za-z0-9_-]{43}$");
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        const NewToken token = GenerateToken();
        EXPECT_TRUE(std::regex_match(token.token, format)) << token.token;
        EXPECT_EQ(token.prefix, token.token.substr(0, 8));
        EXPECT_EQ(token.hash, TokenHash(token.token));
        EXPECT_TRUE(std::regex_match(token.hash, std::regex("^[0-9a-f]{64}$"))) << token.hash;
        EXPECT_TRUE(seen.insert(token.token).second) << "a token came twice";
    }
}

TEST(Tokens, HashIsPlainSha256) {
    // FIPS 180-2, appendix B.1, and the empty message.
    EXPECT_EQ(TokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(TokenHash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Secrets, WebhookSecretFormat) {
    const std::string first = RandomSecret();
    EXPECT_TRUE(std::regex_match(first, std::regex("^whsec_[A-Za-z0-9_-]{43}$"))) << first;
    EXPECT_NE(first, RandomSecret());
}

// RFC 4231 §4.2, §4.3, §4.7.
TEST(Hmac, Rfc4231Vectors) {
    EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // A key longer than SHA-256's 64-byte block is hashed first.
    EXPECT_EQ(
        HmacSha256Hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Hmac, WebhookSignatureSignsTimeAndBody) {
    const std::string body = R"({"type":"fax.sent"})";
    const std::string signature = WebhookSignature("whsec_abc", 1'767'225'600, body);
    // Expected value from an independent implementation (Python's hmac module).
    EXPECT_EQ(signature, "t=1767225600,v1=e1b3f108aeeaba6a8098f490af38a46c2219184c13061a79cd664209d70b8c4e");
    EXPECT_EQ(signature, "t=1767225600,v1=" + HmacSha256Hex("whsec_abc", "1767225600." + body));
    EXPECT_NE(signature, WebhookSignature("whsec_abc", 1'767'225'601, body));
    EXPECT_NE(signature, WebhookSignature("whsec_abd", 1'767'225'600, body));
}

TEST(ConstantTime, Equality) {
    EXPECT_TRUE(ConstantTimeEquals("", ""));
    EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
    EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(Authorization, Basic) {
    auto parsed = ParseBasicAuthorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617 §2
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->login, "Aladdin");
    EXPECT_EQ(parsed->password, "open sesame");
    // The scheme is case-insensitive; surrounding blanks are tolerated.
    parsed = ParseBasicAuthorization("  bAsIc   QWxhZGRpbjpvcGVuIHNlc2FtZQ== ");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->login, "Aladdin");
    // Only the first ':' splits; the password may have more.
    parsed = ParseBasicAuthorization("Basic dXNlcjpwYTpzcw==");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->login, "user");
    EXPECT_EQ(parsed->password, "pa:ss");
    parsed = ParseBasicAuthorization("Basic dXNlcjo=");  // "user:" - an empty password is still a password
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->password, "");
    parsed = ParseBasicAuthorization("Basic asO2cmc6cMOkc3N3b3Jk");  // UTF-8, padding dropped
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->login, "j\xc3\xb6rg");
    EXPECT_EQ(parsed->password, "p\xc3\xa4ssword");
}

TEST(Authorization, MalformedBasic) {
    for (const std::string& header : std::vector<std::string>{
             "", "Basic", "Basic ", "Basic    ",
             "QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
             "Basicx QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== extra",
             "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=",  // wrong padding
             "Basic QWxh*GRpbjpvcGVuIHNlc2FtZQ==", "Basic =QWxhZGRpbjpvcGVuIHNlc2FtZQ=",
             "Basic bm9jb2xvbg==",  // no ':'
             "Basic OnB3",          // ":pw"
             "Basic dXMBZXI6cHc=",  // a control character
             "Basic " + std::string(5000, 'A')}) {
        EXPECT_FALSE(ParseBasicAuthorization(header)) << header.substr(0, 60);
    }
}

TEST(Authorization, Bearer) {
    const std::string token = GenerateToken().token;
    EXPECT_EQ(ParseBearerAuthorization("Bearer " + token), token);
    EXPECT_EQ(ParseBearerAuthorization("bearer " + token), token);
    EXPECT_EQ(ParseBearerAuthorization("BEARER\t" + token + "  "), token);
    EXPECT_EQ(ParseBearerAuthorization("Bearer abc/+.~-_=="), "abc/+.~-_==");
    for (const std::string& header :
         {std::string(), std::string("Bearer"), std::string("Bearer "), "Basic " + token, token,
          "Bearer " + token + " more", std::string("Bearer a=b"), std::string("Bearer ==="),
          std::string("Bearer tok\x01en"), std::string("Bearer t\xc3\xb6ken"),
          "Bearer " + std::string(5000, 'a')}) {
        EXPECT_FALSE(ParseBearerAuthorization(header)) << header.substr(0, 60);
    }
}

}  // namespace
}  // namespace faxd::web
