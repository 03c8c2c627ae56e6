#include "sip/digest.hpp"

#include <cctype>

#include <gtest/gtest.h>

namespace faxd::sip {
namespace {

using base::ErrorCode;
using Verdict = DigestServer::Verdict;

constexpr std::string_view kRfc7616Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr std::string_view kRfc7616Opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
constexpr std::string_view kRfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

const base::WallTime kNow{std::chrono::seconds(1'767'225'600)};  // 2026-01-01

DigestNonceKey Key(unsigned char fill) {
    DigestNonceKey key;
    key.fill(fill);
    return key;
}

// The challenge of RFC 7616 §3.9.1, folded over lines as printed there.
std::string Rfc7616Challenge(std::string_view algorithm) {
    return "Digest\r\n    realm=\"http-auth@example.org\",\r\n    qop=\"auth, auth-int\",\r\n    algorithm=" +
           std::string(algorithm) + ",\r\n    nonce=\"" + std::string(kRfc7616Nonce) +
           "\",\r\n    opaque=\"" + std::string(kRfc7616Opaque) + "\"";
}

ErrorCode ChallengeError(std::string_view header) {
    const auto challenge = ParseChallenge(header);
    EXPECT_FALSE(challenge.has_value()) << header;
    return challenge ? ErrorCode::kInternal : challenge.error().code;
}

ErrorCode AuthorizationError(std::string_view header) {
    const auto authorization = ParseAuthorization(header);
    EXPECT_FALSE(authorization.has_value()) << header;
    return authorization ? ErrorCode::kInternal : authorization.error().code;
}

// A client answer to `server`'s challenge for `algorithm`, issued at `issued`.
DigestAuthorization Answer(const DigestServer& server, DigestAlgorithm algorithm, std::string_view password,
                           base::WallTime issued, bool qop = true) {
    const auto challenges = server.Challenges(issued);
    EXPECT_TRUE(challenges.has_value());
    auto challenge = ParseChallenge((*challenges)[algorithm == DigestAlgorithm::kSha256 ? 0 : 1]);
    EXPECT_TRUE(challenge.has_value());
    EXPECT_EQ(challenge->algorithm, algorithm);
    challenge->qop_auth = qop;
    const auto header =
        MakeAuthorization(*challenge, "INVITE", "sip:+4930123456@fax.example.com", "alice", password);
    EXPECT_TRUE(header.has_value());
    auto authorization = ParseAuthorization(*header);
    EXPECT_TRUE(authorization.has_value()) << *header;
    return *authorization;
}

TEST(DigestTest, Rfc7616ExampleBothAlgorithms) {
    // RFC 7616 §3.9.1; both responses also checked with `openssl dgst`.
    const struct {
        std::string_view algorithm;
        std::string_view response;
    } cases[] = {
        {"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
        {"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
    };
    for (const auto& c : cases) {
        const auto challenge = ParseChallenge(Rfc7616Challenge(c.algorithm));
        ASSERT_TRUE(challenge.has_value()) << challenge.error().ToString();
        EXPECT_EQ(challenge->realm, "http-auth@example.org");
        EXPECT_EQ(challenge->nonce, kRfc7616Nonce);
        EXPECT_EQ(challenge->opaque, kRfc7616Opaque);
        EXPECT_EQ(DigestAlgorithmName(challenge->algorithm), c.algorithm);
        EXPECT_TRUE(challenge->qop_auth);
        EXPECT_FALSE(challenge->stale);

        const auto header = MakeAuthorization(*challenge, "GET", "/dir/index.html", "Mufasa",
                                              "Circle of Life", kRfc7616Cnonce, 1);
        ASSERT_TRUE(header.has_value()) << header.error().ToString();
        EXPECT_EQ(*header,
                  "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
                  "algorithm=" +
                      std::string(c.algorithm) + ", nonce=\"" + std::string(kRfc7616Nonce) +
                      "\", nc=00000001, cnonce=\"" + std::string(kRfc7616Cnonce) +
                      "\", qop=auth, response=\"" + std::string(c.response) + "\", opaque=\"" +
                      std::string(kRfc7616Opaque) + "\"");
        EXPECT_EQ(header->find("Circle"), std::string::npos);

        const auto authorization = ParseAuthorization(*header);
        ASSERT_TRUE(authorization.has_value()) << authorization.error().ToString();
        EXPECT_EQ(authorization->username, "Mufasa");
        EXPECT_EQ(authorization->realm, "http-auth@example.org");
        EXPECT_EQ(authorization->uri, "/dir/index.html");
        EXPECT_EQ(authorization->response, c.response);
        EXPECT_EQ(authorization->cnonce, kRfc7616Cnonce);
        EXPECT_EQ(authorization->nc, "00000001");
        EXPECT_EQ(authorization->qop, "auth");
        EXPECT_EQ(authorization->opaque, kRfc7616Opaque);
        EXPECT_EQ(DigestAlgorithmName(authorization->algorithm), c.algorithm);
    }
}

TEST(DigestTest, Rfc2617Example) {
    // RFC 2617 §3.5: note the capital O in the password there.
    const auto challenge = ParseChallenge(
        "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
    ASSERT_TRUE(challenge.has_value()) << challenge.error().ToString();
    EXPECT_EQ(challenge->algorithm, DigestAlgorithm::kMd5);  // absent means MD5
    const auto header =
        MakeAuthorization(*challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b", 1);
    ASSERT_TRUE(header.has_value());
    const auto authorization = ParseAuthorization(*header);
    ASSERT_TRUE(authorization.has_value());
    EXPECT_EQ(authorization->response, "6629fae49393a05397450978507c4ef1");
    EXPECT_EQ(authorization->opaque, "5ccc069c403ebaf9f0171e9517f40e41");
}

TEST(DigestTest, ChallengeWithoutQopGetsRfc2069Answer) {
    // H(HA1:nonce:HA2), no cnonce, nc or qop (RFC 2617 §3.2.2.1); value checked with `openssl dgst`.
    const auto challenge =
        ParseChallenge("Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"");
    ASSERT_TRUE(challenge.has_value());
    EXPECT_FALSE(challenge->qop_auth);
    const auto header = MakeAuthorization(*challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life");
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->find("cnonce"), std::string::npos);
    EXPECT_EQ(header->find("nc="), std::string::npos);
    EXPECT_EQ(header->find("qop"), std::string::npos);
    EXPECT_EQ(header->find("opaque"), std::string::npos);
    const auto authorization = ParseAuthorization(*header);
    ASSERT_TRUE(authorization.has_value());
    EXPECT_EQ(authorization->response, "670fd8c2df070c60b045671b8b24ff02");
    EXPECT_TRUE(authorization->qop.empty());
}

TEST(DigestTest, ParsesLenientButValidSyntax) {
    const auto challenge = ParseChallenge(
        "  digest REALM = \"fax \\\"main\\\" \\\\ office\" ,, Nonce=abc123 , stale=TRUE, qop=auth, "
        "algorithm=\"sha-256\", domain=\"sip:example.com\", extension=token,");
    ASSERT_TRUE(challenge.has_value()) << challenge.error().ToString();
    EXPECT_EQ(challenge->realm, "fax \"main\" \\ office");
    EXPECT_EQ(challenge->nonce, "abc123");
    EXPECT_TRUE(challenge->stale);
    EXPECT_TRUE(challenge->qop_auth);
    EXPECT_EQ(challenge->algorithm, DigestAlgorithm::kSha256);

    const auto other = ParseChallenge("Digest realm=\"\", nonce=\"n\", stale=false, qop=\"auth-int , auth\"");
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->realm, "");
    EXPECT_FALSE(other->stale);
    EXPECT_TRUE(other->qop_auth);
}

TEST(DigestTest, RejectsMalformedChallenges) {
    EXPECT_EQ(ChallengeError("Digest realm=\"x, nonce=\"y\""), ErrorCode::kMalformed);  // quote ends at y
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce=\"y"), ErrorCode::kMalformed);  // unterminated
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce=\"y\\"), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError("Digest realm \"x\", nonce=\"y\""), ErrorCode::kMalformed);  // missing '='
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce"), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError("Digest realm=, nonce=\"y\""), ErrorCode::kMalformed);      // no value
    EXPECT_EQ(ChallengeError("Digest realm=\"x\" nonce=\"y\""), ErrorCode::kMalformed);  // missing ','
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", realm=\"z\", nonce=\"y\""), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError("Digest nonce=\"y\""), ErrorCode::kMalformed);  // no realm
    EXPECT_EQ(ChallengeError("Digest realm=\"x\""), ErrorCode::kMalformed);  // no nonce
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce=\"y\", qop=\"\""), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError("Digest realm=\"a\r\nVia: x\", nonce=\"y\""), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError("Digest,realm=\"x\", nonce=\"y\""), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError(""), ErrorCode::kMalformed);
    EXPECT_EQ(ChallengeError("   "), ErrorCode::kMalformed);

    EXPECT_EQ(ChallengeError("Basic realm=\"x\""), ErrorCode::kUnsupported);
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce=\"y\", algorithm=SHA-512-256"),
              ErrorCode::kUnsupported);
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce=\"y\", algorithm=MD5-sess"), ErrorCode::kUnsupported);
    EXPECT_EQ(ChallengeError("Digest realm=\"x\", nonce=\"y\", qop=\"auth-int\""), ErrorCode::kUnsupported);

    std::string oversized = "Digest realm=\"x\", nonce=\"" + std::string(5000, 'a') + "\"";
    EXPECT_EQ(ChallengeError(oversized), ErrorCode::kLimitExceeded);
    std::string many = "Digest realm=\"x\", nonce=\"y\"";
    for (int i = 0; i < 30; ++i) many += ", p" + std::to_string(i) + "=v";
    EXPECT_TRUE(ParseChallenge(many).has_value());  // 32 parameters: the limit
    EXPECT_EQ(ChallengeError(many + ", last=v"), ErrorCode::kLimitExceeded);

    // A challenge just under the limit parses, but the answer to it would be over it: refused, not sent.
    std::string near_limit = "Digest realm=\"x\", nonce=\"" + std::string(4000, 'a') + "\", qop=\"auth\"";
    auto challenge = ParseChallenge(near_limit);
    ASSERT_TRUE(challenge.has_value());
    auto answer = MakeAuthorization(*challenge, "INVITE", "sip:100@127.0.0.1", "user", "secret", "0a4f113b");
    ASSERT_FALSE(answer.has_value());
    EXPECT_EQ(answer.error().code, ErrorCode::kLimitExceeded);
}

TEST(DigestTest, RejectsMalformedAuthorizations) {
    const std::string good = "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x@y\", response=\"" +
                             std::string(32, 'a') + "\", qop=auth, nc=00000001, cnonce=\"c\"";
    ASSERT_TRUE(ParseAuthorization(good).has_value());
    auto without = [&](std::string_view part) {
        std::string header = good;
        header.erase(header.find(part), part.size());
        return header;
    };
    EXPECT_EQ(AuthorizationError(without(", cnonce=\"c\"")), ErrorCode::kMalformed);
    EXPECT_EQ(AuthorizationError(without("username=\"u\", ")), ErrorCode::kMalformed);
    EXPECT_EQ(AuthorizationError(without(", uri=\"sip:x@y\"")), ErrorCode::kMalformed);
    EXPECT_EQ(AuthorizationError(without(", response=\"" + std::string(32, 'a') + "\"")),
              ErrorCode::kMalformed);
    EXPECT_EQ(AuthorizationError(without("0000000")), ErrorCode::kMalformed);            // nc=1
    EXPECT_EQ(AuthorizationError(good + ", algorithm=SHA-256"), ErrorCode::kMalformed);  // MD5-sized response
    std::string not_hex = good;
    not_hex.replace(not_hex.find(std::string(32, 'a')), 32, std::string(32, 'z'));
    EXPECT_EQ(AuthorizationError(not_hex), ErrorCode::kMalformed);
    EXPECT_EQ(AuthorizationError(without("qop=auth, ") + ", qop=auth-int"), ErrorCode::kUnsupported);
    EXPECT_EQ(AuthorizationError(good + ", algorithm=SHA-512-256"), ErrorCode::kUnsupported);
    EXPECT_EQ(AuthorizationError(good + ", userhash=true"), ErrorCode::kUnsupported);
    EXPECT_EQ(AuthorizationError("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), ErrorCode::kUnsupported);
}

TEST(DigestTest, MakeAuthorizationRefusesHeaderInjectionAndDrawsCnonce) {
    DigestChallenge challenge;
    challenge.realm = "r";
    challenge.nonce = "n";
    challenge.qop_auth = true;
    EXPECT_EQ(MakeAuthorization(challenge, "INVITE", "sip:x@y", "u\r\nVia: evil", "p").error().code,
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(MakeAuthorization(challenge, "INVITE", "sip:x@y\n", "u", "p").error().code,
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(MakeAuthorization(challenge, "IN VITE", "sip:x@y", "u", "p").error().code,
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(MakeAuthorization(challenge, "INVITE", "", "u", "p").error().code, ErrorCode::kInvalidArgument);

    const auto first = ParseAuthorization(*MakeAuthorization(challenge, "INVITE", "sip:x@y", "u", "p"));
    const auto second =
        ParseAuthorization(*MakeAuthorization(challenge, "INVITE", "sip:x@y", "u", "p", {}, 0x1a));
    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(first->cnonce.size(), 32u);
    EXPECT_NE(first->cnonce, second->cnonce);
    EXPECT_EQ(second->nc, "0000001a");
}

TEST(DigestTest, ChooseChallengePrefersSha256) {
    const std::vector<std::string> values = {
        "Basic realm=\"x\"",
        "Digest realm=\"x\", nonce=\"1\", algorithm=MD5, qop=\"auth\"",
        "Digest realm=\"x\", nonce=\"2\", algorithm=SHA-512-256, qop=\"auth\"",
        "Digest realm=\"x\", nonce=\"3\", algorithm=MD5",
        "Digest realm=\"x\", nonce=\"4\", algorithm=SHA-256, qop=\"auth\"",
        "Digest realm=\"x\", nonce=\"5\", algorithm=SHA-256",
    };
    const auto chosen = ChooseChallenge(values);
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(chosen->nonce, "4");
    EXPECT_EQ(chosen->algorithm, DigestAlgorithm::kSha256);

    const auto md5_only = ChooseChallenge({values[0], values[1], values[3]});
    ASSERT_TRUE(md5_only.has_value());
    EXPECT_EQ(md5_only->nonce, "1");  // header order within one algorithm
    EXPECT_FALSE(ChooseChallenge({values[0], values[2], "garbage"}).has_value());
    EXPECT_FALSE(ChooseChallenge({}).has_value());
}

TEST(DigestServerTest, ChallengesOfferSha256ThenMd5WithOneFreshNonce) {
    const DigestServer server("fax.example.com", Key(7));
    const auto challenges = server.Challenges(kNow);
    ASSERT_TRUE(challenges.has_value());
    ASSERT_EQ(challenges->size(), 2u);
    const auto sha256 = ParseChallenge((*challenges)[0]);
    const auto md5 = ParseChallenge((*challenges)[1]);
    ASSERT_TRUE(sha256.has_value());
    ASSERT_TRUE(md5.has_value());
    EXPECT_EQ(sha256->algorithm, DigestAlgorithm::kSha256);
    EXPECT_EQ(md5->algorithm, DigestAlgorithm::kMd5);
    EXPECT_EQ(sha256->realm, "fax.example.com");
    EXPECT_TRUE(sha256->qop_auth);
    EXPECT_FALSE(sha256->stale);
    EXPECT_EQ(sha256->nonce, md5->nonce);
    EXPECT_EQ(ChooseChallenge(*challenges)->algorithm, DigestAlgorithm::kSha256);

    EXPECT_NE(ParseChallenge((*server.Challenges(kNow))[0])->nonce, sha256->nonce);  // random part
    const auto stale = server.Challenges(kNow, true);
    ASSERT_TRUE(stale.has_value());
    EXPECT_TRUE(ParseChallenge((*stale)[0])->stale);
    EXPECT_TRUE(ParseChallenge((*stale)[1])->stale);

    const auto created = DigestServer::Create("fax.example.com");
    ASSERT_TRUE(created.has_value());
    EXPECT_EQ(created->realm(), "fax.example.com");
    ASSERT_TRUE(created->Challenges(kNow).has_value());
}

TEST(DigestServerTest, RoundTripBothAlgorithms) {
    const auto server = DigestServer::Create("fax.example.com");
    ASSERT_TRUE(server.has_value());
    for (const DigestAlgorithm algorithm : {DigestAlgorithm::kSha256, DigestAlgorithm::kMd5}) {
        SCOPED_TRACE(std::string(DigestAlgorithmName(algorithm)));
        const DigestAuthorization answer = Answer(*server, algorithm, "s3cret", kNow);
        EXPECT_EQ(answer.algorithm, algorithm);
        EXPECT_EQ(server->Verify(answer, "INVITE", "s3cret", kNow + std::chrono::seconds(2)), Verdict::kOk);
        // The method is part of HA2: the same answer does not authorise another request.
        EXPECT_EQ(server->Verify(answer, "BYE", "s3cret", kNow), Verdict::kBadCredentials);

        const auto ha1 = DigestHa1(algorithm, "alice", "fax.example.com", "s3cret");
        ASSERT_TRUE(ha1.has_value());
        EXPECT_EQ(server->VerifyHa1(answer, "INVITE", *ha1, kNow), Verdict::kOk);
        const auto other_ha1 = DigestHa1(algorithm, "alice", "fax.example.com", "other");
        EXPECT_EQ(server->VerifyHa1(answer, "INVITE", *other_ha1, kNow), Verdict::kBadCredentials);
        EXPECT_EQ(server->VerifyHa1(answer, "INVITE", "", kNow), Verdict::kBadCredentials);

        // An RFC 2069 client (no qop) is still accepted.
        const DigestAuthorization old = Answer(*server, algorithm, "s3cret", kNow, false);
        EXPECT_TRUE(old.qop.empty());
        EXPECT_EQ(server->Verify(old, "INVITE", "s3cret", kNow), Verdict::kOk);
    }
}

TEST(DigestServerTest, EscapedUsernameRoundTrips) {
    const DigestServer server("fax \"main\"", Key(1));
    auto challenge = ParseChallenge((*server.Challenges(kNow))[0]);
    ASSERT_TRUE(challenge.has_value());
    EXPECT_EQ(challenge->realm, "fax \"main\"");
    const auto header = MakeAuthorization(*challenge, "REGISTER", "sip:fax.example.com", "b\\o\"b", "pw");
    ASSERT_TRUE(header.has_value());
    const auto authorization = ParseAuthorization(*header);
    ASSERT_TRUE(authorization.has_value());
    EXPECT_EQ(authorization->username, "b\\o\"b");
    EXPECT_EQ(server.Verify(*authorization, "REGISTER", "pw", kNow), Verdict::kOk);
}

TEST(DigestServerTest, WrongPassword) {
    const DigestServer server("fax.example.com", Key(2));
    const DigestAuthorization answer = Answer(server, DigestAlgorithm::kSha256, "wrong", kNow);
    EXPECT_EQ(server.Verify(answer, "INVITE", "s3cret", kNow), Verdict::kBadCredentials);
    DigestAuthorization upper = Answer(server, DigestAlgorithm::kMd5, "s3cret", kNow);
    for (char& c : upper.response) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(server.Verify(upper, "INVITE", "s3cret", kNow), Verdict::kOk);  // hex case does not matter
    upper.response.pop_back();
    EXPECT_EQ(server.Verify(upper, "INVITE", "s3cret", kNow), Verdict::kBadCredentials);
}

TEST(DigestServerTest, TamperedOrForeignNonceIsRejected) {
    const DigestServer server("fax.example.com", Key(3));
    const auto challenge = ParseChallenge((*server.Challenges(kNow))[0]);
    ASSERT_TRUE(challenge.has_value());
    ASSERT_EQ(challenge->nonce.size(), 64u);

    // Changing the issue time (to outlive the lifetime) breaks the MAC, even with a correct response.
    DigestChallenge tampered = *challenge;
    tampered.nonce[15] = tampered.nonce[15] == '0' ? '1' : '0';
    const auto header = MakeAuthorization(tampered, "INVITE", "sip:x@y", "alice", "s3cret");
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(server.Verify(*ParseAuthorization(*header), "INVITE", "s3cret", kNow),
              Verdict::kBadCredentials);

    std::string upper_case = challenge->nonce;
    for (char& c : upper_case) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& nonce :
         {std::string("abc"), std::string("zz"), std::string(kRfc7616Nonce), upper_case}) {
        DigestChallenge foreign = *challenge;
        foreign.nonce = nonce;
        const auto answer =
            ParseAuthorization(*MakeAuthorization(foreign, "INVITE", "sip:x@y", "alice", "s3cret"));
        ASSERT_TRUE(answer.has_value());
        EXPECT_EQ(server.Verify(*answer, "INVITE", "s3cret", kNow), Verdict::kBadCredentials) << nonce;
    }

    // Same realm, another key: a nonce of another process is not ours.
    const DigestServer other("fax.example.com", Key(4));
    const DigestAuthorization answer = Answer(other, DigestAlgorithm::kSha256, "s3cret", kNow);
    EXPECT_EQ(server.Verify(answer, "INVITE", "s3cret", kNow), Verdict::kBadCredentials);
    const DigestServer same_key("fax.example.com", Key(4));
    EXPECT_EQ(same_key.Verify(answer, "INVITE", "s3cret", kNow), Verdict::kOk);
}

TEST(DigestServerTest, ExpiredNonceIsStaleOnlyWithTheRightPassword) {
    const DigestServer server("fax.example.com", Key(5), std::chrono::seconds(60));
    const DigestAuthorization answer = Answer(server, DigestAlgorithm::kSha256, "s3cret", kNow);
    EXPECT_EQ(server.Verify(answer, "INVITE", "s3cret", kNow + std::chrono::seconds(60)), Verdict::kOk);
    EXPECT_EQ(server.Verify(answer, "INVITE", "s3cret", kNow + std::chrono::seconds(61)),
              Verdict::kStaleNonce);
    EXPECT_EQ(server.Verify(answer, "INVITE", "wrong", kNow + std::chrono::seconds(61)),
              Verdict::kBadCredentials);
    // The clock went back: the nonce looks issued in the future.
    EXPECT_EQ(server.Verify(answer, "INVITE", "s3cret", kNow - std::chrono::seconds(1)),
              Verdict::kStaleNonce);

    const DigestServer default_lifetime("fax.example.com", Key(5));
    EXPECT_EQ(default_lifetime.Verify(answer, "INVITE", "s3cret", kNow + std::chrono::seconds(300)),
              Verdict::kOk);
    EXPECT_EQ(default_lifetime.Verify(answer, "INVITE", "s3cret", kNow + std::chrono::seconds(301)),
              Verdict::kStaleNonce);
}

TEST(DigestServerTest, WrongRealmAndMalformedAnswers) {
    const DigestServer server("fax.example.com", Key(6));
    DigestAuthorization answer = Answer(server, DigestAlgorithm::kMd5, "s3cret", kNow);
    DigestAuthorization other_realm = answer;
    other_realm.realm = "pbx.example.com";
    EXPECT_EQ(server.Verify(other_realm, "INVITE", "s3cret", kNow), Verdict::kWrongRealm);

    DigestAuthorization broken = answer;
    broken.response.clear();
    EXPECT_EQ(server.Verify(broken, "INVITE", "s3cret", kNow), Verdict::kMalformed);
    broken = answer;
    broken.qop = "auth-int";
    EXPECT_EQ(server.Verify(broken, "INVITE", "s3cret", kNow), Verdict::kMalformed);
    broken = answer;
    broken.cnonce.clear();
    EXPECT_EQ(server.Verify(broken, "INVITE", "s3cret", kNow), Verdict::kMalformed);
    broken = answer;
    broken.nc = "1";
    EXPECT_EQ(server.Verify(broken, "INVITE", "s3cret", kNow), Verdict::kMalformed);
    // A changed nc or cnonce is a different response.
    broken = answer;
    broken.nc = "00000002";
    EXPECT_EQ(server.Verify(broken, "INVITE", "s3cret", kNow), Verdict::kBadCredentials);

    EXPECT_EQ(DigestVerdictName(Verdict::kStaleNonce), "stale_nonce");
}

}  // namespace
}  // namespace faxd::sip
