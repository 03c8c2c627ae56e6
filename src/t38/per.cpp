#include "t38/per.hpp"

#include <string>

namespace faxd::t38::per {

using base::ErrorCode;
using base::MakeError;

std::size_t LengthDeterminantSize(std::size_t length) { return length < 0x80 ? 1 : 2; }

std::size_t OpenTypeSize(std::size_t octets) {
    const std::size_t content = octets == 0 ? 1 : octets;
    return LengthDeterminantSize(content) + content;
}

base::Result<void> AppendLengthDeterminant(std::vector<std::uint8_t>& out, std::size_t length) {
    if (length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(length));
        return {};
    }
    if (length <= kMaxUnfragmentedLength) {
        out.push_back(static_cast<std::uint8_t>(0x80 | (length >> 8)));
        out.push_back(static_cast<std::uint8_t>(length & 0xFF));
        return {};
    }
    return MakeError(ErrorCode::kUnsupported, "length " + std::to_string(length) +
                                                  " needs PER fragmentation, which UDPTL peers do not use");
}

base::Result<void> AppendOctetString(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    auto length = AppendLengthDeterminant(out, bytes.size());
    if (!length) return length;
    out.insert(out.end(), bytes.begin(), bytes.end());
    return {};
}

base::Result<void> AppendOpenType(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) {
        // X.691 §10.1: an open type whose encoding is empty is sent as one zero octet (Asterisk does the
        // same).
        static constexpr std::uint8_t kZero[1] = {0};
        return AppendOctetString(out, kZero);
    }
    return AppendOctetString(out, bytes);
}

base::Result<std::uint8_t> Reader::ReadOctet() {
    if (remaining() < 1)
        return MakeError(ErrorCode::kMalformed, "truncated at octet " + std::to_string(pos_));
    return data_[pos_++];
}

base::Result<std::uint16_t> Reader::ReadUint16() {
    if (remaining() < 2)
        return MakeError(ErrorCode::kMalformed, "truncated at octet " + std::to_string(pos_));
    const auto value = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return value;
}

base::Result<std::size_t> Reader::ReadLengthDeterminant() {
    auto first = ReadOctet();
    if (!first) return tl::unexpected(first.error());
    if ((*first & 0x80) == 0) return std::size_t{*first};
    if ((*first & 0xC0) == 0xC0) {
        // X.691 §11.9.3.8: a 16K-fragment count. Fax IFPs never come near 16 KB.
        return MakeError(ErrorCode::kUnsupported,
                         "fragmented length determinant at octet " + std::to_string(pos_ - 1));
    }
    auto second = ReadOctet();
    if (!second) return tl::unexpected(second.error());
    return (std::size_t{*first & 0x3Fu} << 8) | *second;
}

base::Result<std::span<const std::uint8_t>> Reader::ReadOctetString() {
    auto length = ReadLengthDeterminant();
    if (!length) return tl::unexpected(length.error());
    if (*length > remaining()) {
        return MakeError(ErrorCode::kMalformed, "length " + std::to_string(*length) + " at octet " +
                                                    std::to_string(pos_) + " runs past the datagram end");
    }
    auto bytes = data_.subspan(pos_, *length);
    pos_ += *length;
    return bytes;
}

}  // namespace faxd::t38::per
