// Validates an OpenAPI document (argument 1) against the OpenAPI 3.0 schema and its own $refs, then checks that
// its (method, path) pairs are exactly the routes registered in the C++ sources (arguments 2...).
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";

const [documentPath, ...sources] = process.argv.slice(2);
if (!documentPath || sources.length === 0) {
    console.error("usage: node validate_openapi.mjs openapi.json api_a.cpp [api_b.cpp ...]");
    process.exit(2);
}

let failures = 0;
const fail = (message) => {
    console.error(`FAIL: ${message}`);
    ++failures;
};

try {
    // validate() dereferences, so give it a copy; the route check below reads the document as written.
    await SwaggerParser.validate(JSON.parse(readFileSync(documentPath, "utf8")));
    console.log(`ok: ${documentPath} is a valid OpenAPI document`);
} catch (error) {
    fail(`${documentPath}: ${error.message}`);
}

const document = JSON.parse(readFileSync(documentPath, "utf8"));
const methods = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
const documented = new Set();
const operationIds = new Map();
for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
        if (!methods.has(method)) continue;
        const key = `${method.toUpperCase()} ${path}`;
        documented.add(key);
        if (!operation.operationId) fail(`${key}: no operationId`);
        else if (operationIds.has(operation.operationId))
            fail(`${key}: operationId ${operation.operationId} also used by ${operationIds.get(operation.operationId)}`);
        else operationIds.set(operation.operationId, key);
    }
}

// router.Add("METHOD", "/api/v1/...", ...) in the sources, possibly with the arguments on the next line.
const registered = new Set();
const addPattern = /router\s*\.\s*Add\s*\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"/g;
for (const source of sources) {
    for (const match of readFileSync(source, "utf8").matchAll(addPattern)) registered.add(`${match[1]} ${match[2]}`);
}
if (registered.size === 0) fail(`no router.Add( lines found in ${sources.join(" ")}`);

for (const key of [...registered].sort()) if (!documented.has(key)) fail(`route not documented: ${key}`);
for (const key of [...documented].sort()) if (!registered.has(key)) fail(`documented but not registered: ${key}`);
if (failures === 0) console.log(`ok: the document's ${documented.size} operations are the registered routes`);

process.exit(failures === 0 ? 0 : 1);
