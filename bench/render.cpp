// bench_render: documents to fax pages with our parallel Ghostscript path against one `gs -sDEVICE=tiffg4`
// process as HylaFAX runs it, measured in the same run on the same files. Prints pages/s, bytes/page, the
// ratio and the time until the first page of a 100-page PDF is ready. Not a test: figures only.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "render/fax_tiff.hpp"
#include "render/netpbm.hpp"
#include "render/pdf_pages.hpp"

namespace {

using namespace faxd::render;
using Clock = std::chrono::steady_clock;

bool Run(const std::vector<std::string>& argv, const std::filesystem::path& dir) {
    SubprocessOptions options;
    options.argv = argv;
    options.work_dir = dir;
    options.limits.wall = std::chrono::minutes{5};
    auto result = RunSubprocess(options);
    if (!result || !result->Succeeded()) {
        std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(),
                     result ? result->std_err.c_str() : result.error().ToString().c_str());
        return false;
    }
    return true;
}

std::string TextProgram(int pages) {
    std::string ps = "%!PS-Adobe-3.0\n/Times-Roman findfont 10 scalefont setfont\n";
    ps +=
        "1 1 " + std::to_string(pages) + " { /p exch def 0 1 59 { /l exch def 56 780 l 12.5 mul sub moveto\n";
    ps +=
        "(Dense business letter text, line after line, with numbers 0123456789 and words of varied length.) "
        "show\n";
    ps += "} for showpage } for\n";
    return ps;
}

// Photo-like pages: a full-page 8-bit gray image of smooth waves plus noise, as a scanned photo would be.
std::string PhotoProgram(int pages) {
    std::string ps = "%!PS-Adobe-3.0\n/rnd 12345 def\n";
    ps += "1 1 " + std::to_string(pages) + " { /p exch def gsave 40 60 translate 515 720 scale\n";
    ps += "/row 400 string def\n";
    ps += "400 560 8 [400 0 0 -560 0 560] { 0 1 399 { /x exch def row x\n";
    ps += "  x p mul 0.05 mul sin 60 mul x 0.9 mul cos 50 mul add 128 add rand 40 mod add 20 sub\n";
    ps +=
        "  dup 0 lt { pop 0 } if dup 255 gt { pop 255 } if cvi put } for row } image grestore showpage } "
        "for\n";
    return ps;
}

std::filesystem::path MakePdf(const std::filesystem::path& dir, const std::string& name,
                              const std::string& ps) {
    const auto ps_path = dir / (name + ".ps");
    std::ofstream(ps_path) << ps;
    const auto pdf = dir / (name + ".pdf");
    Run({"/usr/bin/ps2pdf", ps_path.string(), pdf.string()}, dir);
    return pdf;
}

struct Figure {
    double seconds = 1e9;
    std::uintmax_t bytes = 0;
};

template <typename F>
Figure Best(int rounds, F&& once) {
    Figure best;
    for (int r = 0; r < rounds; ++r) {
        const auto start = Clock::now();
        const std::uintmax_t bytes = once();
        const double s = std::chrono::duration<double>(Clock::now() - start).count();
        if (s < best.seconds) best = {s, bytes};
    }
    return best;
}

// Tone fidelity of a bilevel rendering against the gray original: both averaged over 8 x 8 pixel cells (about
// 1 mm, what an eye at reading distance blends), mean absolute difference in gray levels (0-255). Lower reads
// closer to the photo; a plain threshold of a smooth photo scores badly, any decent screen well.
double ToneError(const std::filesystem::path& tiff, const std::filesystem::path& pgm_prefix, int pages) {
    auto file = FaxTiff::Open(tiff);
    if (!file) return -1;
    double total = 0;
    long cells = 0;
    for (int p = 1; p <= pages; ++p) {
        char name[32];
        std::snprintf(name, sizeof name, "-%04d.pgm", p);
        auto gray = ReadPgm(pgm_prefix.string() + name, 1u << 30);
        auto info = file->PageInfo();
        if (!gray || !info) return -1;
        auto bits = file->Decode(*info);
        if (!bits) return -1;
        const int width = std::min<int>(gray->width, static_cast<int>(bits->width));
        const int height = std::min<int>(gray->height, static_cast<int>(bits->height));
        for (int cy = 0; cy + 8 <= height; cy += 8) {
            for (int cx = 0; cx + 8 <= width; cx += 8) {
                double original = 0, rendered = 0;
                for (int y = cy; y < cy + 8; ++y) {
                    for (int x = cx; x < cx + 8; ++x) {
                        original += gray->pixels[static_cast<std::size_t>(y) * gray->width + x];
                        const bool black = bits->bits[static_cast<std::size_t>(y) * bits->stride + x / 8] &
                                           (0x80 >> (x % 8));
                        rendered += black ? 0 : 255;
                    }
                }
                total += std::abs(original - rendered) / 64;
                ++cells;
            }
        }
        if (!file->NextPage() && p < pages) return -1;
    }
    return cells > 0 ? total / cells : -1;
}

}  // namespace

int main() {
    auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-bench-render-");
    if (!dir) return 1;
    const auto text = MakePdf(dir->Path(), "text20", TextProgram(20));
    const auto photo = MakePdf(dir->Path(), "photo5", PhotoProgram(5));
    const auto long_pdf = MakePdf(dir->Path(), "text100", TextProgram(100));
    RenderOptions options;
    options.resolution = Resolution::kFine;
    const auto out = dir->Path() / "out.tif";

    std::printf("render, fine (204x196), T.6, %u CPUs, best of 3\n", std::thread::hardware_concurrency());
    std::printf("%-8s %-22s %8s %9s %11s\n", "input", "path", "pages/s", "seconds", "bytes/page");
    for (const auto& [label, pdf, pages] : {std::tuple{"text20", text, 20}, std::tuple{"photo5", photo, 5},
                                            std::tuple{"text100", long_pdf, 100}}) {
        const Figure ours = Best(3, [&] {
            auto rendered = RenderPdfToFax(pdf, out, options);
            if (!rendered) std::fprintf(stderr, "%s\n", rendered.error().ToString().c_str());
            return rendered ? rendered->bytes : 0;
        });
        const Figure gs = Best(3, [&] {
            // HylaFAX ps2fax style: one gs process, the whole document, straight to G4.
            Run({"/usr/bin/gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffg4", "-r204x196",
                 "-g1728x2292", "-dFIXEDMEDIA", "-dFitPage", "-sOutputFile=" + out.string(), pdf.string()},
                dir->Path());
            return std::filesystem::file_size(out);
        });
        std::printf("%-8s %-22s %8.1f %9.3f %11ju\n", label, "faxd parallel gs", pages / ours.seconds,
                    ours.seconds, ours.bytes / pages);
        std::printf("%-8s %-22s %8.1f %9.3f %11ju\n", label, "single gs (HylaFAX)", pages / gs.seconds,
                    gs.seconds, gs.bytes / pages);
        std::printf("%-8s ratio faxd/gs pages/s: %.2fx\n", label, gs.seconds / ours.seconds);
    }
    // Photo legibility: ours and Ghostscript's halftone against Ghostscript's gray rendering of the same
    // pages.
    Run({"/usr/bin/gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pgmraw", "-r204x196",
         "-g1728x2292", "-dFIXEDMEDIA", "-dFitPage",
         "-sOutputFile=" + (dir->Path() / "gray-%04d.pgm").string(), photo.string()},
        dir->Path());
    const auto ours_tiff = dir->Path() / "ours-photo.tif";
    const auto gs_tiff = dir->Path() / "gs-photo.tif";
    if (RenderPdfToFax(photo, ours_tiff, options)) {
        Run({"/usr/bin/gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffg4", "-r204x196",
             "-g1728x2292", "-dFIXEDMEDIA", "-dFitPage", "-sOutputFile=" + gs_tiff.string(), photo.string()},
            dir->Path());
        std::printf(
            "photo5 tone error vs the gray original (8x8 cells, 0-255, lower is closer): faxd %.1f, gs "
            "%.1f\n",
            ToneError(ours_tiff, dir->Path() / "gray", 5), ToneError(gs_tiff, dir->Path() / "gray", 5));
    }
    RenderOptions first = options;
    first.last_page = 1;
    const Figure first_page = Best(3, [&] {
        auto rendered = RenderPdfToFax(long_pdf, out, first);
        return rendered ? rendered->bytes : 0;
    });
    std::printf("first page of a 100-page PDF ready after %.3f s (page count + page 1)\n",
                first_page.seconds);
    return 0;
}
