#include "store/spool.hpp"

#include <stdlib.h>

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace faxd::store {
namespace {

std::string Slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

class SpoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string dir = (std::filesystem::temp_directory_path() / "faxd-spool.XXXXXX").string();
        ASSERT_NE(::mkdtemp(dir.data()), nullptr);
        dir_ = dir;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Every regular file under the spool.
    std::set<std::string> Files() const {
        std::set<std::string> files;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "spool")) {
            if (entry.is_regular_file()) files.insert(std::filesystem::relative(entry.path(), dir_).string());
        }
        return files;
    }

    std::filesystem::path dir_;
};

TEST_F(SpoolTest, PutStoresUnderAFreshNameInTwoLevels) {
    auto spool = Spool::Open(dir_ / "spool");
    ASSERT_TRUE(spool);
    auto name = spool->Put(std::string_view("%PDF-1.4 hello"), "pdf");
    ASSERT_TRUE(name) << name.error().ToString();
    EXPECT_EQ(name->size(), 32u + 4u);
    EXPECT_TRUE(name->ends_with(".pdf"));
    EXPECT_TRUE(Spool::IsValidName(*name));
    auto path = spool->PathOf(*name);
    ASSERT_TRUE(path);
    EXPECT_EQ(*path, dir_ / "spool" / name->substr(0, 2) / name->substr(2, 2) / *name);
    EXPECT_EQ(Slurp(*path), "%PDF-1.4 hello");

    std::set<std::string> names{*name};
    for (int i = 0; i < 50; ++i) names.insert(*spool->Put(std::string_view("x")));
    EXPECT_EQ(names.size(), 51u);
    EXPECT_EQ(Files().size(), 51u);  // no temporary file is left beside them
}

TEST_F(SpoolTest, PutFileCopiesAndKeepsTheSource) {
    auto spool = Spool::Open(dir_ / "spool");
    ASSERT_TRUE(spool);
    const auto source = dir_ / "upload.tif";
    std::ofstream(source, std::ios::binary) << std::string(100000, 'T');
    auto name = spool->PutFile(source, "tif");
    ASSERT_TRUE(name) << name.error().ToString();
    EXPECT_EQ(Slurp(*spool->PathOf(*name)), std::string(100000, 'T'));
    EXPECT_TRUE(std::filesystem::exists(source));

    // A source that cannot be read leaves nothing in the spool, not even a temporary file.
    const auto files = Files();
    auto missing = spool->PutFile(dir_ / "missing.tif", "tif");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, base::ErrorCode::kIo);
    EXPECT_EQ(Files(), files);
}

TEST_F(SpoolTest, NamesThatCouldLeaveTheSpoolAreRefused) {
    auto spool = Spool::Open(dir_ / "spool");
    ASSERT_TRUE(spool);
    for (const char* bad :
         {"", "abc", "../../etc/passwd", "..", "ab/cd/efgh", "/etc/passwd", ".hidden-file", "ab..cdef",
          "a.bcdef", "abcd ef", "abcd\nef", "abcd%2F..", "abcd\\ef", "abcé1234", "aaaa/../../x"}) {
        auto path = spool->PathOf(bad);
        EXPECT_FALSE(path) << bad;
        if (!path) {
            EXPECT_EQ(path.error().code, base::ErrorCode::kInvalidArgument);
        }
        EXPECT_FALSE(spool->Remove(bad)) << bad;
    }
    EXPECT_TRUE(spool->PathOf("0123abcd-x_y.tif"));
    EXPECT_FALSE(spool->Put(std::string_view("x"), "../x"));
    EXPECT_FALSE(spool->Put(std::string_view("x"), "a.b"));
    EXPECT_FALSE(spool->Put(std::string_view("x"), "toolongext"));
}

TEST_F(SpoolTest, RemoveIsIdempotent) {
    auto spool = Spool::Open(dir_ / "spool");
    ASSERT_TRUE(spool);
    auto name = spool->Put(std::string_view("bytes"), "tif");
    ASSERT_TRUE(name);
    EXPECT_TRUE(spool->Remove(*name));
    EXPECT_FALSE(std::filesystem::exists(*spool->PathOf(*name)));
    EXPECT_TRUE(spool->Remove(*name));
}

TEST_F(SpoolTest, LeftoversOfACrashAreInvisibleAndSweptAway) {
    auto spool = Spool::Open(dir_ / "spool");
    ASSERT_TRUE(spool);
    auto name = spool->Put(std::string_view("kept"), "pdf");
    ASSERT_TRUE(name);
    // What a crash between write and rename leaves: a temporary file beside the target.
    const auto dir = spool->PathOf(*name)->parent_path();
    std::ofstream(dir / ("." + name->substr(0, 10) + ".tmpAbC123")) << "half a docu";
    EXPECT_FALSE(Spool::IsValidName("." + name->substr(0, 10) + ".tmpAbC123"));
    auto removed = spool->RemoveLeftovers();
    ASSERT_TRUE(removed);
    EXPECT_EQ(*removed, 1);
    EXPECT_EQ(Files().size(), 1u);
    EXPECT_EQ(Slurp(*spool->PathOf(*name)), "kept");
}

}  // namespace
}  // namespace faxd::store
