// Inbound routing: exact numbers, entities and groups, catch-all ranges, lines without DID, the default
// user for unowned numbers and disabled receivers, and the global switch.
#include "core/directory.hpp"

#include <gtest/gtest.h>

namespace faxd::core {
namespace {

class RoutingTest : public ::testing::Test {
protected:
    void SetUp() override {
        User alice{.id = 1, .login = "alice", .numbers = {"200"}};
        User bob{.id = 2, .login = "bob", .numbers = {"201"}, .receive_enabled = false};
        User carol{.id = 3, .login = "carol"};
        User admin{.id = 9, .login = "admin"};
        directory_.users = {alice, bob, carol, admin};
        directory_.entities = {FaxEntity{.id = 20,
                                         .name = "Sales",
                                         .number = "300",
                                         .members = {{1, true, true}, {2, true, true}, {3, true, false}}}};
        directory_.groups = {Group{.id = 30, .name = "Support", .numbers = {"400"}, .members = {1, 3}}};
        config_.default_user = 9;
        config_.ranges = {CatchAllRoute{{"11001", "11999"}, OwnerKind::kEntity, 20}};
        config_.lines = {{"trunk-b", CatchAllRoute{{}, OwnerKind::kGroup, 30}}};
    }
    Directory directory_;
    InboundRoutingConfig config_;
};

TEST_F(RoutingTest, ExactNumberGoesToItsUser) {
    const auto to = RouteInbound(directory_, config_, "200", "trunk-a");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->kind, OwnerKind::kUser);
    EXPECT_EQ(to->recipients, (std::vector<UserId>{1}));
    EXPECT_EQ(to->matched_by, "number 200");
}

TEST_F(RoutingTest, EntityMembersWithReceivePermissionWhoReceive) {
    const auto to = RouteInbound(directory_, config_, "300", "");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->kind, OwnerKind::kEntity);
    EXPECT_EQ(to->recipients, (std::vector<UserId>{1}));  // bob has receive off, carol no receive permission
}

TEST_F(RoutingTest, GroupNumberReachesEveryMember) {
    const auto to = RouteInbound(directory_, config_, "400", "");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->recipients, (std::vector<UserId>{1, 3}));
}

TEST_F(RoutingTest, CatchAllRange) {
    const auto to = RouteInbound(directory_, config_, "11500", "");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->owner, 20);
    EXPECT_EQ(to->matched_by, "range 11001-11999");
    EXPECT_EQ(RouteInbound(directory_, config_, "12000", "")->matched_by, "default user");
    EXPECT_EQ(RouteInbound(directory_, config_, "1150", "")->matched_by, "default user");  // length differs
}

TEST_F(RoutingTest, LineWithoutDid) {
    const auto to = RouteInbound(directory_, config_, "", "trunk-b");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->kind, OwnerKind::kGroup);
    EXPECT_EQ(to->matched_by, "line trunk-b");
}

TEST_F(RoutingTest, UnknownNumberAndDisabledReceiverGoToTheDefaultUser) {
    auto to = RouteInbound(directory_, config_, "999", "trunk-a");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->recipients, (std::vector<UserId>{9}));
    to = RouteInbound(directory_, config_, "201", "trunk-a");
    ASSERT_TRUE(to);
    EXPECT_EQ(to->recipients, (std::vector<UserId>{9}));
    EXPECT_NE(to->matched_by.find("receive disabled"), std::string::npos);
}

TEST_F(RoutingTest, IncomingDisabledRoutesNothing) {
    config_.incoming_enabled = false;
    EXPECT_FALSE(RouteInbound(directory_, config_, "200", ""));
}

TEST_F(RoutingTest, SendPermissionForEntities) {
    EXPECT_TRUE(MaySendAs(directory_.entities[0], 3));
    EXPECT_FALSE(MaySendAs(directory_.entities[0], 9));
}

TEST(Permission, InheritsTheDefaultLevel) {
    User user;
    EXPECT_EQ(EffectivePermission(user, Permission::kUser), Permission::kUser);
    user.permission = Permission::kAdministrator;
    EXPECT_EQ(EffectivePermission(user, Permission::kUser), Permission::kAdministrator);
}

}  // namespace
}  // namespace faxd::core
