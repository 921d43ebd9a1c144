"""test_no_mail_lost - no message is lost or duplicated when a service the filter needs
fails: clamd, rspamd or apid stopped, or vr-agent killed with messages in flight.

Each failure test sends a batch of uniquely identified messages (Message-ID and a token in
the Subject) - ham, GTUBE spam (quarantined: the domain's spam_reject is raised to 100)
and EICAR - from concurrent SMTP clients to the inbound listener, and kills the service
(SIGKILL, from DIR/pids/NAME) once a third of the batch has been answered. Every message
answered 4xx is sent again, byte for byte as a real sender would, once the service has been
started again (the way its component starts it, same settings), until it is accepted
(bounded). Then every message is counted: each ham exactly once in the internal server's
store (VR_MAILBOX_DIR) for its recipient and nowhere else, each spam or virus exactly once in
apid's quarantine (GET /api/v1/quarantine?q=TOKEN as admin) and never delivered. A 5xx, or a
message still refused at the end, fails the test. The last test checks the tracking
(GET /api/v1/messages, eventually: reports wait in the agent's outbox while apid is down):
the accepted attempt of each message (its queue id, from the 250 reply) has exactly one
record, with the outcome the message got; the deferred attempts' records say tempfail.

The first test checks that a configuration version that changes only the filter section (a
list entry) does not reload Postfix (agent/postfix_apply.c step 0), while one that changes
main.cf does. The second, that a sender's retry of a message already held (same bytes,
another queue id) finds the held copy instead of holding a second one (the quarantine key,
agent/milter_meta.h): what keeps the count exact when the agent dies after apid held a
copy but before Postfix heard the answer.

Own stack (no directory component: nothing here needs AD logins). Run inside
scripts/netns-run, with the sanitizer build:
  VR_BIN_DIR=$PWD/build-asan/bin scripts/netns-run /usr/bin/python3 -m pytest -q \\
      -p no:cacheprovider tests/integration/test_no_mail_lost.py
"""

import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from email.message import EmailMessage
from email.utils import formatdate

import pytest

import vrapi
from test_filter import (EICAR, GTUBE, _gone, _pids, _sanitizer_reports, login, raw_of,
                         wait_applied)

ROOT = vrapi.ROOT
STACK = os.path.join(ROOT, "scripts", "stack")
COMPONENTS = "mailsink clamd rspamd apid postfix agent"
ALICE, BOB = "alice@corp.test", "bob@corp.test"
BATCH = 30
CLIENTS = 4
RETRY_FOR = 90  # seconds a deferred message is retried after the service is back
QUEUED_AS = re.compile(r"queued as ([A-Za-z0-9]+)")

# every message sent by the module, for the tracking check at the end
SENT = []
# the services restarted by the tests (subprocess.Popen)
SPAWNED = []


# ---- the stack ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nstack(request):
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.exit("run the integration tests inside scripts/netns-run", returncode=2)
    d = tempfile.mkdtemp(prefix="vr-nolost-")
    failed_before = request.session.testsfailed
    os.chmod(d, 0o755)  # Postfix's own users must reach its directories
    env = dict(os.environ, VR_STACK_COMPONENTS=COMPONENTS)
    env.setdefault("VR_BIN_DIR", os.path.join(ROOT, "build", "bin"))
    up = subprocess.run([STACK, "up", d], env=env, capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        subprocess.run([STACK, "down", d], env=env, capture_output=True, timeout=180)
        pytest.fail("stack up failed:\n" + up.stdout + up.stderr)
    st = vrapi.Stack(os.path.join(d, "stack.env"))
    st.dir = d
    st.bin = env["VR_BIN_DIR"]
    yield st
    # the services the tests restarted are this process's children: reap them while the
    # stack stops them (a zombie still answers `kill -0`, which `down` waits on)
    done = threading.Event()

    def reap():
        while not done.is_set():
            for p in SPAWNED:
                p.poll()
            time.sleep(0.05)

    reaper = threading.Thread(target=reap)
    reaper.start()
    try:
        down = subprocess.run([STACK, "down", d], env=env, capture_output=True, text=True,
                              timeout=180)
    finally:
        done.set()
        reaper.join()
    assert down.returncode == 0, down.stdout + down.stderr
    for log in (st["VR_AGENT_LOG"], st.apid_log):
        reports = _sanitizer_reports(log)
        assert not reports, "sanitizer reports in %s:\n%s" % (log, "\n".join(reports[:40]))
    if request.session.testsfailed == failed_before:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def ctx(nstack, spec, coverage):
    """the admin session (renewed after apid restarts) and the domain's filter set up so
    that GTUBE (score 15) is quarantined rather than rejected"""
    api = vrapi.Api(nstack.api_url, spec, coverage)
    c = {"api": api, "admin": login(api, nstack.admin_user, nstack.admin_password)}
    dom = [d for d in c["admin"].get("/api/v1/domains").json["items"]
           if d["name"] == nstack["VR_DOMAIN"]][0]
    r = c["admin"].patch("/api/v1/domains/%s/filter" % dom["id"], {"spam_reject": 100})
    assert r.status == 200, r
    wait_applied(c["admin"])
    return c


def _record(st, name, pid):
    with open(os.path.join(st.dir, "pids", name), "a", encoding="utf-8") as f:
        f.write("%d\n" % pid)


def _children(pid):
    """_children - the PIDs whose parent is pid"""
    out = []
    for p in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(p, encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(p.split("/")[2]))
    return out


def kill_component(st, name):
    """kill_component - SIGKILL every live PID recorded for name (and their children: the
    rspamd workers), and wait until they are gone"""
    victims = []
    for pid in _pids(st.dir, name):
        if not _gone(pid):
            victims += [pid] + _children(pid)
    assert victims, "no live %s process" % name
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.time() + 20
    while not all(_gone(p) for p in victims):
        assert time.time() < end, "%s did not die" % name
        time.sleep(0.05)


def _wait(what, ok, timeout=60):
    end = time.time() + timeout
    while not ok():
        assert time.time() < end, what + " did not come back"
        time.sleep(0.2)


def _clamd_pong(sock):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(sock)
        s.sendall(b"zPING\0")
        r = s.recv(64)
        s.close()
        return r.startswith(b"PONG")
    except OSError:
        return False


def _http_ok(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False


def _spawn(st, name, argv, env=None):
    log = open(os.path.join(st.dir, "log", name + ".log"), "ab")
    try:
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
    finally:
        log.close()
    _record(st, name, p.pid)
    SPAWNED.append(p)
    return p


def start_clamd(st):
    """start_clamd - as scripts/components/clamd starts it (same clamd.conf: same socket)"""
    state = os.path.join(st.dir, "clamd")
    _spawn(st, "clamd", [shutil.which("clamd") or "/usr/sbin/clamd",
                         "--config-file=" + os.path.join(state, "clamd.conf")])
    _wait("clamd", lambda: _clamd_pong(st["VR_CLAMD_SOCKET"]))


def start_rspamd(st):
    """start_rspamd - as scripts/components/rspamd starts it (same rspamd.conf: same ports)"""
    state = os.path.join(st.dir, "rspamd")
    try:
        os.unlink(os.path.join(state, "run", "rspamd.sock"))
    except FileNotFoundError:
        pass
    p = _spawn(st, "rspamd", [
        "rspamd", "-f", "-i", "-c", os.path.join(state, "rspamd.conf"),
        "--var=LOCAL_CONFDIR=" + os.path.join(state, "conf"),
        "--var=DBDIR=" + os.path.join(state, "db"),
        "--var=RUNDIR=" + os.path.join(state, "run"),
        "--var=LOGDIR=" + os.path.join(st.dir, "log")])
    with open(os.path.join(state, "master.pid"), "w", encoding="utf-8") as f:
        f.write("%d\n" % p.pid)
    _wait("rspamd", lambda: _http_ok(st["VR_RSPAMD_URL"] + "/ping"))


def start_apid(st):
    """start_apid - as scripts/components/apid starts it, on the same port and data"""
    port = st.api_url.rsplit(":", 1)[1]
    with open(os.path.join(st.dir, "apid", "bootstrap-password"), encoding="utf-8") as f:
        pw = f.read().strip()
    env = dict(os.environ, VR_APID_ADMIN_PASSWORD=pw,
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=1"))
    _spawn(st, "apid", [os.path.join(st.bin, "apid"), "--data-dir", st["VR_APID_DATA_DIR"],
                        "--listen", "127.0.0.1", "--port", port, "--threads", "4"], env=env)
    _wait("apid", lambda: _http_ok(st.api_url + "/healthz"))


def start_agent(st):
    """start_agent - DIR/agent/run.sh (it logs to VR_AGENT_LOG itself)"""
    p = subprocess.Popen([st["VR_AGENT_RUN"]], start_new_session=True)
    _record(st, "agent", p.pid)
    SPAWNED.append(p)


# ---- mail -----------------------------------------------------------------------------

class Mail:
    """One message of a batch: its kind decides where it must end up."""

    def __init__(self, kind, rcpt, label):
        self.kind, self.rcpt, self.label = kind, rcpt, label
        self.token = "nl%s" % uuid.uuid4().hex[:14]
        m = EmailMessage()
        m["From"] = "Jean Dupont <jean.dupont@example.org>"
        m["To"] = rcpt
        m["Subject"] = "%s %s %s" % (label, kind, self.token)
        m["Date"] = formatdate()
        m["Message-ID"] = "<%s@example.org>" % self.token
        if kind == "ham":
            m.set_content("Bonjour,\n\nle compte rendu de la reunion %s est pret.\n\nJean\n"
                          % self.token)
        elif kind == "spam":
            m.set_content("GTUBE test %s\n\n%s\n" % (self.token, GTUBE))
        else:
            m.set_content("Bonjour,\n\nci-joint le document.\n")
            m.add_attachment(EICAR, maintype="application", subtype="octet-stream",
                             filename="lisez-moi.txt")
        self.message_id = m["Message-ID"]
        self.raw = raw_of(m)
        self.attempts = []  # (codes, queue id or None)
        self.queue_id = None  # of the accepted attempt

    @property
    def accepted(self):
        return self.queue_id is not None


def batch(label, n=BATCH):
    kinds = ["ham", "spam", "ham", "virus", "ham"]
    return [Mail(kinds[i % len(kinds)], (ALICE, BOB)[i % 2], label) for i in range(n)]


def attempt(st, m):
    """attempt - one SMTP transaction for m; the codes of MAIL, RCPT and DATA (None for the
    steps not reached; 421 when the connection failed), recorded in m.attempts"""
    host, port = st["VR_SMTP_IN"].rsplit(":", 1)
    codes, qid = [None, None, None], None
    try:
        s = smtplib.SMTP(host, int(port), timeout=120)
    except (OSError, smtplib.SMTPException):
        m.attempts.append(([421, None, None], None))
        return
    try:
        s.ehlo("client.example.org")
        codes[0] = s.mail("jean.dupont@example.org")[0]
        if codes[0] == 250:
            codes[1] = s.rcpt(m.rcpt)[0]
        if codes[1] == 250:
            code, text = s.data(m.raw)
            codes[2] = code
            found = QUEUED_AS.search(text.decode(errors="replace"))
            if code == 250:
                assert found, text
                qid = found.group(1)
    except smtplib.SMTPResponseException as e:
        codes[codes.index(None)] = e.smtp_code
    except (OSError, smtplib.SMTPException):
        codes[codes.index(None)] = 421  # cut off: a real sender tries again later
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass
    m.attempts.append((codes, qid))
    if qid:
        m.queue_id = qid


def last_codes(m):
    return m.attempts[-1][0] if m.attempts else None


def deferred(m):
    c = [x for x in (last_codes(m) or []) if x is not None]
    return not m.accepted and bool(c) and 400 <= c[-1] < 500


def send_all(st, mails, on_progress=None):
    """send_all - one attempt per message from CLIENTS threads; on_progress(answered) is
    called (from one thread at a time) after each answer"""
    todo = list(mails)
    lock = threading.Lock()
    answered = [0]
    errors = []

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                m = todo.pop(0)
            try:
                attempt(st, m)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)
            with lock:
                answered[0] += 1
                if on_progress:
                    try:
                        on_progress(answered[0])
                    except Exception as e:  # noqa: BLE001
                        errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert not todo


def run_failure(st, label, kill, restart):
    """run_failure - send a batch, kill the service once a third is answered, restart it
    after the first pass, retry the deferred messages until accepted; the batch"""
    mails = batch(label)
    SENT.extend(mails)
    killed = threading.Event()

    def progress(n):
        if n >= BATCH // 3 and not killed.is_set():
            killed.set()
            kill()

    send_all(st, mails, progress)
    assert killed.is_set()
    refused = [(m.token, m.attempts) for m in mails
               if not m.accepted and not deferred(m)]
    assert not refused, "refused, not deferred: %r" % refused
    n_deferred = sum(1 for m in mails if deferred(m))
    restart()
    end = time.time() + RETRY_FOR
    while True:
        waiting = [m for m in mails if not m.accepted]
        if not waiting:
            break
        assert time.time() < end, "still deferred after %d s: %r" % (
            RETRY_FOR, [(m.token, m.attempts[-3:]) for m in waiting])
        send_all(st, waiting)
        refused = [(m.token, m.attempts) for m in waiting if not m.accepted and not deferred(m)]
        assert not refused, "refused, not deferred: %r" % refused
        if any(not m.accepted for m in waiting):
            time.sleep(1)
    print("%s: %d of %d deferred, %d attempts in all" % (
        label, n_deferred, len(mails), sum(len(m.attempts) for m in mails)))
    return mails, n_deferred


def _store(st):
    """_store - {token: [recipients of each stored copy]} for every file of the store"""
    out = {}
    for path in glob.glob(os.path.join(st["VR_MAILBOX_DIR"], "*.eml")):
        with open(path, "rb") as f:
            data = f.read()
        for tok in set(re.findall(rb"nl[0-9a-f]{14}", data)):
            rcpts = re.findall(rb"^X-Mailsink-Rcpt: *(\S+)\r?$", data, re.M)
            out.setdefault(tok.decode(), []).append(sorted(r.decode() for r in rcpts))
    return out


def held_items(admin, tok):
    r = admin.get("/api/v1/quarantine", params={"q": tok, "limit": 500})
    assert r.status == 200, r
    return r.json["items"]


def _tracking(admin, rcpt):
    """_tracking - every tracking record of rcpt's messages"""
    items, cursor = [], None
    while True:
        params = {"recipient": rcpt, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        r = admin.get("/api/v1/messages", params=params)
        assert r.status == 200, r
        items += r.json["items"]
        cursor = r.json.get("next_cursor")
        if not cursor:
            return items


def count_destinations(st, admin, mails):
    """count_destinations - each ham once in the store, each spam/virus once in the
    quarantine; the problems found (empty when every message is where it belongs)"""
    hams = [m for m in mails if m.kind == "ham"]
    end = time.time() + 30
    while True:
        store = _store(st)
        if all(m.token in store for m in hams) or time.time() > end:
            break
        time.sleep(0.3)
    time.sleep(1.0)  # a late duplicate would show now
    store = _store(st)
    problems = []
    for m in mails:
        copies = store.get(m.token, [])
        if m.kind == "ham":
            if copies != [[m.rcpt]]:
                problems.append("%s (ham to %s): stored %r" % (m.token, m.rcpt, copies))
            continue
        if copies:
            problems.append("%s (%s): delivered %r" % (m.token, m.kind, copies))
        items = held_items(admin, m.token)
        got = sorted((i["recipient"], i["category"], i["status"]) for i in items)
        if got != [(m.rcpt, m.kind, "held")]:
            problems.append("%s (%s to %s): held %r" % (m.token, m.kind, m.rcpt, got))
    return problems


def check_batch(st, c, mails, n_deferred):
    assert n_deferred > 0, "the failure deferred nothing: the test did not test it"
    problems = count_destinations(st, c["admin"], mails)
    assert not problems, "\n".join(problems)


# ---- configuration versions and Postfix reloads ------------------------------------------

def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _tail(path, since):
    with open(path, "rb") as f:
        f.seek(since)
        return f.read().decode(errors="replace")


def _master_pid(st):
    path = os.path.join(st["VR_POSTFIX_QUEUE_DIR"], "pid", "master.pid")
    with open(path, encoding="utf-8") as f:
        return int(f.read().split()[0])


def test_list_change_does_not_reload_postfix(nstack, ctx):
    st, admin = nstack, ctx["admin"]
    agent_log, pf_log = st["VR_AGENT_LOG"], st["VR_POSTFIX_LOG"]
    conf = st["VR_POSTFIX_CONFIG_DIR"]
    master = _master_pid(st)
    mtimes = {f: os.stat(os.path.join(conf, f)).st_mtime_ns
              for f in ("main.cf", "master.cf", "relay_domains", "relay_domains.db")}
    a0, p0 = _size(agent_log), _size(pf_log)
    r = admin.post("/api/v1/lists", {"kind": "block", "pattern": "never-reload.test"})
    assert r.status == 201, r
    t0 = time.time()
    wait_applied(admin)
    took = time.time() - t0
    version = admin.get("/api/v1/policy").json["version"]
    text = _tail(agent_log, a0)
    assert "snapshot version %d applied: Postfix's files" % version in text, text
    assert "filter policy of snapshot version %d in force" % version in text, text
    assert "postfix reload" not in text, text
    time.sleep(0.5)
    assert "reload" not in _tail(pf_log, p0), _tail(pf_log, p0)
    assert _master_pid(st) == master
    assert {f: os.stat(os.path.join(conf, f)).st_mtime_ns for f in mtimes} == mtimes
    print("list-only version %d applied in %.2f s without a reload" % (version, took))
    assert admin.delete(r.header("Location")).status == 204

    # control: a change Postfix reads is installed and reloaded
    a0, p0 = _size(agent_log), _size(pf_log)
    assert admin.patch("/api/v1/policy", {"verify_negative_ttl": 11}).status == 200
    wait_applied(admin)
    text = _tail(agent_log, a0)
    assert "postfix reload" in text, text
    end = time.time() + 10
    while "reload" not in _tail(pf_log, p0):
        assert time.time() < end, _tail(pf_log, p0)
        time.sleep(0.2)
    assert _master_pid(st) == master
    with open(os.path.join(conf, "main.cf"), encoding="utf-8") as f:
        assert "address_verify_negative_expire_time = 11s" in f.read()


def test_sender_retry_of_a_held_message_is_held_once(nstack, ctx):
    """the quarantine key leaves the queue id out: a copy held for an attempt whose answer
    Postfix never got (agent killed, reply lost) is found again by the sender's retry"""
    st, admin = nstack, ctx["admin"]
    for kind in ("spam", "virus"):
        m = Mail(kind, BOB, "retry")
        attempt(st, m)
        first = m.queue_id
        attempt(st, m)  # the same bytes again, as a sender that never heard the answer
        assert first and m.queue_id and m.queue_id != first, m.attempts
        items = held_items(admin, m.token)
        assert [(i["recipient"], i["category"]) for i in items] == [(BOB, kind)], items
        end = time.time() + 10
        while True:
            recs = {i["queue_id"]: i for i in _tracking(admin, BOB)
                    if i["message_id"] == m.message_id}
            if len(recs) == 2 or time.time() > end:
                break
            time.sleep(0.3)
        assert sorted(recs) == sorted([first, m.queue_id]), recs
        for q in (first, m.queue_id):
            r = recs[q]["recipients"]
            assert [(x["action"], x.get("quarantine_id")) for x in r] == \
                [("quarantine", items[0]["id"])], r
    # another message with the same Message-ID is another copy
    a, b = Mail("spam", BOB, "retry"), Mail("spam", BOB, "retry")
    b.raw = b.raw.replace(b.message_id.encode(), a.message_id.encode())
    attempt(st, a)
    attempt(st, b)
    assert a.accepted and b.accepted
    assert len(held_items(admin, a.token)) == 1 and len(held_items(admin, b.token)) == 1


# ---- failures -------------------------------------------------------------------------

def test_clamd_down_no_mail_lost(nstack, ctx):
    st = nstack
    mails, n = run_failure(st, "clamd", lambda: kill_component(st, "clamd"),
                           lambda: start_clamd(st))
    check_batch(st, ctx, mails, n)


def test_rspamd_down_no_mail_lost(nstack, ctx):
    st = nstack
    mails, n = run_failure(st, "rspamd", lambda: kill_component(st, "rspamd"),
                           lambda: start_rspamd(st))
    check_batch(st, ctx, mails, n)


def test_agent_killed_mid_message_no_mail_lost(nstack, ctx):
    st = nstack
    mails, n = run_failure(st, "agent", lambda: kill_component(st, "agent"),
                           lambda: start_agent(st))
    check_batch(st, ctx, mails, n)


def test_apid_down_no_mail_lost(nstack, ctx):
    st = nstack

    def restart():
        start_apid(st)
        ctx["admin"] = login(ctx["api"], st.admin_user, st.admin_password)

    mails, n = run_failure(st, "apid", lambda: kill_component(st, "apid"), restart)
    # ham does not wait for apid: only the messages to hold were deferred
    assert all(m.accepted and len(m.attempts) == 1 for m in mails if m.kind == "ham")
    check_batch(st, ctx, mails, n)


def test_tracking_one_record_per_accepted_message(nstack, ctx):
    assert SENT, "run with the failure tests"
    want = {"ham": ("deliver", "clean"), "spam": ("quarantine", "spam"),
            "virus": ("quarantine", "virus")}
    end = time.time() + 90
    while True:
        records = {}
        for rcpt in (ALICE, BOB):
            for item in _tracking(ctx["admin"], rcpt):
                records.setdefault(item["message_id"], []).append(item)
        problems = []
        for m in SENT:
            mine = records.get(m.message_id, [])
            final = [i for i in mine if i["queue_id"] == m.queue_id]
            got = [[(r["address"], r["action"], r["category"]) for r in i["recipients"]]
                   for i in final]
            if got != [[(m.rcpt,) + want[m.kind]]]:
                problems.append("%s %s (queue id %s): %r" % (m.token, m.kind, m.queue_id, got))
            # the deferred attempts were reported as deferred (the agent killed after its
            # report but before Postfix heard the answer is the one exception)
            others = [i for i in mine if i["queue_id"] != m.queue_id]
            if m.label != "agent":
                for i in others:
                    if any(r["action"] != "tempfail" for r in i["recipients"]):
                        problems.append("%s: deferred attempt %s recorded as %r" % (
                            m.token, i["queue_id"], i["recipients"]))
        if not problems:
            break
        assert time.time() < end, "\n".join(problems[:40])
        time.sleep(1)
