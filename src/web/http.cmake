# HTTP(S) server on Boost.Beast (header-only, on Asio) and the multipart/form-data parser.
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json REQUIRED)

faxd_add_library(http
    SOURCES http_server.cpp http_session.cpp stream_channel.cpp request_target.cpp router.cpp multipart.cpp
    DEPS faxd_base Boost::system OpenSSL::SSL nlohmann_json::nlohmann_json Threads::Threads)

# Real sockets on 127.0.0.1 with ephemeral ports, but fast and self-contained: unit.
faxd_add_test(http_test SOURCES http_server_test.cpp multipart_test.cpp DEPS faxd_http)
