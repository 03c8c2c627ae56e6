// make_test_fax OUT.tif [PAGES] [standard|fine|superfine|short]: writes a generated fax document (text and
// halftone pages) for integration tests and benchmarks. "short" makes standard-resolution text pages of 200
// rows, which a real-time call sends in a few seconds.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_documents.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: make_test_fax OUT.tif [PAGES] [standard|fine|superfine]\n");
        return 2;
    }
    const int pages = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::string res = argc > 3 ? argv[3] : "fine";
    using faxd::testing::FaxResolution;
    const auto resolution = res == "standard" ? FaxResolution::kStandard
                            : res == "superfine" ? FaxResolution::kSuperfine
                                                 : FaxResolution::kFine;
    std::vector<faxd::testing::Bitmap> document;
    if (res == "short") {
        for (int p = 0; p < pages; ++p)
            document.push_back(faxd::testing::MakePage(faxd::testing::PageKind::kText, FaxResolution::kStandard,
                                                       static_cast<std::uint32_t>(p + 1), 200));
    }
    for (int p = 0; res != "short" && p < pages; ++p)
        document.push_back(faxd::testing::MakePage(p % 3 == 1 ? faxd::testing::PageKind::kHalftone
                                                              : faxd::testing::PageKind::kText,
                                                   resolution, static_cast<std::uint32_t>(p + 1)));
    if (auto written = faxd::testing::WriteFaxTiff(argv[1], document); !written) {
        std::fprintf(stderr, "make_test_fax: %s\n", written.error().ToString().c_str());
        return 1;
    }
    return 0;
}
