#include "t30/tiff_check.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "test_documents.hpp"

namespace faxd::t30 {
namespace {

using faxd::testing::TempDir;

TEST(TiffCheckTest, CountsPagesOfAValidDocument) {
    TempDir dir("tiff_check");
    const auto path = dir / "doc.tif";
    ASSERT_TRUE(faxd::testing::WriteFaxTiff(path, faxd::testing::ThreePageDocument(faxd::testing::FaxResolution::kStandard)));
    auto pages = CheckFaxTiff(path);
    ASSERT_TRUE(pages) << pages.error().ToString();
    EXPECT_EQ(*pages, 3);
}

TEST(TiffCheckTest, RejectsMissingGarbageAndWrongWidth) {
    TempDir dir("tiff_check_bad");
    auto missing = CheckFaxTiff(dir / "nope.tif");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, base::ErrorCode::kNotFound);

    std::ofstream(dir / "garbage.tif") << "this is not a tiff";
    auto garbage = CheckFaxTiff(dir / "garbage.tif");
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().code, base::ErrorCode::kMalformed);

    auto page = faxd::testing::MakePage(faxd::testing::PageKind::kText, faxd::testing::FaxResolution::kFine, 1, 100);
    page.width = 1000;
    page.stride = 125;
    page.bits.assign(static_cast<std::size_t>(page.stride) * page.height, 0);
    ASSERT_TRUE(faxd::testing::WriteFaxTiff(dir / "narrow.tif", {page}));
    auto narrow = CheckFaxTiff(dir / "narrow.tif");
    ASSERT_FALSE(narrow);
    EXPECT_EQ(narrow.error().code, base::ErrorCode::kUnsupported);
    EXPECT_NE(narrow.error().message.find("1000 pixels wide"), std::string::npos);
}

}  // namespace
}  // namespace faxd::t30
