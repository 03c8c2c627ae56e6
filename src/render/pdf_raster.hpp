// The PDF page pipeline behind RenderPdfToFax: Ghostscript rasterises page ranges in parallel child
// processes (bilevel for pages without pictures, gray for pages with them), and our threads binarise and
// MMR-code the pages. Internal to render/.
#pragma once

#include <filesystem>
#include <vector>

#include "base/result.hpp"
#include "render/pdf_pages.hpp"

namespace faxd::render {

// A converter run with the document's limits: `options.timeout` as the wall time, children under
// `options.temp_parent`.
SubprocessOptions ConverterRun(const RenderOptions& options, std::vector<std::string> argv,
                               const std::filesystem::path& work_dir);

// What a quick structural scan (qpdf) says about a PDF: its pages and which of them draw images.
struct PdfLayout {
    int pages = 0;
    std::vector<bool> has_images;  // per page, 0-based
};

// qpdf --show-pages --with-images, sandboxed. An error when qpdf cannot read the file (the caller then asks
// Ghostscript, whose messages explain encryption and damage better).
base::Result<PdfLayout> ScanPdfLayout(const std::filesystem::path& pdf, const RenderOptions& options);

// Renders pages first..last (1-based, inclusive) of `pdf` into fax TIFF parts inside `work_dir`, returned in
// page order (JoinFaxTiffs them). `has_images` is indexed like PdfLayout's.
base::Result<std::vector<std::filesystem::path>> RasterisePdfPages(const std::filesystem::path& pdf,
                                                                   int first, int last,
                                                                   const std::vector<bool>& has_images,
                                                                   const RenderOptions& options,
                                                                   const std::filesystem::path& work_dir);

}  // namespace faxd::render
