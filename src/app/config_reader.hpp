// Typed reads from a TOML table with messages that name the key; shared by the config file's parts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include <toml++/toml.h>

namespace faxd::app {

// Reads typed values with a clear message naming the key when the type is wrong.
class Reader {
public:
    Reader(const toml::table& root, std::string source) : root_(root), source_(std::move(source)) {}

    template <typename T>
    void Get(std::string_view path, T& out) {
        const auto node = root_.at_path(path);
        if (!node) return;
        if constexpr (std::is_same_v<T, std::string>) {
            if (auto value = node.value<std::string>())
                out = *value;
            else
                Fail(path, "a string");
        } else if constexpr (std::is_same_v<T, bool>) {
            if (auto value = node.value<bool>())
                out = *value;
            else
                Fail(path, "true or false");
        } else if constexpr (std::is_floating_point_v<T>) {
            if (auto value = node.value<double>())
                out = static_cast<T>(*value);
            else
                Fail(path, "a number");
        } else {
            if (auto value = node.value<std::int64_t>())
                out = static_cast<T>(*value);
            else
                Fail(path, "a number");
        }
    }
    void Fail(std::string_view path, std::string_view expected) {
        if (error_.empty()) error_ = source_ + ": " + std::string(path) + " must be " + std::string(expected);
    }
    const std::string& error() const { return error_; }

private:
    const toml::table& root_;
    std::string source_;
    std::string error_;
};

}  // namespace faxd::app
