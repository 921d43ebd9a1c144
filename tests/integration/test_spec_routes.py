"""test_spec_routes - apid's route table and openapi/openapi.yaml say the same thing.

Diffs `$VR_BIN_DIR/apid --routes` (one `METHOD PATH ROLES` line per route, ROLES a comma list
or `-` for public) against the spec's paths, methods and x-roles; checks the rules every
operation of the spec follows; lints the spec with the pinned redocly (tests/redocly.yaml),
where any error or warning fails. Needs no running stack.
"""

import os
import subprocess

import pytest

import vrapi

BIN_DIR = os.environ.get("VR_BIN_DIR", os.path.join(vrapi.ROOT, "build", "bin"))
REDOCLY = os.path.join(vrapi.ROOT, "tests", "node_modules", ".bin", "redocly")
REDOCLY_CONFIG = os.path.join(vrapi.ROOT, "tests", "redocly.yaml")


@pytest.fixture(scope="module")
def spec():
    return vrapi.Spec()


@pytest.fixture(scope="module")
def routes():
    apid = os.path.join(BIN_DIR, "apid")
    if not os.access(apid, os.X_OK):
        pytest.fail("no apid at %s: build it first (or set VR_BIN_DIR)" % apid)
    r = subprocess.run([apid, "--routes"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "apid --routes failed (%d): %s" % (r.returncode, r.stderr)
    table = {}
    for line in r.stdout.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        assert len(parts) == 3, "not METHOD PATH ROLES: %r" % line
        method, path, roles = parts
        assert (method, path) not in table, "route listed twice: %s %s" % (method, path)
        table[(method, path)] = set() if roles == "-" else set(roles.split(","))
    assert table, "apid --routes printed no route"
    return table


def _spec_table(spec):
    return {(m, tpl): set(op.get("x-roles", [])) for m, tpl, op in spec.operations()}


def test_routes_match_spec(routes, spec):
    want = _spec_table(spec)
    only_apid = sorted(set(routes) - set(want))
    only_spec = sorted(set(want) - set(routes))
    roles = sorted((k, sorted(routes[k]), sorted(want[k]))
                   for k in set(routes) & set(want) if routes[k] != want[k])
    msg = []
    msg += ["in apid, not in the spec: %s %s" % k for k in only_apid]
    msg += ["in the spec, not in apid: %s %s" % k for k in only_spec]
    msg += ["%s %s: apid lets in %s, the spec's x-roles say %s" % (k + (a, s)) for k, a, s in roles]
    assert not msg, "\n".join(msg)


def test_route_roles_are_known(routes, spec):
    known = set(spec.schema("Role")["enum"])
    for k, roles in routes.items():
        assert roles <= known, "%s %s: unknown roles %s" % (k + (sorted(roles - known),))


def test_spec_operations_follow_the_rules(spec):
    known = set(spec.schema("Role")["enum"])
    ids = set()
    problems = []
    for method, tpl, op in spec.operations():
        where = "%s %s" % (method, tpl)
        for key in ("operationId", "summary", "description", "tags", "x-roles"):
            if key not in op:
                problems.append("%s: no %s" % (where, key))
        if op.get("operationId") in ids:
            problems.append("%s: operationId %s used twice" % (where, op["operationId"]))
        ids.add(op.get("operationId"))
        roles = op.get("x-roles", [])
        if not set(roles) <= known:
            problems.append("%s: x-roles %s are not all Roles" % (where, roles))
        public = op.get("security", spec.doc.get("security")) == []
        if public != (roles == []):
            problems.append("%s: public (security: []) iff x-roles is empty" % where)
        resp = op.get("responses", {})
        if not public and "401" not in resp:
            problems.append("%s: authenticated but declares no 401" % where)
        if not public and set(roles) != known and "403" not in resp:
            problems.append("%s: not every role may call it but declares no 403" % where)
        for status in ("400", "413", "414", "500"):
            if status not in resp:
                problems.append("%s: declares no %s (the dispatcher can give it: unknown query"
                                " parameter, body too large, URL too long, bug)" % (where, status))
        for status, r in resp.items():
            r = spec.deref(r)
            # digest links are followed by people from their mail: their refusals are
            # pages (text/html), besides the dispatcher's problem+json
            page = tpl == "/api/v1/links/{token}" and status in ("400", "410", "503")
            if page:
                if "text/html; charset=utf-8" not in r.get("content", {}):
                    problems.append("%s %s: a link refusal must be a text/html page"
                                    % (where, status))
            elif status[0] in "45" and (method, tpl, status) != ("GET", "/readyz", "503"):
                if list(r.get("content", {})) != ["application/problem+json"]:
                    problems.append("%s %s: an error that is not application/problem+json"
                                    % (where, status))
        body = op.get("requestBody")
        if body is not None:
            for mt, media in spec.deref(body)["content"].items():
                schema = spec.deref(media["schema"])
                if mt == "application/json" and schema.get("additionalProperties") is not False:
                    problems.append("%s: request schema (%s) takes unknown fields" % (where, mt))
    assert not problems, "\n".join(problems)


def test_redocly_lint():
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    r = subprocess.run([REDOCLY, "lint", "--config", REDOCLY_CONFIG, vrapi.SPEC_PATH],
                       cwd=vrapi.ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "You have" not in out and "warning" not in out.lower(), out
