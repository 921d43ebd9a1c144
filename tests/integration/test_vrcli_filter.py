"""test_vrcli_filter - vrcli's mail commands against a running apid.

Covers `vrcli filter`, `domains filter|set-filter`, `lists` (with export and import as
CSV), `preferences`, `digest` (for an account without an address: test_vrcli_digest.py
sends them), `messages`, `stats`, `quarantine` (list, show, preview, raw, the actions,
unsubscribe, bulk) and `agents remove`:
tables for people, --json that parses (and nothing else on stdout), and the exit codes
(2 usage, 3 not allowed, 4 not found, 5 rejected, 6 server error) with one-line errors.
Tracking records and held messages are put in as an agent does, with an agent token
through urllib (POST /api/v1/agent/messages and /api/v1/agent/quarantine). Without a mail
server, a release cannot succeed: the policy's reinjection port is pointed where nothing
listens, and `quarantine release` must fail with exit 6 and leave the message held. The
module puts the filter settings, the policy, the preferences back, and removes the lists
entries, domains, agents and tokens it made (a registered agent left behind would make
/readyz fail for later tests). Uses conftest.py's `stack` fixture; run inside
scripts/netns-run.
"""

import base64
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VRCLI = os.path.join(os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin")), "vrcli")


class Result:
    """The outcome of one vrcli run (out is bytes with binary=True)."""

    def __init__(self, p):
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


def run(home, *args, env=None, stdin=None, binary=False):
    """run - vrcli with HOME=home and only the VRCLI_* variables given in env"""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("VRCLI_") and k != "XDG_CONFIG_HOME"}
    e["HOME"] = str(home)
    e.update(env or {})
    p = subprocess.run([VRCLI, *args], input=stdin, env=e, capture_output=True,
                       text=not binary, timeout=120,
                       stdin=None if stdin is not None else subprocess.DEVNULL)
    if binary:
        p.stderr = p.stderr.decode("utf-8", "replace")
    return Result(p)


def one_error_line(r):
    """one_error_line - the run printed exactly one line, starting 'vrcli: ', on stderr"""
    lines = r.err.splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("vrcli: "), r
    return lines[0]


def usage_error(r):
    """usage_error - exit 2, nothing on stdout, the reason and the usage line on stderr"""
    assert r.rc == 2, r
    assert not r.out, r
    assert r.err.startswith("vrcli: ") and "usage: vrcli" in r.err, r


def rows(out):
    """rows - a "key: value" table as a dict (the last of repeated keys)"""
    result = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        result[k.rstrip(":")] = v.strip()
    return result


def uid():
    return uuid.uuid4().hex[:10]


# --- raw API access -----------------------------------------------------------------

def call(stack, method, path, token=None, body=None, data=None, headers=None):
    """call - one request with urllib; (status, parsed JSON body or None)"""
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(stack.api_url + path, data=data, method=method)
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


def new_token(stack, admin_token, role):
    status, body = call(stack, "POST", "/api/v1/tokens", admin_token, {
        "name": "vrcli-filter-%s-%s" % (role, uid()), "role": role})
    assert status == 201, body
    return body


@pytest.fixture(scope="module")
def admin_token(stack):
    """admin_token - an admin API token (for the raw calls), revoked at the end"""
    status, body = call(stack, "POST", "/api/v1/auth/login", body={
        "username": stack.admin_user, "password": stack.admin_password})
    assert status == 200, body
    session = body["token"]
    status, body = call(stack, "POST", "/api/v1/tokens", session, {
        "name": "vrcli-filter-admin-" + uid(), "role": "admin"})
    assert status == 201, body
    call(stack, "POST", "/api/v1/auth/logout", session)
    yield body["token"]
    call(stack, "DELETE", "/api/v1/tokens/" + body["id"], body["token"])


@pytest.fixture(scope="module")
def home(stack, tmp_path_factory, admin_token):
    """home - a HOME whose config holds the URL and an admin API token"""
    d = tmp_path_factory.mktemp("vrcli-filter-home")
    conf = d / ".config" / "vrcli"
    conf.mkdir(parents=True, mode=0o700)
    (conf / "config").write_text("url = %s\ntoken = %s\n" % (stack.api_url, admin_token))
    os.chmod(conf / "config", 0o600)
    return d


@pytest.fixture(scope="module")
def auditor_env(stack, admin_token):
    """auditor_env - VRCLI_TOKEN of an auditor API token (revoked at the end)"""
    tok = new_token(stack, admin_token, "auditor")
    yield {"VRCLI_TOKEN": tok["token"]}
    call(stack, "DELETE", "/api/v1/tokens/" + tok["id"], admin_token)


@pytest.fixture(scope="module")
def agent_token(stack, admin_token):
    """agent_token - an agent API token for the reports (revoked at the end)"""
    tok = new_token(stack, admin_token, "agent")
    yield tok["token"]
    call(stack, "DELETE", "/api/v1/tokens/" + tok["id"], admin_token)


# --- filter settings ------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def restore_filter(stack, admin_token):
    """Put back the filter settings this module changes."""
    status, original = call(stack, "GET", "/api/v1/filter", admin_token)
    assert status == 200, original
    yield
    status, reply = call(stack, "PATCH", "/api/v1/filter", admin_token, original)
    assert status == 200, reply


def test_filter_show(home, auditor_env):
    r = run(home, "filter", "show")
    assert r.rc == 0, r
    t = rows(r.out)
    for key in ("virus_action", "blocklist_action", "blocked_extensions",
                "block_encrypted_archives", "outbound_spam_tag", "outbound_spam_reject"):
        assert key in t, r
    r = run(home, "--json", "filter", "show", env=auditor_env)
    assert r.rc == 0 and r.err == "", r
    f = r.json()
    assert isinstance(f["blocked_extensions"], list)
    assert isinstance(f["block_encrypted_archives"], bool)
    assert t["block_encrypted_archives"] == ("yes" if f["block_encrypted_archives"] else "no")


def test_filter_set(home, auditor_env):
    r = run(home, "--json", "filter", "set", "blocked_extensions=exe,.JS, scr",
            "block_encrypted_archives=true", "outbound_spam_tag=4",
            "outbound_spam_quarantine=7.5", "outbound_spam_reject=15", "virus_action=reject")
    assert r.rc == 0, r
    f = r.json()
    assert f["blocked_extensions"] == ["exe", "js", "scr"]
    assert f["block_encrypted_archives"] is True and f["virus_action"] == "reject"
    assert (f["outbound_spam_tag"], f["outbound_spam_quarantine"],
            f["outbound_spam_reject"]) == (4, 7.5, 15)
    # people get the `filter show` table; KEY= empties a list
    r = run(home, "filter", "set", "blocked_types=application/x-msdownload",
            "block_encrypted_archives=false", "blocked_extensions=")
    assert r.rc == 0, r
    t = rows(r.out)
    assert t["blocked_types"] == "application/x-msdownload", r
    assert t["blocked_extensions"] == "-" and t["block_encrypted_archives"] == "no", r
    assert t["outbound_spam_quarantine"] == "7.5", r
    f = run(home, "--json", "filter", "show").json()
    assert f["blocked_extensions"] == [] and f["blocked_types"] == ["application/x-msdownload"]

    r = run(home, "filter", "set", "outbound_spam_tag=1", env=auditor_env)
    assert r.rc == 3, r
    one_error_line(r)


@pytest.mark.parametrize("args,field", [
    (["outbound_spam_tag=20", "outbound_spam_quarantine=10", "outbound_spam_reject=30"],
     "outbound_spam_quarantine"),
    (["outbound_spam_reject=-500"], "outbound_spam_reject"),
    (["blocked_extensions=exe,not/ext"], "blocked_extensions"),
    (["virus_action=shrug"], "virus_action"),
    (["bogus_setting=1"], "bogus_setting"),
])
def test_filter_set_rejected(home, args, field):
    before = run(home, "--json", "filter", "show").json()
    r = run(home, "filter", "set", *args)
    assert r.rc == 5, r
    assert "(field: %s)" % field in one_error_line(r)
    assert r.out == ""
    assert run(home, "--json", "filter", "show").json() == before


@pytest.mark.parametrize("args", [
    ["filter", "set"],
    ["filter", "set", "blocked_extensions=exe,,js"],
    ["filter", "set", "blocked_extensions=exe,"],
    ["filter", "set", "block_encrypted_archives=maybe"],
    ["filter", "set", "outbound_spam_tag=high"],
    ["filter", "set", "outbound_spam_tag=1e3"],
    ["filter", "set", "outbound_spam_tag=1", "outbound_spam_tag=2"],
    ["filter", "show", "extra"],
    ["domains", "filter"],
    ["domains", "set-filter", "someid"],
    ["domains", "set-filter", "someid", "spam_tag=x"],
    ["domains", "set-filter", "someid", "fail_open_spam=1"],
])
def test_filter_usage(home, args):
    usage_error(run(home, *args))


def test_domain_filter(home, auditor_env):
    name = "cli-f-%s.example.org" % uid()
    r = run(home, "--json", "domains", "add", name, "--internal-host", "127.0.0.1")
    assert r.rc == 0, r
    d = r.json()
    try:
        r = run(home, "domains", "filter", d["id"])
        assert r.rc == 0, r
        t = rows(r.out)
        for key in ("spam_tag", "spam_quarantine", "spam_reject", "subject_prefix",
                    "newsletter", "fail_open_spam"):
            assert key in t, r
        r = run(home, "--json", "domains", "set-filter", d["id"], "spam_tag=3",
                "spam_quarantine=6.5", "spam_reject=12", "fail_open_spam=true",
                "newsletter=tag", "subject_prefix=[SPAM]")
        assert r.rc == 0, r
        f = r.json()
        assert (f["spam_tag"], f["spam_quarantine"], f["spam_reject"], f["fail_open_spam"],
                f["newsletter"], f["subject_prefix"]) == (3, 6.5, 12, True, "tag", "[SPAM]")
        r = run(home, "--json", "domains", "filter", d["id"], env=auditor_env)
        assert r.rc == 0 and r.json() == f, r

        r = run(home, "domains", "set-filter", d["id"], "spam_tag=9", "spam_quarantine=8")
        assert r.rc == 5, r
        assert "(field: spam_quarantine)" in one_error_line(r)
        r = run(home, "domains", "set-filter", d["id"], "newsletter=sometimes")
        assert r.rc == 5, r
        assert "(field: newsletter)" in one_error_line(r)
        r = run(home, "domains", "set-filter", d["id"], "spam_tag=1", env=auditor_env)
        assert r.rc == 3, r
        r = run(home, "domains", "set-filter", d["id"], "subject_prefix=")
        assert r.rc == 0 and rows(r.out)["subject_prefix"] == "-", r
    finally:
        assert run(home, "domains", "remove", d["id"]).rc == 0
    for args in (["filter", d["id"]], ["set-filter", d["id"], "spam_tag=1"]):
        r = run(home, "domains", *args)
        assert r.rc == 4, (args, r)
        one_error_line(r)


# --- lists and preferences ------------------------------------------------------------

@pytest.fixture(scope="module")
def made_entries(stack, admin_token):
    """made_entries - IDs of the list entries the tests made; removed at the end"""
    ids = []
    yield ids
    for i in ids:
        call(stack, "DELETE", "/api/v1/lists/" + i, admin_token)


def test_lists_lifecycle(home, made_entries, auditor_env):
    dom = "cli-%s.example.net" % uid()
    r = run(home, "--json", "lists", "add", "block", "Spammer@" + dom.upper(), "--comment",
            "from vrcli")
    assert r.rc == 0, r
    e = r.json()
    made_entries.append(e["id"])
    assert (e["kind"], e["scope"], e["pattern"], e["comment"]) == (
        "block", "personal", "spammer@" + dom, "from vrcli")

    r = run(home, "lists", "add", "allow", "*@" + dom, "--global")
    assert r.rc == 0, r
    g = rows(r.out)
    made_entries.append(g["id"])
    assert (g["kind"], g["scope"], g["pattern"], g["owner"]) == ("allow", "global", "*@" + dom,
                                                                "-")

    r = run(home, "lists")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[:5] == ["ID", "KIND", "SCOPE", "OWNER", "PATTERN"]
    mine = [ln for ln in r.out.splitlines() if dom in ln]
    assert len(mine) == 2, r
    assert any(ln.startswith(e["id"] + " ") and ln.endswith("from vrcli") for ln in mine), r

    r = run(home, "--json", "lists", "--kind", "allow", "--scope", "global")
    assert r.rc == 0, r
    items = r.json()
    assert g["id"] in [x["id"] for x in items] and e["id"] not in [x["id"] for x in items]
    assert all(x["kind"] == "allow" and x["scope"] == "global" for x in items)
    r = run(home, "--json", "lists", "--scope", "all", env=auditor_env)
    assert r.rc == 0 and e["id"] in [x["id"] for x in r.json()], r

    # a duplicate (any case), a bad pattern, an unknown owner: rejected, naming the field
    for args, field in ((["block", "SPAMMER@" + dom], "pattern"),
                        (["block", "not a pattern"], "pattern"),
                        (["allow", "x y@" + dom], "pattern"),
                        (["allow", "x@" + dom, "--owner", "nobody-" + uid()], "owner")):
        r = run(home, "lists", "add", *args)
        assert r.rc == 5, (args, r)
        assert "(field: %s)" % field in one_error_line(r), (args, r)
        assert r.out == ""
    r = run(home, "lists", "add", "block", "y@" + dom, env=auditor_env)
    assert r.rc == 3, r

    r = run(home, "lists", "remove", e["id"])
    assert r.rc == 0 and e["id"] in r.out, r
    r = run(home, "lists", "remove", e["id"])
    assert r.rc == 4, r
    one_error_line(r)
    r = run(home, "--json", "lists", "remove", g["id"])
    assert r.rc == 0 and r.out == "", r
    assert dom not in run(home, "lists", "--scope", "all").out


@pytest.mark.parametrize("args", [
    ["lists", "--scope", "everybody"],
    ["lists", "--kind", "maybe"],
    ["lists", "extra"],
    ["lists", "add", "permit", "x@example.org"],
    ["lists", "add", "allow"],
    ["lists", "add", "allow", "x@example.org", "--global", "--owner", "alice"],
    ["lists", "remove"],
    ["lists", "export", "extra"],
    ["--json", "lists", "export"],  # CSV is not JSON: -o FILE
    ["lists", "export", "-o"],
    ["lists", "export", "-o", "x", "--output", "y"],
    ["lists", "import"],
    ["lists", "import", "a.csv", "b.csv"],
    ["lists", "import", ""],
    ["preferences", "set"],
    ["preferences", "set", "--newsletter", "sometimes"],
    ["preferences", "set", "--digest", "hourly"],
    ["preferences", "set", "--digest", "Daily"],
    ["preferences", "set", "--language", "de"],
    ["preferences", "set", "--newsletter", "tag", "--language", ""],
    ["preferences", "show", "extra"],
    ["digest", "extra"],
    ["digest", "--now"],
])
def test_lists_usage(home, args):
    usage_error(run(home, *args))


def test_lists_export_import(home, stack, admin_token, made_entries, auditor_env, tmp_path):
    tag = uid()
    csv = ("kind,scope,owner,pattern,comment\r\n"
           "allow,global,,csv-%s.example.net,\"partner, since 2020\"\r\n"
           "block,personal,%s,*@csv-%s.example.org,\r\n" % (tag, stack.admin_user, tag))
    f = tmp_path / "in.csv"
    f.write_text(csv)
    try:
        r = run(home, "lists", "import", str(f))
        assert r.rc == 0 and r.err == "", r
        assert rows(r.out) == {"created": "2", "duplicates": "0"}, r
        # the same again, from stdin: nothing new
        r = run(home, "--json", "lists", "import", "-", stdin=csv)
        assert r.rc == 0 and r.json() == {"created": 0, "duplicates": 2}, r
        r = run(home, "lists", "import", str(f), env=auditor_env)
        assert r.rc == 3, r
        one_error_line(r)

        # export: the CSV as the server sends it, to a pipe or to a file
        r = run(home, "lists", "export", binary=True)
        assert r.rc == 0 and r.err == "", r
        text = r.out.decode()
        assert text.splitlines()[0] == "kind,scope,owner,pattern,comment", r
        assert "allow,global,,csv-%s.example.net,\"partner, since 2020\"\r\n" % tag in text, r
        assert "block,personal,%s,*@csv-%s.example.org,\r\n" % (stack.admin_user, tag) in text, r
        out = tmp_path / "out.csv"
        out.write_text("old content")
        r = run(home, "lists", "export", "-o", str(out), env=auditor_env)
        assert r.rc == 0 and r.out == "Wrote %d bytes to %s.\n" % (len(text), out), r
        assert out.read_bytes().decode() == text
        r = run(home, "--json", "lists", "export", "--output", str(out))
        assert r.rc == 0 and r.json() == {"file": str(out), "bytes": len(text)}, r
        # the export's lines import again as they are: duplicates
        mine = tmp_path / "mine.csv"
        mine.write_text("".join(ln for ln in text.splitlines(True)[:1] +
                                [ln for ln in text.splitlines(True) if tag in ln]))
        r = run(home, "--json", "lists", "import", str(mine))
        assert r.rc == 0 and r.json() == {"created": 0, "duplicates": 2}, r
        mine.unlink()

        # a bad line imports nothing: exit 5, the line named
        bad = tmp_path / "bad.csv"
        bad.write_text("kind,scope,owner,pattern,comment\n"
                       "allow,global,,good-%s.example.net,\n"
                       "sometimes,global,,bad-%s.example.net,\n" % (tag, tag))
        r = run(home, "lists", "import", str(bad))
        assert r.rc == 5 and r.out == "", r
        line = one_error_line(r)
        assert "line 3" in line and "(field: csv)" in line, r
        bad.write_text("pattern,kind\nx.example.net,allow\n")
        r = run(home, "--json", "lists", "import", str(bad))
        assert r.rc == 5 and r.out == "" and "line 1" in one_error_line(r), r
        all_entries = run(home, "--json", "lists", "--scope", "all").json()
        assert not any("good-" + tag in x["pattern"] for x in all_entries)

        r = run(home, "lists", "import", str(tmp_path / "none.csv"))
        assert r.rc == 1 and "cannot read" in one_error_line(r), r
        r = run(home, "lists", "export", "-o", str(tmp_path / "no" / "dir.csv"))
        assert r.rc == 1 and "cannot create" in one_error_line(r), r
        big = tmp_path / "big.csv"
        big.write_bytes(b"kind,scope,owner,pattern,comment\n" + b"#" * (4 << 20))
        r = run(home, "lists", "import", str(big))
        assert r.rc == 1 and "larger than 4 MiB" in one_error_line(r), r
        user = new_token(stack, admin_token, "user")
        try:
            r = run(home, "lists", "export", "-o", str(tmp_path / "user.csv"),
                    env={"VRCLI_TOKEN": user["token"]})
            assert r.rc == 3, r  # admins and auditors only
            one_error_line(r)
        finally:
            call(stack, "DELETE", "/api/v1/tokens/" + user["id"], admin_token)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "big.csv", "in.csv",
                                                             "out.csv"]
    finally:
        for x in run(home, "--json", "lists", "--scope", "all").json():
            if tag in x["pattern"]:
                made_entries.append(x["id"])


def test_preferences(home, stack, admin_token, auditor_env):
    status, original = call(stack, "GET", "/api/v1/me/preferences", admin_token)
    assert status == 200, original
    assert set(original) == {"newsletter", "digest", "language"}, original
    try:
        r = run(home, "--json", "preferences", "set", "--newsletter", "quarantine",
                "--digest", "weekly", "--language", "en")
        assert r.rc == 0, r
        assert r.json() == {"newsletter": "quarantine", "digest": "weekly", "language": "en"}
        r = run(home, "preferences", "show")
        assert r.rc == 0, r
        assert rows(r.out) == {"newsletter": "quarantine", "digest": "weekly",
                               "language": "en"}, r
        # --newsletter alone leaves the digest and the language as they are
        r = run(home, "preferences", "set", "--newsletter", "default")
        assert r.rc == 0, r
        assert rows(r.out) == {"newsletter": "default", "digest": "weekly", "language": "en"}
        # without --newsletter, vrcli reads it first and sends it back unchanged
        r = run(home, "--json", "preferences", "set", "--digest", "off")
        assert r.rc == 0 and r.err == "", r
        assert r.json() == {"newsletter": "default", "digest": "off", "language": "en"}
        r = run(home, "preferences", "set", "--language", "fr")
        assert r.rc == 0, r
        assert rows(r.out) == {"newsletter": "default", "digest": "off", "language": "fr"}
        status, now = call(stack, "GET", "/api/v1/me/preferences", admin_token)
        assert now == {"newsletter": "default", "digest": "off", "language": "fr"}, now
        # an auditor reads their own preferences, but changes nothing
        r = run(home, "--json", "preferences", "show", env=auditor_env)
        assert r.rc == 0 and set(r.json()) == {"newsletter", "digest", "language"}, r
        r = run(home, "preferences", "set", "--newsletter", "tag", env=auditor_env)
        assert r.rc == 3, r
        r = run(home, "preferences", "set", "--digest", "daily", env=auditor_env)
        assert r.rc == 3, r  # the GET is allowed, the PUT is not
        one_error_line(r)
        assert r.out == ""
    finally:
        call(stack, "PUT", "/api/v1/me/preferences", admin_token, original)


def test_digest_without_address(home, auditor_env):
    """The bootstrap admin is a local account without a mail address: 409, exit 5; asked
    again at once it is 409 again (no digest went out, so no 429)."""
    for _ in range(2):
        r = run(home, "digest")
        assert r.rc == 5, r
        line = one_error_line(r)
        assert "no mail address" in line and "retry" not in line, r
        assert r.out == ""
    r = run(home, "--json", "digest")
    assert r.rc == 5 and r.out == "", r
    r = run(home, "digest", env=auditor_env)
    assert r.rc == 3, r  # auditors only read
    one_error_line(r)


# --- tracking and stats ---------------------------------------------------------------

def track(stack, agent_token, sender, subject, recipients, direction="inbound"):
    """track - report one message as the agent does; its tracking ID"""
    status, body = call(stack, "POST", "/api/v1/agent/messages", agent_token, {
        "agent": "vrcli-test", "queue_id": uid(), "direction": direction, "sender": sender,
        "from": sender, "subject": subject, "message_id": "<%s@test>" % uid(),
        "size": 1234, "score": 3.5, "symbols": ["BAYES_HAM"], "recipients": recipients})
    assert status == 201, body
    return body["id"]


def test_messages_and_stats(home, stack, agent_token, auditor_env):
    before = run(home, "--json", "stats").json()
    sender = "cli-%s@sender.test" % uid()
    ids = [
        track(stack, agent_token, sender, "first", [
            {"address": "alice@corp.test", "action": "deliver", "category": "clean"}]),
        track(stack, agent_token, sender, "second", [
            {"address": "alice@corp.test", "action": "quarantine", "category": "spam",
             "quarantine_id": "Q" + uid()},
            {"address": "bob@corp.test", "action": "deliver", "category": "clean",
             "reason": "allow list"}]),
        track(stack, agent_token, sender, "third", [
            {"address": "x@remote.test", "action": "reject", "category": "virus"}],
            direction="outbound"),
    ]
    r = run(home, "messages", "--sender", sender)
    assert r.rc == 0 and r.err == "", r
    lines = r.out.splitlines()
    assert lines[0].split()[:2] == ["TIME", "DIRECTION"], r
    # newest first: a message line, then its recipients indented under the sender column
    col = lines[0].index("SENDER")
    heads = [ln for ln in lines[1:] if not ln.startswith(" ")]
    assert [ln.split()[-1] for ln in heads] == ["third", "second", "first"], r
    assert all(ln[col:].startswith(sender) for ln in heads), r
    i = lines.index(heads[1])
    assert lines[i + 1][col:].split()[:3] == ["alice@corp.test", "quarantine", "(spam),"], r
    assert lines[i + 2][col:].startswith("bob@corp.test"), r
    assert lines[i + 2].endswith("deliver (clean): allow list"), r
    assert len(lines) == 1 + 3 + 4, r

    r = run(home, "--json", "messages", "--sender", sender, env=auditor_env)
    assert r.rc == 0 and r.err == "", r
    got = r.json()
    assert [m["id"] for m in got] == ids[::-1]
    assert got[1]["recipients"][1]["reason"] == "allow list"
    r = run(home, "--json", "messages", "--sender", sender, "--direction", "outbound")
    assert [m["subject"] for m in r.json()] == ["third"], r
    r = run(home, "--json", "messages", "--sender", sender, "--action", "quarantine")
    assert [m["subject"] for m in r.json()] == ["second"], r
    r = run(home, "--json", "messages", "--recipient", "bob@corp.test", "--sender", sender)
    assert [m["subject"] for m in r.json()] == ["second"], r

    # one page, then all of them
    r = run(home, "messages", "--sender", sender, "--limit", "2")
    assert r.rc == 0 and "use --all" in one_error_line(r), r
    r = run(home, "--json", "messages", "--sender", sender, "--limit", "1", "--all")
    assert r.rc == 0 and [m["id"] for m in r.json()] == ids[::-1], r
    r = run(home, "messages", "--sender", "nobody-%s@sender.test" % uid())
    assert r.rc == 0 and r.out == "No messages.\n", r
    r = run(home, "messages", "--since", "yesterday")
    assert r.rc == 5 and "(field: since)" in one_error_line(r), r

    r = run(home, "--json", "stats")
    assert r.rc == 0, r
    after = r.json()
    assert after["by_action"].get("reject", 0) >= before["by_action"].get("reject", 0) + 1
    assert (after["messages_by_direction"].get("inbound", 0)
            >= before["messages_by_direction"].get("inbound", 0) + 2)
    r = run(home, "stats", env=auditor_env)
    assert r.rc == 0, r
    t = rows(r.out)
    assert set(t) == {"since", "until", "messages", "actions", "categories"}, r
    assert "inbound" in t["messages"] and "reject" in t["actions"], r
    r = run(home, "--json", "stats", "--since", "2026-01-02T00:00:00Z", "--until",
            "2026-01-01T00:00:00Z")
    assert r.rc == 5 and "(field: until)" in one_error_line(r), r


@pytest.mark.parametrize("args", [
    ["messages", "--direction", "sideways"],
    ["messages", "--limit", "0"],
    ["messages", "--limit", "many"],
    ["messages", "extra"],
    ["stats", "--since"],
    ["quarantine", "list", "--min-score", "high"],
    ["quarantine", "list", "--limit", "-1"],
    ["quarantine", "show"],
    ["quarantine", "raw", "a", "b"],
    ["--json", "quarantine", "raw", "someid"],  # the message is not JSON: -o FILE
    ["quarantine", "raw", "someid", "-o"],
    ["quarantine", "raw", "someid", "-o", "x", "--output", "y"],
    ["quarantine", "release"],
    ["quarantine", "unsubscribe"],
    ["quarantine", "unsubscribe", "id1", "id2"],
    ["quarantine", "unsubscribe", "id1", "--recipient", "a@corp.test"],
    ["quarantine", "bulk", "unsubscribe", "id1"],  # not in bulk
    ["quarantine", "bulk", "release"],
    ["quarantine", "bulk", "explode", "id1"],
    ["quarantine", "frobnicate", "id1"],
    ["agents", "remove"],
    ["agents", "list"],
])
def test_mail_usage(home, args):
    usage_error(run(home, *args))


# --- quarantine -----------------------------------------------------------------------

def b64url(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def message(subject, sender, to="alice@corp.test", body="Bonjour\r\n\x1b[31mred\r\n"):
    mid = "<%s@test>" % uuid.uuid4().hex
    raw = ("From: Shop <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n"
           "Date: Sat, 28 Nov 2026 01:02:03 +0000\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
           "\r\n%sCaf\u00e9 cr\u00e8me\r\n" % (sender, to, subject, mid, body)).encode()
    return raw, mid


def hold(stack, agent_token, raw, mid, sender, subject, recipients, category="spam",
         score=9.5, **more):
    """hold - put a message in the quarantine as the agent does; its quarantine ID (more:
    other metadata, e.g. unsubscribe and one_click)"""
    meta = {"key": "vrcli-test:%s" % uuid.uuid4().hex, "queue_id": uid(),
            "direction": "inbound", "sender": sender, "from": sender, "subject": subject,
            "message_id": mid, "category": category, "score": score,
            "recipients": recipients, **more}
    status, body = call(stack, "POST", "/api/v1/agent/quarantine", agent_token, data=raw,
                        headers={"Content-Type": "message/rfc822",
                                 "X-VR-Metadata": b64url(meta)})
    assert status == 201, body
    return body["id"]


@pytest.fixture(scope="module")
def held(stack, agent_token):
    """held - three messages from one sender: two spam (one for two recipients), one
    newsletter; (sender, {name: (id, raw)})"""
    sender = "q-%s@shop.test" % uid()
    out = {}
    for name, rcpts, cat, score in (
            ("alpha", ["alice@corp.test", "bob@corp.test"], "spam", 9.5),
            ("beta", ["alice@corp.test"], "spam", 6.0),
            ("gamma", ["carol@corp.test"], "newsletter", 1.0)):
        raw, mid = message("Offer %s" % name, sender)
        out[name] = (hold(stack, agent_token, raw, mid, sender, "Offer %s" % name, rcpts,
                          category=cat, score=score), raw)
    return sender, out


def test_quarantine_list(home, held, auditor_env):
    sender, q = held
    r = run(home, "quarantine", "list", "--sender", sender)
    assert r.rc == 0 and r.err == "", r
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "RECEIVED", "CATEGORY", "STATUS", "SCORE", "RECIPIENT",
                                "SENDER", "SUBJECT"], r
    body = lines[1:-1]
    assert len(body) == 4, r  # one row per message and recipient
    assert sorted(ln.split()[0] for ln in body) == sorted(
        [q["alpha"][0]] * 2 + [q["beta"][0], q["gamma"][0]]), r
    assert lines[-1].startswith("Held: ") and "spam " in lines[-1], r
    gamma = [ln.split() for ln in body if ln.startswith(q["gamma"][0])][0]
    assert gamma[2:6] == ["newsletter", "held", "1", "carol@corp.test"], r

    r = run(home, "--json", "quarantine", "list", "--sender", sender, env=auditor_env)
    assert r.rc == 0 and r.err == "", r
    got = r.json()
    assert set(got) == {"items", "totals", "next_cursor"} and got["next_cursor"] is None
    assert len(got["items"]) == 4 and got["totals"].get("spam", 0) >= 3

    for args, want in ((["--category", "newsletter"], {q["gamma"][0]}),
                       (["--min-score", "6", "--max-score", "7"], {q["beta"][0]}),
                       (["--query", "Offer alpha"], {q["alpha"][0]}),
                       (["--recipient", "bob@corp.test"], {q["alpha"][0]}),
                       (["--status", "released"], set())):
        r = run(home, "--json", "quarantine", "list", "--sender", sender, *args)
        assert r.rc == 0, (args, r)
        assert {i["id"] for i in r.json()["items"]} == want, (args, r)

    r = run(home, "quarantine", "list", "--sender", sender, "--limit", "1")
    assert r.rc == 0 and len(r.out.splitlines()) == 3, r
    assert "use --all" in one_error_line(r)
    r = run(home, "--json", "quarantine", "list", "--sender", sender, "--limit", "1", "--all")
    assert r.rc == 0 and len(r.json()["items"]) == 4, r
    r = run(home, "quarantine", "list", "--sender", "nobody-%s@shop.test" % uid())
    assert r.rc == 0 and r.out.splitlines()[0] == "No quarantined messages.", r
    assert r.out.splitlines()[1].startswith("Held: "), r
    r = run(home, "quarantine", "list", "--category", "ham")
    assert r.rc == 5 and "(field: category)" in one_error_line(r), r


def test_quarantine_show_preview_raw(home, held, tmp_path, auditor_env):
    sender, q = held
    qid, raw = q["alpha"]
    r = run(home, "quarantine", "show", qid)
    assert r.rc == 0, r
    t = rows(r.out)
    assert (t["id"], t["category"], t["header.subject"]) == (qid, "spam", "Offer alpha"), r
    assert t["recipients"] == "alice@corp.test (held), bob@corp.test (held)", r
    assert t["header.to"] == "alice@corp.test", r
    r = run(home, "--json", "quarantine", "show", qid, env=auditor_env)
    assert r.rc == 0, r
    d = r.json()
    assert d["id"] == qid and d["headers"]["subject"] == "Offer alpha"
    assert {x["address"] for x in d["recipients"]} == {"alice@corp.test", "bob@corp.test"}

    r = run(home, "quarantine", "preview", qid)
    assert r.rc == 0, r
    assert "Bonjour" in r.out and "Café crème" in r.out, r
    assert "\x1b" not in r.out and "\r" not in r.out, r
    r = run(home, "--json", "quarantine", "preview", qid)
    assert r.rc == 0 and "Bonjour" in r.json()["text"], r

    # raw: the bytes as held, to a pipe or to a file; never JSON on stdout
    r = run(home, "quarantine", "raw", qid, binary=True)
    assert r.rc == 0 and r.err == "", r
    assert r.out == raw
    out = tmp_path / "held.eml"
    out.write_bytes(b"old content")
    r = run(home, "quarantine", "raw", qid, "-o", str(out))
    assert r.rc == 0 and str(out) in r.out, r
    assert out.read_bytes() == raw
    out2 = tmp_path / "held2.eml"
    r = run(home, "--json", "quarantine", "raw", qid, "--output", str(out2))
    assert r.rc == 0, r
    assert r.json() == {"id": qid, "file": str(out2), "bytes": len(raw)}
    assert out2.read_bytes() == raw
    # errors leave no file behind, not even a temporary one
    missing = tmp_path / "missing.eml"
    r = run(home, "quarantine", "raw", "A" * 22, "-o", str(missing))
    assert r.rc == 4, r
    one_error_line(r)
    r = run(home, "quarantine", "raw", qid, "-o", str(missing), env=auditor_env)
    assert r.rc == 3, r  # raw is for helpdesk and admins
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held.eml", "held2.eml"]
    r = run(home, "quarantine", "raw", qid, "-o", str(tmp_path / "no" / "dir.eml"))
    assert r.rc == 1 and "cannot create" in one_error_line(r), r

    for args in (["show", "A" * 22], ["preview", "A" * 22], ["delete", "A" * 22]):
        r = run(home, "quarantine", *args)
        assert r.rc == 4, (args, r)
        one_error_line(r)


def test_quarantine_unsubscribe(home, stack, agent_token, auditor_env):
    """Only a verified one-click offer (the agent's one_click) to a public https URL is
    used; the shared stack's apid reaches no private address, so every case here is
    refused before anything is sent (test_quarantine_api.py covers a sender answering)."""
    sender = "nl-%s@shop.test" % uid()

    def newsletter(**more):
        raw, mid = message("news " + uid(), sender)
        return hold(stack, agent_token, raw, mid, sender, "news", ["alice@corp.test"],
                    category="newsletter", score=1.0, **more)

    unsigned = newsletter(unsubscribe="https://shop.test/u?1", one_click=False)
    r = run(home, "quarantine", "unsubscribe", unsigned)
    assert r.rc == 5 and r.out == "", r
    assert "no verified one-click unsubscribe" in one_error_line(r), r
    r = run(home, "--json", "quarantine", "unsubscribe", newsletter())
    assert r.rc == 5 and r.out == "", r
    assert "no verified one-click unsubscribe" in one_error_line(r), r
    r = run(home, "quarantine", "unsubscribe",
            newsletter(unsubscribe="http://shop.test/u?2", one_click=True))
    assert r.rc == 5 and "only https" in one_error_line(r), r
    private = newsletter(unsubscribe="https://127.0.0.1:9/u?3", one_click=True)
    r = run(home, "quarantine", "unsubscribe", private)
    assert r.rc == 5 and "private address" in one_error_line(r), r
    r = run(home, "quarantine", "unsubscribe", private, env=auditor_env)
    assert r.rc == 3 and r.out == "", r  # auditors only read
    one_error_line(r)
    r = run(home, "quarantine", "unsubscribe", "A" * 22)
    assert r.rc == 4, r
    one_error_line(r)
    # the message stays as it was
    d = run(home, "--json", "quarantine", "show", unsigned).json()
    assert [x["status"] for x in d["recipients"]] == ["held"], d
    assert d["unsubscribe"] == {"target": "https://shop.test/u?1", "one_click": False}, d
    assert run(home, "quarantine", "delete", unsigned).rc == 0


@pytest.fixture
def no_reinjection(stack, admin_token):
    """no_reinjection - the policy's reinjection port where nothing listens (put back after)"""
    status, original = call(stack, "GET", "/api/v1/policy", admin_token)
    assert status == 200, original
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    status, reply = call(stack, "PATCH", "/api/v1/policy", admin_token, {
        "reinject_address": "127.0.0.1", "reinject_port": port})
    assert status == 200, reply
    yield port
    status, reply = call(stack, "PATCH", "/api/v1/policy", admin_token, {
        "reinject_address": original["reinject_address"],
        "reinject_port": original["reinject_port"]})
    assert status == 200, reply


def test_quarantine_release_without_mail_server(home, stack, agent_token, no_reinjection,
                                                auditor_env):
    sender = "rel-%s@shop.test" % uid()
    raw, mid = message("release me", sender)
    qid = hold(stack, agent_token, raw, mid, sender, "release me", ["alice@corp.test"])
    r = run(home, "quarantine", "release", qid, env=auditor_env)
    assert r.rc == 3, r
    r = run(home, "quarantine", "release", qid)
    assert r.rc == 6, r
    line = one_error_line(r)
    assert "release failed" in line and str(no_reinjection) in line, r
    assert r.out == ""
    d = run(home, "--json", "quarantine", "show", qid).json()
    assert [x["status"] for x in d["recipients"]] == ["held"], d
    r = run(home, "quarantine", "not-spam", qid, "--recipient", "alice@corp.test")
    assert r.rc == 6, r
    r = run(home, "quarantine", "release", qid, "--recipient", "nobody@corp.test")
    assert r.rc == 4 and "(field: recipient)" in one_error_line(r), r
    # in bulk, the failure is per message: exit 5, the reason on its row
    r = run(home, "quarantine", "bulk", "release", qid)
    assert r.rc == 5, r
    row = [ln for ln in r.out.splitlines() if ln.startswith(qid)]
    assert len(row) == 1 and row[0].split()[1:3] == ["503", "unavailable"], r
    assert "0 succeeded, 1 failed." in r.out and "failed for 1 of 1" in one_error_line(r)
    d = run(home, "--json", "quarantine", "show", qid).json()
    assert [x["status"] for x in d["recipients"]] == ["held"], d
    r = run(home, "quarantine", "delete", qid)
    assert r.rc == 0, r


def test_quarantine_delete_and_bulk(home, stack, agent_token, tmp_path, auditor_env):
    sender = "bulk-%s@shop.test" % uid()
    ids = []
    for n in range(4):
        raw, mid = message("bulk %d" % n, sender)
        ids.append(hold(stack, agent_token, raw, mid, sender, "bulk %d" % n,
                        ["alice@corp.test", "bob@corp.test"]))

    # one recipient, then the rest
    r = run(home, "quarantine", "delete", ids[0], "--recipient", "bob@corp.test")
    assert r.rc == 0, r
    assert r.out.splitlines()[0] == "Deleted %s." % ids[0], r
    st = {ln.split()[0]: ln.split()[1] for ln in r.out.splitlines()[2:]}
    assert st == {"alice@corp.test": "held", "bob@corp.test": "deleted"}, r
    r = run(home, "--json", "quarantine", "delete", ids[0])
    assert r.rc == 0, r
    assert r.json()["action"] == "delete"
    assert {x["status"] for x in r.json()["recipients"]} == {"deleted"}
    r = run(home, "quarantine", "delete", ids[1], env=auditor_env)
    assert r.rc == 3, r

    # bulk from arguments: a bad ID fails alone, exit 5
    bogus = "B" * 22
    r = run(home, "quarantine", "bulk", "delete", ids[1], bogus)
    assert r.rc == 5, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "CODE", "DETAIL"], r
    res = {ln.split()[0]: ln.split()[1:3] for ln in lines[1:-1]}
    assert res == {ids[1]: ["200", "ok"], bogus: ["404", "not-found"]}, r
    assert lines[-1] == "1 succeeded, 1 failed.", r
    assert "failed for 1 of 2" in one_error_line(r)

    # bulk from a file (duplicates once, comments skipped), --json, all good: exit 0
    f = tmp_path / "ids.txt"
    f.write_text("# to delete\n%s\n\n  %s  \n%s\n" % (ids[2], ids[3], ids[2]))
    r = run(home, "--json", "quarantine", "bulk", "delete", "--ids-from", str(f))
    assert r.rc == 0 and r.err == "", r
    b = r.json()
    assert (b["action"], b["succeeded"], b["failed"]) == ("delete", 2, 0)
    assert [x["id"] for x in b["results"]] == [ids[2], ids[3]]
    r = run(home, "quarantine", "bulk", "delete", "--ids-from", "-",
            stdin="%s\n" % ids[3])
    assert r.rc == 0 and r.out.splitlines()[-1] == "1 succeeded, 0 failed.", r

    r = run(home, "--json", "quarantine", "list", "--sender", sender, "--status", "held")
    assert r.rc == 0 and r.json()["items"] == [], r
    r = run(home, "quarantine", "bulk", "delete", ids[1], "--ids-from", str(f))
    usage_error(r)
    r = run(home, "quarantine", "bulk", "delete", "--ids-from", str(tmp_path / "none"))
    assert r.rc == 1 and "cannot read" in one_error_line(r), r
    f.write_text("# nothing\n")
    usage_error(run(home, "quarantine", "bulk", "delete", "--ids-from", str(f)))
    f.write_text("two ids\n")
    r = run(home, "quarantine", "bulk", "delete", "--ids-from", str(f))
    assert r.rc == 1 and "line 1" in one_error_line(r), r


# --- agents -------------------------------------------------------------------------

def test_agents_remove(home, stack, admin_token, agent_token, auditor_env):
    name = "vrcli-gone-" + uid()
    status, snap = call(stack, "GET", "/api/v1/agent/snapshot", agent_token)
    assert status == 200, snap
    status, reply = call(stack, "POST", "/api/v1/agent/heartbeat", agent_token, {
        "name": name, "applied_version": snap["version"], "postfix": "running"})
    assert status == 204, reply
    try:
        assert name in run(home, "agents").out
        r = run(home, "agents", "remove", name, env=auditor_env)
        assert r.rc == 3, r
        r = run(home, "agents", "remove", name)
        assert r.rc == 0 and r.out == "Removed agent %s.\n" % name, r
    finally:
        call(stack, "DELETE", "/api/v1/agents/" + name, admin_token)
    assert name not in run(home, "agents").out
    r = run(home, "--json", "agents", "remove", name)
    assert r.rc == 4 and r.out == "", r
    one_error_line(r)
