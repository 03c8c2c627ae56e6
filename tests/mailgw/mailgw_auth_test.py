"""Sender authentication by encryption and by the company mail server's DKIM/SPF verdict (docs/mail.md,
"Authentication"), end to end against a running faxd.

- auth = "pgp_encrypted": faxd's own key pair is made by gpg at test time (ed25519 signing primary key with
  a cv25519 encryption subkey) and given to faxd as [mail] pgp_secret_key_file. A PDF encrypted to that key
  (letter.pdf.pgp) is faxed with the decrypted document's pages; a plain PDF is refused with a reply.
- require_dkim_or_spf: only an Authentication-Results header by trusted_authserv_id counts. A mail without
  a pass by that server is not faxed and, as its From may be forged, not answered either (backscatter):
  the log says why, the sender's mailbox stays empty.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from mailgw_support import (FAX_DOMAIN, KEEP, MailFaxd, MailSystem, message_id, pdf_document, swaks, text_of,
                            wait_for)

FAXD_KEY_UID = "faxd <faxd@fax.test>"
FAXD_KEY_ADDRESS = "faxd@fax.test"


class Gpg:
    """A GnuPG home with a short path (the agent's socket path has a length limit); agents killed at close."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="g", dir="/tmp")

    def run(self, *args, data=None):
        r = subprocess.run(["gpg", "--batch", "--homedir", self.home, "--pinentry-mode", "loopback",
                            "--passphrase", "", *args], input=data, capture_output=True)
        if r.returncode != 0:
            raise AssertionError(f"gpg {' '.join(args)} failed: {r.stderr.decode(errors='replace')}")
        return r.stdout

    def faxd_key(self, path):
        """faxd's key pair (ed25519 sign + cv25519 encr, 1 day); the secret key, armored, written to path."""
        self.run("--quick-gen-key", FAXD_KEY_UID, "ed25519", "sign", "1d")
        listing = self.run("--with-colons", "--list-secret-keys", FAXD_KEY_ADDRESS).decode()
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        self.run("--quick-add-key", fingerprint, "cv25519", "encr", "1d")
        with open(path, "wb") as f:
            f.write(self.run("--armor", "--export-secret-keys", fingerprint))
        return fingerprint

    def encrypt(self, recipient, data):
        return self.run("--trust-model", "always", "--encrypt", "-r", recipient, "-o", "-", data=data)

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "all"], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


class MailTestCase(unittest.TestCase):
    """One faxd per class (made by make_faxd), one Dovecot and relay sink, a work directory."""
    users = ["alice", "mallory"]

    @classmethod
    def make_faxd(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix=f"faxd-mailgw-{cls.__name__}-")
        cls.mail = None
        cls.faxd = None
        try:
            cls.prepare()
            cls.mail = MailSystem(cls.users, tls=False)
            cls.faxd = cls.make_faxd()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def cleanup(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        if cls.faxd is not None:
            cls.faxd.stop()
        if cls.mail is not None:
            cls.mail.stop()
        cls.cleanup()
        if not KEEP:
            shutil.rmtree(cls.work, ignore_errors=True)

    def send(self, sender, number, subject, *more, body="Hi"):
        r = swaks(self.faxd.smtp_port, "--from", sender, "--to", f"{number}@{FAX_DOMAIN}",
                  "--header", f"Subject: {subject}", "--header", f"Message-Id: {message_id()}",
                  "--body", body, *more)
        self.assertEqual(r.returncode, 0, r.stdout)
        return r

    def job(self, number, why):
        return wait_for(lambda: self.faxd.jobs_to(number), 60, lambda: why + ":\n" + self.faxd.log_tail())[0]

    def rendered_pages(self, job):
        rendered = wait_for(lambda: (lambda j: j if j["pages"] else None)(
            self.faxd.admin.get(f"/api/v1/faxes/{job['id']}").json()), 90,
            lambda: f"fax {job['id']} was not rendered:\n" + self.faxd.log_tail())
        return rendered["pages"]

    def replies(self, user, subject):
        return [m for m in self.mail.read_mailbox(user) if m["subject"] == f"Re: {subject}"]

    def assert_no_job(self, number):
        self.assertEqual(self.faxd.jobs_to(number), [], f"a job exists for the refused mail to {number}")


class PgpEncryptedTest(MailTestCase):
    """auth = "pgp_encrypted" for every sender: attachments must be encrypted to faxd's own key."""

    @classmethod
    def prepare(cls):
        cls.gpg = Gpg()
        cls.secret_key = os.path.join(cls.work, "faxd-secret.asc")
        cls.fingerprint = cls.gpg.faxd_key(cls.secret_key)
        cls.plain_pdf = pdf_document(cls.work, 2, "Letter")
        with open(cls.plain_pdf, "rb") as f:
            cls.pdf = f.read()
        cls.encrypted_pdf = os.path.join(cls.work, "letter.pdf.pgp")
        with open(cls.encrypted_pdf, "wb") as f:
            f.write(cls.gpg.encrypt(FAXD_KEY_ADDRESS, cls.pdf))
        with open(cls.encrypted_pdf, "rb") as f:
            assert b"%PDF" not in f.read(), "gpg did not encrypt"

    @classmethod
    def make_faxd(cls):
        return MailFaxd("pgpenc", cls.mail.sink_port,
                        mail=f'auth = "pgp_encrypted"\npgp_secret_key_file = "{cls.secret_key}"',
                        extra='[[users]]\nlogin = "alice"\nemail = "alice@example.test"\n')

    @classmethod
    def cleanup(cls):
        if getattr(cls, "gpg", None) is not None:
            cls.gpg.close()

    def encrypted_mail_is_faxed(self, number, subject, content_type):
        self.send("alice@example.test", number, subject, "--attach-type", content_type,
                  "--attach-name", "letter.pdf.pgp", "--attach", f"@{self.encrypted_pdf}")
        job = self.job(number, f"the encrypted mail ({content_type}) made no job")
        self.assertEqual(job["owner"]["login"], "alice")
        # "Hi" is no page of its own: the fax is the decrypted PDF's 2 pages.
        self.assertEqual(self.rendered_pages(job), 2)
        self.assertEqual(self.replies("alice", subject), [])

    def test_pdf_encrypted_to_faxd_as_pgp_encrypted_is_faxed(self):
        self.encrypted_mail_is_faxed("5550501", "encrypted letter", "application/pgp-encrypted")

    def test_pdf_encrypted_to_faxd_as_octet_stream_is_faxed(self):
        self.encrypted_mail_is_faxed("5550502", "encrypted letter as octet-stream", "application/octet-stream")

    def test_unencrypted_pdf_is_refused(self):
        self.send("alice@example.test", "5550503", "plain letter", "--attach-type", "application/pdf",
                  "--attach-name", "letter.pdf", "--attach", f"@{self.plain_pdf}")
        reply = self.mail.wait_for_mail("alice", lambda m: m["subject"] == "Re: plain letter",
                                        why="no refusal of the unencrypted mail:\n" + self.faxd.log_tail())[0]
        self.assertEqual(reply["Auto-Submitted"], "auto-replied")
        text = text_of(reply)
        self.assertIn("not faxed", text)
        self.assertIn("accepts encrypted mail only, and this mail is not encrypted", text)
        self.assertIn("refused (not_encrypted)", self.faxd.log_text())
        self.assert_no_job("5550503")


TRUSTED = "mx.company.test"


class DkimSpfTest(MailTestCase):
    """require_dkim_or_spf with the company server mx.company.test: its pass counts, anyone else's not."""

    @classmethod
    def prepare(cls):
        pdf_document(cls.work, 1, "Letter")

    @classmethod
    def make_faxd(cls):
        return MailFaxd("dkim", cls.mail.sink_port,
                        mail=f'require_dkim_or_spf = true\ntrusted_authserv_id = "{TRUSTED}"',
                        extra='[[users]]\nlogin = "alice"\nemail = "alice@example.test"\n')

    def send_with_results(self, number, subject, results):
        more = []
        for header in results:
            more += ["--add-header", f"Authentication-Results: {header}"]
        self.send("alice@example.test", number, subject, "--attach-type", "application/pdf",
                  "--attach", f"@{os.path.join(self.work, 'Letter.pdf')}", *more)

    def assert_silently_refused(self, number, subject, results):
        log = lambda: self.faxd.log_text().count("refused (dkim_spf_failed)")  # noqa: E731
        before = log()
        self.send_with_results(number, subject, results)
        wait_for(lambda: log() > before, 60,
                 lambda: f"no 'refused (dkim_spf_failed)' for '{subject}':\n" + self.faxd.log_tail())
        # No answer (backscatter): nothing reaches alice's mailbox, nothing goes to the relay for her.
        deadline = time.time() + 4
        while time.time() < deadline:
            self.assertEqual(self.replies("alice", subject), [], f"faxd answered '{subject}'")
            time.sleep(0.5)
        self.assertFalse([meta for meta, _ in self.mail.relayed
                          if any("alice" in r for r in meta["rcpt_tos"])], "faxd relayed mail to alice")
        self.assert_no_job(number)

    def test_dkim_pass_by_the_trusted_server_is_faxed(self):
        self.send_with_results("5550601", "dkim pass", [f"{TRUSTED}; dkim=pass header.d=example.test"])
        job = self.job("5550601", "the mail with the trusted DKIM pass made no job")
        self.assertEqual(job["owner"]["login"], "alice")
        self.assertEqual(self.rendered_pages(job), 1)
        self.assertEqual(self.replies("alice", "dkim pass"), [])

    def test_dkim_pass_by_another_server_is_refused_without_reply(self):
        # The same header, written by a server faxd does not trust (or by the sender): it does not count.
        self.assert_silently_refused("5550602", "forged pass",
                                     ["mx.elsewhere.test; dkim=pass header.d=example.test"])

    def test_no_authentication_results_is_refused_without_reply(self):
        self.assert_silently_refused("5550603", "no results", [])


if __name__ == "__main__":
    unittest.main()
