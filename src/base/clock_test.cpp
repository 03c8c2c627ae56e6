#include "base/clock.hpp"

#include <gtest/gtest.h>

namespace faxd::base {
namespace {

using namespace std::chrono_literals;

TEST(SimulatedClockTest, MovesOnlyWhenAdvanced) {
    SimulatedClock clock;
    const auto start = clock.Now();
    const auto wall_start = clock.WallNow();
    EXPECT_EQ(clock.Now(), start);
    clock.Advance(1500ms);
    EXPECT_EQ(clock.Now() - start, 1500ms);
    EXPECT_EQ(clock.WallNow() - wall_start, 1500ms);
}

TEST(DeadlineTest, ExpiresAtItsTime) {
    SimulatedClock clock;
    const auto deadline = Deadline::After(clock, 10s);
    EXPECT_FALSE(deadline.Expired(clock));
    EXPECT_EQ(deadline.Remaining(clock), 10s);
    clock.Advance(9s);
    EXPECT_FALSE(deadline.Expired(clock));
    clock.Advance(1s);
    EXPECT_TRUE(deadline.Expired(clock));
    EXPECT_EQ(deadline.Remaining(clock), Duration::zero());
}

TEST(DeadlineTest, UnsetNeverExpires) {
    SimulatedClock clock;
    Deadline never;
    clock.Advance(std::chrono::hours(1000));
    EXPECT_FALSE(never.Expired(clock));
    EXPECT_FALSE(never.IsSet());
}

TEST(RealClockTest, IsMonotonic) {
    RealClock clock;
    const auto a = clock.Now();
    const auto b = clock.Now();
    EXPECT_LE(a, b);
}

}  // namespace
}  // namespace faxd::base
