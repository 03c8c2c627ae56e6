"""REST API: bad requests get a 4xx with a clear message, and faxd keeps serving."""
import os
import socket
import unittest

from faxd_harness import Faxd, text_document


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.faxd = Faxd()
        cls.api = cls.faxd.admin

    @classmethod
    def tearDownClass(cls):
        cls.faxd.stop()

    def tearDown(self):
        self.assertTrue(self.faxd.alive(), "faxd died")
        self.assertEqual(self.faxd.client().get("/api/v1/health").status, 200)

    def assertError(self, response, status, code=None, words=None):
        self.assertEqual(response.status, status, response)
        error = response.json()["error"]
        if code:
            self.assertEqual(error["code"], code)
        if words:
            self.assertIn(words, error["message"])

    def test_malformed_json(self):
        for body in [b"{", b"[1,2]", b"\xff\xfe", b'{"login": }']:
            response = self.api.request("POST", "/api/v1/users", body=body, headers={"Content-Type": "application/json"})
            self.assertError(response, 400, "bad_request")

    def test_unknown_fields(self):
        self.assertError(self.api.post("/api/v1/users", {"login": "x", "admin": True}), 400, "bad_request", "'admin'")
        self.assertError(self.api.send_fax("5552000", [text_document()], {"colour": "blue"}), 400, "bad_request",
                         "'colour'")

    def test_multipart_without_boundary_or_broken(self):
        response = self.api.request("POST", "/api/v1/faxes", body=b"--x\r\n",
                                    headers={"Content-Type": "multipart/form-data"})
        self.assertError(response, 400, "bad_request", "boundary")
        broken = b"--b\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n5552000\r\n--b\r\nno headers"
        response = self.api.request("POST", "/api/v1/faxes", body=broken,
                                    headers={"Content-Type": "multipart/form-data; boundary=b"})
        self.assertError(response, 400, "bad_request", "multipart")
        response = self.api.request("POST", "/api/v1/faxes", body=b"to=1", headers={"Content-Type": "text/plain"})
        self.assertError(response, 415, "unsupported_media_type")

    def test_missing_and_wrong_fields(self):
        self.assertError(self.api.send_fax([], [text_document()]), 400, "invalid_field", "to")
        self.assertError(self.api.send_fax("5552000", []), 400, "invalid_field", "file")
        self.assertError(self.api.send_fax("call me", [text_document()]), 400, "invalid_field", "to")
        self.assertError(self.api.send_fax("5552000", [text_document()], {"priority": "999"}), 400, "invalid_field")
        self.assertError(self.api.send_fax("5552000", [text_document()], {"send_at": "soon"}), 400, "invalid_field")
        self.assertError(self.api.send_fax("5552000", [text_document()], {"resolution": "ultra"}), 400)
        self.assertError(self.api.send_fax("5552000", [text_document()], {"entity": "Nobody"}), 400)
        self.assertError(self.api.send_fax("5552000", [("x.bin", bytes(range(256)) * 8)]), 415,
                         "unsupported_media_type", "x.bin")
        self.assertError(self.api.send_fax("5552000", [text_document()], headers={"Idempotency-Key": "k" * 201}), 400)

    def test_oversized_upload(self):
        # The test faxd takes at most 4 MiB: it answers from the Content-Length, before reading the body.
        with socket.create_connection(("127.0.0.1", self.faxd.http_port), timeout=10) as s:
            s.sendall(b"POST /api/v1/faxes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.faxd.token.encode() +
                      b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5242880\r\n\r\n")
            s.sendall(b"--b\r\n" + b"A" * 65536)
            answer = s.recv(65536)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413"), answer[:200])
        self.assertIn(b"payload_too_large", answer)

    def test_path_tricks_in_file_names_stay_in_the_spool(self):
        names = ["../../../../tmp/evil.txt", "..\\..\\evil.txt", "/etc/passwd", "a\x01b.txt", ".."]
        response = self.api.send_fax("5552001", [(name, b"harmless text\n") for name in names])
        self.assertEqual(response.status, 201, response)
        self.assertFalse(os.path.exists(os.path.join(self.faxd.dir, "evil.txt")))
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.faxd.dir), "evil.txt")))

    def test_unknown_paths_and_methods(self):
        self.assertError(self.api.get("/api/v1/nothing", undocumented=True), 404, "not_found")
        response = self.api.request("PUT", "/api/v1/faxes", undocumented=True)
        self.assertError(response, 405, "method_not_allowed")
        self.assertIn("GET", response.headers["allow"])

    def test_garbage_on_the_socket(self):
        for garbage in [b"HELLO\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                        b"GET /api/v1/health HTTP/1.1\r\nContent-Length: -5\r\n\r\n"]:
            with socket.create_connection(("127.0.0.1", self.faxd.http_port), timeout=10) as s:
                s.sendall(garbage)
                answer = s.recv(4096)
                self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:100])


if __name__ == "__main__":
    unittest.main()
