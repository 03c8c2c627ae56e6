// web::ApiBackend over the running server's store, spool, renderer and queue.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "app/config.hpp"
#include "core/dispatcher.hpp"
#include "core/inbound.hpp"
#include "core/queue_control.hpp"
#include "store/spool.hpp"
#include "store/store.hpp"
#include "web/api_backend.hpp"

namespace faxd::app {

struct ServerApiParts {
    store::Store* store = nullptr;
    core::JobStore* jobs = nullptr;  // the store as the server writes through it (events)
    store::Spool* spool = nullptr;
    core::Dispatcher* dispatcher = nullptr;
    const base::Clock* clock = nullptr;
    const FaxdConfig* config = nullptr;
    std::filesystem::path temp_dir;  // for PDFs made on request
    std::function<void()> wake;      // new work for the render and dispatch loops
};

// Runtime settings are stored under these keys ("" / absent: the config file's value).
inline constexpr const char* kSettingIncoming = "settings.incoming_enabled";
inline constexpr const char* kSettingSending = "settings.sending_enabled";
inline constexpr const char* kSettingRetention = "settings.retention_days";

class ServerApi final : public web::ApiBackend {
public:
    explicit ServerApi(ServerApiParts parts);

    base::WallTime Now() const override { return parts_.clock->WallNow(); }
    core::AccountStore& accounts() override { return *parts_.store; }
    base::Result<std::shared_ptr<const core::Directory>> Directory() override;
    core::Permission DefaultPermission() const override { return core::Permission::kUser; }

    base::Result<core::SubmissionResult> Submit(core::NewSubmission submission,
                                                const std::vector<web::UploadedDocument>& files) override;
    base::Result<core::SubmissionResult> Resend(const core::Job& job, const std::string& number,
                                                core::UserId owner) override;
    base::Result<core::Job> GetJob(core::JobId id) override { return parts_.store->GetJob(id); }
    base::Result<std::vector<core::Attempt>> Attempts(core::JobId id) override {
        return parts_.store->Attempts(id);
    }
    base::Result<core::InboundFax> GetInbound(std::int64_t id) override {
        return parts_.store->GetInbound(id);
    }
    base::Result<core::Page<core::Job>> ListJobs(const core::JobFilter& filter,
                                                 std::optional<core::PageCursor> after, int limit) override;
    base::Result<core::Page<core::InboundFax>> ListInbound(const core::InboundFilter& filter,
                                                           std::optional<core::PageCursor> after,
                                                           int limit) override;
    base::Result<std::filesystem::path> JobDocument(const core::Job& job) override;
    base::Result<std::filesystem::path> InboundDocument(const core::InboundFax& fax) override;
    base::Result<std::string> TiffAsPdf(const std::filesystem::path& tiff) override;
    base::Result<std::string> ReportPdf(const std::vector<std::string>& lines) override;
    base::Result<void> DeleteInbound(std::int64_t id) override;
    base::Result<void> DeleteJob(core::JobId id) override;

    core::QueueControl& queue() override { return queue_; }
    base::Result<bool> SendingStopped() override;
    base::Result<std::optional<base::WallTime>> StoppedUntil() override;

    base::Result<core::UserId> AddUser(const core::User& user) override;
    base::Result<void> UpdateUser(const core::User& user) override;
    base::Result<core::EntityId> AddEntity(const core::FaxEntity& entity) override;
    base::Result<core::GroupId> AddGroup(const core::Group& group) override;

    web::RoutesView Routes() override;
    base::Result<web::RuntimeSettings> Settings() override;
    base::Result<void> SaveSettings(const web::RuntimeSettings& settings) override;

    // For GET /faxes/{id}/events and webhooks (no error: an empty directory when the store fails).
    std::shared_ptr<const core::Directory> CachedDirectory();
    void DirectoryChanged();

private:
    ServerApiParts parts_;
    core::QueueControl queue_;
    std::mutex directory_mutex_;
    std::shared_ptr<const core::Directory> directory_;
    std::chrono::steady_clock::time_point directory_read_{};
};

}  // namespace faxd::app
