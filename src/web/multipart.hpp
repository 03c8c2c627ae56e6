// A bounded multipart/form-data parser (RFC 7578) for uploads: Beast has none. Parts refer into the body
// (no copies), so the body must outlive them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace faxd::web {

struct MultipartPart {
    std::string name;                     // form field name (Content-Disposition name=)
    std::optional<std::string> filename;  // as sent (may hold paths, quotes, anything): see SafeFileName
    std::string content_type;             // "" when the part has none (text/plain by RFC 7578)
    std::string_view data;                // the part's bytes, into the body
};

struct MultipartLimits {
    std::size_t max_parts = 64;
    std::size_t max_part_header_bytes = 8 * 1024;  // all header lines of one part
};

// The boundary parameter of a multipart/form-data Content-Type ("" when absent or not multipart/form-data).
std::string MultipartBoundary(std::string_view content_type);

// Errors (kMalformed / kLimitExceeded) carry a message fit for the API client: "multipart: part 3 has no
// Content-Disposition", "multipart: no closing boundary", "multipart: more than 64 parts".
base::Result<std::vector<MultipartPart>> ParseMultipart(std::string_view boundary, std::string_view body,
                                                        const MultipartLimits& limits = {});

// A file name safe to store and show: the last path component (/ and \ both separate), control characters
// and quotes dropped, at most 200 bytes of valid UTF-8, never "", "." or ".." ("upload" then).
std::string SafeFileName(std::string_view name);

}  // namespace faxd::web
