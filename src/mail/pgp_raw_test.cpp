#include "mail/pgp_raw.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "mail/pgp_keyring.hpp"

namespace faxd::mail {
namespace {

using base::ErrorCode;

// ---- Raw bytes ------------------------------------------------------------------------------------------

TEST(PgpRawTest, SplitsMultipartBodiesOnExactDelimiterLines) {
    const std::string body =
        "preamble\r\n--b\r\nfirst\r\n\r\n--b  \r\nsecond\n--bb\n--b-x\n--b\r\n--b--\r\nepilogue\r\n--b\r\n";
    auto parts = pgp_raw::SplitMultipart(body, "b", 10);
    ASSERT_TRUE(parts.has_value());
    ASSERT_EQ(parts->size(), 3u);
    EXPECT_EQ((*parts)[0], "first\r\n");  // the line end before a delimiter belongs to the delimiter
    EXPECT_EQ((*parts)[1], "second\n--bb\n--b-x");
    EXPECT_EQ((*parts)[2], "");

    auto open_ended = pgp_raw::SplitMultipart("--b\nx\n--b\ny", "b", 10);
    ASSERT_TRUE(open_ended.has_value());
    EXPECT_EQ(*open_ended, (std::vector<std::string_view>{"x", "y"}));
    EXPECT_TRUE(pgp_raw::SplitMultipart("no delimiter", "b", 10)->empty());
    EXPECT_TRUE(pgp_raw::SplitMultipart("--\n--\n", "", 10)->empty());
    auto too_many = pgp_raw::SplitMultipart("--b\n1\n--b\n2\n--b\n3\n--b--\n", "b", 2);
    ASSERT_FALSE(too_many.has_value());
    EXPECT_EQ(too_many.error().code, ErrorCode::kLimitExceeded);
}

TEST(PgpRawTest, ReadsHeadersAndMediaTypes) {
    const pgp_raw::RawEntity entity = pgp_raw::SplitEntity(
        "Subject: x\r\ncontent-type : Multipart/Signed;\r\n\tprotocol=\"Application/PGP-Signature\";\r\n"
        " boundary=\"a b\"\r\nContent-Type: text/plain\r\n\r\nbody\r\n");
    EXPECT_EQ(entity.body, "body\r\n");
    const pgp_raw::MediaType media = pgp_raw::EntityMediaType(entity);
    EXPECT_EQ(media.type, "multipart");
    EXPECT_EQ(media.subtype, "signed");
    EXPECT_EQ(media.protocol, "application/pgp-signature");
    EXPECT_EQ(media.boundary, "a b");
    EXPECT_EQ(pgp_raw::WithoutContentFields(entity.headers), "Subject: x\r\n");

    const pgp_raw::MediaType none = pgp_raw::EntityMediaType(pgp_raw::SplitEntity("\nonly a body"));
    EXPECT_EQ(none.type, "text");
    EXPECT_EQ(none.subtype, "plain");
    EXPECT_EQ(pgp_raw::SplitEntity("no empty line").body, "");
    EXPECT_EQ(pgp_raw::ToCrlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
}

TEST(PgpRawTest, DearmorsAndChecksSignaturePackets) {
    // A new-format signature packet (tag 2) of 3 bytes, armored with a header line and a CRC line.
    const std::string packet("\xc2\x03\x04\x00\x01", 5);
    const std::string armored =
        "junk\n-----BEGIN PGP SIGNATURE-----\nComment: x\n\nwgMEAAE=\n=abcd\n"
        "-----END PGP SIGNATURE-----\ntrailing\n";
    EXPECT_EQ(pgp_raw::Dearmor(armored, "SIGNATURE"), packet);
    EXPECT_FALSE(pgp_raw::Dearmor("-----BEGIN PGP SIGNATURE-----\n\nwgMEAAE=\n", "SIGNATURE").has_value());
    EXPECT_TRUE(pgp_raw::OnlySignaturePackets(packet));
    EXPECT_TRUE(pgp_raw::OnlySignaturePackets(packet + std::string("\x88\x01\x04", 3)));  // old format
    EXPECT_FALSE(pgp_raw::OnlySignaturePackets(""));
    EXPECT_FALSE(pgp_raw::OnlySignaturePackets(packet.substr(0, 4)));                      // cut short
    EXPECT_FALSE(pgp_raw::OnlySignaturePackets(packet + std::string("\xcb\x01\x62", 3)));  // + literal data
    EXPECT_FALSE(pgp_raw::OnlySignaturePackets(std::string("\xc2\xe1\x04\x00", 4)));       // partial length
    EXPECT_FALSE(pgp_raw::OnlySignaturePackets(std::string("\x8b\x04\x00", 3)));           // indeterminate
}

TEST(PgpLooksEncryptedTest, JudgesContentTypeAndName) {
    EXPECT_TRUE(PgpKeyring::LooksEncrypted("-----BEGIN PGP MESSAGE-----\n\nhQ\n", "text/plain", "note.txt"));
    EXPECT_TRUE(PgpKeyring::LooksEncrypted("\r\n  -----BEGIN PGP MESSAGE-----\r\n", "", ""));
    // Public-key encrypted session key, version 3, old and new packet formats; the marker packet.
    EXPECT_TRUE(PgpKeyring::LooksEncrypted(std::string("\x84\x5e\x03\x12", 4), "", ""));
    EXPECT_TRUE(PgpKeyring::LooksEncrypted(std::string("\x85\x01\x0c\x03", 4), "", ""));
    EXPECT_TRUE(PgpKeyring::LooksEncrypted(std::string("\xc1\x5e\x03\x12", 4), "", ""));
    EXPECT_TRUE(PgpKeyring::LooksEncrypted(std::string("\x8c\x0d\x04\x09", 4), "", ""));  // passphrase
    EXPECT_TRUE(PgpKeyring::LooksEncrypted(std::string("\xa8\x03PGP", 5), "", ""));
    EXPECT_TRUE(PgpKeyring::LooksEncrypted("", "application/pgp-encrypted", ""));
    EXPECT_TRUE(PgpKeyring::LooksEncrypted("", "Application/PGP-Encrypted; name=x", ""));
    for (const char* name : {"offer.pdf.pgp", "OFFER.GPG", "offer.asc", " x.gpg "}) {
        EXPECT_TRUE(PgpKeyring::LooksEncrypted("", "application/octet-stream", name)) << name;
    }

    EXPECT_FALSE(PgpKeyring::LooksEncrypted("%PDF-1.4\n", "application/pdf", "offer.pdf"));
    EXPECT_FALSE(PgpKeyring::LooksEncrypted("", "", ""));
    EXPECT_FALSE(PgpKeyring::LooksEncrypted("", "", ".gpg"));
    EXPECT_FALSE(PgpKeyring::LooksEncrypted("", "", "pgp"));
    EXPECT_FALSE(PgpKeyring::LooksEncrypted(std::string("\x84\x5e\x07\x12", 4), "", ""));  // bad version
    EXPECT_FALSE(PgpKeyring::LooksEncrypted(std::string("\x89\x01", 2), "", ""));          // signature, cut
    EXPECT_FALSE(PgpKeyring::LooksEncrypted(std::string("\x84", 1), "", ""));
    for (const char* armored : {"-----BEGIN PGP SIGNATURE-----\n", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
                                "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"}) {
        EXPECT_FALSE(PgpKeyring::LooksEncrypted(armored, "application/pgp-keys", "key.asc")) << armored;
    }
    EXPECT_FALSE(PgpKeyring::LooksEncrypted("Version: 1\r\n", "application/pgp-encrypted", ""));
}

}  // namespace
}  // namespace faxd::mail
