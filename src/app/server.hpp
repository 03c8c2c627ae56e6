// The running fax server: store and spool, SIP endpoint, renderer, the dispatcher's threads and the inbound
// desk, wired from the configuration. faxd_main starts one; integration tests start faxd processes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "app/config.hpp"
#include "app/fax_renderer.hpp"
#include "app/received_spool.hpp"
#include "app/sip_fax_line.hpp"
#include "core/dispatcher.hpp"
#include "core/inbound.hpp"
#include "render/office_pool.hpp"
#include "sip/sip_endpoint.hpp"
#include "store/spool.hpp"
#include "store/store.hpp"

namespace faxd::app {

class FaxServer {
public:
    static base::Result<std::unique_ptr<FaxServer>> Start(const FaxdConfig& config);
    ~FaxServer();
    // Stops taking work, hangs up calls (their jobs become retries), joins the threads.
    void Stop();

    store::Store& store() { return *store_; }
    store::Spool& spool() { return *spool_; }

private:
    explicit FaxServer(const FaxdConfig& config) : config_(config) {}
    base::Result<void> Provision();
    base::Result<core::InboundRoutingConfig> ResolveRouting(const core::Directory& directory) const;
    base::Result<std::filesystem::path> AdmitCall(const sip::InboundCallInfo& call);
    void CallEnded(const sip::InboundFax& fax);
    void DispatchLoop();
    void RenderLoop();
    void Wake();

    FaxdConfig config_;
    std::string node_;
    std::unique_ptr<store::Store> store_;
    std::optional<store::Spool> spool_;
    std::optional<ReceivedSpool> records_;
    base::RealClock clock_;
    std::unique_ptr<render::OfficePool> office_;
    std::unique_ptr<FaxRenderer> renderer_;
    std::unique_ptr<sip::SipEndpoint> endpoint_;
    std::unique_ptr<SipFaxLine> line_;
    std::unique_ptr<core::Dispatcher> dispatcher_;
    std::unique_ptr<core::InboundDesk> desk_;

    std::mutex admissions_mutex_;
    std::map<std::string, core::Admission> admissions_;  // by SIP Call-ID

    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stopping_{false};
    std::jthread dispatch_thread_;
    std::jthread render_thread_;
};

}  // namespace faxd::app
