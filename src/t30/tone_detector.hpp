// Detects the fax tones that tell the SIP layer when to switch a call to T.38: the caller's CNG (1100 Hz), or
// the answerer's CED (2100 Hz) or V.21 preamble (T.30 §5.1, Asterisk and FreeSWITCH switch on these).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace faxd::t30 {

enum class FaxTone { kCng, kCedOrPreamble };

class ToneDetector {
public:
    explicit ToneDetector(FaxTone tone);
    ~ToneDetector();
    ToneDetector(const ToneDetector&) = delete;
    ToneDetector& operator=(const ToneDetector&) = delete;

    // Feeds 8 kHz linear samples; returns true once the tone has been heard (and stays true).
    bool Feed(std::span<const std::int16_t> samples);
    bool Detected() const { return detected_; }

private:
    static void OnTone(void* user_data, int code, int level, int delay);
    struct State;
    std::unique_ptr<State> state_;
    bool detected_ = false;
};

}  // namespace faxd::t30
