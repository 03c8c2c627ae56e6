// bench_office: seconds per .docx with faxd's warm LibreOffice pool (to PDF alone, and end-to-end to a fax
// TIFF) against a cold `soffice --headless --convert-to pdf` per document, as a script would run it, measured
// in the same run on the same file. Prints the medians and the ratio. Not a test: figures only.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "render/office_pages.hpp"

namespace {

using namespace faxd::render;
using Clock = std::chrono::steady_clock;

bool Run(const std::vector<std::string>& argv, const std::filesystem::path& dir) {
    SubprocessOptions options;
    options.argv = argv;
    options.work_dir = dir;
    options.limits.wall = std::chrono::minutes{2};
    options.limits.address_space_bytes = 8ull << 30;
    auto result = RunSubprocess(options);
    if (!result || !result->Succeeded()) {
        std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(),
                     result ? result->std_err.c_str() : result.error().ToString().c_str());
        return false;
    }
    return true;
}

// A two-page business letter with a heading, paragraphs and a table, as HTML for soffice to turn into .docx.
std::string LetterHtml() {
    std::string html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><h1>Order 4711</h1>";
    for (int i = 0; i < 12; ++i) {
        html +=
            "<p>Dear customer, thank you for your order of paper, toner and drums for the fax machines in "
            "all of "
            "our branch offices. Delivery follows within five working days.</p>";
    }
    html += "<table border=\"1\"><tr><th>Item</th><th>Quantity</th><th>Price</th></tr>";
    for (int i = 0; i < 25; ++i)
        html += "<tr><td>Item " + std::to_string(i) + "</td><td>3</td><td>9.90</td></tr>";
    return html + "</table><p>Kind regards</p></body></html>";
}

template <typename F>
double MedianSeconds(int rounds, F&& once) {
    std::vector<double> seconds;
    for (int r = 0; r < rounds; ++r) {
        const auto start = Clock::now();
        if (!once()) return -1;
        seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
}

}  // namespace

int main() {
    auto dir = TempDir::Create(std::filesystem::temp_directory_path(), "faxd-bench-office-");
    if (!dir) return 1;
    const auto html = dir->Path() / "letter.html";
    std::ofstream(html) << LetterHtml();
    const std::string profile = "-env:UserInstallation=file://" + dir->Path().string() + "/cold-profile";
    if (!Run({"/usr/bin/soffice", profile, "--headless", "--infilter=HTML (StarWriter)", "--convert-to",
              "docx", "--outdir", dir->Path().string(), html.string()},
             dir->Path())) {
        return 1;
    }
    const auto docx = dir->Path() / "letter.docx";
    const auto pdf = dir->Path() / "letter.pdf";
    const auto tiff = dir->Path() / "letter.tif";
    constexpr int kRounds = 15;

    // Cold, as a script would do it: one soffice per document, its profile already created by the run above.
    const double cold = MedianSeconds(5, [&] {
        return Run({"/usr/bin/soffice", profile, "--headless", "--convert-to", "pdf", "--outdir",
                    dir->Path().string(), docx.string()},
                   dir->Path());
    });

    OfficePoolOptions pool_options;
    pool_options.temp_parent = dir->Path();
    OfficePool pool(pool_options);
    const auto first_start = Clock::now();
    auto first = pool.Convert(docx, pdf);
    if (!first) {
        std::fprintf(stderr, "%s\n", first.error().ToString().c_str());
        return 1;
    }
    const double first_seconds = std::chrono::duration<double>(Clock::now() - first_start).count();
    const double warm_pdf = MedianSeconds(kRounds, [&] { return pool.Convert(docx, pdf).has_value(); });
    RenderOptions render;
    render.temp_parent = dir->Path();
    int pages = 0;
    const double warm_fax = MedianSeconds(kRounds, [&] {
        auto rendered = RenderOfficeToFax(docx, tiff, render, pool);
        if (!rendered) std::fprintf(stderr, "%s\n", rendered.error().ToString().c_str());
        pages = rendered ? rendered->pages : 0;
        return rendered.has_value();
    });

    std::printf("office, %d-page .docx, %u CPUs, median of %d (cold: of 5)\n", *first,
                std::thread::hardware_concurrency(), kRounds);
    std::printf("%-44s %8.3f s\n", "cold soffice --convert-to pdf", cold);
    std::printf("%-44s %8.3f s\n", "pool: first document (starts soffice)", first_seconds);
    std::printf("%-44s %8.3f s\n", "pool: warm, to PDF", warm_pdf);
    std::printf("%-44s %8.3f s  (%d fax pages, fine)\n", "pool: warm, to fax TIFF (PDF + Ghostscript)",
                warm_fax, pages);
    std::printf("ratio cold / warm PDF: %.1fx, cold / warm fax TIFF: %.1fx\n", cold / warm_pdf,
                cold / warm_fax);
    return 0;
}
