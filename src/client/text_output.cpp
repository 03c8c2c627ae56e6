#include "client/text_output.hpp"

#include <algorithm>

namespace faxd::client {

std::string Text(const nlohmann::json& value) {
    if (value.is_null()) return "-";
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array()) {
        std::string joined;
        for (const auto& item : value) joined += (joined.empty() ? "" : ",") + Text(item);
        return joined.empty() ? "-" : joined;
    }
    return value.dump();
}

std::string Field(const nlohmann::json& object, std::string_view key) {
    if (!object.is_object()) return "-";
    const auto found = object.find(key);
    return found == object.end() ? "-" : Text(*found);
}

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(header.size(), 0);
    auto measure = [&widths](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    };
    measure(header);
    for (const auto& row : rows) measure(row);
    auto print = [&](const std::vector<std::string>& row) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out << row[i];
            if (i + 1 < row.size()) out << std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out << '\n';
    };
    print(header);
    for (const auto& row : rows) print(row);
}

void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields) {
    std::size_t width = 0;
    for (const auto& [name, value] : fields) width = std::max(width, name.size());
    for (const auto& [name, value] : fields)
        out << name << std::string(width - name.size() + 2, ' ') << value << '\n';
}

}  // namespace faxd::client
