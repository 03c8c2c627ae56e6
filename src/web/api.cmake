# The REST API on the HTTP server: routes, authentication, permissions, JSON, events.
faxd_add_library(web SOURCES api_json.cpp api_context.cpp api_faxes.cpp api_admin.cpp events.cpp
    DEPS faxd_http faxd_credentials faxd_core nlohmann_json::nlohmann_json)
faxd_add_test(web_test SOURCES api_json_test.cpp DEPS faxd_web)
