// Errors about one input document: "<file>: <reason>", so the user sees which attachment failed and why.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include "base/result.hpp"

namespace faxd::render {

inline tl::unexpected<base::Error> ForFile(const std::filesystem::path& file, base::Error error) {
    error.message = file.filename().string() + ": " + error.message;
    return tl::unexpected<base::Error>(std::move(error));
}

inline tl::unexpected<base::Error> FileError(const std::filesystem::path& file, base::ErrorCode code,
                                             std::string reason) {
    return ForFile(file, base::Error{code, std::move(reason), std::nullopt, std::nullopt});
}

}  // namespace faxd::render
