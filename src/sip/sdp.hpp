// SDP (RFC 4566) session descriptions as faxd uses them in SIP offer/answer (RFC 3264): a bounded, tolerant
// parser, a writer, and the T.38 session attributes of ITU-T T.38 Annex D / RFC 3362 with the answer rules.
//
// What peers send is parsed leniently where it does not matter and strictly where it does: unknown line types
// are ignored and unknown attributes kept (RFC 4566 §5), a T.38 attribute with an out-of-range value is
// ignored rather than failing the call, but v=, o=, c= and m= lines must be well formed because we route
// media by them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace faxd::sip {

// Bounds on what ParseSdp accepts (kLimitExceeded beyond them). SIP bodies are 200 bytes to a few KiB.
inline constexpr std::size_t kMaxSdpBytes = 64 * 1024;
inline constexpr std::size_t kMaxSdpLineBytes = 2048;
inline constexpr std::size_t kMaxSdpMedia = 16;
// Per level (session, or one media): a=rtpmap lines plus the attributes kept in other_attributes. The
// attributes folded into single fields (direction, ptime, T.38) do not count: repeating them stores nothing
// new, and the 64 KiB input bound already limits the work they cost.
inline constexpr std::size_t kMaxSdpAttributes = 128;

// a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>] (RFC 4566 §6).
struct RtpMap {
    int payload_type = 0;   // 0-127
    std::string encoding;   // as sent, e.g. "PCMU", "telephone-event"
    int clock_rate = 8000;  // Hz
    int channels = 1;       // 1 when the line has no channels part
    friend bool operator==(const RtpMap&, const RtpMap&) = default;
};

enum class T38RateManagement { kTransferredTcf, kLocalTcf };
enum class T38ErrorCorrection { kNone, kRedundancy, kFec };

// The T.38 session attributes of one m=image udptl t38 stream (T.38 Annex D.2.3, RFC 3362). The defaults are
// what faxd offers; a parsed SDP starts from them too, except that error_correction is kNone when the peer
// sent no T38FaxUdpEC.
struct T38Params {
    int version = 0;           // T38FaxVersion, 0-3 (higher is read as 3, the newest we know)
    int max_bit_rate = 14400;  // T38MaxBitRate (alias T38FaxMaxRate), 2400-33600 bit/s
    T38RateManagement rate_management = T38RateManagement::kTransferredTcf;  // T38FaxRateManagement
    // T38FaxMaxBuffer, 1-65535 bytes.
    std::optional<int> max_buffer;
    // T38FaxMaxDatagram (alias T38MaxDatagram), 1-65535 bytes; a peer's: see EffectiveFarMaxDatagram.
    std::optional<int> max_datagram;
    T38ErrorCorrection error_correction = T38ErrorCorrection::kRedundancy;  // T38FaxUdpEC
    // T38FaxFillBitRemoval, T38FaxTranscodingMMR, T38FaxTranscodingJBIG.
    bool fill_bit_removal = false;
    bool transcoding_mmr = false;
    bool transcoding_jbig = false;
    std::string vendor_info;  // T38VendorInfo, informational only
    friend bool operator==(const T38Params&, const T38Params&) = default;
};

enum class MediaDirection { kSendRecv, kSendOnly, kRecvOnly, kInactive };

// One m= section with what faxd needs of it.
struct MediaDescription {
    std::string media;       // "audio", "image", ... as sent
    std::uint16_t port = 0;  // 0: the stream is rejected or disabled (RFC 3264 §6), and kept as such
    std::string protocol;    // "RTP/AVP", "udptl", ... as sent
    // RTP profiles: payload type numbers in canonical decimal ("0", "8", "101"); others: tokens as sent.
    std::vector<std::string> formats;
    std::string connection_address;  // this media's c= address; empty: the session's applies (MediaAddress)
    std::vector<RtpMap> rtp_maps;    // in order of appearance
    // RFC 4566 §6: a session-level direction applies to every media that does not give its own.
    MediaDirection direction = MediaDirection::kSendRecv;
    std::optional<int> ptime;      // a=ptime, 1-1000 ms
    std::optional<T38Params> t38;  // set for media "image", protocol "udptl" (any case), format "t38"
    // Every other a= line of this section, in order: name, value ("" for a property attribute). On T.38 media
    // this includes T.38 attributes faxd does not interpret (T38FaxUdpECDepth, T38ModemType, ...).
    std::vector<std::pair<std::string, std::string>> other_attributes;
    friend bool operator==(const MediaDescription&, const MediaDescription&) = default;
};

struct SessionDescription {
    // o=<user> <session id> <session version> IN IP4|IP6 <address> (RFC 4566 §5.2). A re-offer of the same
    // session keeps the id and increments the version (RFC 3264 §8).
    std::string origin_user = "-";
    std::uint64_t session_id = 0;
    std::uint64_t session_version = 0;
    std::string origin_address;
    std::string session_name = "-";  // s=; an empty or blank s= is read as "-"
    std::string connection_address;  // session-level c=, may be empty
    std::vector<std::pair<std::string, std::string>> other_attributes;  // session-level a= lines
    std::vector<MediaDescription> media;
    friend bool operator==(const SessionDescription&, const SessionDescription&) = default;
};

// Parses an SDP body. Accepts LF or CRLF line ends and ignores blank lines, unknown line types (i=, b=, t=,
// ...) and a= lines it does not interpret beyond keeping them. Errors: kLimitExceeded past the bounds above;
// kMalformed, naming the line, for a missing v=0 first line, a missing or malformed o=, a line without
// "<type>=", a bad c= or m= line, a non-numeric RTP payload type, or a NUL or stray CR in a line.
base::Result<SessionDescription> ParseSdp(std::string_view text);

// Writes v= o= s= c= t=0 0 a=... then each m= section (m= c= a=...) in RFC 4566 §5 order, CRLF line ends.
// T.38 attributes are written in the RFC 3362 form: booleans as the bare name when true, T38FaxUdpEC only
// when not kNone. Direction is written only when not sendrecv. Strings must be what ParseSdp could have
// produced (no spaces in tokens, no line breaks): ParseSdp(FormatSdp(x)) == x for every x ParseSdp returns.
std::string FormatSdp(const SessionDescription& sdp);

// The address a media stream's packets go to: its own c= if it has one, otherwise the session's; empty if
// neither was given.
std::string MediaAddress(const SessionDescription& sdp, const MediaDescription& media);

// The rtpmap of a payload type: the media's a=rtpmap, or for a static payload type sent without one (allowed
// by RFC 3551 §6, and common for 0 and 8) the RFC 3551 table entry. nullopt if neither.
std::optional<RtpMap> FindRtpMap(const MediaDescription& media, int payload_type);

// Our answer to a peer's T.38 offer (T.38 Annex D.2.3, RFC 3362):
// - version and max bit rate: the lower of the offer's and ours;
// - rate management: the offer's (terminals use transferredTCF; localTCF is a gateway's request, and we echo
//   it rather than refuse, since spandsp terminals behave as transferred either way);
// - error correction: FEC if offered and allow_fec; else redundancy if redundancy, or FEC we do not
//   allow, was offered and ours.error_correction is not kNone; else none;
// - fill bit removal, MMR and JBIG transcoding: false, because faxd does none of them;
// - max buffer, max datagram and vendor info: ours, since they describe our receiver.
T38Params AnswerT38(const T38Params& offer, const T38Params& ours, bool allow_fec);

// The largest UDPTL datagram we may send to a peer described by `peer`:
// - T38FaxMaxDatagram absent or above 1400 (more than fits an Ethernet MTU): 400, Asterisk's rule, which has
//   held up against the peers that omit it or send nonsense;
// - below `floor`: the floor. Some peers advertise tiny values (72 has been seen) yet accept a primary IFP
//   plus redundancy; honouring them literally leaves no room for redundancy, nor for a whole ECM frame. The
//   default 160 holds a paced 14400 bit/s IFP (about 54 bytes) with one redundant copy;
// - otherwise the peer's value.
// The floor applies to the 400 as well, so a floor above 400 is a per-peer override of what the peer says.
std::size_t EffectiveFarMaxDatagram(const T38Params& peer, std::size_t floor = 160);

}  // namespace faxd::sip
