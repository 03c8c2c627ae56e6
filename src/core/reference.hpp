// Reference numbers: every fax, sent or received, gets "YYYY.NNNNNNNN" (year, then a sequence that starts
// again at 1 each year). Users quote them on the phone, so they are short, sortable and never reused; the
// store hands out the sequence (unique across nodes), this file only formats and parses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faxd::core {

struct ReferenceNumber {
    int year = 0;
    std::int64_t sequence = 0;  // 1..99,999,999

    std::string ToString() const;  // "2026.00000042"
    static std::optional<ReferenceNumber> Parse(std::string_view text);
    friend bool operator==(const ReferenceNumber&, const ReferenceNumber&) = default;
};

}  // namespace faxd::core
