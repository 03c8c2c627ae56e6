"""Webhooks signed and retried, and live events over SSE during a real fax on the test line (SIP, T.38)."""
import json
import socket
import threading
import time
import unittest

from faxd_harness import Faxd, free_port, pdf_document, text_document
from webhook_receiver import Receiver


def wait_for(predicate, timeout, message):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.faxd = Faxd(sending=True, test_line=True)
        cls.api = cls.faxd.admin

    @classmethod
    def tearDownClass(cls):
        cls.faxd.stop()

    def add_webhook(self, url, client=None, **fields):
        body = {"url": url}
        body.update(fields)
        created = (client or self.api).post("/api/v1/webhooks", body)
        self.assertEqual(created.status, 201, created)
        self.assertTrue(created.json()["secret"].startswith("whsec_"))
        return created.json()

    def test_webhooks_are_signed_and_scoped(self):
        secrets = {}
        receiver = Receiver(lambda: secrets["admin"])
        try:
            hook = self.add_webhook(f"http://127.0.0.1:{receiver.port}/hook", events=["fax.queued"], **{"global": True})
            secrets["admin"] = hook["secret"]
            fax = self.api.send_fax("5553000", [text_document()]).json()["faxes"][0]
            got = wait_for(lambda: [d for d in receiver.events() if d["body"]["fax"]["id"] == fax["id"]], 30,
                           "no webhook for the new fax")
            self.assertTrue(got[0]["valid"], "signature did not verify with Python's hmac")
            self.assertEqual(got[0]["event"], "fax.queued")
            self.assertEqual(got[0]["body"]["type"], "fax.queued")
            self.assertEqual(got[0]["body"]["fax"]["reference"], fax["reference"])
            log = self.api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
            self.assertIn("delivered", [d["state"] for d in log])
            # Listed without its secret; a plain user cannot add a global webhook or see this one.
            listed = self.api.get("/api/v1/webhooks").json()["webhooks"]
            self.assertNotIn("secret", listed[0])
            _, token = self.faxd.add_user("webhook-user")
            user = self.faxd.client(token)
            self.assertEqual(user.post("/api/v1/webhooks", {"url": "http://127.0.0.1:1/x", "global": True}).status, 403)
            self.assertEqual(user.get(f"/api/v1/webhooks/{hook['id']}/deliveries").status, 404)
            self.assertEqual(user.get("/api/v1/webhooks").json()["webhooks"], [])
            self.assertEqual(self.api.post("/api/v1/webhooks", {"url": "ftp://x"}).status, 400)
            self.assertEqual(self.api.post("/api/v1/webhooks", {"url": "http://x", "events": ["fax.exploded"]}).status, 400)
            self.assertEqual(self.api.request("DELETE", f"/api/v1/webhooks/{hook['id']}").status, 204)
        finally:
            receiver.stop()

    def test_webhook_retried_until_the_receiver_is_up(self):
        port = free_port()
        secrets = {}
        hook = self.add_webhook(f"http://127.0.0.1:{port}/late", events=["fax.queued"], **{"global": True})
        secrets["s"] = hook["secret"]
        fax = self.api.send_fax("5553001", [text_document()]).json()["faxes"][0]

        def failed_once():
            log = self.api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
            return [d for d in log if d["attempts"] >= 1 and d["state"] == "pending" and d["last_error"]]
        pending = wait_for(failed_once, 20, "the first delivery was never tried")
        self.assertNotEqual(pending[0]["last_error"], "")
        receiver = Receiver(lambda: secrets["s"], port=port, fail_first=1)
        try:
            # Retries come after 5 s, then 25 s: the first answers 500, the next one is delivered.
            got = wait_for(lambda: [d for d in receiver.events() if d["body"]["fax"]["id"] == fax["id"]], 60,
                           "the webhook was not retried")
            self.assertTrue(got[0]["valid"])
            log = self.api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["deliveries"]
            mine = [d for d in log if d["state"] == "delivered"]
            self.assertTrue(mine and mine[0]["attempts"] >= 3, log)
        finally:
            receiver.stop()
            self.api.request("DELETE", f"/api/v1/webhooks/{hook['id']}")

    def test_sse_progress_of_a_real_fax_over_the_test_line(self):
        # Pages of the incoming side reach a webhook (the receiving fax has no id before it arrives).
        secrets = {}
        receiver = Receiver(lambda: secrets["s"])
        self.addCleanup(receiver.stop)
        hook = self.add_webhook(f"http://127.0.0.1:{receiver.port}/in", events=["fax.page", "fax.received"],
                                **{"global": True})
        secrets["s"] = hook["secret"]
        self.addCleanup(lambda: self.api.request("DELETE", f"/api/v1/webhooks/{hook['id']}"))
        sent = self.api.send_fax("999", [pdf_document(self.faxd.dir)], {"cover": "none"})
        self.assertEqual(sent.status, 201, sent)
        fax = sent.json()["faxes"][0]
        events = []

        def listen():
            # The stream ends (faxd closes it) after the fax's final event.
            with socket.create_connection(("127.0.0.1", self.faxd.http_port), timeout=180) as s:
                s.sendall(f"GET /api/v1/faxes/{fax['id']}/events HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: Bearer {self.faxd.token}\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            head, _, stream = data.partition(b"\r\n\r\n")
            events.append(("headers", head.decode()))
            for frame in stream.decode().split("\n\n"):
                fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line and line[0] != ":")
                if "event" in fields:
                    events.append((fields["event"], json.loads(fields["data"])))
        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        listener.join(180)
        self.assertFalse(listener.is_alive(), "the event stream did not end with the fax")
        self.assertIn("text/event-stream", events[0][1])
        events = events[1:]
        types = [t for t, _ in events]
        states = [body["fax"]["state"] for t, body in events if t == "fax.state_changed"]
        self.assertIn("sending", states)
        self.assertEqual(types[-1], "fax.completed")
        self.assertEqual(events[-1][1]["fax"]["state"], "sent")
        pages = [body["page"] for t, body in events if t == "fax.page"]
        self.assertTrue(pages, f"no page events: {types}")
        self.assertEqual(pages[-1]["number"], pages[-1]["of"])
        self.assertIn(pages[-1]["bit_rate"], (4800, 7200, 9600, 12000, 14400))
        done = self.api.get(f"/api/v1/faxes/{fax['id']}").json()
        self.assertEqual(done["attempts"][0]["transport"], "t38")
        # The same fax arrived on the test number: the administrator's inbox has it.
        inbound = wait_for(lambda: [f for f in self.api.get("/api/v1/faxes?direction=inbound&number=999").json()["faxes"]
                                    if f["state"] == "received"], 30, "the fax never arrived")
        self.assertEqual(inbound[0]["pages"], done["pages"])
        self.assertEqual(inbound[0]["owner"]["name"], "admin")
        pdf = self.api.get(f"/api/v1/faxes/{inbound[0]['id']}/document")
        self.assertTrue(pdf.body.startswith(b"%PDF"))
        hooks = wait_for(lambda: [d for d in receiver.events() if d["body"]["fax"]["id"] == inbound[0]["id"]
                                  and d["event"] == "fax.received"], 30, "no fax.received webhook")
        received_pages = [d["body"]["page"] for d in receiver.events()
                          if d["event"] == "fax.page" and d["body"]["fax"]["id"] == inbound[0]["id"]]
        self.assertTrue(received_pages, "no page event of the receiving side")
        self.assertEqual(received_pages[-1]["number"], inbound[0]["pages"])
        self.assertGreater(received_pages[-1]["bit_rate"], 0)
        self.assertTrue(all(d["valid"] for d in receiver.events()))
        self.assertEqual(hooks[0]["body"]["fax"]["state"], "received")


if __name__ == "__main__":
    unittest.main()
