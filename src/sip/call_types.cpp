#include "sip/call_types.hpp"

namespace faxd::sip {

std::string_view CallFailureName(CallFailure failure) {
    switch (failure) {
        case CallFailure::kNone: return "none";
        case CallFailure::kBusy: return "busy";
        case CallFailure::kNoAnswer: return "no_answer";
        case CallFailure::kBadNumber: return "bad_number";
        case CallFailure::kRejected: return "rejected";
        case CallFailure::kUnavailable: return "unavailable";
        case CallFailure::kT38NegotiationFailed: return "t38_negotiation_failed";
        case CallFailure::kNotAFax: return "not_a_fax";
        case CallFailure::kFaxProtocol: return "fax_protocol";
        case CallFailure::kCallDropped: return "call_dropped";
        case CallFailure::kCancelled: return "cancelled";
        case CallFailure::kInternal: return "internal";
    }
    return "unknown";
}

CallFailure ClassifySipStatus(int status) {
    switch (status) {
        case 486:
        case 600:
            return CallFailure::kBusy;
        case 408:
        case 480:
        case 487:  // our own CANCEL after the ring timeout
            return CallFailure::kNoAnswer;
        case 404:
        case 410:
        case 484:
        case 485:
        case 604:
            return CallFailure::kBadNumber;
        case 401:
        case 407:
        case 403:
        case 603:
            return CallFailure::kRejected;
        case 488:
        case 415:
        case 606:
            return CallFailure::kT38NegotiationFailed;
        default:
            if (status >= 500 || status == 0) return CallFailure::kUnavailable;
            return CallFailure::kRejected;
    }
}

CallFailure ClassifyFaxFailure(t30::FailureClass failure) {
    switch (failure) {
        case t30::FailureClass::kNone: return CallFailure::kNone;
        case t30::FailureClass::kNoFax: return CallFailure::kNotAFax;
        case t30::FailureClass::kRejected: return CallFailure::kRejected;
        case t30::FailureClass::kCallDropped: return CallFailure::kCallDropped;
        case t30::FailureClass::kCancelled: return CallFailure::kCancelled;
        case t30::FailureClass::kDocumentError:
        case t30::FailureClass::kInternal: return CallFailure::kInternal;
        default: return CallFailure::kFaxProtocol;
    }
}

}  // namespace faxd::sip
