// libFuzzer target for what the e-mail gateway reads from a mail before any key is involved: the raw MIME
// cutting of PGP/MIME (pgp_raw: entities, multipart bodies, transfer decoding, armor, packet headers) and
// the Authentication-Results reader. A stranger controls every byte of these.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/auth_results.hpp"
#include "mail/pgp_raw.hpp"

namespace {
void Check(bool condition) {
    if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    namespace mail = faxd::mail;
    namespace pgp = faxd::mail::pgp_raw;

    const auto verdict = mail::CheckDkimSpfAlignment(raw, "mx.company.test", "anna@example.com");
    Check(!verdict.detail.empty());
    (void)mail::OrganisationalDomain(raw.substr(0, 300));

    const pgp::RawEntity entity = pgp::SplitEntity(raw);
    Check(entity.headers.size() + entity.body.size() <= raw.size());
    const pgp::MediaType type = pgp::EntityMediaType(entity);
    (void)pgp::HeaderValue(entity.headers, "Content-Type");
    (void)pgp::WithoutContentFields(entity.headers);
    const std::string decoded = pgp::DecodeBody(entity);
    const std::string canonical = pgp::ToCrlf(entity.body);
    for (std::size_t i = 0; i < canonical.size(); ++i) {
        if (canonical[i] == '\n') Check(i > 0 && canonical[i - 1] == '\r');
    }
    if (!type.boundary.empty()) {
        if (auto parts = pgp::SplitMultipart(entity.body, type.boundary, 16)) {
            Check(parts->size() <= 16);
            for (std::string_view part : *parts) {
                Check(part.data() >= entity.body.data() &&
                      part.data() + part.size() <= entity.body.data() + entity.body.size());
            }
        }
    }
    if (auto packets = pgp::Dearmor(raw, "SIGNATURE")) (void)pgp::OnlySignaturePackets(*packets);
    (void)pgp::OnlySignaturePackets(decoded);
    (void)pgp::StartsEncryptedMessage(raw);
    return 0;
}
