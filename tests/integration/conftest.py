"""conftest - pytest fixtures for the integration tests: one stack per session.

The stack is started with `scripts/stack up` in a temporary directory (only apid unless
VR_STACK_COMPONENTS says otherwise) and stopped with `scripts/stack down` at the end, after
which apid's log must hold no sanitizer report. With VR_STACK_ENV=/path/stack.env the tests
reuse a running stack instead and leave it running. Run the tests inside scripts/netns-run.
Fixtures: stack, spec, coverage, api (anonymous), admin (an admin session, renewed before it
expires), login(), make_token().
"""

import os
import subprocess
import sys
import time
import uuid

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vrapi  # noqa: E402

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def _sanitizer_reports(log):
    if not log or not os.path.exists(log):
        return []
    with open(log, encoding="utf-8", errors="replace") as f:
        return [line.rstrip() for line in f if any(m in line for m in SANITIZER_MARKS)]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    reuse = os.environ.get("VR_STACK_ENV")
    if reuse:
        st = vrapi.Stack(reuse)
        yield st
        reports = _sanitizer_reports(st.apid_log)
        assert not reports, "sanitizer reports in %s:\n%s" % (st.apid_log, "\n".join(reports[:20]))
        return
    if os.environ.get("VR_IN_NETNS") != "1":
        pytest.exit("run the integration tests inside scripts/netns-run", returncode=2)
    d = tmp_path_factory.mktemp("stack")
    env = dict(os.environ)
    env.setdefault("VR_STACK_COMPONENTS", "apid")
    env.setdefault("VR_BIN_DIR", os.path.join(vrapi.ROOT, "build", "bin"))
    up = subprocess.run([os.path.join(vrapi.ROOT, "scripts", "stack"), "up", str(d)],
                        env=env, capture_output=True, text=True, timeout=300)
    if up.returncode != 0:
        subprocess.run([os.path.join(vrapi.ROOT, "scripts", "stack"), "down", str(d)],
                       env=env, capture_output=True, timeout=120)
        pytest.exit("scripts/stack up failed:\n%s%s" % (up.stdout, up.stderr), returncode=3)
    st = vrapi.Stack(os.path.join(str(d), "stack.env"))
    try:
        yield st
    finally:
        down = subprocess.run([os.path.join(vrapi.ROOT, "scripts", "stack"), "down", str(d)],
                              env=env, capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, "scripts/stack down failed:\n%s%s" % (down.stdout, down.stderr)
    reports = _sanitizer_reports(st.apid_log)
    assert not reports, "sanitizer reports in %s:\n%s" % (st.apid_log, "\n".join(reports[:40]))


@pytest.fixture(scope="session")
def spec():
    return vrapi.Spec()


@pytest.fixture(scope="session")
def coverage(tmp_path_factory):
    path = os.environ.get("VR_SPEC_COVERAGE_FILE")
    if not path:
        path = str(tmp_path_factory.getbasetemp() / "spec-coverage.jsonl")
    return vrapi.Coverage(path)


@pytest.fixture(scope="session")
def api(stack, spec, coverage):
    """api - an anonymous client"""
    return vrapi.Api(stack.api_url, spec, coverage)


def do_login(api, username, password, source_ip=None):
    """do_login - log in; return the response (any status)"""
    return api.as_(None, source_ip=source_ip).post(
        "/api/v1/auth/login", {"username": username, "password": password})


class _AdminSession:
    """An admin session token, renewed when it has less than two minutes left."""

    def __init__(self, api, stack):
        self.api, self.stack = api, stack
        self.token, self.exp = None, 0

    def client(self):
        if self.token is None or self.exp - time.time() < 120:
            r = do_login(self.api, self.stack.admin_user, self.stack.admin_password)
            assert r.status == 200, "admin login failed: %r" % r
            self.token = r.json["token"]
            self.exp = vrapi.jwt_decode(self.token)[1]["exp"]
        return self.api.as_(self.token)


@pytest.fixture(scope="session")
def _admin_session(api, stack):
    return _AdminSession(api, stack)


@pytest.fixture
def admin(_admin_session):
    """admin - a client holding a session token of the bootstrap admin"""
    return _admin_session.client()


@pytest.fixture
def login(api, stack):
    """login(username=admin, password=admin's, source_ip=None) -> Response"""
    def _login(username=None, password=None, source_ip=None):
        return do_login(api, stack.admin_user if username is None else username,
                        stack.admin_password if password is None else password, source_ip)
    return _login


@pytest.fixture
def make_token(admin):
    """make_token(role=None, caller=admin, **fields) -> (client using the token, NewToken)"""
    def _make(role=None, caller=None, **fields):
        caller = caller or admin
        body = {"name": fields.pop("name", "t-" + uuid.uuid4().hex[:12])}
        if role is not None:
            body["role"] = role
        body.update(fields)
        r = caller.post("/api/v1/tokens", body)
        assert r.status == 201, r
        return caller.as_(r.json["token"]), r.json
    return _make
