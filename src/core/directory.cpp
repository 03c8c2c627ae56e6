#include "core/directory.hpp"

#include <algorithm>

namespace faxd::core {
namespace {

bool AllDigits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void AddRecipient(std::vector<UserId>& recipients, UserId user) {
    if (std::find(recipients.begin(), recipients.end(), user) == recipients.end()) recipients.push_back(user);
}

}  // namespace

Permission EffectivePermission(const User& user, Permission default_level) {
    return user.permission.value_or(default_level);
}

bool NumberRange::Contains(const std::string& number) const {
    // Equal lengths make string order numeric order; leading zeros stay significant, as in dial plans.
    if (!AllDigits(number) || number.size() != first.size() || number.size() != last.size()) return false;
    return number >= first && number <= last;
}

const User* Directory::FindUser(UserId id) const {
    for (const User& user : users) {
        if (user.id == id) return &user;
    }
    return nullptr;
}

bool MaySendAs(const FaxEntity& entity, UserId user) {
    return std::any_of(entity.members.begin(), entity.members.end(),
                       [&](const EntityMember& m) { return m.user == user && m.can_send; });
}

namespace {

// Fills recipients for an owner; an empty list means nobody there can receive.
InboundDestination Resolve(const Directory& directory, OwnerKind kind, std::int64_t owner, std::string how) {
    InboundDestination destination{kind, owner, {}, std::move(how)};
    if (kind == OwnerKind::kUser) {
        const User* user = directory.FindUser(owner);
        if (user != nullptr && user->receive_enabled) AddRecipient(destination.recipients, user->id);
    } else if (kind == OwnerKind::kEntity) {
        for (const FaxEntity& entity : directory.entities) {
            if (entity.id != owner) continue;
            for (const EntityMember& member : entity.members) {
                const User* user = directory.FindUser(member.user);
                if (member.can_receive && user != nullptr && user->receive_enabled) {
                    AddRecipient(destination.recipients, user->id);
                }
            }
        }
    } else {
        for (const Group& group : directory.groups) {
            if (group.id != owner) continue;
            for (UserId id : group.members) {
                const User* user = directory.FindUser(id);
                if (user != nullptr && user->receive_enabled) AddRecipient(destination.recipients, id);
            }
        }
    }
    return destination;
}

std::optional<InboundDestination> FindOwner(const Directory& directory, const InboundRoutingConfig& config,
                                            const std::string& dnis, const std::string& line) {
    if (!dnis.empty()) {
        for (const User& user : directory.users) {
            if (std::find(user.numbers.begin(), user.numbers.end(), dnis) != user.numbers.end()) {
                return Resolve(directory, OwnerKind::kUser, user.id, "number " + dnis);
            }
        }
        for (const FaxEntity& entity : directory.entities) {
            if (entity.number == dnis)
                return Resolve(directory, OwnerKind::kEntity, entity.id, "number " + dnis);
        }
        for (const Group& group : directory.groups) {
            if (std::find(group.numbers.begin(), group.numbers.end(), dnis) != group.numbers.end()) {
                return Resolve(directory, OwnerKind::kGroup, group.id, "number " + dnis);
            }
        }
        for (const CatchAllRoute& route : config.ranges) {
            if (route.range.Contains(dnis)) {
                return Resolve(directory, route.kind, route.owner,
                               "range " + route.range.first + "-" + route.range.last);
            }
        }
    }
    for (const auto& [name, route] : config.lines) {
        if (name == line) return Resolve(directory, route.kind, route.owner, "line " + line);
    }
    return std::nullopt;
}

}  // namespace

std::optional<InboundDestination> RouteInbound(const Directory& directory, const InboundRoutingConfig& config,
                                               const std::string& dnis, const std::string& line) {
    if (!config.incoming_enabled) return std::nullopt;
    auto found = FindOwner(directory, config, dnis, line);
    if (found && !found->recipients.empty()) return found;
    if (!config.default_user) return found;  // owned but nobody receives: still stored for the owner
    InboundDestination fallback =
        Resolve(directory, OwnerKind::kUser, *config.default_user,
                found ? found->matched_by + ", receive disabled: default user" : "default user");
    if (fallback.recipients.empty()) AddRecipient(fallback.recipients, *config.default_user);
    return fallback;
}

}  // namespace faxd::core
