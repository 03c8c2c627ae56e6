#include "mail/tnef.hpp"

#include <cstdint>
#include <optional>

#include <glib.h>

#include "mail/mime_text.hpp"

namespace faxd::mail {
namespace {

constexpr std::uint32_t kTnefSignature = 0x223E9F78;
// Attribute ids with their type in the high word (MS-OXTNEF §2.1.3.3).
constexpr std::uint32_t kAttAttachRendData = 0x00069002;  // starts each attachment
constexpr std::uint32_t kAttAttachTitle = 0x00018010;
constexpr std::uint32_t kAttAttachData = 0x0006800F;
constexpr std::uint32_t kAttAttachment = 0x00069005;  // the attachment's MAPI properties
constexpr std::uint8_t kLevelAttachment = 0x02;

// MAPI property ids and types (MS-OXPROPS, MS-OXCDATA §2.11.1).
constexpr std::uint16_t kPidAttachDataObject = 0x3701;
constexpr std::uint16_t kPidAttachLongFilename = 0x3707;
constexpr std::uint16_t kPidAttachMimeTag = 0x370E;
constexpr std::uint16_t kPtypString8 = 0x001E;
constexpr std::uint16_t kPtypUnicode = 0x001F;
constexpr std::uint16_t kPtypBinary = 0x0102;
constexpr std::uint16_t kMultiValued = 0x1000;

class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    std::size_t Left() const { return bytes_.size() - pos_; }
    std::optional<std::uint32_t> Le(std::size_t width) {
        if (Left() < width) return std::nullopt;
        std::uint32_t value = 0;
        for (std::size_t i = 0; i < width; ++i) {
            value |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
        }
        pos_ += width;
        return value;
    }
    std::optional<std::string_view> Bytes(std::size_t count) {
        if (Left() < count) return std::nullopt;
        const std::string_view out = bytes_.substr(pos_, count);
        pos_ += count;
        return out;
    }
    bool Skip(std::size_t count) { return Bytes(count).has_value(); }

private:
    std::string_view bytes_;
    std::size_t pos_ = 0;
};

std::string_view UntilNul(std::string_view text) { return text.substr(0, text.find('\0')); }

// 8-bit strings carry the sender's code page, which TNEF does not state: UTF-8 if it is, else Latin-1.
std::string String8ToUtf8(std::string_view text) { return ToUtf8(UntilNul(text), "").text; }

std::string Utf16LeToUtf8(std::string_view text) {
    std::u16string units;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
        const char16_t unit = static_cast<char16_t>(static_cast<unsigned char>(text[i]) |
                                                    (static_cast<unsigned char>(text[i + 1]) << 8));
        if (unit == 0) break;
        units.push_back(unit);
    }
    gchar* utf8 = g_utf16_to_utf8(reinterpret_cast<const gunichar2*>(units.data()),
                                  static_cast<glong>(units.size()), nullptr, nullptr, nullptr);
    if (utf8 == nullptr) return "";  // lone surrogates: no usable name
    std::string out(utf8);
    g_free(utf8);
    return out;
}

std::size_t FixedSize(std::uint16_t type) {
    switch (type) {
        case 0x0002:
        case 0x0003:
        case 0x0004:
        case 0x000A:
        case 0x000B:
            return 4;  // short values padded to 4
        case 0x0005:
        case 0x0006:
        case 0x0007:
        case 0x0014:
        case 0x0040:
            return 8;
        case 0x0048:
            return 16;
        default:
            return 0;
    }
}

bool IsVariable(std::uint16_t type) {
    return type == kPtypString8 || type == kPtypUnicode || type == kPtypBinary || type == 0x000D ||
           type == 0x00FB;
}

// Reads the attachment properties we use from an attAttachment block; stops quietly at anything it cannot
// walk, since the file data and title come from their own attributes anyway.
void ReadAttachmentProperties(std::string_view block, TnefFile& file, std::string& data_object) {
    Reader reader(block);
    const auto count = reader.Le(4);
    if (!count) return;
    for (std::uint32_t i = 0; i < *count; ++i) {
        const auto type_and_id = reader.Le(4);
        if (!type_and_id) return;
        const auto type = static_cast<std::uint16_t>(*type_and_id & 0xFFFF);
        const auto id = static_cast<std::uint16_t>(*type_and_id >> 16);
        if (id >= 0x8000) {  // named property: GUID, kind, then a number or a padded UTF-16 name
            if (!reader.Skip(16)) return;
            const auto kind = reader.Le(4);
            if (!kind) return;
            if (*kind == 0) {
                if (!reader.Skip(4)) return;
            } else {
                const auto length = reader.Le(4);
                if (!length || !reader.Skip((static_cast<std::size_t>(*length) + 3) & ~std::size_t{3}))
                    return;
            }
        }
        const std::uint16_t base_type = type & ~kMultiValued;
        if (!IsVariable(base_type)) {
            const std::size_t size = FixedSize(base_type);
            if (size == 0) return;
            std::uint32_t values = 1;
            if (type & kMultiValued) {
                const auto n = reader.Le(4);
                if (!n) return;
                values = *n;
            }
            if (values > reader.Left() / size || !reader.Skip(values * size)) return;
            continue;
        }
        const auto values = reader.Le(4);
        if (!values || *values > reader.Left() / 4) return;
        for (std::uint32_t v = 0; v < *values; ++v) {
            const auto length = reader.Le(4);
            if (!length) return;
            const auto value = reader.Bytes(*length);
            if (!value || !reader.Skip(((*length + 3) & ~3u) - *length)) return;
            if (v != 0) continue;
            if (id == kPidAttachLongFilename && base_type == kPtypUnicode) file.name = Utf16LeToUtf8(*value);
            if (id == kPidAttachLongFilename && base_type == kPtypString8) file.name = String8ToUtf8(*value);
            if (id == kPidAttachMimeTag && base_type == kPtypString8) file.mime_type = String8ToUtf8(*value);
            if (id == kPidAttachMimeTag && base_type == kPtypUnicode) file.mime_type = Utf16LeToUtf8(*value);
            if (id == kPidAttachDataObject && base_type == kPtypBinary) data_object = std::string(*value);
        }
    }
}

struct PendingFile {
    TnefFile file;
    std::string data_object;
    bool has_data = false;
};

}  // namespace

base::Result<TnefContent> ReadTnef(std::string_view bytes, std::size_t max_files) {
    Reader reader(bytes);
    if (reader.Le(4) != kTnefSignature || !reader.Skip(2)) {
        return base::MakeError(base::ErrorCode::kMalformed, "winmail.dat: not a TNEF stream");
    }
    TnefContent content;
    std::vector<PendingFile> pending;
    while (reader.Left() > 0) {
        const auto level = reader.Le(1);
        const auto id = reader.Le(4);
        const auto length = reader.Le(4);
        const auto data = length ? reader.Bytes(*length) : std::nullopt;
        if (!data ||
            !reader.Skip(2)) {  // the checksum: a damaged attribute still shows, so it is not checked
            content.truncated = true;
            break;
        }
        if (*level != kLevelAttachment) continue;
        if (*id == kAttAttachRendData || pending.empty()) {
            if (pending.size() >= max_files) {
                return base::MakeError(
                    base::ErrorCode::kLimitExceeded,
                    "winmail.dat: more than " + std::to_string(max_files) + " attachments");
            }
            pending.emplace_back();
            if (*id == kAttAttachRendData) continue;
        }
        PendingFile& current = pending.back();
        if (*id == kAttAttachTitle && current.file.name.empty()) {
            current.file.name = String8ToUtf8(*data);
        } else if (*id == kAttAttachData) {
            current.file.data = std::string(*data);
            current.has_data = true;
        } else if (*id == kAttAttachment) {
            TnefFile from_properties;
            ReadAttachmentProperties(*data, from_properties, current.data_object);
            if (!from_properties.name.empty()) current.file.name = std::move(from_properties.name);
            if (!from_properties.mime_type.empty())
                current.file.mime_type = std::move(from_properties.mime_type);
        }
    }
    for (auto& entry : pending) {
        if (!entry.has_data && !entry.data_object.empty()) {
            entry.file.data = std::move(entry.data_object);
            entry.has_data = true;
        }
        if (!entry.has_data) {
            ++content.skipped;
            continue;
        }
        for (char& c : entry.file.mime_type)
            c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        content.files.push_back(std::move(entry.file));
    }
    return content;
}

}  // namespace faxd::mail
