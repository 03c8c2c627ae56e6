#!/usr/bin/python3
"""A real SMTP server for tests: stands in for a company's mail relay on 127.0.0.1.

Stores every accepted message byte-exact (what came after DATA, dot-unstuffed, CRLF kept) as a file in a
Maildir (DIR/tmp, DIR/new, DIR/cur; written to tmp/, renamed into new/), and its envelope as JSON in
DIR.meta/<key>.json, written before the message appears in new/:
    {"key": ..., "peer": [host, port], "mail_from": ..., "rcpt_tos": [...], "auth": user or null,
     "tls": bool, "size": n}

Runs on aiosmtpd, Debian's python3-aiosmtpd: start it with /usr/bin/python3 (a pyenv python3 on PATH does
not see Debian's packages).

CLI:
    smtp_sink.py --port N --maildir DIR [--tls CERT KEY [--require-tls] | --implicit-tls --tls CERT KEY]
                 [--auth USER:PASSWORD] [--reject-rcpt REGEX] [--fail-first N]
Prints "READY <port>" once listening (port 0 picks a free one), one "MESSAGE <key> ..." line per stored
message, and exits 2 after printing "FAILED <reason>" when it cannot start. SIGTERM and SIGINT stop it.

As a module:
    with SmtpSink(maildir) as sink:   # same options as keyword arguments
        ... send to 127.0.0.1:sink.port ...
        sink.messages()               # [(meta dict, bytes)], oldest first
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import re
import signal
import ssl
import sys
import threading
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class SinkHandler:
    """aiosmtpd handler: recipient filter, scripted temporary failures, byte-exact storage."""

    def __init__(self, maildir, reject_rcpt=None, fail_first=0, implicit_tls=False, log=None):
        self.maildir = os.path.abspath(maildir)
        self.meta_dir = self.maildir + ".meta"
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)
        os.makedirs(self.meta_dir, exist_ok=True)
        self.reject_rcpt = re.compile(reject_rcpt) if reject_rcpt else None
        self.fail_first = fail_first
        self.implicit_tls = implicit_tls
        self.log = log or (lambda line: None)
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt is not None and self.reject_rcpt.search(address):
            return "550 5.1.1 <%s>: recipient refused by test sink" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_first > 0:
            self.fail_first -= 1
            self.log("DEFERRED from=%s to=%s" % (envelope.mail_from, ",".join(envelope.rcpt_tos)))
            return "451 4.3.0 test sink: try again later"
        content = envelope.original_content or b""
        key = "%d.%d.%d.sink" % (time.time_ns(), os.getpid(), next(self.counter))
        auth = session.auth_data
        if isinstance(auth, LoginPassword):
            auth = auth.login.decode("utf-8", "replace")
        meta = {
            "key": key,
            "peer": list(session.peer) if session.peer else None,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth": auth,
            "tls": bool(self.implicit_tls or session.ssl is not None),
            "size": len(content),
        }
        tmp_path = os.path.join(self.maildir, "tmp", key)
        with open(tmp_path, "wb") as out:
            out.write(content)
        meta_tmp = os.path.join(self.meta_dir, "." + key + ".tmp")
        with open(meta_tmp, "w", encoding="utf-8") as out:
            json.dump(meta, out)
        os.rename(meta_tmp, os.path.join(self.meta_dir, key + ".json"))
        os.rename(tmp_path, os.path.join(self.maildir, "new", key))
        self.log("MESSAGE %s from=%s to=%s size=%d" %
                 (key, envelope.mail_from, ",".join(envelope.rcpt_tos), len(content)))
        return "250 2.0.0 OK queued as %s" % key


def make_authenticator(credentials):
    user, _, password = credentials.partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                and auth_data.password == password.encode()):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return authenticate


class SmtpSink:
    """The sink on its own event loop thread; start() returns the bound port, stop() ends it."""

    def __init__(self, maildir, port=0, host="127.0.0.1", tls=None, implicit_tls=False, auth=None,
                 require_tls=False, reject_rcpt=None, fail_first=0, log=None):
        if implicit_tls and not tls:
            raise ValueError("implicit TLS needs a certificate and key (tls=(cert, key))")
        self.host = host
        self.requested_port = port
        self.port = None
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.require_tls = require_tls
        self.handler = SinkHandler(maildir, reject_rcpt, fail_first, implicit_tls, log)
        self._loop = None
        self._server = None
        self._thread = None

    def _context(self):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls[0], self.tls[1])
        return context

    def _protocol(self, loop, context):
        options = {"hostname": "sink.localhost", "decode_data": False, "loop": loop}
        if context is not None and not self.implicit_tls:
            options["tls_context"] = context
            options["require_starttls"] = self.require_tls
        if self.auth:
            options["authenticator"] = make_authenticator(self.auth)
            options["auth_required"] = True
            # STARTTLS sinks offer AUTH only after STARTTLS; implicit TLS is encrypted from the start
            # (aiosmtpd does not know it); plaintext sinks allow it, for tests only.
            options["auth_require_tls"] = context is not None and not self.implicit_tls
        return SMTP(self.handler, **options)

    async def serve(self, loop):
        """Binds and returns the asyncio server (on the running loop)."""
        context = self._context() if self.tls else None
        self._server = await loop.create_server(
            lambda: self._protocol(loop, context), self.host, self.requested_port,
            ssl=context if self.implicit_tls else None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self._server

    def start(self):
        started = threading.Event()
        failure = []

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self.serve(self._loop))
            except Exception as error:  # bind or certificate errors
                failure.append(error)
                started.set()
                self._loop.close()
                return
            started.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="smtp-sink", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        return self.port

    def stop(self):
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def messages(self):
        return read_maildir(self.handler.maildir)


def read_maildir(maildir):
    """[(meta, message bytes)] of the stored messages, oldest first."""
    new_dir = os.path.join(maildir, "new")
    keys = sorted(os.listdir(new_dir), key=lambda key: tuple(int(p) for p in key.split(".")[:3]))
    stored = []
    for key in keys:
        with open(os.path.join(maildir + ".meta", key + ".json"), encoding="utf-8") as meta:
            with open(os.path.join(new_dir, key), "rb") as message:
                stored.append((json.load(meta), message.read()))
    return stored


def main(argv=None):
    parser = argparse.ArgumentParser(description="SMTP sink for tests (aiosmtpd)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="offer STARTTLS with this key")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (needs --tls)")
    parser.add_argument("--require-tls", action="store_true", help="refuse mail before STARTTLS")
    parser.add_argument("--auth", metavar="USER:PASSWORD", help="require AUTH (PLAIN, LOGIN)")
    parser.add_argument("--reject-rcpt", metavar="REGEX", help="550 for recipients matching REGEX")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N", help="451 for the first N DATA")
    args = parser.parse_args(argv)
    # aiosmtpd logs every connection and warns about its own deprecated login_data and about AUTH without
    # TLS (which a test sink allows on purpose); keep the output to our own lines.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")

    def log(line):
        print(line, flush=True)

    try:
        sink = SmtpSink(args.maildir, port=args.port, host=args.host, tls=args.tls,
                        implicit_tls=args.implicit_tls, auth=args.auth, require_tls=args.require_tls,
                        reject_rcpt=args.reject_rcpt, fail_first=args.fail_first, log=log)
    except (ValueError, OSError, re.error) as error:
        print("FAILED %s" % error, flush=True)
        return 2

    if args.tls:
        try:
            sink._context()
        except (OSError, ssl.SSLError) as error:
            print("FAILED cannot load the TLS certificate %s and key %s: %s" % (args.tls[0], args.tls[1], error),
                  flush=True)
            return 2

    async def run():
        loop = asyncio.get_running_loop()
        try:
            server = await sink.serve(loop)
        except (OSError, ssl.SSLError) as error:
            print("FAILED cannot listen on %s:%d: %s" % (args.host, args.port, error), flush=True)
            return 2
        stop = loop.create_future()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, lambda: stop.done() or stop.set_result(None))
        print("READY %d" % sink.port, flush=True)
        await stop
        server.close()
        await server.wait_closed()
        return 0

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
