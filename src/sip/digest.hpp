// SIP digest access authentication, both sides, without I/O: parse challenges and answers, build them, and
// issue and check nonces (RFC 3261 §22.4, RFC 7616, RFC 8760). MD5 and SHA-256; no "-sess" variants, no
// qop=auth-int (rare in SIP; TLS protects bodies), no userhash.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace faxd::sip {

enum class DigestAlgorithm { kMd5, kSha256 };

std::string_view DigestAlgorithmName(DigestAlgorithm algorithm);  // "MD5", "SHA-256" (RFC 7616 §3.3)

// One WWW-Authenticate / Proxy-Authenticate value, unescaped.
struct DigestChallenge {
    std::string realm;
    std::string nonce;
    std::string opaque;  // empty: none; echoed unchanged in the answer (RFC 7616 §3.3)
    DigestAlgorithm algorithm = DigestAlgorithm::kMd5;  // absent means MD5 (RFC 7616 §3.3)
    bool qop_auth = false;  // qop offered "auth"; false: answer the RFC 2069 way, H(HA1:nonce:HA2)
    bool stale = false;     // the password was right, only the nonce was old: retry without asking the user
};

// One Authorization / Proxy-Authorization value, unescaped. (Not "DigestCredentials": sip_endpoint.hpp uses
// that name for a configured username and password.)
struct DigestAuthorization {
    std::string username;
    std::string realm;
    std::string nonce;
    std::string uri;
    std::string response;  // lower-case hex
    std::string cnonce;
    std::string nc;   // 8 hex digits; set when qop is
    std::string qop;  // "auth" or empty (RFC 2069 answer)
    std::string opaque;
    DigestAlgorithm algorithm = DigestAlgorithm::kMd5;
};

// Parses `Digest realm="x", nonce="y", algorithm=SHA-256, qop="auth,auth-int"`. Errors: kMalformed (syntax,
// missing realm or nonce), kUnsupported (another scheme such as Basic, another algorithm, qop without
// "auth"), kLimitExceeded (more than 4096 bytes or 32 parameters). Unknown parameters are ignored.
base::Result<DigestChallenge> ParseChallenge(std::string_view header_value);

// Of several challenges (one per header field), the strongest we can answer: SHA-256 over MD5, header order
// within one algorithm. Values we cannot parse or do not support are skipped (RFC 8760 §2.4).
std::optional<DigestChallenge> ChooseChallenge(const std::vector<std::string>& header_values);

// Client side: the Authorization / Proxy-Authorization value answering `challenge` for a request `method`
// to `uri` (the Request-URI as sent). An empty `cnonce` draws a random one. The password goes into the
// hash only. kInvalidArgument when an argument would break the header (control characters, bad method);
// kInternal when OpenSSL cannot hash or draw random bytes (e.g. MD5 refused by a FIPS provider).
base::Result<std::string> MakeAuthorization(const DigestChallenge& challenge, std::string_view method,
                                            std::string_view uri, std::string_view username,
                                            std::string_view password, std::string_view cnonce = {},
                                            unsigned nc = 1);

// Parses an Authorization value. Errors as ParseChallenge; username, realm, nonce, uri and response are
// required, cnonce and nc too when qop is present (RFC 7616 §3.4).
base::Result<DigestAuthorization> ParseAuthorization(std::string_view header_value);

// H(username:realm:password) in hex: what a user store may keep instead of the password (RFC 7616 §3.4.2).
// One per algorithm, since each hashes differently.
base::Result<std::string> DigestHa1(DigestAlgorithm algorithm, std::string_view username,
                                    std::string_view realm, std::string_view password);

// Nonce key: 32 random bytes. Servers sharing a key accept each other's nonces (several nodes, restarts).
using DigestNonceKey = std::array<unsigned char, 32>;

// Server side. Nonces are stateless: hex(issue time in seconds (8 bytes) | 8 random bytes |
// HMAC-SHA256(key, those 16 bytes | realm) truncated to 16 bytes). So a nonce cannot be forged or moved in
// time, but an answer can be replayed while its nonce lives: nc is not tracked, as that would need state per
// nonce.
class DigestServer {
public:
    enum class Verdict {
        kOk,
        kBadCredentials,  // wrong password or user, or a nonce we did not issue: challenge again
        kStaleNonce,      // right password, expired nonce: challenge again with stale=true (RFC 7616 §3.3)
        kMalformed,       // required fields missing or qop other than auth: 400
        kWrongRealm,      // answers another realm's challenge: challenge again
        kInternalError,   // OpenSSL could not hash (e.g. MD5 refused by a FIPS provider); fails closed
    };

    // Draws a random key (RAND_bytes); kInternal if the random generator fails.
    static base::Result<DigestServer> Create(std::string realm,
                                             std::chrono::seconds nonce_lifetime = std::chrono::seconds(300));
    DigestServer(std::string realm, const DigestNonceKey& key,
                 std::chrono::seconds nonce_lifetime = std::chrono::seconds(300));
    DigestServer(const DigestServer&) = default;
    DigestServer& operator=(const DigestServer&) = default;
    ~DigestServer();  // wipes the key

    const std::string& realm() const { return realm_; }

    // WWW-Authenticate (or Proxy-Authenticate) values for a 401 (407): SHA-256 first, then MD5, most
    // preferred on top (RFC 8760 §2.3), both qop="auth" and one fresh nonce.
    base::Result<std::vector<std::string>> Challenges(base::WallTime now, bool stale = false) const;

    // Checks an answer against the user's password. The caller has found the user by `username` and
    // compares `uri` with the Request-URI (RFC 7616 §3.4.6; SIP URI equality is RFC 3261 §19.1.4).
    // Answers without qop (RFC 2069 clients, RFC 2617 §3.2.2.1) are accepted.
    Verdict Verify(const DigestAuthorization& authorization, std::string_view method,
                   std::string_view password, base::WallTime now) const;
    // The same with a stored HA1 (DigestHa1) for authorization.algorithm, in lower-case hex.
    Verdict VerifyHa1(const DigestAuthorization& authorization, std::string_view method,
                      std::string_view ha1_hex, base::WallTime now) const;

private:
    base::Result<std::string> MakeNonce(base::WallTime now) const;
    // The issue time (seconds since the epoch) of a nonce we issued; nullopt for any other string.
    std::optional<std::int64_t> NonceIssuedAt(std::string_view nonce) const;

    std::string realm_;
    DigestNonceKey key_{};
    std::chrono::seconds nonce_lifetime_;
};

std::string_view DigestVerdictName(DigestServer::Verdict verdict);  // stable snake_case, for logs

}  // namespace faxd::sip
