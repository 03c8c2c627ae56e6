// Readable output of API objects: aligned fields and tables of plain text.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace faxd::client {

// A JSON value as table text: strings as they are, null or missing as "-", numbers and booleans as JSON.
std::string Text(const nlohmann::json& value);
// object[key] as Text, "-" when the key is missing or `object` is not an object.
std::string Field(const nlohmann::json& object, std::string_view key);

// Columns padded to their widest cell, two spaces apart; the last column is not padded.
void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// "name   value" lines with the values aligned.
void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace faxd::client
