#include "mail/mail_template.hpp"

#include <cstdint>
#include <optional>

namespace faxd::mail {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Calls on_text(literal) and on_placeholder(name) in template order.
template <typename OnText, typename OnPlaceholder>
void WalkTemplate(std::string_view text, OnText&& on_text, OnPlaceholder&& on_placeholder) {
    std::size_t i = 0;
    std::size_t literal_start = 0;
    const auto flush = [&](std::size_t end) {
        if (end > literal_start) on_text(text.substr(literal_start, end - literal_start));
    };
    while (i < text.size()) {
        const char c = text[i];
        if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
            flush(i);
            on_text(text.substr(i, 1));
            i += 2;
            literal_start = i;
            continue;
        }
        if (c == '{' && i + 1 < text.size() && IsNameStart(text[i + 1])) {
            std::size_t end = i + 1;
            while (end < text.size() && IsNameChar(text[end])) ++end;
            if (end < text.size() && text[end] == '}') {
                flush(i);
                on_placeholder(text.substr(i + 1, end - i - 1));
                i = end + 1;
                literal_start = i;
                continue;
            }
        }
        ++i;
    }
    flush(text.size());
}

template <typename Transform>
std::string Expand(std::string_view text, const TemplateValues& values, Transform&& transform) {
    std::string out;
    out.reserve(text.size());
    WalkTemplate(
        text, [&](std::string_view literal) { out += literal; },
        [&](std::string_view name) {
            const auto it = values.find(std::string(name));
            if (it == values.end()) {
                out += '{';
                out += name;
                out += '}';
            } else {
                out += transform(it->second);
            }
        });
    return out;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

struct CodePoint {
    std::uint32_t value = 0;
    std::size_t length = 0;
};

bool InRange(unsigned char c, unsigned char low, unsigned char high) { return c >= low && c <= high; }

// The code point at text[pos] when it is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates).
std::optional<CodePoint> DecodeUtf8(std::string_view text, std::size_t pos) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[pos + k]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return CodePoint{lead, 1};
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (InRange(lead, 0xC2, 0xDF)) {
        length = 2;
    } else if (InRange(lead, 0xE0, 0xEF)) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (InRange(lead, 0xF0, 0xF4)) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return std::nullopt;
    }
    if (pos + length > text.size()) return std::nullopt;
    if (!InRange(byte(1), low, high)) return std::nullopt;
    std::uint32_t value = lead & (0xFFu >> (length + 1));
    value = (value << 6) | (byte(1) & 0x3Fu);
    for (std::size_t k = 2; k < length; ++k) {
        if (!InRange(byte(k), 0x80, 0xBF)) return std::nullopt;
        value = (value << 6) | (byte(k) & 0x3Fu);
    }
    return CodePoint{value, length};
}

bool UnsafeInFileName(std::uint32_t cp) {
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;  // C0, DEL, C1
    if (cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
        return true;  // bidi marks, embeddings, overrides and isolates
    }
    switch (cp) {
        case '/':
        case '\\':
        case ':':
        case '*':
        case '?':
        case '"':
        case '<':
        case '>':
        case '|':
            return true;
        default:
            return false;
    }
}

// The longest prefix of at most max_bytes that does not end inside a UTF-8 sequence.
std::size_t Utf8CutPoint(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text.size();
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return cut;
}

}  // namespace

std::string ExpandTemplate(std::string_view text, const TemplateValues& values) {
    return Expand(text, values, [](const std::string& value) -> const std::string& { return value; });
}

std::string ExpandHtmlTemplate(std::string_view text, const TemplateValues& values) {
    return Expand(text, values, [](const std::string& value) { return HtmlEscape(value); });
}

std::string ExpandHeaderTemplate(std::string_view text, const TemplateValues& values) {
    return OneLine(ExpandTemplate(text, values));
}

base::Result<void> CheckTemplate(std::string_view text, const std::set<std::string>& known) {
    std::optional<std::string> unknown;
    WalkTemplate(
        text, [](std::string_view) {},
        [&](std::string_view name) {
            if (!unknown && !known.contains(std::string(name))) unknown = std::string(name);
        });
    if (!unknown) return {};
    std::string message = "unknown placeholder {" + *unknown + "}; known: ";
    bool first = true;
    for (const std::string& name : known) {
        if (!first) message += ", ";
        first = false;
        message += "{" + name + "}";
    }
    if (known.empty()) message += "none";
    return base::MakeError(base::ErrorCode::kInvalidArgument, std::move(message));
}

std::string SafeFileNameFromTemplate(std::string_view text, const TemplateValues& values) {
    return SafeFileName(ExpandTemplate(text, values));
}

std::string SafeFileName(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    std::size_t pos = 0;
    while (pos < name.size()) {
        const std::optional<CodePoint> cp = DecodeUtf8(name, pos);
        if (!cp) {
            out += '_';
            ++pos;
            continue;
        }
        if (UnsafeInFileName(cp->value)) {
            out += '_';
        } else {
            out += name.substr(pos, cp->length);
        }
        pos += cp->length;
    }
    for (char& c : out) {
        if (c != '.') break;
        c = '_';
    }
    out.resize(Utf8CutPoint(out, kMaxFileNameBytes));
    if (out.empty()) return "unnamed";
    return out;
}

std::string HtmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string OneLine(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (const char c : text) {
        if (c == ' ' || IsControl(static_cast<unsigned char>(c))) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

std::string Abbreviate(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    constexpr std::string_view kEllipsis = "...";
    const std::size_t room = max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
    std::string out(text.substr(0, Utf8CutPoint(text, room)));
    out += kEllipsis;
    return out;
}

}  // namespace faxd::mail
