#include "sip/routing.hpp"

#include "sip/numbers.hpp"

#include <gtest/gtest.h>

namespace faxd::sip {
namespace {

TEST(RoutingTest, LongestPrefixFirstThenDefault) {
    std::vector<Route> routes(3);
    routes[0].name = "default";
    routes[0].gateways = {{"trunk.example.com", 5060, "udp"}};
    routes[1].name = "national";
    routes[1].prefix = "49";
    routes[1].gateways = {{"10.0.0.1", 5060, "udp"}};
    routes[2].name = "berlin";
    routes[2].prefix = "4930";
    routes[2].add_prefix = "0";
    routes[2].gateways = {{"10.0.0.2", 5080, "tcp"}, {"10.0.0.3", 5061, "tls"}};

    const auto targets = PlanDial(routes, "4930123456");
    ASSERT_EQ(targets.size(), 3u);
    EXPECT_EQ(targets[0].uri, "sip:04930123456@10.0.0.2:5080;transport=tcp");
    EXPECT_EQ(targets[1].uri, "sips:04930123456@10.0.0.3:5061");
    EXPECT_EQ(targets[2].uri, "sip:4930123456@trunk.example.com:5060");
    EXPECT_EQ(targets[0].route->name, "berlin");

    const auto other = PlanDial(routes, "331234");
    ASSERT_EQ(other.size(), 1u);
    EXPECT_EQ(other[0].route->name, "default");
}

TEST(RoutingTest, EachRouteGetsTheNumberInItsFormat) {
    NumberPlan plan{"DE", "30", "0", 5};
    std::vector<Route> routes(2);
    routes[0].gateways = {{"pbx", 5060, "udp"}};
    routes[0].number_format = NumberFormat::kNational;
    routes[0].use_outside_prefix = true;
    routes[1].prefix = "1";
    routes[1].gateways = {{"us-trunk", 5060, "udp"}};
    routes[1].number_format = NumberFormat::kE164;
    EXPECT_EQ(PlanDial(routes, "+49301234567", &plan)[0].uri, "sip:00301234567@pbx:5060");
    EXPECT_EQ(PlanDial(routes, "+12125550100", &plan)[0].uri, "sip:+12125550100@us-trunk:5060");
    EXPECT_EQ(PlanDial(routes, "51001", &plan)[0].uri, "sip:51001@pbx:5060");
}

TEST(RoutingTest, NextGatewayOnlyWhenTheGatewayFailed) {
    CallResult result;
    result.failure = CallFailure::kUnavailable;
    result.sip_status = 503;
    EXPECT_TRUE(ShouldTryNextGateway(result));
    result.sip_status = 408;
    result.failure = CallFailure::kNoAnswer;
    EXPECT_TRUE(ShouldTryNextGateway(result));
    result.sip_status = 486;
    result.failure = CallFailure::kBusy;
    EXPECT_FALSE(ShouldTryNextGateway(result));
    result.sip_status = 200;
    result.failure = CallFailure::kCallDropped;
    EXPECT_FALSE(ShouldTryNextGateway(result));
}

}  // namespace
}  // namespace faxd::sip
