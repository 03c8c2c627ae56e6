#include "render/pdf_raster.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

#include "render/file_error.hpp"
#include "render/halftone.hpp"
#include "render/netpbm.hpp"

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

// Pages are coded in batches: memory stays bounded (a fine page is 216 KB unpacked) and JoinFaxTiffs copies
// the coded strips without decoding them again.
constexpr int kPagesPerPart = 16;
// A chunk whose pages alternate between kinds more often than this is rendered gray in one process: every
// extra Ghostscript start costs about as much as rendering a few pages.
constexpr int kMaxRunsPerChunk = 4;

// Consecutive pages Ghostscript renders in one process, to one kind of raster.
struct PageRun {
    int first = 0;
    int last = 0;
    bool gray = false;
    std::string prefix;  // output files <prefix>-0001.pbm ...
};

// One worker's share: contiguous runs; the worker renders them and codes its pages into parts, so coding
// one chunk overlaps with Ghostscript still rendering another.
struct Chunk {
    std::vector<PageRun> runs;
};

std::vector<Chunk> PlanChunks(int first, int last, const std::vector<bool>& has_images, int workers) {
    auto gray = [&](int page) {
        return page - 1 < static_cast<int>(has_images.size()) &&
               has_images[static_cast<std::size_t>(page - 1)];
    };
    // Balance by cost: a gray page costs about twice a bilevel one (eight times the bytes to write and read).
    std::vector<int> cost;
    int total = 0;
    for (int p = first; p <= last; ++p) total += cost.emplace_back(gray(p) ? 2 : 1);
    std::vector<Chunk> chunks;
    int page = first, spent = 0;
    for (int w = 0; w < workers && page <= last; ++w) {
        const int target = (total * (w + 1) + workers - 1) / workers;
        const int chunk_first = page;
        while (page <= last && (spent < target || page == chunk_first))
            spent += cost[static_cast<std::size_t>(page++ - first)];
        Chunk chunk;
        for (int p = chunk_first; p < page; ++p) {
            if (chunk.runs.empty() || chunk.runs.back().gray != gray(p))
                chunk.runs.push_back({p, p, gray(p), ""});
            chunk.runs.back().last = p;
        }
        if (static_cast<int>(chunk.runs.size()) > kMaxRunsPerChunk)
            chunk.runs = {{chunk_first, page - 1, true, ""}};
        for (std::size_t r = 0; r < chunk.runs.size(); ++r) {
            chunk.runs[r].prefix = "w" + std::to_string(w) + "r" + std::to_string(r);
        }
        chunks.push_back(std::move(chunk));
    }
    return chunks;
}

// -dFIXEDMEDIA with -g keeps every page 1728 x PageLines at 204 x YDpi whatever the document asks for, and
// -dFitPage scales each page to it keeping proportions (A4 fits height-limited, Letter width-limited; both
// end up 1728 wide, so spandsp accepts the width without rescaling).
std::vector<std::string> GsRasterArgs(const RenderOptions& options, const std::filesystem::path& pdf,
                                      const PageRun& run) {
    return {
        options.ghostscript.string(),
        "-dSAFER",
        "-dBATCH",
        "-dNOPAUSE",
        "-dQUIET",
        run.gray ? "-sDEVICE=pgmraw" : "-sDEVICE=pbmraw",
        "-r" + std::to_string(kFaxXDpi) + "x" + std::to_string(YDpi(options.resolution)),
        "-g" + std::to_string(kFaxWidth) + "x" + std::to_string(PageLines(options.resolution, options.paper)),
        "-dFIXEDMEDIA",
        "-dFitPage",
        "-dFirstPage=" + std::to_string(run.first),
        "-dLastPage=" + std::to_string(run.last),
        "-sOutputFile=" + run.prefix + (run.gray ? "-%04d.pgm" : "-%04d.pbm"),
        pdf.string()};
}

base::Result<BilevelPage> LoadPage(const std::filesystem::path& file, bool gray, Resolution resolution) {
    const std::uint64_t max_pixels =
        static_cast<std::uint64_t>(kFaxWidth) * (PageLines(resolution, PaperSize::kA4) + 1);
    if (!gray) return ReadPbm(file, max_pixels);
    auto image = ReadPgm(file, max_pixels);
    if (!image) return tl::unexpected(image.error());
    return BinarizeMixedPage(*image, resolution);
}

// Renders one chunk and codes its pages into parts named <w>-<n>.tif (n in page order).
base::Result<std::vector<std::filesystem::path>> RenderChunk(const std::filesystem::path& pdf,
                                                             const Chunk& chunk, const RenderOptions& options,
                                                             const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> parts;
    std::vector<BilevelPage> batch;
    auto flush = [&]() -> base::Result<void> {
        if (batch.empty()) return {};
        const auto part = dir / (chunk.runs.front().prefix + "-part" + std::to_string(parts.size()) + ".tif");
        if (auto written = WriteFaxTiff(part, batch, options.resolution, options.compression); !written) {
            return tl::unexpected(written.error());
        }
        parts.push_back(part);
        batch.clear();
        return {};
    };
    for (const PageRun& run : chunk.runs) {
        auto ran = RunSubprocess(ConverterRun(options, GsRasterArgs(options, pdf, run), dir));
        if (!ran) return tl::unexpected(ran.error());
        if (!ran->Succeeded()) {
            return MakeError(ErrorCode::kMalformed, "Ghostscript failed: " + DiagnosticExcerpt(*ran));
        }
        for (int n = 1; n <= run.last - run.first + 1; ++n) {
            char name[64];
            std::snprintf(name, sizeof name, "%s-%04d.%s", run.prefix.c_str(), n, run.gray ? "pgm" : "pbm");
            const auto file = dir / name;
            if (!std::filesystem::exists(file)) {
                return MakeError(ErrorCode::kMalformed, "Ghostscript rendered no page " +
                                                            std::to_string(run.first + n - 1) + ": " +
                                                            DiagnosticExcerpt(*ran));
            }
            auto page = LoadPage(file, run.gray, options.resolution);
            std::error_code ignored;
            std::filesystem::remove(file, ignored);
            if (!page) return tl::unexpected(page.error());
            batch.push_back(std::move(*page));
            if (static_cast<int>(batch.size()) == kPagesPerPart) {
                if (auto flushed = flush(); !flushed) return tl::unexpected(flushed.error());
            }
        }
    }
    if (auto flushed = flush(); !flushed) return tl::unexpected(flushed.error());
    return parts;
}

}  // namespace

SubprocessOptions ConverterRun(const RenderOptions& options, std::vector<std::string> argv,
                               const std::filesystem::path& work_dir) {
    SubprocessOptions run;
    run.argv = std::move(argv);
    run.work_dir = work_dir;
    run.temp_parent = options.temp_parent;
    run.limits = options.limits;
    run.limits.wall = options.timeout;
    return run;
}

base::Result<PdfLayout> ScanPdfLayout(const std::filesystem::path& pdf, const RenderOptions& options) {
    auto dir = TempDir::Create(options.temp_parent, "faxd-qpdf-");
    if (!dir) return tl::unexpected(dir.error());
    auto run_options = ConverterRun(
        options,
        {options.qpdf.string(), "--show-pages", "--with-images", std::filesystem::absolute(pdf).string()},
        dir->Path());
    // About 60 bytes per page plus one line per image.
    run_options.limits.output_bytes = 16u << 20;
    auto run = RunSubprocess(run_options);
    if (!run) return tl::unexpected(run.error());
    // qpdf exits 3 when it repaired something and still read the file.
    if (run->exit_code != 0 && run->exit_code != 3) {
        return MakeError(ErrorCode::kMalformed, "qpdf cannot read the PDF: " + DiagnosticExcerpt(*run));
    }
    PdfLayout layout;
    std::istringstream lines(run->std_out);
    std::string line;
    bool in_images = false;
    while (std::getline(lines, line)) {
        if (line.starts_with("page ")) {
            ++layout.pages;
            layout.has_images.push_back(false);
            in_images = false;
        } else if (line == "  images:") {
            in_images = true;
        } else if (line.starts_with("  ")) {
            if (in_images && line.starts_with("    ") && !layout.has_images.empty())
                layout.has_images.back() = true;
            if (!line.starts_with("    ")) in_images = false;
        }
    }
    if (layout.pages == 0) return MakeError(ErrorCode::kMalformed, "qpdf found no pages");
    return layout;
}

base::Result<std::vector<std::filesystem::path>> RasterisePdfPages(const std::filesystem::path& pdf,
                                                                   int first, int last,
                                                                   const std::vector<bool>& has_images,
                                                                   const RenderOptions& options,
                                                                   const std::filesystem::path& work_dir) {
    const int workers = options.parallelism > 0
                            ? options.parallelism
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const auto chunks = PlanChunks(first, last, has_images, std::min(workers, last - first + 1));
    std::vector<base::Result<std::vector<std::filesystem::path>>> results(
        chunks.size(), MakeError(ErrorCode::kInternal, "not run"));
    {
        std::vector<std::jthread> threads;
        for (std::size_t w = 1; w < chunks.size(); ++w) {
            threads.emplace_back([&, w] { results[w] = RenderChunk(pdf, chunks[w], options, work_dir); });
        }
        results[0] = RenderChunk(pdf, chunks[0], options, work_dir);
    }
    std::vector<std::filesystem::path> parts;
    for (auto& result : results) {
        if (!result) return tl::unexpected(result.error());
        parts.insert(parts.end(), result->begin(), result->end());
    }
    return parts;
}

}  // namespace faxd::render
