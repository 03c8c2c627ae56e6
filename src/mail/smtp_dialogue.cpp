#include "mail/smtp_dialogue.hpp"

namespace faxd::mail {

using Outcome = detail::SendOutcome;

bool Permanent(const Reply& reply) { return reply.code >= 500 && reply.code < 600 && reply.code != 530; }
bool RelayLevel(const Reply& reply) { return reply.code == 421 || reply.code == 530; }

Outcome Classify(const SmtpDialogue& dialogue, bool transfer_ok, const std::string& transport_error,
                 const std::vector<std::string>& recipients) {
    Outcome out;
    std::vector<std::string> problems;
    auto finish = [&] {
        for (const auto& problem : problems) {
            if (!out.error.empty()) out.error += "; ";
            out.error += problem;
        }
        return out;
    };
    const std::string broken = transfer_ok ? "connection closed" : transport_error;
    // Not as far as MAIL FROM: connection, TLS, greeting, EHLO, STARTTLS, AUTH.
    if (!dialogue.mail) {
        out.relay_problem = true;
        out.retry = recipients;
        problems.push_back(dialogue.last && dialogue.last->code >= 400
                               ? dialogue.last_step + ": " + dialogue.last->text
                               : broken);
        return finish();
    }
    const Reply& mail = *dialogue.mail;
    if (mail.code / 100 != 2) {
        if (Permanent(mail)) {
            out.relay_reached = true;
            for (const auto& recipient : recipients)
                out.refused.emplace_back(recipient, "MAIL FROM: " + mail.text);
        } else {
            out.relay_problem = true;  // 4xx for the sender is the relay's trouble (disk, limits), not ours
            out.retry = recipients;
        }
        problems.push_back("MAIL FROM: " + mail.text);
        return finish();
    }
    out.relay_reached = true;
    std::vector<std::string> accepted;
    bool lost = false;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const std::string& recipient = recipients[i];
        if (i >= dialogue.rcpt.size()) {
            out.retry.push_back(recipient);
            lost = true;
            continue;
        }
        const Reply& reply = dialogue.rcpt[i];
        if (reply.code / 100 == 2) {
            accepted.push_back(recipient);
            continue;
        }
        const std::string problem = "RCPT TO:<" + recipient + ">: " + reply.text;
        problems.push_back(problem);
        if (Permanent(reply)) {
            out.refused.emplace_back(recipient, problem);
        } else {
            out.retry.push_back(recipient);
            if (RelayLevel(reply)) out.relay_problem = true;
        }
    }
    if (lost) {
        out.relay_problem = true;
        problems.push_back("RCPT TO: " + broken);
    }
    if (accepted.empty()) return finish();
    if (dialogue.message && dialogue.message->code / 100 == 2) {
        out.delivered = std::move(accepted);
        return finish();
    }
    std::optional<Reply> answer = dialogue.message;
    std::string step = "end of data";
    if (!answer && dialogue.data && dialogue.data->code != 354) {
        answer = dialogue.data;
        step = "DATA";
    }
    if (!answer) {
        // Cut off while sending or while waiting for the final reply: the relay may have the message
        // (at least once, see the header).
        out.relay_problem = true;
        out.retry.insert(out.retry.end(), accepted.begin(), accepted.end());
        problems.push_back("DATA: " + broken);
        return finish();
    }
    const std::string problem = step + ": " + answer->text;
    problems.push_back(problem);
    if (Permanent(*answer)) {
        for (const auto& recipient : accepted) out.refused.emplace_back(recipient, problem);
    } else {
        out.retry.insert(out.retry.end(), accepted.begin(), accepted.end());
        if (RelayLevel(*answer)) out.relay_problem = true;
    }
    return finish();
}

int SmtpDebugCallback(CURL*, curl_infotype type, char* data, size_t size, void* dialogue) {
    auto* smtp = static_cast<SmtpDialogue*>(dialogue);
    if (type == CURLINFO_HEADER_OUT) smtp->Sent(std::string_view(data, size));
    if (type == CURLINFO_HEADER_IN) smtp->Received(std::string_view(data, size));
    return 0;
}

}  // namespace faxd::mail
