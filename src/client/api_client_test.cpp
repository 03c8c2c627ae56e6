// ApiClient and faxctl's API commands against fake_api_server.py, which answers canned JSON and records the
// requests it gets, so the tests check what goes over the wire.
#include "client/api_client.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "client/commands.hpp"
#include "process.hpp"

namespace faxd::client {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "fxd_test_token";

void WriteText(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

std::vector<fs::path> FilesIn(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().filename());
    return files;
}

class ApiClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "faxctl-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        fs::create_directory(dir_ / "work");
        ::unsetenv("FAXCTL_SERVER");
        ::unsetenv("FAXCTL_TOKEN");
        ::unsetenv("FAXCTL_TOKEN_FILE");
    }
    void TearDown() override {
        server_.reset();
        fs::remove_all(dir_);
    }

    // Starts the fake server with these routes; the URL is then in server_url_.
    void Serve(const json& routes) {
        WriteText(dir_ / "routes.json", routes.dump());
        const fs::path out = dir_ / "server.out";
        server_ = faxd::testing::ChildProcess::Spawn(
            {FAXD_PYTHON3, FAXD_FAKE_API_SERVER, "--routes", (dir_ / "routes.json").string(), "--log",
             (dir_ / "requests.jsonl").string()},
            out);
        ASSERT_TRUE(server_);
        ASSERT_TRUE(faxd::testing::WaitForText(out, "\n", 10s)) << faxd::testing::ReadFile(out);
        std::istringstream text(faxd::testing::ReadFile(out));
        std::string word;
        int port = 0;
        ASSERT_TRUE(text >> word >> port && word == "port") << text.str();
        server_url_ = "http://127.0.0.1:" + std::to_string(port);
    }

    ApiClient Client(std::chrono::milliseconds timeout = 10s) {
        ClientOptions options;
        options.server = server_url_;
        options.token = kToken;
        options.timeout = timeout;
        return ApiClient(options);
    }

    std::vector<json> Requests() const {
        std::vector<json> requests;
        std::istringstream text(faxd::testing::ReadFile(dir_ / "requests.jsonl"));
        for (std::string line; std::getline(text, line);) requests.push_back(json::parse(line));
        return requests;
    }

    struct Run {
        int code = 0;
        std::string out;
        std::string err;
    };
    // faxctl ARGS... with the API commands only, in this process.
    Run Faxctl(std::vector<std::string> args, bool with_server = true) {
        if (with_server) args.insert(args.end(), {"--server", server_url_, "--token", kToken});
        args.insert(args.begin(), "faxctl");
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        CLI::App app{"faxctl"};
        app.require_subcommand(1);
        std::ostringstream out, err;
        AddApiCommands(app, out, err);
        Run run;
        try {
            app.parse(static_cast<int>(argv.size()), argv.data());
        } catch (const CLI::ParseError& error) {
            run.code = app.exit(error, out, err);
        }
        run.out = out.str();
        run.err = err.str();
        return run;
    }

    fs::path dir_;
    std::optional<faxd::testing::ChildProcess> server_;
    std::string server_url_;
};

json ApiError(int status, const std::string& code, const std::string& message) {
    return {{"status", status}, {"json", {{"error", {{"code", code}, {"message", message}}}}}};
}

const json kFax = {{"id", "out-12"},
                   {"direction", "outbound"},
                   {"reference", "2026.00000012"},
                   {"state", "sent"},
                   {"pages", 3},
                   {"number", "0301234567"},
                   {"owner", {{"id", 1}, {"login", "admin"}}},
                   {"attempts", json::array({{{"number", 1}, {"result", "ok"}, {"reason", ""}}})}};

TEST_F(ApiClientTest, GetSendsTheTokenAndParsesTheAnswer) {
    Serve({{"GET /api/v1/faxes/out-12", {{"status", 200}, {"json", kFax}}}});
    auto fax = Client().Get("/faxes/out-12");
    ASSERT_TRUE(fax) << fax.error().ToString();
    EXPECT_EQ((*fax)["reference"], "2026.00000012");
    const auto requests = Requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0]["headers"]["authorization"], std::string("Bearer ") + kToken);
    EXPECT_EQ(requests[0]["headers"]["accept"], "application/json");
}

TEST_F(ApiClientTest, QueryValuesArePercentEncoded) {
    Serve({{"GET /api/v1/faxes", {{"status", 200}, {"json", {{"faxes", json::array()}}}}}});
    ASSERT_TRUE(Client().Get("/faxes", {{"number", "+49 30/12&x=1"}, {"state", "sent"}}));
    const auto query = Requests().at(0)["query"];
    EXPECT_EQ(query["number"], "+49 30/12&x=1");
    EXPECT_EQ(query["state"], "sent");
}

TEST_F(ApiClientTest, PostSendsJsonOrNothing) {
    Serve({{"POST /api/v1/faxes/out-1/resend", {{"status", 201}, {"json", {{"faxes", json::array()}}}}},
           {"POST /api/v1/queue/continue", {{"status", 204}}}});
    auto client = Client();
    ASSERT_TRUE(client.Post("/faxes/out-1/resend", {{"to", "0301234567"}}));
    auto empty = client.Post("/queue/continue");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->is_null());
    const auto requests = Requests();
    EXPECT_EQ(requests[0]["headers"]["content-type"], "application/json");
    EXPECT_EQ(requests[0]["json"], (json{{"to", "0301234567"}}));
    EXPECT_EQ(requests[1]["body"], "");
    EXPECT_EQ(requests[1]["headers"]["content-length"], "0");
}

TEST_F(ApiClientTest, PatchAndDeleteUseTheirMethods) {
    Serve({{"PATCH /api/v1/users/4", {{"status", 200}, {"json", {{"id", 4}}}}},
           {"DELETE /api/v1/faxes/out-1", {{"status", 204}}}});
    auto client = Client();
    ASSERT_TRUE(client.Patch("/users/4", {{"name", "Bob"}}));
    ASSERT_TRUE(client.Delete("/faxes/out-1"));
    const auto requests = Requests();
    EXPECT_EQ(requests[0]["method"], "PATCH");
    EXPECT_EQ(requests[0]["json"], (json{{"name", "Bob"}}));
    EXPECT_EQ(requests[1]["method"], "DELETE");
}

TEST_F(ApiClientTest, FormUploadsFilesAndFieldsAsNamedParts) {
    Serve({{"POST /api/v1/faxes", {{"status", 201}, {"json", {{"faxes", json::array()}}}}}});
    WriteText(dir_ / "a.pdf", "%PDF-1.4 first");
    WriteText(dir_ / "b.txt", "second document");
    ASSERT_TRUE(
        Client().PostForm("/faxes",
                          {FormPart::File("file", dir_ / "a.pdf"), FormPart::File("file", dir_ / "b.txt"),
                           FormPart::Field("to", "030123"), FormPart::Field("to", "040456")},
                          {{"Idempotency-Key", "k-1"}}));
    const auto request = Requests().at(0);
    EXPECT_EQ(request["headers"]["idempotency-key"], "k-1");
    const auto& parts = request["parts"];
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[0]["name"], "file");
    EXPECT_EQ(parts[0]["filename"], "a.pdf");
    EXPECT_EQ(parts[0]["content"], "%PDF-1.4 first");
    EXPECT_EQ(parts[1]["filename"], "b.txt");
    EXPECT_EQ(parts[1]["content"], "second document");
    EXPECT_EQ(parts[2]["name"], "to");
    EXPECT_EQ(parts[2]["content"], "030123");
    EXPECT_EQ(parts[3]["content"], "040456");
}

TEST_F(ApiClientTest, ApiErrorsNameCodeMessageAndStatus) {
    Serve({{"POST /api/v1/faxes/out-1/cancel", ApiError(409, "conflict", "the fax is sent")},
           {"GET /api/v1/broken", {{"status", 502}, {"text", "Bad Gateway\nnginx"}}}});
    auto client = Client();
    auto refused = client.Post("/faxes/out-1/cancel");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().ToString(), "conflict: the fax is sent (HTTP 409)");
    auto proxy = client.Get("/broken");
    ASSERT_FALSE(proxy);
    EXPECT_EQ(proxy.error().ToString(), "Bad Gateway (HTTP 502)");
}

TEST_F(ApiClientTest, UnreachableServerIsNamed) {
    const std::string url = "http://127.0.0.1:" + std::to_string(faxd::testing::FreePort());
    ApiClient client(ClientOptions{url, kToken});
    auto answer = client.Get("/health");
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().ToString(), "cannot connect to " + url + ": Connection refused");
}

TEST_F(ApiClientTest, SlowServerTimesOut) {
    Serve({{"GET /api/v1/slow", {{"status", 200}, {"json", json::object()}, {"delay", 3}}}});
    auto answer = Client(300ms).Get("/slow");
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().ToString(), server_url_ + " did not answer within 0.3 s");
}

TEST_F(ApiClientTest, ServerUrlMayNameTheApiRoot) {
    Serve({{"GET /api/v1/health", {{"status", 200}, {"json", {{"status", "ok"}}}}}});
    ApiClient client(ClientOptions{server_url_ + "/api/v1/", ""});
    auto health = client.Get("/health");
    ASSERT_TRUE(health) << health.error().ToString();
    EXPECT_FALSE(Requests().at(0)["headers"].contains("authorization"));
}

TEST_F(ApiClientTest, DownloadReplacesTheFileOnlyWhenComplete) {
    Serve({{"GET /api/v1/faxes/out-1/document", {{"status", 200}, {"text", "%PDF-1.4 pages"}}},
           {"GET /api/v1/faxes/out-2/document", ApiError(409, "conflict", "not rendered yet")},
           {"GET /api/v1/faxes/out-3/document",
            {{"status", 200}, {"text", "%PDF-1.4 cut"}, {"declared_length", 100000}}}});
    const fs::path work = dir_ / "work";
    auto client = Client();
    auto bytes = client.Download("/faxes/out-1/document", {{"format", "pdf"}}, work / "out-1.pdf");
    ASSERT_TRUE(bytes) << bytes.error().ToString();
    EXPECT_EQ(*bytes, 14u);
    EXPECT_EQ(faxd::testing::ReadFile(work / "out-1.pdf"), "%PDF-1.4 pages");
    EXPECT_EQ(Requests().at(0)["query"]["format"], "pdf");

    WriteText(work / "keep.pdf", "old");
    auto refused = client.Download("/faxes/out-2/document", {}, work / "keep.pdf");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().ToString(), "conflict: not rendered yet (HTTP 409)");
    EXPECT_EQ(faxd::testing::ReadFile(work / "keep.pdf"), "old");

    auto cut = client.Download("/faxes/out-3/document", {}, work / "keep.pdf");
    ASSERT_FALSE(cut);
    EXPECT_EQ(faxd::testing::ReadFile(work / "keep.pdf"), "old");
    // No temporary files are left behind.
    auto files = FilesIn(work);
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<fs::path>{"keep.pdf", "out-1.pdf"}));
}

// faxctl's commands over the same fake server.

TEST_F(ApiClientTest, SendPostsEveryRecipientAndDocument) {
    const json faxes = {
        {"faxes",
         {{{"id", "out-1"}, {"reference", "2026.00000001"}, {"number", "030123"}, {"state", "queued"}},
          {{"id", "out-2"}, {"reference", "2026.00000002"}, {"number", "040456"}, {"state", "queued"}}}}};
    Serve({{"POST /api/v1/faxes", {{"status", 201}, {"json", faxes}}}});
    WriteText(dir_ / "a.pdf", "%PDF-1.4 a");
    const auto run = Faxctl({"send", (dir_ / "a.pdf").string(), "--to", "030123,040456", "--subject", "Offer",
                             "--priority", "5", "--economy", "--idempotency-key", "k-9"});
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_NE(run.out.find("out-1  2026.00000001  030123"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("out-2  2026.00000002  040456"), std::string::npos) << run.out;
    const auto request = Requests().at(0);
    EXPECT_EQ(request["headers"]["idempotency-key"], "k-9");
    std::vector<std::string> names;
    for (const auto& part : request["parts"])
        names.push_back(part["name"].get<std::string>() + "=" + part["content"].get<std::string>());
    EXPECT_EQ(names, (std::vector<std::string>{"file=%PDF-1.4 a", "to=030123", "to=040456", "subject=Offer",
                                               "priority=5", "economy=true"}));
}

TEST_F(ApiClientTest, SendWithoutRecipientIsAUsageError) {
    WriteText(dir_ / "a.pdf", "%PDF-1.4 a");
    const auto run = Faxctl({"send", (dir_ / "a.pdf").string(), "--server", "http://127.0.0.1:9"}, false);
    EXPECT_EQ(run.code, 2);
    EXPECT_EQ(run.err, "faxctl: send needs --to NUMBER\n");
}

TEST_F(ApiClientTest, StatusPrintsTheApiJsonOrText) {
    Serve({{"GET /api/v1/faxes/out-12", {{"status", 200}, {"json", kFax}}}});
    const auto as_json = Faxctl({"status", "out-12", "--json"});
    ASSERT_EQ(as_json.code, 0) << as_json.err;
    const json printed = json::parse(as_json.out);
    for (const char* key : {"id", "reference", "state", "pages", "direction"})
        EXPECT_EQ(printed[key], kFax[key]);
    const auto as_text = Faxctl({"status", "out-12"});
    ASSERT_EQ(as_text.code, 0) << as_text.err;
    EXPECT_NE(as_text.out.find("reference     2026.00000012"), std::string::npos) << as_text.out;
    EXPECT_NE(as_text.out.find("TRY"), std::string::npos) << as_text.out;
}

TEST_F(ApiClientTest, ListAllFollowsTheCursors) {
    Serve({{"GET /api/v1/faxes?state=sent",
            {{"status", 200}, {"json", {{"faxes", {kFax}}, {"next_cursor", "c2"}}}}},
           {"GET /api/v1/faxes?state=sent&cursor=c2",
            {{"status", 200}, {"json", {{"faxes", {kFax}}, {"next_cursor", nullptr}}}}}});
    const auto run = Faxctl({"list", "--state", "sent", "--all", "--json"});
    ASSERT_EQ(run.code, 0) << run.err;
    const json printed = json::parse(run.out);
    EXPECT_EQ(printed["faxes"].size(), 2u);
    EXPECT_TRUE(printed["next_cursor"].is_null());
    EXPECT_EQ(Requests().size(), 2u);

    const auto first_page = Faxctl({"list", "--state", "sent"});
    ASSERT_EQ(first_page.code, 0);
    EXPECT_NE(first_page.out.find("out-12"), std::string::npos);
    EXPECT_NE(first_page.err.find("--cursor c2"), std::string::npos);
}

TEST_F(ApiClientTest, ApiErrorEndsWithExitCodeOne) {
    Serve({{"POST /api/v1/faxes/out-12/cancel", ApiError(409, "conflict", "the fax is sent")}});
    const auto run = Faxctl({"cancel", "out-12"});
    EXPECT_EQ(run.code, 1);
    EXPECT_EQ(run.err, "faxctl: conflict: the fax is sent (HTTP 409)\n");
}

TEST_F(ApiClientTest, UnauthorizedWithoutTokenSaysWhereTokensComeFrom) {
    Serve({{"GET /api/v1/queue", ApiError(401, "unauthorized", "no credentials")}});
    const auto run = Faxctl({"queue", "list", "--server", server_url_}, false);
    EXPECT_EQ(run.code, 1);
    EXPECT_EQ(run.err,
              "faxctl: unauthorized: no credentials (HTTP 401)\n"
              "(no API token was given: --token, $FAXCTL_TOKEN or $FAXCTL_TOKEN_FILE)\n");
}

TEST_F(ApiClientTest, TokenCreateAsksWhoIsCalling) {
    Serve({{"GET /api/v1/me", {{"status", 200}, {"json", {{"id", 7}, {"login", "alice"}}}}},
           {"POST /api/v1/users/7/tokens",
            {{"status", 201}, {"json", {{"id", 3}, {"name", "laptop"}, {"token", "fxd_new"}}}}}});
    const auto run = Faxctl({"token", "create", "--name", "laptop"});
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_EQ(run.out, "fxd_new\n");
    EXPECT_EQ(Requests().at(1)["json"], (json{{"name", "laptop"}}));
}

TEST_F(ApiClientTest, UsersSetSendsOnlyTheGivenFields) {
    Serve({{"PATCH /api/v1/users/4", {{"status", 200}, {"json", {{"id", 4}, {"login", "bob"}}}}}});
    const auto run = Faxctl({"users", "set", "4", "--name", "Bob", "--send-enabled", "false", "--permission",
                             "inherit", "--number", "201,202"});
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_EQ(run.out, "user 4 (bob) changed\n");
    EXPECT_EQ(
        Requests().at(0)["json"],
        (json{
            {"name", "Bob"}, {"send_enabled", false}, {"permission", nullptr}, {"numbers", {"201", "202"}}}));
}

TEST_F(ApiClientTest, TokenAndServerComeFromTheEnvironment) {
    Serve({{"GET /api/v1/queue",
            {{"status", 200}, {"json", {{"sending_stopped", false}, {"jobs", json::array()}}}}}});
    WriteText(dir_ / "admin.token", "fxd_from_file\n");
    ::setenv("FAXCTL_SERVER", server_url_.c_str(), 1);
    ::setenv("FAXCTL_TOKEN_FILE", (dir_ / "admin.token").c_str(), 1);
    const auto run = Faxctl({"queue", "list"}, false);
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_EQ(Requests().at(0)["headers"]["authorization"], "Bearer fxd_from_file");
}

TEST_F(ApiClientTest, DownloadCommandWritesTheChosenFormat) {
    Serve({{"GET /api/v1/faxes/in-3/document", {{"status", 200}, {"text", "II*tiff"}}}});
    const fs::path file = dir_ / "work" / "fax.tif";
    const auto run = Faxctl({"download", "in-3", "-o", file.string(), "--format", "tiff"});
    ASSERT_EQ(run.code, 0) << run.err;
    EXPECT_EQ(run.out, file.string() + ": 7 bytes\n");
    EXPECT_EQ(Requests().at(0)["query"]["format"], "tiff");
}

}  // namespace
}  // namespace faxd::client
