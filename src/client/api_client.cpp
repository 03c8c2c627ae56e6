#include "client/api_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "base/atomic_file.hpp"

namespace faxd::client {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBodyBytes = 64u << 20;  // a JSON answer larger than this is not from faxd

struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct HeaderListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct MimeDeleter {
    void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};
struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

std::string FormatSeconds(std::chrono::milliseconds span) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", static_cast<double>(span.count()) / 1000.0);
    return text;
}

bool IsTlsFailure(CURLcode code) {
    switch (code) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ISSUER_ERROR:
            return true;
        default:
            return false;
    }
}

// The first line of a non-JSON error answer, shortened: enough to recognise a proxy's or a wrong server's
// page.
std::string Snippet(const std::string& body) {
    std::string line = body.substr(0, body.find_first_of("\r\n"));
    if (line.size() > 200) line = line.substr(0, 200) + "...";
    return line;
}

}  // namespace

std::string ClientError::ToString() const {
    if (http_status == 0) return message;
    return (code.empty() ? "" : code + ": ") + message + " (HTTP " + std::to_string(http_status) + ")";
}

std::string EncodeComponent(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string encoded;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            encoded += c;
        } else {
            encoded += '%';
            encoded += kHex[byte >> 4];
            encoded += kHex[byte & 0x0f];
        }
    }
    return encoded;
}

struct ApiClient::Request {
    const char* method = "GET";
    std::string url;
    std::optional<std::string> json_body;
    const std::vector<FormPart>* form = nullptr;
    ExtraHeaders headers;
    std::FILE* sink = nullptr;  // downloads: where a 2xx body goes

    CURL* easy = nullptr;
    std::string body;  // the answer (a download's only when it is an error)
    std::uintmax_t written = 0;
    int write_errno = 0;
};

size_t ApiClient::CollectBody(char* data, size_t size, size_t count, void* user) {
    auto* request = static_cast<ApiClient::Request*>(user);
    const size_t bytes = size * count;
    long status = 0;
    curl_easy_getinfo(request->easy, CURLINFO_RESPONSE_CODE, &status);
    if (request->sink != nullptr && status >= 200 && status < 300) {
        if (std::fwrite(data, 1, bytes, request->sink) != bytes) {
            request->write_errno = errno;
            return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
        }
        request->written += bytes;
        return bytes;
    }
    if (request->body.size() + bytes > kMaxBodyBytes) return 0;
    request->body.append(data, bytes);
    return bytes;
}

ApiClient::ApiClient(ClientOptions options) : options_(std::move(options)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);  // reference counted and thread-safe since libcurl 7.84
    while (!options_.server.empty() && options_.server.back() == '/') options_.server.pop_back();
    api_base_ = options_.server;
    if (!api_base_.ends_with("/api/v1")) api_base_ += "/api/v1";
}

ApiClient::~ApiClient() { curl_global_cleanup(); }

std::string ApiClient::Url(std::string_view path, const QueryParams& query) const {
    std::string url = api_base_ + std::string(path);
    char separator = '?';
    for (const auto& [name, value] : query) {
        url += separator + EncodeComponent(name) + "=" + EncodeComponent(value);
        separator = '&';
    }
    return url;
}

ClientResult<json> ApiClient::Get(std::string_view path, const QueryParams& query) {
    Request request;
    request.url = Url(path, query);
    return Perform(request);
}

ClientResult<json> ApiClient::Post(std::string_view path, const json& body, const ExtraHeaders& headers) {
    Request request;
    request.method = "POST";
    request.url = Url(path);
    if (!body.is_null()) request.json_body = body.dump();
    request.headers = headers;
    return Perform(request);
}

ClientResult<json> ApiClient::Patch(std::string_view path, const json& body) {
    Request request;
    request.method = "PATCH";
    request.url = Url(path);
    request.json_body = body.dump();
    return Perform(request);
}

ClientResult<json> ApiClient::PostForm(std::string_view path, const std::vector<FormPart>& parts,
                                       const ExtraHeaders& headers) {
    Request request;
    request.method = "POST";
    request.url = Url(path);
    request.form = &parts;
    request.headers = headers;
    return Perform(request);
}

ClientResult<json> ApiClient::Delete(std::string_view path) {
    Request request;
    request.method = "DELETE";
    request.url = Url(path);
    return Perform(request);
}

ClientResult<std::uintmax_t> ApiClient::Download(std::string_view path, const QueryParams& query,
                                                 const std::filesystem::path& target) {
    auto file = base::AtomicFile::Create(target);  // removes its temporary file unless committed
    if (!file)
        return tl::unexpected(
            ClientError{0, "", "cannot write " + target.string() + ": " + file.error().message});
    std::unique_ptr<std::FILE, FileCloser> sink(std::fopen(file->TempPath().c_str(), "wb"));
    if (!sink)
        return tl::unexpected(
            ClientError{0, "", "cannot write " + target.string() + ": " + std::strerror(errno)});
    Request request;
    request.url = Url(path, query);
    request.sink = sink.get();
    auto answer = Perform(request);
    if (!answer) {
        if (request.write_errno != 0)
            answer.error().message =
                "cannot write " + target.string() + ": " + std::strerror(request.write_errno);
        return tl::unexpected(answer.error());
    }
    if (std::fflush(sink.get()) != 0)
        return tl::unexpected(
            ClientError{0, "", "cannot write " + target.string() + ": " + std::strerror(errno)});
    sink.reset();
    if (auto committed = file->Commit(); !committed)
        return tl::unexpected(
            ClientError{0, "", "cannot write " + target.string() + ": " + committed.error().message});
    return request.written;
}

ClientResult<json> ApiClient::Perform(Request& request) {
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) return tl::unexpected(ClientError{0, "", "cannot start libcurl"});
    request.easy = easy.get();
    char error_text[CURL_ERROR_SIZE] = {};

    std::unique_ptr<curl_slist, HeaderListDeleter> headers;
    auto add_header = [&headers](const std::string& line) {
        headers.reset(curl_slist_append(headers.release(), line.c_str()));
    };
    add_header("Accept: application/json");
    add_header("Expect:");  // no 100-continue round trip before uploads
    if (!options_.token.empty()) add_header("Authorization: Bearer " + options_.token);
    if (request.json_body) add_header("Content-Type: application/json");
    for (const auto& [name, value] : request.headers) add_header(name + ": " + value);

    CURL* handle = easy.get();
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);  // the token must not travel to another host
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "faxctl/1");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, CollectBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &request);
    if (options_.insecure) {
        curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options_.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_file.c_str());

    std::unique_ptr<curl_mime, MimeDeleter> mime;
    if (request.form != nullptr) {
        mime.reset(curl_mime_init(handle));
        for (const FormPart& part : *request.form) {
            curl_mimepart* added = curl_mime_addpart(mime.get());
            curl_mime_name(added, part.name.c_str());
            if (part.file.empty()) {
                curl_mime_data(added, part.value.data(), part.value.size());
            } else {
                curl_mime_filedata(added, part.file.c_str());       // streamed; the file name goes along
                curl_mime_type(added, "application/octet-stream");  // faxd recognises documents by content
            }
        }
        curl_easy_setopt(handle, CURLOPT_MIMEPOST, mime.get());
    } else if (std::string_view(request.method) == "POST") {
        curl_easy_setopt(handle, CURLOPT_POST, 1L);
        const std::string& body = request.json_body ? *request.json_body : request.body;  // empty: no body
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (std::string_view(request.method) != "GET") {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method);
        if (request.json_body) {
            curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.json_body->data());
            curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(request.json_body->size()));
        }
    }

    const CURLcode result = curl_easy_perform(handle);
    if (result != CURLE_OK) {
        long os_errno = 0;
        curl_easy_getinfo(handle, CURLINFO_OS_ERRNO, &os_errno);
        curl_off_t connect_time = 0;
        curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME_T, &connect_time);
        const std::string detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(result);
        const std::string& server = options_.server;
        std::string message;
        if (result == CURLE_COULDNT_CONNECT) {
            message = "cannot connect to " + server + ": " +
                      (os_errno != 0 ? std::strerror(static_cast<int>(os_errno)) : detail);
        } else if (result == CURLE_COULDNT_RESOLVE_HOST) {
            message = "cannot connect to " + server + ": unknown host";
        } else if (result == CURLE_OPERATION_TIMEDOUT && connect_time == 0) {
            message = "cannot connect to " + server + ": no answer within " +
                      FormatSeconds(options_.connect_timeout);
        } else if (result == CURLE_OPERATION_TIMEDOUT) {
            message = server + " did not answer within " + FormatSeconds(options_.timeout);
        } else if (IsTlsFailure(result)) {
            message = "TLS with " + server + " failed: " + detail +
                      " (--cacert FILE names the CA to trust; --insecure skips the check)";
        } else if (result == CURLE_UNSUPPORTED_PROTOCOL || result == CURLE_URL_MALFORMAT) {
            message = "bad server URL '" + server + "' (http://HOST:PORT or https://HOST:PORT)";
        } else if (result == CURLE_READ_ERROR && request.form != nullptr) {
            message = "cannot read a file to upload: " + detail;
        } else {
            message = server + ": " + detail;
        }
        return tl::unexpected(ClientError{0, "", message});
    }

    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    json parsed = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (status >= 200 && status < 300) {
        if (request.body.empty()) return json(nullptr);
        if (parsed.is_discarded())
            return tl::unexpected(
                ClientError{0, "", "the answer of " + server() + " is not JSON: " + Snippet(request.body)});
        return parsed;
    }
    ClientError error{static_cast<int>(status), "", ""};
    if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("error") &&
        parsed["error"].is_object()) {
        error.code = parsed["error"].value("code", "");
        error.message = parsed["error"].value("message", "");
    }
    if (error.message.empty()) error.message = request.body.empty() ? "no details" : Snippet(request.body);
    return tl::unexpected(error);
}

}  // namespace faxd::client
