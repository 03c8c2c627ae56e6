"""A webhook receiver that checks faxd's signatures with Python's own hmac (an independent implementation)."""
import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    def __init__(self, secret_lookup, port=0, fail_first=0):
        self.deliveries = []
        self.lock = threading.Lock()
        self.secret_lookup = secret_lookup
        self.fail_first = fail_first
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signature = self.headers.get("Faxd-Signature", "")
                parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
                secret = receiver.secret_lookup()
                expected = hmac.new(secret.encode(), parts.get("t", "").encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
                fresh = abs(time.time() - int(parts.get("t", "0"))) < 300
                valid = hmac.compare_digest(expected, parts.get("v1", "")) and fresh
                with receiver.lock:
                    failing = receiver.fail_first > 0
                    if failing:
                        receiver.fail_first -= 1
                    else:
                        receiver.deliveries.append({"event": self.headers.get("Faxd-Event"),
                                                    "delivery": self.headers.get("Faxd-Delivery"),
                                                    "valid": valid, "body": json.loads(body)})
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self):
        with self.lock:
            return list(self.deliveries)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
