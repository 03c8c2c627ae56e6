// Runs faxd and faxctl as real programs on 127.0.0.1 with ports chosen at run time.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "test_documents.hpp"

namespace faxd::testing {

struct FaxdNode {
    std::string name;
    std::filesystem::path dir;
    std::filesystem::path config;
    std::filesystem::path log;
    std::filesystem::path spool;
    std::uint16_t port = 0;
    std::optional<ChildProcess> process;

    // The JSON records of received faxes (newest last), waiting until there are `count` of them.
    std::vector<nlohmann::json> WaitForRecords(std::size_t count, std::chrono::seconds timeout) const;
    std::string Uri(const std::string& user = "100") const {
        return "sip:" + user + "@127.0.0.1:" + std::to_string(port);
    }
};

// Common settings for test nodes: ephemeral media ports, short media timeout.
std::string BaseConfig(std::uint16_t port, const std::filesystem::path& spool);

// Starts faxd with BaseConfig plus `extra` TOML and waits until it listens.
FaxdNode StartFaxd(const TempDir& dir, const std::string& name, const std::string& extra);

// Runs `faxctl dial` with a config made of BaseConfig plus `extra`; returns its JSON line.
struct DialOutcome {
    int status = -1;
    nlohmann::json result;
    std::string raw;
};
DialOutcome Dial(const TempDir& dir, const std::string& name, const std::string& extra,
                 const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(240));

// A document of `pages` short pages (standard resolution, 200 rows): seconds per page in real time.
std::filesystem::path ShortDocument(const TempDir& dir, int pages);

}  // namespace faxd::testing
