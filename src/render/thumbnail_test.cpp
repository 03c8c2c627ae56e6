#include "render/thumbnail.hpp"

#include <gtest/gtest.h>
#include <png.h>

#include <fstream>
#include <numeric>

#include "test_documents.hpp"

namespace faxd::render {
namespace {

using testing::Bitmap;
using testing::FaxResolution;
using testing::MakePage;
using testing::PageKind;
using testing::TempDir;

struct Gray {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;
    int At(int x, int y) const { return pixels[static_cast<std::size_t>(y * width + x)]; }
    double Mean() const {
        return std::accumulate(pixels.begin(), pixels.end(), 0.0) / static_cast<double>(pixels.size());
    }
};

// Reads the PNG back with libpng and checks it is 8-bit gray as written, not converted on the way in.
Gray ReadPng(const std::filesystem::path& path) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    Gray gray;
    if (!png_image_begin_read_from_file(&image, path.c_str())) {
        ADD_FAILURE() << "cannot read " << path << ": " << image.message;
        return gray;
    }
    EXPECT_EQ(image.format, static_cast<png_uint_32>(PNG_FORMAT_GRAY));
    image.format = PNG_FORMAT_GRAY;
    gray.width = static_cast<int>(image.width);
    gray.height = static_cast<int>(image.height);
    gray.pixels.resize(PNG_IMAGE_SIZE(image));
    EXPECT_TRUE(png_image_finish_read(&image, nullptr, gray.pixels.data(), 0, nullptr)) << image.message;
    return gray;
}

Bitmap LeftHalfBlack(FaxResolution resolution) {
    Bitmap page = MakePage(PageKind::kBlank, resolution, 0);
    for (int y = 0; y < page.height; ++y)
        std::fill_n(page.bits.begin() + static_cast<std::ptrdiff_t>(y) * page.stride, page.stride / 2, 0xFF);
    return page;
}

class ThumbnailTest : public ::testing::Test {
protected:
    TempDir dir_{"thumbnail"};
};

TEST_F(ThumbnailTest, KeepsThePhysicalAspectAtEveryResolution) {
    for (const auto resolution :
         {FaxResolution::kStandard, FaxResolution::kFine, FaxResolution::kSuperfine}) {
        ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", {MakePage(PageKind::kText, resolution, 3)}));
        const auto result = WriteThumbnailPng(dir_ / "in.tif", dir_ / "thumb.png");
        ASSERT_TRUE(result) << result.error().ToString();
        const Gray gray = ReadPng(dir_ / "thumb.png");
        // A4 fax: 215 x 297 mm, so 200 x 276 whatever the line density.
        EXPECT_EQ(gray.width, 200);
        EXPECT_NEAR(gray.height, 276, 1);
        // Text averages to light gray: neither blank nor black.
        EXPECT_GT(gray.Mean(), 200);
        EXPECT_LT(gray.Mean(), 254);
    }
}

TEST_F(ThumbnailTest, AveragesAreasToGray) {
    ASSERT_TRUE(testing::WriteFaxTiff(
        dir_ / "in.tif",
        {LeftHalfBlack(FaxResolution::kFine), MakePage(PageKind::kBlank, FaxResolution::kFine, 0)}));
    ASSERT_TRUE(WriteThumbnailPng(dir_ / "in.tif", dir_ / "thumb.png", 100));
    const Gray gray = ReadPng(dir_ / "thumb.png");
    ASSERT_EQ(gray.width, 100);
    for (int y = 0; y < gray.height; ++y) {
        EXPECT_EQ(gray.At(10, y), 0);
        EXPECT_EQ(gray.At(49, y), 0);
        EXPECT_EQ(gray.At(50, y), 255);
        EXPECT_EQ(gray.At(99, y), 255);
    }
    // A 50% checkerboard of single pixels becomes mid gray, not black or white.
    Bitmap checker = MakePage(PageKind::kBlank, FaxResolution::kFine, 0);
    for (int y = 0; y < checker.height; ++y)
        std::fill_n(checker.bits.begin() + static_cast<std::ptrdiff_t>(y) * checker.stride, checker.stride,
                    y % 2 ? 0xAA : 0x55);
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "checker.tif", {checker}));
    ASSERT_TRUE(WriteThumbnailPng(dir_ / "checker.tif", dir_ / "checker.png", 64));
    const Gray mid = ReadPng(dir_ / "checker.png");
    EXPECT_NEAR(mid.Mean(), 127.5, 3);
}

TEST_F(ThumbnailTest, NeverEnlargesANarrowPage) {
    Bitmap page = MakePage(PageKind::kBlank, FaxResolution::kFine, 0, 100);
    page.width = 64;
    page.stride = 8;
    page.bits.assign(8 * 100, 0);
    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", {page}));
    ASSERT_TRUE(WriteThumbnailPng(dir_ / "in.tif", dir_ / "thumb.png", 200));
    const Gray gray = ReadPng(dir_ / "thumb.png");
    EXPECT_EQ(gray.width, 64);
    EXPECT_NEAR(gray.height, 100 * 204.0 / 196.0, 1);
    EXPECT_EQ(gray.Mean(), 255);
}

TEST_F(ThumbnailTest, BadInputLeavesNothingBehind) {
    std::ofstream(dir_ / "text.tif") << "not a tiff";
    const auto result = WriteThumbnailPng(dir_ / "text.tif", dir_ / "thumb.png");
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("text.tif"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "thumb.png"));
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), {}), 1);

    ASSERT_TRUE(testing::WriteFaxTiff(dir_ / "in.tif", {MakePage(PageKind::kText, FaxResolution::kFine, 1)}));
    const auto zero = WriteThumbnailPng(dir_ / "in.tif", dir_ / "thumb.png", 0);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_FALSE(std::filesystem::exists(dir_ / "thumb.png"));
}

}  // namespace
}  // namespace faxd::render
