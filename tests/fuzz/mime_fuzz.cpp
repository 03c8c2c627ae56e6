// libFuzzer target for the MIME intake (src/mail): whoever sends mail to the gateway controls every byte.
//
// ParseMail runs with small limits so deep or wide inputs reach the limit paths quickly. A parsed mail must
// respect its limits and give valid UTF-8 text; the subject then goes through RecipientsFromSubject, and the
// body through FindPin, as the gateway does. GMime criticals abort.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <glib.h>

#include "mail/fax_address.hpp"
#include "mail/mime_intake.hpp"

namespace {

void Check(bool condition) {
    if (!condition) std::abort();
}

bool IsUtf8(const std::string& text) {
    return g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A GMime "critical" is a precondition we broke (a null buffer, a wrong object): make it a crash.
    static const bool fatal_criticals = [] {
        g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR));
        return true;
    }();
    (void)fatal_criticals;
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    faxd::mail::MailLimits limits;
    limits.max_bytes = 256 * 1024;
    limits.max_parts = 40;
    limits.max_depth = 8;
    limits.max_attachments = 10;
    limits.max_decoded_bytes = 512 * 1024;

    const auto mail = faxd::mail::ParseMail(raw, limits);
    if (!mail) {
        Check(!mail.error().message.empty());
        return 0;
    }
    Check(mail->attachments.size() <= limits.max_attachments);
    Check(mail->warnings.size() <= 50);
    for (const std::string* text :
         {&mail->from_address, &mail->from_name, &mail->reply_to, &mail->subject, &mail->message_id,
          &mail->text_body, &mail->html_body, &mail->automatic_reason}) {
        Check(IsUtf8(*text));
    }
    std::size_t decoded = 0;
    for (const auto& attachment : mail->attachments) {
        Check(!attachment.file_name.empty() && IsUtf8(attachment.file_name));
        Check(attachment.file_name.find('/') == std::string::npos);
        Check(attachment.file_name.find('\\') == std::string::npos);
        decoded += attachment.data.size();
    }
    Check(decoded <= limits.max_decoded_bytes);
    Check(mail->automatic == !mail->automatic_reason.empty());

    const auto recipients = faxd::mail::RecipientsFromSubject(mail->subject);
    if (recipients) {
        for (const auto& recipient : *recipients) Check(!recipient.number.empty());
    } else {
        Check(!recipients.error().message.empty());
    }
    if (const auto pin = faxd::mail::FindPin(mail->text_body)) Check(pin->size() >= 4 && pin->size() <= 12);
    for (const auto& address : mail->to) (void)faxd::mail::RecipientFromAddress(address, "fax.example.com");
    return 0;
}
