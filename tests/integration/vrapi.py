"""vrapi - a client for apid that checks every response against openapi/openapi.yaml.

Owns: Stack (reads DIR/stack.env), Spec (the OpenAPI document, route matching, response
validation), Coverage (every (method, path template, status) seen), Api (the HTTP client:
each response is matched to its operation and validated before the test sees it; a status
the spec does not declare, a wrong Content-Type, a body or header that breaks its schema, or
a problem whose type/status/instance disagree with its code, or an HTML page that is not a
whole, inert UTF-8 document raise SpecViolation), and small JWT helpers for forging tokens. Python 3.11 stdlib + Debian's python3-yaml and
python3-jsonschema 4.10 (RefResolver, not `referencing`). A Spec (its RefResolver keeps a
scope stack) serves one thread: give each thread its own; Coverage may be shared.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import select
import shlex
import threading
import urllib.parse

import yaml
from jsonschema import Draft202012Validator, FormatChecker, RefResolver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(ROOT, "openapi", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The contract's code -> status table (RFC 9457 problems).
PROBLEM_STATUS = {
    "bad-json": 400, "invalid-field": 400, "missing-field": 400, "unknown-field": 400,
    "bad-parameter": 400, "unauthorized": 401, "token-expired": 401, "token-revoked": 401,
    "login-failed": 401, "forbidden": 403, "not-found": 404, "method-not-allowed": 405,
    "conflict": 409, "payload-too-large": 413, "uri-too-long": 414,
    "unsupported-media-type": 415, "rate-limited": 429, "internal": 500, "unavailable": 503,
}

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class SpecViolation(AssertionError):
    """A response that openapi.yaml does not allow."""


# --- time -----------------------------------------------------------------------------

def parse_time(s):
    """parse_time - an RFC 3339 string as an aware datetime"""
    if not RFC3339.match(s):
        raise ValueError("not RFC 3339: %r" % s)
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))


def rfc3339(dt):
    """rfc3339 - an aware datetime as the contract's UTC form, seconds precision"""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow():
    """utcnow - the current time, aware, UTC"""
    return datetime.datetime.now(datetime.timezone.utc)


def _format_checker():
    fc = FormatChecker(())

    @fc.checks("date-time", raises=ValueError)
    def _date_time(value):
        if not isinstance(value, str):
            return True
        parse_time(value)
        return True

    return fc


# --- stack.env ------------------------------------------------------------------------

class Stack:
    """The variables a running stack offers, from DIR/stack.env."""

    def __init__(self, env_path):
        self.env_path = os.path.abspath(env_path)
        self.dir = os.path.dirname(self.env_path)
        self.env = {}
        with open(self.env_path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, raw = line.split("=", 1)
                words = shlex.split(raw, posix=True)
                self.env[key.strip()] = words[0] if words else ""

    def get(self, key, default=None):
        return self.env.get(key, default)

    def __getitem__(self, key):
        if key not in self.env:
            raise KeyError("%s is not in %s" % (key, self.env_path))
        return self.env[key]

    @property
    def api_url(self):
        return self["VR_API_URL"]

    @property
    def admin_user(self):
        return self["VR_ADMIN_USER"]

    @property
    def admin_password(self):
        return self["VR_ADMIN_PASSWORD"]

    @property
    def apid_log(self):
        return self.get("VR_APID_LOG")


# --- the spec -------------------------------------------------------------------------

class Spec:
    """openapi.yaml: route matching and response validation."""

    def __init__(self, path=SPEC_PATH):
        self.path = path
        with open(path, "rb") as f:
            self.raw = f.read()
        self.doc = yaml.safe_load(self.raw)
        self.resolver = RefResolver.from_schema(self.doc)
        self.format_checker = _format_checker()
        self._validators = {}
        self.templates = []  # (regex, template), literal paths first
        for tpl in self.doc["paths"]:
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(tpl)) + "$"
            self.templates.append((re.compile(rx), tpl))
        self.templates.sort(key=lambda t: t[1].count("{"))

    def operations(self):
        """operations - every (METHOD, template, operation object) of the spec"""
        for tpl, item in self.doc["paths"].items():
            for m in METHODS:
                if m in item:
                    yield m.upper(), tpl, item[m]

    def match(self, path):
        """match - the template a concrete path (no query) belongs to, or None"""
        for rx, tpl in self.templates:
            if rx.match(path):
                return tpl
        return None

    def deref(self, obj):
        """deref - follow a local $ref chain"""
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def validator(self, key, schema):
        v = self._validators.get(key)
        if v is None:
            v = Draft202012Validator(schema, resolver=self.resolver,
                                     format_checker=self.format_checker)
            self._validators[key] = v
        return v

    def schema_errors(self, key, schema, instance):
        v = self.validator(key, schema)
        return ["%s at %s" % (e.message, "/".join(str(p) for p in e.absolute_path) or "(root)")
                for e in v.iter_errors(instance)]

    def schema(self, name):
        return self.doc["components"]["schemas"][name]


def media_type_matches(declared, actual):
    """media_type_matches - the Content-Type `actual` satisfies the spec's key `declared`

    The base types must be equal; every parameter the spec names must be present with the
    same value (others, e.g. charset, are allowed)."""
    def parse(s):
        parts = [p.strip() for p in s.split(";")]
        params = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
        return parts[0].lower(), params
    dbase, dparams = parse(declared)
    abase, aparams = parse(actual)
    if dbase != abase:
        return False
    return all(aparams.get(k) == v for k, v in dparams.items())


# --- coverage -------------------------------------------------------------------------

class Coverage:
    """Every (method, template, status) a test saw; appended to a file as JSON lines."""

    def __init__(self, path=None):
        self.path = path
        self.seen = set()
        self.lock = threading.Lock()
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        self.seen.add(tuple(json.loads(line)))

    def record(self, method, template, status):
        key = (method, template or "*", status)
        with self.lock:
            if key in self.seen:
                return
            self.seen.add(key)
            if self.path:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(list(key)) + "\n")

    def report(self, spec):
        """report - (lines, operations never exercised)"""
        lines, missing = [], []
        for method, tpl, op in spec.operations():
            got = sorted(s for (m, t, s) in self.seen if m == method and t == tpl)
            declared = sorted(int(s) for s in op.get("responses", {}) if s.isdigit())
            untested = [s for s in declared if s not in got]
            if not got:
                missing.append("%s %s" % (method, tpl))
            lines.append("%-7s %-24s seen %-28s not seen %s" % (
                method, tpl, ",".join(map(str, got)) or "-", ",".join(map(str, untested)) or "-"))
        other = sorted((m, s) for (m, t, s) in self.seen if t == "*")
        if other:
            lines.append("outside any operation: " + ", ".join("%s %d" % o for o in other))
        return lines, missing


# --- responses ------------------------------------------------------------------------

class Response:
    """One validated HTTP response."""

    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path  # the request target, with its query
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get()
        self.body = body
        self.template = None
        self._json = None

    def header(self, name):
        return self.headers.get(name)

    @property
    def content_type(self):
        return self.headers.get("Content-Type", "")

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    @property
    def problem(self):
        """problem - the problem body (asserts it is one)"""
        assert self.content_type.split(";")[0].strip() == "application/problem+json", self
        return self.json

    @property
    def code(self):
        return self.problem.get("code")

    def __repr__(self):
        body = self.body[:600].decode("utf-8", "replace")
        return "<%s %s -> %d %s: %s>" % (self.method, self.path[:200], self.status,
                                        self.content_type, body)

    __str__ = __repr__


_HEADER_FIELD = re.compile(rb"^[!-9;-~]+[ \t]*:")


def rfc822_problem(data):
    """rfc822_problem - why data is not an RFC 5322 message (None if it is one): a header
    section of fields (name ":" value, continuation lines start with a space or tab) without
    NUL, ending at the first empty line or at the end; the body is any octets (BINARYMIME)"""
    if not data:
        return "empty"
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        line = line[:-1] if line.endswith(b"\r") else line
        if line == b"":
            return None if i > 0 else "no header field before the empty line"
        if b"\0" in line:
            return "line %d of the header holds a NUL byte" % (i + 1)
        if line[:1] in (b" ", b"\t"):
            if i == 0:
                return "the first line is a continuation line"
            continue
        if not _HEADER_FIELD.match(line):
            return "line %d of the header is not a field: %r" % (i + 1, line[:80])
    return None


# The elements and attributes that make an HTML page active, load something, or send the
# reader elsewhere: the pages apid writes for people (digest links) hold none of them.
_HTML_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
              "source", "track", "wbr"}
_HTML_ACTIVE = {"script", "style", "link", "iframe", "frame", "object", "embed", "img",
                "base", "svg", "math", "audio", "video", "source", "applet"}
_HTML_URL_ATTRS = {"src", "href", "action", "formaction", "srcset", "background", "poster"}


def html_problem(text, request_path=""):
    """html_problem - why text is not the kind of HTML page apid may write (None if it is):
    a whole UTF-8 document (<!DOCTYPE html>, <html lang>, <meta charset="utf-8">, balanced
    elements) with nothing active or loaded (no script, style, frame, image, event handler,
    URL attribute, refresh) and that does not copy the request's last path segment (a page
    opened from a mail link must not pass its token on)"""
    import html.parser

    if not re.match(r"(?i)<!DOCTYPE html>", text):
        return "does not start with <!DOCTYPE html>"
    problems, stack, seen = [], [], set()

    class P(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs, closed=False):
            seen.add(tag)
            if tag in _HTML_ACTIVE:
                problems.append("<%s> element" % tag)
            for k, v in attrs:
                if k.startswith("on"):
                    problems.append("event handler %s on <%s>" % (k, tag))
                if k in _HTML_URL_ATTRS:
                    problems.append("URL attribute %s=%r on <%s>" % (k, v, tag))
            d = dict(attrs)
            if tag == "meta" and (d.get("http-equiv") or "").lower() == "refresh":
                problems.append("<meta http-equiv=refresh>")
            if tag == "meta" and "charset" in d and (d["charset"] or "").lower() != "utf-8":
                problems.append("<meta charset=%r>" % d["charset"])
            if tag == "html" and not d.get("lang"):
                problems.append("<html> without lang")
            if tag not in _HTML_VOID and not closed:
                stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            self.handle_starttag(tag, attrs, closed=True)

        def handle_endtag(self, tag):
            if not stack or stack[-1] != tag:
                problems.append("</%s> closes %s" % (tag, "<%s>" % stack[-1] if stack
                                                     else "nothing"))
            else:
                stack.pop()

    parser = P(convert_charrefs=True)
    parser.feed(text)
    parser.close()
    if stack:
        problems.append("unclosed <%s>" % ">, <".join(stack))
    for tag in ("html", "head", "title", "body"):
        if tag not in seen:
            problems.append("no <%s>" % tag)
    if 'charset="utf-8"' not in text.lower() and "charset=utf-8" not in text.lower():
        problems.append('no <meta charset="utf-8">')
    last = urllib.parse.urlsplit(request_path).path.rsplit("/", 1)[-1]
    if len(last) >= 16 and last in text:
        problems.append("the page copies the request's path segment %r" % last[:40])
    return "; ".join(problems) or None


# --- the client -----------------------------------------------------------------------

class Api:
    """An HTTP client for apid; every response is checked against the spec.

    token: the bearer credential to send (None: no Authorization header).
    source_ip: a loopback address to connect from (apid then sees it as the client)."""

    def __init__(self, base_url, spec, coverage, token=None, source_ip=None, timeout=60):
        u = urllib.parse.urlsplit(base_url)
        assert u.scheme == "http", "only http:// is supported: %s" % base_url
        self.base_url = base_url
        self.host = u.hostname
        self.port = u.port or 80
        self.spec = spec
        self.coverage = coverage
        self.token = token
        self.source_ip = source_ip
        self.timeout = timeout

    def as_(self, token=None, source_ip=None):
        """as_ - the same client with another credential (and source address)"""
        return Api(self.base_url, self.spec, self.coverage, token=token,
                   source_ip=source_ip if source_ip is not None else self.source_ip,
                   timeout=self.timeout)

    def _connection(self):
        src = (self.source_ip, 0) if self.source_ip else None
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                          source_address=src)

    def _headers(self, headers, auth):
        h = {}
        if auth is not None:
            h["Authorization"] = auth
        elif self.token is not None:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        return h

    def request(self, method, path, json_body=None, body=None, content_type=None,
                headers=None, auth=None, params=None):
        """request - send one request, validate the response against the spec, return it

        json_body: serialised as application/json; body: raw bytes (with content_type);
        auth: a raw Authorization header value instead of the client's token;
        params: a dict (or list of pairs) appended as the query string."""
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params)
        h = self._headers(headers, auth)
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            content_type = content_type or "application/json"
        if content_type is not None:
            h["Content-Type"] = content_type
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            resp = Response(method, path, r.status, r.reason, r.headers, r.read())
        finally:
            conn.close()
        return self.check(resp)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.request("PATCH", path, json_body=json_body, **kw)

    def request_streaming(self, method, path, data, content_type="application/json",
                          chunked=False, headers=None, piece_size=65536):
        """request_streaming - send the body `data` in pieces, stopping as soon as the server
        answers (so that an early 413 is read, not lost to a reset); validate the response

        chunked: send it with Transfer-Encoding: chunked instead of Content-Length."""
        h = self._headers(headers, None)
        conn = self._connection()
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in h.items():
                conn.putheader(k, v)
            conn.putheader("Content-Type", content_type)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            else:
                conn.putheader("Content-Length", str(len(data)))
            conn.endheaders()
            sent = 0
            sock = conn.sock
            try:
                while sent < len(data):
                    readable, _, _ = select.select([sock], [], [], 0)
                    if readable:
                        break
                    piece = data[sent:sent + piece_size]
                    if chunked:
                        sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    else:
                        sock.sendall(piece)
                    sent += len(piece)
                else:
                    if chunked:
                        sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            resp = Response(method, path, r.status, r.reason, r.headers, r.read())
            resp.sent = sent
        finally:
            conn.close()
        return self.check(resp)

    # --- validation ---

    def check(self, resp):
        """check - validate resp against the spec (raise SpecViolation) and record it"""
        spec = self.spec
        path_only = urllib.parse.urlsplit(resp.path).path
        tpl = spec.match(path_only)
        resp.template = tpl
        op = spec.doc["paths"][tpl].get(resp.method.lower()) if tpl else None
        where = "%s %s" % (resp.method, tpl or path_only[:100])
        if op is not None:
            responses = op.get("responses", {})
            rspec = responses.get(str(resp.status), responses.get("default"))
            if rspec is None:
                raise SpecViolation("%s: status %d is not declared for the operation: %r"
                                    % (where, resp.status, resp))
        else:
            dispatcher = spec.doc.get("x-vrgate-dispatcher-responses", {})
            rspec = dispatcher.get(str(resp.status))
            allowed = ("405", "414") if tpl else ("404", "414")
            if str(resp.status) not in allowed or rspec is None:
                raise SpecViolation("%s: no such operation in the spec, expected %s, got %r"
                                    % (where, "/".join(allowed), resp))
        rspec = spec.deref(rspec)
        self._check_headers(where, resp, rspec)
        self._check_body(where, resp, rspec)
        if resp.status == 405:
            # OPTIONS is left to test_api_core.test_options (the contract lists no OPTIONS)
            allow = {m.strip() for m in (resp.header("Allow") or "").split(",") if m.strip()}
            offered = {m.upper() for m in spec.doc["paths"][tpl] if m in METHODS}
            if allow - {"OPTIONS"} != offered:
                raise SpecViolation("%s: Allow %r, the spec offers %s" % (
                    where, resp.header("Allow"), sorted(offered)))
        self.coverage.record(resp.method, tpl if op is not None else None, resp.status)
        return resp

    def _check_headers(self, where, resp, rspec):
        for name, h in (rspec.get("headers") or {}).items():
            h = self.spec.deref(h)
            value = resp.header(name)
            if value is None:
                if h.get("required"):
                    raise SpecViolation("%s: required header %s is missing: %r"
                                        % (where, name, resp))
                continue
            schema = h.get("schema", {})
            inst = value
            if self.spec.deref(schema).get("type") == "integer":
                if not re.fullmatch(r"[0-9]+", value):
                    raise SpecViolation("%s: header %s=%r is not an integer" % (where, name, value))
                inst = int(value)
            errs = self.spec.schema_errors(("hdr", id(h)), schema, inst)
            if errs:
                raise SpecViolation("%s: header %s=%r: %s" % (where, name, value, "; ".join(errs)))

    def _check_body(self, where, resp, rspec):
        content = rspec.get("content")
        if not content:
            if resp.body:
                raise SpecViolation("%s: the spec declares no body for %d, got %r"
                                    % (where, resp.status, resp))
            return
        ctype = resp.content_type
        match = [mt for mt in content if media_type_matches(mt, ctype)]
        if not match:
            raise SpecViolation("%s: Content-Type %r is none of %s: %r"
                                % (where, ctype, list(content), resp))
        mt = match[0]
        schema = content[mt].get("schema")
        base = mt.split(";")[0].strip()
        if base == "application/json" or base.endswith("+json"):
            try:
                inst = resp.json
            except ValueError as e:
                raise SpecViolation("%s: body is not JSON (%s): %r" % (where, e, resp))
        elif base == "message/rfc822":
            # a message is octets (8BITMIME: any charset), not UTF-8 text; check its shape
            why = rfc822_problem(resp.body)
            if why:
                raise SpecViolation("%s: not a message/rfc822 body: %s: %r" % (where, why, resp))
            inst = resp.body.decode("latin-1")
        else:
            try:
                inst = resp.body.decode("utf-8")
            except UnicodeDecodeError:
                raise SpecViolation("%s: body is not UTF-8 text: %r" % (where, resp))
            if base == "text/html":
                if not media_type_matches("text/html; charset=utf-8", ctype.lower()):
                    raise SpecViolation("%s: an HTML page must say charset=utf-8, got %r: %r"
                                        % (where, ctype, resp))
                why = html_problem(inst, resp.path)
                if why:
                    raise SpecViolation("%s: not a safe HTML page: %s: %r" % (where, why, resp))
        if schema is not None:
            errs = self.spec.schema_errors(("body", id(schema)), schema, inst)
            if errs:
                raise SpecViolation("%s: body breaks the %d schema: %s\n%r"
                                    % (where, resp.status, "; ".join(errs[:5]), resp))
        if base == "application/problem+json":
            self._check_problem(where, resp, inst)

    def _check_problem(self, where, resp, p):
        code = p.get("code")
        errs = []
        if p.get("type") != "urn:vrgate:problem:%s" % code:
            errs.append("type %r does not name code %r" % (p.get("type"), code))
        if p.get("status") != resp.status:
            errs.append("status %r in the body, %d on the wire" % (p.get("status"), resp.status))
        if PROBLEM_STATUS.get(code) != resp.status:
            errs.append("code %r goes with status %s, not %d" % (
                code, PROBLEM_STATUS.get(code), resp.status))
        if p.get("instance") != urllib.parse.urlsplit(resp.path).path:
            errs.append("instance %r is not the request path %r" % (
                p.get("instance")[:100] if p.get("instance") else None,
                urllib.parse.urlsplit(resp.path).path[:100]))
        if resp.status == 429:
            ra = resp.header("Retry-After")
            if ra is None or str(p.get("retry_after")) != ra.strip():
                errs.append("retry_after %r differs from Retry-After %r" % (
                    p.get("retry_after"), ra))
        if resp.status == 401:
            if resp.header("WWW-Authenticate") != 'Bearer realm="vrgate"':
                errs.append("WWW-Authenticate is %r" % resp.header("WWW-Authenticate"))
        if errs:
            raise SpecViolation("%s: problem: %s: %r" % (where, "; ".join(errs), resp))


# --- JWT ------------------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_decode(token):
    """jwt_decode - (header, claims) of a JWT, signature unchecked"""
    parts = token.split(".")
    assert len(parts) == 3, "a JWT has three parts: %r" % token
    return json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))


def jwt_encode(header, claims, key=None, signature=None):
    """jwt_encode - a JWT signed with HS256 and key (bytes), or with the given signature"""
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    if signature is None:
        if key is None:
            signature = ""
        else:
            mac = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
            signature = b64url(mac)
    return signing_input + "." + signature


# --- Prometheus -----------------------------------------------------------------------

_PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    """parse_metrics - [(name, {label: value}, float)] of a text exposition, comments skipped"""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _PROM_LINE.match(line)
        if not m:
            raise ValueError("not a metrics line: %r" % line)
        labels = {}
        raw = m.group(3) or ""
        pos = 0
        while pos < len(raw):
            lm = _PROM_LABEL.match(raw, pos)
            if not lm:
                raise ValueError("bad labels in %r" % line)
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def _key_variants(raw):
    """_key_variants - the ways a secret may be stored: raw, trimmed, hex, base64"""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    seen = set()
    cands = [raw, raw.strip()]
    for dec in (bytes.fromhex, base64.b64decode, b64url_decode):
        try:
            t = raw.strip().decode("ascii")
            cands.append(dec(t))
        except (ValueError, UnicodeDecodeError):
            pass
    for c in cands:
        if c and c not in seen:
            seen.add(c)
            yield c


def find_jwt_key(stack, token):
    """find_jwt_key - apid's HS256 signing key, or None

    Tries every small secret under the stack's apid state (files, and values in SQLite
    databases) against the signature of `token`, a session JWT apid issued: the key is the
    one that reproduces it, wherever and however apid stores it."""
    import sqlite3

    signing_input, sig = token.rsplit(".", 1)
    want = b64url_decode(sig)

    def good(key):
        mac = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return hmac.compare_digest(mac, want)

    roots = [stack.get("VR_APID_JWT_KEY_FILE"), stack.get("VR_APID_STATE_DIR"),
             os.path.join(stack.dir, "apid")]
    files = []
    for r in roots:
        if r and os.path.isfile(r):
            files.append(r)
        elif r and os.path.isdir(r):
            for d, _, names in os.walk(r):
                files.extend(os.path.join(d, n) for n in sorted(names))
    for f in files:
        try:
            with open(f, "rb") as fh:
                head = fh.read(16)
                size = os.fstat(fh.fileno()).st_size
                if head == b"SQLite format 3\0":
                    values = _sqlite_values(sqlite3, f)
                elif size <= 65536:
                    fh.seek(0)
                    content = fh.read()
                    values = [content] + content.splitlines()
                else:
                    continue
        except OSError:
            continue
        for v in values:
            for k in _key_variants(v):
                if good(k):
                    return k
    return None


def _sqlite_values(sqlite3, path):
    """_sqlite_values - the short text and blob values of every table of a database"""
    out = []
    try:
        db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=5)
    except sqlite3.Error:
        return out
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            try:
                for row in db.execute('SELECT * FROM "%s" LIMIT 2000' % t.replace('"', '""')):
                    out.extend(v for v in row if isinstance(v, (str, bytes)) and 0 < len(v) <= 4096)
            except sqlite3.Error:
                continue
    finally:
        db.close()
    return out
