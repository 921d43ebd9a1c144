"""test_scanners - vr-agent's filter engine against the real clamd and rspamd.

Starts its own stack (VR_STACK_COMPONENTS="clamd rspamd", scripts/stack up/down in a
temporary directory; VR_RSPAMD_CACHE is honoured) and runs tests/tools/scanmsg - clamd +
rspamd + mime_scan + antipub + verdict on one message file, JSON on stdout - over messages
built here: EICAR plain / in a base64 attachment / in a zip, GTUBE, ham, a newsletter,
blocked attachments (.exe, double extension, zip holding an .exe, encrypted zip), and a
message to two recipients where one allow-lists the sender. Last, clamd and then rspamd are
killed by PID: scanning must then report an error (never clean) and the verdict tempfail.

scanmsg is found through VR_SCANMSG, else next to VR_BIN_DIR (BIN/../tests/scanmsg, the
layout of build/ and build-asan/); every run must exit 0 with no sanitizer report.
Run inside scripts/netns-run:
  scripts/netns-run /usr/bin/python3 -m pytest -q tests/integration/test_scanners.py
"""

import io
import json
import os
import shlex
import signal
import struct
import subprocess
import time
import zipfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPONENTS = "clamd rspamd"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def scanmsg_path():
    if os.environ.get("VR_SCANMSG"):
        return os.environ["VR_SCANMSG"]
    bindir = os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin"))
    return os.path.join(os.path.dirname(os.path.abspath(bindir)), "tests", "scanmsg")


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = shlex.split(v)[0] if v else ""
    return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.skip("run inside scripts/netns-run")
    if not os.access(scanmsg_path(), os.X_OK):
        pytest.skip("scanmsg not built at %s (tests/unit/filter.cmake)" % scanmsg_path())
    d = tmp_path_factory.mktemp("scanners")
    env = dict(os.environ, VR_STACK_COMPONENTS=COMPONENTS)
    stack_cmd = os.path.join(ROOT, "scripts", "stack")
    up = subprocess.run([stack_cmd, "up", str(d)], env=env, capture_output=True, text=True,
                        timeout=300)
    if up.returncode != 0:
        subprocess.run([stack_cmd, "down", str(d)], env=env, capture_output=True, timeout=120)
        pytest.fail("scripts/stack up failed:\n%s%s" % (up.stdout, up.stderr))
    st = read_env(os.path.join(str(d), "stack.env"))
    st["DIR"] = str(d)
    try:
        yield st
    finally:
        down = subprocess.run([stack_cmd, "down", str(d)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


@pytest.fixture(scope="module")
def msgdir(tmp_path_factory):
    return tmp_path_factory.mktemp("messages")


def scan(stack, msgdir, msg, *extra, clamd="VR_CLAMD_SOCKET", rspamd=True, policy=None):
    """scan - write msg (EmailMessage or bytes) to a file, run scanmsg on it; the JSON"""
    data = msg if isinstance(msg, bytes) else msg.as_bytes()
    path = os.path.join(str(msgdir), "m%d.eml" % time.monotonic_ns())
    with open(path, "wb") as f:
        f.write(data)
    args = [scanmsg_path(), "--timeout", "30000", "--ip", "203.0.113.7",
            "--helo", "mail.example.org"]
    if clamd:
        args += ["--clamd", stack[clamd]]
    if rspamd:
        args += ["--rspamd", stack["VR_RSPAMD_URL"]]
    if policy is not None:
        ppath = path + ".policy.json"
        with open(ppath, "w", encoding="utf-8") as f:
            json.dump(policy, f)
        args += ["--policy", ppath]
    r = subprocess.run(args + list(extra) + [path], capture_output=True, text=True, timeout=90)
    reports = [line for line in r.stderr.splitlines() if any(m in line for m in SANITIZER_MARKS)]
    assert not reports, "sanitizer reports:\n" + r.stderr[-4000:]
    assert r.returncode == 0, "scanmsg exited %d:\n%s" % (r.returncode, r.stderr)
    return json.loads(r.stdout)


def msg(subject, frm="Jean Dupont <jean.dupont@example.org>", to="Alice <alice@corp.test>"):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m["Date"] = formatdate()
    m["Message-ID"] = make_msgid(domain="example.org")
    return m


def with_attachment(subject, data, filename, maintype="application", subtype="octet-stream"):
    m = msg(subject)
    m.set_content("Bonjour,\n\nci-joint le document.\n")
    m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m


def zip_bytes(entries, encrypt=False):
    """a zip of (name, bytes); with encrypt, general purpose bit 0 set in every header"""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)
    raw = bytearray(b.getvalue())
    if encrypt:
        for sig, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            i = raw.find(sig)
            while i >= 0:
                flags = struct.unpack_from("<H", raw, i + at)[0] | 1
                struct.pack_into("<H", raw, i + at, flags)
                i = raw.find(sig, i + 4)
    return bytes(raw)


def findings(res):
    return [(f["reason"], f["name"]) for f in res["attachments"]["findings"]]


# ---- clamd ------------------------------------------------------------------------------

def test_eicar_plain_body(stack, msgdir):
    m = msg("eicar plain")
    m.set_content(EICAR.decode(), cte="7bit")
    res = scan(stack, msgdir, m)
    assert res["clamd"]["status"] == "infected", res["clamd"]
    assert "Eicar" in res["clamd"]["text"]


@pytest.mark.parametrize("transport", ["VR_CLAMD_SOCKET", "VR_CLAMD_TCP"])
def test_eicar_base64_attachment(stack, msgdir, transport):
    m = with_attachment("eicar attachment", EICAR, "eicar.com")
    assert EICAR not in m.as_bytes()  # base64: clamd must decode the MIME itself
    res = scan(stack, msgdir, m, clamd=transport)
    assert res["clamd"]["status"] == "infected", res["clamd"]
    assert ("extension", "eicar.com") in findings(res)


def test_eicar_in_zip(stack, msgdir):
    m = with_attachment("eicar zip", zip_bytes([("docs/eicar.txt", EICAR)]), "docs.zip",
                        subtype="zip")
    res = scan(stack, msgdir, m)
    assert res["clamd"]["status"] == "infected", res["clamd"]
    part = [p for p in res["mime"]["parts"] if p["filename"] == "docs.zip"][0]
    assert [e["name"] for e in part["archive"]["entries"]] == ["docs/eicar.txt"]


def test_clean_message(stack, msgdir):
    m = with_attachment("Réunion", b"%PDF-1.4\n% harmless\n", "ordre du jour.pdf",
                        subtype="pdf")
    res = scan(stack, msgdir, m, "--from", "jean.dupont@example.org", "--rcpt",
               "alice@corp.test")
    assert res["clamd"] == {"status": "clean", "text": ""}
    assert res["attachments"]["total"] == 0
    assert res["mime"]["subject"] == "Réunion"
    assert res["mime"]["from"] == "jean.dupont@example.org"
    assert res["verdict"]["recipients"][0]["action"] == "deliver"


# ---- rspamd -----------------------------------------------------------------------------

def test_gtube_rejects(stack, msgdir):
    m = msg("gtube")
    m.set_content("GTUBE test\n\n" + GTUBE + "\n")
    res = scan(stack, msgdir, m, "--from", "jean.dupont@example.org", "--rcpt",
               "bob@corp.test")
    assert res["rspamd"]["ok"], res["rspamd"]
    assert res["rspamd"]["score"] >= 15, res["rspamd"]
    assert "GTUBE" in res["rspamd"]["symbols"]
    r = res["verdict"]["recipients"][0]
    assert (r["action"], r["category"]) == ("reject", "spam"), r
    assert res["verdict"]["summary"] == "reject"


def test_ham_scores_low(stack, msgdir):
    m = msg("Réunion de jeudi")
    m.set_content("Bonjour Alice,\n\nPeux-tu confirmer la réunion de jeudi à 10h avec l'équipe "
                  "commerciale ?\nJ'apporterai les chiffres du trimestre.\n\nMerci,\nJean\n")
    res = scan(stack, msgdir, m)
    assert res["rspamd"]["ok"], res["rspamd"]
    assert res["rspamd"]["score"] < 5, res["rspamd"]
    assert res["rspamd"]["action"] in ("no action", "add header")
    assert not res["antipub"]["is_newsletter"]


def test_two_recipients_one_allow_lists_the_sender(stack, msgdir):
    m = msg("gtube to two")
    m.set_content(GTUBE + "\n")
    policy = {"lists": {"users": {"alice@corp.test": {"allow": ["example.org"]}}},
              "domains": {"corp.test": {"spam_tag": 5, "spam_quarantine": 8, "spam_reject": 15}}}
    res = scan(stack, msgdir, m, "--from", "jean.dupont@example.org", "--rcpt",
               "alice@corp.test", "--rcpt", "bob@corp.test", policy=policy)
    out = {r["rcpt"]: (r["action"], r["category"]) for r in res["verdict"]["recipients"]}
    assert out == {"alice@corp.test": ("deliver", "clean"), "bob@corp.test": ("reject", "spam")}
    assert res["verdict"]["summary"] == "deliver"


# ---- anti-pub ---------------------------------------------------------------------------

def test_newsletter(stack, msgdir):
    m = msg("Nos offres de la semaine", frm="Boutique Exemple <news@shop.example.com>")
    m["List-Unsubscribe"] = "<mailto:unsub@shop.example.com>, <https://shop.example.com/unsub?u=123>"
    m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m["List-Id"] = "Newsletter Boutique <news.shop.example.com>"
    m["Precedence"] = "bulk"
    m.set_content("Nos offres : https://shop.example.com/promo\n")
    m.add_alternative("<html><body><a href='https://shop.example.com/promo'>Offres</a></body>"
                      "</html>", subtype="html")
    policy = {"newsletter_prefs": {"alice@corp.test": "quarantine"}}
    res = scan(stack, msgdir, m, "--from", "news@shop.example.com", "--rcpt", "alice@corp.test",
               "--rcpt", "bob@corp.test", policy=policy)
    ap = res["antipub"]
    assert ap["is_newsletter"], ap
    assert ap["unsubscribe"] == "https://shop.example.com/unsub?u=123"
    # one-click needs a DKIM signature rspamd verified over both headers (RFC 8058); the
    # stack's rspamd checks no DKIM without DNS
    assert not ap["one_click"]
    assert "rspamd:MAILLIST" in ap["signals"] and "list-id" in ap["signals"], ap
    assert res["rspamd"]["action"] != "reject"
    out = {r["rcpt"]: (r["action"], r["category"]) for r in res["verdict"]["recipients"]}
    assert out == {"alice@corp.test": ("quarantine", "newsletter"),
                   "bob@corp.test": ("deliver", "clean")}


# ---- attachments ------------------------------------------------------------------------

@pytest.mark.parametrize("filename,data,subtype,want", [
    ("setup.exe", b"MZ" + b"\0" * 200, "octet-stream", ("extension", "setup.exe")),
    ("facture.pdf.exe", b"%PDF-1.4\n", "pdf", ("double_extension", "facture.pdf.exe")),
    ("tools.zip", zip_bytes([("readme.txt", b"hi"), ("bin/run.exe", b"MZ")]), "zip",
     ("archive_member", "tools.zip/bin/run.exe")),
    ("private.zip", zip_bytes([("secret.docx", b"x" * 100)], encrypt=True), "zip",
     ("encrypted", "private.zip")),
], ids=["exe", "double-extension", "zip-holding-exe", "encrypted-zip"])
def test_blocked_attachments(stack, msgdir, filename, data, subtype, want):
    m = with_attachment("attachment " + filename, data, filename, subtype=subtype)
    res = scan(stack, msgdir, m, "--from", "jean.dupont@example.org", "--rcpt",
               "alice@corp.test")
    assert want in findings(res), res["attachments"]
    assert res["clamd"]["status"] == "clean", res["clamd"]
    r = res["verdict"]["recipients"][0]
    assert (r["action"], r["category"]) == ("quarantine", "attachment"), r


# ---- scanners down: errors, never clean (keep these last: they stop the stack) ----------

def gone(pid):
    """gone - true once pid has exited; reaps it when it is ours (in the namespace pytest is
    PID 1, the orphans' parent: an unreaped zombie would still answer kill -0)"""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def kill_component(stack, name):
    with open(os.path.join(stack["DIR"], "pids", name), encoding="utf-8") as f:
        pids = [int(p) for p in f.read().split()]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    end = time.time() + 20
    for pid in pids:
        while not gone(pid):
            if time.time() > end:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)


def test_clamd_stopped_is_an_error(stack, msgdir):
    kill_component(stack, "clamd")
    m = msg("after clamd")
    m.set_content(EICAR.decode(), cte="7bit")
    for transport in ("VR_CLAMD_SOCKET", "VR_CLAMD_TCP"):
        res = scan(stack, msgdir, m, "--from", "boss@partner.test", "--rcpt", "alice@corp.test",
                   clamd=transport, policy={"lists": {"global": {"allow": ["partner.test"]}}})
        assert res["clamd"]["status"] == "error", res["clamd"]
        assert res["clamd"]["text"], res["clamd"]
        r = res["verdict"]["recipients"][0]
        assert (r["action"], r["category"]) == ("tempfail", "virus"), r
        assert res["verdict"]["summary"] == "tempfail"


def test_rspamd_stopped_is_an_error(stack, msgdir):
    kill_component(stack, "rspamd")
    m = msg("after rspamd")
    m.set_content("hello\n")
    res = scan(stack, msgdir, m, "--from", "jean.dupont@example.org", "--rcpt", "alice@corp.test",
               "--rcpt", "dave@open.test", clamd=None,
               policy={"domains": {"corp.test": {}, "open.test": {"fail_open_spam": True}}})
    assert res["rspamd"]["ok"] is False, res["rspamd"]
    assert res["rspamd"]["error"]
    out = {r["rcpt"]: (r["action"], r["category"]) for r in res["verdict"]["recipients"]}
    assert out == {"alice@corp.test": ("tempfail", "spam"), "dave@open.test": ("deliver", "clean")}
    assert res["verdict"]["summary"] == "tempfail"
