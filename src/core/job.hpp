// Outgoing fax jobs: one per recipient. A submission to several recipients is a broadcast whose jobs share
// one rendered document. The store keeps every job's state; this file says which states exist and which
// moves between them are legal, so no adapter can invent one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "core/reference.hpp"

namespace faxd::core {

using JobId = std::int64_t;
using UserId = std::int64_t;
using EntityId = std::int64_t;
using SubmissionId = std::int64_t;

enum class JobState {
    kQueued,         // accepted, waiting for its document to be rendered
    kConverting,     // the renderer works on the document
    kScheduled,      // ready; waits for its time, a line, or its turn for the number
    kSending,        // a call is up (or being placed) for it
    kRetryWait,      // the last attempt failed; another comes at next_attempt_at
    kHeld,           // an operator or the user holds it; nothing happens until released
    kSent,           // every page confirmed by the receiver
    kPartiallySent,  // gave up after some pages were confirmed
    kFailed,         // gave up with no page confirmed
    kCancelled,      // a user or operator cancelled it
};

std::string_view JobStateName(JobState state);  // stable snake_case, as the API shows it
std::optional<JobState> ParseJobState(std::string_view name);
bool IsFinal(JobState state);
// The moves the core allows. Everything else is a bug or a race (e.g. cancel after sent) and is refused.
bool CanMove(JobState from, JobState to);

// Why an attempt failed, in the classes retries act on (HylaFAX's job "status" classes, SIP-aware).
enum class FailureClass {
    kNone,
    kBusy,
    kNoAnswer,
    kBadNumber,      // the number does not exist: never retried
    kRejected,       // refused by the network or the far fax
    kUnavailable,    // trunk or PBX down, over capacity
    kNotAFax,        // a person or modem answered
    kT38Failed,      // T.38 negotiation or transport failed: try G.711 next
    kProtocolError,  // the fax exchange broke (training, garbled, ECM trouble)
    kCallDropped,    // the call ended mid-page
    kDocumentError,  // our document cannot be sent: never retried
    kInterrupted,    // faxd stopped (crash, restart) during the attempt
    kCancelled,
    kInternal,
};

std::string_view FailureClassName(FailureClass failure);
std::optional<FailureClass> ParseFailureClass(std::string_view name);

// One try to deliver a job: what the call log and the transmission report show.
struct Attempt {
    int number = 0;  // 1, 2, ...
    base::WallTime started{};
    double duration_seconds = 0;
    std::string route;  // trunk or gateway used
    bool used_t38 = false;
    bool ecm = false;
    FailureClass failure = FailureClass::kNone;
    int sip_status = 0;
    int t30_code = 0;
    std::string reason;
    int pages_confirmed = 0;  // in this attempt
    int bit_rate = 0;
    std::string remote_ident;
};

// What worked last time for a destination: the next job to it starts there instead of failing again.
struct DestinationHints {
    bool prefer_audio = false;  // T.38 failed there
    bool disable_ecm = false;   // ECM trouble there
};

struct Job {
    JobId id = 0;
    SubmissionId submission = 0;
    ReferenceNumber reference;
    UserId owner = 0;
    std::optional<EntityId> entity;  // sent on behalf of a shared fax entity
    std::string number;              // the recipient as dialled (already normalised)
    std::string recipient_name;
    JobState state = JobState::kQueued;
    int priority = 100;                     // lower first (HylaFAX style: 0 urgent, 127 normal, 255 bulk)
    std::optional<base::WallTime> send_at;  // not before
    std::optional<base::WallTime> kill_at;  // give up after
    base::WallTime next_attempt_at{};       // for kScheduled/kRetryWait: the earliest next try
    base::WallTime created{};
    int pages_total = 0;
    int pages_confirmed = 0;  // pages the receiver confirmed so far; a retry resumes after them
    int tries = 0;            // attempts that reached a fax machine
    int dials = 0;            // attempts, any outcome
    std::string document;     // spool name of the rendered TIFF
    bool economy = false;     // only inside the economy window
    bool prefer_audio = false;
    bool disable_ecm = false;
    FailureClass last_failure = FailureClass::kNone;
    std::string last_reason;
};

}  // namespace faxd::core
