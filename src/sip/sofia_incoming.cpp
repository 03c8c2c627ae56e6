// Answering calls: authentication of callers, the SDP answer, delayed offers, and the peer's re-INVITEs.
#include "sip/sofia_endpoint_impl.hpp"

namespace faxd::sip {

bool SipEndpoint::Impl::Authorized(nua_handle_t* nh, const sip_t* sip) {
    if (!config.inbound_auth.enabled || !digest_server) return true;
    const auto now = std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now());
    bool stale = false;
    std::string who;
    for (const auto& value : AuthHeaderValues(sip->sip_authorization)) {
        auto authorization = ParseAuthorization(value);
        if (!authorization) {
            log->debug("unusable Authorization '{}': {}", value, authorization.error().message);
            continue;
        }
        who = authorization->username;
        const auto user = std::find_if(config.inbound_auth.users.begin(), config.inbound_auth.users.end(),
                                       [&](const auto& u) { return u.username == authorization->username; });
        if (user == config.inbound_auth.users.end()) continue;
        const auto verdict = digest_server->Verify(*authorization, "INVITE", user->password, now);
        log->debug("digest answer of '{}': {}", who, DigestVerdictName(verdict));
        if (verdict == DigestServer::Verdict::kOk) return true;
        stale = stale || verdict == DigestServer::Verdict::kStaleNonce;
    }
    auto challenges = digest_server->Challenges(now, stale);
    if (!challenges) {
        nua_respond(nh, 500, "Server Internal Error", TAG_END());
        return false;
    }
    std::string headers;
    for (const auto& challenge : *challenges) headers += "WWW-Authenticate: " + challenge + "\r\n";
    if (!who.empty()) {
        log->warn("rejected credentials of '{}' from {}", who,
                  sip->sip_via && sip->sip_via->v_host ? sip->sip_via->v_host : "?");
        std::lock_guard lock(stats_mutex);
        ++stats.auth_failures;
    }
    nua_respond(nh, 401, "Unauthorized", SIPTAG_HEADER_STR(headers.c_str()), TAG_END());
    nua_handle_destroy(nh);
    return false;
}

void SipEndpoint::Impl::OnIncomingInvite(nua_handle_t* nh, const sip_t* sip) {
    if (!Authorized(nh, sip)) return;
    auto call = std::make_unique<Call>();
    call->nh = nh;
    call->tag = "in-" + std::to_string(++call_counter);
    call->info.call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "";
    call->info.dnis = UserOf(sip->sip_request ? sip->sip_request->rq_url : nullptr);
    if (call->info.dnis.empty() && sip->sip_to) call->info.dnis = UserOf(sip->sip_to->a_url);
    if (auto* pai = sip_p_asserted_identity(sip); pai) call->info.ani = UserOf(pai->paid_url);
    if (call->info.ani.empty() && sip->sip_from) call->info.ani = UserOf(sip->sip_from->a_url);
    if (sip->sip_via && sip->sip_via->v_host) call->info.remote_address = sip->sip_via->v_host;
    call->result.call_id = call->info.call_id;
    nua_handle_bind(nh, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(call.get())));
    Call& c = *call;
    calls[nh] = std::move(call);
    {
        std::lock_guard lock(stats_mutex);
        ++stats.calls_in;
    }
    log->info("[{}] incoming call from '{}' to '{}' over {} (Call-ID {})", c.tag, c.info.ani, c.info.dnis,
              sip->sip_via && sip->sip_via->v_protocol ? sip->sip_via->v_protocol : "?", c.info.call_id);

    const auto refuse = [&](int status, const char* phrase, CallFailure failure, const std::string& why) {
        log->info("[{}] refusing: {} {} ({})", c.tag, status, phrase, why);
        nua_respond(nh, status, phrase, TAG_END());
        c.result.failure = failure;
        c.result.sip_status = status;
        c.result.reason = why;
        c.state = Call::State::kTerminating;
        Report(c);
    };
    if (shutting_down) return refuse(503, "Service Unavailable", CallFailure::kUnavailable, "shutting down");
    UpdateStats();
    {
        std::lock_guard lock(stats_mutex);
        if (stats.active_calls > config.max_calls) {
            ++stats.rejected_over_limit;
            return refuse(503, "Service Unavailable", CallFailure::kUnavailable, "over the call limit");
        }
    }
    const std::string body = Payload(sip);
    const bool delayed_offer = body.empty();  // RFC 3261 §13.2.1: we offer in the 200, the answer is in ACK
    auto offer = delayed_offer ? base::Result<SessionDescription>(SessionDescription{}) : ParseSdp(body);
    if (!offer) {
        {
            std::lock_guard lock(stats_mutex);
            ++stats.bad_requests;
        }
        return refuse(488, "Not Acceptable Here", CallFailure::kInternal,
                      "unusable SDP offer: " + offer.error().message);
    }
    auto target = router(c.info);
    if (!target) {
        const bool not_found = target.error().code == base::ErrorCode::kNotFound;
        return refuse(not_found ? 404 : 480, not_found ? "Not Found" : "Temporarily Unavailable",
                      CallFailure::kRejected, target.error().message);
    }
    FaxJob job;
    job.role = t30::Role::kReceive;
    job.calling_party = false;
    job.tiff = *target;
    job.settings = config.fax;
    if (auto created = CreateMedia(c, job); !created)
        return refuse(503, "Service Unavailable", CallFailure::kUnavailable, created.error().message);
    if (delayed_offer) {
        const std::string sdp = Describe(c, {AudioMedia(c.media->audio_port())});
        nua_respond(nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                    SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
        c.state = Call::State::kEstablished;
        c.result.sip_status = 200;
        c.awaiting_answer_in_ack = true;
        log->info("[{}] INVITE without offer: offered G.711, expecting the answer in ACK", c.tag);
        return;
    }

    // Answer T.38 straight away when offered; otherwise G.711, switching later.
    std::vector<MediaDescription> answer;
    std::optional<AudioChoice> audio = ChooseAudio(*offer);
    // An index rather than an optional: g++ 12 warns wrongly about optionals read in loops.
    const std::size_t kNone = static_cast<std::size_t>(-1);
    const std::size_t image = config.t38.enabled ? FindT38(*offer).value_or(kNone) : kNone;
    std::optional<T38Params> agreed;
    bool audio_taken = false;
    for (std::size_t i = 0; i < offer->media.size(); ++i) {
        const auto& m = offer->media[i];
        if (i == image && !agreed) {
            agreed = AnswerT38(*m.t38, LocalT38(), config.t38.allow_fec);
            answer.push_back(ImageMedia(c.media->image_port(), *agreed));
        } else if (image == kNone && audio && !audio_taken && m.media == "audio" && m.port != 0) {
            audio_taken = true;
            answer.push_back(AudioMedia(c.media->audio_port(), audio->payload_type));
        } else {
            answer.push_back(RejectedMedia(m));
        }
    }
    if (!agreed && !audio_taken)
        return refuse(488, "Not Acceptable Here", CallFailure::kT38NegotiationFailed,
                      "the offer has neither G.711 audio nor T.38");
    const std::string sdp = Describe(c, std::move(answer));
    nua_respond(nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp.c_str()),
                TAG_END());
    c.state = Call::State::kEstablished;
    c.result.sip_status = 200;
    if (agreed) {
        c.t38_active = true;
        c.media_started = true;
        c.media->StartT38(MakeT38Start(*offer, offer->media[image], *agreed));
    } else {
        StartAudio(c, *audio, config.inbound_t38 == T38Switch::kOnTone && config.t38.enabled);
    }
    log->info("[{}] answered with {}", c.tag, agreed ? "T.38" : "G.711");
}

void SipEndpoint::Impl::OnAck(Call& call, const sip_t* sip) {
    if (call.awaiting_answer_in_ack) {
        call.awaiting_answer_in_ack = false;
        auto answer = ParseSdp(Payload(sip));
        const auto audio = answer ? ChooseAudio(*answer) : std::nullopt;
        if (!audio) {
            log->warn("[{}] the ACK carries no usable answer; hanging up", call.tag);
            call.result.failure = CallFailure::kInternal;
            call.result.reason = "no usable SDP answer in the ACK";
            call.state = Call::State::kTerminating;
            nua_bye(call.nh, TAG_END());
            Report(call);
            return;
        }
        StartAudio(call, *audio, config.inbound_t38 == T38Switch::kOnTone && config.t38.enabled);
    }
    if (!call.t38_active && config.t38.enabled && config.inbound_t38 == T38Switch::kAfterAnswer &&
        !call.outbound)
        RequestT38(call);
}

void SipEndpoint::Impl::OnReInvite(Call& call, const sip_t* sip) {
    auto offer = ParseSdp(Payload(sip));
    if (!offer) {
        nua_respond(call.nh, 488, "Not Acceptable Here", TAG_END());
        return;
    }
    const auto image = FindT38(*offer);
    const auto respond_current = [&] {
        nua_respond(call.nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                    SIPTAG_PAYLOAD_STR(call.local_sdp.c_str()), TAG_END());
    };
    if (call.t38_active) {
        // A refresh of the T.38 session, or the peer moving back to audio once the fax is over (Asterisk
        // does): accept without touching the running T.38 media.
        if (image) return respond_current();
        if (auto audio = ChooseAudio(*offer)) {
            const std::string sdp =
                Describe(call, {AudioMedia(call.media->audio_port(), audio->payload_type)});
            nua_respond(call.nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
            return;
        }
        nua_respond(call.nh, 488, "Not Acceptable Here", TAG_END());
        return;
    }
    if (!image || !config.t38.enabled) {
        // A session refresh (RFC 4028) or an audio change: the audio stream we have stays.
        if (ChooseAudio(*offer)) return respond_current();
        nua_respond(call.nh, 488, "Not Acceptable Here", TAG_END());
        return;
    }
    const auto& m = offer->media[*image];
    const auto agreed = AnswerT38(*m.t38, LocalT38(), config.t38.allow_fec);
    std::vector<MediaDescription> answer;
    for (std::size_t i = 0; i < offer->media.size(); ++i)
        answer.push_back(i == *image ? ImageMedia(call.media->image_port(), agreed)
                                     : RejectedMedia(offer->media[i]));
    const std::string sdp = Describe(call, std::move(answer));
    nua_respond(call.nh, 200, "OK", SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
    CancelT38Timer(call);
    call.t38_requested = false;
    call.t38_active = true;
    call.media_started = true;
    call.media->StartT38(MakeT38Start(*offer, m, agreed));
    log->info("[{}] peer switched the call to T.38", call.tag);
}

}  // namespace faxd::sip
