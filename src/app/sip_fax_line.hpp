// core::FaxLine over the SIP endpoint: stamps the header line on the pages of this attempt, dials the
// route's gateways in order (the next gateway only when the previous one failed, not the call), and turns
// the call's result into the attempt the core records.
#pragma once

#include <map>
#include <mutex>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/dispatcher.hpp"
#include "render/header_line.hpp"
#include "sip/numbers.hpp"
#include "sip/routing.hpp"
#include "sip/sip_endpoint.hpp"

namespace faxd::app {

struct SipFaxLineConfig {
    std::vector<sip::Route> routes;
    sip::NumberPlan plan;
    std::filesystem::path work_dir;  // per-attempt TIFFs with header lines; removed after the call
    std::string header_sender;       // company or ident on the header line
    render::HeaderFormat header_format = render::HeaderFormat::kLong;
    std::function<std::string()> local_date_time;  // "2026-11-22 10:04" in the sender's zone
    t30::FaxSettings fax;  // the endpoint's settings; ECM is turned off per destination
};

class SipFaxLine final : public core::FaxLine {
public:
    using SpoolPath = std::function<std::filesystem::path(const std::string& name)>;
    SipFaxLine(sip::SipEndpoint& endpoint, SipFaxLineConfig config, SpoolPath spool_path);

    void Send(const core::OutgoingFax& fax, std::function<void(int)> on_page,
              std::function<void(core::Attempt)> done) override;
    void Cancel(core::JobId job) override;
    core::LineUse Usage() const override;
    // The bit rate of the last page confirmed in the job's call in progress (0: none yet), for live events.
    int LastBitRate(core::JobId job) const;

private:
    void DialTarget(std::shared_ptr<struct AttemptState> state, std::size_t index);

    sip::SipEndpoint& endpoint_;
    SipFaxLineConfig config_;
    SpoolPath spool_path_;
    mutable std::mutex rates_mutex_;
    std::map<core::JobId, int> rates_;  // calls in progress
};

// sip -> core vocabulary; exposed for tests.
core::FailureClass ToFailureClass(const sip::CallResult& result);
core::Attempt ToAttempt(const sip::CallResult& result, const std::string& route);

}  // namespace faxd::app
