"""Refusals, sender authentication and mail loops (case 3), and the durable outbox across a relay outage
and a kill -9 (case 4).

Refused mail gets a reply that says why (read from the sender's Dovecot mailbox) and makes no job; mail
from machines (auto-replies, bounces, bulk) gets nothing at all. PIN and PGP (a key made by gpg at test
time; a PGP/MIME multipart/signed built here, detached signature over the CRLF bytes of the first part) are
required per sender domain ([[mail.auth_rules]]).
"""
import base64
import email.message
import email.policy
import email.utils
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from mailgw_support import (FAX_DOMAIN, KEEP, MailFaxd, MailSystem, curl_send, free_port, message_id,
                            pdf_document, swaks, text_of, wait_for)


class Gpg:
    """A GnuPG home for the tests' keys: short path (the agent's socket), killed agent at the end."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="g", dir="/tmp")

    def run(self, *args, data=None):
        return subprocess.run(["gpg", "--batch", "--homedir", self.home, "--pinentry-mode", "loopback",
                               "--passphrase", "", *args], input=data, capture_output=True, check=True).stdout

    def new_key(self, uid):
        self.run("--quick-gen-key", uid, "ed25519", "sign", "never")

    def export(self, address, path):
        with open(path, "wb") as f:
            f.write(self.run("--armor", "--export", address))
        return path

    def detach_sign(self, address, data):
        return self.run("--local-user", address, "--armor", "--detach-sign", "--digest-algo", "SHA256", "-o", "-",
                        data=data)

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "all"], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


def signed_mail(gpg, signer, sender, to, subject, text, pdf=None, tamper=False, protected_headers=False,
                unsigned_pdf=None):
    """A PGP/MIME (RFC 3156) multipart/signed mail: the first part (text and optionally a PDF), then the
    detached signature over exactly that part's bytes (CRLF line ends, without the CRLF before the
    boundary). The signed part has only Content-* fields (Enigmail, Mutt), or with protected_headers also
    From, To and Subject (Thunderbird's protected headers, draft-autocrypt-lamps-protected-headers).
    unsigned_pdf: the multipart/signed goes into a multipart/mixed with this PDF after it, unsigned (as if
    someone had added it on the way)."""
    inner = email.message.EmailMessage(policy=email.policy.SMTP)
    inner.set_content(text)
    if pdf is not None:
        inner.add_attachment(pdf, maintype="application", subtype="pdf", filename="signed.pdf")
    del inner["MIME-Version"]
    if protected_headers:
        inner.set_param("protected-headers", "v1")
        inner["From"] = sender
        inner["To"] = to
        inner["Subject"] = subject
    part = inner.as_bytes(policy=email.policy.SMTP)
    if part.endswith(b"\r\n"):
        part = part[:-2]
    signature = gpg.detach_sign(signer, part)
    if tamper:  # a mail server that "fixes" the text on the way breaks the signature
        part = part.replace(b"signed letter", b"signed LETTER", 1)
        assert b"signed LETTER" in part
    boundary = "signed-" + uuid.uuid4().hex
    signed_entity = (
        f'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; '
        f'boundary="{boundary}"\r\n\r\nThis is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n'
        f"--{boundary}\r\n").encode() + part + f"\r\n--{boundary}\r\n".encode() + (
        b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
        b"Content-Description: OpenPGP digital signature\r\n"
        b'Content-Disposition: attachment; filename="signature.asc"\r\n\r\n'
        + signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")) + f"\r\n--{boundary}--\r\n".encode()
    if unsigned_pdf is not None:
        outer = "outer-" + uuid.uuid4().hex
        signed_entity = (f'Content-Type: multipart/mixed; boundary="{outer}"\r\n\r\n--{outer}\r\n'.encode()
                         + signed_entity + f"\r\n--{outer}\r\n".encode()
                         + b'Content-Type: application/pdf; name="added.pdf"\r\n'
                           b"Content-Transfer-Encoding: base64\r\n"
                           b'Content-Disposition: attachment; filename="added.pdf"\r\n\r\n'
                         + base64.encodebytes(unsigned_pdf).replace(b"\n", b"\r\n")
                         + f"--{outer}--\r\n".encode())
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id()}\r\n"
            f"Date: {email.utils.formatdate(localtime=True)}\r\nMIME-Version: 1.0\r\n")
    return head.encode() + signed_entity


class RefusalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="faxd-mailgw-refusal-")
        cls.gpg = Gpg()
        cls.gpg.new_key("Dave Example <dave@pgp.test>")
        cls.gpg.new_key("Mallory <mallory@pgp.test>")
        dave_key = cls.gpg.export("dave@pgp.test", os.path.join(cls.work, "dave.asc"))
        with open(pdf_document(cls.work, 1, "Signed"), "rb") as f:
            cls.pdf = f.read()
        cls.mail = MailSystem(["alice", "erin", "carol", "dave", "mallory"], tls=False)
        cls.faxd = None
        try:
            cls.faxd = MailFaxd("refusal", cls.mail.sink_port, extra=f"""
[[users]]
login = "alice"
email = "alice@example.test"
[[users]]
login = "erin"
email = "erin@example.test"
send = false
[[users]]
login = "carol"
email = "carol@pin.test"
mail_pin = "4711"
[[users]]
login = "dave"
email = "dave@pgp.test"
pgp_key_file = "{dave_key}"
[[mail.auth_rules]]
domain = "pin.test"
auth = "pin"
[[mail.auth_rules]]
domain = "pgp.test"
auth = "pgp_signed"
""")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.faxd is not None:
            cls.faxd.stop()
        cls.mail.stop()
        cls.gpg.close()
        if not KEEP:
            shutil.rmtree(cls.work, ignore_errors=True)

    def send(self, sender, number, subject, body="Please fax this letter; it has enough words for a page.",
             *more):
        r = swaks(self.faxd.smtp_port, "--from", sender, "--to", f"{number}@{FAX_DOMAIN}",
                  "--header", f"Subject: {subject}", "--header", f"Message-Id: {message_id()}",
                  "--body", body, *more)
        self.assertEqual(r.returncode, 0, r.stdout)
        return r

    def refusal(self, user, subject):
        """The reply to the mail with this subject, in the user's mailbox."""
        reply = self.mail.wait_for_mail(user, lambda m: m["subject"] == f"Re: {subject}",
                                        why=f"no refusal '{subject}' for {user}:\n" + self.faxd.log_tail())[0]
        self.assertEqual(reply["Auto-Submitted"], "auto-replied")
        self.assertTrue(reply["In-Reply-To"], "the refusal does not say which mail it answers")
        return reply, text_of(reply)

    def assert_no_job(self, number):
        self.assertEqual(self.faxd.jobs_to(number), [], f"a job exists for the refused mail to {number}")

    def test_unknown_sender(self):
        self.send("mallory@example.test", "5550301", "from a stranger")
        _, text = self.refusal("mallory", "from a stranger")
        self.assertIn("not faxed", text)
        self.assertIn("your sender address is not registered with the fax server", text)
        self.assert_no_job("5550301")

    def test_user_without_send_permission(self):
        self.send("erin@example.test", "5550302", "no permission")
        _, text = self.refusal("erin", "no permission")
        self.assertIn("your account is not allowed to send faxes", text)
        self.assert_no_job("5550302")

    def test_pin_wrong_missing_and_right(self):
        self.send("carol@pin.test", "5550303", "wrong pin", "A letter with a wrong PIN.\nPIN: 0000\n")
        _, text = self.refusal("carol", "wrong pin")
        self.assertIn("the PIN in the mail is wrong", text)
        self.assertNotIn("0000", text)  # the reply does not echo the PIN
        self.send("carol@pin.test", "5550304", "no pin", "A letter without any PIN line in it.")
        _, text = self.refusal("carol", "no pin")
        self.assertIn("needs a PIN", text)
        self.send("carol@pin.test", "5550305", "right pin", "A letter with the right PIN.\nPIN: 4711\n")
        job = wait_for(lambda: self.faxd.jobs_to("5550305"), 60,
                       lambda: "the mail with the right PIN made no job:\n" + self.faxd.log_tail())[0]
        self.assertEqual(job["owner"]["login"], "carol")
        self.assert_no_job("5550303")
        self.assert_no_job("5550304")

    def test_nothing_to_fax(self):
        # "Hi" is no page of its own (fewer than 12 letters); a file faxd cannot convert is skipped and named.
        data = os.path.join(self.work, "data.bin")
        with open(data, "wb") as f:
            f.write(bytes(range(256)) * 16)
        self.send("alice@example.test", "5550315", "nothing in it", "Hi", "--attach-type",
                  "application/octet-stream", "--attach", f"@{data}")
        _, text = self.refusal("alice", "nothing in it")
        self.assertIn("the mail has nothing to fax", text)
        self.assertIn("data.bin", text)
        self.assert_no_job("5550315")

    def test_unsigned_mail_where_a_signature_is_required(self):
        self.send("dave@pgp.test", "5550306", "unsigned")
        _, text = self.refusal("dave", "unsigned")
        self.assertIn("accepts signed mail only, and this mail is not signed", text)
        self.assert_no_job("5550306")

    def signed_mail_is_faxed(self, number, subject, protected_headers):
        raw = signed_mail(self.gpg, "dave@pgp.test", "Dave Example <dave@pgp.test>", f"{number}@{FAX_DOMAIN}",
                          subject, "This signed letter comes with a signed PDF attachment.", pdf=self.pdf,
                          protected_headers=protected_headers)
        r = curl_send(self.faxd.smtp_port, "dave@pgp.test", [f"{number}@{FAX_DOMAIN}"], raw, self.work)
        self.assertEqual(r.returncode, 0, r.stderr)
        job = wait_for(lambda: self.faxd.jobs_to(number), 30,
                       lambda: "the signed mail made no job:\n" + self.faxd.log_tail())[0]
        self.assertEqual(job["owner"]["login"], "dave")
        # The signed text and the signed PDF are the fax: 2 pages once rendered.
        rendered = wait_for(lambda: (lambda j: j if j["pages"] else None)(
            self.faxd.admin.get(f"/api/v1/faxes/{job['id']}").json()), 60, "the signed fax was not rendered")
        self.assertEqual(rendered["pages"], 2, rendered)
        self.assertFalse([m for m in self.mail.read_mailbox("dave") if m["subject"] == f"Re: {subject}"])

    def test_pgp_mime_signed_mail_is_faxed(self):
        # The signed part as Enigmail and Mutt make it: Content-Type and nothing else in its header.
        self.signed_mail_is_faxed("5550307", "signed", protected_headers=False)

    def test_pgp_mime_signed_mail_with_protected_headers_is_faxed(self):
        self.signed_mail_is_faxed("5550314", "signed with protected headers", protected_headers=True)

    def test_attachment_outside_the_signature_is_refused(self):
        # A signed mail to which someone added an unsigned PDF (multipart/mixed around multipart/signed):
        # the PDF is not covered, so nothing is faxed.
        raw = signed_mail(self.gpg, "dave@pgp.test", "dave@pgp.test", f"5550316@{FAX_DOMAIN}", "added",
                          "This signed letter got an unsigned attachment on the way.", unsigned_pdf=self.pdf)
        r = curl_send(self.faxd.smtp_port, "dave@pgp.test", [f"5550316@{FAX_DOMAIN}"], raw, self.work)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, text = self.refusal("dave", "added")
        self.assertIn("not signed", text)
        self.assertIn("covers only part of the message", text)
        self.assert_no_job("5550316")

    def test_tampered_signature_is_refused(self):
        raw = signed_mail(self.gpg, "dave@pgp.test", "dave@pgp.test", f"5550308@{FAX_DOMAIN}", "tampered",
                          "This signed letter was changed on the way.", tamper=True)
        r = curl_send(self.faxd.smtp_port, "dave@pgp.test", [f"5550308@{FAX_DOMAIN}"], raw, self.work)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, text = self.refusal("dave", "tampered")
        self.assertIn("the signature of the mail could not be verified", text)
        self.assert_no_job("5550308")

    def test_signature_by_another_key_is_refused(self):
        raw = signed_mail(self.gpg, "mallory@pgp.test", "dave@pgp.test", f"5550309@{FAX_DOMAIN}", "other key",
                          "This signed letter is signed by someone else's key.")
        r = curl_send(self.faxd.smtp_port, "dave@pgp.test", [f"5550309@{FAX_DOMAIN}"], raw, self.work)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, text = self.refusal("dave", "other key")
        self.assertIn("the signature of the mail could not be verified", text)
        self.assert_no_job("5550309")

    def test_mail_from_machines_gets_nothing_and_makes_no_job(self):
        before = self.faxd.log_text().count("sent by a machine")
        # An auto-reply, a bulk mail and a bounce (null reverse path), all "from" a user who may send.
        self.send("alice@example.test", "5550310", "Out of office", "I am away until Monday, back soon.",
                  "--header", "Auto-Submitted: auto-replied")
        self.send("alice@example.test", "5550311", "Newsletter", "Our newsletter with lots of words.",
                  "--header", "Precedence: bulk")
        self.send("<>", "5550312", "Undelivered Mail Returned to Sender", "The mail could not be delivered.",
                  "--header", "From: alice@example.test")
        wait_for(lambda: self.faxd.log_text().count("sent by a machine") >= before + 3, 60,
                 lambda: "faxd did not handle the three automatic mails:\n" + self.faxd.log_tail())
        for number in ("5550310", "5550311", "5550312"):
            self.assert_no_job(number)
        # A normal mail afterwards is faxed (and handled after them: the intake keeps the order).
        self.send("alice@example.test", "5550313", "A real letter")
        wait_for(lambda: self.faxd.jobs_to("5550313"), 60, lambda: "no job:\n" + self.faxd.log_tail())
        time.sleep(1)
        self.mail.pump()
        answers = [m["subject"] for m in self.mail.read_mailbox("alice")
                   if m["subject"] in ("Re: Out of office", "Re: Newsletter", "Re: A real letter",
                                       "Re: Undelivered Mail Returned to Sender")]
        self.assertEqual(answers, [])
        for number in ("5550310", "5550311", "5550312"):
            self.assert_no_job(number)


class RelayDownTest(unittest.TestCase):
    """Case 4: the relay is down when faxd has mail to send; faxd is killed (-9) and started again with the
    same directory and config; when the relay is back, the mail arrives."""

    @classmethod
    def setUpClass(cls):
        cls.mail = MailSystem(["mallory", "postmaster"], tls=False, sink_port=free_port())
        cls.faxd = None
        try:
            cls.faxd = MailFaxd("outage", cls.mail.sink_port, mail='admin_address = "postmaster@example.test"',
                                extra='[[users]]\nlogin = "alice"\nemail = "alice@example.test"\n')
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.faxd is not None:
            cls.faxd.stop()
        cls.mail.stop()

    def queued(self):
        """The outbox's queued envelopes (queue/<id>.json)."""
        found = []
        for path in glob.glob(os.path.join(self.faxd.mail_dir, "out", "queue", "*.json")):
            try:
                with open(path) as f:
                    found.append(json.load(f))
            except (OSError, ValueError):
                pass
        return found

    def test_mail_survives_relay_outage_and_kill_9(self):
        port = self.mail.sink_port
        self.mail.stop_sink()
        r = swaks(self.faxd.smtp_port, "--from", "mallory@example.test", "--to", f"5550401@{FAX_DOMAIN}",
                  "--header", "Subject: while the relay is down", "--header", f"Message-Id: {message_id()}",
                  "--body", "A stranger's letter, refused while faxd's mail relay is down.")
        self.assertEqual(r.returncode, 0, r.stdout)
        # The refusal waits in the outbox after a failed attempt.
        wait_for(lambda: any(e.get("attempts", 0) >= 1 for e in self.queued()), 60,
                 lambda: f"no failed attempt in the outbox: {self.queued()}\n" + self.faxd.log_tail())
        self.assertIn("mail relay unreachable", self.faxd.log_text())
        waiting = len(glob.glob(os.path.join(self.faxd.mail_dir, "out", "queue", "*.eml")))
        self.assertGreaterEqual(waiting, 1)

        self.faxd.kill9()
        self.faxd.restart()
        self.mail.sink_port = port
        self.mail.start_sink()
        self.assertEqual(self.mail.sink_port, port)

        # Retried with backoff (30 s after the failed attempt; the wait is kept across the restart).
        reply = self.mail.wait_for_mail("mallory", lambda m: m["subject"] == "Re: while the relay is down",
                                        timeout=180, why="the refusal never arrived:\n" + self.faxd.log_tail())
        self.assertEqual(len(reply), 1)
        self.assertIn("your sender address is not registered with the fax server", text_of(reply[0]))
        self.assertEqual(self.faxd.jobs_to("5550401"), [])
        # The administrator's alert about the outage was queued as well, and comes too.
        alert = self.mail.wait_for_mail("postmaster", lambda m: m["subject"].startswith("[faxd alert]"),
                                        timeout=180, why="no relay alert:\n" + self.faxd.log_tail())[0]
        self.assertIn("unreachable", alert["subject"])
        wait_for(lambda: not self.queued(), 60, lambda: f"the outbox is not empty: {self.queued()}")


if __name__ == "__main__":
    unittest.main()
