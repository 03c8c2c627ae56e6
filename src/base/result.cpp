#include "base/result.hpp"

#include <cstring>

namespace faxd::base {

std::string_view ErrorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::kInvalidArgument: return "invalid_argument";
        case ErrorCode::kNotFound: return "not_found";
        case ErrorCode::kIo: return "io";
        case ErrorCode::kMalformed: return "malformed";
        case ErrorCode::kLimitExceeded: return "limit_exceeded";
        case ErrorCode::kTimeout: return "timeout";
        case ErrorCode::kUnsupported: return "unsupported";
        case ErrorCode::kCancelled: return "cancelled";
        case ErrorCode::kProtocol: return "protocol";
        case ErrorCode::kFaxFailure: return "fax_failure";
        case ErrorCode::kInternal: return "internal";
    }
    return "unknown";
}

std::string Error::ToString() const {
    std::string text(ErrorCodeName(code));
    text += ": ";
    text += message;
    if (sip_status) text += " (SIP " + std::to_string(*sip_status) + ")";
    if (t30_code) text += " (T.30 code " + std::to_string(*t30_code) + ")";
    return text;
}

tl::unexpected<Error> ErrnoError(std::string_view what, int errno_value) {
    std::string message(what);
    message += ": ";
    message += std::strerror(errno_value);
    return MakeError(ErrorCode::kIo, std::move(message));
}

}  // namespace faxd::base
