# Password hashes, API tokens, webhook secrets and signatures, Authorization headers (libsodium).
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)

faxd_add_library(credentials SOURCES credentials.cpp DEPS faxd_base PkgConfig::SODIUM)
faxd_add_test(credentials_test SOURCES credentials_test.cpp DEPS faxd_credentials)
