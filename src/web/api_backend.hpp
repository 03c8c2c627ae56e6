// What the REST API needs from the rest of faxd, in core terms. src/app implements it over the store, the
// spool, the renderer and the queue; the API layer (api.cpp) parses, authenticates, checks permissions and
// writes JSON, and never sees a database or a file system path it did not get from here.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "core/access.hpp"
#include "core/accounts.hpp"
#include "core/directory.hpp"
#include "core/listing.hpp"
#include "core/ports.hpp"
#include "core/queue_control.hpp"

namespace faxd::web {

struct UploadedDocument {
    std::string file_name;  // already made safe (SafeFileName)
    std::string_view data;
};

// Settings every node follows, changed at run time through the API and kept in the store.
struct RuntimeSettings {
    bool incoming_enabled = true;
    bool sending_enabled = true;
    int retention_days = 0;
};

// The routing in force, for GET /routes.
struct RoutesView {
    std::string default_user;                                   // login or ""
    std::vector<std::pair<std::string, std::string>> ranges;    // "11001-11999" -> "entity Sales"
    std::vector<std::pair<std::string, std::string>> lines;     // "10.0.0.5" -> "group Support"
    std::vector<std::pair<std::string, std::string>> outbound;  // route prefix ("" default) -> gateways
};

class ApiBackend {
public:
    virtual ~ApiBackend() = default;

    virtual base::WallTime Now() const = 0;
    virtual core::AccountStore& accounts() = 0;
    // A recent snapshot of users, entities and groups (cached; refreshed after changes made here).
    virtual base::Result<std::shared_ptr<const core::Directory>> Directory() = 0;
    virtual core::Permission DefaultPermission() const = 0;

    // Stores the documents in the spool (atomically) and the submission; the renderer picks it up.
    // Errors: kInvalidArgument (bad entity, nothing to send), kUnsupported (a file type faxd cannot convert,
    // naming the file), kLimitExceeded.
    virtual base::Result<core::SubmissionResult> Submit(core::NewSubmission submission,
                                                        const std::vector<UploadedDocument>& files) = 0;
    // A new submission with the documents of `job`'s submission, to `number`, owned by `owner`.
    virtual base::Result<core::SubmissionResult> Resend(const core::Job& job, const std::string& number,
                                                        core::UserId owner) = 0;

    virtual base::Result<core::Job> GetJob(core::JobId id) = 0;
    virtual base::Result<std::vector<core::Attempt>> Attempts(core::JobId id) = 0;
    virtual base::Result<core::InboundFax> GetInbound(std::int64_t id) = 0;
    virtual base::Result<core::Page<core::Job>> ListJobs(const core::JobFilter& filter,
                                                         std::optional<core::PageCursor> after,
                                                         int limit) = 0;
    virtual base::Result<core::Page<core::InboundFax>> ListInbound(const core::InboundFilter& filter,
                                                                   std::optional<core::PageCursor> after,
                                                                   int limit) = 0;
    // The pages as sent (rendered TIFF) or received; kInvalidArgument while a job is not rendered yet.
    virtual base::Result<std::filesystem::path> JobDocument(const core::Job& job) = 0;
    virtual base::Result<std::filesystem::path> InboundDocument(const core::InboundFax& fax) = 0;
    virtual base::Result<std::string> TiffAsPdf(const std::filesystem::path& tiff) = 0;
    // A transmission report of the given lines of text, as fax pages in a PDF (bytes).
    virtual base::Result<std::string> ReportPdf(const std::vector<std::string>& lines) = 0;
    virtual base::Result<void> DeleteInbound(std::int64_t id) = 0;
    // Cancels the job first when it is not final, then removes it and the documents nobody else uses.
    virtual base::Result<void> DeleteJob(core::JobId id) = 0;

    virtual core::QueueControl& queue() = 0;
    virtual base::Result<bool> SendingStopped() = 0;
    virtual base::Result<std::optional<base::WallTime>> StoppedUntil() = 0;

    virtual base::Result<core::UserId> AddUser(const core::User& user) = 0;
    virtual base::Result<void> UpdateUser(const core::User& user) = 0;
    virtual base::Result<core::EntityId> AddEntity(const core::FaxEntity& entity) = 0;
    virtual base::Result<core::GroupId> AddGroup(const core::Group& group) = 0;

    virtual RoutesView Routes() = 0;
    virtual base::Result<RuntimeSettings> Settings() = 0;
    virtual base::Result<void> SaveSettings(const RuntimeSettings& settings) = 0;
};

}  // namespace faxd::web
