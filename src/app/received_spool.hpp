// Call detail records of incoming calls: received/<name>.json per call (the fax itself is in the document
// spool and the store), written atomically, for operators and the end-to-end tests.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "sip/call_types.hpp"

namespace faxd::app {

class ReceivedSpool {
public:
    static base::Result<ReceivedSpool> Open(const std::filesystem::path& spool_dir);
    ReceivedSpool(ReceivedSpool&& other) noexcept : dir_(std::move(other.dir_)), counter_(other.counter_.load()) {}

    // A fresh path for the TIFF of an incoming call.
    base::Result<std::filesystem::path> Allocate(const sip::InboundCallInfo& call);
    // Writes the JSON record of a finished incoming call beside its TIFF (or alone when no page came).
    base::Result<std::filesystem::path> Record(const sip::InboundFax& fax);

    const std::filesystem::path& directory() const { return dir_; }

private:
    explicit ReceivedSpool(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
    std::atomic<unsigned> counter_{0};
};

nlohmann::json FaxResultJson(const t30::FaxResult& fax);
nlohmann::json CallResultJson(const sip::CallResult& result);

}  // namespace faxd::app
