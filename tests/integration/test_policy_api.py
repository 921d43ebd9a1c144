"""test_policy_api - mail policy, relay domains, internal networks and agents, from outside.

Covers /tmp/contract2.md as openapi/openapi.yaml states it: GET/PATCH /api/v1/policy and each
of its validation rules, the verification cache flush, domains and networks (create, read,
change, delete, canonical forms, duplicates, bad input), the role matrix, configuration
versions (+1 per change, unchanged by a refused one), the audit event of each change (before
and after as JSON in `detail`), the agent snapshot (ETag, 304, long poll), heartbeats, the
agents list and the `agent:<name>` checks of /readyz. Every response goes through vrapi.Api,
so it is also checked against the spec. A refused request is checked to have changed nothing
(policy, domains, networks, version, snapshot, audit log).

Side effects: the module registers one agent (AGENT) and leaves it healthy (a good heartbeat
at the end), deletes the domains and networks it creates, and puts the policy back as it
found it (which makes more configuration versions). An agent cannot be removed: 90 s after
its last heartbeat it is `lost`, and /readyz answers 503 from then on.
"""

import datetime
import json
import threading
import time
import uuid

import pytest

import vrapi
from vrapi import parse_time, utcnow

POLICY = "/api/v1/policy"
FLUSH = "/api/v1/policy/verify-cache/flush"
DOMAINS = "/api/v1/domains"
NETWORKS = "/api/v1/networks"
SNAPSHOT = "/api/v1/agent/snapshot"
HEARTBEAT = "/api/v1/agent/heartbeat"
AGENTS = "/api/v1/agents"
AUDIT = "/api/v1/audit"
READYZ = "/readyz"

AGENT = "pytest-%s" % uuid.uuid4().hex[:8]  # the one agent this module registers
AGENT_IP = "127.0.0.52"
SETTABLE = ("hostname", "inbound_address", "inbound_port", "outbound_address", "outbound_port",
            "reinject_address", "reinject_port", "message_size_limit", "outbound_mode",
            "smarthost_host", "smarthost_port", "verify_positive_ttl", "verify_negative_ttl",
            "tls_inbound_cert", "tls_inbound_key", "tls_outbound")


def dom(prefix="d"):
    """dom - a fresh domain name"""
    return "%s%s.test" % (prefix, uuid.uuid4().hex[:10])


def assert_problem(r, status, code, field=None):
    """assert_problem - r is a problem with this status and code (and field, if given)"""
    assert r.status == status, r
    p = r.problem
    assert p["code"] == code, r
    if field is not None:
        assert p.get("field") == field, r
    return p


def get_policy(client):
    r = client.get(POLICY)
    assert r.status == 200, r
    return r.json


def version(client):
    return get_policy(client)["version"]


def snapshot(client):
    """snapshot - (snapshot, ETag) of the current configuration"""
    r = client.get(SNAPSHOT)
    assert r.status == 200, r
    assert r.header("ETag") == '"v%d"' % r.json["version"], r
    return r.json, r.header("ETag")


def newest_event(admin):
    r = admin.get(AUDIT, params={"limit": 1})
    assert r.status == 200, r
    return r.json["items"][0]["id"] if r.json["items"] else None


def events_after(admin, event_id):
    """events_after - the audit events newer than event_id, oldest first"""
    r = admin.get(AUDIT, params={"limit": 50})
    assert r.status == 200, r
    out = []
    for e in r.json["items"]:
        if e["id"] == event_id:
            break
        out.append(e)
    else:
        assert event_id is None, "more than 50 events since %s" % event_id
    return out[::-1]


def listing(client, path):
    r = client.get(path)
    assert r.status == 200, r
    return r.json["items"]


def state(admin):
    """state - everything a configuration change touches"""
    snap, etag = snapshot(admin)
    snap.pop("generated_at")
    return {"policy": get_policy(admin), "domains": listing(admin, DOMAINS),
            "networks": listing(admin, NETWORKS), "snapshot": snap, "etag": etag,
            "event": newest_event(admin)}


class NoChange:
    """with NoChange(admin): ... - policy, domains, networks, version, snapshot and audit log
    end as they began"""

    def __init__(self, admin):
        self.admin = admin

    def __enter__(self):
        self.before = state(self.admin)
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            return False
        after = state(self.admin)
        for k in self.before:
            assert after[k] == self.before[k], "%s changed: %r -> %r" % (
                k, self.before[k], after[k])
        return False


class Change:
    """with Change(admin, action, target) as ch: <one change> - exactly one new configuration
    version (the policy's and the snapshot's) and exactly one audit event for it:
    ch.version, ch.event, ch.detail (before/after), ch.snapshot"""

    def __init__(self, admin, action, target):
        self.admin, self.action, self.target = admin, action, target

    def __enter__(self):
        self.v0 = version(self.admin)
        self.e0 = newest_event(self.admin)
        self.t0 = (utcnow() - datetime.timedelta(seconds=1)).replace(microsecond=0)
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            return False
        admin = self.admin
        self.version = version(admin)
        assert self.version == self.v0 + 1, "version %d -> %d" % (self.v0, self.version)
        new = events_after(admin, self.e0)
        assert len(new) == 1, "expected one audit event, got %s" % json.dumps(new, indent=1)
        e = self.event = new[0]
        me = admin.get("/api/v1/me").json["username"]
        assert (e["action"], e["target"], e["outcome"], e["actor"]) == (
            self.action, self.target, "success", me), e
        assert self.t0 <= parse_time(e["time"]) <= utcnow() + datetime.timedelta(seconds=5), e
        assert e["detail"] is not None, e
        self.detail = json.loads(e["detail"])
        assert set(self.detail) == {"before", "after", "version"}, e
        assert self.detail["version"] == self.version, e
        self.snapshot, etag = snapshot(admin)
        assert self.snapshot["version"] == self.version and etag == '"v%d"' % self.version
        assert abs((parse_time(self.snapshot["generated_at"]) - utcnow()).total_seconds()) < 60
        return False


def heartbeat(client, name=AGENT, applied=None, postfix="running", **extra):
    body = {"name": name, "applied_version": applied, "postfix": postfix}
    body.update(extra)
    return client.post(HEARTBEAT, body)


def agent_entry(admin, name=AGENT):
    found = [a for a in listing(admin, AGENTS) if a["name"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def readyz(api):
    r = api.get(READYZ)
    assert r.status in (200, 503), r
    return r


@pytest.fixture(scope="module", autouse=True)
def restore(_admin_session, api):
    """Put back the policy as the module found it; leave AGENT healthy."""
    admin = _admin_session.client()
    original = get_policy(admin)
    yield
    admin = _admin_session.client()
    now = get_policy(admin)
    body = {}
    for k in SETTABLE:
        if now[k] != original[k]:
            if original[k] is None and k in ("smarthost_host", "tls_inbound_cert",
                                             "tls_inbound_key"):
                body[k] = ""
            elif original[k] is not None:
                body[k] = original[k]
    if body:
        r = admin.patch(POLICY, body)
        assert r.status == 200, r
    if agent_entry(admin) is not None:
        r = heartbeat(admin, applied=version(admin), started_at="2026-01-02T03:04:05Z")
        assert r.status == 204, r
        assert readyz(api).status == 200


# --- policy ---------------------------------------------------------------------------

def test_readyz_without_agents(api, admin):
    if listing(admin, AGENTS):
        pytest.skip("agents are registered already (a reused stack)")
    r = readyz(api)
    assert r.status == 200, r
    assert [c["name"] for c in r.json["checks"]] == ["database"], r


def test_policy_get(admin, make_token):
    p = get_policy(admin)
    assert p["version"] >= 1
    assert set(p) == set(SETTABLE) | {"version"}
    auditor, _ = make_token("auditor")
    assert get_policy(auditor) == p
    snap, etag = snapshot(admin)
    assert snap["version"] == p["version"] and etag == '"v%d"' % p["version"]
    assert snap["hostname"] == p["hostname"]
    assert snap["listeners"] == {
        "inbound": {"address": p["inbound_address"], "port": p["inbound_port"]},
        "outbound": {"address": p["outbound_address"], "port": p["outbound_port"]},
        "reinject": {"address": p["reinject_address"], "port": p["reinject_port"]}}
    assert snap["message_size_limit"] == p["message_size_limit"]
    assert snap["verify_cache"]["positive_ttl"] == p["verify_positive_ttl"]
    assert snap["verify_cache"]["negative_ttl"] == p["verify_negative_ttl"]
    assert snap["tls"] == {"inbound_cert": p["tls_inbound_cert"],
                           "inbound_key": p["tls_inbound_key"], "outbound": p["tls_outbound"]}


def _bad_policy_bodies(p):
    """(what, body, code, field) for the current policy p"""
    inb, outb, rei = p["inbound_port"], p["outbound_port"], p["reinject_port"]
    free = next(n for n in range(2525, 2600) if n not in (inb, outb, rei))
    cases = [
        ("hostname an IPv4", {"hostname": "192.0.2.1"}, "invalid-field", "hostname"),
        ("hostname an IPv6", {"hostname": "2001:db8::1"}, "invalid-field", "hostname"),
        ("hostname underscore", {"hostname": "mx_1.example.com"}, "invalid-field", "hostname"),
        ("hostname leading -", {"hostname": "-mx.example.com"}, "invalid-field", "hostname"),
        ("hostname empty label", {"hostname": "mx..example.com"}, "invalid-field", "hostname"),
        ("hostname empty", {"hostname": ""}, "invalid-field", "hostname"),
        ("hostname of 254", {"hostname": ("a" * 62 + ".") * 4 + "ab"}, "invalid-field",
         "hostname"),
        ("hostname not a string", {"hostname": 5}, "invalid-field", "hostname"),
        ("inbound_address a name", {"inbound_address": "mx.example.com"}, "invalid-field",
         "inbound_address"),
        ("inbound_address 999", {"inbound_address": "999.1.1.1"}, "invalid-field",
         "inbound_address"),
        ("outbound_address short", {"outbound_address": "10.1.2"}, "invalid-field",
         "outbound_address"),
        ("outbound_address cidr", {"outbound_address": "10.0.0.0/8"}, "invalid-field",
         "outbound_address"),
        ("reinject_address public", {"reinject_address": "192.0.2.1"}, "invalid-field",
         "reinject_address"),
        ("reinject_address any", {"reinject_address": "0.0.0.0"}, "invalid-field",
         "reinject_address"),
        ("reinject_address ::", {"reinject_address": "::"}, "invalid-field", "reinject_address"),
        ("reinject_address garbage", {"reinject_address": "loopback"}, "invalid-field",
         "reinject_address"),
        ("outbound_port = inbound_port", {"outbound_port": inb}, "invalid-field",
         "outbound_port"),
        ("inbound_port = outbound_port", {"inbound_port": outb, "reinject_port": free},
         "invalid-field", "outbound_port"),
        ("reinject_port = inbound_port", {"reinject_port": inb}, "invalid-field",
         "reinject_port"),
        ("reinject_port = outbound_port", {"reinject_port": outb}, "invalid-field",
         "reinject_port"),
        ("inbound_port = reinject_port", {"inbound_port": rei}, "invalid-field",
         "reinject_port"),
        ("smarthost without host", {"outbound_mode": "smarthost", "smarthost_host": "",
                                    "smarthost_port": 587}, "invalid-field", "smarthost_host"),
        ("smarthost_host bad", {"smarthost_host": "relay host"}, "invalid-field",
         "smarthost_host"),
        ("cert without key", {"tls_inbound_cert": "/etc/vrgate/mx.pem", "tls_inbound_key": ""},
         "invalid-field", "tls_inbound_key"),
        ("key without cert", {"tls_inbound_cert": "", "tls_inbound_key": "/etc/vrgate/mx.key"},
         "invalid-field", "tls_inbound_cert"),
        ("relative cert", {"tls_inbound_cert": "mx.pem", "tls_inbound_key": "/etc/mx.key"},
         "invalid-field", "tls_inbound_cert"),
        ("relative key", {"tls_inbound_cert": "/etc/mx.pem", "tls_inbound_key": "mx.key"},
         "invalid-field", "tls_inbound_key"),
        ("message_size_limit 10239", {"message_size_limit": 10239}, "invalid-field",
         "message_size_limit"),
        ("message_size_limit 2^31", {"message_size_limit": 2147483648}, "invalid-field",
         "message_size_limit"),
        ("message_size_limit a string", {"message_size_limit": "10240"}, "invalid-field",
         "message_size_limit"),
        ("verify_positive_ttl 59", {"verify_positive_ttl": 59}, "invalid-field",
         "verify_positive_ttl"),
        ("verify_positive_ttl 2592001", {"verify_positive_ttl": 2592001}, "invalid-field",
         "verify_positive_ttl"),
        ("verify_negative_ttl 9", {"verify_negative_ttl": 9}, "invalid-field",
         "verify_negative_ttl"),
        ("outbound_mode unknown", {"outbound_mode": "direct"}, "invalid-field", "outbound_mode"),
        ("tls_outbound unknown", {"tls_outbound": "required"}, "invalid-field", "tls_outbound"),
        ("version", {"version": p["version"] + 5}, "unknown-field", "version"),
        ("unknown field", {"relay_domains": []}, "unknown-field", "relay_domains"),
        ("one bad field among good ones", {"message_size_limit": p["message_size_limit"] + 1024,
                                           "reinject_address": "192.0.2.7"},
         "invalid-field", "reinject_address"),
    ]
    for f in ("inbound_port", "outbound_port", "reinject_port", "smarthost_port"):
        for v in (0, 65536, -1, "25", 25.5, True):  # null means "leave as it is"
            cases.append(("%s %r" % (f, v), {f: v}, "invalid-field", f))
    if p["smarthost_port"] is None:
        cases.append(("smarthost without port", {"outbound_mode": "smarthost",
                                                 "smarthost_host": "relay.example.net"},
                      "invalid-field", "smarthost_port"))
    return cases


def test_policy_patch_rejected(admin, spec):
    p = get_policy(admin)
    assert p["outbound_mode"] == "mx" and p["tls_inbound_cert"] is None, \
        "the stack does not start from the default policy: %r" % p
    failures = []
    with NoChange(admin):
        for what, body, code, field in _bad_policy_bodies(p):
            r = admin.patch(POLICY, body)
            if r.status != 400 or r.problem["code"] != code or r.problem.get("field") != field:
                failures.append("%s: %s -> expected 400 %s field %s, got %r" % (
                    what, json.dumps(body), code, field, r))
        for raw in (b'{"hostname": ', b"[]", b"", b"null"):
            r = admin.patch(POLICY, body=raw, content_type="application/json")
            if r.status != 400 or r.problem["code"] != "bad-json":
                failures.append("%r -> expected 400 bad-json, got %r" % (raw, r))
        assert_problem(admin.patch(POLICY, body=b'{"hostname": "a.example.com"}',
                                   content_type="text/plain"), 415, "unsupported-media-type")
    assert not failures, "\n".join(failures)


def test_policy_patch(admin):
    p0 = get_policy(admin)
    size = p0["message_size_limit"] + 1048576
    with Change(admin, "policy.update", "policy") as ch:
        r = admin.patch(POLICY, {"message_size_limit": size, "hostname": "MX.Example-Test.com",
                                 "verify_negative_ttl": 120})
        assert r.status == 200, r
    assert r.json["version"] == ch.version
    want = dict(p0, message_size_limit=size, hostname=r.json["hostname"],
                verify_negative_ttl=120, version=ch.version)
    assert r.json == want
    assert r.json["hostname"].lower() == "mx.example-test.com"
    assert get_policy(admin) == want
    before, after = dict(p0), dict(want)
    del before["version"], after["version"]
    assert ch.detail["before"] == before and ch.detail["after"] == after, ch.detail
    assert ch.snapshot["message_size_limit"] == size
    assert ch.snapshot["hostname"] == r.json["hostname"]
    assert ch.snapshot["verify_cache"]["negative_ttl"] == 120

    # boundaries are accepted; each PATCH is one more version
    for body in ({"message_size_limit": 10240}, {"message_size_limit": 2147483647},
                 {"verify_positive_ttl": 60, "verify_negative_ttl": 2592000},
                 {"reinject_address": "::1"}, {"reinject_address": "127.0.0.2"},
                 {"inbound_address": "::", "outbound_address": "10.1.2.3"},
                 {"tls_outbound": "encrypt"}):
        with Change(admin, "policy.update", "policy") as ch:
            r = admin.patch(POLICY, body)
            assert r.status == 200, r
        for k, v in body.items():
            assert r.json[k] == v and ch.detail["after"][k] == v, (body, r)
    snap = ch.snapshot
    assert snap["listeners"]["inbound"]["address"] == "::"
    assert snap["listeners"]["outbound"]["address"] == "10.1.2.3"
    assert snap["listeners"]["reinject"]["address"] == "127.0.0.2"
    assert snap["message_size_limit"] == 2147483647
    assert snap["tls"]["outbound"] == "encrypt"


def test_policy_smarthost(admin):
    with Change(admin, "policy.update", "policy") as ch:
        r = admin.patch(POLICY, {"outbound_mode": "smarthost",
                                 "smarthost_host": "relay.example.net", "smarthost_port": 587})
        assert r.status == 200, r
    assert (r.json["outbound_mode"], r.json["smarthost_host"], r.json["smarthost_port"]) == (
        "smarthost", "relay.example.net", 587)
    assert ch.snapshot["outbound"] == {"mode": "smarthost", "smarthost_host": "relay.example.net",
                                       "smarthost_port": 587}
    assert ch.detail["before"]["outbound_mode"] == "mx"
    assert ch.detail["after"]["smarthost_host"] == "relay.example.net"
    # clearing the host while in smarthost mode is refused
    with NoChange(admin):
        assert_problem(admin.patch(POLICY, {"smarthost_host": ""}), 400, "invalid-field",
                       "smarthost_host")
    with Change(admin, "policy.update", "policy") as ch:
        r = admin.patch(POLICY, {"outbound_mode": "mx", "smarthost_host": ""})
        assert r.status == 200, r
    assert r.json["outbound_mode"] == "mx" and r.json["smarthost_host"] is None
    assert ch.snapshot["outbound"] == {"mode": "mx"}


def test_policy_tls_paths(admin):
    with Change(admin, "policy.update", "policy") as ch:
        r = admin.patch(POLICY, {"tls_inbound_cert": "/etc/vrgate/tls/mx.pem",
                                 "tls_inbound_key": "/etc/vrgate/tls/mx.key"})
        assert r.status == 200, r
    assert ch.snapshot["tls"]["inbound_cert"] == "/etc/vrgate/tls/mx.pem"
    assert ch.snapshot["tls"]["inbound_key"] == "/etc/vrgate/tls/mx.key"
    with NoChange(admin):
        assert_problem(admin.patch(POLICY, {"tls_inbound_key": ""}), 400, "invalid-field",
                       "tls_inbound_key")
    with Change(admin, "policy.update", "policy") as ch:
        r = admin.patch(POLICY, {"tls_inbound_cert": "", "tls_inbound_key": ""})
        assert r.status == 200, r
    assert (r.json["tls_inbound_cert"], r.json["tls_inbound_key"]) == (None, None)
    assert (ch.snapshot["tls"]["inbound_cert"], ch.snapshot["tls"]["inbound_key"]) == (None, None)


def test_verify_cache_flush(admin):
    gen = snapshot(admin)[0]["verify_cache"]["flush_generation"]
    for i in (1, 2):
        with Change(admin, "policy.verify_cache_flush", "policy") as ch:
            r = admin.post(FLUSH)
            assert r.status == 202, r
        assert r.json == {"version": ch.version}
        assert ch.detail == {"before": None, "after": None, "version": ch.version}
        assert ch.snapshot["verify_cache"]["flush_generation"] == gen + i
    with NoChange(admin):
        assert_problem(admin.post(FLUSH, {"now": True}), 413, "payload-too-large")


def test_versions_count_changes(admin):
    """Each change is one version more; a refused change is none."""
    v = version(admin)
    name = dom("v")
    steps = [
        lambda: admin.post(DOMAINS, {"name": name, "internal_host": "10.9.9.9"}),
        lambda: admin.post(FLUSH),
        lambda: admin.patch(POLICY, {"verify_positive_ttl": 7200}),
        lambda: admin.post(FLUSH),
    ]
    for i, step in enumerate(steps, 1):
        r = step()
        assert r.status in (200, 201, 202), r
        assert version(admin) == v + i
        with NoChange(admin):
            assert_problem(admin.post(DOMAINS, {"name": name.upper(), "internal_host": "x.test"}),
                           409, "conflict", "name")
            assert_problem(admin.patch(POLICY, {"outbound_port": get_policy(admin)
                                                ["inbound_port"]}),
                           400, "invalid-field", "outbound_port")
    d = [x for x in listing(admin, DOMAINS) if x["name"] == name][0]
    assert admin.delete(DOMAINS + "/" + d["id"]).status == 204
    assert version(admin) == v + len(steps) + 1


# --- domains --------------------------------------------------------------------------

def test_domain_lifecycle(admin, make_token):
    name = dom("Life-")
    t0 = (utcnow() - datetime.timedelta(seconds=1)).replace(microsecond=0)
    with Change(admin, "domain.create", name.lower()) as ch:
        r = admin.post(DOMAINS, {"name": name.upper(), "internal_host": "Exchange.Corp.test"})
        assert r.status == 201, r
    d = r.json
    assert r.header("Location") == DOMAINS + "/" + d["id"]
    assert (d["name"], d["internal_host"], d["internal_port"], d["verify_recipients"]) == (
        name.lower(), "Exchange.Corp.test", 25, True)
    assert t0 <= parse_time(d["created_at"]) <= utcnow() + datetime.timedelta(seconds=5)
    assert ch.detail["before"] is None and ch.detail["after"] == d
    assert {"name": d["name"], "internal_host": d["internal_host"], "internal_port": 25,
            "verify_recipients": True} in ch.snapshot["domains"]

    r = admin.get(DOMAINS + "/" + d["id"])
    assert r.status == 200 and r.json == d, r
    auditor, _ = make_token("auditor")
    assert auditor.get(DOMAINS + "/" + d["id"]).json == d
    assert d in listing(auditor, DOMAINS)

    with Change(admin, "domain.update", d["name"]) as ch:
        r = admin.patch(DOMAINS + "/" + d["id"], {"internal_port": 2525,
                                                   "verify_recipients": False})
        assert r.status == 200, r
    d2 = dict(d, internal_port=2525, verify_recipients=False)
    assert r.json == d2 and admin.get(DOMAINS + "/" + d["id"]).json == d2
    assert ch.detail["before"] == d and ch.detail["after"] == d2
    entry = [x for x in ch.snapshot["domains"] if x["name"] == d["name"]]
    assert entry == [{"name": d["name"], "internal_host": "Exchange.Corp.test",
                      "internal_port": 2525, "verify_recipients": False}]

    renamed = dom("Renamed-")
    with Change(admin, "domain.update", renamed.lower()) as ch:
        r = admin.patch(DOMAINS + "/" + d["id"], {"name": renamed.upper(),
                                                   "internal_host": "192.0.2.25"})
        assert r.status == 200, r
    d3 = dict(d2, name=renamed.lower(), internal_host="192.0.2.25")
    assert r.json == d3 and ch.detail["before"] == d2 and ch.detail["after"] == d3
    names = [x["name"] for x in ch.snapshot["domains"]]
    assert d3["name"] in names and d["name"] not in names

    with Change(admin, "domain.delete", d3["name"]) as ch:
        r = admin.delete(DOMAINS + "/" + d["id"])
        assert r.status == 204 and r.body == b"", r
    assert ch.detail["before"] == d3 and ch.detail["after"] is None
    assert d3["name"] not in [x["name"] for x in ch.snapshot["domains"]]
    with NoChange(admin):
        assert_problem(admin.get(DOMAINS + "/" + d["id"]), 404, "not-found")
        assert_problem(admin.delete(DOMAINS + "/" + d["id"]), 404, "not-found")
        assert_problem(admin.patch(DOMAINS + "/" + d["id"], {"internal_port": 26}), 404,
                       "not-found")
        assert_problem(admin.get(DOMAINS + "/" + uuid.uuid4().hex), 404, "not-found")


def test_domain_defaults_and_ipv6_host(admin):
    name = dom("v6-")
    r = admin.post(DOMAINS, {"name": name, "internal_host": "2001:db8::25",
                             "internal_port": 587, "verify_recipients": False})
    assert r.status == 201, r
    try:
        assert (r.json["internal_host"], r.json["internal_port"], r.json["verify_recipients"]) \
            == ("2001:db8::25", 587, False)
    finally:
        assert admin.delete(DOMAINS + "/" + r.json["id"]).status == 204


def test_domain_list_sorted(admin):
    made = []
    try:
        for n in ("zz", "aa", "mm"):
            r = admin.post(DOMAINS, {"name": "%s-%s.test" % (n, uuid.uuid4().hex[:6]),
                                     "internal_host": "10.0.0.1"})
            assert r.status == 201, r
            made.append(r.json["id"])
        names = [d["name"] for d in listing(admin, DOMAINS)]
        assert names == sorted(names), names
        snap_names = [d["name"] for d in snapshot(admin)[0]["domains"]]
        assert snap_names == names
    finally:
        for i in made:
            assert admin.delete(DOMAINS + "/" + i).status == 204


def test_domain_duplicates(admin):
    a, b = dom("dupa-"), dom("dupb-")
    ra = admin.post(DOMAINS, {"name": a, "internal_host": "10.0.0.1"})
    rb = admin.post(DOMAINS, {"name": b, "internal_host": "10.0.0.2"})
    assert ra.status == 201 and rb.status == 201, (ra, rb)
    try:
        with NoChange(admin):
            for n in (a, a.upper(), a[:1].upper() + a[1:]):
                assert_problem(admin.post(DOMAINS, {"name": n, "internal_host": "10.0.0.3"}),
                               409, "conflict", "name")
            for n in (a, a.upper()):
                assert_problem(admin.patch(DOMAINS + "/" + rb.json["id"], {"name": n}), 409,
                               "conflict", "name")
        # its own name, in another case, is no conflict
        r = admin.patch(DOMAINS + "/" + ra.json["id"], {"name": a.upper()})
        assert r.status == 200 and r.json["name"] == a, r
    finally:
        for r in (ra, rb):
            assert admin.delete(DOMAINS + "/" + r.json["id"]).status == 204


BAD_DOMAIN_NAMES = ["bad_domain", "localhost", "-x.com", "x-.com", "a..b", "corp.test;rm",
                    ".example.com", "exa mple.com", "a" * 64 + ".com",
                    ("a" * 63 + ".") * 4 + "com", "", "caf\u00e9.example", 5, None, ["a.com"]]


def _bad_domain_bodies():
    cases = [("name %r" % (n if not isinstance(n, str) else n[:30]),
              {"name": n, "internal_host": "10.0.0.1"}, "invalid-field", "name")
             for n in BAD_DOMAIN_NAMES]
    for h in ("bad host", "exch_1.corp.test", "", "-x.corp.test", "10.0.0.1;rm", 25):
        cases.append(("internal_host %r" % h, {"name": "ok.test", "internal_host": h},
                      "invalid-field", "internal_host"))
    # null for an optional field means "not given" (the spec's conventions): not a refusal
    for port in (0, 65536, -25, "25", 25.5, True):
        cases.append(("internal_port %r" % port, {"name": "ok.test", "internal_host": "10.0.0.1",
                                                  "internal_port": port},
                      "invalid-field", "internal_port"))
    for v in ("yes", 1):
        cases.append(("verify_recipients %r" % v, {"name": "ok.test", "internal_host": "h.test",
                                                   "verify_recipients": v},
                      "invalid-field", "verify_recipients"))
    cases += [
        ("missing name", {"internal_host": "10.0.0.1"}, "missing-field", "name"),
        ("missing internal_host", {"name": "ok.test"}, "missing-field", "internal_host"),
        ("unknown field id", {"name": "ok.test", "internal_host": "10.0.0.1", "id": "x"},
         "unknown-field", "id"),
        ("unknown field created_at", {"name": "ok.test", "internal_host": "10.0.0.1",
                                      "created_at": "2026-01-01T00:00:00Z"},
         "unknown-field", "created_at"),
    ]
    return cases


def test_domain_create_rejected(admin):
    failures = []
    with NoChange(admin):
        for what, body, code, field in _bad_domain_bodies():
            r = admin.post(DOMAINS, body)
            if r.status != 400 or r.problem["code"] != code or r.problem.get("field") != field:
                failures.append("%s: %s -> expected 400 %s field %s, got %r" % (
                    what, json.dumps(body)[:120], code, field, r))
        assert_problem(admin.post(DOMAINS, body=b'{"name": "a.test"',
                                  content_type="application/json"), 400, "bad-json")
        assert_problem(admin.post(DOMAINS, body=b'{"name": "a.test", "internal_host": "h.test"}',
                                  content_type="text/plain"), 415, "unsupported-media-type")
    assert not failures, "\n".join(failures)


def test_domain_patch_rejected(admin):
    r = admin.post(DOMAINS, {"name": dom("patch-"), "internal_host": "10.0.0.1"})
    assert r.status == 201, r
    path = DOMAINS + "/" + r.json["id"]
    failures = []
    try:
        with NoChange(admin):
            for what, body, code, field in _bad_domain_bodies():
                if code == "missing-field":
                    continue  # nothing is required in a PATCH
                if body.get(field, 0) is None:
                    continue  # null in a PATCH means "leave as it is"
                body = {k: v for k, v in body.items()
                        if k == field or k not in ("name", "internal_host")}
                r2 = admin.patch(path, body)
                if r2.status != 400 or r2.problem["code"] != code or \
                        r2.problem.get("field") != field:
                    failures.append("%s: %s -> expected 400 %s field %s, got %r" % (
                        what, json.dumps(body)[:120], code, field, r2))
    finally:
        assert admin.delete(path).status == 204
    assert not failures, "\n".join(failures)


def test_domain_name_bounds(admin):
    for name in ("a" * 63 + ".test", "x.y", ".".join(["a" * 61] * 4) + ".ab"):
        assert len(name) <= 253
        r = admin.post(DOMAINS, {"name": name, "internal_host": "10.0.0.1"})
        assert r.status == 201 and r.json["name"] == name, r
        assert admin.delete(DOMAINS + "/" + r.json["id"]).status == 204


# --- networks -------------------------------------------------------------------------

CANONICAL = [
    ("127.0.0.10", "127.0.0.10/32"),
    ("2001:DB8::/32", "2001:db8::/32"),
    ("10.20.0.0/16", "10.20.0.0/16"),
    ("2001:db8:0:0:0:0:0:1", "2001:db8::1/128"),
    ("192.0.2.128/25", "192.0.2.128/25"),
    ("FD00:0:0:0::/8", "fd00::/8"),
]


@pytest.mark.parametrize("given,canonical", CANONICAL, ids=[c[0] for c in CANONICAL])
def test_network_lifecycle(admin, make_token, given, canonical):
    with Change(admin, "network.create", canonical) as ch:
        r = admin.post(NETWORKS, {"cidr": given})
        assert r.status == 201, r
    n = r.json
    assert r.header("Location") == NETWORKS + "/" + n["id"]
    assert n["cidr"] == canonical and n["description"] is None, n
    assert ch.detail["before"] is None and ch.detail["after"] == n
    assert canonical in ch.snapshot["internal_networks"]
    auditor, _ = make_token("auditor")
    assert n in listing(auditor, NETWORKS)
    with NoChange(admin):
        for dup in (given, canonical, given.lower(), given.upper()):
            assert_problem(admin.post(NETWORKS, {"cidr": dup}), 409, "conflict", "cidr")
    with Change(admin, "network.delete", canonical) as ch:
        r = admin.delete(NETWORKS + "/" + n["id"])
        assert r.status == 204 and r.body == b"", r
    assert ch.detail["before"] == n and ch.detail["after"] is None
    assert canonical not in ch.snapshot["internal_networks"]
    assert n["id"] not in [x["id"] for x in listing(admin, NETWORKS)]
    with NoChange(admin):
        assert_problem(admin.delete(NETWORKS + "/" + n["id"]), 404, "not-found")


def test_network_description(admin):
    r = admin.post(NETWORKS, {"cidr": "10.77.0.0/16", "description": "d" * 200})
    assert r.status == 201, r
    try:
        assert r.json["description"] == "d" * 200
        assert r.json in listing(admin, NETWORKS)
    finally:
        assert admin.delete(NETWORKS + "/" + r.json["id"]).status == 204


BAD_CIDRS = ["10.0.0.1/8", "10.0.0.0/33", "2001:db8::1/32", "::/129", "garbage", "10.0.0.0/",
             "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.256", "10.0.0/8", "",
             "10.0.0.0/08x", "mx.example.com", 10, None]


def test_network_create_rejected(admin):
    failures = []
    cases = [("cidr %r" % c, {"cidr": c}, "invalid-field", "cidr") for c in BAD_CIDRS]
    cases += [
        ("description of 201", {"cidr": "10.78.0.0/16", "description": "d" * 201},
         "invalid-field", "description"),
        ("description a number", {"cidr": "10.78.0.0/16", "description": 5}, "invalid-field",
         "description"),
        ("missing cidr", {"description": "x"}, "missing-field", "cidr"),
        ("unknown field", {"cidr": "10.78.0.0/16", "id": "x"}, "unknown-field", "id"),
    ]
    with NoChange(admin):
        for what, body, code, field in cases:
            r = admin.post(NETWORKS, body)
            if r.status != 400 or r.problem["code"] != code or r.problem.get("field") != field:
                failures.append("%s -> expected 400 %s field %s, got %r" % (what, code, field, r))
        assert_problem(admin.delete(NETWORKS + "/" + uuid.uuid4().hex), 404, "not-found")
    assert not failures, "\n".join(failures)


# --- roles ----------------------------------------------------------------------------

def _writes(admin):
    """_writes - (method, path, body) of every writing request, on objects that exist"""
    d = admin.post(DOMAINS, {"name": dom("role-"), "internal_host": "10.0.0.1"})
    n = admin.post(NETWORKS, {"cidr": "10.%d.0.0/16" % (100 + uuid.uuid4().int % 100)})
    assert d.status == 201 and n.status == 201, (d, n)
    return d.json, n.json, [
        ("PATCH", POLICY, {"message_size_limit": 20480}),
        ("POST", FLUSH, None),
        ("POST", DOMAINS, {"name": dom("role-"), "internal_host": "10.0.0.1"}),
        ("PATCH", DOMAINS + "/" + d.json["id"], {"internal_port": 26}),
        ("DELETE", DOMAINS + "/" + d.json["id"], None),
        ("POST", NETWORKS, {"cidr": "10.250.0.0/16"}),
        ("DELETE", NETWORKS + "/" + n.json["id"], None),
    ]


def test_role_matrix(api, admin, make_token):
    d, n, writes = _writes(admin)
    reads = [POLICY, DOMAINS, DOMAINS + "/" + d["id"], NETWORKS, AGENTS]
    agent_routes = [("GET", SNAPSHOT, None),
                    ("POST", HEARTBEAT, {"name": AGENT, "applied_version": 0,
                                         "postfix": "unknown"})]
    try:
        auditor, _ = make_token("auditor")
        helpdesk, _ = make_token("helpdesk")
        user, _ = make_token("user")
        agent, _ = make_token("agent")
        with NoChange(admin):
            for path in reads:
                assert auditor.get(path).status == 200, path
                for c in (helpdesk, user, agent):
                    assert_problem(c.get(path), 403, "forbidden")
                assert_problem(api.get(path), 401, "unauthorized")
            for method, path, body in writes + agent_routes:
                for c in (auditor, helpdesk, user):
                    assert_problem(c.request(method, path, json_body=body), 403, "forbidden")
                assert_problem(api.request(method, path, json_body=body), 401, "unauthorized")
            for method, path, body in writes:
                assert_problem(agent.request(method, path, json_body=body), 403, "forbidden")
            assert agent.get(SNAPSHOT).status == 200
    finally:
        assert admin.delete(DOMAINS + "/" + d["id"]).status == 204
        assert admin.delete(NETWORKS + "/" + n["id"]).status == 204


def test_methods_not_allowed(admin):
    with NoChange(admin):
        for method, path in (("PUT", POLICY), ("DELETE", POLICY), ("POST", POLICY),
                             ("GET", FLUSH), ("PUT", DOMAINS + "/x"), ("POST", DOMAINS + "/x"),
                             ("DELETE", DOMAINS), ("GET", NETWORKS + "/x"),
                             ("PATCH", NETWORKS + "/x"), ("POST", SNAPSHOT),
                             ("GET", HEARTBEAT), ("POST", AGENTS)):
            assert_problem(admin.request(method, path), 405, "method-not-allowed")


def test_refused_bodies_and_urls(admin, make_token):
    agent, _ = make_token("agent")
    big = b'{"name": "x", "pad": "' + b"p" * (2 * 1024 * 1024) + b'"}'
    with NoChange(admin):
        for client, method, path in ((admin, "PATCH", POLICY), (admin, "POST", DOMAINS),
                                     (admin, "PATCH", DOMAINS + "/x"), (admin, "POST", NETWORKS),
                                     (agent, "POST", HEARTBEAT)):
            assert_problem(client.request(method, path, body=b'{"name": "x"}',
                                          content_type="text/plain"),
                           415, "unsupported-media-type")
            assert_problem(client.request_streaming(method, path, big), 413, "payload-too-large")
        for method, path in (("POST", FLUSH), ("DELETE", DOMAINS + "/x"),
                             ("DELETE", NETWORKS + "/x")):
            assert_problem(admin.request(method, path, body=b"{}",
                                         content_type="application/json"),
                           413, "payload-too-large")
        for client, path in ((admin, POLICY + "?w=" + "w" * 3000),
                             (agent, SNAPSHOT + "?wait=" + "1" * 3000),
                             (admin, AGENTS + "?w=" + "w" * 3000),
                             (admin, DOMAINS + "/" + "d" * 3000)):
            assert_problem(client.get(path), 414, "uri-too-long")


# --- snapshot -------------------------------------------------------------------------

def test_snapshot_conditional(admin, make_token):
    agent, _ = make_token("agent")
    snap, etag = snapshot(agent)
    assert snapshot(admin)[1] == etag
    r = agent.get(SNAPSHOT, headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b"" and r.header("ETag") == etag, r
    r = agent.get(SNAPSHOT, headers={"If-None-Match": etag}, params={"wait": 0})
    assert r.status == 304 and r.header("ETag") == etag, r
    older = '"v%d"' % (snap["version"] - 1)
    for inm in (older, '"v999999"', "garbage", '"%d"' % snap["version"], ""):
        r = agent.get(SNAPSHOT, headers={"If-None-Match": inm})
        assert r.status == 200 and r.header("ETag") == etag, (inm, r)
        assert r.json["version"] == snap["version"]
    # without If-None-Match, or naming an older version, a long poll answers at once
    for headers in ({}, {"If-None-Match": older}):
        t0 = time.monotonic()
        r = agent.get(SNAPSHOT, headers=headers, params={"wait": 20})
        assert r.status == 200 and r.header("ETag") == etag, r
        assert time.monotonic() - t0 < 1.5, "a poll with nothing to wait for waited"


@pytest.mark.parametrize("wait", ["61", "-1", "abc", "", "1.5", "2s", "100000000000000000000"])
def test_snapshot_bad_wait(admin, make_token, wait):
    agent, _ = make_token("agent")
    etag = snapshot(agent)[1]
    assert_problem(agent.get(SNAPSHOT, params={"wait": wait}, headers={"If-None-Match": etag}),
                   400, "bad-parameter", "wait")


def _at_fraction(frac):
    """_at_fraction - sleep until the wall clock's fraction of a second is frac"""
    now = time.time()
    time.sleep((frac - (now % 1.0)) % 1.0)


@pytest.mark.parametrize("frac", [0.05, 0.9])
def test_snapshot_long_poll_times_out(make_token, frac):
    """wait=2 with the current ETag: 304 after about 2 s, wherever in a second it starts"""
    agent, _ = make_token("agent")
    etag = snapshot(agent)[1]
    _at_fraction(frac)
    t0 = time.monotonic()
    r = agent.get(SNAPSHOT, params={"wait": 2}, headers={"If-None-Match": etag})
    took = time.monotonic() - t0
    assert r.status == 304 and r.body == b"" and r.header("ETag") == etag, r
    assert 1.5 <= took <= 5, "wait=2 answered after %.2f s" % took


def test_snapshot_long_poll_woken_by_change(stack, coverage, admin, make_token):
    _, tok = make_token("agent")
    etag = snapshot(admin)[1]
    v = int(etag.strip('"v'))
    out = {}
    # the thread's own client (a Spec serves one thread)
    c = vrapi.Api(stack.api_url, vrapi.Spec(), coverage, token=tok["token"])

    def poll():
        try:
            out["t0"] = time.monotonic()
            r = c.get(SNAPSHOT, params={"wait": 20}, headers={"If-None-Match": etag})
            out["t1"], out["r"] = time.monotonic(), r
        except BaseException as e:  # noqa: B902 - reported below
            out["error"] = e

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1.5)
    assert "r" not in out and "error" not in out, "the poll did not wait: %r" % out
    limit = 20480 if get_policy(admin)["message_size_limit"] != 20480 else 30720
    t_change = time.monotonic()
    r = admin.patch(POLICY, {"message_size_limit": limit})
    assert r.status == 200 and r.json["version"] == v + 1, r
    th.join(30)
    assert not th.is_alive(), "the poll did not come back"
    assert "error" not in out, out.get("error")
    r = out["r"]
    assert r.status == 200, r
    assert r.json["version"] == v + 1 and r.header("ETag") == '"v%d"' % (v + 1), r
    assert r.json["message_size_limit"] == limit
    assert out["t1"] >= t_change, "the poll answered before the change"
    assert out["t1"] - t_change < 5, "woken %.1f s after the change" % (out["t1"] - t_change)
    assert out["t1"] - out["t0"] < 10, "the poll took %.1f s" % (out["t1"] - out["t0"])


def test_snapshot_follows_changes(admin):
    name = dom("snap-")
    r = admin.post(DOMAINS, {"name": name, "internal_host": "mail.corp.test",
                             "internal_port": 2525, "verify_recipients": False})
    assert r.status == 201, r
    n = admin.post(NETWORKS, {"cidr": "2001:DB8:AB::/48", "description": "lab"})
    assert n.status == 201, n
    try:
        snap, etag = snapshot(admin)
        assert {"name": name, "internal_host": "mail.corp.test", "internal_port": 2525,
                "verify_recipients": False} in snap["domains"]
        assert "2001:db8:ab::/48" in snap["internal_networks"]
        assert sorted(snap["internal_networks"]) == sorted(
            x["cidr"] for x in listing(admin, NETWORKS))
        assert sorted(d["name"] for d in snap["domains"]) == sorted(
            d["name"] for d in listing(admin, DOMAINS))
    finally:
        assert admin.delete(DOMAINS + "/" + r.json["id"]).status == 204
        assert admin.delete(NETWORKS + "/" + n.json["id"]).status == 204
    snap2, etag2 = snapshot(admin)
    assert snap2["version"] == snap["version"] + 2 and etag2 != etag
    assert name not in [d["name"] for d in snap2["domains"]]
    assert "2001:db8:ab::/48" not in snap2["internal_networks"]


# --- heartbeats and agents ------------------------------------------------------------

def _bad_heartbeats():
    ok = {"name": AGENT + "-bad", "applied_version": 1, "postfix": "running"}
    cases = [
        ("missing name", {k: v for k, v in ok.items() if k != "name"}, "missing-field", "name"),
        ("missing applied_version", {k: v for k, v in ok.items() if k != "applied_version"},
         "missing-field", "applied_version"),
        ("missing postfix", {k: v for k, v in ok.items() if k != "postfix"}, "missing-field",
         "postfix"),
        ("name empty", dict(ok, name=""), "invalid-field", "name"),
        ("name of 101", dict(ok, name="n" * 101), "invalid-field", "name"),
        ("name a number", dict(ok, name=5), "invalid-field", "name"),
        ("postfix maybe", dict(ok, postfix="maybe"), "invalid-field", "postfix"),
        ("postfix null", dict(ok, postfix=None), "invalid-field", "postfix"),
        ("applied_version -1", dict(ok, applied_version=-1), "invalid-field", "applied_version"),
        ("applied_version a string", dict(ok, applied_version="1"), "invalid-field",
         "applied_version"),
        ("applied_version 1.5", dict(ok, applied_version=1.5), "invalid-field",
         "applied_version"),
        ("last_error of 2001", dict(ok, last_error="e" * 2001), "invalid-field", "last_error"),
        ("last_error a number", dict(ok, last_error=1), "invalid-field", "last_error"),
        ("started_at not a date", dict(ok, started_at="yesterday"), "invalid-field",
         "started_at"),
        ("started_at a number", dict(ok, started_at=1700000000), "invalid-field", "started_at"),
        ("unknown field", dict(ok, state="ok"), "unknown-field", "state"),
    ]
    return cases


def test_heartbeat_rejected(admin, make_token):
    agent, _ = make_token("agent")
    before = listing(admin, AGENTS)
    failures = []
    with NoChange(admin):
        for what, body, code, field in _bad_heartbeats():
            r = agent.post(HEARTBEAT, body)
            if r.status != 400 or r.problem["code"] != code or r.problem.get("field") != field:
                failures.append("%s -> expected 400 %s field %s, got %r" % (what, code, field, r))
        assert_problem(agent.post(HEARTBEAT, body=b"{", content_type="application/json"), 400,
                       "bad-json")
        assert_problem(agent.post(HEARTBEAT), 400, "bad-json")
    assert not failures, "\n".join(failures)
    names = {a["name"] for a in listing(admin, AGENTS)}
    assert names == {a["name"] for a in before}, "a refused heartbeat registered an agent"


def test_heartbeat_and_agents(api, admin, make_token):
    _, tok = make_token("agent")
    agent = api.as_(tok["token"], source_ip=AGENT_IP)
    auditor, _ = make_token("auditor")
    v = version(admin)
    started = "2026-01-02T03:04:05Z"
    t0 = (utcnow() - datetime.timedelta(seconds=1)).replace(microsecond=0)

    # up to date: ok
    with NoChange(admin):
        r = heartbeat(agent, applied=v, started_at=started)
        assert r.status == 204 and r.body == b"", r
    a = agent_entry(auditor)
    assert a == {"name": AGENT, "state": "ok", "applied_version": v, "current_version": v,
                 "last_error": None, "postfix": "running", "started_at": started,
                 "last_seen": a["last_seen"], "client_ip": AGENT_IP}, a
    assert t0 <= parse_time(a["last_seen"]) <= utcnow() + datetime.timedelta(seconds=5)
    r = readyz(api)
    assert r.status == 200 and r.json["status"] == "ready", r
    check = [c for c in r.json["checks"] if c["name"] == "agent:" + AGENT]
    assert len(check) == 1 and check[0]["ok"] is True, r

    # a change makes it behind; behind is still ready
    assert admin.post(FLUSH).status == 202
    a = agent_entry(admin)
    assert (a["state"], a["applied_version"], a["current_version"]) == ("behind", v, v + 1), a
    assert readyz(api).status == 200

    # an error: not ready, named
    r = heartbeat(agent, applied=v, postfix="stopped", last_error="postfix check failed: main.cf",
                  started_at=started)
    assert r.status == 204, r
    a = agent_entry(admin)
    assert (a["state"], a["last_error"], a["postfix"]) == (
        "error", "postfix check failed: main.cf", "stopped"), a
    r = readyz(api)
    assert r.status == 503 and r.json["status"] == "not-ready", r
    checks = {c["name"]: c for c in r.json["checks"]}
    assert checks["agent:" + AGENT]["ok"] is False, r
    assert checks["database"]["ok"] is True, r

    # a heartbeat without error clears it; the admin may send heartbeats too
    r = heartbeat(admin, applied=v + 1, postfix="running", started_at=started)
    assert r.status == 204, r
    a = agent_entry(admin)
    assert (a["state"], a["last_error"], a["applied_version"], a["current_version"]) == (
        "ok", None, v + 1, v + 1), a
    r = readyz(api)
    assert r.status == 200 and r.json["status"] == "ready", r
    assert {c["name"]: c["ok"] for c in r.json["checks"]}["agent:" + AGENT] is True
    assert [a["name"] for a in listing(admin, AGENTS)].count(AGENT) == 1


def test_agent_token_scope(admin, make_token):
    agent, _ = make_token("agent")
    assert agent.get(SNAPSHOT).status == 200
    assert heartbeat(agent, applied=version(admin)).status == 204
    for path in (POLICY, AGENTS, DOMAINS, NETWORKS, AUDIT):
        assert_problem(agent.get(path), 403, "forbidden")
