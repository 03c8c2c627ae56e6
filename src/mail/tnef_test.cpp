#include "mail/tnef.hpp"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace faxd::mail {
namespace {

// Builds TNEF streams attribute by attribute (MS-OXTNEF §2.1.3.1).
class TnefBuilder {
public:
    TnefBuilder() {
        Le(0x223E9F78, 4);
        Le(0x0001, 2);
    }
    TnefBuilder& Attribute(std::uint8_t level, std::uint32_t id, const std::string& data) {
        bytes_.push_back(static_cast<char>(level));
        Le(id, 4);
        Le(static_cast<std::uint32_t>(data.size()), 4);
        bytes_ += data;
        std::uint32_t sum = 0;
        for (const char c : data) sum += static_cast<unsigned char>(c);
        Le(sum & 0xFFFF, 2);
        return *this;
    }
    TnefBuilder& StartAttachment() { return Attribute(2, 0x00069002, std::string(14, '\0')); }
    std::string Build() const { return bytes_; }

    static std::string U32(std::uint32_t value) {
        std::string out;
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
        return out;
    }
    static std::string Padded(std::string value) {
        while (value.size() % 4 != 0) value.push_back('\0');
        return value;
    }

private:
    void Le(std::uint32_t value, int width) {
        for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
    std::string bytes_;
};

std::string Utf16(std::u16string_view text) {
    std::string out;
    for (const char16_t unit : text) {
        out.push_back(static_cast<char>(unit & 0xFF));
        out.push_back(static_cast<char>(unit >> 8));
    }
    return out + std::string(2, '\0');
}

TEST(TnefTest, ReadsFilesWithTitlesAndLongNames) {
    const std::string long_name = Utf16(u"Gro\u00dfe Datei.pdf");
    const std::string properties =
        TnefBuilder::U32(2) +
        // a named property (GUID, kind 0, id) with a 32-bit value, to be skipped
        TnefBuilder::U32(0x80010003) + std::string(16, 'g') + TnefBuilder::U32(0) + TnefBuilder::U32(7) +
        TnefBuilder::U32(42) + TnefBuilder::U32(0x3707001F) + TnefBuilder::U32(1) +
        TnefBuilder::U32(static_cast<std::uint32_t>(long_name.size())) + TnefBuilder::Padded(long_name);
    const std::string tnef = TnefBuilder()
                                 .Attribute(1, 0x00089006, TnefBuilder::U32(0x00010000))
                                 .StartAttachment()
                                 .Attribute(2, 0x00018010, std::string("GROSSE~1.PDF\0", 13))
                                 .Attribute(2, 0x0006800F, "%PDF-1.4")
                                 .Attribute(2, 0x00069005, properties)
                                 .StartAttachment()
                                 .Attribute(2, 0x00018010, std::string("a.txt\0", 6))
                                 .Attribute(2, 0x0006800F, "text")
                                 .Build();
    const auto content = ReadTnef(tnef, 10);
    ASSERT_TRUE(content.has_value()) << content.error().message;
    ASSERT_EQ(content->files.size(), 2u);
    EXPECT_EQ(content->files[0].name, "Gro\u00dfe Datei.pdf");
    EXPECT_EQ(content->files[0].data, "%PDF-1.4");
    EXPECT_EQ(content->files[1].name, "a.txt");
    EXPECT_EQ(content->files[1].data, "text");
    EXPECT_EQ(content->skipped, 0u);
    EXPECT_FALSE(content->truncated);
}

TEST(TnefTest, DataObjectPropertyWhenThereIsNoDataAttribute) {
    const std::string properties =
        TnefBuilder::U32(2) + TnefBuilder::U32(0x370E001E) + TnefBuilder::U32(1) + TnefBuilder::U32(10) +
        TnefBuilder::Padded(std::string("image/png\0", 10)) + TnefBuilder::U32(0x37010102) +
        TnefBuilder::U32(1) + TnefBuilder::U32(3) + TnefBuilder::Padded("PNG");
    const std::string tnef = TnefBuilder().StartAttachment().Attribute(2, 0x00069005, properties).Build();
    const auto content = ReadTnef(tnef, 10);
    ASSERT_TRUE(content.has_value());
    ASSERT_EQ(content->files.size(), 1u);
    EXPECT_EQ(content->files[0].mime_type, "image/png");
    EXPECT_EQ(content->files[0].data, "PNG");
}

TEST(TnefTest, AttachmentWithoutDataIsSkipped) {
    const auto content = ReadTnef(TnefBuilder().StartAttachment().Build(), 10);
    ASSERT_TRUE(content.has_value());
    EXPECT_TRUE(content->files.empty());
    EXPECT_EQ(content->skipped, 1u);
}

TEST(TnefTest, TruncatedStreamKeepsCompleteFiles) {
    std::string tnef = TnefBuilder()
                           .StartAttachment()
                           .Attribute(2, 0x0006800F, "first")
                           .StartAttachment()
                           .Attribute(2, 0x0006800F, "second file")
                           .Build();
    tnef.resize(tnef.size() - 5);
    const auto content = ReadTnef(tnef, 10);
    ASSERT_TRUE(content.has_value());
    EXPECT_TRUE(content->truncated);
    ASSERT_EQ(content->files.size(), 1u);
    EXPECT_EQ(content->files[0].data, "first");
}

TEST(TnefTest, BadSignatureAndTooManyFiles) {
    const auto bad = ReadTnef("not tnef", 10);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, base::ErrorCode::kMalformed);

    TnefBuilder many;
    for (int i = 0; i < 4; ++i) many.StartAttachment().Attribute(2, 0x0006800F, "x");
    const auto limited = ReadTnef(many.Build(), 3);
    ASSERT_FALSE(limited.has_value());
    EXPECT_EQ(limited.error().code, base::ErrorCode::kLimitExceeded);
    EXPECT_EQ(limited.error().message, "winmail.dat: more than 3 attachments");
}

TEST(TnefTest, HostilePropertyCountsStopQuietly) {
    const std::string properties =
        TnefBuilder::U32(0xFFFFFFFF) + TnefBuilder::U32(0x37011102) + TnefBuilder::U32(0x7FFFFFFF);
    const std::string tnef = TnefBuilder()
                                 .StartAttachment()
                                 .Attribute(2, 0x0006800F, "data")
                                 .Attribute(2, 0x00069005, properties)
                                 .Build();
    const auto content = ReadTnef(tnef, 10);
    ASSERT_TRUE(content.has_value());
    ASSERT_EQ(content->files.size(), 1u);
    EXPECT_EQ(content->files[0].data, "data");
}

}  // namespace
}  // namespace faxd::mail
