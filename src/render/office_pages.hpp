// Office documents (Word, Excel, PowerPoint, OpenDocument, RTF) to fax pages: LibreOffice makes a PDF
// (office_pool.hpp), then the PDF path renders it, so page ranges, the page limit and the fax geometry are
// the same as for any PDF.
#pragma once

#include <cstdint>
#include <filesystem>

#include "base/result.hpp"
#include "render/office_pool.hpp"
#include "render/pdf_pages.hpp"

namespace faxd::render {

// Larger files are refused before LibreOffice sees them.
inline constexpr std::uint64_t kMaxOfficeDocumentBytes = 100ull << 20;

// Renders `input` (its type detected from content, one of IsOfficeType) to a multi-page fax TIFF at
// `output`, written atomically. Errors name `input`: kLimitExceeded for a file over max_input_bytes or a PDF
// over options.max_pages, kUnsupported for other types and password-protected documents, kMalformed for
// documents LibreOffice cannot open, kTimeout from the pool. Nothing is left in options.temp_parent.
base::Result<RenderedDocument> RenderOfficeToFax(const std::filesystem::path& input,
                                                 const std::filesystem::path& output,
                                                 const RenderOptions& options, OfficePool& pool,
                                                 std::uint64_t max_input_bytes = kMaxOfficeDocumentBytes);

}  // namespace faxd::render
