#include "app/server_api.hpp"

#include <fstream>
#include <sstream>

#include "render/detect.hpp"
#include "render/subprocess.hpp"
#include "render/text_pages.hpp"
#include "render/tiff_to_pdf.hpp"

namespace faxd::app {

using base::ErrorCode;
using base::MakeError;

ServerApi::ServerApi(ServerApiParts parts)
    : parts_(std::move(parts)), queue_(*parts_.jobs, *parts_.dispatcher, *parts_.clock) {}

base::Result<std::shared_ptr<const core::Directory>> ServerApi::Directory() {
    std::lock_guard lock(directory_mutex_);
    // Other nodes may change users: a short cache keeps a full directory read off every request.
    if (directory_ && std::chrono::steady_clock::now() - directory_read_ < std::chrono::seconds(2))
        return directory_;
    auto loaded = parts_.store->Load();
    if (!loaded) return tl::unexpected(loaded.error());
    directory_ = std::make_shared<const core::Directory>(std::move(*loaded));
    directory_read_ = std::chrono::steady_clock::now();
    return directory_;
}

std::shared_ptr<const core::Directory> ServerApi::CachedDirectory() {
    auto directory = Directory();
    return directory ? *directory : std::make_shared<const core::Directory>();
}

void ServerApi::DirectoryChanged() {
    std::lock_guard lock(directory_mutex_);
    directory_.reset();
}

namespace {

std::string ExtensionOf(render::DocumentType type) {
    using render::DocumentType;
    switch (type) {
        case DocumentType::kPdf:
            return "pdf";
        case DocumentType::kPostScript:
            return "ps";
        case DocumentType::kTiff:
            return "tif";
        case DocumentType::kPng:
            return "png";
        case DocumentType::kJpeg:
            return "jpg";
        case DocumentType::kGif:
            return "gif";
        case DocumentType::kBmp:
            return "bmp";
        case DocumentType::kDocx:
            return "docx";
        case DocumentType::kXlsx:
            return "xlsx";
        case DocumentType::kPptx:
            return "pptx";
        case DocumentType::kOdt:
            return "odt";
        case DocumentType::kOds:
            return "ods";
        case DocumentType::kOdp:
            return "odp";
        case DocumentType::kDoc:
            return "doc";
        case DocumentType::kXls:
            return "xls";
        case DocumentType::kPpt:
            return "ppt";
        case DocumentType::kRtf:
            return "rtf";
        case DocumentType::kHtml:
            return "html";
        case DocumentType::kText:
        case DocumentType::kTextLatin1:
            return "txt";
        case DocumentType::kUnknown:
            break;
    }
    return "";
}

}  // namespace

base::Result<core::SubmissionResult> ServerApi::Submit(core::NewSubmission submission,
                                                       const std::vector<web::UploadedDocument>& files) {
    std::vector<std::string> stored;
    auto forget = [&] {
        for (const std::string& name : stored) (void)parts_.spool->Remove(name);
    };
    for (const web::UploadedDocument& file : files) {
        const auto head =
            std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(file.data.data()),
                                          std::min(file.data.size(), render::kDetectHeadBytes));
        const render::DocumentType type = render::DetectType(head, file.file_name);
        if (type == render::DocumentType::kUnknown ||
            (render::IsOfficeType(type) && !parts_.config->render.office)) {
            forget();
            return MakeError(ErrorCode::kUnsupported,
                             "'" + file.file_name +
                                 "' is not a document faxd converts (PDF, PostScript, Office, "
                                 "images, text, HTML)");
        }
        // The extension comes from the content, never from the client's file name.
        auto name = parts_.spool->Put(file.data, ExtensionOf(type));
        if (!name) {
            forget();
            return tl::unexpected(name.error());
        }
        stored.push_back(*name);
    }
    submission.documents = stored;
    auto result = parts_.jobs->Submit(submission, parts_.clock->WallNow());
    if (!result || result->replayed) forget();  // a replay keeps the first submission's documents
    if (result && !result->replayed && parts_.wake) parts_.wake();
    return result;
}

base::Result<core::SubmissionResult> ServerApi::Resend(const core::Job& job, const std::string& number,
                                                       core::UserId owner) {
    auto original = parts_.store->GetSubmission(job.submission);
    if (!original) return tl::unexpected(original.error());
    core::NewSubmission submission = *original;
    submission.owner = owner;
    submission.recipients = {{number, number == job.number ? job.recipient_name : std::string()}};
    submission.send_at.reset();
    submission.kill_at.reset();
    submission.idempotency_key.clear();
    // Copies, so deleting either fax never takes the other's documents.
    std::vector<std::string> copies;
    for (const std::string& name : original->documents) {
        auto path = parts_.spool->PathOf(name);
        if (!path) return tl::unexpected(path.error());
        const std::string extension = path->extension().string();
        auto copy = parts_.spool->PutFile(*path, extension.empty() ? "" : extension.substr(1));
        if (!copy) {
            for (const auto& made : copies) (void)parts_.spool->Remove(made);
            return MakeError(
                ErrorCode::kInvalidArgument,
                "the original documents are gone (deleted by retention?): " + copy.error().message);
        }
        copies.push_back(*copy);
    }
    submission.documents = copies;
    auto result = parts_.jobs->Submit(submission, parts_.clock->WallNow());
    if (!result) {
        for (const auto& made : copies) (void)parts_.spool->Remove(made);
    } else if (parts_.wake) {
        parts_.wake();
    }
    return result;
}

base::Result<core::Page<core::Job>> ServerApi::ListJobs(const core::JobFilter& filter,
                                                        std::optional<core::PageCursor> after, int limit) {
    return parts_.store->ListJobs(filter, after, limit);
}

base::Result<core::Page<core::InboundFax>> ServerApi::ListInbound(const core::InboundFilter& filter,
                                                                  std::optional<core::PageCursor> after,
                                                                  int limit) {
    return parts_.store->ListInbound(filter, after, limit);
}

base::Result<std::filesystem::path> ServerApi::JobDocument(const core::Job& job) {
    if (job.document.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "fax " + job.reference.ToString() +
                                                          " is not rendered yet (state " +
                                                          std::string(core::JobStateName(job.state)) + ")");
    }
    return parts_.spool->PathOf(job.document);
}

base::Result<std::filesystem::path> ServerApi::InboundDocument(const core::InboundFax& fax) {
    if (fax.document.empty() || fax.pages == 0) {
        return MakeError(ErrorCode::kNotFound, "fax " + fax.reference.ToString() + " has no received pages");
    }
    return parts_.spool->PathOf(fax.document);
}

namespace {

base::Result<std::string> ReadAll(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kIo, "cannot read " + path.string());
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

}  // namespace

base::Result<std::string> ServerApi::TiffAsPdf(const std::filesystem::path& tiff) {
    std::error_code ec;
    if (!std::filesystem::exists(tiff, ec)) return MakeError(ErrorCode::kNotFound, "the document is gone");
    auto work = render::TempDir::Create(parts_.temp_dir, "faxd-pdf-");
    if (!work) return tl::unexpected(work.error());
    const auto pdf = work->Path() / "fax.pdf";
    auto converted = render::ConvertFaxTiffToPdf(tiff, pdf, {});
    if (!converted) return tl::unexpected(converted.error());
    return ReadAll(pdf);
}

base::Result<std::string> ServerApi::ReportPdf(const std::vector<std::string>& lines) {
    auto work = render::TempDir::Create(parts_.temp_dir, "faxd-report-");
    if (!work) return tl::unexpected(work.error());
    const auto text = work->Path() / "report.txt";
    {
        std::ofstream out(text, std::ios::binary);
        for (const std::string& line : lines) out << line << '\n';
        if (!out) return MakeError(ErrorCode::kIo, "cannot write " + text.string());
    }
    render::RenderOptions options;
    options.temp_parent = work->Path();
    options.max_pages = 50;
    const auto tiff = work->Path() / "report.tif";
    auto rendered = render::RenderTextToFax(text, tiff, render::DocumentType::kText, options);
    if (!rendered) return tl::unexpected(rendered.error());
    const auto pdf = work->Path() / "report.pdf";
    render::PdfOptions pdf_options;
    pdf_options.title = "Fax transmission report";
    auto converted = render::ConvertFaxTiffToPdf(tiff, pdf, pdf_options);
    if (!converted) return tl::unexpected(converted.error());
    return ReadAll(pdf);
}

base::Result<void> ServerApi::DeleteInbound(std::int64_t id) {
    auto document = parts_.store->DeleteInbound(id);
    if (!document) return tl::unexpected(document.error());
    if (!document->empty()) (void)parts_.spool->Remove(*document);
    return {};
}

base::Result<void> ServerApi::DeleteJob(core::JobId id) {
    auto document = queue_.Delete(id);
    if (!document) return tl::unexpected(document.error());
    if (!document->empty()) (void)parts_.spool->Remove(*document);
    return {};
}

// The queue's stop switch only (not the global sending_enabled setting, which GET /settings shows).
base::Result<bool> ServerApi::SendingStopped() {
    auto value = parts_.store->GetSetting("queue.stopped_until");
    if (!value) return tl::unexpected(value.error());
    if (!*value || (*value)->empty()) return false;
    if (**value == "forever") return true;
    auto until = StoppedUntil();
    if (!until) return tl::unexpected(until.error());
    return *until && parts_.clock->WallNow() < **until;
}

base::Result<std::optional<base::WallTime>> ServerApi::StoppedUntil() {
    auto value = parts_.store->GetSetting("queue.stopped_until");
    if (!value) return tl::unexpected(value.error());
    if (!*value || (*value)->empty() || **value == "forever") return std::optional<base::WallTime>();
    try {
        return std::optional<base::WallTime>(base::WallTime(base::Duration(std::stoll(**value))));
    } catch (const std::exception&) {
        return std::optional<base::WallTime>();
    }
}

base::Result<core::UserId> ServerApi::AddUser(const core::User& user) {
    auto id = parts_.store->AddUser(user);
    DirectoryChanged();
    return id;
}

base::Result<void> ServerApi::UpdateUser(const core::User& user) {
    auto done = parts_.store->UpdateUser(user);
    DirectoryChanged();
    return done;
}

base::Result<core::EntityId> ServerApi::AddEntity(const core::FaxEntity& entity) {
    auto id = parts_.store->AddEntity(entity);
    DirectoryChanged();
    return id;
}

base::Result<core::GroupId> ServerApi::AddGroup(const core::Group& group) {
    auto id = parts_.store->AddGroup(group);
    DirectoryChanged();
    return id;
}

web::RoutesView ServerApi::Routes() {
    const FaxdConfig& config = *parts_.config;
    web::RoutesView view;
    view.default_user = config.inbound.default_user;
    auto owner = [](const OwnerRef& ref) {
        const char* kind = ref.kind == core::OwnerKind::kUser     ? "user"
                           : ref.kind == core::OwnerKind::kEntity ? "entity"
                                                                  : "group";
        return std::string(kind) + " " + ref.name;
    };
    for (const RangeRoute& range : config.inbound.ranges)
        view.ranges.emplace_back(range.range.first + "-" + range.range.last, owner(range.owner));
    for (const LineRoute& line : config.inbound.lines) view.lines.emplace_back(line.line, owner(line.owner));
    for (const sip::Route& route : config.routes) {
        std::string gateways;
        for (const auto& gateway : route.gateways) {
            if (!gateways.empty()) gateways += ", ";
            gateways += gateway.host + ":" + std::to_string(gateway.port);
        }
        view.outbound.emplace_back(route.prefix, route.name + " via " + gateways);
    }
    return view;
}

base::Result<web::RuntimeSettings> ServerApi::Settings() {
    web::RuntimeSettings settings;
    settings.incoming_enabled = parts_.config->inbound.enabled;
    settings.sending_enabled = parts_.config->queue.sending_enabled;
    settings.retention_days = parts_.config->queue.retention_days;
    auto read = [&](const char* key) -> base::Result<std::optional<std::string>> {
        return parts_.store->GetSetting(key);
    };
    auto incoming = read(kSettingIncoming);
    auto sending = read(kSettingSending);
    auto retention = read(kSettingRetention);
    if (!incoming) return tl::unexpected(incoming.error());
    if (!sending) return tl::unexpected(sending.error());
    if (!retention) return tl::unexpected(retention.error());
    if (*incoming && !(*incoming)->empty()) settings.incoming_enabled = **incoming == "true";
    if (*sending && !(*sending)->empty()) settings.sending_enabled = **sending == "true";
    if (*retention && !(*retention)->empty()) settings.retention_days = std::atoi((*retention)->c_str());
    return settings;
}

base::Result<void> ServerApi::SaveSettings(const web::RuntimeSettings& settings) {
    if (auto done = parts_.store->PutSetting(kSettingIncoming, settings.incoming_enabled ? "true" : "false");
        !done)
        return done;
    if (auto done = parts_.store->PutSetting(kSettingSending, settings.sending_enabled ? "true" : "false");
        !done)
        return done;
    if (auto done = parts_.store->PutSetting(kSettingRetention, std::to_string(settings.retention_days));
        !done)
        return done;
    if (parts_.wake) parts_.wake();
    return {};
}

}  // namespace faxd::app
