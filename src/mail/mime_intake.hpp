// MIME intake of the e-mail gateway (issue 7): one received message in, everything the gateway decides on
// out - who sent it, where it should go, the text and the documents to fax, and whether it was sent by a
// machine (auto-reply, bounce, mailing list) and so must never be answered.
//
// Parsing is tolerant (GMime in loose mode): a missing closing boundary, garbage in base64 or an unknown
// charset still give a result, with a line in `warnings` saying what was guessed. Only input that is no
// message at all (kMalformed) or that exceeds MailLimits (kLimitExceeded) fails.
//
// What becomes what:
// - Body: text/plain and text/html parts that are not attachments (no filename, disposition not
//   "attachment"), at any depth of multipart/mixed, alternative or related, outside forwarded messages.
//   Several such parts (Apple Mail splits the body around inline pictures) are joined by blank lines.
//   text_body is the plain text, or the HTML converted to text when there is no plain text with content.
// - Attachments: every other leaf part, in message order, decoded (base64, quoted-printable, uuencode).
//   Signature parts (application/pgp-signature, application/pkcs7-signature) are not attachments: they are
//   nothing to fax. Checking them needs the raw message anyway.
// - Forwarded messages (message/rfc822): their attachments count, in place, like the outer ones; their
//   text becomes an attachment "forwarded-<n>.txt" (text/plain, UTF-8) starting with its From, Date and
//   Subject, so the gateway can fax it like any text document.
// - winmail.dat (application/ms-tnef): replaced by the files inside it; kept as it is, with a warning, when
//   it holds none or cannot be read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace faxd::mail {

struct MailLimits {
    std::size_t max_bytes = 32 * 1024 * 1024;          // the raw message
    std::size_t max_parts = 200;                       // every MIME entity, containers included
    std::size_t max_depth = 20;                        // nesting of multiparts and forwarded messages
    std::size_t max_attachments = 50;                  // after winmail.dat is unpacked
    std::size_t max_decoded_bytes = 64 * 1024 * 1024;  // all decoded parts together
    // Images up to this size are logos, spacers or tracking pixels, never a document to fax.
    std::size_t tiny_image_bytes = 2048;
};

struct MailAttachment {
    std::string file_name;     // from Content-Disposition filename (RFC 2231 too), else Content-Type name,
                               // else "attachment-<n>.<ext>" from the type; never contains a path
    std::string content_type;  // "type/subtype", lower case; TNEF files: their MIME tag or the name's type
    std::string charset;       // declared charset of text parts, else empty; data is not converted
    std::string content_id;    // without angle brackets; empty when absent
    std::string data;          // decoded bytes
    // Not a document: an image the HTML shows through cid:, an image inside multipart/related, or a tiny
    // image. The gateway skips these.
    bool inline_image = false;
};

struct ParsedMail {
    std::string from_address;     // addr-spec of the first From mailbox, e.g. "anna@example.com"
    std::string from_name;        // display name, decoded (RFC 2047), may be empty
    std::string reply_to;         // first Reply-To address, empty when absent
    std::vector<std::string> to;  // addr-specs of To
    std::vector<std::string> cc;  // addr-specs of Cc
    std::string subject;          // decoded (RFC 2047) to UTF-8
    std::string message_id;       // without angle brackets
    std::string text_body;        // UTF-8; see above
    std::string html_body;        // UTF-8, as sent; empty when the mail had no HTML body
    std::vector<MailAttachment> attachments;
    bool automatic = false;        // sent by a machine: never reply to it (RFC 3834, RFC 2369, RFC 3464)
    std::string automatic_reason;  // the first sign found, e.g. "Auto-Submitted: auto-replied"
    // What parsing had to guess, one line each: "part 3: unknown charset x-foo, read as Latin-1".
    std::vector<std::string> warnings;
};

// All strings are valid UTF-8 except attachment data. Thread-safe: each call has its own parser.
base::Result<ParsedMail> ParseMail(std::string_view raw, const MailLimits& limits = {});

}  // namespace faxd::mail
