// Parses the server sections of the config file into FaxdConfig (called by ParseConfig).
#pragma once

#include <string>

#include <toml++/toml.h>

#include "app/config.hpp"

namespace faxd::app {

base::Result<void> ParseServerSections(const toml::table& root, const std::string& source,
                                       FaxdConfig& config);
// [mail] (config_mail.cpp).
base::Result<void> ParseMailSection(const toml::table& root, const std::string& source, MailConfig& mail);

}  // namespace faxd::app
