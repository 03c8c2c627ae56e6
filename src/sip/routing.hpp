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
    std::string add_prefix;         // put in front of the number sent to this route (a carrier code, say)
    NumberFormat number_format = NumberFormat::kAsDialled;  // how this route's gateways want numbers
    bool use_outside_prefix = false;  // put the number plan's outside prefix in front of off-net numbers
    bool allow_g711 = true;
    bool t38_in_offer = false;
    std::optional<bool> ecm;
    std::optional<int> max_bit_rate;  // 14400, 9600, 4800: caps the modems
    int max_channels = 0;             // 0: no route limit
};

struct NumberPlan;

// The SIP URIs to try for `number` (normalised: "+4930..." or an extension), in order: the matching prefix
// route's gateways, then the default route's. Prefixes match the digits without "+". Each route gets the number
// in its own format (`plan` may be null: numbers go as given).
struct DialTarget {
    std::string uri;
    const Route* route = nullptr;
};
std::vector<DialTarget> PlanDial(const std::vector<Route>& routes, const std::string& number,
                                 const NumberPlan* plan = nullptr);

// Whether a failed attempt should move on to the next gateway (the gateway failed, not the call).
bool ShouldTryNextGateway(const CallResult& result);

}  // namespace faxd::sip
