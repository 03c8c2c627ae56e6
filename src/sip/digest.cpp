// SIP digest authentication (RFC 3261 §22.4 and §25.1 grammar, RFC 7616, RFC 8760) on OpenSSL.
#include "sip/digest.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace faxd::sip {

using base::ErrorCode;
using base::MakeError;

namespace {

// Bounds against hostile peers: real headers are a few hundred bytes with under ten parameters.
constexpr std::size_t kMaxHeaderBytes = 4096;
constexpr std::size_t kMaxParams = 32;
constexpr std::size_t kNonceMacBytes = 16;     // HMAC-SHA256 truncated to 128 bits, enough against forgery
constexpr std::size_t kNoncePrefixBytes = 16;  // 8 bytes issue time, 8 random bytes
constexpr std::size_t kNonceHexChars = 2 * (kNoncePrefixBytes + kNonceMacBytes);
constexpr std::size_t kCnonceBytes = 16;

struct Param {
    std::string name;   // lower case: parameter names are case-insensitive (RFC 7235 §2.1)
    std::string value;  // unquoted and unescaped
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 3261 §25.1 token.
bool IsTokenChar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    return std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

bool IsControl(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
}

bool HasControl(std::string_view text) { return std::any_of(text.begin(), text.end(), IsControl); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string ToLower(std::string_view text) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
}

bool IsHex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// Names from the peer go into error messages; keep those short.
std::string Shorten(std::string_view text) {
    constexpr std::size_t kMax = 32;
    return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

std::string ToHex(const unsigned char* bytes, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * size);
    for (std::size_t i = 0; i < size; ++i) {
        hex += kDigits[bytes[i] >> 4];
        hex += kDigits[bytes[i] & 0x0f];
    }
    return hex;
}

// Lower-case hex only: we produce nothing else, so anything else is not ours.
std::optional<std::vector<unsigned char>> FromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::vector<unsigned char> bytes(hex.size() / 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const int high = nibble(hex[2 * i]);
        const int low = nibble(hex[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        bytes[i] = static_cast<unsigned char>(high << 4 | low);
    }
    return bytes;
}

std::size_t DigestHexChars(DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::kSha256 ? 64 : 32;
}

base::Result<std::string> HexDigest(DigestAlgorithm algorithm, std::string_view data) {
    const EVP_MD* md = algorithm == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_md5();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (md == nullptr || EVP_Digest(data.data(), data.size(), out, &size, md, nullptr) != 1) {
        return MakeError(ErrorCode::kInternal, "OpenSSL cannot compute " +
                                                   std::string(DigestAlgorithmName(algorithm)) + " digests");
    }
    return ToHex(out, size);
}

base::Result<std::string> RandomHex(std::size_t bytes) {
    std::vector<unsigned char> random(bytes);
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
        return MakeError(ErrorCode::kInternal, "OpenSSL RAND_bytes failed");
    }
    return ToHex(random.data(), random.size());
}

// KD(HA1, data) of RFC 7616 §3.4.1: with qop, H(HA1:nonce:nc:cnonce:qop:HA2); without (RFC 2069, kept by RFC
// 2617 §3.2.2.1), H(HA1:nonce:HA2). HA2 = H(method:uri) for qop=auth (RFC 7616 §3.4.3).
base::Result<std::string> ComputeResponse(DigestAlgorithm algorithm, std::string_view ha1,
                                          std::string_view nonce, std::string_view nc,
                                          std::string_view cnonce, std::string_view qop,
                                          std::string_view method, std::string_view uri) {
    std::string a2;
    a2.append(method).append(":").append(uri);
    auto ha2 = HexDigest(algorithm, a2);
    if (!ha2) return ha2;
    std::string data;
    data.append(ha1).append(":").append(nonce).append(":");
    if (!qop.empty()) data.append(nc).append(":").append(cnonce).append(":").append(qop).append(":");
    data.append(*ha2);
    return HexDigest(algorithm, data);
}

base::Result<DigestAlgorithm> ParseAlgorithm(std::string_view name) {
    // Compared case-insensitively like other tokens: peers write "md5" as well.
    if (EqualsIgnoreCase(name, "MD5")) return DigestAlgorithm::kMd5;
    if (EqualsIgnoreCase(name, "SHA-256")) return DigestAlgorithm::kSha256;
    return MakeError(ErrorCode::kUnsupported, "digest algorithm '" + Shorten(name) + "' is not supported");
}

// quoted-string (RFC 3261 §25.1) starting at text[pos] == '"'; leaves pos after the closing quote. Line
// breaks inside quotes are refused rather than unfolded: header values reach us unfolded.
base::Result<std::string> ParseQuoted(std::string_view text, std::size_t& pos, std::string_view name) {
    std::string value;
    for (++pos; pos < text.size(); ++pos) {
        char c = text[pos];
        if (c == '"') {
            ++pos;
            return value;
        }
        if (c == '\\') {
            if (++pos == text.size()) break;
            c = text[pos];  // quoted-pair: any character but CR and LF
            if (c == '\r' || c == '\n') {
                return MakeError(ErrorCode::kMalformed,
                                 "line break escaped in parameter '" + Shorten(name) + "'");
            }
        } else if (IsControl(c)) {
            return MakeError(ErrorCode::kMalformed, "control character in parameter '" + Shorten(name) + "'");
        }
        value += c;
    }
    return MakeError(ErrorCode::kMalformed,
                     "unterminated quoted string in parameter '" + Shorten(name) + "'");
}

// `Digest name=value, name="quoted"` (RFC 3261 §25.1 challenge and credentials). SIP sends one challenge
// per header field (RFC 3261 §7.3.1), so a second scheme after a comma is a syntax error here.
base::Result<std::vector<Param>> ParseDigestParams(std::string_view text) {
    if (text.size() > kMaxHeaderBytes) {
        return MakeError(ErrorCode::kLimitExceeded,
                         "digest header longer than " + std::to_string(kMaxHeaderBytes) + " bytes");
    }
    std::size_t pos = 0;
    auto skip_space = [&] {
        while (pos < text.size() && IsSpace(text[pos])) ++pos;
    };
    auto take_token = [&] {
        const std::size_t start = pos;
        while (pos < text.size() && IsTokenChar(text[pos])) ++pos;
        return text.substr(start, pos - start);
    };

    skip_space();
    const std::string_view scheme = take_token();
    if (scheme.empty()) return MakeError(ErrorCode::kMalformed, "no authentication scheme");
    if (!EqualsIgnoreCase(scheme, "Digest")) {
        return MakeError(ErrorCode::kUnsupported,
                         "authentication scheme '" + Shorten(scheme) + "' is not Digest");
    }
    if (pos < text.size() && !IsSpace(text[pos])) {
        return MakeError(ErrorCode::kMalformed, "no space after the Digest scheme");
    }

    std::vector<Param> params;
    while (true) {
        skip_space();
        if (pos == text.size()) break;
        if (text[pos] == ',') {  // empty list elements are allowed (RFC 3261 §7.3.1, #rule)
            ++pos;
            continue;
        }
        const std::string_view raw_name = take_token();
        if (raw_name.empty()) return MakeError(ErrorCode::kMalformed, "expected a parameter name");
        std::string name = ToLower(raw_name);
        skip_space();
        if (pos == text.size() || text[pos] != '=') {
            return MakeError(ErrorCode::kMalformed, "parameter '" + Shorten(name) + "' has no '='");
        }
        ++pos;
        skip_space();
        std::string value;
        if (pos < text.size() && text[pos] == '"') {
            auto quoted = ParseQuoted(text, pos, name);
            if (!quoted) return tl::unexpected(quoted.error());
            value = std::move(*quoted);
        } else {
            value = take_token();
            if (value.empty()) {
                return MakeError(ErrorCode::kMalformed, "parameter '" + Shorten(name) + "' has no value");
            }
        }
        if (params.size() == kMaxParams) {
            return MakeError(ErrorCode::kLimitExceeded,
                             "more than " + std::to_string(kMaxParams) + " digest parameters");
        }
        // RFC 7235 §2.1: each parameter name only once; a second realm or nonce would be ambiguous.
        if (std::any_of(params.begin(), params.end(), [&](const Param& p) { return p.name == name; })) {
            return MakeError(ErrorCode::kMalformed, "parameter '" + Shorten(name) + "' appears twice");
        }
        params.push_back(Param{std::move(name), std::move(value)});
        skip_space();
        if (pos < text.size()) {
            if (text[pos] != ',') {
                return MakeError(ErrorCode::kMalformed,
                                 "expected ',' after parameter '" + Shorten(params.back().name) + "'");
            }
            ++pos;
        }
    }
    return params;
}

// quoted-string for output: escape what would end or break it (RFC 3261 §25.1 quoted-pair).
void AppendQuoted(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append("=\"");
    for (const char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

std::string FormatNc(unsigned nc) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x", nc);  // 8LHEX (RFC 7616 §3.4)
    return text;
}

}  // namespace

std::string_view DigestAlgorithmName(DigestAlgorithm algorithm) {
    switch (algorithm) {
        case DigestAlgorithm::kMd5:
            return "MD5";
        case DigestAlgorithm::kSha256:
            return "SHA-256";
    }
    return "unknown";
}

base::Result<DigestChallenge> ParseChallenge(std::string_view header_value) {
    auto params = ParseDigestParams(header_value);
    if (!params) return tl::unexpected(params.error());
    DigestChallenge challenge;
    bool has_realm = false;
    for (const Param& param : *params) {
        if (param.name == "realm") {
            challenge.realm = param.value;
            has_realm = true;
        } else if (param.name == "nonce") {
            challenge.nonce = param.value;
        } else if (param.name == "opaque") {
            challenge.opaque = param.value;
        } else if (param.name == "algorithm") {
            auto algorithm = ParseAlgorithm(param.value);
            if (!algorithm) return tl::unexpected(algorithm.error());
            challenge.algorithm = *algorithm;
        } else if (param.name == "qop") {
            // A quoted list (RFC 7616 §3.3); some servers send a bare token. We answer only "auth".
            std::string_view list = param.value;
            bool any = false;
            while (!list.empty()) {
                const std::size_t comma = std::min(list.find(','), list.size());
                std::string_view item = list.substr(0, comma);
                list.remove_prefix(std::min(comma + 1, list.size()));
                while (!item.empty() && IsSpace(item.front())) item.remove_prefix(1);
                while (!item.empty() && IsSpace(item.back())) item.remove_suffix(1);
                if (item.empty()) continue;
                any = true;
                if (EqualsIgnoreCase(item, "auth")) challenge.qop_auth = true;
            }
            if (!any) return MakeError(ErrorCode::kMalformed, "empty qop list");
            if (!challenge.qop_auth)
                return MakeError(ErrorCode::kUnsupported, "qop offered without \"auth\"");
        } else if (param.name == "stale") {
            challenge.stale =
                EqualsIgnoreCase(param.value, "true");  // anything else is false (RFC 7616 §3.3)
        }
        // domain, charset, userhash and extensions: "MUST be ignored" when not understood (RFC 7616 §3.3).
    }
    if (!has_realm) return MakeError(ErrorCode::kMalformed, "challenge without realm");
    if (challenge.nonce.empty()) return MakeError(ErrorCode::kMalformed, "challenge without nonce");
    return challenge;
}

std::optional<DigestChallenge> ChooseChallenge(const std::vector<std::string>& header_values) {
    // RFC 8760 §2.4: take the topmost supported challenge "unless a local policy dictates otherwise". Our
    // policy is the strongest algorithm, which is the topmost when the server orders as §2.3 asks, and keeps
    // us off MD5 when a server (or something in the path) lists it first. Unsupported ones are ignored.
    std::optional<DigestChallenge> chosen;
    for (const std::string& value : header_values) {
        auto challenge = ParseChallenge(value);
        if (!challenge) continue;
        if (challenge->algorithm == DigestAlgorithm::kSha256) return *challenge;
        if (!chosen) chosen = std::move(*challenge);
    }
    return chosen;
}

base::Result<std::string> DigestHa1(DigestAlgorithm algorithm, std::string_view username,
                                    std::string_view realm, std::string_view password) {
    // Reserved up front so the buffer holding the password is never reallocated and can be wiped.
    std::string a1;
    a1.reserve(username.size() + realm.size() + password.size() + 2);
    a1.append(username).append(":").append(realm).append(":").append(password);
    auto ha1 = HexDigest(algorithm, a1);
    OPENSSL_cleanse(a1.data(), a1.size());
    return ha1;
}

base::Result<std::string> MakeAuthorization(const DigestChallenge& challenge, std::string_view method,
                                            std::string_view uri, std::string_view username,
                                            std::string_view password, std::string_view cnonce, unsigned nc) {
    // Everything here ends up in a header line: a CR or LF would forge header fields.
    if (!IsToken(method)) return MakeError(ErrorCode::kInvalidArgument, "SIP method is not a token");
    if (uri.empty() || HasControl(uri)) return MakeError(ErrorCode::kInvalidArgument, "bad request URI");
    if (HasControl(username)) return MakeError(ErrorCode::kInvalidArgument, "control character in username");
    if (HasControl(cnonce)) return MakeError(ErrorCode::kInvalidArgument, "control character in cnonce");
    if (HasControl(challenge.realm) || HasControl(challenge.nonce) || HasControl(challenge.opaque)) {
        return MakeError(ErrorCode::kInvalidArgument, "control character in challenge");
    }

    std::string client_nonce(cnonce);
    std::string nc_text;
    std::string qop;
    if (challenge.qop_auth) {
        if (client_nonce.empty()) {
            auto random = RandomHex(kCnonceBytes);
            if (!random) return random;
            client_nonce = std::move(*random);
        }
        nc_text = FormatNc(nc);
        qop = "auth";
    }
    auto ha1 = DigestHa1(challenge.algorithm, username, challenge.realm, password);
    if (!ha1) return ha1;
    auto response =
        ComputeResponse(challenge.algorithm, *ha1, challenge.nonce, nc_text, client_nonce, qop, method, uri);
    OPENSSL_cleanse(ha1->data(), ha1->size());  // HA1 is as good as the password for this realm
    if (!response) return response;

    // The order of RFC 7616 §3.9.1; tokens bare, strings quoted (RFC 3261 §25.1 dig-resp).
    std::string header = "Digest ";
    AppendQuoted(header, "username", username);
    header += ", ";
    AppendQuoted(header, "realm", challenge.realm);
    header += ", ";
    AppendQuoted(header, "uri", uri);
    header.append(", algorithm=").append(DigestAlgorithmName(challenge.algorithm)).append(", ");
    AppendQuoted(header, "nonce", challenge.nonce);
    if (challenge.qop_auth) {
        // RFC 2617 §3.2.2: cnonce and nc only when the server offered qop.
        header.append(", nc=").append(nc_text).append(", ");
        AppendQuoted(header, "cnonce", client_nonce);
        header.append(", qop=").append(qop);
    }
    header += ", ";
    AppendQuoted(header, "response", *response);
    if (!challenge.opaque.empty()) {
        header += ", ";
        AppendQuoted(header, "opaque", challenge.opaque);
    }
    // A challenge just under the parser's limit makes an answer over it, which no peer of ours would parse.
    if (header.size() > kMaxHeaderBytes) {
        return MakeError(ErrorCode::kLimitExceeded,
                         "digest answer longer than " + std::to_string(kMaxHeaderBytes) + " bytes");
    }
    return header;
}

base::Result<DigestAuthorization> ParseAuthorization(std::string_view header_value) {
    auto params = ParseDigestParams(header_value);
    if (!params) return tl::unexpected(params.error());
    DigestAuthorization authorization;
    bool has_username = false;
    bool has_realm = false;
    bool has_uri = false;
    for (const Param& param : *params) {
        if (param.name == "username") {
            authorization.username = param.value;
            has_username = true;
        } else if (param.name == "realm") {
            authorization.realm = param.value;
            has_realm = true;
        } else if (param.name == "nonce") {
            authorization.nonce = param.value;
        } else if (param.name == "uri") {
            authorization.uri = param.value;
            has_uri = true;
        } else if (param.name == "response") {
            authorization.response = ToLower(param.value);
        } else if (param.name == "cnonce") {
            authorization.cnonce = param.value;
        } else if (param.name == "nc") {
            authorization.nc = ToLower(param.value);
        } else if (param.name == "qop") {
            if (EqualsIgnoreCase(param.value, "auth-int")) {
                return MakeError(ErrorCode::kUnsupported, "qop=auth-int is not supported");
            }
            if (!EqualsIgnoreCase(param.value, "auth")) {
                return MakeError(ErrorCode::kMalformed, "unknown qop '" + Shorten(param.value) + "'");
            }
            authorization.qop = "auth";
        } else if (param.name == "opaque") {
            authorization.opaque = param.value;
        } else if (param.name == "algorithm") {
            auto algorithm = ParseAlgorithm(param.value);
            if (!algorithm) return tl::unexpected(algorithm.error());
            authorization.algorithm = *algorithm;
        } else if (param.name == "username*" ||
                   (param.name == "userhash" && EqualsIgnoreCase(param.value, "true"))) {
            // RFC 7616 §3.4.4: extended or hashed user names; we never offer userhash or charset.
            return MakeError(ErrorCode::kUnsupported, "parameter '" + param.name + "' is not supported");
        }
    }
    if (!has_username || !has_realm || authorization.nonce.empty() || !has_uri) {
        return MakeError(ErrorCode::kMalformed, "authorization without username, realm, nonce or uri");
    }
    // The response is a digest of the named algorithm; anything else cannot match.
    if (authorization.response.size() != DigestHexChars(authorization.algorithm) ||
        !IsHex(authorization.response)) {
        return MakeError(ErrorCode::kMalformed,
                         "response is not a " + std::string(DigestAlgorithmName(authorization.algorithm)) +
                             " digest in hex");
    }
    if (!authorization.qop.empty()) {
        if (authorization.cnonce.empty()) return MakeError(ErrorCode::kMalformed, "qop without cnonce");
        if (authorization.nc.size() != 8 || !IsHex(authorization.nc)) {
            return MakeError(ErrorCode::kMalformed, "nc is not 8 hex digits");
        }
    }
    return authorization;
}

std::string_view DigestVerdictName(DigestServer::Verdict verdict) {
    using Verdict = DigestServer::Verdict;
    switch (verdict) {
        case Verdict::kOk:
            return "ok";
        case Verdict::kBadCredentials:
            return "bad_credentials";
        case Verdict::kStaleNonce:
            return "stale_nonce";
        case Verdict::kMalformed:
            return "malformed";
        case Verdict::kWrongRealm:
            return "wrong_realm";
        case Verdict::kInternalError:
            return "internal_error";
    }
    return "unknown";
}

base::Result<DigestServer> DigestServer::Create(std::string realm, std::chrono::seconds nonce_lifetime) {
    DigestNonceKey key;
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
        return MakeError(ErrorCode::kInternal, "OpenSSL RAND_bytes failed");
    }
    DigestServer server(std::move(realm), key, nonce_lifetime);
    OPENSSL_cleanse(key.data(), key.size());
    return server;
}

DigestServer::DigestServer(std::string realm, const DigestNonceKey& key, std::chrono::seconds nonce_lifetime)
    : realm_(std::move(realm)), key_(key), nonce_lifetime_(nonce_lifetime) {}

DigestServer::~DigestServer() { OPENSSL_cleanse(key_.data(), key_.size()); }

base::Result<std::vector<std::string>> DigestServer::Challenges(base::WallTime now, bool stale) const {
    auto nonce = MakeNonce(now);
    if (!nonce) return tl::unexpected(nonce.error());
    std::vector<std::string> challenges;
    for (const DigestAlgorithm algorithm : {DigestAlgorithm::kSha256, DigestAlgorithm::kMd5}) {
        std::string header = "Digest ";
        AppendQuoted(header, "realm", realm_);
        header += ", ";
        AppendQuoted(header, "nonce", *nonce);
        header.append(", algorithm=").append(DigestAlgorithmName(algorithm)).append(", qop=\"auth\"");
        if (stale) header += ", stale=true";
        challenges.push_back(std::move(header));
    }
    return challenges;
}

base::Result<std::string> DigestServer::MakeNonce(base::WallTime now) const {
    unsigned char nonce[kNoncePrefixBytes + EVP_MAX_MD_SIZE];
    auto seconds = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    for (int i = 7; i >= 0; --i) {  // big-endian
        nonce[i] = static_cast<unsigned char>(seconds & 0xff);
        seconds >>= 8;
    }
    // The random half makes every challenge's nonce unique, even within one second.
    if (RAND_bytes(nonce + 8, 8) != 1) return MakeError(ErrorCode::kInternal, "OpenSSL RAND_bytes failed");
    std::string data(reinterpret_cast<const char*>(nonce), kNoncePrefixBytes);
    data += realm_;  // the prefix has a fixed length, so the concatenation is unambiguous
    unsigned int mac_size = 0;
    if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), nonce + kNoncePrefixBytes,
             &mac_size) == nullptr ||
        mac_size < kNonceMacBytes) {
        return MakeError(ErrorCode::kInternal, "OpenSSL HMAC-SHA256 failed");
    }
    return ToHex(nonce, kNoncePrefixBytes + kNonceMacBytes);
}

std::optional<std::int64_t> DigestServer::NonceIssuedAt(std::string_view nonce) const {
    if (nonce.size() != kNonceHexChars) return std::nullopt;
    const auto bytes = FromHex(nonce);
    if (!bytes) return std::nullopt;
    std::string data(reinterpret_cast<const char*>(bytes->data()), kNoncePrefixBytes);
    data += realm_;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_size) == nullptr ||
        mac_size < kNonceMacBytes ||
        CRYPTO_memcmp(mac, bytes->data() + kNoncePrefixBytes, kNonceMacBytes) != 0) {
        return std::nullopt;
    }
    std::uint64_t seconds = 0;
    for (std::size_t i = 0; i < 8; ++i) seconds = seconds << 8 | (*bytes)[i];
    return static_cast<std::int64_t>(seconds);
}

DigestServer::Verdict DigestServer::Verify(const DigestAuthorization& authorization, std::string_view method,
                                           std::string_view password, base::WallTime now) const {
    auto ha1 = DigestHa1(authorization.algorithm, authorization.username, realm_, password);
    if (!ha1) return Verdict::kInternalError;
    const Verdict verdict = VerifyHa1(authorization, method, *ha1, now);
    OPENSSL_cleanse(ha1->data(), ha1->size());
    return verdict;
}

DigestServer::Verdict DigestServer::VerifyHa1(const DigestAuthorization& authorization,
                                              std::string_view method, std::string_view ha1_hex,
                                              base::WallTime now) const {
    const DigestAuthorization& a = authorization;
    if (a.username.empty() || a.nonce.empty() || a.uri.empty() || a.response.empty())
        return Verdict::kMalformed;
    if (!a.qop.empty() && (a.qop != "auth" || a.cnonce.empty() || a.nc.size() != 8 || !IsHex(a.nc))) {
        return Verdict::kMalformed;
    }
    if (a.realm != realm_) return Verdict::kWrongRealm;
    const std::optional<std::int64_t> issued = NonceIssuedAt(a.nonce);
    if (!issued) return Verdict::kBadCredentials;  // not ours (forged, altered, or another key)
    if (ha1_hex.size() != DigestHexChars(a.algorithm)) return Verdict::kBadCredentials;

    auto expected = ComputeResponse(a.algorithm, ha1_hex, a.nonce, a.nc, a.cnonce, a.qop, method, a.uri);
    if (!expected) return Verdict::kInternalError;
    const std::string received = ToLower(a.response);
    // Constant time, so the comparison does not tell an attacker how many leading characters were right.
    if (received.size() != expected->size() ||
        CRYPTO_memcmp(received.data(), expected->data(), expected->size()) != 0) {
        return Verdict::kBadCredentials;
    }

    // Only now, with the password proven, may the nonce be called stale (RFC 7616 §3.3: "SHOULD only set
    // stale to true if ... a valid digest for that nonce"). A nonce from the future means the clock went
    // back: treat it as stale so the client fetches one that fits the clock.
    const std::int64_t now_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (*issued > now_seconds || now_seconds - *issued > nonce_lifetime_.count()) return Verdict::kStaleNonce;
    return Verdict::kOk;
}

}  // namespace faxd::sip
