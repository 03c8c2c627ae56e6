#include "render/detect.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "render/file_error.hpp"

namespace faxd::render {
namespace {

using Bytes = std::span<const std::uint8_t>;

bool StartsWith(Bytes data, std::string_view prefix) {
    return data.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), data.begin(),
                      [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
}

bool StartsWithNoCase(Bytes data, std::string_view prefix) {
    return data.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), data.begin(), [](char a, std::uint8_t b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(b);
           });
}

std::string_view AsText(Bytes data) {
    return std::string_view(reinterpret_cast<const char*>(data.data()), data.size());
}

std::uint32_t Le16(Bytes data, std::size_t at) {
    return static_cast<std::uint32_t>(data[at]) | static_cast<std::uint32_t>(data[at + 1]) << 8;
}

std::uint32_t Le32(Bytes data, std::size_t at) { return Le16(data, at) | Le16(data, at + 2) << 16; }

std::string LowerExtension(std::string_view file_name) {
    const auto dot = file_name.rfind('.');
    const auto slash = file_name.find_last_of("/\\");
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
    std::string ext(file_name.substr(dot + 1));
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

// --- ZIP containers (OOXML: ECMA-376 Part 2 OPC; ODF 1.2 Part 3 §3.3 "mimetype" first and stored) ---

struct ZipVerdict {
    std::optional<DocumentType> type;
    bool is_ooxml = false;  // saw [Content_Types].xml but no part that says which application
};

// Classifies one entry name; the ODF mimetype payload is passed when the entry is stored uncompressed.
void ClassifyZipEntry(std::string_view name, std::string_view stored_payload, ZipVerdict& verdict) {
    if (name == "mimetype") {
        constexpr std::string_view kOdf = "application/vnd.oasis.opendocument.";
        if (stored_payload.starts_with(kOdf)) {
            const auto kind = stored_payload.substr(kOdf.size());
            // "text-template" etc. are the same formats to LibreOffice.
            if (kind.starts_with("text")) verdict.type = DocumentType::kOdt;
            if (kind.starts_with("spreadsheet")) verdict.type = DocumentType::kOds;
            if (kind.starts_with("presentation")) verdict.type = DocumentType::kOdp;
        }
        return;
    }
    if (name == "[Content_Types].xml") verdict.is_ooxml = true;
    if (name.starts_with("word/")) verdict.type = DocumentType::kDocx;
    if (name.starts_with("xl/")) verdict.type = DocumentType::kXlsx;
    if (name.starts_with("ppt/")) verdict.type = DocumentType::kPptx;
}

// Bounded walk: at most this many entries are looked at, whatever the archive claims.
constexpr int kMaxZipEntries = 2000;

// Reads names from the central directory (APPNOTE.TXT §4.3.12, end record §4.3.16) when the end of the
// archive is inside `data`, which is the reliable list even when local headers use data descriptors.
void ScanCentralDirectory(Bytes data, ZipVerdict& verdict) {
    constexpr std::size_t kEndRecordSize = 22;
    if (data.size() < kEndRecordSize) return;
    // The end record sits in the last 22 + 65535 (comment) bytes.
    const std::size_t lowest =
        data.size() > kEndRecordSize + 0xFFFF ? data.size() - kEndRecordSize - 0xFFFF : 0;
    for (std::size_t at = data.size() - kEndRecordSize + 1; at-- > lowest;) {
        if (!StartsWith(data.subspan(at), "PK\x05\x06")) continue;
        const std::size_t entries = Le16(data, at + 10);
        const std::size_t dir_offset = Le32(data, at + 16);
        std::size_t pos = dir_offset;
        for (std::size_t i = 0; i < entries && i < kMaxZipEntries; ++i) {
            if (pos + 46 > data.size() || !StartsWith(data.subspan(pos), "PK\x01\x02")) return;
            const std::size_t name_len = Le16(data, pos + 28);
            const std::size_t extra_len = Le16(data, pos + 30);
            const std::size_t comment_len = Le16(data, pos + 32);
            if (pos + 46 + name_len > data.size()) return;
            ClassifyZipEntry(AsText(data.subspan(pos + 46, name_len)), {}, verdict);
            pos += 46 + name_len + extra_len + comment_len;
        }
        return;
    }
}

// Walks local file headers from the start (APPNOTE.TXT §4.3.7); works on a truncated head.
void ScanLocalHeaders(Bytes data, ZipVerdict& verdict) {
    std::size_t pos = 0;
    for (int i = 0; i < kMaxZipEntries; ++i) {
        if (pos + 30 > data.size() || !StartsWith(data.subspan(pos), "PK\x03\x04")) return;
        const std::uint32_t flags = Le16(data, pos + 6);
        const std::uint32_t method = Le16(data, pos + 8);
        const std::size_t compressed = Le32(data, pos + 18);
        const std::size_t name_len = Le16(data, pos + 26);
        const std::size_t extra_len = Le16(data, pos + 28);
        const std::size_t payload_at = pos + 30 + name_len + extra_len;
        if (pos + 30 + name_len > data.size()) return;
        std::string_view payload;
        if (method == 0 && payload_at + compressed <= data.size()) {
            payload = AsText(data.subspan(payload_at, std::min<std::size_t>(compressed, 128)));
        }
        ClassifyZipEntry(AsText(data.subspan(pos + 30, name_len)), payload, verdict);
        if (verdict.type) return;
        // Bit 3: sizes follow the data, so the next header cannot be found from here.
        if ((flags & 0x08) != 0) return;
        pos = payload_at + compressed;
    }
}

DocumentType DetectZip(Bytes data, const std::string& ext) {
    ZipVerdict verdict;
    ScanLocalHeaders(data, verdict);
    if (!verdict.type) ScanCentralDirectory(data, verdict);
    if (verdict.type) return *verdict.type;
    if (verdict.is_ooxml) {
        if (ext == "xlsx" || ext == "xlsm") return DocumentType::kXlsx;
        if (ext == "pptx" || ext == "ppsx") return DocumentType::kPptx;
        return DocumentType::kDocx;
    }
    // A zip we could not place (truncated head): the name decides, otherwise it is not a document.
    if (ext == "docx") return DocumentType::kDocx;
    if (ext == "xlsx") return DocumentType::kXlsx;
    if (ext == "pptx") return DocumentType::kPptx;
    if (ext == "odt") return DocumentType::kOdt;
    if (ext == "ods") return DocumentType::kOds;
    if (ext == "odp") return DocumentType::kOdp;
    return DocumentType::kUnknown;
}

// --- OLE2 compound files (MS-CFB): the stream names in the directory say which application wrote it ---

bool ContainsUtf16Name(Bytes data, std::string_view name) {
    std::string pattern;
    for (char c : name) {
        pattern += c;
        pattern += '\0';
    }
    return AsText(data).find(pattern) != std::string_view::npos;
}

DocumentType DetectOle2(Bytes data, const std::string& ext) {
    if (ext == "doc" || ext == "dot") return DocumentType::kDoc;
    if (ext == "xls" || ext == "xlt") return DocumentType::kXls;
    if (ext == "ppt" || ext == "pps" || ext == "pot") return DocumentType::kPpt;
    // The directory is often within the first sectors; when it is not, LibreOffice re-detects anyway.
    if (ContainsUtf16Name(data, "PowerPoint Document")) return DocumentType::kPpt;
    if (ContainsUtf16Name(data, "Workbook") || ContainsUtf16Name(data, "Book")) return DocumentType::kXls;
    return DocumentType::kDoc;
}

// --- text ---

bool LooksLikeHtml(Bytes data) {
    if (StartsWith(data, "\xEF\xBB\xBF")) data = data.subspan(3);
    while (!data.empty() && std::isspace(data.front())) data = data.subspan(1);
    return StartsWithNoCase(data, "<!doctype html") || StartsWithNoCase(data, "<html");
}

// RFC 3629 §4 syntax (no overlongs, no surrogates, nothing above U+10FFFF). A sequence cut off by the end of
// the head is accepted: the head is usually a prefix of a longer file.
bool IsUtf8(Bytes data) {
    std::size_t i = 0;
    while (i < data.size()) {
        const std::uint8_t c = data[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int more = 0;
        std::uint8_t low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0) low = 0xA0;
            if (c == 0xED) high = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0) low = 0x90;
            if (c == 0xF4) high = 0x8F;
        } else {
            return false;
        }
        for (int k = 1; k <= more; ++k) {
            if (i + k >= data.size()) return true;
            const std::uint8_t next = data[i + k];
            const std::uint8_t lo = k == 1 ? low : 0x80;
            const std::uint8_t hi = k == 1 ? high : 0xBF;
            if (next < lo || next > hi) return false;
        }
        i += more + 1;
    }
    return true;
}

// Control characters a text file may hold: tab, LF, VT, FF (page break), CR, ESC (printer codes), SUB (DOS
// EOF).
bool IsTextControl(std::uint8_t c) {
    return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == 0x1B || c == 0x1A;
}

std::optional<DocumentType> DetectText(Bytes data) {
    if (data.empty()) return std::nullopt;
    std::size_t odd_controls = 0;
    for (std::uint8_t c : data) {
        if (c == 0) return std::nullopt;
        if (c < 0x20 && !IsTextControl(c)) ++odd_controls;
    }
    // A few stray control bytes happen in real mail bodies; many mean binary.
    if (odd_controls * 100 > data.size()) return std::nullopt;
    if (IsUtf8(data)) return DocumentType::kText;
    return DocumentType::kTextLatin1;
}

}  // namespace

std::string_view DocumentTypeName(DocumentType type) {
    switch (type) {
        case DocumentType::kUnknown:
            return "unknown";
        case DocumentType::kPdf:
            return "pdf";
        case DocumentType::kPostScript:
            return "postscript";
        case DocumentType::kTiff:
            return "tiff";
        case DocumentType::kPng:
            return "png";
        case DocumentType::kJpeg:
            return "jpeg";
        case DocumentType::kGif:
            return "gif";
        case DocumentType::kBmp:
            return "bmp";
        case DocumentType::kDocx:
            return "docx";
        case DocumentType::kXlsx:
            return "xlsx";
        case DocumentType::kPptx:
            return "pptx";
        case DocumentType::kOdt:
            return "odt";
        case DocumentType::kOds:
            return "ods";
        case DocumentType::kOdp:
            return "odp";
        case DocumentType::kDoc:
            return "doc";
        case DocumentType::kXls:
            return "xls";
        case DocumentType::kPpt:
            return "ppt";
        case DocumentType::kRtf:
            return "rtf";
        case DocumentType::kHtml:
            return "html";
        case DocumentType::kText:
            return "text";
        case DocumentType::kTextLatin1:
            return "text_latin1";
    }
    return "unknown";
}

bool IsImageType(DocumentType type) {
    return type == DocumentType::kTiff || type == DocumentType::kPng || type == DocumentType::kJpeg ||
           type == DocumentType::kGif || type == DocumentType::kBmp;
}

bool IsOfficeType(DocumentType type) {
    switch (type) {
        case DocumentType::kDocx:
        case DocumentType::kXlsx:
        case DocumentType::kPptx:
        case DocumentType::kOdt:
        case DocumentType::kOds:
        case DocumentType::kOdp:
        case DocumentType::kDoc:
        case DocumentType::kXls:
        case DocumentType::kPpt:
        case DocumentType::kRtf:
            return true;
        default:
            return false;
    }
}

DocumentType DetectType(std::span<const std::uint8_t> head, std::string_view file_name) {
    const std::string ext = LowerExtension(file_name);
    // PDF 2.0 (ISO 32000-2) §7.5.2 lets the header start within the first 1024 bytes; readers accept that.
    if (StartsWith(head, "%PDF-")) return DocumentType::kPdf;
    // PostScript Language Reference §5.1 ("%!"); DOS EPS files carry a binary header C5 D0 D3 C6.
    if (StartsWith(head, "%!") || StartsWith(head, "\xC5\xD0\xD3\xC6")) return DocumentType::kPostScript;
    if (StartsWith(head, "\x04%!")) return DocumentType::kPostScript;  // ^D some Windows drivers send first
    // TIFF 6.0 §2: byte order then 42.
    if (StartsWith(head, std::string_view("II*\0", 4)) || StartsWith(head, std::string_view("MM\0*", 4))) {
        return DocumentType::kTiff;
    }
    if (StartsWith(head, "\x89PNG\r\n\x1A\n")) return DocumentType::kPng;  // PNG spec §5.2
    if (StartsWith(head, "\xFF\xD8\xFF")) return DocumentType::kJpeg;      // SOI then a marker (T.81 §B.1)
    if (StartsWith(head, "GIF87a") || StartsWith(head, "GIF89a")) return DocumentType::kGif;
    // BMP: "BM" alone is too weak (a text file may start "BMW..."); check the header sizes make sense.
    if (StartsWith(head, "BM") && head.size() >= 18) {
        const std::uint32_t info_size = Le32(head, 14);
        if (info_size == 12 || info_size == 40 || info_size == 52 || info_size == 56 || info_size == 64 ||
            info_size == 108 || info_size == 124) {
            return DocumentType::kBmp;
        }
    }
    if (StartsWith(head, "PK\x03\x04")) return DetectZip(head, ext);
    if (StartsWith(head, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")) return DetectOle2(head, ext);
    if (StartsWith(head, "{\\rtf")) return DocumentType::kRtf;
    // Checked after every fixed signature so a PostScript or ZIP file that embeds a PDF stays what it is.
    if (AsText(head.first(std::min<std::size_t>(head.size(), 1024))).find("%PDF-") !=
        std::string_view::npos) {
        return DocumentType::kPdf;
    }
    if (LooksLikeHtml(head)) return DocumentType::kHtml;
    if (auto text = DetectText(head)) return *text;
    return DocumentType::kUnknown;
}

base::Result<DocumentType> DetectFileType(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return FileError(file, base::ErrorCode::kNotFound, "cannot open the file");
    std::vector<std::uint8_t> head(kDetectHeadBytes);
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return DetectType(head, file.filename().string());
}

}  // namespace faxd::render
