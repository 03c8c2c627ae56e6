// Placing calls: the INVITE, digest answers to 401/407, and the responses to our INVITE.
#include "sip/sofia_endpoint_impl.hpp"

namespace faxd::sip {
namespace {

// Our number as the user part of From: the far end's caller ID (ANI). NUTAG_M_USERNAME only sets the
// Contact's user part, and sofia-sip's default From has no user at all. "" leaves sofia's default.
std::string FromHeader(const SipConfig& config) {
    if (config.local_number.empty()) return {};
    return "<sip:" + config.local_number + "@" + config.listen_address + ">";
}

}  // namespace

void SipEndpoint::Impl::PlaceCall(OutboundCall request, OutboundDone done) {
    CallResult early;
    const auto fail = [&](CallFailure failure, const std::string& why) {
        early.failure = failure;
        early.reason = why;
        log->warn("cannot place call to {}: {}", request.target, why);
        if (done) done(early);
    };
    if (shutting_down) return fail(CallFailure::kCancelled, "shutting down");
    UpdateStats();
    {
        std::lock_guard lock(stats_mutex);
        if (stats.active_calls >= config.max_calls || stats.active_outgoing >= config.max_outgoing) {
            ++stats.rejected_over_limit;
            return fail(CallFailure::kUnavailable, "all outgoing channels are busy");
        }
    }
    if (request.route_max_channels > 0) {
        const auto on_route = std::count_if(calls.begin(), calls.end(), [&](const auto& entry) {
            return entry.second->outbound && entry.second->state != Call::State::kTerminated &&
                   entry.second->request.route == request.route;
        });
        if (on_route >= request.route_max_channels) {
            std::lock_guard lock(stats_mutex);
            ++stats.rejected_over_limit;
            return fail(CallFailure::kUnavailable, "all " + std::to_string(request.route_max_channels) +
                                                       " channels of route '" + request.route + "' are busy");
        }
    }
    url_t* url = url_make(nullptr, request.target.c_str());
    if (!url || (url->url_type != url_sip && url->url_type != url_sips)) {
        if (url) su_free(nullptr, url);
        return fail(CallFailure::kBadNumber, "not a sip: or sips: URI: " + request.target);
    }
    su_free(nullptr, url);
    auto call = std::make_unique<Call>();
    call->outbound = true;
    call->tag = "out-" + std::to_string(++call_counter);
    call->request = request;
    call->on_done = std::move(done);
    const std::string from = FromHeader(config);
    nua_handle_t* nh = nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(call.get())),
                                  SIPTAG_TO_STR(request.target.c_str()),
                                  TAG_IF(!from.empty(), SIPTAG_FROM_STR(from.c_str())), TAG_END());
    call->nh = nh;
    Call& c = *call;
    calls[nh] = std::move(call);
    {
        std::lock_guard lock(stats_mutex);
        ++stats.calls_out;
    }
    FaxJob job;
    job.role = t30::Role::kSend;
    job.calling_party = true;
    job.tiff = request.tiff;
    job.first_page = request.first_page;
    job.settings = request.fax.value_or(config.fax);
    if (auto created = CreateMedia(c, job); !created) {
        c.result.failure = CallFailure::kInternal;
        c.result.reason = created.error().message;
        c.state = Call::State::kTerminated;
        Report(c);
        Forget(nh);
        return;
    }
    std::vector<MediaDescription> offer;
    if (request.allow_g711 || !request.t38_in_offer) offer.push_back(AudioMedia(c.media->audio_port()));
    if (request.t38_in_offer && config.t38.enabled)
        offer.push_back(ImageMedia(c.media->image_port(), LocalT38()));
    const std::string sdp = Describe(c, std::move(offer));
    log->info("[{}] calling {}", c.tag, request.target);
    nua_invite(nh, NUTAG_URL(request.target.c_str()), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(sdp.c_str()), TAG_END());
    c.ring_timer = StartTimer(nh, &Impl::OnRingTimeout, request.ring_timeout);
}

bool SipEndpoint::Impl::RetryWithCredentials(Call& call, int status, const sip_t* sip) {
    const auto values =
        AuthHeaderValues(status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate);
    const auto challenge = ChooseChallenge(values);
    if (!challenge) {
        log->warn("[{}] {} without a digest challenge we support", call.tag, status);
        return false;
    }
    auto authorization =
        MakeAuthorization(*challenge, "INVITE", call.request.target, call.request.credentials->username,
                          call.request.credentials->password);
    if (!authorization) {
        log->error("[{}] cannot answer the challenge: {}", call.tag, authorization.error().ToString());
        return false;
    }
    log->info("[{}] {} challenge ({}); authenticating as '{}'", call.tag, status,
              DigestAlgorithmName(challenge->algorithm), call.request.credentials->username);
    const std::string call_id = sip && sip->sip_call_id ? sip->sip_call_id->i_id : "";
    nua_handle_t* old_nh = call.nh;
    const std::string from = FromHeader(config);
    nua_handle_t* nh = nua_handle(nua, reinterpret_cast<nua_hmagic_t*>(static_cast<HandleOwner*>(&call)),
                                  SIPTAG_TO_STR(call.request.target.c_str()),
                                  TAG_IF(!from.empty(), SIPTAG_FROM_STR(from.c_str())),
                                  TAG_IF(!call_id.empty(), SIPTAG_CALL_ID_STR(call_id.c_str())), TAG_END());
    // The call moves to the new handle; the old one is done.
    auto owned = std::move(calls[old_nh]);
    calls.erase(old_nh);
    nua_handle_bind(old_nh, nullptr);
    nua_handle_destroy(old_nh);
    call.nh = nh;
    calls[nh] = std::move(owned);
    nua_invite(nh, NUTAG_URL(call.request.target.c_str()),
               TAG_IF(status == 401, SIPTAG_AUTHORIZATION_STR(authorization->c_str())),
               TAG_IF(status == 407, SIPTAG_PROXY_AUTHORIZATION_STR(authorization->c_str())),
               SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(call.local_sdp.c_str()),
               TAG_END());
    // Timers and media callbacks name the call by handle: point them at the new one.
    CancelRingTimer(call);
    call.ring_timer = StartTimer(nh, &Impl::OnRingTimeout, call.request.ring_timeout);
    handle_aliases[old_nh] = nh;
    return true;
}

void SipEndpoint::Impl::OnInviteResponse(Call& call, int status, const char* phrase, const sip_t* sip) {
    if (call.state == Call::State::kEstablished) return OnReInviteResponse(call, status, sip);
    if (status < 200) {
        if (status >= 180) call.state = Call::State::kRinging;
        return;
    }
    if ((status == 401 || status == 407) && call.request.credentials && !call.auth_tried) {
        call.auth_tried = true;
        if (RetryWithCredentials(call, status, sip)) return;
    }
    CancelRingTimer(call);
    call.result.sip_status = status;
    if (sip && sip->sip_call_id) call.result.call_id = sip->sip_call_id->i_id;
    if (status >= 300) {
        if (call.result.failure == CallFailure::kNone) call.result.failure = ClassifySipStatus(status);
        if (call.result.reason.empty())
            call.result.reason = std::to_string(status) + " " + (phrase ? phrase : "");
        log->info("[{}] call failed: {} {} ({})", call.tag, status, phrase ? phrase : "",
                  CallFailureName(call.result.failure));
        call.state = Call::State::kTerminated;
        Report(call);
        // nua keeps a challenged INVITE open, waiting for nua_authenticate(): end it here, so the call stops
        // counting as active and shutdown does not wait for it.
        Forget(call.nh);
        return;
    }
    call.state = Call::State::kEstablished;
    auto answer = ParseSdp(Payload(sip));
    if (!answer) {
        call.result.failure = CallFailure::kInternal;
        call.result.reason = "unusable SDP answer: " + answer.error().message;
        nua_bye(call.nh, TAG_END());
        call.media->Stop(call.result.reason);
        return;
    }
    if (auto image = FindT38(*answer)) {
        call.t38_active = true;
        call.media_started = true;
        call.media->StartT38(MakeT38Start(*answer, answer->media[*image], *answer->media[*image].t38));
        log->info("[{}] answered; fax over T.38", call.tag);
    } else if (auto audio = ChooseAudio(*answer)) {
        StartAudio(
            call, *audio,
            config.outbound_t38 == T38Switch::kOnTone && config.t38.enabled && call.request.request_t38);
        log->info("[{}] answered; fax over G.711 for now", call.tag);
        // A route that forbids G.711 asks for T.38 at once and gives up if it is refused.
        if (((config.outbound_t38 == T38Switch::kAfterAnswer && call.request.request_t38) ||
             !call.request.allow_g711) &&
            config.t38.enabled)
            RequestT38(call);
    } else {
        call.result.failure = CallFailure::kT38NegotiationFailed;
        call.result.reason = "the answer accepts neither G.711 nor T.38";
        nua_bye(call.nh, TAG_END());
        call.media->Stop(call.result.reason);
    }
}

}  // namespace faxd::sip
