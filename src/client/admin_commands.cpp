// queue, users, token: administration through /api/v1/queue, /users and /me.
#include <unistd.h>

#include <iostream>
#include <map>

#include "client/command_support.hpp"
#include "client/text_output.hpp"

namespace faxd::client {
namespace {

using nlohmann::json;

template <typename Args>
std::shared_ptr<const ConnectionOptions> ConnectionOf(const std::shared_ptr<Args>& args) {
    return {args, &args->connection};
}

void AddQueue(CLI::App& app, Streams streams) {
    auto* queue = app.add_subcommand("queue", "Show, stop and continue the send queue (administrators)");
    queue->require_subcommand(1);

    struct QueueArgs {
        ConnectionOptions connection;
        std::string until;
    };
    auto list_args = std::make_shared<QueueArgs>();
    auto* list = queue->add_subcommand("list", "The jobs waiting to be sent, in order");
    AddConnectionOptions(list, list_args->connection);
    OnRun(list, ConnectionOf(list_args), streams, [](ApiClient& client, Output& output) {
        auto answer = client.Get("/queue");
        if (!answer) return output.Failed(answer.error());
        if (output.json()) {
            output.Json(*answer);
            return kExitOk;
        }
        if (answer->value("sending_stopped", false)) {
            output.out() << "sending stopped"
                         << (answer->value("stopped_until", json()).is_string()
                                 ? " until " + Field(*answer, "stopped_until")
                                 : std::string())
                         << "\n";
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& entry : answer->value("jobs", json::array())) {
            const json fax = entry.value("fax", json::object());
            rows.push_back({Field(entry, "position"), Field(fax, "id"), Field(fax, "state"),
                            Field(fax, "number"), Field(fax, "pages"), Field(fax, "next_attempt_at")});
        }
        PrintTable(output.out(), {"POS", "ID", "STATE", "NUMBER", "PAGES", "NEXT ATTEMPT"}, rows);
        return kExitOk;
    });

    auto stop_args = std::make_shared<QueueArgs>();
    auto* stop = queue->add_subcommand("stop", "Stop sending (calls in progress finish)");
    stop->add_option("--until", stop_args->until, "continue by itself at this time (RFC 3339)");
    AddConnectionOptions(stop, stop_args->connection);
    OnRun(stop, ConnectionOf(stop_args), streams, [stop_args](ApiClient& client, Output& output) {
        const json body = stop_args->until.empty() ? json() : json{{"until", stop_args->until}};
        auto answer = client.Post("/queue/stop", body);
        if (!answer) return output.Failed(answer.error());
        if (output.json()) {
            output.Json(*answer);
        } else {
            output.out() << "sending stopped"
                         << (stop_args->until.empty() ? "" : " until " + stop_args->until) << '\n';
        }
        return kExitOk;
    });

    auto continue_args = std::make_shared<QueueArgs>();
    auto* resume = queue->add_subcommand("continue", "Continue sending");
    AddConnectionOptions(resume, continue_args->connection);
    OnRun(resume, ConnectionOf(continue_args), streams, [](ApiClient& client, Output& output) {
        auto answer = client.Post("/queue/continue");
        if (!answer) return output.Failed(answer.error());
        output.json() ? output.Json(*answer) : void(output.out() << "sending continues\n");
        return kExitOk;
    });
}

// The user fields `users add` and `users set` share; only the options given go into the request, so `set`
// changes nothing else.
struct UserFields {
    std::string name, email, fax_email, password, language, cover_page, permission, attachment_format;
    std::string send_enabled, receive_enabled, fax_to_email, attach_fax;
    std::vector<std::string> numbers;
    std::map<std::string, CLI::Option*> given;  // JSON field -> its option
};

void AddUserFieldOptions(CLI::App* command, UserFields& fields) {
    const auto boolean = CLI::IsMember({"true", "false"});
    auto& given = fields.given;
    given["name"] = command->add_option("--name", fields.name, "full name");
    given["email"] =
        command->add_option("--email", fields.email, "e-mail address (receipts, received faxes)");
    given["fax_email"] =
        command->add_option("--fax-email", fields.fax_email, "address that may send faxes by mail");
    given["numbers"] =
        command->add_option("--number", fields.numbers, "fax number (extension) of the user; repeat")
            ->allow_extra_args(false)
            ->delimiter(',');
    given["permission"] = command
                              ->add_option("--permission", fields.permission,
                                           "0 (nothing), 2 (user), 10 (administrator) or inherit")
                              ->check(CLI::IsMember({"0", "2", "10", "inherit"}));
    given["password"] = command->add_option("--password", fields.password,
                                            "password for the web and Basic auth; \"-\" reads it from stdin");
    given["send_enabled"] =
        command->add_option("--send-enabled", fields.send_enabled, "true or false")->check(boolean);
    given["receive_enabled"] =
        command->add_option("--receive-enabled", fields.receive_enabled, "true or false")->check(boolean);
    given["fax_to_email"] =
        command->add_option("--fax-to-email", fields.fax_to_email, "mail received faxes: true or false")
            ->check(boolean);
    given["attach_fax"] =
        command->add_option("--attach-fax", fields.attach_fax, "attach the fax to mails: true or false")
            ->check(boolean);
    given["attachment_format"] =
        command->add_option("--attachment-format", fields.attachment_format, "pdf or tiff")
            ->check(CLI::IsMember({"pdf", "tiff"}));
    given["cover_page"] =
        command->add_option("--cover-page", fields.cover_page, "default cover page template");
    given["language"] = command->add_option("--language", fields.language, "language (en, de, ...)");
}

json UserBody(const UserFields& fields) {
    const std::map<std::string, const std::string*> texts = {
        {"name", &fields.name},
        {"email", &fields.email},
        {"fax_email", &fields.fax_email},
        {"password", &fields.password},
        {"language", &fields.language},
        {"cover_page", &fields.cover_page},
        {"attachment_format", &fields.attachment_format}};
    json body = json::object();
    for (const auto& [field, option] : fields.given) {
        if (option->count() == 0) continue;
        if (field == "numbers") {
            body[field] = fields.numbers;
        } else if (field == "permission") {
            body[field] = fields.permission == "inherit" ? json() : json(std::stoi(fields.permission));
        } else if (const auto text = texts.find(field); text != texts.end()) {
            body[field] = *text->second;
        } else {
            const std::string& value = field == "send_enabled"      ? fields.send_enabled
                                       : field == "receive_enabled" ? fields.receive_enabled
                                       : field == "fax_to_email"    ? fields.fax_to_email
                                                                    : fields.attach_fax;
            body[field] = value == "true";
        }
    }
    return body;
}

// "--password -": one line from stdin, so the password is not in the process list.
bool ReadPasswordFromStdin(UserFields& fields) {
    if (fields.password != "-") return true;
    return static_cast<bool>(std::getline(std::cin, fields.password)) && !fields.password.empty();
}

void PrintUser(Output& output, const json& user, const std::string& what) {
    if (output.json()) return output.Json(user);
    output.out() << "user " << Field(user, "id") << " (" << Field(user, "login") << ") " << what << '\n';
}

void AddUsers(CLI::App& app, Streams streams) {
    auto* users = app.add_subcommand("users", "List, add and change users (administrators)");
    users->require_subcommand(1);

    struct ListArgs {
        ConnectionOptions connection;
    };
    auto list_args = std::make_shared<ListArgs>();
    auto* list = users->add_subcommand("list", "All users");
    AddConnectionOptions(list, list_args->connection);
    OnRun(list, ConnectionOf(list_args), streams, [](ApiClient& client, Output& output) {
        auto answer = client.Get("/users");
        if (!answer) return output.Failed(answer.error());
        if (output.json()) {
            output.Json(*answer);
            return kExitOk;
        }
        std::vector<std::vector<std::string>> rows;
        for (const auto& user : answer->value("users", json::array())) {
            rows.push_back({Field(user, "id"), Field(user, "login"), Field(user, "name"),
                            Field(user, "email"), Field(user, "effective_permission"),
                            Field(user, "numbers")});
        }
        PrintTable(output.out(), {"ID", "LOGIN", "NAME", "EMAIL", "PERMISSION", "NUMBERS"}, rows);
        return kExitOk;
    });

    struct EditArgs {
        ConnectionOptions connection;
        std::string key;  // login (add) or id (set)
        UserFields fields;
    };
    auto add_args = std::make_shared<EditArgs>();
    auto* add = users->add_subcommand("add", "Add a user");
    add->add_option("login", add_args->key, "login name")->required();
    AddUserFieldOptions(add, add_args->fields);
    AddConnectionOptions(add, add_args->connection);
    OnRun(add, ConnectionOf(add_args), streams, [add_args](ApiClient& client, Output& output) {
        if (!ReadPasswordFromStdin(add_args->fields)) return output.Usage("no password on stdin");
        json body = UserBody(add_args->fields);
        body["login"] = add_args->key;
        auto user = client.Post("/users", body);
        if (!user) return output.Failed(user.error());
        PrintUser(output, *user, "added");
        return kExitOk;
    });

    auto set_args = std::make_shared<EditArgs>();
    auto* set = users->add_subcommand("set", "Change a user's fields (only those given)");
    set->add_option("id", set_args->key, "user id")->required();
    AddUserFieldOptions(set, set_args->fields);
    AddConnectionOptions(set, set_args->connection);
    OnRun(set, ConnectionOf(set_args), streams, [set_args](ApiClient& client, Output& output) {
        if (!ReadPasswordFromStdin(set_args->fields)) return output.Usage("no password on stdin");
        const json body = UserBody(set_args->fields);
        if (body.empty()) return output.Usage("users set: give at least one field to change (see --help)");
        auto user = client.Patch(ObjectPath("/users", set_args->key), body);
        if (!user) return output.Failed(user.error());
        PrintUser(output, *user, "changed");
        return kExitOk;
    });
}

std::string DefaultTokenName() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "faxctl";
    return std::string("faxctl on ") + host;
}

void AddToken(CLI::App& app, Streams streams) {
    auto* token = app.add_subcommand("token", "API tokens of the calling user");
    token->require_subcommand(1);
    struct CreateArgs {
        ConnectionOptions connection;
        std::string name;
    };
    auto args = std::make_shared<CreateArgs>();
    auto* create =
        token->add_subcommand("create", "Make a new API token for yourself; it is shown only once");
    create->add_option("--name", args->name, "what the token is for (default: faxctl on HOST)");
    AddConnectionOptions(create, args->connection);
    OnRun(create, ConnectionOf(args), streams, [args](ApiClient& client, Output& output) {
        auto me = client.Get("/me");
        if (!me) return output.Failed(me.error());
        if (!me->is_object() || !me->contains("id"))
            return output.Failed(ClientError{0, "", "GET /me answered without an id"});
        const std::string name = args->name.empty() ? DefaultTokenName() : args->name;
        auto made = client.Post("/users/" + Text((*me)["id"]) + "/tokens", json{{"name", name}});
        if (!made) return output.Failed(made.error());
        if (output.json()) {
            output.Json(*made);
        } else {
            output.out() << Field(*made, "token")
                         << '\n';  // alone on stdout, for TOKEN=$(faxctl token create)
            output.Note("token " + Field(*made, "id") + " (" + name + ") of " + Field(*me, "login") +
                        ": shown only this once");
        }
        return kExitOk;
    });
}

}  // namespace

void AddAdminCommands(CLI::App& app, Streams streams) {
    AddQueue(app, streams);
    AddUsers(app, streams);
    AddToken(app, streams);
}

}  // namespace faxd::client
