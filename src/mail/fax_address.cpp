#include "mail/fax_address.hpp"

#include <cctype>

#include "mail/mime_text.hpp"

namespace faxd::mail {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view text) {
    while (!text.empty() && IsBlank(text.front())) text.remove_prefix(1);
    while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
    return text;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// Digits with an optional leading '+' and any of `separators` between them.
std::optional<std::string> NumberWithSeparators(std::string_view token, std::string_view separators) {
    token = Trim(token);
    std::string number;
    std::size_t digits = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        if (IsDigit(c)) {
            number.push_back(c);
            ++digits;
        } else if (c == '+' && number.empty() && digits == 0) {
            number.push_back('+');
        } else if (separators.find(c) == std::string_view::npos) {
            return std::nullopt;
        }
    }
    if (digits < kMinFaxDigits || digits > kMaxFaxDigits) return std::nullopt;
    return number;
}

// Keeps a token readable in an error message whatever the subject held.
std::string Quote(std::string_view token) {
    constexpr std::size_t kMaxShown = 40;
    std::string shown = Utf8Prefix(token, kMaxShown);
    if (token.size() > kMaxShown) shown += "...";
    return "'" + shown + "'";
}

}  // namespace

std::optional<std::string> NormaliseFaxNumber(std::string_view token) {
    return NumberWithSeparators(token, "()-./ \t");
}

base::Result<std::vector<FaxRecipient>> RecipientsFromSubject(std::string_view subject) {
    std::vector<FaxRecipient> recipients;
    std::size_t start = 0;
    while (start <= subject.size()) {
        const std::size_t end = std::min(subject.find_first_of(",;", start), subject.size());
        const std::string_view token = Trim(subject.substr(start, end - start));
        start = end + 1;
        if (token.empty()) continue;

        std::string_view number_part = token;
        std::string_view entity;
        if (const std::size_t at = token.find('@'); at != std::string_view::npos) {
            number_part = token.substr(0, at);
            entity = Trim(token.substr(at + 1));
            if (entity.empty() || entity.find('@') != std::string_view::npos) {
                return base::MakeError(base::ErrorCode::kInvalidArgument,
                                       "subject: " + Quote(token) + " names no valid fax entity after '@'");
            }
        }
        auto number = NormaliseFaxNumber(number_part);
        if (!number) {
            return base::MakeError(base::ErrorCode::kInvalidArgument,
                                   "subject: " + Quote(Trim(number_part)) + " is not a fax number");
        }
        recipients.push_back(FaxRecipient{std::move(*number), std::string(entity)});
    }
    if (recipients.empty())
        return base::MakeError(base::ErrorCode::kInvalidArgument, "subject: no fax number");
    return recipients;
}

std::optional<FaxRecipient> RecipientFromAddress(std::string_view address, std::string_view fax_domain) {
    address = Trim(address);
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
        address = Trim(address.substr(1, address.size() - 2));
    }
    const std::size_t at = address.rfind('@');
    if (at == std::string_view::npos || fax_domain.empty()) return std::nullopt;
    if (!EqualsIgnoreCase(address.substr(at + 1), Trim(fax_domain))) return std::nullopt;
    const std::string_view local = address.substr(0, at);
    // Separators may only stand between digits here: "-030" or "030." are not numbers anyone typed.
    if (local.empty() || !(IsDigit(local.front()) || local.front() == '+') || !IsDigit(local.back())) {
        return std::nullopt;
    }
    auto number = NumberWithSeparators(local, "-.");
    if (!number) return std::nullopt;
    return FaxRecipient{std::move(*number), ""};
}

std::optional<std::string> FindPin(std::string_view text_body) {
    std::size_t start = 0;
    while (start < text_body.size()) {
        std::size_t end = text_body.find('\n', start);
        if (end == std::string_view::npos) end = text_body.size();
        std::string_view line = Trim(text_body.substr(start, end - start));
        start = end + 1;
        if (line.size() < 4 || !EqualsIgnoreCase(line.substr(0, 3), "pin")) continue;
        line = Trim(line.substr(3));
        if (line.empty() || line.front() != ':') continue;
        line = Trim(line.substr(1));
        if (line.size() < 4 || line.size() > 12) continue;
        bool all_digits = true;
        for (const char c : line) all_digits = all_digits && IsDigit(c);
        if (all_digits) return std::string(line);
    }
    return std::nullopt;
}

}  // namespace faxd::mail
