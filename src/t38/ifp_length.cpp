#include "t38/ifp_length.hpp"

namespace faxd::t38 {
namespace {

// Counts of the values in each enumeration, T.38 §A (the ASN.1 module). The root values fit the 4 bits after
// the extension bit; extension values are sent as a normally small number (X.691 §10.6): one 0 bit and six
// value bits, spread over two octets.
constexpr unsigned kIndicatorRootValues = 16;  // no-signal .. v17-14400-long-training
constexpr unsigned kIndicatorExtValues = 7;    // v8-ansam .. v33-14400-training
constexpr unsigned kDataRootValues = 9;        // v21 .. v17-14400
constexpr unsigned kDataExtValues = 6;         // v8 .. v33-14400
constexpr unsigned kFieldTypeExtValues = 4;    // cm-message, jm-message, ci-message, v34rate

// The six-bit value of an extension enumeration that starts after bit 0x20 (or 0x40) of `first`: the low four
// bits of `first` (after the "normally small" flag 0x10) and the top two bits of `second`.
unsigned ExtensionValue(std::uint8_t first, std::uint8_t second) {
    return ((first & 0x0Fu) << 2) | (second >> 6);
}

class Cursor {
  public:
    explicit Cursor(std::span<const std::uint8_t> data) : data_(data) {}
    bool Has(std::size_t octets) const { return data_.size() - pos_ >= octets; }
    std::uint8_t At(std::size_t offset) const { return data_[pos_ + offset]; }
    void Skip(std::size_t octets) { pos_ += octets; }
    std::size_t pos() const { return pos_; }

  private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

// field-data OCTET STRING (SIZE (1..65535)): a constrained length, so aligned PER sends it as two octets of
// (length - 1) followed by the data. Returns false if the field runs past the buffer.
bool SkipFieldData(Cursor& cursor) {
    if (!cursor.Has(2)) return false;
    const std::size_t length = ((std::size_t{cursor.At(0)} << 8) | cursor.At(1)) + 1;
    cursor.Skip(2);
    if (!cursor.Has(length)) return false;
    cursor.Skip(length);
    return true;
}

// The Data-Field SEQUENCE OF, starting at its count. Returns false when it does not parse.
bool SkipDataFields(Cursor& cursor, int t38_version) {
    if (!cursor.Has(1)) return false;
    std::size_t count = cursor.At(0);
    if (count & 0x80) {
        // The long form of the length determinant; spandsp sends it for 128 fields or more.
        if ((count & 0xC0) == 0xC0 || !cursor.Has(2)) return false;
        count = ((count & 0x3F) << 8) | cursor.At(1);
        cursor.Skip(2);
    } else {
        cursor.Skip(1);
    }
    bool in_low_half = false;  // version 0 only: the next field starts at bit 3 of the current octet
    for (std::size_t i = 0; i < count; ++i) {
        if (!cursor.Has(1)) return false;
        const std::uint8_t octet = cursor.At(0);
        bool has_data = false;
        if (t38_version == 0) {
            // Pre-corrigendum ASN.1: 1 presence bit and 3 field-type bits, no extension; the field data is
            // octet aligned, so only a field without data leaves the octet half used.
            if (in_low_half) {
                has_data = (octet & 0x08) != 0;
                cursor.Skip(1);
                in_low_half = false;
            } else {
                has_data = (octet & 0x80) != 0;
                if (has_data) {
                    cursor.Skip(1);
                } else {
                    in_low_half = true;
                }
            }
        } else {
            has_data = (octet & 0x80) != 0;
            if (octet & 0x40) {
                if (!cursor.Has(2) || ExtensionValue(octet, cursor.At(1)) >= kFieldTypeExtValues)
                    return false;
                cursor.Skip(2);
            } else {
                cursor.Skip(1);
            }
        }
        if (has_data && !SkipFieldData(cursor)) return false;
    }
    if (in_low_half) cursor.Skip(1);  // the last field ended mid-octet; the rest of it is padding
    return true;
}

}  // namespace

std::size_t IfpEncodedLength(std::span<const std::uint8_t> ifp, int t38_version) {
    if (t38_version < 0 || t38_version > 3) return 0;
    Cursor cursor(ifp);
    if (!cursor.Has(1)) return 0;
    const std::uint8_t first = cursor.At(0);
    const bool data_field_present = (first & 0x80) != 0;
    const bool is_data = (first & 0x40) != 0;  // type-of-msg CHOICE: t30-indicator or t30-data
    const bool extended = (first & 0x20) != 0;
    if (extended) {
        if (!cursor.Has(2)) return 0;
        const unsigned value = ExtensionValue(first, cursor.At(1));
        if (value >= (is_data ? kDataExtValues : kIndicatorExtValues)) return 0;
        cursor.Skip(2);
    } else {
        const unsigned value = (first >> 1) & 0x0F;
        if (value >= (is_data ? kDataRootValues : kIndicatorRootValues)) return 0;
        cursor.Skip(1);
    }
    if (!data_field_present) return cursor.pos();
    // An indicator never carries a data field (spandsp rejects one that does).
    if (!is_data) return 0;
    if (!SkipDataFields(cursor, t38_version)) return 0;
    return cursor.pos();
}

}  // namespace faxd::t38
