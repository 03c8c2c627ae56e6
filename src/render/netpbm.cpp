#include "render/netpbm.hpp"

#include <fstream>
#include <string>

namespace faxd::render {
namespace {

using base::ErrorCode;
using base::MakeError;

struct Header {
    int width = 0;
    int height = 0;
};

// Netpbm header: magic, width, height[, maxval], '#' comments anywhere, then exactly one whitespace byte.
base::Result<Header> ReadHeader(std::ifstream& in, const std::string& magic, bool has_maxval,
                                std::uint64_t max_pixels) {
    auto token = [&in]() {
        std::string word;
        while (in && word.empty()) {
            in >> std::ws;
            if (in.peek() == '#') {
                std::string comment;
                std::getline(in, comment);
                continue;
            }
            in >> word;
        }
        return word;
    };
    if (token() != magic)
        return MakeError(ErrorCode::kMalformed, "raster is not a " + magic + " netpbm file");
    Header header;
    try {
        header.width = std::stoi(token());
        header.height = std::stoi(token());
        if (has_maxval && std::stoi(token()) != 255) {
            return MakeError(ErrorCode::kMalformed, "raster is not 8-bit gray");
        }
    } catch (const std::exception&) {
        return MakeError(ErrorCode::kMalformed, "raster has a bad netpbm header");
    }
    in.get();
    const auto pixels = static_cast<std::uint64_t>(header.width) * static_cast<std::uint64_t>(header.height);
    if (header.width <= 0 || header.height <= 0 || pixels > max_pixels) {
        return MakeError(ErrorCode::kLimitExceeded, "raster size out of bounds");
    }
    return header;
}

bool ReadAll(std::ifstream& in, std::vector<std::uint8_t>& bytes) {
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return static_cast<std::size_t>(in.gcount()) == bytes.size();
}

}  // namespace

base::Result<GrayImage> ReadPgm(const std::filesystem::path& path, std::uint64_t max_pixels) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kIo, "cannot open " + path.string());
    auto header = ReadHeader(in, "P5", true, max_pixels);
    if (!header) return tl::unexpected(header.error());
    GrayImage image{header->width, header->height, {}};
    image.pixels.resize(static_cast<std::size_t>(header->width) * static_cast<std::size_t>(header->height));
    if (!ReadAll(in, image.pixels)) return MakeError(ErrorCode::kMalformed, "short PGM raster");
    return image;
}

base::Result<BilevelPage> ReadPbm(const std::filesystem::path& path, std::uint64_t max_pixels) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return MakeError(ErrorCode::kIo, "cannot open " + path.string());
    auto header = ReadHeader(in, "P4", false, max_pixels);
    if (!header) return tl::unexpected(header.error());
    BilevelPage page{header->width, header->height, {}};
    page.bits.resize(page.Stride() * static_cast<std::size_t>(page.height));
    if (!ReadAll(in, page.bits)) return MakeError(ErrorCode::kMalformed, "short PBM raster");
    return page;
}

}  // namespace faxd::render
