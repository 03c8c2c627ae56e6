// Time only through a Clock, so protocol cores and schedulers run on simulated time in tests.
#pragma once

#include <chrono>

namespace faxd::base {

using Duration = std::chrono::nanoseconds;
// Monotonic time; only differences mean something.
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
// Calendar time, for reference numbers, header lines and logs.
using WallTime = std::chrono::time_point<std::chrono::system_clock, Duration>;

class Clock {
public:
    virtual ~Clock() = default;
    virtual TimePoint Now() const = 0;
    virtual WallTime WallNow() const = 0;
};

class RealClock final : public Clock {
public:
    TimePoint Now() const override;
    WallTime WallNow() const override;
};

// Moves only when told to. Wall time advances together with monotonic time.
class SimulatedClock final : public Clock {
public:
    explicit SimulatedClock(WallTime wall_start = WallTime{std::chrono::seconds{1'767'225'600}});  // 2026-01-01
    TimePoint Now() const override { return now_; }
    WallTime WallNow() const override { return wall_start_ + (now_ - TimePoint{}); }
    void Advance(Duration step);

private:
    TimePoint now_{};
    WallTime wall_start_;
};

// A point in time after which work should stop. Default-constructed: never expires.
class Deadline {
public:
    Deadline() = default;
    static Deadline After(const Clock& clock, Duration timeout) { return Deadline(clock.Now() + timeout); }
    bool IsSet() const { return is_set_; }
    bool Expired(const Clock& clock) const { return is_set_ && clock.Now() >= when_; }
    Duration Remaining(const Clock& clock) const;

private:
    explicit Deadline(TimePoint when) : when_(when), is_set_(true) {}
    TimePoint when_{};
    bool is_set_ = false;
};

}  // namespace faxd::base
