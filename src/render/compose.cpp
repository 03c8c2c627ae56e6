#include "render/compose.hpp"

#include <algorithm>

#include "base/atomic_file.hpp"
#include "render/fax_tiff.hpp"
#include "render/file_error.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

Resolution ResolutionOfDpi(double y_dpi) {
    if (y_dpi < 150) return Resolution::kStandard;
    if (y_dpi < 300) return Resolution::kFine;
    return Resolution::kSuperfine;
}

BilevelPage ToPage(const FaxBitmap& bitmap) {
    BilevelPage page;
    page.width = static_cast<int>(bitmap.width);
    page.height = static_cast<int>(bitmap.height);
    page.bits.resize(page.Stride() * static_cast<std::size_t>(page.height));
    for (int y = 0; y < page.height; ++y) {
        std::copy_n(bitmap.bits.begin() + static_cast<std::ptrdiff_t>(y * bitmap.stride), page.Stride(),
                    page.bits.begin() + static_cast<std::ptrdiff_t>(y * page.Stride()));
    }
    return page;
}

}  // namespace

base::Result<ComposedFax> ComposeFax(const std::vector<std::filesystem::path>& inputs,
                                     const std::optional<CoverRequest>& cover, const RenderOptions& options,
                                     const std::filesystem::path& output) {
    if (inputs.empty() && !cover)
        return MakeError(ErrorCode::kInvalidArgument, "nothing to fax: no document and no cover page");
    auto work = TempDir::Create(options.temp_parent, "faxd-compose-");
    if (!work) return tl::unexpected(work.error());
    ComposedFax fax;
    std::vector<std::filesystem::path> parts;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto part = work->Path() / ("part" + std::to_string(i) + ".tif");
        auto rendered = RenderToFax(inputs[i], part, options);
        if (!rendered) return tl::unexpected(rendered.error());
        fax.documents.push_back({inputs[i], rendered->type, rendered->pages});
        fax.pages += rendered->pages;
        parts.push_back(part);
    }
    if (cover) {
        auto loaded = LoadCoverTemplate(cover->template_dir, cover->name, cover->language);
        if (!loaded) return tl::unexpected(loaded.error());
        CoverFields fields;
        for (const auto& [key, value] : cover->fields) fields.values[key] = value;
        fields.values["pages"] = std::to_string(fax.pages + 1);  // the cover counts itself
        auto page = RenderCoverPage(*loaded, fields, options.resolution, options.paper);
        if (!page) return tl::unexpected(page.error());
        const auto cover_tiff = work->Path() / "cover.tif";
        if (auto written = WriteFaxTiff(cover_tiff, std::span<const BilevelPage>(&*page, 1),
                                        options.resolution, options.compression);
            !written) {
            return tl::unexpected(written.error());
        }
        parts.insert(parts.begin(), cover_tiff);
        ++fax.pages;
    }
    auto file = base::AtomicFile::Create(output);
    if (!file) return tl::unexpected(file.error());
    auto joined = JoinFaxTiffs(parts, file->TempPath());
    if (!joined) return tl::unexpected(joined.error());
    std::error_code ec;
    fax.bytes = std::filesystem::file_size(file->TempPath(), ec);
    if (auto committed = file->Commit(); !committed) return tl::unexpected(committed.error());
    return fax;
}

base::Result<int> StampHeaderLines(const std::filesystem::path& input, const std::filesystem::path& output,
                                   const HeaderLine& header, int first_page) {
    auto file = FaxTiff::Open(input);
    if (!file) return tl::unexpected(file.error());
    std::vector<BilevelPage> pages;
    Resolution resolution = Resolution::kFine;
    int total = 0;
    do {
        ++total;
        if (total < first_page) continue;
        auto info = file->PageInfo();
        if (!info) return tl::unexpected(info.error());
        auto bitmap = file->Decode(*info);
        if (!bitmap) return tl::unexpected(bitmap.error());
        resolution = ResolutionOfDpi(info->y_dpi);
        pages.push_back(ToPage(*bitmap));
    } while (file->NextPage());
    if (pages.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         input.filename().string() + " has " + std::to_string(total) +
                             " pages: nothing from page " + std::to_string(first_page));
    }
    auto font = TextRasterizer::Open(kDefaultFont, 9, kFaxXDpi, YDpi(resolution));
    if (!font) return tl::unexpected(font.error());
    for (std::size_t i = 0; i < pages.size(); ++i) {
        const int number = first_page + static_cast<int>(i);
        if (auto stamped = StampHeaderLine(pages[i], header, number, total, resolution, *font); !stamped) {
            return tl::unexpected(stamped.error());
        }
    }
    auto out = base::AtomicFile::Create(output);
    if (!out) return tl::unexpected(out.error());
    if (auto written = WriteFaxTiff(out->TempPath(), pages, resolution, FaxCompression::kT6); !written) {
        return tl::unexpected(written.error());
    }
    if (auto committed = out->Commit(); !committed) return tl::unexpected(committed.error());
    return static_cast<int>(pages.size());
}

}  // namespace faxd::render
