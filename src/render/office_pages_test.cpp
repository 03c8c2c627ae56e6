// Office documents through a warm LibreOffice pool. The fixtures are made here, by a cold `soffice
// --convert-to` (independent of the UNO path under test): HTML to docx/doc/odt/rtf, CSV to xlsx/xls/ods and a
// hand-written flat ODP to pptx/ppt/odp. Then the failure paths: damaged, password-protected, too large, too
// slow (the instance is replaced), two documents at once, recycling, and no process outliving its pool.
#include "render/office_pages.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace faxd::render {
namespace {

using base::ErrorCode;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kHtml = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Quarterly report</title></head><body>
<h1>Quarterly report</h1>
<p>The quick brown fox jumps over the lazy dog. Paper and toner for the fax machine, as agreed.</p>
<table border="1"><tr><th>Item</th><th>Amount</th></tr><tr><td>Paper</td><td>12</td></tr>
<tr><td>Toner</td><td>30</td></tr></table>
<h1 style="page-break-before: always">Second page</h1><p>More text on page two.</p>
<h1 style="page-break-before: always">Third page</h1><p>The end.</p>
</body></html>
)";

constexpr const char* kCsv = "Item,Amount,Note\nPaper,12,white A4\nToner,30,black\nDrum,1,spare\n";

// Two slides with a text frame each: the smallest presentation LibreOffice accepts (ODF 1.2 flat XML).
constexpr const char* kFlatPresentation = R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation">
<office:master-styles><style:master-page style:name="Default"/></office:master-styles>
<office:body><office:presentation>
<draw:page draw:name="one" draw:master-page-name="Default">
 <draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
  <draw:text-box><text:p>Slide one: quarterly figures</text:p></draw:text-box></draw:frame></draw:page>
<draw:page draw:name="two" draw:master-page-name="Default">
 <draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">
  <draw:text-box><text:p>Slide two: the end</text:p></draw:text-box></draw:frame></draw:page>
</office:presentation></office:body></office:document>
)";

// A flat ODT (LibreOffice opens it directly) of `paragraphs` lines; `pages` > 1 starts pages 2.. with a
// break.
std::string FlatText(int paragraphs, int pages = 1) {
    std::string body;
    for (int i = 0; i < paragraphs; ++i) {
        const bool page_break = i > 0 && i < pages;
        body += std::string("<text:p") + (page_break ? " text:style-name=\"Break\"" : "") + ">Paragraph " +
                std::to_string(i) +
                ": the quick brown fox jumps over the lazy dog, again and again.</text:p>\n";
    }
    return R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles><style:style style:name="Break" style:family="paragraph">
<style:paragraph-properties fo:break-before="page"/></style:style></office:automatic-styles>
<office:body><office:text>
)" + body + "</office:text></office:body></office:document>\n";
}

// Makes an encrypted ODT: LibreOffice stores with a password only through UNO, so this starts its own
// soffice for the purpose (in the python's process group, which RunSubprocess kills afterwards).
constexpr const char* kEncryptScript = R"(import sys, time, subprocess, uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
source, target, profile, pipe = sys.argv[1:5]
def prop(name, value):
    p = PropertyValue(); p.Name = name; p.Value = value; return p
office = subprocess.Popen(["/usr/bin/soffice", "-env:UserInstallation=" + profile, "--headless",
                           "--norestore", "--nologo", "--accept=pipe,name=" + pipe + ";urp;"])
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
for attempt in range(600):
    try:
        context = resolver.resolve("uno:pipe,name=" + pipe + ";urp;StarOffice.ComponentContext")
        break
    except NoConnectException:
        time.sleep(0.05)
desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0,
                                        (prop("Hidden", True),))
document.storeToURL(uno.systemPathToFileUrl(target),
                    (prop("FilterName", "writer8"), prop("Password", "secret")))
document.close(True)
try:
    desktop.terminate()
except Exception:
    pass
office.wait(timeout=20)
)";

// Processes whose command line mentions `needle` (a test's private directory): soffice's launcher,
// soffice.bin and the bridge. `program` narrows it to one executable name.
std::vector<pid_t> ProcessesMentioning(const std::string& needle, const std::string& program = "") {
    std::vector<pid_t> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream in(entry.path() / "cmdline", std::ios::binary);
        const std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
        if (cmdline.find(needle) == std::string::npos) continue;
        if (!program.empty() && std::filesystem::path(argv0).filename() != program) continue;
        found.push_back(std::stoi(name));
    }
    return found;
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// The sockets that this process's soffice instances made in /tmp (OSL_PIPE_<uid>_faxd_office_<pid>_...).
std::set<std::string> OurSockets() {
    std::set<std::string> names;
    const std::string ours = "_faxd_office_" + std::to_string(::getpid()) + "_";
    for (const auto& entry : std::filesystem::directory_iterator("/tmp")) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("OSL_PIPE_") && name.find(ours) != std::string::npos) names.insert(name);
    }
    return names;
}

struct TypeCase {
    DocumentType type;
    int pages;
};

// ctest lists parameterised tests with their printed parameter.
void PrintTo(const TypeCase& param, std::ostream* out) {
    *out << DocumentTypeName(param.type) << ", " << param.pages << " pages";
}

class OfficeTest : public ::testing::Test {
protected:
    // One directory, cold-converted fixtures and a one-instance pool per test process (ctest runs each test
    // in its own process, so fixtures are made on first use, only those a test needs).
    static void SetUpTestSuite() {
        if (dir_) return;
        auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-office-test-");
        ASSERT_TRUE(dir) << dir.error().ToString();
        dir_ = std::make_unique<TempDir>(std::move(*dir));
        std::filesystem::create_directory(Dir() / "scratch");
        std::filesystem::create_directory(Dir() / "pool");
        pool_ = std::make_unique<OfficePool>(PoolOptions("pool"));
    }
    static void TearDownTestSuite() {
        pool_.reset();
        fixtures_.clear();
        dir_.reset();
    }
    void SetUp() override {
        options_.temp_parent = Dir() / "scratch";
        options_.timeout = std::chrono::seconds{60};
    }
    void TearDown() override { EXPECT_TRUE(std::filesystem::is_empty(Dir() / "scratch")); }

    static std::filesystem::path Dir() { return dir_->Path(); }

    static OfficePoolOptions PoolOptions(const std::string& subdir) {
        std::filesystem::create_directories(Dir() / subdir);
        OfficePoolOptions options;
        options.temp_parent = Dir() / subdir;
        options.timeout = std::chrono::seconds{60};
        return options;
    }

    static std::filesystem::path Write(const std::string& name, const std::string& content) {
        const auto path = Dir() / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    static void Run(std::vector<std::string> argv) {
        SubprocessOptions run;
        run.argv = std::move(argv);
        run.work_dir = Dir();
        run.limits.wall = std::chrono::seconds{90};
        run.limits.address_space_bytes = 8ull << 30;
        auto result = RunSubprocess(run);
        ASSERT_TRUE(result) << result.error().ToString();
        ASSERT_TRUE(result->Succeeded()) << run.argv[0] << ": " << result->std_out << result->std_err;
    }

    // `soffice --convert-to FORMAT source` with a profile of its own, as a user would run it.
    static std::filesystem::path ColdConvert(const std::filesystem::path& source, const std::string& format,
                                             const std::string& import_filter = "") {
        std::vector<std::string> argv = {
            "/usr/bin/soffice", "-env:UserInstallation=file://" + Dir().string() + "/cold", "--headless"};
        if (!import_filter.empty()) argv.push_back("--infilter=" + import_filter);
        for (const std::string arg : {"--convert-to", format.c_str(), "--outdir"}) argv.push_back(arg);
        argv.push_back(Dir().string());
        argv.push_back(source.string());
        Run(argv);
        return Dir() / (source.stem().string() + "." + format);
    }

    static std::filesystem::path Fixture(DocumentType type) {
        if (auto found = fixtures_.find(type); found != fixtures_.end()) return found->second;
        const std::string format(DocumentTypeName(type));
        std::filesystem::path made;
        switch (type) {
            case DocumentType::kDocx:
            case DocumentType::kDoc:
            case DocumentType::kOdt:
            case DocumentType::kRtf:
                // Without the Writer import filter, HTML opens in Writer/Web, which exports none of these.
                made = ColdConvert(Write("report.html", kHtml), format, "HTML (StarWriter)");
                break;
            case DocumentType::kXlsx:
            case DocumentType::kXls:
            case DocumentType::kOds:
                made = ColdConvert(Write("sheet.csv", kCsv), format);
                break;
            default:
                made = ColdConvert(Write("slides.fodp", kFlatPresentation), format);
                break;
        }
        EXPECT_TRUE(std::filesystem::exists(made)) << made;
        return fixtures_[type] = made;
    }

    static DocumentType Detect(const std::filesystem::path& file) {
        std::ifstream in(file, std::ios::binary);
        std::vector<std::uint8_t> head(kDetectHeadBytes);
        in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        return DetectType(head, file.filename().string());
    }

    static inline std::unique_ptr<TempDir> dir_;
    static inline std::unique_ptr<OfficePool> pool_;
    static inline std::map<DocumentType, std::filesystem::path> fixtures_;
    RenderOptions options_;
};

class OfficeTypeTest : public OfficeTest, public ::testing::WithParamInterface<TypeCase> {};

TEST_P(OfficeTypeTest, DetectedAndRenderedToFaxPages) {
    const auto [type, pages] = GetParam();
    const auto input = Fixture(type);
    ASSERT_EQ(Detect(input), type);

    const auto output = Dir() / "out.tif";
    auto rendered = RenderOfficeToFax(input, output, options_, *pool_);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, type);
    EXPECT_EQ(rendered->pages, pages);
    auto summary = InspectFaxTiff(output);
    ASSERT_TRUE(summary) << summary.error().ToString();
    ASSERT_EQ(summary->size(), static_cast<std::size_t>(pages));
    for (const auto& page : *summary) {
        EXPECT_EQ(page.width, kFaxWidth);
        EXPECT_EQ(page.height, 2292);
        EXPECT_EQ(page.y_dpi, 196);
        EXPECT_GT(page.black_ratio, 0.0003) << "blank page";
        EXPECT_LT(page.black_ratio, 0.2) << "mostly black page";
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, OfficeTypeTest,
                         ::testing::Values(TypeCase{DocumentType::kDocx, 3}, TypeCase{DocumentType::kDoc, 3},
                                           TypeCase{DocumentType::kOdt, 3}, TypeCase{DocumentType::kRtf, 3},
                                           TypeCase{DocumentType::kXlsx, 1}, TypeCase{DocumentType::kXls, 1},
                                           TypeCase{DocumentType::kOds, 1}, TypeCase{DocumentType::kPptx, 2},
                                           TypeCase{DocumentType::kPpt, 2}, TypeCase{DocumentType::kOdp, 2}),
                         [](const ::testing::TestParamInfo<TypeCase>& info) {
                             return std::string(DocumentTypeName(info.param.type));
                         });

TEST_F(OfficeTest, RenderToFaxUsesThePoolWhenEnabled) {
    const auto input = Fixture(DocumentType::kDocx);
    RenderOptions without = options_;
    without.office = nullptr;
    auto refused = RenderToFax(input, Dir() / "none.tif", without);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kUnsupported);
    EXPECT_THAT(refused.error().message, HasSubstr("need LibreOffice"));
    RenderOptions with = options_;
    with.office = pool_.get();
    auto rendered = RenderToFax(input, Dir() / "docx.tif", with);
    ASSERT_TRUE(rendered) << rendered.error().ToString();
    EXPECT_EQ(rendered->type, DocumentType::kDocx);
    EXPECT_EQ(rendered->pages, 3);
}

TEST_F(OfficeTest, DamagedDocxGivesAnErrorNamingTheFile) {
    std::string garbage = "PK\x03\x04";
    for (int i = 0; i < 5000; ++i) garbage += static_cast<char>((i * 7919) % 251);
    const auto input = Write("broken.docx", garbage);
    ASSERT_EQ(Detect(input), DocumentType::kDocx);
    auto rendered = RenderOfficeToFax(input, Dir() / "out.tif", options_, *pool_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kMalformed);
    EXPECT_THAT(rendered.error().message, StartsWith("broken.docx: LibreOffice cannot open the document"));
    EXPECT_FALSE(std::filesystem::exists(Dir() / "out.tif"));
}

TEST_F(OfficeTest, PasswordProtectedDocumentIsRefused) {
    const auto source = Write("letter.fodt", FlatText(5));
    const auto secret = Dir() / "secret.odt";
    const auto script = Write("encrypt.py", kEncryptScript);
    Run({"/usr/bin/python3", "-I", script.string(), source.string(), secret.string(),
         "file://" + Dir().string() + "/encrypt-profile",
         "faxd_office_test_encrypt_" + std::to_string(::getpid())});
    ASSERT_EQ(Detect(secret), DocumentType::kOdt);
    auto rendered = RenderOfficeToFax(secret, Dir() / "out.tif", options_, *pool_);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(rendered.error().message, "secret.odt: the document is protected by a password");
}

TEST_F(OfficeTest, RefusedBeforeLibreOfficeStarts) {
    // A pool that cannot start: reaching LibreOffice would fail with kNotFound.
    auto options = PoolOptions("unused");
    options.soffice = "/nonexistent/soffice";
    OfficePool pool(options);
    const auto big = Write("big.docx", std::string(4096, 'x'));
    auto rendered = RenderOfficeToFax(big, Dir() / "out.tif", options_, pool, 1000);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kLimitExceeded);
    EXPECT_THAT(rendered.error().message, StartsWith("big.docx: the document is "));

    const auto text = Write("notes.txt", "just text\n");
    rendered = RenderOfficeToFax(text, Dir() / "out.tif", options_, pool);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kUnsupported);

    rendered =
        RenderOfficeToFax(Write("real.docx", "PK\x03\x04 not much"), Dir() / "out.tif", options_, pool);
    ASSERT_FALSE(rendered);
    EXPECT_EQ(rendered.error().code, ErrorCode::kNotFound) << rendered.error().ToString();
    EXPECT_EQ(rendered.error().message, "real.docx: LibreOffice is not installed at /nonexistent/soffice");
}

TEST_F(OfficeTest, ABridgeThatCannotStartIsReportedAtOnce) {
    auto options = PoolOptions("nobridge");
    options.python = "/bin/false";  // as a python without the uno module would: exit at once
    OfficePool pool(options);
    const auto started = std::chrono::steady_clock::now();
    auto converted = pool.Convert(Write("any.fodt", FlatText(1)), Dir() / "any.pdf");
    ASSERT_FALSE(converted);
    EXPECT_EQ(converted.error().code, ErrorCode::kIo);
    EXPECT_EQ(converted.error().message,
              "any.fodt: LibreOffice did not start: the UNO bridge ended (exit code 1)");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{10});
    EXPECT_TRUE(ProcessesMentioning(options.temp_parent.string()).empty());
    EXPECT_TRUE(std::filesystem::is_empty(options.temp_parent));
}

TEST_F(OfficeTest, TimeoutKillsTheInstanceAndTheNextDocumentWorks) {
    auto options = PoolOptions("slow");
    options.timeout = std::chrono::seconds{2};
    OfficePool pool(options);
    // ~1150 pages: LibreOffice needs about 12 s for it on the reference machine.
    const auto huge = Write("huge.fodt", FlatText(60000));
    const auto sockets_before = OurSockets();
    const auto started = std::chrono::steady_clock::now();
    auto converted = pool.Convert(huge, Dir() / "huge.pdf");
    ASSERT_FALSE(converted);
    EXPECT_EQ(converted.error().code, ErrorCode::kTimeout);
    EXPECT_EQ(converted.error().message, "huge.fodt: LibreOffice did not finish converting within 2 s");
    const auto killed = ProcessesMentioning(options.temp_parent.string());
    EXPECT_TRUE(killed.empty()) << killed.size() << " processes left";
    EXPECT_EQ(OurSockets(), sockets_before) << "the killed soffice's socket stayed in /tmp";
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{40});

    converted = pool.Convert(Write("small.fodt", FlatText(3, 3)), Dir() / "small.pdf");
    ASSERT_TRUE(converted) << converted.error().ToString();
    EXPECT_EQ(*converted, 3);
}

TEST_F(OfficeTest, TwoThreadsConvertAtOnceOnTwoInstances) {
    auto options = PoolOptions("two");
    options.instances = 2;
    OfficePool pool(options);
    const std::vector<std::filesystem::path> inputs = {Write("two0.fodt", FlatText(4, 2)),
                                                       Write("two1.fodt", FlatText(6, 3))};
    std::vector<base::Result<int>> results(2, base::MakeError(ErrorCode::kInternal, "not run"));
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < 2; ++i) {
            threads.emplace_back(
                [&, i] { results[i] = pool.Convert(inputs[i], inputs[i].string() + ".pdf"); });
        }
    }
    ASSERT_TRUE(results[0]) << results[0].error().ToString();
    ASSERT_TRUE(results[1]) << results[1].error().ToString();
    EXPECT_EQ(*results[0], 2);
    EXPECT_EQ(*results[1], 3);
    EXPECT_EQ(ProcessesMentioning(options.temp_parent.string(), "soffice.bin").size(), 2u);
}

TEST_F(OfficeTest, RecycledAfterTheConfiguredNumberOfDocuments) {
    auto options = PoolOptions("recycle");
    options.recycle_after = 2;
    OfficePool pool(options);
    const auto input = Write("recycle.fodt", FlatText(3));
    std::vector<std::vector<pid_t>> office_pids;
    for (int i = 0; i < 3; ++i) {
        auto converted = pool.Convert(input, Dir() / "recycle.pdf");
        ASSERT_TRUE(converted) << converted.error().ToString();
        office_pids.push_back(ProcessesMentioning(options.temp_parent.string(), "soffice.bin"));
        ASSERT_EQ(office_pids.back().size(), 1u);
    }
    EXPECT_EQ(office_pids[0], office_pids[1]);
    EXPECT_NE(office_pids[1], office_pids[2]);
    EXPECT_FALSE(Alive(office_pids[1][0]));
}

TEST_F(OfficeTest, NothingRunsBeforeTheFirstDocumentOrAfterDestruction) {
    auto options = PoolOptions("lifetime");
    std::vector<pid_t> pids;
    {
        OfficePool pool(options);
        EXPECT_TRUE(ProcessesMentioning(options.temp_parent.string()).empty());
        auto converted = pool.Convert(Write("life.fodt", FlatText(3)), Dir() / "life.pdf");
        ASSERT_TRUE(converted) << converted.error().ToString();
        pids = ProcessesMentioning(options.temp_parent.string());
        EXPECT_GE(pids.size(), 3u);  // soffice's launcher, soffice.bin, the bridge
        EXPECT_EQ(ProcessesMentioning(options.temp_parent.string(), "soffice.bin").size(), 1u);
    }
    for (pid_t pid : pids) EXPECT_FALSE(Alive(pid)) << "process " << pid << " outlived the pool";
    EXPECT_TRUE(std::filesystem::is_empty(options.temp_parent));
}

}  // namespace
}  // namespace faxd::render
