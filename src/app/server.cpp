#include "app/server.hpp"

#include "app/local_time.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include <sys/stat.h>

#include <iostream>

#include "base/atomic_file.hpp"
#include "base/log.hpp"
#include "render/fax_page.hpp"
#include "render/fax_tiff.hpp"
#include "web/api.hpp"
#include "web/credentials.hpp"

namespace faxd::app {
namespace {

// docs/api/openapi.json, compiled in (CMake writes it as a raw string literal).
constexpr std::string_view kOpenApiJson =
#include "openapi.inc"
    ;

using base::ErrorCode;
using base::MakeError;

std::string HostName() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "node-1";
    return name;
}

// A relative SQLite path is relative to the working directory, like spool.directory; its folder is made.
base::Result<void> PrepareSqlitePath(const std::string& url) {
    if (url.rfind("sqlite:", 0) != 0) return {};
    const std::filesystem::path path = url.substr(7);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
        return MakeError(ErrorCode::kIo,
                         "cannot create " + path.parent_path().string() + ": " + ec.message());
    return {};
}

// Pages of a received fax on disk. A reception cut short by a crash never renamed its file into place: the
// pages spandsp finished are in the temporary file beside it (".<name>.tmpXXXXXX"; spandsp writes each page
// whole when it ends). The file with the most readable pages becomes the document; the others go.
int SalvageReceivedPages(const std::filesystem::path& path) {
    const auto readable_pages = [](const std::filesystem::path& file) {
        auto tiff = render::FaxTiff::Open(file);
        if (!tiff) return 0;
        int pages = 0;
        do {
            auto info = tiff->PageInfo();
            if (!info || !tiff->Decode(*info)) break;
            ++pages;
        } while (tiff->NextPage());
        return pages;
    };
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return readable_pages(path);
    const std::string prefix = "." + path.filename().string() + ".tmp";
    std::filesystem::path best;
    int best_pages = 0;
    for (const auto& entry : std::filesystem::directory_iterator(path.parent_path(), ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        const int pages = readable_pages(entry.path());
        if (pages > best_pages) {
            if (!best.empty()) std::filesystem::remove(best, ec);
            best = entry.path();
            best_pages = pages;
        } else {
            std::filesystem::remove(entry.path(), ec);
        }
    }
    if (best_pages == 0) return 0;
    if (auto synced = base::SyncPath(best); !synced) return 0;
    std::filesystem::rename(best, path, ec);
    if (ec) return 0;
    (void)base::SyncPath(path.parent_path());
    return best_pages;
}

}  // namespace

base::Result<std::unique_ptr<FaxServer>> FaxServer::Start(const FaxdConfig& config) {
    auto log = base::GetLogger("faxd");
    std::unique_ptr<FaxServer> server(new FaxServer(config));
    server->node_ = config.queue.node.empty() ? HostName() : config.queue.node;

    if (auto prepared = PrepareSqlitePath(config.store_url); !prepared)
        return tl::unexpected(prepared.error());
    store::StoreOptions store_options;
    store_options.node = server->node_;
    store_options.lease = config.queue.lease;
    auto opened = store::OpenStore(config.store_url, store_options);
    if (!opened) return tl::unexpected(opened.error());
    server->store_ = std::move(*opened);
    FaxServer* self = server.get();
    // Events need the directory (who may see a fax): the API's cache once it runs, the store before.
    server->events_ = std::make_unique<web::EventHub>(
        *server->store_, server->clock_,
        [self]() -> std::shared_ptr<const core::Directory> {
            if (self->api_) return self->api_->CachedDirectory();
            auto directory = self->store_->Load();
            return std::make_shared<const core::Directory>(directory ? std::move(*directory)
                                                                     : core::Directory{});
        },
        core::Permission::kUser,
        [self] {
            if (self->webhooks_) self->webhooks_->Wake();
        });
    server->jobs_ = std::make_unique<EventingJobStore>(
        *server->store_, *server->events_,
        [self](core::JobId id) { return self->line_ ? self->line_->LastBitRate(id) : 0; });

    auto spool = store::Spool::Open(config.spool_dir / "documents");
    if (!spool) return tl::unexpected(spool.error());
    server->spool_.emplace(std::move(*spool));
    auto records = ReceivedSpool::Open(config.spool_dir);
    if (!records) return tl::unexpected(records.error());
    server->records_.emplace(std::move(*records));

    if (auto provisioned = server->Provision(); !provisioned) return tl::unexpected(provisioned.error());
    auto directory = server->store_->Load();
    if (!directory) return tl::unexpected(directory.error());
    auto routing = server->ResolveRouting(*directory);
    if (!routing) return tl::unexpected(routing.error());
    server->routing_ = *routing;

    server->desk_ = std::make_unique<core::InboundDesk>(
        *server->jobs_, [self] { return self->store_->Load(); }, *routing, server->node_, server->clock_,
        [self](const std::string& document) {
            auto path = self->spool_->PathOf(document);
            return path ? SalvageReceivedPages(*path) : 0;
        });
    // Receptions this node had open when it stopped keep the pages that reached the disk.
    if (auto recovered = server->desk_->RecoverStale(true); !recovered)
        return tl::unexpected(recovered.error());
    else if (*recovered > 0)
        log->warn("closed {} reception(s) interrupted by the last stop", *recovered);
    // Only now: the interrupted receptions above took their pages out of such files first.
    if (auto leftovers = server->spool_->RemoveLeftovers(); leftovers && *leftovers > 0) {
        log->info("removed {} unfinished spool file(s) a crash left behind", *leftovers);
    }

    FaxRendererConfig render_config;
    render_config.options.temp_parent = config.spool_dir / "tmp";
    render_config.options.resolution = config.render.resolution == "standard" ? render::Resolution::kStandard
                                       : config.render.resolution == "superfine"
                                           ? render::Resolution::kSuperfine
                                           : render::Resolution::kFine;
    render_config.options.max_pages = config.render.max_pages;
    render_config.options.timeout = config.render.timeout;
    render_config.options.limits.wall = config.render.timeout;
    render_config.options.limits.cpu = config.render.timeout;
    render_config.cover_dir = config.render.cover_dir;
    if (config.render.office) {
        render::OfficePoolOptions office;
        office.instances = config.render.office_instances;
        office.timeout = config.render.office_timeout;
        office.temp_parent = render_config.options.temp_parent;
        server->office_ = std::make_unique<render::OfficePool>(office);
        render_config.options.office = server->office_.get();
    }
    std::error_code ec;
    std::filesystem::create_directories(render_config.options.temp_parent, ec);
    render_config.directory = [self] { return self->store_->Load(); };
    render_config.local_date_time = LocalDateTime;
    server->renderer_ = std::make_unique<FaxRenderer>(*server->spool_, render_config);

    // faxd draws its own header line (page n/m, reference) on each attempt's pages; spandsp's would add a
    // second one.
    sip::SipConfig sip_config = config.sip;
    sip_config.fax.header_info.clear();
    auto endpoint = sip::SipEndpoint::Start(
        sip_config, [self](const sip::InboundCallInfo& call) { return self->AdmitCall(call); },
        [self](const sip::InboundFax& fax) { self->CallEnded(fax); },
        [self](const sip::InboundCallInfo& call, int pages, int bit_rate) {
            self->PageReceived(call, pages, bit_rate);
        });
    if (!endpoint) return tl::unexpected(endpoint.error());
    server->endpoint_ = std::move(*endpoint);

    SipFaxLineConfig line_config;
    line_config.routes = config.routes;
    line_config.plan = config.numbers;
    line_config.work_dir = config.spool_dir / "attempts";
    line_config.header_sender =
        config.sip.fax.header_info.empty() ? config.sip.fax.local_ident : config.sip.fax.header_info;
    line_config.local_date_time = LocalDateTime;
    line_config.fax = sip_config.fax;
    server->line_ =
        std::make_unique<SipFaxLine>(*server->endpoint_, line_config, [self](const std::string& name) {
            auto path = self->spool_->PathOf(name);
            return path ? *path : std::filesystem::path();
        });

    core::DispatcherConfig dispatch;
    dispatch.node = server->node_;
    dispatch.lines = config.queue.lines;
    dispatch.retry = config.queue.retry;
    dispatch.lease = config.queue.lease;
    dispatch.local_minute_of_day = LocalMinuteOfDay;
    dispatch.wake = [self] { self->Wake(); };
    server->dispatcher_ = std::make_unique<core::Dispatcher>(*server->jobs_, *server->line_,
                                                             *server->renderer_, server->clock_, dispatch);
    if (auto recovered = server->dispatcher_->Recover(); !recovered) return tl::unexpected(recovered.error());
    if (!config.queue.sending_enabled) {
        server->dispatcher_->DisableSending();
        log->warn("sending is switched off ([queue] sending_enabled = false): jobs wait in the queue");
    }

    server->ApplyRuntimeSettings();
    if (auto api = server->StartApi(); !api) return tl::unexpected(api.error());
    if (config.mail.enabled) {
        MailGatewayParts mail;
        mail.config = &server->config_;
        mail.api = server->api_.get();
        mail.store = server->store_.get();
        mail.spool = &*server->spool_;
        mail.directory = config.spool_dir / "mail";
        auto gateway = MailGateway::Start(mail);
        if (!gateway) return tl::unexpected(gateway.error());
        server->mail_ = std::move(*gateway);
        EventingJobStore::Observer observer;
        observer.job_finished = [self](const core::Job& job) { self->mail_->JobFinished(job); };
        observer.inbound_finished = [self](const core::InboundFax& fax) {
            self->mail_->InboundFinished(fax);
        };
        server->jobs_->SetObserver(std::move(observer));
    }

    server->dispatch_thread_ = std::jthread([self] { self->DispatchLoop(); });
    server->render_thread_ = std::jthread([self] { self->RenderLoop(); });
    log->info("node '{}': store {}, spool {}", server->node_, config.store_url,
              server->spool_->root().string());
    log->info("receiving faxes into {}; call records in {}", server->spool_->root().string(),
              server->records_->directory().string());
    return server;
}

FaxServer::~FaxServer() { Stop(); }

void FaxServer::Stop() {
    if (stopping_.exchange(true)) return;
    if (http_) http_->Stop();
    if (webhooks_) webhooks_->Stop();
    if (mail_) mail_->Stop();  // its notices of jobs that still end are kept for the next start
    Wake();
    if (dispatch_thread_.joinable()) dispatch_thread_.join();
    if (render_thread_.joinable()) render_thread_.join();
    if (endpoint_) endpoint_->Shutdown();
    // The calls just hung up report back: record them now rather than as interrupted at the next start.
    if (dispatcher_) {
        if (auto recorded = dispatcher_->RecordFinishedAttempts(); !recorded) {
            base::GetLogger("faxd")->warn("recording the last attempts: {}", recorded.error().ToString());
        }
    }
}

base::Result<void> FaxServer::Provision() {
    auto directory = store_->Load();
    if (!directory) return tl::unexpected(directory.error());
    auto find = [&](const std::string& login) -> const core::User* {
        for (const core::User& user : directory->users) {
            if (user.login == login) return &user;
        }
        return nullptr;
    };
    for (core::User user : config_.users) {
        if (const core::User* existing = find(user.login)) {
            user.id = existing->id;
            // The mail PIN and PGP key are set through the API or by the mail gateway from [[users]].
            user.mail_pin_hash = existing->mail_pin_hash;
            user.pgp_fingerprint = existing->pgp_fingerprint;
            if (auto updated = store_->UpdateUser(user); !updated) return updated;
        } else if (auto added = store_->AddUser(user); !added) {
            return tl::unexpected(added.error());
        }
    }
    // There is always an administrator called admin (created on the first start), who also receives what
    // nobody else owns unless [inbound] default_user says otherwise.
    if (find("admin") == nullptr && std::none_of(config_.users.begin(), config_.users.end(),
                                                 [](const core::User& u) { return u.login == "admin"; })) {
        core::User admin;
        admin.login = "admin";
        admin.name = "Fax administrator";
        admin.permission = core::Permission::kAdministrator;
        if (auto added = store_->AddUser(admin); !added) return tl::unexpected(added.error());
        base::GetLogger("faxd")->info("created the administrator 'admin'");
    }
    // Entities and groups named in the config, created once (members by login).
    if (!config_.entities.empty() || !config_.groups.empty()) {
        auto now = store_->Load();
        if (!now) return tl::unexpected(now.error());
        const auto login_id = [&](const std::string& login) -> base::Result<core::UserId> {
            for (const core::User& user : now->users) {
                if (user.login == login) return user.id;
            }
            return MakeError(ErrorCode::kNotFound,
                             "the config names user '" + login + "', who does not exist");
        };
        for (const EntityConfig& wanted : config_.entities) {
            if (std::any_of(now->entities.begin(), now->entities.end(),
                            [&](const core::FaxEntity& e) { return e.name == wanted.name; })) {
                continue;
            }
            core::FaxEntity entity{0, wanted.name, wanted.number, wanted.settings_template, {}};
            for (const auto& member : wanted.members) {
                auto id = login_id(member.login);
                if (!id) return tl::unexpected(id.error());
                entity.members.push_back({*id, member.send, member.receive});
            }
            if (auto added = store_->AddEntity(entity); !added) return tl::unexpected(added.error());
        }
        for (const GroupConfig& wanted : config_.groups) {
            if (std::any_of(now->groups.begin(), now->groups.end(),
                            [&](const core::Group& g) { return g.name == wanted.name; })) {
                continue;
            }
            core::Group group{0, wanted.name, wanted.numbers, {}};
            for (const auto& login : wanted.members) {
                auto id = login_id(login);
                if (!id) return tl::unexpected(id.error());
                group.members.push_back(*id);
            }
            if (auto added = store_->AddGroup(group); !added) return tl::unexpected(added.error());
        }
    }
    return {};
}

base::Result<core::InboundRoutingConfig> FaxServer::ResolveRouting(const core::Directory& directory) const {
    const auto resolve = [&](const OwnerRef& owner) -> base::Result<std::int64_t> {
        if (owner.kind == core::OwnerKind::kUser) {
            for (const auto& user : directory.users) {
                if (user.login == owner.name) return user.id;
            }
        } else if (owner.kind == core::OwnerKind::kEntity) {
            for (const auto& entity : directory.entities) {
                if (entity.name == owner.name) return entity.id;
            }
        } else {
            for (const auto& group : directory.groups) {
                if (group.name == owner.name) return group.id;
            }
        }
        return MakeError(ErrorCode::kNotFound,
                         "inbound routing names '" + owner.name + "', who does not exist");
    };
    core::InboundRoutingConfig routing;
    routing.incoming_enabled = config_.inbound.enabled;
    if (!config_.inbound.default_user.empty()) {
        auto id = resolve({core::OwnerKind::kUser, config_.inbound.default_user});
        if (!id) return tl::unexpected(id.error());
        routing.default_user = *id;
    }
    for (const RangeRoute& range : config_.inbound.ranges) {
        auto id = resolve(range.owner);
        if (!id) return tl::unexpected(id.error());
        routing.ranges.push_back({range.range, range.owner.kind, *id});
    }
    for (const LineRoute& line : config_.inbound.lines) {
        auto id = resolve(line.owner);
        if (!id) return tl::unexpected(id.error());
        routing.lines.push_back({line.line, core::CatchAllRoute{{}, line.owner.kind, *id}});
    }
    return routing;
}

base::Result<std::filesystem::path> FaxServer::AdmitCall(const sip::InboundCallInfo& call) {
    // Called numbers arrive as "+4930123" or "200"; the directory keeps digits only.
    std::string dnis;
    for (char c : call.dnis) {
        if (c >= '0' && c <= '9') dnis += c;
    }
    // The line is the trunk the call came from (its signalling host): routes for lines without DID use it.
    auto admission = desk_->Admit({dnis, call.ani, call.call_id, call.remote_address});
    if (!admission) {
        base::GetLogger("faxd")->info("refused fax call to '{}': {}", call.dnis, admission.error().message);
        return tl::unexpected(admission.error());
    }
    auto path = spool_->PathOf(admission->document);
    if (!path) return tl::unexpected(path.error());
    std::error_code ec;
    std::filesystem::create_directories(path->parent_path(), ec);
    if (ec)
        return MakeError(ErrorCode::kIo,
                         "cannot create " + path->parent_path().string() + ": " + ec.message());
    std::lock_guard lock(admissions_mutex_);
    admissions_[call.call_id] = *admission;
    admitted_at_[call.call_id] = clock_.WallNow();
    return *path;
}

void FaxServer::CallEnded(const sip::InboundFax& fax) {
    auto log = base::GetLogger("faxd");
    std::optional<core::Admission> admission;
    {
        std::lock_guard lock(admissions_mutex_);
        if (auto it = admissions_.find(fax.call.call_id); it != admissions_.end()) {
            admission = it->second;
            admissions_.erase(it);
            admitted_at_.erase(fax.call.call_id);
        }
    }
    if (admission) {
        core::InboundEnd end;
        end.success = fax.result.success;
        end.pages = fax.result.fax.pages_confirmed;
        end.remote_ident = fax.result.fax.remote_ident;
        end.duration_seconds = fax.result.duration_seconds;
        end.reason = fax.result.reason;
        auto completed = desk_->Complete(*admission, end);
        if (!completed) {
            log->error("cannot record received fax {}: {}", admission->reference.ToString(),
                       completed.error().ToString());
        } else {
            log->info("fax {} from '{}' to '{}' ({}): {} page(s), {}", admission->reference.ToString(),
                      fax.call.ani, fax.call.dnis, admission->destination.matched_by, end.pages,
                      end.success ? "received" : fax.result.reason);
        }
    }
    // The call detail record beside the spool, for operators and tests.
    if (auto record = records_->Record(fax); !record) {
        log->error("cannot write the call record: {}", record.error().ToString());
    }
}

// A page of an incoming fax is on disk: live progress for the API (no database read on the media thread; the
// event hub does the rest on its own thread).
void FaxServer::PageReceived(const sip::InboundCallInfo& call, int pages, int bit_rate) {
    core::InboundFax fax;
    {
        std::lock_guard lock(admissions_mutex_);
        auto it = admissions_.find(call.call_id);
        if (it == admissions_.end()) return;
        fax.id = it->second.id;
        fax.reference = it->second.reference;
        fax.destination = it->second.destination;
        fax.document = it->second.document;
        if (auto at = admitted_at_.find(call.call_id); at != admitted_at_.end()) fax.started = at->second;
    }
    fax.dnis = call.dnis;
    fax.ani = call.ani;
    fax.call_id = call.call_id;
    fax.node = node_;
    fax.state = core::InboundState::kReceiving;
    fax.pages = pages;
    events_->InboundPage(fax, {pages, 0, bit_rate});
}

void FaxServer::Wake() {
    std::lock_guard lock(wake_mutex_);
    wake_.notify_all();
}

void FaxServer::DispatchLoop() {
    auto log = base::GetLogger("faxd");
    auto next_purge = std::chrono::steady_clock::now() + std::chrono::minutes{1};
    auto next_inbound_check = std::chrono::steady_clock::now() + config_.queue.lease;
    while (!stopping_) {
        ApplyRuntimeSettings();
        // Receptions of a node that died (its lease ran out) are filed with the pages it left on disk.
        if (std::chrono::steady_clock::now() >= next_inbound_check) {
            next_inbound_check = std::chrono::steady_clock::now() + config_.queue.lease;
            if (auto recovered = desk_->RecoverStale(false); !recovered) {
                log->error("closing receptions of stopped nodes: {}", recovered.error().ToString());
            } else if (*recovered > 0) {
                log->warn("closed {} reception(s) a stopped node left open", *recovered);
            }
        }
        if (auto round = dispatcher_->DispatchRound(); !round) {
            log->error("dispatch: {}", round.error().ToString());
        } else if (*round > 0) {
            log->info("started {} call(s)", *round);
        }
        const int retention_days = retention_days_.load();
        if (retention_days > 0 && std::chrono::steady_clock::now() >= next_purge) {
            next_purge = std::chrono::steady_clock::now() + std::chrono::hours{1};
            const auto before = clock_.WallNow() - std::chrono::hours{24} * retention_days;
            if (auto purged = store_->PurgeOlderThan(before); purged) {
                for (const std::string& name : *purged) spool_->Remove(name);
                if (!purged->empty()) log->info("retention: deleted {} old document(s)", purged->size());
            } else {
                log->error("retention: {}", purged.error().ToString());
            }
        }
        std::unique_lock lock(wake_mutex_);
        wake_.wait_for(lock, config_.queue.poll_interval, [this] { return stopping_.load(); });
    }
}

void FaxServer::RenderLoop() {
    auto log = base::GetLogger("faxd");
    while (!stopping_) {
        auto rendered = dispatcher_->RenderQueued(4);
        if (!rendered) {
            log->error("rendering: {}", rendered.error().ToString());
        } else if (*rendered > 0) {
            log->info("{} job(s) ready to send", *rendered);
            Wake();
        }
        std::unique_lock lock(wake_mutex_);
        wake_.wait_for(lock, config_.queue.poll_interval, [this] { return stopping_.load(); });
    }
}

void FaxServer::ApplyRuntimeSettings() {
    web::RuntimeSettings settings;
    settings.incoming_enabled = config_.inbound.enabled;
    settings.sending_enabled = config_.queue.sending_enabled;
    settings.retention_days = config_.queue.retention_days;
    if (api_) {
        auto stored = api_->Settings();
        if (!stored) {
            base::GetLogger("faxd")->warn("cannot read the runtime settings: {}", stored.error().ToString());
            return;
        }
        settings = *stored;
    }
    dispatcher_->SetSendingEnabled(settings.sending_enabled);
    retention_days_ = settings.retention_days;
    if (routing_.incoming_enabled != settings.incoming_enabled) {
        routing_.incoming_enabled = settings.incoming_enabled;
        desk_->SetRouting(routing_);
        base::GetLogger("faxd")->info("incoming faxes {}",
                                      settings.incoming_enabled ? "enabled" : "disabled");
    }
}

base::Result<void> FaxServer::StartApi() {
    ServerApiParts parts;
    parts.store = store_.get();
    parts.jobs = jobs_.get();
    parts.spool = &*spool_;
    parts.dispatcher = dispatcher_.get();
    parts.clock = &clock_;
    parts.config = &config_;
    parts.temp_dir = config_.spool_dir / "tmp";
    parts.wake = [this] { Wake(); };
    api_ = std::make_unique<ServerApi>(parts);
    if (!config_.http.enabled) return {};

    webhooks_ = std::make_unique<web::WebhookSender>(*store_, clock_, web::WebhookSenderConfig{});
    webhooks_->Start();

    web::Router router;
    web::ApiOptions options;
    options.version = FAXD_VERSION_STRING;
    options.openapi_json = std::string(kOpenApiJson);
    web::AddApiRoutes(router, *api_, *events_, options);
    web::HttpServerConfig http;
    http.address = config_.http.listen;
    http.port = config_.http.port;
    http.threads = config_.http.threads;
    http.tls_certificate = config_.http.tls_certificate;
    http.tls_private_key = config_.http.tls_private_key;
    http.max_body_bytes = static_cast<std::size_t>(config_.http.max_upload_mb) * 1024 * 1024;
    auto server = web::HttpServer::Start(http, std::move(router));
    if (!server) return tl::unexpected(server.error());
    http_ = std::move(*server);
    base::GetLogger("faxd")->info("API on {}://{}:{}/api/v1 (OpenAPI: /api/v1/openapi.json)",
                                  config_.http.tls_certificate.empty() ? "http" : "https",
                                  config_.http.listen, http_->port());
    return CreateAdminToken();
}

// The first start gives the administrator an API token: printed once and written owner-only to a file, so
// `faxctl` works out of the box. Later starts leave tokens alone (faxd keeps only their hashes).
base::Result<void> FaxServer::CreateAdminToken() {
    auto directory = store_->Load();
    if (!directory) return tl::unexpected(directory.error());
    const core::User* admin = nullptr;
    for (const core::User& user : directory->users) {
        if (user.login == "admin") admin = &user;
    }
    if (!admin) return {};
    auto tokens = store_->ListTokens(admin->id);
    if (!tokens) return tl::unexpected(tokens.error());
    if (!tokens->empty()) return {};
    const web::NewToken made = web::GenerateToken();
    core::ApiToken token;
    token.user = admin->id;
    token.name = "created on first start";
    token.hash = made.hash;
    token.prefix = made.prefix;
    token.created = clock_.WallNow();
    const std::filesystem::path& file = config_.http.admin_token_file;
    if (!file.empty()) {
        std::error_code ec;
        if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
        const mode_t old_mask = ::umask(077);
        auto written = base::WriteFileAtomically(file, made.token + "\n");
        ::umask(old_mask);
        if (!written) return tl::unexpected(written.error());
        ::chmod(file.c_str(), 0600);
    }
    if (auto added = store_->AddToken(token); !added) return tl::unexpected(added.error());
    std::cout << "faxd: the administrator's API token (shown once";
    if (!file.empty()) std::cout << ", also in " << file.string();
    std::cout << "): " << made.token << std::endl;
    base::GetLogger("faxd")->info("created the administrator's API token {}...{}", made.prefix,
                                  file.empty() ? "" : " (written to " + file.string() + ")");
    return {};
}

}  // namespace faxd::app
