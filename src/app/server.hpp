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
#include "app/eventing_job_store.hpp"
#include "app/fax_renderer.hpp"
#include "app/mail_gateway.hpp"
#include "app/received_spool.hpp"
#include "app/server_api.hpp"
#include "app/sip_fax_line.hpp"
#include "core/dispatcher.hpp"
#include "core/inbound.hpp"
#include "render/office_pool.hpp"
#include "sip/sip_endpoint.hpp"
#include "store/spool.hpp"
#include "store/store.hpp"
#include "web/events.hpp"
#include "web/http_server.hpp"
#include "web/webhook_sender.hpp"

namespace faxd::app {

class FaxServer {
public:
    static base::Result<std::unique_ptr<FaxServer>> Start(const FaxdConfig& config);
    ~FaxServer();
    // Stops taking work, hangs up calls (their jobs become retries), joins the threads.
    void Stop();

    store::Store& store() { return *store_; }
    store::Spool& spool() { return *spool_; }
    // The bound API port (0 when [http] is off).
    std::uint16_t http_port() const { return http_ ? http_->port() : 0; }
    // The bound SMTP listener port (0 when the mail gateway or its listener is off).
    std::uint16_t smtp_port() const { return mail_ ? mail_->smtp_port() : 0; }

private:
    explicit FaxServer(const FaxdConfig& config) : config_(config) {}
    base::Result<void> Provision();
    base::Result<core::InboundRoutingConfig> ResolveRouting(const core::Directory& directory) const;
    base::Result<void> StartApi();
    base::Result<void> CreateAdminToken();
    void ApplyRuntimeSettings();
    base::Result<std::filesystem::path> AdmitCall(const sip::InboundCallInfo& call);
    void CallEnded(const sip::InboundFax& fax);
    void PageReceived(const sip::InboundCallInfo& call, int pages, int bit_rate);
    void DispatchLoop();
    void RenderLoop();
    void Wake();

    FaxdConfig config_;
    std::string node_;
    std::unique_ptr<store::Store> store_;
    // Declared before the event hub, so they outlive it: its thread delivers what is queued when it stops.
    std::unique_ptr<ServerApi> api_;
    std::unique_ptr<web::WebhookSender> webhooks_;
    std::unique_ptr<web::EventHub> events_;
    std::unique_ptr<EventingJobStore> jobs_;  // the store with events: everything writes jobs through it
    std::optional<store::Spool> spool_;
    std::optional<ReceivedSpool> records_;
    base::RealClock clock_;
    std::unique_ptr<render::OfficePool> office_;
    std::unique_ptr<FaxRenderer> renderer_;
    std::unique_ptr<sip::SipEndpoint> endpoint_;
    std::unique_ptr<SipFaxLine> line_;
    std::unique_ptr<core::Dispatcher> dispatcher_;
    std::unique_ptr<core::InboundDesk> desk_;
    core::InboundRoutingConfig routing_;
    std::unique_ptr<web::HttpServer> http_;
    std::unique_ptr<MailGateway> mail_;

    std::mutex admissions_mutex_;
    std::map<std::string, core::Admission> admissions_;  // by SIP Call-ID
    std::map<std::string, base::WallTime> admitted_at_;  // by SIP Call-ID, for live page events

    std::mutex wake_mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> retention_days_{0};
    std::jthread dispatch_thread_;
    std::jthread render_thread_;
};

}  // namespace faxd::app
