// Converts fixtures the test makes itself (PostScript written here, PDFs from ps2pdf and qpdf, images from
// GraphicsMagick) and checks what spandsp will need: page count, 1728 width, resolution tags, plausible ink.
#include "render/pdf_pages.hpp"
#include "render/pdf_raster.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace faxd::render {
namespace {

using base::ErrorCode;

// Page k of n shows a heading, 40 lines of text and k filled bars, so page order is visible in the ink ratio.
std::string TextPostScript(int pages) {
    std::string ps = "%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont\n";
    ps += "1 1 " + std::to_string(pages) + " { /p exch def\n";
    ps += "  72 760 moveto (Page ) show p 10 string cvs show\n";
    ps +=
        "  0 1 39 { 72 exch 720 exch 14 mul sub moveto (The quick brown fox jumps over the lazy dog 0123) "
        "show } for\n";
    ps += "  1 1 p { 400 exch 30 mul 100 add 120 20 rectfill } for\n";
    ps += "  showpage } for\n";
    return ps;
}

class RenderTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-render-test-");
        ASSERT_TRUE(dir);
        dir_.emplace(std::move(*dir));
        std::filesystem::create_directory(Scratch());
        options_.temp_parent = Scratch();
        options_.timeout = std::chrono::seconds{60};
    }
    void TearDown() override {
        // Whatever happened, the converters left nothing in their temporary parent.
        EXPECT_TRUE(std::filesystem::is_empty(Scratch()));
    }

    std::filesystem::path Dir() const { return dir_->Path(); }
    std::filesystem::path Scratch() const { return dir_->Path() / "scratch"; }

    std::filesystem::path Write(const std::string& name, const std::string& content) {
        const auto path = Dir() / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    void Run(std::vector<std::string> argv) {
        SubprocessOptions run;
        run.argv = std::move(argv);
        run.work_dir = Dir();
        run.limits.wall = std::chrono::seconds{60};
        auto result = RunSubprocess(run);
        ASSERT_TRUE(result) << result.error().ToString();
        ASSERT_TRUE(result->Succeeded()) << run.argv[0] << ": " << result->std_err;
    }

    std::filesystem::path MakePdf(const std::string& name, int pages) {
        const auto ps = Write(name + ".ps", TextPostScript(pages));
        const auto pdf = Dir() / (name + ".pdf");
        Run({"/usr/bin/ps2pdf", ps.string(), pdf.string()});
        return pdf;
    }

    // A 600 x 400 gray picture: a smooth diagonal gradient (a "photo") or black strokes on white (line art).
    std::filesystem::path MakePgm(const std::string& name, bool photo) {
        std::string pgm = "P5\n600 400\n255\n";
        for (int y = 0; y < 400; ++y) {
            for (int x = 0; x < 600; ++x) {
                const int v = photo ? (x + y) * 255 / 999 : ((y % 40 < 4 || x % 60 < 3) ? 0 : 255);
                pgm += static_cast<char>(v);
            }
        }
        return Write(name + ".pgm", pgm);
    }

    std::filesystem::path Convert(const std::filesystem::path& from, const std::string& to) {
        const auto out = Dir() / to;
        Run({"/usr/bin/gm", "convert", from.string(), out.string()});
        return out;
    }

    std::vector<FaxPageSummary> Inspect(const std::filesystem::path& tiff) {
        auto pages = InspectFaxTiff(tiff);
        EXPECT_TRUE(pages) << pages.error().ToString();
        return pages ? *pages : std::vector<FaxPageSummary>{};
    }

    std::optional<TempDir> dir_;
    RenderOptions options_;
};

TEST_F(RenderTest, CountsPdfPages) {
    auto count = CountPdfPages(MakePdf("seven", 7), options_);
    ASSERT_TRUE(count) << count.error().ToString();
    EXPECT_EQ(*count, 7);
}

TEST_F(RenderTest, PdfFinePagesInOrderFromParallelRanges) {
    const auto pdf = MakePdf("doc", 5);
    options_.parallelism = 2;
    auto rendered = RenderToFax(pdf, Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kPdf);
    EXPECT_EQ(rendered->pages, 5);
    EXPECT_GT(rendered->bytes, 1000u);
    const auto pages = Inspect(Dir() / "out.tif");
    ASSERT_EQ(pages.size(), 5u);
    double previous = 0;
    for (const auto& page : pages) {
        EXPECT_EQ(page.width, 1728);
        EXPECT_EQ(page.height, 2292);
        EXPECT_EQ(page.x_dpi, 204);
        EXPECT_EQ(page.y_dpi, 196);
        EXPECT_EQ(page.compression, 4);  // T.6
        EXPECT_GT(page.black_ratio, 0.01);
        EXPECT_LT(page.black_ratio, 0.2);
        EXPECT_GT(page.black_ratio, previous);  // one more bar per page: ranges were joined in order
        previous = page.black_ratio;
    }
}

// Pages 1 and 3 are text; page 2 is a gray photo (a gradient image) with a caption beside it.
std::string MixedPostScript() {
    std::string ps = "%!PS-Adobe-3.0\n/Helvetica findfont 14 scalefont setfont\n";
    ps += "72 700 moveto (Text page one) show showpage\n";
    ps += "gsave 72 300 translate 400 400 scale /row 200 string def\n";
    ps += "200 200 8 [200 0 0 -200 0 200] { 0 1 199 { row exch dup 255 mul 199 idiv put } for row } image\n";
    ps += "grestore 72 250 moveto (Caption under the photo) show showpage\n";
    ps += "72 700 moveto (Text page three) show showpage\n";
    return ps;
}

TEST_F(RenderTest, PhotoPagesOfAPdfAreScreenedAndTextStaysCrisp) {
    const auto ps = Write("mixed.ps", MixedPostScript());
    const auto pdf = Dir() / "mixed.pdf";
    Run({"/usr/bin/ps2pdf", ps.string(), pdf.string()});
    auto layout = ScanPdfLayout(pdf, options_);
    ASSERT_TRUE(layout) << layout.error().ToString();
    EXPECT_EQ(layout->pages, 3);
    EXPECT_EQ(layout->has_images, (std::vector<bool>{false, true, false}));

    options_.parallelism = 2;
    auto rendered = RenderToFax(pdf, Dir() / "mixed.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    const auto pages = Inspect(Dir() / "mixed.tif");
    ASSERT_EQ(pages.size(), 3u);
    // The gradient covers 400 x 400 pt of the page and averages mid-gray: about a fifth of the page black.
    EXPECT_GT(pages[1].black_ratio, 0.10);
    EXPECT_LT(pages[1].black_ratio, 0.30);
    EXPECT_LT(pages[0].black_ratio, 0.01);
    EXPECT_LT(pages[2].black_ratio, 0.01);

    // Ghostscript's own halftone of the same page, for size: ours must be smaller.
    Run({"/usr/bin/gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffg4", "-r204x196",
         "-g1728x2292", "-dFIXEDMEDIA", "-dFitPage", "-dFirstPage=2", "-dLastPage=2", "-sOutputFile=gs2.tif",
         pdf.string()});
    ASSERT_TRUE(RenderToFax(pdf, Dir() / "page2.tif", [&] {
        RenderOptions only = options_;
        only.first_page = only.last_page = 2;
        return only;
    }()));
    EXPECT_LT(std::filesystem::file_size(Dir() / "page2.tif"), std::filesystem::file_size(Dir() / "gs2.tif"));
}

TEST_F(RenderTest, StandardAndSuperfineResolutionTagsAndLetterPaper) {
    const auto pdf = MakePdf("doc", 2);
    struct Want {
        Resolution resolution;
        PaperSize paper;
        int height;
        int y_dpi;
    };
    for (const Want& want : {Want{Resolution::kStandard, PaperSize::kA4, 1146, 98},
                             Want{Resolution::kSuperfine, PaperSize::kA4, 4572, 391},
                             Want{Resolution::kFine, PaperSize::kLetter, 2156, 196}}) {
        options_.resolution = want.resolution;
        options_.paper = want.paper;
        auto rendered = RenderPdfToFax(pdf, Dir() / "out.tif", options_);
        ASSERT_TRUE(rendered) << rendered.error().ToString();
        for (const auto& page : Inspect(Dir() / "out.tif")) {
            EXPECT_EQ(page.width, 1728);
            EXPECT_EQ(page.height, want.height);
            EXPECT_EQ(page.y_dpi, want.y_dpi);
            EXPECT_EQ(page.x_dpi, 204);
        }
    }
}

TEST_F(RenderTest, T4WhenAsked) {
    options_.compression = FaxCompression::kT4TwoD;
    auto rendered = RenderPdfToFax(MakePdf("doc", 1), Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    const auto pages = Inspect(Dir() / "out.tif");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].compression, 3);
}

TEST_F(RenderTest, PageRangeOnly) {
    options_.first_page = 2;
    options_.last_page = 3;
    auto rendered = RenderPdfToFax(MakePdf("doc", 4), Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->pages, 2);
}

TEST_F(RenderTest, PostScript) {
    const auto ps = Write("letter.ps", TextPostScript(3));
    auto rendered = RenderToFax(ps, Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kPostScript);
    EXPECT_EQ(rendered->pages, 3);
    for (const auto& page : Inspect(Dir() / "out.tif")) {
        EXPECT_EQ(page.width, 1728);
        EXPECT_EQ(page.y_dpi, 196);
        EXPECT_GT(page.black_ratio, 0.01);
    }
}

TEST_F(RenderTest, EncryptedPdfNeedsPassword) {
    const auto plain = MakePdf("plain", 1);
    const auto locked = Dir() / "locked.pdf";
    Run({"/usr/bin/qpdf", "--encrypt", "user-secret", "owner-secret", "256", "--", plain.string(),
         locked.string()});
    auto rendered = RenderToFax(locked, Dir() / "out.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(rendered.error().message, "locked.pdf: the PDF is encrypted and needs a password to open");
    EXPECT_FALSE(std::filesystem::exists(Dir() / "out.tif"));
}

TEST_F(RenderTest, PdfWithOnlyAnOwnerPasswordStillRenders) {
    // "Print-only" PDFs are common in mail; their empty user password opens them.
    const auto plain = MakePdf("plain", 1);
    const auto restricted = Dir() / "restricted.pdf";
    Run({"/usr/bin/qpdf", "--encrypt", "", "owner-secret", "256", "--", plain.string(), restricted.string()});
    auto rendered = RenderToFax(restricted, Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->pages, 1);
}

TEST_F(RenderTest, TruncatedPdf) {
    const auto pdf = MakePdf("whole", 2);
    std::ifstream in(pdf, std::ios::binary);
    std::string head(300, '\0');
    in.read(head.data(), 300);
    const auto cut = Write("cut.pdf", head);
    auto rendered = RenderToFax(cut, Dir() / "out.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kMalformed);
    EXPECT_TRUE(rendered.error().message.starts_with("cut.pdf: the PDF is damaged"))
        << rendered.error().message;
}

TEST_F(RenderTest, TooManyPages) {
    options_.max_pages = 3;
    auto rendered = RenderToFax(MakePdf("long", 4), Dir() / "out.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kLimitExceeded);
    EXPECT_EQ(rendered.error().message, "long.pdf: 4 pages, more than the limit of 3");

    auto ps = RenderToFax(Write("long.ps", TextPostScript(5)), Dir() / "out.tif", options_);
    ASSERT_FALSE(ps);
    EXPECT_EQ(ps.error().code, ErrorCode::kLimitExceeded);
    EXPECT_EQ(ps.error().message, "long.ps: more pages than the limit of 3");
}

TEST_F(RenderTest, NeverEndingPostScriptTimesOut) {
    options_.timeout = std::chrono::milliseconds{700};
    auto rendered = RenderToFax(Write("loop.ps", "%!PS\n{ 1 pop } loop\n"), Dir() / "out.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kTimeout);
    EXPECT_EQ(rendered.error().message, "loop.ps: gs did not finish within 0.7 s");
}

TEST_F(RenderTest, UnknownTypeIsRefused) {
    auto rendered = RenderToFax(Write("tool.pdf", std::string("\x7F"
                                                              "ELF\x02\x01\x01\0\0\0",
                                                              10)),
                                Dir() / "o.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(rendered.error().message, "tool.pdf: documents of type unknown are not rendered here");
}

TEST_F(RenderTest, PhotoPngGetsAHalftone) {
    const auto png = Convert(MakePgm("photo", true), "photo.png");
    auto rendered = RenderToFax(png, Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kPng);
    const auto pages = Inspect(Dir() / "out.tif");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].width, 1728);
    EXPECT_EQ(pages[0].y_dpi, 196);
    // 600 x 400 scaled to 1728 wide: 1152 inches-equivalent lines at 196 dpi.
    EXPECT_EQ(pages[0].height, 1107);
    EXPECT_NEAR(pages[0].black_ratio, 0.5, 0.08);  // a full gradient averages to half ink
}

TEST_F(RenderTest, LineArtJpegStaysThresholded) {
    const auto jpeg = Convert(MakePgm("lines", false), "lines.jpg");
    options_.resolution = Resolution::kStandard;
    auto rendered = RenderToFax(jpeg, Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kJpeg);
    const auto pages = Inspect(Dir() / "out.tif");
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].y_dpi, 98);
    // Lines cover 10% + 5% - overlap of the picture.
    EXPECT_GT(pages[0].black_ratio, 0.08);
    EXPECT_LT(pages[0].black_ratio, 0.2);
}

TEST_F(RenderTest, MultiPageTiffAndGif) {
    const auto pgm = MakePgm("photo", true);
    const auto tiff = Dir() / "two.tif";
    Run({"/usr/bin/gm", "convert", pgm.string(), MakePgm("lines", false).string(), "-adjoin", tiff.string()});
    auto rendered = RenderToFax(tiff, Dir() / "out.tif", options_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->pages, 2);
    auto gif = RenderToFax(Convert(pgm, "photo.gif"), Dir() / "gif.tif", options_);
    ASSERT_TRUE(gif) << gif.error().ToString();
    EXPECT_EQ(gif->type, DocumentType::kGif);
    auto bmp = RenderToFax(Convert(pgm, "photo.bmp"), Dir() / "bmp.tif", options_);
    ASSERT_TRUE(bmp) << bmp.error().ToString();
    EXPECT_EQ(bmp->type, DocumentType::kBmp);
}

TEST_F(RenderTest, ImageBombRefusedBeforeDecoding) {
    options_.max_image_pixels = 100'000;
    auto rendered = RenderToFax(Convert(MakePgm("photo", true), "big.png"), Dir() / "out.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kLimitExceeded);
    EXPECT_EQ(rendered.error().message, "big.png: 600 x 400 pixels, more than the limit of 100000");
}

TEST_F(RenderTest, CorruptImage) {
    auto rendered =
        RenderToFax(Write("broken.png", "\x89PNG\r\n\x1A\nnot really"), Dir() / "out.tif", options_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kMalformed);
    EXPECT_TRUE(rendered.error().message.starts_with("broken.png: the image cannot be read"))
        << rendered.error().message;
}

TEST(BinarizeTest, PhotoDecisionAndHalftoneLevels) {
    GrayImage flat{100, 100, std::vector<std::uint8_t>(10'000, 128)};
    EXPECT_TRUE(LooksLikePhoto(flat));
    GrayImage white{100, 100, std::vector<std::uint8_t>(10'000, 255)};
    EXPECT_FALSE(LooksLikePhoto(white));
    const BilevelPage blank = BinarizeForFax(white, Resolution::kFine, PaperSize::kA4);
    EXPECT_EQ(blank.width, 1728);
    EXPECT_TRUE(std::all_of(blank.bits.begin(), blank.bits.end(), [](std::uint8_t b) { return b == 0; }));

    // Mid-gray becomes about half ink, in clustered dots: long runs, so few colour changes per row.
    const BilevelPage half = BinarizeForFax(flat, Resolution::kFine, PaperSize::kA4);
    std::size_t ones = 0, changes = 0;
    for (std::size_t i = 0; i < half.bits.size(); ++i)
        ones += static_cast<std::size_t>(std::popcount(half.bits[i]));
    for (int x = 1; x < half.width; ++x) {
        const bool a = half.bits[static_cast<std::size_t>(x - 1) / 8] & (0x80 >> ((x - 1) % 8));
        const bool b = half.bits[static_cast<std::size_t>(x) / 8] & (0x80 >> (x % 8));
        changes += a != b ? 1 : 0;
    }
    const double ratio = static_cast<double>(ones) / (static_cast<double>(half.width) * half.height);
    EXPECT_NEAR(ratio, 0.5, 0.05);
    EXPECT_LE(changes, static_cast<std::size_t>(half.width / 4 + 1));  // at most 2 changes per 8-pixel cell
}

}  // namespace
}  // namespace faxd::render
