// Outbound routing: which gateways carry a call to a number. Prefix routes (longest prefix first), each with
// an ordered list of gateways; then the default route. A failed gateway (5xx, 408, timeout, unreachable)
// passes the call to the next one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sip/sip_endpoint.hpp"

namespace faxd::sip {

enum class NumberFormat { kAsDialled, kE164, kInternational, kNational };

struct Gateway {
    std::string host;          // name or address
    std::uint16_t port = 5060;
    std::string transport = "udp";  // udp, tcp, tls
};

struct Route {
    std::string name;
    std::string prefix;  // digits the (normalised) number starts with; "" = default route
    std::vector<Gateway> gateways;
    std::optional<DigestCredentials> credentials;
    std::string add_prefix;         // put in front of the number sent to this route (e.g. "0" for an outside line)
    bool allow_g711 = true;
    bool t38_in_offer = false;
    std::optional<bool> ecm;
    std::optional<int> max_bit_rate;  // 14400, 9600, 4800: caps the modems
    int max_channels = 0;             // 0: no route limit
};

// The SIP URIs to try for `number`, in order: the matching prefix route's gateways, then the default route's.
struct DialTarget {
    std::string uri;
    const Route* route = nullptr;
};
std::vector<DialTarget> PlanDial(const std::vector<Route>& routes, const std::string& number);

// Whether a failed attempt should move on to the next gateway (the gateway failed, not the call).
bool ShouldTryNextGateway(const CallResult& result);

}  // namespace faxd::sip
