#include "render/text_pages.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <optional>

#include "render/subprocess.hpp"

namespace faxd::render {
namespace {

using Pages = std::vector<std::vector<std::string>>;

bool Black(const BilevelPage& page, int x, int y) {
    return (page.bits[static_cast<std::size_t>(y) * page.Stride() + static_cast<std::size_t>(x / 8)] &
            (0x80 >> (x % 8))) != 0;
}

int BlackPixels(const BilevelPage& page, int from_row, int to_row, int from_x, int to_x) {
    int count = 0;
    for (int y = from_row; y < to_row; ++y)
        for (int x = from_x; x < to_x; ++x)
            if (Black(page, x, y)) ++count;
    return count;
}

class TextPagesTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto font = TextRasterizer::Open(kTextFont, kTextPointSize, kFaxXDpi, YDpi(Resolution::kFine));
        ASSERT_TRUE(font) << font.error().ToString();
        font_.emplace(std::move(*font));
        const TextBox box = TextArea(layout_, Resolution::kFine, PaperSize::kA4);
        lines_per_page_ = (box.bottom - box.top) / font_->LineHeight();
        BilevelPage nowhere;
        columns_ = (box.right - box.left) / font_->Draw(nowhere, 0, 0, "0");
    }

    base::Result<Pages> Paginate(std::string_view text) {
        return PaginateText(text, layout_, Resolution::kFine, PaperSize::kA4, *font_);
    }

    static std::string Lines(int count) {
        std::string text;
        for (int i = 1; i <= count; ++i) text += "Line " + std::to_string(i) + "\n";
        return text;
    }

    TextLayout layout_;
    std::optional<TextRasterizer> font_;
    int lines_per_page_ = 0;
    int columns_ = 0;
};

TEST_F(TextPagesTest, TenPointMonospaceKeepsEightyColumnsOnOneLine) {
    EXPECT_GE(columns_, 80);
    EXPECT_LE(columns_, 90);
    // About 65 lines on an A4 page, as a typewriter page has.
    EXPECT_GE(lines_per_page_, 60);
    EXPECT_LE(lines_per_page_, 72);
    auto pages = Paginate(std::string(80, 'x'));
    ASSERT_TRUE(pages);
    ASSERT_EQ(pages->size(), 1u);
    EXPECT_EQ((*pages)[0], std::vector<std::string>{std::string(80, 'x')});
}

TEST_F(TextPagesTest, PageCountFollowsTheLineCount) {
    for (auto [lines, expected] : {std::pair{1, 1},
                                   {lines_per_page_, 1},
                                   {lines_per_page_ + 1, 2},
                                   {3 * lines_per_page_, 3},
                                   {3 * lines_per_page_ + 1, 4}}) {
        auto pages = Paginate(Lines(lines));
        ASSERT_TRUE(pages) << pages.error().ToString();
        EXPECT_EQ(static_cast<int>(pages->size()), expected) << lines << " lines";
        EXPECT_EQ(pages->back().back(), "Line " + std::to_string(lines));
    }
}

TEST_F(TextPagesTest, FormFeedBreaksThePage) {
    auto pages = Paginate("one\ftwo");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{"one"}, {"two"}}));
    // Two form feeds leave a blank page between; one at the start makes a blank first page.
    pages = Paginate("one\n\f\ftwo");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{"one"}, {}, {"two"}}));
    pages = Paginate("\fone");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{}, {"one"}}));
    // Trailing form feeds and blank lines make no page: spooled text files often end with one.
    pages = Paginate("one\n\n\f\n\n\f");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{"one"}}));
    // A form feed right after a full page does not add a blank page.
    pages = Paginate(Lines(lines_per_page_) + "\fnext");
    ASSERT_TRUE(pages);
    ASSERT_EQ(pages->size(), 2u);
    EXPECT_EQ((*pages)[1], std::vector<std::string>{"next"});
}

TEST_F(TextPagesTest, EveryLineEndingConvention) {
    auto pages = Paginate("crlf\r\ncr\rlf\n\r\nlast");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{"crlf", "cr", "lf", "", "last"}}));
}

TEST_F(TextPagesTest, LongLinesWrapAtWordBoundaries) {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "word" + std::to_string(i % 10) + " ";
    auto pages = Paginate(text);
    ASSERT_TRUE(pages);
    ASSERT_EQ(pages->size(), 1u);
    const auto& lines = (*pages)[0];
    ASSERT_GE(lines.size(), 4u);
    std::string joined;
    for (const auto& line : lines) {
        EXPECT_LE(static_cast<int>(line.size()), columns_);
        // Whole words only: every line starts a word and ends one.
        EXPECT_EQ(line.substr(0, 4), "word");
        EXPECT_NE(line.back(), ' ');
        EXPECT_EQ(line.size() % 6, 5u) << line;
        joined += line + " ";
    }
    EXPECT_EQ(joined, text);
    // The first line is as full as whole words allow.
    EXPECT_GT(static_cast<int>(lines[0].size()) + 6, columns_);
}

TEST_F(TextPagesTest, OverlongWordsAreCut) {
    auto pages = Paginate("short " + std::string(200, 'x'));
    ASSERT_TRUE(pages);
    const auto& lines = (*pages)[0];
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "short");
    EXPECT_EQ(lines[1], std::string(static_cast<std::size_t>(columns_), 'x'));
    EXPECT_EQ(lines[1].size() + lines[2].size() + lines[3].size(), 200u);
}

TEST_F(TextPagesTest, TabsStopEveryEightColumns) {
    auto pages = Paginate("a\tb\n1234567\tc\n12345678\td\n\tindented\nx\t\ty");
    ASSERT_TRUE(pages);
    EXPECT_EQ(
        *pages,
        (Pages{{"a       b", "1234567 c", "12345678        d", "        indented", "x               y"}}));
    TextLayout four = layout_;
    four.tab_stop = 4;
    pages = PaginateText("a\tb", four, Resolution::kFine, PaperSize::kA4, *font_);
    ASSERT_TRUE(pages);
    EXPECT_EQ((*pages)[0][0], "a   b");
}

TEST_F(TextPagesTest, ControlCharactersAreDroppedAndBadBytesShown) {
    // BEL, DEL, ESC, VT, a C1 control (U+0085 in UTF-8) and the byte order mark draw nothing.
    auto pages = Paginate(
        "\xEF\xBB\xBF"
        "a\x07"
        "b\x7F"
        "c\x1B"
        "d\v"
        "e\xC2\x85"
        "f");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{"abcdef"}}));
    pages = Paginate("bad \xFF byte");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, (Pages{{"bad \xEF\xBF\xBD byte"}}));
}

TEST_F(TextPagesTest, Latin1IsConvertedToUtf8) {
    const std::string latin1 =
        "Gr\xFC\xDF"
        "e aus K\xF6ln, 5 \xA7 \xE9t\xE9";
    const std::string utf8 = "Grüße aus Köln, 5 § été";
    EXPECT_FALSE(IsValidUtf8(latin1));
    EXPECT_TRUE(IsValidUtf8(utf8));
    EXPECT_EQ(Latin1ToUtf8(latin1), utf8);
    EXPECT_EQ(Latin1ToUtf8("plain ASCII"), "plain ASCII");
    auto from_latin1 = LayOutText(Latin1ToUtf8(latin1), layout_, Resolution::kFine, PaperSize::kA4, *font_);
    auto from_utf8 = LayOutText(utf8, layout_, Resolution::kFine, PaperSize::kA4, *font_);
    ASSERT_TRUE(from_latin1 && from_utf8);
    ASSERT_EQ(from_latin1->size(), 1u);
    EXPECT_EQ((*from_latin1)[0].bits, (*from_utf8)[0].bits);
    // Unconverted, the Latin-1 letters would be malformed UTF-8 and print as replacement characters.
    auto raw = LayOutText(latin1, layout_, Resolution::kFine, PaperSize::kA4, *font_);
    ASSERT_TRUE(raw);
    EXPECT_NE((*raw)[0].bits, (*from_utf8)[0].bits);
}

TEST_F(TextPagesTest, TextWithNothingVisibleIsAnError) {
    for (std::string_view text : {"", "\n\n\r\n", "\f\f", "   \t  \n", "\x01\x02"}) {
        auto pages = Paginate(text);
        ASSERT_FALSE(pages);
        EXPECT_EQ(pages.error().code, base::ErrorCode::kMalformed);
    }
}

TEST_F(TextPagesTest, PageLimitIsEnforcedAndNamed) {
    layout_.max_pages = 2;
    EXPECT_TRUE(Paginate(Lines(2 * lines_per_page_)));
    auto pages = Paginate(Lines(2 * lines_per_page_ + 1));
    ASSERT_FALSE(pages);
    EXPECT_EQ(pages.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_NE(pages.error().message.find("limit of 2"), std::string::npos) << pages.error().message;
    pages = Paginate("a\fb\fc");
    ASSERT_FALSE(pages);
    EXPECT_EQ(pages.error().code, base::ErrorCode::kLimitExceeded);
}

TEST_F(TextPagesTest, BadLayoutsAreRefused) {
    layout_.tab_stop = 0;
    EXPECT_EQ(Paginate("x").error().code, base::ErrorCode::kInvalidArgument);
    layout_.tab_stop = 8;
    layout_.left_mm = 120;
    layout_.right_mm = 120;
    EXPECT_EQ(Paginate("x").error().code, base::ErrorCode::kInvalidArgument);
}

TEST(TextPagesDrawTest, PagesAreFaxWideWithInkOnlyInsideTheMargins) {
    TextLayout layout;
    // Tall accents, descenders and a line that fills the width test the clipping at every edge.
    std::string text;
    for (int i = 0; i < 70; ++i) text += "ÅÉÎ jgpq| {[(Wy)]} " + std::string(90, 'W') + "\n";
    for (Resolution resolution : {Resolution::kStandard, Resolution::kFine, Resolution::kSuperfine}) {
        for (PaperSize paper : {PaperSize::kA4, PaperSize::kLetter}) {
            auto font = TextRasterizer::Open(kTextFont, kTextPointSize, kFaxXDpi, YDpi(resolution));
            ASSERT_TRUE(font);
            auto pages = LayOutText(text, layout, resolution, paper, *font);
            ASSERT_TRUE(pages) << pages.error().ToString();
            ASSERT_GE(pages->size(), 2u);
            const TextBox box = TextArea(layout, resolution, paper);
            EXPECT_EQ(box.left, std::lround(20 / 25.4 * kFaxXDpi));
            EXPECT_EQ(box.top, std::lround(15 / 25.4 * YDpi(resolution)));
            for (const BilevelPage& page : *pages) {
                EXPECT_EQ(page.width, kFaxWidth);
                EXPECT_EQ(page.height, PageLines(resolution, paper));
                ASSERT_EQ(page.bits.size(), page.Stride() * static_cast<std::size_t>(page.height));
                const int inside = BlackPixels(page, box.top, box.bottom, box.left, box.right);
                EXPECT_GT(inside, 1000);
                EXPECT_EQ(BlackPixels(page, 0, box.top, 0, kFaxWidth), 0);
                EXPECT_EQ(BlackPixels(page, box.bottom, page.height, 0, kFaxWidth), 0);
                EXPECT_EQ(BlackPixels(page, box.top, box.bottom, 0, box.left), 0);
                EXPECT_EQ(BlackPixels(page, box.top, box.bottom, box.right, kFaxWidth), 0);
                // Text reaches close to the right margin: the width is used.
                EXPECT_GT(BlackPixels(page, box.top, box.bottom, box.right - 40, box.right), 0);
            }
        }
    }
}

TEST(TextPagesDrawTest, TextNeverStartsInsideTheHeaderBand) {
    TextLayout layout;
    layout.top_mm = 0;
    const TextBox box = TextArea(layout, Resolution::kFine, PaperSize::kA4);
    EXPECT_EQ(box.top, std::lround(4 / 25.4 * YDpi(Resolution::kFine)));
}

struct HtmlCase {
    std::string_view name;
    std::string_view html;
    std::string_view text;
};

TEST(HtmlToTextTest, Table) {
    const HtmlCase cases[] = {
        {"paragraphs", "<p>Hello</p><p>World</p>", "Hello\n\nWorld"},
        {"breaks", "a<br>b<BR/>c</br>d", "a\nb\nc\nd"},
        {"list", "<ul>\n  <li>one</li>\n  <li>  two\n</li>\n</ul>", "- one\n- two"},
        {"divs", "<div>x</div><div><div>y</div></div>z", "x\ny\nz"},
        {"heading", "<h1>Title</h1>text<h6>small</h6>", "Title\n\ntext\n\nsmall"},
        {"table", "<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>", "a b\nc"},
        {"script", "<script>document.write('<p>x</p>')</script>visible", "visible"},
        {"script any case", "<SCRIPT type=\"text/javascript\">x</ScRiPt >y", "y"},
        {"script unclosed", "before<script>never closed <p>at all", "before"},
        {"style and head",
         "<html><head><title>T</title><style>p{color:red}</style></head><body>B</body></html>", "B"},
        {"head without end", "<head><title>t</title>junk<body>text", "text"},
        {"comment", "a<!-- <p>hidden</p> -->b", "ab"},
        {"doctype", "<!DOCTYPE html><?xml version=\"1.0\"?>ok", "ok"},
        {"whitespace", "  lots   of \n\t space  ", "lots of space"},
        {"inline tags", "<b>bold</b> and <i>italic</i><span> span</span>", "bold and italic span"},
        {"entities", "&amp; &lt;tag&gt; &quot;q&quot; &#39;s&#39; &apos;", "& <tag> \"q\" 's' '"},
        {"nbsp", "a&nbsp;b",
         "a\xC2\xA0"
         "b"},
        {"numeric", "&#228;&#xE4;&#X20AC;&#8364;", "ää€€"},
        {"named", "&euro; &copy; &auml;&szlig; &ndash;", "€ © äß –"},
        {"bad numeric", "&#0;&#xD800;&#1114112;", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"not references", "&bogus; & x &amp &#; &#xZZ;", "&bogus; & x &amp &#; &#xZZ;"},
        {"soft hyphen", "ab&shy;cd", "abcd"},
        {"lone angle", "1 < 2 and 3>2, <3", "1 < 2 and 3>2, <3"},
        {"quoted >", "<a href=\"x>y\" title='a>b'>link</a> <b>bold</b>", "link bold"},
        {"apostrophe unquoted", "<img alt=don't>ok", "ok"},
        {"pre", "<p>x</p><pre>  a  b\n    c</pre>after", "x\n\n  a  b\n    c\nafter"},
        {"utf8", "<p>üñí 日本</p>", "üñí 日本"},
        {"empty", "<html><body> <p> </p> </body></html>", ""},
        {"entity whitespace", "a&#10;&#32; b", "a b"},
    };
    for (const auto& c : cases) EXPECT_EQ(HtmlToText(c.html), c.text) << c.name;
}

TEST(HtmlToTextTest, HostileInputStaysBounded) {
    // Unclosed tags, quotes and comments end at the end of the input; the output is never larger than it.
    for (std::string html : {std::string(100000, '<'), "<a title=\"" + std::string(100000, 'x'),
                             "<!--" + std::string(100000, '-'), std::string(50000, '&') + "amp;",
                             "<li>" + std::string(1000, 'x') + std::string(20000, ' ')}) {
        const std::string text = HtmlToText(html);
        EXPECT_LE(text.size(), html.size());
    }
    std::string items;
    for (int i = 0; i < 10000; ++i) items += "<li>";
    EXPECT_LE(HtmlToText(items).size(), items.size());
}

class RenderTextTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-text-test-");
        ASSERT_TRUE(dir);
        dir_.emplace(std::move(*dir));
        std::filesystem::create_directory(Scratch());
        options_.temp_parent = Scratch();
    }
    void TearDown() override { EXPECT_TRUE(std::filesystem::is_empty(Scratch())); }

    std::filesystem::path Scratch() const { return dir_->Path() / "scratch"; }
    std::filesystem::path Write(const std::string& name, const std::string& content) {
        const auto path = dir_->Path() / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    std::optional<TempDir> dir_;
    RenderOptions options_;
};

TEST_F(RenderTextTest, TextFileBecomesAFaxTiff) {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "Invoice line " + std::to_string(i) + "\t12.50 EUR\r\n";
    text += "\fLast page\f";
    const auto input = Write("letter.txt", text);
    const auto output = dir_->Path() / "letter.tif";
    auto rendered = RenderToFax(input, output, options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kText);
    EXPECT_EQ(rendered->pages, 3);
    EXPECT_EQ(rendered->bytes, std::filesystem::file_size(output));
    auto summary = InspectFaxTiff(output);
    ASSERT_TRUE(summary) << summary.error().ToString();
    ASSERT_EQ(summary->size(), 3u);
    EXPECT_GT((*summary)[0].black_ratio, 0.005);
    for (const auto& page : *summary) {
        EXPECT_EQ(page.width, kFaxWidth);
        EXPECT_EQ(page.height, PageLines(Resolution::kFine, PaperSize::kA4));
        EXPECT_EQ(page.x_dpi, kFaxXDpi);
        EXPECT_EQ(page.y_dpi, YDpi(Resolution::kFine));
        EXPECT_EQ(page.compression, 4);
        EXPECT_GT(page.black_ratio, 0.0);
        EXPECT_LT(page.black_ratio, 0.1);
    }
}

TEST_F(RenderTextTest, HtmlAndLatin1FilesBecomeFaxTiffs) {
    const auto html = Write("body.html",
                            "<!DOCTYPE html><html><head><style>p{}</style></head><body><h1>Order</h1>"
                            "<p>Please deliver&nbsp;<b>10</b> boxes &amp; invoice.</p><ul><li>A</li></ul>"
                            "<script>alert(1)</script></body></html>");
    auto rendered = RenderToFax(html, dir_->Path() / "body.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kHtml);
    EXPECT_EQ(rendered->pages, 1);
    auto summary = InspectFaxTiff(dir_->Path() / "body.tif");
    ASSERT_TRUE(summary);
    ASSERT_EQ(summary->size(), 1u);
    EXPECT_EQ((*summary)[0].width, kFaxWidth);
    EXPECT_GT((*summary)[0].black_ratio, 0.0001);

    options_.resolution = Resolution::kStandard;
    const auto latin1 = Write("note.txt",
                              "Gr\xFC\xDF"
                              "e aus K\xF6ln\n");
    rendered = RenderToFax(latin1, dir_->Path() / "note.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kTextLatin1);
    summary = InspectFaxTiff(dir_->Path() / "note.tif");
    ASSERT_TRUE(summary);
    EXPECT_EQ((*summary)[0].y_dpi, YDpi(Resolution::kStandard));
}

TEST_F(RenderTextTest, PageRangeAndErrorsNameTheFile) {
    std::string text;
    for (int i = 0; i < 5; ++i) text += "Page " + std::to_string(i + 1) + "\f";
    const auto input = Write("five.txt", text);
    options_.first_page = 2;
    options_.last_page = 3;
    auto rendered = RenderTextToFax(input, dir_->Path() / "range.tif", DocumentType::kText, options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->pages, 2);

    options_ = RenderOptions{};
    options_.temp_parent = Scratch();
    options_.max_pages = 4;
    rendered = RenderTextToFax(input, dir_->Path() / "limit.tif", DocumentType::kText, options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_EQ(rendered.error().message.rfind("five.txt: ", 0), 0u) << rendered.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir_->Path() / "limit.tif"));

    const auto empty = Write("empty.txt", "\n\n");
    rendered = RenderTextToFax(empty, dir_->Path() / "empty.tif", DocumentType::kText, options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, base::ErrorCode::kMalformed);

    const auto huge = Write("huge.txt", std::string(kMaxTextBytes + 1, 'a'));
    rendered = RenderTextToFax(huge, dir_->Path() / "huge.tif", DocumentType::kText, options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, base::ErrorCode::kLimitExceeded);

    rendered = RenderTextToFax(input, dir_->Path() / "x.tif", DocumentType::kPdf, options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, base::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace faxd::render
