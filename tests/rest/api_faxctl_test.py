"""faxctl against a running faxd: every API command, its --json output and its errors."""
import json
import os
import subprocess
import time
import unittest

from faxd_harness import FAXCTL, Faxd, pdf_document


class FaxctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.faxd = Faxd()
        name, data = pdf_document(cls.faxd.dir)
        cls.pdf = os.path.join(cls.faxd.dir, name)
        with open(cls.pdf, "wb") as f:
            f.write(data)

    @classmethod
    def tearDownClass(cls):
        cls.faxd.stop()

    def run_ok(self, *args, token=None):
        result = self.faxd.faxctl(*args, token=token)
        self.assertEqual(result.returncode, 0, f"faxctl {' '.join(args)}: {result.stderr}{result.stdout}")
        return result.stdout

    def test_send_status_list_download_cancel_resend(self):
        sent = json.loads(self.run_ok("send", "--to", "5554000", "--subject", "Hello", "--json", self.pdf))
        fax = sent["faxes"][0]
        text = self.run_ok("send", "--to", "5554001,5554002", self.pdf)
        self.assertRegex(text, r"out-\d+")
        self.assertRegex(text, r"\d{4}\.\d{8}")
        deadline = time.time() + 60
        while True:
            status = json.loads(self.run_ok("status", fax["id"], "--json"))
            for key in ("id", "reference", "state", "pages", "direction"):
                self.assertIn(key, status)
            if status["state"] == "scheduled" or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(status["state"], "scheduled")
        self.assertEqual(status["direction"], "outbound")
        self.assertIn(fax["reference"], self.run_ok("status", fax["id"]))
        listed = json.loads(self.run_ok("list", "--number", "5554000", "--json"))
        self.assertEqual([f["id"] for f in listed["faxes"]], [fax["id"]])
        self.assertIn(fax["id"], self.run_ok("list", "--direction", "outbound"))
        target = os.path.join(self.faxd.dir, "out.pdf")
        self.run_ok("download", fax["id"], "-o", target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(4), b"%PDF")
        self.assertIn("cancelled", self.run_ok("cancel", fax["id"]))
        again = self.faxd.faxctl("cancel", fax["id"])
        self.assertEqual(again.returncode, 1)
        self.assertIn("conflict", again.stderr)
        resent = json.loads(self.run_ok("resend", fax["id"], "--to", "5554003", "--json"))
        self.assertEqual(resent["faxes"][0]["number"], "5554003")

    def test_queue_and_users(self):
        self.assertIn("stopped", self.run_ok("queue", "stop").lower())
        self.assertTrue(json.loads(self.run_ok("queue", "list", "--json"))["sending_stopped"])
        self.run_ok("queue", "continue")
        self.assertFalse(json.loads(self.run_ok("queue", "list", "--json"))["sending_stopped"])
        added = json.loads(self.run_ok("users", "add", "frank", "--name", "Frank", "--number", "250", "--json"))
        self.assertEqual(added["login"], "frank")
        self.run_ok("users", "set", str(added["id"]), "--name", "Frank F.")
        users = json.loads(self.run_ok("users", "list", "--json"))["users"]
        self.assertIn("Frank F.", [u["name"] for u in users])

    def test_errors_are_clear(self):
        missing = self.faxd.faxctl("status", "out-999999")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("not_found", missing.stderr)
        wrong_token = self.faxd.faxctl("list", token="fxd_" + "x" * 43)
        self.assertEqual(wrong_token.returncode, 1)
        self.assertIn("unauthorized", wrong_token.stderr)
        usage = self.faxd.faxctl("send", self.pdf)  # no --to
        self.assertEqual(usage.returncode, 2)
        env = dict(os.environ, FAXCTL_SERVER="http://127.0.0.1:1", FAXCTL_TOKEN="x")
        down = subprocess.run([FAXCTL, "list"], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(down.returncode, 1)
        self.assertIn("cannot connect", down.stderr)


if __name__ == "__main__":
    unittest.main()
