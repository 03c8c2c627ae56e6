#include "t30/tone_detector.hpp"

#include "t30/spandsp.hpp"

namespace faxd::t30 {

struct ToneDetector::State {
    modem_connect_tones_rx_state_t* rx = nullptr;
    ~State() {
        if (rx) modem_connect_tones_rx_free(rx);
    }
};

ToneDetector::ToneDetector(FaxTone tone) : state_(std::make_unique<State>()) {
    const int type = tone == FaxTone::kCng ? MODEM_CONNECT_TONES_FAX_CNG : MODEM_CONNECT_TONES_FAX_CED_OR_PREAMBLE;
    state_->rx = modem_connect_tones_rx_init(nullptr, type, &ToneDetector::OnTone, this);
}

ToneDetector::~ToneDetector() = default;

void ToneDetector::OnTone(void* user_data, int code, int, int) {
    if (code != MODEM_CONNECT_TONES_NONE) static_cast<ToneDetector*>(user_data)->detected_ = true;
}

bool ToneDetector::Feed(std::span<const std::int16_t> samples) {
    if (detected_ || !state_->rx) return detected_;
    modem_connect_tones_rx(state_->rx, samples.data(), static_cast<int>(samples.size()));
    return detected_;
}

}  // namespace faxd::t30
