#include "app/received_spool.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "base/atomic_file.hpp"

namespace faxd::app {
namespace {

std::string UtcNow(const char* format) {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, format, &tm);
    return text;
}

std::string Stamp() { return UtcNow("%Y%m%dT%H%M%SZ"); }
std::string Iso8601Now() { return UtcNow("%Y-%m-%dT%H:%M:%SZ"); }

}  // namespace

base::Result<ReceivedSpool> ReceivedSpool::Open(const std::filesystem::path& spool_dir) {
    const auto dir = spool_dir / "received";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return base::MakeError(base::ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
    return ReceivedSpool(dir);
}

base::Result<std::filesystem::path> ReceivedSpool::Allocate(const sip::InboundCallInfo&) {
    // Stamp, process id and a counter: unique without looking at the directory.
    return dir_ / (Stamp() + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_) + ".tif");
}

nlohmann::json FaxResultJson(const t30::FaxResult& fax) {
    nlohmann::json pages = nlohmann::json::array();
    for (const auto& page : fax.pages) {
        pages.push_back({{"page", page.page},
                         {"bit_rate", page.bit_rate},
                         {"x_dpi", page.x_resolution_dpi},
                         {"y_dpi", page.y_resolution_dpi},
                         {"width", page.width},
                         {"length", page.length},
                         {"compression", std::string(t30::CompressionName(page.compression))},
                         {"ecm", page.ecm},
                         {"ecm_retransmissions", page.ecm_retransmissions},
                         {"bad_rows", page.bad_rows},
                         {"encoded_bytes", page.encoded_bytes},
                         {"seconds", page.seconds}});
    }
    return {{"success", fax.success},
            {"error_class", std::string(t30::FailureClassName(fax.failure))},
            {"t30_code", fax.t30_code},
            {"t30_text", fax.t30_text},
            {"pages", fax.pages_confirmed},
            {"remote_ident", fax.remote_ident},
            {"bit_rate", fax.bit_rate},
            {"ecm", fax.ecm_used},
            {"compression", std::string(t30::CompressionName(fax.compression))},
            {"seconds", fax.duration_seconds},
            {"page_stats", pages}};
}

nlohmann::json CallResultJson(const sip::CallResult& result) {
    return {{"ok", result.success},
            {"error_class", std::string(sip::CallFailureName(result.failure))},
            {"sip_status", result.sip_status},
            {"reason", result.reason},
            {"transport", result.used_t38 ? "t38" : "g711"},
            {"call_id", result.call_id},
            {"call_seconds", result.duration_seconds},
            {"pages", result.fax.pages_confirmed},
            {"bit_rate", result.fax.bit_rate},
            {"compression", std::string(t30::CompressionName(result.fax.compression))},
            {"ecm", result.fax.ecm_used},
            {"remote_ident", result.fax.remote_ident},
            {"t30_code", result.fax.t30_code},
            {"fax", FaxResultJson(result.fax)}};
}

base::Result<std::filesystem::path> ReceivedSpool::Record(const sip::InboundFax& fax) {
    nlohmann::json record = CallResultJson(fax.result);
    record["direction"] = "in";
    record["dnis"] = fax.call.dnis;
    record["ani"] = fax.call.ani;
    record["remote_address"] = fax.call.remote_address;
    record["received_at"] = Iso8601Now();
    record["tiff"] = fax.tiff.string();  // where the pages are (the document spool), "" when none came
    const auto path = fax.tiff.empty()
                          ? dir_ / (Stamp() + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_) + ".json")
                          : dir_ / std::filesystem::path(fax.tiff).filename().replace_extension(".json");
    if (auto written = base::WriteFileAtomically(path, record.dump(2) + "\n"); !written)
        return tl::unexpected(written.error());
    return path;
}

}  // namespace faxd::app
