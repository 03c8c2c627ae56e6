#include "mail/pgp_keyring.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <gpgme.h>

#include "mail/pgp_raw.hpp"

extern char** environ;

namespace faxd::mail {
namespace {

using base::ErrorCode;
using base::MakeError;
using pgp_raw::Dearmor;
using pgp_raw::DecodeBody;
using pgp_raw::EntityMediaType;
using pgp_raw::FindClearSigned;
using pgp_raw::Lower;
using pgp_raw::MediaType;
using pgp_raw::OnlySignaturePackets;
using pgp_raw::RawEntity;
using pgp_raw::SplitEntity;
using pgp_raw::SplitMultipart;
using pgp_raw::StartsEncryptedMessage;
using pgp_raw::StartsWithNoCase;
using pgp_raw::ToCrlf;
using pgp_raw::TrimBlanks;
using pgp_raw::WithoutContentFields;

// ---- GPGME plumbing -------------------------------------------------------------------------------------

struct ContextRelease {
    void operator()(gpgme_ctx_t ctx) const { gpgme_release(ctx); }
};
using Context = std::unique_ptr<std::remove_pointer_t<gpgme_ctx_t>, ContextRelease>;

struct DataRelease {
    void operator()(gpgme_data_t data) const { gpgme_data_release(data); }
};
using Data = std::unique_ptr<std::remove_pointer_t<gpgme_data_t>, DataRelease>;

struct KeyRelease {
    void operator()(gpgme_key_t key) const { gpgme_key_unref(key); }
};
using Key = std::unique_ptr<std::remove_pointer_t<gpgme_key_t>, KeyRelease>;

std::string GpgErrorText(gpgme_error_t err) {
    char buffer[256] = {};
    gpgme_strerror_r(err, buffer, sizeof buffer);
    return buffer;
}

// gpg or its agent failed (not the input): kIo for system errors, which may pass, kInternal otherwise.
tl::unexpected<base::Error> EngineFailure(std::string_view what, gpgme_error_t err) {
    const ErrorCode code =
        gpgme_err_code_to_errno(gpgme_err_code(err)) != 0 ? ErrorCode::kIo : ErrorCode::kInternal;
    return MakeError(code, "gpg: " + std::string(what) + ": " + GpgErrorText(err));
}

struct GpgmeSetup {
    bool ok = false;
    std::string error;
};

bool VersionAtLeast(const char* version, int major, int minor) {
    int have_major = 0;
    int have_minor = 0;
    if (version == nullptr || std::sscanf(version, "%d.%d", &have_major, &have_minor) != 2) return false;
    return have_major > major || (have_major == major && have_minor >= minor);
}

// gpgme_check_version initialises GPGME (once, thread-safe through the static); faxd needs gpg 2.2 for
// loopback pinentry and listing keys from data.
const GpgmeSetup& EnsureGpgme() {
    static const GpgmeSetup setup = [] {
        GpgmeSetup result;
        if (gpgme_check_version("1.14.0") == nullptr) {
            result.error = "GPGME 1.14 or later is needed";
            return result;
        }
        if (const gpgme_error_t err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP); err != 0) {
            result.error = "gpg is not installed: " + GpgErrorText(err);
            return result;
        }
        gpgme_engine_info_t info = nullptr;
        if (gpgme_get_engine_info(&info) == 0) {
            for (; info != nullptr; info = info->next) {
                if (info->protocol == GPGME_PROTOCOL_OpenPGP && !VersionAtLeast(info->version, 2, 2)) {
                    result.error = std::string("gpg ") + (info->version ? info->version : "?") +
                                   " is too old, 2.2 or later is needed";
                    return result;
                }
            }
        }
        result.ok = true;
        return result;
    }();
    return setup;
}

// Loopback pinentry asks us; we never have a passphrase, so the operation fails instead of waiting.
gpgme_error_t DeclinePassphrase(void*, const char*, const char*, int, int) {
    return gpg_error(GPG_ERR_CANCELED);
}

base::Result<Context> NewContext(const std::filesystem::path& home) {
    gpgme_ctx_t raw = nullptr;
    if (const gpgme_error_t err = gpgme_new(&raw); err != 0) return EngineFailure("gpgme_new", err);
    Context ctx(raw);
    gpgme_error_t err = gpgme_set_protocol(raw, GPGME_PROTOCOL_OpenPGP);
    if (err == 0) err = gpgme_ctx_set_engine_info(raw, GPGME_PROTOCOL_OpenPGP, nullptr, home.c_str());
    if (err == 0) err = gpgme_set_pinentry_mode(raw, GPGME_PINENTRY_MODE_LOOPBACK);
    if (err == 0) err = gpgme_set_ctx_flag(raw, "no-symkey-cache", "1");
    if (err != 0) return EngineFailure("setting up a GPGME context", err);
    gpgme_set_passphrase_cb(raw, DeclinePassphrase, nullptr);
    gpgme_set_offline(raw, 1);
    gpgme_set_armor(raw, 0);
    return ctx;
}

// Input without a copy: the view must outlive the data object.
base::Result<Data> DataFrom(std::string_view bytes) {
    gpgme_data_t raw = nullptr;
    static const char kEmpty[1] = {};
    const gpgme_error_t err =
        gpgme_data_new_from_mem(&raw, bytes.empty() ? kEmpty : bytes.data(), bytes.size(), 0);
    if (err != 0) return EngineFailure("gpgme_data_new_from_mem", err);
    return Data(raw);
}

base::Result<Data> EmptyData() {
    gpgme_data_t raw = nullptr;
    if (const gpgme_error_t err = gpgme_data_new(&raw); err != 0) return EngineFailure("gpgme_data_new", err);
    return Data(raw);
}

// Output with a bound: a compressed message can unpack to far more than its size.
struct Sink {
    std::string bytes;
    std::size_t max = 0;
    bool overflow = false;
};

ssize_t SinkWrite(void* handle, const void* buffer, size_t size) {
    auto* sink = static_cast<Sink*>(handle);
    if (size > sink->max - sink->bytes.size()) {
        sink->overflow = true;
        errno = EFBIG;
        return -1;
    }
    sink->bytes.append(static_cast<const char*>(buffer), size);
    return static_cast<ssize_t>(size);
}

base::Result<Data> SinkData(Sink& sink) {
    static gpgme_data_cbs callbacks = {nullptr, SinkWrite, nullptr, nullptr};  // GPGME takes it non-const
    gpgme_data_t raw = nullptr;
    if (const gpgme_error_t err = gpgme_data_new_from_cbs(&raw, &callbacks, &sink); err != 0) {
        return EngineFailure("gpgme_data_new_from_cbs", err);
    }
    return Data(raw);
}

std::string DataBytes(gpgme_data_t data) {
    std::string out;
    gpgme_data_seek(data, 0, SEEK_SET);
    char buffer[4096];
    for (;;) {
        const ssize_t n = gpgme_data_read(data, buffer, sizeof buffer);
        if (n <= 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

// ---- Signatures -----------------------------------------------------------------------------------------

// The key with this fingerprint (primary or subkey) from the keyring; nullptr when it is not there.
base::Result<Key> FindKey(gpgme_ctx_t ctx, const std::string& fingerprint, bool secret) {
    if (const gpgme_error_t err = gpgme_op_keylist_start(ctx, fingerprint.c_str(), secret ? 1 : 0);
        err != 0) {
        return EngineFailure("listing keys", err);
    }
    gpgme_key_t raw = nullptr;
    const gpgme_error_t err = gpgme_op_keylist_next(ctx, &raw);
    Key key(raw);
    gpgme_op_keylist_end(ctx);
    if (err != 0 && gpgme_err_code(err) != GPG_ERR_EOF) return EngineFailure("listing keys", err);
    if (key && (key->subkeys == nullptr || key->subkeys->fpr == nullptr)) key.reset();
    return key;
}

struct SignatureFacts {
    std::string
        fpr;  // as gpg reported it: primary or subkey fingerprint, or a key id when the key is unknown
    gpgme_error_t status = 0;
    unsigned int summary = 0;
    unsigned long timestamp = 0;
    bool wrong_key_usage = false;
};

std::vector<SignatureFacts> CollectSignatures(gpgme_verify_result_t result) {
    std::vector<SignatureFacts> out;
    if (result == nullptr) return out;
    for (gpgme_signature_t sig = result->signatures; sig != nullptr; sig = sig->next) {
        out.push_back({sig->fpr != nullptr ? sig->fpr : "", sig->status,
                       static_cast<unsigned int>(sig->summary), sig->timestamp, sig->wrong_key_usage != 0});
    }
    return out;
}

struct Signer {
    std::string fingerprint;
    std::int64_t signed_at = 0;
};

tl::unexpected<base::Error> Rejected(std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// Why one signature is not acceptable, or nothing when it is good.
std::optional<std::string> SignatureProblem(const SignatureFacts& sig) {
    const std::string who = sig.fpr.empty() ? std::string("an unnamed key") : sig.fpr;
    switch (gpgme_err_code(sig.status)) {
        case GPG_ERR_NO_ERROR:
            break;
        case GPG_ERR_BAD_SIGNATURE:
            return "bad signature: the signed content was changed or the signature does not belong to it";
        case GPG_ERR_NO_PUBKEY:
            return "signature by unknown key " + who;
        case GPG_ERR_KEY_EXPIRED:
            return "key expired: " + who;
        case GPG_ERR_CERT_REVOKED:
            return "key revoked: " + who;
        case GPG_ERR_SIG_EXPIRED:
            return "signature expired (key " + who + ")";
        default:
            return "bad signature: cannot be checked (" + GpgErrorText(sig.status) + ")";
    }
    if ((sig.summary & GPGME_SIGSUM_KEY_REVOKED) != 0) return "key revoked: " + who;
    if ((sig.summary & GPGME_SIGSUM_KEY_EXPIRED) != 0) return "key expired: " + who;
    if ((sig.summary & GPGME_SIGSUM_SIG_EXPIRED) != 0) return "signature expired (key " + who + ")";
    if ((sig.summary & GPGME_SIGSUM_RED) != 0) return "bad signature";
    if (sig.wrong_key_usage) return "signing key not usable for signatures: " + who;
    return std::nullopt;
}

// Any bad signature fails; otherwise the first good one names the signer by its primary key.
base::Result<Signer> JudgeSignatures(gpgme_ctx_t ctx, const std::vector<SignatureFacts>& signatures) {
    if (signatures.empty()) return Rejected("bad signature: no OpenPGP signature found");
    for (const SignatureFacts& sig : signatures) {
        if (gpgme_err_code(sig.status) == GPG_ERR_BAD_SIGNATURE) return Rejected(*SignatureProblem(sig));
    }
    std::optional<std::string> first_problem;
    for (const SignatureFacts& sig : signatures) {
        if (auto problem = SignatureProblem(sig)) {
            if (!first_problem) first_problem = std::move(problem);
            continue;
        }
        auto key = FindKey(ctx, sig.fpr, false);
        if (!key) return tl::unexpected(key.error());
        if (!*key) return Rejected("signature by unknown key " + sig.fpr);
        const std::string primary = (*key)->subkeys->fpr;
        if ((*key)->revoked) return Rejected("key revoked: " + primary);
        if ((*key)->expired) return Rejected("key expired: " + primary);
        if ((*key)->disabled || (*key)->invalid) return Rejected("signing key not usable: " + primary);
        return Signer{primary, static_cast<std::int64_t>(sig.timestamp)};
    }
    return Rejected(*first_problem);
}

tl::unexpected<base::Error> NotSigned(std::string detail) {
    return MakeError(ErrorCode::kNotFound, detail.empty() ? "not signed" : "not signed: " + detail);
}

// gpgconf --homedir HOME --kill all, its output discarded.
void KillAgent(const std::filesystem::path& home) {
    const char* gpgconf = gpgme_get_dirinfo("gpgconf-name");
    if (gpgconf == nullptr) return;
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) return;
    for (const int fd : {0, 1, 2}) {
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    std::vector<std::string> args = {gpgconf, "--homedir", home.string(), "--kill", "all"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, gpgconf, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

// Writes `name` in the home unless the administrator already put one there.
base::Result<void> WriteDefault(const std::filesystem::path& path, std::string_view text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return {};
        return base::ErrnoError("cannot create " + path.string(), errno);
    }
    const ssize_t written = ::write(fd, text.data(), text.size());
    const int write_errno = errno;
    ::close(fd);
    if (written != static_cast<ssize_t>(text.size())) {
        return base::ErrnoError("cannot write " + path.string(), written < 0 ? write_errno : EIO);
    }
    return {};
}

constexpr std::string_view kGpgConf =
    "# Written by faxd. A key in this keyring was imported by an administrator for a user: that is the\n"
    "# trust decision, so faxd ignores the web of trust and gpg need not keep its trustdb current.\n"
    "# (\"trust-model always\" would do too, but then gpg cannot list an expired key before a trustdb "
    "exists.)\n"
    "no-auto-check-trustdb\n"
    "no-auto-key-retrieve\n";

constexpr std::string_view kAgentConf =
    "# Written by faxd: nobody is there to type a passphrase; faxd's keys have none.\n"
    "pinentry-program /bin/false\n"
    "allow-loopback-pinentry\n";

}  // namespace

// ---- PgpKeyring -----------------------------------------------------------------------------------------

base::Result<std::unique_ptr<PgpKeyring>> PgpKeyring::Open(const std::filesystem::path& home) {
    if (const GpgmeSetup& setup = EnsureGpgme(); !setup.ok)
        return MakeError(ErrorCode::kUnsupported, setup.error);
    if (home.empty()) return MakeError(ErrorCode::kInvalidArgument, "pgp: no keyring directory given");
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(home, ec).lexically_normal();
    if (ec) return MakeError(ErrorCode::kIo, "pgp: " + home.string() + ": " + ec.message());
    // gpg-agent's longest socket name in the home, when /run/user/<uid> does not take the sockets.
    const std::filesystem::path run_dir = "/run/user/" + std::to_string(::getuid());
    constexpr std::size_t kLongestSocket = sizeof("/S.gpg-agent.browser") - 1;
    if (!std::filesystem::is_directory(run_dir, ec) &&
        absolute.native().size() + kLongestSocket >= sizeof(sockaddr_un{}.sun_path)) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "pgp: keyring directory path too long for gpg-agent's sockets: " + absolute.string());
    }
    std::filesystem::create_directories(absolute, ec);
    if (ec) return MakeError(ErrorCode::kIo, "pgp: cannot create " + absolute.string() + ": " + ec.message());
    struct stat info {};
    if (::stat(absolute.c_str(), &info) != 0) return base::ErrnoError("pgp: " + absolute.string(), errno);
    if (!S_ISDIR(info.st_mode)) {
        return MakeError(ErrorCode::kInvalidArgument, "pgp: not a directory: " + absolute.string());
    }
    if ((info.st_mode & 0077) != 0 && ::chmod(absolute.c_str(), 0700) != 0) {
        return base::ErrnoError("pgp: cannot restrict " + absolute.string() + " to its owner", errno);
    }
    if (auto written = WriteDefault(absolute / "gpg.conf", kGpgConf); !written) {
        return tl::unexpected(written.error());
    }
    if (auto written = WriteDefault(absolute / "gpg-agent.conf", kAgentConf); !written) {
        return tl::unexpected(written.error());
    }
    return std::unique_ptr<PgpKeyring>(new PgpKeyring(absolute));
}

PgpKeyring::~PgpKeyring() {
    for (gpgme_ctx_t ctx : idle_contexts_) gpgme_release(ctx);
    KillAgent(home_);
}

void PgpKeyring::ContextReturn::operator()(gpgme_context* ctx) const {
    if (ctx == nullptr) return;
    constexpr std::size_t kMaxIdle = 8;
    {
        std::lock_guard lock(owner->idle_mutex_);
        if (owner->idle_contexts_.size() < kMaxIdle) {
            owner->idle_contexts_.push_back(ctx);
            return;
        }
    }
    gpgme_release(ctx);
}

base::Result<PgpKeyring::PooledContext> PgpKeyring::AcquireContext() const {
    {
        std::lock_guard lock(idle_mutex_);
        if (!idle_contexts_.empty()) {
            gpgme_ctx_t ctx = idle_contexts_.back();
            idle_contexts_.pop_back();
            return PooledContext(ctx, ContextReturn{this});
        }
    }
    auto ctx = NewContext(home_);
    if (!ctx) return tl::unexpected(ctx.error());
    return PooledContext(ctx->release(), ContextReturn{this});
}

base::Result<std::string> PgpKeyring::ImportPublicKey(std::string_view key_data) {
    return Import(key_data, false);
}

base::Result<std::string> PgpKeyring::ImportSecretKey(std::string_view key_data) {
    return Import(key_data, true);
}

base::Result<std::string> PgpKeyring::Import(std::string_view key_data, bool secret) {
    const char* what = secret ? "secret key" : "public key";
    auto ctx = AcquireContext();
    if (!ctx) return tl::unexpected(ctx.error());
    auto data = DataFrom(key_data);
    if (!data) return tl::unexpected(data.error());

    // Look before importing: exactly one key, of the expected kind.
    struct Listed {
        std::string fpr;
        bool secret = false;
    };
    std::vector<Listed> listed;
    if (gpgme_error_t err = gpgme_op_keylist_from_data_start(ctx->get(), data->get(), 0); err == 0) {
        for (;;) {
            gpgme_key_t raw = nullptr;
            err = gpgme_op_keylist_next(ctx->get(), &raw);
            if (err != 0) break;
            Key key(raw);
            if (key->subkeys != nullptr && key->subkeys->fpr != nullptr) {
                listed.push_back({key->subkeys->fpr, key->secret != 0 || key->subkeys->secret != 0});
            }
        }
        gpgme_op_keylist_end(ctx->get());
        if (gpgme_err_code(err) != GPG_ERR_EOF && listed.empty()) {
            return Rejected(std::string("no OpenPGP ") + what + " in the data: " + GpgErrorText(err));
        }
    } else {
        return EngineFailure("listing the keys to import", err);
    }
    if (listed.empty()) return Rejected(std::string("no OpenPGP ") + what + " in the data");
    if (listed.size() > 1) {
        return Rejected(std::to_string(listed.size()) + " keys in the data; import one " + what +
                        " at a time");
    }
    const std::string fpr = listed.front().fpr;
    if (!secret && listed.front().secret) {
        return Rejected("this is a secret key; import only the user's public key (gpg --export --armor)");
    }
    if (secret && !listed.front().secret) return Rejected("no secret key in the data, only a public key");

    std::lock_guard lock(import_mutex_);
    gpgme_data_seek(data->get(), 0, SEEK_SET);
    if (const gpgme_error_t err = gpgme_op_import(ctx->get(), data->get()); err != 0) {
        return EngineFailure(std::string("importing the ") + what, err);
    }
    gpgme_import_result_t result = gpgme_op_import_result(ctx->get());
    bool seen = false;
    bool secret_new = false;
    for (gpgme_import_status_t status = result != nullptr ? result->imports : nullptr; status != nullptr;
         status = status->next) {
        if (status->fpr == nullptr || fpr != status->fpr) continue;
        if (status->result != 0) {
            return Rejected(std::string("the ") + what +
                            " was not imported: " + GpgErrorText(status->result));
        }
        seen = true;
        if ((status->status & GPGME_IMPORT_SECRET) != 0 && (status->status & GPGME_IMPORT_NEW) != 0) {
            secret_new = true;
        }
    }
    if (!seen) return Rejected(std::string("the ") + what + " was not imported (gpg skipped it)");
    if (!secret) return fpr;
    if (result->secret_imported == 0 && result->secret_unchanged == 0) {
        return Rejected("the secret key was not imported");
    }

    // Prove faxd can decrypt with it, with no passphrase: encrypt a probe to it and decrypt.
    auto found = FindKey(ctx->get(), fpr, true);
    if (!found) return tl::unexpected(found.error());
    if (!*found) return Rejected("the secret key was not imported");
    Key key = std::move(*found);
    std::optional<std::string> problem;
    bool can_encrypt = false;
    for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
        can_encrypt = can_encrypt || (sub->can_encrypt && sub->secret && !sub->revoked && !sub->expired &&
                                      !sub->disabled && !sub->invalid);
    }
    if (!can_encrypt) problem = "the secret key has no usable encryption subkey";
    if (!problem) {
        static constexpr std::string_view kProbe = "faxd key check";
        auto plain = DataFrom(kProbe);
        auto cipher = EmptyData();
        if (!plain || !cipher) return tl::unexpected(!plain ? plain.error() : cipher.error());
        gpgme_key_t recipients[] = {key.get(), nullptr};
        gpgme_error_t err =
            gpgme_op_encrypt(ctx->get(), recipients, GPGME_ENCRYPT_ALWAYS_TRUST, plain->get(), cipher->get());
        if (err != 0) return EngineFailure("encrypting to the imported key", err);
        gpgme_data_seek(cipher->get(), 0, SEEK_SET);
        auto decrypted = EmptyData();
        if (!decrypted) return tl::unexpected(decrypted.error());
        err = gpgme_op_decrypt(ctx->get(), cipher->get(), decrypted->get());
        if (err != 0) {
            problem = "faxd cannot decrypt with the secret key (" + GpgErrorText(err) +
                      "); it must have no passphrase (remove it with gpg --change-passphrase)";
        } else if (DataBytes(decrypted->get()) != kProbe) {
            problem = "decrypting with the secret key gave wrong data";
        }
    }
    if (!problem) return fpr;
    if (secret_new) {
        // Leave the keyring as it was: a key faxd cannot use must not look imported.
        gpgme_op_delete_ext(ctx->get(), key.get(), GPGME_DELETE_ALLOW_SECRET | GPGME_DELETE_FORCE);
    }
    return Rejected(*problem);
}

base::Result<VerifiedMail> PgpKeyring::VerifySignedMail(std::string_view raw_message) const {
    const RawEntity message = SplitEntity(raw_message);
    const MediaType media = EntityMediaType(message);
    VerifiedMail verified;
    std::string signature;
    std::string signed_text;
    if (media.type == "multipart" && media.subtype == "signed") {
        if (media.protocol != "application/pgp-signature") {
            return NotSigned("multipart/signed with protocol \"" + media.protocol +
                             "\" is not OpenPGP (S/MIME signatures are not supported)");
        }
        if (media.boundary.empty()) return Rejected("bad signature: multipart/signed without a boundary");
        auto parts = SplitMultipart(message.body, media.boundary, 3);
        if (!parts || parts->size() != 2) {
            return Rejected(
                "bad signature: multipart/signed must have two parts, the content and the signature");
        }
        const RawEntity signature_part = SplitEntity((*parts)[1]);
        const MediaType signature_type = EntityMediaType(signature_part);
        if (signature_type.type != "application" || signature_type.subtype != "pgp-signature") {
            return Rejected("bad signature: the second part is " + signature_type.type + "/" +
                            signature_type.subtype + ", not application/pgp-signature");
        }
        const std::string decoded = DecodeBody(signature_part);
        // Feed gpg the very packets checked here, never the armored text, which could hold more blocks.
        std::optional<std::string> packets = Dearmor(decoded, "SIGNATURE");
        if (!packets && decoded.find("-----BEGIN PGP") == std::string::npos) packets = decoded;
        if (!packets || !OnlySignaturePackets(*packets)) {
            return Rejected("bad signature: the signature part holds no detached OpenPGP signature");
        }
        signature = std::move(*packets);
        verified.kind = VerifiedMail::Kind::kPgpMime;
        verified.signed_content = ToCrlf((*parts)[0]);
    } else if (media.type == "multipart" && media.subtype == "encrypted") {
        return NotSigned("the message is PGP/MIME encrypted; decrypt it first");
    } else {
        auto search = FindClearSigned(raw_message);
        if (!search) return tl::unexpected(search.error());
        if (!search->found) {
            return NotSigned(search->nested_signed ? "the PGP/MIME signature covers only part of the message "
                                                     "(it must be the whole body)"
                                                   : "");
        }
        if (!search->found->complete) {
            return Rejected("bad signature: the clear-signed text has no signature block");
        }
        signature = std::move(search->found->block);
        verified.kind = VerifiedMail::Kind::kInline;
        verified.charset = std::move(search->found->charset);
    }

    auto ctx = AcquireContext();
    if (!ctx) return tl::unexpected(ctx.error());
    auto signature_data = DataFrom(signature);
    if (!signature_data) return tl::unexpected(signature_data.error());
    gpgme_error_t err = 0;
    Sink plain{{}, signature.size() + 1024, false};
    if (verified.kind == VerifiedMail::Kind::kPgpMime) {
        auto signed_data = DataFrom(verified.signed_content);
        if (!signed_data) return tl::unexpected(signed_data.error());
        err = gpgme_op_verify(ctx->get(), signature_data->get(), signed_data->get(), nullptr);
    } else {
        auto plain_data = SinkData(plain);
        if (!plain_data) return tl::unexpected(plain_data.error());
        err = gpgme_op_verify(ctx->get(), signature_data->get(), nullptr, plain_data->get());
    }
    const std::vector<SignatureFacts> signatures = CollectSignatures(gpgme_op_verify_result(ctx->get()));
    if (err != 0) {
        const auto code = gpgme_err_code(err);
        if (signatures.empty() && (code == GPG_ERR_NO_DATA || code == GPG_ERR_BAD_DATA ||
                                   code == GPG_ERR_INV_PACKET || code == GPG_ERR_BAD_SIGNATURE)) {
            return Rejected("bad signature: " + GpgErrorText(err));
        }
        if (signatures.empty()) return EngineFailure("verifying the signature", err);
    }
    auto signer = JudgeSignatures(ctx->get(), signatures);
    if (!signer) return tl::unexpected(signer.error());
    verified.fingerprint = std::move(signer->fingerprint);
    verified.signed_at = signer->signed_at;
    if (verified.kind == VerifiedMail::Kind::kInline) verified.signed_content = std::move(plain.bytes);
    return verified;
}

base::Result<DecryptedData> PgpKeyring::Decrypt(std::string_view encrypted, std::size_t max_bytes) const {
    if (TrimBlanks(encrypted).empty()) return Rejected("not OpenPGP-encrypted data (empty)");
    auto ctx = AcquireContext();
    if (!ctx) return tl::unexpected(ctx.error());
    auto input = DataFrom(encrypted);
    if (!input) return tl::unexpected(input.error());
    Sink sink{{}, max_bytes, false};
    auto output = SinkData(sink);
    if (!output) return tl::unexpected(output.error());
    const gpgme_error_t err = gpgme_op_decrypt_verify(ctx->get(), input->get(), output->get());
    if (sink.overflow) {
        return MakeError(ErrorCode::kLimitExceeded,
                         "decrypted data larger than " + std::to_string(max_bytes) + " bytes");
    }
    gpgme_decrypt_result_t result = gpgme_op_decrypt_result(ctx->get());
    std::string recipients;
    bool encrypted_to_key = false;
    for (gpgme_recipient_t r = result != nullptr ? result->recipients : nullptr; r != nullptr; r = r->next) {
        encrypted_to_key = true;
        if (!recipients.empty()) recipients += ", ";
        recipients += r->keyid != nullptr ? r->keyid : "?";
    }
    if (result != nullptr && result->legacy_cipher_nomdc) {
        return Rejected("not integrity-protected: the encryption lacks a modification detection code");
    }
    if (err != 0) {
        switch (gpgme_err_code(err)) {
            case GPG_ERR_NO_SECKEY:
                return Rejected("not encrypted to faxd's key (encrypted to " +
                                (recipients.empty() ? std::string("unknown keys") : recipients) + ")");
            case GPG_ERR_NO_DATA:
            case GPG_ERR_INV_PACKET:
            case GPG_ERR_BAD_DATA:
            case GPG_ERR_INV_ARMOR:
            case GPG_ERR_UNKNOWN_PACKET:
                return Rejected("not OpenPGP-encrypted data (" + GpgErrorText(err) + ")");
            case GPG_ERR_CANCELED:
            case GPG_ERR_NO_PASSPHRASE:
            case GPG_ERR_BAD_PASSPHRASE:
                return Rejected(encrypted_to_key ? "cannot decrypt: faxd's secret key needs a passphrase"
                                                 : "encrypted with a passphrase, not to faxd's key");
            case GPG_ERR_DECRYPT_FAILED:
                if (encrypted_to_key) {
                    bool any_usable = false;
                    for (gpgme_recipient_t r = result->recipients; r != nullptr; r = r->next) {
                        any_usable = any_usable || gpgme_err_code(r->status) != GPG_ERR_NO_SECKEY;
                    }
                    if (!any_usable)
                        return Rejected("not encrypted to faxd's key (encrypted to " + recipients + ")");
                }
                return Rejected("decryption failed: the data is damaged or not encrypted to faxd's key");
            default:
                if (gpgme_err_code_to_errno(gpgme_err_code(err)) != 0)
                    return EngineFailure("decrypting", err);
                return Rejected("decryption failed: " + GpgErrorText(err));
        }
    }
    if (!encrypted_to_key) {
        return Rejected("not encrypted to faxd's key (no public-key encryption)");
    }
    DecryptedData out;
    out.data = std::move(sink.bytes);
    if (result->file_name != nullptr) out.file_name = result->file_name;
    const std::vector<SignatureFacts> signatures = CollectSignatures(gpgme_op_verify_result(ctx->get()));
    if (!signatures.empty()) {
        auto signer = JudgeSignatures(ctx->get(), signatures);
        if (signer) {
            out.signer_fingerprint = std::move(signer->fingerprint);
        } else if (signer.error().code == ErrorCode::kInvalidArgument) {
            out.signature_problem = signer.error().message;
        } else {
            return tl::unexpected(signer.error());
        }
    }
    return out;
}

base::Result<DecryptedMail> PgpKeyring::DecryptMail(std::string_view raw_message,
                                                    std::size_t max_bytes) const {
    const RawEntity message = SplitEntity(raw_message);
    const MediaType media = EntityMediaType(message);
    if (media.type != "multipart" || media.subtype != "encrypted")
        return MakeError(ErrorCode::kNotFound, "not encrypted");
    if (media.protocol != "application/pgp-encrypted") {
        return MakeError(ErrorCode::kNotFound,
                         "not encrypted with OpenPGP (protocol \"" + media.protocol + "\")");
    }
    auto parts = SplitMultipart(message.body, media.boundary, 3);
    if (!parts || parts->size() != 2) {
        return Rejected("not OpenPGP-encrypted data: multipart/encrypted must have two parts");
    }
    auto decrypted = Decrypt(DecodeBody(SplitEntity((*parts)[1])), max_bytes);
    if (!decrypted) return tl::unexpected(decrypted.error());

    DecryptedMail out;
    // The outer fields, but the entity's own Content-* fields replace the outer ones.
    out.message = WithoutContentFields(message.headers);
    out.message += decrypted->data;
    out.signer_fingerprint = std::move(decrypted->signer_fingerprint);
    out.signature_problem = std::move(decrypted->signature_problem);
    return out;
}

bool PgpKeyring::LooksEncrypted(std::string_view data, std::string_view content_type,
                                std::string_view file_name) {
    std::string_view text = data;
    while (!text.empty() &&
           (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' || text.front() == '\n')) {
        text.remove_prefix(1);
    }
    if (text.substr(0, 27) == "-----BEGIN PGP MESSAGE-----") return true;
    if (text.substr(0, 15) == "-----BEGIN PGP ") return false;  // a signature, a key, clear-signed text
    if (StartsEncryptedMessage(data)) return true;
    std::string type = Lower(TrimBlanks(content_type.substr(0, content_type.find(';'))));
    if (type == "application/pgp-encrypted") return !StartsWithNoCase(text, "Version:");
    const std::string name = Lower(TrimBlanks(file_name));
    for (const std::string_view suffix : {".pgp", ".gpg", ".asc"}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace faxd::mail
