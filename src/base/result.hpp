// Errors as values: every failure a peer, a file or the environment can cause is returned, not thrown.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace faxd::base {

// Stable codes: logs, the API and retry policy key on them, so never renumber.
enum class ErrorCode {
    kInvalidArgument = 1,  // the caller asked for something that cannot be (bad setting, bad value)
    kNotFound = 2,
    kIo = 3,               // the operating system refused (open, write, fsync, rename)
    kMalformed = 4,        // input that does not parse (packet, file, message)
    kLimitExceeded = 5,    // input larger or longer than a configured bound
    kTimeout = 6,
    kUnsupported = 7,
    kCancelled = 8,
    kProtocol = 9,         // a peer broke a protocol rule
    kFaxFailure = 10,      // a fax session ended without success; see t30 fields
    kInternal = 11,
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
    std::optional<int> sip_status;  // set when a SIP response caused the failure
    std::optional<int> t30_code;    // spandsp T30_ERR_* when T.30 caused the failure

    // "io: cannot open /x: No such file" - for logs and user-facing text.
    std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
    return tl::unexpected<Error>(Error{code, std::move(message), std::nullopt, std::nullopt});
}

// Wraps errno into an kIo error: "<what>: <strerror>".
tl::unexpected<Error> ErrnoError(std::string_view what, int errno_value);

}  // namespace faxd::base
