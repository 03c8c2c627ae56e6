"""Mail to fax through faxd's SMTP listener (swaks), a real fax call over SIP/T.38 from faxd A to faxd B, and
the mails that come of it: the receipt to the sender and the received fax to its user, read over IMAP from
Dovecot. And the listener's own checks: recipients at RCPT time, STARTTLS, AUTH.
"""
import os
import shutil
import tempfile
import unittest

from mailgw_support import (FAX_DOMAIN, KEEP, MailFaxd, MailSystem, attachments_of, docx_document, html_of,
                            message_id, pdf_document, pdf_pages, self_signed_certificate, swaks, text_of, wait_for)

NUMBER = "47200"          # bob's number on faxd B; faxd A routes it to B over SIP
CALLING = "4711"          # faxd A's number in the From of its calls
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class MailToFaxOverSipTest(unittest.TestCase):
    """Case 1: one mail with a PDF and a DOCX, sent by swaks to faxd A, is faxed to faxd B; the sender gets
    the receipt, B's user gets the fax as a PDF."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="faxd-mailgw-docs-")
        cls.mail = MailSystem(["alice", "bob", "gina", "gina-fax"])
        cls.b = None
        cls.a = None
        try:
            cls.b = MailFaxd("b", cls.mail.sink_port, mail='received_file_name = "kalliope"', extra=f"""
[[users]]
login = "bob"
name = "Bob Example"
email = "bob@example.test"
numbers = ["{NUMBER}"]
""")
            cls.a = MailFaxd("a", cls.mail.sink_port, sending=True, office=True, local_number=CALLING, extra=f"""
[[users]]
login = "alice"
name = "Alice Example"
email = "alice@example.test"
[[users]]
login = "gina"
email = "gina@example.test"
fax_email = "gina-fax@example.test"
[[routes]]
name = "to-faxd-b"
prefix = "{NUMBER}"
t38_in_offer = true
gateways = [ {{ host = "127.0.0.1", port = {cls.b.sip_port}, transport = "udp" }} ]
""")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for faxd in (cls.a, cls.b):
            if faxd is not None:
                faxd.stop()
        cls.mail.stop()
        if not KEEP:
            shutil.rmtree(cls.work, ignore_errors=True)

    def test_mail_with_pdf_and_docx_is_faxed_and_both_sides_get_mail(self):
        pdf = pdf_document(self.work, 2, "Figures")
        docx = docx_document(self.work, "Memo\n\nThis page was a Word document before it became a fax.\n")
        body = os.path.join(self.work, "body.txt")
        with open(body, "w") as f:
            f.write("Dear Bob,\n\nplease find the quarterly figures and the memo attached.\n\n-- \nAlice\n")
        sent = swaks(self.a.smtp_port, "--from", "alice@example.test", "--to", f"{NUMBER}@{FAX_DOMAIN}",
                     "--header", "Subject: Quarterly figures", "--header", f"Message-Id: {message_id()}",
                     "--body", f"@{body}",
                     "--attach-type", "application/pdf", "--attach", f"@{pdf}",
                     "--attach-type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     "--attach", f"@{docx}")
        self.assertEqual(sent.returncode, 0, sent.stdout + sent.stderr)
        self.assertRegex(sent.stdout, r"<- +250 2\.0\.0 .*queued")
        # The body (real text) is page 1, then the PDF's 2 pages, then the DOCX's page.
        expected_pages = 4

        job = wait_for(lambda: self.a.jobs_to(NUMBER), 60,
                       lambda: "no job on faxd A for the mail:\n" + self.a.log_tail())[0]
        self.assertEqual(job["owner"]["login"], "alice")
        done = wait_for(lambda: (lambda j: j if j["state"] in ("sent", "failed", "partially_sent") else None)(
            self.a.admin.get(f"/api/v1/faxes/{job['id']}").json()), 240,
            lambda: "the fax did not finish:\n" + self.a.log_tail())
        self.assertEqual(done["state"], "sent", done)
        self.assertEqual(done["pages"], expected_pages, done)
        self.assertEqual(done["pages_sent"], expected_pages, done)
        self.assertEqual(done["attempts"][-1]["transport"], "t38", done)

        # faxd B received it: its REST API has the fax with every page, owned by bob.
        inbound = wait_for(lambda: [f for f in self.b.admin.get("/api/v1/faxes?direction=inbound").json()["faxes"]
                                    if f["state"] in ("received", "partial", "failed")], 60,
                           lambda: "faxd B has no received fax:\n" + self.b.log_tail())[0]
        self.assertEqual(inbound["state"], "received", inbound)
        self.assertEqual(inbound["pages"], expected_pages, inbound)
        self.assertEqual(inbound["owner"]["name"], "bob", inbound)
        self.assertTrue(inbound["number"].endswith(NUMBER), inbound)

        with self.subTest("receipt to the sender"):
            receipt = self.mail.wait_for_mail("alice", lambda m: done["reference"] in m["subject"], timeout=90,
                                              why="no receipt for alice")[0]
            subject = receipt["subject"]
            self.assertIn("sent", subject)
            self.assertNotIn("not sent", subject)
            self.assertIn(f"{expected_pages} of {expected_pages}", subject)
            self.assertIn("Quarterly figures", subject)
            self.assertTrue(receipt["Auto-Submitted"].startswith("auto-"), receipt["Auto-Submitted"])
            self.assertIn(f"was sent: {expected_pages} of {expected_pages} pages", text_of(receipt))
            parts = attachments_of(receipt)
            reports = [p for p in parts if p[1] == "application/pdf"]
            self.assertEqual(len(reports), 1, [(p[0], p[1]) for p in parts])
            self.assertEqual(reports[0][0], f"report-{done['reference']}.pdf")
            self.assertTrue(reports[0][2].startswith(b"%PDF"))
            self.assertGreaterEqual(pdf_pages(reports[0][2]), 1)
            images = [p for p in parts if p[1] == "image/png"]
            self.assertEqual(len(images), 1, [(p[0], p[1]) for p in parts])
            self.assertTrue(images[0][2].startswith(PNG_SIGNATURE), images[0][2][:16])
            png_part = next(p for p in receipt.walk() if p.get_content_type() == "image/png")
            self.assertNotEqual(png_part.get_content_disposition(), "attachment", "the thumbnail is not inline")
            cid = (images[0][3] or "").strip("<>")
            self.assertTrue(cid, "the thumbnail has no Content-ID")
            self.assertIn(f"cid:{cid}", html_of(receipt))

        fax_mail = name = None
        with self.subTest("the fax to its recipient"):
            fax_mail = self.mail.wait_for_mail("bob", timeout=90, why="no fax mail for bob")[0]
            self.assertTrue(fax_mail["subject"].startswith(f"[{inbound['reference']}] Fax received from "),
                            fax_mail["subject"])
            pdfs = [p for p in attachments_of(fax_mail) if p[0] and p[0].endswith(".pdf")]
            self.assertEqual(len(pdfs), 1, attachments_of(fax_mail))
            name, content_type, data, _ = pdfs[0]
            self.assertEqual(content_type, "application/pdf")
            self.assertRegex(name, rf"_T{NUMBER}_\d{{4}}-\d\d-\d\d_\d\d_\d\d_\d\d_\d+\.pdf$")
            self.assertTrue(data.startswith(b"%PDF"))
            self.assertEqual(pdf_pages(data), expected_pages)
            text = text_of(fax_mail)
            self.assertRegex(text, rf"Pages:\s+{expected_pages}\b")
            self.assertIn(name, text)

        with self.subTest("the calling number in the fax mail's subject and Kalliope file name"):
            # faxd A calls with [sip] local_number in its From; B records it as the caller (ANI).
            self.assertIsNotNone(name, "no fax mail to check")
            self.assertEqual(inbound.get("from"), CALLING,
                             "faxd B did not get faxd A's [sip] local_number as the calling number")
            self.assertEqual(fax_mail["subject"], f"[{inbound['reference']}] Fax received from {CALLING}")
            self.assertRegex(name, rf"^F0.*_T{NUMBER}_\d{{4}}-\d\d-\d\d_\d\d_\d\d_\d\d_\d+\.pdf$")
            self.assertTrue(name.startswith(f"F0{CALLING}_T{NUMBER}_"), name)

        with self.subTest("mail faxd sends has the null reverse path"):
            self.mail.pump()
            self.assertTrue(self.mail.relayed)
            for meta, _ in self.mail.relayed:
                self.assertIn(meta["mail_from"], ("", "<>"), meta)

    def test_receipt_of_a_failed_mail_fax_goes_to_the_address_the_mail_came_from(self):
        # docs/mail.md: receipts go to fax_email, else email; "for mail, the address the mail came from".
        # No route for this number: the job fails at once (bad number, not retried).
        sent = swaks(self.a.smtp_port, "--from", "gina@example.test", "--to", f"5559999@{FAX_DOMAIN}",
                     "--header", "Subject: nowhere", "--header", f"Message-Id: {message_id()}",
                     "--body", "A letter to a number that has no route at all.")
        self.assertEqual(sent.returncode, 0, sent.stdout)
        job = wait_for(lambda: [j for j in self.a.jobs_to("5559999") if j["state"] == "failed"], 90,
                       lambda: "the job did not fail:\n" + self.a.log_tail())[0]
        self.assertEqual(job["owner"]["login"], "gina")

        def receipts():
            return {user: [m for m in self.mail.read_mailbox(user) if job["reference"] in m["subject"]]
                    for user in ("gina", "gina-fax")}
        found = wait_for(lambda: (lambda r: r if r["gina"] or r["gina-fax"] else None)(receipts()), 60,
                         lambda: "no receipt for the failed fax:\n" + self.a.log_tail())
        self.assertTrue(found["gina"], "the receipt went to the user's fax_email, not to the address the mail "
                        "came from: " + repr({u: [m["subject"] for m in ms] for u, ms in found.items()}))
        receipt = found["gina"][0]
        self.assertIn("not sent", receipt["subject"])
        self.assertIn("could not be sent", text_of(receipt))


class SmtpListenerTest(unittest.TestCase):
    """Case 5: RCPT-time checks, STARTTLS with the configured certificate, AUTH only after TLS, and an
    authenticated user as the sender. Sending is off: the jobs are checked through the REST API."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="faxd-mailgw-smtp-")
        cls.cert, cls.key = self_signed_certificate(cls.work)
        cls.mail = MailSystem(["alice", "frank"], tls=False)
        cls.faxd = None
        try:
            cls.faxd = MailFaxd("smtp", cls.mail.sink_port, smtp=f"""
tls_certificate = "{cls.cert}"
tls_private_key = "{cls.key}"
""", extra="""
[[users]]
login = "alice"
email = "alice@example.test"
""")
            cls.frank, _ = cls.faxd.add_user("frank", password="frank-password-1", email="frank@example.test")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.faxd is not None:
            cls.faxd.stop()
        cls.mail.stop()
        if not KEEP:
            shutil.rmtree(cls.work, ignore_errors=True)

    def send(self, *args):
        return swaks(self.faxd.smtp_port, "--header", f"Message-Id: {message_id()}", *args)

    def test_other_domain_is_refused_at_rcpt(self):
        r = self.send("--from", "alice@example.test", "--to", "5550501@other.test")
        self.assertEqual(r.returncode, 24, r.stdout)  # no RCPT accepted
        self.assertRegex(r.stdout, r"<\*\* *550 5\.7\.1 .*5550501@other\.test")
        self.assertNotRegex(r.stdout, r"-> DATA")

    def test_local_part_that_is_no_number_is_refused_at_rcpt(self):
        r = self.send("--from", "alice@example.test", "--to", f"sales@{FAX_DOMAIN}")
        self.assertEqual(r.returncode, 24, r.stdout)
        self.assertRegex(r.stdout, r"<\*\* *553 5\.1\.3 .*sales@fax\.test")
        r = self.send("--from", "alice@example.test", "--to", f"12@{FAX_DOMAIN}")  # too short for a number
        self.assertEqual(r.returncode, 24, r.stdout)
        self.assertRegex(r.stdout, r"<\*\* *553 5\.1\.3")

    def test_good_recipients_go_on_when_one_is_refused(self):
        r = self.send("--from", "alice@example.test", "--to", f"5550502@{FAX_DOMAIN},abc@{FAX_DOMAIN}",
                      "--header", "Subject: letter", "--body", "A letter with enough words to be a page.")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"<\*\* *553 5\.1\.3 .*abc@fax\.test")
        self.assertRegex(r.stdout, r"<- +250 2\.0\.0 .*queued")
        jobs = wait_for(lambda: self.faxd.jobs_to("5550502"), 30,
                        lambda: "no job for the accepted recipient:\n" + self.faxd.log_tail())
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs[0]["owner"]["login"], "alice")
        self.assertEqual(len(self.faxd.jobs()), len({j["id"] for j in self.faxd.jobs()}))

    def test_ehlo_offers_starttls_and_no_auth_before_tls(self):
        r = self.send("--quit-after", "EHLO")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"<- *250[- ]STARTTLS")
        self.assertNotRegex(r.stdout, r"<- *250[- ]AUTH")
        r = self.send("--from", "alice@example.test", "--to", f"5550503@{FAX_DOMAIN}", "--auth", "PLAIN",
                      "--auth-user", "frank", "--auth-password", "frank-password-1")
        self.assertEqual(r.returncode, 28, r.stdout)  # swaks: AUTH not advertised
        self.assertEqual(self.faxd.jobs_to("5550503"), [])

    def test_starttls_with_our_certificate_and_auth_make_the_user_the_sender(self):
        # The From is nobody faxd knows: an authenticated user is the sender, whatever the From says.
        r = self.send("-tls", "--tls-verify", "--tls-ca-path", self.cert, "--auth", "PLAIN", "--auth-user",
                      "frank", "--auth-password", "frank-password-1", "--from", "stranger@elsewhere.test",
                      "--to", f"5550504@{FAX_DOMAIN}", "--header", "Subject: over TLS",
                      "--body", "Sent over STARTTLS with SMTP AUTH by frank.")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("TLS started", r.stdout)
        self.assertRegex(r.stdout, r"~> AUTH PLAIN")
        self.assertRegex(r.stdout, r"<~ *235 ")
        jobs = wait_for(lambda: self.faxd.jobs_to("5550504"), 30,
                        lambda: "no job for the authenticated mail:\n" + self.faxd.log_tail())
        self.assertEqual(jobs[0]["owner"]["login"], "frank")
        # AUTH LOGIN as well.
        r = self.send("-tls", "--auth", "LOGIN", "--auth-user", "frank", "--auth-password", "frank-password-1",
                      "--from", "frank@example.test", "--to", f"5550505@{FAX_DOMAIN}",
                      "--body", "Sent over STARTTLS with AUTH LOGIN by frank.")
        self.assertEqual(r.returncode, 0, r.stdout)
        jobs = wait_for(lambda: self.faxd.jobs_to("5550505"), 30, "no job for the AUTH LOGIN mail")
        self.assertEqual(jobs[0]["owner"]["login"], "frank")

    def test_wrong_password_is_refused(self):
        r = self.send("-tls", "--auth", "PLAIN", "--auth-user", "frank", "--auth-password", "wrong",
                      "--from", "frank@example.test", "--to", f"5550506@{FAX_DOMAIN}")
        self.assertEqual(r.returncode, 28, r.stdout)
        self.assertRegex(r.stdout, r"<~\* *535 ")
        self.assertEqual(self.faxd.jobs_to("5550506"), [])


if __name__ == "__main__":
    unittest.main()
