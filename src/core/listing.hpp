// One page of a listing for the API: filters and keyset cursors over jobs and received faxes, newest first.
// src/store implements the queries (Store::ListJobs, Store::ListInbound).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "core/job.hpp"
#include "core/ports.hpp"

namespace faxd::core {

// Keyset pagination: the last row of the previous page. Pages are newest first (created/started, then id).
struct PageCursor {
    base::WallTime time{};
    std::int64_t id = 0;
};

struct JobFilter {
    std::optional<UserId> owner;
    std::optional<JobState> state;
    std::optional<ReferenceNumber> reference;
    std::optional<std::string> number;
};

struct InboundFilter {
    std::optional<UserId> recipient;  // in this user's inbox
    std::optional<InboundState> state;
    std::optional<ReferenceNumber> reference;
    std::optional<std::string> number;  // called number (DNIS)
};

template <typename T>
struct Page {
    std::vector<T> items;
    std::optional<PageCursor> next;  // set when there may be more
};

}  // namespace faxd::core
