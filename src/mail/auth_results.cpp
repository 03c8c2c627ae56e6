#include "mail/auth_results.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace faxd::mail {
namespace {

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string Trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

// The unfolded values of every Authentication-Results header in the header block.
std::vector<std::string> AuthResultsHeaders(std::string_view raw) {
    std::vector<std::string> found;
    std::string current;
    bool in_header = false;
    std::size_t at = 0;
    while (at < raw.size()) {
        std::size_t end = raw.find('\n', at);
        if (end == std::string_view::npos) end = raw.size();
        std::string_view line = raw.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        at = end + 1;
        if (line.empty()) break;  // end of the header block
        if (line.front() == ' ' || line.front() == '\t') {
            if (in_header) current += " " + Trim(line);
            continue;
        }
        if (in_header) found.push_back(current);
        in_header = false;
        const auto colon = line.find(':');
        if (colon != std::string_view::npos &&
            Lower(Trim(line.substr(0, colon))) == "authentication-results") {
            in_header = true;
            current = Trim(line.substr(colon + 1));
        }
    }
    if (in_header) found.push_back(current);
    return found;
}

// Removes RFC 5322 comments "(...)" so "dkim=pass (good signature) header.d=x" reads plainly.
std::string WithoutComments(std::string_view text) {
    std::string out;
    int depth = 0;
    for (char c : text) {
        if (c == '(')
            ++depth;
        else if (c == ')' && depth > 0)
            --depth;
        else if (depth == 0)
            out += c;
    }
    return out;
}

std::string DomainOf(std::string_view address) {
    const auto at = address.rfind('@');
    std::string domain = Lower(at == std::string_view::npos ? address : address.substr(at + 1));
    while (!domain.empty() && (domain.back() == '>' || domain.back() == '.')) domain.pop_back();
    return domain;
}

}  // namespace

std::string OrganisationalDomain(std::string_view domain) {
    std::vector<std::string> labels;
    std::string label;
    for (char c : Lower(domain)) {
        if (c == '.') {
            if (!label.empty()) labels.push_back(label);
            label.clear();
        } else {
            label += c;
        }
    }
    if (!label.empty()) labels.push_back(label);
    if (labels.size() <= 2) {
        std::string all;
        for (const auto& l : labels) all += (all.empty() ? "" : ".") + l;
        return all;
    }
    const std::string& second = labels[labels.size() - 2];
    const bool short_suffix = second.size() <= 3 && (second == "co" || second == "com" || second == "org" ||
                                                     second == "net" || second == "ac" || second == "gov" ||
                                                     second == "edu" || second == "ne" || second == "or");
    const std::size_t keep = short_suffix ? 3 : 2;
    std::string out;
    for (std::size_t i = labels.size() - keep; i < labels.size(); ++i)
        out += (out.empty() ? "" : ".") + labels[i];
    return out;
}

AlignmentVerdict CheckDkimSpfAlignment(std::string_view raw_message, std::string_view trusted_authserv_id,
                                       std::string_view from_address) {
    const std::string from_org = OrganisationalDomain(DomainOf(from_address));
    if (from_org.empty()) return {false, "the From address has no domain"};
    const std::string trusted = Lower(trusted_authserv_id);
    bool any_trusted = false;
    std::string seen;
    for (const std::string& header : AuthResultsHeaders(raw_message)) {
        const std::string value = WithoutComments(header);
        // authserv-id [version] ; method=result prop=value ... ; ...
        std::vector<std::string> parts;
        std::size_t start = 0;
        for (std::size_t i = 0; i <= value.size(); ++i) {
            if (i == value.size() || value[i] == ';') {
                parts.push_back(Trim(std::string_view(value).substr(start, i - start)));
                start = i + 1;
            }
        }
        if (parts.empty()) continue;
        std::string id = parts[0];
        if (const auto space = id.find_first_of(" \t"); space != std::string::npos) id = id.substr(0, space);
        if (Lower(id) != trusted) continue;
        any_trusted = true;
        for (std::size_t i = 1; i < parts.size(); ++i) {
            std::vector<std::string> words;
            std::string word;
            for (char c : parts[i] + " ") {
                if (c == ' ' || c == '\t') {
                    if (!word.empty()) words.push_back(Lower(word));
                    word.clear();
                } else {
                    word += c;
                }
            }
            if (words.empty()) continue;
            const bool dkim = words[0] == "dkim=pass";
            const bool spf = words[0] == "spf=pass";
            if (!dkim && !spf) {
                if (seen.empty()) seen = words[0];
                continue;
            }
            const std::string property = dkim ? "header.d=" : "smtp.mailfrom=";
            for (const std::string& w : words) {
                if (!w.starts_with(property)) continue;
                const std::string domain = DomainOf(w.substr(property.size()));
                if (OrganisationalDomain(domain) == from_org) {
                    return {true, words[0] + " " + property + domain};
                }
                seen = words[0] + " for " + domain + ", not aligned with " + from_org;
            }
        }
    }
    if (!any_trusted) {
        return {false, "no Authentication-Results from " + std::string(trusted_authserv_id)};
    }
    return {false, seen.empty() ? "no dkim=pass or spf=pass" : seen};
}

}  // namespace faxd::mail
