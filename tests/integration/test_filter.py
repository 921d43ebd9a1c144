"""test_filter - the mail filter end to end: Postfix -> vr-agent's milter -> clamd, rspamd,
lists, anti-pub, attachments -> per-recipient verdict -> delivery or apid's quarantine.

Runs its own stack (VR_STACK_COMPONENTS="directory mailsink clamd rspamd apid postfix agent",
scripts/stack up/down in a 0755 temporary directory: Postfix's users must reach it). Mail
goes in over SMTP (smtplib) to the inbound listener (and the outbound one from the internal
network); what was delivered is read from the internal server's store (VR_MAILBOX_DIR, one
file per message, X-Mailsink-Rcpt lists its envelope recipients); what was held, from
GET /api/v1/quarantine; what the filter decided, from GET /api/v1/messages (the milter
posts the tracking report before it answers Postfix, so it is there when SMTP says 250).
Every API response is validated against openapi.yaml by vrapi. The AD users alice (user)
and bob (admin) log in through an AD profile so that apid knows their addresses (which
decide personal lists and preferences). One test talks the milter protocol to the socket
itself, to feed it what Postfix never sends. The last tests kill and restart the agent, and
stop apid, rspamd and clamd. The stack's directory is removed when every test passed.

Run inside scripts/netns-run, with the sanitizer build:
  VR_BIN_DIR=$PWD/build-asan/bin scripts/netns-run /usr/bin/python3 -m pytest -q \
      -p no:cacheprovider tests/integration/test_filter.py
"""

import email
import email.policy
import glob
import io
import os
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import uuid
import zipfile
from email.message import EmailMessage
from email.utils import formatdate

import pytest

import vrapi

ROOT = vrapi.ROOT
STACK = os.path.join(ROOT, "scripts", "stack")
COMPONENTS = "directory mailsink clamd rspamd apid postfix agent"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
PROPAGATION_MAX = 5.0  # seconds from a list/preference change to the filter using it


# ---- the stack ------------------------------------------------------------------------

def _pids(d, name):
    try:
        with open(os.path.join(d, "pids", name), encoding="utf-8") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _gone(pid):
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def stop_pid(pid, timeout=20):
    """stop_pid - SIGTERM, then SIGKILL after timeout; wait until it is gone"""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.time() + timeout
    while not _gone(pid):
        if time.time() > end:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _sanitizer_reports(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.rstrip() for line in f if any(m in line for m in SANITIZER_MARKS)]


@pytest.fixture(scope="module")
def fstack(request):
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.exit("run the integration tests inside scripts/netns-run", returncode=2)
    d = tempfile.mkdtemp(prefix="vr-filter-")
    failed_before = request.session.testsfailed
    os.chmod(d, 0o755)  # Postfix's own users must reach its directories
    env = dict(os.environ, VR_STACK_COMPONENTS=COMPONENTS, VR_AGENT_LOG_LEVEL="debug")
    env.setdefault("VR_BIN_DIR", os.path.join(ROOT, "build", "bin"))
    up = subprocess.run([STACK, "up", d], env=env, capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        subprocess.run([STACK, "down", d], env=env, capture_output=True, timeout=180)
        pytest.fail("stack up failed:\n" + up.stdout + up.stderr)
    st = vrapi.Stack(os.path.join(d, "stack.env"))
    st.dir = d
    st.bin = env["VR_BIN_DIR"]
    yield st
    down = subprocess.run([STACK, "down", d], env=env, capture_output=True, text=True,
                          timeout=180)
    assert down.returncode == 0, down.stdout + down.stderr
    agent_log = st["VR_AGENT_LOG"]
    for log in (agent_log, st.apid_log):
        reports = _sanitizer_reports(log)
        assert not reports, "sanitizer reports in %s:\n%s" % (log, "\n".join(reports[:40]))
    with open(agent_log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    # SIGTERM stopped the milter cleanly
    assert "milter stopped" in text, text[-3000:]
    if request.session.testsfailed == failed_before:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def fapi(fstack, spec, coverage):
    return vrapi.Api(fstack.api_url, spec, coverage)


def login(api, user, password):
    r = api.as_(None).post("/api/v1/auth/login", {"username": user, "password": password})
    assert r.status == 200, r
    return api.as_(r.json["token"])


def wait_applied(admin, timeout=20):
    """wait_applied - until the agent runs the configuration version in force now"""
    want = admin.get("/api/v1/policy").json["version"]
    end = time.time() + timeout
    while time.time() < end:
        for a in admin.get("/api/v1/agents").json["items"]:
            if a["name"] == "stack-agent" and (a.get("applied_version") or 0) >= want:
                return
        time.sleep(0.2)
    raise AssertionError("the agent did not apply version %d" % want)


@pytest.fixture(scope="module")
def people(fapi, fstack):
    """admin (local), alice (AD user), bob (AD admin); the AD profile; GTUBE (score 15)
    quarantined rather than rejected for corp.test (spam_reject 100)"""
    st = fstack
    admin = login(fapi, st.admin_user, st.admin_password)
    r = admin.post("/api/v1/directories", {
        "name": "corp-ad", "kind": "ad", "uris": [st["VR_AD_URI"]],
        "ca_file": st["VR_AD_CA_FILE"], "bind_dn": st["VR_AD_BIND_DN"],
        "bind_password": st["VR_AD_BIND_PASSWORD"], "base_dn": st["VR_AD_BASE_DN"],
        "netbios_domain": st["VR_AD_DOMAIN"],
        "group_roles": [{"group_dn": st["VR_AD_ADMIN_GROUP_DN"], "role": "admin"},
                        {"group_dn": st["VR_AD_HELPDESK_GROUP_DN"], "role": "helpdesk"},
                        {"group_dn": st["VR_AD_AUDITOR_GROUP_DN"], "role": "auditor"}]})
    assert r.status == 201, r
    dom = [d for d in admin.get("/api/v1/domains").json["items"]
           if d["name"] == st["VR_DOMAIN"]][0]
    r = admin.patch("/api/v1/domains/%s/filter" % dom["id"], {"spam_reject": 100})
    assert r.status == 200, r
    people = {
        "admin": admin,
        "alice": login(fapi, st["VR_AD_USER"], st["VR_AD_PASSWORD"]),
        "bob": login(fapi, st["VR_AD_ADMIN"], st["VR_AD_ADMIN_PASSWORD"]),
        "domain_id": dom["id"],
        "stats0": admin.get("/api/v1/stats").json,
    }
    wait_applied(admin)
    return people


# ---- mail -----------------------------------------------------------------------------

ALICE = "alice@corp.test"
BOB = "bob@corp.test"


def token():
    return uuid.uuid4().hex[:12]


def msg(subject, frm="Jean Dupont <jean.dupont@example.org>", to=ALICE, body=None):
    """msg - a plain message with a unique Subject token and Message-ID"""
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m["Date"] = formatdate()
    m["Message-ID"] = "<%s@example.org>" % uuid.uuid4().hex
    if body is not None:
        m.set_content(body)
    return m


def with_attachment(subject, data, filename, subtype="octet-stream", **kw):
    m = msg(subject, **kw)
    m.set_content("Bonjour,\n\nci-joint le document.\n")
    m.add_attachment(data, maintype="application", subtype=subtype, filename=filename)
    return m


def zip_bytes(entries):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()


def raw_of(m):
    return m if isinstance(m, bytes) else m.as_bytes(policy=email.policy.SMTP)


def send(st, m, rcpts, sender="jean.dupont@example.org", listener="VR_SMTP_IN", source=None):
    """send - one SMTP transaction; (code, text) of the reply to the end of DATA"""
    host, port = st[listener].rsplit(":", 1)
    s = smtplib.SMTP(host, int(port), timeout=120,
                     source_address=(source, 0) if source else None)
    try:
        s.ehlo("client.example.org")
        code, text = s.mail(sender)
        assert code == 250, (code, text)
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, (r, code, text)
        code, text = s.data(raw_of(m))
        return code, text.decode(errors="replace")
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass


def stored(st, needle, n=1, timeout=20):
    """stored - the store's messages holding needle (bytes), once n are there or after
    timeout; each as (recipients, email.message.Message, raw bytes)"""
    needle = needle.encode() if isinstance(needle, str) else needle
    end = time.time() + timeout
    while True:
        found = []
        for path in sorted(glob.glob(os.path.join(st["VR_MAILBOX_DIR"], "*.eml"))):
            with open(path, "rb") as f:
                data = f.read()
            if needle in data:
                m = email.message_from_bytes(data)
                found.append((m.get_all("X-Mailsink-Rcpt") or [], m, data))
        if len(found) >= n or time.time() > end:
            return found
        time.sleep(0.2)


def not_stored(st, needle, wait=2.0):
    """not_stored - true when nothing holding needle reaches the store within wait"""
    return stored(st, needle, n=1, timeout=wait) == []


def tracked(admin, message_id, timeout=10):
    """tracked - the tracking record of a message (by Message-ID), or None"""
    end = time.time() + timeout
    while True:
        r = admin.get("/api/v1/messages", params={"limit": 500})
        assert r.status == 200, r
        for item in r.json["items"]:
            if item["message_id"] == message_id:
                return item
        if time.time() > end:
            return None
        time.sleep(0.3)


def outcome(admin, message_id, timeout=10):
    """outcome - {recipient: (action, category)} of a tracked message"""
    item = tracked(admin, message_id, timeout)
    assert item is not None, "message %s not tracked" % message_id
    return {r["address"]: (r["action"], r["category"]) for r in item["recipients"]}


def held(admin, subject_token, timeout=5):
    """held - the quarantine items whose subject holds the token (as admin)"""
    end = time.time() + timeout
    while True:
        r = admin.get("/api/v1/quarantine", params={"q": subject_token, "limit": 500})
        assert r.status == 200, r
        if r.json["items"] or time.time() > end:
            return r.json["items"]
        time.sleep(0.3)


# ---- delivery -------------------------------------------------------------------------

def test_ham_is_delivered_with_verdict_headers(fstack, people):
    t = token()
    m = msg("Réunion de jeudi " + t, body="Bonjour Alice,\n\nPeux-tu confirmer la réunion de "
            "jeudi à 10h avec l'équipe commerciale ?\n\nMerci,\nJean\n")
    m["X-VR-Verdict"] = "clean; forged by the sender"
    code, text = send(fstack, m, [ALICE])
    assert code == 250, text
    got = stored(fstack, t)
    assert len(got) == 1
    rcpts, dm, _ = got[0]
    assert rcpts == [ALICE]
    assert dm.get_all("X-VR-Verdict") == ["clean"]  # the forged one is gone
    assert dm["X-VR-Category"] == "clean"
    assert float(dm["X-VR-Score"]) < 5
    assert outcome(people["admin"], m["Message-ID"]) == {ALICE: ("deliver", "clean")}
    item = tracked(people["admin"], m["Message-ID"])
    assert item["direction"] == "inbound" and item["sender"] == "jean.dupont@example.org"
    assert item["queue_id"] and item["client_ip"] == "127.0.0.1"


def test_gtube_is_quarantined_as_spam_byte_for_byte(fstack, people):
    t = token()
    m = msg("gtube " + t, body="GTUBE test\n\n" + GTUBE + "\n")
    code, text = send(fstack, m, [BOB])
    assert code == 250, text
    assert not_stored(fstack, t)
    items = held(people["admin"], t)
    assert [(i["recipient"], i["category"], i["status"]) for i in items] == \
        [(BOB, "spam", "held")]
    assert items[0]["score"] >= 15
    assert outcome(people["admin"], m["Message-ID"]) == {BOB: ("quarantine", "spam")}
    # the held copy is the message as received (Postfix's Received: header on top)
    r = people["admin"].get("/api/v1/quarantine/%s/raw" % items[0]["id"])
    assert r.status == 200
    assert r.body.endswith(raw_of(m)), r.body[:400]
    track = tracked(people["admin"], m["Message-ID"])
    assert track["recipients"][0]["quarantine_id"] == items[0]["id"]


def test_released_copy_is_delivered_unfiltered(fstack, people):
    t = token()
    m = msg("gtube to release " + t, body=GTUBE + "\n", to=BOB)
    assert send(fstack, m, [BOB])[0] == 250
    items = held(people["admin"], t)
    assert len(items) == 1
    r = people["bob"].post("/api/v1/quarantine/%s/release" % items[0]["id"])
    assert r.status == 200, r
    got = stored(fstack, t)
    assert [g[0] for g in got] == [[BOB]]
    # the reinjection listener has no milter: no verdict headers were added
    assert got[0][1]["X-VR-Verdict"] is None and got[0][1]["X-VR-Released"]


def test_big_message_spills_to_disk_and_is_held_whole(fstack, people):
    t = token()
    # ~3 MB: past the milter's 1 MiB in memory (rspamd looks for GTUBE in small parts only)
    m = msg("big gtube " + t, body=GTUBE + "\n", to=BOB)
    m.add_attachment(os.urandom(2200 * 1024), maintype="application", subtype="octet-stream",
                     filename="rapport.bin")
    assert len(raw_of(m)) > 2 * 1024 * 1024
    code, text = send(fstack, m, [BOB])
    assert code == 250, text
    items = held(people["admin"], t)
    assert [(i["recipient"], i["category"]) for i in items] == [(BOB, "spam")]
    r = people["admin"].get("/api/v1/quarantine/%s/raw" % items[0]["id"])
    assert r.body.endswith(raw_of(m))
    # the spill file had no name: nothing is left behind
    assert os.listdir(os.path.join(fstack.dir, "agent", "state", "spool")) == []

    t = token()
    m = with_attachment("big zip " + t, zip_bytes([("data.bin", os.urandom(2 << 20)),
                                                   ("eicar.txt", EICAR)]), "data.zip",
                        subtype="zip")
    assert send(fstack, m, [ALICE])[0] == 250
    assert [(i["recipient"], i["category"]) for i in held(people["admin"], t)] == \
        [(ALICE, "virus")]


@pytest.mark.parametrize("kind", ["plain", "base64-attachment", "zip"])
def test_eicar_is_quarantined_as_virus(fstack, people, kind):
    t = token()
    if kind == "plain":
        m = msg("eicar plain " + t)
        m.set_content(EICAR.decode(), cte="7bit")
    elif kind == "base64-attachment":
        m = with_attachment("eicar attachment " + t, EICAR, "readme.txt")
        assert EICAR not in raw_of(m)
    else:
        m = with_attachment("eicar zip " + t, zip_bytes([("docs/eicar.txt", EICAR)]),
                            "docs.zip", subtype="zip")
    code, text = send(fstack, m, [ALICE])
    assert code == 250, text
    assert not_stored(fstack, t)
    items = held(people["admin"], t)
    assert [(i["recipient"], i["category"]) for i in items] == [(ALICE, "virus")]
    assert "eicar" in (items[0]["virus"] or "").lower()
    assert outcome(people["admin"], m["Message-ID"]) == {ALICE: ("quarantine", "virus")}
    # a user never sees virus items
    assert people["alice"].get("/api/v1/quarantine/" + items[0]["id"]).status == 404


def test_exe_attachment_is_quarantined_by_policy(fstack, people):
    t = token()
    m = with_attachment("setup " + t, b"MZ" + b"\0" * 300, "setup.exe")
    code, text = send(fstack, m, [ALICE])
    assert code == 250, text
    assert not_stored(fstack, t)
    items = held(people["admin"], t)
    assert [(i["recipient"], i["category"]) for i in items] == [(ALICE, "attachment")]
    item = tracked(people["admin"], m["Message-ID"])
    assert "setup.exe" in item["recipients"][0]["reason"]


def newsletter(t):
    m = msg("Nos offres de la semaine " + t, frm="Boutique Exemple <news@shop.example.com>",
            to="alice@corp.test, bob@corp.test")
    m["List-Unsubscribe"] = "<mailto:unsub@shop.example.com>, <https://shop.example.com/u?1>"
    m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m["List-Id"] = "Newsletter Boutique <news.shop.example.com>"
    m["Precedence"] = "bulk"
    m.set_content("Nos offres : https://shop.example.com/promo\n")
    return m


def test_newsletter_quarantined_for_the_user_who_chose_it_only(fstack, people):
    r = people["alice"].request("PUT", "/api/v1/me/preferences",
                                json_body={"newsletter": "quarantine"})
    assert r.status == 200, r
    wait_applied(people["admin"])
    t = token()
    m = newsletter(t)
    code, text = send(fstack, m, [ALICE, BOB], sender="news@shop.example.com")
    assert code == 250, text
    got = stored(fstack, t)
    assert [g[0] for g in got] == [[BOB]]
    assert got[0][1]["X-VR-Verdict"] in ("clean", "spam; tagged")
    items = held(people["admin"], t)
    assert [(i["recipient"], i["category"]) for i in items] == [(ALICE, "newsletter")]
    out = outcome(people["admin"], m["Message-ID"])
    assert out[ALICE] == ("quarantine", "newsletter")
    assert out[BOB][0] in ("deliver", "tag")
    # the user sees her newsletter, with its one-click unsubscribe target
    d = people["alice"].get("/api/v1/quarantine/" + items[0]["id"])
    assert d.status == 200
    # the stack's rspamd verifies no DKIM (no DNS): no one-click offer without it (RFC 8058)
    assert d.json["unsubscribe"] == {"target": "https://shop.example.com/u?1", "one_click": False}


def test_two_recipients_one_allow_lists_the_sender(fstack, people):
    r = people["alice"].post("/api/v1/lists", {"kind": "allow", "pattern": "partner.test"})
    assert r.status == 201, r
    wait_applied(people["admin"])
    t = token()
    m = msg("gtube for two " + t, frm="Paul <paul@partner.test>",
            to="alice@corp.test, bob@corp.test", body=GTUBE + "\n")
    code, text = send(fstack, m, [ALICE, BOB], sender="paul@partner.test")
    assert code == 250, text
    got = stored(fstack, t)
    assert [g[0] for g in got] == [[ALICE]]
    items = held(people["admin"], t)
    assert [(i["recipient"], i["category"]) for i in items] == [(BOB, "spam")]
    assert outcome(people["admin"], m["Message-ID"]) == {
        ALICE: ("deliver", "clean"), BOB: ("quarantine", "spam")}


def test_global_block_list_and_allow_list_cannot_pass_a_virus(fstack, people):
    admin = people["admin"]
    for kind, pattern in (("block", "pest.test"), ("allow", "friend.test")):
        r = admin.post("/api/v1/lists", {"kind": kind, "pattern": pattern, "scope": "global"})
        assert r.status == 201, r
    wait_applied(admin)
    t = token()
    m = msg("hello again " + t, frm="<promo@pest.test>", to=BOB, body="Bonjour\n")
    assert send(fstack, m, [BOB], sender="promo@pest.test")[0] == 250
    assert not_stored(fstack, t)
    assert [(i["recipient"], i["category"]) for i in held(admin, t)] == [(BOB, "blocklist")]
    assert outcome(admin, m["Message-ID"]) == {BOB: ("quarantine", "blocklist")}

    t = token()
    m = msg("from a friend " + t, frm="<ami@friend.test>", to=BOB)
    m.set_content(EICAR.decode(), cte="7bit")
    assert send(fstack, m, [BOB], sender="ami@friend.test")[0] == 250
    assert not_stored(fstack, t)
    assert [(i["recipient"], i["category"]) for i in held(admin, t)] == [(BOB, "virus")]


def test_spam_tag_prefixes_the_subject(fstack, people):
    admin = people["admin"]
    path = "/api/v1/domains/%s/filter" % people["domain_id"]
    assert admin.patch(path, {"spam_quarantine": 50}).status == 200
    try:
        wait_applied(admin)
        t = token()
        m = msg("offre " + t, body=GTUBE + "\n", to=BOB)
        assert send(fstack, m, [BOB])[0] == 250
        got = stored(fstack, t)
        assert len(got) == 1
        dm = got[0][1]
        assert dm["Subject"] == "[SPAM] offre " + t
        assert dm["X-VR-Verdict"] == "spam; tagged" and dm["X-VR-Category"] == "spam"
        assert outcome(admin, m["Message-ID"]) == {BOB: ("tag", "spam")}
    finally:
        assert admin.patch(path, {"spam_quarantine": 8}).status == 200
        wait_applied(admin)


def test_outbound_uses_outbound_thresholds(fstack, people):
    st = fstack
    t = token()
    m = msg("to a partner " + t, frm="Alice <alice@corp.test>", to="partner@example.net",
            body="Bonjour,\n\nvoici le compte rendu.\n")
    code, text = send(st, m, ["partner@example.net"], sender=ALICE, listener="VR_SMTP_OUT",
                      source=st["VR_INTERNAL_CLIENT_IP"])
    assert code == 250, text
    item = tracked(people["admin"], m["Message-ID"])
    assert item["direction"] == "outbound"
    assert outcome(people["admin"], m["Message-ID"]) == {"partner@example.net":
                                                         ("deliver", "clean")}
    # GTUBE scores 15 = the outbound reject threshold: refused at the end of DATA
    m = msg("spam out " + t, frm="Alice <alice@corp.test>", to="partner@example.net",
            body=GTUBE + "\n")
    code, text = send(st, m, ["partner@example.net"], sender=ALICE, listener="VR_SMTP_OUT",
                      source=st["VR_INTERNAL_CLIENT_IP"])
    assert code == 550 and "5.7.1" in text and "spam" in text, (code, text)
    assert outcome(people["admin"], m["Message-ID"]) == {"partner@example.net":
                                                         ("reject", "spam")}


def test_odd_messages_are_scanned_and_delivered(fstack, people):
    t = token()
    huge = "X-Long: " + " ".join(["mot%d" % i for i in range(9000)])
    raw = ("From: =?bogus?Q?x <jean@example.org>\r\nTo: alice@corp.test\r\n"
           "Subject: r\xe9union \xff\xfe " + t + "\r\nMessage-ID: <%s@odd>\r\n" % t +
           huge + "\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n"
           "--never-closed\r\nContent-Type: text/plain\r\n\r\nnul \x00 byte and "
           "8-bit \xe9\xe8 body\r\n--never-closed\r\nContent-Type: application/zip; "
           "name=broken.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBBQ=\r\n"
           ).encode("latin-1")
    code, text = send(fstack, raw, [ALICE])
    assert code == 250, text
    got = stored(fstack, t)
    assert len(got) == 1
    assert got[0][1]["X-VR-Verdict"] == "clean"
    assert outcome(people["admin"], "<%s@odd>" % t)[ALICE][0] == "deliver"


class MilterClient:
    """A bare milter protocol (v6) client on the milter's unix socket, to feed it what
    Postfix never would: NUL bytes and 8-bit bytes in header values, a huge header, a
    message aborted or cut off halfway."""

    def __init__(self, path):
        import socket
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(60)
        self.sock.connect(path)
        self.send(b"O", struct_pack(6, 0x1FF, 0x1FFFFF))
        cmd, data = self.recv()
        assert cmd == b"O", (cmd, data)
        self.nr_hdr = bool(int.from_bytes(data[8:12], "big") & 0x80)

    def send(self, cmd, data=b""):
        self.sock.sendall((len(data) + 1).to_bytes(4, "big") + cmd + data)

    def recv(self):
        head = self._read(4)
        body = self._read(int.from_bytes(head, "big"))
        return body[:1], body[1:]

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "the milter closed the connection"
            buf += chunk
        return buf

    def step(self, cmd, data=b"", reply=True):
        """step - send a command; its final reply (after any modification actions), and
        the actions"""
        self.send(cmd, data)
        if not reply:
            return None, []
        actions = []
        while True:
            c, d = self.recv()
            if c in b"cartdy":
                return (c, d), actions
            actions.append((c, d))

    def message(self, rcpts, headers, body_chunks, eom=True):
        self.step(b"D", b"M" + b"i\0TESTQ%s\0" % uuid.uuid4().hex[:8].encode(), reply=False)
        assert self.step(b"M", b"<odd@example.org>\0")[0][0] == b"c"
        for r in rcpts:
            assert self.step(b"R", b"<%s>\0" % r.encode())[0][0] == b"c"
        for name, value in headers:
            self.step(b"L", name + b"\0" + value + b"\0", reply=not self.nr_hdr)
        assert self.step(b"N")[0][0] == b"c"
        for chunk in body_chunks:
            assert self.step(b"B", chunk)[0][0] == b"c"
        if eom:
            self.step(b"D", b"E" + b"i\0TESTQ%s\0" % uuid.uuid4().hex[:8].encode(),
                      reply=False)
            return self.step(b"E")
        return None

    def close(self):
        self.sock.close()


def struct_pack(*words):
    return b"".join(w.to_bytes(4, "big") for w in words)


def test_milter_survives_what_postfix_would_not_send(fstack, people):
    sock = fstack["VR_MILTER_SOCKET"]
    for cut in (False, True):
        c = MilterClient(sock)
        c.step(b"D", b"C{daemon_name}\0vrgate-inbound\0", reply=False)
        assert c.step(b"C", b"odd.example.org\0" + b"4" + (2525).to_bytes(2, "big") +
                      b"127.0.0.9\0")[0][0] == b"c"
        assert c.step(b"H", b"odd.example.org\0")[0][0] == b"c"
        t = token()
        # 8-bit and control bytes, folding with bare LFs, 300 KB of headers (libmilter's
        # packets stay under 64 KiB)
        headers = [(b"From", b" <odd@example.org>"),
                   (b"Subject", b" \xff\xfe\x01 odd " + t.encode()),
                   (b"X-Folded", b" one\n\ttwo\r\n\tthree")]
        headers += [(b"X-Huge", b" " + b"a" * 60000)] * 5
        headers += [(b"Message-ID", b" <%s@odd>" % t.encode()), (b"MIME-Version", b" 1.0"),
                    (b"Content-Type", b' multipart/mixed; boundary="b1"')]
        # the message aborted halfway, then another on the same connection
        c.message([ALICE], headers, [b"half"], eom=False)
        c.step(b"A", reply=False)
        body = [b"--b1\r\nContent-Type: text/plain\r\n\r\nnul \0 and 8-bit \xe9\r\n",
                b"--b1\r\nContent-Type: text/plain\r\n\r\n" + EICAR + b"\r\n--b1--\r\n"]
        if cut:
            body = [b"x" * 65535]
        if cut:
            c.message([ALICE], headers, body, eom=False)
            c.close()  # the client is gone in the middle of the body
            continue
        final, actions = c.message([ALICE, BOB], headers, body)
        # EICAR in the body: held for both, nobody left, discarded
        assert final[0] == b"d", (final, actions)
        assert sorted(a[1] for a in actions if a[0] == b"-") == \
            [b"<%s>\0" % ALICE.encode(), b"<%s>\0" % BOB.encode()]
        c.step(b"Q", reply=False)
        c.close()
        out = outcome(people["admin"], "<%s@odd>" % t)
        assert out == {ALICE: ("quarantine", "virus"), BOB: ("quarantine", "virus")}
    # the agent still filters mail
    t = token()
    assert send(fstack, msg("still alive " + t, body="Bonjour\n"), [ALICE])[0] == 250
    assert stored(fstack, t)[0][1]["X-VR-Verdict"] == "clean"


def probe_until(st, admin, make, rcpt, sender, want, limit=PROPAGATION_MAX):
    """probe_until - send probes (make() -> message) until rcpt's outcome is want; the
    seconds it took since the call"""
    t0 = time.time()
    while True:
        m = make()
        assert send(st, m, [rcpt], sender=sender)[0] == 250
        got = outcome(admin, m["Message-ID"]).get(rcpt)
        elapsed = time.time() - t0
        if got == want:
            return elapsed
        assert elapsed < limit, "after %.1f s the filter still says %r" % (elapsed, got)
        time.sleep(0.2)


def test_list_and_preference_changes_reach_the_filter_within_5_s(fstack, people):
    admin, alice = people["admin"], people["alice"]

    def probe():
        return msg("probe " + token(), frm="<late@noisy.test>", body="Bonjour\n")

    m = probe()
    assert send(fstack, m, [ALICE], sender="late@noisy.test")[0] == 250
    assert outcome(admin, m["Message-ID"])[ALICE] == ("deliver", "clean")
    t0 = time.time()
    r = alice.post("/api/v1/lists", {"kind": "block", "pattern": "noisy.test"})
    assert r.status == 201, r
    took = probe_until(fstack, admin, probe, ALICE, "late@noisy.test",
                       ("quarantine", "blocklist"))
    assert time.time() - t0 < PROPAGATION_MAX + 1
    print("block list entry in force after %.2f s" % took)

    r = alice.request("PUT", "/api/v1/me/preferences", json_body={"newsletter": "deliver"})
    assert r.status == 200, r
    took = probe_until(fstack, admin, lambda: newsletter(token()), ALICE,
                       "news@shop.example.com", ("deliver", "clean"))
    print("newsletter preference in force after %.2f s" % took)


def test_tracking_and_stats_count_the_messages(fstack, people):
    admin = people["admin"]
    s0, s1 = people["stats0"], admin.get("/api/v1/stats").json

    def delta(group, key):
        return s1[group].get(key, 0) - s0[group].get(key, 0)

    assert delta("by_category", "virus") >= 4
    assert delta("by_category", "attachment") >= 1
    assert delta("by_category", "newsletter") >= 1
    assert delta("by_category", "blocklist") >= 2
    assert delta("by_category", "spam") >= 4
    assert delta("by_action", "quarantine") >= 10
    assert delta("by_action", "deliver") >= 4
    assert delta("by_action", "reject") >= 1
    assert delta("by_action", "tag") >= 1
    assert delta("messages_by_direction", "outbound") >= 2
    assert delta("messages_by_direction", "inbound") >= 12
    r = admin.get("/api/v1/messages", params={"recipient": BOB, "action": "quarantine"})
    assert r.status == 200 and r.json["items"]
    assert all(any(x["address"] == BOB and x["action"] == "quarantine"
                   for x in i["recipients"]) for i in r.json["items"])


# ---- failures (keep these last: they stop apid, rspamd, clamd) -----------------------------

def smtp_replies(st, m, rcpt):
    """smtp_replies - the codes of MAIL, RCPT and DATA (None for steps not reached)"""
    host, port = st["VR_SMTP_IN"].rsplit(":", 1)
    codes = [None, None, None]
    s = smtplib.SMTP(host, int(port), timeout=120)
    try:
        s.ehlo("client.example.org")
        codes[0] = s.mail("jean.dupont@example.org")[0]
        if codes[0] == 250:
            codes[1] = s.rcpt(rcpt)[0]
        if codes[1] == 250:
            codes[2] = s.data(raw_of(m))[0]
    except smtplib.SMTPResponseException as e:
        codes[codes.index(None)] = e.smtp_code
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
    return codes


def test_user_finds_mail_to_an_alias_in_her_quarantine_and_releases_it_once(fstack, people):
    """The whole path: spam sent over SMTP to one of alice's aliases is held by the milter;
    alice, logged in with her AD account, finds it in her own quarantine, reads its French
    subject, releases it, and it reaches the internal server exactly once."""
    t = token()
    alias = fstack["VR_AD_USER_ALIAS"]
    m = msg("=?UTF-8?Q?R=C3=A9union_budg=C3=A9taire?= " + t, body=GTUBE + "\n", to=alias)
    code, text = send(fstack, m, [alias])
    assert code == 250, text
    assert not_stored(fstack, t)
    alice = people["alice"]
    end = time.time() + 10
    mine = []
    while time.time() < end and not mine:
        mine = [i for i in alice.get("/api/v1/quarantine", params={"q": t}).json["items"]]
        time.sleep(0.2)
    assert [(i["recipient"], i["category"]) for i in mine] == [(alias, "spam")]
    detail = alice.get("/api/v1/quarantine/" + mine[0]["id"])
    assert detail.json["headers"]["subject"] == "Réunion budgétaire " + t
    assert alice.post("/api/v1/quarantine/%s/release" % mine[0]["id"]).status == 200
    assert alice.post("/api/v1/quarantine/%s/release" % mine[0]["id"]).status == 200
    got = stored(fstack, t)
    time.sleep(2)
    assert len(stored(fstack, t)) == 1, "released more than once"
    assert [g[0] for g in got] == [[alias]]


def test_killed_agent_defers_mail_and_a_restart_resumes(fstack, people):
    st = fstack
    for pid in _pids(st.dir, "agent"):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while not _gone(pid):
            time.sleep(0.05)
    sock = st["VR_MILTER_SOCKET"]
    assert os.path.exists(sock)  # left behind by the killed milter
    t = token()
    codes = smtp_replies(st, msg("no filter " + t, body="Bonjour\n"), ALICE)
    assert any(c is not None and 400 <= c < 500 for c in codes), codes  # deferred, not lost
    assert not_stored(st, t)
    proc = subprocess.Popen([st["VR_AGENT_RUN"]], start_new_session=True)
    with open(os.path.join(st.dir, "pids", "agent"), "a", encoding="utf-8") as f:
        f.write("%d\n" % proc.pid)
    # the stale socket is replaced; the policy in force comes from the state directory
    end = time.time() + 20
    while True:
        t = token()
        m = msg("filter back " + t, body="Bonjour\n")
        codes = smtp_replies(st, m, ALICE)
        if codes == [250, 250, 250]:
            break
        assert time.time() < end, codes
        time.sleep(0.5)
    assert stored(st, t)[0][1]["X-VR-Verdict"] == "clean"


def test_apid_down_defers_quarantine_and_tracking_catches_up(fstack, people):
    st = fstack
    for pid in _pids(st.dir, "apid"):
        stop_pid(pid)
    try:
        t = token()
        ham = msg("while apid is away " + t, body="Bonjour Alice\n")
        code, text = send(st, ham, [ALICE])
        assert code == 250, text  # delivery does not wait for tracking
        assert len(stored(st, t)) == 1
        spam = msg("gtube while apid is away " + t, body=GTUBE + "\n")
        code, text = send(st, spam, [ALICE])
        assert code == 451 and "4.3.0" in text, (code, text)  # no copy held: no mail lost
        assert not_stored(st, "gtube while apid is away " + t)
    finally:
        port = st.api_url.rsplit(":", 1)[1]
        with open(os.path.join(st.dir, "apid", "bootstrap-password"), encoding="utf-8") as f:
            pw = f.read().strip()
        log = open(st.apid_log, "ab")
        p = subprocess.Popen([os.path.join(st.bin, "apid"), "--data-dir", st["VR_APID_DATA_DIR"],
                              "--listen", "127.0.0.1", "--port", port, "--threads", "4"],
                             env=dict(os.environ, VR_APID_ADMIN_PASSWORD=pw,
                                      ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS",
                                                                  "detect_leaks=1")),
                             stdout=log, stderr=log, start_new_session=True)
        log.close()
        with open(os.path.join(st.dir, "pids", "apid"), "a", encoding="utf-8") as f:
            f.write("%d\n" % p.pid)
    admin = None
    end = time.time() + 20
    while admin is None:
        try:
            admin = login(vrapi.Api(st.api_url, people["admin"].spec,
                                    people["admin"].coverage), st.admin_user, st.admin_password)
        except (OSError, AssertionError):
            assert time.time() < end, "apid did not come back"
            time.sleep(0.3)
    # the report kept in the agent's outbox arrives after apid is back
    item = tracked(admin, ham["Message-ID"], timeout=90)
    assert item is not None, "the tracking report was lost"
    assert {r["address"]: r["action"] for r in item["recipients"]} == {ALICE: "deliver"}
    people["admin"] = admin


def test_rspamd_down_defers_naming_rspamd(fstack, people):
    for pid in _pids(fstack.dir, "rspamd"):
        stop_pid(pid)
    t = token()
    m = msg("after rspamd " + t, body="Bonjour\n")
    code, text = send(fstack, m, [ALICE])
    assert code == 451 and "4.7.1" in text and "rspamd" in text, (code, text)
    assert not_stored(fstack, t)
    assert outcome(people["admin"], m["Message-ID"]) == {ALICE: ("tempfail", "spam")}


def test_clamd_down_defers_naming_clamd(fstack, people):
    for pid in _pids(fstack.dir, "clamd"):
        stop_pid(pid)
    t = token()
    m = msg("after clamd " + t, frm="<ami@friend.test>", body="Bonjour\n")
    code, text = send(fstack, m, [ALICE], sender="ami@friend.test")
    assert code == 451 and "4.7.1" in text and "clamd" in text, (code, text)
    assert not_stored(fstack, t)

