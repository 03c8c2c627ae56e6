// Document type detection from content (magic numbers), so a mislabelled attachment still converts and a
// renamed executable is refused. The file name only breaks ties the content cannot settle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace faxd::render {

enum class DocumentType {
    kUnknown,
    kPdf,
    kPostScript,
    kTiff,
    kPng,
    kJpeg,
    kGif,
    kBmp,
    kDocx,
    kXlsx,
    kPptx,
    kOdt,
    kOds,
    kOdp,
    kDoc,  // OLE2 compound files; LibreOffice re-detects the exact filter, so this is also the OLE2 fallback
    kXls,
    kPpt,
    kRtf,
    kHtml,
    kText,        // valid UTF-8 (ASCII included)
    kTextLatin1,  // not UTF-8, but no NULs and few control characters: read as ISO 8859-1
};

// Stable lower-case name for logs, JSON output and tests ("pdf", "docx", "text_latin1", ...).
std::string_view DocumentTypeName(DocumentType type);

// How many leading bytes DetectType wants. More is fine (the whole file is best for ZIP containers, whose
// central directory sits at the end); less still works but may fall back to the name or to kUnknown.
inline constexpr std::size_t kDetectHeadBytes = 64 * 1024;

// `head` is the start of the file (or all of it); `file_name` may be empty.
DocumentType DetectType(std::span<const std::uint8_t> head, std::string_view file_name);

// Reads the head of `file` and detects its type; kNotFound "<file>: cannot open the file" when it cannot.
base::Result<DocumentType> DetectFileType(const std::filesystem::path& file);

bool IsImageType(DocumentType type);
bool IsOfficeType(DocumentType type);

}  // namespace faxd::render
