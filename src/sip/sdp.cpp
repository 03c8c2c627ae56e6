// SDP parser and writer (RFC 4566), T.38 attributes (T.38 Annex D, RFC 3362) and the T.38 answer rules.
#include "sip/sdp.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace faxd::sip {

using base::ErrorCode;
using base::MakeError;

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kBlanks = " \t";

std::string_view Trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(kBlanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

// RFC 4566 §5 separates fields by one space; peers sometimes send more, or tabs.
std::vector<std::string_view> SplitTokens(std::string_view text) {
    std::vector<std::string_view> tokens;
    std::size_t pos = 0;
    while ((pos = text.find_first_not_of(kBlanks, pos)) != std::string_view::npos) {
        const std::size_t end = std::min(text.find_first_of(kBlanks, pos), text.size());
        tokens.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return tokens;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool IsDecimal(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Plain decimal digits (no sign, no spaces); nullopt if not, or if the value does not fit 64 bits.
std::optional<std::uint64_t> ParseDecimal(std::string_view text) {
    if (!IsDecimal(text)) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

tl::unexpected<base::Error> LineError(int line_no, std::string_view what) {
    return MakeError(ErrorCode::kMalformed, "SDP line " + std::to_string(line_no) + ": " + std::string(what));
}

tl::unexpected<base::Error> LimitError(int line_no, std::string_view what) {
    return MakeError(ErrorCode::kLimitExceeded,
                     "SDP line " + std::to_string(line_no) + ": " + std::string(what));
}

// Peer text quoted into an error message: cut short and with control bytes replaced, because error messages
// end up in logs and user-visible reports.
std::string Quoted(std::string_view text) {
    constexpr std::size_t kMaxQuoted = 60;
    std::string quoted = "\"";
    for (const char c : text.substr(0, kMaxQuoted)) {
        quoted += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
    }
    quoted += text.size() > kMaxQuoted ? "...\"" : "\"";
    return quoted;
}

// RFC 4566 §5.7: c=<nettype> <addrtype> <connection-address>. Only "IN" is defined, and we need IP addresses
// to send media; the address may also be a host name or carry a multicast /ttl, kept as sent.
base::Result<std::string> ParseConnection(int line_no, std::string_view value) {
    const auto tokens = SplitTokens(value);
    if (tokens.size() != 3 || !EqualsIgnoreCase(tokens[0], "IN") ||
        !(EqualsIgnoreCase(tokens[1], "IP4") || EqualsIgnoreCase(tokens[1], "IP6"))) {
        return LineError(line_no, "bad c= line " + Quoted(value) + ", expected \"IN IP4|IP6 <address>\"");
    }
    return std::string(tokens[2]);
}

// RFC 4566 §5.2: o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>.
base::Result<void> ParseOrigin(int line_no, std::string_view value, SessionDescription& sdp) {
    const auto tokens = SplitTokens(value);
    if (tokens.size() != 6) return LineError(line_no, "bad o= line " + Quoted(value) + ", expected 6 fields");
    const auto id = ParseDecimal(tokens[1]);
    const auto version = ParseDecimal(tokens[2]);
    if (!id || !version) {
        return LineError(line_no,
                         "bad o= line " + Quoted(value) + ": session id and version must be numbers");
    }
    if (!EqualsIgnoreCase(tokens[3], "IN") ||
        !(EqualsIgnoreCase(tokens[4], "IP4") || EqualsIgnoreCase(tokens[4], "IP6"))) {
        return LineError(line_no, "bad o= line " + Quoted(value) + ", expected \"IN IP4|IP6 <address>\"");
    }
    sdp.origin_user = std::string(tokens[0]);
    sdp.session_id = *id;
    sdp.session_version = *version;
    sdp.origin_address = std::string(tokens[5]);
    return {};
}

// ---- T.38 attributes (T.38 Annex D.2.3, RFC 3362 §2.1); names are case-insensitive, as peers vary.

// Booleans: RFC 3362 says the bare name means true. Cisco gateways and FreeSWITCH's "broken boolean" mode
// send ":1"/":0"; we honour an explicit ":0" as false (Asterisk reads any presence as true, which turns a
// peer's "no" into "yes"). Any other value is ignored, like other malformed T.38 values.
std::optional<bool> ParseT38Boolean(std::string_view value) {
    if (value.empty() || value == "1" || EqualsIgnoreCase(value, "true")) return true;
    if (value == "0" || EqualsIgnoreCase(value, "false")) return false;
    return std::nullopt;
}

std::optional<int> ParseInRange(std::string_view value, int low, int high) {
    const auto number = ParseDecimal(value);
    if (!number || *number < static_cast<std::uint64_t>(low) || *number > static_cast<std::uint64_t>(high)) {
        return std::nullopt;
    }
    return static_cast<int>(*number);
}

// Reads one T.38 attribute into `params`; false if `name` is not one we interpret. A value out of its sane
// range is ignored (the field keeps its value) rather than failing the SDP: a fax call that negotiates
// defaults has a chance, a rejected re-INVITE has none.
bool ApplyT38Attribute(std::string_view name, std::string_view value, T38Params& params) {
    constexpr int kNewestVersion = 3;  // the newest T38FaxVersion faxd knows of
    if (EqualsIgnoreCase(name, "T38FaxVersion")) {
        // A version newer than ours is read as ours: the answer is the minimum anyway (T.38 Annex D.2.3).
        if (IsDecimal(value)) {
            const auto version = ParseDecimal(value);
            params.version =
                version && *version < kNewestVersion ? static_cast<int>(*version) : kNewestVersion;
        }
    } else if (EqualsIgnoreCase(name, "T38MaxBitRate") || EqualsIgnoreCase(name, "T38FaxMaxRate")) {
        // V.27ter 2400 up to V.34 33600 (T.38 Annex D.2.3). T38FaxMaxRate is an old alias Asterisk accepts.
        if (const auto rate = ParseInRange(value, 2400, 33600)) params.max_bit_rate = *rate;
    } else if (EqualsIgnoreCase(name, "T38FaxRateManagement")) {
        if (EqualsIgnoreCase(value, "transferredTCF"))
            params.rate_management = T38RateManagement::kTransferredTcf;
        if (EqualsIgnoreCase(value, "localTCF")) params.rate_management = T38RateManagement::kLocalTcf;
    } else if (EqualsIgnoreCase(name, "T38FaxMaxBuffer")) {
        if (const auto bytes = ParseInRange(value, 1, 65535)) params.max_buffer = *bytes;
    } else if (EqualsIgnoreCase(name, "T38FaxMaxDatagram") || EqualsIgnoreCase(name, "T38MaxDatagram")) {
        // T38MaxDatagram: alias sent by some gateways and accepted by Asterisk.
        if (const auto bytes = ParseInRange(value, 1, 65535)) params.max_datagram = *bytes;
    } else if (EqualsIgnoreCase(name, "T38FaxUdpEC")) {
        if (EqualsIgnoreCase(value, "t38UDPRedundancy"))
            params.error_correction = T38ErrorCorrection::kRedundancy;
        if (EqualsIgnoreCase(value, "t38UDPFEC")) params.error_correction = T38ErrorCorrection::kFec;
        if (EqualsIgnoreCase(value, "t38UDPNoEC")) params.error_correction = T38ErrorCorrection::kNone;
    } else if (EqualsIgnoreCase(name, "T38FaxFillBitRemoval")) {
        if (const auto flag = ParseT38Boolean(value)) params.fill_bit_removal = *flag;
    } else if (EqualsIgnoreCase(name, "T38FaxTranscodingMMR")) {
        if (const auto flag = ParseT38Boolean(value)) params.transcoding_mmr = *flag;
    } else if (EqualsIgnoreCase(name, "T38FaxTranscodingJBIG")) {
        if (const auto flag = ParseT38Boolean(value)) params.transcoding_jbig = *flag;
    } else if (EqualsIgnoreCase(name, "T38VendorInfo")) {
        params.vendor_info = std::string(value);
    } else {
        return false;
    }
    return true;
}

// RTP/AVP, RTP/SAVP, RTP/AVPF, UDP/TLS/RTP/SAVPF, ...: formats are RTP payload types (RFC 4566 §5.14).
bool IsRtpProtocol(std::string_view protocol) {
    std::size_t start = 0;
    while (start <= protocol.size()) {
        const std::size_t slash = std::min(protocol.find('/', start), protocol.size());
        if (EqualsIgnoreCase(protocol.substr(start, slash - start), "RTP")) return true;
        start = slash + 1;
    }
    return false;
}

// RFC 4566 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ... The number of ports (layered
// encodings) means nothing for fax and is dropped. A line without formats (RFC 4566 requires one) is
// accepted: the stream is unusable, but keeping it keeps the m= line count an answer must mirror (RFC 3264
// §6).
base::Result<MediaDescription> ParseMediaLine(int line_no, std::string_view value) {
    const auto tokens = SplitTokens(value);
    if (tokens.size() < 3) {
        return LineError(line_no,
                         "bad m= line " + Quoted(value) + ", expected \"<media> <port> <proto> <fmt>...\"");
    }
    MediaDescription media;
    media.media = std::string(tokens[0]);
    const std::string_view port_field = tokens[1];
    const std::string_view port_text = port_field.substr(0, port_field.find('/'));
    const auto port = ParseDecimal(port_text);
    if (!port || *port > std::numeric_limits<std::uint16_t>::max()) {
        return LineError(line_no, "bad m= line: port " + Quoted(port_text) + " is not a number 0-65535");
    }
    if (port_text.size() < port_field.size()) {
        const auto count = ParseDecimal(port_field.substr(port_text.size() + 1));
        if (!count || *count == 0) {
            return LineError(line_no,
                             "bad m= line: port " + Quoted(port_field) + " has a bad number of ports");
        }
    }
    media.port = static_cast<std::uint16_t>(*port);
    media.protocol = std::string(tokens[2]);
    const bool rtp = IsRtpProtocol(media.protocol);
    for (std::size_t i = 3; i < tokens.size(); ++i) {
        if (!rtp) {
            media.formats.emplace_back(tokens[i]);
            continue;
        }
        const auto payload_type = ParseDecimal(tokens[i]);
        if (!payload_type || *payload_type > 127) {
            return LineError(line_no,
                             "bad m= line: RTP payload type " + Quoted(tokens[i]) + " is not a number 0-127");
        }
        media.formats.push_back(std::to_string(*payload_type));
    }
    // T.38 Annex D.2.3: "m=image <port> udptl t38". Case varies between vendors ("UDPTL").
    if (EqualsIgnoreCase(media.media, "image") && EqualsIgnoreCase(media.protocol, "udptl") &&
        std::any_of(media.formats.begin(), media.formats.end(),
                    [](const std::string& format) { return EqualsIgnoreCase(format, "t38"); })) {
        T38Params t38;
        t38.error_correction = T38ErrorCorrection::kNone;  // T38FaxUdpEC absent means no error correction
        media.t38 = t38;
    }
    return media;
}

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 4566 §6). nullopt if
// malformed: a broken rtpmap is ignored like an unknown attribute rather than failing the call.
std::optional<RtpMap> ParseRtpMap(std::string_view value) {
    const auto tokens = SplitTokens(value);
    if (tokens.size() != 2) return std::nullopt;
    const auto payload_type = ParseDecimal(tokens[0]);
    if (!payload_type || *payload_type > 127) return std::nullopt;
    RtpMap map;
    map.payload_type = static_cast<int>(*payload_type);
    std::string_view rest = tokens[1];
    const std::size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
    map.encoding = std::string(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
    const std::size_t slash2 = rest.find('/');
    const auto clock_rate = ParseDecimal(rest.substr(0, slash2));
    if (!clock_rate || *clock_rate == 0 || *clock_rate > 1'000'000) return std::nullopt;
    map.clock_rate = static_cast<int>(*clock_rate);
    if (slash2 != std::string_view::npos) {
        const auto channels = ParseDecimal(rest.substr(slash2 + 1));
        if (!channels || *channels == 0 || *channels > 255) return std::nullopt;
        map.channels = static_cast<int>(*channels);
    }
    return map;
}

std::optional<MediaDirection> ParseDirection(std::string_view name) {
    if (EqualsIgnoreCase(name, "sendrecv")) return MediaDirection::kSendRecv;
    if (EqualsIgnoreCase(name, "sendonly")) return MediaDirection::kSendOnly;
    if (EqualsIgnoreCase(name, "recvonly")) return MediaDirection::kRecvOnly;
    if (EqualsIgnoreCase(name, "inactive")) return MediaDirection::kInactive;
    return std::nullopt;
}

std::string_view DirectionName(MediaDirection direction) {
    switch (direction) {
        case MediaDirection::kSendRecv:
            return "sendrecv";
        case MediaDirection::kSendOnly:
            return "sendonly";
        case MediaDirection::kRecvOnly:
            return "recvonly";
        case MediaDirection::kInactive:
            return "inactive";
    }
    return "sendrecv";
}

// Parse state of the level (session or one media section) that a= lines currently apply to.
struct Level {
    std::optional<MediaDirection> direction;
    std::size_t attributes = 0;  // counted against kMaxSdpAttributes
};

class Parser {
public:
    base::Result<SessionDescription> Run(std::string_view text);

private:
    base::Result<void> Line(int line_no, char type, std::string_view value);
    base::Result<void> Attribute(int line_no, std::string_view value);
    base::Result<void> CountAttribute(int line_no, Level& level);

    SessionDescription sdp_;
    bool seen_version_ = false;
    bool seen_origin_ = false;
    Level session_;
    std::vector<Level> media_levels_;
};

base::Result<SessionDescription> Parser::Run(std::string_view text) {
    if (text.size() > kMaxSdpBytes) {
        return MakeError(ErrorCode::kLimitExceeded, "SDP body of " + std::to_string(text.size()) +
                                                        " bytes is over the limit of " +
                                                        std::to_string(kMaxSdpBytes));
    }
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = std::min(text.find('\n', pos), text.size());
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        // RFC 4566 §5 says CRLF, but also that parsers should accept a bare LF.
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > kMaxSdpLineBytes) {
            return LimitError(line_no, "longer than " + std::to_string(kMaxSdpLineBytes) + " bytes");
        }
        if (Trim(line).empty()) continue;  // trailing blank lines are common
        if (line.find('\0') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
            return LineError(line_no, "NUL or stray CR in line");
        }
        if (line.size() < 2 || line[1] != '=') {
            return LineError(line_no, Quoted(line) + " is not a \"<type>=<value>\" line");
        }
        auto result = Line(line_no, line[0], line.substr(2));
        if (!result) return tl::unexpected(result.error());
    }
    if (!seen_version_) return MakeError(ErrorCode::kMalformed, "empty SDP: no v=0 line");
    if (!seen_origin_) return MakeError(ErrorCode::kMalformed, "SDP has no o= line");
    // RFC 4566 §6: a session-level direction attribute applies to media that do not have their own.
    for (std::size_t i = 0; i < sdp_.media.size(); ++i) {
        if (!media_levels_[i].direction && session_.direction) sdp_.media[i].direction = *session_.direction;
    }
    return std::move(sdp_);
}

base::Result<void> Parser::Line(int line_no, char type, std::string_view value) {
    if (!seen_version_) {
        // RFC 4566 §5.1: the description starts with v=0.
        if (type != 'v') return LineError(line_no, "SDP must start with a v=0 line");
        if (Trim(value) != "0") return LineError(line_no, "unsupported SDP version " + Quoted(value));
        seen_version_ = true;
        return {};
    }
    const bool in_media = !sdp_.media.empty();
    switch (type) {
        case 'o':
            if (in_media) return {};  // not a media-level line (RFC 4566 §5): ignored
            seen_origin_ = true;
            return ParseOrigin(line_no, value, sdp_);
        case 's':
            if (in_media) return {};
            // RFC 4566 §5.3 and RFC 3264 §5 recommend "s= " or "s=-" for no name; both read as "-".
            sdp_.session_name = std::string(Trim(value));
            if (sdp_.session_name.empty()) sdp_.session_name = "-";
            return {};
        case 'c': {
            auto address = ParseConnection(line_no, value);
            if (!address) return tl::unexpected(address.error());
            (in_media ? sdp_.media.back().connection_address : sdp_.connection_address) = std::move(*address);
            return {};
        }
        case 'm': {
            if (sdp_.media.size() == kMaxSdpMedia) {
                return LimitError(line_no, "more than " + std::to_string(kMaxSdpMedia) + " m= sections");
            }
            auto media = ParseMediaLine(line_no, value);
            if (!media) return tl::unexpected(media.error());
            sdp_.media.push_back(std::move(*media));
            media_levels_.emplace_back();
            return {};
        }
        case 'a':
            return Attribute(line_no, value);
        default:
            return {};  // t=, b=, i=, k=, ... and unknown types: RFC 4566 §5 says ignore
    }
}

base::Result<void> Parser::CountAttribute(int line_no, Level& level) {
    if (++level.attributes > kMaxSdpAttributes) {
        return LimitError(line_no,
                          "more than " + std::to_string(kMaxSdpAttributes) + " attributes in a section");
    }
    return {};
}

// RFC 4566 §5.13: a=<attribute> or a=<attribute>:<value>.
base::Result<void> Parser::Attribute(int line_no, std::string_view value) {
    const std::size_t colon = value.find(':');
    const std::string_view name = Trim(value.substr(0, colon));
    const std::string_view attribute_value =
        colon == std::string_view::npos ? std::string_view() : Trim(value.substr(colon + 1));
    if (name.empty()) return {};  // "a=" or "a=:x": nothing to keep

    const bool in_media = !sdp_.media.empty();
    Level& level = in_media ? media_levels_.back() : session_;
    if (const auto direction = ParseDirection(name)) {
        level.direction = *direction;
        if (in_media) sdp_.media.back().direction = *direction;
        return {};
    }
    if (!in_media) {
        if (auto counted = CountAttribute(line_no, level); !counted) return counted;
        sdp_.other_attributes.emplace_back(name, attribute_value);
        return {};
    }
    MediaDescription& media = sdp_.media.back();
    if (EqualsIgnoreCase(name, "rtpmap")) {
        if (auto counted = CountAttribute(line_no, level); !counted) return counted;
        if (auto map = ParseRtpMap(attribute_value)) media.rtp_maps.push_back(std::move(*map));
        return {};
    }
    if (EqualsIgnoreCase(name, "ptime")) {
        // RFC 4566 §6; an unusable value is ignored like an unknown attribute.
        const auto ptime = ParseDecimal(attribute_value);
        if (ptime && *ptime >= 1 && *ptime <= 1000) media.ptime = static_cast<int>(*ptime);
        return {};
    }
    if (media.t38 && ApplyT38Attribute(name, attribute_value, *media.t38)) return {};
    if (auto counted = CountAttribute(line_no, level); !counted) return counted;
    media.other_attributes.emplace_back(name, attribute_value);
    return {};
}

std::string_view AddressType(std::string_view address) {
    return address.find(':') == std::string_view::npos ? "IP4" : "IP6";
}

void AppendAttribute(std::string& out, std::string_view name, std::string_view value) {
    out += "a=";
    out += name;
    if (!value.empty()) {
        out += ':';
        out += value;
    }
    out += kCrlf;
}

void AppendConnection(std::string& out, std::string_view address) {
    if (address.empty()) return;
    out += "c=IN ";
    out += AddressType(address);
    out += ' ';
    out += address;
    out += kCrlf;
}

// In the order Asterisk and FreeSWITCH write them, which is what peers have been tested against.
void AppendT38Attributes(std::string& out, const T38Params& params) {
    AppendAttribute(out, "T38FaxVersion", std::to_string(params.version));
    AppendAttribute(out, "T38MaxBitRate", std::to_string(params.max_bit_rate));
    if (params.fill_bit_removal) AppendAttribute(out, "T38FaxFillBitRemoval", "");
    if (params.transcoding_mmr) AppendAttribute(out, "T38FaxTranscodingMMR", "");
    if (params.transcoding_jbig) AppendAttribute(out, "T38FaxTranscodingJBIG", "");
    AppendAttribute(out, "T38FaxRateManagement",
                    params.rate_management == T38RateManagement::kLocalTcf ? "localTCF" : "transferredTCF");
    if (params.max_buffer) AppendAttribute(out, "T38FaxMaxBuffer", std::to_string(*params.max_buffer));
    if (params.max_datagram) AppendAttribute(out, "T38FaxMaxDatagram", std::to_string(*params.max_datagram));
    // No error correction is written as no attribute: t38UDPNoEC is newer than many peers.
    if (params.error_correction == T38ErrorCorrection::kRedundancy) {
        AppendAttribute(out, "T38FaxUdpEC", "t38UDPRedundancy");
    } else if (params.error_correction == T38ErrorCorrection::kFec) {
        AppendAttribute(out, "T38FaxUdpEC", "t38UDPFEC");
    }
    if (!params.vendor_info.empty()) AppendAttribute(out, "T38VendorInfo", params.vendor_info);
}

void AppendMedia(std::string& out, const MediaDescription& media) {
    out += "m=" + media.media + " " + std::to_string(media.port) + " " + media.protocol;
    for (const auto& format : media.formats) out += " " + format;
    out += kCrlf;
    AppendConnection(out, media.connection_address);
    for (const auto& map : media.rtp_maps) {
        std::string value =
            std::to_string(map.payload_type) + " " + map.encoding + "/" + std::to_string(map.clock_rate);
        if (map.channels != 1) value += "/" + std::to_string(map.channels);
        AppendAttribute(out, "rtpmap", value);
    }
    if (media.ptime) AppendAttribute(out, "ptime", std::to_string(*media.ptime));
    if (media.t38) AppendT38Attributes(out, *media.t38);
    for (const auto& [name, value] : media.other_attributes) AppendAttribute(out, name, value);
    if (media.direction != MediaDirection::kSendRecv)
        AppendAttribute(out, DirectionName(media.direction), "");
}

}  // namespace

base::Result<SessionDescription> ParseSdp(std::string_view text) { return Parser().Run(text); }

std::string FormatSdp(const SessionDescription& sdp) {
    std::string out = "v=0\r\n";
    out += "o=" + sdp.origin_user + " " + std::to_string(sdp.session_id) + " " +
           std::to_string(sdp.session_version) + " IN ";
    out += AddressType(sdp.origin_address);
    out += " " + sdp.origin_address;
    out += kCrlf;
    out += "s=" + (sdp.session_name.empty() ? std::string("-") : sdp.session_name);
    out += kCrlf;
    AppendConnection(out, sdp.connection_address);
    out += "t=0 0\r\n";  // RFC 3264 §5: SIP, not t=, starts and ends the session
    for (const auto& [name, value] : sdp.other_attributes) AppendAttribute(out, name, value);
    for (const auto& media : sdp.media) AppendMedia(out, media);
    return out;
}

std::string MediaAddress(const SessionDescription& sdp, const MediaDescription& media) {
    return media.connection_address.empty() ? sdp.connection_address : media.connection_address;
}

std::optional<RtpMap> FindRtpMap(const MediaDescription& media, int payload_type) {
    for (const auto& map : media.rtp_maps) {
        if (map.payload_type == payload_type) return map;
    }
    // RFC 3551 §6, table 4: the static audio payload types a fax server may meet without an rtpmap.
    switch (payload_type) {
        case 0:
            return RtpMap{0, "PCMU", 8000, 1};
        case 3:
            return RtpMap{3, "GSM", 8000, 1};
        case 4:
            return RtpMap{4, "G723", 8000, 1};
        case 8:
            return RtpMap{8, "PCMA", 8000, 1};
        case 9:
            return RtpMap{9, "G722", 8000, 1};  // RFC 3551 §4.5.2: 8000 although sampled at 16 kHz
        case 13:
            return RtpMap{13, "CN", 8000, 1};
        case 18:
            return RtpMap{18, "G729", 8000, 1};
        default:
            return std::nullopt;
    }
}

T38Params AnswerT38(const T38Params& offer, const T38Params& ours, bool allow_fec) {
    T38Params answer;
    answer.version = std::min(offer.version, ours.version);
    answer.max_bit_rate = std::min(offer.max_bit_rate, ours.max_bit_rate);
    answer.rate_management = offer.rate_management;
    const bool allow_redundancy = ours.error_correction != T38ErrorCorrection::kNone;
    switch (offer.error_correction) {
        case T38ErrorCorrection::kFec:
            // FreeSWITCH's rule: a FEC offer we cannot serve is answered with redundancy, not refused.
            answer.error_correction = allow_fec          ? T38ErrorCorrection::kFec
                                      : allow_redundancy ? T38ErrorCorrection::kRedundancy
                                                         : T38ErrorCorrection::kNone;
            break;
        case T38ErrorCorrection::kRedundancy:
            answer.error_correction =
                allow_redundancy ? T38ErrorCorrection::kRedundancy : T38ErrorCorrection::kNone;
            break;
        case T38ErrorCorrection::kNone:
            answer.error_correction = T38ErrorCorrection::kNone;
            break;
    }
    // Fill bit removal and MMR/JBIG transcoding are options the answerer may decline (T.38 Annex D.2.3).
    answer.fill_bit_removal = false;
    answer.transcoding_mmr = false;
    answer.transcoding_jbig = false;
    answer.max_buffer = ours.max_buffer;
    answer.max_datagram = ours.max_datagram;
    answer.vendor_info = ours.vendor_info;
    return answer;
}

std::size_t EffectiveFarMaxDatagram(const T38Params& peer, std::size_t floor) {
    constexpr int kMtuSafeMax = 1400;  // Asterisk's bound: above it the value is taken as bogus
    constexpr std::size_t kDefault = 400;
    if (!peer.max_datagram || *peer.max_datagram > kMtuSafeMax) return std::max(kDefault, floor);
    return std::max(static_cast<std::size_t>(*peer.max_datagram), floor);
}

}  // namespace faxd::sip
