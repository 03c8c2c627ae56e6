#include "postgres_cluster.hpp"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "process.hpp"

namespace faxd::testing {
namespace {

std::string Bin(const char* program) { return std::string(PostgresCluster::kBinDir) + "/" + program; }

}  // namespace

bool PostgresCluster::Available() { return ::access(Bin("initdb").c_str(), X_OK) == 0; }

std::vector<std::string> PostgresCluster::AsServerUser(std::vector<std::string> argv) const {
    if (!as_postgres_) return argv;
    std::vector<std::string> wrapped{"/usr/sbin/runuser", "-u", "postgres", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
}

std::unique_ptr<PostgresCluster> PostgresCluster::Start(const Options& options, std::string* error) {
    if (!Available()) {
        *error = Bin("initdb") + " is missing";
        return nullptr;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "faxd-pg.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        *error = "mkdtemp failed";
        return nullptr;
    }
    const bool as_postgres = ::geteuid() == 0;
    std::unique_ptr<PostgresCluster> cluster(new PostgresCluster(pattern, as_postgres));
    if (as_postgres) {
        const passwd* user = ::getpwnam("postgres");
        if (user == nullptr || ::chown(pattern.c_str(), user->pw_uid, user->pw_gid) != 0) {
            *error = "running as root but cannot hand " + pattern + " to the postgres user";
            return nullptr;
        }
    }
    const auto log = cluster->dir_ / "setup.log";
    const auto data = (cluster->dir_ / "data").string();
    auto initdb = RunProgram(cluster->AsServerUser({Bin("initdb"), "-D", data, "-U", "postgres", "-A",
                                                    "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"}),
                             std::chrono::seconds{120}, log);
    if (initdb.status != 0) {
        *error = "initdb failed: " + ReadFile(log);
        return nullptr;
    }
    std::string settings = "-c listen_addresses=127.0.0.1 -k " + cluster->dir_.string();
    if (!options.durable) settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    for (const std::string& setting : options.settings) settings += " -c " + setting;
    // The port is free when chosen but may be taken before postgres binds it: try a few.
    for (int attempt = 0; attempt < 5 && !cluster->running_; ++attempt) {
        const std::uint16_t port = FreePort();
        auto started =
            RunProgram(cluster->AsServerUser({Bin("pg_ctl"), "-D", data, "-l",
                                              (cluster->dir_ / "server.log").string(), "-w", "-t", "60",
                                              "start", "-o", settings + " -p " + std::to_string(port)}),
                       std::chrono::seconds{90}, log);
        if (started.status == 0) {
            cluster->running_ = true;
            cluster->port_ = port;
        }
    }
    if (!cluster->running_) {
        *error = "pg_ctl start failed: " + ReadFile(log) + cluster->Log();
        return nullptr;
    }
    return cluster;
}

bool PostgresCluster::Stop(const char* mode) {
    auto stopped = RunProgram(
        AsServerUser({Bin("pg_ctl"), "-D", (dir_ / "data").string(), "-m", mode, "-w", "-t", "30", "stop"}),
        std::chrono::seconds{40}, dir_ / "setup.log");
    return stopped.status == 0;
}

PostgresCluster::~PostgresCluster() {
    if (running_ && !Stop("fast")) Stop("immediate");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string PostgresCluster::Url(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

bool PostgresCluster::CreateDatabase(const std::string& name, std::string* error) {
    const auto log = dir_ / "psql.log";
    auto created = RunProgram(
        {Bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", std::to_string(port_),
         "-U", "postgres", "-d", "postgres", "-c", "CREATE DATABASE \"" + name + "\""},
        std::chrono::seconds{60}, log);
    if (created.status != 0) {
        *error = "CREATE DATABASE " + name + " failed: " + ReadFile(log);
        return false;
    }
    return true;
}

std::string PostgresCluster::Log() const { return ReadFile(dir_ / "server.log"); }

}  // namespace faxd::testing
