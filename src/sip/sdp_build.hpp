// Our side of SDP offer/answer (RFC 3264) for fax calls: G.711 audio and T.38 image streams.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sip/asio.hpp"
#include "sip/sdp.hpp"
#include "t30/g711.hpp"

namespace faxd::sip {

struct AudioChoice {
    std::uint8_t payload_type = 0;
    t30::G711Law law = t30::G711Law::kMuLaw;
    boost::asio::ip::udp::endpoint remote;
};

// Builds a session with our address; `version` goes up by one with each new offer or answer (RFC 3264 §8).
SessionDescription MakeSession(const std::string& address, std::uint64_t session_id, std::uint64_t version);
// m=audio with PCMU and PCMA (or just `payload_type`), 20 ms.
MediaDescription AudioMedia(std::uint16_t port, std::optional<std::uint8_t> payload_type = std::nullopt);
MediaDescription ImageMedia(std::uint16_t port, const T38Params& t38);
// The same kind of stream, refused (port 0), to keep m-line order in an answer (RFC 3264 §6).
MediaDescription RejectedMedia(const MediaDescription& offered);

// The first usable G.711 format of the first live audio stream; nullopt when there is none.
std::optional<AudioChoice> ChooseAudio(const SessionDescription& remote);
// The index of the first live T.38 image stream; nullopt when there is none.
std::optional<std::size_t> FindT38(const SessionDescription& remote);
// The UDP endpoint of a media stream (its c= or the session's).
std::optional<boost::asio::ip::udp::endpoint> MediaEndpoint(const SessionDescription& sdp, const MediaDescription& media);

}  // namespace faxd::sip
