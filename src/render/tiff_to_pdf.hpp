// Received faxes as PDF: each TIFF page becomes one PDF page whose image is the fax's own coded data
// (CCITTFaxDecode), so the PDF shows exactly the pixels that arrived, at the physical size they were sent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace faxd::render {

struct PdfOptions {
    bool pdfa = false;  // PDF/A-1b (ISO 19005-1, level B) for archiving
    std::string title;
    std::string author;
    std::string subject;
    base::WallTime created{};  // the epoch means "no date": the library reads no clock
};

struct PdfInfo {
    int pages = 0;
    std::uintmax_t bytes = 0;
};

// Writes `pdf` atomically; on error nothing is left behind and the message names `tiff` and the reason.
// Pages in G4 or G3 with one strip are embedded as they are; other pages (uncompressed, PackBits, LZW,
// several strips, ...) are decoded and stored losslessly with Flate.
base::Result<PdfInfo> ConvertFaxTiffToPdf(const std::filesystem::path& tiff, const std::filesystem::path& pdf,
                                          const PdfOptions& options);

}  // namespace faxd::render
