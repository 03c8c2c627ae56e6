// Vocabulary of a fax session: settings, per-page statistics, results and failure classes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace faxd::t30 {

enum class Transport { kT38, kAudio };
enum class Role { kSend, kReceive };

// Bit sets so that settings read like the SDP/T.30 capability lists they become.
enum Compression : std::uint8_t { kT4OneD = 1, kT4TwoD = 2, kT6 = 4 };
enum Modem : std::uint8_t { kV27ter = 1, kV29 = 2, kV17 = 4 };
enum Resolution : std::uint8_t { kStandard = 1, kFine = 2, kSuperfine = 4 };
inline constexpr std::uint8_t kAllCompressions = kT4OneD | kT4TwoD | kT6;
inline constexpr std::uint8_t kAllModems = kV27ter | kV29 | kV17;
inline constexpr std::uint8_t kAllResolutions = kStandard | kFine | kSuperfine;

std::string_view CompressionName(Compression compression);  // "t4-1d", "t4-2d", "t6"
bool ParseCompression(std::string_view text, Compression* compression);

struct FaxSettings {
    bool ecm = true;
    std::uint8_t compressions = kAllCompressions;  // T.6 needs ECM (T.30 Annex A); without ECM it is not offered
    std::uint8_t modems = kAllModems;              // leaving out V.17 caps the rate at 9600 bit/s
    std::uint8_t resolutions = kAllResolutions;
    std::string local_ident;   // our TSI (sending) or CSI (receiving); at most 20 characters (T.30 §5.3.6.2.4)
    std::string header_info;   // header line text stamped by the sender on each page; at most 50; "" = none
    std::string header_timezone = "UTC0";     // POSIX TZ for the header line's date and time
    Compression receive_storage = kT6;        // how received pages are stored in the TIFF
    int t38_version = 0;                      // T38FaxVersion negotiated in SDP (0-3)
    // Watchdog (spandsp 0.0.6 can stall forever after heavy loss; see docs/adr/0001).
    std::chrono::seconds max_duration{3 * 60 * 60};
    // No T.38 packet in either direction, or no T.30 frame on audio, for this long ends the session.
    // Longer than T.30's longest timer (T0, 60 s, waiting for the answering machine), so T.30 speaks first.
    std::chrono::seconds t38_idle_timeout{75};
    std::chrono::seconds audio_frame_idle_timeout{600};
};

// Why a fax did not go through, in the terms retries and users need.
enum class FailureClass {
    kNone,           // success
    kNoFax,          // no fax machine answered (no CED/DIS): a person, a modem, silence
    kIncompatible,   // no common resolution, size, or capability
    kTrainingFailed, // the modems could not train at any common speed
    kProtocolError,  // a T.30 rule was broken or messages got garbled
    kRejected,       // one side refused the other (identity, password, application decision)
    kCallDropped,    // the far end stopped responding or hung up mid-fax
    kDocumentError,  // the TIFF to send is missing or unusable, or the received file cannot be written
    kTimeout,        // the session outlived its maximum duration
    kCancelled,      // ended locally on purpose
    kInternal,       // resources, bugs
};

std::string_view FailureClassName(FailureClass failure);  // stable snake_case names used in JSON and logs

struct PageStats {
    int page = 0;  // 1-based, in this session
    int bit_rate = 0;
    int x_resolution_dpi = 0;
    int y_resolution_dpi = 0;
    int width = 0;
    int length = 0;
    Compression compression = kT4OneD;
    bool ecm = false;
    int ecm_retransmissions = 0;
    int bad_rows = 0;
    int longest_bad_row_run = 0;
    int encoded_bytes = 0;
    double seconds = 0;  // from the end of the previous page (or phase B) to the end of this one
};

struct FaxResult {
    bool success = false;
    FailureClass failure = FailureClass::kNone;
    int t30_code = 0;        // spandsp T30_ERR_*; 0 = OK
    std::string t30_text;    // spandsp's text for it, or the watchdog's reason
    int pages_confirmed = 0; // sender: pages the far end confirmed (MCF); receiver: pages received and kept
    int pages_in_document = 0;
    std::vector<PageStats> pages;
    std::string remote_ident;
    int bit_rate = 0;
    bool ecm_used = false;
    Compression compression = kT4OneD;
    double duration_seconds = 0;
};

}  // namespace faxd::t30
