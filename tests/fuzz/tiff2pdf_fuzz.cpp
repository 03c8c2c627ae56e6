// libFuzzer target for received-fax conversion (src/render): the TIFF comes from a remote fax machine through
// spandsp or from a user upload, so every byte is untrusted. ConvertFaxTiffToPdf and WriteThumbnailPng must
// return an error or a sound result, never crash, hang or leave files behind.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "render/thumbnail.hpp"
#include "render/tiff_to_pdf.hpp"

namespace {

void Check(bool condition) {
    if (!condition) std::abort();
}

// One scratch directory per fuzzing process, removed at exit. The converter takes paths, not bytes.
class Scratch {
public:
    Scratch() {
        std::string pattern = (std::filesystem::temp_directory_path() / "faxd_tiff2pdf_fuzz_XXXXXX").string();
        Check(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
    }
    ~Scratch() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

std::size_t FilesIn(const std::filesystem::path& dir) {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        count += entry.is_regular_file() ? 1 : 0;
    return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Scratch scratch;
    const std::filesystem::path tiff = scratch.dir() / "in.tif", pdf = scratch.dir() / "out.pdf",
                                png = scratch.dir() / "out.png";
    std::filesystem::remove(pdf);
    std::filesystem::remove(png);
    {
        std::ofstream out(tiff, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        Check(out.good());
    }

    faxd::render::PdfOptions options;
    options.pdfa = size % 2 == 0;
    options.title = "fuzz";
    const auto converted = faxd::render::ConvertFaxTiffToPdf(tiff, pdf, options);
    if (converted) {
        Check(converted->pages >= 1 && converted->pages <= 1000);
        Check(std::filesystem::file_size(pdf) == converted->bytes);
    } else {
        Check(!converted.error().message.empty());
        Check(!std::filesystem::exists(pdf));
    }

    const auto thumbnail = faxd::render::WriteThumbnailPng(tiff, png, 64);
    Check(thumbnail.has_value() == std::filesystem::exists(png));
    if (!thumbnail) Check(!thumbnail.error().message.empty());
    // Only what succeeded is there: no temporary files of failed atomic writes.
    Check(FilesIn(scratch.dir()) == 1u + (converted ? 1u : 0u) + (thumbnail ? 1u : 0u));
    return 0;
}
