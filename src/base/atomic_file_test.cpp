#include "base/atomic_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace faxd::base {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("faxd_atomic_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::string Read(const fs::path& path) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream buffer;
        buffer << in.rdbuf();
        return buffer.str();
    }
    int FileCount() const {
        return static_cast<int>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
    }

    fs::path dir_;
};

TEST_F(AtomicFileTest, WritesAndReplaces) {
    const auto target = dir_ / "job.json";
    ASSERT_TRUE(WriteFileAtomically(target, std::string_view("first")));
    EXPECT_EQ(Read(target), "first");
    ASSERT_TRUE(WriteFileAtomically(target, std::string_view("second, longer")));
    EXPECT_EQ(Read(target), "second, longer");
    EXPECT_EQ(FileCount(), 1) << "no temporary file may be left behind";
}

TEST_F(AtomicFileTest, FailsClearlyWhenDirectoryIsMissing) {
    auto result = WriteFileAtomically(dir_ / "missing" / "x", std::string_view("data"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kIo);
    EXPECT_NE(result.error().message.find("missing"), std::string::npos);
}

TEST_F(AtomicFileTest, UncommittedFileLeavesNothing) {
    const auto target = dir_ / "page.tif";
    {
        auto file = AtomicFile::Create(target);
        ASSERT_TRUE(file);
        std::ofstream(file->TempPath()) << "partial";
        EXPECT_EQ(FileCount(), 1);
    }
    EXPECT_EQ(FileCount(), 0);
    EXPECT_FALSE(fs::exists(target));
}

TEST_F(AtomicFileTest, CommitPublishesUnderTargetName) {
    const auto target = dir_ / "page.tif";
    auto file = AtomicFile::Create(target);
    ASSERT_TRUE(file);
    std::ofstream(file->TempPath()) << "complete";
    ASSERT_TRUE(file->Commit());
    EXPECT_EQ(Read(target), "complete");
    EXPECT_EQ(FileCount(), 1);
    EXPECT_FALSE(file->Commit()) << "a second commit is a bug and must say so";
}

}  // namespace
}  // namespace faxd::base
