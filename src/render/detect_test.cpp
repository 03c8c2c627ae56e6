#include "render/detect.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <fstream>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace faxd::render {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

void PutLe16(std::string& out, std::uint32_t v) {
    out += static_cast<char>(v & 0xFF);
    out += static_cast<char>((v >> 8) & 0xFF);
}
void PutLe32(std::string& out, std::uint32_t v) {
    PutLe16(out, v & 0xFFFF);
    PutLe16(out, v >> 16);
}

// A stored (uncompressed) ZIP with a central directory; CRCs are zero because detection never checks them.
// With `descriptor` set, local headers say "sizes follow the data", so only the central directory helps.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& entries,
                    bool descriptor = false) {
    std::string out;
    std::string central;
    for (const auto& [name, data] : entries) {
        const auto offset = static_cast<std::uint32_t>(out.size());
        out += "PK\x03\x04";
        PutLe16(out, 20);
        PutLe16(out, descriptor ? 0x08 : 0);
        PutLe16(out, 0);  // stored
        PutLe32(out, 0);  // time, date
        PutLe32(out, 0);  // crc
        PutLe32(out, descriptor ? 0 : data.size());
        PutLe32(out, descriptor ? 0 : data.size());
        PutLe16(out, name.size());
        PutLe16(out, 0);
        out += name;
        out += data;
        central += "PK\x01\x02";
        PutLe16(central, 20);
        PutLe16(central, 20);
        PutLe16(central, descriptor ? 0x08 : 0);
        PutLe16(central, 0);
        PutLe32(central, 0);
        PutLe32(central, 0);
        PutLe32(central, data.size());
        PutLe32(central, data.size());
        PutLe16(central, name.size());
        PutLe16(central, 0);
        PutLe16(central, 0);
        PutLe16(central, 0);
        PutLe16(central, 0);
        PutLe32(central, 0);
        PutLe32(central, offset);
        central += name;
    }
    const auto dir_offset = static_cast<std::uint32_t>(out.size());
    out += central;
    out += "PK\x05\x06";
    PutLe16(out, 0);
    PutLe16(out, 0);
    PutLe16(out, entries.size());
    PutLe16(out, entries.size());
    PutLe32(out, central.size());
    PutLe32(out, dir_offset);
    PutLe16(out, 0);
    return out;
}

std::string Ole2(std::string_view stream_name) {
    std::string out("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
    out.append(504, '\0');
    for (char c : stream_name) {
        out += c;
        out += '\0';
    }
    return out;
}

struct Case {
    std::string label;
    std::string head;
    std::string name;
    DocumentType expected;
};

class DetectTable : public ::testing::TestWithParam<Case> {};

TEST_P(DetectTable, Detects) {
    const Case& c = GetParam();
    const auto bytes = Bytes(c.head);
    EXPECT_EQ(DocumentTypeName(DetectType(bytes, c.name)), DocumentTypeName(c.expected)) << c.label;
}

std::vector<Case> Cases() {
    using T = DocumentType;
    std::string bmp("BM", 2);
    bmp.append(12, '\0');
    bmp += std::string("\x28\0\0\0", 4);
    bmp.append(40, '\0');
    return {
        {"pdf", "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", "", T::kPdf},
        {"pdf_named_txt", "%PDF-1.4\n", "report.txt", T::kPdf},
        {"pdf_after_junk", "garbage line\r\n%PDF-1.4\n", "", T::kPdf},
        {"postscript", "%!PS-Adobe-3.0\n%%Pages: 2\n", "", T::kPostScript},
        {"postscript_ctrl_d", "\x04%!PS-Adobe-3.0\n", "", T::kPostScript},
        {"tiff_le", std::string("II*\0\x08\0\0\0", 8), "", T::kTiff},
        {"tiff_be", std::string("MM\0*\0\0\0\x08", 8), "", T::kTiff},
        {"png", "\x89PNG\r\n\x1A\n\0\0\0\rIHDR", "x.jpg", T::kPng},
        {"jpeg", "\xFF\xD8\xFF\xE0\0\x10JFIF", "", T::kJpeg},
        {"gif87", "GIF87a\x10\0", "", T::kGif},
        {"gif89", "GIF89a\x10\0", "", T::kGif},
        {"bmp", bmp, "", T::kBmp},
        {"bm_text_is_text", "BMW drivers: please read the attached notes\n", "", T::kText},
        {"docx", MakeZip({{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", "<w/>"}}), "", T::kDocx},
        {"xlsx", MakeZip({{"[Content_Types].xml", "<Types/>"}, {"xl/workbook.xml", "<x/>"}}), "a.docx",
         T::kXlsx},
        {"pptx", MakeZip({{"[Content_Types].xml", "<Types/>"}, {"ppt/presentation.xml", "<p/>"}}), "",
         T::kPptx},
        {"docx_descriptor_central_dir",
         MakeZip(
             {{"[Content_Types].xml", "<Types/>"}, {"_rels/.rels", "<r/>"}, {"word/document.xml", "<w/>"}},
             true),
         "", T::kDocx},
        {"ooxml_only_content_types_named_xlsx", MakeZip({{"[Content_Types].xml", "<Types/>"}}), "b.XLSX",
         T::kXlsx},
        {"odt", MakeZip({{"mimetype", "application/vnd.oasis.opendocument.text"}, {"content.xml", "<o/>"}}),
         "", T::kOdt},
        {"ods", MakeZip({{"mimetype", "application/vnd.oasis.opendocument.spreadsheet"}}), "", T::kOds},
        {"odp", MakeZip({{"mimetype", "application/vnd.oasis.opendocument.presentation"}}), "", T::kOdp},
        {"plain_zip", MakeZip({{"readme.txt", "hello"}}), "files.zip", T::kUnknown},
        {"truncated_zip_named_docx", "PK\x03\x04\x14\0\x08\0", "letter.docx", T::kDocx},
        {"ole2_doc_by_name", Ole2(""), "letter.doc", T::kDoc},
        {"ole2_xls_by_name", Ole2(""), "sheet.XLS", T::kXls},
        {"ole2_ppt_by_name", Ole2(""), "talk.ppt", T::kPpt},
        {"ole2_xls_by_stream", Ole2("Workbook"), "", T::kXls},
        {"ole2_ppt_by_stream", Ole2("PowerPoint Document"), "attachment.bin", T::kPpt},
        {"ole2_unknown_falls_back_to_doc", Ole2("WordDocument"), "", T::kDoc},
        {"rtf", "{\\rtf1\\ansi\\deff0 hello}", "x.doc", T::kRtf},
        {"html_doctype", "\xEF\xBB\xBF  \n<!DOCTYPE HTML>\n<html>", "", T::kHtml},
        {"html_tag", "\r\n\t<html lang=\"en\">", "", T::kHtml},
        {"utf8", "Grüße aus Köln — €\n\fpage two\n", "", T::kText},
        {"utf8_cut_mid_sequence", "Gr\xC3", "", T::kText},
        {"latin1",
         "Gr\xFC\xDF"
         "e aus K\xF6ln\n",
         "", T::kTextLatin1},
        {"overlong_utf8_is_latin1", "\xC0\xAF text", "", T::kTextLatin1},
        {"nul_is_binary", std::string("abc\0def", 7), "x.txt", T::kUnknown},
        {"controls_are_binary", "\x01\x02\x03\x05\x06\x07\x08\x0E\x0F\x10", "", T::kUnknown},
        {"elf",
         "\x7F"
         "ELF\x02\x01\x01",
         "report.pdf", T::kUnknown},
        {"empty", "", "empty.txt", T::kUnknown},
    };
}

INSTANTIATE_TEST_SUITE_P(Types, DetectTable, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.label; });

TEST(DetectTest, ClassifiesFamilies) {
    EXPECT_TRUE(IsImageType(DocumentType::kGif));
    EXPECT_FALSE(IsImageType(DocumentType::kPdf));
    EXPECT_TRUE(IsOfficeType(DocumentType::kRtf));
    EXPECT_FALSE(IsOfficeType(DocumentType::kText));
}

TEST(DetectTest, FilesAreReadFromTheirHead) {
    const auto path =
        std::filesystem::temp_directory_path() / ("faxd-detect-" + std::to_string(::getpid()) + ".bin");
    std::ofstream(path, std::ios::binary) << "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    auto type = DetectFileType(path);
    ASSERT_TRUE(type) << type.error().ToString();
    EXPECT_EQ(*type, DocumentType::kPdf);  // the content wins over the .bin name
    std::filesystem::remove(path);
    auto missing = DetectFileType(path);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, base::ErrorCode::kNotFound);
    EXPECT_NE(missing.error().message.find("cannot open the file"), std::string::npos);
}

}  // namespace
}  // namespace faxd::render
