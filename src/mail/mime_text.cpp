#include "mail/mime_text.hpp"

#include <cctype>
#include <cerrno>
#include <cstdint>

#include <gmime/gmime.h>

#include "mail/gmime_init.hpp"

namespace faxd::mail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = Lower(c);
    return out;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (Lower(text[i]) != prefix[i]) return false;
    }
    return true;
}

bool IsValidUtf8(std::string_view text) { return g_utf8_validate(text.data(), text.size(), nullptr); }

std::string MakeValidUtf8(std::string_view text) {
    gchar* valid = g_utf8_make_valid(text.data(), static_cast<gssize>(text.size()));
    std::string out(valid);
    g_free(valid);
    return out;
}

void AppendUtf8(std::string& out, std::uint32_t code_point) {
    if (code_point == 0 || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        out += kReplacement;
    } else if (code_point < 0x80) {
        out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
}

// iconv with U+FFFD for each byte the charset does not define, instead of giving up on the whole part.
std::string ConvertWithIconv(iconv_t converter, std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 2);
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    char buffer[4096];
    while (in_left > 0) {
        char* out_ptr = buffer;
        std::size_t out_left = sizeof buffer;
        const std::size_t result = iconv(converter, &in, &in_left, &out_ptr, &out_left);
        out.append(buffer, static_cast<std::size_t>(out_ptr - buffer));
        if (result != static_cast<std::size_t>(-1)) continue;
        if (errno == E2BIG) continue;
        out += kReplacement;
        if (errno == EINVAL) break;  // truncated sequence at the end
        ++in;                        // EILSEQ: skip the byte the charset cannot read
        --in_left;
    }
    char* out_ptr = buffer;
    std::size_t out_left = sizeof buffer;
    iconv(converter, nullptr, nullptr, &out_ptr, &out_left);  // flush shift state (ISO-2022-JP etc.)
    out.append(buffer, static_cast<std::size_t>(out_ptr - buffer));
    return out;
}

struct NamedEntity {
    std::string_view name;
    std::uint32_t code_point;
};

constexpr NamedEntity kEntities[] = {
    {"amp", '&'},     {"lt", '<'},        {"gt", '>'},     {"quot", '"'},     {"apos", '\''},
    {"nbsp", ' '},    {"auml", 0xE4},     {"ouml", 0xF6},  {"uuml", 0xFC},    {"Auml", 0xC4},
    {"Ouml", 0xD6},   {"Uuml", 0xDC},     {"szlig", 0xDF}, {"eacute", 0xE9},  {"egrave", 0xE8},
    {"euro", 0x20AC}, {"copy", 0xA9},     {"reg", 0xAE},   {"ndash", 0x2013}, {"mdash", 0x2014},
    {"bull", 0x2022}, {"hellip", 0x2026}, {"laquo", 0xAB}, {"raquo", 0xBB},   {"shy", 0xAD},
};

// Decodes the entity at html[pos] == '&'; returns how many bytes it used (0: not an entity, keep the '&').
std::size_t DecodeEntity(std::string_view html, std::size_t pos, std::string& out) {
    const std::size_t semicolon = html.find(';', pos);
    if (semicolon == std::string_view::npos || semicolon - pos > 10 || semicolon == pos + 1) return 0;
    const std::string_view name = html.substr(pos + 1, semicolon - pos - 1);
    if (name[0] == '#') {
        const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
        const std::string_view digits = name.substr(hex ? 2 : 1);
        if (digits.empty()) return 0;
        std::uint32_t value = 0;
        for (const char c : digits) {
            int digit = -1;
            if (c >= '0' && c <= '9') digit = c - '0';
            if (hex && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
            if (hex && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
            if (digit < 0) return 0;
            value = value * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
            if (value > 0x10FFFF) value = 0x110000;  // stays out of range without overflowing
        }
        AppendUtf8(out, value == 0xA0 ? ' ' : value);
        return semicolon - pos + 1;
    }
    for (const auto& entity : kEntities) {
        if (entity.name == name) {
            AppendUtf8(out, entity.code_point);
            return semicolon - pos + 1;
        }
    }
    return 0;
}

bool IsBlockTag(std::string_view name) {
    static constexpr std::string_view kBlocks[] = {"p",  "div",   "br",         "tr", "li", "h1",
                                                   "h2", "h3",    "h4",         "h5", "h6", "ul",
                                                   "ol", "table", "blockquote", "hr", "pre"};
    for (const auto block : kBlocks) {
        if (name == block) return true;
    }
    return false;
}

// Joins lines trimmed of blanks, with at most one empty line between paragraphs.
std::string TidyLines(std::string_view text) {
    std::string out;
    int pending_breaks = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        if (line.empty()) {
            ++pending_breaks;
            continue;
        }
        if (!out.empty()) out.append(pending_breaks > 0 ? "\n\n" : "\n");
        pending_breaks = 0;
        out.append(line);
    }
    return out;
}

}  // namespace

Utf8Text ToUtf8(std::string_view bytes, std::string_view charset) {
    const std::string name = LowerCopy(charset);
    if (name.empty() || name == "us-ascii" || name == "ascii" || name == "utf-8" || name == "utf8") {
        if (IsValidUtf8(bytes)) return {std::string(bytes), ""};
        if (name.empty()) return {Latin1ToUtf8(bytes), "8-bit text without a charset, read as Latin-1"};
        if (name.find("ascii") != std::string::npos) {
            return {Latin1ToUtf8(bytes), "8-bit text declared as US-ASCII, read as Latin-1"};
        }
        return {MakeValidUtf8(bytes), "invalid UTF-8 replaced"};
    }
    EnsureGMimeInitialized();
    iconv_t converter = g_mime_iconv_open("UTF-8", name.c_str());
    if (converter == reinterpret_cast<iconv_t>(-1)) {
        return {Latin1ToUtf8(bytes),
                "unknown charset " + MakeValidUtf8(charset.substr(0, 40)) + ", read as Latin-1"};
    }
    std::string text = ConvertWithIconv(converter, bytes);
    g_mime_iconv_close(converter);
    if (!IsValidUtf8(text)) text = MakeValidUtf8(text);
    return {std::move(text), ""};
}

std::string Latin1ToUtf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes)
        AppendUtf8(out, static_cast<unsigned char>(c) == 0 ? 0xFFFD : static_cast<unsigned char>(c));
    return out;
}

std::string Utf8Prefix(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return std::string(text);
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return std::string(text.substr(0, cut));
}

std::string HtmlToText(std::string_view html) {
    std::string out;
    out.reserve(html.size() / 2);
    std::size_t pos = 0;
    const auto emit_space = [&out] {
        if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
    };
    while (pos < html.size()) {
        const char c = html[pos];
        if (c == '<') {
            if (html.substr(pos, 4) == "<!--") {
                const std::size_t end = html.find("-->", pos + 4);
                pos = end == std::string_view::npos ? html.size() : end + 3;
                continue;
            }
            const std::size_t end = html.find('>', pos);
            if (end == std::string_view::npos) break;  // a cut-off tag at the end shows nothing
            std::string_view tag = html.substr(pos + 1, end - pos - 1);
            pos = end + 1;
            const bool closing = !tag.empty() && tag.front() == '/';
            if (closing) tag.remove_prefix(1);
            std::size_t name_end = 0;
            while (name_end < tag.size() && std::isalnum(static_cast<unsigned char>(tag[name_end])))
                ++name_end;
            const std::string name = LowerCopy(tag.substr(0, name_end));
            if (!closing && (name == "script" || name == "style" || name == "head" || name == "title")) {
                // Skip the element's content up to its end tag.
                const std::string end_tag = "</" + name;
                std::size_t search = pos;
                while (search < html.size() && !StartsWithIgnoreCase(html.substr(search), end_tag)) {
                    const std::size_t next = html.find('<', search + 1);
                    search = next == std::string_view::npos ? html.size() : next;
                }
                const std::size_t close = html.find('>', search);
                pos = close == std::string_view::npos ? html.size() : close + 1;
            } else if (IsBlockTag(name)) {
                out.push_back('\n');
            } else if (name == "td" || name == "th") {
                emit_space();
            }
            continue;
        }
        if (c == '&') {
            const std::size_t used = DecodeEntity(html, pos, out);
            if (used > 0) {
                pos += used;
                continue;
            }
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            emit_space();
        } else {
            out.push_back(c);
        }
        ++pos;
    }
    return TidyLines(out);
}

std::vector<std::string> ContentIdReferences(std::string_view html) {
    std::vector<std::string> ids;
    for (std::size_t pos = 0; pos + 4 <= html.size(); ++pos) {
        if (!StartsWithIgnoreCase(html.substr(pos), "cid:")) continue;
        pos += 4;
        std::string id;
        while (pos < html.size() &&
               std::string_view("\"'>) \t\r\n").find(html[pos]) == std::string_view::npos) {
            const char c = html[pos];
            if (c == '%' && pos + 2 < html.size() &&
                std::isxdigit(static_cast<unsigned char>(html[pos + 1])) &&
                std::isxdigit(static_cast<unsigned char>(html[pos + 2]))) {
                id.push_back(static_cast<char>(std::stoi(std::string(html.substr(pos + 1, 2)), nullptr, 16)));
                pos += 3;
                continue;
            }
            id.push_back(c);
            ++pos;
        }
        if (!id.empty()) ids.push_back(std::move(id));
    }
    return ids;
}

}  // namespace faxd::mail
