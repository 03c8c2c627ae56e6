#include "store/store.hpp"

#include "store/pg_connection.hpp"
#include "store/rows.hpp"
#include "store/schema.hpp"
#include "store/sqlite_connection.hpp"

namespace faxd::store {

Store::Store(std::unique_ptr<Connection> connection, StoreOptions options)
    : connection_(std::move(connection)), options_(std::move(options)) {
    if (options_.clock == nullptr) {
        own_clock_ = std::make_unique<base::RealClock>();
        options_.clock = own_clock_.get();
    }
}

Store::~Store() = default;

base::WallTime Store::Now() const { return options_.clock->WallNow(); }

base::Result<void> Store::Run(TxMode mode, const std::function<base::Result<void>(Transaction&)>& body) {
    std::lock_guard lock(mutex_);
    auto tx = Transaction::Begin(*connection_, mode);
    if (!tx) return tl::unexpected(tx.error());
    if (auto done = body(*tx); !done) return done;  // ~Transaction rolls back
    if (!tx->active()) return {};
    return tx->Commit();
}

base::Result<ExecResult> Store::Single(std::string_view sql, const std::vector<Param>& params,
                                       OnUniqueViolation on_unique) {
    std::lock_guard lock(mutex_);
    return connection_->Exec(sql, params, on_unique);
}

base::Result<void> Store::Migrate() {
    std::lock_guard lock(mutex_);
    auto version = store::Migrate(*connection_, detail::ToNs(Now()));
    if (!version) return tl::unexpected(version.error());
    schema_version_ = *version;
    return {};
}

base::Result<std::optional<std::string>> Store::GetSetting(const std::string& key) {
    auto found = Single("SELECT value FROM settings WHERE key = $1", {key});
    if (!found) return tl::unexpected(found.error());
    if (found->rows.empty()) return std::optional<std::string>();
    return found->rows[0][0];
}

base::Result<void> Store::PutSetting(const std::string& key, const std::string& value) {
    auto put = Single(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
        "excluded.value",
        {key, value});
    if (!put) return tl::unexpected(put.error());
    return {};
}

base::Result<std::unique_ptr<Store>> OpenStore(const std::string& url, StoreOptions options) {
    std::unique_ptr<Connection> connection;
    if (url.starts_with("sqlite:")) {
        std::string path = url.substr(7);
        if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path as well as sqlite:/abs/path
        if (path.empty())
            return base::MakeError(base::ErrorCode::kInvalidArgument, "sqlite URL without a path");
        auto opened = SqliteConnection::Open(path, options.busy_timeout);
        if (!opened) return tl::unexpected(opened.error());
        connection = std::move(*opened);
    } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        auto opened = PgConnection::Open(url);
        if (!opened) return tl::unexpected(opened.error());
        connection = std::move(*opened);
    } else {
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "unknown store URL \"" + url + "\" (sqlite:/path or postgresql://...)");
    }
    auto store = std::make_unique<Store>(std::move(connection), std::move(options));
    if (auto migrated = store->Migrate(); !migrated) return tl::unexpected(migrated.error());
    return store;
}

}  // namespace faxd::store
