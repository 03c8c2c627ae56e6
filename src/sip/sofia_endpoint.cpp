// SipEndpoint on sofia-sip's nua: one thread runs the su_root with the stack; every call's SIP state lives
// there. Other threads reach it only through Post(). Media runs on MediaEngine threads and reports back by
// posting too. With NUTAG_MEDIA_ENABLE(0) sofia-sip carries our SDP untouched (FreeSWITCH works the same
// way).
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdarg>

#include <sofia-sip/su_log.h>

#include "sip/sofia_endpoint_impl.hpp"

extern "C" {
extern su_log_t nua_log[];
extern su_log_t nta_log[];
extern su_log_t tport_log[];
}
namespace faxd::sip {
namespace {

void ForwardSofiaLog(void*, char const* format, va_list ap) {
    static const auto logger = base::GetLogger("sofia");
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::string_view text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    logger->debug("{}", text);
}

}  // namespace

SipEndpoint::SipEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SipEndpoint::~SipEndpoint() { Shutdown(); }

base::Result<std::unique_ptr<SipEndpoint>> SipEndpoint::Start(const SipConfig& config, InboundRouter router,
                                                              InboundDone on_inbound,
                                                              InboundPage on_inbound_page) {
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    if (config.inbound_auth.enabled) {
        if (config.inbound_auth.users.empty())
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   "inbound authentication needs at least one user");
        auto server = DigestServer::Create(config.inbound_auth.realm);
        if (!server) return tl::unexpected(server.error());
        impl->digest_server.emplace(std::move(*server));
    }
    impl->router = std::move(router);
    impl->on_inbound = std::move(on_inbound);
    impl->on_inbound_page = std::move(on_inbound_page);
    impl->media_engine = std::make_unique<MediaEngine>(std::max(1u, std::thread::hardware_concurrency()));

    // sofia-sip state must be created and used on the thread that runs its root.
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<base::Error> failure;
    bool started = false;
    Impl* raw = impl.get();
    raw->thread = std::thread([raw, &mutex, &ready, &failure, &started] {
        su_init();
        su_log_redirect(nullptr, ForwardSofiaLog, nullptr);
        su_log_redirect(nua_log, ForwardSofiaLog, nullptr);
        su_log_redirect(nta_log, ForwardSofiaLog, nullptr);
        su_log_redirect(tport_log, ForwardSofiaLog, nullptr);
        if (base::GetLogger("sofia")->should_log(spdlog::level::debug)) {
            // sofia-sip's own levels (0-9); 5 shows transactions and transport errors without every byte.
            for (su_log_t* log : {su_log_default, nua_log, nta_log, tport_log}) su_log_set_level(log, 5);
        }
        const auto& c = raw->config;
        const auto fail = [&](const std::string& why) {
            std::lock_guard lock(mutex);
            failure = base::Error{base::ErrorCode::kIo, why, std::nullopt, std::nullopt};
            started = true;
            ready.notify_one();
        };
        raw->root = su_root_create(reinterpret_cast<su_root_magic_t*>(raw));
        if (!raw->root) return fail("cannot create the SIP event loop");
        raw->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        su_wait_create(&raw->wait, raw->wake_fd, SU_WAIT_IN);
        su_root_register(raw->root, &raw->wait, &Impl::OnWake, reinterpret_cast<su_wakeup_arg_t*>(raw), 0);
        const std::string host =
            c.listen_address.find(':') != std::string::npos ? "[" + c.listen_address + "]" : c.listen_address;
        // No ";transport=udp,tcp": sofia-sip 1.12 crashes on a transport list when TLS is also configured;
        // the default (UDP and TCP on the sip: URL, TLS on the sips: URL) is what we want anyway.
        const std::string url =
            "sip:" + host + ":" + std::to_string(c.port) + (c.tcp ? "" : ";transport=udp");
        const std::string sips_url = "sips:" + host + ":" + std::to_string(c.tls.port);
        const std::string cert_dir = c.tls.certificate_dir.string();
        const std::string allow = kAllow;
        raw->nua = nua_create(
            raw->root, &Impl::OnEvent, reinterpret_cast<nua_magic_t*>(raw), NUTAG_URL(url.c_str()),
            TAG_IF(c.tls.enabled, NUTAG_SIPS_URL(sips_url.c_str())),
            TAG_IF(c.tls.enabled, TPTAG_CERTIFICATE(cert_dir.c_str())),
            // Check the certificate and name of every TLS server we call; clients calling us need none
            // (trunks rarely present one).
            TAG_IF(c.tls.enabled, TPTAG_TLS_VERIFY_POLICY(c.tls.verify_peer ? TPTLS_VERIFY_SUBJECTS_OUT
                                                                            : TPTLS_VERIFY_NONE)),
            TAG_END());
        if (!raw->nua) return fail("cannot listen for SIP on " + url + " (address in use or not ours?)");
        nua_set_params(raw->nua, NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0),
                       NUTAG_AUTOACK(1), NUTAG_ENABLEINVITE(1), NUTAG_SESSION_TIMER(0),
                       NUTAG_ALLOW(allow.c_str()), NUTAG_APPL_METHOD("REFER"), NUTAG_ENABLEMESSAGE(0),
                       SIPTAG_ALLOW_STR(kAllow), SIPTAG_USER_AGENT_STR(c.user_agent.c_str()),
                       NTATAG_MAXSIZE(c.max_message_bytes),
                       TAG_IF(!c.local_number.empty(), NUTAG_M_USERNAME(c.local_number.c_str())), TAG_END());
        raw->StartRegistrations();
        {
            std::lock_guard lock(mutex);
            started = true;
            ready.notify_one();
        }
        raw->Run();
        nua_destroy(raw->nua);
        su_root_unregister(raw->root, &raw->wait, &Impl::OnWake, reinterpret_cast<su_wakeup_arg_t*>(raw));
        su_wait_destroy(&raw->wait);
        su_root_destroy(raw->root);
        ::close(raw->wake_fd);
        su_deinit();
    });
    {
        std::unique_lock lock(mutex);
        ready.wait(lock, [&] { return started; });
    }
    if (failure) {
        raw->thread.join();
        return tl::unexpected(*failure);
    }
    raw->log->info("SIP listening on {}:{} ({}){}", config.listen_address, config.port,
                   config.tcp ? "UDP+TCP" : "UDP",
                   config.tls.enabled ? ", TLS on " + std::to_string(config.tls.port) : "");
    return std::unique_ptr<SipEndpoint>(new SipEndpoint(std::move(impl)));
}

void SipEndpoint::Dial(OutboundCall call, OutboundDone done) {
    impl_->Post([impl = impl_.get(), call = std::move(call), done = std::move(done)]() mutable {
        impl->PlaceCall(std::move(call), std::move(done));
    });
}

void SipEndpoint::Hangup(const std::string& key) {
    impl_->Post([impl = impl_.get(), key] { impl->HangupByKey(key); });
}

SipStats SipEndpoint::Stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    return impl_->stats;
}

void SipEndpoint::Shutdown(std::chrono::milliseconds grace) {
    if (!impl_ || !impl_->thread.joinable()) return;
    auto* impl = impl_.get();
    impl->shutting_down = true;
    impl->Post([impl] {
        for (auto& [nh, call] : impl->calls) {
            if (call->state == Call::State::kEstablished) {
                call->state = Call::State::kTerminating;
                if (call->result.failure == CallFailure::kNone)
                    call->result.failure = CallFailure::kCancelled;
                nua_bye(nh, TAG_END());
            } else if (call->outbound && call->state != Call::State::kTerminated) {
                nua_cancel(nh, TAG_END());
            }
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (Stats().active_calls > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    impl->Post([impl] {
        impl->StopRegistrations();
        impl->StopRetiring();
        nua_shutdown(impl->nua);
    });
    impl->thread.join();
    impl->media_engine.reset();
}

}  // namespace faxd::sip
