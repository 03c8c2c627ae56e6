// DKIM/SPF alignment of the From domain, read from Authentication-Results (RFC 8601) headers that the
// company's own mail server wrote (issue 7: "optionally require DKIM or SPF alignment of the From domain").
//
// Decision: faxd does not verify DKIM signatures or SPF records itself. It sits behind the company's mail
// server, which already does (and which alone sees the connecting client's address for SPF); faxd believes
// only headers whose authserv-id equals the configured one, so a sender cannot forge a pass by writing such
// a header into the mail. Alignment is relaxed (DMARC, RFC 7489 §3.1): the authenticated domain and the From
// domain share their organisational domain, approximated by the last two labels (three when the second-last
// is a short public suffix label such as "co" in "example.co.uk").
#pragma once

#include <string>
#include <string_view>

namespace faxd::mail {

struct AlignmentVerdict {
    bool aligned = false;
    std::string detail;  // "dkim=pass header.d=example.com" or why nothing counted
};

AlignmentVerdict CheckDkimSpfAlignment(std::string_view raw_message, std::string_view trusted_authserv_id,
                                       std::string_view from_address);

// "mail.sales.example.co.uk" -> "example.co.uk"; lower case.
std::string OrganisationalDomain(std::string_view domain);

}  // namespace faxd::mail
