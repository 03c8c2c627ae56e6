#include "faxd_node.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace faxd::testing {

std::vector<nlohmann::json> FaxdNode::WaitForRecords(std::size_t count, std::chrono::seconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<nlohmann::json> records;
    do {
        records.clear();
        std::vector<std::filesystem::path> files;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(spool / "received", ec))
            if (entry.path().extension() == ".json") files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            auto parsed = nlohmann::json::parse(ReadFile(file), nullptr, false);
            if (!parsed.is_discarded()) {
                parsed["_path"] = file.string();
                records.push_back(parsed);
            }
        }
        if (records.size() >= count) return records;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return records;
}

std::string BaseConfig(std::uint16_t port, const std::filesystem::path& spool) {
    return "[log]\nlevel = \"info\"\n[spool]\ndirectory = \"" + spool.string() + "\"\n[store]\nurl = \"sqlite:" +
           (spool / "faxd.db").string() + "\"\nnode = \"node-" + std::to_string(port) +
           "\"\n[sip]\nlisten = \"127.0.0.1\"\nport = " +
           std::to_string(port) + "\n[media]\naddress = \"127.0.0.1\"\nport_min = 0\ntimeout = 10\n[http]\nenabled = false\n";
}

namespace {

// TOML allows a table only once: merge `extra` by inserting its keys under existing headers.
std::string Merge(std::string base, const std::string& extra) {
    std::string result;
    std::string current;
    std::vector<std::pair<std::string, std::string>> sections;  // header -> lines
    auto add = [&](const std::string& text) {
        std::istringstream lines(text);
        std::string line;
        std::string header;
        while (std::getline(lines, line)) {
            if (!line.empty() && line[0] == '[') {
                header = line;
                if (std::none_of(sections.begin(), sections.end(), [&](auto& s) { return s.first == header; }) ||
                    header.rfind("[[", 0) == 0)
                    sections.push_back({header, ""});
                continue;
            }
            auto it = std::find_if(sections.rbegin(), sections.rend(), [&](auto& s) { return s.first == header; });
            if (it == sections.rend()) {
                sections.push_back({header, ""});
                it = sections.rbegin();
            }
            // A key the base already sets is replaced (TOML forbids setting one twice).
            const auto equals = line.find('=');
            if (equals != std::string::npos && header.rfind("[[", 0) != 0) {
                std::string key = line.substr(0, equals);
                key.erase(key.find_last_not_of(' ') + 1);
                std::istringstream existing(it->second);
                std::string kept, old_line;
                bool replaced = false;
                while (std::getline(existing, old_line)) {
                    const auto old_equals = old_line.find('=');
                    std::string old_key = old_equals == std::string::npos ? "" : old_line.substr(0, old_equals);
                    old_key.erase(old_key.find_last_not_of(' ') + 1);
                    if (!key.empty() && old_key == key) {
                        kept += line + "\n";
                        replaced = true;
                    } else {
                        kept += old_line + "\n";
                    }
                }
                if (replaced) {
                    it->second = kept;
                    continue;
                }
            }
            it->second += line + "\n";
        }
    };
    add(base);
    add(extra);
    // Plain tables first, arrays of tables ([[...]]) last, as TOML scoping needs.
    for (int pass = 0; pass < 2; ++pass)
        for (const auto& [header, body] : sections) {
            const bool array = header.rfind("[[", 0) == 0;
            if (array != (pass == 1)) continue;
            result += header + "\n" + body;
        }
    return result;
}

}  // namespace

FaxdNode StartFaxd(const TempDir& dir, const std::string& name, const std::string& extra) {
    FaxdNode node;
    node.name = name;
    node.dir = dir / name;
    std::filesystem::create_directories(node.dir);
    node.config = node.dir / "faxd.toml";
    node.log = node.dir / "faxd.log";
    node.spool = node.dir / "spool";
    node.port = FreePort();
    std::ofstream(node.config) << Merge(BaseConfig(node.port, node.spool), extra);
    node.process = ChildProcess::Spawn({FAXD_BINARY, "--config", node.config.string()}, node.log);
    EXPECT_TRUE(node.process) << "cannot start faxd";
    EXPECT_TRUE(WaitForText(node.log, "receiving faxes into", std::chrono::seconds(10)))
        << name << " did not start:\n" << ReadFile(node.log);
    return node;
}

DialOutcome Dial(const TempDir& dir, const std::string& name, const std::string& extra,
                 const std::vector<std::string>& args, std::chrono::seconds timeout) {
    const auto node_dir = dir / name;
    std::filesystem::create_directories(node_dir);
    const auto config = node_dir / "faxctl.toml";
    std::ofstream(config) << Merge(BaseConfig(0, node_dir / "spool"), extra);
    std::vector<std::string> argv = {FAXCTL_BINARY, "dial", "--config", config.string(), "--log-level", "info"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto run = RunProgram(argv, timeout, node_dir / "faxctl.log");
    DialOutcome outcome;
    outcome.status = run.status;
    outcome.raw = run.out;
    outcome.result = nlohmann::json::parse(run.out, nullptr, false);
    return outcome;
}

std::filesystem::path ShortDocument(const TempDir& dir, int pages) {
    const auto path = dir / ("short" + std::to_string(pages) + ".tif");
    std::vector<Bitmap> document;
    for (int p = 0; p < pages; ++p)
        document.push_back(MakePage(PageKind::kText, FaxResolution::kStandard, static_cast<std::uint32_t>(p + 1), 200));
    EXPECT_TRUE(WriteFaxTiff(path, document));
    return path;
}

}  // namespace faxd::testing
