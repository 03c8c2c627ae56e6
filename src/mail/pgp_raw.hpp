// Byte-level helpers of the PGP checks (pgp_keyring.cpp), apart from GPGME: MIME entities cut from the raw
// message as sent, never re-serialised (a signature covers exact bytes), and just enough OpenPGP packet
// reading (RFC 4880 4.2) to tell a detached signature and the start of an encrypted message. Every input
// gets an answer; none is trusted (the PGP tests feed them garbage).
//
// GMime only parses Content-Type parameters (quoting, comments, RFC 2231) and undoes transfer encodings;
// where the parts begin and end is decided here, on the raw bytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace faxd::mail::pgp_raw {

std::string Lower(std::string_view text);  // ASCII only
std::string_view TrimBlanks(std::string_view text);
bool StartsWithNoCase(std::string_view text, std::string_view prefix);

struct RawEntity {
    std::string_view headers;  // with the line end of the last field, without the empty line
    std::string_view body;
};

// The header block ends at the first empty line (LF or CRLF); without one the entity is all header.
RawEntity SplitEntity(std::string_view entity);

// The first field `name` (case-insensitive), unfolded, without the colon; nullopt when absent.
std::optional<std::string> HeaderValue(std::string_view headers, std::string_view name);

// The fields except the Content-* ones, each ending in CRLF.
std::string WithoutContentFields(std::string_view headers);

struct MediaType {
    std::string type = "text";  // RFC 2045 5.2: no Content-Type is text/plain
    std::string subtype = "plain";
    std::string boundary;
    std::string protocol;  // lower case
    std::string charset;
};
MediaType EntityMediaType(const RawEntity& entity);

// The body parts of a multipart body (RFC 2046 5.1.1): a delimiter line is "--boundary", optionally "--"
// more to close, then blanks; the line end before a delimiter belongs to the delimiter. Without a closing
// delimiter the last part runs to the end. kLimitExceeded beyond max_parts.
base::Result<std::vector<std::string_view>> SplitMultipart(std::string_view body, std::string_view boundary,
                                                           std::size_t max_parts);

// RFC 3156 5: the canonical form of the signed part, every line ending in CRLF.
std::string ToCrlf(std::string_view text);

// The body with its Content-Transfer-Encoding (base64, quoted-printable) undone.
std::string DecodeBody(const RawEntity& entity);

// The first ASCII-armored block labelled `label` ("SIGNATURE") -> its binary packets. The CRC is not
// checked: the packets go to gpg, and damaged ones simply do not verify. nullopt without an END line.
std::optional<std::string> Dearmor(std::string_view text, std::string_view label);

// Complete signature packets (tag 2) and nothing else: a detached signature, nothing gpg could read as
// signed data.
bool OnlySignaturePackets(std::string_view bytes);

// The first packet starts an encrypted message: a session key for a public key (tag 1) or a passphrase
// (tag 3), or the marker packet (tag 10) some encoders put first, with a fitting version byte.
bool StartsEncryptedMessage(std::string_view bytes);

// The inline clear-signed block of a message: in the first text/plain body part that has one (not an
// attachment, not inside a forwarded message, multipart/signed or multipart/encrypted), transfer encoding
// undone, charset untouched.
struct ClearSigned {
    std::string block;  // from "-----BEGIN PGP SIGNED MESSAGE-----" to "-----END PGP SIGNATURE-----"
    std::string charset;
    bool complete = false;  // false: a BEGIN line without the signature's END line
};
struct ClearSignedSearch {
    std::optional<ClearSigned> found;
    bool nested_signed = false;  // a multipart/signed below the top level was passed over
};
base::Result<ClearSignedSearch> FindClearSigned(std::string_view message);

}  // namespace faxd::mail::pgp_raw
