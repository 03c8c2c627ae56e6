// The length of a T.38 IFP packet as its ASN.1 PER encoding says, independent of the buffer around it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace faxd::t38 {

// Parses the IFPPacket (T.38 §A: SEQUENCE { type-of-msg, data-field OPTIONAL }) at the start of `ifp` and
// returns how many octets it occupies, or 0 if it does not parse (unknown type, truncated, bad version).
//
// Why: an IFP rebuilt from FEC parity is zero-padded to the longest IFP of its parity group, and spandsp's
// t38_core_rx_ifp_packet rejects an IFP whose encoded length does not match the buffer length. Trimming a
// rebuilt IFP to this length hands spandsp exactly what the far end sent.
//
// `t38_version` follows spandsp's rule: version 0 uses the original T.38 (1998) ASN.1, whose field-type
// enumeration has no extension marker, so a field without data takes half an octet and two such fields share
// one; versions 1-3 use the corrected ASN.1, where the field-type enumeration is extensible (cm-message,
// jm-message, ci-message, v34rate) and every field starts on an octet boundary.
std::size_t IfpEncodedLength(std::span<const std::uint8_t> ifp, int t38_version);

}  // namespace faxd::t38
