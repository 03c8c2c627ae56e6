// Who is who: users, groups, shared fax entities (virtual fax machines several users share, as in the
// Kalliope seed), the numbers they own, and where an incoming fax goes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/job.hpp"

namespace faxd::core {

using GroupId = std::int64_t;

// Permission levels (StoneFax style): 0 may do nothing, 2 is a normal user, 10 administers. A user without
// a level of their own inherits the default.
enum class Permission : int { kNone = 0, kUser = 2, kAdministrator = 10 };

enum class AttachmentFormat { kPdf, kTiff };

struct User {
    UserId id = 0;
    std::string login;
    std::string name;
    std::string email;
    std::string fax_email;             // where fax mail goes when it differs from the main address
    std::vector<std::string> numbers;  // DIDs that ring this user
    bool send_enabled = true;
    bool receive_enabled = true;
    bool fax_to_email = true;
    bool attach_fax = true;
    AttachmentFormat attachment_format = AttachmentFormat::kPdf;
    std::string cover_page = "default";
    std::string language = "en";
    std::optional<Permission> permission;  // empty: inherit the default level
    // E-mail gateway: Argon2id hash of the PIN mails must carry ("" = none set), and the fingerprint of the
    // user's PGP key in faxd's keyring ("" = none). Never shown by the API.
    std::string mail_pin_hash;
    std::string pgp_fingerprint;
};

Permission EffectivePermission(const User& user, Permission default_level);

struct EntityMember {
    UserId user = 0;
    bool can_send = true;
    bool can_receive = true;
};

struct FaxEntity {
    EntityId id = 0;
    std::string name;
    std::string number;
    std::string settings_template;  // name of the settings (cover page, header) its faxes use
    std::vector<EntityMember> members;
};

struct Group {
    GroupId id = 0;
    std::string name;
    std::vector<std::string> numbers;
    std::vector<UserId> members;
};

// A contiguous range of numbers routed to one owner ("11001-11999"); equal-length digit strings.
struct NumberRange {
    std::string first;
    std::string last;
    bool Contains(const std::string& number) const;
};

enum class OwnerKind { kUser, kEntity, kGroup };

struct CatchAllRoute {
    NumberRange range;
    OwnerKind kind = OwnerKind::kUser;
    std::int64_t owner = 0;
};

// Where a received fax lands and who is told about it.
struct InboundDestination {
    OwnerKind kind = OwnerKind::kUser;
    std::int64_t owner = 0;
    std::vector<UserId> recipients;  // users who get it in their inbox and mail
    std::string matched_by;          // "number 200", "range 11001-11999", "line trunk-a", "default user"
};

struct InboundRoutingConfig {
    bool incoming_enabled = true;
    std::optional<UserId> default_user;  // unowned numbers, disabled receivers
    std::vector<CatchAllRoute> ranges;
    // Trunks or lines without DID: every fax on the line goes to one owner.
    std::vector<std::pair<std::string, CatchAllRoute>> lines;
};

// A snapshot of the directory the router reads (loaded from the store, cached by the caller).
struct Directory {
    std::vector<User> users;
    std::vector<FaxEntity> entities;
    std::vector<Group> groups;
    const User* FindUser(UserId id) const;
};

// Resolves the called number (DNIS, digits only) and the line it came on. Exact numbers win over ranges,
// ranges over the line's route; what is left goes to the default user. A user with receive disabled hands
// the fax to the default user too. Empty when incoming faxes are disabled or nobody can take it.
std::optional<InboundDestination> RouteInbound(const Directory& directory, const InboundRoutingConfig& config,
                                               const std::string& dnis, const std::string& line);

// Whether `user` may send as `entity` (member with send permission).
bool MaySendAs(const FaxEntity& entity, UserId user);

}  // namespace faxd::core
