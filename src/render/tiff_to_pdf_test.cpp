#include "render/tiff_to_pdf.hpp"

#include <gtest/gtest.h>
#include <tiffio.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "process.hpp"
#include "test_documents.hpp"

namespace faxd::render {
namespace {

using testing::Bitmap;
using testing::FaxResolution;
using testing::MakePage;
using testing::PageKind;
using testing::TempDir;

struct TiffLayout {
    std::uint16_t compression = COMPRESSION_CCITTFAX4;
    std::uint32_t t4_options = 0;
    std::uint16_t fill_order = FILLORDER_MSB2LSB;
    std::uint16_t photometric = PHOTOMETRIC_MINISWHITE;
    std::uint32_t rows_per_strip = 0;  // 0: one strip per page
};

// Writes bilevel pages (1 = black in `pages`) with any layout the converter must handle; the picture stays
// the same whatever the photometric interpretation.
void WriteTiff(const std::filesystem::path& path, const std::vector<Bitmap>& pages,
               const TiffLayout& layout) {
    std::unique_ptr<TIFF, decltype(&TIFFClose)> tiff(TIFFOpen(path.c_str(), "w"), &TIFFClose);
    ASSERT_TRUE(tiff);
    TIFF* t = tiff.get();
    for (const Bitmap& page : pages) {
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, page.width);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, page.height);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, layout.photometric);
        TIFFSetField(t, TIFFTAG_FILLORDER, layout.fill_order);
        TIFFSetField(t, TIFFTAG_COMPRESSION, layout.compression);
        if (layout.compression == COMPRESSION_CCITTFAX3)
            TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, layout.t4_options);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, layout.rows_per_strip ? layout.rows_per_strip : page.height);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0f);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, page.y_dpi);
        std::vector<std::uint8_t> row(static_cast<std::size_t>(page.stride));
        for (int y = 0; y < page.height; ++y) {
            std::copy_n(page.bits.begin() + static_cast<std::ptrdiff_t>(y) * page.stride, page.stride,
                        row.begin());
            if (layout.photometric == PHOTOMETRIC_MINISBLACK)
                for (auto& byte : row) byte = static_cast<std::uint8_t>(~byte);
            ASSERT_GE(TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(y), 0), 0);
        }
        ASSERT_TRUE(TIFFWriteDirectory(t));
    }
}

// The poppler and qpdf command-line tools, found on PATH (RunProgram takes a full path).
std::string FindTool(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin");
    for (std::string dir; std::getline(dirs, dir, ':');)
        if (::access((std::filesystem::path(dir) / name).c_str(), X_OK) == 0) return dir + "/" + name;
    ADD_FAILURE() << name << " not found on PATH (scripts/setup installs poppler-utils and qpdf)";
    return name;
}

std::string RunTool(std::vector<std::string> argv, int* status = nullptr) {
    const TempDir logs("render_run");
    argv[0] = FindTool(argv[0]);
    const auto result = testing::RunProgram(argv, std::chrono::seconds(120), logs / "stderr");
    if (status != nullptr) *status = result.status;
    return result.out;
}

struct PageSize {
    double width = 0;
    double height = 0;
};

// Page count and sizes as poppler's pdfinfo sees them.
std::vector<PageSize> PdfPageSizes(const std::filesystem::path& pdf) {
    int status = -1;
    const std::string out = RunTool({"pdfinfo", "-f", "1", "-l", "100000", pdf.string()}, &status);
    EXPECT_EQ(status, 0) << out;
    std::vector<PageSize> sizes;
    const std::regex line(R"(Page +\d+ size: +([0-9.]+) x ([0-9.]+) pts)");
    for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it)
        sizes.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
    const std::regex pages(R"(Pages: +(\d+))");
    std::smatch match;
    EXPECT_TRUE(std::regex_search(out, match, pages)) << out;
    EXPECT_EQ(std::stoul(match[1]), sizes.size());
    return sizes;
}

void ExpectQpdfCheckPasses(const std::filesystem::path& pdf) {
    int status = -1;
    const std::string out = RunTool({"qpdf", "--check", pdf.string()}, &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("No syntax or stream encoding errors found"), std::string::npos) << out;
}

// Rasterises one page with poppler at the fax's own resolution into a PBM (1 = black) and reads it back.
Bitmap RasterisePage(const std::filesystem::path& pdf, int page, int x_dpi, int y_dpi) {
    const TempDir out("render_ppm");
    int status = -1;
    RunTool({"pdftoppm", "-mono", "-rx", std::to_string(x_dpi), "-ry", std::to_string(y_dpi), "-f",
             std::to_string(page), "-l", std::to_string(page), "-singlefile", pdf.string(),
             (out / "page").string()},
            &status);
    EXPECT_EQ(status, 0);
    std::ifstream in(out / "page.pbm", std::ios::binary);
    std::string magic;
    Bitmap bitmap;
    in >> magic >> bitmap.width >> bitmap.height;
    in.get();  // the single whitespace after the header
    EXPECT_EQ(magic, "P4");
    bitmap.stride = (bitmap.width + 7) / 8;
    bitmap.bits.resize(static_cast<std::size_t>(bitmap.stride) * static_cast<std::size_t>(bitmap.height));
    in.read(reinterpret_cast<char*>(bitmap.bits.data()), static_cast<std::streamsize>(bitmap.bits.size()));
    EXPECT_TRUE(in) << "short PBM";
    return bitmap;
}

bool Pixel(const Bitmap& b, int x, int y) {
    return (b.bits[static_cast<std::size_t>(y) * static_cast<std::size_t>(b.stride) +
                   static_cast<std::size_t>(x / 8)] &
            (0x80 >> (x % 8))) != 0;
}

// Every pixel of the source page must come back from the PDF: proof that nothing was re-rasterised.
void ExpectSamePixels(const Bitmap& source, const Bitmap& rendered) {
    // Rounding of the page size in points may add one row or column of white at the far edge.
    ASSERT_GE(rendered.width, source.width);
    ASSERT_LE(rendered.width, source.width + 1);
    ASSERT_GE(rendered.height, source.height);
    ASSERT_LE(rendered.height, source.height + 1);
    long differing = 0, black = 0;
    for (int y = 0; y < source.height; ++y)
        for (int x = 0; x < source.width; ++x) {
            black += Pixel(source, x, y);
            differing += Pixel(source, x, y) != Pixel(rendered, x, y);
        }
    EXPECT_EQ(differing, 0) << "of " << black << " black pixels";
    EXPECT_GT(black, 0);
}

std::string ReadAll(const std::filesystem::path& path) { return testing::ReadFile(path); }

void ConvertAndCompare(const std::vector<Bitmap>& pages, const std::filesystem::path& tiff,
                       const std::filesystem::path& pdf) {
    const auto result = ConvertFaxTiffToPdf(tiff, pdf, {});
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_EQ(result->pages, static_cast<int>(pages.size()));
    EXPECT_EQ(result->bytes, std::filesystem::file_size(pdf));
    ExpectQpdfCheckPasses(pdf);
    const auto sizes = PdfPageSizes(pdf);
    ASSERT_EQ(sizes.size(), pages.size());
    for (std::size_t i = 0; i < pages.size(); ++i) {
        EXPECT_NEAR(sizes[i].width, pages[i].width / 204.0 * 72, 0.01);
        EXPECT_NEAR(sizes[i].height, pages[i].height / pages[i].y_dpi * 72, 0.01);
        ExpectSamePixels(pages[i],
                         RasterisePage(pdf, static_cast<int>(i) + 1, 204, static_cast<int>(pages[i].y_dpi)));
    }
}

class TiffToPdfTest : public ::testing::Test {
protected:
    TempDir dir_{"tiff2pdf"};
};

TEST_F(TiffToPdfTest, G4StandardPageIsEmbeddedAsItIsAtA4Size) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kStandard, 7)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages, testing::TiffCompression::kG4));
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
    const std::string pdf = ReadAll(dir_ / "out.pdf");
    EXPECT_NE(pdf.find("/CCITTFaxDecode"), std::string::npos);
    EXPECT_NE(pdf.find("/K -1"), std::string::npos);
    EXPECT_EQ(pdf.find("/FlateDecode"), std::string::npos);
    // A standard-resolution A4 fax is 215 x 297 mm (T.4 §2.2: 1728 pels on 215 mm), not half as tall.
    const auto sizes = PdfPageSizes(dir_ / "out.pdf");
    ASSERT_EQ(sizes.size(), 1u);
    EXPECT_NEAR(sizes[0].width / 72 * 25.4, 215.1, 0.5);
    EXPECT_NEAR(sizes[0].height / 72 * 25.4, 296.2, 0.5);
    // Pass-through: the PDF is about as large as the coded fax, not a raster.
    EXPECT_LT(std::filesystem::file_size(dir_ / "out.pdf"),
              std::filesystem::file_size(dir_ / "in.tif") + 2000);
}

TEST_F(TiffToPdfTest, G3OneDimensionalLsbFirst) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kHalftone, FaxResolution::kFine, 8)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages, testing::TiffCompression::kG3OneD));
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
    EXPECT_NE(ReadAll(dir_ / "out.pdf").find("/K 0 "), std::string::npos);
}

TEST_F(TiffToPdfTest, G3TwoDimensionalLsbFirst) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kFine, 9)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages, testing::TiffCompression::kG3TwoD));
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
    EXPECT_NE(ReadAll(dir_ / "out.pdf").find("/K 2286 "), std::string::npos);
}

TEST_F(TiffToPdfTest, G3WithoutFillBitsMsbFirst) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kStandard, 10)};
    WriteTiff(dir_ / "in.tif", pages,
              {.compression = COMPRESSION_CCITTFAX3, .t4_options = GROUP3OPT_2DENCODING});
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
    EXPECT_NE(ReadAll(dir_ / "out.pdf").find("/CCITTFaxDecode"), std::string::npos);
}

TEST_F(TiffToPdfTest, G4MinIsBlackMsbFirst) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kHalftone, FaxResolution::kFine, 11)};
    WriteTiff(dir_ / "in.tif", pages, {.photometric = PHOTOMETRIC_MINISBLACK});
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
    EXPECT_NE(ReadAll(dir_ / "out.pdf").find("/BlackIs1 true"), std::string::npos);
}

TEST_F(TiffToPdfTest, G4LsbFirstMinIsWhite) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kSuperfine, 12)};
    WriteTiff(dir_ / "in.tif", pages, {.fill_order = FILLORDER_LSB2MSB});
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
}

TEST_F(TiffToPdfTest, UncompressedPagesAreStoredLosslessly) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kFine, 13),
                                       MakePage(PageKind::kHalftone, FaxResolution::kFine, 14)};
    WriteTiff(dir_ / "white.tif", pages, {.compression = COMPRESSION_NONE, .rows_per_strip = 64});
    ConvertAndCompare(pages, dir_ / "white.tif", dir_ / "white.pdf");
    EXPECT_NE(ReadAll(dir_ / "white.pdf").find("/FlateDecode"), std::string::npos);
    WriteTiff(dir_ / "black.tif", pages,
              {.compression = COMPRESSION_NONE,
               .fill_order = FILLORDER_LSB2MSB,
               .photometric = PHOTOMETRIC_MINISBLACK});
    ConvertAndCompare(pages, dir_ / "black.tif", dir_ / "black.pdf");
}

TEST_F(TiffToPdfTest, OtherCompressionsAreStoredLosslessly) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kStandard, 15)};
    WriteTiff(dir_ / "packbits.tif", pages, {.compression = COMPRESSION_PACKBITS});
    ConvertAndCompare(pages, dir_ / "packbits.tif", dir_ / "packbits.pdf");
    WriteTiff(dir_ / "lzw.tif", pages,
              {.compression = COMPRESSION_LZW, .photometric = PHOTOMETRIC_MINISBLACK});
    ConvertAndCompare(pages, dir_ / "lzw.tif", dir_ / "lzw.pdf");
}

TEST_F(TiffToPdfTest, MultiStripCcittPagesAreRecodedAsOne) {
    // Concatenated G4 strips do not decode as one stream: each strip restarts its reference line.
    const std::vector<Bitmap> pages = {MakePage(PageKind::kHalftone, FaxResolution::kFine, 16)};
    WriteTiff(dir_ / "g4.tif", pages, {.rows_per_strip = 100});
    ConvertAndCompare(pages, dir_ / "g4.tif", dir_ / "g4.pdf");
    WriteTiff(dir_ / "g3.tif", pages,
              {.compression = COMPRESSION_CCITTFAX3,
               .t4_options = GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS,
               .fill_order = FILLORDER_LSB2MSB,
               .rows_per_strip = 333});
    ConvertAndCompare(pages, dir_ / "g3.tif", dir_ / "g3.pdf");
}

TEST_F(TiffToPdfTest, MixedResolutionsKeepTheirAspect) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kStandard, 17),
                                       MakePage(PageKind::kText, FaxResolution::kFine, 18),
                                       MakePage(PageKind::kHalftone, FaxResolution::kSuperfine, 19)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages));
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
    // The same sheet of paper at three resolutions: three pages of the same size.
    for (const PageSize& size : PdfPageSizes(dir_ / "out.pdf")) {
        EXPECT_NEAR(size.width / 72 * 25.4, 215.1, 0.5);
        EXPECT_NEAR(size.height / 72 * 25.4, 296.5, 0.6);
    }
}

TEST_F(TiffToPdfTest, TwoPagesAndAVeryLongPage) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kFine, 20),
                                       MakePage(PageKind::kText, FaxResolution::kFine, 21, 20000)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages));
    ConvertAndCompare(pages, dir_ / "in.tif", dir_ / "out.pdf");
}

TEST_F(TiffToPdfTest, PageLongerThanViewersAcceptShrinksKeepingAspect) {
    // 60000 rows at 98 lpi: 15.5 m, beyond PDF's 14400-unit (200 in) page limit.
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kStandard, 22, 60000)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages));
    const auto result = ConvertFaxTiffToPdf(dir_ / "in.tif", dir_ / "out.pdf", {});
    ASSERT_TRUE(result) << result.error().ToString();
    ExpectQpdfCheckPasses(dir_ / "out.pdf");
    const auto sizes = PdfPageSizes(dir_ / "out.pdf");
    ASSERT_EQ(sizes.size(), 1u);
    EXPECT_NEAR(sizes[0].height, 14400, 0.01);
    EXPECT_NEAR(sizes[0].height / sizes[0].width, (60000 / 98.0) / (1728 / 204.0), 0.01);
}

TEST_F(TiffToPdfTest, PdfA1bHasMetadataOutputIntentAndId) {
    const std::vector<Bitmap> pages = {MakePage(PageKind::kText, FaxResolution::kFine, 23),
                                       MakePage(PageKind::kText, FaxResolution::kStandard, 24)};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", pages));
    PdfOptions options;
    options.pdfa = true;
    options.title = "Fax from +49 30 1234567 (2 pages)";
    options.author = "Müller & Söhne <fax>";
    options.subject = "Invoice \\ 42";
    options.created = base::WallTime{std::chrono::seconds{1'767'270'896}};  // 2026-01-01 12:34:56 UTC
    const auto result = ConvertFaxTiffToPdf(dir_ / "in.tif", dir_ / "a.pdf", options);
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_EQ(result->pages, 2);
    ExpectQpdfCheckPasses(dir_ / "a.pdf");
    EXPECT_EQ(PdfPageSizes(dir_ / "a.pdf").size(), 2u);

    const std::string pdf = ReadAll(dir_ / "a.pdf");
    // Header and binary marker comment (PDF/A-1 §6.1.2).
    EXPECT_EQ(pdf.substr(0, 9), "%PDF-1.4\n");
    EXPECT_EQ(pdf[9], '%');
    for (int i = 10; i < 14; ++i)
        EXPECT_GT(static_cast<unsigned char>(pdf[static_cast<std::size_t>(i)]), 127);
    EXPECT_NE(pdf.find("<pdfaid:part>1</pdfaid:part>"), std::string::npos);
    EXPECT_NE(pdf.find("<pdfaid:conformance>B</pdfaid:conformance>"), std::string::npos);
    EXPECT_NE(pdf.find("/Type /Metadata /Subtype /XML"), std::string::npos);
    EXPECT_NE(pdf.find("/OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1"), std::string::npos);
    EXPECT_NE(pdf.find("/DestOutputProfile"), std::string::npos);
    EXPECT_TRUE(std::regex_search(pdf, std::regex("/ID \\[<[0-9A-F]{32}> <[0-9A-F]{32}>\\]")));
    EXPECT_EQ(pdf.find("/Encrypt"), std::string::npos);
    // The same facts in the Info dictionary and in XMP (PDF/A-1 §6.7.3), dates in both notations.
    EXPECT_NE(pdf.find("/CreationDate (D:20260101123456+00'00')"), std::string::npos);
    EXPECT_NE(pdf.find("<xmp:CreateDate>2026-01-01T12:34:56+00:00</xmp:CreateDate>"), std::string::npos);
    EXPECT_NE(pdf.find("/Title (Fax from +49 30 1234567 \\(2 pages\\))"), std::string::npos);
    EXPECT_NE(pdf.find("<rdf:li xml:lang=\"x-default\">Fax from +49 30 1234567 (2 pages)</rdf:li>"),
              std::string::npos);
    EXPECT_NE(pdf.find("<rdf:li>Müller &amp; Söhne &lt;fax&gt;</rdf:li>"), std::string::npos);
    EXPECT_NE(pdf.find("/Subject (Invoice \\\\ 42)"), std::string::npos);

    int status = -1;
    const std::string info = RunTool({"pdfinfo", (dir_ / "a.pdf").string()}, &status);
    EXPECT_EQ(status, 0);
    EXPECT_NE(info.find("Author:          Müller & Söhne <fax>"), std::string::npos) << info;
    EXPECT_NE(info.find("Metadata Stream: yes"), std::string::npos) << info;
    const std::string meta = RunTool({"pdfinfo", "-meta", (dir_ / "a.pdf").string()}, &status);
    EXPECT_EQ(status, 0);
    EXPECT_NE(meta.find("<pdfaid:part>1</pdfaid:part>"), std::string::npos) << meta;
    // The embedded ICC profile is one qpdf can extract whole; its header says gray, display class, v2.
    const std::string icc =
        RunTool({"qpdf", "--show-object=5", "--raw-stream-data", (dir_ / "a.pdf").string()});
    ASSERT_GE(icc.size(), 132u);
    EXPECT_EQ(icc.substr(12, 12), std::string("mntrGRAYXYZ ", 12));
    EXPECT_EQ(icc.substr(36, 4), "acsp");
    EXPECT_EQ(static_cast<std::size_t>((static_cast<unsigned char>(icc[2]) << 8) |
                                       static_cast<unsigned char>(icc[3])),
              icc.size());
}

TEST_F(TiffToPdfTest, PlainPdfHasNoPdfAParts) {
    ASSERT_TRUE(
        testing::WriteFaxTiff(dir_ / "in.tif", {MakePage(PageKind::kBlank, FaxResolution::kFine, 1)}));
    ASSERT_TRUE(ConvertFaxTiffToPdf(dir_ / "in.tif", dir_ / "out.pdf", {}));
    const std::string pdf = ReadAll(dir_ / "out.pdf");
    EXPECT_EQ(pdf.find("/Metadata"), std::string::npos);
    EXPECT_EQ(pdf.find("/OutputIntents"), std::string::npos);
    EXPECT_EQ(pdf.find("/CreationDate"), std::string::npos);  // no date given, none invented
    ExpectQpdfCheckPasses(dir_ / "out.pdf");
}

// --- bad input: a clear error naming the file, and no output, not even a temporary file ---

void ExpectFailure(const TempDir& dir, const std::filesystem::path& tiff, base::ErrorCode code,
                   const std::string& reason) {
    const auto result = ConvertFaxTiffToPdf(tiff, dir / "out.pdf", {.pdfa = true});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, code) << result.error().ToString();
    EXPECT_NE(result.error().message.find(tiff.string()), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find(reason), std::string::npos) << result.error().message;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        EXPECT_NE(entry.path().extension(), ".pdf") << entry.path();
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        EXPECT_EQ(entry.path().filename().string().find("out.pdf"), std::string::npos) << entry.path();
}

TEST_F(TiffToPdfTest, RejectsMissingAndNonTiffFiles) {
    ExpectFailure(dir_, dir_ / "missing.tif", base::ErrorCode::kNotFound, "cannot read");
    std::ofstream(dir_ / "text.tif") << "This is not a TIFF, it is a note.\n";
    ExpectFailure(dir_, dir_ / "text.tif", base::ErrorCode::kMalformed, "not a readable TIFF");
    // A TIFF header whose first directory offset is 0: a TIFF with zero pages.
    std::ofstream(dir_ / "empty.tif", std::ios::binary) << std::string("II*\0\0\0\0\0", 8);
    ExpectFailure(dir_, dir_ / "empty.tif", base::ErrorCode::kMalformed, "not a readable TIFF");
}

TEST_F(TiffToPdfTest, RejectsGrayImages) {
    std::unique_ptr<TIFF, decltype(&TIFFClose)> tiff(TIFFOpen((dir_ / "gray.tif").c_str(), "w"), &TIFFClose);
    TIFF* t = tiff.get();
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 16);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 16);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    std::vector<std::uint8_t> row(16, 128);
    for (std::uint32_t y = 0; y < 16; ++y) ASSERT_GE(TIFFWriteScanline(t, row.data(), y, 0), 0);
    tiff.reset();
    ExpectFailure(dir_, dir_ / "gray.tif", base::ErrorCode::kUnsupported,
                  "not a bilevel image (8 bits per sample");
}

TEST_F(TiffToPdfTest, RejectsHugePagesBeforeDecoding) {
    // Only the header claims 20000 x 200000 pixels: the limit must trip before any allocation of that size.
    std::unique_ptr<TIFF, decltype(&TIFFClose)> tiff(TIFFOpen((dir_ / "bomb.tif").c_str(), "w"), &TIFFClose);
    TIFF* t = tiff.get();
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 20000);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 200000);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 200000);
    std::vector<std::uint8_t> row(2500, 0);
    ASSERT_GE(TIFFWriteScanline(t, row.data(), 0, 0), 0);
    tiff.reset();
    ExpectFailure(dir_, dir_ / "bomb.tif", base::ErrorCode::kLimitExceeded, "20000 x 200000 pixels exceeds");
}

TEST_F(TiffToPdfTest, RejectsMoreThanAThousandPages) {
    Bitmap tiny;
    tiny.width = 16;
    tiny.height = 4;
    tiny.stride = 2;
    tiny.y_dpi = 196;
    tiny.bits = {0xFF, 0, 0, 0xFF, 0xF0, 0x0F, 0x0F, 0xF0};
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "many.tif", std::vector<Bitmap>(1001, tiny)));
    ExpectFailure(dir_, dir_ / "many.tif", base::ErrorCode::kLimitExceeded, "more than 1000 pages");
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "thousand.tif", std::vector<Bitmap>(1000, tiny)));
    const auto result = ConvertFaxTiffToPdf(dir_ / "thousand.tif", dir_ / "thousand.pdf", {});
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_EQ(result->pages, 1000);
}

// Little-endian TIFF: the value of a LONG or SHORT entry of the first directory.
void PatchFirstDirectoryEntry(std::string& tiff, std::uint16_t tag, std::uint32_t value) {
    const auto get = [&](std::size_t at, int bytes) {
        std::uint32_t v = 0;
        for (int i = bytes - 1; i >= 0; --i)
            v = (v << 8) | static_cast<unsigned char>(tiff[at + static_cast<std::size_t>(i)]);
        return v;
    };
    ASSERT_EQ(tiff.substr(0, 2), "II");
    const std::size_t ifd = get(4, 4);
    for (std::uint32_t i = 0; i < get(ifd, 2); ++i) {
        const std::size_t entry = ifd + 2 + 12 * i;
        if (get(entry, 2) != tag) continue;
        ASSERT_EQ(get(entry + 2, 2), 4u) << "expected a LONG";
        for (int b = 0; b < 4; ++b)
            tiff[entry + 8 + static_cast<std::size_t>(b)] = static_cast<char>((value >> (8 * b)) & 0xFF);
        return;
    }
    FAIL() << "tag " << tag << " not found";
}

TEST_F(TiffToPdfTest, RejectsTruncatedStripAndKeepsTheOldOutput) {
    ASSERT_TRUE(
        testing::WriteFaxTiff(dir_ / "in.tif", {MakePage(PageKind::kHalftone, FaxResolution::kFine, 25)}));
    std::string bad = ReadAll(dir_ / "in.tif");
    // A strip that runs past the end of the file, as a cut-off transfer leaves it.
    PatchFirstDirectoryEntry(bad, TIFFTAG_STRIPBYTECOUNTS, static_cast<std::uint32_t>(bad.size() * 2));
    std::ofstream(dir_ / "bad.tif", std::ios::binary) << bad;
    std::ofstream(dir_ / "keep.pdf") << "old";
    const auto result = ConvertFaxTiffToPdf(dir_ / "bad.tif", dir_ / "keep.pdf", {});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, base::ErrorCode::kMalformed) << result.error().ToString();
    EXPECT_NE(result.error().message.find("bad.tif"), std::string::npos);
    EXPECT_EQ(ReadAll(dir_ / "keep.pdf"), "old");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), {}), 3);
}

TEST_F(TiffToPdfTest, GarbledImageDataNeverCrashes) {
    ASSERT_TRUE(
        testing::WriteFaxTiff(dir_ / "in.tif", {MakePage(PageKind::kHalftone, FaxResolution::kFine, 26)}));
    const std::string whole = ReadAll(dir_ / "in.tif");
    // libtiff writes the image data first and the directory last: garble data, keep the directory.
    for (const char fill : {'\x00', '\xFF', '\x5A'}) {
        std::string bad = whole;
        std::fill(bad.begin() + 8, bad.begin() + static_cast<std::ptrdiff_t>(whole.size() / 2), fill);
        std::ofstream(dir_ / "bad.tif", std::ios::binary) << bad;
        const auto result = ConvertFaxTiffToPdf(dir_ / "bad.tif", dir_ / "out.pdf", {});
        if (result)
            ExpectQpdfCheckPasses(dir_ / "out.pdf");
        else
            EXPECT_NE(result.error().message.find("bad.tif"), std::string::npos);
    }
}

}  // namespace
}  // namespace faxd::render
