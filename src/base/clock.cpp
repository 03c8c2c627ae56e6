#include "base/clock.hpp"

#include <cassert>

namespace faxd::base {

TimePoint RealClock::Now() const {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

WallTime RealClock::WallNow() const {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

SimulatedClock::SimulatedClock(WallTime wall_start) : wall_start_(wall_start) {}

void SimulatedClock::Advance(Duration step) {
    assert(step >= Duration::zero() && "time never runs backwards");
    now_ += step;
}

Duration Deadline::Remaining(const Clock& clock) const {
    if (!is_set_) return Duration::max();
    const auto now = clock.Now();
    return now >= when_ ? Duration::zero() : when_ - now;
}

}  // namespace faxd::base
