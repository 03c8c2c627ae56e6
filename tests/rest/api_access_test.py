"""REST API: authentication, permission checks on every kind of action, users, tokens, entities, groups,
routes and settings."""
import unittest

from faxd_harness import Faxd, text_document


class AccessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.faxd = Faxd()
        cls.admin = cls.faxd.admin
        cls.alice, alice_token = cls.faxd.add_user("alice", numbers=["200"])
        cls.bob, bob_token = cls.faxd.add_user("bob", numbers=["201"])
        cls.as_alice = cls.faxd.client(alice_token)
        cls.as_bob = cls.faxd.client(bob_token)

    @classmethod
    def tearDownClass(cls):
        cls.faxd.stop()

    def test_credentials(self):
        self.assertEqual(self.faxd.client().get("/api/v1/me").status, 401)
        self.assertIn("www-authenticate", self.faxd.client().get("/api/v1/me").headers)
        self.assertEqual(self.faxd.client("fxd_" + "A" * 43).get("/api/v1/me").status, 401)
        self.assertEqual(self.faxd.client(basic=("alice", "correct horse battery")).get("/api/v1/me").json()["login"],
                         "alice")
        self.assertEqual(self.faxd.client(basic=("alice", "wrong password!")).get("/api/v1/me").status, 401)
        self.assertEqual(self.faxd.client(basic=("nobody", "correct horse battery")).get("/api/v1/me").status, 401)
        self.assertEqual(self.as_alice.get("/api/v1/me").json()["login"], "alice")
        self.assertEqual(self.faxd.client().get("/api/v1/health").status, 200)
        self.assertEqual(self.faxd.client().get("/api/v1/openapi.json").json()["openapi"][:2], "3.")

    def test_a_user_sees_and_acts_on_own_faxes_only(self):
        fax = self.as_alice.send_fax("5551000", [text_document()]).json()["faxes"][0]
        path = f"/api/v1/faxes/{fax['id']}"
        self.assertEqual(self.as_alice.get(path).status, 200)
        self.assertEqual(self.admin.get(path).status, 200)
        for method, suffix in [("GET", ""), ("GET", "/document"), ("GET", "/report"), ("GET", "/events"),
                               ("POST", "/cancel"), ("POST", "/hold"), ("POST", "/resend"), ("DELETE", "")]:
            response = self.as_bob.request(method, path + suffix)
            self.assertEqual(response.status, 404, f"bob {method} {suffix}: {response}")
        self.assertEqual(self.as_alice.get(path).json()["state"] in ("queued", "converting", "scheduled"), True)
        listed = [f["id"] for f in self.as_bob.get("/api/v1/faxes?limit=1000").json()["faxes"]]
        self.assertNotIn(fax["id"], listed)
        self.assertIn(fax["id"], [f["id"] for f in self.as_alice.get("/api/v1/faxes?limit=1000").json()["faxes"]])
        self.assertEqual(self.as_bob.get(f"/api/v1/faxes?user={self.alice['id']}").status, 403)
        self.assertEqual(self.as_alice.post(path + "/send-now").status, 403)
        self.assertEqual(self.as_alice.post(path + "/cancel").json()["state"], "cancelled")

    def test_only_administrators_manage(self):
        for method, path, body in [("GET", "/api/v1/users", None), ("POST", "/api/v1/users", {"login": "mallory"}),
                                   ("GET", "/api/v1/routes", None), ("GET", "/api/v1/settings", None),
                                   ("PATCH", "/api/v1/settings", {"sending_enabled": True}),
                                   ("GET", "/api/v1/queue", None), ("POST", "/api/v1/queue/stop", None),
                                   ("GET", "/api/v1/entities", None), ("POST", "/api/v1/groups", {"name": "x"}),
                                   ("PATCH", f"/api/v1/users/{self.bob['id']}", {"name": "x"}),
                                   ("GET", f"/api/v1/users/{self.bob['id']}/tokens", None)]:
            response = self.as_alice.request(method, path, json_body=body)
            self.assertIn(response.status, (403, 404), f"{method} {path}: {response}")
        # A user changes a few things about themselves, not their permission.
        self.assertEqual(self.as_alice.request("PATCH", "/api/v1/users/me", json_body={"name": "Alice A."}).status, 200)
        self.assertEqual(self.as_alice.request("PATCH", "/api/v1/users/me", json_body={"permission": 10}).status, 403)
        # The mail gateway's PIN: users set their own, write-only, digits only.
        pin = self.as_alice.request("PATCH", "/api/v1/users/me", json_body={"mail_pin": "4711"})
        self.assertEqual(pin.status, 200, pin)
        self.assertNotIn("mail_pin", pin.json())
        self.assertNotIn("4711", pin.body.decode())
        bad = self.as_alice.request("PATCH", "/api/v1/users/me", json_body={"mail_pin": "47a1"})
        self.assertEqual(bad.status, 400, bad)
        self.assertIn("mail_pin", bad.json()["error"]["message"])
        self.assertEqual(self.as_alice.get("/api/v1/me").json()["name"], "Alice A.")

    def test_users_tokens_entities_groups_routes_settings(self):
        created = self.admin.post("/api/v1/users", {"login": "carol", "email": "carol@example.com", "numbers": ["202"],
                                                   "permission": 2, "password": "long enough password"})
        self.assertEqual(created.status, 201, created)
        carol = created.json()
        self.assertNotIn("password", carol)
        self.assertEqual(self.admin.post("/api/v1/users", {"login": "carol"}).status, 409)
        self.assertEqual(self.admin.post("/api/v1/users", {"login": "dave", "password": "short"}).status, 400)
        self.assertEqual(self.admin.post("/api/v1/users", {"login": "eve", "colour": "red"}).status, 400)
        self.assertEqual(self.admin.get(f"/api/v1/users/{carol['id']}").json()["email"], "carol@example.com")
        self.assertEqual(self.as_alice.get(f"/api/v1/users/{carol['id']}").status, 404)
        patched = self.admin.request("PATCH", f"/api/v1/users/{carol['id']}", json_body={"send_enabled": False})
        self.assertFalse(patched.json()["send_enabled"])
        token = self.admin.post(f"/api/v1/users/{carol['id']}/tokens", {"name": "laptop"}).json()
        as_carol = self.faxd.client(token["token"])
        refused = as_carol.send_fax("5551001", [text_document()])
        self.assertEqual(refused.status, 403, refused)
        tokens = as_carol.get("/api/v1/users/me/tokens").json()["tokens"]
        self.assertEqual([t["name"] for t in tokens], ["laptop"])
        self.assertNotIn("token", tokens[0])
        self.assertEqual(as_carol.request("DELETE", f"/api/v1/users/me/tokens/{token['id']}").status, 204)
        self.assertEqual(as_carol.get("/api/v1/me").status, 401)

        entity = self.admin.post("/api/v1/entities", {"name": "Sales", "number": "300",
                                                      "members": [{"user": self.alice["id"], "send": True,
                                                                   "receive": True}]})
        self.assertEqual(entity.status, 201, entity)
        group = self.admin.post("/api/v1/groups", {"name": "Support", "numbers": ["400"],
                                                   "members": [self.bob["id"]]})
        self.assertEqual(group.status, 201, group)
        self.assertIn("Sales", [e["name"] for e in self.admin.get("/api/v1/entities").json()["entities"]])
        self.assertIn("Support", [g["name"] for g in self.admin.get("/api/v1/groups").json()["groups"]])
        routes = self.admin.get("/api/v1/routes").json()
        numbers = {(n["number"], n["kind"], n["name"]) for n in routes["inbound"]["numbers"]}
        self.assertIn(("300", "entity", "Sales"), numbers)
        self.assertIn(("200", "user", "alice"), numbers)
        # Alice sends as Sales; Bob may not.
        as_sales = self.as_alice.send_fax("5551002", [text_document()], {"entity": "Sales"})
        self.assertEqual(as_sales.status, 201, as_sales)
        self.assertEqual(as_sales.json()["faxes"][0]["entity"], "Sales")
        self.assertEqual(self.as_bob.send_fax("5551002", [text_document()], {"entity": "Sales"}).status, 403)

        settings = self.admin.request("PATCH", "/api/v1/settings", json_body={"retention_days": 30})
        self.assertEqual(settings.json()["retention_days"], 30)
        self.assertEqual(self.admin.get("/api/v1/settings").json()["retention_days"], 30)
        self.assertEqual(self.admin.request("PATCH", "/api/v1/settings", json_body={"retention_days": -1}).status, 400)


if __name__ == "__main__":
    unittest.main()
