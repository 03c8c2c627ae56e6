#!/usr/bin/env python3
"""A stand-in for faxd's REST API in faxctl's tests: it answers canned responses and records every request
(method, path, query, headers, JSON body or multipart parts) as one JSON line in --log.

--routes names a JSON file: {"METHOD /path": answer, "METHOD /path?query": answer, ...}; the exact query
wins over the bare path. An answer is {"status": 200, "json": {...}} or {"status": 200, "text": "...",
"content_type": "..."}; "declared_length" claims a longer body than is sent (a cut transfer), "delay" waits
that many seconds first. Prints "port <n>" on stdout once it listens."""

import argparse
import json
import sys
import threading
import time
import urllib.parse
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_multipart(content_type, body):
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = []
    for part in message.iter_parts():
        parts.append({
            "name": part.get_param("name", header="content-disposition"),
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "content": part.get_payload(decode=True).decode("utf-8", "replace"),
        })
    return parts


def make_handler(routes, log_path, lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length > 0 else b""
            url = urllib.parse.urlsplit(self.path)
            record = {
                "method": self.command,
                "path": url.path,
                "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("application/json"):
                record["json"] = json.loads(body)
            elif content_type.startswith("multipart/form-data"):
                record["parts"] = parse_multipart(content_type, body)
            with lock, open(log_path, "a") as log:
                log.write(json.dumps(record) + "\n")

            key = self.command + " " + url.path
            answer = routes.get(key + "?" + url.query if url.query else key) or routes.get(key)
            if answer is None:
                answer = {"status": 404, "json": {"error": {"code": "not_found", "message": "no such path"}}}
            time.sleep(answer.get("delay", 0))
            if "json" in answer:
                payload, kind = json.dumps(answer["json"]).encode(), "application/json"
            else:
                payload, kind = answer.get("text", "").encode(), answer.get("content_type", "text/plain")
            self.send_response(answer.get("status", 200))
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(answer.get("declared_length", len(payload))))
            if "declared_length" in answer:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            if "declared_length" in answer:
                self.wfile.flush()
                self.close_connection = True

        do_GET = do_POST = do_PATCH = do_DELETE = handle_any

        def log_message(self, format, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routes", required=True)
    parser.add_argument("--log", required=True)
    options = parser.parse_args()
    with open(options.routes) as file:
        routes = json.load(file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(routes, options.log, threading.Lock()))
    server.daemon_threads = True
    print("port", server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
