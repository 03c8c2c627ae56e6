// The fixture of the store contract tests: a fresh database per test from the binary's backend (SQLite
// files or a throwaway PostgreSQL cluster), two users, a simulated clock, and helpers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/schema.hpp"
#include "store/store.hpp"
#include "store/store_test_backend.hpp"

namespace faxd::store {
namespace contract {

using namespace std::chrono_literals;
using core::JobState;
using testing::Must;

// 2026-01-01T00:00:00Z and friends.
inline base::WallTime At(std::int64_t unix_seconds, std::int64_t extra_ns = 0) {
    return base::WallTime{std::chrono::seconds{unix_seconds}} + std::chrono::nanoseconds{extra_ns};
}
constexpr std::int64_t k2026 = 1'767'225'600;
constexpr std::int64_t k2027 = 1'798'761'600;

class StoreContract : public ::testing::Test {
protected:
    void SetUp() override {
        url_ = testing::CurrentBackend().NewDatabaseUrl();
        if (url_.empty()) GTEST_SKIP() << "no PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin)";
        store_ = Open("node-a");
        core::User alice;
        alice.login = "alice";
        alice_ = Must(store_->AddUser(alice));
        core::User bob;
        bob.login = "bob";
        bob_ = Must(store_->AddUser(bob));
    }
    void TearDown() override {
        store_.reset();
        if (!url_.empty()) testing::CurrentBackend().Release(url_);
    }

    std::unique_ptr<Store> Open(const std::string& node) {
        StoreOptions options;
        options.node = node;
        options.clock = &clock_;
        options.lease = 60s;
        return Must(OpenStore(url_, options));
    }

    core::NewSubmission To(std::vector<std::string> numbers, core::UserId owner = 0) {
        core::NewSubmission submission;
        submission.owner = owner != 0 ? owner : alice_;
        for (auto& number : numbers) submission.recipients.push_back({number, "Recipient " + number});
        submission.documents = {"doc-original.pdf"};
        return submission;
    }

    // A job ready to dial (queued -> converting -> scheduled), due now.
    core::JobId Scheduled(Store& store, const std::string& number) {
        auto result = Must(store.Submit(To({number}), clock_.WallNow()));
        const core::JobId id = result.jobs.at(0).id;
        EXPECT_TRUE(Must(store.MoveJob(id, JobState::kQueued, JobState::kConverting, "")));
        EXPECT_TRUE(Must(store.MarkRendered(id, "rendered-" + std::to_string(id) + ".tif", 3)));
        return id;
    }

    static core::RetryDecision Decide(JobState next, base::WallTime at = {}) {
        core::RetryDecision decision;
        decision.next = next;
        decision.next_attempt_at = at;
        return decision;
    }

    base::SimulatedClock clock_{At(k2026)};
    std::string url_;
    std::unique_ptr<Store> store_;
    core::UserId alice_ = 0;
    core::UserId bob_ = 0;
};

}  // namespace contract
}  // namespace faxd::store
