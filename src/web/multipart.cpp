// multipart/form-data (RFC 7578) over the RFC 2046 §5.1 framing. One forward pass over the body: the
// delimiter search is Boyer-Moore-Horspool over at most 74 bytes, header blocks are searched only within the
// header limit, so the time is linear in the body.
#include "web/multipart.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>

namespace faxd::web {
namespace {

using base::ErrorCode;
using base::MakeError;

constexpr std::size_t kMaxBoundaryLength = 70;  // RFC 2046 §5.1.1
constexpr std::size_t kMaxFileNameBytes = 200;

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return LowerAscii(x) == LowerAscii(y); });
}

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
    while (!text.empty() && IsSpaceOrTab(text.front())) text.remove_prefix(1);
    while (!text.empty() && IsSpaceOrTab(text.back())) text.remove_suffix(1);
    return text;
}

// "form-data; name=\"a\"; filename=b.pdf" -> type and parameters (names lower-cased, values unquoted).
struct HeaderValue {
    std::string_view type;
    std::vector<std::pair<std::string, std::string>> parameters;

    const std::string* Parameter(std::string_view name) const {
        for (const auto& [key, value] : parameters) {
            if (key == name) return &value;
        }
        return nullptr;
    }
};

// A quoted-string starting at text[pos] == '"'. A backslash escapes only '"' and '\': old browsers send
// Windows paths with bare backslashes ("C:\x\a.pdf"), and reading those as escapes would glue the path
// components together where SafeFileName could no longer cut them off.
std::optional<std::string> ReadQuoted(std::string_view text, std::size_t& pos) {
    std::string value;
    for (++pos; pos < text.size(); ++pos) {
        const char c = text[pos];
        if (c == '"') {
            ++pos;
            return value;
        }
        if (c == '\\' && pos + 1 < text.size() && (text[pos + 1] == '"' || text[pos + 1] == '\\')) ++pos;
        value += text[pos];
    }
    return std::nullopt;  // unterminated
}

std::optional<HeaderValue> ParseHeaderValue(std::string_view text) {
    HeaderValue result;
    std::size_t pos = text.find(';');
    result.type = Trim(text.substr(0, pos));
    while (pos < text.size()) {
        ++pos;  // past ';'
        const std::size_t name_end = text.find_first_of("=;", pos);
        std::string name(Trim(text.substr(pos, name_end - pos)));
        std::transform(name.begin(), name.end(), name.begin(), LowerAscii);
        pos = name_end;
        if (pos >= text.size() || text[pos] == ';') {
            if (!name.empty()) result.parameters.emplace_back(std::move(name), "");
            continue;
        }
        ++pos;  // past '='
        while (pos < text.size() && IsSpaceOrTab(text[pos])) ++pos;
        std::string value;
        if (pos < text.size() && text[pos] == '"') {
            auto quoted = ReadQuoted(text, pos);
            if (!quoted) return std::nullopt;
            value = std::move(*quoted);
            pos = text.find(';', pos);  // ignore anything between the closing quote and the next ';'
        } else {
            const std::size_t end = text.find(';', pos);
            value = std::string(Trim(text.substr(pos, end - pos)));
            pos = end;
        }
        result.parameters.emplace_back(std::move(name), std::move(value));
    }
    return result;
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 5987 §3.2 ext-value: charset'language'percent-encoded, charset UTF-8 or ISO-8859-1.
std::optional<std::string> DecodeExtendedValue(std::string_view value) {
    const std::size_t first_quote = value.find('\'');
    if (first_quote == std::string_view::npos) return std::nullopt;
    const std::size_t second_quote = value.find('\'', first_quote + 1);
    if (second_quote == std::string_view::npos) return std::nullopt;
    const std::string_view charset = value.substr(0, first_quote);
    const bool latin1 = EqualsIgnoringCase(charset, "ISO-8859-1");
    if (!latin1 && !EqualsIgnoringCase(charset, "UTF-8")) return std::nullopt;

    std::string decoded;
    const std::string_view encoded = value.substr(second_quote + 1);
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        unsigned char byte = static_cast<unsigned char>(encoded[i]);
        if (byte == '%') {
            const int high = i + 1 < encoded.size() ? HexValue(encoded[i + 1]) : -1;
            const int low = i + 2 < encoded.size() ? HexValue(encoded[i + 2]) : -1;
            if (high < 0 || low < 0) return std::nullopt;
            byte = static_cast<unsigned char>(high * 16 + low);
            i += 2;
        }
        if (latin1 && byte >= 0x80) {
            decoded += static_cast<char>(0xC0 | (byte >> 6));
            decoded += static_cast<char>(0x80 | (byte & 0x3F));
        } else {
            decoded += static_cast<char>(byte);
        }
    }
    return decoded;
}

base::Error PartError(ErrorCode code, std::size_t part_number, std::string_view what) {
    return base::Error{code, "multipart: part " + std::to_string(part_number) + " " + std::string(what),
                       std::nullopt, std::nullopt};
}

// Fills name, filename and content_type from a part's header block (lines ending CRLF, blank line excluded).
base::Result<void> ParsePartHeaders(std::string_view block, std::size_t part_number, MultipartPart& part) {
    std::optional<std::string> disposition;
    std::optional<std::string> content_type;
    std::optional<std::string>* last_header = nullptr;  // for folded continuation lines
    while (!block.empty()) {
        const std::size_t line_end = block.find("\r\n");
        const std::string_view line = block.substr(0, line_end);
        block = line_end == std::string_view::npos ? std::string_view() : block.substr(line_end + 2);
        if (line.empty()) continue;
        if (IsSpaceOrTab(
                line.front())) {  // obsolete folding (RFC 5322 §3.2.2): continues the previous header
            if (last_header && *last_header) (** last_header += ' ') += Trim(line);
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || Trim(line.substr(0, colon)).empty()) {
            return tl::unexpected(
                PartError(ErrorCode::kMalformed, part_number, "has a malformed header line"));
        }
        const std::string_view name = Trim(line.substr(0, colon));
        const std::string_view value = Trim(line.substr(colon + 1));
        last_header = nullptr;
        if (EqualsIgnoringCase(name, "Content-Disposition") && !disposition) {
            disposition = std::string(value);
            last_header = &disposition;
        } else if (EqualsIgnoringCase(name, "Content-Type") && !content_type) {
            content_type = std::string(value);
            last_header = &content_type;
        }
    }
    if (!disposition) {
        return tl::unexpected(PartError(ErrorCode::kMalformed, part_number, "has no Content-Disposition"));
    }
    const auto parsed = ParseHeaderValue(*disposition);
    if (!parsed) {
        return tl::unexpected(
            PartError(ErrorCode::kMalformed, part_number, "has a malformed Content-Disposition"));
    }
    if (!EqualsIgnoringCase(parsed->type, "form-data")) {
        return tl::unexpected(PartError(ErrorCode::kMalformed, part_number, "is not form-data"));
    }
    const std::string* name = parsed->Parameter("name");
    if (!name || name->empty()) {
        return tl::unexpected(PartError(ErrorCode::kMalformed, part_number, "has no name"));
    }
    part.name = *name;
    if (const std::string* extended = parsed->Parameter("filename*")) {
        auto decoded = DecodeExtendedValue(*extended);
        if (!decoded) {
            return tl::unexpected(PartError(ErrorCode::kMalformed, part_number, "has an invalid filename*"));
        }
        part.filename = std::move(*decoded);  // RFC 6266 §4.3: filename* wins over filename
    } else if (const std::string* filename = parsed->Parameter("filename")) {
        part.filename = *filename;
    }
    part.content_type = content_type.value_or("");
    return {};
}

// Finds delimiters ("\r\n--boundary") that really end a part: followed by "--" (the last) or by optional
// transport padding and CRLF. Other matches are data.
class DelimiterFinder {
public:
    DelimiterFinder(std::string_view body, std::string_view delimiter)
        : body_(body), delimiter_(delimiter), searcher_(delimiter.begin(), delimiter.end()) {}

    struct Found {
        std::size_t start;  // of the CRLF before "--boundary" (or of "--boundary" at offset 0)
        std::size_t next;   // after the delimiter line: the next part's first header byte
        bool closing;
    };

    // The body may open with the boundary line itself, without a CRLF before it.
    std::optional<Found> FindFirst() {
        const std::string_view dash_boundary = delimiter_.substr(2);
        if (body_.starts_with(dash_boundary)) {
            if (auto found = Classify(0, dash_boundary.size())) return found;
        }
        return Find(0);
    }

    std::optional<Found> Find(std::size_t from) {
        while (from < body_.size()) {
            const auto hit =
                std::search(body_.begin() + static_cast<std::ptrdiff_t>(from), body_.end(), searcher_);
            if (hit == body_.end()) return std::nullopt;
            const auto start = static_cast<std::size_t>(hit - body_.begin());
            if (auto found = Classify(start, start + delimiter_.size())) return found;
            from = start + 1;
        }
        return std::nullopt;
    }

private:
    std::optional<Found> Classify(std::size_t start, std::size_t after) const {
        if (body_.substr(after, 2) == "--") return Found{start, body_.size(), true};
        while (after < body_.size() && IsSpaceOrTab(body_[after])) ++after;  // RFC 2046 transport-padding
        if (body_.substr(after, 2) == "\r\n") return Found{start, after + 2, false};
        return std::nullopt;
    }

    std::string_view body_;
    std::string_view delimiter_;
    std::boyer_moore_horspool_searcher<std::string_view::const_iterator> searcher_;
};

// Called only on the way to an error, to say why no boundary line was found.
bool HasBareLfBoundary(std::string_view body, std::string_view dash_boundary) {
    const std::string lf_delimiter = "\n" + std::string(dash_boundary);
    for (std::size_t at = body.find(lf_delimiter); at != std::string_view::npos;
         at = body.find(lf_delimiter, at + 1)) {
        if (at == 0 || body[at - 1] != '\r') return true;
    }
    return body.starts_with(dash_boundary) && body.substr(dash_boundary.size(), 1) == "\n";
}

// UTF-8 sequence length at text[i] when it is a valid, shortest-form scalar value (RFC 3629 §4); else 0.
std::size_t ValidUtf8Length(std::string_view text, std::size_t i, char32_t& code_point) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    const unsigned char lead = byte(0);
    std::size_t length;
    char32_t lower_bound;
    if (lead < 0x80) {
        code_point = lead;
        return 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2, code_point = lead & 0x1F, lower_bound = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3, code_point = lead & 0x0F, lower_bound = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4, code_point = lead & 0x07, lower_bound = 0x10000;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(k) & 0xC0) != 0x80) return 0;
        code_point = (code_point << 6) | (byte(k) & 0x3F);
    }
    if (code_point < lower_bound || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        return 0;
    }
    return length;
}

// Characters that must not reach a file name or a screen: C0/C1 controls, quotes, and the bidirectional
// overrides that make "gpj.exe" look like "exe.jpg".
bool IsDroppedFromFileName(char32_t c) {
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == '"' || c == '\'' || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069);
}

}  // namespace

std::string MultipartBoundary(std::string_view content_type) {
    const auto parsed = ParseHeaderValue(content_type);
    if (!parsed || !EqualsIgnoringCase(parsed->type, "multipart/form-data")) return "";
    const std::string* boundary = parsed->Parameter("boundary");
    if (!boundary || boundary->empty() || boundary->size() > kMaxBoundaryLength || boundary->back() == ' ') {
        return "";
    }
    const bool printable =
        std::all_of(boundary->begin(), boundary->end(), [](char c) { return c >= 0x20 && c < 0x7F; });
    return printable ? *boundary : "";
}

base::Result<std::vector<MultipartPart>> ParseMultipart(std::string_view boundary, std::string_view body,
                                                        const MultipartLimits& limits) {
    if (boundary.empty() || boundary.size() > kMaxBoundaryLength) {
        return MakeError(ErrorCode::kInvalidArgument, "multipart: the boundary must have 1 to 70 characters");
    }
    const std::string delimiter = "\r\n--" + std::string(boundary);
    DelimiterFinder finder(body, delimiter);
    const auto not_found_error = [&](std::string message) {
        if (HasBareLfBoundary(body, std::string_view(delimiter).substr(2))) {
            message = "multipart: lines must end with CRLF, not a bare LF";
        }
        return MakeError(ErrorCode::kMalformed, std::move(message));
    };

    auto boundary_line = finder.FindFirst();
    if (!boundary_line) return not_found_error("multipart: the boundary does not occur in the body");

    std::vector<MultipartPart> parts;
    while (!boundary_line->closing) {
        const std::size_t part_number = parts.size() + 1;
        if (parts.size() >= limits.max_parts) {
            return MakeError(ErrorCode::kLimitExceeded,
                             "multipart: more than " + std::to_string(limits.max_parts) + " parts");
        }
        const std::size_t headers_start = boundary_line->next;
        std::size_t data_start;
        std::string_view header_block;
        if (body.substr(headers_start, 2) == "\r\n") {
            data_start = headers_start + 2;  // a part without header lines
        } else {
            // Search only as far as the limit allows: a missing blank line must not cost a scan of the body.
            const std::string_view window = body.substr(headers_start, limits.max_part_header_bytes + 2);
            const std::size_t blank_line = window.find("\r\n\r\n");
            if (blank_line == std::string_view::npos || blank_line + 2 > limits.max_part_header_bytes) {
                if (window.size() > limits.max_part_header_bytes) {
                    return tl::unexpected(PartError(ErrorCode::kLimitExceeded, part_number,
                                                    "has more than " +
                                                        std::to_string(limits.max_part_header_bytes) +
                                                        " bytes of headers"));
                }
                return tl::unexpected(
                    PartError(ErrorCode::kMalformed, part_number, "ends inside its headers"));
            }
            header_block = window.substr(0, blank_line + 2);
            data_start = headers_start + blank_line + 4;
        }
        MultipartPart part;
        if (auto headers = ParsePartHeaders(header_block, part_number, part); !headers) {
            return tl::unexpected(headers.error());
        }
        boundary_line = finder.Find(data_start);
        if (!boundary_line) return not_found_error("multipart: no closing boundary");
        part.data = body.substr(data_start, boundary_line->start - data_start);
        parts.push_back(std::move(part));
    }
    return parts;  // whatever follows the closing boundary is an epilogue, ignored (RFC 2046 §5.1.1)
}

std::string SafeFileName(std::string_view name) {
    const std::size_t separator = name.find_last_of("/\\");
    if (separator != std::string_view::npos) name.remove_prefix(separator + 1);

    std::string safe;
    for (std::size_t i = 0; i < name.size();) {
        char32_t code_point = 0;
        const std::size_t length = ValidUtf8Length(name, i, code_point);
        if (length == 0) {  // invalid UTF-8: drop the byte
            ++i;
            continue;
        }
        if (!IsDroppedFromFileName(code_point)) {
            if (safe.size() + length > kMaxFileNameBytes) break;  // never cut a character in half
            safe.append(name.substr(i, length));
        }
        i += length;
    }
    const std::string_view trimmed = Trim(safe);
    if (trimmed.empty() || trimmed == "." || trimmed == "..") return "upload";
    return std::string(trimmed);
}

}  // namespace faxd::web
