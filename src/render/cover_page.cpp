#include "render/cover_page.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "render/header_line.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

// The built-in default. Kept inside 270 mm so it fits Letter (279 mm) as well as A4 (297 mm).
constexpr std::string_view kBuiltInTemplate = R"toml(# faxd built-in cover page (English).
title = "Fax"

[[element]]
kind = "text"
x = 20
y = 18
size = 36
bold = true
text = "FAX"

[[element]]
kind = "line"
x = 20
y = 36
w = 175
thickness = 0.8

[[element]]
kind = "text"
x = 20
y = 44
size = 12
bold = true
text = "To:\nCompany:\nFax:"

[[element]]
kind = "text"
x = 60
y = 44
size = 12
width = 135
text = "{recipient_name}\n{recipient_company}\n{recipient_fax}"

[[element]]
kind = "text"
x = 20
y = 74
size = 12
bold = true
text = "From:\nCompany:\nFax:\nPhone:\nE-mail:"

[[element]]
kind = "text"
x = 60
y = 74
size = 12
width = 135
text = "{sender_name}\n{sender_company}\n{sender_fax}\n{sender_phone}\n{sender_email}"

[[element]]
kind = "line"
x = 20
y = 118
w = 175
thickness = 0.3

[[element]]
kind = "text"
x = 20
y = 124
size = 12
bold = true
text = "Date:\nPages:\nReference:"

[[element]]
kind = "text"
x = 60
y = 124
size = 12
width = 135
text = "{date}\n{pages}\n{reference}"

[[element]]
kind = "text"
x = 20
y = 150
size = 12
bold = true
text = "Subject:"

[[element]]
kind = "text"
x = 60
y = 150
size = 12
bold = true
width = 135
height = 12
text = "{subject}"

[[element]]
kind = "box"
x = 15
y = 166
w = 185
h = 104
thickness = 0.3

[[element]]
kind = "text"
x = 20
y = 170
size = 11
bold = true
text = "Comments:"

[[element]]
kind = "text"
x = 20
y = 178
size = 11
width = 175
height = 88
text = "{comments}"
)toml";

const std::vector<std::string> kKnownFields = {
    "sender_name",    "sender_company",    "sender_fax",    "sender_phone", "sender_email",
    "recipient_name", "recipient_company", "recipient_fax", "date",         "pages",
    "subject",        "comments",          "reference",
};

bool IsKnownField(std::string_view name) {
    return std::find(kKnownFields.begin(), kKnownFields.end(), name) != kKnownFields.end();
}

// Walks `text`, handing literal pieces and placeholder names to the callbacks. "{{" and "}}" are literal
// braces. Returns why the text is not a valid template text, if it is not.
template <typename OnText, typename OnField>
std::optional<std::string> ScanPlaceholders(std::string_view text, OnText on_text, OnField on_field) {
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
            on_text(text.substr(i, 1));
            i += 2;
        } else if (c == '{') {
            const std::size_t end = text.find('}', i);
            if (end == std::string_view::npos) return "'{' without a closing '}' (write {{ for a brace)";
            const std::string_view name = text.substr(i + 1, end - i - 1);
            if (!IsKnownField(name)) return "unknown placeholder {" + std::string(name) + "}";
            on_field(name);
            i = end + 1;
        } else {
            const std::size_t next = std::min(text.find_first_of("{}", i + 1), text.size());
            on_text(text.substr(i, next - i));
            i = next;
        }
    }
    return std::nullopt;
}

// Field values come from users: line breaks are kept, other control characters would only draw as boxes.
std::string CleanValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\r') {
            if (i + 1 >= value.size() || value[i + 1] != '\n') out += '\n';
        } else if (c == '\t') {
            out += ' ';
        } else if (c == '\n' || static_cast<unsigned char>(c) >= 0x20) {
            out += c;
        }
    }
    return out;
}

std::string Line(const toml::source_region& where) { return std::to_string(where.begin.line); }

// Reads the keys of one [[element]] table with messages that name the file and the line.
class ElementReader {
public:
    ElementReader(const toml::table& table, const std::string& source, std::size_t index)
        : table_(table), source_(source), index_(index) {}

    std::optional<double> Number(std::string_view key, double low, double high, std::string* error) const {
        const toml::node* node = table_.get(key);
        if (node == nullptr) return std::nullopt;
        double value = 0;
        if (const auto* integer = node->as_integer()) {
            value = static_cast<double>(integer->get());
        } else if (const auto* real = node->as_floating_point()) {
            value = real->get();
        } else {
            Fail(error, *node, key, "must be a number");
            return std::nullopt;
        }
        if (!(value >= low && value <= high)) {  // also rejects nan
            std::ostringstream range;
            range << "must be between " << low << " and " << high;
            Fail(error, *node, key, range.str());
            return std::nullopt;
        }
        return value;
    }
    std::optional<bool> Bool(std::string_view key, std::string* error) const {
        const toml::node* node = table_.get(key);
        if (node == nullptr) return std::nullopt;
        if (const auto* value = node->as_boolean()) return value->get();
        Fail(error, *node, key, "must be true or false");
        return std::nullopt;
    }
    std::optional<std::string> String(std::string_view key, std::string* error) const {
        const toml::node* node = table_.get(key);
        if (node == nullptr) return std::nullopt;
        if (const auto* value = node->as_string()) return value->get();
        Fail(error, *node, key, "must be a string");
        return std::nullopt;
    }
    // "file:LINE: element N" with the line of the key itself (where the administrator looks), or of the
    // [[element]] header when the key is absent.
    std::string Where(std::string_view key = {}) const {
        const toml::node* node = key.empty() ? nullptr : table_.get(key);
        const toml::source_region& region = node ? node->source() : table_.source();
        std::string where = source_ + ":" + Line(region) + ": element " + std::to_string(index_);
        if (node) where += ", " + std::string(key);
        return where;
    }

private:
    void Fail(std::string* error, const toml::node& node, std::string_view key, std::string_view what) const {
        if (error->empty())
            *error = source_ + ":" + Line(node.source()) + ": element " + std::to_string(index_) + ": " +
                     std::string(key) + " " + std::string(what);
    }

    const toml::table& table_;
    const std::string& source_;
    std::size_t index_;
};

base::Result<CoverElement> ParseElement(const toml::table& table, const std::string& source,
                                        std::size_t index) {
    ElementReader reader(table, source, index);
    std::string error;
    CoverElement element;
    const std::string kind = reader.String("kind", &error).value_or("text");
    if (!error.empty()) return MakeError(ErrorCode::kMalformed, error);
    std::vector<std::string_view> allowed = {"kind", "x", "y"};
    if (kind == "text") {
        element.kind = CoverElement::Kind::kText;
        allowed.insert(allowed.end(), {"size", "bold", "width", "height", "text"});
    } else if (kind == "box") {
        element.kind = CoverElement::Kind::kBox;
        allowed.insert(allowed.end(), {"w", "h", "thickness", "fill"});
    } else if (kind == "line") {
        element.kind = CoverElement::Kind::kLine;
        allowed.insert(allowed.end(), {"w", "h", "thickness"});
    } else {
        return MakeError(ErrorCode::kMalformed,
                         reader.Where() + ": kind '" + kind + "' is not one of text, box, line");
    }
    // Unknown keys are errors: a misspelt "bodl = true" would otherwise be ignored without a trace.
    for (const auto& [key, node] : table) {
        if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
            return MakeError(ErrorCode::kMalformed,
                             source + ":" + Line(node.source()) + ": element " + std::to_string(index) +
                                 ": '" + std::string(key.str()) + "' is not a key of a " + kind + " element");
    }
    // Millimetres: anything beyond 400 mm is off any fax page and most likely a unit mistake (points,
    // pixels).
    constexpr double kMaxMm = 400;
    element.x_mm = reader.Number("x", 0, kMaxMm, &error).value_or(0);
    element.y_mm = reader.Number("y", 0, kMaxMm, &error).value_or(0);
    if (element.kind == CoverElement::Kind::kText) {
        element.size_pt = reader.Number("size", 4, 96, &error).value_or(11);
        element.bold = reader.Bool("bold", &error).value_or(false);
        element.w_mm = reader.Number("width", 0, kMaxMm, &error).value_or(0);
        element.h_mm = reader.Number("height", 0, kMaxMm, &error).value_or(0);
        auto text = reader.String("text", &error);
        if (!error.empty()) return MakeError(ErrorCode::kMalformed, error);
        if (!text) return MakeError(ErrorCode::kMalformed, reader.Where() + ": a text element needs text");
        if (text->size() > kMaxCoverTextBytes)
            return MakeError(ErrorCode::kLimitExceeded,
                             reader.Where("text") + ": " + std::to_string(text->size()) +
                                 " bytes, more than " + std::to_string(kMaxCoverTextBytes));
        if (auto bad = ScanPlaceholders(
                *text, [](std::string_view) {}, [](std::string_view) {}))
            return MakeError(ErrorCode::kMalformed, reader.Where("text") + ": " + *bad);
        element.text = std::move(*text);
    } else {
        element.w_mm = reader.Number("w", 0, kMaxMm, &error).value_or(0);
        element.h_mm = reader.Number("h", 0, kMaxMm, &error).value_or(0);
        element.thickness_mm = reader.Number("thickness", 0.05, 20, &error).value_or(0.3);
        if (element.kind == CoverElement::Kind::kBox)
            element.fill = reader.Bool("fill", &error).value_or(false);
    }
    if (!error.empty()) return MakeError(ErrorCode::kMalformed, error);
    if (element.kind == CoverElement::Kind::kLine && (element.w_mm > 0) == (element.h_mm > 0))
        return MakeError(ErrorCode::kMalformed,
                         reader.Where() + ": a line is horizontal (w only) or vertical (h only)");
    if (element.kind == CoverElement::Kind::kBox && (element.w_mm <= 0 || element.h_mm <= 0))
        return MakeError(ErrorCode::kMalformed, reader.Where() + ": a box needs w and h");
    return element;
}

// Names and languages become parts of file names: only letters, digits, '-' and '_' (no '/', no "..").
bool IsSafeName(std::string_view name, std::size_t max_size) {
    if (name.empty() || name.size() > max_size) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
    });
}

// "it_IT.UTF-8" and "it-IT" both become "it-it"; the result is tried before its primary subtag "it".
std::string NormalizeLanguage(std::string_view language) {
    language = language.substr(0, language.find_first_of(".@"));
    std::string out;
    for (char c : language) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        out += c == '_' ? '-' : c;
    }
    return out;
}

base::Result<std::string> ReadBounded(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kIo, "cannot read cover template " + path.string());
    // One byte more than allowed tells "exactly at the limit" from "over it" without trusting the file size.
    std::string text(kMaxCoverTemplateBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return MakeError(ErrorCode::kIo, "cannot read cover template " + path.string());
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxCoverTemplateBytes)
        return MakeError(ErrorCode::kLimitExceeded, path.string() + ": a cover template may have at most " +
                                                        std::to_string(kMaxCoverTemplateBytes) + " bytes");
    return text;
}

int Px(double mm, int dpi) { return static_cast<int>(std::lround(mm / 25.4 * dpi)); }

void FillRect(BilevelPage& page, int x0, int y0, int x1, int y1) {
    x0 = std::clamp(x0, 0, page.width);
    x1 = std::clamp(x1, 0, page.width);
    y0 = std::clamp(y0, 0, page.height);
    y1 = std::clamp(y1, 0, page.height);
    for (int y = y0; y < y1; ++y) {
        std::uint8_t* row = page.bits.data() + static_cast<std::size_t>(y) * page.Stride();
        for (int x = x0; x < x1; ++x) row[x / 8] |= static_cast<std::uint8_t>(0x80 >> (x % 8));
    }
}

std::size_t CodePointLength(std::string_view text, std::size_t i) {
    std::size_t n = 1;
    while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
    return n;
}

// Greedy word wrap inside `width` pixels; '\n' starts a new line; a word wider than the line is broken
// between characters so nothing runs past the right edge of its area.
std::vector<std::string> Wrap(std::string_view text, const TextRasterizer& font, int width) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string_view paragraph = text.substr(start, end - start);
        std::string line;
        std::size_t w = 0;
        while (w < paragraph.size()) {
            const std::size_t word_end = std::min(paragraph.find(' ', w), paragraph.size());
            std::string_view word = paragraph.substr(w, word_end - w);
            w = word_end + 1;
            if (word.empty()) continue;
            std::string candidate = line.empty() ? std::string(word) : line + " " + std::string(word);
            if (font.Measure(candidate) <= width) {
                line = std::move(candidate);
                continue;
            }
            if (!line.empty()) lines.push_back(std::exchange(line, {}));
            // Character by character, always at least one per line so every line makes progress.
            int used = 0;
            for (std::size_t i = 0; i < word.size();) {
                const std::size_t n = CodePointLength(word, i);
                const int advance = font.Measure(word.substr(i, n));
                if (!line.empty() && used + advance > width) {
                    lines.push_back(std::exchange(line, {}));
                    used = 0;
                }
                line.append(word.substr(i, n));
                used += advance;
                i += n;
            }
        }
        lines.push_back(std::move(line));
        start = end + 1;
    }
    return lines;
}

}  // namespace

const std::vector<std::string>& KnownCoverFields() { return kKnownFields; }

std::string_view BuiltInCoverTemplateText() { return kBuiltInTemplate; }

base::Result<CoverTemplate> ParseCoverTemplate(std::string_view text, const std::string& name,
                                               const std::string& source) {
    if (text.size() > kMaxCoverTemplateBytes)
        return MakeError(ErrorCode::kLimitExceeded, source + ": a cover template may have at most " +
                                                        std::to_string(kMaxCoverTemplateBytes) + " bytes");
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& error) {
        return MakeError(ErrorCode::kMalformed, source + ":" + std::to_string(error.source().begin.line) +
                                                    ":" + std::to_string(error.source().begin.column) + ": " +
                                                    std::string(error.description()));
    }
    CoverTemplate cover;
    cover.name = name;
    cover.source = source;
    cover.title = name;
    for (const auto& [key, node] : root) {
        if (key.str() != "title" && key.str() != "element")
            return MakeError(ErrorCode::kMalformed, source + ":" + Line(node.source()) + ": '" +
                                                        std::string(key.str()) +
                                                        "' is not a cover template key (title, element)");
    }
    if (const toml::node* title = root.get("title")) {
        const auto* value = title->as_string();
        if (value == nullptr || value->get().size() > 200)
            return MakeError(ErrorCode::kMalformed, source + ":" + Line(title->source()) +
                                                        ": title must be a string of up to 200 bytes");
        cover.title = value->get();
    }
    if (const toml::node* elements = root.get("element")) {
        const toml::array* array = elements->as_array();
        if (array == nullptr || !array->is_array_of_tables())
            return MakeError(ErrorCode::kMalformed, source + ":" + Line(elements->source()) +
                                                        ": element must be [[element]] tables");
        if (array->size() > kMaxCoverElements)
            return MakeError(ErrorCode::kLimitExceeded, source + ": " + std::to_string(array->size()) +
                                                            " elements, more than " +
                                                            std::to_string(kMaxCoverElements));
        for (std::size_t i = 0; i < array->size(); ++i) {
            auto element = ParseElement(*array->get(i)->as_table(), source, i + 1);
            if (!element) return tl::unexpected(element.error());
            cover.elements.push_back(std::move(*element));
        }
    }
    return cover;
}

base::Result<CoverTemplate> LoadCoverTemplate(const std::filesystem::path& dir, std::string_view name,
                                              std::string_view language) {
    if (name.empty()) name = "default";
    if (!IsSafeName(name, 64))
        return MakeError(ErrorCode::kInvalidArgument, "cover template name '" + std::string(name) +
                                                          "' may only hold letters, digits, - and _");
    std::vector<std::string> candidates;
    if (!language.empty()) {
        const std::string full = NormalizeLanguage(language);
        if (!IsSafeName(full, 35))
            return MakeError(ErrorCode::kInvalidArgument,
                             "language '" + std::string(language) + "' is not a language tag");
        std::vector<std::string> tags = {full};
        if (const std::size_t dash = full.find('-'); dash != std::string::npos && dash > 0)
            tags.push_back(full.substr(0, dash));
        for (const std::string& tag : tags) {
            candidates.push_back(std::string(name) + "_" + tag);
            candidates.push_back(tag + "_" + std::string(name));
        }
    }
    candidates.emplace_back(name);
    if (!dir.empty()) {
        for (const std::string& candidate : candidates) {
            const std::filesystem::path path = dir / (candidate + ".toml");
            std::error_code ec;
            if (!std::filesystem::is_regular_file(path, ec)) continue;
            auto text = ReadBounded(path);
            if (!text) return tl::unexpected(text.error());
            return ParseCoverTemplate(*text, std::string(name), path.string());
        }
    }
    if (name == "default") return ParseCoverTemplate(kBuiltInTemplate, "default", "built-in default");
    return MakeError(ErrorCode::kNotFound,
                     "no cover template '" + std::string(name) + "' in " +
                         (dir.empty() ? std::string("(no template directory)") : dir.string()));
}

base::Result<BilevelPage> RenderCoverPage(const CoverTemplate& cover, const CoverFields& fields,
                                          Resolution resolution, PaperSize paper) {
    for (const auto& [key, value] : fields.values) {
        if (value.size() > kMaxCoverFieldBytes)
            return MakeError(ErrorCode::kLimitExceeded,
                             "cover field " + key + " has " + std::to_string(value.size()) +
                                 " bytes, more than " + std::to_string(kMaxCoverFieldBytes));
    }
    const int y_dpi = YDpi(resolution);
    BilevelPage page;
    page.width = kFaxWidth;
    page.height = PageLines(resolution, paper);
    page.bits.assign(page.Stride() * static_cast<std::size_t>(page.height), 0);

    // One rasterizer per (bold, size): opening a FreeType face costs more than drawing a line with it.
    std::map<std::pair<bool, double>, TextRasterizer> fonts;
    for (const CoverElement& element : cover.elements) {
        const int x0 = Px(element.x_mm, kFaxXDpi);
        const int y0 = Px(element.y_mm, y_dpi);
        if (element.kind != CoverElement::Kind::kText) {
            const int x1 = Px(element.x_mm + element.w_mm, kFaxXDpi);
            const int y1 = Px(element.y_mm + element.h_mm, y_dpi);
            const int tx = std::max(1, Px(element.thickness_mm, kFaxXDpi));
            const int ty = std::max(1, Px(element.thickness_mm, y_dpi));
            if (element.kind == CoverElement::Kind::kLine) {
                // The line's top (or left) edge is at y (or x); it grows down (or right) by its thickness.
                if (element.w_mm > 0)
                    FillRect(page, x0, y0, x1, y0 + ty);
                else
                    FillRect(page, x0, y0, x0 + tx, y1);
            } else if (element.fill) {
                FillRect(page, x0, y0, x1, y1);
            } else {
                FillRect(page, x0, y0, x1, y0 + ty);
                FillRect(page, x0, y1 - ty, x1, y1);
                FillRect(page, x0, y0, x0 + tx, y1);
                FillRect(page, x1 - tx, y0, x1, y1);
            }
            continue;
        }
        const auto key = std::make_pair(element.bold, element.size_pt);
        auto font = fonts.find(key);
        if (font == fonts.end()) {
            auto opened = TextRasterizer::Open(element.bold ? kDefaultBoldFont : kDefaultFont,
                                               element.size_pt, kFaxXDpi, y_dpi);
            if (!opened) return tl::unexpected(opened.error());
            font = fonts.emplace(key, std::move(*opened)).first;
        }
        std::string text;
        const auto missing = ScanPlaceholders(
            element.text, [&](std::string_view literal) { text.append(literal); },
            [&](std::string_view field) {
                if (auto value = fields.values.find(std::string(field)); value != fields.values.end())
                    text += CleanValue(value->second);
            });
        if (missing) return MakeError(ErrorCode::kInvalidArgument, cover.source + ": " + *missing);
        // Without a width the text may run to 10 mm before the right edge.
        const int width = element.w_mm > 0 ? Px(element.w_mm, kFaxXDpi) : page.width - Px(10, kFaxXDpi) - x0;
        const int bottom =
            element.h_mm > 0 ? std::min(page.height, y0 + Px(element.h_mm, y_dpi)) : page.height;
        const TextRasterizer& rasterizer = font->second;
        int top = y0;
        for (const std::string& line : Wrap(text, rasterizer, std::max(1, width))) {
            // Lines that do not fit the area are left out whole rather than cut through the middle.
            if (top + rasterizer.LineHeight() > bottom) break;
            rasterizer.Draw(page, x0, top + rasterizer.Ascent(), line);
            top += rasterizer.LineHeight();
        }
    }
    return page;
}

}  // namespace faxd::render
