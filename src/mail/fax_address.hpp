// Where a mail to the gateway says to send a fax, and the PIN a sender may put in the body (issue 7).
//
// Numbers come back normalised to digits with an optional leading '+' ("+49 (30) 123-45" -> "+493012345");
// dialling rules (prefixes, E.164) are the router's business, not the mail intake's.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace faxd::mail {

struct FaxRecipient {
    std::string number;  // digits, optionally a leading '+'
    std::string entity;  // sending fax entity from "number@entity"; empty for the sender's default
    friend bool operator==(const FaxRecipient&, const FaxRecipient&) = default;
};

// A fax number has 3 to 20 digits: short internal extensions up to an international number with an
// outside-line prefix.
inline constexpr std::size_t kMinFaxDigits = 3;
inline constexpr std::size_t kMaxFaxDigits = 20;

// The number in a token: digits, a leading '+', and the separators people type between digits
// ( ) - . / and spaces. nullopt when anything else is in it or the digit count is out of range.
std::optional<std::string> NormaliseFaxNumber(std::string_view token);

// Subject "0301234, +49 40 555-1; 0891@sales": one recipient per comma or semicolon separated token,
// "number@entity" picks the sending fax entity. Empty tokens (", ,") are skipped. Any other token fails the
// whole subject, so a typo never faxes to some of the numbers only:
// kInvalidArgument "subject: 'abc' is not a fax number"; an empty subject gives "subject: no fax number".
base::Result<std::vector<FaxRecipient>> RecipientsFromSubject(std::string_view subject);

// "0301234@fax.example.com" (optionally in <...>) -> {"0301234", ""} when the domain equals fax_domain
// (case-insensitive). The local part is the number: digits with an optional leading '+' and '-' or '.'
// between digits, the separators an address can carry unquoted. Anything else (other domain, subdomain,
// letters): nullopt, so the SMTP listener can refuse the recipient.
std::optional<FaxRecipient> RecipientFromAddress(std::string_view address, std::string_view fax_domain);

// The PIN of a line "PIN: 1234" (also "pin:1234", leading blanks allowed, 4-12 digits, nothing but blanks
// after it). The first such line wins.
std::optional<std::string> FindPin(std::string_view text_body);

}  // namespace faxd::mail
