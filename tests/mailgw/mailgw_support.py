"""Shared parts of the e-mail gateway's integration tests (issue 7, docs/mail.md).

Real components only:
- faxd itself (MailFaxd: the REST harness's Faxd with a [mail] section, and kill -9 / restart in the same
  directory with the same config);
- the company's SMTP relay: tests/support/smtp_sink.py (aiosmtpd, in-process), which stores what faxd sends
  in one maildir;
- users' mailboxes: Dovecot (tests/support/dovecot_server.py). Relay.pump() plays the company mail server's
  local delivery: it moves every message the sink took into the Dovecot mailbox of each envelope recipient's
  local part, so the tests read results over IMAP, as a user would;
- clients: swaks and curl (SMTP), imaplib and poplib (mailboxes), LibreOffice, Ghostscript, GnuPG, OpenSSL and
  poppler's pdfinfo for the documents, keys and checks.

Runs with /usr/bin/python3 (Debian's: it has aiosmtpd).
"""
import email
import email.policy
import imaplib
import json
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "rest"))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))

from faxd_harness import FAXD, Client, Faxd, free_port, free_sip_port  # noqa: E402
from dovecot_server import DovecotServer  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

FAX_DOMAIN = "fax.test"
PASSWORD = "mailbox-secret"  # every Dovecot user's password

# Keep the temporary directories (faxd's, the sink's, the documents') after the run, for a look at the logs.
KEEP = os.environ.get("MAILGW_KEEP") == "1"


def wait_for(predicate, timeout, message, interval=0.2):
    """The first truthy value of predicate() within timeout seconds; else AssertionError(message()).
    `message` may be a callable, so it can show a log tail at the time of the failure."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)


# --- faxd ---------------------------------------------------------------------------------------------------


class MailFaxd(Faxd):
    """faxd with the e-mail gateway on: its own directory, free ports (HTTP, SIP, SMTP listener), the relay
    at 127.0.0.1:relay_port. kill9() and restart() keep the directory and the config (the durability
    tests); the REST harness's helpers (admin client, add_user, log_text, stop) are inherited.

    `mail` is added to the [mail] table, `smtp` to [mail.smtp]; `extra` comes last (users, routes,
    entities, mailboxes, auth rules)."""

    def __init__(self, name, relay_port, sending=False, office=False, local_number="", mail="", smtp="",
                 extra=""):
        # Not Faxd.__init__: its config fixes [render] and [queue], which TOML does not let us amend.
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"faxd-mailgw-{name}-")
        self.http_port = free_port()
        self.sip_port = free_sip_port()
        self.smtp_port = free_port()
        self.relay_port = relay_port
        self.token_file = os.path.join(self.dir, "admin.token")
        self.mail_dir = os.path.join(self.dir, "spool", "mail")
        config = f"""
[log]
level = "info"
[spool]
directory = "{self.dir}/spool"
[store]
url = "sqlite:{self.dir}/faxd.db"
node = "mailgw-{name}-{self.http_port}"
[queue]
sending_enabled = {"true" if sending else "false"}
poll_interval_ms = 100
[render]
office = {"true" if office else "false"}
office_timeout = 180
[sip]
listen = "127.0.0.1"
port = {self.sip_port}
local_number = "{local_number}"
[media]
address = "127.0.0.1"
port_min = 0
timeout = 10
[fax]
ident = "faxd {name}"
[http]
listen = "127.0.0.1"
port = {self.http_port}
admin_token_file = "{self.token_file}"
max_upload_mb = 4
[mail]
enabled = true
fax_domain = "{FAX_DOMAIN}"
from_address = "faxd-{name}@example.test"
from_name = "faxd {name}"
{mail}
[mail.smtp]
enabled = true
listen = "127.0.0.1"
port = {self.smtp_port}
hostname = "faxd-{name}.test"
{smtp}
[mail.relay]
host = "127.0.0.1"
port = {relay_port}
tls = "none"
{extra}
"""
        self.config = os.path.join(self.dir, "faxd.toml")
        with open(self.config, "w") as f:
            f.write(config)
        self.process = None
        self.log = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "faxd.log"), "ab")
        self.process = subprocess.Popen([FAXD, "--config", self.config], stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=self.dir)
        self.token = self._wait_ready()
        self.admin = Client(self.http_port, self.token)
        wait_for(lambda: _accepts(self.smtp_port), 30, lambda: f"faxd {self.name}: SMTP listener not up\n"
                 + self.log_tail())

    def kill9(self):
        """SIGKILL: no shutdown code runs, as in a crash or a power cut."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def restart(self):
        self.start()

    def log_tail(self, n=4000):
        return self.log_text()[-n:]

    def jobs(self, **query):
        """Outbound faxes (all owners: the administrator's view), newest first."""
        q = "&".join(f"{k}={v}" for k, v in dict(direction="outbound", limit=1000, **query).items())
        r = self.admin.get(f"/api/v1/faxes?{q}")
        assert r.status == 200, r
        return r.json()["faxes"]

    def jobs_to(self, number):
        return [j for j in self.jobs() if j["number"].endswith(number)]

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            super().stop()
        elif self.log is not None and not self.log.closed:
            self.log.close()
        # GnuPG agents faxd's keyring may have started in its PGP home.
        pgp = os.path.join(self.mail_dir, "pgp")
        if os.path.isdir(pgp):
            subprocess.run(["gpgconf", "--homedir", pgp, "--kill", "all"], capture_output=True)
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


# --- the company's mail system: relay (sink) and mailboxes (Dovecot) -----------------------------------------


class MailSystem:
    """The SMTP sink faxd relays through, and Dovecot with a mailbox per user. pump() delivers what the sink
    took to the Dovecot mailbox of each recipient's local part; what has no mailbox is kept in `unrouted`."""

    def __init__(self, users, tls=True, sink_port=0):
        self.dir = tempfile.mkdtemp(prefix="faxd-mailgw-mail-")
        self.sink_maildir = os.path.join(self.dir, "sink")
        self.dovecot = DovecotServer({u: PASSWORD for u in users}, tls=tls).start()
        self.sink = None
        self.sink_port = sink_port
        self.start_sink()
        self.relayed = []  # (meta, bytes) of every message the sink took, in order
        self.unrouted = []

    def start_sink(self):
        self.sink = SmtpSink(self.sink_maildir, port=self.sink_port)
        self.sink_port = self.sink.start()

    def stop_sink(self):
        if self.sink is not None:
            self.sink.stop()
            self.sink = None

    def stop(self):
        self.stop_sink()
        self.dovecot.stop()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def pump(self):
        """Local delivery: sink maildir new/ -> Dovecot, each message once (moved to the sink's cur/)."""
        new_dir = os.path.join(self.sink_maildir, "new")
        if not os.path.isdir(new_dir):
            return
        keys = sorted(os.listdir(new_dir), key=lambda key: tuple(int(p) for p in key.split(".")[:3]))
        for key in keys:
            with open(os.path.join(self.sink_maildir + ".meta", key + ".json"), encoding="utf-8") as f:
                meta = json.load(f)
            with open(os.path.join(new_dir, key), "rb") as f:
                raw = f.read()
            for rcpt in meta["rcpt_tos"]:
                local = rcpt.strip("<>").rsplit("@", 1)[0].lower()
                if local in self.dovecot.users:
                    self.dovecot.deliver(local, raw)
                else:
                    self.unrouted.append((meta, raw))
            self.relayed.append((meta, raw))
            os.rename(os.path.join(new_dir, key), os.path.join(self.sink_maildir, "cur", key))

    def read_mailbox(self, user):
        """Every message in the user's INBOX over IMAP (read-only), parsed."""
        self.pump()
        imap = imaplib.IMAP4("127.0.0.1", self.dovecot.imap_port)
        try:
            imap.login(user, PASSWORD)
            imap.select("INBOX", readonly=True)
            _, data = imap.uid("SEARCH", None, "ALL")
            messages = []
            for uid in data[0].split():
                _, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next(part[1] for part in fetched if isinstance(part, tuple))
                messages.append(email.message_from_bytes(raw, policy=email.policy.default))
            return messages
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def wait_for_mail(self, user, predicate=lambda m: True, timeout=60, count=1, why=None):
        """The user's messages that match, once there are `count` of them."""
        def found():
            matching = [m for m in self.read_mailbox(user) if predicate(m)]
            return matching if len(matching) >= count else None
        return wait_for(found, timeout, lambda: (why or f"no mail for {user}") + "; the mailbox has: "
                        + repr([m["subject"] for m in self.read_mailbox(user)]), interval=0.25)

    def deliver(self, user, raw):
        """A mail arrives in a mailbox (a mailbox faxd polls): the company server's local delivery."""
        return self.dovecot.deliver(user, raw)


def mailbox_count_imap(dovecot, user):
    """Messages in the user's INBOX as Dovecot's IMAP says (not counting \\Deleted ones)."""
    imap = imaplib.IMAP4("127.0.0.1", dovecot.imap_port)
    try:
        imap.login(user, PASSWORD)
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "UNDELETED")
        return len(data[0].split())
    finally:
        imap.logout()


def mailbox_count_pop3(dovecot, user):
    pop = poplib.POP3("127.0.0.1", dovecot.pop3_port)
    try:
        pop.user(user)
        pop.pass_(PASSWORD)
        return pop.stat()[0]
    finally:
        pop.quit()


# --- clients and documents -------------------------------------------------------------------------------------


def swaks(port, *args, timeout=120):
    """swaks against 127.0.0.1:port; the CompletedProcess (stdout is the transcript)."""
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--helo", "client.test",
                           "--timeout", "60", *args], capture_output=True, text=True, timeout=timeout)


def curl_send(port, mail_from, rcpts, message_bytes, directory, timeout=120):
    """curl's SMTP client sends a prepared message (CRLF line ends, sent as it is)."""
    path = os.path.join(directory, f"curl-{time.time_ns()}.eml")
    with open(path, "wb") as f:
        f.write(message_bytes)
    command = ["curl", "-sS", "-v", f"smtp://127.0.0.1:{port}/client.test", "--mail-from", mail_from,
               "--upload-file", path]
    for rcpt in rcpts:
        command += ["--mail-rcpt", rcpt]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def pdf_document(directory, pages, title="Letter"):
    """A PDF of `pages` pages made by Ghostscript from PostScript."""
    ps = os.path.join(directory, f"{title}.ps")
    pdf = os.path.join(directory, f"{title}.pdf")
    with open(ps, "w") as f:
        f.write("%!PS\n/Helvetica findfont 24 scalefont setfont\n")
        for n in range(1, pages + 1):
            f.write(f"72 700 moveto ({title}: page {n} of {pages}) show\n"
                    f"72 650 moveto (sent through the faxd mail gateway) show showpage\n")
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-o", pdf, ps],
                   check=True)
    return pdf


def docx_document(directory, text):
    """A DOCX made by LibreOffice from a text file (its own profile in a temporary HOME)."""
    home = tempfile.mkdtemp(prefix="soffice-home-", dir=directory)
    source = os.path.join(directory, "memo.txt")
    with open(source, "w") as f:
        f.write(text)
    env = dict(os.environ, HOME=home)
    subprocess.run(["soffice", "--headless", "--norestore", "--convert-to", "docx", "--outdir", directory, source],
                   check=True, capture_output=True, env=env, timeout=240)
    path = os.path.join(directory, "memo.docx")
    assert os.path.getsize(path) > 1000, "LibreOffice made no DOCX"
    return path


def pdf_pages(data):
    """Page count by poppler's pdfinfo."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def self_signed_certificate(directory, name="localhost"):
    """(cert, key) by openssl, for CN localhost with subjectAltName IP:127.0.0.1 and DNS:localhost."""
    cert = os.path.join(directory, "smtp-cert.pem")
    key = os.path.join(directory, "smtp-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def text_of(message):
    """The plain text body of a parsed mail ('' when it has none)."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_of(message):
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def attachments_of(message):
    """[(file name, content type, bytes, Content-ID)] of every non-body part with a file name or an id."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        cid = part.get("Content-ID")
        if name or cid:
            found.append((name, part.get_content_type(), part.get_payload(decode=True), cid))
    return found


def message_id():
    return f"<{time.time_ns()}.{os.getpid()}@client.test>"
