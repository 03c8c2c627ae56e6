// PGP sender authentication of the e-mail gateway (issue 7): faxd's own GnuPG keyring, driven through GPGME.
// It holds the users' public keys (imported by an administrator, one per call) and faxd's secret key, checks
// the OpenPGP signature of a received mail and decrypts attachments encrypted to faxd. The gateway then
// looks up which user owns the returned fingerprint and refuses the mail otherwise.
//
// Decisions:
// - Trust: a key being in this keyring is the trust decision (an administrator imported it for a user), so
//   a good signature by it is accepted whatever validity the web of trust gives the key; expired, revoked
//   or disabled keys are refused. Keys are never fetched (offline mode, no auto-key-retrieve): an unknown
//   signer stays unknown, and no key server learns who mails faxd.
// - No person is ever asked for a passphrase: loopback pinentry with a callback that declines, and the
//   home's gpg-agent.conf names /bin/false as pinentry. faxd's secret key must therefore have no passphrase;
//   ImportSecretKey proves it can decrypt with it before accepting it. Passphrase-only (symmetric) and
//   unsigned-integrity (no MDC) encryption are refused.
// - PGP/MIME (RFC 3156): only a multipart/signed that is the whole message body counts, because only then
//   does the signature cover every attachment. The signed bytes are cut from the raw message by its
//   boundary (never re-serialised) and their line ends made CRLF. gpg gets the signature as the binary
//   packets faxd de-armored and checked to be signature packets only: an old signed message or a second
//   armored block placed in the signature part never reaches gpg (gpg 2.2 itself also refuses a
//   non-detached signature there). A multipart/signed inside another multipart is reported as "not
//   signed". A message encrypted as a whole (multipart/encrypted) goes through DecryptMail first.
//   Cutting MIME on raw bytes and checking packets is pgp_raw.hpp; this class is the GPGME half.
// - Inline PGP: the first text/plain body part (transfer encoding decoded, charset untouched) holding a
//   "-----BEGIN PGP SIGNED MESSAGE-----" block; only that block is verified, text around it is not.
// - The gateway must take what it faxes from VerifiedMail::signed_content, never from the outer message:
//   headers (To, Subject) are not signed, and for inline signatures neither are the attachments. A signed
//   mail can be replayed to other recipients; the gateway may keep signatures it has seen to refuse that.
// - Several signatures: any bad one fails the whole mail; otherwise the first good one by a known key wins.
// - Each call has a GPGME context of its own (GPGME is thread-safe that way; contexts are pooled) and its
//   own gpg process; imports are serialised. GnuPG starts one gpg-agent for the home; the destructor stops it
//   (gpgconf --kill all). gpg-agent's socket lives in the home when /run/user/<uid> is missing, so Open
//   refuses homes whose socket paths would not fit a sockaddr_un (108 bytes).
// - gpgme_check_version sets SIGPIPE to ignored if it was at its default (GPGME writes to gpg's pipes),
//   as faxd's main does anyway. GPGME reaps its gpg children itself: SIGCHLD must not be set to SIG_IGN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

struct gpgme_context;  // GPGME's context (gpgme.h); gpgme_ctx_t points to one

namespace faxd::mail {

struct VerifiedMail {
    enum class Kind { kPgpMime, kInline };
    std::string fingerprint;  // the signer's primary key: 40 upper-case hex digits
    Kind kind = Kind::kPgpMime;
    // What the signature covers. PGP/MIME: the first part as verified (a MIME entity with its own headers,
    // line ends CRLF); parse it for text and attachments. Inline: the signed text with dash-escaping
    // removed, in the part's charset; attachments are not covered.
    std::string signed_content;
    std::string charset;         // inline: the text part's declared charset, else empty
    std::int64_t signed_at = 0;  // the signature's creation time, seconds since the epoch
};

struct DecryptedData {
    std::string data;
    // Set when the ciphertext was also signed, the signature is good and the signer's key is in the
    // keyring (primary key, upper-case hex).
    std::string signer_fingerprint;
    // Why a signature found inside was not accepted ("signature by unknown key ...", "bad signature",
    // "key expired"); empty when unsigned or good.
    std::string signature_problem;
    std::string file_name;  // the name stored in the OpenPGP literal packet, as the sender wrote it
};

struct DecryptedMail {
    // The outer header fields (without their Content-* fields) followed by the decrypted MIME entity:
    // a message to parse and, when the entity is multipart/signed, to pass to VerifySignedMail.
    std::string message;
    std::string
        signer_fingerprint;  // set when signed and encrypted in one (RFC 3156 6.2), as in DecryptedData
    std::string signature_problem;
};

class PgpKeyring {
public:
    // A GnuPG home owned by faxd, created 0700 when missing (permissions tightened to 0700 when looser).
    // kUnsupported when gpg is not installed or too old; kInvalidArgument when the path is too long.
    static base::Result<std::unique_ptr<PgpKeyring>> Open(const std::filesystem::path& home);
    ~PgpKeyring();  // stops the home's gpg-agent
    PgpKeyring(const PgpKeyring&) = delete;
    PgpKeyring& operator=(const PgpKeyring&) = delete;

    const std::filesystem::path& home() const { return home_; }

    // One user's public key (armored or binary) -> its primary-key fingerprint. kInvalidArgument when the
    // data holds no key, several keys, or a secret key (a user's secret key has no business here).
    // Importing a key already present merges it (new user ids, subkeys, revocations) and succeeds.
    base::Result<std::string> ImportPublicKey(std::string_view key_data);

    // faxd's own key, for decrypting attachments. It must be one secret key with an encryption subkey
    // usable without a passphrase (checked by encrypting to it and decrypting); a newly imported key that
    // fails the check is removed again. Returns the primary-key fingerprint.
    base::Result<std::string> ImportSecretKey(std::string_view key_data);

    // The raw RFC 5322 message. Errors (the message starts with the phrase the gateway can show):
    // kNotFound "not signed ..."; kInvalidArgument "signature by unknown key <id>", "bad signature ...",
    // "key expired", "key revoked", "signature expired", "signing key not usable ..."; kIo or kInternal
    // when gpg itself failed (retry later).
    base::Result<VerifiedMail> VerifySignedMail(std::string_view raw_message) const;

    // One encrypted attachment (binary OpenPGP or ASCII-armored) -> its plaintext, at most max_bytes
    // (kLimitExceeded beyond: compression makes small ciphertexts large). kInvalidArgument "not encrypted
    // to faxd's key (encrypted to ...)", "not OpenPGP-encrypted data", "not integrity-protected", ...
    base::Result<DecryptedData> Decrypt(std::string_view encrypted,
                                        std::size_t max_bytes = 64 * 1024 * 1024) const;

    // A PGP/MIME encrypted message (RFC 3156 4: multipart/encrypted, protocol application/pgp-encrypted),
    // as mail clients send when told to encrypt: everything in it, attachments included, was encrypted.
    // kNotFound "not encrypted" for any other message; Decrypt's errors otherwise.
    base::Result<DecryptedMail> DecryptMail(std::string_view raw_message,
                                            std::size_t max_bytes = 64 * 1024 * 1024) const;

    // A cheap guess from the content (armored "PGP MESSAGE", or a first packet that starts an encrypted
    // message), the type (application/pgp-encrypted) or the name (.pgp, .gpg, .asc). Armored signatures,
    // keys and clear-signed text are never "encrypted", nor the "Version: 1" control part of PGP/MIME.
    // Only a successful Decrypt proves encryption.
    static bool LooksEncrypted(std::string_view data, std::string_view content_type,
                               std::string_view file_name);

private:
    // Configured contexts are kept for the next call: setting one up costs a "gpg --version" run.
    struct ContextReturn {
        const PgpKeyring* owner = nullptr;
        void operator()(gpgme_context* ctx) const;
    };
    using PooledContext = std::unique_ptr<gpgme_context, ContextReturn>;

    explicit PgpKeyring(std::filesystem::path home) : home_(std::move(home)) {}
    base::Result<PooledContext> AcquireContext() const;
    base::Result<std::string> Import(std::string_view key_data, bool secret);

    std::filesystem::path home_;
    std::mutex import_mutex_;
    mutable std::mutex idle_mutex_;
    mutable std::vector<gpgme_context*> idle_contexts_;  // owned; at most a few
};

}  // namespace faxd::mail
