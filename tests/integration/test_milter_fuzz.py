"""test_milter_fuzz - malformed mail through the real filter: Postfix's inbound listener ->
vr-agent's milter -> clamd, rspamd, GMime, the zip lister, anti-pub -> delivery or
quarantine.

A generator makes FUZZ_COUNT (>= 300) messages from a fixed seed (VR_FUZZ_SEED overrides
it; printed): truncated MIME, bad or missing boundaries, deep and wide nested multiparts,
message/rfc822 inside message/rfc822, NUL bytes, 8-bit and broken encoded-word headers,
huge header lines and many headers, broken base64 and quoted-printable, zip-like garbage
attachments (truncated, bogus central directory, nested zips), bare CR and LF line ends,
and random byte mutations (flips, inserts, deletes, splices) of well-formed seed messages.
Each message has its own envelope sender (fz.TOKEN@example.org), which no mutation
touches: that is how it is found afterwards.

Checks: every SMTP transaction ends with a definite answer (2xx, 4xx or 5xx; no hang, no
dropped connection); the agent process is alive at the end and still filters ordinary
mail; its log (VR_AGENT_LOG) holds no AddressSanitizer, LeakSanitizer or UBSan ("runtime
error:") report, after the stack's SIGTERM too; every accepted message (250, its queue id
from the reply) has its tracking record, and each recipient is where the record says:
delivered or tagged -> in the internal server's store (X-Mailsink-From is the message's
envelope sender), quarantined -> held by apid. A failing message is written to the stack
directory (fuzz-NNN.eml) for replay.

Run against the sanitizer build, inside scripts/netns-run:
  VR_BIN_DIR=$PWD/build-asan/bin scripts/netns-run /usr/bin/python3 -m pytest -q \\
      -p no:cacheprovider tests/integration/test_milter_fuzz.py
"""

import base64
import glob
import io
import os
import random
import re
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import zipfile

import pytest

import vrapi
from test_filter import EICAR, GTUBE, _gone, _pids, _sanitizer_reports, login

ROOT = vrapi.ROOT
STACK = os.path.join(ROOT, "scripts", "stack")
COMPONENTS = "mailsink clamd rspamd apid postfix agent"
ALICE, BOB = "alice@corp.test", "bob@corp.test"
FUZZ_COUNT = int(os.environ.get("VR_FUZZ_COUNT", "320"))
SEED = int(os.environ.get("VR_FUZZ_SEED", "20261128"))
CLIENTS = 4
SMTP_TIMEOUT = 180  # seconds for one reply: beyond, the transaction hangs
QUEUED_AS = re.compile(r"queued as ([A-Za-z0-9]+)")


# ---- the stack ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zstack(request):
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.exit("run the integration tests inside scripts/netns-run", returncode=2)
    d = tempfile.mkdtemp(prefix="vr-fuzz-")
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
    with open(os.path.join(st.bin, "vr-agent"), "rb") as f:
        st.asan = b"__asan_init" in f.read()
    if not st.asan:
        print("note: %s/vr-agent is not a sanitizer build (use VR_BIN_DIR=build-asan/bin)"
              % st.bin)
    yield st
    down = subprocess.run([STACK, "down", d], env=env, capture_output=True, text=True,
                          timeout=180)
    assert down.returncode == 0, down.stdout + down.stderr
    reports = _sanitizer_reports(st["VR_AGENT_LOG"])
    assert not reports, "sanitizer reports in the agent's log:\n" + "\n".join(reports[:60])
    with open(st["VR_AGENT_LOG"], encoding="utf-8", errors="replace") as f:
        assert "milter stopped" in f.read()  # SIGTERM stopped the milter cleanly
    if request.session.testsfailed == failed_before:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def zadmin(zstack, spec, coverage):
    api = vrapi.Api(zstack.api_url, spec, coverage)
    return login(api, zstack.admin_user, zstack.admin_password)


# ---- the generator --------------------------------------------------------------------

def _zip(entries, method=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()


def _b64(data, width=76):
    s = base64.b64encode(data)
    return b"\r\n".join(s[i:i + width] for i in range(0, len(s), width))


def _headers(tok, subject=None, extra=b""):
    subject = subject if subject is not None else b"fuzz " + tok
    return (b"From: Fuzz <fz." + tok + b"@example.org>\r\nTo: alice@corp.test\r\n"
            b"Subject: " + subject + b"\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            b"Message-ID: <" + tok + b"@fuzz.example.org>\r\n" + extra)


def seeds(r, tok):
    """seeds - well-formed messages that the mutations start from"""
    text = b"Bonjour,\r\n\r\nVoici le rapport " + tok + b".\r\n"
    zip_ok = _zip([("rapport.txt", b"x" * 2000), ("docs/readme.md", b"# readme\n")])
    out = [
        _headers(tok) + b"\r\n" + text,
        _headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                 b"boundary=\"b1\"\r\n") + b"\r\n--b1\r\nContent-Type: text/plain; "
        b"charset=utf-8\r\n\r\n" + text + b"--b1\r\nContent-Type: application/zip; "
        b"name=\"r.zip\"\r\nContent-Disposition: attachment; filename=\"r.zip\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64(zip_ok) + b"\r\n--b1--\r\n",
        _headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; "
                 b"boundary=alt\r\n") + b"\r\n--alt\r\nContent-Type: text/plain\r\n\r\n" +
        text + b"--alt\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: "
        b"quoted-printable\r\n\r\n<p>Bonjour =C3=A9 <a href=3D\"https://shop.example.com/"
        b"u\">lien</a></p>\r\n--alt--\r\n",
        _headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                 b"boundary=outer\r\nList-Unsubscribe: <https://shop.example.com/u>\r\n"
                 b"List-Id: <news.shop.example.com>\r\nPrecedence: bulk\r\n") +
        b"\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\n" + _headers(tok) +
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n"
        b"--inner\r\nContent-Type: text/plain\r\n\r\n" + text + b"--inner\r\nContent-Type: "
        b"application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(bytes(r.getrandbits(8) for _ in range(600))) + b"\r\n--inner--\r\n--outer--\r\n",
    ]
    return out


def _mutate_bytes(r, data, n):
    b = bytearray(data)
    for _ in range(n):
        op = r.randrange(5)
        pos = r.randrange(len(b)) if b else 0
        if op == 0 and b:
            b[pos] ^= 1 << r.randrange(8)
        elif op == 1:
            b[pos:pos] = bytes(r.getrandbits(8) for _ in range(r.randint(1, 8)))
        elif op == 2 and b:
            del b[pos:pos + r.randint(1, 16)]
        elif op == 3:
            b[pos:pos] = r.choice([b"\r\n--b1\r\n", b"\r\n--b1--\r\n", b"\0", b"\r", b"\n",
                                   b"=?utf-8?B?", b"\r\n\r\n", b"--", b";boundary=\"\"",
                                   b"PK\x03\x04", b"begin 644 x\r\n"])
        elif b:
            # splice: copy a piece of the message elsewhere
            a = r.randrange(len(b))
            piece = b[a:a + r.randint(1, 200)]
            b[pos:pos] = piece
    return bytes(b)


def _nested(depth, tok, kind="multipart"):
    if kind == "rfc822":
        inner = _headers(tok) + b"\r\nfond " + tok + b"\r\n"
        for i in range(depth):
            inner = (_headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: "
                              b"message/rfc822\r\n") + b"\r\n" + inner)
        return inner
    body = b"feuille " + tok + b"\r\n"
    for i in range(depth, 0, -1):
        bnd = b"n%d" % i
        body = (b"Content-Type: multipart/mixed; boundary=" + bnd + b"\r\n\r\n--" + bnd +
                b"\r\n" + body + b"\r\n--" + bnd + b"--\r\n")
    return _headers(tok, extra=b"MIME-Version: 1.0\r\n") + body


def _attachment_msg(tok, payload, name=b"x.zip", ctype=b"application/zip", cte=b"base64",
                    encoded=None):
    enc = encoded if encoded is not None else (_b64(payload) if cte == b"base64" else payload)
    return (_headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                     b"boundary=zz\r\n") + b"\r\n--zz\r\nContent-Type: text/plain\r\n\r\n"
            b"ci-joint " + tok + b"\r\n--zz\r\nContent-Type: " + ctype + b"; name=\"" + name +
            b"\"\r\nContent-Disposition: attachment; filename=\"" + name + b"\"\r\n"
            b"Content-Transfer-Encoding: " + cte + b"\r\n\r\n" + enc + b"\r\n--zz--\r\n")


def _zip_garbage(r):
    ok = _zip([("a.txt", b"a" * 3000), ("b/c.exe", b"MZ" + b"\0" * 100)])
    choice = r.randrange(7)
    if choice == 0:
        return ok[:r.randrange(10, len(ok))]  # truncated
    if choice == 1:  # bogus central directory: sizes and offsets garbled
        b = bytearray(ok)
        cd = b.find(b"PK\x01\x02")
        for k in range(cd + 16, min(cd + 46, len(b))):
            b[k] = r.getrandbits(8)
        return bytes(b)
    if choice == 2:  # end of central directory claims 65535 entries
        b = bytearray(ok)
        eocd = b.rfind(b"PK\x05\x06")
        b[eocd + 8:eocd + 12] = b"\xff\xff\xff\xff"
        return bytes(b)
    if choice == 3:  # nested zips
        z = _zip([("eicar.com", EICAR if r.random() < 0.3 else b"inner")])
        for i in range(r.randint(2, 12)):
            z = _zip([("level%d.zip" % i, z)], zipfile.ZIP_STORED)
        return z
    if choice == 4:  # signatures and noise
        return b"PK\x03\x04" + bytes(r.getrandbits(8) for _ in range(r.randint(0, 4000)))
    if choice == 5:  # huge file name, encrypted flag, stored sizes lying
        b = bytearray(_zip([("n" * 2000 + ".txt", b"data")], zipfile.ZIP_STORED))
        b[6] |= 1
        return bytes(b)
    return _mutate_bytes(r, ok, r.randint(1, 30))


def generate(r, i, tok):
    """generate - message i (bytes) and what it exercises"""
    kind = i % 16
    base = r.choice(seeds(r, tok))
    if kind == 0:
        return "truncated", base[:r.randrange(len(base) // 3, len(base))]
    if kind == 1:
        bad = r.choice([b"", b"\"\"", b"x" * 200, b"\"a b\"; boundary=second", b"\"--\"",
                        b"b1\"", b"=?utf-8?Q?x?="])
        return "boundary", base.replace(b"boundary=\"b1\"", b"boundary=" + bad).replace(
            b"boundary=alt", b"boundary=" + bad).replace(b"boundary=outer", b"boundary=" + bad)
    if kind == 2:
        depth = r.choice([5, 40, 99, 101, 150, 400])
        return "nested-%d" % depth, _nested(depth, tok)
    if kind == 3:
        depth = r.choice([3, 10, 30, 120])
        return "rfc822-%d" % depth, _nested(depth, tok, "rfc822")
    if kind == 4:
        pos = r.randrange(len(base))
        return "nul", base[:pos] + b"\0" * r.randint(1, 20) + base[pos:]
    if kind == 5:
        subj = r.choice([b"caf\xe9 " + tok, b"\xff\xfe\x00\x01 " + tok,
                         b"=?utf-8?B?####?= " + tok, b"=?bogus?Q?=FF=FE?= " + tok,
                         b"=?utf-8?Q?" + b"=E9" * 500 + b"?= " + tok, b"\xc3\x28\xa0\xa1 " + tok])
        extra = b"X-8bit: " + bytes(r.getrandbits(8) | 0x80 for _ in range(300)) + b"\r\n"
        extra += b"From: =?utf-8?B?w6k=?= <\xe9l\xe8ve@exa\xefmple.org>\r\n"
        return "8bit-headers", _headers(tok, subject=subj, extra=extra) + b"\r\nbody\r\n"
    if kind == 6:
        n = r.choice([990, 2000, 10000, 60000, 120000])
        extra = b"X-Long: " + b"mot " * (n // 4) + b"\r\n"
        if r.random() < 0.5:
            extra += b"".join(b"X-Many-%d: v\r\n" % k for k in range(r.choice([500, 3000])))
        if r.random() < 0.3:
            extra += b"Subject: " + b"s" * 5000 + b"\r\n"
        return "huge-headers", _headers(tok, extra=extra) + b"\r\nbody\r\n"
    if kind == 7:
        enc = r.choice([b"!!!not base64!!!\r\n" * 10, _b64(b"x" * 500)[:-3],
                        b"QUJD=RE\r\nVG===\r\n" + b"=" * 100, b"\x00\xff" * 100,
                        _b64(EICAR)[:20], b"====\r\n"])
        return "bad-base64", _attachment_msg(tok, b"", name=b"doc.pdf",
                                             ctype=b"application/pdf", encoded=enc)
    if kind == 8:
        payload = _zip_garbage(r)
        return "zip-garbage", _attachment_msg(
            tok, payload, name=r.choice([b"x.zip", b"x.docx", b"x.jar", b"noext"]))
    if kind == 9:
        qp = r.choice([b"=\r\n=4=5=ZZ=\r\n", b"=" * 300, b"abc=E9=\r\n" * 50 + b"=F"])
        return "bad-qp", (_headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain;"
                                   b" charset=bogus-42\r\nContent-Transfer-Encoding: "
                                   b"quoted-printable\r\n") + b"\r\n" + qp + b"\r\n")
    if kind == 10:
        data = base.replace(b"\r\n", r.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"]))
        return "line-ends", data
    if kind == 11:
        wide = b"".join(b"--w\r\nContent-Type: text/plain; name=p%d.txt\r\n\r\npart %d\r\n"
                        % (k, k) for k in range(r.choice([50, 500, 2000])))
        return "wide", (_headers(tok, extra=b"MIME-Version: 1.0\r\nContent-Type: "
                                 b"multipart/mixed; boundary=w\r\n") + b"\r\n" + wide +
                        r.choice([b"--w--\r\n", b""]))
    if kind == 12:
        hdr = r.choice([b"NoColonHeader\r\n", b" leading continuation\r\n", b": empty name\r\n",
                        b"Content-Type: multipart/mixed\r\n", b"Content-Type: ;;;;\r\n",
                        b"Content-Type: text/plain; charset=\"\r\n",
                        b"Content-Transfer-Encoding: x-uuencode\r\n",
                        b"MIME-Version: 999.0\r\nContent-Type: application/ms-tnef\r\n"])
        body = r.choice([b"begin 644 x.exe\r\nM35H``\r\n`\r\nend\r\n", b"\r\n", b"",
                         b"." * 1000 + b"\r\n", EICAR + b"\r\n", GTUBE.encode() + b"\r\n"])
        return "odd-header", _headers(tok, extra=hdr) + b"\r\n" + body
    if kind == 13 and r.random() < 0.25:
        # past the milter's 1 MiB in memory: spilled to its anonymous file
        return "big", (_attachment_msg(tok, bytes(r.getrandbits(8) for _ in range(800 * 1024)),
                                       name=b"big.bin", ctype=b"application/octet-stream"))
    if kind == 14:
        return "no-body", _headers(tok)[:r.randrange(10, len(_headers(tok)))]
    return "mutated", _mutate_bytes(r, base, r.randint(1, 60))


# ---- sending --------------------------------------------------------------------------

class Case:
    def __init__(self, i, kind, raw, tok):
        self.i, self.kind, self.raw = i, kind, raw
        self.sender = "fz.%s@example.org" % tok.decode()
        self.rcpts = [ALICE] if i % 5 else [ALICE, BOB]
        self.codes = None  # MAIL, RCPT, DATA
        self.text = ""
        self.queue_id = None
        self.error = None


def transact(st, c):
    host, port = st["VR_SMTP_IN"].rsplit(":", 1)
    codes = [None, None, None]
    t0 = time.time()
    try:
        s = smtplib.SMTP(host, int(port), timeout=SMTP_TIMEOUT)
        try:
            s.ehlo("fuzz.example.org")
            codes[0] = s.mail(c.sender)[0]
            if codes[0] == 250:
                ok = 0
                for rc in c.rcpts:
                    code = s.rcpt(rc)[0]
                    ok += code == 250
                codes[1] = 250 if ok else code
            if codes[1] == 250:
                code, text = s.data(c.raw)
                codes[2] = code
                c.text = text.decode(errors="replace")
                m = QUEUED_AS.search(c.text)
                if code == 250 and m:
                    c.queue_id = m.group(1)
        except smtplib.SMTPResponseException as e:
            codes[codes.index(None)] = e.smtp_code
            c.text = e.smtp_error.decode(errors="replace") if isinstance(
                e.smtp_error, bytes) else str(e.smtp_error)
        finally:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass
    except (OSError, smtplib.SMTPException) as e:
        c.error = "%s after %.1f s" % (e, time.time() - t0)
    c.codes = codes


def final_code(c):
    done = [x for x in c.codes if x is not None]
    return done[-1] if done else None


def send_all(st, cases):
    todo = list(cases)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                c = todo.pop(0)
            transact(st, c)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _tracking(admin):
    out, cursor = {}, None
    while True:
        params = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        r = admin.get("/api/v1/messages", params=params)
        assert r.status == 200, r
        for item in r.json["items"]:
            out.setdefault(item["queue_id"], []).append(item)
        cursor = r.json.get("next_cursor")
        if not cursor:
            return out


def _store(st):
    """{envelope sender: [recipients of each copy]}; a copy without the milter's
    X-VR-Verdict header counts as recipient "unfiltered" """
    out = {}
    for path in glob.glob(os.path.join(st["VR_MAILBOX_DIR"], "*.eml")):
        with open(path, "rb") as f:
            data = f.read()
        m = re.search(rb"^X-Mailsink-From: *(\S+)\r?$", data[:4096], re.M)
        if m:
            rc = sorted(x.decode() for x in
                        re.findall(rb"^X-Mailsink-Rcpt: *(\S+)\r?$", data[:4096], re.M))
            if not re.search(rb"^X-VR-Verdict: ", data, re.M | re.I):
                rc.append("unfiltered")
            out.setdefault(m.group(1).decode(), []).append(rc)
    return out


def whereabouts(admin, c, tracking, store):
    """whereabouts - what is wrong with where accepted message c ended up (empty: nothing)"""
    recs = tracking.get(c.queue_id, [])
    if len(recs) != 1:
        return ["%d tracking records for %s" % (len(recs), c.queue_id)]
    acts = {x["address"]: x for x in recs[0]["recipients"]}
    if sorted(acts) != sorted(c.rcpts):
        return ["tracked recipients %r" % sorted(acts)]
    out = []
    delivered = [x for x in c.rcpts if acts[x]["action"] in ("deliver", "tag")]
    held = [x for x in c.rcpts if acts[x]["action"] == "quarantine"]
    other = [(x, acts[x]["action"]) for x in c.rcpts if x not in delivered and x not in held]
    if other:
        out.append("accepted, yet %r" % other)
    copies = store.get(c.sender, [])
    if sorted(sum(copies, [])) != sorted(delivered) or len(copies) > 1:
        out.append("should be delivered to %r, stored %r" % (delivered, copies))
    for x in held:
        q = acts[x].get("quarantine_id")
        got = admin.get("/api/v1/quarantine/%s" % q) if q else None
        if got is None or got.status != 200:
            out.append("%s held as %r: %r" % (x, q, got))
    return out


# ---- the test -------------------------------------------------------------------------

def test_malformed_mail_gets_definite_answers_and_lands_somewhere(zstack, zadmin):
    st = zstack
    assert FUZZ_COUNT >= 300 or os.environ.get("VR_FUZZ_COUNT")
    r = random.Random(SEED)
    cases = []
    for i in range(FUZZ_COUNT):
        tok = b"%04d%08x" % (i, r.getrandbits(32))
        kind, raw = generate(r, i, tok)
        cases.append(Case(i, kind, raw, tok))
    print("fuzz seed %d: %d messages, %.1f MB" % (
        SEED, len(cases), sum(len(c.raw) for c in cases) / 1e6))
    agent_pids = [p for p in _pids(st.dir, "agent") if not _gone(p)]
    assert agent_pids
    t0 = time.time()
    send_all(st, cases)
    took = time.time() - t0

    def keep(c, why):
        path = os.path.join(st.dir, "fuzz-%03d.eml" % c.i)
        with open(path, "wb") as f:
            f.write(c.raw)
        return "#%d %s (%s) codes=%s %s: %s -> %s" % (
            c.i, c.kind, c.sender, c.codes, c.text[:120], why, path)

    problems = [keep(c, c.error) for c in cases if c.error]
    problems += [keep(c, "no definite answer") for c in cases
                 if not c.error and not (final_code(c) and 200 <= final_code(c) < 600)]
    problems += [keep(c, "250 without a queue id") for c in cases
                 if final_code(c) == 250 and not c.queue_id]
    assert not problems, "\n".join(problems[:40])
    by_code = {}
    for c in cases:
        key = "%dxx" % (final_code(c) // 100)
        by_code.setdefault(key, {}).setdefault(c.kind, 0)
        by_code[key][c.kind] += 1
    print("answers in %.1f s: %r" % (took, by_code))

    # the agent survived everything
    assert all(not _gone(p) for p in agent_pids), "the agent died"
    reports = _sanitizer_reports(st["VR_AGENT_LOG"])
    assert not reports, "\n".join(reports[:60])

    # each accepted message is where its tracking record says
    accepted = [c for c in cases if c.queue_id]
    assert len(accepted) >= len(cases) // 2, by_code
    end = time.time() + 60
    while True:
        tracking, store = _tracking(zadmin), _store(st)
        problems = [(c, why) for c in accepted for why in whereabouts(zadmin, c, tracking, store)]
        if not problems or time.time() > end:
            break
        time.sleep(1)
    assert not problems, "\n".join(keep(c, why) for c, why in problems[:40])
    actions = {}
    for c in accepted:
        for x in tracking[c.queue_id][0]["recipients"]:
            k = "%s/%s" % (x["action"], x["category"])
            actions[k] = actions.get(k, 0) + 1
    print("outcomes of the accepted messages: %r" % actions)

    # and still filters ordinary mail
    ok = Case(9999, "plain", _headers(b"after0fuzz") + b"\r\nBonjour\r\n", b"after0fuzz")
    transact(st, ok)
    assert final_code(ok) == 250, (ok.codes, ok.text, ok.error)
