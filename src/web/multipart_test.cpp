#include "web/multipart.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace faxd::web {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Part(std::string_view headers, std::string_view data, std::string_view boundary = "XyZ") {
    return "--" + std::string(boundary) + "\r\n" + std::string(headers) + "\r\n\r\n" + std::string(data) +
           "\r\n";
}

std::string Closing(std::string_view boundary = "XyZ") { return "--" + std::string(boundary) + "--\r\n"; }

// The error message of a parse that must fail.
std::string ParseError(std::string_view body, const MultipartLimits& limits = {},
                       base::ErrorCode code = base::ErrorCode::kMalformed) {
    const auto parsed = ParseMultipart("XyZ", body, limits);
    EXPECT_FALSE(parsed.has_value());
    if (parsed) return "";
    EXPECT_EQ(parsed.error().code, code) << parsed.error().message;
    EXPECT_THAT(parsed.error().message, StartsWith("multipart: "));
    return parsed.error().message;
}

TEST(MultipartBoundaryTest, ReadsTokenAndQuotedBoundaries) {
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=abc123"), "abc123");
    EXPECT_EQ(MultipartBoundary("Multipart/Form-Data;BOUNDARY=\"a b:c\""), "a b:c");
    EXPECT_EQ(
        MultipartBoundary("multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxk"),
        "----WebKitFormBoundary7MA4YWxk");
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=" + std::string(70, 'b')),
              std::string(70, 'b'));
}

TEST(MultipartBoundaryTest, RefusesWhatIsNotAFormDataBoundary) {
    EXPECT_EQ(MultipartBoundary("multipart/mixed; boundary=abc"), "");
    EXPECT_EQ(MultipartBoundary("application/json"), "");
    EXPECT_EQ(MultipartBoundary("multipart/form-data"), "");
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary="), "");
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=\"\""), "");
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'b')), "");
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=\"ab\r\n\""), "");
    EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=\"unterminated"), "");
}

TEST(ParseMultipartTest, ReadsFieldsAndFiles) {
    const std::string body = Part("Content-Disposition: form-data; name=\"to\"", "0301234567") +
                             Part(
                                 "Content-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
                                 "Content-Type: application/pdf",
                                 "%PDF-1.4 first") +
                             Part(
                                 "content-disposition: FORM-DATA; name=file; filename=b.txt\r\n"
                                 "X-Ignored: yes",
                                 "second file") +
                             Part("Content-Disposition: form-data; name=\"subject\"", "") + Closing();
    const auto parts = ParseMultipart("XyZ", body);
    ASSERT_TRUE(parts.has_value()) << parts.error().message;
    ASSERT_EQ(parts->size(), 4u);
    EXPECT_EQ((*parts)[0].name, "to");
    EXPECT_EQ((*parts)[0].filename, std::nullopt);
    EXPECT_EQ((*parts)[0].content_type, "");
    EXPECT_EQ((*parts)[0].data, "0301234567");
    EXPECT_EQ((*parts)[1].name, "file");
    EXPECT_EQ((*parts)[1].filename, "a.pdf");
    EXPECT_EQ((*parts)[1].content_type, "application/pdf");
    EXPECT_EQ((*parts)[1].data, "%PDF-1.4 first");
    EXPECT_EQ((*parts)[2].filename, "b.txt");
    EXPECT_EQ((*parts)[2].data, "second file");
    EXPECT_EQ((*parts)[3].name, "subject");
    EXPECT_EQ((*parts)[3].data, "");
    for (const MultipartPart& part : *parts) {  // views into the body, not copies
        EXPECT_GE(part.data.data(), body.data());
        EXPECT_LE(part.data.data() + part.data.size(), body.data() + body.size());
    }
}

TEST(ParseMultipartTest, KeepsBinaryDataWithCrlfAndBoundaryLookalikes) {
    std::string data = "line\r\nline\r\n\r\n--XyZ-not-quite\r\n--Xy\r\n--XyZZ\r\n--XyZ\tpadding-then-text";
    data += std::string("\0\xff\r\n\x01", 5);
    data += "\r\n-XyZ\r\n";
    const std::string body =
        Part("Content-Disposition: form-data; name=\"file\"; filename=\"x.bin\"", data) + Closing();
    const auto parts = ParseMultipart("XyZ", body);
    ASSERT_TRUE(parts.has_value()) << parts.error().message;
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].data, data);
}

TEST(ParseMultipartTest, ToleratesPreambleEpilogueAndTransportPadding) {
    const std::string body =
        "This is a preamble.\r\nIt mentions --XyZ mid-line.\r\n--XyZ  \t\r\n"
        "Content-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XyZ--\r\nepilogue --XyZ\r\n";
    const auto parts = ParseMultipart("XyZ", body);
    ASSERT_TRUE(parts.has_value()) << parts.error().message;
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].data, "value");
}

TEST(ParseMultipartTest, AcceptsAQuotedBoundaryWithSpaces) {
    const std::string boundary = MultipartBoundary("multipart/form-data; boundary=\"with space?\"");
    ASSERT_EQ(boundary, "with space?");
    const std::string body =
        Part("Content-Disposition: form-data; name=\"a\"", "1", boundary) + Closing(boundary);
    const auto parts = ParseMultipart(boundary, body);
    ASSERT_TRUE(parts.has_value()) << parts.error().message;
    EXPECT_EQ((*parts)[0].data, "1");
}

TEST(ParseMultipartTest, AnEmptyFormHasNoParts) {
    const auto parts = ParseMultipart("XyZ", "--XyZ--\r\n");
    ASSERT_TRUE(parts.has_value());
    EXPECT_TRUE(parts->empty());
}

TEST(ParseMultipartTest, DecodesFileNames) {
    const std::string body =
        Part(
            "Content-Disposition: form-data; name=\"f\"; filename=\"euro.pdf\"; "
            "filename*=UTF-8''%E2%82%AC%20rates.pdf",
            "1") +
        Part("Content-Disposition: form-data; name=\"f\"; filename*=iso-8859-1'de'Gr%FC%DFe.txt", "2") +
        Part("Content-Disposition: form-data; name=\"f\"; filename=\"say \\\"hi\\\" \\\\ now.txt\"", "3") +
        Part("Content-Disposition: form-data; name=\"f\"; filename=\"C:\\x\\evil.pdf\"", "4") +
        Part("Content-Disposition: form-data;\r\n name=\"folded\"", "5") + Closing();
    const auto parts = ParseMultipart("XyZ", body);
    ASSERT_TRUE(parts.has_value()) << parts.error().message;
    ASSERT_EQ(parts->size(), 5u);
    EXPECT_EQ((*parts)[0].filename, "\xE2\x82\xAC rates.pdf");
    EXPECT_EQ((*parts)[1].filename,
              "Gr\xC3\xBC\xC3\x9F"
              "e.txt");
    EXPECT_EQ((*parts)[2].filename, "say \"hi\" \\ now.txt");
    EXPECT_EQ((*parts)[3].filename, "C:\\x\\evil.pdf");
    EXPECT_EQ(SafeFileName(*(*parts)[3].filename), "evil.pdf");
    EXPECT_EQ((*parts)[4].name, "folded");
}

TEST(ParseMultipartTest, StaysLinearOnManyBoundaryLookalikes) {
    std::string data;
    for (int i = 0; i < 100000; ++i) data += "\r\n--XyZ!";
    const std::string body = Part("Content-Disposition: form-data; name=\"f\"", data) + Closing();
    const auto parts = ParseMultipart("XyZ", body);
    ASSERT_TRUE(parts.has_value()) << parts.error().message;
    EXPECT_EQ((*parts)[0].data.size(), data.size());
}

TEST(ParseMultipartErrorTest, ReportsEachProblemPrecisely) {
    const std::string good = Part("Content-Disposition: form-data; name=\"a\"", "1");
    EXPECT_THAT(ParseError("no boundary here"), HasSubstr("boundary does not occur"));
    EXPECT_THAT(ParseError(good), HasSubstr("no closing boundary"));
    EXPECT_THAT(ParseError(good + "--XyZ"), HasSubstr("no closing boundary"));
    EXPECT_THAT(ParseError(good + Part("Content-Type: text/plain", "x") + Closing()),
                HasSubstr("part 2 has no Content-Disposition"));
    EXPECT_THAT(ParseError("--XyZ\r\n\r\ndata\r\n" + Closing()),
                HasSubstr("part 1 has no Content-Disposition"));
    EXPECT_THAT(ParseError(Part("Content-Disposition: form-data; filename=\"a\"", "") + Closing()),
                HasSubstr("part 1 has no name"));
    EXPECT_THAT(ParseError(Part("Content-Disposition: form-data; name=\"\"", "") + Closing()),
                HasSubstr("part 1 has no name"));
    EXPECT_THAT(ParseError(Part("Content-Disposition: attachment; name=\"a\"", "") + Closing()),
                HasSubstr("part 1 is not form-data"));
    EXPECT_THAT(ParseError(Part("Content-Disposition: form-data; name=\"a", "") + Closing()),
                HasSubstr("malformed Content-Disposition"));
    EXPECT_THAT(
        ParseError(Part("Content-Disposition: form-data; name=a; filename*=UTF-8''%zz", "") + Closing()),
        HasSubstr("invalid filename*"));
    EXPECT_THAT(
        ParseError(Part("Content-Disposition: form-data; name=a; filename*=KOI8-R''x", "") + Closing()),
        HasSubstr("invalid filename*"));
    EXPECT_THAT(ParseError(Part("no colon on this line", "") + Closing()),
                HasSubstr("malformed header line"));
    EXPECT_THAT(ParseError("--XyZ\r\nContent-Disposition: form-data; name=a\r\n"),
                HasSubstr("part 1 ends inside its headers"));
}

TEST(ParseMultipartErrorTest, RefusesBareLfLineEndings) {
    const std::string lf_body = "--XyZ\nContent-Disposition: form-data; name=\"a\"\n\n1\n--XyZ--\n";
    EXPECT_THAT(ParseError(lf_body), HasSubstr("CRLF"));
    const std::string mixed = Part("Content-Disposition: form-data; name=\"a\"", "1\n--XyZ--\n");
    EXPECT_THAT(ParseError(mixed), HasSubstr("CRLF"));
}

TEST(ParseMultipartErrorTest, EnforcesLimits) {
    MultipartLimits limits;
    limits.max_parts = 2;
    const std::string part = Part("Content-Disposition: form-data; name=\"a\"", "1");
    EXPECT_TRUE(ParseMultipart("XyZ", part + part + Closing(), limits).has_value());
    EXPECT_THAT(ParseError(part + part + part + Closing(), limits, base::ErrorCode::kLimitExceeded),
                HasSubstr("more than 2 parts"));

    limits = {};
    limits.max_part_header_bytes = 64;
    const std::string long_header = "Content-Disposition: form-data; name=\"" + std::string(100, 'n') + "\"";
    EXPECT_THAT(ParseError(Part(long_header, "1") + Closing(), limits, base::ErrorCode::kLimitExceeded),
                HasSubstr("part 1 has more than 64 bytes of headers"));
    // Exactly at the limit passes: the header block counts its lines with their CRLFs.
    const std::string exact = "Content-Disposition: form-data; name=\"" + std::string(23, 'n') + "\"";
    ASSERT_EQ(exact.size() + 2, 64u);
    EXPECT_TRUE(ParseMultipart("XyZ", Part(exact, "1") + Closing(), limits).has_value());
}

TEST(ParseMultipartErrorTest, RefusesABadBoundaryArgument) {
    const auto empty = ParseMultipart("", "--\r\n");
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().code, base::ErrorCode::kInvalidArgument);
    EXPECT_FALSE(ParseMultipart(std::string(71, 'b'), "").has_value());
}

TEST(SafeFileNameTest, KeepsOnlyTheLastPathComponent) {
    EXPECT_EQ(SafeFileName("report.pdf"), "report.pdf");
    EXPECT_EQ(SafeFileName("../../etc/passwd"), "passwd");
    EXPECT_EQ(SafeFileName("C:\\x\\evil.pdf"), "evil.pdf");
    EXPECT_EQ(SafeFileName("dir/"), "upload");
    EXPECT_EQ(SafeFileName("/a/b/.."), "upload");
}

TEST(SafeFileNameTest, NeverReturnsEmptyOrDots) {
    EXPECT_EQ(SafeFileName(""), "upload");
    EXPECT_EQ(SafeFileName("."), "upload");
    EXPECT_EQ(SafeFileName(".."), "upload");
    EXPECT_EQ(SafeFileName("  ..  "), "upload");
    EXPECT_EQ(SafeFileName(".\x01."), "upload");
    EXPECT_EQ(SafeFileName("\"\""), "upload");
    EXPECT_EQ(SafeFileName("...pdf"), "...pdf");
}

TEST(SafeFileNameTest, DropsControlsQuotesAndInvalidUtf8) {
    EXPECT_EQ(SafeFileName("a\x01"
                           "b.pdf"),
              "ab.pdf");
    EXPECT_EQ(SafeFileName(std::string("a\0b\r\n\x7f.pdf", 10)), "ab.pdf");
    EXPECT_EQ(SafeFileName("it's \"x\".pdf"), "its x.pdf");
    EXPECT_EQ(SafeFileName("caf\xC3\xA9.pdf"), "caf\xC3\xA9.pdf");
    EXPECT_EQ(SafeFileName("bad\xC3(\xFF\xC0\xAF\xED\xA0\x80.pdf"),
              "bad(.pdf");                        // truncated, overlong, surrogate
    EXPECT_EQ(SafeFileName("x\xC2\x85y"), "xy");  // C1 control NEL
    EXPECT_EQ(SafeFileName("invoice\xE2\x80\xAEgpj.exe"), "invoicegpj.exe");  // right-to-left override
}

TEST(SafeFileNameTest, CutsLongNamesOnACharacterBoundary) {
    std::string name;
    for (int i = 0; i < 150; ++i) name += "\xE2\x82\xAC";  // 3-byte euro signs: 450 bytes
    const std::string safe = SafeFileName(name);
    EXPECT_EQ(safe.size(), 198u);  // 66 whole characters; a 67th would need bytes 199-201
    EXPECT_EQ(safe, name.substr(0, 198));
    EXPECT_EQ(SafeFileName(std::string(300, 'a')).size(), 200u);
    EXPECT_EQ(SafeFileName(safe), safe);
}

}  // namespace
}  // namespace faxd::web
