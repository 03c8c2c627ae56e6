#!/usr/bin/python3
"""A throwaway Dovecot (IMAP, POP3, IMAPS, POP3S) on 127.0.0.1 for tests of the mailbox poller.

Run as a program:
    dovecot_server.py [--dir DIR] [--keep] --user faxuser:secret [--user other:pw ...]
                      [--imap-port P] [--pop3-port P] [--imaps-port P] [--pop3s-port P] [--no-tls]
prints one JSON line once every listener answers,
    {"imap": 40143, "pop3": 40110, "imaps": 40993, "pop3s": 40995, "cert": "/tmp/.../cert.pem",
     "dir": "/tmp/...", "log": "/tmp/.../dovecot.log", "maildir": {"faxuser": "/tmp/.../Maildir"}}
and runs until SIGTERM or SIGINT, then stops Dovecot (and deletes the directory it made, unless --keep or
--dir was given). With --no-tls there is no TLS at all: no IMAPS/POP3S (null in the JSON), no STARTTLS.
Exit status 2 when Dovecot does not come up; its log is copied to stderr.

Imported:
    with DovecotServer(users={"faxuser": "secret"}) as server:
        server.deliver("faxuser", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        server.imap_port, server.pop3s_port, server.cert, server.messages("faxuser"), server.kick("faxuser")

Decisions:
- Only the standard library and the `dovecot` and `openssl` programs; run it with /usr/bin/python3 (a
  version manager's shim on PATH costs a second per start).
- Dovecot runs in the foreground (-F) in a session of its own, so its pid and process group are ours to
  stop; it stops in about a second (the master waits for its children), or is killed after 2.5 s.
- Ports: the ones given, else free ones picked by binding port 0 (a tiny race with other processes, as with
  any harness that passes ports on).
- Own base_dir, state_dir and instance_name, so it never touches a system Dovecot or another test's.
- As root (the tests' normal case) mail belongs to nobody:nogroup: Dovecot refuses uid 0 for mail. As
  another user everything runs as that user.
- STARTTLS is offered on the plain ports (ssl = yes) and plaintext logins are allowed there
  (disable_plaintext_auth = no), so clients can test both. The certificate is self-signed for CN localhost
  with subjectAltName IP:127.0.0.1 and DNS:localhost (an EC key: made in milliseconds).
- deliver() writes the way a local delivery agent does: Maildir/tmp, fsync, chown, rename into
  Maildir/new. Dovecot gives new messages UIDs in the order of the time in their file names, so the names
  carry strictly increasing times and messages keep the order they were delivered in.
"""

import argparse
import json
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DOVECOT = shutil.which("dovecot", path="/usr/sbin:/usr/bin:/sbin:/bin") or "dovecot"
DOVEADM = shutil.which("doveadm", path="/usr/bin:/usr/sbin:/bin:/sbin") or "doveadm"
OPENSSL = shutil.which("openssl", path="/usr/bin:/bin") or "openssl"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotError(RuntimeError):
    pass


class DovecotServer:
    """Dovecot on 127.0.0.1 with a Maildir per user. start() returns once every listener greets."""

    def __init__(self, users, directory=None, keep=False, tls=True, imap_port=0, pop3_port=0, imaps_port=0,
                 pop3s_port=0):
        if not users:
            raise ValueError("at least one user is needed")
        for name, password in users.items():
            if not name or any(c in name for c in ":/ \t\n") or name in (".", ".."):
                raise ValueError(f"bad user name {name!r}")
            if any(c in password for c in ":\n"):
                raise ValueError(f"the password of {name!r} must not hold ':' or a newline")
        self.users = dict(users)
        self.tls = tls
        self._given_dir = directory
        self._keep = keep or directory is not None
        self.dir = None
        self.imap_port = imap_port
        self.pop3_port = pop3_port
        self.imaps_port = imaps_port if tls else None
        self.pop3s_port = pop3s_port if tls else None
        self.cert = None
        self.log = None
        self._process = None
        self._delivery_lock = threading.Lock()
        self._last_delivery = (0, 0)
        self._delivery_count = 0
        if os.geteuid() == 0:
            self._mail_uid = pwd.getpwnam("nobody").pw_uid
            self._mail_gid = grp.getgrnam("nogroup").gr_gid
        else:
            self._mail_uid = os.geteuid()
            self._mail_gid = os.getegid()

    # --- life cycle -------------------------------------------------------------------------------------

    def start(self, timeout=20.0):
        if self._given_dir:
            os.makedirs(self._given_dir, exist_ok=True)
            self.dir = os.path.abspath(self._given_dir)
        else:
            self.dir = tempfile.mkdtemp(prefix="faxd-dovecot-")
        os.chmod(self.dir, 0o755)  # Dovecot's unprivileged processes must traverse it
        if os.geteuid() == 0:
            self._check_reachable(self.dir)
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for user in self.users:
            for sub in ("new", "cur", "tmp"):
                os.makedirs(self.maildir(user, sub), exist_ok=True)
            for root, dirs, _ in os.walk(os.path.join(self.dir, "mail", user)):
                os.chown(root, self._mail_uid, self._mail_gid)
                for d in dirs:
                    os.chown(os.path.join(root, d), self._mail_uid, self._mail_gid)
        os.chmod(os.path.join(self.dir, "mail"), 0o755)

        self.imap_port = self.imap_port or free_port()
        self.pop3_port = self.pop3_port or free_port()
        if self.tls:
            self.imaps_port = self.imaps_port or free_port()
            self.pop3s_port = self.pop3s_port or free_port()
            self._make_certificate()
        with open(os.path.join(self.dir, "users"), "w") as f:
            for name, password in self.users.items():
                f.write(f"{name}:{{PLAIN}}{password}\n")
        self.log = os.path.join(self.dir, "dovecot.log")
        conf = os.path.join(self.dir, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(self._config())

        with open(self.log, "ab") as log:
            self._process = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            self._wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, timeout=2.5):
        """SIGTERM to Dovecot; after `timeout` SIGKILL to its process group (its own session)."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    # A login process caught starting up while Dovecot stops waits 5 s for a service that is
                    # gone. The master is not reaped yet, so the group id is still its own.
                    os.killpg(self._process.pid, signal.SIGKILL)
                    self._process.wait()
            self._process = None
        if self.dir and not self._keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def info(self):
        return {
            "imap": self.imap_port,
            "pop3": self.pop3_port,
            "imaps": self.imaps_port,
            "pop3s": self.pop3s_port,
            "cert": self.cert,
            "dir": self.dir,
            "log": self.log,
            "maildir": {user: self.maildir(user) for user in self.users},
        }

    # --- mail -------------------------------------------------------------------------------------------

    def maildir(self, user, sub=None):
        path = os.path.join(self.dir, "mail", user, "Maildir")
        return os.path.join(path, sub) if sub else path

    def deliver(self, user, raw):
        """Drops one message into the user's Maildir/new atomically; returns its final path."""
        if user not in self.users:
            raise KeyError(user)
        if isinstance(raw, str):
            raw = raw.encode()
        with self._delivery_lock:
            seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
            if (seconds, micros) <= self._last_delivery:  # strictly increasing: the order Dovecot keeps
                seconds, micros = self._last_delivery
                micros += 1
                if micros == 1_000_000:
                    seconds, micros = seconds + 1, 0
            self._last_delivery = (seconds, micros)
            self._delivery_count += 1
            name = f"{seconds}.M{micros}P{os.getpid()}Q{self._delivery_count}.faxd-test"
        temporary = os.path.join(self.maildir(user, "tmp"), name)
        final = os.path.join(self.maildir(user, "new"), name)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.fchown(fd, self._mail_uid, self._mail_gid)
        finally:
            os.close(fd)
        os.rename(temporary, final)
        return final

    def kick(self, user):
        """Drops every IMAP and POP3 connection of the user (doveadm kick), as a network failure would.
        Returns False when the user had none."""
        result = subprocess.run([DOVEADM, "-c", os.path.join(self.dir, "dovecot.conf"), "kick", user],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if result.returncode == 68:  # EX_NOUSER: nobody of that name connected
            return False
        if result.returncode != 0:
            raise DovecotError("doveadm kick failed: " + result.stderr.decode(errors="replace"))
        return True

    def messages(self, user):
        """The files of the user's messages that still exist (new/ and cur/), sorted by name."""
        found = []
        for sub in ("new", "cur"):
            directory = self.maildir(user, sub)
            found += [os.path.join(directory, n) for n in os.listdir(directory) if not n.startswith(".")]
        return sorted(found, key=os.path.basename)

    # --- internals --------------------------------------------------------------------------------------

    def _make_certificate(self):
        self.cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        result = subprocess.run(
            [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", key, "-out", self.cert],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if result.returncode != 0:
            raise DovecotError("openssl could not make a certificate: " + result.stderr.decode(errors="replace"))
        os.chmod(key, 0o600)

    @staticmethod
    def _check_reachable(directory):
        """Dovecot's login and auth processes run as other users: every parent must let them through."""
        parent = os.path.dirname(directory)
        while parent and parent != os.path.dirname(parent):
            if not os.stat(parent).st_mode & 0o001:
                raise DovecotError(f"{parent} is not searchable by other users (chmod o+x), so Dovecot's "
                                   f"unprivileged processes cannot reach {directory}")
            parent = os.path.dirname(parent)

    def _config(self):
        d = self.dir
        lines = [
            f"base_dir = {d}/run",
            f"state_dir = {d}/state",
            f"instance_name = faxd-dovecot-{os.getpid()}-{os.path.basename(d)}",
            f"log_path = {self.log}",
            "protocols = imap pop3",
            "listen = 127.0.0.1",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "auth_verbose = yes",
            "auth_failure_delay = 0",  # tests of wrong passwords need not wait
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {d}/users",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={self._mail_uid} gid={self._mail_gid} home={d}/mail/%u",
            "}",
            "mail_location = maildir:~/Maildir",
            "first_valid_uid = 1",
            "first_valid_gid = 1",
            "pop3_uidl_format = %08Xu%08Xv",
        ]
        if os.geteuid() != 0:  # no privileges to drop: every process runs as the caller
            me = pwd.getpwuid(os.geteuid()).pw_name
            lines += [f"default_internal_user = {me}", f"default_login_user = {me}",
                      f"default_internal_group = {grp.getgrgid(os.getegid()).gr_name}"]
        if self.tls:
            lines += ["ssl = yes", f"ssl_cert = <{self.cert}", f"ssl_key = <{d}/key.pem"]
        else:
            lines += ["ssl = no"]

        # Without root there is no chroot for the login and anvil processes.
        unprivileged = ["  chroot ="] if os.geteuid() != 0 else []

        def listener(name, port, ssl):
            return [f"  inet_listener {name} {{", "    address = 127.0.0.1", f"    port = {port}"] + (
                ["    ssl = yes"] if ssl else []) + ["  }"]

        lines += ["service imap-login {"] + unprivileged + listener("imap", self.imap_port, False)
        if self.tls:
            lines += listener("imaps", self.imaps_port, True)
        lines += ["}", "service pop3-login {"] + unprivileged + listener("pop3", self.pop3_port, False)
        if self.tls:
            lines += listener("pop3s", self.pop3s_port, True)
        lines += ["}"]
        # No growing delay after failed logins from 127.0.0.1 (anvil's auth penalty): tests try wrong ones.
        lines += ["service anvil {"] + unprivileged + ["  unix_listener anvil-auth-penalty {", "    mode = 0", "  }",
                                                       "}"]
        return "\n".join(lines) + "\n"

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        waiting = {self.imap_port: b"* OK", self.pop3_port: b"+OK"}
        if self.tls:  # a TLS listener accepting a connection is ready; its greeting needs a handshake
            waiting[self.imaps_port] = None
            waiting[self.pop3s_port] = None
        while waiting:
            if self._process.poll() is not None:
                raise DovecotError(f"dovecot exited with status {self._process.returncode}:\n" + self._log_text())
            if time.monotonic() > deadline:
                raise DovecotError("dovecot did not answer in time:\n" + self._log_text())
            if "Fatal:" in self._log_text():  # a service that cannot start is retried, never fixed
                raise DovecotError("a Dovecot service failed:\n" + self._log_text())
            for port, greeting in list(waiting.items()):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                        if greeting is None or s.recv(64).startswith(greeting):
                            del waiting[port]
                except OSError:
                    pass
            if waiting:
                time.sleep(0.02)

    def _log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def main():
    parser = argparse.ArgumentParser(description="Run a throwaway Dovecot on 127.0.0.1 (see the module doc).")
    parser.add_argument("--dir", help="directory to run in (kept afterwards); default: a new temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir after stopping")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD", required=True)
    parser.add_argument("--no-tls", action="store_true", help="no IMAPS/POP3S and no STARTTLS")
    for name in ("imap", "pop3", "imaps", "pop3s"):
        parser.add_argument(f"--{name}-port", type=int, default=0)
    args = parser.parse_args()

    users = {}
    for entry in args.user:
        name, sep, password = entry.partition(":")
        if not sep:
            parser.error(f"--user wants NAME:PASSWORD, got {entry!r}")
        users[name] = password

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = DovecotServer(users, directory=args.dir, keep=args.keep, tls=not args.no_tls,
                           imap_port=args.imap_port, pop3_port=args.pop3_port, imaps_port=args.imaps_port,
                           pop3s_port=args.pop3s_port)
    try:
        server.start()
    except (DovecotError, OSError, ValueError) as error:
        print(f"FAILED {error}", file=sys.stderr, flush=True)
        return 2
    try:
        print(json.dumps(server.info()), flush=True)
        while not stop.is_set():
            if server._process.poll() is not None:
                print(f"FAILED dovecot exited with status {server._process.returncode}", file=sys.stderr,
                      flush=True)
                return 2
            stop.wait(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
