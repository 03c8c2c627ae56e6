// faxd's configuration: one TOML file; every key optional, defaults built in (faxd --print-default-config).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "base/result.hpp"
#include "sip/numbers.hpp"
#include "sip/routing.hpp"
#include "sip/sip_endpoint.hpp"

namespace faxd::app {

struct FaxdConfig {
    base::LogLevel log_level = base::LogLevel::kInfo;
    std::filesystem::path spool_dir = "var/spool";
    sip::SipConfig sip;
    std::vector<sip::Route> routes;
    sip::NumberPlan numbers;
};

// The documented default configuration file; parsing it gives the built-in defaults.
std::string_view DefaultConfigText();

base::Result<FaxdConfig> ParseConfig(std::string_view text, const std::string& source_name);
base::Result<FaxdConfig> LoadConfig(const std::filesystem::path& path);

}  // namespace faxd::app
