"""test_vrcli_admin - vrcli's admin commands against a running apid.

Covers `vrcli policy`, `domains`, `networks`, `agents`, `directories` and `users`: tables
for people, --json that parses (and nothing else on stdout), and the exit codes (2 usage,
3 not authenticated or not allowed, 4 not found, 5 rejected) with one-line errors. Each
run uses its own HOME (see test_vrcli.py's vrcli()). Raw API calls (an agent token and
its heartbeats) go through urllib, not the validating client, so that they do not depend
on openapi.yaml. Directory profiles point where nothing listens (ldaps://127.0.0.9:6360)
and are created disabled, so /readyz and logins are not affected; the module removes
them, puts the policy back, keeps the agent it registers alive with heartbeats while it
runs and then deletes it (a lost agent would make /readyz fail for later tests). Uses
conftest.py's `stack` fixture; run inside scripts/netns-run.
"""

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VRCLI = os.path.join(os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin")), "vrcli")
NOWHERE = "ldaps://127.0.0.9:6360"
NOWHERE2 = "ldaps://127.0.0.9:6361"


class Result:
    """The outcome of one vrcli run."""

    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


def run(home, *args, stdin=None, env=None):
    """run - vrcli with HOME=home and only the VRCLI_* variables given in env"""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("VRCLI_") and k != "XDG_CONFIG_HOME"}
    e["HOME"] = str(home)
    e.update(env or {})
    p = subprocess.run([VRCLI, *args], input=stdin, env=e, capture_output=True, text=True,
                       timeout=120, stdin=None if stdin is not None else subprocess.DEVNULL)
    return Result(p)


def one_error_line(r):
    """one_error_line - the run printed exactly one line, starting 'vrcli: ', on stderr"""
    lines = r.err.splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("vrcli: "), r
    return lines[0]


def usage_error(r):
    """usage_error - exit 2, nothing on stdout, the reason and the usage line on stderr"""
    assert r.rc == 2, r
    assert r.out == "", r
    assert r.err.startswith("vrcli: ") and "usage: vrcli" in r.err, r


def rows(out):
    """rows - a "key: value" table as a dict"""
    result = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        result[k.rstrip(":")] = v.strip()
    return result


def uid():
    return uuid.uuid4().hex[:10]


# --- raw API access -----------------------------------------------------------------

def call(stack, method, path, token=None, body=None):
    """call - one request with urllib; (status, parsed JSON body or None)"""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(stack.api_url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw else None)


@pytest.fixture(scope="module")
def admin_token(stack):
    """admin_token - an admin API token (for the raw calls), revoked at the end"""
    status, body = call(stack, "POST", "/api/v1/auth/login", body={
        "username": stack.admin_user, "password": stack.admin_password})
    assert status == 200, body
    session = body["token"]
    status, body = call(stack, "POST", "/api/v1/tokens", session, {
        "name": "vrcli-admin-" + uid(), "role": "admin"})
    assert status == 201, body
    call(stack, "POST", "/api/v1/auth/logout", session)
    yield body["token"]
    call(stack, "DELETE", "/api/v1/tokens/" + body["id"], body["token"])


@pytest.fixture(scope="module")
def home(stack, tmp_path_factory, admin_token):
    """home - a HOME whose config holds the URL and an admin API token"""
    d = tmp_path_factory.mktemp("vrcli-admin-home")
    conf = d / ".config" / "vrcli"
    conf.mkdir(parents=True, mode=0o700)
    (conf / "config").write_text("url = %s\ntoken = %s\n" % (stack.api_url, admin_token))
    os.chmod(conf / "config", 0o600)
    return d


@pytest.fixture(scope="module")
def auditor_env(stack, home):
    """auditor_env - VRCLI_TOKEN of an auditor API token"""
    r = run(home, "--json", "tokens", "create", "aud-" + uid(), "--role", "auditor",
            "--expires-days", "1")
    assert r.rc == 0, r
    return {"VRCLI_TOKEN": r.json()["token"]}


@pytest.fixture
def nohome(tmp_path):
    d = tmp_path / "nohome"
    d.mkdir()
    return d


# --- policy -------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def restore_policy(stack, admin_token):
    """Put back the policy fields this module changes."""
    status, original = call(stack, "GET", "/api/v1/policy", admin_token)
    assert status == 200, original
    yield
    status, now = call(stack, "GET", "/api/v1/policy", admin_token)
    body = {}
    for k in ("smarthost_host", "verify_positive_ttl", "verify_negative_ttl"):
        if now[k] != original[k]:
            body[k] = "" if original[k] is None else original[k]
    if body:
        status, reply = call(stack, "PATCH", "/api/v1/policy", admin_token, body)
        assert status == 200, reply


def test_policy_show(home):
    r = run(home, "policy", "show")
    assert r.rc == 0, r
    t = rows(r.out)
    for key in ("version", "hostname", "inbound_port", "outbound_mode", "verify_positive_ttl",
                "smarthost_host", "tls_outbound"):
        assert key in t, r
    r = run(home, "--json", "policy", "show")
    assert r.rc == 0 and r.err == "", r
    p = r.json()
    assert isinstance(p["version"], int) and isinstance(p["inbound_port"], int)
    assert t["hostname"] == p["hostname"] and t["version"] == str(p["version"])


def test_policy_set(home):
    before = run(home, "--json", "policy", "show").json()
    ttl = 4000 + int(uid()[:4], 16) % 1000
    r = run(home, "--json", "policy", "set", "verify_positive_ttl=%d" % ttl,
            "verify_negative_ttl=120", "smarthost_host=relay.example.net")
    assert r.rc == 0, r
    p = r.json()
    assert p["verify_positive_ttl"] == ttl and p["verify_negative_ttl"] == 120
    assert p["smarthost_host"] == "relay.example.net"
    assert p["version"] == before["version"] + 1
    # people get the same table as `policy show`; KEY= clears an optional string
    r = run(home, "policy", "set", "smarthost_host=")
    assert r.rc == 0, r
    assert rows(r.out)["smarthost_host"] == "-"
    assert run(home, "--json", "policy", "show").json()["smarthost_host"] is None


@pytest.mark.parametrize("args,field", [
    (["bogus_setting=1"], "bogus_setting"),
    (["verify_positive_ttl=59"], "verify_positive_ttl"),
    (["reinject_address=10.1.2.3"], "reinject_address"),
    (["hostname=not a host"], "hostname"),
])
def test_policy_set_rejected(home, args, field):
    v = run(home, "--json", "policy", "show").json()["version"]
    r = run(home, "policy", "set", *args)
    assert r.rc == 5, r
    assert "(field: %s)" % field in one_error_line(r)
    assert r.out == ""
    assert run(home, "--json", "policy", "show").json()["version"] == v


@pytest.mark.parametrize("args", [
    ["policy", "set"],
    ["policy", "set", "inbound_port=abc"],
    ["policy", "set", "inbound_port="],
    ["policy", "set", "hostname"],
    ["policy", "set", "hostname=a", "hostname=b"],
    ["policy", "show", "extra"],
    ["policy", "frobnicate"],
])
def test_policy_usage(home, args):
    usage_error(run(home, *args))


def test_policy_flush(home):
    v = run(home, "--json", "policy", "show").json()["version"]
    r = run(home, "--json", "policy", "flush-verify-cache")
    assert r.rc == 0, r
    assert r.json() == {"version": v + 1}
    r = run(home, "policy", "flush-verify-cache")
    assert r.rc == 0, r
    assert "Flushed" in r.out and str(v + 2) in r.out


def test_policy_auth(stack, home, nohome, auditor_env):
    r = run(home, "--json", "policy", "show", env=auditor_env)
    assert r.rc == 0, r  # auditors read
    r = run(home, "policy", "set", "verify_negative_ttl=300", env=auditor_env)
    assert r.rc == 3, r
    assert "vrcli login" not in one_error_line(r)
    r = run(home, "policy", "flush-verify-cache", env=auditor_env)
    assert r.rc == 3, r
    r = run(nohome, "--url", stack.api_url, "policy", "show")
    assert r.rc == 3, r
    r = run(nohome, "--url", stack.api_url, "policy", "show",
            env={"VRCLI_TOKEN": "vrt_" + uuid.uuid4().hex})
    assert r.rc == 3, r
    assert "vrcli login" in one_error_line(r)


# --- domains and networks -----------------------------------------------------------

def test_domains_lifecycle(home, auditor_env):
    name = "cli-%s.example.org" % uid()
    r = run(home, "--json", "domains", "add", name.upper(), "--internal-host", "127.0.0.1",
            "--internal-port", "2525", "--no-verify")
    assert r.rc == 0, r
    d = r.json()
    assert (d["name"], d["internal_host"], d["internal_port"], d["verify_recipients"]) == (
        name, "127.0.0.1", 2525, False)

    r = run(home, "domains", "list")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:2] == ["ID", "NAME"]
    line = [ln for ln in r.out.splitlines() if name in ln]
    assert len(line) == 1 and d["id"] in line[0] and "2525" in line[0], r
    r = run(home, "--json", "domains", "list", env=auditor_env)
    assert r.rc == 0, r
    assert d["id"] in [x["id"] for x in r.json()]

    r = run(home, "domains", "show", d["id"])
    assert r.rc == 0, r
    t = rows(r.out)
    assert (t["id"], t["name"], t["verify_recipients"]) == (d["id"], name, "no")

    r = run(home, "domains", "add", name, "--internal-host", "127.0.0.2")
    assert r.rc == 5, r
    assert "(field: name)" in one_error_line(r)

    renamed = "cli-%s.example.net" % uid()
    r = run(home, "--json", "domains", "set", d["id"], "--name", renamed, "--verify",
            "--internal-host", "mail.internal.example")
    assert r.rc == 0, r
    d2 = r.json()
    assert (d2["id"], d2["name"], d2["internal_host"], d2["internal_port"],
            d2["verify_recipients"]) == (d["id"], renamed, "mail.internal.example", 2525, True)
    r = run(home, "domains", "set", d["id"], "--internal-port", "25", env=auditor_env)
    assert r.rc == 3, r

    r = run(home, "domains", "remove", d["id"])
    assert r.rc == 0, r
    assert d["id"] in r.out
    for args in (["remove", d["id"]], ["show", d["id"]], ["set", d["id"], "--verify"]):
        r = run(home, "domains", *args)
        assert r.rc == 4, (args, r)
        one_error_line(r)


def test_domains_rejected(home):
    r = run(home, "domains", "add", "nodot", "--internal-host", "127.0.0.1")
    assert r.rc == 5, r
    assert "(field: name)" in one_error_line(r)


@pytest.mark.parametrize("args", [
    ["domains", "add", "x.example.org"],
    ["domains", "add", "--internal-host", "h"],
    ["domains", "add", "x.example.org", "--internal-host", "h", "--internal-port", "0"],
    ["domains", "add", "x.example.org", "--internal-host", "h", "--internal-port", "smtp"],
    ["domains", "set", "someid"],
    ["domains", "set", "someid", "--verify", "--no-verify"],
    ["domains", "show"],
    ["domains", "remove", "a", "b"],
])
def test_domains_usage(home, args):
    usage_error(run(home, *args))


def test_networks_lifecycle(home, auditor_env):
    a, b = (int(x, 16) % 250 + 1 for x in (uid()[:4], uid()[:4]))
    cidr = "10.%d.%d.0/24" % (a, b)
    r = run(home, "--json", "networks", "add", cidr, "--description", "vrcli test net")
    assert r.rc == 0, r
    n = r.json()
    assert (n["cidr"], n["description"]) == (cidr, "vrcli test net")
    r = run(home, "networks", "list")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:2] == ["ID", "CIDR"]
    assert any(n["id"] in ln and cidr in ln and "vrcli test net" in ln
               for ln in r.out.splitlines()), r
    r = run(home, "--json", "networks", "list", env=auditor_env)
    assert r.rc == 0 and n["id"] in [x["id"] for x in r.json()], r

    r = run(home, "networks", "add", cidr)
    assert r.rc == 5, r
    assert "(field: cidr)" in one_error_line(r)
    r = run(home, "networks", "add", "10.%d.%d.1/24" % (a, b))  # host bits set
    assert r.rc == 5, r
    assert "(field: cidr)" in one_error_line(r)
    r = run(home, "networks", "add", "127.0.0.%d" % b, env=auditor_env)
    assert r.rc == 3, r

    # a bare address is a /32, without description
    r = run(home, "--json", "networks", "add", "192.0.2.%d" % a)
    assert r.rc == 0, r
    host = r.json()
    assert host["cidr"] == "192.0.2.%d/32" % a and host["description"] is None
    assert run(home, "networks", "remove", host["id"]).rc == 0

    r = run(home, "networks", "remove", n["id"])
    assert r.rc == 0 and n["id"] in r.out, r
    r = run(home, "networks", "remove", n["id"])
    assert r.rc == 4, r
    one_error_line(r)


@pytest.mark.parametrize("args", [
    ["networks", "add"],
    ["networks", "add", "10.0.0.0/8", "--description"],
    ["networks", "remove"],
    ["networks", "show", "x"],
])
def test_networks_usage(home, args):
    usage_error(run(home, *args))


# --- agents ---------------------------------------------------------------------------

class _Heartbeats:
    """Keeps one agent alive: a heartbeat every 20 s with the current version, until stop."""

    def __init__(self, stack, token, name):
        self.stack, self.token, self.name = stack, token, name
        self.error = None
        self.stop = threading.Event()

    def beat(self):
        status, snap = call(self.stack, "GET", "/api/v1/agent/snapshot", self.token)
        assert status == 200, snap
        body = {"name": self.name, "applied_version": snap["version"], "postfix": "running"}
        if self.error:
            body["last_error"] = self.error
        status, reply = call(self.stack, "POST", "/api/v1/agent/heartbeat", self.token, body)
        assert status == 204, reply

    def loop(self):
        while not self.stop.wait(20):
            try:
                self.beat()
            except Exception:  # the next beat (or the teardown) will tell
                pass


@pytest.fixture(scope="module")
def agent(stack, admin_token):
    """agent - a registered agent, kept healthy while the module runs, then forgotten"""
    status, tok = call(stack, "POST", "/api/v1/tokens", admin_token, {
        "name": "vrcli-agent-" + uid(), "role": "agent"})
    assert status == 201, tok
    hb = _Heartbeats(stack, tok["token"], "vrcli-" + uid())
    hb.beat()
    threading.Thread(target=hb.loop, daemon=True).start()
    yield hb
    hb.stop.set()
    # a registered agent would turn "lost" (and /readyz 503) 90 s after its last heartbeat
    status, body = call(stack, "DELETE", "/api/v1/agents/" + hb.name, admin_token)
    assert status == 204, body
    call(stack, "DELETE", "/api/v1/tokens/" + tok["id"], admin_token)


def test_agents(home, agent, auditor_env):
    r = run(home, "agents")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:3] == ["NAME", "STATE", "APPLIED/CURRENT"]
    line = [ln.split() for ln in r.out.splitlines() if ln.startswith(agent.name + " ")]
    assert len(line) == 1, r
    assert line[0][1] == "ok" and line[0][3] == "running", r
    applied, current = line[0][2].split("/")
    assert applied == current
    r = run(home, "--json", "agents", env=auditor_env)
    assert r.rc == 0, r
    a = [x for x in r.json() if x["name"] == agent.name]
    assert len(a) == 1 and a[0]["state"] == "ok" and a[0]["last_error"] is None, r

    agent.error = "postfix check failed: main.cf line 3"
    try:
        agent.beat()
        r = run(home, "agents")
        assert r.rc == 0, r  # a listing, not a health check
        line = [ln for ln in r.out.splitlines() if ln.startswith(agent.name + " ")]
        assert len(line) == 1 and " error " in line[0], r
        assert line[0].endswith("postfix check failed: main.cf line 3"), r
    finally:
        agent.error = None
        agent.beat()
    a = [x for x in run(home, "--json", "agents").json() if x["name"] == agent.name]
    assert a[0]["state"] == "ok" and a[0]["last_error"] is None, a
    usage_error(run(home, "agents", "list"))


# --- directories ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def made_dirs(stack, admin_token):
    """made_dirs - IDs of the profiles the tests made; removed at the end"""
    ids = []
    yield ids
    for i in ids:
        call(stack, "DELETE", "/api/v1/directories/" + i, admin_token)


def add_dir(home, made_dirs, *extra, stdin=None, name=None):
    """add_dir - `directories add` of a disabled profile where nothing listens"""
    name = name or "dir-" + uid()
    r = run(home, "--json", "directories", "add", "--name", name, "--kind", "openldap",
            "--uri", NOWHERE, "--base-dn", "dc=example,dc=org", "--disabled", *extra,
            stdin=stdin)
    if r.rc == 0:
        made_dirs.append(r.json()["id"])
    return r


def test_directories_add_show_list(home, made_dirs):
    secret = "S3cret-" + uuid.uuid4().hex
    r = add_dir(home, made_dirs, "--uri", NOWHERE2, "--bind-dn",
                "cn=svc,ou=system,dc=example,dc=org", "--bind-password-stdin",
                "--group-role", "cn=admins,ou=groups,dc=example,dc=org=admin",
                "--group-role", "cn=staff,ou=groups,dc=example,dc=org=user",
                "--netbios-domain", "EXAMPLE", "--ca-file", "/etc/ssl/certs/ca.pem",
                "--no-verify-cert", stdin=secret + "\n")
    assert r.rc == 0, r
    d = r.json()
    assert d["uris"] == [NOWHERE, NOWHERE2]
    assert d["group_roles"] == [
        {"group_dn": "cn=admins,ou=groups,dc=example,dc=org", "role": "admin"},
        {"group_dn": "cn=staff,ou=groups,dc=example,dc=org", "role": "user"}]
    assert (d["kind"], d["enabled"], d["verify_cert"], d["starttls"]) == (
        "openldap", False, False, False)
    assert (d["bind_password_set"], d["netbios_domain"], d["ca_file"]) == (
        True, "EXAMPLE", "/etc/ssl/certs/ca.pem")
    assert "{login}" in d["user_filter"]  # the kind's preset
    assert secret not in r.out + r.err

    for args in (["directories", "show", d["id"]], ["--json", "directories", "show", d["id"]],
                 ["directories", "list"], ["--json", "directories", "list"]):
        r = run(home, *args)
        assert r.rc == 0, (args, r)
        assert secret not in r.out + r.err, args
        assert d["id"] in r.out
    r = run(home, "directories", "show", d["id"])
    t = rows(r.out)
    assert (t["bind_password_set"], t["enabled"], t["verify_cert"]) == ("yes", "no", "no"), r
    assert t["uris"] == "%s, %s" % (NOWHERE, NOWHERE2)
    assert t["group_roles"] == ("cn=admins,ou=groups,dc=example,dc=org=admin; "
                                "cn=staff,ou=groups,dc=example,dc=org=user")
    r = run(home, "directories", "list")
    assert r.out.splitlines()[0].split()[:3] == ["ID", "POSITION", "NAME"]
    assert any(ln.startswith(d["id"] + " ") and d["name"] in ln for ln in r.out.splitlines())
    r = run(home, "--json", "directories", "list")
    assert d["id"] in [x["id"] for x in r.json()]


def test_directories_set(home, made_dirs):
    r = add_dir(home, made_dirs, "--group-role", "cn=g=auditor")
    assert r.rc == 0, r
    d = r.json()
    assert d["bind_password_set"] is False
    secret = "pw-" + uuid.uuid4().hex
    r = run(home, "--json", "directories", "set", d["id"], "--bind-dn", "cn=svc",
            "--bind-password-stdin", "--no-group-roles", "--position", "900",
            "--uri", NOWHERE2, stdin=secret + "\n")
    assert r.rc == 0, r
    d2 = r.json()
    assert (d2["bind_password_set"], d2["bind_dn"], d2["group_roles"], d2["position"],
            d2["uris"]) == (True, "cn=svc", [], 900, [NOWHERE2])
    assert d2["name"] == d["name"] and d2["enabled"] is False
    assert secret not in r.out + r.err

    # enabled only for a moment: an unreachable enabled profile makes /readyz fail
    try:
        r = run(home, "--json", "directories", "set", d["id"], "--enable")
        assert r.rc == 0 and r.json()["enabled"] is True, r
    finally:
        r = run(home, "directories", "set", d["id"], "--disable", "--verify-cert")
        assert r.rc == 0, r
    assert (rows(r.out)["enabled"], rows(r.out)["verify_cert"]) == ("no", "yes")

    # an empty line on stdin removes the stored password
    r = run(home, "--json", "directories", "set", d["id"], "--bind-password-stdin", stdin="\n")
    assert r.rc == 0 and r.json()["bind_password_set"] is False, r

    r = run(home, "directories", "set", d["id"], "--uri", "ldap://127.0.0.9:3890")
    assert r.rc == 5, r
    assert "starttls" in one_error_line(r)
    r = run(home, "directories", "set", d["id"], "--ca-file", "relative/ca.pem")
    assert r.rc == 5, r
    assert "(field: ca_file)" in one_error_line(r)
    r = run(home, "--json", "directories", "set", d["id"], "--uri", "ldap://127.0.0.9:3890",
            "--starttls")
    assert r.rc == 0 and r.json()["starttls"] is True, r


def test_directories_add_rejected(home, made_dirs):
    r = add_dir(home, made_dirs, "--uri", "ldap://127.0.0.9:3890")
    assert r.rc == 5, r
    assert "starttls" in one_error_line(r)
    assert r.out == ""
    r = run(home, "directories", "add", "--name", "x-" + uid(), "--kind", "novell",
            "--uri", NOWHERE, "--base-dn", "dc=x")
    assert r.rc == 5, r
    assert "(field: kind)" in one_error_line(r)
    name = "dup-" + uid()
    assert add_dir(home, made_dirs, name=name).rc == 0
    r = add_dir(home, made_dirs, name=name.upper())
    assert r.rc == 5, r
    assert "(field: name)" in one_error_line(r)


def test_directories_test_fails(home, made_dirs):
    r = add_dir(home, made_dirs)
    assert r.rc == 0, r
    d = r.json()
    r = run(home, "directories", "test", d["id"])
    assert r.rc == 1, r
    assert r.out.splitlines()[0].split() == ["STEP", "RESULT", "MS", "DETAIL"], r
    steps = [ln.split(None, 3) for ln in r.out.splitlines()[1:]]
    assert steps and steps[-1][1] == "FAIL", r
    assert all(s[1] in ("ok", "FAIL") for s in steps), r
    float(steps[-1][2])
    assert "failed" in one_error_line(r)

    r = run(home, "--json", "directories", "test", d["id"], "--login", "alice")
    assert r.rc == 1, r
    body = r.json()
    assert body["ok"] is False
    assert body["steps"] and body["steps"][-1]["ok"] is False
    assert {"name", "ok", "ms", "detail"} <= set(body["steps"][-1])


def test_directories_remove(home, made_dirs, auditor_env):
    r = add_dir(home, made_dirs)
    assert r.rc == 0, r
    i = r.json()["id"]
    for args in (["list"], ["show", i], ["test", i], ["remove", i]):
        r = run(home, "directories", *args, env=auditor_env)
        assert r.rc == 3, (args, r)  # admin only
        one_error_line(r)
    r = run(home, "directories", "remove", i)
    assert r.rc == 0 and i in r.out, r
    for args in (["show", i], ["remove", i], ["test", i], ["set", i, "--enable"]):
        r = run(home, "directories", *args)
        assert r.rc == 4, (args, r)
        one_error_line(r)


@pytest.mark.parametrize("args,stdin", [
    (["directories", "add", "--kind", "ad", "--uri", NOWHERE, "--base-dn", "dc=x"], None),
    (["directories", "add", "--name", "n", "--uri", NOWHERE, "--base-dn", "dc=x"], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--base-dn", "dc=x"], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE, "--base-dn",
      "dc=x", "--bind-password", "secret"], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE, "--base-dn",
      "dc=x", "--bind-password-stdin"], ""),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE, "--base-dn",
      "dc=x", "--group-role", "cn=admins,dc=x"], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE, "--base-dn",
      "dc=x", "--group-role", "cn=a=superuser"], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE, "--base-dn",
      "dc=x", "--position", "first"], None),
    (["directories", "add", "--name", "n", "--kind", "ad", "--uri", NOWHERE, "--base-dn",
      "dc=x", "--enable"], None),
    (["directories", "set", "someid"], None),
    (["directories", "set", "someid", "--enable", "--disable"], None),
    (["directories", "set", "someid", "--starttls", "--no-starttls"], None),
    (["directories", "set", "someid", "--group-role", "cn=a=admin", "--no-group-roles"], None),
    (["directories", "test"], None),
    (["directories", "test", "someid", "--login"], None),
])
def test_directories_usage(home, args, stdin):
    usage_error(run(home, *args, stdin=stdin))


# --- users ------------------------------------------------------------------------------

def test_users(stack, home, auditor_env):
    r = run(home, "users", "list")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:3] == ["ID", "USERNAME", "ROLE"]
    r = run(home, "--json", "users", "list", "--query", stack.admin_user)
    assert r.rc == 0, r
    me = [u for u in r.json() if u["username"] == stack.admin_user]
    assert len(me) == 1 and me[0]["source"] == "local" and me[0]["role"] == "admin", r
    u = me[0]

    r = run(home, "users", "show", u["id"])
    assert r.rc == 0, r
    t = rows(r.out)
    assert (t["id"], t["username"], t["role"], t["source"], t["disabled"]) == (
        u["id"], stack.admin_user, "admin", "local", "no")
    r = run(home, "--json", "users", "show", u["id"], env=auditor_env)
    assert r.rc == 0 and r.json()["id"] == u["id"], r  # auditors read

    # --all with pages of one merges into the same list as one big page
    r = run(home, "--json", "users", "list", "--limit", "500")
    assert r.rc == 0, r
    one_page = [x["id"] for x in r.json()]
    r = run(home, "--json", "users", "list", "--limit", "1", "--all")
    assert r.rc == 0, r
    assert [x["id"] for x in r.json()] == one_page
    if len(one_page) > 1:
        r = run(home, "users", "list", "--limit", "1")
        assert r.rc == 0 and "--all" in r.err, r
    r = run(home, "--json", "users", "list", "--query", "no-such-user-" + uid())
    assert r.rc == 0 and r.json() == [], r

    # a local account keeps its role
    r = run(home, "users", "set-role", u["id"], "auditor")
    assert r.rc == 5, r
    assert "(field: role_override)" in one_error_line(r)
    r = run(home, "users", "set-role", u["id"], "none", env=auditor_env)
    assert r.rc == 3, r
    r = run(home, "users", "set-role", "no-such-id-" + uid(), "user")
    assert r.rc == 4, r
    one_error_line(r)
    r = run(home, "users", "show", "no-such-id-" + uid())
    assert r.rc == 4, r


@pytest.mark.parametrize("args", [
    ["users", "set-role", "someid"],
    ["users", "set-role", "someid", "root"],
    ["users", "set-role", "someid", "agent"],
    ["users", "list", "--limit", "0"],
    ["users", "list", "--query"],
    ["users", "show"],
])
def test_users_usage(home, args):
    usage_error(run(home, *args))


def test_users_bad_query(home):
    r = run(home, "users", "list", "--limit", "501")
    assert r.rc == 5, r
    assert "(field: limit)" in one_error_line(r)


# --- all of them ----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["policy", "show"], ["domains", "list"], ["networks", "list"], ["agents"],
    ["directories", "list"], ["users", "list"],
])
def test_json_output_is_only_json(home, args):
    r = run(home, "--json", *args)
    assert r.rc == 0, (args, r)
    json.loads(r.out)
    assert r.out.lstrip()[0] in "[{" and r.err == "", (args, r)


def test_help(home):
    r = run(home, "help")
    assert r.rc == 0, r
    for cmd in ("policy set", "domains add", "networks remove", "agents", "directories test",
                "users set-role"):
        assert cmd in r.out, cmd
    cmds = [["policy", "show"], ["policy", "set"], ["policy", "flush-verify-cache"],
            ["domains", "list"], ["domains", "show"], ["domains", "add"], ["domains", "set"],
            ["domains", "remove"], ["networks", "list"], ["networks", "add"],
            ["networks", "remove"], ["agents"], ["directories", "list"],
            ["directories", "show"], ["directories", "add"], ["directories", "set"],
            ["directories", "remove"], ["directories", "test"], ["users", "list"],
            ["users", "show"], ["users", "set-role"]]
    for cmd in cmds:
        r = run(home, *cmd, "--help")
        assert r.rc == 0 and r.out.startswith("usage: vrcli"), (cmd, r)
        assert "-h, --help" in r.out
    for group in ("policy", "domains", "networks", "directories", "users"):
        r = run(home, group, "--help")
        assert r.rc == 0 and "Subcommands:" in r.out, (group, r)
        r = run(home, group)
        assert r.rc == 2 and "Subcommands:" in r.err, (group, r)
    r = run(home, "directories", "add", "--help")
    assert "--bind-password-stdin" in r.out and "--bind-password " not in r.out
