#include "core/access.hpp"

#include <gtest/gtest.h>

namespace faxd::core {
namespace {

class AccessTest : public ::testing::Test {
protected:
    void SetUp() override {
        FaxEntity sales;
        sales.id = 7;
        sales.name = "Sales";
        sales.members = {{alice_.user.id, true, false}, {bob_.user.id, false, true}};
        directory_.entities.push_back(sales);
        Group support;
        support.id = 9;
        support.members = {bob_.user.id};
        directory_.groups.push_back(support);
    }
    static Caller Make(UserId id, Permission level) {
        Caller caller;
        caller.user.id = id;
        caller.level = level;
        return caller;
    }
    Directory directory_;
    Caller alice_ = Make(1, Permission::kUser);
    Caller bob_ = Make(2, Permission::kUser);
    Caller admin_ = Make(3, Permission::kAdministrator);
    Caller nobody_ = Make(4, Permission::kNone);
};

TEST_F(AccessTest, JobsAreSeenByOwnerSendingMembersAndAdministrators) {
    Job job;
    job.owner = alice_.user.id;
    EXPECT_TRUE(MaySeeJob(directory_, alice_, job));
    EXPECT_FALSE(MaySeeJob(directory_, bob_, job));
    EXPECT_TRUE(MaySeeJob(directory_, admin_, job));
    job.owner = bob_.user.id;
    job.entity = 7;
    EXPECT_TRUE(MaySeeJob(directory_, alice_, job));  // may send as Sales
    EXPECT_TRUE(MaySeeJob(directory_, bob_, job));    // owner
    job.owner = admin_.user.id;
    EXPECT_FALSE(MaySeeJob(directory_, bob_, job));  // Sales member, but receive only
    Caller nobody_owner = nobody_;
    job.owner = nobody_.user.id;
    EXPECT_FALSE(MaySeeJob(directory_, nobody_owner, job));  // level 0 sees nothing, even its own
}

TEST_F(AccessTest, ReceivedFaxesAreSeenByRecipientsReceivingMembersAndGroupMembers) {
    InboundFax fax;
    EXPECT_FALSE(MaySeeInbound(directory_, alice_, fax));  // not routed
    EXPECT_TRUE(MaySeeInbound(directory_, admin_, fax));
    fax.destination = InboundDestination{OwnerKind::kUser, alice_.user.id, {alice_.user.id}, "number 200"};
    EXPECT_TRUE(MaySeeInbound(directory_, alice_, fax));
    EXPECT_FALSE(MaySeeInbound(directory_, bob_, fax));
    fax.destination = InboundDestination{OwnerKind::kEntity, 7, {}, "number 300"};
    EXPECT_FALSE(MaySeeInbound(directory_, alice_, fax));  // send only
    EXPECT_TRUE(MaySeeInbound(directory_, bob_, fax));
    fax.destination = InboundDestination{OwnerKind::kGroup, 9, {}, "number 400"};
    EXPECT_TRUE(MaySeeInbound(directory_, bob_, fax));
    EXPECT_FALSE(MaySeeInbound(directory_, alice_, fax));
}

}  // namespace
}  // namespace faxd::core
