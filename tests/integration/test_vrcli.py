"""test_vrcli - vrcli, the admin's scripting tool, against a running apid.

Each test runs the vrcli binary (VR_BIN_DIR, default build/bin) as a subprocess with its
own temporary HOME, so the config file it writes is the test's alone, and with no VRCLI_*
variables inherited. Checked: login stores a private config (0600 in a 0700 directory),
whoami/health/tokens/audit for people and with --json (valid JSON, nothing else on
stdout), the exit codes (0 ok, 2 usage, 3 auth, 4 not found, 5 rejected, 7 no connection)
with one-line errors that never show the token, and flag > environment > file. Replies
apid does not give on demand (429, 5xx, redirects, bad JSON, TLS) come from a small fake
server on loopback. Uses conftest.py's `stack` fixture; run inside scripts/netns-run.
"""

import datetime
import http.server
import json
import os
import ssl
import stat
import subprocess
import threading
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VRCLI = os.path.join(os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin")), "vrcli")
UNREACHABLE = "http://127.0.0.1:1"


class Result:
    """The outcome of one vrcli run."""

    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


def vrcli(home, *args, stdin=None, env=None):
    """vrcli - run vrcli with HOME=home and only the VRCLI_* variables given in env"""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("VRCLI_") and k != "XDG_CONFIG_HOME"}
    e["HOME"] = str(home)
    e.update(env or {})
    p = subprocess.run([VRCLI, *args], input=stdin, env=e, capture_output=True, text=True,
                       timeout=120, stdin=None if stdin is not None else subprocess.DEVNULL)
    return Result(p)


def config_file(home):
    return os.path.join(str(home), ".config", "vrcli", "config")


def read_config(home):
    conf = {}
    with open(config_file(home), encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    return conf


def one_error_line(r):
    """one_error_line - the run printed exactly one line, starting 'vrcli: ', on stderr"""
    lines = r.err.splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("vrcli: "), r
    return lines[0]


def login(stack, home, *extra):
    return vrcli(home, "--url", stack.api_url, "login", "--username", stack.admin_user,
                 "--password-stdin", *extra, stdin=stack.admin_password + "\n")


@pytest.fixture(scope="module")
def session_home(stack, tmp_path_factory):
    """session_home - a HOME whose config holds an admin session from `vrcli login`"""
    home = tmp_path_factory.mktemp("vrcli-home")
    r = login(stack, home)
    assert r.rc == 0, r
    return home


@pytest.fixture
def home(tmp_path):
    """home - an empty HOME: no config file"""
    d = tmp_path / "home"
    d.mkdir()
    return d


@pytest.fixture
def api_token(session_home):
    """api_token - a fresh admin API token (NewToken), revoked afterwards if still live"""
    r = vrcli(session_home, "--json", "tokens", "create", "t-" + uuid.uuid4().hex[:10],
              "--expires-days", "1")
    assert r.rc == 0, r
    tok = r.json()
    yield tok
    vrcli(session_home, "tokens", "revoke", tok["id"])


def test_login_writes_private_config(stack, home):
    r = login(stack, home)
    assert r.rc == 0, r
    assert "Logged in" in r.out
    path = config_file(home)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    conf = read_config(home)
    assert conf["url"] == stack.api_url
    assert conf["token"]
    assert conf["token"] not in r.out + r.err
    assert sorted(os.listdir(os.path.dirname(path))) == ["config"]  # no temp file left


def test_login_json_hides_the_secret(stack, home):
    r = login(stack, home)
    assert r.rc == 0, r
    r = vrcli(home, "--json", "--url", stack.api_url, "login", "--username", stack.admin_user,
              "--password-stdin", stdin=stack.admin_password)  # no newline: still read
    assert r.rc == 0, r
    body = r.json()
    assert "token" not in body
    assert body["user"]["username"] == stack.admin_user
    assert read_config(home)["token"] not in r.out


def test_whoami(stack, session_home):
    r = vrcli(session_home, "whoami")
    assert r.rc == 0, r
    assert stack.admin_user in r.out
    assert "session" in r.out
    r = vrcli(session_home, "--json", "whoami")
    assert r.rc == 0, r
    assert r.err == ""
    me = r.json()
    assert me["username"] == stack.admin_user
    assert me["role"] == "admin"
    assert me["auth"]["method"] == "session"


def test_health(stack, home):
    r = vrcli(home, "--url", stack.api_url, "health")
    assert r.rc == 0, r
    assert "ready" in r.out
    r = vrcli(home, "--url", stack.api_url, "--json", "health")
    assert r.rc == 0, r
    body = r.json()
    assert body["healthz"]["status"] == "ok"
    assert body["readyz"]["status"] == "ready"


def test_tokens_lifecycle(stack, session_home, home):
    name = "cli-" + uuid.uuid4().hex[:10]
    r = vrcli(session_home, "--json", "tokens", "create", name, "--role", "auditor",
              "--expires-days", "2")
    assert r.rc == 0, r
    tok = r.json()
    assert tok["name"] == name and tok["role"] == "auditor"
    assert tok["token"].startswith("vrt_")
    assert "only time" in r.err

    # the secret works as a credential, from --token, with no config at all
    r = vrcli(home, "--url", stack.api_url, "--token", tok["token"], "--json", "whoami")
    assert r.rc == 0, r
    me = r.json()
    assert me["role"] == "auditor"
    assert me["auth"]["method"] == "token" and me["auth"]["token_id"] == tok["id"]

    r = vrcli(session_home, "--json", "tokens", "list")
    assert r.rc == 0, r
    assert tok["id"] in [t["id"] for t in r.json()]
    r = vrcli(session_home, "tokens", "list", "--owner", stack.admin_user)
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:2] == ["ID", "NAME"]
    assert name in r.out and tok["token"] not in r.out

    r = vrcli(session_home, "tokens", "revoke", tok["id"])
    assert r.rc == 0, r
    r = vrcli(home, "--url", stack.api_url, "--token", tok["token"], "whoami")
    assert r.rc == 3, r
    line = one_error_line(r)
    assert "vrcli login" in line and tok["token"] not in line
    r = vrcli(session_home, "tokens", "revoke", tok["id"])
    assert r.rc == 4, r
    one_error_line(r)


def test_tokens_create_for_people(session_home):
    r = vrcli(session_home, "tokens", "create", "people-" + uuid.uuid4().hex[:8])
    assert r.rc == 0, r
    rows = dict(line.split(None, 1) for line in r.out.splitlines())
    assert rows["token:"].startswith("vrt_")
    assert "only time" in r.err
    assert vrcli(session_home, "tokens", "revoke", rows["id:"].strip()).rc == 0


def test_unknown_token_revoke_is_not_found(session_home):
    r = vrcli(session_home, "tokens", "revoke", "no-such-token-" + uuid.uuid4().hex)
    assert r.rc == 4, r
    one_error_line(r)
    assert r.out == ""


def test_audit_shows_the_login(stack, session_home):
    r = vrcli(session_home, "audit", "--action", "auth.login", "--outcome", "success")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:3] == ["TIME", "ACTOR", "ACTION"]
    assert "auth.login" in r.out and stack.admin_user in r.out

    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    until = until.strftime("%Y-%m-%dT%H:%M:%SZ")
    r = vrcli(session_home, "--json", "audit", "--action", "auth.login", "--until", until,
              "--limit", "500", "--all")
    assert r.rc == 0, r
    one_page = r.json()
    assert one_page and all(e["action"] == "auth.login" for e in one_page)
    assert any(e["actor"] == stack.admin_user and e["outcome"] == "success" for e in one_page)
    # --all follows next_cursor: pages of 2 merge into the same list
    r = vrcli(session_home, "--json", "audit", "--action", "auth.login", "--until", until,
              "--limit", "2", "--all")
    assert r.rc == 0, r
    assert [e["id"] for e in r.json()] == [e["id"] for e in one_page]


def test_bad_query_parameter_names_the_field(session_home):
    r = vrcli(session_home, "audit", "--since", "yesterday")
    assert r.rc == 5, r
    assert "(field: since)" in one_error_line(r)


def test_wrong_password(stack, home):
    r = vrcli(home, "--url", stack.api_url, "login", "--username", stack.admin_user,
              "--password-stdin", stdin="not-the-password-" + uuid.uuid4().hex + "\n")
    assert r.rc == 3, r
    line = one_error_line(r)
    assert "vrcli login" not in line  # the hint is for stale credentials, not typos
    assert r.out == ""
    assert not os.path.exists(config_file(home))


def test_login_without_terminal_or_password_stdin(stack, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VRCLI_")}
    env["HOME"] = str(home)
    # a new session has no controlling terminal, so there is nobody to ask
    p = subprocess.run([VRCLI, "--url", stack.api_url, "login", "--username", stack.admin_user],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60, start_new_session=True)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "--password-stdin" in p.stderr
    assert not os.path.exists(config_file(home))


def test_forged_token_is_unauthorised_and_not_echoed(stack, home):
    secret = "vrt_" + uuid.uuid4().hex
    r = vrcli(home, "--url", stack.api_url, "whoami", env={"VRCLI_TOKEN": secret})
    assert r.rc == 3, r
    line = one_error_line(r)
    assert "run 'vrcli login'" in line
    assert secret not in r.err + r.out


@pytest.mark.parametrize("args", [
    ["--bogus", "whoami"],
    ["whoami", "--nope"],
    ["whoami", "extra"],
    ["tokens", "create"],
    ["tokens", "frobnicate"],
    ["tokens", "create", "x", "--expires-days", "3", "--expires-at", "2030-01-01T00:00:00Z"],
    ["audit", "--limit", "many"],
    ["login", "--expires-days", "3"],
    ["nosuchcommand"],
    [],
])
def test_usage_errors(stack, home, args):
    r = vrcli(home, "--url", stack.api_url, *args)
    assert r.rc == 2, r
    assert r.out == ""
    assert "usage" in r.err or "vrcli help" in r.err


def test_help(home):
    r = vrcli(home, "help")
    assert r.rc == 0 and "tokens create" in r.out and "Exit codes" in r.out, r
    for cmd in (["login"], ["logout"], ["whoami"], ["health"], ["tokens", "create"],
                ["tokens", "list"], ["tokens", "revoke"], ["audit"], ["tokens"]):
        r = vrcli(home, *cmd, "--help")
        assert r.rc == 0 and r.out.startswith("usage: vrcli"), (cmd, r)
    assert vrcli(home, "--version").rc == 0


def test_unreachable_url(home):
    r = vrcli(home, "--url", UNREACHABLE, "--timeout", "5", "health")
    assert r.rc == 7, r
    line = one_error_line(r)
    assert "127.0.0.1:1" in line
    r = vrcli(home, "--url", UNREACHABLE, "--token", "vrt_x", "--json", "whoami")
    assert r.rc == 7, r
    assert r.out == ""
    assert "vrt_x" not in r.err


def test_environment(stack, home, api_token):
    env = {"VRCLI_URL": stack.api_url, "VRCLI_TOKEN": api_token["token"]}
    r = vrcli(home, "--json", "whoami", env=env)
    assert r.rc == 0, r
    assert r.json()["auth"]["token_id"] == api_token["id"]
    # a flag beats the environment
    r = vrcli(home, "--url", stack.api_url, "--json", "whoami",
              env={"VRCLI_URL": UNREACHABLE, "VRCLI_TOKEN": api_token["token"]})
    assert r.rc == 0, r
    r = vrcli(home, "--url", UNREACHABLE, "whoami", env=env)
    assert r.rc == 7, r


def test_environment_beats_config_file(stack, session_home, api_token):
    r = vrcli(session_home, "--json", "whoami", env={"VRCLI_TOKEN": api_token["token"]})
    assert r.rc == 0, r
    assert r.json()["auth"]["method"] == "token"
    r = vrcli(session_home, "health", env={"VRCLI_URL": UNREACHABLE})
    assert r.rc == 7, r  # the environment's URL wins over the file's


def test_stored_token_stays_with_its_url(session_home):
    r = vrcli(session_home, "--url", UNREACHABLE, "whoami")
    assert r.rc == 3, r
    assert "stored token is for" in one_error_line(r)


def test_json_output_is_only_json(stack, session_home):
    for args in (["whoami"], ["health"], ["tokens", "list"], ["audit", "--limit", "3"]):
        r = vrcli(session_home, "--json", *args)
        assert r.rc == 0, (args, r)
        json.loads(r.out)  # the whole of stdout is one JSON document
        assert r.out.lstrip()[0] in "[{", (args, r)


def test_login_with_token_name(stack, home):
    name = "scripting-" + uuid.uuid4().hex[:8]
    r = login(stack, home, "--token-name", name, "--expires-days", "7")
    assert r.rc == 0, r
    assert "API token" in r.out
    token = read_config(home)["token"]
    assert token.startswith("vrt_") and token not in r.out + r.err
    r = vrcli(home, "--json", "whoami")
    assert r.rc == 0, r
    me = r.json()
    assert me["auth"]["method"] == "token"
    exp = datetime.datetime.fromisoformat(me["auth"]["expires_at"].replace("Z", "+00:00"))
    days = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
    assert 6.9 < days <= 7.01
    # logout forgets an API token locally but leaves it valid on the server
    r = vrcli(home, "logout")
    assert r.rc == 0, r
    assert "token" not in read_config(home)
    r = vrcli(home, "--url", stack.api_url, "--token", token, "tokens", "revoke",
              me["auth"]["token_id"])
    assert r.rc == 0, r


def test_logout(stack, home):
    assert login(stack, home).rc == 0
    session = read_config(home)["token"]
    r = vrcli(home, "logout")
    assert r.rc == 0, r
    assert "token" not in read_config(home)
    assert read_config(home)["url"] == stack.api_url
    r = vrcli(home, "whoami")
    assert r.rc == 3, r
    # the session was revoked on the server, not only forgotten
    r = vrcli(home, "--token", session, "whoami")
    assert r.rc == 3, r
    one_error_line(r)
    r = vrcli(home, "logout")
    assert r.rc == 0, r


# --- replies apid does not give on demand: a fake server on loopback --------------------

PROBLEM = "application/problem+json"


def _problem(status, code, title, detail):
    return json.dumps({"type": "urn:vrgate:problem:" + code, "title": title, "status": status,
                       "detail": detail, "code": code}).encode()


class _Fake(http.server.BaseHTTPRequestHandler):
    """Replies from the server's routes table; records what each request carried."""

    def _reply(self):
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        status, headers, body = self.server.routes.get(
            self.path, (404, {"Content-Type": PROBLEM}, _problem(404, "not-found", "Not found",
                                                                 "no such route")))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v.replace("PORT", str(self.server.server_port)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _reply

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """fake - (http_url, https_url, ca_file, server): one route table, plain and TLS"""
    d = tmp_path_factory.mktemp("fake-tls")
    key, cert = str(d / "key.pem"), str(d / "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    ok = {"Content-Type": "application/json"}
    me = json.dumps({"id": "u1", "username": "fake", "display_name": None, "role": "user",
                     "source": "local", "addresses": ["fake@example.org"],
                     "created_at": "2026-01-01T00:00:00Z", "last_login_at": None,
                     "auth": {"method": "token", "expires_at": None,
                              "token_id": "t1"}}).encode()
    routes = {
        "/redirect/healthz": (302, {"Location": "http://127.0.0.1:PORT/echo/healthz"}, b""),
        "/echo/healthz": (200, ok, b'{"status":"ok","version":"fake"}'),
        "/echo/readyz": (200, ok, b'{"status":"ready","checks":[]}'),
        "/echo/api/v1/me": (200, ok, me),
        "/notready/healthz": (200, ok, b'{"status":"ok","version":"fake"}'),
        "/notready/readyz": (503, ok, b'{"status":"not-ready","checks":[{"name":"database",'
                                      b'"ok":false,"detail":"locked"}]}'),
        "/limited/api/v1/me": (429, {"Content-Type": PROBLEM, "Retry-After": "7"},
                               _problem(429, "rate-limited", "Too many requests", "slow down")),
        "/broken/api/v1/me": (500, {"Content-Type": PROBLEM},
                              _problem(500, "internal", "Internal error", "see the log")),
        "/proxy/api/v1/me": (502, {"Content-Type": "text/html"}, b"<h1>Bad gateway</h1>"),
        "/garbage/api/v1/me": (200, ok, b'{"username": '),
        "/forbidden/api/v1/tokens": (403, {"Content-Type": PROBLEM},
                                     _problem(403, "forbidden", "Forbidden", "admin only")),
    }
    servers = []
    for tls in (False, True):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
        srv.routes, srv.seen = routes, []
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    plain, tls = servers
    yield ("http://127.0.0.1:%d" % plain.server_port, "https://127.0.0.1:%d" % tls.server_port,
           cert, plain)
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_request_shape(fake, home):
    url, _, _, srv = fake
    del srv.seen[:]
    r = vrcli(home, "--url", url + "/echo/", "whoami", env={"VRCLI_TOKEN": "vrt_fake"})
    assert r.rc == 0, r
    assert "fake@example.org" in r.out
    method, path, headers = srv.seen[-1]
    assert (method, path) == ("GET", "/echo/api/v1/me")
    assert headers["Authorization"] == "Bearer vrt_fake"
    assert "Content-Type" not in headers


def test_redirects_are_not_followed(fake, home):
    url, _, _, srv = fake
    del srv.seen[:]
    r = vrcli(home, "--url", url + "/redirect", "health")
    assert r.rc == 1, r
    assert "redirect" in one_error_line(r)
    assert [p for _, p, _ in srv.seen] == ["/redirect/healthz"]


@pytest.mark.parametrize("prefix,rc,text", [
    ("/limited", 5, "retry after 7 s"),
    ("/broken", 6, "Internal error: see the log"),
    ("/proxy", 6, "Bad Gateway"),
    ("/garbage", 1, "invalid JSON"),
])
def test_reply_mapping(fake, home, prefix, rc, text):
    url = fake[0]
    r = vrcli(home, "--url", url + prefix, "whoami", env={"VRCLI_TOKEN": "vrt_fake"})
    assert r.rc == rc, r
    assert text in one_error_line(r)
    assert "vrt_fake" not in r.err


def test_forbidden(fake, home):
    r = vrcli(home, "--url", fake[0] + "/forbidden", "tokens", "list",
              env={"VRCLI_TOKEN": "vrt_fake"})
    assert r.rc == 3, r
    assert "vrcli login" not in one_error_line(r)  # 403: logging in again will not help


def test_not_ready(fake, home):
    r = vrcli(home, "--url", fake[0] + "/notready", "health")
    assert r.rc == 6, r
    assert "not-ready" in r.out and "locked" in r.out
    r = vrcli(home, "--url", fake[0] + "/notready", "--json", "health")
    assert r.rc == 6, r
    assert r.json()["readyz"]["status"] == "not-ready"


def test_tls_verification(fake, home):
    _, https, ca, _ = fake
    r = vrcli(home, "--url", https + "/echo", "health")
    assert r.rc == 7, r  # self-signed: refused by default
    assert https in one_error_line(r)
    r = vrcli(home, "--url", https + "/echo", "--ca-file", ca, "health")
    assert r.rc == 0, r
    assert r.err == ""
    r = vrcli(home, "--url", https + "/echo", "--insecure", "health")
    assert r.rc == 0, r
    assert "warning" in r.err and "--insecure" in r.err
