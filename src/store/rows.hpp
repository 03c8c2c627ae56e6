// Internal to src/store: columns <-> domain structs, time and enum encodings, reference allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "core/directory.hpp"
#include "core/job.hpp"
#include "core/ports.hpp"
#include "store/connection.hpp"

namespace faxd::store::detail {

// Nanoseconds since the Unix epoch, UTC: exactly base::WallTime's representation.
inline std::int64_t ToNs(base::WallTime time) { return time.time_since_epoch().count(); }
inline base::WallTime FromNs(std::int64_t ns) { return base::WallTime{base::Duration{ns}}; }
inline std::optional<std::int64_t> ToNs(const std::optional<base::WallTime>& time) {
    return time ? std::optional<std::int64_t>(ToNs(*time)) : std::nullopt;
}

// Reads the cells of a row left to right.
class Cells {
public:
    explicit Cells(const Row& row) : row_(row) {}
    std::optional<std::int64_t> OptInt();
    std::int64_t Int() { return OptInt().value_or(0); }
    int Int32() { return static_cast<int>(Int()); }
    bool Bool() { return Int() != 0; }
    double Real();
    std::string Text();
    std::optional<std::string> OptText();
    base::WallTime Time() { return FromNs(Int()); }
    std::optional<base::WallTime> OptTime();

private:
    const std::optional<std::string>& Next();
    const Row& row_;
    std::size_t next_ = 0;
};

// The column lists the *FromRow functions read, in order.
extern const char* const kJobColumns;      // from `jobs` (unqualified)
extern const char* const kInboundColumns;  // from `inbound_faxes i`
extern const char* const kAttemptColumns;  // from `attempts`
core::Job JobFromRow(const Row& row);
core::InboundFax InboundFromRow(const Row& row);  // without destination recipients (a separate table)
core::Attempt AttemptFromRow(const Row& row);

std::string_view OwnerKindName(core::OwnerKind kind);
std::optional<core::OwnerKind> ParseOwnerKind(std::string_view name);

// The calendar year (UTC) a reference number of `now` belongs to.
int YearOf(base::WallTime now);
// Takes `count` consecutive sequence numbers of `year` inside the caller's transaction; returns the first.
// The counter row stays locked until that transaction ends: call it as late as possible.
base::Result<std::int64_t> AllocateReferences(Connection& connection, int year, int count);
// The same as a statement for a batch, and the first number from its result.
Statement ReferenceStatement(int year, int count);
base::Result<std::int64_t> FirstReference(const ExecResult& result, int year, int count);

// "$first, $first+1, ..." for an IN list.
std::string Placeholders(int first, int count);

}  // namespace faxd::store::detail
