"""REST API: submitting, listing, showing, documents, queue actions, idempotency, cursor pagination."""
import os
import re
import time
import unittest

from faxd_harness import Faxd, pdf_document, text_document


class FaxesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.faxd = Faxd()
        cls.api = cls.faxd.admin

    @classmethod
    def tearDownClass(cls):
        cls.faxd.stop()

    def wait_state(self, fax_id, states, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            fax = self.api.get(f"/api/v1/faxes/{fax_id}").json()
            if fax["state"] in states:
                return fax
            time.sleep(0.1)
        self.fail(f"{fax_id} never reached {states}: {fax}")

    def test_submit_render_and_fetch_documents(self):
        sent = self.api.send_fax("+1 (555) 010-0100", [pdf_document(self.faxd.dir), text_document()],
                                 {"subject": "Offer", "resolution": "fine", "recipient_name": "Bob"})
        self.assertEqual(sent.status, 201, sent)
        fax = sent.json()["faxes"][0]
        self.assertRegex(fax["id"], r"^out-\d+$")
        self.assertRegex(fax["reference"], r"^\d{4}\.\d{8}$")
        self.assertEqual(fax["number"], "+15550100100")
        self.assertEqual(fax["state"], "queued")
        self.assertEqual(sent.headers["location"], "/api/v1/faxes/" + fax["id"])
        # Sending is off in this faxd: the job renders and waits.
        ready = self.wait_state(fax["id"], {"scheduled"})
        self.assertGreaterEqual(ready["pages"], 3)  # cover + PDF page + text page
        self.assertEqual(ready["attempts"], [])
        pdf = self.api.get(f"/api/v1/faxes/{fax['id']}/document")
        self.assertEqual(pdf.status, 200)
        self.assertEqual(pdf.headers["content-type"], "application/pdf")
        self.assertTrue(pdf.body.startswith(b"%PDF"))
        tiff = self.api.get(f"/api/v1/faxes/{fax['id']}/document?format=tiff")
        self.assertEqual(tiff.headers["content-type"], "image/tiff")
        self.assertIn(tiff.body[:4], (b"II*\x00", b"MM\x00*"))
        report = self.api.get(f"/api/v1/faxes/{fax['id']}/report")
        self.assertEqual(report.status, 200)
        self.assertTrue(report.body.startswith(b"%PDF"))
        self.assertEqual(self.api.get(f"/api/v1/faxes/{fax['id']}/document?format=png").status, 400)

    def test_broadcast_makes_one_fax_per_recipient(self):
        sent = self.api.send_fax(["5550201,5550202", "5550203"], [text_document()])
        self.assertEqual(sent.status, 201, sent)
        faxes = sent.json()["faxes"]
        self.assertEqual([f["number"] for f in faxes], ["5550201", "5550202", "5550203"])
        self.assertEqual(len({f["reference"] for f in faxes}), 3)

    def test_json_submission_with_base64_files(self):
        import base64
        body = {"to": ["5550301"], "files": [{"name": "a.txt", "content_base64": base64.b64encode(b"Hi\n").decode()}],
                "cover": "none", "priority": 10}
        sent = self.api.post("/api/v1/faxes", body)
        self.assertEqual(sent.status, 201, sent)
        self.assertEqual(sent.json()["faxes"][0]["priority"], 10)
        ready = self.wait_state(sent.json()["faxes"][0]["id"], {"scheduled"})
        self.assertEqual(ready["pages"], 1)  # no cover page

    def test_idempotency_key_returns_the_first_submission(self):
        first = self.api.send_fax("5550401", [text_document()], headers={"Idempotency-Key": "order-77"})
        again = self.api.send_fax("5550401", [text_document()], headers={"Idempotency-Key": "order-77"})
        self.assertEqual(first.status, 201, first)
        self.assertEqual(again.status, 200, again)
        self.assertEqual([f["id"] for f in first.json()["faxes"]], [f["id"] for f in again.json()["faxes"]])
        other = self.api.send_fax("5550401", [text_document()], headers={"Idempotency-Key": "order-78"})
        self.assertEqual(other.status, 201)
        self.assertNotEqual(other.json()["faxes"][0]["id"], first.json()["faxes"][0]["id"])

    def test_queue_actions_cancel_resend_delete(self):
        fax = self.api.send_fax("5550501", [text_document()], {"priority": 0}).json()["faxes"][0]
        self.wait_state(fax["id"], {"scheduled"})
        held = self.api.post(f"/api/v1/faxes/{fax['id']}/hold")
        self.assertEqual(held.status, 200, held)
        self.assertEqual(held.json()["state"], "held")
        self.assertEqual(self.api.post(f"/api/v1/faxes/{fax['id']}/hold").status, 409)
        released = self.api.post(f"/api/v1/faxes/{fax['id']}/release")
        self.assertEqual(released.json()["state"], "scheduled")
        self.assertEqual(self.api.post(f"/api/v1/faxes/{fax['id']}/send-now").status, 200)
        queue = self.api.get("/api/v1/queue").json()
        # Priority 0 goes first among the waiting jobs (other tests may have queued thousands).
        self.assertIn(fax["id"], [entry["fax"]["id"] for entry in queue["jobs"][:20]])
        cancelled = self.api.post(f"/api/v1/faxes/{fax['id']}/cancel")
        self.assertEqual(cancelled.json()["state"], "cancelled")
        self.assertEqual(self.api.post(f"/api/v1/faxes/{fax['id']}/cancel").status, 409)
        resent = self.api.post(f"/api/v1/faxes/{fax['id']}/resend", {"to": "5550502"})
        self.assertEqual(resent.status, 201, resent)
        self.assertEqual(resent.json()["faxes"][0]["number"], "5550502")
        self.wait_state(resent.json()["faxes"][0]["id"], {"scheduled"})
        self.assertEqual(self.api.request("DELETE", f"/api/v1/faxes/{fax['id']}").status, 204)
        self.assertEqual(self.api.get(f"/api/v1/faxes/{fax['id']}").status, 404)
        # The resent fax has documents of its own.
        self.assertEqual(self.api.get(f"/api/v1/faxes/{resent.json()['faxes'][0]['id']}/document").status, 200)

    def test_queue_stop_and_continue(self):
        stopped = self.api.post("/api/v1/queue/stop", {"until": "2099-01-01T00:00:00Z"})
        self.assertEqual(stopped.status, 200, stopped)
        self.assertTrue(stopped.json()["sending_stopped"])
        self.assertEqual(stopped.json()["stopped_until"], "2099-01-01T00:00:00.000Z")
        running = self.api.post("/api/v1/queue/continue").json()
        self.assertIsNone(running["stopped_until"])
        self.assertEqual(self.api.post("/api/v1/queue/stop", {"until": "tomorrow"}).status, 400)

    def test_cursor_pagination_over_thousands(self):
        numbers = [f"77{i:05d}" for i in range(1000)]
        for _ in range(3):
            sent = self.api.send_fax(numbers, [text_document()])
            self.assertEqual(sent.status, 201, sent)
        seen, cursor, pages = [], None, 0
        while True:
            path = "/api/v1/faxes?direction=outbound&limit=250" + (f"&cursor={cursor}" if cursor else "")
            page = self.api.get(path)
            self.assertEqual(page.status, 200, page)
            body = page.json()
            seen += body["faxes"]
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        ids = [f["id"] for f in seen]
        self.assertEqual(len(ids), len(set(ids)), "a fax appeared twice")
        self.assertGreaterEqual(len([f for f in seen if f["number"].startswith("77")]), 3000)
        created = [(f["created_at"], int(f["id"][4:])) for f in seen]
        self.assertEqual(created, sorted(created, reverse=True))
        self.assertGreaterEqual(pages, 12)
        by_number = self.api.get("/api/v1/faxes?number=7700042").json()["faxes"]
        self.assertEqual(len(by_number), 3)
        one = by_number[0]
        by_reference = self.api.get(f"/api/v1/faxes?reference={one['reference']}").json()["faxes"]
        self.assertEqual([f["id"] for f in by_reference], [one["id"]])
        future = self.api.get("/api/v1/faxes?created_after=2099-01-01T00:00:00Z").json()
        self.assertEqual(future["faxes"], [])
        self.assertIsNone(future["next_cursor"])

    def test_list_filters_are_checked(self):
        for query in ["limit=0", "limit=1001", "state=flying", "direction=sideways", "cursor=garbage",
                      "created_after=yesterday", "reference=12", "colour=blue"]:
            response = self.api.get("/api/v1/faxes?" + query)
            self.assertEqual(response.status, 400, query)
            self.assertIn("error", response.json())

    def test_unknown_fax_ids(self):
        for fax_id in ["out-999999", "in-999999", "999", "out-x", "..%2F..%2Fetc"]:
            self.assertEqual(self.api.get(f"/api/v1/faxes/{fax_id}").status, 404, fax_id)


if __name__ == "__main__":
    unittest.main()
