// Logging through spdlog. Each subsystem asks for its named logger once and keeps it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace faxd::base {

using Logger = std::shared_ptr<spdlog::logger>;

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Sets the level of every logger (existing and future) and the common line format. Call once at start-up.
void ConfigureLogging(LogLevel level);

// Returns the logger of a subsystem ("t30", "sip", ...), creating it on first use. Thread-safe.
Logger GetLogger(std::string_view name);

// Parses "trace", "debug", "info", "warn", "error", "off".
bool ParseLogLevel(std::string_view text, LogLevel* level);

}  // namespace faxd::base
