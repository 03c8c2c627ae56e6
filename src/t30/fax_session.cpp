#include "t30/fax_session.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "base/atomic_file.hpp"
#include "base/log.hpp"
#include "t30/classify.hpp"
#include "t30/spandsp.hpp"
#include "t30/tiff_check.hpp"

namespace faxd::t30 {
namespace {

constexpr int kSampleRate = 8000;
constexpr int kTickSamples = 160;  // 20 ms, the pump interval FreeSWITCH and Asterisk use
// After phase E a T.38 terminal still sends its last frames (DCN); give it this long to drain.
constexpr std::int64_t kT38DrainSamples = 2 * kSampleRate;

int SpandspModems(std::uint8_t modems, Transport transport) {
    int bits = 0;
    if (modems & kV27ter) bits |= T30_SUPPORT_V27TER;
    if (modems & kV29) bits |= T30_SUPPORT_V29;
    if (modems & kV17) bits |= T30_SUPPORT_V17;
    if (transport == Transport::kT38) bits |= T30_SUPPORT_IAF;  // as t38_terminal_init sets it
    return bits;
}

int SpandspCompressions(std::uint8_t compressions) {
    int bits = 0;
    if (compressions & kT4OneD) bits |= T30_SUPPORT_T4_1D_COMPRESSION;
    if (compressions & kT4TwoD) bits |= T30_SUPPORT_T4_2D_COMPRESSION;
    if (compressions & kT6) bits |= T30_SUPPORT_T6_COMPRESSION;
    return bits;
}

int SpandspResolutions(std::uint8_t resolutions) {
    int bits = T30_SUPPORT_R8_RESOLUTION;  // 204 dpi across, the classic fax width
    if (resolutions & kStandard) bits |= T30_SUPPORT_STANDARD_RESOLUTION;
    if (resolutions & kFine) bits |= T30_SUPPORT_FINE_RESOLUTION;
    if (resolutions & kSuperfine) bits |= T30_SUPPORT_SUPERFINE_RESOLUTION;
    return bits;
}

int SpandspEncoding(Compression compression) {
    switch (compression) {
        case kT4OneD: return T4_COMPRESSION_ITU_T4_1D;
        case kT4TwoD: return T4_COMPRESSION_ITU_T4_2D;
        case kT6: return T4_COMPRESSION_ITU_T6;
    }
    return T4_COMPRESSION_ITU_T6;
}

Compression FromSpandspEncoding(int encoding) {
    switch (encoding) {
        case T4_COMPRESSION_ITU_T4_2D: return kT4TwoD;
        case T4_COMPRESSION_ITU_T6: return kT6;
        default: return kT4OneD;
    }
}

int PixelsPerMetreToDpi(int ppm) { return static_cast<int>(ppm * 0.0254 + 0.5); }

bool IsPrintableAscii(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

base::Result<void> ValidateSettings(const SessionConfig& config) {
    const auto& s = config.settings;
    using base::ErrorCode;
    if (s.local_ident.size() > 20 || !IsPrintableAscii(s.local_ident))
        return base::MakeError(ErrorCode::kInvalidArgument,
                               "local ident must be at most 20 printable ASCII characters (T.30 TSI/CSI)");
    if (s.header_info.size() > 50 || !IsPrintableAscii(s.header_info))
        return base::MakeError(ErrorCode::kInvalidArgument,
                               "header line text must be at most 50 printable ASCII characters");
    if ((s.modems & kAllModems) == 0)
        return base::MakeError(ErrorCode::kInvalidArgument, "at least one modem (V.27ter, V.29, V.17) is needed");
    if ((s.compressions & kAllCompressions) == 0)
        return base::MakeError(ErrorCode::kInvalidArgument, "at least one compression is needed");
    if ((s.resolutions & kAllResolutions) == 0)
        return base::MakeError(ErrorCode::kInvalidArgument, "at least one resolution is needed");
    if (s.t38_version < 0 || s.t38_version > 3)
        return base::MakeError(ErrorCode::kInvalidArgument, "T38FaxVersion must be 0-3");
    if (config.first_page < 0) return base::MakeError(ErrorCode::kInvalidArgument, "first page must be >= 0");
    if (s.max_duration.count() <= 0 || s.t38_idle_timeout.count() <= 0 || s.audio_frame_idle_timeout.count() <= 0)
        return base::MakeError(ErrorCode::kInvalidArgument, "watchdog timeouts must be positive");
    return {};
}

}  // namespace

struct FaxSession::Impl {
    SessionConfig config;
    IfpSink ifp_sink;
    PageCallback page_callback;
    IdentPolicy ident_policy;

    fax_state_t* fax = nullptr;
    t38_terminal_state_t* t38 = nullptr;
    t30_state_t* t30 = nullptr;

    std::optional<base::AtomicFile> rx_file;
    std::filesystem::path received_path;

    std::int64_t samples = 0;                // session time
    std::int64_t last_activity = 0;          // last IFP either way (T.38) or T.30 frame (audio)
    std::int64_t last_page_end = 0;          // phase B or the end of the previous page
    std::int64_t phase_e_at = -1;
    int pump_remainder = 0;
    bool phase_e_done = false;
    bool t38_done = false;
    bool finished = false;
    int document_pages = 0;            // pages this session has to send (from first_page on)
    bool end_of_document = false;      // receiver: the sender's last page was followed by EOP
    int frames_received = 0;           // T.30 frames from the far end: proof that a fax machine is there
    bool far_dcn_before_pages = false; // the far end disconnected before any page: it refused the call
    std::optional<FailureClass> forced_failure;  // why we ended it ourselves
    std::string forced_reason;
    std::vector<std::int16_t> rx_buffer;
    FaxResult result;
    base::Logger log = base::GetLogger("t30");

    ~Impl() { ReleaseEngine(); }

    void ReleaseEngine() {
        // Freeing the engine closes its TIFF files, so this precedes publishing the received file.
        if (fax) fax_free(fax);
        if (t38) t38_terminal_free(t38);
        fax = nullptr;
        t38 = nullptr;
        t30 = nullptr;
    }

    bool Sending() const { return config.role == Role::kSend; }

    void RecordNewPages() {
        t30_stats_t stats;
        t30_get_transfer_statistics(t30, &stats);
        const int counted = Sending() ? stats.pages_tx : stats.pages_rx;
        result.pages_in_document = Sending() ? stats.pages_in_file : std::max(stats.pages_rx, 0);
        result.bit_rate = stats.bit_rate;
        result.ecm_used = stats.error_correcting_mode != 0;
        result.compression = FromSpandspEncoding(stats.encoding);
        while (result.pages_confirmed < counted) {
            PageStats page;
            page.page = result.pages_confirmed + 1;
            page.bit_rate = stats.bit_rate;
            page.x_resolution_dpi = PixelsPerMetreToDpi(stats.x_resolution);
            page.y_resolution_dpi = PixelsPerMetreToDpi(stats.y_resolution);
            page.width = stats.width;
            page.length = stats.length;
            page.compression = FromSpandspEncoding(stats.encoding);
            page.ecm = stats.error_correcting_mode != 0;
            page.ecm_retransmissions = stats.error_correcting_mode_retries;
            page.bad_rows = stats.bad_rows;
            page.longest_bad_row_run = stats.longest_bad_row_run;
            page.encoded_bytes = stats.image_size;
            page.seconds = static_cast<double>(samples - last_page_end) / kSampleRate;
            last_page_end = samples;
            result.pages.push_back(page);
            ++result.pages_confirmed;
            if (page_callback) page_callback(page, result.pages_in_document);
        }
    }

    static int OnPhaseB(t30_state_t*, void* user_data, int fcf) {
        auto* self = static_cast<Impl*>(user_data);
        self->last_page_end = self->samples;
        const char* ident = t30_get_rx_ident(self->t30);
        self->result.remote_ident = ident ? ident : "";
        self->log->debug("{}phase B (fcf 0x{:02x}), remote ident '{}'", self->Tag(), fcf, self->result.remote_ident);
        if (self->ident_policy && !self->ident_policy(self->result.remote_ident)) {
            self->log->info("{}refusing remote '{}' in phase B", self->Tag(), self->result.remote_ident);
            return T30_ERR_IDENT_UNACCEPTABLE;
        }
        return T30_ERR_OK;
    }

    static int OnPhaseD(t30_state_t*, void* user_data, int fcf) {
        auto* self = static_cast<Impl*>(user_data);
        self->RecordNewPages();
        // The receiver sees the post-page command here; EOP means no page follows (T.30 §5.3.6.1.7).
        if (!self->Sending() && ((fcf & 0xFE) == T30_EOP || (fcf & 0xFE) == T30_PRI_EOP)) self->end_of_document = true;
        return T30_ERR_OK;
    }

    // Whether the whole document went through, so that a hang-up now costs nothing: the sender has every page
    // confirmed, or the receiver has the page that came with EOP. Peers often hang up before the final DCN.
    bool DocumentComplete() const {
        if (Sending()) return document_pages > 0 && result.pages_confirmed >= document_pages;
        return end_of_document && result.pages_confirmed > 0;
    }

    static void OnPhaseE(t30_state_t*, void* user_data, int completion_code) {
        auto* self = static_cast<Impl*>(user_data);
        self->RecordNewPages();
        self->phase_e_done = true;
        self->phase_e_at = self->samples;
        auto& r = self->result;
        const char* ident = t30_get_rx_ident(self->t30);
        if (ident && *ident) r.remote_ident = ident;
        r.t30_code = completion_code;
        r.t30_text = self->forced_failure ? self->forced_reason : t30_completion_code_to_str(completion_code);
        r.failure = self->Classify(completion_code);
        r.success = r.failure == FailureClass::kNone;
        self->log->info("{}phase E: {} ({}), {} page(s), remote '{}'", self->Tag(), FailureClassName(r.failure),
                        r.t30_text, r.pages_confirmed, r.remote_ident);
    }

    static void OnFrame(t30_state_t*, void* user_data, int incoming, const std::uint8_t* msg, int len) {
        auto* self = static_cast<Impl*>(user_data);
        self->last_activity = self->samples;
        if (!incoming) return;
        ++self->frames_received;
        // HDLC address, control, then the FCF; its low bit only says who sent it (T.30 §5.3.6.1).
        if (len >= 3 && (msg[2] & 0xFE) == T30_DCN && self->result.pages_confirmed == 0)
            self->far_dcn_before_pages = true;
    }

    bool HadContact() const { return frames_received > 0 || result.pages_confirmed > 0; }

    FailureClass Classify(int completion_code) const {
        FailureClass failure = forced_failure ? *forced_failure : ClassifyCompletion(completion_code, HadContact());
        if (failure == FailureClass::kNone) return failure;
        // A DCN before any page is the far end refusing the call, whatever timer or state spandsp ended in.
        if (far_dcn_before_pages && (failure == FailureClass::kTrainingFailed || failure == FailureClass::kCallDropped ||
                                     failure == FailureClass::kProtocolError))
            return FailureClass::kRejected;
        // A watchdog that found silence before anything was heard from the far end: no fax machine there.
        if (forced_failure == FailureClass::kCallDropped && !HadContact()) return FailureClass::kNoFax;
        return failure;
    }

    static int OnT38Packet(t38_core_state_t*, void* user_data, const std::uint8_t* buf, int len, int count) {
        auto* self = static_cast<Impl*>(user_data);
        self->last_activity = self->samples;
        if (self->ifp_sink) self->ifp_sink(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(len)), count);
        return 0;
    }

    std::string Tag() const { return config.log_tag.empty() ? std::string() : "[" + config.log_tag + "] "; }

    void ForceEnd(FailureClass failure, std::string reason) {
        if (phase_e_done || finished) return;
        forced_failure = failure;
        forced_reason = std::move(reason);
        log->warn("{}ending session: {}", Tag(), forced_reason);
        t30_terminate(t30);
        if (!phase_e_done) OnPhaseE(t30, this, T30_ERR_CALLDROPPED);
        Finish();
    }

    void CheckWatchdog() {
        if (phase_e_done) return;
        const auto& s = config.settings;
        if (samples >= static_cast<std::int64_t>(s.max_duration.count()) * kSampleRate) {
            ForceEnd(FailureClass::kTimeout,
                     "session exceeded its maximum duration of " + std::to_string(s.max_duration.count()) + " s");
            return;
        }
        const auto idle = config.transport == Transport::kT38 ? s.t38_idle_timeout : s.audio_frame_idle_timeout;
        if (samples - last_activity >= static_cast<std::int64_t>(idle.count()) * kSampleRate) {
            ForceEnd(FailureClass::kCallDropped,
                     config.transport == Transport::kT38
                         ? "no T.38 packets in either direction for " + std::to_string(idle.count()) + " s"
                         : "no T.30 frames for " + std::to_string(idle.count()) + " s");
        }
    }

    void MaybeFinish() {
        if (finished || !phase_e_done) return;
        if (config.transport == Transport::kT38 && !t38_done && samples - phase_e_at < kT38DrainSamples) return;
        Finish();
    }

    void Finish() {
        if (finished) return;
        finished = true;
        result.duration_seconds = static_cast<double>(samples) / kSampleRate;
        ReleaseEngine();
        if (!rx_file) return;
        if (result.pages_confirmed == 0) {
            rx_file.reset();  // removes the empty temporary file
            return;
        }
        if (auto committed = rx_file->Commit(); !committed) {
            log->error("{}cannot keep received fax: {}", Tag(), committed.error().ToString());
            result.success = false;
            result.failure = FailureClass::kDocumentError;
            result.t30_text = committed.error().message;
        } else {
            received_path = rx_file->TargetPath();
        }
        rx_file.reset();
    }
};

FaxSession::FaxSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaxSession::~FaxSession() = default;

base::Result<std::unique_ptr<FaxSession>> FaxSession::Create(const SessionConfig& config, IfpSink ifp_sink) {
    if (auto valid = ValidateSettings(config); !valid) return tl::unexpected(valid.error());
    if (config.transport == Transport::kT38 && !ifp_sink)
        return base::MakeError(base::ErrorCode::kInvalidArgument, "a T.38 session needs an IFP sink");
    InstallSpandspLogging();

    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->ifp_sink = std::move(ifp_sink);
    const auto& settings = config.settings;

    std::string rx_temp;
    if (config.role == Role::kSend) {
        auto pages = CheckFaxTiff(config.tiff);
        if (!pages) return tl::unexpected(pages.error());
        impl->document_pages = *pages - config.first_page;
        if (config.first_page >= *pages)
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   config.tiff.string() + " has " + std::to_string(*pages) +
                                       " page(s); cannot start at page " + std::to_string(config.first_page + 1));
    } else {
        auto file = base::AtomicFile::Create(config.tiff);
        if (!file) return tl::unexpected(file.error());
        rx_temp = file->TempPath().string();
        impl->rx_file.emplace(std::move(*file));
    }

    Impl* raw = impl.get();
    if (config.transport == Transport::kT38) {
        raw->t38 = t38_terminal_init(nullptr, config.calling_party, &Impl::OnT38Packet, raw);
        if (!raw->t38) return base::MakeError(base::ErrorCode::kInternal, "spandsp could not create a T.38 terminal");
        t38_terminal_set_config(raw->t38, 0);  // paced UDP mode (T.38 §9.2.1): UDPTL over UDP, not TCP
        t38_set_t38_version(t38_terminal_get_t38_core_state(raw->t38), settings.t38_version);
        raw->t30 = t38_terminal_get_t30_state(raw->t38);
        // spandsp keeps the tag pointer, not a copy: hand it the session's own string.
        ConfigureLogging(t38_terminal_get_logging_state(raw->t38), raw->config.log_tag);
        ConfigureLogging(t38_core_get_logging_state(t38_terminal_get_t38_core_state(raw->t38)), raw->config.log_tag);
    } else {
        raw->fax = fax_init(nullptr, config.calling_party);
        if (!raw->fax) return base::MakeError(base::ErrorCode::kInternal, "spandsp could not create a fax modem");
        fax_set_transmit_on_idle(raw->fax, 1);  // a constant RTP stream needs samples every 20 ms
        fax_set_tep_mode(raw->fax, 0);
        raw->t30 = fax_get_t30_state(raw->fax);
        ConfigureLogging(fax_get_logging_state(raw->fax), raw->config.log_tag);
        raw->rx_buffer.reserve(kTickSamples);
    }
    t30_state_t* t30 = raw->t30;
    ConfigureLogging(t30_get_logging_state(t30), raw->config.log_tag);
    t30_set_tx_ident(t30, settings.local_ident.c_str());
    t30_set_ecm_capability(t30, settings.ecm ? 1 : 0);
    t30_set_supported_compressions(t30, SpandspCompressions(settings.compressions));
    t30_set_supported_modems(t30, SpandspModems(settings.modems, config.transport));
    t30_set_supported_resolutions(t30, SpandspResolutions(settings.resolutions));
    if (!settings.header_info.empty()) {
        t30_set_tx_page_header_info(t30, settings.header_info.c_str());
        // spandsp otherwise calls localtime(), which is not thread-safe.
        t30_set_tx_page_header_tz(t30, settings.header_timezone.c_str());
    }
    if (config.role == Role::kSend) {
        t30_set_tx_file(t30, config.tiff.c_str(), config.first_page, -1);
    } else {
        t30_set_rx_file(t30, rx_temp.c_str(), -1);
        t30_set_rx_encoding(t30, SpandspEncoding(settings.receive_storage));
    }
    t30_set_phase_b_handler(t30, &Impl::OnPhaseB, raw);
    t30_set_phase_d_handler(t30, &Impl::OnPhaseD, raw);
    t30_set_phase_e_handler(t30, &Impl::OnPhaseE, raw);
    t30_set_real_time_frame_handler(t30, &Impl::OnFrame, raw);
    return std::unique_ptr<FaxSession>(new FaxSession(std::move(impl)));
}

void FaxSession::SetPageCallback(PageCallback callback) { impl_->page_callback = std::move(callback); }
void FaxSession::SetIdentPolicy(IdentPolicy policy) { impl_->ident_policy = std::move(policy); }

void FaxSession::ReceiveIfp(std::span<const std::uint8_t> ifp, std::uint16_t seq) {
    auto& s = *impl_;
    if (s.finished || !s.t38) return;
    s.last_activity = s.samples;
    t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(s.t38), ifp.data(), static_cast<int>(ifp.size()), seq);
    s.MaybeFinish();
}

void FaxSession::Advance(int samples) {
    auto& s = *impl_;
    if (s.finished || samples <= 0) return;
    if (!s.t38) {  // audio sessions keep time by the samples they receive
        return;
    }
    s.pump_remainder += samples;
    while (s.pump_remainder >= kTickSamples && !s.finished) {
        s.pump_remainder -= kTickSamples;
        s.samples += kTickSamples;
        if (t38_terminal_send_timeout(s.t38, kTickSamples)) s.t38_done = true;
        s.CheckWatchdog();
        s.MaybeFinish();
    }
}

void FaxSession::ReceiveAudio(std::span<const std::int16_t> samples) {
    auto& s = *impl_;
    if (s.finished || !s.fax) return;
    // fax_rx takes a non-const pointer; give it a private copy rather than casting away const.
    s.rx_buffer.assign(samples.begin(), samples.end());
    fax_rx(s.fax, s.rx_buffer.data(), static_cast<int>(s.rx_buffer.size()));
    s.samples += static_cast<std::int64_t>(samples.size());
    s.CheckWatchdog();
    s.MaybeFinish();
}

void FaxSession::ReceiveAudioGap(int samples) {
    auto& s = *impl_;
    if (s.finished || !s.fax || samples <= 0) return;
    fax_rx_fillin(s.fax, samples);
    s.samples += samples;
    s.CheckWatchdog();
    s.MaybeFinish();
}

void FaxSession::TransmitAudio(std::span<std::int16_t> out) {
    auto& s = *impl_;
    if (s.finished || !s.fax) {
        std::fill(out.begin(), out.end(), std::int16_t{0});
        return;
    }
    const int produced = fax_tx(s.fax, out.data(), static_cast<int>(out.size()));
    std::fill(out.begin() + std::max(produced, 0), out.end(), std::int16_t{0});
}

void FaxSession::Cancel() { impl_->ForceEnd(FailureClass::kCancelled, "cancelled"); }

void FaxSession::HangUp() {
    auto& s = *impl_;
    if (s.phase_e_done) {
        s.Finish();
        return;
    }
    if (s.DocumentComplete()) {
        // The far end hung up between the last confirmation and DCN: the fax is complete (T.30 phase E is
        // only the disconnect). Count it as the success it is.
        s.RecordNewPages();
        s.forced_failure = FailureClass::kNone;
        s.forced_reason = "complete; the far end hung up before the final disconnect";
        t30_terminate(s.t30);
        if (!s.phase_e_done) Impl::OnPhaseE(s.t30, &s, T30_ERR_OK);
        s.Finish();
        return;
    }
    s.ForceEnd(FailureClass::kCallDropped, "the call ended before the fax was complete");
}

bool FaxSession::Finished() const { return impl_->finished; }
const FaxResult& FaxSession::Result() const { return impl_->result; }
double FaxSession::ElapsedSeconds() const { return static_cast<double>(impl_->samples) / kSampleRate; }
const std::filesystem::path& FaxSession::ReceivedTiff() const { return impl_->received_path; }

}  // namespace faxd::t30
