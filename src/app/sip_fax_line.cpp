#include "app/sip_fax_line.hpp"

#include <chrono>
#include <memory>

#include "base/log.hpp"
#include "render/compose.hpp"

namespace faxd::app {

struct AttemptState {
    core::OutgoingFax fax;
    std::function<void(int)> on_page;
    std::function<void(core::Attempt)> done;
    std::vector<sip::DialTarget> targets;
    std::filesystem::path tiff;
    base::WallTime started{};
};

core::FailureClass ToFailureClass(const sip::CallResult& result) {
    using F = core::FailureClass;
    switch (result.failure) {
        case sip::CallFailure::kNone:
            return F::kNone;
        case sip::CallFailure::kBusy:
            return F::kBusy;
        case sip::CallFailure::kNoAnswer:
            return F::kNoAnswer;
        case sip::CallFailure::kBadNumber:
            return F::kBadNumber;
        case sip::CallFailure::kRejected:
            return F::kRejected;
        case sip::CallFailure::kUnavailable:
            return F::kUnavailable;
        case sip::CallFailure::kT38NegotiationFailed:
            return F::kT38Failed;
        case sip::CallFailure::kNotAFax:
            return F::kNotAFax;
        case sip::CallFailure::kFaxProtocol:
            // Over T.38 a broken exchange is most often the gateway's T.38 (see docs/telephony.md): the
            // retry goes over G.711. Over audio it is the modems or ECM: the retry turns ECM off.
            return result.used_t38 ? F::kT38Failed : F::kProtocolError;
        case sip::CallFailure::kCallDropped:
            return F::kCallDropped;
        case sip::CallFailure::kCancelled:
            return F::kCancelled;
        case sip::CallFailure::kInternal:
            return F::kInternal;
    }
    return F::kInternal;
}

core::Attempt ToAttempt(const sip::CallResult& result, const std::string& route) {
    core::Attempt attempt;
    attempt.duration_seconds = result.duration_seconds;
    attempt.route = route;
    attempt.used_t38 = result.used_t38;
    attempt.ecm = result.fax.ecm_used;
    attempt.failure = result.success ? core::FailureClass::kNone : ToFailureClass(result);
    attempt.sip_status = result.sip_status;
    attempt.t30_code = result.fax.t30_code;
    attempt.reason = result.success ? "sent" : result.reason;
    attempt.pages_confirmed = result.fax.pages_confirmed;
    attempt.bit_rate = result.fax.bit_rate;
    attempt.remote_ident = result.fax.remote_ident;
    return attempt;
}

SipFaxLine::SipFaxLine(sip::SipEndpoint& endpoint, SipFaxLineConfig config, SpoolPath spool_path)
    : endpoint_(endpoint), config_(std::move(config)), spool_path_(std::move(spool_path)) {
    std::error_code ec;
    std::filesystem::create_directories(config_.work_dir, ec);
}

void SipFaxLine::Cancel(core::JobId job) { endpoint_.Hangup("job-" + std::to_string(job)); }

core::LineUse SipFaxLine::Usage() const {
    const sip::SipStats stats = endpoint_.Stats();
    core::LineUse use;
    use.outgoing = stats.active_outgoing;
    use.incoming = stats.active_calls - stats.active_outgoing;
    return use;
}

void SipFaxLine::Send(const core::OutgoingFax& fax, std::function<void(int)> on_page,
                      std::function<void(core::Attempt)> done) {
    auto state = std::make_shared<AttemptState>();
    state->fax = fax;
    state->on_page = std::move(on_page);
    state->done = [this, job = fax.job, done = std::move(done)](core::Attempt attempt) {
        {
            std::lock_guard lock(rates_mutex_);
            rates_.erase(job);
        }
        done(std::move(attempt));
    };
    state->started = std::chrono::time_point_cast<base::Duration>(std::chrono::system_clock::now());
    auto fail = [&](core::FailureClass failure, std::string reason) {
        core::Attempt attempt;
        attempt.started = state->started;
        attempt.failure = failure;
        attempt.reason = std::move(reason);
        state->done(std::move(attempt));
    };
    state->targets = sip::PlanDial(config_.routes, fax.number, &config_.plan);
    if (state->targets.empty()) return fail(core::FailureClass::kBadNumber, "no route to " + fax.number);

    // This attempt's pages: from the first unconfirmed one, each with the header line (its page number
    // counts the whole document).
    state->tiff = config_.work_dir /
                  ("job-" + std::to_string(fax.job) + "-from-" + std::to_string(fax.first_page) + ".tif");
    render::HeaderLine header{config_.header_sender,
                              config_.local_date_time ? config_.local_date_time() : std::string(),
                              fax.reference.ToString(), config_.header_format};
    auto stamped = render::StampHeaderLines(spool_path_(fax.document), state->tiff, header, fax.first_page);
    if (!stamped) return fail(core::FailureClass::kDocumentError, stamped.error().message);
    DialTarget(state, 0);
}

void SipFaxLine::DialTarget(std::shared_ptr<AttemptState> state, std::size_t index) {
    const sip::DialTarget& target = state->targets[index];
    sip::OutboundCall call;
    call.target = target.uri;
    call.tiff = state->tiff;
    std::string route_name;
    if (target.route != nullptr) {
        route_name = target.route->name;
        call.allow_g711 = target.route->allow_g711 || state->fax.prefer_audio;
        call.t38_in_offer = target.route->t38_in_offer && !state->fax.prefer_audio;
        call.credentials = target.route->credentials;
        call.route = target.route->name;
        call.route_max_channels = target.route->max_channels;
    }
    call.request_t38 = !state->fax.prefer_audio;
    call.on_page_confirmed = [this, state](int pages, int bit_rate) {
        {
            std::lock_guard lock(rates_mutex_);
            rates_[state->fax.job] = bit_rate;
        }
        state->on_page(pages);
    };
    call.key = "job-" + std::to_string(state->fax.job);
    if (state->fax.disable_ecm) {
        t30::FaxSettings settings = config_.fax;  // with ECM off for this destination
        settings.ecm = false;
        call.fax = settings;
    }
    endpoint_.Dial(std::move(call), [this, state, index, route_name](const sip::CallResult& result) {
        if (!result.success && sip::ShouldTryNextGateway(result) && index + 1 < state->targets.size()) {
            return DialTarget(state, index + 1);
        }
        core::Attempt attempt = ToAttempt(result, route_name);
        attempt.started = state->started;
        std::error_code ec;
        std::filesystem::remove(state->tiff, ec);
        state->done(std::move(attempt));
    });
}

int SipFaxLine::LastBitRate(core::JobId job) const {
    std::lock_guard lock(rates_mutex_);
    auto it = rates_.find(job);
    return it == rates_.end() ? 0 : it->second;
}

}  // namespace faxd::app
