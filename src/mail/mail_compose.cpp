#include "mail/mail_compose.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <random>

#include <gmime/gmime.h>

#include "mail/gmime_init.hpp"

namespace faxd::mail {
namespace {

struct GObjectUnref {
    void operator()(void* object) const {
        if (object != nullptr) g_object_unref(object);
    }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct FormatOptionsFree {
    void operator()(GMimeFormatOptions* options) const { g_mime_format_options_free(options); }
};
struct DateTimeUnref {
    void operator()(GDateTime* date) const { g_date_time_unref(date); }
};

// Headers the composer writes itself; an extra header with one of these names would contradict them.
constexpr std::string_view kOwnHeaders[] = {"from",
                                            "to",
                                            "subject",
                                            "date",
                                            "message-id",
                                            "mime-version",
                                            "content-type",
                                            "content-transfer-encoding",
                                            "content-disposition",
                                            "in-reply-to",
                                            "references",
                                            "auto-submitted",
                                            "x-auto-response-suppress"};

std::string Lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

bool HasLineBreak(std::string_view text) { return text.find_first_of("\r\n") != std::string_view::npos; }

// CR and LF would start a new header line (header injection); a subject or name built from user input
// gets blanks instead.
std::string OneLine(std::string_view text) {
    std::string out(text);
    std::replace(out.begin(), out.end(), '\r', ' ');
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

// LF only inside; GMime's DOS newline format turns every line end into CRLF when writing.
std::string UnixLineEnds(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out += '\n';
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            out += text[i];
        }
    }
    return out;
}

bool IsAscii(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// An addr-spec as far as a composer can check it: something@something, no blanks, no controls, no <>.
bool PlausibleAddress(std::string_view address) {
    if (address.empty() || address.size() > 320) return false;
    const auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
    return std::none_of(address.begin(), address.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte == 0x7f || c == '<' || c == '>' || c == ',';
    });
}

// RFC 5322 §2.2: ftext is printable ASCII except ':'.
bool ValidHeaderName(std::string_view name) {
    if (name.empty() || name.size() > 76) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return c >= 33 && c <= 126 && c != ':'; });
}

bool ValidDomain(std::string_view domain) {
    if (domain.empty() || domain.size() > 253) return false;
    return std::all_of(domain.begin(), domain.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == '_';
    });
}

// "<a@b> c@d" -> "<a@b> <c@d>": Message-IDs in angle brackets, one blank between them.
std::string BracketedIds(std::string_view ids) {
    std::string out;
    std::size_t pos = 0;
    while (pos < ids.size()) {
        while (pos < ids.size() && (ids[pos] == ' ' || ids[pos] == '\t')) ++pos;
        std::size_t end = pos;
        while (end < ids.size() && ids[end] != ' ' && ids[end] != '\t') ++end;
        if (end > pos) {
            std::string_view id = ids.substr(pos, end - pos);
            if (id.front() == '<') id.remove_prefix(1);
            if (!id.empty() && id.back() == '>') id.remove_suffix(1);
            if (!id.empty()) {
                if (!out.empty()) out += ' ';
                out += '<';
                out += id;
                out += '>';
            }
        }
        pos = end;
    }
    return out;
}

std::string BaseName(std::string_view name) {
    const auto slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out = OneLine(name);
    if (out.empty() || out == "." || out == "..") return "attachment";
    return out;
}

GObjectPtr<GMimeDataWrapper> Content(std::string_view bytes) {
    GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
    return GObjectPtr<GMimeDataWrapper>(
        g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
}

GObjectPtr<GMimeObject> TextPart(const char* subtype, std::string_view text) {
    const std::string unix_text = UnixLineEnds(text);
    GObjectPtr<GMimeTextPart> part(g_mime_text_part_new_with_subtype(subtype));
    auto* object = GMIME_OBJECT(part.get());
    g_mime_object_set_content_type_parameter(object, "charset", IsAscii(unix_text) ? "us-ascii" : "utf-8");
    g_mime_part_set_content(GMIME_PART(part.get()), Content(unix_text).get());
    g_mime_part_set_content_encoding(GMIME_PART(part.get()), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    return GObjectPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

void Utf8Parameter(GMimeParamList* list, const char* name) {
    if (list == nullptr) return;
    if (GMimeParam* param = g_mime_param_list_get_parameter(list, name))
        g_mime_param_set_charset(param, "utf-8");
}

GObjectPtr<GMimeObject> AttachmentPart(const OutgoingAttachment& attachment, bool in_related) {
    std::string media_type = "application";
    std::string media_subtype = "octet-stream";
    if (!attachment.content_type.empty() && !HasLineBreak(attachment.content_type)) {
        GObjectPtr<GMimeContentType> parsed(
            g_mime_content_type_parse(nullptr, attachment.content_type.c_str()));
        const char* type = parsed ? g_mime_content_type_get_media_type(parsed.get()) : nullptr;
        const char* subtype = parsed ? g_mime_content_type_get_media_subtype(parsed.get()) : nullptr;
        if (type != nullptr && subtype != nullptr && *type != '\0' && *subtype != '\0') {
            media_type = Lower(type);
            media_subtype = Lower(subtype);
        }
    }
    GObjectPtr<GMimePart> part(g_mime_part_new_with_type(media_type.c_str(), media_subtype.c_str()));
    auto* object = GMIME_OBJECT(part.get());
    g_mime_part_set_content(part.get(), Content(attachment.data).get());
    g_mime_part_set_content_encoding(part.get(), GMIME_CONTENT_ENCODING_BASE64);
    g_mime_object_set_disposition(object,
                                  in_related ? GMIME_DISPOSITION_INLINE : GMIME_DISPOSITION_ATTACHMENT);
    g_mime_part_set_filename(part.get(), BaseName(attachment.file_name).c_str());
    // GMime would pick Latin-1 for the RFC 2231 encoding when it suffices; UTF-8 everywhere is simpler
    // for every reader.
    Utf8Parameter(g_mime_content_disposition_get_parameters(g_mime_object_get_content_disposition(object)),
                  "filename");
    Utf8Parameter(g_mime_content_type_get_parameters(g_mime_object_get_content_type(object)), "name");
    if (!attachment.content_id.empty()) {
        std::string cid = attachment.content_id;
        if (cid.front() == '<') cid.erase(0, 1);
        if (!cid.empty() && cid.back() == '>') cid.pop_back();
        g_mime_part_set_content_id(part.get(), cid.c_str());
    }
    return GObjectPtr<GMimeObject>(GMIME_OBJECT(part.release()));
}

GObjectPtr<GMimeObject> Multipart(const char* subtype, const std::vector<GMimeObject*>& parts) {
    GObjectPtr<GMimeMultipart> multipart(g_mime_multipart_new_with_subtype(subtype));
    for (GMimeObject* part : parts) g_mime_multipart_add(multipart.get(), part);  // takes its own reference
    return GObjectPtr<GMimeObject>(GMIME_OBJECT(multipart.release()));
}

base::Result<void> Validate(const OutgoingMail& mail) {
    using base::ErrorCode;
    if (!PlausibleAddress(mail.from)) return base::MakeError(ErrorCode::kInvalidArgument, "bad From address");
    if (mail.to.empty()) return base::MakeError(ErrorCode::kInvalidArgument, "no To address");
    for (const auto& to : mail.to) {
        if (!PlausibleAddress(to))
            return base::MakeError(ErrorCode::kInvalidArgument, "bad To address: " + OneLine(to));
    }
    if (HasLineBreak(mail.in_reply_to) || HasLineBreak(mail.references) || HasLineBreak(mail.message_id))
        return base::MakeError(ErrorCode::kInvalidArgument, "line break in a Message-ID");
    if (mail.message_id.find_first_of(" \t<>") != std::string::npos ||
        (!mail.message_id.empty() && mail.message_id.find('@') == std::string::npos))
        return base::MakeError(ErrorCode::kInvalidArgument, "bad Message-ID: " + mail.message_id);
    if (!mail.auto_submitted.starts_with("auto-") || HasLineBreak(mail.auto_submitted))
        return base::MakeError(ErrorCode::kInvalidArgument,
                               "Auto-Submitted must be auto-generated, auto-replied or auto-notified");
    for (const auto& [name, value] : mail.extra_headers) {
        if (!ValidHeaderName(name))
            return base::MakeError(ErrorCode::kInvalidArgument, "bad header name: " + OneLine(name));
        const std::string lower = Lower(name);
        if (std::find(std::begin(kOwnHeaders), std::end(kOwnHeaders), lower) != std::end(kOwnHeaders))
            return base::MakeError(ErrorCode::kInvalidArgument,
                                   "header " + name + " is written by the composer");
        if (HasLineBreak(value))
            return base::MakeError(ErrorCode::kInvalidArgument, "line break in header " + name);
    }
    return {};
}

}  // namespace

std::string NewMessageId(std::string_view domain) {
    std::array<unsigned char, 16> bytes{};
    std::size_t filled = 0;
    while (filled < bytes.size()) {
        const ssize_t got = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            break;
        }
        filled += static_cast<std::size_t>(got);
    }
    if (filled < bytes.size()) {  // no getrandom (old kernel, seccomp): still unique enough for an id
        std::random_device device;
        for (auto& byte : bytes) byte = static_cast<unsigned char>(device());
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    id.reserve(32 + 1 + domain.size());
    for (const unsigned char byte : bytes) {
        id += kHex[byte >> 4];
        id += kHex[byte & 0x0f];
    }
    id += '@';
    id += domain;
    return id;
}

base::Result<std::string> ComposeMail(const OutgoingMail& mail, std::chrono::system_clock::time_point date,
                                      std::string_view message_id_domain) {
    if (auto valid = Validate(mail); !valid) return tl::unexpected(valid.error());
    if (mail.message_id.empty() && !ValidDomain(message_id_domain))
        return base::MakeError(base::ErrorCode::kInvalidArgument,
                               "bad Message-ID domain: " + OneLine(message_id_domain));
    EnsureGMimeInitialized();

    GObjectPtr<GMimeMessage> message(g_mime_message_new(TRUE));
    auto* headers = GMIME_OBJECT(message.get());
    GObjectPtr<InternetAddress> from(
        internet_address_mailbox_new(OneLine(mail.from_name).c_str(), mail.from.c_str()));
    internet_address_set_charset(from.get(), "utf-8");  // not Latin-1, as GMime would pick when it suffices
    internet_address_list_add(g_mime_message_get_from(message.get()), from.get());
    for (const auto& to : mail.to)
        g_mime_message_add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, "", to.c_str());
    g_mime_message_set_subject(message.get(), OneLine(mail.subject).c_str(), "utf-8");
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(date.time_since_epoch()).count();
    std::unique_ptr<GDateTime, DateTimeUnref> when(g_date_time_new_from_unix_utc(seconds));
    g_mime_message_set_date(message.get(), when.get());
    const std::string message_id =
        mail.message_id.empty() ? NewMessageId(message_id_domain) : mail.message_id;
    g_mime_message_set_message_id(message.get(), message_id.c_str());
    if (const std::string ids = BracketedIds(mail.in_reply_to); !ids.empty())
        g_mime_object_set_header(headers, "In-Reply-To", ids.c_str(), nullptr);
    if (const std::string ids = BracketedIds(mail.references); !ids.empty())
        g_mime_object_set_header(headers, "References", ids.c_str(), nullptr);
    g_mime_object_set_header(headers, "MIME-Version", "1.0", nullptr);
    g_mime_object_set_header(headers, "Auto-Submitted", mail.auto_submitted.c_str(), nullptr);
    g_mime_object_set_header(headers, "X-Auto-Response-Suppress", "All", nullptr);
    for (const auto& [name, value] : mail.extra_headers)
        g_mime_object_append_header(headers, name.c_str(), value.c_str(), "utf-8");

    // The body: text, HTML, or both as alternatives; the HTML with its inline images as multipart/related.
    const bool has_html = !mail.html_body.empty();
    std::vector<GObjectPtr<GMimeObject>> keep;  // every part, alive until the tree holds its own references
    auto hold = [&keep](GObjectPtr<GMimeObject> part) {
        keep.push_back(std::move(part));
        return keep.back().get();
    };
    GMimeObject* body = nullptr;
    if (has_html) {
        GMimeObject* html = hold(TextPart("html", mail.html_body));
        std::vector<GMimeObject*> related{html};
        for (const auto& attachment : mail.attachments) {
            if (!attachment.content_id.empty()) related.push_back(hold(AttachmentPart(attachment, true)));
        }
        if (related.size() > 1) {
            html = hold(Multipart("related", related));
            g_mime_object_set_content_type_parameter(html, "type", "text/html");
        }
        body = mail.text_body.empty()
                   ? html
                   : hold(Multipart("alternative", {hold(TextPart("plain", mail.text_body)), html}));
    } else {
        body = hold(TextPart("plain", mail.text_body));
    }
    std::vector<GMimeObject*> mixed{body};
    for (const auto& attachment : mail.attachments) {
        if (has_html && !attachment.content_id.empty()) continue;  // in the related part
        mixed.push_back(hold(AttachmentPart(attachment, false)));
    }
    g_mime_message_set_mime_part(message.get(), mixed.size() > 1 ? hold(Multipart("mixed", mixed)) : body);

    std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> options(g_mime_format_options_new());
    g_mime_format_options_set_newline_format(options.get(), GMIME_NEWLINE_FORMAT_DOS);
    GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new());
    if (g_mime_object_write_to_stream(headers, options.get(), stream.get()) < 0)
        return base::MakeError(base::ErrorCode::kInternal, "GMime cannot write the message");
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

}  // namespace faxd::mail
