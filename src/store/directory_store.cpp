// DirectoryStore: users, groups, fax entities and their numbers.
#include <map>

#include "store/rows.hpp"
#include "store/store.hpp"

namespace faxd::store {

using detail::Cells;

namespace {

std::string_view FormatName(core::AttachmentFormat format) {
    return format == core::AttachmentFormat::kTiff ? "tiff" : "pdf";
}

// `table` names the table and its (owner, position, value) columns.
base::Result<void> InsertList(Connection& c, const std::string& table, std::int64_t owner,
                              const std::vector<Param>& values) {
    const std::string sql = "INSERT INTO " + table + " VALUES ($1, $2, $3)";
    for (std::size_t i = 0; i < values.size(); ++i) {
        auto inserted = c.Exec(sql, {owner, static_cast<int>(i), values[i]});
        if (!inserted) return tl::unexpected(inserted.error());
    }
    return {};
}

std::vector<Param> Texts(const std::vector<std::string>& texts) { return {texts.begin(), texts.end()}; }

base::Result<void> Duplicate(const std::string& what) {
    return base::MakeError(base::ErrorCode::kInvalidArgument, what + " exists already");
}

std::vector<Param> UserColumns(const core::User& u) {
    return {
        u.login,         u.name,           u.email,
        u.fax_email,     u.send_enabled,   u.receive_enabled,
        u.fax_to_email,  u.attach_fax,     FormatName(u.attachment_format),
        u.cover_page,    u.language,       u.permission ? Param(static_cast<int>(*u.permission)) : Param(),
        u.mail_pin_hash, u.pgp_fingerprint};
}

core::User UserFromRow(const Row& row) {
    Cells r(row);
    core::User user;
    user.id = r.Int();
    user.login = r.Text();
    user.name = r.Text();
    user.email = r.Text();
    user.fax_email = r.Text();
    user.send_enabled = r.Bool();
    user.receive_enabled = r.Bool();
    user.fax_to_email = r.Bool();
    user.attach_fax = r.Bool();
    user.attachment_format =
        r.Text() == "tiff" ? core::AttachmentFormat::kTiff : core::AttachmentFormat::kPdf;
    user.cover_page = r.Text();
    user.language = r.Text();
    if (auto level = r.OptInt()) user.permission = static_cast<core::Permission>(*level);
    user.mail_pin_hash = r.Text();
    user.pgp_fingerprint = r.Text();
    return user;
}

// The users `where` selects (all when empty), by id, with their numbers in order.
base::Result<std::vector<core::User>> UsersWhere(Connection& c, const std::string& where,
                                                 const std::vector<Param>& params) {
    const std::string filter = where.empty() ? "" : " WHERE " + where;
    auto users = c.Exec(
        "SELECT id, login, name, email, fax_email, send_enabled, receive_enabled, fax_to_email, attach_fax, "
        "attachment_format, cover_page, language, permission, mail_pin_hash, pgp_fingerprint FROM users" +
            filter + " ORDER BY id",
        params);
    if (!users) return tl::unexpected(users.error());
    std::vector<core::User> found;
    std::map<core::UserId, std::size_t> user_at;
    for (const Row& row : users->rows) {
        found.push_back(UserFromRow(row));
        user_at[found.back().id] = found.size() - 1;
    }
    if (found.empty()) return found;
    auto numbers = c.Exec(
        "SELECT user_id, number FROM user_numbers" +
            (where.empty() ? std::string() : " WHERE user_id IN (SELECT id FROM users" + filter + ")") +
            " ORDER BY user_id, position",
        params);
    if (!numbers) return tl::unexpected(numbers.error());
    for (const Row& row : numbers->rows) {
        Cells r(row);
        const auto at = user_at.find(r.Int());
        if (at != user_at.end()) found[at->second].numbers.push_back(r.Text());
    }
    return found;
}

base::Result<std::optional<core::User>> OneUser(Connection& c, const std::string& where, const Param& key) {
    auto users = UsersWhere(c, where, {key});
    if (!users) return tl::unexpected(users.error());
    if (users->empty()) return std::optional<core::User>();
    return std::optional<core::User>(std::move(users->front()));
}

}  // namespace

base::Result<core::UserId> Store::AddUser(const core::User& user) {
    core::UserId id = 0;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto inserted = c.Exec(
            "INSERT INTO users (login, name, email, fax_email, send_enabled, receive_enabled, fax_to_email, "
            "attach_fax, attachment_format, cover_page, language, permission, mail_pin_hash, "
            "pgp_fingerprint) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            UserColumns(user), OnUniqueViolation::kReport);
        if (!inserted) return tl::unexpected(inserted.error());
        if (inserted->unique_violation) return Duplicate("user " + user.login);
        id = Cells(inserted->rows.at(0)).Int();
        return InsertList(c, "user_numbers (user_id, position, number)", id, Texts(user.numbers));
    });
    if (!done) return tl::unexpected(done.error());
    return id;
}

base::Result<void> Store::UpdateUser(const core::User& user) {
    return Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        std::vector<Param> params = UserColumns(user);
        params.emplace_back(user.id);
        auto updated = c.Exec(
            "UPDATE users SET login = $1, name = $2, email = $3, fax_email = $4, send_enabled = $5, "
            "receive_enabled = $6, fax_to_email = $7, attach_fax = $8, attachment_format = $9, cover_page = "
            "$10, language = $11, permission = $12, mail_pin_hash = $13, pgp_fingerprint = $14 WHERE id = "
            "$15",
            params, OnUniqueViolation::kReport);
        if (!updated) return tl::unexpected(updated.error());
        if (updated->unique_violation) return Duplicate("user " + user.login);
        if (updated->changed != 1) {
            return base::MakeError(base::ErrorCode::kNotFound, "no user " + std::to_string(user.id));
        }
        auto cleared = c.Exec("DELETE FROM user_numbers WHERE user_id = $1", {user.id});
        if (!cleared) return tl::unexpected(cleared.error());
        return InsertList(c, "user_numbers (user_id, position, number)", user.id, Texts(user.numbers));
    });
}

base::Result<core::EntityId> Store::AddEntity(const core::FaxEntity& entity) {
    core::EntityId id = 0;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto inserted =
            c.Exec("INSERT INTO entities (name, number, settings_template) VALUES ($1, $2, $3) RETURNING id",
                   {entity.name, entity.number, entity.settings_template});
        if (!inserted) return tl::unexpected(inserted.error());
        id = Cells(inserted->rows.at(0)).Int();
        for (std::size_t i = 0; i < entity.members.size(); ++i) {
            const core::EntityMember& member = entity.members[i];
            auto added = c.Exec(
                "INSERT INTO entity_members (entity_id, position, user_id, can_send, can_receive) VALUES "
                "($1, $2, $3, $4, $5)",
                {id, static_cast<int>(i), member.user, member.can_send, member.can_receive});
            if (!added) return tl::unexpected(added.error());
        }
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return id;
}

base::Result<core::GroupId> Store::AddGroup(const core::Group& group) {
    core::GroupId id = 0;
    auto done = Run(TxMode::kWrite, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto inserted = c.Exec("INSERT INTO user_groups (name) VALUES ($1) RETURNING id", {group.name},
                               OnUniqueViolation::kReport);
        if (!inserted) return tl::unexpected(inserted.error());
        if (inserted->unique_violation) return Duplicate("group " + group.name);
        id = Cells(inserted->rows.at(0)).Int();
        std::vector<Param> members(group.members.begin(), group.members.end());
        if (auto added = InsertList(c, "group_members (group_id, position, user_id)", id, members); !added) {
            return added;
        }
        return InsertList(c, "group_numbers (group_id, position, number)", id, Texts(group.numbers));
    });
    if (!done) return tl::unexpected(done.error());
    return id;
}

base::Result<core::User> Store::GetUser(core::UserId id) {
    std::optional<core::User> user;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        auto found = OneUser(tx.connection(), "id = $1", id);
        if (!found) return tl::unexpected(found.error());
        user = std::move(*found);
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (!user) return base::MakeError(base::ErrorCode::kNotFound, "no user " + std::to_string(id));
    return std::move(*user);
}

base::Result<std::optional<core::User>> Store::FindUserByLogin(const std::string& login) {
    std::optional<core::User> user;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        auto found = OneUser(tx.connection(), "login = $1", login);
        if (!found) return tl::unexpected(found.error());
        user = std::move(*found);
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return user;
}

base::Result<core::Directory> Store::Load() {
    core::Directory directory;
    auto done = Run(TxMode::kRead, [&](Transaction& tx) -> base::Result<void> {
        Connection& c = tx.connection();
        auto users = UsersWhere(c, "", {});
        if (!users) return tl::unexpected(users.error());
        directory.users = std::move(*users);

        auto entities = c.Exec("SELECT id, name, number, settings_template FROM entities ORDER BY id");
        if (!entities) return tl::unexpected(entities.error());
        std::map<core::EntityId, std::size_t> entity_at;
        for (const Row& row : entities->rows) {
            Cells r(row);
            core::FaxEntity entity;
            entity.id = r.Int();
            entity.name = r.Text();
            entity.number = r.Text();
            entity.settings_template = r.Text();
            entity_at[entity.id] = directory.entities.size();
            directory.entities.push_back(std::move(entity));
        }
        auto members = c.Exec(
            "SELECT entity_id, user_id, can_send, can_receive FROM entity_members ORDER BY entity_id, "
            "position");
        if (!members) return tl::unexpected(members.error());
        for (const Row& row : members->rows) {
            Cells r(row);
            const auto at = entity_at.find(r.Int());
            core::EntityMember member;
            member.user = r.Int();
            member.can_send = r.Bool();
            member.can_receive = r.Bool();
            if (at != entity_at.end()) directory.entities[at->second].members.push_back(member);
        }

        auto groups = c.Exec("SELECT id, name FROM user_groups ORDER BY id");
        if (!groups) return tl::unexpected(groups.error());
        std::map<core::GroupId, std::size_t> group_at;
        for (const Row& row : groups->rows) {
            Cells r(row);
            core::Group group;
            group.id = r.Int();
            group.name = r.Text();
            group_at[group.id] = directory.groups.size();
            directory.groups.push_back(std::move(group));
        }
        auto group_members =
            c.Exec("SELECT group_id, user_id FROM group_members ORDER BY group_id, position");
        if (!group_members) return tl::unexpected(group_members.error());
        for (const Row& row : group_members->rows) {
            Cells r(row);
            const auto at = group_at.find(r.Int());
            if (at != group_at.end()) directory.groups[at->second].members.push_back(r.Int());
        }
        auto group_numbers = c.Exec("SELECT group_id, number FROM group_numbers ORDER BY group_id, position");
        if (!group_numbers) return tl::unexpected(group_numbers.error());
        for (const Row& row : group_numbers->rows) {
            Cells r(row);
            const auto at = group_at.find(r.Int());
            if (at != group_at.end()) directory.groups[at->second].numbers.push_back(r.Text());
        }
        return {};
    });
    if (!done) return tl::unexpected(done.error());
    return directory;
}

}  // namespace faxd::store
