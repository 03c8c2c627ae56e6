// /api/v1/faxes: submit, list, show, documents, report, events, cancel, resend, queue actions, delete.
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "web/api_context.hpp"
#include "web/multipart.hpp"

namespace faxd::web::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdempotencyKey = 200;

std::optional<int> ParseInt(std::string_view text) {
    int value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<bool> ParseBool(std::string_view text) {
    if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "0" || text == "no" || text == "off" || text.empty()) return false;
    return std::nullopt;
}

// What a submission form (multipart or JSON) said, before it becomes a core::NewSubmission.
struct SubmitForm {
    std::vector<std::string> to;
    std::vector<UploadedDocument> files;
    std::vector<std::string> decoded;  // JSON uploads: the bytes the documents point into
    std::optional<std::string> recipient_name, cover, subject, comments, send_at, priority, resolution,
        entity, economy;
};

std::optional<HttpResponse> AddRecipients(SubmitForm& form, std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view one = text.substr(start, comma - start);
        while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
        while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
        if (!one.empty()) {
            auto number = NormalizeNumber(one);
            if (!number)
                return JsonError(400, "invalid_field", "to: '" + std::string(one) + "' is not a fax number");
            form.to.push_back(*number);
        }
        start = comma + 1;
    }
    return std::nullopt;
}

std::optional<HttpResponse> ReadMultipart(const HttpRequest& request, SubmitForm& form,
                                          const ApiOptions& options) {
    const std::string boundary = MultipartBoundary(request.Header("content-type"));
    if (boundary.empty()) return JsonError(400, "bad_request", "multipart/form-data without a boundary");
    // Room for one part per recipient and per file, and the other fields.
    MultipartLimits limits;
    limits.max_parts = options.max_recipients + options.max_files + 16;
    auto parts = ParseMultipart(boundary, request.body, limits);
    if (!parts) return JsonError(400, "bad_request", parts.error().message);
    for (const MultipartPart& part : *parts) {
        const std::string value(part.data);
        auto set = [&](std::optional<std::string>& field) { field = value; };
        if (part.name == "file" || part.name == "file[]" || part.name == "files") {
            form.files.push_back({SafeFileName(part.filename.value_or("document")), part.data});
        } else if (part.name == "to" || part.name == "to[]") {
            if (auto error = AddRecipients(form, value)) return error;
        } else if (part.name == "recipient_name") {
            set(form.recipient_name);
        } else if (part.name == "cover") {
            set(form.cover);
        } else if (part.name == "subject") {
            set(form.subject);
        } else if (part.name == "comments") {
            set(form.comments);
        } else if (part.name == "send_at") {
            set(form.send_at);
        } else if (part.name == "priority") {
            set(form.priority);
        } else if (part.name == "resolution") {
            set(form.resolution);
        } else if (part.name == "entity") {
            set(form.entity);
        } else if (part.name == "economy") {
            set(form.economy);
        } else {
            return JsonError(400, "bad_request", "unknown field '" + part.name + "'");
        }
    }
    return std::nullopt;
}

std::optional<HttpResponse> ReadJsonForm(const HttpRequest& request, SubmitForm& form) {
    auto parsed = ParseObject(request, {"to", "files", "recipient_name", "cover", "subject", "comments",
                                        "send_at", "priority", "resolution", "entity", "economy"});
    if (auto* error = std::get_if<HttpResponse>(&parsed)) return *error;
    const json& body = std::get<json>(parsed);
    try {
        if (body.contains("to")) {
            const json& to = body["to"];
            if (to.is_string()) {
                if (auto error = AddRecipients(form, to.get<std::string>())) return error;
            } else if (to.is_array()) {
                for (const json& one : to) {
                    if (auto error = AddRecipients(form, one.get<std::string>())) return error;
                }
            } else {
                return JsonError(400, "invalid_field", "to: a number or an array of numbers");
            }
        }
        if (body.contains("files")) {
            if (!body["files"].is_array()) return JsonError(400, "invalid_field", "files: an array");
            form.decoded.reserve(body["files"].size());
            for (const json& file : body["files"]) {
                if (!file.is_object())
                    return JsonError(400, "invalid_field", "files: objects with name and content_base64");
                for (const auto& [key, value] : file.items()) {
                    if (key != "name" && key != "content_base64")
                        return JsonError(400, "bad_request", "unknown field 'files[]." + key + "'");
                }
                const std::string encoded = file.value("content_base64", "");
                std::string bytes(encoded.size() * 3 / 4 + 3, '\0');
                std::size_t length = 0;
                if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(),
                                      encoded.data(), encoded.size(), " \r\n", &length, nullptr,
                                      sodium_base64_VARIANT_ORIGINAL) != 0) {
                    return JsonError(400, "invalid_field", "files: content_base64 is not base64");
                }
                bytes.resize(length);
                form.decoded.push_back(std::move(bytes));
                form.files.push_back({SafeFileName(file.value("name", "document")), form.decoded.back()});
            }
        }
        auto text = [&](const char* name, std::optional<std::string>& field) {
            if (!body.contains(name)) return;
            const json& value = body[name];
            field = value.is_string() ? value.get<std::string>() : value.dump();
        };
        text("recipient_name", form.recipient_name);
        text("cover", form.cover);
        text("subject", form.subject);
        text("comments", form.comments);
        text("send_at", form.send_at);
        text("priority", form.priority);
        text("resolution", form.resolution);
        text("entity", form.entity);
        text("economy", form.economy);
    } catch (const json::exception&) {
        return JsonError(400, "invalid_field", "to: numbers must be strings");
    }
    return std::nullopt;
}

json FaxList(const core::SubmissionResult& result, const Context& context) {
    json faxes = json::array();
    for (const core::Job& job : result.jobs) faxes.push_back(JobJson(job, *context.directory));
    return {{"faxes", faxes}};
}

HttpResponse Created(const core::SubmissionResult& result, const Context& context) {
    HttpResponse response = Json(result.replayed ? 200 : 201, FaxList(result, context));
    if (!result.jobs.empty())
        response.headers.emplace_back("Location", "/api/v1/faxes/" + JobFaxId(result.jobs[0].id));
    return response;
}

HttpResponse Submit(HttpRequest& request, ApiBackend& backend, const ApiOptions& options) {
    auto auth = Authenticate(request, backend);
    if (auto* error = std::get_if<HttpResponse>(&auth)) return *error;
    const Context& context = std::get<Context>(auth);
    const core::User& user = context.caller.user;

    SubmitForm form;
    const std::string_view type = request.Header("content-type");
    std::optional<HttpResponse> problem;
    if (type.starts_with("multipart/")) {
        problem = ReadMultipart(request, form, options);
    } else if (type.starts_with("application/json")) {
        problem = ReadJsonForm(request, form);
    } else {
        return JsonError(415, "unsupported_media_type",
                         "POST /faxes takes multipart/form-data or application/json");
    }
    if (problem) return *problem;
    if (form.to.empty()) return JsonError(400, "invalid_field", "to: at least one recipient number");
    if (form.to.size() > options.max_recipients)
        return JsonError(400, "invalid_field",
                         "to: at most " + std::to_string(options.max_recipients) + " recipients");
    if (form.files.empty()) return JsonError(400, "invalid_field", "file: at least one document");
    if (form.files.size() > options.max_files)
        return JsonError(400, "invalid_field",
                         "file: at most " + std::to_string(options.max_files) + " documents");
    for (const auto& file : form.files) {
        if (file.data.empty())
            return JsonError(400, "invalid_field", "file: '" + file.file_name + "' is empty");
    }
    if (!user.send_enabled)
        return JsonError(403, "forbidden", "sending is disabled for user '" + user.login + "'");

    core::NewSubmission submission;
    submission.owner = user.id;
    for (const std::string& number : form.to)
        submission.recipients.push_back({number, form.recipient_name.value_or("")});
    submission.cover_page = form.cover ? (*form.cover == "none" ? "" : *form.cover) : user.cover_page;
    submission.subject = form.subject.value_or("");
    submission.comments = form.comments.value_or("");
    if (form.send_at) {
        auto at = ParseTime(*form.send_at);
        if (!at)
            return JsonError(400, "invalid_field", "send_at: not an RFC 3339 time: '" + *form.send_at + "'");
        submission.send_at = *at;
    }
    if (form.priority) {
        auto priority = ParseInt(*form.priority);
        if (!priority || *priority < 0 || *priority > 255)
            return JsonError(400, "invalid_field", "priority: a number from 0 to 255");
        submission.priority = *priority;
    }
    if (form.resolution) {
        if (*form.resolution != "standard" && *form.resolution != "fine" && *form.resolution != "superfine")
            return JsonError(400, "invalid_field", "resolution: standard, fine or superfine");
        submission.resolution = *form.resolution;
    }
    if (form.economy) {
        auto economy = ParseBool(*form.economy);
        if (!economy) return JsonError(400, "invalid_field", "economy: true or false");
        submission.economy = *economy;
    }
    if (form.entity && !form.entity->empty()) {
        const core::FaxEntity* entity = nullptr;
        for (const auto& candidate : context.directory->entities)
            if (candidate.name == *form.entity) entity = &candidate;
        if (!entity) return JsonError(400, "invalid_field", "entity: no fax entity '" + *form.entity + "'");
        if (!context.caller.IsAdministrator() && !core::MaySendAs(*entity, user.id))
            return JsonError(403, "forbidden",
                             "user '" + user.login + "' may not send as '" + entity->name + "'");
        submission.entity = entity->id;
    }
    const std::string_view key = request.Header("idempotency-key");
    if (key.size() > kMaxIdempotencyKey)
        return JsonError(400, "invalid_field", "Idempotency-Key: at most 200 characters");
    submission.idempotency_key = std::string(key);

    auto result = backend.Submit(std::move(submission), form.files);
    if (!result) return FromError(result.error());
    return Created(*result, context);
}

// Cursor: "<ns>_<o|i>_<id>", opaque to clients. Order: time desc, outbound before inbound, id desc.
struct ListCursor {
    base::WallTime time{};
    bool outbound = true;
    std::int64_t id = 0;
};

std::string FormatCursor(const ListCursor& cursor) {
    return std::to_string(cursor.time.time_since_epoch().count()) + "_" + (cursor.outbound ? "o" : "i") +
           "_" + std::to_string(cursor.id);
}

std::optional<ListCursor> ParseCursor(std::string_view text) {
    const std::size_t first = text.find('_');
    if (first == std::string_view::npos || first + 2 >= text.size() || text[first + 2] != '_')
        return std::nullopt;
    ListCursor cursor;
    std::int64_t ns = 0;
    auto a = std::from_chars(text.data(), text.data() + first, ns);
    if (a.ec != std::errc() || a.ptr != text.data() + first) return std::nullopt;
    cursor.time = base::WallTime(base::Duration(ns));
    if (text[first + 1] != 'o' && text[first + 1] != 'i') return std::nullopt;
    cursor.outbound = text[first + 1] == 'o';
    const std::string_view id = text.substr(first + 3);
    auto b = std::from_chars(id.data(), id.data() + id.size(), cursor.id);
    if (b.ec != std::errc() || b.ptr != id.data() + id.size()) return std::nullopt;
    return cursor;
}

HttpResponse List(HttpRequest& request, ApiBackend& backend) {
    auto auth = Authenticate(request, backend);
    if (auto* error = std::get_if<HttpResponse>(&auth)) return *error;
    const Context& context = std::get<Context>(auth);

    static const std::set<std::string> known = {"direction",      "state",     "user",
                                                "number",         "reference", "created_after",
                                                "created_before", "limit",     "cursor"};
    for (const auto& [name, value] : request.query) {
        if (!known.count(name))
            return JsonError(400, "bad_request", "unknown query parameter '" + name + "'");
    }
    bool want_out = true, want_in = true;
    if (auto direction = request.Query("direction")) {
        if (*direction == "outbound")
            want_in = false;
        else if (*direction == "inbound")
            want_out = false;
        else
            return JsonError(400, "invalid_field", "direction: inbound or outbound");
    }
    core::JobFilter jobs;
    core::InboundFilter inbound;
    if (auto state = request.Query("state")) {
        auto job_state = core::ParseJobState(*state);
        std::optional<core::InboundState> in_state;
        if (*state == "receiving") in_state = core::InboundState::kReceiving;
        if (*state == "received") in_state = core::InboundState::kReceived;
        if (*state == "partial") in_state = core::InboundState::kPartial;
        if (*state == "failed") in_state = core::InboundState::kFailed;
        if (!job_state && !in_state)
            return JsonError(400, "invalid_field", "state: unknown state '" + *state + "'");
        if (job_state)
            jobs.state = *job_state;
        else
            want_out = false;
        if (in_state)
            inbound.state = *in_state;
        else
            want_in = false;
    }
    if (auto user = request.Query("user")) {
        auto id = ParseInt(*user);
        if (!id) return JsonError(400, "invalid_field", "user: a user id");
        if (!context.caller.IsAdministrator() && *id != context.caller.user.id)
            return JsonError(403, "forbidden", "only administrators list other users' faxes");
        jobs.owner = *id;
        inbound.recipient = *id;
    }
    if (!context.caller.IsAdministrator()) {
        jobs.owner = context.caller.user.id;
        inbound.recipient = context.caller.user.id;
    }
    if (auto number = request.Query("number")) {
        auto normalized = NormalizeNumber(*number);
        if (!normalized) return JsonError(400, "invalid_field", "number: not a fax number");
        jobs.number = *normalized;
        inbound.number = *normalized;
    }
    if (auto reference = request.Query("reference")) {
        auto parsed = core::ReferenceNumber::Parse(*reference);
        if (!parsed) return JsonError(400, "invalid_field", "reference: YYYY.NNNNNNNN");
        jobs.reference = *parsed;
        inbound.reference = *parsed;
    }
    std::optional<base::WallTime> after_time, before_time;
    if (auto text = request.Query("created_after")) {
        after_time = ParseTime(*text);
        if (!after_time) return JsonError(400, "invalid_field", "created_after: an RFC 3339 time");
    }
    if (auto text = request.Query("created_before")) {
        before_time = ParseTime(*text);
        if (!before_time) return JsonError(400, "invalid_field", "created_before: an RFC 3339 time");
    }
    int limit = 50;
    if (auto text = request.Query("limit")) {
        auto value = ParseInt(*text);
        if (!value || *value < 1 || *value > 1000) return JsonError(400, "invalid_field", "limit: 1 to 1000");
        limit = *value;
    }
    std::optional<core::PageCursor> out_after, in_after;
    if (before_time) {
        out_after = core::PageCursor{*before_time, 0};
        in_after = core::PageCursor{*before_time, 0};
    }
    if (auto text = request.Query("cursor")) {
        auto cursor = ParseCursor(*text);
        if (!cursor) return JsonError(400, "invalid_field", "cursor: not a cursor this server made");
        // Outbound rows at the cursor's time come before inbound ones, so each side resumes accordingly.
        out_after = core::PageCursor{cursor->time, cursor->outbound ? cursor->id : 0};
        in_after = core::PageCursor{cursor->time,
                                    cursor->outbound ? std::numeric_limits<std::int64_t>::max() : cursor->id};
    }

    core::Page<core::Job> out_page;
    core::Page<core::InboundFax> in_page;
    if (want_out) {
        auto page = backend.ListJobs(jobs, out_after, limit);
        if (!page) return FromError(page.error());
        out_page = std::move(*page);
    }
    if (want_in) {
        auto page = backend.ListInbound(inbound, in_after, limit);
        if (!page) return FromError(page.error());
        in_page = std::move(*page);
    }
    json faxes = json::array();
    std::size_t o = 0, i = 0;
    std::optional<ListCursor> last;
    bool crossed_after = false;
    while (static_cast<int>(faxes.size()) < limit &&
           (o < out_page.items.size() || i < in_page.items.size())) {
        bool take_out = i >= in_page.items.size();
        if (o < out_page.items.size() && i < in_page.items.size()) {
            take_out = out_page.items[o].created >= in_page.items[i].started;
        }
        const base::WallTime time = take_out ? out_page.items[o].created : in_page.items[i].started;
        if (after_time && time < *after_time) {
            crossed_after = true;
            break;
        }
        if (take_out) {
            const core::Job& job = out_page.items[o++];
            faxes.push_back(JobJson(job, *context.directory));
            last = ListCursor{job.created, true, job.id};
        } else {
            const core::InboundFax& fax = in_page.items[i++];
            faxes.push_back(InboundJson(fax, *context.directory));
            last = ListCursor{fax.started, false, fax.id};
        }
    }
    const bool more = !crossed_after && (o < out_page.items.size() || i < in_page.items.size() ||
                                         out_page.next.has_value() || in_page.next.has_value());
    return Json(
        200, {{"faxes", faxes}, {"next_cursor", more && last ? json(FormatCursor(*last)) : json(nullptr)}});
}

// The fax the path names, if the caller may see it; else the error response (404 for both unknown and
// not yours).
struct Found {
    FaxRef ref;
    std::optional<core::Job> job;
    std::optional<core::InboundFax> inbound;
};

std::variant<Found, HttpResponse> FindFax(HttpRequest& request, ApiBackend& backend, const Context& context) {
    const std::string& text = request.params["id"];
    auto ref = ParseFaxId(text);
    const auto not_found = JsonError(404, "not_found", "no fax '" + text + "'");
    if (!ref) return not_found;
    Found found{*ref, std::nullopt, std::nullopt};
    if (ref->outbound) {
        auto job = backend.GetJob(ref->id);
        if (!job) return job.error().code == base::ErrorCode::kNotFound ? not_found : FromError(job.error());
        if (!core::MaySeeJob(*context.directory, context.caller, *job)) return not_found;
        found.job = std::move(*job);
    } else {
        auto fax = backend.GetInbound(ref->id);
        if (!fax) return fax.error().code == base::ErrorCode::kNotFound ? not_found : FromError(fax.error());
        if (!core::MaySeeInbound(*context.directory, context.caller, *fax)) return not_found;
        found.inbound = std::move(*fax);
    }
    return found;
}

// Runs `body` with the authenticated caller and the fax the path names.
template <typename Body>
Handler WithFax(ApiBackend& backend, Body body) {
    return [&backend, body](HttpRequest& request) -> HttpResponse {
        auto auth = Authenticate(request, backend);
        if (auto* error = std::get_if<HttpResponse>(&auth)) return *error;
        const Context& context = std::get<Context>(auth);
        auto found = FindFax(request, backend, context);
        if (auto* error = std::get_if<HttpResponse>(&found)) return *error;
        return body(request, context, std::get<Found>(found));
    };
}

HttpResponse Show(ApiBackend& backend, const Context& context, const Found& found) {
    if (found.inbound) return Json(200, InboundJson(*found.inbound, *context.directory));
    auto attempts = backend.Attempts(found.job->id);
    if (!attempts) return FromError(attempts.error());
    return Json(200, JobJson(*found.job, *context.directory, &*attempts));
}

HttpResponse Document(HttpRequest& request, ApiBackend& backend, const Found& found) {
    const std::string format = request.Query("format").value_or("pdf");
    if (format != "pdf" && format != "tiff") return JsonError(400, "invalid_field", "format: pdf or tiff");
    auto path = found.job ? backend.JobDocument(*found.job) : backend.InboundDocument(*found.inbound);
    if (!path) return FromError(path.error(), true);
    HttpResponse response;
    const std::string reference =
        found.job ? found.job->reference.ToString() : found.inbound->reference.ToString();
    if (format == "tiff") {
        std::FILE* file = std::fopen(path->c_str(), "rb");
        if (!file) return JsonError(404, "not_found", "the document is gone (deleted by retention?)");
        char buffer[65536];
        std::size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) response.body.append(buffer, n);
        std::fclose(file);
        response.content_type = "image/tiff";
    } else {
        auto pdf = backend.TiffAsPdf(*path);
        if (!pdf) return FromError(pdf.error());
        response.body = std::move(*pdf);
        response.content_type = "application/pdf";
    }
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"" + reference + "." + format + "\"");
    return response;
}

HttpResponse Report(ApiBackend& backend, const Context& context, const Found& found) {
    std::vector<std::string> lines = {"FAX TRANSMISSION REPORT", ""};
    if (found.job) {
        const core::Job& job = *found.job;
        const core::User* owner = context.directory->FindUser(job.owner);
        lines.push_back("Reference:   " + job.reference.ToString());
        lines.push_back("Direction:   outbound");
        lines.push_back("To:          " + job.number +
                        (job.recipient_name.empty() ? "" : " (" + job.recipient_name + ")"));
        lines.push_back("From:        " + (owner ? owner->login : std::to_string(job.owner)));
        lines.push_back("Submitted:   " + FormatTime(job.created));
        lines.push_back("State:       " + std::string(core::JobStateName(job.state)));
        lines.push_back("Pages:       " + std::to_string(job.pages_confirmed) + " of " +
                        std::to_string(job.pages_total) + " confirmed");
        if (job.last_failure != core::FailureClass::kNone && job.state != core::JobState::kSent)
            lines.push_back("Last error:  " + std::string(core::FailureClassName(job.last_failure)) + " " +
                            job.last_reason);
        auto attempts = backend.Attempts(job.id);
        if (!attempts) return FromError(attempts.error());
        lines.push_back("");
        lines.push_back("Attempts:");
        for (const core::Attempt& a : *attempts) {
            char line[512];
            std::snprintf(line, sizeof line, "%2d  %s  %5.1f s  %-4s %-14s pages %d  %d bit/s  %s", a.number,
                          FormatTime(a.started).c_str(), a.duration_seconds, a.used_t38 ? "T.38" : "G711",
                          a.failure == core::FailureClass::kNone
                              ? "sent"
                              : std::string(core::FailureClassName(a.failure)).c_str(),
                          a.pages_confirmed, a.bit_rate, a.remote_ident.c_str());
            lines.push_back(line);
        }
    } else {
        const core::InboundFax& fax = *found.inbound;
        lines.push_back("Reference:   " + fax.reference.ToString());
        lines.push_back("Direction:   inbound");
        lines.push_back("To:          " + fax.dnis);
        lines.push_back("From:        " + fax.ani +
                        (fax.remote_ident.empty() ? "" : " (" + fax.remote_ident + ")"));
        lines.push_back("Received:    " + FormatTime(fax.started));
        lines.push_back("Pages:       " + std::to_string(fax.pages));
    }
    auto pdf = backend.ReportPdf(lines);
    if (!pdf) return FromError(pdf.error());
    HttpResponse response;
    response.content_type = "application/pdf";
    response.body = std::move(*pdf);
    return response;
}

HttpResponse Events(ApiBackend& backend, EventHub& events, const Context& context, const Found& found) {
    const std::string fax_id = found.job ? JobFaxId(found.job->id) : InboundFaxId(found.inbound->id);
    const bool final =
        found.job ? core::IsFinal(found.job->state) : found.inbound->state != core::InboundState::kReceiving;
    const std::string current = (found.job ? JobJson(*found.job, *context.directory)
                                           : InboundJson(*found.inbound, *context.directory))
                                    .dump();
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.on_stream = [&events, fax_id, final, current](std::shared_ptr<EventStream> stream) {
        json first = {{"id", 0}, {"type", "fax.state_changed"}, {"fax", json::parse(current)}};
        stream->Send(EventHub::SseFrame("fax.state_changed", 0, first.dump()));
        if (final) {
            stream->Close();
            return;
        }
        auto token = std::make_shared<std::int64_t>(0);
        *token = events.Subscribe(fax_id, [stream, token, &events](const std::string& type, std::int64_t id,
                                                                   const std::string& body) {
            const bool last = type == "fax.completed" || type == "fax.received";
            if (!stream->Send(EventHub::SseFrame(type, id, body)) || last) {
                if (last) stream->Close();
                events.Unsubscribe(*token);
            }
        });
    };
    (void)backend;
    return response;
}

}  // namespace

void AddFaxRoutes(Router& router, ApiBackend& backend, EventHub& events, const ApiOptions& options) {
    router.Add("POST", "/api/v1/faxes",
               [&backend, options](HttpRequest& request) { return Submit(request, backend, options); });
    router.Add("GET", "/api/v1/faxes", [&backend](HttpRequest& request) { return List(request, backend); });
    router.Add("GET", "/api/v1/faxes/{id}",
               WithFax(backend, [&backend](HttpRequest&, const Context& c, const Found& f) {
                   return Show(backend, c, f);
               }));
    router.Add("GET", "/api/v1/faxes/{id}/document",
               WithFax(backend, [&backend](HttpRequest& r, const Context&, const Found& f) {
                   return Document(r, backend, f);
               }));
    router.Add("GET", "/api/v1/faxes/{id}/report",
               WithFax(backend, [&backend](HttpRequest&, const Context& c, const Found& f) {
                   return Report(backend, c, f);
               }));
    router.Add("GET", "/api/v1/faxes/{id}/events",
               WithFax(backend, [&backend, &events](HttpRequest&, const Context& c, const Found& f) {
                   return Events(backend, events, c, f);
               }));

    // Queue actions on one outgoing fax; each answers the fax as it is afterwards.
    auto action = [&backend](const char* verb, bool admin_only, auto act) {
        return WithFax(backend,
                       [&backend, verb, admin_only, act](HttpRequest&, const Context& c,
                                                         const Found& f) -> HttpResponse {
                           if (!f.job)
                               return JsonError(409, "conflict",
                                                std::string("a received fax cannot be ") + verb);
                           if (admin_only && !c.caller.IsAdministrator())
                               return JsonError(403, "forbidden",
                                                std::string("only administrators may ") + verb + " a fax");
                           if (auto done = act(f.job->id); !done) return FromError(done.error(), true);
                           auto job = backend.GetJob(f.job->id);
                           if (!job) return FromError(job.error());
                           return Json(200, JobJson(*job, *c.directory));
                       });
    };
    router.Add("POST", "/api/v1/faxes/{id}/cancel",
               action("cancelled", false, [&backend](core::JobId id) { return backend.queue().Cancel(id); }));
    router.Add("POST", "/api/v1/faxes/{id}/hold",
               action("held", false, [&backend](core::JobId id) { return backend.queue().Hold(id); }));
    router.Add("POST", "/api/v1/faxes/{id}/release",
               action("released", false, [&backend](core::JobId id) { return backend.queue().Release(id); }));
    router.Add("POST", "/api/v1/faxes/{id}/send-now",
               action("send now", true, [&backend](core::JobId id) { return backend.queue().SendNow(id); }));

    router.Add(
        "POST", "/api/v1/faxes/{id}/resend",
        WithFax(backend, [&backend](HttpRequest& request, const Context& c, const Found& f) -> HttpResponse {
            if (!f.job) return JsonError(409, "conflict", "a received fax cannot be resent");
            auto body = ParseObject(request, {"to"}, true);
            if (auto* error = std::get_if<HttpResponse>(&body)) return *error;
            std::string number = f.job->number;
            const json& fields = std::get<json>(body);
            if (fields.contains("to")) {
                auto normalized = fields["to"].is_string() ? NormalizeNumber(fields["to"].get<std::string>())
                                                           : std::nullopt;
                if (!normalized) return JsonError(400, "invalid_field", "to: not a fax number");
                number = *normalized;
            }
            if (!c.caller.user.send_enabled)
                return JsonError(403, "forbidden",
                                 "sending is disabled for user '" + c.caller.user.login + "'");
            auto result = backend.Resend(*f.job, number, c.caller.user.id);
            if (!result) return FromError(result.error());
            return Created(*result, c);
        }));
    router.Add("DELETE", "/api/v1/faxes/{id}",
               WithFax(backend, [&backend](HttpRequest&, const Context&, const Found& f) -> HttpResponse {
                   auto done = f.job ? backend.DeleteJob(f.job->id) : backend.DeleteInbound(f.inbound->id);
                   if (!done) return FromError(done.error(), true);
                   HttpResponse response;
                   response.status = 204;
                   response.content_type.clear();
                   return response;
               }));
}

}  // namespace faxd::web::api
