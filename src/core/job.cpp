#include "core/job.hpp"

#include <array>
#include <utility>

namespace faxd::core {
namespace {

constexpr std::array<std::pair<JobState, std::string_view>, 10> kStateNames{{
    {JobState::kQueued, "queued"},
    {JobState::kConverting, "converting"},
    {JobState::kScheduled, "scheduled"},
    {JobState::kSending, "sending"},
    {JobState::kRetryWait, "retry_wait"},
    {JobState::kHeld, "held"},
    {JobState::kSent, "sent"},
    {JobState::kPartiallySent, "partially_sent"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
}};

constexpr std::array<std::pair<FailureClass, std::string_view>, 14> kFailureNames{{
    {FailureClass::kNone, "none"},
    {FailureClass::kBusy, "busy"},
    {FailureClass::kNoAnswer, "no_answer"},
    {FailureClass::kBadNumber, "bad_number"},
    {FailureClass::kRejected, "rejected"},
    {FailureClass::kUnavailable, "unavailable"},
    {FailureClass::kNotAFax, "not_a_fax"},
    {FailureClass::kT38Failed, "t38_failed"},
    {FailureClass::kProtocolError, "protocol_error"},
    {FailureClass::kCallDropped, "call_dropped"},
    {FailureClass::kDocumentError, "document_error"},
    {FailureClass::kInterrupted, "interrupted"},
    {FailureClass::kCancelled, "cancelled"},
    {FailureClass::kInternal, "internal"},
}};

template <typename Enum, std::size_t N>
std::string_view NameOf(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
    for (const auto& [v, name] : table) {
        if (v == value) return name;
    }
    return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> ValueOf(const std::array<std::pair<Enum, std::string_view>, N>& table,
                            std::string_view name) {
    for (const auto& [v, n] : table) {
        if (n == name) return v;
    }
    return std::nullopt;
}

}  // namespace

std::string_view JobStateName(JobState state) { return NameOf(kStateNames, state); }
std::optional<JobState> ParseJobState(std::string_view name) { return ValueOf(kStateNames, name); }
std::string_view FailureClassName(FailureClass failure) { return NameOf(kFailureNames, failure); }
std::optional<FailureClass> ParseFailureClass(std::string_view name) { return ValueOf(kFailureNames, name); }

bool IsFinal(JobState state) {
    return state == JobState::kSent || state == JobState::kPartiallySent || state == JobState::kFailed ||
           state == JobState::kCancelled;
}

bool CanMove(JobState from, JobState to) {
    using S = JobState;
    if (from == to) return false;
    // A final job only moves when resent, which makes a new job; cancel and hold reach every live state.
    if (IsFinal(from)) return false;
    if (to == S::kCancelled) return true;
    if (to == S::kHeld) return from != S::kSending;  // a call in progress is cancelled, not held
    switch (from) {
        case S::kQueued:
            return to == S::kConverting || to == S::kScheduled || to == S::kFailed;
        case S::kConverting:
            // Back to queued when a node dies mid-conversion; failed when the document cannot be rendered.
            return to == S::kScheduled || to == S::kQueued || to == S::kFailed;
        case S::kScheduled:
            return to == S::kSending || to == S::kFailed;  // failed: kill time passed while waiting
        case S::kSending:
            return to == S::kSent || to == S::kPartiallySent || to == S::kFailed || to == S::kRetryWait;
        case S::kRetryWait:
            return to == S::kScheduled || to == S::kSending || to == S::kFailed || to == S::kPartiallySent;
        case S::kHeld:
            return to == S::kScheduled || to == S::kQueued;  // released
        default:
            return false;
    }
}

}  // namespace faxd::core
