"""Mail to fax through polled mailboxes (case 2): POP3 and IMAP, plain, STARTTLS and implicit TLS (POP3S,
IMAPS) against Dovecot, the numbers in the subject (a broadcast, "number@entity"), a mailbox with an auth
rule of its own, and the same mail twice. Sending is off: the jobs are checked through the REST API, and the
mailboxes must be empty afterwards (faxd deletes what it took).

Every mail is in its mailbox before faxd starts, so the first poll (at start) takes it; the interval is the
minimum, 5 s, in case a poll comes too early.
"""
import email.message
import email.policy
import email.utils
import shutil
import tempfile
import time
import unittest

from mailgw_support import (KEEP, PASSWORD, DovecotServer, MailFaxd, MailSystem, mailbox_count_imap,
                            mailbox_count_pop3, message_id, pdf_document, self_signed_certificate, text_of,
                            wait_for)


def mail(sender, subject, body="Please fax this letter to the numbers in the subject, thank you.",
         attachments=(), msgid=None, extra_headers=()):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = sender
    m["To"] = "fax-in@example.test"
    m["Subject"] = subject
    m["Message-ID"] = msgid or message_id()
    m["Date"] = email.utils.formatdate(localtime=True)
    for name, value in extra_headers:
        m[name] = value
    m.set_content(body)
    for name, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


class MailboxPollerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="faxd-mailgw-poll-")
        # Dovecot with TLS (IMAPS, POP3S, STARTTLS on the plain ports; a self-signed certificate), which also
        # holds the users' own mailboxes, and one without any TLS for the plain protocols.
        cls.mail = MailSystem(["alice", "bob", "fax-imaps", "fax-pop3s", "fax-starttls", "fax-pin", "fax-badca"])
        cls.plain = DovecotServer({"fax-pop": PASSWORD, "fax-imap": PASSWORD}, tls=False).start()
        cls.faxd = None
        tls = cls.mail.dovecot
        with open(pdf_document(cls.work, 2, "Poller"), "rb") as f:
            cls.pdf = f.read()
        alice = "Alice Example <alice@example.test>"
        cls.msgid_twice = message_id()
        # POP3, plain: a broadcast to two numbers.
        cls.plain.deliver("fax-pop", mail(alice, "5550201, 5550202"))
        # IMAP, plain: number@entity; the same mail delivered twice is faxed once; a non-member's entity mail.
        cls.plain.deliver("fax-imap", mail(alice, "5550203@sales", msgid=cls.msgid_twice))
        cls.plain.deliver("fax-imap", mail(alice, "5550203@sales", msgid=cls.msgid_twice))
        cls.plain.deliver("fax-imap", mail("bob@example.test", "5550210@sales"))
        # IMAPS: one plain number and one through the entity (two submissions), with a PDF.
        cls.mail.deliver("fax-imaps", mail(alice, "5550204; 5550205@Sales",
                                           attachments=[("poller.pdf", "application/pdf", cls.pdf)]))
        # POP3S.
        cls.mail.deliver("fax-pop3s", mail(alice, "5550206"))
        # IMAP with STARTTLS required.
        cls.mail.deliver("fax-starttls", mail(alice, "5550207"))
        # A mailbox whose own auth rule wants a PIN: one mail without, one with the right PIN.
        cls.mail.deliver("fax-pin", mail(alice, "5550208"))
        cls.mail.deliver("fax-pin", mail(alice, "5550209", body="Please fax this short note.\nPIN: 2468\n"))
        # STARTTLS with a CA that did not sign Dovecot's certificate: no login, the mail stays.
        cls.mail.deliver("fax-badca", mail(alice, "5550211"))
        cls.other_ca, _ = self_signed_certificate(cls.work)

        def box(name, port, protocol, user, more=""):
            return f"""
[[mail.mailboxes]]
name = "{name}"
host = "127.0.0.1"
port = {port}
protocol = "{protocol}"
user = "{user}"
password = "{PASSWORD}"
interval_seconds = 5
{more}"""
        ca = f'ca_file = "{tls.cert}"'
        try:
            cls.faxd = MailFaxd("poll", cls.mail.sink_port, extra="""
[[users]]
login = "alice"
name = "Alice Example"
email = "alice@example.test"
mail_pin = "2468"
[[users]]
login = "bob"
email = "bob@example.test"
[[entities]]
name = "Sales"
number = "300"
members = [ { user = "alice", send = true, receive = true } ]
""" + box("pop-plain", cls.plain.pop3_port, "pop3", "fax-pop")
                + box("imap-plain", cls.plain.imap_port, "imap", "fax-imap")
                + box("imaps", tls.imaps_port, "imaps", "fax-imaps", ca)
                + box("pop3s", tls.pop3s_port, "pop3s", "fax-pop3s", ca)
                + box("imap-starttls", tls.imap_port, "imap", "fax-starttls", ca + "\nrequire_tls = true")
                + box("pop3s-pin", tls.pop3s_port, "pop3s", "fax-pin", ca + '\nauth = "pin"')
                + box("imap-badca", tls.imap_port, "imap", "fax-badca", f'ca_file = "{cls.other_ca}"'))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.faxd is not None:
            cls.faxd.stop()
        cls.plain.stop()
        cls.mail.stop()
        if not KEEP:
            shutil.rmtree(cls.work, ignore_errors=True)

    def jobs(self, number, count=1):
        return wait_for(lambda: (lambda js: js if len(js) >= count else None)(self.faxd.jobs_to(number)), 60,
                        lambda: f"no job for {number}:\n" + self.faxd.log_tail())

    def assert_emptied(self, dovecot, user, protocol):
        wait_for(lambda: not dovecot.messages(user), 30, lambda: f"mailbox {user} was not emptied:\n"
                 + self.faxd.log_tail())
        if protocol == "imap":
            self.assertEqual(mailbox_count_imap(dovecot, user), 0)
        else:
            self.assertEqual(mailbox_count_pop3(dovecot, user), 0)

    def assert_logins_used_tls(self, box):
        """faxd warns of every login without TLS; a TLS mailbox has no such warning (the bad-CA mailbox
        shows that TLS there is real and its certificate checked)."""
        self.assertNotIn(f"mailbox '{box}': logged in to", self.faxd.log_text())

    def test_pop3_plain_broadcast_to_two_numbers(self):
        first, second = self.jobs("5550201")[0], self.jobs("5550202")[0]
        self.assertNotEqual(first["id"], second["id"])
        for job in (first, second):
            self.assertEqual(job["owner"]["login"], "alice")
            self.assertFalse(job.get("entity"), job)
            self.assertIn(job["state"], ("queued", "converting", "scheduled"), job)
        self.assert_emptied(self.plain, "fax-pop", "pop3")
        self.assertIn("mailbox 'pop-plain': logged in to pop3 127.0.0.1", self.faxd.log_text())

    def test_imap_plain_number_at_entity_and_the_same_mail_twice(self):
        job = self.jobs("5550203")[0]
        self.assertEqual(job["owner"]["login"], "alice")
        self.assertEqual(job["entity"], "Sales", job)
        self.assert_emptied(self.plain, "fax-imap", "imap")
        self.assertIn("mailbox 'imap-plain': logged in to imap 127.0.0.1", self.faxd.log_text())
        # Both copies were taken from the mailbox and handled (the non-member's mail after them): still one job.
        self.mail.wait_for_mail("bob", lambda m: "5550210" in m["subject"], why="no refusal for bob")
        self.assertEqual(len(self.faxd.jobs_to("5550203")), 1, self.faxd.jobs_to("5550203"))
        self.assertIn("already submitted earlier", self.faxd.log_text())

    def test_entity_of_which_the_sender_is_no_member_is_refused(self):
        reply = self.mail.wait_for_mail("bob", lambda m: "5550210" in m["subject"], why="no refusal for bob")[0]
        self.assertIn("not allowed to send faxes", text_of(reply))
        self.assertIn("sales", text_of(reply).lower())
        self.assertEqual(self.faxd.jobs_to("5550210"), [])

    def test_imaps_with_a_pdf_to_a_number_and_an_entity(self):
        plain, entity = self.jobs("5550204")[0], self.jobs("5550205")[0]
        self.assertFalse(plain.get("entity"), plain)
        self.assertEqual(entity["entity"], "Sales")
        self.assertEqual(plain["owner"]["login"], "alice")
        self.assertEqual(entity["owner"]["login"], "alice")
        self.assert_emptied(self.mail.dovecot, "fax-imaps", "imap")
        self.assert_logins_used_tls("imaps")

    def test_mail_arriving_later_is_taken_at_a_later_poll(self):
        self.jobs("5550204")  # the first poll of the mailbox is done
        started = time.time()
        self.mail.deliver("fax-imaps", mail("Alice Example <alice@example.test>", "5550212"))
        job = self.jobs("5550212")[0]
        self.assertLess(time.time() - started, 5 + 10, "not taken within the 5 s interval (and some slack)")
        self.assertEqual(job["owner"]["login"], "alice")
        self.assert_emptied(self.mail.dovecot, "fax-imaps", "imap")

    def test_pop3s(self):
        job = self.jobs("5550206")[0]
        self.assertEqual(job["owner"]["login"], "alice")
        self.assert_emptied(self.mail.dovecot, "fax-pop3s", "pop3")
        self.assert_logins_used_tls("pop3s")

    def test_imap_with_starttls_required(self):
        job = self.jobs("5550207")[0]
        self.assertEqual(job["owner"]["login"], "alice")
        self.assert_emptied(self.mail.dovecot, "fax-starttls", "imap")
        self.assert_logins_used_tls("imap-starttls")

    def test_mailbox_auth_rule_wants_a_pin(self):
        job = self.jobs("5550209")[0]
        self.assertEqual(job["owner"]["login"], "alice")
        reply = self.mail.wait_for_mail("alice", lambda m: "5550208" in m["subject"],
                                        why="no refusal for the mail without PIN")[0]
        self.assertIn("needs a PIN", text_of(reply))
        self.assertEqual(reply["Auto-Submitted"], "auto-replied")
        self.assertEqual(self.faxd.jobs_to("5550208"), [])
        self.assert_emptied(self.mail.dovecot, "fax-pin", "pop3")

    def test_certificate_not_signed_by_ca_file_stops_the_poll(self):
        # faxd's log names the mailbox and the failed certificate check; the mail is not taken.
        line = wait_for(lambda: [l for l in self.faxd.log_text().splitlines() if "mailbox 'imap-badca'" in l], 30,
                        lambda: "no poll of imap-badca:\n" + self.faxd.log_tail())
        self.assertRegex(" ".join(line).lower(), r"certificate|tls|ssl", line)
        self.assertNotIn("mailbox 'imap-badca': logged in to", self.faxd.log_text())
        self.assertEqual(len(self.mail.dovecot.messages("fax-badca")), 1)
        self.assertEqual(self.faxd.jobs_to("5550211"), [])


if __name__ == "__main__":
    unittest.main()
