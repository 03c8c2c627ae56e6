#include "sip/numbers.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>

namespace faxd::sip {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

constexpr std::size_t kMaxNumberLength = 64;

bool IsExtension(const NumberPlan& plan, const std::string& digits) {
    return !digits.empty() && static_cast<int>(digits.size()) <= plan.max_extension_digits;
}

}  // namespace

base::Result<std::string> NormalizeNumber(const NumberPlan& plan, std::string_view dialled) {
    if (dialled.size() > kMaxNumberLength)
        return base::MakeError(base::ErrorCode::kInvalidArgument, "fax number longer than 64 characters");
    std::string cleaned;
    for (char c : dialled) {
        if (std::isdigit(static_cast<unsigned char>(c)) || (c == '+' && cleaned.empty())) cleaned += c;
        else if (c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')') continue;
        else
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   "'" + std::string(dialled) + "' is not a fax number (unexpected '" + c + "')");
    }
    if (cleaned.empty() || cleaned == "+")
        return base::MakeError(base::ErrorCode::kInvalidArgument, "empty fax number");
    if (cleaned[0] != '+' && IsExtension(plan, cleaned)) return cleaned;
    const auto* util = PhoneNumberUtil::GetInstance();
    std::string input = cleaned;
    // A local number without its area code: put the national prefix and area code in front.
    if (input[0] != '+' && !plan.area_code.empty()) {
        std::string national_prefix;
        if (util->GetCountryCodeForRegion(plan.country) > 0) util->GetNddPrefixForRegion(plan.country, true, &national_prefix);
        const bool has_prefix = !national_prefix.empty() && input.rfind(national_prefix, 0) == 0;
        const bool international = input.rfind("00", 0) == 0;
        if (!has_prefix && !international) input = national_prefix + plan.area_code + input;
    }
    PhoneNumber number;
    if (util->Parse(input, plan.country, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "'" + std::string(dialled) + "' is not a valid number for " + plan.country);
    if (!util->IsPossibleNumber(number)) {
        std::string region;
        util->GetRegionCodeForNumber(number, &region);
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "'" + std::string(dialled) + "' has the wrong length for a number in " + region);
    }
    std::string e164;
    util->Format(number, PhoneNumberUtil::E164, &e164);
    return e164;
}

std::string FormatForRoute(const NumberPlan& plan, const std::string& normalized, NumberFormat format,
                           bool with_outside_prefix) {
    if (normalized.empty() || normalized[0] != '+') return normalized;  // an extension: as it is
    const auto* util = PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    if (util->Parse(normalized, plan.country, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return normalized;
    std::string out;
    switch (format) {
        case NumberFormat::kAsDialled:
        case NumberFormat::kE164:
            out = normalized;
            break;
        case NumberFormat::kInternational:
            util->FormatOutOfCountryCallingNumber(number, plan.country, &out);
            break;
        case NumberFormat::kNational:
            util->Format(number, PhoneNumberUtil::NATIONAL, &out);
            break;
    }
    if (format == NumberFormat::kInternational || format == NumberFormat::kNational) {
        // libphonenumber formats for people ("030 123456"); gateways want digits.
        out.erase(std::remove_if(out.begin(), out.end(), [](char c) { return !std::isdigit(static_cast<unsigned char>(c)) && c != '+'; }),
                  out.end());
    }
    return with_outside_prefix ? plan.outside_prefix + out : out;
}

}  // namespace faxd::sip
