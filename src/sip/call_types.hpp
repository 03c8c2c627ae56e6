// What the SIP side of faxd tells the rest: how a call ended, in classes that retries and users act on.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "t30/fax_types.hpp"

namespace faxd::sip {

enum class CallFailure {
    kNone,
    kBusy,                   // 486, 600
    kNoAnswer,               // 408, 480, ring timeout
    kBadNumber,              // 404, 484, 410
    kRejected,               // 403, 603, or the far fax refused us in phase B
    kUnavailable,            // 503, 5xx, unreachable host, over a channel limit
    kT38NegotiationFailed,   // T.38 was required and refused
    kNotAFax,                // answered, but no fax machine spoke
    kFaxProtocol,            // the fax exchange itself failed
    kCallDropped,            // the call ended mid-fax
    kCancelled,              // we gave up (shutdown, user cancel)
    kInternal,
};

std::string_view CallFailureName(CallFailure failure);  // stable snake_case names

// SIP final response (>= 300) to the failure class of an outgoing call (RFC 3261 §21).
CallFailure ClassifySipStatus(int status);

// Failure class of a call whose SIP leg was fine but whose fax was not.
CallFailure ClassifyFaxFailure(t30::FailureClass failure);

struct CallResult {
    bool success = false;
    CallFailure failure = CallFailure::kNone;
    int sip_status = 0;          // final response to our INVITE (outbound), or our answer (inbound)
    std::string reason;          // human-readable, for logs and users
    t30::FaxResult fax;
    bool used_t38 = false;
    std::string call_id;
    double duration_seconds = 0;
};

struct InboundCallInfo {
    std::string dnis;  // called number: Request-URI user, else To
    std::string ani;   // calling number: P-Asserted-Identity, else From
    std::string call_id;
    std::string remote_address;
};

struct InboundFax {
    InboundCallInfo call;
    CallResult result;
    std::filesystem::path tiff;  // empty when no page was received
};

}  // namespace faxd::sip
