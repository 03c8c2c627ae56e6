// Documents to fax pages: PDF and PostScript through Ghostscript, images through GraphicsMagick (decode only)
// and our own scaling and binarisation. Both converters run as sandboxed child processes (subprocess.hpp): a
// hostile file can crash or stall them, never the daemon, and their AGPL/GPL code stays out of our binary.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "base/result.hpp"
#include "render/detect.hpp"
#include "render/fax_page.hpp"
#include "render/subprocess.hpp"

namespace faxd::render {

class OfficePool;

struct RenderOptions {
    Resolution resolution = Resolution::kFine;
    PaperSize paper = PaperSize::kA4;
    FaxCompression compression = FaxCompression::kT6;
    int max_pages = 500;
    // Ghostscript processes working on page ranges at once; 0 = one per CPU.
    int parallelism = 0;
    // Only these pages (1-based, inclusive; 0 = the end). For previews and the first page of a long job.
    int first_page = 1;
    int last_page = 0;
    // Images: refused before decoding when width x height (per frame) is larger (an image bomb).
    std::uint64_t max_image_pixels = 60'000'000;
    std::chrono::milliseconds timeout{std::chrono::seconds{300}};  // wall time of each converter run
    SubprocessLimits limits{.cpu = std::chrono::seconds{300},
                            .address_space_bytes = 2ull << 30,
                            .file_size_bytes = 1ull << 30,
                            .wall = std::chrono::seconds{300},
                            .output_bytes = 64 * 1024};
    std::filesystem::path temp_parent = std::filesystem::temp_directory_path();
    std::filesystem::path ghostscript = "/usr/bin/gs";
    std::filesystem::path graphicsmagick = "/usr/bin/gm";
    std::filesystem::path qpdf = "/usr/bin/qpdf";
    // LibreOffice instances for Office documents (office_pool.hpp); null: Office documents are refused.
    OfficePool* office = nullptr;
};

struct RenderedDocument {
    DocumentType type = DocumentType::kUnknown;
    int pages = 0;
    std::uint64_t bytes = 0;  // size of the TIFF written
};

// Pages in a PDF (Ghostscript's own PDF interpreter, -dSAFER). Errors name the file: kUnsupported for a PDF
// that needs a password, kMalformed for one Ghostscript cannot open or that has no pages.
base::Result<int> CountPdfPages(const std::filesystem::path& pdf, const RenderOptions& options);

// Renders `input` (type detected from content) to a multi-page fax TIFF at `output`, written atomically.
// PDF, PostScript, TIFF, PNG, JPEG, GIF, BMP, plain text and HTML (text_pages.hpp), and Office documents
// when options.office is set (office_pages.hpp); other types give kUnsupported. Nothing is left in
// temp_parent, whatever happens.
base::Result<RenderedDocument> RenderToFax(const std::filesystem::path& input,
                                           const std::filesystem::path& output, const RenderOptions& options);

// The same for a known type (the caller detected it already).
base::Result<RenderedDocument> RenderPdfToFax(const std::filesystem::path& input,
                                              const std::filesystem::path& output,
                                              const RenderOptions& options);
base::Result<RenderedDocument> RenderPostScriptToFax(const std::filesystem::path& input,
                                                     const std::filesystem::path& output,
                                                     const RenderOptions& options);
base::Result<RenderedDocument> RenderImageToFax(const std::filesystem::path& input,
                                                const std::filesystem::path& output,
                                                const RenderOptions& options);

// Our binarisation, exposed for tests and the benchmark. Scales `gray` to fit the page (1728 wide at most
// PageLines() high, keeping proportions on the 204 x YDpi grid) and then thresholds line art or applies a
// clustered-dot halftone to photos (never error diffusion: it multiplies MMR page sizes).
BilevelPage BinarizeForFax(const GrayImage& gray, Resolution resolution, PaperSize paper);
// The decision BinarizeForFax makes: many mid-gray pixels means a photo.
bool LooksLikePhoto(const GrayImage& gray);

}  // namespace faxd::render
