#include "mail/mime_intake.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>

#include <gmime/gmime.h>

#include "mail/automatic_mail.hpp"
#include "mail/gmime_init.hpp"
#include "mail/mime_text.hpp"
#include "mail/tnef.hpp"

namespace faxd::mail {
namespace {

constexpr std::size_t kMaxWarnings = 50;
constexpr std::size_t kMaxFileNameBytes = 200;

struct GObjectUnref {
    void operator()(void* object) const {
        if (object != nullptr) g_object_unref(object);
    }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
    void operator()(char* text) const { g_free(text); }
};
using GChars = std::unique_ptr<char, GFree>;

struct ParserOptionsFree {
    void operator()(GMimeParserOptions* options) const { g_mime_parser_options_free(options); }
};

std::string Lower(std::string text) {
    for (char& c : text) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return text;
}

std::string ValidUtf8(const char* text) {
    if (text == nullptr) return "";
    if (g_utf8_validate(text, -1, nullptr)) return text;
    GChars valid(g_utf8_make_valid(text, -1));
    return valid.get();
}

std::string_view TrimBlanks(std::string_view text) {
    while (!text.empty() &&
           (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' || text.front() == '\r')) {
        text.remove_prefix(1);
    }
    while (!text.empty() &&
           (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

// Collects the parser's complaints; GMime calls this during g_mime_parser_construct_message.
struct ParserReport {
    std::vector<std::string> warnings;
    bool nesting_overflow = false;
};

std::string_view ParserWarningText(GMimeParserWarning code) {
    switch (code) {
        case GMIME_WARN_DUPLICATED_HEADER:
            return "duplicated header";
        case GMIME_WARN_DUPLICATED_PARAMETER:
            return "duplicated header parameter";
        case GMIME_WARN_UNENCODED_8BIT_HEADER:
            return "unencoded 8-bit header";
        case GMIME_WARN_INVALID_CONTENT_TYPE:
            return "invalid Content-Type, read as application/octet-stream";
        case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
            return "invalid RFC 2047 encoded header";
        case GMIME_WARN_MALFORMED_MULTIPART:
            return "multipart without parts";
        case GMIME_WARN_TRUNCATED_MESSAGE:
            return "message truncated";
        case GMIME_WARN_MALFORMED_MESSAGE:
            return "malformed message";
        case GMIME_CRIT_INVALID_HEADER_NAME:
            return "invalid header name";
        case GMIME_CRIT_CONFLICTING_HEADER:
            return "conflicting headers";
        case GMIME_CRIT_CONFLICTING_PARAMETER:
            return "conflicting header parameters";
        case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
            return "multipart without boundary";
        case GMIME_WARN_INVALID_PARAMETER:
            return "invalid header parameter";
        case GMIME_WARN_INVALID_ADDRESS_LIST:
            return "invalid address list";
        case GMIME_CRIT_NESTING_OVERFLOW:
            return "nesting too deep";
        case GMIME_WARN_PART_WITHOUT_CONTENT:
            return "part without content";
        case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
            return "part without headers or content";
    }
    return "unknown problem";
}

void OnParserWarning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer user_data) {
    auto* report = static_cast<ParserReport*>(user_data);
    if (code == GMIME_CRIT_NESTING_OVERFLOW) report->nesting_overflow = true;
    if (report->warnings.size() >= kMaxWarnings) return;
    std::string line = "parser: " + std::string(ParserWarningText(code));
    if (item != nullptr && *item != '\0') line += " (" + Utf8Prefix(ValidUtf8(item), 60) + ")";
    if (offset >= 0) line += " at byte " + std::to_string(offset);
    report->warnings.push_back(std::move(line));
}

// GMime builds every part before we can count them, at a few hundred bytes each: a message of empty parts
// would cost far more memory than its size. Each part needs a boundary line and usually a Content-Type
// line, so counting those lines bounds the parts before GMime starts.
std::optional<std::string> CheckStructureLines(std::string_view raw, std::size_t max_parts) {
    const std::size_t max_lines = 4 * max_parts + 100;
    std::size_t lines = 0;
    for (std::size_t pos = 0; pos < raw.size();) {
        const std::string_view rest = raw.substr(pos, 12);
        if (rest.substr(0, 2) == "--" || Lower(std::string(rest)) == "content-type") ++lines;
        const std::size_t end = raw.find('\n', pos);
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    if (lines <= max_lines) return std::nullopt;
    return "mail: more than " + std::to_string(max_parts) + " MIME parts (" + std::to_string(lines) +
           " boundary or Content-Type lines)";
}

void AddAddresses(InternetAddressList* list, std::vector<std::string>& out, std::size_t depth = 0) {
    if (list == nullptr || depth > 2) return;
    const int count = internet_address_list_length(list);
    for (int i = 0; i < count; ++i) {
        InternetAddress* address = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
            out.push_back(ValidUtf8(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address))));
        } else if (INTERNET_ADDRESS_IS_GROUP(address)) {
            AddAddresses(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), out, depth + 1);
        }
    }
}

InternetAddressMailbox* FirstMailbox(InternetAddressList* list, std::size_t depth = 0) {
    if (list == nullptr || depth > 2) return nullptr;
    const int count = internet_address_list_length(list);
    for (int i = 0; i < count; ++i) {
        InternetAddress* address = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(address)) return INTERNET_ADDRESS_MAILBOX(address);
        if (INTERNET_ADDRESS_IS_GROUP(address)) {
            if (auto* found = FirstMailbox(
                    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), depth + 1)) {
                return found;
            }
        }
    }
    return nullptr;
}

std::string_view ExtensionFor(std::string_view mime_type) {
    static constexpr std::pair<std::string_view, std::string_view> kExtensions[] = {
        {"application/pdf", "pdf"},
        {"image/tiff", "tif"},
        {"image/jpeg", "jpg"},
        {"image/png", "png"},
        {"image/gif", "gif"},
        {"text/plain", "txt"},
        {"text/html", "html"},
        {"text/calendar", "ics"},
        {"message/rfc822", "eml"},
        {"application/postscript", "ps"},
        {"application/rtf", "rtf"},
        {"application/msword", "doc"},
        {"application/vnd.ms-excel", "xls"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
        {"application/vnd.oasis.opendocument.text", "odt"},
    };
    for (const auto& [type, extension] : kExtensions) {
        if (type == mime_type) return extension;
    }
    return "bin";
}

// The last path component, without control characters, at most kMaxFileNameBytes: names are chosen by the
// sender and end up in the spool and in reports.
std::string SafeFileName(std::string_view name) {
    if (const std::size_t slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
        name.remove_prefix(slash + 1);
    }
    std::string out;
    for (const char c : name) {
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out.push_back(c);
    }
    std::string_view trimmed = TrimBlanks(out);
    if (trimmed == "." || trimmed == "..") return "";
    return ValidUtf8(Utf8Prefix(trimmed, kMaxFileNameBytes).c_str());
}

std::string ExtensionOfName(std::string_view name) {
    const std::size_t dot = name.rfind('.');
    return dot == std::string_view::npos ? "" : Lower(std::string(name.substr(dot + 1)));
}

std::string MimeTypeForName(std::string_view name) {
    const std::string extension = ExtensionOfName(name);
    static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
        {"pdf", "application/pdf"},
        {"tif", "image/tiff"},
        {"tiff", "image/tiff"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"png", "image/png"},
        {"gif", "image/gif"},
        {"txt", "text/plain"},
        {"doc", "application/msword"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xls", "application/vnd.ms-excel"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"rtf", "application/rtf"},
    };
    for (const auto& [ext, type] : kTypes) {
        if (ext == extension) return std::string(type);
    }
    return "application/octet-stream";
}

// Where the text of a message goes while its parts are walked: the mail's body, or a forwarded message's.
struct Body {
    std::string plain;
    std::string html;
};

void AppendText(std::string& target, std::string_view text) {
    if (TrimBlanks(text).empty()) return;
    if (!target.empty()) target += "\n\n";
    target += text;
}

class PartWalker {
public:
    PartWalker(const MailLimits& limits, ParsedMail& mail) : limits_(limits), mail_(mail) {}

    base::Result<void> Walk(GMimeObject* object, std::size_t depth, Body& body, bool in_related) {
        if (object == nullptr) return {};
        if (++parts_ > limits_.max_parts) {
            return base::MakeError(base::ErrorCode::kLimitExceeded,
                                   "mail: more than " + std::to_string(limits_.max_parts) + " MIME parts");
        }
        if (depth > limits_.max_depth) {
            return base::MakeError(
                base::ErrorCode::kLimitExceeded,
                "mail: MIME parts nested deeper than " + std::to_string(limits_.max_depth) + " levels");
        }
        if (GMIME_IS_MULTIPART(object))
            return WalkMultipart(GMIME_MULTIPART(object), depth, body, in_related);
        if (GMIME_IS_MESSAGE_PART(object)) return WalkForwarded(GMIME_MESSAGE_PART(object), depth);
        if (GMIME_IS_PART(object)) return WalkLeaf(GMIME_PART(object), body, in_related);
        return {};
    }

    // Marks the images the HTML bodies show through cid: links.
    void MarkReferencedImages() {
        for (auto& attachment : mail_.attachments) {
            if (attachment.content_type.rfind("image/", 0) == 0 && !attachment.content_id.empty() &&
                referenced_ids_.contains(Lower(attachment.content_id))) {
                attachment.inline_image = true;
            }
        }
    }

    void Warn(std::string warning) {
        if (mail_.warnings.size() < kMaxWarnings) mail_.warnings.push_back(std::move(warning));
    }

private:
    base::Result<void> WalkMultipart(GMimeMultipart* multipart, std::size_t depth, Body& body,
                                     bool in_related) {
        const int count = g_mime_multipart_get_count(multipart);
        if (count == 0) {
            // Without a usable boundary GMime keeps the whole content as the prologue: it is still the text
            // the sender wrote.
            Warn("part " + std::to_string(parts_) + ": multipart without parts, its text read as the body");
            AppendText(body.plain, ToUtf8(ValidUtf8(g_mime_multipart_get_prologue(multipart)), "").text);
        }
        GMimeContentType* type = g_mime_object_get_content_type(GMIME_OBJECT(multipart));
        const bool related = type != nullptr && g_mime_content_type_is_type(type, "multipart", "related");
        for (int i = 0; i < count; ++i) {
            auto walked =
                Walk(g_mime_multipart_get_part(multipart, i), depth + 1, body, in_related || related);
            if (!walked) return walked;
        }
        return {};
    }

    base::Result<void> WalkForwarded(GMimeMessagePart* part, std::size_t depth) {
        GMimeMessage* message = g_mime_message_part_get_message(part);
        if (message == nullptr) {
            Warn("part " + std::to_string(parts_) + ": empty forwarded message");
            return {};
        }
        const std::size_t insert_at = mail_.attachments.size();
        Body inner;
        auto walked = Walk(g_mime_message_get_mime_part(message), depth + 1, inner, false);
        if (!walked) return walked;
        std::string text = TrimBlanks(inner.plain).empty() ? HtmlToText(inner.html) : inner.plain;
        if (TrimBlanks(text).empty()) return {};

        std::string header;
        if (auto* from = FirstMailbox(g_mime_message_get_from(message))) {
            header += "From: " + ValidUtf8(internet_address_mailbox_get_addr(from)) + "\n";
        }
        const char* date = g_mime_object_get_header(GMIME_OBJECT(message), "Date");
        if (date != nullptr) header += "Date: " + ValidUtf8(date) + "\n";
        header += "Subject: " + ValidUtf8(g_mime_message_get_subject(message)) + "\n\n";

        MailAttachment attachment;
        attachment.file_name = "forwarded-" + std::to_string(++forwarded_) + ".txt";
        attachment.content_type = "text/plain";
        attachment.charset = "utf-8";
        attachment.data = header + text;
        auto added = CheckAttachmentCount();
        if (!added) return added;
        mail_.attachments.insert(mail_.attachments.begin() + static_cast<std::ptrdiff_t>(insert_at),
                                 std::move(attachment));
        return {};
    }

    base::Result<void> WalkLeaf(GMimePart* part, Body& body, bool in_related) {
        GMimeObject* object = GMIME_OBJECT(part);
        const std::size_t part_number = parts_;
        std::string mime_type = "application/octet-stream";
        if (GMimeContentType* type = g_mime_object_get_content_type(object)) {
            GChars text(g_mime_content_type_get_mime_type(type));
            if (text) mime_type = Lower(ValidUtf8(text.get()));
        }
        const std::string charset = ValidUtf8(g_mime_object_get_content_type_parameter(object, "charset"));
        const GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
        const bool is_attachment_disposition =
            disposition != nullptr &&
            g_mime_content_disposition_is_attachment(const_cast<GMimeContentDisposition*>(disposition));
        const char* file_name = g_mime_part_get_filename(part);

        auto data = Decode(part);
        if (!data) return tl::unexpected(data.error());

        if ((mime_type == "text/plain" || mime_type == "text/html") && file_name == nullptr &&
            !is_attachment_disposition) {
            Utf8Text text = ToUtf8(*data, charset);
            if (!text.warning.empty()) Warn("part " + std::to_string(part_number) + ": " + text.warning);
            if (mime_type == "text/html") {
                for (auto& id : ContentIdReferences(text.text)) referenced_ids_.insert(Lower(std::move(id)));
                AppendText(body.html, text.text);
            } else {
                AppendText(body.plain, text.text);
            }
            return {};
        }
        if (mime_type == "application/pgp-signature" || mime_type == "application/pkcs7-signature" ||
            mime_type == "application/x-pkcs7-signature") {
            return {};
        }

        MailAttachment attachment;
        attachment.file_name = file_name != nullptr ? SafeFileName(ValidUtf8(file_name)) : "";
        attachment.content_type = mime_type;
        attachment.charset = charset;
        attachment.content_id = ValidUtf8(g_mime_object_get_content_id(object));
        attachment.data = std::move(*data);
        if (mime_type == "application/ms-tnef" || mime_type == "application/vnd.ms-tnef" ||
            Lower(attachment.file_name) == "winmail.dat") {
            return AddTnef(std::move(attachment), part_number);
        }
        attachment.inline_image =
            mime_type.rfind("image/", 0) == 0 && ((in_related && !is_attachment_disposition) ||
                                                  attachment.data.size() <= limits_.tiny_image_bytes);
        return Add(std::move(attachment));
    }

    base::Result<std::string> Decode(GMimePart* part) {
        GMimeDataWrapper* content = g_mime_part_get_content(part);
        if (content == nullptr) return std::string();
        GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
        // Writing the wrapper decodes its transfer encoding (base64, quoted-printable, uuencode).
        if (g_mime_data_wrapper_write_to_stream(content, sink.get()) < 0) {
            Warn("part " + std::to_string(parts_) + ": content could not be decoded");
        }
        GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
        std::string data(reinterpret_cast<const char*>(bytes->data), bytes->len);
        decoded_bytes_ += data.size();
        if (decoded_bytes_ > limits_.max_decoded_bytes) {
            return base::MakeError(
                base::ErrorCode::kLimitExceeded,
                "mail: decoded parts larger than " + std::to_string(limits_.max_decoded_bytes) + " bytes");
        }
        return data;
    }

    base::Result<void> AddTnef(MailAttachment winmail, std::size_t part_number) {
        const std::string where = "part " + std::to_string(part_number) + ": ";
        auto content = ReadTnef(winmail.data, limits_.max_attachments);
        if (!content) {
            if (content.error().code == base::ErrorCode::kLimitExceeded) {
                return base::MakeError(base::ErrorCode::kLimitExceeded, "mail: " + content.error().message);
            }
            Warn(where + content.error().message + ", kept as it is");
            return Add(std::move(winmail));
        }
        if (content->truncated) Warn(where + "winmail.dat is truncated");
        if (content->skipped > 0) {
            Warn(where + "winmail.dat: " + std::to_string(content->skipped) +
                 " embedded item(s) not extracted");
        }
        if (content->files.empty()) {
            Warn(where + "winmail.dat holds no files, kept as it is");
            return Add(std::move(winmail));
        }
        for (auto& file : content->files) {
            MailAttachment attachment;
            attachment.file_name = SafeFileName(file.name);
            attachment.content_type = file.mime_type.empty() ? MimeTypeForName(attachment.file_name)
                                                             : ValidUtf8(file.mime_type.c_str());
            attachment.data = std::move(file.data);
            auto added = Add(std::move(attachment));
            if (!added) return added;
        }
        return {};
    }

    base::Result<void> CheckAttachmentCount() {
        if (mail_.attachments.size() >= limits_.max_attachments) {
            return base::MakeError(
                base::ErrorCode::kLimitExceeded,
                "mail: more than " + std::to_string(limits_.max_attachments) + " attachments");
        }
        return {};
    }

    base::Result<void> Add(MailAttachment attachment) {
        auto allowed = CheckAttachmentCount();
        if (!allowed) return allowed;
        if (attachment.file_name.empty()) {
            attachment.file_name = "attachment-" + std::to_string(mail_.attachments.size() + 1) + "." +
                                   std::string(ExtensionFor(attachment.content_type));
        }
        mail_.attachments.push_back(std::move(attachment));
        return {};
    }

    const MailLimits& limits_;
    ParsedMail& mail_;
    std::size_t parts_ = 0;
    std::size_t decoded_bytes_ = 0;
    std::size_t forwarded_ = 0;
    std::unordered_set<std::string> referenced_ids_;
};

void ReadHeaders(GMimeMessage* message, ParsedMail& mail) {
    if (auto* from = FirstMailbox(g_mime_message_get_from(message))) {
        mail.from_address = ValidUtf8(internet_address_mailbox_get_addr(from));
        mail.from_name = ValidUtf8(internet_address_get_name(INTERNET_ADDRESS(from)));
    }
    if (auto* reply_to = FirstMailbox(g_mime_message_get_reply_to(message))) {
        mail.reply_to = ValidUtf8(internet_address_mailbox_get_addr(reply_to));
    }
    AddAddresses(g_mime_message_get_to(message), mail.to);
    AddAddresses(g_mime_message_get_cc(message), mail.cc);
    mail.subject = ValidUtf8(g_mime_message_get_subject(message));
    mail.message_id = ValidUtf8(g_mime_message_get_message_id(message));

    std::vector<MailHeader> headers;
    GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(message));
    const int count = list != nullptr ? g_mime_header_list_get_count(list) : 0;
    for (int i = 0; i < count; ++i) {
        GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
        headers.push_back(
            {ValidUtf8(g_mime_header_get_name(header)), ValidUtf8(g_mime_header_get_value(header))});
    }
    std::string content_type;
    if (GMimeObject* body = g_mime_message_get_mime_part(message)) {
        if (GMimeContentType* type = g_mime_object_get_content_type(body)) {
            GChars text(g_mime_content_type_get_mime_type(type));
            if (text) content_type = Lower(ValidUtf8(text.get()));
        }
    }
    if (auto reason = AutomaticMailReason(headers, content_type, mail.from_address)) {
        mail.automatic = true;
        mail.automatic_reason = std::move(*reason);
    }
}

// An mbox "From " envelope line is no header; a poller may hand one over.
std::string_view WithoutMboxEnvelope(std::string_view raw) {
    if (raw.substr(0, 5) != "From ") return raw;
    const std::size_t end = raw.find('\n');
    return end == std::string_view::npos ? std::string_view() : raw.substr(end + 1);
}

}  // namespace

base::Result<ParsedMail> ParseMail(std::string_view raw, const MailLimits& limits) {
    if (raw.size() > limits.max_bytes) {
        return base::MakeError(base::ErrorCode::kLimitExceeded, "mail: " + std::to_string(raw.size()) +
                                                                    " bytes, more than the limit of " +
                                                                    std::to_string(limits.max_bytes));
    }
    raw = WithoutMboxEnvelope(raw);
    if (raw.empty()) return base::MakeError(base::ErrorCode::kMalformed, "mail: no message headers found");
    if (auto too_many = CheckStructureLines(raw, limits.max_parts)) {
        return base::MakeError(base::ErrorCode::kLimitExceeded, std::move(*too_many));
    }
    EnsureGMimeInitialized();

    // The header lists GMime builds keep a pointer to the options: they must outlive every object below.
    ParserReport report;
    std::unique_ptr<GMimeParserOptions, ParserOptionsFree> options(g_mime_parser_options_new());
    g_mime_parser_options_set_warning_callback(options.get(), OnParserWarning, &report);
    const char* fallback_charsets[] = {"UTF-8", "ISO-8859-1", nullptr};
    g_mime_parser_options_set_fallback_charsets(options.get(), fallback_charsets);

    GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
    GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));
    if (!message) return base::MakeError(base::ErrorCode::kMalformed, "mail: no message headers found");
    GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message.get()));
    if (headers == nullptr || g_mime_header_list_get_count(headers) == 0) {
        return base::MakeError(base::ErrorCode::kMalformed, "mail: no message headers found");
    }
    if (report.nesting_overflow) {
        return base::MakeError(
            base::ErrorCode::kLimitExceeded,
            "mail: MIME parts nested deeper than " + std::to_string(limits.max_depth) + " levels");
    }

    ParsedMail mail;
    mail.warnings = std::move(report.warnings);
    ReadHeaders(message.get(), mail);

    PartWalker walker(limits, mail);
    Body body;
    auto walked = walker.Walk(g_mime_message_get_mime_part(message.get()), 1, body, false);
    if (!walked) return tl::unexpected(walked.error());
    walker.MarkReferencedImages();

    mail.html_body = std::move(body.html);
    mail.text_body = TrimBlanks(body.plain).empty() ? HtmlToText(mail.html_body) : std::move(body.plain);
    return mail;
}

}  // namespace faxd::mail
