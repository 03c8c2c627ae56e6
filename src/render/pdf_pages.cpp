#include "render/pdf_pages.hpp"

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/atomic_file.hpp"
#include "render/file_error.hpp"
#include "render/office_pages.hpp"
#include "render/pdf_raster.hpp"
#include "render/text_pages.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

// A PostScript string literal (PLRM §3.2.2): backslash, parentheses escaped.
std::string PsString(const std::string& text) {
    std::string out = "(";
    for (char c : text) {
        if (c == '\\' || c == '(' || c == ')') out += '\\';
        out += c;
    }
    return out + ")";
}

const char* GsDevice(FaxCompression compression) {
    switch (compression) {
        case FaxCompression::kT6:
            return "-sDEVICE=tiffg4";
        case FaxCompression::kT4OneD:
            return "-sDEVICE=tiffg3";
        case FaxCompression::kT4TwoD:
            return "-sDEVICE=tiffg32d";
    }
    return "-sDEVICE=tiffg4";
}

// The fixed page geometry: 1728 x PageLines at 204 x YDpi (fax_page.hpp). -dFIXEDMEDIA keeps that size
// whatever the document asks for, and -dFitPage scales each page to it keeping proportions (A4 fits
// height-limited, Letter width-limited; both end up 1728 wide, so spandsp accepts the width without
// rescaling).
std::vector<std::string> GsRenderArgs(const RenderOptions& options, const std::filesystem::path& input,
                                      const std::string& output_name, int first, int last) {
    return {
        options.ghostscript.string(),
        "-dSAFER",
        "-dBATCH",
        "-dNOPAUSE",
        "-dQUIET",
        GsDevice(options.compression),
        "-r" + std::to_string(kFaxXDpi) + "x" + std::to_string(YDpi(options.resolution)),
        "-g" + std::to_string(kFaxWidth) + "x" + std::to_string(PageLines(options.resolution, options.paper)),
        "-dFIXEDMEDIA",
        "-dFitPage",
        "-dFirstPage=" + std::to_string(first),
        "-dLastPage=" + std::to_string(last),
        "-sOutputFile=" + output_name,
        input.string()};
}

base::Result<RenderedDocument> JoinAndCommit(const std::filesystem::path& input,
                                             const std::vector<std::filesystem::path>& parts,
                                             const std::filesystem::path& output, DocumentType type) {
    auto file = base::AtomicFile::Create(output);
    if (!file) return ForFile(input, file.error());
    auto pages = JoinFaxTiffs(parts, file->TempPath());
    if (!pages) return ForFile(input, pages.error());
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file->TempPath(), ec);
    if (auto committed = file->Commit(); !committed) return ForFile(input, committed.error());
    return RenderedDocument{type, *pages, ec ? 0 : bytes};
}

}  // namespace

base::Result<int> CountPdfPages(const std::filesystem::path& pdf, const RenderOptions& options) {
    const auto absolute = std::filesystem::absolute(pdf);
    auto dir = TempDir::Create(options.temp_parent, "faxd-pdf-");
    if (!dir) return ForFile(pdf, dir.error());
    // Ghostscript's PDF procedures (gs 10.0: runpdfbegin/pdfpagecount, served by the new C interpreter).
    // SAFER forbids reading files named inside PostScript, so exactly this one is permitted.
    auto run = RunSubprocess(
        ConverterRun(options,
                     {options.ghostscript.string(), "-q", "-dNODISPLAY", "-dSAFER",
                      "--permit-file-read=" + absolute.string(), "-c",
                      PsString(absolute.string()) + " (r) file runpdfbegin pdfpagecount = quit"},
                     dir->Path()));
    if (!run) return ForFile(pdf, run.error());
    const std::string said = run->std_out + run->std_err;
    if (said.find("requires a password") != std::string::npos) {
        return FileError(pdf, ErrorCode::kUnsupported, "the PDF is encrypted and needs a password to open");
    }
    int count = 0;
    const auto last_line = run->std_out.find_last_not_of("\r\n");
    if (last_line != std::string::npos) {
        const auto start = run->std_out.find_last_of('\n', last_line);
        try {
            count = std::stoi(run->std_out.substr(start == std::string::npos ? 0 : start + 1));
        } catch (const std::exception&) {
            count = 0;
        }
    }
    if (!run->Succeeded() || count < 0) {
        return FileError(pdf, ErrorCode::kMalformed,
                         "Ghostscript cannot read the PDF: " + DiagnosticExcerpt(*run));
    }
    if (count == 0) {
        // gs says "Couldn't initialise file" for damage it cannot repair; a valid PDF with no pages says
        // nothing.
        if (said.find("Error") != std::string::npos) {
            return FileError(pdf, ErrorCode::kMalformed, "the PDF is damaged: " + DiagnosticExcerpt(*run));
        }
        return FileError(pdf, ErrorCode::kMalformed, "the PDF has no pages");
    }
    return count;
}

base::Result<RenderedDocument> RenderPdfToFax(const std::filesystem::path& input,
                                              const std::filesystem::path& output,
                                              const RenderOptions& options) {
    // qpdf reads the page tree in milliseconds and tells which pages draw pictures; Ghostscript's own count
    // (tens of milliseconds) is asked only when qpdf fails, because its messages explain encryption and
    // damage.
    PdfLayout layout;
    if (auto scanned = ScanPdfLayout(input, options)) {
        layout = std::move(*scanned);
    } else {
        auto counted = CountPdfPages(input, options);
        if (!counted) return tl::unexpected(counted.error());
        layout.pages = *counted;
        layout.has_images.assign(static_cast<std::size_t>(*counted), false);
    }
    const int total = layout.pages;
    const int first = std::max(1, options.first_page);
    const int last = options.last_page > 0 ? std::min(options.last_page, total) : total;
    if (first > last) {
        return FileError(input, ErrorCode::kInvalidArgument,
                         "pages " + std::to_string(first) + "-" + std::to_string(last) + " are not in a " +
                             std::to_string(total) + "-page document");
    }
    const int count = last - first + 1;
    if (count > options.max_pages) {
        return FileError(
            input, ErrorCode::kLimitExceeded,
            std::to_string(count) + " pages, more than the limit of " + std::to_string(options.max_pages));
    }
    auto dir = TempDir::Create(options.temp_parent, "faxd-pdf-");
    if (!dir) return ForFile(input, dir.error());
    auto parts = RasterisePdfPages(std::filesystem::absolute(input), first, last, layout.has_images, options,
                                   dir->Path());
    if (!parts) return ForFile(input, parts.error());
    return JoinAndCommit(input, *parts, output, DocumentType::kPdf);
}

base::Result<RenderedDocument> RenderPostScriptToFax(const std::filesystem::path& input,
                                                     const std::filesystem::path& output,
                                                     const RenderOptions& options) {
    // PostScript has no page count without running the program, so one process renders it; asking for one
    // page more than allowed tells a too-long document apart without rendering all of it.
    auto dir = TempDir::Create(options.temp_parent, "faxd-ps-");
    if (!dir) return ForFile(input, dir.error());
    const int first = std::max(1, options.first_page);
    const int limit_last = first + options.max_pages;  // one beyond the limit
    const int last = options.last_page > 0 ? std::min(options.last_page, limit_last) : limit_last;
    auto run = RunSubprocess(
        ConverterRun(options, GsRenderArgs(options, std::filesystem::absolute(input), "out.tif", first, last),
                     dir->Path()));
    if (!run) return ForFile(input, run.error());
    const auto part = dir->Path() / "out.tif";
    if (!run->Succeeded() || !std::filesystem::exists(part)) {
        if (!std::filesystem::exists(part) && run->Succeeded()) {
            return FileError(input, ErrorCode::kMalformed, "the PostScript program printed no pages");
        }
        return FileError(input, ErrorCode::kMalformed, "Ghostscript failed: " + DiagnosticExcerpt(*run));
    }
    auto pages = InspectFaxTiff(part);
    if (!pages) return ForFile(input, pages.error());
    if (static_cast<int>(pages->size()) > options.max_pages) {
        return FileError(input, ErrorCode::kLimitExceeded,
                         "more pages than the limit of " + std::to_string(options.max_pages));
    }
    return JoinAndCommit(input, {part}, output, DocumentType::kPostScript);
}

base::Result<RenderedDocument> RenderToFax(const std::filesystem::path& input,
                                           const std::filesystem::path& output,
                                           const RenderOptions& options) {
    auto detected = DetectFileType(input);
    if (!detected) return tl::unexpected(detected.error());
    const DocumentType type = *detected;
    base::Result<RenderedDocument> rendered = MakeError(ErrorCode::kInternal, "not rendered");
    if (type == DocumentType::kPdf) {
        rendered = RenderPdfToFax(input, output, options);
    } else if (type == DocumentType::kPostScript) {
        rendered = RenderPostScriptToFax(input, output, options);
    } else if (IsImageType(type)) {
        rendered = RenderImageToFax(input, output, options);
    } else if (type == DocumentType::kText || type == DocumentType::kTextLatin1 ||
               type == DocumentType::kHtml) {
        rendered = RenderTextToFax(input, output, type, options);
    } else if (IsOfficeType(type) && options.office != nullptr) {
        rendered = RenderOfficeToFax(input, output, options, *options.office);
    } else if (IsOfficeType(type)) {
        return FileError(
            input, ErrorCode::kUnsupported,
            std::string(DocumentTypeName(type)) + " documents need LibreOffice, which is not enabled");
    } else {
        return FileError(
            input, ErrorCode::kUnsupported,
            "documents of type " + std::string(DocumentTypeName(type)) + " are not rendered here");
    }
    if (rendered) rendered->type = type;
    return rendered;
}

}  // namespace faxd::render
