// A throwaway PostgreSQL 15 cluster for tests and benchmarks: initdb into a temporary directory, postgres
// listening on 127.0.0.1 at a port chosen at run time (and a unix socket inside the directory), stopped and
// deleted by the destructor. As root the server runs as the `postgres` user (it refuses root).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace faxd::testing {

class PostgresCluster {
public:
    struct Options {
        // false: fsync, synchronous_commit and full_page_writes off (tests: fast, nothing to survive).
        // true: the server's durable defaults (benchmarks that should count the commit's fsync).
        bool durable = false;
        std::vector<std::string> settings;  // extra "name=value" server settings
    };

    static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
    // Whether the PostgreSQL 15 server binaries are installed (tests skip without them).
    static bool Available();
    // initdb (1-3 s) and start. Null with `*error` set when something failed.
    static std::unique_ptr<PostgresCluster> Start(const Options& options, std::string* error);
    ~PostgresCluster();
    PostgresCluster(const PostgresCluster&) = delete;
    PostgresCluster& operator=(const PostgresCluster&) = delete;

    std::uint16_t port() const { return port_; }
    const std::filesystem::path& dir() const { return dir_; }
    // libpq URI of a database as the superuser "postgres" (trust authentication on 127.0.0.1).
    std::string Url(const std::string& database) const;
    bool CreateDatabase(const std::string& name, std::string* error);
    // The server log, for failure messages.
    std::string Log() const;

private:
    PostgresCluster(std::filesystem::path dir, bool as_postgres)
        : dir_(std::move(dir)), as_postgres_(as_postgres) {}
    std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;
    bool Stop(const char* mode);

    std::filesystem::path dir_;
    bool as_postgres_;
    bool running_ = false;
    std::uint16_t port_ = 0;
};

}  // namespace faxd::testing
