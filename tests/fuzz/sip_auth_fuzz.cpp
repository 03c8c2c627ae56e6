// libFuzzer target for the SIP parsing faxd does itself besides SDP: digest challenges and credentials
// (WWW-Authenticate / Authorization values that callers and servers send us) and RTP headers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sip/digest.hpp"
#include "sip/rtp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace faxd::sip;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto challenge = ParseChallenge(text)) {
        // Whatever parsed must be answerable without crashing, and the answer must parse back.
        auto answer = MakeAuthorization(*challenge, "INVITE", "sip:100@127.0.0.1", "user", "secret", "0a4f113b");
        if (answer && !ParseAuthorization(*answer)) std::abort();
    }
    ChooseChallenge({std::string(text), std::string(text.substr(0, size / 2))});

    if (auto authorization = ParseAuthorization(text)) {
        static const DigestNonceKey key{};  // fixed: runs must be repeatable
        static const DigestServer server("faxd", key);
        const auto now = faxd::base::WallTime(std::chrono::seconds(1'800'000'000));
        server.Verify(*authorization, "INVITE", "secret", now);
    }

    if (auto rtp = ParseRtp(std::span<const std::uint8_t>(data, size))) {
        if (rtp->payload.data() < data || rtp->payload.data() + rtp->payload.size() > data + size) std::abort();
    }
    return 0;
}
