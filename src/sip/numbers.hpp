// Phone numbers: what users type ("030 1234-56", "+49 30 123456", "0049...", "123456") becomes E.164 inside
// faxd (libphonenumber, with the country and area code of the site), and each route gets the form its
// gateway expects. Short numbers are extensions of the PBX and pass through untouched.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "sip/routing.hpp"  // NumberFormat

namespace faxd::sip {

struct NumberPlan {
    std::string country = "US";   // ISO 3166 region of the site
    std::string area_code;        // added to local numbers dialled without one
    std::string outside_prefix;   // the global prefix for off-net numbers (e.g. "0" behind many PBXs)
    int max_extension_digits = 5; // numbers this short are internal extensions
};

// "+4930123456" for public numbers; the digits unchanged for extensions. kInvalidArgument with a clear message
// for text that is not a phone number.
base::Result<std::string> NormalizeNumber(const NumberPlan& plan, std::string_view dialled);

// The number as a route sends it: E.164 ("+4930123456"), international ("004930123456" from Germany),
// national ("030123456"), or as normalised. The plan's outside prefix goes in front of off-net numbers when
// `with_outside_prefix` is set.
std::string FormatForRoute(const NumberPlan& plan, const std::string& normalized, NumberFormat format,
                           bool with_outside_prefix);

}  // namespace faxd::sip
