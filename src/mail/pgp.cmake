# PGP sender authentication: faxd's GnuPG keyring through GPGME (signed mail, encrypted attachments).
pkg_check_modules(GPGME REQUIRED IMPORTED_TARGET gpgme)

faxd_add_library(mail_pgp SOURCES pgp_keyring.cpp pgp_raw.cpp DEPS faxd_mail_mime PkgConfig::GPGME)

# Keys, signatures and ciphertexts are made at test time by the gpg command line, the independent side.
faxd_add_test(mail_pgp_test SOURCES pgp_keyring_test.cpp pgp_raw_test.cpp DEPS faxd_mail_pgp faxd_testdocs)
