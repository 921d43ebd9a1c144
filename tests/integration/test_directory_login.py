"""test_directory_login - apid's directory module (apid/directory*.c) against real servers.

Drives tests/tools/dirlogin (one JSON result per login) against the stack's Samba AD DC and
OpenLDAP slapd: logins by every accepted form, over LDAPS and StartTLS with the CA
verified; roles from nested groups; addresses; AD account states (disabled, locked);
refusals that must happen before any bind (empty password); filter injection; servers
that are absent, silent or stopped (answered within the configured timeout); fail-over
to a second URI. The module starts its own stack (VR_STACK_COMPONENTS=directory) in a
temporary directory and stops it at the end, unless VR_STACK_ENV names a stack.env that
has VR_AD_URI (then that running stack is used and left running; the OpenLDAP nesting
test adds uniquely named entries to it). Run inside scripts/netns-run:
  VR_BIN_DIR=build-asan/bin scripts/netns-run /usr/bin/python3 -m pytest -q \
      tests/integration/test_directory_login.py
dirlogin is looked up in VR_BIN_DIR/../tests, then build/tests. Any sanitizer report on
its stderr fails the test.
"""

import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
NET_MS, OP_MS = 1000, 2000  # the timeouts the unreachable-server cases use
INJECTIONS = ["*", ")(", "\\00", "admin*)(|(uid=*", "alice)(|(objectClass=*", "*)(uid=*))(|(uid=*"]


def read_env(path):
    """read_env - the KEY='value' lines of a stack.env file as a dict"""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k] = shlex.split(v)[0] if v else ""
    return env


def find_dirlogin():
    """find_dirlogin - the dirlogin binary of the build under test"""
    cands = []
    if os.environ.get("VR_BIN_DIR"):
        cands.append(os.path.join(os.environ["VR_BIN_DIR"], "..", "tests", "dirlogin"))
    cands.append(os.path.join(ROOT, "build", "tests", "dirlogin"))
    for c in cands:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    pytest.fail("dirlogin not built (looked in %s): make build-asan" % ", ".join(cands))


def free_port():
    """free_port - a TCP port of 127.0.0.1 that nothing listens on right now"""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Silent:
    """A listener that accepts TCP connections (kernel backlog) and never answers."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.sock.close()


@pytest.fixture(scope="module")
def stackenv(tmp_path_factory):
    reuse = os.environ.get("VR_STACK_ENV")
    if reuse and "VR_AD_URI" in read_env(reuse):
        env = read_env(reuse)
        env["_DIR"] = os.path.dirname(os.path.abspath(reuse))
        yield env
        return
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.skip("run inside scripts/netns-run (the directory binds 127.0.0.2:389/636)")
    d = str(tmp_path_factory.mktemp("dirstack"))
    penv = dict(os.environ, VR_STACK_COMPONENTS="directory")
    stack = os.path.join(ROOT, "scripts", "stack")
    up = subprocess.run([stack, "up", d], env=penv, capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        subprocess.run([stack, "down", d], env=penv, capture_output=True, timeout=120)
        pytest.fail("scripts/stack up failed:\n%s%s" % (up.stdout, up.stderr))
    env = read_env(os.path.join(d, "stack.env"))
    env["_DIR"] = d
    try:
        yield env
    finally:
        down = subprocess.run([stack, "down", d], env=penv, capture_output=True, text=True,
                              timeout=120)
        assert down.returncode == 0, down.stderr


class Directory:
    """One directory of the stack and the dirlogin profile that reaches it."""

    def __init__(self, kind, env, binary):
        self.kind, self.env, self.binary = kind, env, binary
        if kind == "ad":
            self.ldaps, self.starttls = env["VR_AD_URI"], env["VR_AD_STARTTLS_URI"]
            self.ca = env["VR_AD_CA_FILE"]
            self.bind_password = env["VR_AD_BIND_PASSWORD"]
            self.profile = ["--kind", "ad", "--bind-dn", env["VR_AD_BIND_DN"],
                            "--base-dn", env["VR_AD_BASE_DN"], "--domain", env["VR_AD_DOMAIN"],
                            "--group", "admin=" + env["VR_AD_ADMIN_GROUP_DN"],
                            "--group", "helpdesk=" + env["VR_AD_HELPDESK_GROUP_DN"],
                            "--group", "auditor=" + env["VR_AD_AUDITOR_GROUP_DN"]]
            self.user, self.password = env["VR_AD_USER"], env["VR_AD_PASSWORD"]
        else:
            self.ldaps, self.starttls = env["VR_LDAPS_URI"], env["VR_LDAP_URI"]
            self.ca = env["VR_LDAP_CA_FILE"]
            self.bind_password = env["VR_LDAP_BIND_PASSWORD"]
            self.profile = ["--kind", "openldap", "--bind-dn", env["VR_LDAP_BIND_DN"],
                            "--base-dn", env["VR_LDAP_BASE_DN"],
                            "--group", "admin=" + env["VR_LDAP_ADMIN_GROUP_DN"]]
            self.user, self.password = env["VR_LDAP_USER"], env["VR_LDAP_PASSWORD"]

    def run(self, login, password, uris=None, ca=None, extra=(), test=False, threads=0):
        """run - dirlogin's JSON result, with the wall time in "wall_ms" """
        args = [self.binary] + self.profile
        for u in uris or [self.ldaps]:
            args += ["--uri", u]
        args += ["--ca-file", ca or self.ca, "--net-timeout-ms", str(NET_MS),
                 "--op-timeout-ms", str(OP_MS)] + list(extra)
        if test:
            args.append("--test")
        if threads:
            args += ["--threads", str(threads)]
        if login is not None:
            args.append(login)
        env = dict(os.environ, DIRLOGIN_BIND_PASSWORD=self.bind_password,
                   DIRLOGIN_PASSWORD=password if password is not None else "")
        t0 = time.monotonic()
        p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        wall = (time.monotonic() - t0) * 1000
        bad = [line for line in p.stderr.splitlines() if any(m in line for m in SANITIZER_MARKS)]
        assert not bad, "sanitizer report from dirlogin:\n" + p.stderr[-4000:]
        assert p.returncode in (0, 1), "dirlogin exited %d: %s" % (p.returncode, p.stderr)
        out = json.loads(p.stdout)
        out["wall_ms"] = wall
        if not test and not threads:
            assert (p.returncode == 0) == (out["result"] == "ok"), out
        return out

    def login(self, login, password, transport="ldaps", **kw):
        uris = kw.pop("uris", None) or [self.ldaps if transport == "ldaps" else self.starttls]
        return self.run(login, password, uris=uris, **kw)


@pytest.fixture(scope="module")
def ad(stackenv):
    return Directory("ad", stackenv, find_dirlogin())


@pytest.fixture(scope="module")
def ol(stackenv):
    return Directory("openldap", stackenv, find_dirlogin())


def ok(r, role=None):
    assert r["result"] == "ok", r
    if role:
        assert r["role"] == role, r
    return r


def same_outcome(a, b):
    """same_outcome - two failures that the caller could not tell apart"""
    strip = ("why", "ms", "wall_ms")
    return {k: v for k, v in a.items() if k not in strip} == \
        {k: v for k, v in b.items() if k not in strip}


# ---------------------------------------------------------------- Active Directory

TRANSPORTS = ["ldaps", "starttls"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("form", ["sam", "upn", "netbios", "netbios_lower", "mail", "alias",
                                  "alias_upper"])
def test_ad_login_forms(ad, transport, form):
    e = ad.env
    login = {"sam": e["VR_AD_USER"], "upn": e["VR_AD_USER_UPN"],
             "netbios": e["VR_AD_DOMAIN"] + "\\" + e["VR_AD_USER"],
             "netbios_lower": e["VR_AD_DOMAIN"].lower() + "\\" + e["VR_AD_USER"],
             "mail": e["VR_AD_USER_MAIL"], "alias": e["VR_AD_USER_ALIAS"],
             "alias_upper": e["VR_AD_USER_ALIAS"].upper()}[form]
    r = ok(ad.login(login, ad.password, transport), "user")
    assert r["dn"] == e["VR_AD_USER_DN"]
    assert r["username"] == e["VR_AD_USER"]


def test_ad_alice_addresses(ad):
    r = ok(ad.login(ad.user, ad.password), "user")
    assert r["display_name"] == "Alice Martin"
    # SMTP: primary first, then the smtp: aliases; X400/SIP and the like ignored
    assert r["addresses"] == ["alice@corp.test", "a.martin@corp.test", "sales@corp.test"]
    assert r["primary_address"] == "alice@corp.test"


@pytest.mark.parametrize("who,role", [("ADMIN", "admin"), ("HELPDESK", "helpdesk"),
                                      ("AUDITOR", "auditor")])
def test_ad_roles(ad, who, role):
    e = ad.env
    r = ok(ad.login(e["VR_AD_" + who], e["VR_AD_%s_PASSWORD" % who]), role)
    if who == "ADMIN":  # bob is admin only through IT-Staff nested in vrgate-admins
        assert r["dn"] == e["VR_AD_ADMIN_DN"]
        assert "it@corp.test" in r["addresses"]


def test_ad_other_domain(ad):
    r = ad.login("OTHER\\" + ad.user, ad.password)
    assert r["result"] == "bad_credentials"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ad_wrong_password_and_unknown_user_alike(ad, transport):
    wrong = ad.login(ad.user, ad.password + "x", transport)
    unknown = ad.login("nobody-" + uuid.uuid4().hex[:8], ad.password, transport)
    assert wrong["result"] == unknown["result"] == "bad_credentials"
    assert same_outcome(wrong, unknown), (wrong, unknown)
    assert "52e" in wrong["why"] and "no entry" in unknown["why"]


def test_ad_disabled(ad):
    e = ad.env
    r = ad.login(e["VR_AD_DISABLED_USER"], e["VR_AD_DISABLED_PASSWORD"])
    assert r["result"] == "disabled", r
    assert "533" in r["why"]
    # without the right password, AD does not say it is disabled
    assert ad.login(e["VR_AD_DISABLED_USER"], "Wrong-1")["result"] == "bad_credentials"


def test_ad_locked(ad):
    e = ad.env
    r = ad.login(e["VR_AD_LOCKED_USER"], e["VR_AD_LOCKED_PASSWORD"])
    assert r["result"] == "locked", r
    assert "775" in r["why"]


def samba_auth_lines(env):
    path = os.path.join(env["_DIR"], "log", "directory-samba.log")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line for line in f if "Auth: [LDAP" in line]


def slapd_binds(env):
    path = os.path.join(env["_DIR"], "log", "directory-slapd.log")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line for line in f if " BIND " in line or " ACCEPT " in line]


def test_ad_empty_password_no_bind(ad):
    before = len(samba_auth_lines(ad.env))
    r = ad.login(ad.user, "")
    assert r["result"] == "bad_credentials" and r["why"] == "empty password", r
    # a bind of anyone would be one "Auth:" line; give Samba's log a moment
    time.sleep(0.3)
    assert len(samba_auth_lines(ad.env)) == before
    # the check itself works: a real attempt is logged
    ad.login(ad.user, ad.password + "x")
    time.sleep(0.3)
    assert len(samba_auth_lines(ad.env)) > before


@pytest.mark.parametrize("login", INJECTIONS)
def test_ad_injection(ad, login):
    r = ad.login(login, ad.password)  # alice's password: a match would log her in
    assert r["result"] == "bad_credentials", r
    assert r["why"] in ("no entry matches the login", "login names another domain"), r


def test_ad_refusals_before_any_bind(ad):
    before = len(samba_auth_lines(ad.env))
    for login in ["", "a" * 257, "ali\nce", "ali\tce", "CORP\\", "\\alice"]:
        r = ad.login(login, ad.password)
        assert r["result"] == "bad_credentials", (login, r)
    time.sleep(0.3)
    assert len(samba_auth_lines(ad.env)) == before


def test_ad_wrong_ca(ad, tmp_path):
    ca = make_other_ca(tmp_path)
    for transport in TRANSPORTS:
        r = ad.login(ad.user, ad.password, transport, ca=ca)
        assert r["result"] == "unavailable", r
    t = ad.run(ad.user, ad.password, ca=ca, test=True)
    assert not t["ok"] and t["steps"][-1]["name"] == "connect"
    assert "without certificate verification" in t["steps"][-1]["detail"]


def test_ad_starttls_mandatory(ad):
    # plain LDAP: AD refuses the simple bind of the service account
    r = ad.login(ad.user, ad.password, "starttls", extra=["--no-starttls"])
    assert r["result"] == "unavailable" and "service bind" in r["why"], r


def test_ad_dir_test(ad):
    t = ad.run(ad.user, None, test=True)
    assert t["ok"], t
    assert [s["name"] for s in t["steps"]] == ["config", "connect", "bind", "search", "groups"]
    assert "TLS" in t["steps"][1]["detail"]
    t = ad.run(ad.env["VR_AD_ADMIN"], None, test=True)
    assert "role admin" in t["steps"][-1]["detail"], t


# ---------------------------------------------------------------- OpenLDAP

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("form", ["uid", "mail", "alias"])
def test_ol_login_forms(ol, transport, form):
    e = ol.env
    login = {"uid": e["VR_LDAP_USER"], "mail": "olivia@corp.test",
             "alias": e["VR_LDAP_USER_ALIAS"]}[form]
    r = ok(ol.login(login, ol.password, transport), "user")
    assert r["dn"] == e["VR_LDAP_USER_DN"]
    assert r["username"] == "olivia"
    assert r["addresses"] == ["olivia@corp.test", "olivia.alias@corp.test"]


def test_ol_admin(ol):
    e = ol.env
    ok(ol.login(e["VR_LDAP_ADMIN"], e["VR_LDAP_ADMIN_PASSWORD"]), "admin")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ol_wrong_password_and_unknown_user_alike(ol, transport):
    wrong = ol.login(ol.user, ol.password + "x", transport)
    unknown = ol.login("nobody-" + uuid.uuid4().hex[:8], ol.password, transport)
    assert wrong["result"] == unknown["result"] == "bad_credentials"
    assert same_outcome(wrong, unknown), (wrong, unknown)


def test_ol_empty_password_no_bind(ol):
    before = len(slapd_binds(ol.env))
    r = ol.login(ol.user, "")
    assert r["result"] == "bad_credentials" and r["why"] == "empty password", r
    time.sleep(0.3)
    assert len(slapd_binds(ol.env)) == before
    ol.login(ol.user, ol.password + "x")
    time.sleep(0.3)
    assert len(slapd_binds(ol.env)) > before


@pytest.mark.parametrize("login", INJECTIONS)
def test_ol_injection(ol, login):
    r = ol.login(login, ol.password)
    assert r["result"] == "bad_credentials", r
    assert r["why"] == "no entry matches the login", r


def test_ol_wrong_ca(ol, tmp_path):
    ca = make_other_ca(tmp_path)
    for transport in TRANSPORTS:
        r = ol.login(ol.user, ol.password, transport, ca=ca)
        assert r["result"] == "unavailable", r


def ldap_root(ol, tool, ldif):
    """ldap_root - run ldapadd/ldapmodify as the rootdn (StartTLS, CA verified)"""
    e = ol.env
    with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as f:
        f.write(e["VR_LDAP_ROOT_PASSWORD"])
    try:
        p = subprocess.run([tool, "-ZZ", "-x", "-o", "nettimeout=5", "-H", e["VR_LDAP_URI"],
                            "-D", e["VR_LDAP_ROOT_DN"], "-y", f.name],
                           input=ldif, capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, LDAPTLS_CACERT=ol.ca,
                                    LDAPTLS_REQCERT="demand"))
    finally:
        os.unlink(f.name)
    assert p.returncode == 0, p.stderr


def test_ol_nested_groups(ol):
    """admin through nesting: user in g1, g1 in g2 ... ; a cycle; a chain too deep"""
    e = ol.env
    base, tag = e["VR_LDAP_BASE_DN"], uuid.uuid4().hex[:8]
    pw = "Pw-" + uuid.uuid4().hex
    users = {n: "uid=%s-%s,ou=people,%s" % (n, tag, base) for n in ("nina", "deep")}
    g = lambda n: "cn=%s-%s,ou=groups,%s" % (n, tag, base)  # noqa: E731
    ldif = ""
    for n, dn in users.items():
        ldif += ("dn: %s\nobjectClass: inetOrgPerson\nuid: %s-%s\ncn: %s\nsn: %s\n"
                 "mail: %s-%s@corp.test\nuserPassword: %s\n\n" % (dn, n, tag, n, n, n, tag, pw))

    def group(name, *members):
        return "dn: %s\nobjectClass: groupOfNames\ncn: %s-%s\n%s\n" % (
            g(name), name, tag, "".join("member: %s\n" % m for m in members))
    # nina -> it -> staff -> admins-nested (mapped to admin); loop-a <-> loop-b around it
    ldif += group("it", users["nina"]) + group("loop-a", g("it")) + group("loop-b", g("loop-a"))
    ldif += "dn: %s\nchangetype: modify\nadd: member\nmember: %s\n\n" % (g("loop-a"), g("loop-b"))
    ldif += group("staff", g("it")) + group("admins-nested", g("staff"))
    # deep -> c0 -> c1 -> ... -> c6 (mapped): six levels above the direct group
    ldif += group("c0", users["deep"])
    for i in range(1, 7):
        ldif += group("c%d" % i, g("c%d" % (i - 1)))
    adds, mods = [], []
    for block in ldif.strip().split("\n\n"):
        (mods if "changetype: modify" in block else adds).append(block)
    ldap_root(ol, "ldapadd", "\n\n".join(adds) + "\n")
    ldap_root(ol, "ldapmodify", "\n\n".join(mods) + "\n")

    def login(user, groups):
        extra = []
        for role, dn in groups:
            extra += ["--group", "%s=%s" % (role, dn)]
        return ol.run(user, pw, extra=extra)
    ok(login("nina-" + tag, [("admin", g("admins-nested").upper()),
                             ("auditor", g("loop-b"))]), "admin")
    ok(login("nina-" + tag, [("helpdesk", g("loop-b"))]), "helpdesk")  # cycle terminates
    ok(login("deep-" + tag, [("admin", g("c5"))]), "admin")  # five levels up: found
    ok(login("deep-" + tag, [("admin", g("c6"))]), "user")   # six: beyond the limit


# ---------------------------------------------------------------- unreachable servers

@pytest.fixture(params=["ad", "openldap"])
def anydir(request, ad, ol):
    return ad if request.param == "ad" else ol


def test_absent_server_within_timeout(anydir):
    for uri in ["ldaps://127.0.0.1:%d" % free_port(), "ldap://127.0.0.1:%d" % free_port()]:
        r = anydir.run(anydir.user, anydir.password, uris=[uri])
        assert r["result"] == "unavailable", r
        assert r["ms"] < NET_MS, r


def test_silent_server_within_timeout(anydir):
    """a server that accepts and never answers: LDAPS bounded by the network timeout,
    StartTLS by network + operation timeouts"""
    with Silent() as s:
        r = anydir.run(anydir.user, anydir.password, uris=["ldaps://127.0.0.1:%d" % s.port])
        assert r["result"] == "unavailable" and "no answer" in r["why"], r
        assert NET_MS * 0.9 <= r["ms"] < NET_MS + 500, r
        r = anydir.run(anydir.user, anydir.password, uris=["ldap://127.0.0.1:%d" % s.port])
        assert r["result"] == "unavailable", r
        assert r["ms"] < NET_MS + OP_MS + 500, r


def test_dead_first_uri(anydir):
    with Silent() as s:
        dead = ["ldaps://127.0.0.1:%d" % free_port(), "ldaps://127.0.0.1:%d" % s.port]
        r = ok(anydir.run(anydir.user, anydir.password, uris=dead + [anydir.starttls]))
        assert r["ms"] < NET_MS + 1000, r


def slapd_pid(env):
    with open(os.path.join(env["_DIR"], "pids", "directory")) as f:
        for line in f:
            pid = int(line)
            try:
                with open("/proc/%d/comm" % pid) as c:
                    if c.read().strip() == "slapd":
                        return pid
            except OSError:
                pass
    pytest.skip("slapd's pid not found")


def test_stopped_server_within_timeout(ol):
    """slapd stopped (SIGSTOP): TCP still connects, nothing answers"""
    pid = slapd_pid(ol.env)
    os.kill(pid, signal.SIGSTOP)
    try:
        r = ol.run(ol.user, ol.password, uris=[ol.ldaps, ol.starttls])
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r["result"] == "unavailable", r
    assert r["ms"] < NET_MS + (NET_MS + OP_MS) + 500, r
    ok(ol.run(ol.user, ol.password))


# ---------------------------------------------------------------- concurrency, timing

def test_concurrent_logins(ad, ol):
    """8 logins at once in one process (threads), for each directory: the module keeps no
    shared state; each connection has its own watchdog"""
    for d in (ad, ol):
        r = d.run(d.user, d.password, threads=8)
        assert r["results"] == ["ok"] * 8, r
    e = ad.env
    r = ad.run(e["VR_AD_ADMIN"], e["VR_AD_ADMIN_PASSWORD"], threads=8)
    assert r["results"] == ["ok"] * 8, r
    r = ad.run(ad.user, "wrong", threads=4)
    assert r["results"] == ["bad_credentials"] * 4, r
    with Silent() as s:  # watchdogs firing in several threads at once
        r = ol.run(ol.user, ol.password, uris=["ldaps://127.0.0.1:%d" % s.port, ol.ldaps],
                   threads=6)
        assert r["results"] == ["ok"] * 6, r
        assert r["ms"] < NET_MS + 1500, r


def test_login_time(ad, ol, capsys):
    """the time of one successful login (median of 7), reported; sanity bound only"""
    for d in (ad, ol):
        ms = [ok(d.run(d.user, d.password))["ms"] for _ in range(7)]
        med = statistics.median(ms)
        with capsys.disabled():
            print("\n%s login: median %.1f ms (min %.1f, max %.1f)" % (d.kind, med, min(ms), max(ms)))
        assert med < 1000


# ---------------------------------------------------------------- helpers

def make_other_ca(tmp_path):
    """make_other_ca - a CA certificate that did not sign the servers' certificates"""
    key, tmpl, crt = tmp_path / "o.key", tmp_path / "o.tmpl", tmp_path / "o.crt"
    tmpl.write_text('cn = "another CA"\nexpiration_days = 30\nca\ncert_signing_key\n')
    subprocess.run(["certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", str(key),
                    "--template", str(tmpl), "--outfile", str(crt)], check=True,
                   capture_output=True)
    return str(crt)
