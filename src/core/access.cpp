#include "core/access.hpp"

#include <algorithm>

namespace faxd::core {

bool MaySeeJob(const Directory& directory, const Caller& caller, const Job& job) {
    if (caller.IsAdministrator()) return true;
    if (!caller.MayUseApi()) return false;
    if (job.owner == caller.user.id) return true;
    if (!job.entity) return false;
    for (const FaxEntity& entity : directory.entities) {
        if (entity.id == *job.entity) return MaySendAs(entity, caller.user.id);
    }
    return false;
}

bool MaySeeInbound(const Directory& directory, const Caller& caller, const InboundFax& fax) {
    if (caller.IsAdministrator()) return true;
    if (!caller.MayUseApi() || !fax.destination) return false;
    const InboundDestination& to = *fax.destination;
    const UserId me = caller.user.id;
    if (std::find(to.recipients.begin(), to.recipients.end(), me) != to.recipients.end()) return true;
    switch (to.kind) {
        case OwnerKind::kUser:
            return to.owner == me;
        case OwnerKind::kEntity:
            for (const FaxEntity& entity : directory.entities) {
                if (entity.id != to.owner) continue;
                return std::any_of(entity.members.begin(), entity.members.end(),
                                   [&](const EntityMember& m) { return m.user == me && m.can_receive; });
            }
            return false;
        case OwnerKind::kGroup:
            for (const Group& group : directory.groups) {
                if (group.id != to.owner) continue;
                return std::find(group.members.begin(), group.members.end(), me) != group.members.end();
            }
            return false;
    }
    return false;
}

}  // namespace faxd::core
