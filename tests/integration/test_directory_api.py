"""test_directory_api - directory login through apid, against a real Samba AD domain
controller and a real OpenLDAP server (issue: directory login).

This module runs its own stack (directory + apid) because its last tests stop the
directory servers. Every response is validated against openapi.yaml by vrapi.
"""
import os
import signal
import subprocess
import tempfile
import time

import pytest

import vrapi

ROOT = vrapi.ROOT


@pytest.fixture(scope="module")
def dstack():
    d = tempfile.mkdtemp(prefix="vr-dirapi-")
    env = dict(os.environ, VR_STACK_COMPONENTS="directory apid")
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


@pytest.fixture(scope="module")
def dapi(dstack, spec, coverage):
    return vrapi.Api(dstack.api_url, spec, coverage)


def login(api, user, password, source_ip=None):
    return api.as_(None, source_ip=source_ip).post(
        "/api/v1/auth/login", {"username": user, "password": password})


@pytest.fixture(scope="module")
def dadmin(dapi, dstack):
    r = login(dapi, dstack.admin_user, dstack.admin_password)
    assert r.status == 200, r
    return dapi.as_(r.json["token"])


def ad_profile(st, **over):
    p = {"name": "corp-ad", "kind": "ad", "uris": [st["VR_AD_URI"]],
         "ca_file": st["VR_AD_CA_FILE"], "bind_dn": st["VR_AD_BIND_DN"],
         "bind_password": st["VR_AD_BIND_PASSWORD"], "base_dn": st["VR_AD_BASE_DN"],
         "netbios_domain": st["VR_AD_DOMAIN"], "network_timeout_ms": 2000,
         "group_roles": [{"group_dn": st["VR_AD_ADMIN_GROUP_DN"], "role": "admin"},
                         {"group_dn": st["VR_AD_HELPDESK_GROUP_DN"], "role": "helpdesk"},
                         {"group_dn": st["VR_AD_AUDITOR_GROUP_DN"], "role": "auditor"}]}
    p.update(over)
    return p


def ldap_profile(st, **over):
    p = {"name": "corp-ldap", "kind": "openldap", "uris": [st["VR_LDAP_URI"]],
         "starttls": True, "ca_file": st["VR_LDAP_CA_FILE"],
         "bind_dn": st["VR_LDAP_BIND_DN"], "bind_password": st["VR_LDAP_BIND_PASSWORD"],
         "base_dn": st["VR_LDAP_BASE_DN"], "network_timeout_ms": 2000,
         "group_roles": [{"group_dn": st["VR_LDAP_ADMIN_GROUP_DN"], "role": "admin"}]}
    p.update(over)
    return p


@pytest.fixture(scope="module")
def profiles(dadmin, dstack):
    """The AD profile (LDAPS) then the OpenLDAP profile (StartTLS), in that order."""
    ad = dadmin.post("/api/v1/directories", ad_profile(dstack))
    assert ad.status == 201, ad
    ld = dadmin.post("/api/v1/directories", ldap_profile(dstack))
    assert ld.status == 201, ld
    assert ld.json["position"] > ad.json["position"]
    return ad.json, ld.json


def test_service_password_is_write_only(dadmin, profiles, dstack):
    ad, _ = profiles
    for r in (dadmin.get("/api/v1/directories"), dadmin.get("/api/v1/directories/" + ad["id"])):
        assert r.status == 200
        assert dstack["VR_AD_BIND_PASSWORD"] not in r.body.decode()
        assert "bind_password" not in str(r.json).replace("bind_password_set", "")
    assert ad["bind_password_set"] is True
    # nor in the audit log
    r = dadmin.get("/api/v1/audit", params={"action": "directory.create"})
    assert r.status == 200 and r.json["items"]
    assert dstack["VR_AD_BIND_PASSWORD"] not in r.body.decode()


@pytest.mark.parametrize("form", ["sam", "upn", "netbios", "alias", "primary"])
def test_ad_user_logs_in_every_way_and_owns_all_addresses(dapi, profiles, dstack, form):
    st = dstack
    user = {"sam": st["VR_AD_USER"], "upn": st["VR_AD_USER_UPN"],
            "netbios": st["VR_AD_DOMAIN"] + "\\" + st["VR_AD_USER"],
            "alias": st["VR_AD_USER_ALIAS"], "primary": st["VR_AD_USER_MAIL"]}[form]
    r = login(dapi, user, st["VR_AD_PASSWORD"])
    assert r.status == 200, r
    assert r.json["user"]["username"] == st["VR_AD_USER"]
    assert r.json["user"]["role"] == "user"
    assert r.json["user"]["source"] == "directory"
    me = dapi.as_(r.json["token"]).get("/api/v1/me")
    assert me.status == 200
    addrs = me.json["addresses"]
    assert addrs[0] == st["VR_AD_USER_MAIL"].lower()
    assert st["VR_AD_USER_ALIAS"].lower() in addrs
    assert len(addrs) == len(set(addrs)) >= 3


def test_ad_nested_group_gives_admin_and_helpdesk(dapi, profiles, dstack):
    r = login(dapi, dstack["VR_AD_ADMIN"], dstack["VR_AD_ADMIN_PASSWORD"])
    assert r.status == 200, r
    assert r.json["user"]["role"] == "admin"
    # the nested admin can do admin things
    assert dapi.as_(r.json["token"]).get("/api/v1/directories").status == 200
    r = login(dapi, dstack["VR_AD_HELPDESK"], dstack["VR_AD_HELPDESK_PASSWORD"])
    assert r.status == 200 and r.json["user"]["role"] == "helpdesk"
    r = login(dapi, dstack["VR_AD_AUDITOR"], dstack["VR_AD_AUDITOR_PASSWORD"])
    assert r.status == 200 and r.json["user"]["role"] == "auditor"


def test_ad_over_starttls_with_the_ca_verified(dadmin, dapi, profiles, dstack):
    ad, ld = profiles
    st_profile = dadmin.post("/api/v1/directories", ad_profile(
        dstack, name="corp-ad-starttls", uris=[dstack["VR_AD_STARTTLS_URI"]], starttls=True,
        position=1))
    assert st_profile.status == 201, st_profile
    try:
        assert dadmin.request("PATCH", "/api/v1/directories/" + ad["id"],
                              json_body={"enabled": False}).status == 200
        t = dadmin.post("/api/v1/directories/%s/test" % st_profile.json["id"],
                        {"login": dstack["VR_AD_USER"]})
        assert t.status == 200 and t.json["ok"] is True, t
        assert [s["name"] for s in t.json["steps"]][:2] == ["config", "connect"] or t.json["steps"]
        r = login(dapi, dstack["VR_AD_USER_UPN"], dstack["VR_AD_PASSWORD"])
        assert r.status == 200, r
        # with a CA that did not sign the DC's certificate, the connection is refused
        bad = dadmin.request("PATCH", "/api/v1/directories/" + st_profile.json["id"],
                             json_body={"ca_file": "/etc/ssl/certs/ca-certificates.crt"})
        assert bad.status == 200
        r = login(dapi, dstack["VR_AD_USER"], dstack["VR_AD_PASSWORD"])
        assert r.status in (503, 401), r
        assert r.status == 503, "an unverifiable directory is unavailable, not a bad password"
    finally:
        dadmin.request("PATCH", "/api/v1/directories/" + ad["id"], json_body={"enabled": True})
        dadmin.delete("/api/v1/directories/" + st_profile.json["id"])


def test_openldap_preset(dapi, profiles, dstack):
    r = login(dapi, dstack["VR_LDAP_USER"], dstack["VR_LDAP_PASSWORD"])
    assert r.status == 200, r
    assert r.json["user"]["role"] == "user"
    addrs = dapi.as_(r.json["token"]).get("/api/v1/me").json["addresses"]
    assert dstack["VR_LDAP_USER_ALIAS"].lower() in addrs
    r = login(dapi, dstack["VR_LDAP_USER_ALIAS"], dstack["VR_LDAP_PASSWORD"])
    assert r.status == 200 and r.json["user"]["username"] == dstack["VR_LDAP_USER"]
    r = login(dapi, dstack["VR_LDAP_ADMIN"], dstack["VR_LDAP_ADMIN_PASSWORD"])
    assert r.status == 200 and r.json["user"]["role"] == "admin"


def test_failures_look_alike_and_are_audited(dapi, dadmin, profiles, dstack):
    ip = "127.0.0.21"
    wrong = login(dapi, dstack["VR_AD_USER"], "not-the-password", ip)
    unknown = login(dapi, "nobody-here", "not-the-password", ip)
    disabled = login(dapi, dstack["VR_AD_DISABLED_USER"], dstack["VR_AD_DISABLED_PASSWORD"], ip)
    locked = login(dapi, dstack["VR_AD_LOCKED_USER"], dstack["VR_AD_LOCKED_PASSWORD"], ip)
    for r in (wrong, unknown, disabled, locked):
        assert r.status == 401 and r.code == "login-failed", r
        assert r.json == wrong.json
    empty = login(dapi, dstack["VR_AD_USER"], "", ip)
    assert empty.status == 400 and empty.problem["field"] == "password"
    ev = dadmin.get("/api/v1/audit", params={"action": "auth.login", "outcome": "failure",
                                             "limit": 50}).json["items"]
    details = {(e["actor"], e["detail"]) for e in ev if e["client_ip"] == ip}
    assert any(a == dstack["VR_AD_DISABLED_USER"] and "disabled" in d for a, d in details)
    assert any(a == dstack["VR_AD_LOCKED_USER"] and "locked" in d for a, d in details)


@pytest.mark.parametrize("attack", ["*", ")(", "\x00", "admin*)(|(uid=*",
                                    "alice)(|(objectClass=*", "*)(sAMAccountName=*",
                                    "CORP\\*", "a*"])
def test_filter_injection_matches_nobody(dapi, profiles, dstack, attack):
    r = login(dapi, attack, dstack["VR_AD_PASSWORD"], "127.0.0.22")
    if attack == "\x00":
        assert r.status == 400, r  # NUL is refused by the request parser
        return
    assert r.status in (401, 429), r
    assert r.code in ("login-failed", "rate-limited")


def test_repeated_failures_are_throttled(dapi, profiles, dstack):
    ip = "127.0.0.23"
    codes = [login(dapi, dstack["VR_AD_AUDITOR"], "wrong-%d" % i, ip).status for i in range(7)]
    assert 429 in codes, codes
    # even the right password waits now (the throttle is per user name, from any address)
    r = login(dapi, dstack["VR_AD_AUDITOR"], dstack["VR_AD_AUDITOR_PASSWORD"], "127.0.0.25")
    assert r.status == 429 and int(r.header("Retry-After")) > 0


def test_users_list_search_and_role_override(dadmin, dapi, profiles, dstack):
    r = login(dapi, dstack["VR_AD_USER"], dstack["VR_AD_PASSWORD"])
    token = r.json["token"]
    users = dadmin.get("/api/v1/users", params={"q": dstack["VR_AD_USER_ALIAS"]})
    assert users.status == 200
    (alice,) = [u for u in users.json["items"] if u["username"] == dstack["VR_AD_USER"]]
    assert alice["directory"] == "corp-ad" and alice["directory_role"] == "user"
    # helpdesk reads, cannot change
    hd = login(dapi, dstack["VR_AD_HELPDESK"], dstack["VR_AD_HELPDESK_PASSWORD"])
    hdc = dapi.as_(hd.json["token"])
    assert hdc.get("/api/v1/users/" + alice["id"]).status == 200
    assert hdc.request("PATCH", "/api/v1/users/" + alice["id"],
                       json_body={"role_override": "admin"}).status == 403
    # a user may not list users
    assert dapi.as_(token).get("/api/v1/users").status == 403
    r = dadmin.request("PATCH", "/api/v1/users/" + alice["id"],
                       json_body={"role_override": "auditor"})
    assert r.status == 200 and r.json["role"] == "auditor" and r.json["role_override"] == "auditor"
    # the session in hand gets the new role at once
    assert dapi.as_(token).get("/api/v1/me").json["role"] == "auditor"
    assert dapi.as_(token).get("/api/v1/audit").status == 200
    # and it survives the next login (groups say user)
    r = login(dapi, dstack["VR_AD_USER"], dstack["VR_AD_PASSWORD"])
    assert r.json["user"]["role"] == "auditor"
    r = dadmin.request("PATCH", "/api/v1/users/" + alice["id"], json_body={"role_override": "none"})
    assert r.status == 200 and r.json["role"] == "user" and r.json["role_override"] is None
    bad = dadmin.request("PATCH", "/api/v1/users/" + alice["id"], json_body={"role_override": "agent"})
    assert bad.status == 400 and bad.problem["field"] == "role_override"
    pages, cursor, seen = 0, None, []
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = dadmin.get("/api/v1/users", params=params)
        seen += [u["username"] for u in page.json["items"]]
        cursor = page.json["next_cursor"]
        pages += 1
        if not cursor or pages > 20:
            break
    assert seen == sorted(seen, key=str.lower) or seen == sorted(seen)
    assert len(seen) == len(set(seen)) >= 4


@pytest.mark.parametrize("body,field", [
    ({"uris": ["http://127.0.0.2"]}, "uris"),
    ({"uris": ["ldap://127.0.0.2:389"]}, "starttls"),
    ({"uris": []}, "uris"),
    ({"user_filter": "(uid=alice)"}, "user_filter"),
    ({"user_filter": "(uid={login}"}, "user_filter"),
    ({"ca_file": "relative/ca.pem"}, "ca_file"),
    ({"group_roles": [{"group_dn": "CN=x", "role": "agent"}]}, "group_roles"),
    ({"group_roles": [{"group_dn": "", "role": "admin"}]}, "group_roles"),
    ({"address_attrs": ["mail;binary"]}, "address_attrs"),
    ({"kind": "novell"}, "kind"),
    ({"network_timeout_ms": 5}, "network_timeout_ms"),
    ({"bind_password": 5}, "bind_password"),
    ({"surprise": True}, "surprise"),
])
def test_bad_profiles_are_refused_by_field(dadmin, dstack, profiles, body, field):
    before = dadmin.get("/api/v1/directories").json
    p = ad_profile(dstack, name="bad-one")
    p.update(body)
    r = dadmin.post("/api/v1/directories", p)
    assert r.status == 400 and r.problem.get("field") == field, r
    assert dadmin.get("/api/v1/directories").json == before


def test_duplicate_profile_name_conflicts(dadmin, dstack, profiles):
    r = dadmin.post("/api/v1/directories", ad_profile(dstack, name="CORP-AD"))
    assert r.status == 409 and r.problem["field"] == "name"


def test_readyz_reports_the_directories(dapi, profiles):
    r = dapi.get("/readyz")
    names = {c["name"]: c["ok"] for c in r.json["checks"]}
    assert names.get("directory:corp-ad") is True and names.get("directory:corp-ldap") is True


def test_zz_directory_stopped(dapi, dstack, profiles):
    """Last: stop both directory servers. Directory logins answer 503 within the timeout,
    the local admin still logs in, and /readyz says the directory is down."""
    pids = [int(p) for p in open(os.path.join(dstack.dir, "pids", "directory")).read().split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    t0 = time.monotonic()
    r = login(dapi, dstack["VR_AD_USER"], dstack["VR_AD_PASSWORD"], "127.0.0.24")
    took = time.monotonic() - t0
    assert r.status == 503 and r.code == "unavailable", r
    # two profiles, one URI each, 2 s network timeout: well under 10 s
    assert took < 10, took
    r = login(dapi, dstack.admin_user, dstack.admin_password, "127.0.0.24")
    assert r.status == 200, r
    time.sleep(11)  # past the readiness cache
    r = dapi.get("/readyz")
    assert r.status == 503
    names = {c["name"]: c["ok"] for c in r.json["checks"]}
    assert names["directory:corp-ad"] is False and names["database"] is True
