"""A faxd process for the REST API tests: its own directory, free ports, the administrator's token, and a
small HTTP client (stdlib only, so the tests are an independent implementation of the API's client side)."""
import base64
import http.client
import json
import os
import socket
import subprocess
import tempfile
import time
import uuid

_REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FAXD = os.environ.get("FAXD_BIN", os.path.join(_REPO, "build/src/app/faxd"))
FAXCTL = os.environ.get("FAXCTL_BIN", os.path.join(_REPO, "build/src/app/faxctl"))


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_sip_port():
    # SIP listens on UDP and TCP: find a port free on both.
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free SIP port")


def _documented_operations():
    """(method, regex) for every operation in docs/api/openapi.json: the tests may call only what it says."""
    import re
    with open(os.path.join(_REPO, "docs/api/openapi.json")) as f:
        document = json.load(f)
    operations = []
    for template, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((method.upper(), pattern))
    return operations


_OPERATIONS = _documented_operations()


def documented(method, path):
    path = path.split("?", 1)[0]
    return any(m == method and p.match(path) for m, p in _OPERATIONS)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    def __init__(self, port, token=None, basic=None):
        self.port = port
        self.token = token
        self.basic = basic

    def request(self, method, path, body=None, headers=None, json_body=None, timeout=60, undocumented=False):
        # Every call a test makes must be in the OpenAPI document (except the deliberate wrong ones).
        assert undocumented or documented(method, path), f"{method} {path} is not in docs/api/openapi.json"
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        elif self.basic:
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Response(response.status, dict((k.lower(), v) for k, v in response.getheaders()),
                            response.read())
        finally:
            connection.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def send_fax(self, to, files, fields=None, headers=None):
        """POST /api/v1/faxes as multipart/form-data; files: [(name, bytes)], to: str or list."""
        boundary = "----faxdtest" + uuid.uuid4().hex
        parts = []
        for number in ([to] if isinstance(to, str) else to):
            parts.append((f'form-data; name="to"', None, number.encode()))
        for key, value in (fields or {}).items():
            parts.append((f'form-data; name="{key}"', None, str(value).encode()))
        for name, data in files:
            parts.append((f'form-data; name="file"; filename="{name}"', "application/octet-stream", data))
        body = b""
        for disposition, content_type, data in parts:
            body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
            if content_type:
                body += f"Content-Type: {content_type}\r\n".encode()
            body += b"\r\n" + data + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        all_headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        all_headers.update(headers or {})
        return self.request("POST", "/api/v1/faxes", body=body, headers=all_headers)


def text_document(text="Hello fax\n"):
    return ("letter.txt", text.encode())


def pdf_document(directory):
    """A one-page PDF made by Ghostscript from PostScript (a real converter, not a hand-made file)."""
    ps = os.path.join(directory, "page.ps")
    pdf = os.path.join(directory, "page.pdf")
    with open(ps, "w") as f:
        f.write("%!PS\n/Helvetica findfont 24 scalefont setfont 72 700 moveto (Letter to the test line) show\n"
                "showpage\n")
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite", "-o", pdf, ps],
                   check=True)
    with open(pdf, "rb") as f:
        return ("letter.pdf", f.read())


class Faxd:
    """Starts faxd with a config of its own in a temp directory; stop() kills it."""

    def __init__(self, extra_config="", sending=False, test_line=False):
        self.dir = tempfile.mkdtemp(prefix="faxd-rest-")
        self.http_port = free_port()
        self.sip_port = free_sip_port()
        self.token_file = os.path.join(self.dir, "admin.token")
        config = f"""
[log]
level = "info"
[spool]
directory = "{self.dir}/spool"
[store]
url = "sqlite:{self.dir}/faxd.db"
node = "rest-{self.http_port}"
[queue]
sending_enabled = {"true" if sending else "false"}
poll_interval_ms = 100
[render]
office = false
[sip]
listen = "127.0.0.1"
port = {self.sip_port}
[media]
address = "127.0.0.1"
port_min = 0
timeout = 10
[http]
listen = "127.0.0.1"
port = {self.http_port}
admin_token_file = "{self.token_file}"
max_upload_mb = 4
"""
        if test_line:
            config += f"""
[[users]]
login = "admin"
numbers = ["999"]
permission = 10
[[routes]]
name = "test-line"
prefix = "999"
t38_in_offer = true
gateways = [ {{ host = "127.0.0.1", port = {self.sip_port}, transport = "udp" }} ]
"""
        config += extra_config
        self.config = os.path.join(self.dir, "faxd.toml")
        with open(self.config, "w") as f:
            f.write(config)
        self.log = open(os.path.join(self.dir, "faxd.log"), "wb")
        self.process = subprocess.Popen([FAXD, "--config", self.config], stdout=self.log, stderr=subprocess.STDOUT,
                                        cwd=self.dir)
        self.token = self._wait_ready()
        self.admin = Client(self.http_port, self.token)

    def _wait_ready(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"faxd exited with {self.process.returncode}: {self.log_text()[-3000:]}")
            if os.path.exists(self.token_file):
                try:
                    if Client(self.http_port).get("/api/v1/health").status == 200:
                        with open(self.token_file) as f:
                            return f.read().strip()
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("faxd did not start: " + self.log_text()[-3000:])

    def log_text(self):
        with open(os.path.join(self.dir, "faxd.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.process.poll() is None

    def client(self, token=None, basic=None):
        return Client(self.http_port, token, basic)

    def add_user(self, login, password="correct horse battery", **fields):
        """A user with a password and an API token; returns (user json, token)."""
        body = {"login": login, "password": password}
        body.update(fields)
        created = self.admin.post("/api/v1/users", body)
        assert created.status == 201, created
        user = created.json()
        token = self.admin.post(f"/api/v1/users/{user['id']}/tokens", {"name": "tests"})
        assert token.status == 201, token
        return user, token.json()["token"]

    def faxctl(self, *args, token=None):
        env = dict(os.environ)
        env["FAXCTL_SERVER"] = f"http://127.0.0.1:{self.http_port}"
        env["FAXCTL_TOKEN"] = token or self.token
        return subprocess.run([FAXCTL, *args], capture_output=True, text=True, env=env, timeout=120)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
