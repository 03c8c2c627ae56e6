#include "mail/pgp_keyring.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "process.hpp"

namespace faxd::mail {
namespace {

namespace fs = std::filesystem;
using base::ErrorCode;

std::string StartOf(const std::string& text, std::size_t size) { return text.substr(0, size); }

// The senders' side: a GnuPG home of its own, driven by the gpg command line (the independent
// implementation), where the test makes keys, signatures and ciphertexts.
class PgpKeyringTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/fxpgp-XXXXXX";  // short: gpg-agent's socket paths must fit 108 bytes
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        users_ = dir_ / "u";
        fs::create_directory(users_);
        fs::permissions(users_, fs::perms::owner_all, fs::perm_options::replace);
        // The fewest passphrase hash rounds: protecting a key must not take seconds on a busy machine.
        std::ofstream(users_ / "gpg-agent.conf") << "s2k-count 65536\n";
        // GPGME must never use the real ~/.gnupg: point HOME elsewhere and check nothing appears there.
        fs::create_directory(dir_ / "home");
        ::setenv("HOME", (dir_ / "home").c_str(), 1);
        auto keyring = PgpKeyring::Open(dir_ / "k");
        ASSERT_TRUE(keyring.has_value()) << keyring.error().ToString();
        keyring_ = std::move(*keyring);
    }

    void TearDown() override {
        keyring_.reset();
        Run({"/usr/bin/gpgconf", "--homedir", users_.string(), "--kill", "all"});
        EXPECT_FALSE(fs::exists(dir_ / "home" / ".gnupg"));
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    testing::RunResult Run(const std::vector<std::string>& argv) {
        return testing::RunProgram(argv, std::chrono::seconds(60), dir_ / "gpg.log");
    }

    // gpg in the senders' home; its stdout, and a test failure when it fails.
    std::string Gpg(std::vector<std::string> args) {
        std::vector<std::string> argv = {"/usr/bin/gpg", "--batch",       "--no-tty",
                                         "--homedir",    users_.string(), "--pinentry-mode",
                                         "loopback",     "--trust-model", "always"};
        bool has_passphrase = false;
        for (const auto& arg : args) has_passphrase = has_passphrase || arg == "--passphrase";
        if (!has_passphrase) argv.insert(argv.end(), {"--passphrase", ""});
        argv.insert(argv.end(), args.begin(), args.end());
        const testing::RunResult result = Run(argv);
        EXPECT_EQ(result.status, 0) << "gpg " << args.front() << " failed:\n"
                                    << testing::ReadFile(dir_ / "gpg.log");
        return result.out;
    }

    std::string GenerateKey(const std::string& uid, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args = extra;
        args.insert(args.end(), {"--quick-gen-key", uid, "ed25519", "sign", "1d"});
        Gpg(args);
        return Fingerprint(uid);
    }

    std::string Fingerprint(const std::string& uid) {
        const std::string listing = Gpg({"--with-colons", "--list-keys", "=" + uid});
        const std::size_t fpr = listing.find("\nfpr:");
        EXPECT_NE(fpr, std::string::npos) << listing;
        if (fpr == std::string::npos) return "";
        const std::size_t start = listing.find_first_not_of(':', fpr + 5);
        return listing.substr(start, 40);
    }

    // Anna's key, imported into faxd's keyring.
    const std::string& Anna() {
        if (anna_.empty()) {
            anna_ = GenerateKey("Anna <anna@example.test>");
            auto imported = keyring_->ImportPublicKey(Gpg({"--armor", "--export", anna_}));
            EXPECT_TRUE(imported.has_value()) << imported.error().ToString();
        }
        return anna_;
    }

    // Bob's key, which faxd does not know.
    const std::string& Bob() {
        if (bob_.empty()) bob_ = GenerateKey("Bob <bob@example.test>");
        return bob_;
    }

    // faxd's own key: signing primary and a cv25519 encryption subkey, secret part imported into faxd.
    const std::string& Faxd() {
        if (faxd_.empty()) {
            faxd_ = GenerateKey("faxd <fax@example.test>");
            Gpg({"--quick-add-key", faxd_, "cv25519", "encr", "1d"});
            auto imported = keyring_->ImportSecretKey(Gpg({"--armor", "--export-secret-keys", faxd_}));
            EXPECT_TRUE(imported.has_value()) << imported.error().ToString();
        }
        return faxd_;
    }

    fs::path Write(const std::string& name, const std::string& bytes) {
        const fs::path path = dir_ / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    std::string DetachSign(const std::string& signer, const std::string& bytes) {
        const fs::path in = Write("to-sign", bytes);
        fs::remove(dir_ / "to-sign.asc");
        Gpg({"--local-user", signer, "--armor", "--detach-sign", in.string()});
        return testing::ReadFile(dir_ / "to-sign.asc");
    }

    std::string ClearSign(const std::string& signer, const std::string& text) {
        const fs::path in = Write("to-clearsign", text);
        return Gpg({"--local-user", signer, "--output", "-", "--clearsign", in.string()});
    }

    std::string Encrypt(const std::string& recipient, const std::string& bytes,
                        std::vector<std::string> extra = {}) {
        const fs::path in = Write("to-encrypt", bytes);
        std::vector<std::string> args = {"--recipient", recipient, "--output", "-"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.insert(args.end(), {"--encrypt", in.string()});
        return Gpg(args);
    }

    fs::path dir_;
    fs::path users_;
    std::unique_ptr<PgpKeyring> keyring_;
    std::string anna_;
    std::string bob_;
    std::string faxd_;
};

// The first part of a PGP/MIME mail: a text and a PDF attachment, CRLF as sent.
const std::string kSignedPart =
    "Content-Type: multipart/mixed; boundary=\"inner-7\"\r\n"
    "\r\n"
    "--inner-7\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Please fax the offer to M=C3=BCller.  \r\n"
    "--inner-7\r\n"
    "Content-Type: application/pdf; name=\"offer.pdf\"\r\n"
    "Content-Disposition: attachment; filename=\"offer.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKJSVFT0YK\r\n"
    "--inner-7--\r\n";

std::string PgpMimeMail(const std::string& signed_part, const std::string& signature,
                        const std::string& signature_headers = "") {
    return "From: Anna <anna@example.test>\r\n"
           "To: 4930123456@fax.example.test\r\n"
           "Subject: Offer\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
           " protocol=\"application/pgp-signature\"; boundary=\"outer-3\"\r\n"
           "\r\n"
           "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
           "--outer-3\r\n" +
           signed_part +
           "\r\n--outer-3\r\n"
           "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
           "Content-Description: OpenPGP digital signature\r\n"
           "Content-Disposition: attachment; filename=\"signature.asc\"\r\n" +
           signature_headers + "\r\n" + signature + "\r\n--outer-3--\r\n";
}

std::string ToLf(std::string text) {
    std::string out;
    for (const char c : text) {
        if (c != '\r') out.push_back(c);
    }
    return out;
}

std::string TextMail(const std::string& body,
                     const std::string& headers = "Content-Type: text/plain; charset=utf-8\r\n") {
    return "From: Anna <anna@example.test>\r\nTo: 4930123456@fax.example.test\r\nSubject: "
           "Fax\r\nMIME-Version: 1.0\r\n" +
           headers + "\r\n" + body;
}

// Bytes like a PDF with every byte value, line ends of both kinds and NULs: nothing may be converted.
std::string BinaryDocument() {
    std::string bytes = "%PDF-1.4\r\n%\xE2\xE3\xCF\xD3\n";
    for (int round = 0; round < 40; ++round) {
        for (int value = 0; value < 256; ++value) bytes.push_back(static_cast<char>(value));
    }
    bytes += "\n%%EOF\r\n";
    return bytes;
}

std::string Base64(const std::string& bytes) {
    static const char* const kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        unsigned value = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) value |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        if (i + 2 < bytes.size()) value |= static_cast<unsigned char>(bytes[i + 2]);
        out.push_back(kAlphabet[(value >> 18) & 63]);
        out.push_back(kAlphabet[(value >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? kAlphabet[(value >> 6) & 63] : '=');
        out.push_back(i + 2 < bytes.size() ? kAlphabet[value & 63] : '=');
        if (++line == 19) {
            out += "\r\n";
            line = 0;
        }
    }
    return out;
}

// ---- Keys -----------------------------------------------------------------------------------------------

TEST_F(PgpKeyringTest, OpenCreatesAPrivateHomeAndTheDestructorStopsTheAgent) {
    struct stat info {};
    ASSERT_EQ(::stat((dir_ / "k").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::exists(dir_ / "k" / "gpg-agent.conf"));
    Anna();
    Faxd();  // importing a secret key starts gpg-agent in faxd's home
    const bool agent_socket =
        fs::exists(dir_ / "k" / "S.gpg-agent") || fs::exists("/run/user/" + std::to_string(::getuid()));
    EXPECT_TRUE(agent_socket);
    keyring_.reset();
    EXPECT_FALSE(fs::exists(dir_ / "k" / "S.gpg-agent"));

    // Reopening keeps the keys; a looser mode is tightened.
    fs::permissions(dir_ / "k", fs::perms::group_read | fs::perms::group_exec, fs::perm_options::add);
    auto reopened = PgpKeyring::Open(dir_ / "k");
    ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
    ASSERT_EQ(::stat((dir_ / "k").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);
    keyring_ = std::move(*reopened);
    const std::string signature = DetachSign(Anna(), kSignedPart);
    auto verified = keyring_->VerifySignedMail(PgpMimeMail(kSignedPart, signature));
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
}

TEST_F(PgpKeyringTest, OpenRefusesPathsTooLongForTheAgentSockets) {
    if (fs::is_directory("/run/user/" + std::to_string(::getuid())))
        GTEST_SKIP() << "sockets go to /run/user";
    auto keyring = PgpKeyring::Open(dir_ / std::string(100, 'x'));
    ASSERT_FALSE(keyring.has_value());
    EXPECT_EQ(keyring.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(keyring.error().message.find("too long"), std::string::npos);
}

TEST_F(PgpKeyringTest, ImportPublicKeyReturnsThePrimaryFingerprint) {
    const std::string anna = GenerateKey("Anna <anna@example.test>");
    const std::string armored = Gpg({"--armor", "--export", anna});
    auto imported = keyring_->ImportPublicKey(armored);
    ASSERT_TRUE(imported.has_value()) << imported.error().ToString();
    EXPECT_EQ(*imported, anna);
    EXPECT_EQ(imported->size(), 40u);
    EXPECT_EQ(imported->find_first_not_of("0123456789ABCDEF"), std::string::npos);

    auto again = keyring_->ImportPublicKey(armored);  // unchanged: still fine
    ASSERT_TRUE(again.has_value()) << again.error().ToString();
    EXPECT_EQ(*again, anna);

    auto binary = keyring_->ImportPublicKey(Gpg({"--export", anna}));
    ASSERT_TRUE(binary.has_value()) << binary.error().ToString();
    EXPECT_EQ(*binary, anna);
}

TEST_F(PgpKeyringTest, ImportPublicKeyRefusesNoKeySeveralKeysAndSecretKeys) {
    for (const std::string& garbage :
         {std::string(), std::string("hello"), std::string("\x99\x01\x02", 3),
          std::string("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP "
                      "PUBLIC KEY BLOCK-----\n")}) {
        auto imported = keyring_->ImportPublicKey(garbage);
        ASSERT_FALSE(imported.has_value());
        EXPECT_EQ(imported.error().code, ErrorCode::kInvalidArgument) << imported.error().ToString();
    }
    const std::string anna = GenerateKey("Anna <anna@example.test>");
    const std::string bob = Bob();
    auto both = keyring_->ImportPublicKey(Gpg({"--armor", "--export", anna, bob}));
    ASSERT_FALSE(both.has_value());
    EXPECT_NE(both.error().message.find("2 keys"), std::string::npos) << both.error().message;

    auto secret = keyring_->ImportPublicKey(Gpg({"--armor", "--export-secret-keys", anna}));
    ASSERT_FALSE(secret.has_value());
    EXPECT_NE(secret.error().message.find("secret key"), std::string::npos) << secret.error().message;

    // None of it reached the keyring: a signature by Anna is by an unknown key.
    auto verified = keyring_->VerifySignedMail(PgpMimeMail(kSignedPart, DetachSign(anna, kSignedPart)));
    ASSERT_FALSE(verified.has_value());
    EXPECT_EQ(StartOf(verified.error().message, 24), "signature by unknown key");
}

TEST_F(PgpKeyringTest, ImportSecretKeyRefusesPublicKeysSignOnlyKeysAndPassphrases) {
    const std::string anna = GenerateKey("Anna <anna@example.test>");
    auto public_only = keyring_->ImportSecretKey(Gpg({"--armor", "--export", anna}));
    ASSERT_FALSE(public_only.has_value());
    EXPECT_NE(public_only.error().message.find("no secret key"), std::string::npos);

    auto sign_only = keyring_->ImportSecretKey(Gpg({"--armor", "--export-secret-keys", anna}));
    ASSERT_FALSE(sign_only.has_value());
    EXPECT_NE(sign_only.error().message.find("no usable encryption subkey"), std::string::npos)
        << sign_only.error().message;

    const std::string locked = GenerateKey("Locked <locked@example.test>", {"--passphrase", "secret"});
    Gpg({"--passphrase", "secret", "--quick-add-key", locked, "cv25519", "encr", "1d"});
    auto protected_key =
        keyring_->ImportSecretKey(Gpg({"--passphrase", "secret", "--armor", "--export-secret-keys", locked}));
    ASSERT_FALSE(protected_key.has_value());
    EXPECT_NE(protected_key.error().message.find("passphrase"), std::string::npos)
        << protected_key.error().message;
    // Removed again: ciphertext to it is "not encrypted to faxd's key", no passphrase prompt, no hang.
    auto decrypted = keyring_->Decrypt(Encrypt(locked, "secret"));
    ASSERT_FALSE(decrypted.has_value());
    EXPECT_NE(decrypted.error().message.find("not encrypted to faxd's key"), std::string::npos)
        << decrypted.error().message;
}

// ---- PGP/MIME -------------------------------------------------------------------------------------------

TEST_F(PgpKeyringTest, PgpMimeGoodSignatureGivesTheSigner) {
    const std::string signature = DetachSign(Anna(), kSignedPart);
    auto verified = keyring_->VerifySignedMail(PgpMimeMail(kSignedPart, signature));
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, Anna());
    EXPECT_EQ(verified->kind, VerifiedMail::Kind::kPgpMime);
    EXPECT_EQ(verified->signed_content, kSignedPart);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    EXPECT_NEAR(static_cast<double>(verified->signed_at), static_cast<double>(now), 120.0);
}

TEST_F(PgpKeyringTest, PgpMimeStoredWithLfLineEndsStillVerifies) {
    const std::string signature = DetachSign(Anna(), kSignedPart);
    auto verified = keyring_->VerifySignedMail(ToLf(PgpMimeMail(kSignedPart, signature)));
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, Anna());
    EXPECT_EQ(verified->signed_content, kSignedPart);
}

TEST_F(PgpKeyringTest, PgpMimeBase64SignaturePartVerifies) {
    const std::string signature = DetachSign(Anna(), kSignedPart);
    auto verified = keyring_->VerifySignedMail(
        PgpMimeMail(kSignedPart, Base64(signature), "Content-Transfer-Encoding: base64\r\n"));
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, Anna());
}

TEST_F(PgpKeyringTest, PgpMimeSignatureBySubkeyNamesThePrimaryKey) {
    const std::string signer = Anna();
    Gpg({"--quick-add-key", signer, "ed25519", "sign", "1d"});
    auto updated = keyring_->ImportPublicKey(Gpg({"--armor", "--export", signer}));
    ASSERT_TRUE(updated.has_value()) << updated.error().ToString();
    const std::string signature = DetachSign(signer, kSignedPart);  // gpg signs with the newest subkey
    auto verified = keyring_->VerifySignedMail(PgpMimeMail(kSignedPart, signature));
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, signer);
}

TEST_F(PgpKeyringTest, PgpMimeChangedByteIsBadSignature) {
    const std::string signature = DetachSign(Anna(), kSignedPart);
    for (const std::string& from_to : {std::string("offer to"), std::string("inner-7--")}) {
        std::string changed = kSignedPart;
        const std::size_t at = changed.find(from_to);
        changed[at] = static_cast<char>(changed[at] ^ 1);
        auto verified = keyring_->VerifySignedMail(PgpMimeMail(changed, signature));
        ASSERT_FALSE(verified.has_value());
        EXPECT_EQ(verified.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(StartOf(verified.error().message, 13), "bad signature") << verified.error().message;
    }
    // An extra line end is a change too: the signed bytes are exact.
    std::string longer = kSignedPart + "\r\n";
    auto verified = keyring_->VerifySignedMail(PgpMimeMail(longer, signature));
    ASSERT_FALSE(verified.has_value());
    EXPECT_EQ(StartOf(verified.error().message, 13), "bad signature");
}

TEST_F(PgpKeyringTest, PgpMimeByUnknownKeyNamesTheKey) {
    Anna();
    const std::string signature = DetachSign(Bob(), kSignedPart);
    auto verified = keyring_->VerifySignedMail(PgpMimeMail(kSignedPart, signature));
    ASSERT_FALSE(verified.has_value());
    EXPECT_EQ(verified.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(StartOf(verified.error().message, 24), "signature by unknown key");
    EXPECT_NE(verified.error().message.find(Bob().substr(24)), std::string::npos) << verified.error().message;
}

TEST_F(PgpKeyringTest, UnsignedMailIsNotSigned) {
    Anna();
    for (const std::string& mail : std::vector<std::string>{
             TextMail("Please fax this.\r\n"), TextMail(""), std::string(),
             "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: "
             "text/plain\r\n\r\nhi\r\n--b--\r\n",
             "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
             "boundary=b\r\n\r\n--b\r\n"
             "\r\nhi\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--b--\r\n"}) {
        auto verified = keyring_->VerifySignedMail(mail);
        ASSERT_FALSE(verified.has_value());
        EXPECT_EQ(verified.error().code, ErrorCode::kNotFound) << verified.error().ToString();
        EXPECT_EQ(StartOf(verified.error().message, 10), "not signed");
    }
}

TEST_F(PgpKeyringTest, PgpMimeInsideAnotherMultipartIsNotSigned) {
    // A mailing list footer or an attacker's extra attachment next to a genuine signed part.
    const std::string signed_mail = PgpMimeMail(kSignedPart, DetachSign(Anna(), kSignedPart));
    const std::size_t body = signed_mail.find("\r\n\r\n") + 4;
    const std::string inner_headers =
        signed_mail.substr(signed_mail.find("Content-Type: multipart/signed"),
                           body - signed_mail.find("Content-Type: multipart/signed"));
    const std::string wrapped =
        TextMail("--wrap\r\n" + inner_headers + signed_mail.substr(body) +
                     "\r\n--wrap\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
                     "filename=x.pdf\r\n\r\n"
                     "%PDF-1.4 forged\r\n--wrap--\r\n",
                 "Content-Type: multipart/mixed; boundary=wrap\r\n");
    auto verified = keyring_->VerifySignedMail(wrapped);
    ASSERT_FALSE(verified.has_value());
    EXPECT_EQ(verified.error().code, ErrorCode::kNotFound);
    EXPECT_NE(verified.error().message.find("only part of the message"), std::string::npos);
}

TEST_F(PgpKeyringTest, PgpMimeSignaturePartMustBeADetachedSignature) {
    // A complete signed message where the detached signature belongs, as it is or relabelled: an old signed
    // mail of Anna's must not vouch for a forged first part.
    const std::string other = Write("other", "an old message Anna signed").string();
    const std::string signed_message =
        Gpg({"--local-user", Anna(), "--armor", "--output", "-", "--sign", other});
    const std::string forged = "Content-Type: text/plain\r\n\r\nFax this forged text\r\n";
    std::string relabelled = signed_message;
    for (const char* end : {"BEGIN", "END"}) {
        const std::string from = std::string("-----") + end + " PGP MESSAGE-----";
        relabelled.replace(relabelled.find(from), from.size(),
                           std::string("-----") + end + " PGP SIGNATURE-----");
    }
    for (const std::string& signature : {signed_message, relabelled, std::string("garbage"), std::string()}) {
        auto verified = keyring_->VerifySignedMail(PgpMimeMail(forged, signature));
        ASSERT_FALSE(verified.has_value());
        EXPECT_EQ(StartOf(verified.error().message, 13), "bad signature") << verified.error().message;
    }
}

TEST_F(PgpKeyringTest, PgpMimeMalformedStructuresFail) {
    const std::string signature = DetachSign(Anna(), kSignedPart);
    const std::string good = PgpMimeMail(kSignedPart, signature);
    const std::vector<std::string> broken = {
        // no boundary parameter
        "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"\r\n\r\n--outer-3\r\n",
        // the signature part missing
        good.substr(0, good.find("\r\n--outer-3\r\nContent-Type: application/pgp-signature")) +
            "\r\n--outer-3--\r\n",
        // the signature part labelled as something else
        [&] {
            std::string mail = good;
            const std::string from = "Content-Type: application/pgp-signature";
            mail.replace(mail.find(from), from.size(), "Content-Type: text/plain");
            return mail;
        }(),
        // a third part
        [&] {
            std::string mail = good;
            mail.insert(mail.rfind("--outer-3--"), "--outer-3\r\nContent-Type: text/plain\r\n\r\nextra\r\n");
            return mail;
        }(),
    };
    for (const std::string& mail : broken) {
        auto verified = keyring_->VerifySignedMail(mail);
        ASSERT_FALSE(verified.has_value());
        EXPECT_EQ(verified.error().code, ErrorCode::kInvalidArgument) << verified.error().ToString();
        EXPECT_EQ(StartOf(verified.error().message, 13), "bad signature") << verified.error().message;
    }
    // Without the closing delimiter the last part runs to the end: still good.
    auto open_ended = keyring_->VerifySignedMail(good.substr(0, good.rfind("\r\n--outer-3--")) + "\r\n");
    ASSERT_TRUE(open_ended.has_value()) << open_ended.error().ToString();
}

TEST_F(PgpKeyringTest, ExpiredAndRevokedKeysAreRefused) {
    // A key that expired in 2020, and a signature it made while still valid.
    const std::string old_key =
        GenerateKey("Old <old@example.test>", {"--faked-system-time", "20200101T000000!"});
    const std::string signature = [&] {
        const fs::path in = Write("old-part", kSignedPart);
        Gpg({"--faked-system-time", "20200101T120000!", "--local-user", old_key, "--armor", "--detach-sign",
             in.string()});
        return testing::ReadFile(dir_ / "old-part.asc");
    }();
    const std::string old_export = Gpg({"--armor", "--export", old_key});
    auto old_imported = keyring_->ImportPublicKey(old_export);
    ASSERT_TRUE(old_imported.has_value()) << old_imported.error().ToString();
    auto expired = keyring_->VerifySignedMail(PgpMimeMail(kSignedPart, signature));
    ASSERT_FALSE(expired.has_value());
    EXPECT_EQ(StartOf(expired.error().message, 11), "key expired") << expired.error().message;

    // Anna revokes her key (the certificate gpg made with it); faxd imports the updated key.
    const std::string good = PgpMimeMail(kSignedPart, DetachSign(Anna(), kSignedPart));
    ASSERT_TRUE(keyring_->VerifySignedMail(good).has_value());
    std::string revocation = testing::ReadFile(users_ / "openpgp-revocs.d" / (Anna() + ".rev"));
    revocation.erase(revocation.find(":-----BEGIN"), 1);
    Write("revocation.asc", revocation);
    Gpg({"--import", (dir_ / "revocation.asc").string()});
    auto updated = keyring_->ImportPublicKey(Gpg({"--armor", "--export", Anna()}));
    ASSERT_TRUE(updated.has_value()) << updated.error().ToString();
    auto revoked = keyring_->VerifySignedMail(good);
    ASSERT_FALSE(revoked.has_value());
    EXPECT_EQ(StartOf(revoked.error().message, 11), "key revoked") << revoked.error().message;
}

// ---- Inline PGP -----------------------------------------------------------------------------------------

TEST_F(PgpKeyringTest, InlineClearSignedTextVerifies) {
    const std::string text = "Please fax the attached offer to M\xC3\xBCller.\n- Anna\n";
    const std::string block = ClearSign(Anna(), text);
    auto verified =
        keyring_->VerifySignedMail(TextMail("Hello,\r\n\r\n" + block + "\r\n-- \r\nsent from a phone\r\n"));
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, Anna());
    EXPECT_EQ(verified->kind, VerifiedMail::Kind::kInline);
    EXPECT_EQ(verified->charset, "utf-8");
    EXPECT_EQ(ToLf(verified->signed_content), text);  // only the signed text, not the greeting or footer
}

TEST_F(PgpKeyringTest, InlineClearSignedInMultipartAndQuotedPrintableVerifies) {
    const std::string block = ClearSign(Anna(), "Fax to 030 1234 =please=\n- Anna\n");
    std::string quoted;  // quoted-printable as a mail client writes it
    for (const char c : block) {
        if (c == '=') {
            quoted += "=3D";
        } else if (c == '\n') {
            quoted += "\r\n";
        } else {
            quoted.push_back(c);
        }
    }
    const std::string mail = TextMail(
        "--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain; "
        "charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
            quoted +
            "\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>signed</p>\r\n--a--\r\n\r\n--m\r\nContent-Type: "
            "application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--m--\r\n",
        "Content-Type: multipart/mixed; boundary=m\r\n");
    auto verified = keyring_->VerifySignedMail(mail);
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, Anna());
    EXPECT_EQ(verified->kind, VerifiedMail::Kind::kInline);
    EXPECT_EQ(verified->charset, "us-ascii");
}

TEST_F(PgpKeyringTest, InlineClearSignedChangedTextIsBadSignature) {
    std::string block = ClearSign(Anna(), "Fax to 030 1234\n");
    block.replace(block.find("030 1234"), 8, "030 9999");
    auto verified = keyring_->VerifySignedMail(TextMail(block));
    ASSERT_FALSE(verified.has_value());
    EXPECT_EQ(verified.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(StartOf(verified.error().message, 13), "bad signature") << verified.error().message;

    auto unknown = keyring_->VerifySignedMail(TextMail(ClearSign(Bob(), "Fax to 030 1234\n")));
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(StartOf(unknown.error().message, 24), "signature by unknown key");

    const std::string good = ClearSign(Anna(), "Fax to 030 1234\n");
    auto truncated =
        keyring_->VerifySignedMail(TextMail(good.substr(0, good.find("-----BEGIN PGP SIGNATURE"))));
    ASSERT_FALSE(truncated.has_value());
    EXPECT_EQ(StartOf(truncated.error().message, 13), "bad signature") << truncated.error().message;
}

// ---- Decryption -----------------------------------------------------------------------------------------

TEST_F(PgpKeyringTest, DecryptsBinaryAndArmoredAttachmentsByteExact) {
    const std::string document = BinaryDocument();
    for (const bool armor : {false, true}) {
        const std::string encrypted = Encrypt(
            Faxd(), document, armor ? std::vector<std::string>{"--armor"} : std::vector<std::string>{});
        EXPECT_TRUE(PgpKeyring::LooksEncrypted(encrypted, "application/octet-stream", "offer.pdf.gpg"));
        EXPECT_TRUE(PgpKeyring::LooksEncrypted(encrypted, "application/octet-stream", "offer"));
        auto decrypted = keyring_->Decrypt(encrypted);
        ASSERT_TRUE(decrypted.has_value()) << decrypted.error().ToString();
        EXPECT_EQ(decrypted->data, document);
        EXPECT_EQ(decrypted->file_name, "to-encrypt");
        EXPECT_TRUE(decrypted->signer_fingerprint.empty());
        EXPECT_TRUE(decrypted->signature_problem.empty());
    }
}

TEST_F(PgpKeyringTest, DecryptReportsTheSignerOfSignedCiphertext) {
    const std::string document = BinaryDocument();
    auto decrypted = keyring_->Decrypt(Encrypt(Faxd(), document, {"--sign", "--local-user", Anna()}));
    ASSERT_TRUE(decrypted.has_value()) << decrypted.error().ToString();
    EXPECT_EQ(decrypted->data, document);
    EXPECT_EQ(decrypted->signer_fingerprint, Anna());

    auto by_bob = keyring_->Decrypt(Encrypt(Faxd(), document, {"--sign", "--local-user", Bob()}));
    ASSERT_TRUE(by_bob.has_value()) << by_bob.error().ToString();
    EXPECT_EQ(by_bob->data, document);
    EXPECT_TRUE(by_bob->signer_fingerprint.empty());
    EXPECT_EQ(StartOf(by_bob->signature_problem, 24), "signature by unknown key")
        << by_bob->signature_problem;
}

TEST_F(PgpKeyringTest, DecryptRefusesWhatIsNotEncryptedToFaxd) {
    Faxd();
    const std::string bob_sub = [&] {
        Gpg({"--quick-add-key", Bob(), "cv25519", "encr", "1d"});
        return Bob();
    }();
    auto to_bob = keyring_->Decrypt(Encrypt(bob_sub, "for Bob only"));
    ASSERT_FALSE(to_bob.has_value());
    EXPECT_EQ(to_bob.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(StartOf(to_bob.error().message, 27), "not encrypted to faxd's key") << to_bob.error().message;

    const fs::path plain = Write("plain", "a passphrase protects this");
    const std::string symmetric =
        Gpg({"--passphrase", "pass", "--output", "-", "--symmetric", plain.string()});
    auto by_passphrase = keyring_->Decrypt(symmetric);
    ASSERT_FALSE(by_passphrase.has_value());
    EXPECT_EQ(by_passphrase.error().code, ErrorCode::kInvalidArgument) << by_passphrase.error().ToString();

    const std::string signed_only = Gpg({"--local-user", Faxd(), "--output", "-", "--sign", plain.string()});
    auto not_encrypted = keyring_->Decrypt(signed_only);
    ASSERT_FALSE(not_encrypted.has_value());
    EXPECT_EQ(not_encrypted.error().code, ErrorCode::kInvalidArgument) << not_encrypted.error().ToString();

    for (const std::string& garbage :
         {std::string(), std::string("%PDF-1.4 plain"), std::string("\x85\x01\x0c\x03", 4),
          std::string("-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n")}) {
        auto decrypted = keyring_->Decrypt(garbage);
        ASSERT_FALSE(decrypted.has_value());
        EXPECT_EQ(decrypted.error().code, ErrorCode::kInvalidArgument) << decrypted.error().ToString();
    }
}

TEST_F(PgpKeyringTest, DecryptBoundsThePlaintext) {
    const std::string zeros(4 * 1024 * 1024, '\0');  // compresses to a few kilobytes
    const std::string encrypted = Encrypt(Faxd(), zeros);
    EXPECT_LT(encrypted.size(), 64u * 1024u);
    auto bounded = keyring_->Decrypt(encrypted, 1024 * 1024);
    ASSERT_FALSE(bounded.has_value());
    EXPECT_EQ(bounded.error().code, ErrorCode::kLimitExceeded);
    auto whole = keyring_->Decrypt(encrypted, zeros.size());
    ASSERT_TRUE(whole.has_value()) << whole.error().ToString();
    EXPECT_EQ(whole->data, zeros);
}

std::string PgpMimeEncryptedMail(const std::string& armored) {
    return "From: Anna <anna@example.test>\r\n"
           "To: 4930123456@fax.example.test\r\n"
           "Subject: ...\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/encrypted;\r\n"
           " protocol=\"application/pgp-encrypted\"; boundary=\"enc-1\"\r\n"
           "\r\n"
           "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
           "--enc-1\r\n"
           "Content-Type: application/pgp-encrypted\r\n"
           "Content-Description: PGP/MIME version identification\r\n"
           "\r\n"
           "Version: 1\r\n"
           "\r\n"
           "--enc-1\r\n"
           "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
           "Content-Description: OpenPGP encrypted message\r\n"
           "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
           "\r\n" +
           armored + "\r\n--enc-1--\r\n";
}

TEST_F(PgpKeyringTest, DecryptMailOpensSignedAndEncryptedPgpMime) {
    // Signed and encrypted in one (RFC 3156 6.2), as Thunderbird sends.
    const std::string encrypted = Encrypt(Faxd(), kSignedPart, {"--armor", "--sign", "--local-user", Anna()});
    const std::string mail = PgpMimeEncryptedMail(encrypted);
    auto unopened = keyring_->VerifySignedMail(mail);
    ASSERT_FALSE(unopened.has_value());
    EXPECT_EQ(unopened.error().message, "not signed: the message is PGP/MIME encrypted; decrypt it first");
    auto opened = keyring_->DecryptMail(mail);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    EXPECT_EQ(opened->signer_fingerprint, Anna());
    EXPECT_EQ(opened->message,
              "From: Anna <anna@example.test>\r\nTo: 4930123456@fax.example.test\r\nSubject: ...\r\n"
              "MIME-Version: 1.0\r\n" +
                  kSignedPart);

    // Signed, then encrypted (RFC 3156 6.1): the decrypted message is a multipart/signed to verify.
    const std::string signed_entity =
        "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; "
        "boundary=\"s\"\r\n\r\n--s\r\n" +
        kSignedPart + "\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n" +
        DetachSign(Anna(), kSignedPart) + "\r\n--s--\r\n";
    auto nested = keyring_->DecryptMail(PgpMimeEncryptedMail(Encrypt(Faxd(), signed_entity, {"--armor"})));
    ASSERT_TRUE(nested.has_value()) << nested.error().ToString();
    EXPECT_TRUE(nested->signer_fingerprint.empty());
    auto verified = keyring_->VerifySignedMail(nested->message);
    ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
    EXPECT_EQ(verified->fingerprint, Anna());
    EXPECT_EQ(verified->signed_content, kSignedPart);
}

TEST_F(PgpKeyringTest, DecryptMailRefusesOtherMail) {
    Faxd();
    auto plain = keyring_->DecryptMail(TextMail("hello\r\n"));
    ASSERT_FALSE(plain.has_value());
    EXPECT_EQ(plain.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(plain.error().message, "not encrypted");

    Gpg({"--quick-add-key", Bob(), "cv25519", "encr", "1d"});
    auto to_bob = keyring_->DecryptMail(PgpMimeEncryptedMail(Encrypt(Bob(), "x", {"--armor"})));
    ASSERT_FALSE(to_bob.has_value());
    EXPECT_EQ(StartOf(to_bob.error().message, 27), "not encrypted to faxd's key") << to_bob.error().message;

    auto garbage = keyring_->DecryptMail(PgpMimeEncryptedMail("-----BEGIN PGP MESSAGE-----\r\n\r\nhQ\r\n"));
    ASSERT_FALSE(garbage.has_value());
    EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
}

// ---- Robustness -----------------------------------------------------------------------------------------

TEST_F(PgpKeyringTest, GarbageNeverCrashes) {
    Anna();
    std::mt19937 random(7);
    const std::string signature = DetachSign(Anna(), kSignedPart);
    const std::string good = PgpMimeMail(kSignedPart, signature);
    for (int round = 0; round < 30; ++round) {
        std::string mail = good;
        for (int flips = 0; flips < 1 + round % 5; ++flips) {
            mail[random() % mail.size()] = static_cast<char>(random() % 256);
        }
        if (round % 3 == 0) mail.resize(random() % mail.size());
        auto verified = keyring_->VerifySignedMail(mail);
        if (verified) {
            EXPECT_EQ(verified->fingerprint, Anna());  // a flip in the preamble changes nothing
        }
        std::string noise(random() % 300, '\0');
        for (char& c : noise) c = static_cast<char>(random() % 256);
        EXPECT_FALSE(keyring_->Decrypt(noise).has_value());
        EXPECT_FALSE(keyring_->VerifySignedMail(noise).has_value());
        EXPECT_FALSE(keyring_->ImportPublicKey(noise).has_value());
    }
}

TEST_F(PgpKeyringTest, ConcurrentVerificationsAgree) {
    const std::string good = PgpMimeMail(kSignedPart, DetachSign(Anna(), kSignedPart));
    const std::string inline_good = TextMail(ClearSign(Anna(), "parallel\n"));
    std::vector<std::thread> threads;
    std::vector<int> successes(4, 0);
    for (std::size_t t = 0; t < successes.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) {
                auto verified = keyring_->VerifySignedMail(i % 2 == 0 ? good : inline_good);
                if (verified && verified->fingerprint == anna_) ++successes[t];
            }
        });
    }
    for (auto& thread : threads) thread.join();
    for (const int count : successes) EXPECT_EQ(count, 5);
}

}  // namespace
}  // namespace faxd::mail
