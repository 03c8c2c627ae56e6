// Composing a fax from a cover page and documents, and stamping header lines for an attempt that resumes.
#include "render/compose.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <fstream>

#include "render/fax_tiff.hpp"
#include "render/subprocess.hpp"

namespace faxd::render {
namespace {

class ComposeTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-compose-test-");
        ASSERT_TRUE(dir);
        dir_.emplace(std::move(*dir));
        options_.temp_parent = dir_->Path();
    }
    std::filesystem::path Text(const std::string& name, const std::string& text) {
        const auto path = dir_->Path() / name;
        std::ofstream(path) << text;
        return path;
    }
    std::optional<TempDir> dir_;
    RenderOptions options_;
};

// Ink in the top `rows` rows of each page.
std::vector<double> TopBandInk(const std::filesystem::path& tiff, int rows) {
    std::vector<double> ink;
    auto file = FaxTiff::Open(tiff);
    EXPECT_TRUE(file);
    if (!file) return ink;
    do {
        auto info = file->PageInfo();
        auto bitmap = file->Decode(*info);
        std::size_t black = 0;
        for (std::size_t i = 0; i < bitmap->stride * static_cast<std::size_t>(rows); ++i) {
            black += static_cast<std::size_t>(std::popcount(bitmap->bits[i]));
        }
        ink.push_back(static_cast<double>(black) / (bitmap->width * rows));
    } while (file->NextPage());
    return ink;
}

TEST_F(ComposeTest, CoverFirstThenDocumentsInOrder) {
    const auto one = Text("one.txt", "first document\fsecond page of it\n");
    const auto two = Text("two.txt", "second document\n");
    CoverRequest cover;
    cover.fields["recipient_name"] = "Bob";
    auto fax = ComposeFax({one, two}, cover, options_, dir_->Path() / "fax.tif");
    ASSERT_TRUE(fax) << fax.error().ToString();
    EXPECT_EQ(fax->pages, 4);
    ASSERT_EQ(fax->documents.size(), 2u);
    EXPECT_EQ(fax->documents[0].pages, 2);
    EXPECT_EQ(fax->documents[1].pages, 1);
    EXPECT_EQ(fax->documents[0].type, DocumentType::kText);
    auto pages = InspectFaxTiff(dir_->Path() / "fax.tif");
    ASSERT_TRUE(pages);
    EXPECT_EQ(pages->size(), 4u);
}

TEST_F(ComposeTest, ErrorsNameTheDocument) {
    const auto bad = Text("bad.bin", std::string("\x7f"
                                                 "ELF\x02\x01\x01",
                                                 7) +
                                         std::string(100, '\0'));
    auto fax = ComposeFax({bad}, std::nullopt, options_, dir_->Path() / "fax.tif");
    ASSERT_FALSE(fax);
    EXPECT_NE(fax.error().message.find("bad.bin"), std::string::npos) << fax.error().message;
    EXPECT_FALSE(std::filesystem::exists(dir_->Path() / "fax.tif"));
    EXPECT_FALSE(ComposeFax({}, std::nullopt, options_, dir_->Path() / "fax.tif"));
}

TEST_F(ComposeTest, HeaderLinesFromAResumePageKeepWholeDocumentNumbers) {
    const auto doc = Text("doc.txt", "page one\fpage two\fpage three\n");
    ASSERT_TRUE(ComposeFax({doc}, std::nullopt, options_, dir_->Path() / "fax.tif"));
    HeaderLine header{"ACME Ltd", "2026-11-22 10:00", "2026.00000042", HeaderFormat::kLong};
    auto written = StampHeaderLines(dir_->Path() / "fax.tif", dir_->Path() / "attempt.tif", header, 2);
    ASSERT_TRUE(written) << written.error().ToString();
    EXPECT_EQ(*written, 2);
    const auto before = TopBandInk(dir_->Path() / "fax.tif", 30);
    const auto after = TopBandInk(dir_->Path() / "attempt.tif", 30);
    ASSERT_EQ(after.size(), 2u);
    for (double ink : before) EXPECT_EQ(ink, 0.0);  // text pages leave the header band empty
    for (double ink : after) EXPECT_GT(ink, 0.01);
    EXPECT_FALSE(StampHeaderLines(dir_->Path() / "fax.tif", dir_->Path() / "none.tif", header, 4));
}

}  // namespace
}  // namespace faxd::render
