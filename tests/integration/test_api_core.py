"""test_api_core - apid's foundation contract (/tmp/contract.md, openapi/openapi.yaml), from outside.

Covers the public routes (healthz, readyz, metrics, openapi.yaml), login and its limits,
forged, expired and revoked credentials, logout, API tokens and the role model, the audit
log and its paging, and the dispatcher's 404/405/413/414/415. Every response goes through
vrapi.Api, so it is also checked against the spec; rejected requests are checked not to have
changed anything. The last test reports which operations and statuses were exercised.
Tests run in file order and share one stack: rate-limit tests come late and use their own
usernames and source addresses (127.0.0.x) so that they lock nobody else out.
"""

import datetime
import json
import time
import uuid

import pytest

import vrapi
from vrapi import jwt_decode, jwt_encode, parse_time, rfc3339, utcnow

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"
TOKENS = "/api/v1/tokens"
AUDIT = "/api/v1/audit"
ROLES = ["admin", "helpdesk", "auditor", "user", "agent"]
# which token roles each caller role may create (the contract's "covers")
COVERS = {
    "admin": set(ROLES),
    "helpdesk": {"helpdesk", "user"},
    "auditor": {"auditor", "user"},
    "user": {"user"},
}
MiB = 1024 * 1024


def uid(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def assert_problem(r, status, code, field=None):
    """assert_problem - r is a problem with this status and code (and field, if given)"""
    assert r.status == status, r
    p = r.problem
    assert p["code"] == code, r
    if field is not None:
        assert p.get("field") == field, r
    return p


def newest_event(admin):
    """newest_event - the id of the newest audit event (None if the log is empty)"""
    r = admin.get(AUDIT, params={"limit": 1})
    assert r.status == 200, r
    return r.json["items"][0]["id"] if r.json["items"] else None


def audit_all(client, **filters):
    """audit_all - every event matching filters, walking next_cursor"""
    items, cursor = [], None
    for _ in range(10000):
        params = dict(filters)
        params.setdefault("limit", 500)
        if cursor:
            params["cursor"] = cursor
        r = client.get(AUDIT, params=params)
        assert r.status == 200, r
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("audit paging does not end")


def token_ids(admin):
    """token_ids - the ids of the tokens an admin lists"""
    r = admin.get(TOKENS)
    assert r.status == 200, r
    return sorted(t["id"] for t in r.json["items"])


class Unchanged:
    """with Unchanged(admin): ... - the token list and the audit log end as they began"""

    def __init__(self, admin, audit=True):
        self.admin, self.audit = admin, audit

    def __enter__(self):
        self.tokens = token_ids(self.admin)
        self.event = newest_event(self.admin) if self.audit else None
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            return False
        assert token_ids(self.admin) == self.tokens, "the token list changed"
        if self.audit:
            assert newest_event(self.admin) == self.event, "the audit log changed"
        return False


# --- system routes --------------------------------------------------------------------

def test_healthz(api):
    r = api.get("/healthz")
    assert r.status == 200, r
    assert r.json["status"] == "ok" and r.json["version"]


def test_readyz(api):
    r = api.get("/readyz")
    assert r.status == 200, r
    assert r.json["status"] == "ready"
    assert all(c["ok"] for c in r.json["checks"]), r


def test_openapi_served_verbatim(api, spec):
    r = api.get("/api/v1/openapi.yaml")
    assert r.status == 200, r
    assert r.body == spec.raw, "apid serves another openapi.yaml than openapi/openapi.yaml"


def _requests_total(api, route, method, status):
    r = api.get("/metrics")
    assert r.status == 200, r
    return sum(v for n, lab, v in vrapi.parse_metrics(r.body.decode())
               if n == "vrgate_http_requests_total" and lab.get("route") == route
               and lab.get("method") == method and lab.get("status") == str(status))


def test_metrics(api, admin, spec):
    before = _requests_total(api, "/healthz", "GET", 200)
    for _ in range(3):
        assert api.get("/healthz").status == 200
    assert _requests_total(api, "/healthz", "GET", 200) - before == 3

    raw_id = uuid.uuid4().hex
    assert_problem(admin.delete(TOKENS + "/" + raw_id), 404, "not-found")
    raw_path = uuid.uuid4().hex
    assert_problem(api.get("/api/v1/no-such-" + raw_path), 404, "not-found")

    r = api.get("/metrics")
    assert r.status == 200, r
    text = r.body.decode()
    assert "version=0.0.4" in r.content_type
    samples = vrapi.parse_metrics(text)
    assert "# TYPE vrgate_http_requests_total counter" in text
    assert "# TYPE vrgate_http_request_duration_seconds histogram" in text
    assert any(n == "vrgate_http_requests_total" and lab.get("route") == "/api/v1/tokens/{id}"
               and lab.get("method") == "DELETE" and lab.get("status") == "404" and v >= 1
               for n, lab, v in samples), "no DELETE /api/v1/tokens/{id} 404 counter"
    # labels are route templates: no raw id or raw unknown path may become a label
    assert raw_id not in text and raw_path not in text
    templates = set(spec.doc["paths"])
    for n, lab, _ in samples:
        if "route" in lab and lab["route"].startswith("/api/"):
            assert lab["route"] in templates, "route label %r is not a spec path" % lab["route"]
    buckets = [(lab, v) for n, lab, v in samples if n == "vrgate_http_request_duration_seconds_bucket"
               and lab.get("route") == "/healthz"]
    assert buckets and all("le" in lab for lab, _ in buckets)
    inf = [v for lab, v in buckets if lab["le"] == "+Inf"]
    count = [v for n, lab, v in samples if n == "vrgate_http_request_duration_seconds_count"
             and lab.get("route") == "/healthz"]
    assert inf and count and inf[0] == count[0] >= 3
    assert any(n == "vrgate_http_request_duration_seconds_sum" and lab.get("route") == "/healthz"
               for n, lab, _ in samples)
    version = api.get("/healthz").json["version"]
    assert [v for n, lab, v in samples
            if n == "vrgate_build_info" and lab.get("version") == version] == [1.0]
    size = [v for n, _, v in samples if n == "vrgate_db_size_bytes"]
    assert size and size[0] > 0


# --- login ----------------------------------------------------------------------------

def test_login_success(api, login, stack):
    t0 = time.time()
    r = login()
    assert r.status == 200, r
    b = r.json
    assert b["token_type"] == "Bearer"
    assert len(b["token"].split(".")) == 3
    hdr, claims = jwt_decode(b["token"])
    assert hdr["alg"] == "HS256", hdr
    for c in ("iss", "aud", "sub", "role", "jti", "iat", "exp"):
        assert c in claims, "claim %s missing: %r" % (c, claims)
    assert claims["role"] == "admin"
    assert isinstance(claims["exp"], int) and isinstance(claims["iat"], int)
    assert 0 < claims["exp"] - claims["iat"] <= 900, claims
    assert abs(claims["iat"] - t0) < 60 and claims["exp"] > time.time()
    assert abs(parse_time(b["expires_at"]).timestamp() - claims["exp"]) <= 1
    user = b["user"]
    assert (user["username"], user["role"], user["source"]) == (stack.admin_user, "admin", "local")

    me = api.as_(b["token"]).get(ME)
    assert me.status == 200, me
    assert me.json["id"] == user["id"] and me.json["username"] == stack.admin_user
    assert me.json["auth"]["method"] == "session" and me.json["auth"]["token_id"] is None
    assert parse_time(me.json["auth"]["expires_at"]) == parse_time(b["expires_at"])
    assert me.json["last_login_at"] is not None
    assert abs(parse_time(me.json["last_login_at"]).timestamp() - t0) < 60

    again = login()
    assert again.status == 200, again
    assert jwt_decode(again.json["token"])[1]["jti"] != claims["jti"]


def test_login_failures_identical(login, admin, stack):
    wrong = login(password=stack.admin_password + "-wrong")
    unknown = login(username=uid("nobody"), password="Wr0ng-" + uuid.uuid4().hex)
    p1 = dict(assert_problem(wrong, 401, "login-failed"))
    p2 = dict(assert_problem(unknown, 401, "login-failed"))
    p1.pop("instance"), p2.pop("instance")
    assert p1 == p2, "wrong password and unknown user must be told apart by nothing"
    assert login().status == 200


BAD_LOGIN_BODIES = [
    ("malformed", b'{"username": "someone", "password": ', "bad-json", None),
    ("not json", b"username=someone&password=x", "bad-json", None),
    ("empty body", b"", "bad-json", None),
    ("not UTF-8", b'{"username": "\xff\xfe", "password": "x"}', "bad-json", None),
    ("username not a string", {"username": 5, "password": "x"}, "invalid-field", "username"),
    ("password not a string", {"username": "someone", "password": ["x"]}, "invalid-field",
     "password"),
    ("missing password", {"username": "someone"}, "missing-field", "password"),
    ("missing username", {"password": "x"}, "missing-field", "username"),
    ("unknown field", {"username": "someone", "password": "x", "otp": "123456"}, "unknown-field",
     "otp"),
    ("empty password", {"username": "someone", "password": ""}, "invalid-field", "password"),
    ("empty username", {"username": "", "password": "x"}, "invalid-field", "username"),
    ("username of 257", {"username": "u" * 257, "password": "x"}, "invalid-field", "username"),
    ("password of 1025", {"username": "someone", "password": "p" * 1025}, "invalid-field",
     "password"),
]


@pytest.mark.parametrize("what,body,code,field", BAD_LOGIN_BODIES,
                         ids=[c[0] for c in BAD_LOGIN_BODIES])
def test_login_bad_body(api, admin, login, what, body, code, field):
    with Unchanged(admin):
        if isinstance(body, bytes):
            r = api.post(LOGIN, body=body, content_type="application/json")
        else:
            r = api.post(LOGIN, body)
        assert_problem(r, 400, code, field)


def test_login_not_an_object(api, admin):
    with Unchanged(admin):
        for body in (b"[]", b'"admin"', b"42", b"null"):
            r = api.post(LOGIN, body=body, content_type="application/json")
            assert r.status == 400, r


def test_login_nul_byte(api, stack):
    # a C string would stop at the NUL: "admin\0..." must never be taken for "admin"
    r = api.post(LOGIN, {"username": stack.admin_user + "\u0000" + uid("x"),
                         "password": stack.admin_password})
    assert r.status in (400, 401), r
    r = api.post(LOGIN, {"username": stack.admin_user,
                         "password": stack.admin_password + "\u0000" + uid("x")})
    assert r.status in (400, 401), r


def test_login_bounds_accepted(login):
    # the longest username and password the contract allows are checked, not refused
    assert_problem(login(username="u" * 256, password="p" * 1024), 401, "login-failed")


def test_login_json_with_charset(api, stack):
    body = json.dumps({"username": stack.admin_user, "password": stack.admin_password}).encode()
    r = api.post(LOGIN, body=body, content_type="application/json; charset=utf-8")
    assert r.status == 200, r


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_login_unsupported_media_type(api, admin, stack, ctype):
    body = json.dumps({"username": stack.admin_user, "password": stack.admin_password}).encode()
    with Unchanged(admin):
        assert_problem(api.post(LOGIN, body=body, content_type=ctype), 415,
                       "unsupported-media-type")


def test_login_body_10mib(api, admin):
    with Unchanged(admin):
        r = api.request_streaming("POST", LOGIN, b" " * (10 * MiB))
        assert_problem(r, 413, "payload-too-large")


def _padded(obj, size):
    """_padded - obj as JSON, padded with inner whitespace to exactly size bytes"""
    core = json.dumps(obj).encode()
    assert core.startswith(b"{")
    return b"{" + b" " * (size - len(core)) + core[1:]


def test_body_limit_is_1mib(admin, make_token):
    # no body above 1 MiB is read; below it, a route may set a lower limit of its own
    name = uid("pad")
    r = admin.post(TOKENS, body=_padded({"name": name}, 2048), content_type="application/json")
    assert r.status == 201, r
    assert r.json["name"] == name
    with Unchanged(admin):
        r = admin.request_streaming("POST", TOKENS, _padded({"name": uid("pad")}, MiB + 1))
        assert_problem(r, 413, "payload-too-large")


def test_body_limit_chunked(admin):
    with Unchanged(admin):
        r = admin.request_streaming("POST", TOKENS, _padded({"name": uid("pad")}, 2 * MiB),
                                    chunked=True)
        assert_problem(r, 413, "payload-too-large")


URI_TOO_LONG = [
    ("query of 2049", "GET", AUDIT + "?actor=", 2049),
    ("query of 8000", "GET", AUDIT + "?actor=", 8000),
    ("path of 3000", "DELETE", TOKENS + "/", 3000),
    ("unknown path of 3000", "GET", "/api/v1/", 3000),
]


@pytest.mark.parametrize("what,method,prefix,length", URI_TOO_LONG,
                         ids=[c[0] for c in URI_TOO_LONG])
def test_uri_too_long(admin, what, method, prefix, length):
    with Unchanged(admin):
        r = admin.request(method, prefix + "a" * (length - len(prefix)))
        assert_problem(r, 414, "uri-too-long")


def test_uri_of_2048_is_served(api):
    path = "/healthz?" + "z" * (2048 - len("/healthz?"))
    assert len(path) == 2048
    r = api.get(path)
    assert r.status != 414, r


def test_unknown_path(api, admin):
    for path in ("/api/v1/nonexistent", "/api/v2/me", "/api/v1/tokens/a/b", "/", "/api/v1"):
        assert_problem(api.get(path), 404, "not-found")
    assert_problem(admin.get("/api/v1/nonexistent"), 404, "not-found")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_query_parameter(api, admin, login, spec, method):
    """Every operation refuses a query parameter it does not list, naming it."""
    for m, tpl, op in spec.operations():
        if m != method:
            continue
        path = tpl.replace("{id}", uuid.uuid4().hex) + "?nosuch=1"
        client = admin if op.get("x-roles") else api
        body = None
        if tpl == LOGIN:
            body = {"username": uid("q"), "password": "x"}
        elif (m, tpl) == ("POST", TOKENS):
            body = {"name": uid("q")}
        elif tpl == LOGOUT:
            client = api.as_(login().json["token"])
        with Unchanged(admin):
            r = client.request(m, path, json_body=body)
            assert_problem(r, 400, "bad-parameter", "nosuch")


def test_options(admin):
    # the contract lists no OPTIONS: like any method a path does not offer, 405
    assert_problem(admin.request("OPTIONS", TOKENS), 405, "method-not-allowed")
    assert "OPTIONS" not in admin.request("PUT", TOKENS).header("Allow")


def test_method_not_allowed(api, admin):
    with Unchanged(admin):
        # Allow is checked against the spec's methods for the path by vrapi
        assert_problem(admin.request("PUT", TOKENS, json_body={"name": "x"}), 405,
                       "method-not-allowed")
        assert_problem(admin.request("PATCH", TOKENS + "/abc"), 405, "method-not-allowed")
        assert_problem(admin.get(TOKENS + "/abc"), 405, "method-not-allowed")
        assert_problem(admin.get(LOGIN), 405, "method-not-allowed")
        assert_problem(admin.delete(AUDIT), 405, "method-not-allowed")
        assert_problem(api.post("/healthz", {}), 405, "method-not-allowed")


# --- credentials ----------------------------------------------------------------------

def test_missing_credentials(api):
    for method, path in (("GET", ME), ("GET", TOKENS), ("POST", TOKENS), ("GET", AUDIT),
                         ("POST", LOGOUT), ("DELETE", TOKENS + "/abc")):
        body = {"name": "x"} if method == "POST" and path == TOKENS else None
        assert_problem(api.request(method, path, json_body=body), 401, "unauthorized")


def test_forged_tokens(api, login):
    good = login().json["token"]
    hdr, claims = jwt_decode(good)
    h64, p64, sig = good.split(".")
    forged = {
        "alg none": jwt_encode({"alg": "none", "typ": "JWT"}, claims),
        "alg none, old signature": jwt_encode({"alg": "none", "typ": "JWT"}, claims, signature=sig),
        "wrong key": jwt_encode(hdr, claims, key=b"not-the-key-" + uuid.uuid4().bytes),
        "exp extended": jwt_encode(hdr, dict(claims, exp=claims["exp"] + 86400), signature=sig),
        "role changed": jwt_encode(hdr, dict(claims, role="agent"), signature=sig),
        "sub changed": jwt_encode(hdr, dict(claims, sub="someone-else"), signature=sig),
        "HS512 header": jwt_encode(dict(hdr, alg="HS512"), claims, signature=sig),
        "RS256 header": jwt_encode(dict(hdr, alg="RS256"), claims, signature=sig),
        "signature cut": "%s.%s.%s" % (h64, p64, sig[:-4]),
        "no signature": "%s.%s." % (h64, p64),
        "two parts": "%s.%s" % (h64, p64),
        "garbage": "garbage",
        "api-token lookalike": "vrt_" + uuid.uuid4().hex + uuid.uuid4().hex,
        "non-ascii": "\u00e9t\u00e9",
    }
    for what, tok in forged.items():
        r = api.get(ME, auth="Bearer " + tok)
        assert r.status == 401 and r.problem["code"] == "unauthorized", (what, r)
    for auth in ("Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", good, "Token " + good):
        r = api.get(ME, auth=auth)
        assert r.status == 401 and r.problem["code"] == "unauthorized", (auth[:20], r)
    assert api.get(ME, auth="Bearer " + good).status == 200


def test_expired_and_misaddressed_sessions(api, login, stack):
    good = login().json["token"]
    key = vrapi.find_jwt_key(stack, good)
    if key is None:
        pytest.skip("apid's signing key is not readable under %s" % stack.dir)
    hdr, claims = jwt_decode(good)
    now = int(time.time())
    resigned = jwt_encode(hdr, claims, key=key)
    assert api.get(ME, auth="Bearer " + resigned).status == 200, "control: the key is apid's"
    expired = jwt_encode(hdr, dict(claims, iat=now - 1000, exp=now - 100), key=key)
    assert_problem(api.get(ME, auth="Bearer " + expired), 401, "token-expired")
    for what, changed in (("aud", dict(claims, aud="someone-else")),
                          ("iss", dict(claims, iss="someone-else")),
                          ("no exp", {k: v for k, v in claims.items() if k != "exp"}),
                          ("no jti", {k: v for k, v in claims.items() if k != "jti"})):
        r = api.get(ME, auth="Bearer " + jwt_encode(hdr, changed, key=key))
        assert r.status == 401 and r.problem["code"] == "unauthorized", (what, r)


# --- logout ---------------------------------------------------------------------------

def test_logout_revokes(api, login, admin):
    tok = login().json["token"]
    c = api.as_(tok)
    assert c.get(ME).status == 200
    t0 = utcnow() - datetime.timedelta(seconds=1)
    r = c.post(LOGOUT)
    assert r.status == 204, r
    assert_problem(c.get(ME), 401, "token-revoked")
    assert_problem(c.post(LOGOUT), 401, "token-revoked")
    assert_problem(c.get(TOKENS), 401, "token-revoked")
    events = audit_all(admin, action="auth.logout", since=rfc3339(t0))
    assert len(events) == 1, events
    assert events[0]["outcome"] == "success"
    # the next session works
    assert admin.get(ME).status == 200


def test_logout_with_api_token(make_token, admin):
    tc, t = make_token()
    with Unchanged(admin):
        assert_problem(tc.post(LOGOUT), 400, "bad-parameter")
    assert tc.get(ME).status == 200


def test_logout_refuses_bodies(api, login, admin):
    c = api.as_(login().json["token"])
    with Unchanged(admin):
        # 415 (a body that is not JSON) or 413 (logout takes no body at all): both refuse it
        r = c.post(LOGOUT, body=b"bye", content_type="text/plain")
        assert r.status in (413, 415), r
        assert_problem(c.request_streaming("POST", LOGOUT, b" " * (2 * MiB)), 413,
                       "payload-too-large")
    assert c.get(ME).status == 200, "a refused logout must not revoke the session"


# --- API tokens -----------------------------------------------------------------------

def test_token_lifecycle(admin, api, stack):
    name = uid("ci")
    t0 = utcnow() - datetime.timedelta(seconds=1)
    r = admin.post(TOKENS, {"name": name})
    assert r.status == 201, r
    t = r.json
    assert r.header("Location") == TOKENS + "/" + t["id"]
    assert t["token"].startswith("vrt_") and len(t["token"]) >= 24
    assert (t["name"], t["role"], t["owner"]) == (name, "admin", stack.admin_user)
    assert t["expires_at"] is None and t["last_used_at"] is None
    assert t0 <= parse_time(t["created_at"]) <= utcnow() + datetime.timedelta(seconds=5)

    lst = admin.get(TOKENS)
    assert lst.status == 200, lst
    mine = [i for i in lst.json["items"] if i["id"] == t["id"]]
    assert len(mine) == 1 and "token" not in mine[0]
    assert t["token"] not in lst.body.decode() and t["token"][4:] not in lst.body.decode()

    tc = api.as_(t["token"])
    me = tc.get(ME)
    assert me.status == 200, me
    assert me.json["username"] == stack.admin_user
    assert me.json["auth"] == {"method": "token", "token_id": t["id"], "expires_at": None}
    used = [i for i in admin.get(TOKENS).json["items"] if i["id"] == t["id"]][0]
    assert used["last_used_at"] is not None
    assert abs((parse_time(used["last_used_at"]) - utcnow()).total_seconds()) < 60

    r = admin.delete(TOKENS + "/" + t["id"])
    assert r.status == 204 and r.body == b"", r
    assert_problem(tc.get(ME), 401, "token-revoked")
    assert t["id"] not in token_ids(admin)


def test_token_wrong_secret(api, make_token):
    tc, t = make_token()
    bad = t["token"][:-3] + ("AAA" if not t["token"].endswith("AAA") else "BBB")
    assert_problem(api.get(ME, auth="Bearer " + bad), 401, "unauthorized")
    assert tc.get(ME).status == 200


def test_token_ids_random(make_token):
    ids = [make_token()[1]["id"] for _ in range(3)]
    assert len(set(ids)) == 3
    assert not all(i.isdigit() for i in ids), "ids look sequential: %r" % ids
    assert all(len(i) >= 8 for i in ids), ids


def test_token_with_expiry(admin, make_token):
    exp = rfc3339(utcnow() + datetime.timedelta(days=1))
    tc, t = make_token(expires_at=exp)
    assert parse_time(t["expires_at"]) == parse_time(exp)
    me = tc.get(ME)
    assert me.status == 200, me
    assert parse_time(me.json["auth"]["expires_at"]) == parse_time(exp)
    far = rfc3339(utcnow() + datetime.timedelta(days=4 * 365))
    assert parse_time(make_token(expires_at=far)[1]["expires_at"]) == parse_time(far)


def test_token_expires(admin, make_token):
    exp = utcnow().replace(microsecond=0) + datetime.timedelta(seconds=4)
    tc, t = make_token(expires_at=rfc3339(exp))
    assert tc.get(ME).status == 200
    time.sleep(max(0.0, (exp - utcnow()).total_seconds()) + 1.5)
    assert_problem(tc.get(ME), 401, "token-expired")
    assert t["id"] not in token_ids(admin), "an expired token is still listed"


def test_token_name_bounds(make_token):
    assert make_token(name="n" * 100)[1]["name"] == "n" * 100
    assert make_token(name="x")[1]["name"] == "x"


def _bad_token_bodies():
    now = utcnow()
    return [
        ("malformed", b'{"name": ', "bad-json", None),
        ("missing name", {}, "missing-field", "name"),
        ("name empty", {"name": ""}, "invalid-field", "name"),
        ("name of 101", {"name": "n" * 101}, "invalid-field", "name"),
        ("name not a string", {"name": 5}, "invalid-field", "name"),
        ("name null", {"name": None}, "invalid-field", "name"),
        ("role unknown", {"name": "x", "role": "root"}, "invalid-field", "role"),
        ("role not a string", {"name": "x", "role": 1}, "invalid-field", "role"),
        ("expired already", {"name": "x", "expires_at": rfc3339(now - datetime.timedelta(hours=1))},
         "invalid-field", "expires_at"),
        ("expires beyond 5 years",
         {"name": "x", "expires_at": rfc3339(now + datetime.timedelta(days=5 * 366 + 30))},
         "invalid-field", "expires_at"),
        ("expires not a date", {"name": "x", "expires_at": "tomorrow"}, "invalid-field",
         "expires_at"),
        ("expires bad date", {"name": "x", "expires_at": "2031-02-30T00:00:00Z"}, "invalid-field",
         "expires_at"),
        ("expires a number", {"name": "x", "expires_at": 2000000000}, "invalid-field", "expires_at"),
        ("owner given", {"name": "x", "owner": "bob"}, "unknown-field", "owner"),
        ("secret given", {"name": "x", "token": "vrt_chosen"}, "unknown-field", "token"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_token_bodies())),
                         ids=[c[0] for c in _bad_token_bodies()])
def test_token_create_rejected(admin, case):
    what, body, code, field = _bad_token_bodies()[case]
    with Unchanged(admin):
        if isinstance(body, bytes):
            r = admin.post(TOKENS, body=body, content_type="application/json")
        else:
            r = admin.post(TOKENS, body)
        assert_problem(r, 400, code, field)


def test_token_create_wrong_media_type(admin):
    with Unchanged(admin):
        r = admin.post(TOKENS, body=b'{"name": "x"}', content_type="text/plain")
        assert_problem(r, 415, "unsupported-media-type")


@pytest.mark.parametrize("caller_role", ["admin", "helpdesk", "auditor", "user"])
def test_token_role_coverage(admin, make_token, caller_role, stack):
    caller, _ = make_token(caller_role)
    for role in ROLES:
        if role in COVERS[caller_role]:
            r = caller.post(TOKENS, {"name": uid("cov"), "role": role})
            assert r.status == 201, (caller_role, role, r)
            assert r.json["role"] == role and r.json["owner"] == stack.admin_user
        else:
            with Unchanged(admin):
                r = caller.post(TOKENS, {"name": uid("cov"), "role": role})
                assert r.status == 403, (caller_role, role, r)
                assert_problem(r, 403, "forbidden", "role")
    r = caller.post(TOKENS, {"name": uid("default")})
    assert r.status == 201, r
    assert r.json["role"] == caller_role, "the default role is the caller's"


def _route_probe(client, method, tpl):
    path = tpl.replace("{id}", uuid.uuid4().hex)
    body = {"name": uid("probe"), "role": "user"} if (method, tpl) == ("POST", TOKENS) else None
    return client.request(method, path, json_body=body)


@pytest.mark.parametrize("role", ["helpdesk", "auditor", "user", "agent"])
def test_roles_per_route(spec, make_token, role):
    """Each authenticated route lets in exactly the roles of its x-roles, per the spec."""
    client, _ = make_token(role)
    for method, tpl, op in spec.operations():
        roles = op.get("x-roles")
        if not roles or (method, tpl) == ("POST", LOGOUT):
            continue
        r = _route_probe(client, method, tpl)
        if role in roles:
            assert r.status not in (401, 403), (role, method, tpl, r)
        else:
            assert_problem(r, 403, "forbidden")
    me = client.get(ME)
    assert me.status == 200 and me.json["auth"]["method"] == "token"


def test_tokens_owner_filter(admin, make_token, stack):
    make_token()
    r = admin.get(TOKENS, params={"owner": stack.admin_user})
    assert r.status == 200, r
    assert r.json["items"] and all(t["owner"] == stack.admin_user for t in r.json["items"])
    assert_problem(admin.get(TOKENS, params={"owner": ""}), 400, "bad-parameter", "owner")
    assert_problem(admin.get(TOKENS, params={"owner": "o" * 257}), 400, "bad-parameter", "owner")
    user, _ = make_token("user")
    assert_problem(user.get(TOKENS, params={"owner": stack.admin_user}), 403, "forbidden")
    assert user.get(TOKENS).status == 200


def test_revoke_unknown_token(admin):
    with Unchanged(admin):
        assert_problem(admin.delete(TOKENS + "/" + uuid.uuid4().hex), 404, "not-found")
        assert_problem(admin.delete(TOKENS + "/vrt_" + uuid.uuid4().hex), 404, "not-found")


def test_revoke_by_secret_is_not_found(admin, make_token):
    tc, t = make_token()
    with Unchanged(admin):
        assert_problem(admin.delete(TOKENS + "/" + t["token"]), 404, "not-found")
    assert tc.get(ME).status == 200


def _second_user(api, stack):
    """_second_user - a session client for a user other than the admin, or skip"""
    for user, pw in (("VR_AD_USER", "VR_AD_PASSWORD"), ("VR_LDAP_USER", "VR_LDAP_PASSWORD")):
        if stack.get(user) and stack.get(pw):
            r = api.post(LOGIN, {"username": stack[user], "password": stack[pw]})
            if r.status == 200:
                return api.as_(r.json["token"]), r.json["user"]
    pytest.skip("the stack offers no second user (no directory component)")


def test_other_users_tokens(api, admin, make_token, stack):
    other, who = _second_user(api, stack)
    _, admins = make_token()
    mine = other.post(TOKENS, {"name": uid("other")})
    assert mine.status == 201, mine
    with Unchanged(admin):
        assert_problem(other.delete(TOKENS + "/" + admins["id"]), 404, "not-found")
    listed = other.get(TOKENS).json["items"]
    assert all(t["owner"] == who["username"] for t in listed)
    assert admins["id"] not in [t["id"] for t in listed]
    everybody = admin.get(TOKENS).json["items"]
    assert mine.json["id"] in [t["id"] for t in everybody]
    assert admin.delete(TOKENS + "/" + mine.json["id"]).status == 204


# --- audit ----------------------------------------------------------------------------

def _one(events, **want):
    found = [e for e in events if all(e.get(k) == v for k, v in want.items())]
    assert len(found) == 1, "expected one event %r, found %d in %s" % (
        want, len(found), json.dumps(events, indent=1)[:3000])
    return found[0]


def test_audit_records(api, admin, login, make_token, stack):
    ip_ok, ip_bad = "127.0.0.31", "127.0.0.32"
    t0 = utcnow().replace(microsecond=0) - datetime.timedelta(seconds=1)
    ghost, ghost_pw = uid("ghost"), "Wr0ng-" + uuid.uuid4().hex
    r = login(source_ip=ip_ok)
    assert r.status == 200, r
    session = api.as_(r.json["token"], source_ip=ip_ok)
    assert_problem(login(ghost, ghost_pw, source_ip=ip_bad), 401, "login-failed")
    _, t = make_token(caller=session)
    assert session.delete(TOKENS + "/" + t["id"]).status == 204
    assert session.post(LOGOUT).status == 204

    events = audit_all(admin, since=rfc3339(t0))
    ok = _one(events, action="auth.login", outcome="success", client_ip=ip_ok)
    assert ok["actor"] == stack.admin_user
    bad = _one(events, action="auth.login", outcome="failure", client_ip=ip_bad)
    assert bad["actor"] in (ghost, None)
    created = _one(events, action="token.create", client_ip=ip_ok)
    revoked = _one(events, action="token.revoke", client_ip=ip_ok)
    out = _one(events, action="auth.logout", client_ip=ip_ok)
    for e in (created, revoked, out):
        assert e["actor"] == stack.admin_user and e["outcome"] == "success", e
    for e in (created, revoked):
        assert t["id"] in (e["target"] or ""), "the event names no token: %r" % e
    order = [e["id"] for e in events]
    assert (order.index(out["id"]) < order.index(revoked["id"]) < order.index(created["id"])
            < order.index(ok["id"])), "events are not newest first"
    for e in (ok, bad, created, revoked, out):
        assert t0 <= parse_time(e["time"]) <= utcnow() + datetime.timedelta(seconds=5), e
    dump = json.dumps(events)
    for secret in (t["token"], t["token"][4:], stack.admin_password, ghost_pw):
        assert secret not in dump, "a secret leaked into the audit log"


def test_audit_bootstrap(admin):
    events = audit_all(admin, action="user.bootstrap")
    assert events and all(e["outcome"] == "success" for e in events)


def test_audit_newest_first(admin):
    times = [parse_time(e["time"]) for e in audit_all(admin)]
    assert times == sorted(times, reverse=True)


def test_audit_filters(admin, login, stack):
    assert_problem(login(uid("filter"), "bad"), 401, "login-failed")
    everything = audit_all(admin)
    assert len(everything) >= 5
    for key, value in (("actor", stack.admin_user), ("action", "auth.login"),
                       ("action", "token.create"), ("outcome", "failure"),
                       ("outcome", "success")):
        got = audit_all(admin, **{key: value})
        assert got and all(e[key] == value for e in got), (key, value)
        assert [e["id"] for e in got] == [e["id"] for e in everything if e[key] == value]
    both = audit_all(admin, actor=stack.admin_user, action="auth.login", outcome="success")
    assert both and all((e["actor"], e["action"], e["outcome"]) ==
                        (stack.admin_user, "auth.login", "success") for e in both)
    r = admin.get(AUDIT, params={"action": "no.such.action"})
    assert r.status == 200 and r.json == {"items": [], "next_cursor": None}, r

    middle = parse_time(everything[len(everything) // 2]["time"]).replace(microsecond=0)
    since = audit_all(admin, since=rfc3339(middle))
    until = audit_all(admin, until=rfc3339(middle))
    assert since and all(parse_time(e["time"]) >= middle for e in since)
    assert until and all(parse_time(e["time"]) <= middle + datetime.timedelta(seconds=1)
                         for e in until)
    assert {e["id"] for e in since} | {e["id"] for e in until} == {e["id"] for e in everything}
    future = rfc3339(utcnow() + datetime.timedelta(days=1))
    assert audit_all(admin, since=future) == []
    assert audit_all(admin, until="2000-01-01T00:00:00Z") == []


def test_audit_pagination(admin, login):
    everything = audit_all(admin)
    assert len(everything) >= 5
    walked, cursor, pages = [], None, []
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = admin.get(AUDIT, params=params)
        assert r.status == 200, r
        pages.append(len(r.json["items"]))
        walked += [e["id"] for e in r.json["items"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
        assert len(pages) <= len(everything), "paging does not end"
    assert all(n == 2 for n in pages[:-1]) and pages[-1] <= 2, pages
    assert len(walked) == len(set(walked)), "a page repeats events"
    assert walked == [e["id"] for e in everything]

    # a cursor marks a place in the log, not an offset: events added meanwhile do not
    # shift the pages after it
    first = admin.get(AUDIT, params={"limit": 2})
    assert first.status == 200 and first.json["next_cursor"], first
    assert login().status == 200
    second = admin.get(AUDIT, params={"limit": 2, "cursor": first.json["next_cursor"]})
    assert second.status == 200, second
    assert [e["id"] for e in second.json["items"]] == [e["id"] for e in everything[2:4]], \
        "the page after a cursor moved when a new event arrived"

    logins = audit_all(admin, action="auth.login")
    walked = [e["id"] for e in audit_all(admin, action="auth.login", limit=1)]
    assert walked == [e["id"] for e in logins]
    r = admin.get(AUDIT)
    assert r.status == 200 and len(r.json["items"]) == min(100, len(audit_all(admin)))


def test_audit_limit_bounds(admin):
    for limit in (1, 500):
        r = admin.get(AUDIT, params={"limit": limit})
        assert r.status == 200 and 1 <= len(r.json["items"]) <= limit, r


@pytest.mark.parametrize("param,value", [
    ("limit", "0"), ("limit", "501"), ("limit", "abc"), ("limit", "-1"), ("limit", "1.5"),
    ("limit", ""), ("cursor", "!not a cursor!"), ("outcome", "maybe"), ("since", "yesterday"),
    ("until", "2026-13-45T00:00:00Z"), ("since", "1700000000"),
])
def test_audit_bad_parameter(admin, param, value):
    with Unchanged(admin):
        assert_problem(admin.get(AUDIT, params={param: value}), 400, "bad-parameter", param)


def test_audit_access(api, make_token):
    auditor, _ = make_token("auditor")
    assert auditor.get(AUDIT).status == 200
    for role in ("user", "helpdesk", "agent"):
        c, _ = make_token(role)
        assert_problem(c.get(AUDIT), 403, "forbidden")
    assert_problem(api.get(AUDIT), 401, "unauthorized")


def test_reads_are_not_audited(admin, make_token):
    tc, _ = make_token("auditor")
    with Unchanged(admin):
        for c in (admin, tc):
            c.get(ME), c.get(TOKENS), c.get(AUDIT, params={"limit": 3})


def test_concurrent_clients(stack, coverage, make_token):
    """Eight clients at once, each creating, using and revoking tokens: nothing fails."""
    import threading

    _, t = make_token()
    errors = []

    def worker(n):
        try:
            c = vrapi.Api(stack.api_url, vrapi.Spec(), coverage, token=t["token"])
            for i in range(10):
                r = c.post(TOKENS, {"name": "conc-%d-%d" % (n, i), "role": "user"})
                assert r.status == 201, r
                tc = c.as_(r.json["token"])
                assert tc.get(ME).status == 200
                assert c.get(TOKENS).status == 200
                assert c.delete(TOKENS + "/" + r.json["id"]).status == 204
                assert_problem(tc.get(ME), 401, "token-revoked")
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors[:3]


def test_log_holds_no_secrets(api, login, make_token, stack):
    tok = login().json["token"]
    tc, t = make_token(caller=api.as_(tok))
    assert tc.get(ME).status == 200
    api.get(ME, auth="Bearer " + t["token"] + "x")
    assert_problem(login(password=stack.admin_password + "Zz"), 401, "login-failed")
    log = stack.apid_log
    if not log:
        pytest.skip("the stack does not say where apid logs (VR_APID_LOG)")
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    sig = tok.rsplit(".", 1)[1]
    for what, secret in (("admin password", stack.admin_password), ("session token", sig),
                         ("API token", t["token"][4:])):
        assert secret not in text, "the %s is in apid's log %s" % (what, log)


# --- login rate limits (late: they lock out their own username and address) -----------

def _fail_until_limited(login, usernames, source_ip, attempts):
    for i in range(attempts):
        r = login(usernames(i), "Wr0ng-%d" % i, source_ip=source_ip)
        if r.status == 429:
            return r, i
        assert_problem(r, 401, "login-failed")
    raise AssertionError("no 429 after %d failed logins from %s" % (attempts, source_ip))


def test_login_rate_limited_per_username(login):
    victim = uid("victim")
    r, n = _fail_until_limited(login, lambda i: victim, "127.0.0.41", 60)
    p = assert_problem(r, 429, "rate-limited")
    assert int(r.header("Retry-After")) > 0 and p["retry_after"] == int(r.header("Retry-After"))
    # per username, from any address
    assert_problem(login(victim, "Wr0ng", source_ip="127.0.0.42"), 429, "rate-limited")
    # nobody else is locked out
    assert login().status == 200
    assert login(source_ip="127.0.0.42").status == 200


def test_login_rate_limited_per_address(login):
    ip = "127.0.0.43"
    r, n = _fail_until_limited(login, lambda i: uid("spray"), ip, 400)
    assert_problem(r, 429, "rate-limited")
    # the address is limited whoever logs in from it, even with the right password
    assert_problem(login(source_ip=ip), 429, "rate-limited")
    assert login().status == 200


# --- spec coverage (keep last) --------------------------------------------------------

def test_zz_spec_coverage(coverage, spec):
    lines, missing = coverage.report(spec)
    print("\nspec coverage (method, path: statuses seen / declared but not seen):")
    for line in lines:
        print("  " + line)
    assert not missing, "operations never exercised: %s" % ", ".join(missing)
