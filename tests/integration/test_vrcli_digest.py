"""test_vrcli_digest - `vrcli digest` (POST /api/v1/me/digest) for a user with a mailbox.

Runs its own stack (VR_STACK_COMPONENTS="directory apid"): the AD user of the directory
owns a corp.test address once logged in, which a digest needs (the bootstrap admin has none:
test_vrcli_filter.py covers that 409). Held messages are put in as the agent does. There is
no Postfix: the policy's reinjection port first points where nothing listens (the send
fails: exit 6, and asking again is not throttled), then at a minimal SMTP listener run by
the test, which takes the digest (exit 0, the count; a virus item is not listed); asking
again within 5 minutes is refused with the time to wait (429, exit 5). The user's digest
preference is `off` throughout, so that apid's own digest thread never sends one meanwhile
(a digest asked for by hand goes out whatever the preference). Run inside
scripts/netns-run.
"""

import base64
import email
import email.header
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

import vrapi

ROOT = vrapi.ROOT
VRCLI = os.path.join(os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin")), "vrcli")


class Result:
    """The outcome of one vrcli run."""

    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


def run(home, *args, stdin=None):
    """run - vrcli with HOME=home and no VRCLI_* variables"""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("VRCLI_") and k != "XDG_CONFIG_HOME"}
    e["HOME"] = str(home)
    p = subprocess.run([VRCLI, *args], input=stdin, env=e, capture_output=True, text=True,
                       timeout=120, stdin=None if stdin is not None else subprocess.DEVNULL)
    return Result(p)


def one_error_line(r):
    """one_error_line - the run printed exactly one line, starting 'vrcli: ', on stderr"""
    lines = r.err.splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("vrcli: "), r
    return lines[0]


def call(st, method, path, token=None, body=None, data=None, headers=None):
    """call - one request with urllib; (status, parsed JSON body or None)"""
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(st.api_url + path, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    return status, (json.loads(raw) if raw else None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SmtpSink:
    """A minimal SMTP listener on 127.0.0.1: takes every message, keeps (from, rcpts, data)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(30)
                try:
                    self._session(conn.makefile("rb"), conn)
                except (OSError, ValueError):
                    pass

    def _session(self, f, conn):
        def say(line):
            conn.sendall(line.encode() + b"\r\n")
        say("220 sink.test ESMTP")
        sender, rcpts = None, []
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode("ascii", "replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250-sink.test")
                say("250 8BITMIME")
            elif verb == "MAIL":
                sender, rcpts = re.search(r"<([^>]*)>", cmd).group(1), []
                say("250 ok")
            elif verb == "RCPT":
                rcpts.append(re.search(r"<([^>]*)>", cmd).group(1))
                say("250 ok")
            elif verb == "DATA":
                say("354 go on")
                data = b""
                while True:
                    chunk = f.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.messages.append((sender, rcpts, data))
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def dstack():
    d = tempfile.mkdtemp(prefix="vr-vrcli-digest-")
    env = dict(os.environ, VR_STACK_COMPONENTS="directory apid")
    up = subprocess.run([os.path.join(ROOT, "scripts", "stack"), "up", d], env=env,
                        capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        subprocess.run([os.path.join(ROOT, "scripts", "stack"), "down", d], env=env,
                       capture_output=True, timeout=120)
        pytest.fail("stack up failed:\n" + up.stdout + up.stderr)
    st = vrapi.Stack(os.path.join(d, "stack.env"))
    yield st
    subprocess.run([os.path.join(ROOT, "scripts", "stack"), "down", d], env=env,
                   capture_output=True, timeout=120)
    log = open(st.apid_log, errors="replace").read()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert bad not in log, log[-5000:]


@pytest.fixture(scope="module")
def admin_token(dstack):
    status, body = call(dstack, "POST", "/api/v1/auth/login", body={
        "username": dstack.admin_user, "password": dstack.admin_password})
    assert status == 200, body
    return body["token"]


@pytest.fixture(scope="module")
def setup(dstack, admin_token):
    """the AD profile, an agent token, and a HOME where the AD user is logged in with vrcli;
    (home, agent token, the user's address)"""
    st = dstack
    status, body = call(st, "POST", "/api/v1/directories", admin_token, {
        "name": "corp-ad", "kind": "ad", "uris": [st["VR_AD_URI"]],
        "ca_file": st["VR_AD_CA_FILE"], "bind_dn": st["VR_AD_BIND_DN"],
        "bind_password": st["VR_AD_BIND_PASSWORD"], "base_dn": st["VR_AD_BASE_DN"],
        "netbios_domain": st["VR_AD_DOMAIN"]})
    assert status == 201, body
    status, agent = call(st, "POST", "/api/v1/tokens", admin_token,
                         {"name": "agent-" + uuid.uuid4().hex[:8], "role": "agent"})
    assert status == 201, agent
    home = tempfile.mkdtemp(prefix="vrcli-digest-home-")
    r = run(home, "--url", st.api_url, "login", "--username", st["VR_AD_USER"],
            "--password-stdin", stdin=st["VR_AD_PASSWORD"] + "\n")
    assert r.rc == 0, r
    address = st["VR_AD_USER_MAIL"]
    r = run(home, "--json", "whoami")
    assert r.rc == 0 and address in r.json()["addresses"], r
    # never a scheduled digest during these tests; by hand, one goes out anyway
    r = run(home, "--json", "preferences", "set", "--digest", "off", "--language", "en")
    assert r.rc == 0, r
    assert r.json()["digest"] == "off" and r.json()["language"] == "en", r
    return home, agent["token"], address


@pytest.fixture
def reinject_to(dstack, admin_token):
    """reinject_to(port) - point the policy's reinjection listener at 127.0.0.1:port"""
    status, original = call(dstack, "GET", "/api/v1/policy", admin_token)
    assert status == 200, original

    def set_port(port):
        status, reply = call(dstack, "PATCH", "/api/v1/policy", admin_token,
                             {"reinject_address": "127.0.0.1", "reinject_port": port})
        assert status == 200, reply
    yield set_port
    status, reply = call(dstack, "PATCH", "/api/v1/policy", admin_token, {
        "reinject_address": original["reinject_address"],
        "reinject_port": original["reinject_port"]})
    assert status == 200, reply


def hold(st, agent_token, rcpt, category, subject, virus=None):
    """hold - put a message in the quarantine as the agent does; its quarantine ID"""
    mid = "<%s@test>" % uuid.uuid4().hex
    raw = ("From: Shop <news@shop.test>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
           "Date: Sat, 28 Nov 2026 01:02:03 +0000\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n"
           % (rcpt, subject, mid)).encode()
    meta = {"key": "vrcli-digest:%s" % uuid.uuid4().hex, "queue_id": uuid.uuid4().hex[:10],
            "direction": "inbound", "sender": "news@shop.test", "from": "news@shop.test",
            "subject": subject, "message_id": mid, "category": category, "score": 9.0,
            "recipients": [rcpt]}
    if virus:
        meta["virus"] = virus
    b64 = base64.urlsafe_b64encode(json.dumps(meta).encode()).decode().rstrip("=")
    status, body = call(st, "POST", "/api/v1/agent/quarantine", agent_token, data=raw,
                        headers={"Content-Type": "message/rfc822", "X-VR-Metadata": b64})
    assert status == 201, body
    return body["id"]


def test_nothing_held(setup):
    """Nothing held: exit 0, no mail, and nothing throttles the next request."""
    home, _, _ = setup
    r = run(home, "digest")
    assert r.rc == 0 and r.err == "", r
    assert r.out == "No held messages to list: no digest was sent.\n", r
    r = run(home, "--json", "digest")
    assert r.rc == 0 and r.json() == {"items": 0}, r


def test_without_mail_server(setup, dstack, reinject_to):
    """The reinjection listener is down: 503, exit 6, one line naming it; nothing counts as
    sent, so asking again fails the same way rather than with 429."""
    home, agent, address = setup
    hold(dstack, agent, address, "spam", "digest spam")
    port = free_port()
    reinject_to(port)
    for _ in range(2):
        r = run(home, "digest")
        assert r.rc == 6, r
        line = one_error_line(r)
        assert "could not be sent" in line and str(port) in line, r
        assert "retry after" not in line, r
        assert r.out == ""


def test_sent_then_throttled(setup, dstack, reinject_to):
    """A listener takes the digest: exit 0 with the count (the virus item is not listed);
    at once again: 429, exit 5, the line says when to retry."""
    home, agent, address = setup
    hold(dstack, agent, address, "spam", "digest spam")
    hold(dstack, agent, address, "virus", "digest virus", virus="EICAR-Test-File")
    # what the user sees held is what the digest lists (viruses are staff-only)
    r = run(home, "--json", "quarantine", "list", "--status", "held", "--all")
    assert r.rc == 0, r
    held = r.json()["items"]
    assert held and all(i["category"] != "virus" for i in held), r
    sink = SmtpSink()
    try:
        reinject_to(sink.port)
        r = run(home, "--json", "digest")
        assert r.rc == 0 and r.err == "", r
        assert r.json() == {"items": len(held)}, r
        assert len(sink.messages) == 1, sink.messages
        sender, rcpts, data = sink.messages[0]
        assert rcpts == [address] and sender.startswith("quarantine@"), sink.messages
        msg = email.message_from_bytes(data)
        subject = str(email.header.make_header(email.header.decode_header(msg["Subject"])))
        assert subject.startswith("Quarantine:"), subject  # language en
        text = [p for p in msg.walk() if p.get_content_type() == "text/plain"][0]
        body = text.get_payload(decode=True).decode()
        assert "digest spam" in body and "digest virus" not in body, body
        assert len(re.findall(r"/api/v1/links/\S+", body)) == 3 * len(held), body

        r = run(home, "digest")
        assert r.rc == 5, r
        line = one_error_line(r)
        m = re.search(r"retry after (\d+) s", line)
        assert m and 0 < int(m.group(1)) <= 300, r
        assert r.out == ""
        r = run(home, "--json", "digest")
        assert r.rc == 5 and r.out == "", r
        assert len(sink.messages) == 1, sink.messages
    finally:
        sink.close()
    # the throttle does not stop the preferences
    r = run(home, "--json", "preferences", "set", "--language", "fr")
    assert r.rc == 0 and r.json()["language"] == "fr" and r.json()["digest"] == "off", r
