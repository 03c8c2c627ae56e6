// The server's local time zone, for what people read (cover pages, header lines) and the economy window.
#pragma once

#include <string>

#include "base/clock.hpp"

namespace faxd::app {

// "2026-11-22 10:04".
std::string LocalDateTime();
// Minutes since local midnight.
int LocalMinuteOfDay(base::WallTime now);

}  // namespace faxd::app
