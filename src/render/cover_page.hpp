// Cover pages from templates: small TOML files an administrator drops into a directory (no rebuild), with a
// built-in default compiled in so faxd sends a cover page even without a template directory.
// The format is documented in docs/cover-pages.md; in short:
//
//   title = "Urgent"                       # shown when users pick a template
//   [[element]]
//   kind = "text"                          # "text", "box" or "line"
//   x = 20                                 # millimetres from the left edge of the page
//   y = 30                                 # millimetres from the top edge to the top of the first line
//   size = 12                              # points (default 11)
//   bold = true                            # default false
//   width = 170                            # wrap inside this many mm (default: up to 10 mm from the right
//   edge) height = 80                            # optional: lines that do not fit are left out text = "To:
//   {recipient_name}\n{comments}"
//
//   [[element]]
//   kind = "box"                           # an outline (or filled with fill = true), x/y/w/h in mm
//   x = 15
//   y = 170
//   w = 185
//   h = 95
//   thickness = 0.3                        # mm, default 0.3
//
//   [[element]]
//   kind = "line"                          # horizontal (w only) or vertical (h only)
//   x = 20
//   y = 40
//   w = 175
//   thickness = 0.8
//
// Files are `<name>.toml`, localized variants `<name>_<lang>.toml` (`urgent_it.toml`); `<lang>_<name>.toml`
// (`it_urgent.toml`, the spelling) is accepted too.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "render/fax_page.hpp"

namespace faxd::render {

inline constexpr const char* kDefaultBoldFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";

// Bounds on what a template file may hold: templates come from disk, and a cover page is one page.
inline constexpr std::size_t kMaxCoverTemplateBytes = 64 * 1024;
inline constexpr std::size_t kMaxCoverElements = 200;
inline constexpr std::size_t kMaxCoverTextBytes = 4096;   // per text element, before placeholders are filled
inline constexpr std::size_t kMaxCoverFieldBytes = 8192;  // per field value (comments are the long one)

// Placeholder names are the keys: "sender_name", "subject", "comments", ... (see KnownCoverFields()).
// Fields a template uses but the caller leaves out are drawn as empty text.
struct CoverFields {
    std::map<std::string, std::string> values;
};

struct CoverElement {
    enum class Kind { kText, kBox, kLine };
    Kind kind = Kind::kText;
    double x_mm = 0;
    double y_mm = 0;
    double w_mm = 0;  // box and line size; for text the wrap width (0 = up to the right margin)
    double h_mm = 0;  // box and line size; for text the height limit (0 = down to the bottom of the page)
    double size_pt = 11;
    bool bold = false;
    bool fill = false;
    double thickness_mm = 0.3;
    std::string text;  // with {placeholders}, checked when the template was loaded
};

struct CoverTemplate {
    std::string name;
    std::string title;
    std::string source;  // the file it came from, or "built-in default"
    std::vector<CoverElement> elements;
};

// The placeholder names templates may use. An unknown name is an error when the template is loaded, so a typo
// shows up when the administrator adds the file, not as "{recipent_name}" on a customer's fax.
const std::vector<std::string>& KnownCoverFields();

// The compiled-in default template (English), also the example in docs/cover-pages.md.
std::string_view BuiltInCoverTemplateText();

// Parses one template; `source` names it in errors ("dir/urgent.toml:12: ...").
base::Result<CoverTemplate> ParseCoverTemplate(std::string_view text, const std::string& name,
                                               const std::string& source);

// Finds the template `name` (empty means "default") for a sender whose language is `language` (empty, "it",
// "pt-BR", or a POSIX locale like "it_IT.UTF-8"). Tried in order: <name>_<lang>.toml, <lang>_<name>.toml for
// the full language tag and then its primary subtag, then <name>.toml. If nothing matches, "default" falls
// back to the built-in template; any other name is kNotFound (a misspelt --cover must not silently send the
// default). `dir` may be empty or missing: then only the built-in default exists.
base::Result<CoverTemplate> LoadCoverTemplate(const std::filesystem::path& dir, std::string_view name,
                                              std::string_view language);

// Draws the cover page: kFaxWidth wide, PageLines(resolution, paper) tall. Positions are millimetres from the
// top-left corner converted with kFaxXDpi across and YDpi(resolution) down (rounded to the nearest pixel); a
// text line's top is at y and its baseline Ascent() rows below. Anything outside the page is clipped.
base::Result<BilevelPage> RenderCoverPage(const CoverTemplate& cover, const CoverFields& fields,
                                          Resolution resolution, PaperSize paper);

}  // namespace faxd::render
