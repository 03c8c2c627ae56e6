#include "sip/routing.hpp"

#include <algorithm>

#include "sip/numbers.hpp"

namespace faxd::sip {

namespace {

std::string UriFor(const Gateway& gateway, const std::string& user) {
    const bool tls = gateway.transport == "tls";
    std::string uri = (tls ? "sips:" : "sip:") + user + "@" + gateway.host;
    if (gateway.port != 0) uri += ":" + std::to_string(gateway.port);
    if (gateway.transport == "tcp") uri += ";transport=tcp";
    return uri;
}

}  // namespace

std::vector<DialTarget> PlanDial(const std::vector<Route>& routes, const std::string& number,
                                 const NumberPlan* plan) {
    const std::string digits = !number.empty() && number[0] == '+' ? number.substr(1) : number;
    const Route* best = nullptr;
    const Route* fallback = nullptr;
    for (const auto& route : routes) {
        if (route.prefix.empty()) {
            if (!fallback) fallback = &route;
            continue;
        }
        if (digits.rfind(route.prefix, 0) == 0 && (!best || route.prefix.size() > best->prefix.size())) best = &route;
    }
    std::vector<DialTarget> targets;
    for (const Route* route : {best, fallback}) {
        if (!route) continue;
        const std::string user =
            route->add_prefix +
            (plan ? FormatForRoute(*plan, number, route->number_format, route->use_outside_prefix) : number);
        for (const auto& gateway : route->gateways) targets.push_back({UriFor(gateway, user), route});
    }
    return targets;
}

bool ShouldTryNextGateway(const CallResult& result) {
    if (result.success) return false;
    // Never once the far end answered: a second gateway would deliver the fax twice.
    if (result.sip_status == 200) return false;
    const int status = result.sip_status;
    return result.failure == CallFailure::kUnavailable || status == 408 || (status >= 500 && status < 600) ||
           status == 0;
}

}  // namespace faxd::sip
