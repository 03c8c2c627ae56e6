#include "t30/fax_types.hpp"

namespace faxd::t30 {

std::string_view CompressionName(Compression compression) {
    switch (compression) {
        case kT4OneD: return "t4-1d";
        case kT4TwoD: return "t4-2d";
        case kT6: return "t6";
    }
    return "unknown";
}

bool ParseCompression(std::string_view text, Compression* compression) {
    if (text == "t4-1d") *compression = kT4OneD;
    else if (text == "t4-2d") *compression = kT4TwoD;
    else if (text == "t6") *compression = kT6;
    else return false;
    return true;
}

std::string_view FailureClassName(FailureClass failure) {
    switch (failure) {
        case FailureClass::kNone: return "none";
        case FailureClass::kNoFax: return "no_fax";
        case FailureClass::kIncompatible: return "incompatible";
        case FailureClass::kTrainingFailed: return "training_failed";
        case FailureClass::kProtocolError: return "protocol_error";
        case FailureClass::kRejected: return "rejected";
        case FailureClass::kCallDropped: return "call_dropped";
        case FailureClass::kDocumentError: return "document_error";
        case FailureClass::kTimeout: return "timeout";
        case FailureClass::kCancelled: return "cancelled";
        case FailureClass::kInternal: return "internal";
    }
    return "unknown";
}

}  // namespace faxd::t30
