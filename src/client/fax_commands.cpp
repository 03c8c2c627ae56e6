// send, status, list, cancel, resend, download: faxes through /api/v1/faxes.
#include <filesystem>
#include <set>

#include "client/command_support.hpp"
#include "client/text_output.hpp"

namespace faxd::client {
namespace {

using nlohmann::json;

// The faxes a submission made, one per recipient (POST /faxes, POST /faxes/{id}/resend).
void PrintSubmitted(Output& output, const json& answer) {
    if (output.json()) return output.Json(answer);
    std::vector<std::vector<std::string>> rows;
    for (const auto& fax : answer.value("faxes", json::array())) {
        rows.push_back(
            {Field(fax, "id"), Field(fax, "reference"), Field(fax, "number"), Field(fax, "state")});
    }
    PrintTable(output.out(), {"ID", "REFERENCE", "NUMBER", "STATE"}, rows);
}

struct SendArgs {
    ConnectionOptions connection;
    std::vector<std::string> to;
    std::vector<std::string> files;
    std::string cover, subject, comments, recipient_name, send_at, resolution, entity, idempotency_key;
    int priority = -1;  // -1: the server's default
    bool economy = false;
};

int RunSend(ApiClient& client, Output& output, const SendArgs& args) {
    if (args.to.empty()) return output.Usage("send needs --to NUMBER");
    if (args.files.empty() && args.cover.empty())
        return output.Usage("send needs a document (or --cover NAME for a cover page alone)");
    std::vector<FormPart> parts;
    for (const auto& file : args.files) {
        std::error_code error;
        if (!std::filesystem::is_regular_file(file, error)) return output.Usage("no such file: " + file);
        parts.push_back(FormPart::File("file", file));
    }
    for (const auto& number : args.to) parts.push_back(FormPart::Field("to", number));
    const std::pair<const char*, const std::string*> texts[] = {{"cover", &args.cover},
                                                                {"subject", &args.subject},
                                                                {"comments", &args.comments},
                                                                {"send_at", &args.send_at},
                                                                {"resolution", &args.resolution},
                                                                {"entity", &args.entity},
                                                                {"recipient_name", &args.recipient_name}};
    for (const auto& [name, value] : texts) {
        if (!value->empty()) parts.push_back(FormPart::Field(name, *value));
    }
    if (args.priority >= 0) parts.push_back(FormPart::Field("priority", std::to_string(args.priority)));
    if (args.economy) parts.push_back(FormPart::Field("economy", "true"));
    ExtraHeaders headers;
    if (!args.idempotency_key.empty()) headers.emplace_back("Idempotency-Key", args.idempotency_key);
    auto answer = client.PostForm("/faxes", parts, headers);
    if (!answer) return output.Failed(answer.error());
    PrintSubmitted(output, *answer);
    return kExitOk;
}

std::string ErrorText(const json& fax) {
    const json error = fax.value("error", json());
    if (!error.is_object()) return "-";
    return Field(error, "message") + " (" + Field(error, "type") + ", " + Field(error, "class") + ")";
}

void PrintFax(Output& output, const json& fax) {
    const json owner = fax.value("owner", json());
    const std::string owner_text =
        owner.is_object() ? (owner.contains("login") ? Field(owner, "login") : Field(owner, "name"))
                          : Text(owner);
    std::vector<std::pair<std::string, std::string>> fields = {{"id", Field(fax, "id")},
                                                               {"direction", Field(fax, "direction")},
                                                               {"reference", Field(fax, "reference")},
                                                               {"state", Field(fax, "state")},
                                                               {"number", Field(fax, "number")},
                                                               {"owner", owner_text},
                                                               {"pages", Field(fax, "pages")},
                                                               {"created", Field(fax, "created_at")}};
    const bool outbound = fax.value("direction", "") == "outbound";
    if (outbound) {
        fields.insert(fields.end(), {{"recipient", Field(fax, "recipient_name")},
                                     {"entity", Field(fax, "entity")},
                                     {"pages sent", Field(fax, "pages_sent")},
                                     {"priority", Field(fax, "priority")},
                                     {"resolution", Field(fax, "resolution")},
                                     {"send at", Field(fax, "send_at")},
                                     {"next attempt", Field(fax, "next_attempt_at")},
                                     {"tries", Field(fax, "tries")},
                                     {"dials", Field(fax, "dials")},
                                     {"error", ErrorText(fax)}});
    } else {
        fields.insert(fields.end(), {{"from", Field(fax, "from")},
                                     {"remote ident", Field(fax, "remote_ident")},
                                     {"duration s", Field(fax, "duration_seconds")}});
    }
    PrintFields(output.out(), fields);
    const json attempts = fax.value("attempts", json::array());
    if (attempts.empty()) return;
    output.out() << '\n';
    std::vector<std::vector<std::string>> rows;
    for (const auto& attempt : attempts) {
        rows.push_back({Field(attempt, "number"), Field(attempt, "started_at"),
                        Field(attempt, "duration_seconds"), Field(attempt, "route"),
                        Field(attempt, "transport"), Field(attempt, "result"),
                        Field(attempt, "pages_confirmed"), Field(attempt, "reason")});
    }
    PrintTable(output.out(), {"TRY", "STARTED", "SECONDS", "ROUTE", "TRANSPORT", "RESULT", "PAGES", "REASON"},
               rows);
}

struct ListArgs {
    ConnectionOptions connection;
    std::string direction, state, number, reference, user, cursor;
    int limit = 0;  // 0: the server's default
    bool all = false;
};

int RunList(ApiClient& client, Output& output, const ListArgs& args) {
    QueryParams query;
    const std::pair<const char*, const std::string*> filters[] = {{"direction", &args.direction},
                                                                  {"state", &args.state},
                                                                  {"number", &args.number},
                                                                  {"reference", &args.reference},
                                                                  {"user", &args.user}};
    for (const auto& [name, value] : filters) {
        if (!value->empty()) query.emplace_back(name, *value);
    }
    if (args.limit > 0) query.emplace_back("limit", std::to_string(args.limit));
    json faxes = json::array();
    json next_cursor = args.cursor.empty() ? json() : json(args.cursor);
    std::set<std::string> seen_cursors;
    do {
        QueryParams page_query = query;
        if (next_cursor.is_string()) page_query.emplace_back("cursor", next_cursor.get<std::string>());
        auto page = client.Get("/faxes", page_query);
        if (!page) return output.Failed(page.error());
        for (const auto& fax : page->value("faxes", json::array())) faxes.push_back(fax);
        next_cursor = page->value("next_cursor", json());
        // A server that hands out the same cursor twice would keep --all going forever.
        if (next_cursor.is_string() && !seen_cursors.insert(next_cursor.get<std::string>()).second) break;
    } while (args.all && next_cursor.is_string());
    if (output.json()) {
        output.Json({{"faxes", faxes}, {"next_cursor", next_cursor}});
        return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& fax : faxes) {
        const std::string number = fax.value("direction", "") == "inbound"
                                       ? Field(fax, "from") + " -> " + Field(fax, "number")
                                       : Field(fax, "number");
        rows.push_back({Field(fax, "id"), Field(fax, "reference"), Field(fax, "state"), number,
                        Field(fax, "pages"), Field(fax, "created_at")});
    }
    PrintTable(output.out(), {"ID", "REFERENCE", "STATE", "NUMBER", "PAGES", "CREATED"}, rows);
    if (next_cursor.is_string())
        output.Note("more: faxctl list --cursor " + next_cursor.get<std::string>() + " (or --all)");
    return kExitOk;
}

struct DownloadArgs {
    ConnectionOptions connection;
    std::string id;
    std::string file;
    std::string format = "pdf";
};

int RunDownload(ApiClient& client, Output& output, const DownloadArgs& args) {
    const std::string file = args.file.empty() ? args.id + "." + args.format : args.file;
    QueryParams query;
    if (args.format != "pdf") query.emplace_back("format", args.format);
    auto bytes = client.Download(ObjectPath("/faxes", args.id) + "/document", query, file);
    if (!bytes) return output.Failed(bytes.error());
    if (output.json()) {
        output.Json({{"id", args.id}, {"file", file}, {"format", args.format}, {"bytes", *bytes}});
    } else {
        output.out() << file << ": " << *bytes << " bytes\n";
    }
    return kExitOk;
}

template <typename Args>
std::shared_ptr<const ConnectionOptions> ConnectionOf(const std::shared_ptr<Args>& args) {
    return {args, &args->connection};
}

void AddSend(CLI::App& app, Streams streams) {
    auto args = std::make_shared<SendArgs>();
    auto* send = app.add_subcommand("send", "Send documents as a fax to one or more numbers");
    send->add_option("files", args->files, "documents (PDF, PostScript, Office, images, text), in order");
    // One value per --to (repeat it), so `--to 123 letter.pdf` never takes the document for a number.
    send->add_option("--to", args->to, "recipient number (required); repeat or separate with commas")
        ->delimiter(',')
        ->allow_extra_args(false);
    send->add_option("--cover", args->cover, "cover page template; \"none\" for no cover page");
    send->add_option("--subject", args->subject, "cover page subject");
    send->add_option("--comments", args->comments, "cover page comments");
    send->add_option("--recipient-name", args->recipient_name, "recipient's name for the cover page");
    send->add_option("--send-at", args->send_at, "not before this time (RFC 3339, 2026-12-05T18:00:00Z)");
    send->add_option("--priority", args->priority, "0 (first) to 255; default 100")
        ->check(CLI::Range(0, 255));
    send->add_option("--resolution", args->resolution, "standard, fine or superfine")
        ->check(CLI::IsMember({"standard", "fine", "superfine"}));
    send->add_option("--entity", args->entity, "send from this fax entity (name)");
    send->add_flag("--economy", args->economy, "send only inside the economy window");
    send->add_option(
        "--idempotency-key", args->idempotency_key,
        "a retried send with the same key returns the first one's faxes instead of sending again");
    AddConnectionOptions(send, args->connection);
    OnRun(send, ConnectionOf(args), streams,
          [args](ApiClient& client, Output& output) { return RunSend(client, output, *args); });
}

void AddStatusCancelResend(CLI::App& app, Streams streams) {
    struct IdArgs {
        ConnectionOptions connection;
        std::string id;
        std::string to;
    };
    auto status_args = std::make_shared<IdArgs>();
    auto* status = app.add_subcommand("status", "Show one fax with its attempts");
    status->add_option("id", status_args->id, "fax id (out-12, in-3)")->required();
    AddConnectionOptions(status, status_args->connection);
    OnRun(status, ConnectionOf(status_args), streams, [status_args](ApiClient& client, Output& output) {
        auto fax = client.Get(ObjectPath("/faxes", status_args->id));
        if (!fax) return output.Failed(fax.error());
        output.json() ? output.Json(*fax) : PrintFax(output, *fax);
        return kExitOk;
    });

    auto cancel_args = std::make_shared<IdArgs>();
    auto* cancel = app.add_subcommand("cancel", "Cancel an outgoing fax that is not final yet");
    cancel->add_option("id", cancel_args->id, "fax id")->required();
    AddConnectionOptions(cancel, cancel_args->connection);
    OnRun(cancel, ConnectionOf(cancel_args), streams, [cancel_args](ApiClient& client, Output& output) {
        auto fax = client.Post(ObjectPath("/faxes", cancel_args->id) + "/cancel");
        if (!fax) return output.Failed(fax.error());
        if (output.json()) {
            output.Json(*fax);
        } else {
            output.out() << cancel_args->id << ": " << (fax->is_object() ? Field(*fax, "state") : "cancelled")
                         << '\n';
        }
        return kExitOk;
    });

    auto resend_args = std::make_shared<IdArgs>();
    auto* resend = app.add_subcommand("resend", "Send a fax's documents again, as a new fax");
    resend->add_option("id", resend_args->id, "fax id")->required();
    resend->add_option("--to", resend_args->to, "another number (default: the same)");
    AddConnectionOptions(resend, resend_args->connection);
    OnRun(resend, ConnectionOf(resend_args), streams, [resend_args](ApiClient& client, Output& output) {
        const json body = resend_args->to.empty() ? json() : json{{"to", resend_args->to}};
        auto answer = client.Post(ObjectPath("/faxes", resend_args->id) + "/resend", body);
        if (!answer) return output.Failed(answer.error());
        PrintSubmitted(output, *answer);
        return kExitOk;
    });
}

void AddList(CLI::App& app, Streams streams) {
    auto args = std::make_shared<ListArgs>();
    auto* list = app.add_subcommand("list", "List faxes, newest first");
    list->add_option("--direction", args->direction, "inbound or outbound")
        ->check(CLI::IsMember({"inbound", "outbound"}));
    list->add_option("--state", args->state,
                     "only faxes in this state (queued, sent, failed, received, ...)");
    list->add_option("--number", args->number, "only faxes to (or received on) this number");
    list->add_option("--reference", args->reference, "the fax with this reference number");
    list->add_option("--user", args->user, "only this user's faxes (user id; administrators)");
    list->add_option("--limit", args->limit, "faxes per page (1-1000; default 50)")
        ->check(CLI::Range(1, 1000));
    list->add_option("--cursor", args->cursor, "continue after a previous page");
    list->add_flag("--all", args->all, "follow the cursors to the last page");
    AddConnectionOptions(list, args->connection);
    OnRun(list, ConnectionOf(args), streams,
          [args](ApiClient& client, Output& output) { return RunList(client, output, *args); });
}

void AddDownload(CLI::App& app, Streams streams) {
    auto args = std::make_shared<DownloadArgs>();
    auto* download = app.add_subcommand("download", "Save a fax's pages as PDF or TIFF");
    download->add_option("id", args->id, "fax id")->required();
    download->add_option("-o,--output", args->file, "file to write (default: ID.pdf or ID.tiff)");
    download->add_option("--format", args->format, "pdf or tiff")
        ->check(CLI::IsMember({"pdf", "tiff"}))
        ->capture_default_str();
    AddConnectionOptions(download, args->connection);
    OnRun(download, ConnectionOf(args), streams,
          [args](ApiClient& client, Output& output) { return RunDownload(client, output, *args); });
}

}  // namespace

void AddFaxCommands(CLI::App& app, Streams streams) {
    AddSend(app, streams);
    AddStatusCancelResend(app, streams);
    AddList(app, streams);
    AddDownload(app, streams);
}

}  // namespace faxd::client
