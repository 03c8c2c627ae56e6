// Request target decoding: RFC 3986 §2.1 percent-encoding for the path, and the
// application/x-www-form-urlencoded convention ('+' is a space) for the query.
#include <string>
#include <string_view>

#include "web/http_server_impl.hpp"

namespace faxd::web::detail {
namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %00 is refused: a NUL inside a path or parameter is never meant and confuses C APIs further down.
base::Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+' && plus_is_space) {
            decoded += ' ';
        } else if (c != '%') {
            decoded += c;
        } else {
            const int high = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                return base::MakeError(base::ErrorCode::kMalformed,
                                       "invalid percent-escape in the request target");
            }
            if (high == 0 && low == 0) {
                return base::MakeError(base::ErrorCode::kMalformed, "%00 in the request target");
            }
            decoded += static_cast<char>(high * 16 + low);
            i += 2;
        }
    }
    return decoded;
}

}  // namespace

base::Result<void> DecodeTarget(std::string_view target, HttpRequest& request) {
    if (!target.starts_with('/')) {
        return base::MakeError(base::ErrorCode::kMalformed, "the request target must start with '/'");
    }
    const std::size_t question = target.find('?');
    auto path = PercentDecode(target.substr(0, question), false);
    if (!path) return tl::unexpected(path.error());
    request.path = std::move(*path);
    request.query.clear();
    if (question == std::string_view::npos) return {};

    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2"
        const std::size_t equals = pair.find('=');
        auto name = PercentDecode(pair.substr(0, equals), true);
        if (!name) return tl::unexpected(name.error());
        auto value = PercentDecode(equals == std::string_view::npos ? "" : pair.substr(equals + 1), true);
        if (!value) return tl::unexpected(value.error());
        request.query.emplace_back(std::move(*name), std::move(*value));
    }
    return {};
}

}  // namespace faxd::web::detail
