// Who may see and act on which fax: the rules every API endpoint applies (docs/api.md, "Authentication and
// permissions"). Pure functions over the directory snapshot, so they are tested without a server.
#pragma once

#include "core/directory.hpp"
#include "core/job.hpp"
#include "core/ports.hpp"

namespace faxd::core {

struct Caller {
    User user;
    Permission level = Permission::kUser;
    bool IsAdministrator() const { return level >= Permission::kAdministrator; }
    bool MayUseApi() const { return level > Permission::kNone; }
};

// Administrators see all; a user sees the jobs they own and those sent from an entity where they may send.
bool MaySeeJob(const Directory& directory, const Caller& caller, const Job& job);
// Administrators see all; a user sees received faxes in their inbox (the destination's recipients), and those
// for an entity where they may receive or a group they belong to.
bool MaySeeInbound(const Directory& directory, const Caller& caller, const InboundFax& fax);

}  // namespace faxd::core
