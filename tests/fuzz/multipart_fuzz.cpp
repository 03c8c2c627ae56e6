// libFuzzer target for the multipart/form-data parser and SafeFileName (src/web/multipart): an uploading
// client controls the Content-Type header and every byte of the body.
//
// Input: the first line is the Content-Type (or, when it has no usable boundary parameter, the boundary
// itself); the rest is the body. Checks:
// 1. A parse fails with a "multipart: " message, or gives at most max_parts parts, each named, whose data
//    lies inside the body in order, never overlapping.
// 2. Tight limits can only turn a success into a limit error, never into a different result.
// 3. SafeFileName gives a non-empty last path component of at most 200 bytes of valid UTF-8 without
//    controls or quotes, never "." or "..", and is idempotent.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/multipart.hpp"

namespace {

using faxd::web::MultipartLimits;
using faxd::web::MultipartPart;
using faxd::web::ParseMultipart;
using faxd::web::SafeFileName;

void Check(bool condition) {
    if (!condition) std::abort();
}

// Independent of the parser's own decoder: a plain RFC 3629 check.
bool IsValidUtf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = lead < 0x80           ? 1
                             : (lead >> 5) == 0x6  ? 2
                             : (lead >> 4) == 0xE  ? 3
                             : (lead >> 3) == 0x1E ? 4
                                                   : 0;
        if (length == 0 || i + length > text.size()) return false;
        std::uint32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code_point = (code_point << 6) | (next & 0x3F);
        }
        const std::uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code_point < minimum[length] || code_point > 0x10FFFF ||
            (code_point >= 0xD800 && code_point <= 0xDFFF)) {
            return false;
        }
        i += length;
    }
    return true;
}

void CheckFileName(std::string_view raw) {
    const std::string safe = SafeFileName(raw);
    Check(!safe.empty() && safe.size() <= 200);
    Check(safe != "." && safe != "..");
    Check(safe.find_first_of("/\\\"'") == std::string::npos);
    for (const char c : safe) Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
    Check(IsValidUtf8(safe));
    Check(SafeFileName(safe) == safe);
}

void CheckParts(const std::vector<MultipartPart>& parts, std::string_view body,
                const MultipartLimits& limits) {
    Check(parts.size() <= limits.max_parts);
    const char* previous_end = body.data();
    for (const MultipartPart& part : parts) {
        Check(!part.name.empty());
        Check(part.data.data() >= previous_end);
        Check(part.data.data() + part.data.size() <= body.data() + body.size());
        previous_end = part.data.data() + part.data.size();
        if (part.filename) CheckFileName(*part.filename);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    const std::string_view first_line = input.substr(0, newline);
    const std::string_view body =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

    CheckFileName(input.substr(0, 512));

    std::string boundary = faxd::web::MultipartBoundary(first_line);
    if (boundary.empty()) boundary = std::string(first_line.substr(0, 70));
    if (boundary.empty()) return 0;

    const MultipartLimits defaults;
    const auto parsed = ParseMultipart(boundary, body, defaults);
    if (!parsed) {
        Check(parsed.error().message.starts_with("multipart: "));
    } else {
        CheckParts(*parsed, body, defaults);
    }

    MultipartLimits tight;
    tight.max_parts = 3;
    tight.max_part_header_bytes = 96;
    const auto constrained = ParseMultipart(boundary, body, tight);
    if (constrained) {
        CheckParts(*constrained, body, tight);
        Check(parsed.has_value() && parsed->size() == constrained->size());
    } else if (parsed) {
        Check(constrained.error().code == faxd::base::ErrorCode::kLimitExceeded);
    }
    return 0;
}
