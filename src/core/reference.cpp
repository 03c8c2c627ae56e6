#include "core/reference.hpp"

#include <charconv>
#include <cstdio>

namespace faxd::core {

std::string ReferenceNumber::ToString() const {
    char text[32];
    std::snprintf(text, sizeof text, "%04d.%08lld", year, static_cast<long long>(sequence));
    return text;
}

std::optional<ReferenceNumber> ReferenceNumber::Parse(std::string_view text) {
    if (text.size() != 13 || text[4] != '.') return std::nullopt;
    ReferenceNumber reference;
    auto year = std::from_chars(text.data(), text.data() + 4, reference.year);
    auto sequence = std::from_chars(text.data() + 5, text.data() + 13, reference.sequence);
    if (year.ec != std::errc{} || year.ptr != text.data() + 4) return std::nullopt;
    if (sequence.ec != std::errc{} || sequence.ptr != text.data() + 13) return std::nullopt;
    if (reference.year < 1970 || reference.sequence < 1) return std::nullopt;
    return reference;
}

}  // namespace faxd::core
