// Shared setup for back-to-back engine tests: a generated document, a loopback run, and pixel comparison.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "loopback/loopback.hpp"
#include "test_documents.hpp"

namespace faxd::testing {

inline loopback::LoopbackOptions DefaultOptions(const TempDir& dir) {
    loopback::LoopbackOptions options;
    options.send_tiff = dir / "send.tif";
    options.receive_tiff = dir / "received.tif";
    options.sender.local_ident = "+1 555 0100";
    options.receiver.local_ident = "+1 555 0199";
    return options;
}

// Every received page must decode to exactly the pixels that were sent.
inline void ExpectSamePages(const std::vector<Bitmap>& sent, const std::filesystem::path& received_path) {
    auto received = ReadTiffPages(received_path);
    ASSERT_TRUE(received) << received.error().ToString();
    ASSERT_EQ(received->size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const Bitmap& a = sent[i];
        const Bitmap& b = (*received)[i];
        EXPECT_EQ(b.width, a.width) << "page " << i + 1;
        EXPECT_EQ(b.height, a.height) << "page " << i + 1;
        EXPECT_NEAR(b.y_dpi, a.y_dpi, 1.0) << "page " << i + 1;
        EXPECT_TRUE(a.bits == b.bits) << "page " << i + 1 << " pixels differ";
    }
}

}  // namespace faxd::testing
