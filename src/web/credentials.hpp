// Secrets of the REST API, on libsodium: password hashes (Argon2id), API tokens (random, stored only as
// SHA-256), webhook secrets and signatures (HMAC-SHA256), and the Authorization header forms the API takes.
// Every function is safe to call from several threads; libsodium is initialised on first use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace faxd::web {

// Bounds of a password we hash. The upper one keeps a request from making us hash megabytes.
inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// An Argon2id string ("$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>") with a fresh random salt, so the same
// password never gives the same string. libsodium's "interactive" limits (2 passes over 64 MiB): about 0.1 s
// per hash on a free core (0.1-0.25 s measured on the shared 2-vCPU build machine), enough to make guessing
// expensive while a login stays quick. The string records the limits, so raising them later still verifies
// old hashes. Run it off the event loop. kInvalidArgument for a password outside [8, 1024] bytes.
base::Result<std::string> HashPassword(std::string_view password);

// True when `password` matches `hash`; false for "" (no password login) or a malformed hash.
// The same Argon2id hash without the password length rule, for short secrets such as the e-mail gateway's
// PIN (4 to 12 digits; its guessing is bounded by the refusal per wrong PIN, not by the hash).
base::Result<std::string> HashPin(std::string_view secret);
bool VerifyPassword(std::string_view hash, std::string_view password);

// An API token: "fxd_" + 43 characters of base64url (32 random bytes, no padding). Only `hash` (lowercase hex
// SHA-256 of the whole token) and `prefix` (its first 8 characters, to recognise it in lists) are stored;
// `token` is shown to the user once.
struct NewToken {
    std::string token;
    std::string hash;
    std::string prefix;
};
NewToken GenerateToken();
// Lowercase hex SHA-256 of a presented token: the key to look it up by.
std::string TokenHash(std::string_view token);

// A webhook signing secret: "whsec_" + base64url of 32 random bytes.
std::string RandomSecret();

// Lowercase hex HMAC-SHA256 (RFC 2104) with a key of any length.
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// The Faxd-Signature header of a webhook delivery: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
// "<t>.<body>")>" (docs/api.md, Webhooks). The time is signed too, so a receiver can refuse replays.
std::string WebhookSignature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// Equality whose time does not depend on where the strings differ (only on their length).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// "Basic <base64(login:password)>" (RFC 7617). Empty for another scheme, bad base64, no ':', an empty login,
// control characters, or a header longer than a sane bound.
struct BasicCredentials {
    std::string login;
    std::string password;
};
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value);

// "Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive). Empty for another scheme, an empty or
// over-long token, or characters outside token68.
std::optional<std::string> ParseBearerAuthorization(std::string_view header_value);

}  // namespace faxd::web
