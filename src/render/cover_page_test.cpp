#include "render/cover_page.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "render/header_line.hpp"

namespace faxd::render {
namespace {

namespace fs = std::filesystem;

constexpr Resolution kResolutions[] = {Resolution::kStandard, Resolution::kFine, Resolution::kSuperfine};

int Px(double mm, int dpi) { return static_cast<int>(std::lround(mm / 25.4 * dpi)); }

bool IsBlack(const BilevelPage& page, int x, int y) {
    return page.bits[static_cast<std::size_t>(y) * page.Stride() + x / 8] & (0x80 >> (x % 8));
}

int BlackPixels(const BilevelPage& page, int x0, int y0, int x1, int y1) {
    int count = 0;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) count += IsBlack(page, x, y);
    return count;
}
int BlackPixels(const BilevelPage& page) { return BlackPixels(page, 0, 0, page.width, page.height); }

// A directory of its own per test, removed afterwards.
class CoverPageTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("faxd_cover_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path Write(const std::string& file, const std::string& text) {
        const fs::path path = dir_ / file;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    fs::path dir_;
};

TEST_F(CoverPageTest, BuiltInDefaultRendersAtEveryResolution) {
    // No template directory at all: the compiled-in default still works.
    auto cover = LoadCoverTemplate({}, "default", "it");
    ASSERT_TRUE(cover) << cover.error().ToString();
    EXPECT_EQ(cover->source, "built-in default");
    EXPECT_GT(cover->elements.size(), 5u);
    CoverFields fields;
    fields.values = {{"sender_name", "Anna Rossi"}, {"recipient_name", "Bob"},
                     {"subject", "Offer"},          {"pages", "3"},
                     {"date", "2026-11-22"},        {"comments", "Please call back."}};
    for (Resolution resolution : kResolutions) {
        for (PaperSize paper : {PaperSize::kA4, PaperSize::kLetter}) {
            auto page = RenderCoverPage(*cover, fields, resolution, paper);
            ASSERT_TRUE(page) << page.error().ToString();
            EXPECT_EQ(page->width, kFaxWidth);
            EXPECT_EQ(page->height, PageLines(resolution, paper));
            EXPECT_EQ(page->bits.size(), page->Stride() * page->height);
            const int black = BlackPixels(*page);
            EXPECT_GT(black, 2000);
            EXPECT_LT(black, kFaxWidth * page->height / 10);  // a cover page is mostly white
            // Nothing in the last 9 mm: the built-in layout fits Letter too.
            EXPECT_EQ(BlackPixels(*page, 0, page->height - Px(9, YDpi(resolution)), kFaxWidth, page->height),
                      0);
        }
    }
    // The same template on a missing directory is the same built-in.
    EXPECT_TRUE(LoadCoverTemplate(dir_ / "does-not-exist", "", ""));
}

TEST_F(CoverPageTest, PlaceholdersAreFilled) {
    auto cover =
        ParseCoverTemplate("[[element]]\nx = 20\ny = 30\nsize = 12\ntext = \"{subject}\"\n", "t", "t.toml");
    ASSERT_TRUE(cover) << cover.error().ToString();
    CoverFields fields;
    fields.values["subject"] = "Quarterly report 2026";
    for (Resolution resolution : kResolutions) {
        auto page = RenderCoverPage(*cover, fields, resolution, PaperSize::kA4);
        ASSERT_TRUE(page) << page.error().ToString();
        // The same text drawn directly where the template says: identical bitmaps prove the substitution.
        auto font = TextRasterizer::Open(kDefaultFont, 12, kFaxXDpi, YDpi(resolution));
        ASSERT_TRUE(font);
        BilevelPage expected;
        expected.width = kFaxWidth;
        expected.height = PageLines(resolution, PaperSize::kA4);
        expected.bits.assign(expected.Stride() * expected.height, 0);
        font->Draw(expected, Px(20, kFaxXDpi), Px(30, YDpi(resolution)) + font->Ascent(),
                   "Quarterly report 2026");
        EXPECT_GT(BlackPixels(expected), 100);
        EXPECT_TRUE(page->bits == expected.bits) << "resolution " << static_cast<int>(resolution);
    }
    // A field the caller left out is empty text, not the placeholder.
    auto blank = RenderCoverPage(*cover, CoverFields{}, Resolution::kFine, PaperSize::kA4);
    ASSERT_TRUE(blank);
    EXPECT_EQ(BlackPixels(*blank), 0);
}

TEST_F(CoverPageTest, DoubledBracesAreLiteralAndValuesAreNotExpandedAgain) {
    auto braces = ParseCoverTemplate("[[element]]\ntext = \"{{subject}}\"\n", "t", "t.toml");
    auto field = ParseCoverTemplate("[[element]]\ntext = \"{subject}\"\n", "t", "t.toml");
    ASSERT_TRUE(braces && field);
    CoverFields literal;
    literal.values["subject"] = "{subject}";  // a user's value is drawn as it is
    auto a = RenderCoverPage(*braces, CoverFields{}, Resolution::kFine, PaperSize::kA4);
    auto b = RenderCoverPage(*field, literal, Resolution::kFine, PaperSize::kA4);
    ASSERT_TRUE(a && b);
    EXPECT_GT(BlackPixels(*a), 50);
    EXPECT_TRUE(a->bits == b->bits);
}

TEST_F(CoverPageTest, LocalizedLookupFallsBackToUnlocalizedThenBuiltIn) {
    Write("default.toml", "title = \"Plain\"\n");
    Write("default_it.toml", "title = \"Italiano\"\n");
    Write("urgent.toml", "title = \"Urgent\"\n");
    Write("fr_urgent.toml", "title = \"Urgent FR\"\n");  // the issue's <lang>_<name> spelling
    Write("urgent_pt-br.toml", "title = \"Urgente BR\"\n");
    struct Case {
        const char* name;
        const char* language;
        const char* title;
    } cases[] = {
        {"default", "it", "Italiano"}, {"default", "it_IT.UTF-8", "Italiano"},
        {"", "IT-ch", "Italiano"},     {"default", "de", "Plain"},
        {"default", "", "Plain"},      {"urgent", "fr-CA", "Urgent FR"},
        {"urgent", "en", "Urgent"},    {"urgent", "pt_BR", "Urgente BR"},
        {"urgent", "pt", "Urgent"},
    };
    for (const Case& c : cases) {
        auto cover = LoadCoverTemplate(dir_, c.name, c.language);
        ASSERT_TRUE(cover) << c.name << "/" << c.language << ": " << cover.error().ToString();
        EXPECT_EQ(cover->title, c.title) << c.name << "/" << c.language;
    }
    EXPECT_EQ(LoadCoverTemplate(dir_, "urgent", "fr")->source, (dir_ / "fr_urgent.toml").string());
    EXPECT_EQ(LoadCoverTemplate(dir_, "urgent", "fr")->name, "urgent");

    // A misspelt name is an error, not silently the default; "default" alone falls back to the built-in.
    auto missing = LoadCoverTemplate(dir_, "urgnet", "it");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, base::ErrorCode::kNotFound);
    fs::remove(dir_ / "default.toml");
    EXPECT_EQ(LoadCoverTemplate(dir_, "default", "de")->source, "built-in default");
    EXPECT_EQ(LoadCoverTemplate(dir_, "default", "it")->title, "Italiano");

    // Names and languages never reach outside the directory.
    for (auto [name, language] :
         {std::pair{"../default", ""}, std::pair{"a/b", ""}, std::pair{"default", "../it"}}) {
        auto bad = LoadCoverTemplate(dir_, name, language);
        ASSERT_FALSE(bad) << name << "/" << language;
        EXPECT_EQ(bad.error().code, base::ErrorCode::kInvalidArgument);
    }
}

TEST_F(CoverPageTest, TemplateDroppedIntoTheDirectoryIsFoundAndDrawn) {
    Write("boxed.toml", R"(title = "Boxed"
[[element]]
kind = "box"
x = 10
y = 10
w = 50
h = 20
thickness = 1
[[element]]
kind = "box"
x = 100
y = 10
w = 10
h = 10
fill = true
[[element]]
kind = "line"
x = 10
y = 50
h = 30.5
thickness = 0.5
)");
    auto cover = LoadCoverTemplate(dir_, "boxed", "en");
    ASSERT_TRUE(cover) << cover.error().ToString();
    EXPECT_EQ(cover->title, "Boxed");
    ASSERT_EQ(cover->elements.size(), 3u);
    auto page = RenderCoverPage(*cover, CoverFields{}, Resolution::kFine, PaperSize::kA4);
    ASSERT_TRUE(page);
    const int y_dpi = YDpi(Resolution::kFine);
    // The outline: corners black, centre white.
    EXPECT_TRUE(IsBlack(*page, Px(10, kFaxXDpi), Px(10, y_dpi)));
    EXPECT_TRUE(IsBlack(*page, Px(60, kFaxXDpi) - 1, Px(30, y_dpi) - 1));
    EXPECT_FALSE(IsBlack(*page, Px(35, kFaxXDpi), Px(20, y_dpi)));
    // The filled square: every pixel of 10 x 10 mm.
    const int square = (Px(110, kFaxXDpi) - Px(100, kFaxXDpi)) * (Px(20, y_dpi) - Px(10, y_dpi));
    EXPECT_EQ(BlackPixels(*page, Px(100, kFaxXDpi), Px(10, y_dpi), Px(110, kFaxXDpi), Px(20, y_dpi)), square);
    // The vertical line: 0.5 mm wide, 30.5 mm tall.
    EXPECT_EQ(BlackPixels(*page, 0, Px(50, y_dpi), kFaxWidth, Px(80.5, y_dpi)),
              Px(0.5, kFaxXDpi) * (Px(80.5, y_dpi) - Px(50, y_dpi)));
}

TEST_F(CoverPageTest, MalformedTemplatesNameTheFileAndLine) {
    struct Case {
        const char* text;
        const char* expected;  // in the message, after the file name
    } cases[] = {
        {"title = \"x\"\n[[element]\n", ".toml:2:"},
        {"title = \"x\"\n\n[[element]]\ntext = \"Dear {recipent_name}\"\n",
         ".toml:4: element 1, text: unknown "
         "placeholder {recipent_name}"},
        {"[[element]]\ntext = \"{subject\"\n", ".toml:2: element 1, text: '{' without"},
        {"[[element]]\ntext = \"a\"\n[[element]]\ntext = \"b\"\nbodl = true\n", ".toml:5: element 2: 'bodl'"},
        {"[[element]]\nkind = \"circle\"\n", ".toml:1: element 1: kind 'circle'"},
        {"[[element]]\ntext = \"a\"\nsize = 500\n", ".toml:3: element 1: size must be between 4 and 96"},
        {"[[element]]\ntext = \"a\"\nx = \"left\"\n", ".toml:3: element 1: x must be a number"},
        {"[[element]]\nsize = 10\n", "element 1: a text element needs text"},
        {"[[element]]\nkind = \"line\"\nw = 10\nh = 10\n", "a line is horizontal"},
        {"[[element]]\nkind = \"box\"\nw = 10\n", "a box needs w and h"},
        {"title = 3\n", ".toml:1: title must be a string"},
        {"titel = \"x\"\n", ".toml:1: 'titel' is not a cover template key"},
        {"element = 3\n", "element must be [[element]] tables"},
    };
    for (const Case& c : cases) {
        const fs::path path = Write("bad.toml", c.text);
        auto cover = LoadCoverTemplate(dir_, "bad", "");
        ASSERT_FALSE(cover) << c.text;
        EXPECT_NE(cover.error().message.find(path.string()), std::string::npos) << cover.error().message;
        EXPECT_NE(cover.error().message.find(c.expected), std::string::npos) << cover.error().message;
    }
}

TEST_F(CoverPageTest, OversizedTemplatesAndFieldsAreRejected) {
    const fs::path big =
        Write("big.toml", "title = \"x\"\n# " + std::string(kMaxCoverTemplateBytes, 'x') + "\n");
    auto too_big = LoadCoverTemplate(dir_, "big", "");
    ASSERT_FALSE(too_big);
    EXPECT_EQ(too_big.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_NE(too_big.error().message.find(big.string()), std::string::npos);

    std::string many;
    for (std::size_t i = 0; i <= kMaxCoverElements; ++i) many += "[[element]]\ntext = \"a\"\n";
    const fs::path many_path = Write("many.toml", many);
    auto too_many = LoadCoverTemplate(dir_, "many", "");
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_NE(too_many.error().message.find(many_path.string()), std::string::npos);

    Write("long.toml", "[[element]]\ntext = \"" + std::string(kMaxCoverTextBytes + 1, 'a') + "\"\n");
    auto too_long = LoadCoverTemplate(dir_, "long", "");
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_NE(too_long.error().message.find("long.toml:2: element 1, text"), std::string::npos);

    auto cover = LoadCoverTemplate({}, "default", "");
    ASSERT_TRUE(cover);
    CoverFields fields;
    fields.values["comments"] = std::string(kMaxCoverFieldBytes + 1, 'c');
    auto page = RenderCoverPage(*cover, fields, Resolution::kFine, PaperSize::kA4);
    ASSERT_FALSE(page);
    EXPECT_EQ(page.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_NE(page.error().message.find("comments"), std::string::npos);
}

TEST_F(CoverPageTest, CommentsWrapWithinTheWidthAndHeight) {
    auto cover = ParseCoverTemplate(
        "[[element]]\nx = 30\ny = 40\nwidth = 60\nsize = 11\ntext = \"Comments: {comments}\"\n"
        "[[element]]\nx = 30\ny = 150\nwidth = 60\nheight = 20\ntext = \"{comments}\"\n",
        "wrap", "wrap.toml");
    ASSERT_TRUE(cover) << cover.error().ToString();
    CoverFields fields;
    fields.values["comments"] =
        "Please find attached the signed contract for the new office in Milan. Call me back before Friday "
        "if anything is missing.\r\nThanks,\tAnna. Reference: "
        "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const Resolution resolution = Resolution::kFine;
    const int y_dpi = YDpi(resolution);
    auto page = RenderCoverPage(*cover, fields, resolution, PaperSize::kA4);
    ASSERT_TRUE(page) << page.error().ToString();
    auto font = TextRasterizer::Open(kDefaultFont, 11, kFaxXDpi, y_dpi);
    ASSERT_TRUE(font);
    const int left = Px(30, kFaxXDpi);
    const int right = left + Px(60, kFaxXDpi);
    const int top = Px(40, y_dpi);
    // Everything of the first block lies inside its 60 mm column...
    EXPECT_EQ(BlackPixels(*page, 0, 0, left, Px(140, y_dpi)), 0);
    EXPECT_EQ(BlackPixels(*page, right, 0, kFaxWidth, Px(140, y_dpi)), 0);
    // ... and runs over several lines: the text is about four columns wide, plus a hard break.
    int last_row = 0;
    for (int y = top; y < Px(140, y_dpi); ++y)
        if (BlackPixels(*page, left, y, right, y + 1) > 0) last_row = y;
    EXPECT_GT(last_row - top, 5 * font->LineHeight());
    // The second block has a 20 mm height: only the lines that fit are drawn, none below it.
    const int second_top = Px(150, y_dpi);
    EXPECT_GT(BlackPixels(*page, left, second_top, right, second_top + Px(20, y_dpi)), 100);
    EXPECT_EQ(BlackPixels(*page, 0, second_top + Px(20, y_dpi), kFaxWidth, page->height), 0);
}

}  // namespace
}  // namespace faxd::render
