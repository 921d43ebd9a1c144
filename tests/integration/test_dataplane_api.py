"""test_dataplane_api - the data plane driven from apid's policy (issue: data plane).

Runs its own stack (mail stand-ins, apid, Postfix, vr-agent): policy changes made through
the API must be live in Postfix within 5 s, verified by sending mail; a change Postfix
cannot run leaves the old configuration running with the error visible in
GET /api/v1/agents; killing the agent does not stop mail, and a restarted agent converges.
"""
import glob
import os
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

import vrapi

ROOT = vrapi.ROOT


@pytest.fixture(scope="module")
def pstack():
    d = tempfile.mkdtemp(prefix="vr-dataplane-")
    os.chmod(d, 0o755)  # Postfix's own users must reach its directories
    env = dict(os.environ, VR_STACK_COMPONENTS="mailsink apid postfix agent")
    up = subprocess.run([os.path.join(ROOT, "scripts", "stack"), "up", d], env=env,
                        capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        subprocess.run([os.path.join(ROOT, "scripts", "stack"), "down", d], env=env,
                       capture_output=True, timeout=120)
        pytest.fail("stack up failed:\n" + up.stdout + up.stderr)
    st = vrapi.Stack(os.path.join(d, "stack.env"))
    st.dir = d
    yield st
    subprocess.run([os.path.join(ROOT, "scripts", "stack"), "down", d], env=env,
                   capture_output=True, timeout=120)
    for log in (st.apid_log, st["VR_AGENT_LOG"]):
        text = open(log, errors="replace").read()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert bad not in text, text[-5000:]


@pytest.fixture(scope="module")
def padmin(pstack, spec, coverage):
    api = vrapi.Api(pstack.api_url, spec, coverage)
    r = api.post("/api/v1/auth/login", {"username": pstack.admin_user,
                                        "password": pstack.admin_password})
    assert r.status == 200
    return api.as_(r.json["token"])


def hostport(v):
    h, p = v.rsplit(":", 1)
    return h, int(p)


def send(addr, rcpt, size=0, source=None, sender="someone@ext.test"):
    """send one message; returns (code, text) of the first refusal, or (250, id)"""
    mid = "<%s@test>" % uuid.uuid4().hex
    body = ("From: %s\r\nTo: %s\r\nSubject: t\r\nMessage-ID: %s\r\n\r\n%s\r\n" % (
        sender, rcpt, mid, "x" * size))
    s = smtplib.SMTP(*hostport(addr), timeout=30,
                     source_address=(source, 0) if source else None)
    try:
        s.ehlo("client.test")
        code, text = s.mail(sender)
        if code != 250:
            return code, text, mid
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text, mid
        code, text = s.data(body.encode())
        return code, text, mid
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def stored(directory, mid, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        hits = [f for f in glob.glob(os.path.join(directory, "*.eml"))
                if mid.encode() in open(f, "rb").read()]
        if hits:
            return hits
        time.sleep(0.2)
    return []


def applied(padmin, version, timeout=5.0):
    """seconds until the agent reports `version` applied, or None"""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        items = padmin.get("/api/v1/agents").json["items"]
        if items and items[0]["applied_version"] >= version and items[0]["state"] == "ok":
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def test_inbound_delivery_verification_and_relay_refusal(pstack):
    code, _, mid = send(pstack["VR_SMTP_IN"], "alice@" + pstack["VR_DOMAIN"])
    assert code == 250
    assert len(stored(pstack["VR_MAILBOX_DIR"], mid)) == 1
    code, text, _ = send(pstack["VR_SMTP_IN"], "nobody-%s@%s" % (uuid.uuid4().hex[:6],
                                                                  pstack["VR_DOMAIN"]))
    assert code == 550, text
    code, text, _ = send(pstack["VR_SMTP_IN"], "victim@elsewhere.test")
    assert 500 <= code < 600, (code, text)


def test_outbound_only_from_internal_networks(pstack):
    code, _, mid = send(pstack["VR_SMTP_OUT"], "someone@far.test",
                        source=pstack["VR_INTERNAL_CLIENT_IP"],
                        sender="alice@" + pstack["VR_DOMAIN"])
    assert code == 250
    assert stored(pstack["VR_INTERNET_DIR"], mid)
    code, text, _ = send(pstack["VR_SMTP_OUT"], "someone@far.test", source="127.0.0.1",
                         sender="alice@" + pstack["VR_DOMAIN"])
    assert 500 <= code < 600, (code, text)


def test_size_limit_change_is_live_within_5s(padmin, pstack):
    r = padmin.request("PATCH", "/api/v1/policy", json_body={"message_size_limit": 20000})
    assert r.status == 200
    took = applied(padmin, r.json["version"])
    assert took is not None and took < 5, took
    code, text, _ = send(pstack["VR_SMTP_IN"], "alice@" + pstack["VR_DOMAIN"], size=40000)
    assert code == 552 or 500 <= code < 600, (code, text)
    code, _, mid = send(pstack["VR_SMTP_IN"], "alice@" + pstack["VR_DOMAIN"], size=1000)
    assert code == 250 and stored(pstack["VR_MAILBOX_DIR"], mid)
    r = padmin.request("PATCH", "/api/v1/policy", json_body={"message_size_limit": 26214400})
    assert applied(padmin, r.json["version"]) is not None


def test_new_domain_is_relayed_within_5s(padmin, pstack):
    host, port = hostport(pstack["VR_INTERNAL_SMTP"])
    code, _, _ = send(pstack["VR_SMTP_IN"], "alice@branch.test")
    assert 500 <= code < 600  # not a relay domain yet
    r = padmin.post("/api/v1/domains", {"name": "branch.test", "internal_host": host,
                                        "internal_port": port, "verify_recipients": False})
    assert r.status == 201
    version = padmin.get("/api/v1/policy").json["version"]
    took = applied(padmin, version)
    assert took is not None and took < 5, took
    # accepted at RCPT now (the internal stand-in knows no mailbox there, so it bounces later)
    s = smtplib.SMTP(*hostport(pstack["VR_SMTP_IN"]), timeout=30)
    s.ehlo("client.test")
    s.mail("x@ext.test")
    code, text = s.rcpt("alice@branch.test")
    s.quit()
    assert code == 250, text
    assert padmin.delete("/api/v1/domains/" + r.json["id"]).status == 204


def test_a_change_postfix_cannot_run_keeps_the_old_config(padmin, pstack):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]
    old = padmin.get("/api/v1/policy").json["inbound_port"]
    try:
        r = padmin.request("PATCH", "/api/v1/policy", json_body={"inbound_port": taken})
        assert r.status == 200
        end = time.time() + 10
        agent = None
        while time.time() < end:
            agent = padmin.get("/api/v1/agents").json["items"][0]
            if agent["state"] == "error":
                break
            time.sleep(0.2)
        assert agent["state"] == "error" and agent["last_error"], agent
        assert agent["applied_version"] < r.json["version"]
        assert padmin.get("/readyz").status == 503
        # the old listener still takes mail
        code, _, mid = send(pstack["VR_SMTP_IN"], "alice@" + pstack["VR_DOMAIN"])
        assert code == 250 and stored(pstack["VR_MAILBOX_DIR"], mid)
    finally:
        blocker.close()
        r = padmin.request("PATCH", "/api/v1/policy", json_body={"inbound_port": old})
    assert applied(padmin, r.json["version"], timeout=15) is not None
    assert padmin.get("/readyz").status == 200


def test_killed_agent_leaves_mail_flowing_and_a_restart_converges(padmin, pstack):
    pid = int(pstack["VR_AGENT_PID"])
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    code, _, mid = send(pstack["VR_SMTP_IN"], "alice@" + pstack["VR_DOMAIN"])
    assert code == 250 and stored(pstack["VR_MAILBOX_DIR"], mid)
    r = padmin.request("PATCH", "/api/v1/policy", json_body={"message_size_limit": 30000000})
    version = r.json["version"]
    proc = subprocess.Popen([pstack["VR_AGENT_RUN"]], start_new_session=True)
    with open(os.path.join(pstack.dir, "pids", "agent"), "a") as f:
        f.write("%d\n" % proc.pid)
    assert applied(padmin, version, timeout=15) is not None
    code, _, mid = send(pstack["VR_SMTP_IN"], "alice@" + pstack["VR_DOMAIN"])
    assert code == 250 and stored(pstack["VR_MAILBOX_DIR"], mid)
