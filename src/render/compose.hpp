// One fax from its parts: a cover page, then every document in order, as one fax TIFF; and, per attempt,
// the header line stamped on the pages about to be sent (each job of a broadcast has its own reference
// number, and a retry resumes mid-document, so the header is drawn at send time, not at render time).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "render/cover_page.hpp"
#include "render/header_line.hpp"
#include "render/pdf_pages.hpp"

namespace faxd::render {

struct CoverRequest {
    std::filesystem::path template_dir;  // administrators' templates; empty: built-in only
    std::string name = "default";
    std::string language = "en";
    std::map<std::string, std::string> fields;  // "pages" is filled in here (documents + the cover)
};

struct ComposedDocument {
    std::filesystem::path input;
    DocumentType type = DocumentType::kUnknown;
    int pages = 0;
};

struct ComposedFax {
    int pages = 0;  // cover included
    std::uint64_t bytes = 0;
    std::vector<ComposedDocument> documents;
};

// Renders every input (type from content) and the cover page, and joins them into `output` (atomically).
// Errors name the document that failed.
base::Result<ComposedFax> ComposeFax(const std::vector<std::filesystem::path>& inputs,
                                     const std::optional<CoverRequest>& cover, const RenderOptions& options,
                                     const std::filesystem::path& output);

// Writes pages first_page..last of `input` to `output` with the header line at the top of each; page numbers
// count the whole document ("Page 3/5" stays 3/5 on a retry that starts at page 3). Returns pages written.
base::Result<int> StampHeaderLines(const std::filesystem::path& input, const std::filesystem::path& output,
                                   const HeaderLine& header, int first_page);

}  // namespace faxd::render
