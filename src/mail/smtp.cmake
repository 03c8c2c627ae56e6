# The SMTP listener: a protocol state machine (smtp_session) and its Asio TCP/TLS server (smtp_server).
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(OpenSSL REQUIRED)

faxd_add_library(mail_smtp
    SOURCES smtp_session.cpp smtp_server.cpp
    DEPS faxd_base Boost::system OpenSSL::SSL Threads::Threads)

# State machine tests and real sockets on 127.0.0.1 with ephemeral ports; swaks, when installed, is the
# independent client (its tests are skipped without it).
faxd_add_test(mail_smtp_test SOURCES smtp_session_test.cpp smtp_server_test.cpp DEPS faxd_mail_smtp)
