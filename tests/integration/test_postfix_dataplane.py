"""test_postfix_dataplane - the private Postfix as vr-agent configures it, end to end.

A module-scoped stack of the mailsink and postfix components (scripts/stack up/down in a
temporary directory) is driven over SMTP with smtplib:
  * inbound: a known mailbox of corp.test is delivered to the internal server (one file),
    an unknown one is refused with 550 at RCPT (address verification), other domains and
    sub-domains are refused (no open relay), an unreachable internal server gives 450 and
    mail flows again once it is back;
  * outbound: accepted from the internal network (source 127.0.0.10) and relayed to the
    smarthost, refused from any other address;
  * reinjection: loopback only, relay domains only;
  * vr-agent --once: a bad snapshot or a configuration that cannot run (listener port
    held by another program) leaves the running configuration untouched, exits non-zero
    and names the field; a good one is installed and reloaded.
Run inside scripts/netns-run:
  scripts/netns-run /usr/bin/python3 -m pytest -q tests/integration/test_postfix_dataplane.py
"""

import copy
import glob
import hashlib
import json
import os
import shlex
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STACK = os.path.join(ROOT, "scripts", "stack")


def _recorded_pids(d):
    """_recorded_pids - the daemons the components started (DIR/pids/*, DIR/*/*.pid)"""
    pids = set()
    for path in glob.glob(os.path.join(d, "pids", "*")) + glob.glob(os.path.join(d, "*", "*.pid")):
        try:
            with open(path, encoding="utf-8") as f:
                pids.update(int(x) for x in f.read().split() if x.isdigit())
        except OSError:
            pass
    return pids


def reap(pids):
    """reap - wait for those of pids that are our exited children.

    scripts/netns-run execs the test runner as PID 1 of a new PID namespace, so daemons
    orphaned by the component scripts (mailsink.py, Postfix's master) become children of
    this process; once stopped they stay zombies, which `kill -0` reports as alive (the
    mailsink's stop loop and `stack down` then wait in vain). Only recorded daemon PIDs
    are reaped: never a child that subprocess is waiting for."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def run_reaping(cmd, d, pids=None, timeout=120, env=None):
    """run_reaping - subprocess.run(cmd) while reaping the stack's stopped daemons"""
    watch = set(pids or ()) | _recorded_pids(d)
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    end = time.time() + timeout
    while p.poll() is None:
        reap(watch)
        if time.time() > end:
            p.kill()
            p.wait()
            raise AssertionError("%s did not finish in %d s" % (cmd, timeout))
        time.sleep(0.05)
    out = p.stdout.read()
    p.stdout.close()
    reap(watch)
    return p.returncode, out


def read_env(path):
    """read_env - the KEY='value' lines of stack.env as a dict"""
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            parts = shlex.split(value)
            env[key] = parts[0] if parts else ""
    return env


@pytest.fixture(scope="module")
def dp(request):
    """dp - a running mailsink + postfix stack: its stack.env as a dict, plus 'DIR'"""
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.exit("run the integration tests inside scripts/netns-run", returncode=2)
    # not under pytest's 0700 basetemp: Postfix's daemons (user postfix) must reach it
    d = tempfile.mkdtemp(prefix="vrgate-dataplane-")
    os.chmod(d, 0o755)
    failed_before = request.session.testsfailed
    env = dict(os.environ)
    env["VR_STACK_COMPONENTS"] = "mailsink postfix"
    env.setdefault("VR_BIN_DIR", os.path.join(ROOT, "build", "bin"))
    up = subprocess.run([STACK, "up", d], env=env, capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        run_reaping([STACK, "down", d], d, env=env)
        pytest.fail("scripts/stack up failed:\n%s%s" % (up.stdout, up.stderr))
    st = read_env(os.path.join(d, "stack.env"))
    st["DIR"] = d
    st["BIN"] = env["VR_BIN_DIR"]
    try:
        yield st
    finally:
        rc, out = run_reaping([STACK, "down", d], d, env=env)
        assert rc == 0, out
        # keep the directory (logs, queue) for inspection when a test failed
        if request.session.testsfailed == failed_before:
            shutil.rmtree(d, ignore_errors=True)


def hostport(value):
    host, _, port = value.rpartition(":")
    return host, int(port)


def smtp(dp, which, source=None):
    """smtp - a connected, EHLO'd client of listener VR_SMTP_IN/OUT or VR_REINJECT"""
    host, port = hostport(dp[which])
    s = smtplib.SMTP(host, port, timeout=60,
                     source_address=(source, 0) if source else None)
    s.ehlo("client.example.org")
    return s


def rcpt(dp, which, to, source=None, sender="someone@example.org"):
    """rcpt - the (code, text) of RCPT TO:<to> after MAIL FROM:<sender>"""
    s = smtp(dp, which, source)
    try:
        code, msg = s.mail(sender)
        assert code == 250, (code, msg)
        return s.rcpt(to)
    finally:
        s.quit()


def send(dp, which, to, token, source=None, sender="someone@example.org"):
    """send - deliver one message carrying token in its Subject; the DATA reply"""
    s = smtp(dp, which, source)
    try:
        assert s.mail(sender)[0] == 250
        code, msg = s.rcpt(to)
        assert code == 250, "RCPT %s: %d %r" % (to, code, msg)
        body = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n"
                "test body %s\r\n" % (sender, to, token, token, token))
        return s.data(body.encode())
    finally:
        s.quit()


def files_with(directory, token):
    """files_with - the stored messages (*.eml) that contain token"""
    found = []
    for path in glob.glob(os.path.join(directory, "*.eml")):
        with open(path, encoding="utf-8", errors="replace") as f:
            if token in f.read():
                found.append(path)
    return found


def wait_files(directory, token, seconds=30):
    """wait_files - wait until a message holding token is stored; then the list"""
    end = time.time() + seconds
    while time.time() < end:
        found = files_with(directory, token)
        if found:
            # a duplicate would arrive right behind the first copy
            time.sleep(1.5)
            return files_with(directory, token)
        time.sleep(0.2)
    return []


def mailsink(dp, *args):
    """mailsink - run the mailsink component's control command (stop-internal, ...)"""
    rc, out = run_reaping([dp["VR_MAILSINK_CTL"], args[0], dp["DIR"]] + list(args[1:]),
                          dp["DIR"], timeout=60)
    assert rc == 0, out


def conf_digest(dp):
    """conf_digest - a hash of every file of the live config_directory (names, bytes)"""
    h = hashlib.sha256()
    conf = dp["VR_POSTFIX_CONFIG_DIR"]
    for name in sorted(os.listdir(conf)):
        with open(os.path.join(conf, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    return h.hexdigest()


def base_snapshot(dp):
    with open(dp["VR_POSTFIX_SNAPSHOT"], encoding="utf-8") as f:
        return json.load(f)


def run_agent(dp, snapshot, tmp_path):
    """run_agent - vr-agent --once on the stack's instance with this snapshot"""
    path = tmp_path / ("snapshot-%s.json" % uuid.uuid4().hex[:8])
    path.write_text(json.dumps(snapshot))
    cmd = [os.path.join(dp["BIN"], "vr-agent"), "--once", "--snapshot-file", str(path),
           "--postfix-config-dir", dp["VR_POSTFIX_CONFIG_DIR"],
           "--postfix-queue-dir", dp["VR_POSTFIX_QUEUE_DIR"],
           "--postfix-data-dir", dp["VR_POSTFIX_DATA_DIR"],
           "--maillog-file", dp["VR_POSTFIX_LOG"], "--milter-socket", "", "--dns=false",
           "--state-dir", dp["VR_POSTFIX_AGENT_STATE"], "--name", "test"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def postfix_running(dp):
    return subprocess.run(["/usr/sbin/postfix", "-c", dp["VR_POSTFIX_CONFIG_DIR"], "status"],
                          capture_output=True).returncode == 0


# --- inbound ---------------------------------------------------------------------------

def test_inbound_known_mailbox_is_delivered_once(dp):
    token = "inbound-" + uuid.uuid4().hex
    code, _ = send(dp, "VR_SMTP_IN", "alice@corp.test", token)
    assert code == 250
    found = wait_files(dp["VR_MAILBOX_DIR"], token)
    assert len(found) == 1, found
    with open(found[0], encoding="utf-8") as f:
        assert "X-Mailsink-Rcpt: alice@corp.test" in f.read()
    assert files_with(dp["VR_INTERNET_DIR"], token) == []


def test_inbound_unknown_mailbox_gets_550_at_rcpt(dp):
    code, msg = rcpt(dp, "VR_SMTP_IN", "nobody-%s@corp.test" % uuid.uuid4().hex[:8])
    assert code == 550, msg
    assert b"5.1.1" in msg


@pytest.mark.parametrize("to", ["someone@example.net", "alice@sub.corp.test",
                                "alice@corp.test.example.net", "alice@corp.testx"])
def test_inbound_is_no_open_relay(dp, to):
    code, msg = rcpt(dp, "VR_SMTP_IN", to)
    assert 500 <= code < 600, (code, msg)
    # not even from an internal address: the inbound listener trusts nobody
    code, msg = rcpt(dp, "VR_SMTP_IN", to, source=dp["VR_INTERNAL_CLIENT_IP"])
    assert 500 <= code < 600, (code, msg)


def test_inbound_internal_server_down_gives_450_then_mail_flows(dp):
    # an address not verified yet: the probe must reach the internal server
    to = "test3@corp.test"
    mailsink(dp, "stop-internal")
    try:
        code, msg = rcpt(dp, "VR_SMTP_IN", to)
        assert code == 450, (code, msg)
    finally:
        mailsink(dp, "start-internal")
    # the failed probe result is kept until the negative refresh time (half the snapshot's
    # negative TTL, 5 s in the stack); the next query then probes again: 450 until then
    end = time.time() + 60
    while True:
        code, msg = rcpt(dp, "VR_SMTP_IN", to)
        if code == 250 or time.time() > end:
            break
        assert code == 450, (code, msg)
        time.sleep(1)
    assert code == 250, (code, msg)
    token = "after-outage-" + uuid.uuid4().hex
    assert send(dp, "VR_SMTP_IN", to, token)[0] == 250
    assert len(wait_files(dp["VR_MAILBOX_DIR"], token)) == 1


# --- outbound --------------------------------------------------------------------------

def test_outbound_from_internal_network_reaches_the_internet(dp):
    token = "outbound-" + uuid.uuid4().hex
    code, _ = send(dp, "VR_SMTP_OUT", "partner@example.net", token,
                   source=dp["VR_INTERNAL_CLIENT_IP"], sender="alice@corp.test")
    assert code == 250
    found = wait_files(dp["VR_INTERNET_DIR"], token)
    assert len(found) == 1, found
    assert files_with(dp["VR_MAILBOX_DIR"], token) == []


def test_outbound_from_elsewhere_is_refused(dp):
    code, msg = rcpt(dp, "VR_SMTP_OUT", "partner@example.net", source="127.0.0.1",
                     sender="alice@corp.test")
    assert 500 <= code < 600, (code, msg)


# --- reinjection ------------------------------------------------------------------------

def test_reinject_delivers_to_relay_domains_only(dp):
    token = "reinject-" + uuid.uuid4().hex
    assert send(dp, "VR_REINJECT", "bob@corp.test", token)[0] == 250
    assert len(wait_files(dp["VR_MAILBOX_DIR"], token)) == 1
    code, msg = rcpt(dp, "VR_REINJECT", "partner@example.net")
    assert 500 <= code < 600, (code, msg)


# --- vr-agent --once against the running instance ---------------------------------------

def _set(snap, path, value):
    cur = snap
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    last = keys[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value


@pytest.mark.parametrize("path,value,field", [
    ("domains.0.internal_port", 0, "domains[0].internal_port"),
    ("domains.0.name", "corp test", "domains[0].name"),
    ("internal_networks", ["10.0.0.1/8"], "internal_networks[0]"),
    ("hostname", "mx\nrelayhost = evil", "hostname"),
    ("outbound.mode", "relay", "outbound.mode"),
])
def test_bad_snapshot_leaves_running_config(dp, tmp_path, path, value, field):
    before = conf_digest(dp)
    snap = copy.deepcopy(base_snapshot(dp))
    snap["version"] = 100
    _set(snap, path, value)
    r = run_agent(dp, snap, tmp_path)
    assert r.returncode != 0
    assert field + ":" in r.stderr, r.stderr
    assert conf_digest(dp) == before
    assert postfix_running(dp)
    with open(os.path.join(dp["VR_POSTFIX_AGENT_STATE"], "last-error"), encoding="utf-8") as f:
        assert field in f.read()
    assert rcpt(dp, "VR_SMTP_IN", "alice@corp.test")[0] == 250


def test_clashing_listeners_are_refused(dp, tmp_path):
    before = conf_digest(dp)
    snap = copy.deepcopy(base_snapshot(dp))
    snap["version"] = 101
    snap["listeners"]["outbound"]["port"] = snap["listeners"]["inbound"]["port"]
    r = run_agent(dp, snap, tmp_path)
    assert r.returncode != 0
    assert "listeners.outbound.port:" in r.stderr, r.stderr
    assert conf_digest(dp) == before


def test_listener_port_in_use_keeps_old_config(dp, tmp_path):
    # Postfix's own check accepts this configuration, but its master would exit on reload
    # when it cannot bind: the agent test-binds every new listener first
    before = conf_digest(dp)
    snap = copy.deepcopy(base_snapshot(dp))
    snap["version"] = 102
    snap["listeners"]["outbound"]["port"] = hostport(dp["VR_INTERNAL_SMTP"])[1]
    r = run_agent(dp, snap, tmp_path)
    assert r.returncode != 0
    assert "listeners.outbound" in r.stderr and "in use" in r.stderr, r.stderr
    assert conf_digest(dp) == before
    assert postfix_running(dp)
    with open(os.path.join(dp["VR_POSTFIX_AGENT_STATE"], "last-error"), encoding="utf-8") as f:
        assert "listeners.outbound" in f.read()
    with open(os.path.join(dp["VR_POSTFIX_AGENT_STATE"], "version"), encoding="utf-8") as f:
        assert f.read().strip() == str(base_snapshot(dp)["version"])
    # the old listeners still answer
    assert rcpt(dp, "VR_SMTP_IN", "alice@corp.test")[0] == 250
    code, _ = rcpt(dp, "VR_SMTP_OUT", "partner@example.net", source=dp["VR_INTERNAL_CLIENT_IP"],
                   sender="alice@corp.test")
    assert code == 250


def agent_daemon(dp, snapshot_path):
    """agent_daemon - vr-agent in its loop, re-reading a snapshot file every second"""
    cmd = [os.path.join(dp["BIN"], "vr-agent"), "--snapshot-file", snapshot_path,
           "--poll-interval", "1",
           "--postfix-config-dir", dp["VR_POSTFIX_CONFIG_DIR"],
           "--postfix-queue-dir", dp["VR_POSTFIX_QUEUE_DIR"],
           "--postfix-data-dir", dp["VR_POSTFIX_DATA_DIR"],
           "--maillog-file", dp["VR_POSTFIX_LOG"], "--milter-socket", "", "--dns=false",
           "--state-dir", dp["VR_POSTFIX_AGENT_STATE"], "--name", "test"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_agent_stops_on_sigterm_and_a_killed_agent_leaves_postfix_running(dp):
    before = conf_digest(dp)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        p = agent_daemon(dp, dp["VR_POSTFIX_SNAPSHOT"])
        time.sleep(1.5)
        assert p.poll() is None, p.stdout.read()
        t0 = time.time()
        p.send_signal(sig)
        out = p.communicate(timeout=10)[0]
        assert time.time() - t0 < 5
        if sig == signal.SIGTERM:
            assert p.returncode == 0, out
            assert "stopping; Postfix keeps running" in out, out
        assert postfix_running(dp)
        assert rcpt(dp, "VR_SMTP_IN", "alice@corp.test")[0] == 250
    # the snapshot file holds the version in force: nothing was re-applied
    assert conf_digest(dp) == before


def test_good_snapshot_is_installed_and_reloaded(dp, tmp_path):
    snap = copy.deepcopy(base_snapshot(dp))
    snap["version"] = 103
    snap["message_size_limit"] = 5 * 1024 * 1024
    r = run_agent(dp, snap, tmp_path)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(dp["VR_POSTFIX_CONFIG_DIR"], "main.cf"), encoding="utf-8") as f:
        assert "message_size_limit = 5242880\n" in f.read()
    assert not os.path.exists(os.path.join(dp["VR_POSTFIX_AGENT_STATE"], "last-error"))
    with open(os.path.join(dp["VR_POSTFIX_AGENT_STATE"], "version"), encoding="utf-8") as f:
        assert f.read().strip() == "103"
    # new smtpd processes announce the new limit
    end = time.time() + 20
    while True:
        s = smtp(dp, "VR_SMTP_IN")
        size = s.esmtp_features.get("size")
        s.quit()
        if size == "5242880" or time.time() > end:
            break
        time.sleep(0.5)
    assert size == "5242880"
    token = "after-reload-" + uuid.uuid4().hex
    assert send(dp, "VR_SMTP_IN", "carol@corp.test", token)[0] == 250
    assert len(wait_files(dp["VR_MAILBOX_DIR"], token)) == 1
