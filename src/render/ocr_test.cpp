// Fax pages must stay readable: text rendered by faxd (plain text, a PDF through Ghostscript, the header
// line) is decoded from the fax TIFF again and read back by Tesseract (Debian tesseract-ocr,
// tesseract-ocr-eng). A regression that blurs, squashes, clips or mis-scales glyphs shows up here as words
// that no longer read.
//
// How the reading is judged: both texts are normalised (lower case, whitespace runs collapsed to one space),
// and every expected line must occur in the OCR output with an edit distance of at most 5% of its length
// (Levenshtein against the best-matching stretch of the output, so Tesseract may join or split lines). 5%
// allows one or two misread characters in a long sentence, which Tesseract makes on clean 200 dpi bilevel
// text now and then (a 1 read as l, a dropped comma), but not a missing word. Strings shorter than 20
// characters, such as "Page 2/3" or a fax number, must therefore read exactly: there a single wrong
// character is a wrong page number or digit. A sentence that is on no page must not match, which shows the
// comparison can fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "render/detect.hpp"
#include "render/fax_page.hpp"
#include "render/fax_tiff.hpp"
#include "render/header_line.hpp"
#include "render/pdf_pages.hpp"
#include "render/subprocess.hpp"
#include "render/text_pages.hpp"

namespace faxd::render {
namespace {

constexpr const char* kTesseract = "/usr/bin/tesseract";

// A sentence, a date with numbers, amounts with punctuation, a fax number: the things a fax has to carry.
const std::vector<std::string> kBodyLines = {
    "Invoice 2026-4711 due on 15 December",
    "The quick brown fox jumps over the lazy dog",
    "Total 1,234.56 EUR for 42 items",
    "Fax +49 30 1234567",
};
constexpr std::string_view kAbsentLine = "Payment received with many thanks";

std::string Normalize(std::string_view text) {
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// Levenshtein distance from `needle` to the closest substring of `haystack` (free start and end in the
// haystack).
int SubstringDistance(std::string_view needle, std::string_view haystack) {
    std::vector<int> previous(haystack.size() + 1, 0);
    std::vector<int> current(haystack.size() + 1);
    for (std::size_t i = 1; i <= needle.size(); ++i) {
        current[0] = static_cast<int>(i);
        for (std::size_t j = 1; j <= haystack.size(); ++j) {
            const int substitute = previous[j - 1] + (needle[i - 1] == haystack[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
        }
        std::swap(previous, current);
    }
    return *std::min_element(previous.begin(), previous.end());
}

int AllowedErrors(std::string_view normalized_line) {
    return static_cast<int>(normalized_line.size() * 5 / 100);
}

// Checks that every line reads in `ocr_text` and prints the character error rates seen.
void ExpectLinesRead(const std::string& label, const std::string& ocr_text,
                     const std::vector<std::string>& lines) {
    SCOPED_TRACE(label + ", Tesseract read:\n" + ocr_text);
    const std::string read = Normalize(ocr_text);
    int errors = 0;
    std::size_t characters = 0;
    for (const std::string& line : lines) {
        const std::string want = Normalize(line);
        const int distance = SubstringDistance(want, read);
        EXPECT_LE(distance, AllowedErrors(want)) << "\"" << line << "\" does not read";
        errors += distance;
        characters += want.size();
    }
    std::printf("[ OCR      ] %s: %d wrong of %zu characters (CER %.1f%%)\n", label.c_str(), errors,
                characters, 100.0 * errors / static_cast<double>(characters));
    const std::string absent = Normalize(kAbsentLine);
    EXPECT_GT(SubstringDistance(absent, read), static_cast<int>(absent.size()) / 3)
        << "a sentence that is on no page matched: the comparison is too lenient";
}

// A decoded page as binary PBM (P4: 1 = black, rows packed MSB first, as FaxBitmap), each row repeated
// `row_repeat` times so that pixels are about square: Tesseract assumes they are, and standard resolution
// letters are otherwise half as tall as they should be.
std::string ToPbm(const FaxBitmap& page, int row_repeat) {
    std::string pbm = "P4\n" + std::to_string(page.width) + " " +
                      std::to_string(static_cast<std::size_t>(page.height) * row_repeat) + "\n";
    for (std::size_t row = 0; row < page.height; ++row) {
        const auto* bytes = reinterpret_cast<const char*>(page.bits.data() + row * page.stride);
        for (int i = 0; i < row_repeat; ++i) pbm.append(bytes, page.stride);
    }
    return pbm;
}

class OcrTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(kTesseract)) {
            GTEST_SKIP() << kTesseract << " is missing: install tesseract-ocr and tesseract-ocr-eng";
        }
        auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-ocr-test-");
        ASSERT_TRUE(dir) << dir.error().ToString();
        dir_.emplace(std::move(*dir));
        options_.temp_parent = Dir();
        options_.timeout = std::chrono::seconds{60};
    }

    const std::filesystem::path& Dir() const { return dir_->Path(); }

    std::filesystem::path Write(const std::string& name, const std::string& content) {
        const auto path = Dir() / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    static base::Result<SubprocessResult> Run(std::vector<std::string> argv,
                                              const std::filesystem::path& dir) {
        SubprocessOptions run;
        run.argv = std::move(argv);
        run.work_dir = dir;
        // Tesseract's OpenMP threads only spin on one page; one thread is several times faster here.
        run.extra_env = {"OMP_THREAD_LIMIT=1"};
        run.limits.wall = std::chrono::seconds{60};
        return RunSubprocess(run);
    }

    // What Tesseract reads on page `page_index` (0-based) of a fax TIFF.
    std::string ReadPage(const std::filesystem::path& tiff, int page_index = 0) {
        auto file = FaxTiff::Open(tiff);
        EXPECT_TRUE(file) << file.error().ToString();
        if (!file) return {};
        for (int i = 0; i < page_index; ++i) {
            if (!file->NextPage()) {
                ADD_FAILURE() << tiff << " has no page " << page_index + 1;
                return {};
            }
        }
        auto info = file->PageInfo();
        EXPECT_TRUE(info) << info.error().ToString();
        if (!info) return {};
        auto bitmap = file->Decode(*info);
        EXPECT_TRUE(bitmap) << bitmap.error().ToString();
        if (!bitmap) return {};
        // 204 x 98 gives 2, 204 x 196 gives 1.
        const int row_repeat = std::max(1, static_cast<int>(std::lround(info->x_dpi / info->y_dpi)));
        const auto image = Write(tiff.stem().string() + ".pbm", ToPbm(*bitmap, row_repeat));
        // --dpi: a PBM carries no resolution, and Tesseract scales its expectations of letter size by it.
        auto ocr = Run({kTesseract, image.string(), "stdout", "--dpi",
                        std::to_string(std::lround(info->x_dpi)), "-l", "eng"},
                       Dir());
        EXPECT_TRUE(ocr) << ocr.error().ToString();
        if (!ocr) return {};
        EXPECT_TRUE(ocr->Succeeded()) << "tesseract: " << ocr->std_err;
        return ocr->std_out;
    }

    static std::string BodyText() {
        std::string text;
        for (const auto& line : kBodyLines) text += line + "\n\n";
        return text;
    }

    void TextFileReads(Resolution resolution, const std::string& label) {
        const auto input = Write("body.txt", BodyText());
        const auto output = Dir() / ("text-" + label + ".tif");
        options_.resolution = resolution;
        auto rendered = RenderTextToFax(input, output, DocumentType::kText, options_);
        ASSERT_TRUE(rendered) << rendered.error().ToString();
        ASSERT_EQ(rendered->pages, 1);
        ExpectLinesRead("text at " + label, ReadPage(output), kBodyLines);
    }

    void HeaderLineReads(Resolution resolution, const std::string& label) {
        // As the sender stamps it (app render command): the body page drawn, the header drawn over its top.
        auto body_font = TextRasterizer::Open(kTextFont, kTextPointSize, kFaxXDpi, YDpi(resolution));
        auto header_font = TextRasterizer::Open(kDefaultFont, 9, kFaxXDpi, YDpi(resolution));
        ASSERT_TRUE(body_font && header_font);
        auto pages = LayOutText(BodyText(), TextLayout{}, resolution, PaperSize::kA4, *body_font);
        ASSERT_TRUE(pages) << pages.error().ToString();
        ASSERT_EQ(pages->size(), 1u);
        const HeaderLine header{"ACME Corp +49 30 1234567", "2026-11-22 10:15", "2026.00004711",
                                HeaderFormat::kLong};
        ASSERT_TRUE(StampHeaderLine(pages->front(), header, 2, 3, resolution, *header_font));
        const auto tiff = Dir() / ("header-" + label + ".tif");
        ASSERT_TRUE(WriteFaxTiff(tiff, *pages, resolution, FaxCompression::kT6));
        std::vector<std::string> want = {header.sender, header.date_time, "Ref. " + header.reference,
                                         PageText(2, 3)};
        want.insert(want.end(), kBodyLines.begin(), kBodyLines.end());
        ExpectLinesRead("header line at " + label, ReadPage(tiff), want);
    }

    std::optional<TempDir> dir_;
    RenderOptions options_;
};

TEST_F(OcrTest, TextAtStandardResolutionReads) { TextFileReads(Resolution::kStandard, "standard"); }

TEST_F(OcrTest, TextAtFineResolutionReads) { TextFileReads(Resolution::kFine, "fine"); }

TEST_F(OcrTest, PdfFromGhostscriptReadsAtFine) {
    // 12 pt Helvetica, an ordinary letter's body text, one line every 24 points from the top.
    std::string ps = "%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont\n";
    int y = 720;
    for (const auto& line : kBodyLines) {
        ps += "72 " + std::to_string(y) + " moveto (" + line + ") show\n";
        y -= 24;
    }
    ps += "showpage\n";
    const auto source = Write("letter.ps", ps);
    const auto pdf = Dir() / "letter.pdf";
    auto converted = Run({"/usr/bin/ps2pdf", source.string(), pdf.string()}, Dir());
    ASSERT_TRUE(converted) << converted.error().ToString();
    ASSERT_TRUE(converted->Succeeded()) << "ps2pdf: " << converted->std_err;

    options_.resolution = Resolution::kFine;
    const auto output = Dir() / "pdf-fine.tif";
    auto rendered = RenderToFax(pdf, output, options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    ASSERT_EQ(rendered->type, DocumentType::kPdf);
    ASSERT_EQ(rendered->pages, 1);
    ExpectLinesRead("PDF at fine", ReadPage(output), kBodyLines);
}

TEST_F(OcrTest, HeaderLineReadsAtStandardResolution) { HeaderLineReads(Resolution::kStandard, "standard"); }

TEST_F(OcrTest, HeaderLineReadsAtFineResolution) { HeaderLineReads(Resolution::kFine, "fine"); }

}  // namespace
}  // namespace faxd::render
