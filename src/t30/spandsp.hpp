// The one place that includes spandsp, so its C macros and the logging glue stay out of other headers.
#pragma once

#include <string>

#include <spandsp.h>

namespace faxd::t30 {

// Routes spandsp's log lines to the "spandsp" spdlog logger (once per process; idempotent).
void InstallSpandspLogging();
// Sets the level and tag of one spandsp logging state from the "spandsp" logger's level.
void ConfigureLogging(logging_state_t* state, const std::string& tag);

}  // namespace faxd::t30
