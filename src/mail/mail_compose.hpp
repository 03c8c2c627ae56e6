// Mail composer of the e-mail gateway (issue 7): receipts, received faxes, refusal replies and admin alerts
// become RFC 5322 messages (GMime 3) that the outbox (mail_outbox.hpp) hands to the relay.
//
// Decisions:
// - Structure, outermost first, each layer only when needed: multipart/mixed (body + attachments),
//   multipart/alternative (text + HTML), multipart/related (HTML + the images it shows through cid:, so
//   RFC 2387 binds them to the HTML, not to the text alternative). Without an HTML body, attachments with a
//   content_id are ordinary attachments (they keep their Content-ID). Only HTML: no alternative.
// - Text parts: UTF-8 (us-ascii when plain ASCII), quoted-printable, line ends of the input normalised.
//   Attachments: always base64, whatever their type, so every byte arrives as given (NULs, bare CR or LF in
//   a text file); inline ones get Content-Disposition inline, the others attachment.
// - Non-ASCII in the subject and display names is RFC 2047-encoded, file names RFC 2231 (filename* in
//   Content-Disposition and name* in Content-Type), both by GMime. A path in a file name is cut to its last
//   component.
// - Auto-Submitted (RFC 3834) is always set, so vacation responders and our own SMTP intake never answer a
//   machine's mail; X-Auto-Response-Suppress: All does the same for Exchange and Outlook.
// - The message is written with CRLF line ends throughout (what SMTP DATA carries; the outbox sends it as
//   it is). Date is in UTC (+0000). Message-ID is <32 random hex digits@domain>; callers that need to know
//   it (to thread a later mail with In-Reply-To) choose it with NewMessageId and pass it in.
// - What a caller can get wrong is kInvalidArgument, never a silently odd mail: no From or To, CR or LF in
//   an address, a header name outside RFC 5322 ftext, CR/LF in a header value, an extra header that would
//   replace one the composer writes, an Auto-Submitted value not starting with "auto-". CR and LF in the
//   subject and display names become spaces (a subject is often built from user input).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace faxd::mail {

struct OutgoingAttachment {
    std::string file_name;     // UTF-8; empty: "attachment"
    std::string content_type;  // "type/subtype"; empty or unparsable: application/octet-stream
    std::string data;          // bytes, sent base64
    std::string content_id;    // non-empty: an inline part the HTML shows as <img src="cid:...">; no <>
};

struct OutgoingMail {
    std::string from;  // addr-spec, e.g. "faxd@example.com"
    std::string from_name;
    std::vector<std::string> to;  // addr-specs
    std::string subject;          // UTF-8
    std::string text_body;        // UTF-8
    std::string html_body;        // UTF-8, optional
    std::vector<OutgoingAttachment> attachments;
    std::string in_reply_to;  // a Message-ID, with or without <>
    std::string references;   // Message-IDs separated by blanks, each with or without <>
    // RFC 3834: "auto-generated" (receipts, received faxes, alerts), "auto-replied" (refusals).
    std::string auto_submitted = "auto-generated";
    std::vector<std::pair<std::string, std::string>> extra_headers;  // appended in this order
    std::string message_id;  // without <>; empty: a new NewMessageId(message_id_domain)
};

// "<32 random hex digits>@<domain>", without angle brackets.
std::string NewMessageId(std::string_view domain);

// The RFC 5322 message, CRLF line ends, with Date, Message-ID, MIME-Version. Thread-safe.
base::Result<std::string> ComposeMail(const OutgoingMail& mail, std::chrono::system_clock::time_point date,
                                      std::string_view message_id_domain);

}  // namespace faxd::mail
