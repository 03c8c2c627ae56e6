#!/usr/bin/env bash
# Validates docs/api/openapi.json (OpenAPI 3.0 schema, $refs) and checks that its operations are exactly the
# routes registered in src/web/api_*.cpp. Installs the validator from package-lock.json on first use.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "validate_openapi: node and npm are needed" >&2
    exit 1
fi
if [ ! -d "$here/node_modules/@apidevtools/swagger-parser" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
fi

exec node "$here/validate_openapi.mjs" "$root/docs/api/openapi.json" "$root"/src/web/api_*.cpp
