// libFuzzer target for the SDP parser and writer (src/sip/sdp): a peer controls every byte of an SDP body.
//
// 1. Parse. A description that parses must format, and the text must parse back to the same description
//    (unless formatting grew it past kMaxSdpBytes: CRLF for LF and the always-written t=, s= and T.38 lines
//    can add a little); formatting that again must give the same text.
// 2. Each T.38 media is answered with a few of our configurations: the answer must obey the rules AnswerT38
//    documents and survive its own format/parse round trip. EffectiveFarMaxDatagram stays within its bounds.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/sdp.hpp"

namespace {

using faxd::sip::AnswerT38;
using faxd::sip::EffectiveFarMaxDatagram;
using faxd::sip::FormatSdp;
using faxd::sip::MediaDescription;
using faxd::sip::ParseSdp;
using faxd::sip::SessionDescription;
using faxd::sip::T38ErrorCorrection;
using faxd::sip::T38Params;

void Check(bool condition) {
    if (!condition) std::abort();
}

void CheckRoundTrip(const SessionDescription& sdp) {
    const std::string text = FormatSdp(sdp);
    if (text.size() > faxd::sip::kMaxSdpBytes) return;
    const auto again = ParseSdp(text);
    Check(again.has_value());
    Check(*again == sdp);
    Check(FormatSdp(*again) == text);
}

void CheckAnswer(const SessionDescription& offer, const MediaDescription& media) {
    const T38Params& theirs = *media.t38;
    Check(theirs.version >= 0 && theirs.version <= 3);
    Check(theirs.max_bit_rate >= 2400 && theirs.max_bit_rate <= 33600);

    const std::size_t far = EffectiveFarMaxDatagram(theirs);
    Check(far >= 160 && far <= 1400);
    if (theirs.max_datagram && *theirs.max_datagram >= 160 && *theirs.max_datagram <= 1400) {
        Check(far == static_cast<std::size_t>(*theirs.max_datagram));
    }

    for (const auto our_ec :
         {T38ErrorCorrection::kNone, T38ErrorCorrection::kRedundancy, T38ErrorCorrection::kFec}) {
        for (const bool allow_fec : {false, true}) {
            T38Params ours;
            ours.version = 2;
            ours.max_bit_rate = 9600;
            ours.max_buffer = 2000;
            ours.max_datagram = 400;
            ours.error_correction = our_ec;
            ours.vendor_info = "faxd";
            const T38Params answer = AnswerT38(theirs, ours, allow_fec);
            Check(answer.version <= theirs.version && answer.version <= ours.version);
            Check(answer.max_bit_rate <= theirs.max_bit_rate && answer.max_bit_rate <= ours.max_bit_rate);
            Check(answer.rate_management == theirs.rate_management);
            Check(!answer.fill_bit_removal && !answer.transcoding_mmr && !answer.transcoding_jbig);
            Check(answer.max_buffer == ours.max_buffer && answer.max_datagram == ours.max_datagram);
            // Never an error correction the peer did not offer, except redundancy for FEC we cannot do.
            if (theirs.error_correction == T38ErrorCorrection::kNone) {
                Check(answer.error_correction == T38ErrorCorrection::kNone);
            }
            if (answer.error_correction == T38ErrorCorrection::kFec) Check(allow_fec);

            SessionDescription reply;
            reply.origin_user = "faxd";
            reply.session_id = offer.session_id;
            reply.session_version = offer.session_version + 1;
            reply.origin_address = "192.0.2.1";
            reply.connection_address = "192.0.2.1";
            MediaDescription image = media;
            image.t38 = answer;
            reply.media.push_back(image);
            CheckRoundTrip(reply);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto sdp = ParseSdp(text);
    if (!sdp) {
        Check(!sdp.error().message.empty());
        return 0;
    }
    Check(sdp->media.size() <= faxd::sip::kMaxSdpMedia);
    CheckRoundTrip(*sdp);
    for (const auto& media : sdp->media) {
        (void)faxd::sip::MediaAddress(*sdp, media);
        if (media.t38) CheckAnswer(*sdp, media);
    }
    return 0;
}
