#include "web/credentials.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace faxd::web {
namespace {

// An Authorization header beyond this is refused before any decoding: a Basic header holds a login and a
// password of at most kMaxPasswordBytes, a Bearer header one token.
constexpr std::size_t kMaxAuthorizationBytes = 4096;
constexpr std::size_t kRandomBytes = 32;  // 256 bits: tokens and secrets cannot be guessed
constexpr std::size_t kTokenPrefixChars = 8;

// sodium_init() is thread-safe and idempotent, but picks its implementations once; a function-local static
// runs it exactly once per process. It fails only when the system has no usable randomness, and then no
// token or salt may be made: that is an exception at the edge of the library, not a silent weak secret.
void EnsureSodium() {
    static const bool initialised = [] {
        if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
        return true;
    }();
    (void)initialised;
}

const unsigned char* Bytes(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

std::string Hex(const unsigned char* bytes, std::size_t size) {
    std::string hex(size * 2 + 1, '\0');  // sodium_bin2hex writes a terminating NUL
    sodium_bin2hex(hex.data(), hex.size(), bytes, size);
    hex.pop_back();
    return hex;
}

std::string RandomBase64Url() {
    EnsureSodium();
    std::array<unsigned char, kRandomBytes> random{};
    randombytes_buf(random.data(), random.size());
    constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string text(sodium_base64_ENCODED_LEN(kRandomBytes, kVariant), '\0');  // includes the NUL
    sodium_bin2base64(text.data(), text.size(), random.data(), random.size(), kVariant);
    text.resize(text.size() - 1);
    sodium_memzero(random.data(), random.size());
    return text;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
    while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
    while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
    return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// "<scheme> <credentials>" with a case-insensitive scheme (RFC 9110 §11.1); the credentials, or empty.
std::optional<std::string_view> Credentials(std::string_view header_value, std::string_view scheme) {
    if (header_value.size() > kMaxAuthorizationBytes) return std::nullopt;
    header_value = Trim(header_value);
    const std::size_t space = header_value.find_first_of(" \t");
    if (space == std::string_view::npos) return std::nullopt;
    if (!EqualsIgnoringCase(header_value.substr(0, space), scheme)) return std::nullopt;
    const std::string_view credentials = Trim(header_value.substr(space));
    if (credentials.empty()) return std::nullopt;
    return credentials;
}

// token68 (RFC 9110 §11.2): the characters of base64 and base64url, then optional '=' padding.
bool IsToken68(std::string_view text) {
    std::size_t i = 0;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.' && c != '_' && c != '~' && c != '+' && c != '/') break;
    }
    if (i == 0) return false;
    for (; i < text.size(); ++i) {
        if (text[i] != '=') return false;
    }
    return true;
}

bool HasControlCharacter(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) return true;
    }
    return false;
}

}  // namespace

base::Result<std::string> HashPassword(std::string_view password) {
    if (password.size() < kMinPasswordBytes || password.size() > kMaxPasswordBytes) {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "a password must have " + std::to_string(kMinPasswordBytes) + " to " +
                                   std::to_string(kMaxPasswordBytes) + " bytes, this one has " +
                                   std::to_string(password.size()));
    }
    return HashPin(password);
}

base::Result<std::string> HashPin(std::string_view secret) {
    if (secret.empty() || secret.size() > kMaxPasswordBytes) {
        return base::MakeError(base::ErrorCode::kInvalidArgument, "a PIN has 1 to 1024 bytes");
    }
    EnsureSodium();
    std::array<char, crypto_pwhash_STRBYTES> hash{};
    if (crypto_pwhash_str_alg(hash.data(), secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        // The only failure left once the length is checked: the 64 MiB could not be allocated.
        return base::MakeError(base::ErrorCode::kInternal, "password hashing ran out of memory");
    }
    return std::string(hash.data());
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
    // crypto_pwhash_str_verify reads a NUL-terminated string of at most STRBYTES - 1 characters.
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES || password.size() > kMaxPasswordBytes) {
        return false;
    }
    EnsureSodium();
    const std::string terminated(hash);
    return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

NewToken GenerateToken() {
    NewToken token;
    token.token = "fxd_" + RandomBase64Url();
    token.hash = TokenHash(token.token);
    token.prefix = token.token.substr(0, kTokenPrefixChars);
    return token;
}

std::string TokenHash(std::string_view token) {
    EnsureSodium();
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), Bytes(token), token.size());
    return Hex(digest.data(), digest.size());
}

std::string RandomSecret() { return "whsec_" + RandomBase64Url(); }

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
    EnsureSodium();
    // The init/update/final form takes a key of any length (a longer one is hashed first, RFC 2104 §2);
    // crypto_auth_hmacsha256() itself wants exactly 32 bytes.
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, Bytes(key), key.size());
    crypto_auth_hmacsha256_update(&state, Bytes(message), message.size());
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
    crypto_auth_hmacsha256_final(&state, mac.data());
    sodium_memzero(&state, sizeof state);
    return Hex(mac.data(), mac.size());
}

std::string WebhookSignature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
    const std::string time = std::to_string(unix_seconds);
    std::string signed_text;
    signed_text.reserve(time.size() + 1 + body.size());
    signed_text.append(time).append(".").append(body);
    return "t=" + time + ",v1=" + HmacSha256Hex(secret, signed_text);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;  // data() may be null
    EnsureSodium();
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value) {
    const auto encoded = Credentials(header_value, "Basic");
    if (!encoded || !IsToken68(*encoded)) return std::nullopt;
    EnsureSodium();
    std::string decoded(encoded->size(), '\0');  // base64 never grows when decoded
    std::size_t length = 0;
    // RFC 7617 sends padded base64; a few clients drop the padding, which costs nothing to accept.
    bool ok = false;
    for (const int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
        if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                              encoded->data(), encoded->size(), nullptr, &length, nullptr, variant) == 0) {
            ok = true;
            break;
        }
    }
    if (!ok) return std::nullopt;
    decoded.resize(length);
    // The login cannot contain ':' (RFC 7617 §2), the password can: split at the first one.
    const std::size_t colon = decoded.find(':');
    if (colon == std::string::npos || colon == 0 || HasControlCharacter(decoded)) return std::nullopt;
    BasicCredentials credentials;
    credentials.login = decoded.substr(0, colon);
    credentials.password = decoded.substr(colon + 1);
    sodium_memzero(decoded.data(), decoded.size());
    return credentials;
}

std::optional<std::string> ParseBearerAuthorization(std::string_view header_value) {
    const auto token = Credentials(header_value, "Bearer");
    if (!token || !IsToken68(*token)) return std::nullopt;
    return std::string(*token);
}

}  // namespace faxd::web
