// The contract suite's PostgreSQL backend: one throwaway PostgreSQL 15 cluster for the whole binary (started
// by a gtest environment on 127.0.0.1 at a free port), a new database per test.
#include <cstdlib>
#include <memory>

#include <gtest/gtest.h>

#include "postgres_cluster.hpp"
#include "store/store_test_backend.hpp"

namespace faxd::store {
namespace testing {

class PgBackend final : public Backend, public ::testing::Environment {
public:
    void SetUp() override {
        if (!faxd::testing::PostgresCluster::Available()) return;  // the tests skip
        std::string error;
        cluster_ = faxd::testing::PostgresCluster::Start({}, &error);
        if (!cluster_) {
            // A broken installation must fail, not skip.
            std::fprintf(stderr, "cannot start PostgreSQL: %s\n", error.c_str());
            std::abort();
        }
    }
    void TearDown() override { cluster_.reset(); }

    std::string NewDatabaseUrl() override {
        if (!cluster_) return {};
        const std::string name = "faxd_test_" + std::to_string(++databases_);
        std::string error;
        if (!cluster_->CreateDatabase(name, &error)) {
            ADD_FAILURE() << error;
            return {};
        }
        return cluster_->Url(name);
    }
    void Release(const std::string&) override {}  // the cluster goes as a whole

private:
    std::unique_ptr<faxd::testing::PostgresCluster> cluster_;
    int databases_ = 0;
};

Backend& CurrentBackend() {
    static PgBackend* backend = new PgBackend;  // main() hands it to gtest, which deletes it at exit
    return *backend;
}

}  // namespace testing
}  // namespace faxd::store

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        &static_cast<faxd::store::testing::PgBackend&>(faxd::store::testing::CurrentBackend()));
    return RUN_ALL_TESTS();
}
