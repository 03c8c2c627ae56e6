#include "render/subprocess.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace faxd::render {
namespace {

using base::ErrorCode;

SubprocessOptions Options(std::vector<std::string> argv) {
    SubprocessOptions options;
    options.argv = std::move(argv);
    options.limits.wall = std::chrono::seconds{10};
    return options;
}

TEST(SubprocessTest, TrueSucceeds) {
    auto result = RunSubprocess(Options({"/bin/true"}));
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_TRUE(result->Succeeded());
    EXPECT_EQ(result->exit_code, 0);
}

TEST(SubprocessTest, FalseIsAResultNotAnError) {
    auto result = RunSubprocess(Options({"/bin/false"}));
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_FALSE(result->Succeeded());
    EXPECT_EQ(result->exit_code, 1);
}

TEST(SubprocessTest, CapturesBothStreamsWithoutAShell) {
    // The argument reaches the program verbatim: no shell expands ; or $.
    auto result =
        RunSubprocess(Options({"/bin/sh", "-c", "echo out; echo err >&2; exit 3", "ignored; $HOME"}));
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_EQ(result->exit_code, 3);
    EXPECT_EQ(result->std_out, "out\n");
    EXPECT_EQ(result->std_err, "err\n");

    auto echo = RunSubprocess(Options({"/bin/echo", "a;b", "$(id)", "*"}));
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->std_out, "a;b $(id) *\n");
}

TEST(SubprocessTest, CleanEnvironmentAndFreshWorkingDirectory) {
    ::setenv("FAXD_SECRET_FOR_TEST", "leak", 1);
    auto options = Options({"/bin/sh", "-c", "env; pwd; ls -A | wc -l"});
    options.extra_env = {"FAXD_EXTRA=1"};
    auto result = RunSubprocess(options);
    ::unsetenv("FAXD_SECRET_FOR_TEST");
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_EQ(result->std_out.find("FAXD_SECRET_FOR_TEST"), std::string::npos);
    EXPECT_NE(result->std_out.find("FAXD_EXTRA=1"), std::string::npos);
    EXPECT_NE(result->std_out.find("LC_ALL=C"), std::string::npos);
    EXPECT_NE(result->std_out.find("faxd-run-"), std::string::npos);
    EXPECT_TRUE(result->std_out.ends_with("\n0\n")) << result->std_out;
}

TEST(SubprocessTest, OwnTemporaryDirectoryIsRemoved) {
    auto parent = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-subprocess-test-");
    ASSERT_TRUE(parent);
    auto options = Options({"/bin/sh", "-c", "echo data > left-behind.txt"});
    options.temp_parent = parent->Path();
    auto result = RunSubprocess(options);
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_TRUE(std::filesystem::is_empty(parent->Path()));
}

TEST(SubprocessTest, GivenWorkingDirectoryIsUsedAndKept) {
    auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-subprocess-test-");
    ASSERT_TRUE(dir);
    auto options = Options({"/bin/sh", "-c", "echo data > out.txt"});
    options.work_dir = dir->Path();
    ASSERT_TRUE(RunSubprocess(options));
    EXPECT_TRUE(std::filesystem::exists(dir->Path() / "out.txt"));
}

TEST(SubprocessTest, TimeoutKillsTheProcessGroupAndNamesProgramAndSeconds) {
    // The child leaves a grandchild holding the pipes; the timeout must still return and kill both.
    auto options = Options({"/bin/sh", "-c", "sleep 30 & sleep 30"});
    options.limits.wall = std::chrono::milliseconds{300};
    const auto start = std::chrono::steady_clock::now();
    auto result = RunSubprocess(options);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kTimeout);
    EXPECT_EQ(result.error().message, "sh did not finish within 0.3 s");
    EXPECT_LT(took, std::chrono::seconds{5});
}

TEST(SubprocessTest, TooMuchOutputIsALimitError) {
    auto options = Options({"/bin/sh", "-c", "yes faxd"});
    options.limits.output_bytes = 4096;
    auto result = RunSubprocess(options);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kLimitExceeded);
    EXPECT_EQ(result.error().message, "sh wrote more than 4096 bytes to stdout");
}

TEST(SubprocessTest, FileSizeLimit) {
    auto options = Options({"/bin/sh", "-c", "head -c 200000 /dev/zero > big.bin"});
    options.limits.file_size_bytes = 100'000;
    auto result = RunSubprocess(options);
    // head gets SIGXFSZ; the shell reports it in its exit status (128 + 25) rather than dying itself.
    ASSERT_TRUE(result) << result.error().ToString();
    EXPECT_NE(result->exit_code, 0);

    auto direct = Options({"/usr/bin/head", "-c", "200000", "/dev/zero"});
    direct.limits.file_size_bytes = 100'000;
    direct.limits.output_bytes = 1 << 20;
    // Writing to a pipe is not bounded by RLIMIT_FSIZE, so this one runs into nothing but the output cap.
    auto piped = RunSubprocess(direct);
    ASSERT_TRUE(piped) << piped.error().ToString();
    EXPECT_EQ(piped->std_out.size(), 200'000u);
}

TEST(SubprocessTest, CpuLimit) {
    auto options = Options({"/bin/sh", "-c", "while :; do :; done"});
    options.limits.cpu = std::chrono::seconds{1};
    auto result = RunSubprocess(options);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kLimitExceeded);
    EXPECT_NE(result.error().message.find("sh exceeded its CPU limit of 1 s"), std::string::npos);
}

TEST(SubprocessTest, MissingProgramAndRelativePath) {
    auto missing = RunSubprocess(Options({"/usr/bin/faxd-no-such-program"}));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
    auto relative = RunSubprocess(Options({"true"}));
    ASSERT_FALSE(relative);
    EXPECT_EQ(relative.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(FindProgram("faxd-no-such-program"));
    EXPECT_TRUE(FindProgram("sh"));
}

}  // namespace
}  // namespace faxd::render
