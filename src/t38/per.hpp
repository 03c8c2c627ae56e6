// The few aligned-PER (ITU-T X.691) building blocks UDPTL needs: length determinants and open types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace faxd::t38::per {

// X.691 §11.9.3.6: the long form "10xxxxxx xxxxxxxx" reaches 16383; longer needs 16K fragments, which no fax
// implementation sends and we do not support.
inline constexpr std::size_t kMaxUnfragmentedLength = 0x3FFF;

// Bytes a length determinant for `length` takes (1 or 2; callers keep length <= kMaxUnfragmentedLength).
std::size_t LengthDeterminantSize(std::size_t length);

// Bytes an open type carrying `octets` bytes takes: an empty open type is sent as one zero octet (X.691
// §10.1).
std::size_t OpenTypeSize(std::size_t octets);

// Appends a length determinant; kUnsupported above kMaxUnfragmentedLength.
base::Result<void> AppendLengthDeterminant(std::vector<std::uint8_t>& out, std::size_t length);
// Appends a length determinant and the bytes (an OCTET STRING without size constraint).
base::Result<void> AppendOctetString(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes);
// Appends an open type: like an octet string, except that empty content is sent as a single zero octet.
base::Result<void> AppendOpenType(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes);

// Reads from a datagram front to back; every read is checked against what is left.
class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

    base::Result<std::uint8_t> ReadOctet();
    base::Result<std::uint16_t> ReadUint16();  // big endian, as a constrained INTEGER (0..65535)
    // Short and long forms; the fragment form is kUnsupported.
    base::Result<std::size_t> ReadLengthDeterminant();
    // A length determinant and that many bytes (open types and octet strings read alike; a length-0 open
    // type, which some peers send for "nothing", comes back empty).
    base::Result<std::span<const std::uint8_t>> ReadOctetString();

    std::size_t remaining() const { return data_.size() - pos_; }
    std::size_t position() const { return pos_; }

  private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

}  // namespace faxd::t38::per
