// The REST API of docs/api.md on top of the HTTP server: routes, authentication, permission checks, JSON.
#pragma once

#include <cstddef>
#include <string>

#include "web/api_backend.hpp"
#include "web/events.hpp"
#include "web/http_server.hpp"

namespace faxd::web {

struct ApiOptions {
    std::string version;       // shown by /health
    std::string openapi_json;  // served at /api/v1/openapi.json
    std::size_t max_files = 20;
    std::size_t max_recipients = 1000;
};

// Adds every /api/v1 route to `router`. `backend` and `events` must outlive the router.
void AddApiRoutes(Router& router, ApiBackend& backend, EventHub& events, ApiOptions options);

}  // namespace faxd::web
