#include "app/config.hpp"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "app/config_reader.hpp"
#include "app/config_server.hpp"

namespace faxd::app {
namespace {

const char kDefaultConfig[] =
#include "default_config.inc"
    ;

using base::ErrorCode;

bool ParseT38Switch(const std::string& text, sip::T38Switch* out) {
    if (text == "after-answer")
        *out = sip::T38Switch::kAfterAnswer;
    else if (text == "on-tone")
        *out = sip::T38Switch::kOnTone;
    else if (text == "never")
        *out = sip::T38Switch::kNever;
    else
        return false;
    return true;
}

}  // namespace

std::string_view DefaultConfigText() { return kDefaultConfig; }

base::Result<FaxdConfig> ParseConfig(std::string_view text, const std::string& source) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& error) {
        std::ostringstream where;
        where << source << ":" << error.source().begin.line << ":" << error.source().begin.column << ": "
              << error.description();
        return base::MakeError(ErrorCode::kMalformed, where.str());
    }
    FaxdConfig config;
    Reader r(root, source);
    std::string level = "info";
    r.Get("log.level", level);
    if (!base::ParseLogLevel(level, &config.log_level))
        return base::MakeError(ErrorCode::kInvalidArgument,
                               source + ": log.level '" + level + "' is not a level");
    std::string spool = config.spool_dir.string();
    r.Get("spool.directory", spool);
    config.spool_dir = spool;

    auto& s = config.sip;
    r.Get("sip.listen", s.listen_address);
    r.Get("sip.port", s.port);
    r.Get("sip.tcp", s.tcp);
    r.Get("sip.user_agent", s.user_agent);
    r.Get("sip.local_number", s.local_number);
    r.Get("sip.max_calls", s.max_calls);
    r.Get("sip.max_outgoing", s.max_outgoing);
    std::string inbound = "after-answer", outbound = "on-tone";
    r.Get("sip.inbound_t38", inbound);
    r.Get("sip.outbound_t38", outbound);
    if (!ParseT38Switch(inbound, &s.inbound_t38) || !ParseT38Switch(outbound, &s.outbound_t38))
        return base::MakeError(
            ErrorCode::kInvalidArgument,
            source + ": sip.inbound_t38 and sip.outbound_t38 are after-answer, on-tone or never");
    std::int64_t t38_timeout = s.t38_timeout.count();
    r.Get("sip.t38_timeout", t38_timeout);
    s.t38_timeout = std::chrono::seconds(t38_timeout);
    r.Get("sip.max_message_bytes", s.max_message_bytes);
    r.Get("sip.tls.enabled", s.tls.enabled);
    r.Get("sip.tls.port", s.tls.port);
    std::string cert_dir;
    r.Get("sip.tls.certificate_dir", cert_dir);
    s.tls.certificate_dir = cert_dir;
    r.Get("sip.tls.verify_peer", s.tls.verify_peer);
    r.Get("sip.auth.enabled", s.inbound_auth.enabled);
    r.Get("sip.auth.realm", s.inbound_auth.realm);
    if (auto users = root.at_path("sip.auth.users").as_array()) {
        for (const auto& entry : *users) {
            const auto* table = entry.as_table();
            if (!table)
                return base::MakeError(ErrorCode::kInvalidArgument, source + ": sip.auth.users holds tables");
            Reader ur(*table, source + ": sip.auth.users");
            sip::DigestCredentials user;
            ur.Get("username", user.username);
            ur.Get("password", user.password);
            if (!ur.error().empty()) return base::MakeError(ErrorCode::kInvalidArgument, ur.error());
            if (user.username.empty() || user.password.empty())
                return base::MakeError(ErrorCode::kInvalidArgument,
                                       source + ": sip.auth.users entries need a username and a password");
            s.inbound_auth.users.push_back(user);
        }
    }
    if (s.inbound_auth.enabled && s.inbound_auth.users.empty())
        return base::MakeError(ErrorCode::kInvalidArgument,
                               source + ": sip.auth.enabled needs sip.auth.users");
    r.Get("sip.t38.enabled", s.t38.enabled);
    r.Get("sip.t38.redundancy", s.t38.redundancy);
    r.Get("sip.t38.allow_fec", s.t38.allow_fec);
    r.Get("sip.t38.max_datagram", s.t38.max_datagram);
    r.Get("sip.t38.max_bit_rate", s.t38.max_bit_rate);
    r.Get("sip.t38.min_far_datagram", s.t38.min_far_datagram);
    r.Get("media.address", s.media.bind_address);
    r.Get("media.port_min", s.media.port_min);
    r.Get("media.port_max", s.media.port_max);
    std::int64_t media_timeout = s.media.media_timeout.count();
    r.Get("media.timeout", media_timeout);
    s.media.media_timeout = std::chrono::seconds(media_timeout);

    auto& fax = s.fax;
    r.Get("fax.ident", fax.local_ident);
    r.Get("fax.ecm", fax.ecm);
    std::string modem = "v17";
    r.Get("fax.max_modem", modem);
    if (modem == "v17")
        fax.modems = t30::kAllModems;
    else if (modem == "v29")
        fax.modems = t30::kV27ter | t30::kV29;
    else if (modem == "v27ter")
        fax.modems = t30::kV27ter;
    else
        return base::MakeError(ErrorCode::kInvalidArgument, source + ": fax.max_modem is v17, v29 or v27ter");
    if (auto list = root.at_path("fax.compressions").as_array()) {
        fax.compressions = 0;
        for (const auto& item : *list) {
            t30::Compression compression = t30::kT6;
            const auto name = item.value<std::string>();
            if (!name || !t30::ParseCompression(*name, &compression))
                return base::MakeError(ErrorCode::kInvalidArgument,
                                       source + ": fax.compressions holds t4-1d, t4-2d and t6");
            fax.compressions |= compression;
        }
    }
    std::int64_t max_duration = fax.max_duration.count();
    r.Get("fax.max_duration", max_duration);
    fax.max_duration = std::chrono::seconds(max_duration);
    if (fax.local_ident.size() > 20)
        return base::MakeError(ErrorCode::kInvalidArgument, source + ": fax.ident is at most 20 characters");

    r.Get("numbers.country", config.numbers.country);
    r.Get("numbers.area_code", config.numbers.area_code);
    r.Get("numbers.outside_prefix", config.numbers.outside_prefix);
    r.Get("numbers.max_extension_digits", config.numbers.max_extension_digits);

    if (auto routes = root["routes"].as_array()) {
        for (std::size_t i = 0; i < routes->size(); ++i) {
            const auto* table = (*routes)[i].as_table();
            const std::string where = source + ": routes[" + std::to_string(i) + "]";
            if (!table) return base::MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
            Reader rr(*table, where);
            sip::Route route;
            rr.Get("name", route.name);
            rr.Get("prefix", route.prefix);
            rr.Get("add_prefix", route.add_prefix);
            rr.Get("allow_g711", route.allow_g711);
            rr.Get("t38_in_offer", route.t38_in_offer);
            rr.Get("max_channels", route.max_channels);
            std::string format = "as-dialled";
            rr.Get("number_format", format);
            if (format == "e164")
                route.number_format = sip::NumberFormat::kE164;
            else if (format == "national")
                route.number_format = sip::NumberFormat::kNational;
            else if (format == "international")
                route.number_format = sip::NumberFormat::kInternational;
            else if (format != "as-dialled")
                return base::MakeError(
                    ErrorCode::kInvalidArgument,
                    where + ": number_format is e164, national, international or as-dialled");
            rr.Get("use_outside_prefix", route.use_outside_prefix);
            if (table->contains("ecm")) {
                bool ecm = true;
                rr.Get("ecm", ecm);
                route.ecm = ecm;
            }
            if (table->contains("max_bit_rate")) {
                int rate = 14400;
                rr.Get("max_bit_rate", rate);
                if (rate != 14400 && rate != 9600 && rate != 4800)
                    return base::MakeError(ErrorCode::kInvalidArgument,
                                           where + ": max_bit_rate is 14400, 9600 or 4800");
                route.max_bit_rate = rate;
            }
            std::string user, password;
            rr.Get("username", user);
            rr.Get("password", password);
            if (!user.empty()) route.credentials = sip::DigestCredentials{user, password};
            if (auto gateways = (*table)["gateways"].as_array()) {
                for (const auto& g : *gateways) {
                    const auto* gt = g.as_table();
                    if (!gt)
                        return base::MakeError(ErrorCode::kInvalidArgument, where + ".gateways holds tables");
                    Reader gr(*gt, where + ".gateways");
                    sip::Gateway gateway;
                    gr.Get("host", gateway.host);
                    gr.Get("port", gateway.port);
                    gr.Get("transport", gateway.transport);
                    if (!gr.error().empty()) return base::MakeError(ErrorCode::kInvalidArgument, gr.error());
                    if (gateway.host.empty())
                        return base::MakeError(ErrorCode::kInvalidArgument,
                                               where + ": a gateway needs a host");
                    if (gateway.transport != "udp" && gateway.transport != "tcp" &&
                        gateway.transport != "tls")
                        return base::MakeError(ErrorCode::kInvalidArgument,
                                               where + ": transport is udp, tcp or tls");
                    route.gateways.push_back(gateway);
                }
            }
            if (!rr.error().empty()) return base::MakeError(ErrorCode::kInvalidArgument, rr.error());
            if (route.gateways.empty())
                return base::MakeError(ErrorCode::kInvalidArgument, where + " has no gateways");
            config.routes.push_back(std::move(route));
        }
    }
    if (auto registrations = root["registrations"].as_array()) {
        for (std::size_t i = 0; i < registrations->size(); ++i) {
            const auto* table = (*registrations)[i].as_table();
            const std::string where = source + ": registrations[" + std::to_string(i) + "]";
            if (!table) return base::MakeError(ErrorCode::kInvalidArgument, where + " must be a table");
            Reader rr(*table, where);
            sip::Registration reg;
            std::string user, password;
            std::int64_t expires = reg.expires.count(), retry = reg.retry_after.count();
            rr.Get("registrar", reg.registrar);
            rr.Get("aor", reg.aor);
            rr.Get("username", user);
            rr.Get("password", password);
            rr.Get("expires", expires);
            rr.Get("retry_after", retry);
            if (!rr.error().empty()) return base::MakeError(ErrorCode::kInvalidArgument, rr.error());
            if (reg.registrar.rfind("sip", 0) != 0 || reg.aor.rfind("sip", 0) != 0)
                return base::MakeError(ErrorCode::kInvalidArgument,
                                       where + ": registrar and aor are sip: URIs");
            if (expires < 30 || retry < 1)
                return base::MakeError(ErrorCode::kInvalidArgument,
                                       where + ": expires >= 30 s and retry_after >= 1 s");
            if (!user.empty()) reg.credentials = sip::DigestCredentials{user, password};
            reg.expires = std::chrono::seconds(expires);
            reg.retry_after = std::chrono::seconds(retry);
            config.sip.registrations.push_back(std::move(reg));
        }
    }
    if (!r.error().empty()) return base::MakeError(ErrorCode::kInvalidArgument, r.error());
    if (auto server = ParseServerSections(root, source, config); !server)
        return tl::unexpected(server.error());
    return config;
}

base::Result<FaxdConfig> LoadConfig(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return base::MakeError(ErrorCode::kNotFound, "cannot read config file " + path.string());
    std::stringstream text;
    text << in.rdbuf();
    return ParseConfig(text.str(), path.string());
}

}  // namespace faxd::app
