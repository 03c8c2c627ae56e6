#include "sip/sdp_build.hpp"

namespace faxd::sip {

SessionDescription MakeSession(const std::string& address, std::uint64_t session_id, std::uint64_t version) {
    SessionDescription sdp;
    sdp.origin_user = "faxd";
    sdp.session_id = session_id;
    sdp.session_version = version;
    sdp.origin_address = address;
    sdp.session_name = "faxd";
    sdp.connection_address = address;
    return sdp;
}

MediaDescription AudioMedia(std::uint16_t port, std::optional<std::uint8_t> payload_type) {
    MediaDescription media;
    media.media = "audio";
    media.port = port;
    media.protocol = "RTP/AVP";
    const auto add = [&](int pt, const char* name) {
        media.formats.push_back(std::to_string(pt));
        media.rtp_maps.push_back(RtpMap{pt, name, 8000, 1});
    };
    if (!payload_type || *payload_type == 0) add(0, "PCMU");
    if (!payload_type || *payload_type == 8) add(8, "PCMA");
    media.ptime = 20;
    return media;
}

MediaDescription ImageMedia(std::uint16_t port, const T38Params& t38) {
    MediaDescription media;
    media.media = "image";
    media.port = port;
    media.protocol = "udptl";
    media.formats = {"t38"};
    media.t38 = t38;
    return media;
}

MediaDescription RejectedMedia(const MediaDescription& offered) {
    MediaDescription media;
    media.media = offered.media;
    media.port = 0;
    media.protocol = offered.protocol;
    media.formats = offered.formats.empty() ? std::vector<std::string>{"0"} : std::vector<std::string>{offered.formats[0]};
    return media;
}

std::optional<boost::asio::ip::udp::endpoint> MediaEndpoint(const SessionDescription& sdp,
                                                            const MediaDescription& media) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(MediaAddress(sdp, media), ec);
    if (ec) return std::nullopt;  // a host name in c= is not resolved: peers send addresses in practice
    return boost::asio::ip::udp::endpoint(address, media.port);
}

std::optional<AudioChoice> ChooseAudio(const SessionDescription& remote) {
    for (const auto& media : remote.media) {
        if (media.media != "audio" || media.port == 0) continue;
        if (media.protocol != "RTP/AVP" && media.protocol != "RTP/AVPF") continue;
        auto endpoint = MediaEndpoint(remote, media);
        if (!endpoint) continue;
        for (const auto& format : media.formats) {
            // Static types 0 and 8 (RFC 3551), or a dynamic type mapped to PCMU/PCMA at 8000 Hz.
            int pt = -1;
            try {
                pt = std::stoi(format);
            } catch (...) {
                continue;
            }
            std::string encoding = pt == 0 ? "PCMU" : pt == 8 ? "PCMA" : "";
            if (auto map = FindRtpMap(media, pt)) {
                if (map->clock_rate != 8000) continue;
                encoding = map->encoding;
                for (auto& c : encoding) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            if (encoding == "PCMU" || encoding == "PCMA")
                return AudioChoice{static_cast<std::uint8_t>(pt),
                                   encoding == "PCMU" ? t30::G711Law::kMuLaw : t30::G711Law::kALaw, *endpoint};
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> FindT38(const SessionDescription& remote) {
    for (std::size_t i = 0; i < remote.media.size(); ++i) {
        const auto& media = remote.media[i];
        if (media.t38 && media.port != 0) return i;
    }
    return std::nullopt;
}

}  // namespace faxd::sip
