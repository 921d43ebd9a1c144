#!/bin/sh
# test_mail_components.sh - smoke test of the stack components mailsink, clamd and rspamd.
#
# Starts the three components with scripts/stack in a temporary DIR inside a loopback-only
# network namespace (scripts/netns-run), checks what each one must do, stops everything by PID
# and checks that nothing is left. Prints one line per check, then "N passed, N failed";
# exits non-zero on any failure. VR_KEEP=1 keeps the DIR; VR_RSPAMD_CACHE is honoured.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${VR_IN_NETNS:-}" != 1 ]; then
	exec "$ROOT/scripts/netns-run" "$0" "$@"
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/vrgate-mailcomp.XXXXXX")
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
ko() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
check() { # check NAME COMMAND... - ok when COMMAND succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
finish() {
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -eq 0 ] && [ "${VR_KEEP:-0}" != 1 ]; then rm -rf "$DIR"; else echo "(state kept in $DIR)"; fi
	[ "$FAILED" -eq 0 ]
	exit $?
}
stopped=0
cleanup() {
	[ "$stopped" = 1 ] || VR_STACK_COMPONENTS="mailsink clamd rspamd" "$ROOT/scripts/stack" down "$DIR" >/dev/null 2>&1
}
trap cleanup EXIT INT TERM

# --- start ----------------------------------------------------------------------------
t0=$(date +%s.%N)
if VR_STACK_COMPONENTS="mailsink clamd rspamd" "$ROOT/scripts/stack" up "$DIR" >"$DIR/up.out" 2>&1; then
	ok "stack up mailsink clamd rspamd ($(/usr/bin/python3 -c "import time;print('%.1f s'%(time.time()-$t0))"))"
else
	ko "stack up mailsink clamd rspamd"
	sed 's/^/    /' "$DIR/up.out"
	finish
fi
set -a
. "$DIR/stack.env"
set +a

missing=""
for v in VR_INTERNAL_SMTP VR_MAILBOX_DIR VR_INTERNET_SMTP VR_INTERNET_DIR VR_DOMAIN VR_MAILBOXES \
	VR_CLAMD_SOCKET VR_CLAMD_TCP VR_RSPAMD_URL VR_RSPAMD_CONTROLLER_URL VR_RSPAMD_PASSWORD; do
	eval "val=\${$v:-}"
	[ -n "$val" ] || missing="$missing $v"
done
check "stack.env offers every variable${missing:+ (missing:$missing)}" [ -z "$missing" ]

# every listening socket of the namespace (only ours: it is private) is on loopback
bad=$(ss -ltnH 2>/dev/null | awk '{print $4}' | grep -v -E '^(127\.[0-9.]+|\[::1\]):[0-9]+$' || true)
check "all TCP listeners on loopback${bad:+ (not: $bad)}" [ -z "$bad" ]

# --- the checks that talk SMTP, clamd and HTTP -------------------------------------------
cat >"$DIR/checks.py" <<'PY'
import io, json, os, smtplib, socket, struct, subprocess, sys, time, urllib.error, urllib.request, zipfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

env = os.environ
results = []
def check(name, cond, detail=""):
    print(("ok - " if cond else "FAIL - ") + name + ("" if cond or not detail else ": " + str(detail)))
    sys.stdout.flush()

def hp(v):
    h, p = v.rsplit(":", 1); return h, int(p)

def emls(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".eml"))

def msg(subject, frm="Jean Dupont <jean.dupont@example.org>", to="Alice <alice@corp.test>"):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m["Date"] = formatdate(); m["Message-ID"] = make_msgid(domain="example.org")
    return m

def send(server, rcpts, m, sender="jean.dupont@example.org"):
    """returns (refused dict, exception or None)"""
    try:
        with smtplib.SMTP(*hp(server), timeout=10) as s:
            refused = s.send_message(m, from_addr=sender, to_addrs=rcpts)
        return refused, None
    except Exception as e:
        return None, e

def wait_count(d, n, secs=5):
    end = time.time() + secs
    while time.time() < end and len(emls(d)) < n:
        time.sleep(0.05)
    return emls(d)

def ctl(*args):
    return subprocess.run([env["VR_MAILSINK_CTL"], args[0], env["VR_STACK_DIR"]] + list(args[1:]),
                          capture_output=True, text=True, timeout=60)

# ---- mailsink: internal server
mbox, inet = env["VR_MAILBOX_DIR"], env["VR_INTERNET_DIR"]
check("VR_DOMAIN is corp.test", env["VR_DOMAIN"] == "corp.test")
mb = env["VR_MAILBOXES"].split()
check("VR_MAILBOXES has the demo list", all(a in mb for a in
      ["postmaster@corp.test", "alice@corp.test", "olivia.alias@corp.test", "test5@corp.test"]), mb)

before = emls(mbox)
m = msg("mailsink-two-rcpts"); m.set_content("Bonjour,\n.leading dot line\nfin\n")
refused, err = send(env["VR_INTERNAL_SMTP"], ["alice@corp.test", "bob@corp.test"], m)
files = wait_count(mbox, len(before) + 1)
new = [f for f in files if f not in before]
check("internal: known mailboxes accepted", err is None and not refused, err or refused)
check("internal: one message to two recipients -> exactly one file", len(new) == 1, new)
if new:
    data = open(os.path.join(mbox, new[0]), "rb").read()
    rc = [l.split(b": ", 1)[1] for l in data.split(b"\n\n", 1)[0].split(b"\n") if l.startswith(b"X-Mailsink-Rcpt:")]
    check("internal: file lists both envelope recipients", rc == [b"alice@corp.test", b"bob@corp.test"], rc)
    check("internal: file has X-Mailsink-From and the body (dot-unstuffed)",
          b"X-Mailsink-From: jean.dupont@example.org\n" in data and b"\n.leading dot line\n" in data)
check("internal: no temporary file left", os.listdir(os.path.join(mbox, ".tmp")) == [])

before = emls(mbox)
m = msg("mailsink-unknown", to="nobody@corp.test"); m.set_content("x\n")
try:
    with smtplib.SMTP(*hp(env["VR_INTERNAL_SMTP"]), timeout=10) as s:
        s.ehlo(); s.mail("jean.dupont@example.org")
        code, text = s.rcpt("nobody@corp.test")
except Exception as e:
    code, text = 0, str(e).encode()
check("internal: unknown recipient -> 550 5.1.1 User unknown",
      code == 550 and text == b"5.1.1 <nobody@corp.test>: Recipient address rejected: User unknown",
      (code, text))
refused, err = send(env["VR_INTERNAL_SMTP"], ["alice@corp.test", "nobody@corp.test"], msg("mixed"))
files = wait_count(mbox, len(before) + 1)
check("internal: mixed recipients -> stored once for the known one only",
      err is None and list(refused) == ["nobody@corp.test"] and len(files) == len(before) + 1
      and b"X-Mailsink-Rcpt: nobody" not in open(os.path.join(mbox, files[-1]), "rb").read(),
      (err, refused))

# ---- mailsink: internet stand-in
before = emls(inet)
m = msg("to-the-internet", frm="alice@corp.test", to="someone@example.net"); m.set_content("hi\n")
refused, err = send(env["VR_INTERNET_SMTP"], ["someone@example.net", "x@other.example"], m, "alice@corp.test")
files = wait_count(inet, len(before) + 1)
check("internet: any recipient accepted, one file", err is None and not refused
      and len(files) == len(before) + 1, (err, refused, files))

# ---- mailsink: internal server down and back, tempfail switch
r = ctl("stop-internal")
_, err = send(env["VR_INTERNAL_SMTP"], ["alice@corp.test"], msg("while-down"))
check("stop-internal: port refuses connections", r.returncode == 0 and isinstance(err, ConnectionRefusedError), (r.stderr, err))
before = emls(mbox)
r = ctl("start-internal")
refused, err = send(env["VR_INTERNAL_SMTP"], ["alice@corp.test"], msg("after-restart"))
check("start-internal: same port accepts and stores again", r.returncode == 0 and err is None
      and len(wait_count(mbox, len(before) + 1)) == len(before) + 1, (r.stderr, err))
ctl("tempfail-internal")
refused, err = send(env["VR_INTERNAL_SMTP"], ["alice@corp.test"], msg("tempfail"))
tf = isinstance(err, smtplib.SMTPRecipientsRefused) and err.recipients["alice@corp.test"][0] == 451
ctl("tempfail-internal", "off")
refused2, err2 = send(env["VR_INTERNAL_SMTP"], ["alice@corp.test"], msg("tempfail-off"))
check("tempfail-internal: RCPT 451 while on, 250 when off", tf and err2 is None, (err, err2))

# ---- clamd
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
def instream(target, data):
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX); s.connect(target)
    else:
        s = socket.create_connection(hp(target))
    s.settimeout(30)
    s.sendall(b"zINSTREAM\0")
    for i in range(0, len(data), 65536):
        c = data[i:i + 65536]; s.sendall(struct.pack("!I", len(c)) + c)
    s.sendall(struct.pack("!I", 0))
    r = b""
    while not r.endswith(b"\0"):
        d = s.recv(4096)
        if not d: break
        r += d
    s.close()
    return r.rstrip(b"\0").decode()

m_plain = msg("eicar plain"); m_plain.set_content(EICAR.decode(), cte="7bit")
m_att = msg("eicar attachment"); m_att.set_content("see attachment\n")
m_att.add_attachment(EICAR, maintype="application", subtype="octet-stream", filename="eicar.com")
zb = io.BytesIO()
with zipfile.ZipFile(zb, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("docs/eicar.com", EICAR)
m_zip = msg("eicar zip"); m_zip.set_content("zip attached\n")
m_zip.add_attachment(zb.getvalue(), maintype="application", subtype="zip", filename="docs.zip")
m_clean = msg("clean"); m_clean.set_content("Bonjour, réunion jeudi ?\n")
m_clean.add_attachment(b"%PDF-1.4\n% harmless\n", maintype="application", subtype="pdf", filename="a.pdf")
assert b"base64" in m_att.as_bytes() and EICAR not in m_att.as_bytes() and EICAR not in m_zip.as_bytes()
for label, target in (("unix socket", env["VR_CLAMD_SOCKET"]), ("tcp", env["VR_CLAMD_TCP"])):
    for what, m in (("plain body", m_plain), ("base64 attachment", m_att), ("zip in attachment", m_zip)):
        try:
            r = instream(target, m.as_bytes())
        except Exception as e:
            r = repr(e)
        check("clamd (%s): EICAR as %s found" % (label, what), r.endswith("FOUND") and "Eicar" in r, r)
    try:
        r = instream(target, m_clean.as_bytes())
    except Exception as e:
        r = repr(e)
    check("clamd (%s): clean message OK" % label, r == "stream: OK", r)

# ---- rspamd
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def scan(m, qid):
    req = urllib.request.Request(env["VR_RSPAMD_URL"] + "/checkv2", data=m.as_bytes(), headers={
        "IP": "203.0.113.7", "Helo": "mail.example.org", "Hostname": "mail.example.org",
        "From": "jean.dupont@example.org", "Rcpt": "alice@corp.test", "Queue-Id": qid})
    return json.load(opener.open(req, timeout=20))
def summary(r):
    return "%s %.2f %s" % (r["action"], r["score"], " ".join(
        "%s(%.2f)" % (k, v["score"]) for k, v in sorted(r["symbols"].items())))

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
gt = msg("gtube"); gt.set_content("GTUBE test\n\n" + GTUBE + "\n")
ham = msg("Réunion de jeudi")
ham.set_content("Bonjour Alice,\n\nPeux-tu confirmer la réunion de jeudi à 10h avec l'équipe "
                "commerciale ?\nJ'apporterai les chiffres du trimestre.\n\nMerci,\nJean\n")
nl = msg("Nos offres de la semaine", frm="Boutique Exemple <news@shop.example.com>")
nl["List-Unsubscribe"] = "<https://shop.example.com/unsub?u=123>, <mailto:unsub@shop.example.com>"
nl["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
nl["List-Id"] = "Newsletter Boutique <news.shop.example.com>"
nl["Precedence"] = "bulk"
nl.set_content("Nos offres : https://shop.example.com/promo\n\nSe desabonner : https://shop.example.com/unsub?u=123\n")
nl.add_alternative("<html><body><p><a href='https://shop.example.com/promo'>Offres</a></p>"
                   "<p><a href='https://shop.example.com/unsub?u=123'>Se desabonner</a></p></body></html>",
                   subtype="html")
try:
    r = scan(gt, "gtube"); print("    gtube: " + summary(r))
    check("rspamd: GTUBE -> reject", r["action"] == "reject" and "GTUBE" in r["symbols"], summary(r))
    r = scan(ham, "ham"); print("    ham: " + summary(r))
    check("rspamd: ham -> not reject", r["action"] in ("no action", "add header"), summary(r))
    r = scan(nl, "newsletter"); print("    newsletter: " + summary(r))
    bulk = [s for s in ("MAILLIST", "HAS_LIST_UNSUB", "PRECEDENCE_BULK") if s in r["symbols"]]
    check("rspamd: newsletter -> bulk symbols (%s), not reject" % ",".join(bulk),
          len(bulk) == 3 and r["action"] != "reject", summary(r))
except Exception as e:
    check("rspamd: /checkv2 scans", False, repr(e))

def ctrl(path, password):
    h = {"Password": password} if password is not None else {}
    try:
        with opener.open(urllib.request.Request(env["VR_RSPAMD_CONTROLLER_URL"] + path, headers=h), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:
        return repr(e)
a, b, c = ctrl("/stat", env["VR_RSPAMD_PASSWORD"]), ctrl("/stat", "wrong"), ctrl("/stat", None)
check("rspamd controller: password required (right 200, wrong/none refused)",
      a == 200 and b in (401, 403) and c in (401, 403), (a, b, c))
PY
VR_STACK_DIR=$DIR /usr/bin/python3 "$DIR/checks.py" >"$DIR/checks.out" 2>&1
pyrc=$?
cat "$DIR/checks.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$DIR/checks.out")))
FAILED=$((FAILED + $(grep -c '^FAIL - ' "$DIR/checks.out")))
[ "$pyrc" -eq 0 ] || ko "checks.py exited with $pyrc"

# --- stop by PID, nothing left -------------------------------------------------------------
pids=$(cat "$DIR"/pids/* 2>/dev/null)
kids=""
for p in $pids; do kids="$kids $(pgrep -P "$p" 2>/dev/null | tr '\n' ' ')"; done
VR_STACK_COMPONENTS="mailsink clamd rspamd" "$ROOT/scripts/stack" down "$DIR" >/dev/null 2>&1
stopped=1
left=""
for p in $pids $kids; do
	kill -0 "$p" 2>/dev/null && left="$left $p($(cat /proc/"$p"/comm 2>/dev/null))"
done
check "stack down: every recorded process and rspamd worker gone$left" [ -z "$left" ]
check "stack down: no pid file left" [ -z "$(ls "$DIR/pids" 2>/dev/null)" ]
check "stack down: clamd socket removed" [ ! -e "$VR_CLAMD_SOCKET" ]
check "stack status: stopped" sh -c "! VR_STACK_COMPONENTS='mailsink clamd rspamd' '$ROOT/scripts/stack' status '$DIR' >/dev/null 2>&1"

finish
