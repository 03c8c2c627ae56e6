# Outgoing mail: the composer (GMime) and the durable queue with its SMTP client (libcurl).
find_package(CURL REQUIRED)
find_package(nlohmann_json REQUIRED)

faxd_add_library(mail_compose SOURCES mail_compose.cpp DEPS faxd_mail_mime)
faxd_add_library(mail_outbox
    SOURCES mail_outbox.cpp smtp_dialogue.cpp
    DEPS faxd_base CURL::libcurl nlohmann_json::nlohmann_json Threads::Threads)

# Composed mails read back with the MIME intake.
faxd_add_test(mail_compose_test SOURCES mail_compose_test.cpp DEPS faxd_mail_compose faxd_mail_mime)

# Against tests/support/smtp_sink.py (aiosmtpd, a real SMTP server on 127.0.0.1 with ports chosen at run
# time, TLS with certificates made by openssl in the test's directory): quick and self-contained. Skipped
# when Debian's python3-aiosmtpd is missing.
faxd_add_test(mail_outbox_test
    SOURCES mail_outbox_test.cpp
    DEPS faxd_mail_outbox faxd_testdocs
    TIMEOUT 300)
if(TARGET mail_outbox_test)
    target_compile_definitions(mail_outbox_test PRIVATE
        FAXD_SMTP_SINK="${PROJECT_SOURCE_DIR}/tests/support/smtp_sink.py"
        FAXD_SYSTEM_PYTHON3="/usr/bin/python3")  # Debian's python3-aiosmtpd is for this one
endif()
