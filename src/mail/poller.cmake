# The mailbox poller: a POP3 or IMAP account polled over libcurl; each message is stored before it is deleted.
find_package(CURL REQUIRED)

faxd_add_library(mail_poller SOURCES mailbox_poller.cpp DEPS faxd_base CURL::libcurl Threads::Threads)

# Against a real Dovecot (tests/support/dovecot_server.py, run by the system's /usr/bin/python3, not a version
# manager's shim) on 127.0.0.1 with ports chosen at run time: a Dovecot per test process, about 2 s each,
# hence integration. Parsers and configuration checks run in the same binary. Skipped without Dovecot.
find_package(nlohmann_json REQUIRED)
faxd_add_test(mail_poller_test
    SOURCES mailbox_poller_test.cpp
    DEPS faxd_mail_poller faxd_testdocs nlohmann_json::nlohmann_json
    LABEL integration TIMEOUT 120)
if(TARGET mail_poller_test)
    target_compile_definitions(mail_poller_test PRIVATE
        FAXD_SYSTEM_PYTHON3="/usr/bin/python3"
        FAXD_DOVECOT_SERVER="${PROJECT_SOURCE_DIR}/tests/support/dovecot_server.py")
endif()
