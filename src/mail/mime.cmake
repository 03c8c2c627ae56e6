# MIME intake: one received e-mail -> sender, recipients, text, decoded attachments, auto-reply flags.
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)

faxd_add_library(mail_mime
    SOURCES mime_intake.cpp mime_text.cpp automatic_mail.cpp tnef.cpp fax_address.cpp gmime_init.cpp auth_results.cpp
    DEPS faxd_base PkgConfig::GMIME)

faxd_add_test(mail_mime_test
    SOURCES mime_intake_test.cpp mime_corpus_test.cpp tnef_test.cpp fax_address_test.cpp auth_results_test.cpp
    DEPS faxd_mail_mime)
if(TARGET mail_mime_test)
    target_compile_definitions(mail_mime_test PRIVATE
        FAXD_MAIL_CORPUS_DIR="${PROJECT_SOURCE_DIR}/tests/mail/corpus")
endif()
