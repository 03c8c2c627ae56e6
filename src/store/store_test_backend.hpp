// The database the store contract tests (store_contract_test.cpp) run against. Each test binary links one
// definition of CurrentBackend(): SQLite files in a temp dir (store_test) or a throwaway PostgreSQL cluster
// (store_pg_test).
#pragma once

#include <stdexcept>
#include <string>

#include "base/result.hpp"

namespace faxd::store::testing {

class Backend {
public:
    virtual ~Backend() = default;
    // A URL of a new, empty database; "" when the backend is unavailable (the test skips).
    virtual std::string NewDatabaseUrl() = 0;
    // Called when the test that asked for `url` is done.
    virtual void Release(const std::string& url) = 0;
};

Backend& CurrentBackend();

// Unwraps a result or throws (gtest reports the exception as the test's failure).
template <typename T>
T Must(base::Result<T> result) {
    if (!result) throw std::runtime_error(result.error().ToString());
    return std::move(*result);
}
inline void Must(base::Result<void> result) {
    if (!result) throw std::runtime_error(result.error().ToString());
}

}  // namespace faxd::store::testing
