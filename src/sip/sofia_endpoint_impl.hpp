// Private to src/sip: the state of the sofia-sip endpoint (calls, registrations) shared by its parts:
// sofia_endpoint.cpp (threads, nua events, endings, registrations), sofia_incoming.cpp (answering, peer
// re-INVITEs) and sofia_outgoing.cpp (placing calls, authentication). Only these files see sofia-sip types.
#pragma once

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/tport_tag.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include "base/log.hpp"
#include "sip/digest.hpp"
#include "sip/media_engine.hpp"
#include "sip/sdp_build.hpp"
#include "sip/sip_endpoint.hpp"

namespace faxd::sip {

inline constexpr const char* kAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE";

inline std::string UserOf(const url_t* url) { return url && url->url_user ? url->url_user : ""; }

// The values of a list of auth headers (WWW-Authenticate, Proxy-Authenticate, Authorization), rebuilt from
// the parsed scheme and parameters: sofia-sip 1.12's sip_header_as_string() drops the last parameter of long
// ones.
inline std::vector<std::string> AuthHeaderValues(const msg_auth_t* header) {
    std::vector<std::string> values;
    for (; header && values.size() < 16; header = header->au_next) {
        std::string value = header->au_scheme ? header->au_scheme : "";
        for (int i = 0; header->au_params && header->au_params[i] && i < 64; ++i) {
            value += i == 0 ? " " : ", ";
            value += header->au_params[i];
        }
        values.push_back(std::move(value));
    }
    return values;
}

inline std::string Payload(const sip_t* sip) {
    if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return {};
    return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

struct HandleOwner {
    bool is_registration = false;
};

struct RegistrationState : HandleOwner {
    Registration config;
    nua_handle_t* nh = nullptr;
    bool auth_tried = false;
    bool registered = false;
    su_timer_t* retry = nullptr;
};

struct Call : HandleOwner {
    enum class State { kCalling, kRinging, kEstablished, kTerminating, kTerminated };
    nua_handle_t* nh = nullptr;
    bool outbound = false;
    State state = State::kCalling;
    std::shared_ptr<MediaSession> media;
    bool media_started = false;
    bool media_finished = false;
    bool reported = false;
    bool t38_active = false;
    bool t38_requested = false;  // our re-INVITE to T.38 is out
    bool t38_refused = false;
    bool auth_tried = false;
    bool audio_active = false;
    bool awaiting_answer_in_ack = false;
    su_timer_t* ring_timer = nullptr;
    su_timer_t* t38_timer = nullptr;
    std::uint64_t sdp_session_id = 0;
    std::uint64_t sdp_version = 0;
    std::string local_sdp;  // our current description, re-sent on refreshes
    AudioChoice audio;
    InboundCallInfo info;
    OutboundCall request;
    OutboundDone on_done;
    CallResult result;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::string tag;
};

struct SipEndpoint::Impl {
    SipConfig config;
    InboundRouter router;
    InboundDone on_inbound;
    InboundPage on_inbound_page;
    base::Logger log = base::GetLogger("sip");

    su_root_t* root = nullptr;
    nua_t* nua = nullptr;
    su_wait_t wait{};
    int wake_fd = -1;
    std::thread thread;
    std::mutex queue_mutex;
    std::deque<std::function<void()>> queue;
    std::unique_ptr<MediaEngine> media_engine;
    std::map<nua_handle_t*, std::unique_ptr<Call>> calls;
    std::vector<std::unique_ptr<RegistrationState>> registrations;
    std::mt19937_64 rng{std::random_device{}()};
    std::atomic<bool> shutting_down{false};
    bool shutdown_complete = false;
    std::mutex stats_mutex;
    SipStats stats;
    std::uint64_t call_counter = 0;
    std::optional<DigestServer> digest_server;

    // ---- thread plumbing ----
    void Post(std::function<void()> work) {
        {
            std::lock_guard lock(queue_mutex);
            queue.push_back(std::move(work));
        }
        const std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(wake_fd, &one, sizeof one);
    }

    static int OnWake(su_root_magic_t*, su_wait_t*, su_wakeup_arg_t* arg) {
        auto* self = reinterpret_cast<Impl*>(arg);
        std::uint64_t count = 0;
        [[maybe_unused]] auto got = ::read(self->wake_fd, &count, sizeof count);
        std::deque<std::function<void()>> work;
        {
            std::lock_guard lock(self->queue_mutex);
            work.swap(self->queue);
        }
        for (auto& item : work) item();
        return 0;
    }

    void UpdateStats() {
        int active = 0, outgoing = 0;
        for (const auto& [nh, call] : calls) {
            if (call->state == Call::State::kTerminated) continue;
            ++active;
            if (call->outbound) ++outgoing;
        }
        std::lock_guard lock(stats_mutex);
        stats.active_calls = active;
        stats.active_outgoing = outgoing;
    }

    // ---- SDP ----
    T38Params LocalT38() const {
        T38Params t38;
        t38.version = 0;
        t38.max_bit_rate = config.t38.max_bit_rate;
        t38.rate_management = T38RateManagement::kTransferredTcf;
        t38.max_buffer = 2000;
        t38.max_datagram = config.t38.max_datagram;
        t38.error_correction =
            config.t38.redundancy > 0 ? T38ErrorCorrection::kRedundancy : T38ErrorCorrection::kNone;
        return t38;
    }

    std::string Describe(Call& call, std::vector<MediaDescription> media) {
        auto session = MakeSession(call.media->local_address(), call.sdp_session_id, ++call.sdp_version);
        session.media = std::move(media);
        call.local_sdp = FormatSdp(session);
        return call.local_sdp;
    }

    T38Start MakeT38Start(const SessionDescription& remote, const MediaDescription& image,
                          const T38Params& agreed) {
        T38Start start;
        start.remote = *MediaEndpoint(remote, image);
        start.version = agreed.version;
        start.max_bit_rate = agreed.max_bit_rate;
        start.far_max_datagram = EffectiveFarMaxDatagram(*image.t38, config.t38.min_far_datagram);
        switch (agreed.error_correction) {
            case T38ErrorCorrection::kFec:
                start.recovery = t38::ErrorRecovery::kFec;
                break;
            case T38ErrorCorrection::kRedundancy:
                start.recovery = t38::ErrorRecovery::kRedundancy;
                start.redundancy = std::max(config.t38.redundancy, 1);
                break;
            case T38ErrorCorrection::kNone:
                start.recovery = t38::ErrorRecovery::kNone;
                start.redundancy = 0;
                break;
        }
        return start;
    }

    // ---- media ----
    base::Result<void> CreateMedia(Call& call, FaxJob job) {
        job.tag = call.tag;
        MediaSession::Events events;
        nua_handle_t* nh = call.nh;
        events.on_fax_tone = [this, nh] { Post([this, nh] { OnFaxTone(nh); }); };
        events.on_finished = [this, nh](const MediaOutcome& outcome) {
            Post([this, nh, outcome] { OnMediaFinished(nh, outcome); });
        };
        events.on_page = [log = log, tag = call.tag,
                          progress = call.outbound ? call.request.on_page_confirmed : nullptr,
                          received = call.outbound ? nullptr : on_inbound_page, info = call.info](
                             const t30::PageStats& page, int total) {
            log->info("[{}] page {} of {} done: {} bit/s, {} bytes, {:.1f} s", tag, page.page, total,
                      page.bit_rate, page.encoded_bytes, page.seconds);
            if (progress) progress(page.page, page.bit_rate);
            if (received) received(info, page.page, page.bit_rate);
        };
        auto media = MediaSession::Create(media_engine->NextContext(), config.media, std::move(job),
                                          std::move(events));
        if (!media) return tl::unexpected(media.error());
        call.media = *media;
        call.sdp_session_id = rng() >> 1;
        return {};
    }

    void StartAudio(Call& call, const AudioChoice& choice, bool listen_for_tone) {
        call.audio = choice;
        call.audio_active = true;
        call.media_started = true;
        call.media->StartAudio(AudioStart{choice.remote, choice.payload_type, choice.law, listen_for_tone});
    }

    // ---- incoming ----
    // Whether the INVITE carries valid credentials; when not, it has been answered 401 and false is returned.
    bool Authorized(nua_handle_t* nh, const sip_t* sip);

    void OnIncomingInvite(nua_handle_t* nh, const sip_t* sip);

    void OnAck(Call& call, const sip_t* sip);

    // ---- re-INVITE from the peer ----
    void OnReInvite(Call& call, const sip_t* sip);

    // ---- our re-INVITE to T.38 ----
    void RequestT38(Call& call) {
        if (call.t38_active || call.t38_requested || call.t38_refused ||
            call.state != Call::State::kEstablished)
            return;
        call.t38_requested = true;
        const std::string sdp = Describe(call, {ImageMedia(call.media->image_port(), LocalT38())});
        log->info("[{}] asking the peer to switch to T.38", call.tag);
        nua_invite(call.nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
                   TAG_END());
        call.t38_timer = StartTimer(call.nh, &Impl::OnT38Timeout, config.t38_timeout);
    }

    // A one-shot timer that names its call by handle (the call may be gone when it fires).
    su_timer_t* StartTimer(nua_handle_t* nh, su_timer_f callback, std::chrono::seconds after) {
        su_timer_t* timer = su_timer_create(su_root_task(root), 0);
        su_timer_set_interval(timer, callback, reinterpret_cast<su_timer_arg_t*>(nh),
                              static_cast<su_duration_t>(after.count() * 1000));
        return timer;
    }

    static std::pair<Impl*, Call*> TimerCall(su_root_magic_t* magic, su_timer_arg_t* arg) {
        auto* self = reinterpret_cast<Impl*>(magic);
        auto it = self->calls.find(reinterpret_cast<nua_handle_t*>(arg));
        return {self, it == self->calls.end() ? nullptr : it->second.get()};
    }

    static void OnT38Timeout(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
        auto [self, found] = TimerCall(magic, arg);
        if (!found) return;
        Call& call = *found;
        self->CancelT38Timer(call);
        if (!call.t38_requested) return;
        self->log->warn("[{}] no answer to T.38 re-INVITE in {} s; carrying on over G.711", call.tag,
                        self->config.t38_timeout.count());
        call.t38_requested = false;
        call.t38_refused = true;
        nua_cancel(call.nh, TAG_END());
        // Our description goes back to the audio one that is in force.
        self->Describe(call, {AudioMedia(call.media->audio_port(), call.audio.payload_type)});
    }

    void CancelT38Timer(Call& call) {
        if (call.t38_timer) su_timer_destroy(call.t38_timer);
        call.t38_timer = nullptr;
    }

    void OnReInviteResponse(Call& call, int status, const sip_t* sip) {
        if (status < 200 || !call.t38_requested) return;
        CancelT38Timer(call);
        call.t38_requested = false;
        if (status >= 300) {
            call.t38_refused = true;
            log->info("[{}] peer refused T.38 ({}); carrying on over G.711", call.tag, status);
            Describe(call, {AudioMedia(call.media->audio_port(), call.audio.payload_type)});
            if (!call.request.allow_g711 && call.outbound) {
                call.result.failure = CallFailure::kT38NegotiationFailed;
                call.result.reason = "T.38 refused and G.711 not allowed on this route";
                call.media->Stop(call.result.reason);
            }
            return;
        }
        auto answer = ParseSdp(Payload(sip));
        const auto image = answer ? FindT38(*answer) : std::nullopt;
        if (!image) {
            call.t38_refused = true;
            log->warn("[{}] peer accepted our T.38 re-INVITE without a T.38 stream; staying on G.711",
                      call.tag);
            return;
        }
        call.t38_active = true;
        // The answer's parameters are what both sides agreed on.
        call.media->StartT38(MakeT38Start(*answer, answer->media[*image], *answer->media[*image].t38));
        log->info("[{}] switched to T.38", call.tag);
    }

    void OnFaxTone(nua_handle_t* nh) {
        auto it = calls.find(Resolve(nh));
        if (it == calls.end()) return;
        Call& call = *it->second;
        const auto policy = call.outbound ? config.outbound_t38 : config.inbound_t38;
        if (policy == T38Switch::kOnTone && config.t38.enabled &&
            (!call.outbound || call.request.request_t38)) {
            log->info("[{}] heard the far fax machine; requesting T.38", call.tag);
            RequestT38(call);
        }
    }

    // ---- outgoing ----
    void PlaceCall(OutboundCall request, OutboundDone done);

    // Answers a 401/407 with our own digest (SHA-256 or MD5, whichever is strongest on offer: sofia-sip 1.12
    // knows only MD5). The INVITE goes again on a fresh handle with the same Call-ID (RFC 3261 §22.2).
    bool RetryWithCredentials(Call& call, int status, const sip_t* sip);

    static void OnRingTimeout(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
        auto [self, found] = TimerCall(magic, arg);
        if (!found) return;
        Call& call = *found;
        self->CancelRingTimer(call);
        if (call.state != Call::State::kCalling && call.state != Call::State::kRinging) return;
        self->log->info("[{}] no answer within {} s; cancelling", call.tag,
                        call.request.ring_timeout.count());
        call.result.failure = CallFailure::kNoAnswer;
        call.result.reason = "no answer within " + std::to_string(call.request.ring_timeout.count()) + " s";
        nua_cancel(call.nh, TAG_END());
    }

    void CancelRingTimer(Call& call) {
        if (call.ring_timer) su_timer_destroy(call.ring_timer);
        call.ring_timer = nullptr;
    }

    void OnInviteResponse(Call& call, int status, const char* phrase, const sip_t* sip);

    // ---- endings ----
    void HangupByKey(const std::string& key) {
        for (auto& [nh, call] : calls) {
            if (!call->outbound || key.empty() || call->request.key != key || call->reported) continue;
            log->info("[{}] cancelled: hanging up", call->tag);
            call->result.failure = CallFailure::kCancelled;
            call->result.reason = "cancelled";
            if (call->media_started && call->media && !call->media_finished) {
                call->media->Stop("cancelled");  // OnMediaFinished sends BYE and reports
            } else if (call->state == Call::State::kEstablished) {
                call->state = Call::State::kTerminating;
                nua_bye(call->nh, TAG_END());
            } else {
                nua_cancel(call->nh, TAG_END());
            }
        }
    }

    void OnMediaFinished(nua_handle_t* nh, const MediaOutcome& outcome) {
        nh = Resolve(nh);
        auto it = calls.find(nh);
        if (it == calls.end()) return;
        Call& call = *it->second;
        call.media_finished = true;
        call.result.fax = outcome.fax;
        call.result.used_t38 = outcome.used_t38;
        if (call.result.failure == CallFailure::kNone) {
            call.result.failure = ClassifyFaxFailure(outcome.fax.failure);
            if (outcome.media_timeout) call.result.failure = CallFailure::kCallDropped;
            call.result.reason = outcome.reason.empty() ? outcome.fax.t30_text : outcome.reason;
        }
        if (!outcome.received_tiff.empty()) received_tiffs[nh] = outcome.received_tiff;
        if (call.state == Call::State::kEstablished) {
            log->info("[{}] fax ended ({}); hanging up", call.tag, CallFailureName(call.result.failure));
            call.state = Call::State::kTerminating;
            nua_bye(call.nh, TAG_END());
        }
        Report(call);
    }

    std::map<nua_handle_t*, std::filesystem::path> received_tiffs;
    // Media sessions report by the handle their call had when they were made; authentication moves a call to
    // a new handle.
    std::map<nua_handle_t*, nua_handle_t*> handle_aliases;

    nua_handle_t* Resolve(nua_handle_t* nh) const {
        for (int hops = 0; hops < 4; ++hops) {
            auto it = handle_aliases.find(nh);
            if (it == handle_aliases.end()) break;
            nh = it->second;
        }
        return nh;
    }

    void Report(Call& call) {
        if (call.reported) return;
        // A call whose media ran reports when the media has the fax's result.
        if (call.media && call.media_started && !call.media_finished) return;
        call.reported = true;
        CancelRingTimer(call);
        CancelT38Timer(call);
        call.result.success = call.result.failure == CallFailure::kNone && call.result.fax.success;
        if (call.result.failure == CallFailure::kNone && !call.result.success)
            call.result.failure = CallFailure::kFaxProtocol;
        call.result.duration_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - call.started).count();
        log->info("[{}] call over: {} ({}), {} page(s), {}", call.tag,
                  call.result.success ? "success" : "failed", CallFailureName(call.result.failure),
                  call.result.fax.pages_confirmed, call.result.used_t38 ? "T.38" : "G.711");
        if (call.outbound) {
            if (call.on_done) call.on_done(call.result);
        } else if (on_inbound) {
            InboundFax fax;
            fax.call = call.info;
            fax.result = call.result;
            if (auto it = received_tiffs.find(call.nh); it != received_tiffs.end()) fax.tiff = it->second;
            on_inbound(fax);
        }
        received_tiffs.erase(call.nh);
        if (call.media && !call.media_started) call.media.reset();  // never started: nothing runs on it
        UpdateStats();
    }

    void OnTerminated(Call& call) {
        call.state = Call::State::kTerminated;
        if (call.media && !call.media_finished && call.media_started) {
            call.media->Stop("the call ended");
            return;  // OnMediaFinished reports and Forget()s later
        }
        Report(call);
        Forget(call.nh);
    }

    void Forget(nua_handle_t* nh) {
        auto it = calls.find(nh);
        if (it == calls.end()) return;
        if (it->second->state != Call::State::kTerminated || !it->second->reported) return;
        CancelRingTimer(*it->second);
        CancelT38Timer(*it->second);
        nua_handle_bind(nh, nullptr);
        nua_handle_destroy(nh);
        calls.erase(it);
        std::erase_if(handle_aliases, [nh](const auto& alias) { return alias.second == nh; });
        UpdateStats();
    }

    // ---- the nua callback ----
    static void OnEvent(nua_event_t event, int status, char const* phrase, nua_t*, nua_magic_t* magic,
                        nua_handle_t* nh, nua_hmagic_t* hmagic, sip_t const* sip, tagi_t tags[]) {
        auto* self = reinterpret_cast<Impl*>(magic);
        auto* owner = reinterpret_cast<HandleOwner*>(hmagic);
        if (owner && owner->is_registration) {
            self->OnRegistrationEvent(event, status, phrase, *static_cast<RegistrationState*>(owner), sip);
            return;
        }
        self->Dispatch(event, status, phrase, nh, static_cast<Call*>(owner), sip, tags);
    }

    void Dispatch(nua_event_t event, int status, char const* phrase, nua_handle_t* nh, Call* call,
                  sip_t const* sip, tagi_t tags[]) {
        switch (event) {
            case nua_i_invite:
                if (!call)
                    OnIncomingInvite(nh, sip);
                else
                    OnReInvite(*call, sip);
                break;
            case nua_r_invite:
                if (call) OnInviteResponse(*call, status, phrase, sip);
                break;
            case nua_i_ack:
                if (call) OnAck(*call, sip);
                break;
            case nua_i_bye:
                if (call) log->info("[{}] peer hung up", call->tag);
                break;
            case nua_i_cancel:
                if (call) {
                    call->result.failure = CallFailure::kCancelled;
                    call->result.reason = "the caller cancelled";
                }
                break;
            case nua_i_state: {
                int state = nua_callstate_init;
                tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
                if (call && state == nua_callstate_terminated) {
                    OnTerminated(*call);
                    // OnTerminated may have destroyed the handle; touch nothing after it.
                    return;
                }
                if (call && state == nua_callstate_ready && !call->outbound &&
                    call->state == Call::State::kEstablished) {
                    // ACK seen (nua_i_ack is not always delivered with media disabled)
                }
                break;
            }
            case nua_r_bye:
            case nua_r_cancel:
                break;
            case nua_r_shutdown:
                if (status >= 200) {
                    shutdown_complete = true;
                    su_root_break(root);
                }
                break;
            case nua_i_terminated:
                if (call) {
                    OnTerminated(*call);
                    return;
                }
                break;
            default:
                if (status >= 300 && event != nua_r_bye)
                    log->debug("sofia event {}: {} {}", nua_event_name(event), status, phrase ? phrase : "");
                if (event == nua_i_refer) {
                    // Transfers make no sense for a fax endpoint (NUTAG_APPL_METHOD makes REFER ours to
                    // answer).
                    nua_respond(nh, 405, "Method Not Allowed", NUTAG_WITH_THIS(nua), SIPTAG_ALLOW_STR(kAllow),
                                TAG_END());
                }
                // Requests we do not take part in, outside a call: their handle is done once nua is done with
                // it. Destroying it right away crashed faxd (nua still ran a timer on a refused REFER's
                // handle).
                if (!call && nh && nua_event_is_incoming_request(event)) Retire(nh);
                break;
        }
    }

    // ---- registrations ----
    void StartRegistrations() {
        for (const auto& entry : config.registrations) {
            auto reg = std::make_unique<RegistrationState>();
            reg->is_registration = true;
            reg->config = entry;
            reg->nh =
                nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(reg.get())),
                           SIPTAG_TO_STR(entry.aor.c_str()), SIPTAG_FROM_STR(entry.aor.c_str()), TAG_END());
            Register(*reg);
            registrations.push_back(std::move(reg));
        }
    }

    void Register(RegistrationState& reg) {
        reg.auth_tried = false;
        const std::string expires = std::to_string(reg.config.expires.count());
        log->info("registering {} at {}", reg.config.aor, reg.config.registrar);
        // nua refreshes the binding itself before it expires.
        nua_register(reg.nh, NUTAG_REGISTRAR(reg.config.registrar.c_str()),
                     SIPTAG_EXPIRES_STR(expires.c_str()), TAG_END());
    }

    static void OnRegistrationRetry(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t* arg) {
        auto* self = reinterpret_cast<Impl*>(magic);
        auto* reg = reinterpret_cast<RegistrationState*>(arg);
        if (!self->shutting_down) self->Register(*reg);
    }

    void OnRegistrationEvent(nua_event_t event, int status, const char* phrase, RegistrationState& reg,
                             const sip_t* sip) {
        if (event != nua_r_register || status < 200) return;
        if ((status == 401 || status == 407) && reg.config.credentials && !reg.auth_tried) {
            reg.auth_tried = true;
            const msg_auth_t* challenge =
                status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
            const char* realm = challenge ? msg_params_find(challenge->au_params, "realm=") : nullptr;
            const std::string auth = std::string("Digest:") + (realm ? realm : "\"\"") + ":" +
                                     reg.config.credentials->username + ":" +
                                     reg.config.credentials->password;
            nua_authenticate(reg.nh, NUTAG_AUTH(auth.c_str()), TAG_END());
            return;
        }
        const bool was_registered = reg.registered;
        reg.registered = status < 300;
        if (reg.registered) {
            if (!was_registered) log->info("registered {} at {}", reg.config.aor, reg.config.registrar);
            reg.auth_tried = false;
        } else {
            log->warn("registration of {} failed: {} {}; retrying in {} s", reg.config.aor, status,
                      phrase ? phrase : "", reg.config.retry_after.count());
            if (!reg.retry) reg.retry = su_timer_create(su_root_task(root), 0);
            su_timer_set_interval(reg.retry, &Impl::OnRegistrationRetry,
                                  reinterpret_cast<su_timer_arg_t*>(&reg),
                                  static_cast<su_duration_t>(reg.config.retry_after.count() * 1000));
        }
        std::lock_guard lock(stats_mutex);
        stats.registrations_active = static_cast<int>(std::count_if(
            registrations.begin(), registrations.end(), [](const auto& r) { return r->registered; }));
    }

    void StopRegistrations() {
        for (auto& reg : registrations) {
            if (reg->retry) su_timer_destroy(reg->retry);
            reg->retry = nullptr;
            if (reg->registered) nua_unregister(reg->nh, TAG_END());
        }
    }

    // ---- handles of requests outside calls ----
    // Destroyed a while after their request was answered: longer than any transaction lives (64*T1 = 32 s).
    static constexpr auto kRetiredHandleLife = std::chrono::seconds(40);
    std::deque<std::pair<nua_handle_t*, std::chrono::steady_clock::time_point>> retired_handles;
    su_timer_t* retire_timer = nullptr;

    void Retire(nua_handle_t* nh) {
        retired_handles.emplace_back(nh, std::chrono::steady_clock::now());
        if (!retire_timer) {
            retire_timer = su_timer_create(su_root_task(root), 5000);
            su_timer_set_for_ever(retire_timer, &Impl::OnRetireTimer, nullptr);
        }
    }

    static void OnRetireTimer(su_root_magic_t* magic, su_timer_t*, su_timer_arg_t*) {
        auto* self = reinterpret_cast<Impl*>(magic);
        const auto now = std::chrono::steady_clock::now();
        while (!self->retired_handles.empty() &&
               now - self->retired_handles.front().second > kRetiredHandleLife) {
            nua_handle_destroy(self->retired_handles.front().first);
            self->retired_handles.pop_front();
        }
    }

    void StopRetiring() {
        if (retire_timer) su_timer_destroy(retire_timer);
        retire_timer = nullptr;
    }

    void Run() { su_root_run(root); }
};

}  // namespace faxd::sip
