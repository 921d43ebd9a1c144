"""test_quarantine_api - the quarantine as users and staff use it (issue: quarantine).

Runs its own stack: the directory (AD users own mailboxes of corp.test), the mail
stand-ins, Postfix (its reinjection listener delivers releases to the internal server's
store) and apid. Held messages are put in through the agent's ingestion endpoint, as the
milter does. Every response is validated against openapi.yaml by vrapi.
"""
import base64
import email
import glob
import json
import os
import subprocess
import tempfile
import time
import uuid

import pytest

import vrapi

ROOT = vrapi.ROOT


@pytest.fixture(scope="module")
def qstack():
    d = tempfile.mkdtemp(prefix="vr-quarantine-")
    os.chmod(d, 0o755)  # Postfix's own users must reach its directories
    make_web_cert(d)
    # the one-click unsubscribe test talks to a local https server: let apid trust its CA
    # and reach loopback, which it refuses by default
    env = dict(os.environ, VR_STACK_COMPONENTS="directory mailsink postfix apid",
               VR_APID_UNSUBSCRIBE_CA_FILE=os.path.join(d, "web-ca.pem"),
               VR_APID_UNSUBSCRIBE_ALLOW_PRIVATE="true")
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
    log = open(st.apid_log, errors="replace").read()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert bad not in log, log[-5000:]


def make_web_cert(d):
    """a CA and a certificate for 127.0.0.1, for the unsubscribe target"""
    def certtool(*args):
        subprocess.run(["certtool"] + list(args), check=True, capture_output=True)
    open(os.path.join(d, "ca.tmpl"), "w").write('cn = "web CA"\nca\ncert_signing_key\n'
                                                 'expiration_days = 2\n')
    open(os.path.join(d, "web.tmpl"), "w").write('cn = "web"\nip_address = "127.0.0.1"\n'
                                                  'tls_www_server\nencryption_key\nsigning_key\n'
                                                  'expiration_days = 2\n')
    certtool("--generate-privkey", "--outfile", os.path.join(d, "web-ca.key"))
    certtool("--generate-self-signed", "--load-privkey", os.path.join(d, "web-ca.key"),
             "--template", os.path.join(d, "ca.tmpl"), "--outfile", os.path.join(d, "web-ca.pem"))
    certtool("--generate-privkey", "--outfile", os.path.join(d, "web.key"))
    certtool("--generate-certificate", "--load-privkey", os.path.join(d, "web.key"),
             "--load-ca-certificate", os.path.join(d, "web-ca.pem"),
             "--load-ca-privkey", os.path.join(d, "web-ca.key"),
             "--template", os.path.join(d, "web.tmpl"), "--outfile", os.path.join(d, "web.pem"))


@pytest.fixture(scope="module")
def qapi(qstack, spec, coverage):
    return vrapi.Api(qstack.api_url, spec, coverage)


def login(api, user, password):
    r = api.as_(None).post("/api/v1/auth/login", {"username": user, "password": password})
    assert r.status == 200, r
    return api.as_(r.json["token"])


@pytest.fixture(scope="module")
def people(qapi, qstack):
    """admin (local), and the AD users alice (user), carol (helpdesk), frank (auditor),
    bob (admin), with the AD profile and the reinjection port configured."""
    st = qstack
    admin = login(qapi, st.admin_user, st.admin_password)
    r = admin.post("/api/v1/directories", {
        "name": "corp-ad", "kind": "ad", "uris": [st["VR_AD_URI"]],
        "ca_file": st["VR_AD_CA_FILE"], "bind_dn": st["VR_AD_BIND_DN"],
        "bind_password": st["VR_AD_BIND_PASSWORD"], "base_dn": st["VR_AD_BASE_DN"],
        "netbios_domain": st["VR_AD_DOMAIN"],
        "group_roles": [{"group_dn": st["VR_AD_ADMIN_GROUP_DN"], "role": "admin"},
                        {"group_dn": st["VR_AD_HELPDESK_GROUP_DN"], "role": "helpdesk"},
                        {"group_dn": st["VR_AD_AUDITOR_GROUP_DN"], "role": "auditor"}]})
    assert r.status == 201, r
    host, port = st["VR_REINJECT"].rsplit(":", 1)
    r = admin.request("PATCH", "/api/v1/policy",
                      json_body={"reinject_address": host, "reinject_port": int(port)})
    assert r.status == 200, r
    agent_tok = admin.post("/api/v1/tokens", {"name": "agent", "role": "agent"})
    return {
        "admin": admin,
        "agent": qapi.as_(agent_tok.json["token"]),
        "alice": login(qapi, st["VR_AD_USER"], st["VR_AD_PASSWORD"]),
        "carol": login(qapi, st["VR_AD_HELPDESK"], st["VR_AD_HELPDESK_PASSWORD"]),
        "frank": login(qapi, st["VR_AD_AUDITOR"], st["VR_AD_AUDITOR_PASSWORD"]),
        "bob": login(qapi, st["VR_AD_ADMIN"], st["VR_AD_ADMIN_PASSWORD"]),
    }


def message(subject, sender="news@shop.test", to="alice@corp.test", body="Bonjour\r\n",
            extra=""):
    mid = "<%s@test>" % uuid.uuid4().hex
    return ("From: Boutique <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Sat, 28 Nov 2026 01:02:03 +0000\r\nMIME-Version: 1.0\r\n%s"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s" % (
                sender, to, subject, mid, extra, body)).encode(), mid


def hold(agent, raw, mid, category, recipients, sender="news@shop.test", score=9.0,
         virus=None):
    meta = {"key": "test:%s:%s" % (mid, category), "queue_id": uuid.uuid4().hex[:10],
            "direction": "inbound", "sender": sender, "from": sender,
            "subject": "s", "message_id": mid, "category": category, "score": score,
            "recipients": recipients}
    if virus:
        meta["virus"] = virus
    b64 = base64.urlsafe_b64encode(json.dumps(meta).encode()).decode().rstrip("=")
    r = agent.request("POST", "/api/v1/agent/quarantine", body=raw,
                      content_type="message/rfc822", headers={"X-VR-Metadata": b64})
    assert r.status == 201, r
    return r.json["id"]


def delivered(st, mid):
    """files in the internal server's store that carry this Message-ID"""
    out = []
    for f in glob.glob(os.path.join(st["VR_MAILBOX_DIR"], "*.eml")):
        data = open(f, "rb").read()
        if mid.encode() in data:
            out.append(data)
    return out


def wait_delivered(st, mid, n=1, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        got = delivered(st, mid)
        if len(got) >= n:
            return got
        time.sleep(0.2)
    return delivered(st, mid)


def test_user_sees_own_items_including_aliases_and_reads_french_subject(people, qstack):
    st = qstack
    raw, mid = message("=?UTF-8?Q?R=C3=A9union_de_service?=", to=st["VR_AD_USER_ALIAS"])
    qid = hold(people["agent"], raw, mid, "spam", [st["VR_AD_USER_ALIAS"]])
    raw2, mid2 = message("for bob", to="bob@corp.test")
    other = hold(people["agent"], raw2, mid2, "spam", ["bob@corp.test"])
    alice = people["alice"]
    items = alice.get("/api/v1/quarantine").json["items"]
    ids = {i["id"] for i in items}
    assert qid in ids and other not in ids
    assert all(i["recipient"] in (st["VR_AD_USER_MAIL"], st["VR_AD_USER_ALIAS"],
                                  "sales@corp.test") for i in items)
    d = alice.get("/api/v1/quarantine/" + qid)
    assert d.status == 200
    assert d.json["headers"]["subject"] == "Réunion de service"
    p = alice.get("/api/v1/quarantine/%s/preview" % qid)
    assert p.status == 200 and "Bonjour" in p.json["text"]
    # another user's item is not found, not forbidden
    r = alice.get("/api/v1/quarantine/" + other)
    assert r.status == 404
    assert alice.post("/api/v1/quarantine/%s/release" % other).status == 404
    assert alice.get("/api/v1/quarantine/" + "A" * 22).status == 404


def test_release_reaches_the_store_exactly_once(people, qstack):
    st = qstack
    raw, mid = message("release me")
    qid = hold(people["agent"], raw, mid, "spam", ["alice@corp.test"])
    alice = people["alice"]
    r = alice.post("/api/v1/quarantine/%s/release" % qid)
    assert r.status == 200, r
    assert r.json["recipients"][0]["status"] == "released"
    r2 = alice.post("/api/v1/quarantine/%s/release" % qid)
    assert r2.status == 200
    got = wait_delivered(st, mid)
    time.sleep(2)
    got = delivered(st, mid)
    assert len(got) == 1, "released %d times" % len(got)
    assert b"X-VR-Released: by " in got[0]


def test_role_matrix(people, qstack):
    raw, mid = message("virus inside")
    vid = hold(people["agent"], raw, mid, "virus", ["alice@corp.test"], virus="Eicar-Test")
    raw, mid = message("plain spam")
    sid = hold(people["agent"], raw, mid, "spam", ["alice@corp.test"])
    # a user does not see virus items at all
    assert vid not in {i["id"] for i in people["alice"].get("/api/v1/quarantine").json["items"]}
    assert people["alice"].get("/api/v1/quarantine/" + vid).status == 404
    # helpdesk sees it, cannot release it, cannot download it
    assert people["carol"].get("/api/v1/quarantine/" + vid).status == 200
    assert people["carol"].post("/api/v1/quarantine/%s/release" % vid).status == 403
    assert people["carol"].get("/api/v1/quarantine/%s/raw" % vid).status == 403
    # helpdesk downloads spam
    r = people["carol"].get("/api/v1/quarantine/%s/raw" % sid)
    assert r.status == 200 and b"plain spam" in r.body
    # an auditor reads but acts on nothing
    assert people["frank"].get("/api/v1/quarantine/" + sid).status == 200
    assert people["frank"].post("/api/v1/quarantine/%s/release" % sid).status == 403
    assert people["frank"].post("/api/v1/quarantine/%s/delete" % sid).status == 403
    # a user cannot download raw
    assert people["alice"].get("/api/v1/quarantine/%s/raw" % sid).status == 403
    # an admin downloads the virus
    assert people["bob"].get("/api/v1/quarantine/%s/raw" % vid).status == 200


def test_delete_block_and_release_allow_change_the_lists(people, qstack):
    raw, mid = message("block him", sender="pest@annoy.test")
    qid = hold(people["agent"], raw, mid, "spam", ["alice@corp.test"], sender="pest@annoy.test")
    r = people["alice"].post("/api/v1/quarantine/%s/delete-block" % qid)
    assert r.status == 200 and r.json["recipients"][0]["status"] == "deleted"
    lists = people["alice"].get("/api/v1/lists", params={"scope": "personal"}).json["items"]
    assert any(e["kind"] == "block" and e["pattern"] == "pest@annoy.test" for e in lists)


def test_search_filters_totals_and_cursor(people, qstack):
    agent = people["agent"]
    for i in range(5):
        raw, mid = message("page %d" % i)
        hold(agent, raw, mid, "newsletter", ["sales@corp.test"], score=float(i))
    alice = people["alice"]
    r = alice.get("/api/v1/quarantine", params={"category": "newsletter", "limit": 2})
    assert r.status == 200 and len(r.json["items"]) == 2 and r.json["next_cursor"]
    assert r.json["totals"]["newsletter"] >= 5
    seen, cursor = [], None
    for _ in range(10):
        params = {"category": "newsletter", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = alice.get("/api/v1/quarantine", params=params)
        # an item arriving between pages does not disturb the walk
        raw, mid = message("late")
        hold(agent, raw, mid, "newsletter", ["sales@corp.test"])
        seen += [(i["id"], i["recipient"]) for i in page.json["items"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    r = alice.get("/api/v1/quarantine", params={"min_score": "3", "category": "newsletter"})
    assert all(i["score"] >= 3 for i in r.json["items"])
    for bad in ({"category": "ham"}, {"status": "gone"}, {"limit": "0"}, {"cursor": "x"},
                {"min_score": "high"}, {"since": "yesterday"}):
        r = alice.get("/api/v1/quarantine", params=bad)
        assert r.status == 400 and r.problem["field"] == list(bad)[0], (bad, r)


def test_bulk_reports_per_id(people, qstack):
    agent = people["agent"]
    ids = []
    for i in range(3):
        raw, mid = message("bulk %d" % i)
        ids.append(hold(agent, raw, mid, "spam", ["alice@corp.test"]))
    raw, mid = message("bobs")
    bobs = hold(agent, raw, mid, "spam", ["bob@corp.test"])
    r = people["alice"].post("/api/v1/quarantine/bulk",
                             {"action": "delete", "ids": ids + [bobs, "nope"]})
    assert r.status == 200, r
    res = {x["id"]: x for x in r.json["results"]}
    assert all(res[i]["status"] == 200 for i in ids)
    assert res[bobs]["status"] == 404 and res["nope"]["status"] == 404
    assert r.json["succeeded"] == 3 and r.json["failed"] == 2
    r = people["alice"].post("/api/v1/quarantine/bulk", {"action": "delete", "ids": ["x"] * 1001})
    assert r.status == 400 and r.problem["field"] == "ids"


def test_purge_removes_expired_items_and_their_files(people, qstack):
    agent = people["agent"]
    raw, mid = message("old one")
    meta_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 40 * 86400))
    meta = {"key": "test:old:" + mid, "direction": "inbound", "category": "spam",
            "recipients": ["alice@corp.test"], "received_at": meta_time, "message_id": mid}
    b64 = base64.urlsafe_b64encode(json.dumps(meta).encode()).decode().rstrip("=")
    r = agent.request("POST", "/api/v1/agent/quarantine", body=raw,
                      content_type="message/rfc822", headers={"X-VR-Metadata": b64})
    assert r.status == 201
    old = r.json["id"]
    raw, mid = message("fresh one")
    fresh = hold(agent, raw, mid, "spam", ["alice@corp.test"])
    spool = os.path.join(qstack["VR_APID_DATA_DIR"], "spool")
    old_file = os.path.join(spool, old[:2], old + ".eml")
    assert os.path.exists(old_file)
    assert people["alice"].post("/api/v1/quarantine/purge").status == 403
    r = people["admin"].post("/api/v1/quarantine/purge")
    assert r.status == 200 and r.json["purged"] >= 1 and r.json["files_removed"] >= 1
    assert not os.path.exists(old_file)
    assert people["admin"].get("/api/v1/quarantine/" + old).status == 404
    assert people["admin"].get("/api/v1/quarantine/" + fresh).status == 200


def test_integrity_check_finds_a_planted_orphan_and_a_lost_file(people, qstack):
    spool = os.path.join(qstack["VR_APID_DATA_DIR"], "spool")
    os.makedirs(os.path.join(spool, "zz"), exist_ok=True)
    orphan = os.path.join(spool, "zz", "zzPlantedOrphanFile000.eml")
    with open(orphan, "w") as f:
        f.write("Subject: nobody's\r\n\r\nx\r\n")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    raw, mid = message("file will vanish")
    lost = hold(people["agent"], raw, mid, "spam", ["alice@corp.test"])
    os.unlink(os.path.join(spool, lost[:2], lost + ".eml"))
    r = people["admin"].post("/api/v1/quarantine/integrity")
    assert r.status == 200, r
    assert "zz/zzPlantedOrphanFile000.eml" in r.json["orphan_files"]
    assert lost in [m["id"] for m in r.json["missing_files"]]
    assert r.json["repaired"] is False and os.path.exists(orphan)
    r = people["admin"].post("/api/v1/quarantine/integrity", {"repair": True})
    assert r.status == 200 and r.json["repaired"] is True
    assert not os.path.exists(orphan)
    assert people["admin"].get("/api/v1/quarantine/" + lost).status == 404
    r = people["admin"].post("/api/v1/quarantine/integrity")
    assert r.json["orphan_files"] == [] and r.json["missing_files"] == []


def digest_mails(st, to):
    out = []
    for f in glob.glob(os.path.join(st["VR_MAILBOX_DIR"], "*.eml")):
        data = open(f, "rb").read()
        if b"Auto-Submitted: auto-generated" in data and to.encode() in data:
            out.append(email.message_from_bytes(data))
    return out


def links_of(msg, qid):
    """the one-click URLs of item qid in the text part of a digest"""
    import re
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()
            return [u for u in re.findall(r"(http://\S+/api/v1/links/\S+)", text)
                    if qid in _link_payload(u)]
    return []


def _link_payload(url):
    tok = url.rsplit("/", 1)[1]
    payload = tok.split(".")[0]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def test_digest_links_confirm_then_act_once(people, qstack, qapi):
    st = qstack
    alice = people["alice"]
    r = alice.request("PUT", "/api/v1/me/preferences",
                      json_body={"newsletter": "default", "digest": "daily", "language": "fr"})
    assert r.status == 200 and r.json["language"] == "fr" and r.json["digest"] == "daily"
    raw, mid = message("digest me")
    qid = hold(people["agent"], raw, mid, "spam", ["alice@corp.test"])
    r = alice.post("/api/v1/me/digest")
    assert r.status == 202 and r.json["items"] >= 1, r
    end = time.time() + 20
    mails = []
    while time.time() < end and not mails:
        mails = [m for m in digest_mails(st, st["VR_AD_USER_MAIL"]) if links_of(m, qid)]
        time.sleep(0.3)
    assert mails, "no digest arrived"
    subject = str(email.header.make_header(email.header.decode_header(mails[-1]["Subject"])))
    assert subject.startswith("Quarantaine")
    release = [u for u in links_of(mails[-1], qid) if '"a":"release"' in _link_payload(u)][0]
    path = release.split("/api/v1", 1)[1]
    anon = qapi.as_(None)
    # a link scanner's GET only shows a confirmation page
    g = anon.get("/api/v1" + path)
    assert g.status == 200 and b"<form method=\"post\">" in g.body
    assert alice.get("/api/v1/quarantine/" + qid).json["recipients"][0]["status"] == "held"
    p = anon.post("/api/v1" + path)
    assert p.status == 200, p
    assert alice.get("/api/v1/quarantine/" + qid).json["recipients"][0]["status"] == "released"
    assert wait_delivered(st, mid)
    # the same link again is refused
    assert anon.post("/api/v1" + path).status == 410
    assert anon.get("/api/v1" + path).status == 410
    # a tampered link is refused
    tok = path.rsplit("/", 1)[1]
    bad = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
    assert anon.post("/api/v1/links/" + bad).status == 400
    payload, sig = tok.split(".")
    other = json.loads(_link_payload(release))
    other["a"] = "delete"
    forged = base64.urlsafe_b64encode(json.dumps(other).encode()).decode().rstrip("=")
    assert anon.post("/api/v1/links/%s.%s" % (forged, sig)).status == 400
    # an expired link (signed with apid's key, as apid would) is refused
    import hashlib
    import hmac
    key = open(os.path.join(st["VR_APID_DATA_DIR"], "digest.key"), "rb").read()
    raw2, mid2 = message("expired link")
    qid2 = hold(people["agent"], raw2, mid2, "spam", ["alice@corp.test"])
    old = base64.urlsafe_b64encode(json.dumps(
        {"q": qid2, "r": "alice@corp.test", "a": "release", "n": "n" * 22,
         "e": int(time.time()) - 10}).encode()).decode().rstrip("=")
    mac = base64.urlsafe_b64encode(hmac.new(key, old.encode(), hashlib.sha256).digest()
                                   ).decode().rstrip("=")
    assert anon.get("/api/v1/links/%s.%s" % (old, mac)).status == 410
    assert anon.post("/api/v1/links/%s.%s" % (old, mac)).status == 410
    assert alice.get("/api/v1/quarantine/" + qid2).json["recipients"][0]["status"] == "held"
    # asking again at once is throttled
    r = alice.post("/api/v1/me/digest")
    assert r.status == 429 and int(r.header("Retry-After")) > 0


def test_one_click_unsubscribe(people, qstack):
    import http.server
    import ssl
    import threading
    got = []

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # a complete answer, not one ended by closing

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            got.append((self.path, self.rfile.read(n)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass
    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(qstack.dir, "web.pem"), os.path.join(qstack.dir, "web.key"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        target = "https://127.0.0.1:%d/u?id=7" % srv.server_address[1]

        def held(one_click, url):
            raw, mid = message("newsletter %s" % uuid.uuid4().hex[:6])
            meta = {"key": "test:nl:" + mid, "direction": "inbound", "category": "newsletter",
                    "recipients": ["alice@corp.test"], "message_id": mid,
                    "unsubscribe": url, "one_click": one_click}
            b64 = base64.urlsafe_b64encode(json.dumps(meta).encode()).decode().rstrip("=")
            r = people["agent"].request("POST", "/api/v1/agent/quarantine", body=raw,
                                        content_type="message/rfc822",
                                        headers={"X-VR-Metadata": b64})
            assert r.status == 201
            return r.json["id"]
        ok = held(True, target)
        r = people["alice"].post("/api/v1/quarantine/%s/unsubscribe" % ok)
        assert r.status == 200 and r.json["http_status"] == 200, r
        assert got == [("/u?id=7", b"List-Unsubscribe=One-Click")]
        # not offered as one-click (no verified DKIM over the headers): refused, nothing sent
        no = held(False, target)
        r = people["alice"].post("/api/v1/quarantine/%s/unsubscribe" % no)
        assert r.status == 409
        plain = held(True, "http://127.0.0.1:%d/u" % srv.server_address[1])
        assert people["alice"].post("/api/v1/quarantine/%s/unsubscribe" % plain).status == 409
        assert people["frank"].post("/api/v1/quarantine/%s/unsubscribe" % ok).status == 403
        assert len(got) == 1
    finally:
        srv.shutdown()


def test_vrcli_purge_and_check(people, qstack, tmp_path):
    vrcli = os.path.join(os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin")),
                         "vrcli")
    env = dict(os.environ, HOME=str(tmp_path), VRCLI_URL=qstack.api_url,
               VRCLI_TOKEN=people["admin"].token)
    r = subprocess.run([vrcli, "quarantine", "purge"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("purged "), r
    r = subprocess.run([vrcli, "--json", "quarantine", "check"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r
    report = json.loads(r.stdout)
    assert set(report) == {"orphan_files", "missing_files", "repaired"}
    # a user may do neither
    env["VRCLI_TOKEN"] = people["alice"].token
    r = subprocess.run([vrcli, "quarantine", "purge"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 3 and r.stderr.count("\n") == 1, r
