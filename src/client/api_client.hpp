// A small client of faxd's REST API (docs/api.md) over libcurl: JSON in and out, multipart uploads, file
// downloads. One request at a time; every call is a fresh connection, which is plenty for a CLI.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace faxd::client {

struct ClientOptions {
    // The faxd base URL ("http://127.0.0.1:8080"); "/api/v1" is added unless it is there.
    std::string server = "http://127.0.0.1:8080";
    std::string token;      // API token, sent as "Authorization: Bearer"; empty: none
    bool insecure = false;  // do not check the server's certificate (self-signed test setups)
    std::string ca_file;    // check the server's certificate against these CAs instead of the system's
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{300'000};  // the whole request: uploads of large documents take a while
};

// Why a call failed: no answer (http_status 0) or an API error answer.
struct ClientError {
    int http_status = 0;
    std::string code;     // the API's error code ("conflict"), or empty
    std::string message;  // the API's message, or what went wrong on the way

    // "conflict: the fax is sent (HTTP 409)" or "cannot connect to http://127.0.0.1:8080: Connection
    // refused".
    std::string ToString() const;
};

template <typename T>
using ClientResult = tl::expected<T, ClientError>;

using QueryParams = std::vector<std::pair<std::string, std::string>>;
using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

// One part of a multipart/form-data body: a text field, or a file's content under its file name.
struct FormPart {
    std::string name;
    std::string value;
    std::filesystem::path file;  // set: the part is this file

    static FormPart Field(std::string name, std::string value) {
        return {std::move(name), std::move(value), {}};
    }
    static FormPart File(std::string name, std::filesystem::path file) {
        return {std::move(name), {}, std::move(file)};
    }
};

class ApiClient {
public:
    explicit ApiClient(ClientOptions options);
    ~ApiClient();
    ApiClient(const ApiClient&) = delete;
    ApiClient& operator=(const ApiClient&) = delete;

    // Paths are relative to /api/v1 ("/faxes/out-1"). A 2xx answer's JSON body, or null when it has none.
    ClientResult<nlohmann::json> Get(std::string_view path, const QueryParams& query = {});
    // A null body sends none.
    ClientResult<nlohmann::json> Post(std::string_view path, const nlohmann::json& body = nullptr,
                                      const ExtraHeaders& headers = {});
    ClientResult<nlohmann::json> Patch(std::string_view path, const nlohmann::json& body);
    ClientResult<nlohmann::json> PostForm(std::string_view path, const std::vector<FormPart>& parts,
                                          const ExtraHeaders& headers = {});
    ClientResult<nlohmann::json> Delete(std::string_view path);
    // Saves a 2xx answer's body to `target` atomically (a temporary file beside it, renamed when complete),
    // so a failed or cut download never leaves a partial file and never clobbers an existing one. Returns
    // the number of bytes written.
    ClientResult<std::uintmax_t> Download(std::string_view path, const QueryParams& query,
                                          const std::filesystem::path& target);

    // The full URL of an API path with its query string, percent-encoded.
    std::string Url(std::string_view path, const QueryParams& query = {}) const;
    const std::string& server() const { return options_.server; }

private:
    struct Request;
    ClientResult<nlohmann::json> Perform(Request& request);
    static size_t CollectBody(char* data, size_t size, size_t count, void* request);

    ClientOptions options_;
    std::string api_base_;  // server + "/api/v1"
};

// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
std::string EncodeComponent(std::string_view text);

}  // namespace faxd::client
