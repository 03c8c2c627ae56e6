#!/usr/bin/env python3
"""A webhook receiver for tests, independent of faxd's code: it checks Faxd-Signature the way the API
documentation tells receivers to (recompute the HMAC-SHA256 of "<t>.<body>", compare in constant time,
refuse timestamps older than 5 minutes) and appends every request it gets as one JSON line to --log.

Prints "port <n>" on stdout once it listens. Answers 401 to a bad signature, --fail-status to the first
--fail-first requests, after --delay seconds, and 200 otherwise."""

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def check_signature(secret, header, body, max_age):
    """Returns (ok, reason)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in fields or "v1" not in fields:
        return False, "malformed header"
    try:
        timestamp = int(fields["t"])
    except ValueError:
        return False, "bad timestamp"
    if abs(time.time() - timestamp) > max_age:
        return False, "timestamp too old"
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["v1"]):
        return False, "signature mismatch"
    return True, ""


def make_handler(options, state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            ok, reason = check_signature(options.secret, self.headers.get("Faxd-Signature", ""), body,
                                         options.max_age)
            with state["lock"]:
                state["count"] += 1
                failing = state["count"] <= options.fail_first
            if options.delay > 0:
                time.sleep(options.delay)
            status = 401 if not ok else options.fail_status if failing else 200
            record = {
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "signature_ok": ok,
                "signature_error": reason,
                "answered": status,
            }
            line = (json.dumps(record) + "\n").encode()
            with state["lock"]:
                descriptor = os.open(options.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(descriptor, line)
                finally:
                    os.close(descriptor)
            answer = b'{"ok": true}' if status == 200 else b'{"ok": false}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # quiet: the JSON lines are the record
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True, help="file the requests are appended to, one JSON per line")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    parser.add_argument("--max-age", type=int, default=300, help="oldest accepted signature timestamp, s")
    options = parser.parse_args()

    state = {"lock": threading.Lock(), "count": 0}
    server = ThreadingHTTPServer(("127.0.0.1", options.port), make_handler(options, state))
    server.daemon_threads = True
    print("port", server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
