#include "render/tiff_to_pdf.hpp"

#include <tiffio.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <vector>

#include "base/atomic_file.hpp"
#include "render/fax_tiff.hpp"

namespace faxd::render {
namespace {

// PDF 1.4 (ISO 32000-1 Annex C): viewers need not handle a page side longer than 14400 units.
constexpr double kMaxPageSide = 14400;
constexpr double kMinPageSide = 3;
constexpr std::string_view kProducer = "faxd";

constexpr std::array<std::uint8_t, 256> MakeBitReverseTable() {
    std::array<std::uint8_t, 256> table{};
    for (int i = 0; i < 256; ++i) {
        int reversed = 0;
        for (int b = 0; b < 8; ++b)
            if (i & (1 << b)) reversed |= 0x80 >> b;
        table[i] = static_cast<std::uint8_t>(reversed);
    }
    return table;
}

// Four decimals, rounded towards zero: a page never comes out a fraction of a pixel larger than the fax, so a
// reader rendering at the fax's own resolution maps image pixels 1:1 instead of resampling.
std::string FormatNumber(double value) {
    value = std::trunc(value * 1e4) / 1e4;
    char text[64];
    const auto result = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed, 4);
    std::string out(text, result.ptr);
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out == "-0" ? "0" : out;
}

// Decodes UTF-8 into code points; invalid sequences become U+FFFD and control characters a space, so the Info
// dictionary and the XMP packet (XML 1.0 forbids most controls) carry the same text, as PDF/A-1 §6.7.3 asks.
std::u32string CleanText(std::string_view utf8) {
    std::u32string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto lead = static_cast<unsigned char>(utf8[i]);
        int extra = lead < 0x80           ? 0
                    : (lead >> 5) == 0x6  ? 1
                    : (lead >> 4) == 0xE  ? 2
                    : (lead >> 3) == 0x1E ? 3
                                          : -1;
        char32_t cp = extra == 0   ? lead
                      : extra == 1 ? (lead & 0x1F)
                      : extra == 2 ? (lead & 0x0F)
                                   : (lead & 0x07);
        bool ok = extra >= 0 && i + static_cast<std::size_t>(extra) < utf8.size();
        for (int k = 1; ok && k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(utf8[i + k]);
            if ((next & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (next & 0x3F);
        }
        const char32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
        if (ok && (cp < min_for_length[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (!ok) {
            out.push_back(0xFFFD);
            ++i;
            continue;
        }
        out.push_back(cp < 0x20 || cp == 0x7F ? U' ' : cp);
        i += static_cast<std::size_t>(extra) + 1;
    }
    return out;
}

void AppendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// A PDF text string (PDF 1.4 §3.8.1): a literal for ASCII, else UTF-16BE with a byte order mark.
std::string PdfTextString(const std::u32string& text) {
    const bool ascii = std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x7F; });
    std::string out;
    if (ascii) {
        out = "(";
        for (const char32_t c : text) {
            if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
            out.push_back(static_cast<char>(c));
        }
        return out + ")";
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    out = "<FEFF";
    const auto put16 = [&](unsigned unit) {
        for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(unit >> shift) & 0xF]);
    };
    for (const char32_t c : text) {
        if (c < 0x10000) {
            put16(static_cast<unsigned>(c));
        } else {
            put16(0xD800 + ((static_cast<unsigned>(c) - 0x10000) >> 10));
            put16(0xDC00 + ((static_cast<unsigned>(c) - 0x10000) & 0x3FF));
        }
    }
    return out + ">";
}

std::string XmlEscape(const std::u32string& text) {
    std::string out;
    for (const char32_t c : text) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                AppendUtf8(out, c);
        }
    }
    return out;
}

struct Dates {
    std::string pdf;  // D:YYYYMMDDHHmmSS+00'00' (PDF 1.4 §3.8.3)
    std::string xmp;  // YYYY-MM-DDTHH:mm:SS+00:00 (XMP, ISO 8601)
};

Dates FormatDates(base::WallTime when) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(when);
    const auto day = std::chrono::floor<std::chrono::days>(seconds);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss hms{seconds - day};
    const int year = static_cast<int>(ymd.year());
    const unsigned month = static_cast<unsigned>(ymd.month()), mday = static_cast<unsigned>(ymd.day());
    const auto h = static_cast<int>(hms.hours().count()), m = static_cast<int>(hms.minutes().count()),
               s = static_cast<int>(hms.seconds().count());
    char pdf[64], xmp[64];
    std::snprintf(pdf, sizeof pdf, "D:%04d%02u%02u%02d%02d%02d+00'00'", year, month, mday, h, m, s);
    std::snprintf(xmp, sizeof xmp, "%04d-%02u-%02uT%02d:%02d:%02d+00:00", year, month, mday, h, m, s);
    return {pdf, xmp};
}

// A minimal ICC v2.1 monochrome display profile (ICC.1:1998-09 §6.3.1.1: desc, wtpt, kTRC, cprt), gamma 2.2,
// D50 white. PDF/A-1 §6.2.2 wants an output intent with an embedded profile; a gray one fits bilevel pages
// and lets DeviceGray images stand (§6.2.3.3).
std::string MakeGrayIccProfile() {
    std::string data(128, '\0');
    const auto put32 = [](std::string& s, std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
    };
    const auto append32 = [](std::string& s, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (24 - 8 * i)) & 0xFF));
    };
    const auto pad4 = [](std::string& s) {
        while (s.size() % 4 != 0) s.push_back('\0');
    };
    put32(data, 8, 0x02100000);  // version 2.1.0
    data.replace(12, 4, "mntr");
    data.replace(16, 4, "GRAY");
    data.replace(20, 4, "XYZ ");
    const std::uint16_t date[6] = {2024, 1, 1, 0, 0, 0};
    for (int i = 0; i < 6; ++i) {
        data[24 + 2 * i] = static_cast<char>(date[i] >> 8);
        data[25 + 2 * i] = static_cast<char>(date[i] & 0xFF);
    }
    data.replace(36, 4, "acsp");
    put32(data, 68, 0x0000F6D6);  // PCS illuminant D50 as s15Fixed16: 0.9642, 1.0, 0.8249
    put32(data, 72, 0x00010000);
    put32(data, 76, 0x0000D32D);

    const std::string description = "faxd gray, gamma 2.2";
    std::string desc = "desc";
    append32(desc, 0);
    append32(desc, static_cast<std::uint32_t>(description.size() + 1));
    desc += description;
    desc.push_back('\0');
    append32(desc, 0);              // Unicode language code
    append32(desc, 0);              // Unicode count
    desc.append(2 + 1 + 67, '\0');  // ScriptCode code, count and its fixed 67 bytes
    std::string wtpt = "XYZ ";
    append32(wtpt, 0);
    append32(wtpt, 0x0000F6D6);
    append32(wtpt, 0x00010000);
    append32(wtpt, 0x0000D32D);
    std::string cprt = "text";
    append32(cprt, 0);
    cprt += "No copyright, use freely";
    cprt.push_back('\0');
    std::string trc = "curv";
    append32(trc, 0);
    append32(trc, 1);
    trc.push_back(0x02);  // u8Fixed8 2.2 = 0x0233
    trc.push_back(0x33);

    const std::array<std::pair<const char*, const std::string*>, 4> tags = {
        {{"desc", &desc}, {"wtpt", &wtpt}, {"cprt", &cprt}, {"kTRC", &trc}}};
    append32(data, static_cast<std::uint32_t>(tags.size()));
    const std::size_t table = data.size();
    data.append(tags.size() * 12, '\0');
    for (std::size_t i = 0; i < tags.size(); ++i) {
        pad4(data);
        data.replace(table + 12 * i, 4, tags[i].first);
        put32(data, table + 12 * i + 4, static_cast<std::uint32_t>(data.size()));
        put32(data, table + 12 * i + 8, static_cast<std::uint32_t>(tags[i].second->size()));
        data += *tags[i].second;
    }
    pad4(data);
    put32(data, 0, static_cast<std::uint32_t>(data.size()));
    return data;
}

// Builds the file in memory: objects, then a cross-reference table with each object's byte offset.
class PdfWriter {
public:
    PdfWriter() {
        // PDF/A-1 §6.1.2: a comment with four bytes above 127 right after the header marks the file binary.
        out_ = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    }
    int Reserve() {
        offsets_.push_back(0);
        return static_cast<int>(offsets_.size());
    }
    void Object(int id, std::string_view body) {
        offsets_[static_cast<std::size_t>(id - 1)] = out_.size();
        out_ += std::to_string(id) + " 0 obj\n";
        out_ += body;
        out_ += "\nendobj\n";
    }
    // `dict` is the stream dictionary without its /Length and without the closing ">>".
    void Stream(int id, std::string_view dict, std::string_view data) {
        offsets_[static_cast<std::size_t>(id - 1)] = out_.size();
        out_ += std::to_string(id) + " 0 obj\n";
        out_ += dict;
        out_ += " /Length " + std::to_string(data.size()) + " >>\nstream\n";
        out_ += data;
        out_ += "\nendstream\nendobj\n";
    }
    std::string Finish(int root, int info) {
        const std::string id = FileId();
        const std::size_t xref = out_.size();
        out_ += "xref\n0 " + std::to_string(offsets_.size() + 1) + "\n0000000000 65535 f\r\n";
        char entry[32];
        for (const std::size_t offset : offsets_) {
            std::snprintf(entry, sizeof entry, "%010zu 00000 n\r\n", offset);
            out_ += entry;
        }
        out_ += "trailer\n<< /Size " + std::to_string(offsets_.size() + 1) + " /Root " +
                std::to_string(root) + " 0 R /Info " + std::to_string(info) + " 0 R /ID [<" + id + "> <" +
                id + ">] >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
        return std::move(out_);
    }

private:
    // PDF 1.4 §9.3 suggests an MD5 over file facts; any 16 bytes unique to the content serve. Two FNV-1a
    // passes with different bases over the whole body make it depend on every page and the metadata.
    std::string FileId() const {
        std::string hex;
        for (const std::uint64_t basis : {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL}) {
            std::uint64_t hash = basis;
            for (const char c : out_) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
            char text[17];
            std::snprintf(text, sizeof text, "%016llX", static_cast<unsigned long long>(hash));
            hex += text;
        }
        return hex;
    }

    std::string out_;
    std::vector<std::size_t> offsets_;
};

struct PageImage {
    std::string dict;  // image XObject dictionary entries
    std::string data;
};

base::Result<std::string> Deflate(const FaxTiff& file, const std::vector<std::uint8_t>& bits) {
    uLongf size = compressBound(static_cast<uLong>(bits.size()));
    std::string out(size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, bits.data(), static_cast<uLong>(bits.size()),
                  Z_DEFAULT_COMPRESSION) != Z_OK)
        return tl::unexpected(file.MakeFileError(base::ErrorCode::kInternal, "zlib compression failed"));
    out.resize(size);
    return out;
}

base::Result<PageImage> MakePageImage(FaxTiff& file, const FaxPageInfo& info) {
    // Decoding also proves the coded data is sound before it is embedded as it is.
    auto bitmap = file.Decode(info);
    if (!bitmap) return tl::unexpected(bitmap.error());
    const std::string size =
        "/Width " + std::to_string(info.width) + " /Height " + std::to_string(info.height);
    const std::string common =
        "<< /Type /XObject /Subtype /Image " + size + " /ColorSpace /DeviceGray /BitsPerComponent 1";

    // G3 with uncompressed-mode lines (T.4 Annex A, T4Options bit 1) and G4 with them (T6Options bit 1) are
    // re-coded: PDF readers need not support that mode. Several strips cannot be joined for G4 (every strip
    // restarts the 2-D reference line), so those pages are re-coded too.
    const bool g4 =
        info.compression == COMPRESSION_CCITTFAX4 && (info.t6_options & GROUP4OPT_UNCOMPRESSED) == 0;
    const bool g3 =
        info.compression == COMPRESSION_CCITTFAX3 && (info.t4_options & GROUP3OPT_UNCOMPRESSED) == 0;
    if ((g3 || g4) && info.strips == 1 && !info.tiled) {
        auto raw = file.ReadRawStrip(info);
        if (!raw) return tl::unexpected(raw.error());
        // PDF's CCITTFaxDecode reads bits most significant first; TIFF FillOrder 2 stores them reversed.
        if (info.lsb_first) {
            static constexpr auto kReverse = MakeBitReverseTable();
            for (auto& byte : *raw) byte = kReverse[byte];
        }
        // K (PDF 1.4 Table 3.9): -1 pure 2-D (T.6); 0 pure 1-D (T.4 MH); >0 mixed (T.4 MR), where K bounds
        // the 2-D run. TIFF does not record the encoder's K, so the page height is the safe bound; the
        // 1-D/2-D tag bit after each EOL tells the decoder which coding a line uses.
        std::string k = "-1";
        if (g3) k = (info.t4_options & GROUP3OPT_2DENCODING) ? std::to_string(info.height) : "0";
        std::string parms = "<< /K " + k + " /Columns " + std::to_string(info.width) + " /Rows " +
                            std::to_string(info.height);
        // CCITT coding has white and black runs; readers decode black as 0 unless BlackIs1. A MINISBLACK
        // TIFF means the coded "white" runs are to be shown black.
        if (info.min_is_black) parms += " /BlackIs1 true";
        parms += " >>";
        PageImage image;
        image.dict = common + " /Filter /CCITTFaxDecode /DecodeParms " + parms;
        image.data.assign(raw->begin(), raw->end());
        return image;
    }
    // Lossless fallback: the decoded bits (1 = black) with Flate; /Decode maps 1 to black in DeviceGray.
    auto packed = Deflate(file, bitmap->bits);
    if (!packed) return tl::unexpected(packed.error());
    return PageImage{common + " /Decode [1 0] /Filter /FlateDecode", std::move(*packed)};
}

std::string MakeXmp(const std::u32string& title, const std::u32string& author, const std::u32string& subject,
                    const Dates* dates) {
    std::string xmp =
        "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
        "<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n"
        "<pdfaid:part>1</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n</rdf:Description>\n"
        "<rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n<pdf:Producer>";
    xmp += kProducer;
    xmp +=
        "</pdf:Producer>\n</rdf:Description>\n<rdf:Description rdf:about=\"\" "
        "xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n<xmp:CreatorTool>";
    xmp += kProducer;
    xmp += "</xmp:CreatorTool>\n";
    if (dates != nullptr) {
        xmp += "<xmp:CreateDate>" + dates->xmp + "</xmp:CreateDate>\n<xmp:ModifyDate>" + dates->xmp +
               "</xmp:ModifyDate>\n<xmp:MetadataDate>" + dates->xmp + "</xmp:MetadataDate>\n";
    }
    xmp +=
        "</rdf:Description>\n<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
        "<dc:format>application/pdf</dc:format>\n";
    if (!title.empty())
        xmp += "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">" + XmlEscape(title) +
               "</rdf:li></rdf:Alt></dc:title>\n";
    if (!author.empty())
        xmp += "<dc:creator><rdf:Seq><rdf:li>" + XmlEscape(author) + "</rdf:li></rdf:Seq></dc:creator>\n";
    if (!subject.empty())
        xmp += "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">" + XmlEscape(subject) +
               "</rdf:li></rdf:Alt></dc:description>\n";
    xmp += "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n";
    // Padding lets an editor update the packet in place (XMP part 1 §7.3.3).
    for (int i = 0; i < 20; ++i) xmp += std::string(99, ' ') + "\n";
    xmp += "<?xpacket end=\"w\"?>";
    return xmp;
}

}  // namespace

base::Result<PdfInfo> ConvertFaxTiffToPdf(const std::filesystem::path& tiff, const std::filesystem::path& pdf,
                                          const PdfOptions& options) {
    auto opened = FaxTiff::Open(tiff);
    if (!opened) return tl::unexpected(opened.error());
    FaxTiff& file = *opened;

    PdfWriter writer;
    const int catalog = writer.Reserve(), pages = writer.Reserve(), info_id = writer.Reserve();
    const int metadata = options.pdfa ? writer.Reserve() : 0;
    const int icc = options.pdfa ? writer.Reserve() : 0;

    std::vector<int> kids;
    do {
        if (static_cast<int>(kids.size()) >= kMaxPages)
            return tl::unexpected(file.MakeFileError(base::ErrorCode::kLimitExceeded,
                                                     "more than " + std::to_string(kMaxPages) + " pages"));
        auto info = file.PageInfo();
        if (!info) return tl::unexpected(info.error());
        auto image = MakePageImage(file, *info);
        if (!image) return tl::unexpected(image.error());

        // The page has the physical size of the fax: pixels over resolution, in points (1/72 in).
        double width = info->width / info->x_dpi * 72, height = info->height / info->y_dpi * 72;
        // Very long pages shrink to the largest side viewers accept, keeping the aspect; every pixel is kept.
        const double longest = std::max(width, height), shortest = std::min(width, height);
        double scale = 1;
        if (longest > kMaxPageSide)
            scale = kMaxPageSide / longest;
        else if (shortest < kMinPageSide)
            scale = std::min(kMinPageSide / shortest, kMaxPageSide / longest);
        width *= scale;
        height *= scale;

        const int page = writer.Reserve(), contents = writer.Reserve(), xobject = writer.Reserve();
        const std::string w = FormatNumber(width), h = FormatNumber(height);
        writer.Stream(xobject, image->dict, image->data);
        writer.Stream(contents, "<<", "q\n" + w + " 0 0 " + h + " 0 0 cm\n/Im0 Do\nQ\n");
        writer.Object(page, "<< /Type /Page /Parent " + std::to_string(pages) + " 0 R /MediaBox [0 0 " + w +
                                " " + h + "] /Resources << /XObject << /Im0 " + std::to_string(xobject) +
                                " 0 R >> /ProcSet [/PDF /ImageB] >> /Contents " + std::to_string(contents) +
                                " 0 R >>");
        kids.push_back(page);
    } while (file.NextPage());

    std::string kid_list;
    for (const int kid : kids) kid_list += (kid_list.empty() ? "" : " ") + std::to_string(kid) + " 0 R";
    writer.Object(pages,
                  "<< /Type /Pages /Kids [" + kid_list + "] /Count " + std::to_string(kids.size()) + " >>");

    const std::u32string title = CleanText(options.title), author = CleanText(options.author),
                         subject = CleanText(options.subject);
    const bool dated = options.created.time_since_epoch().count() != 0;
    const Dates dates = FormatDates(options.created);
    std::string info_dict =
        "<< /Producer (" + std::string(kProducer) + ") /Creator (" + std::string(kProducer) + ")";
    if (dated) info_dict += " /CreationDate (" + dates.pdf + ") /ModDate (" + dates.pdf + ")";
    if (!title.empty()) info_dict += " /Title " + PdfTextString(title);
    if (!author.empty()) info_dict += " /Author " + PdfTextString(author);
    if (!subject.empty()) info_dict += " /Subject " + PdfTextString(subject);
    writer.Object(info_id, info_dict + " >>");

    std::string catalog_dict = "<< /Type /Catalog /Pages " + std::to_string(pages) + " 0 R";
    if (options.pdfa) {
        // PDF/A-1 §6.7.2: the metadata stream is not filtered, so archive tools can find it as plain text.
        writer.Stream(metadata, "<< /Type /Metadata /Subtype /XML",
                      MakeXmp(title, author, subject, dated ? &dates : nullptr));
        writer.Stream(icc, "<< /N 1", MakeGrayIccProfile());
        catalog_dict +=
            " /Metadata " + std::to_string(metadata) +
            " 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier "
            "(Custom) /Info (faxd gray, gamma 2.2) /DestOutputProfile " +
            std::to_string(icc) + " 0 R >>]";
    }
    writer.Object(catalog, catalog_dict + " >>");

    const std::string bytes = writer.Finish(catalog, info_id);
    if (auto written = base::WriteFileAtomically(pdf, bytes); !written) {
        return base::MakeError(written.error().code,
                               "cannot write the PDF of " + tiff.string() + ": " + written.error().message);
    }
    return PdfInfo{static_cast<int>(kids.size()), bytes.size()};
}

}  // namespace faxd::render
