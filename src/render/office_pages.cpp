#include "render/office_pages.hpp"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "render/file_error.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;

// "12.5 MB" for messages.
std::string Megabytes(std::uint64_t bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return text;
}

// Errors about the staged link or the intermediate PDF ("document.pdf: ...") are about the user's file.
tl::unexpected<base::Error> AboutInput(const std::filesystem::path& input,
                                       const std::filesystem::path& staged, base::Error error) {
    const std::string prefix = staged.filename().string() + ": ";
    if (error.message.starts_with(prefix)) error.message.erase(0, prefix.size());
    return ForFile(input, std::move(error));
}

}  // namespace

base::Result<RenderedDocument> RenderOfficeToFax(const std::filesystem::path& input,
                                                 const std::filesystem::path& output,
                                                 const RenderOptions& options, OfficePool& pool,
                                                 std::uint64_t max_input_bytes) {
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(input, ec);
    if (ec) return FileError(input, ErrorCode::kNotFound, "cannot open the file: " + ec.message());
    if (size > max_input_bytes) {
        return FileError(input, ErrorCode::kLimitExceeded,
                         "the document is " + Megabytes(size) + ", more than the limit of " +
                             Megabytes(max_input_bytes) + " for Office documents");
    }
    auto detected = DetectFileType(input);
    if (!detected) return tl::unexpected(detected.error());
    const DocumentType type = *detected;
    if (!IsOfficeType(type)) {
        return FileError(
            input, ErrorCode::kUnsupported,
            "a document of type " + std::string(DocumentTypeName(type)) + " is no Office document");
    }

    auto dir = TempDir::Create(options.temp_parent, "faxd-office-doc-");
    if (!dir) return ForFile(input, dir.error());
    // LibreOffice sees a link named after the detected type: the extension guides its own detection, whatever
    // the attachment was called, and the path it gets is plain ASCII.
    const auto staged = dir->Path() / ("document." + std::string(DocumentTypeName(type)));
    std::filesystem::create_symlink(std::filesystem::absolute(input), staged, ec);
    if (ec)
        return FileError(input, ErrorCode::kIo,
                         "cannot link into " + dir->Path().string() + ": " + ec.message());
    const auto pdf = dir->Path() / "document.pdf";
    if (auto converted = pool.Convert(staged, pdf); !converted)
        return AboutInput(input, staged, converted.error());
    auto rendered = RenderPdfToFax(pdf, output, options);
    if (!rendered) return AboutInput(input, pdf, rendered.error());
    rendered->type = type;
    return rendered;
}

}  // namespace faxd::render
