#include "mail/pgp_raw.hpp"

#include <memory>
#include <utility>

#include <gmime/gmime.h>

#include "mail/gmime_init.hpp"

namespace faxd::mail::pgp_raw {
namespace {

using base::ErrorCode;
using base::MakeError;

constexpr std::size_t kMaxParts = 200;  // as MailLimits::max_parts
constexpr std::size_t kMaxDepth = 20;

struct GObjectUnref {
    void operator()(void* object) const {
        if (object != nullptr) g_object_unref(object);
    }
};

// Walks `text` line by line; each line without its line end (LF or CRLF).
class Lines {
public:
    explicit Lines(std::string_view text) : text_(text) {}
    bool Next() {
        if (next_ >= text_.size()) return false;
        start_ = next_;
        const std::size_t newline = text_.find('\n', start_);
        const std::size_t end = newline == std::string_view::npos ? text_.size() : newline;
        line_ = text_.substr(start_, end - start_);
        if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
        next_ = newline == std::string_view::npos ? text_.size() : newline + 1;
        return true;
    }
    std::string_view line() const { return line_; }
    std::size_t start() const { return start_; }  // offset of the line
    std::size_t next() const { return next_; }    // offset after its line end

private:
    std::string_view text_;
    std::string_view line_;
    std::size_t start_ = 0;
    std::size_t next_ = 0;
};

bool IsContinuation(std::string_view line) {
    return !line.empty() && (line.front() == ' ' || line.front() == '\t');
}

struct PacketHeader {
    int tag = 0;
    std::size_t header_size = 0;
    std::size_t body_size = 0;
    bool partial = false;  // new-format partial body length or old-format indeterminate length
};

// RFC 4880 4.2: old and new packet formats.
std::optional<PacketHeader> ReadPacketHeader(std::string_view bytes) {
    if (bytes.empty()) return std::nullopt;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    const unsigned char first = byte(0);
    if ((first & 0x80) == 0) return std::nullopt;
    PacketHeader header;
    if ((first & 0x40) != 0) {  // new format (4.2.2)
        header.tag = first & 0x3F;
        if (bytes.size() < 2) return std::nullopt;
        const unsigned char l0 = byte(1);
        if (l0 < 192) {
            header.header_size = 2;
            header.body_size = l0;
        } else if (l0 < 224) {
            if (bytes.size() < 3) return std::nullopt;
            header.header_size = 3;
            header.body_size = ((static_cast<std::size_t>(l0) - 192) << 8) + byte(2) + 192;
        } else if (l0 == 255) {
            if (bytes.size() < 6) return std::nullopt;
            header.header_size = 6;
            header.body_size = (static_cast<std::size_t>(byte(2)) << 24) |
                               (static_cast<std::size_t>(byte(3)) << 16) |
                               (static_cast<std::size_t>(byte(4)) << 8) | byte(5);
        } else {
            header.header_size = 2;
            header.body_size = std::size_t{1} << (l0 & 0x1F);
            header.partial = true;
        }
    } else {  // old format (4.2.1)
        header.tag = (first >> 2) & 0x0F;
        const int length_type = first & 0x03;
        if (length_type == 3) {
            header.header_size = 1;
            header.body_size = bytes.size() - 1;
            header.partial = true;
        } else {
            const std::size_t width = std::size_t{1} << length_type;
            if (bytes.size() < 1 + width) return std::nullopt;
            header.header_size = 1 + width;
            for (std::size_t i = 0; i < width; ++i) header.body_size = (header.body_size << 8) | byte(1 + i);
        }
    }
    return header;
}

std::string DecodeWith(GMimeContentEncoding encoding, std::string_view bytes) {
    EnsureGMimeInitialized();
    GMimeEncoding state;
    g_mime_encoding_init_decode(&state, encoding);
    std::string out(g_mime_encoding_outlen(&state, bytes.size()) + 16, '\0');
    out.resize(g_mime_encoding_flush(&state, bytes.data(), bytes.size(), out.data()));
    return out;
}

class ClearSignedFinder {
public:
    base::Result<std::optional<ClearSigned>> Find(std::string_view entity, std::size_t depth) {
        if (++parts_ > kMaxParts) {
            return MakeError(ErrorCode::kLimitExceeded,
                             "more than " + std::to_string(kMaxParts) + " MIME parts");
        }
        if (depth > kMaxDepth) return std::optional<ClearSigned>();
        const RawEntity raw = SplitEntity(entity);
        const MediaType media = EntityMediaType(raw);
        if (media.type == "multipart") {
            if (media.subtype == "signed" && depth > 0) nested_signed_ = true;
            if (media.subtype == "signed" || media.subtype == "encrypted")
                return std::optional<ClearSigned>();
            auto children = SplitMultipart(raw.body, media.boundary, kMaxParts);
            if (!children) return tl::unexpected(children.error());
            for (const std::string_view child : *children) {
                auto found = Find(child, depth + 1);
                if (!found || *found) return found;
            }
            return std::optional<ClearSigned>();
        }
        if (media.type != "text" || media.subtype != "plain") return std::optional<ClearSigned>();
        if (const auto disposition = HeaderValue(raw.headers, "Content-Disposition");
            disposition && StartsWithNoCase(TrimBlanks(*disposition), "attachment")) {
            return std::optional<ClearSigned>();
        }
        const std::string text = DecodeBody(raw);
        Lines lines(text);
        std::optional<std::size_t> begin;
        while (lines.Next()) {
            const std::string_view line = TrimBlanks(lines.line());
            if (!begin) {
                if (line == "-----BEGIN PGP SIGNED MESSAGE-----") begin = lines.start();
            } else if (line == "-----END PGP SIGNATURE-----") {
                return ClearSigned{text.substr(*begin, lines.next() - *begin), media.charset, true};
            }
        }
        if (begin) return ClearSigned{{}, media.charset, false};
        return std::optional<ClearSigned>();
    }

    bool nested_signed() const { return nested_signed_; }

private:
    std::size_t parts_ = 0;
    bool nested_signed_ = false;
};

}  // namespace

std::string Lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

std::string_view TrimBlanks(std::string_view text) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return text;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && Lower(text.substr(0, prefix.size())) == Lower(prefix);
}

RawEntity SplitEntity(std::string_view entity) {
    Lines lines(entity);
    while (lines.Next()) {
        if (lines.line().empty()) return {entity.substr(0, lines.start()), entity.substr(lines.next())};
    }
    return {entity, {}};
}

std::optional<std::string> HeaderValue(std::string_view headers, std::string_view name) {
    std::optional<std::string> value;
    Lines lines(headers);
    while (lines.Next()) {
        const std::string_view line = lines.line();
        if (value) {
            if (!IsContinuation(line)) break;
            *value += line;
            continue;
        }
        if (IsContinuation(line)) continue;
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        if (Lower(TrimBlanks(line.substr(0, colon))) == Lower(name)) {
            value = std::string(line.substr(colon + 1));
        }
    }
    return value;
}

std::string WithoutContentFields(std::string_view headers) {
    std::string out;
    Lines lines(headers);
    bool dropping = false;
    while (lines.Next()) {
        const std::string_view line = lines.line();
        if (!IsContinuation(line)) dropping = StartsWithNoCase(line, "content-");
        if (dropping) continue;
        out.append(line);
        out.append("\r\n");
    }
    return out;
}

MediaType EntityMediaType(const RawEntity& entity) {
    MediaType media;
    const std::optional<std::string> value = HeaderValue(entity.headers, "Content-Type");
    if (!value) return media;
    EnsureGMimeInitialized();
    std::unique_ptr<GMimeContentType, GObjectUnref> type(
        g_mime_content_type_parse(g_mime_parser_options_get_default(), value->c_str()));
    if (!type) return media;
    const auto get = [](const char* text) { return std::string(text != nullptr ? text : ""); };
    media.type = Lower(get(g_mime_content_type_get_media_type(type.get())));
    media.subtype = Lower(get(g_mime_content_type_get_media_subtype(type.get())));
    media.boundary = get(g_mime_content_type_get_parameter(type.get(), "boundary"));
    media.protocol = Lower(get(g_mime_content_type_get_parameter(type.get(), "protocol")));
    media.charset = get(g_mime_content_type_get_parameter(type.get(), "charset"));
    return media;
}

base::Result<std::vector<std::string_view>> SplitMultipart(std::string_view body, std::string_view boundary,
                                                           std::size_t max_parts) {
    std::vector<std::string_view> parts;
    if (boundary.empty()) return parts;
    const std::string delimiter = "--" + std::string(boundary);
    std::optional<std::size_t> part_start;
    Lines lines(body);
    while (lines.Next()) {
        std::string_view line = lines.line();
        if (line.substr(0, delimiter.size()) != delimiter) continue;
        line.remove_prefix(delimiter.size());
        const bool closing = line.substr(0, 2) == "--";
        if (closing) line.remove_prefix(2);
        if (!TrimBlanks(line).empty()) continue;
        if (part_start) {
            std::size_t end = lines.start();
            if (end > *part_start && body[end - 1] == '\n') {
                --end;
                if (end > *part_start && body[end - 1] == '\r') --end;
            }
            parts.push_back(body.substr(*part_start, end - *part_start));
        }
        if (closing) return parts;
        if (parts.size() >= max_parts) {
            return MakeError(ErrorCode::kLimitExceeded,
                             "more than " + std::to_string(max_parts) + " MIME parts");
        }
        part_start = lines.next();
    }
    if (part_start) parts.push_back(body.substr(*part_start));
    return parts;
}

std::string ToCrlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
        out.push_back(text[i]);
    }
    return out;
}

std::string DecodeBody(const RawEntity& entity) {
    const std::optional<std::string> encoding = HeaderValue(entity.headers, "Content-Transfer-Encoding");
    if (!encoding) return std::string(entity.body);
    EnsureGMimeInitialized();
    const std::string name = Lower(TrimBlanks(*encoding));
    const GMimeContentEncoding kind = g_mime_content_encoding_from_string(name.c_str());
    if (kind != GMIME_CONTENT_ENCODING_BASE64 && kind != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
        return std::string(entity.body);
    }
    return DecodeWith(kind, entity.body);
}

std::optional<std::string> Dearmor(std::string_view text, std::string_view label) {
    const std::string begin = "-----BEGIN PGP " + std::string(label) + "-----";
    const std::string end = "-----END PGP " + std::string(label) + "-----";
    Lines lines(text);
    bool inside = false;
    bool in_headers = false;
    std::string base64;
    while (lines.Next()) {
        const std::string_view line = TrimBlanks(lines.line());
        if (!inside) {
            if (line == begin) inside = in_headers = true;
            continue;
        }
        if (line == end) return DecodeWith(GMIME_CONTENT_ENCODING_BASE64, base64);
        if (in_headers) {  // RFC 4880 6.2: "Key: value" lines, then an empty line
            if (line.empty()) {
                in_headers = false;
                continue;
            }
            if (line.find(": ") != std::string_view::npos) continue;
            in_headers = false;  // no header block: the data starts here
        }
        if (!line.empty() && line.front() == '=') continue;  // the CRC line
        base64 += line;
    }
    return std::nullopt;
}

bool OnlySignaturePackets(std::string_view bytes) {
    if (bytes.empty()) return false;
    while (!bytes.empty()) {
        const auto header = ReadPacketHeader(bytes);
        if (!header || header->tag != 2 || header->partial) return false;
        if (header->body_size > bytes.size() - header->header_size) return false;
        bytes.remove_prefix(header->header_size + header->body_size);
    }
    return true;
}

bool StartsEncryptedMessage(std::string_view bytes) {
    const auto header = ReadPacketHeader(bytes);
    if (!header || header->partial || bytes.size() <= header->header_size || header->body_size == 0) {
        return false;
    }
    const std::string_view body = bytes.substr(header->header_size);
    const auto version = static_cast<unsigned char>(body[0]);
    switch (header->tag) {
        case 1:  // RFC 4880 5.1; version 6 from RFC 9580
            return version == 3 || version == 6;
        case 3:  // RFC 4880 5.3; versions 5 and 6 from later drafts and RFC 9580
            return version >= 4 && version <= 6;
        case 10:  // RFC 4880 5.8
            return header->body_size == 3 && body.substr(0, 3) == "PGP";
        default:
            return false;
    }
}

base::Result<ClearSignedSearch> FindClearSigned(std::string_view message) {
    ClearSignedFinder finder;
    auto found = finder.Find(message, 0);
    if (!found) return tl::unexpected(found.error());
    return ClearSignedSearch{std::move(*found), finder.nested_signed()};
}

}  // namespace faxd::mail::pgp_raw
