"""test_apid_process - apid as a process: start-up, files, HTTPS, refusals, shutdown.

Each test starts its own apid (from VR_BIN_DIR, the sanitizer build under `make test`) in
a private directory on a run-time port, so that it can be killed, restarted and
misconfigured without disturbing the shared stack of the other tests.
"""
import json
import os
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import threading
import time
import http.client
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("VR_BIN_DIR", os.path.join(ROOT, "build", "bin"))
APID = os.path.join(BIN, "apid")


class Apid:
    """One apid process in dir; start() waits for its port file."""

    def __init__(self, d, *args, env=None):
        self.dir = d
        self.args = list(args)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None
        self.log = os.path.join(d, "apid.log")

    def start(self, wait=True):
        portfile = os.path.join(self.dir, "port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [APID, "--data-dir", os.path.join(self.dir, "data"), "--listen", "127.0.0.1",
             "--port", "0", "--port-file", portfile] + self.args,
            stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        if not wait:
            return self
        for _ in range(200):
            if os.path.exists(portfile) and open(portfile).read().strip():
                self.port = int(open(portfile).read())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("apid did not start:\n" + self.output())

    def output(self):
        return open(self.log, errors="replace").read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        self.logf.close()
        return self.proc.returncode

    def check_clean_log(self):
        out = self.output()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert bad not in out, out


@pytest.fixture
def apid(tmp_path):
    procs = []

    def make(*args, env=None):
        a = Apid(str(tmp_path), *args, env=env)
        procs.append(a)
        return a
    yield make
    for a in procs:
        if a.proc and a.proc.poll() is None:
            a.stop(signal.SIGKILL)


def login(base, user, password, context=None):
    req = urllib.request.Request(
        base + "/api/v1/auth/login", method="POST",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=context, timeout=10) as r:
        return r.status, json.load(r)


def test_help_lists_every_setting_with_its_environment_name():
    out = subprocess.run([APID, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    for name in ("--listen", "--port", "--data-dir", "--tls-cert", "--max-body",
                 "--per-ip-connections", "--session-ttl", "VR_APID_ADMIN_PASSWORD"):
        assert name in out.stdout
    # the secret's default is never printed
    assert "(hidden)" not in out.stdout or "admin-password" in out.stdout


@pytest.mark.parametrize("args,needle", [
    (["--port", "70000"], "port"),
    (["--session-ttl", "3600"], "session-ttl"),
    (["--threads", "zero"], "threads"),
    (["--no-such-setting", "1"], "no-such-setting"),
    (["--log-level", "chatty"], "log-level"),
])
def test_bad_settings_are_refused_by_name(tmp_path, args, needle):
    out = subprocess.run([APID, "--data-dir", str(tmp_path / "d")] + args,
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert needle in out.stderr
    assert not (tmp_path / "d" / "apid.db").exists()


def test_first_start_creates_secrets_0600_and_random_admin_password(apid, tmp_path):
    a = apid().start()
    data = tmp_path / "data"
    for name in ("jwt.key", "admin-password"):
        mode = stat.S_IMODE(os.stat(data / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert os.path.getsize(data / "jwt.key") == 32
    password = (data / "admin-password").read_text().strip()
    assert len(password) >= 20
    # the password is announced by path, never printed
    assert password not in a.output()
    status, body = login("http://127.0.0.1:%d" % a.port, "admin", password)
    assert status == 200 and body["user"]["role"] == "admin"
    assert a.stop() == 0
    # a restart keeps the key (the session still verifies) and creates no second admin
    b = apid().start()
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/me" % b.port,
                                 headers={"Authorization": "Bearer " + body["token"]})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert json.load(r)["username"] == "admin"
    assert b.stop() == 0
    db = sqlite3.connect(str(data / "apid.db"))
    assert db.execute("SELECT count(*) FROM users WHERE role='admin'").fetchone()[0] == 1
    b.check_clean_log()


def test_database_newer_than_apid_is_refused(apid, tmp_path):
    a = apid().start()
    assert a.stop() == 0
    db = sqlite3.connect(str(tmp_path / "data" / "apid.db"))
    version = db.execute("PRAGMA user_version").fetchone()[0]
    db.execute("PRAGMA user_version = %d" % (version + 5))
    db.commit()
    db.close()
    b = apid().start(wait=False)
    assert b.proc.wait(20) == 1
    assert "newer" in b.output() and "refusing to start" in b.output()
    db = sqlite3.connect(str(tmp_path / "data" / "apid.db"))
    assert db.execute("PRAGMA user_version").fetchone()[0] == version + 5


def test_wal_and_foreign_keys(apid, tmp_path):
    a = apid().start()
    a.stop()
    db = sqlite3.connect(str(tmp_path / "data" / "apid.db"))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def make_cert(d):
    """A CA and a server certificate for 127.0.0.1 made with certtool."""
    def certtool(*args):
        subprocess.run(["certtool"] + list(args), check=True, capture_output=True)
    open(os.path.join(d, "ca.tmpl"), "w").write(
        'cn = "vrgate test CA"\nca\ncert_signing_key\nexpiration_days = 2\n')
    open(os.path.join(d, "srv.tmpl"), "w").write(
        'cn = "apid"\nip_address = "127.0.0.1"\ndns_name = "localhost"\ntls_www_server\n'
        'encryption_key\nsigning_key\nexpiration_days = 2\n')
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", os.path.join(d, "ca.key"))
    certtool("--generate-self-signed", "--load-privkey", os.path.join(d, "ca.key"),
             "--template", os.path.join(d, "ca.tmpl"), "--outfile", os.path.join(d, "ca.pem"))
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", os.path.join(d, "srv.key"))
    certtool("--generate-certificate", "--load-privkey", os.path.join(d, "srv.key"),
             "--load-ca-certificate", os.path.join(d, "ca.pem"),
             "--load-ca-privkey", os.path.join(d, "ca.key"),
             "--template", os.path.join(d, "srv.tmpl"), "--outfile", os.path.join(d, "srv.pem"))


def test_https_with_a_verified_certificate(apid, tmp_path):
    make_cert(str(tmp_path))
    a = apid("--tls-cert", str(tmp_path / "srv.pem"), "--tls-key", str(tmp_path / "srv.key"),
             env={"VR_APID_ADMIN_PASSWORD": "correct-horse-battery"}).start()
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    status, body = login("https://127.0.0.1:%d" % a.port, "admin", "correct-horse-battery",
                         context=ctx)
    assert status == 200 and body["token"]
    # a client that verifies against another CA refuses the server
    with pytest.raises(Exception):
        login("https://127.0.0.1:%d" % a.port, "admin", "x",
              context=ssl.create_default_context())
    # plain HTTP on the HTTPS port gets no answer in clear text
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    assert not data.startswith(b"HTTP/1.1 200")
    s.close()
    assert a.stop() == 0
    a.check_clean_log()


def test_half_configured_tls_is_refused(apid, tmp_path):
    make_cert(str(tmp_path))
    a = apid("--tls-cert", str(tmp_path / "srv.pem")).start(wait=False)
    assert a.proc.wait(20) == 1
    assert "tls-key" in a.output()


def test_sigterm_lets_in_flight_requests_finish(apid):
    a = apid(env={"VR_APID_ADMIN_PASSWORD": "correct-horse-battery"}).start()
    results = []

    def slow_login():
        # argon2id makes a login take a noticeable time: SIGTERM lands while it runs
        try:
            results.append(login("http://127.0.0.1:%d" % a.port, "admin",
                                 "correct-horse-battery")[0])
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            results.append(repr(e))
    threads = [threading.Thread(target=slow_login) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    a.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    assert a.proc.wait(30) == 0
    assert results == [200] * 4, results
    # and it no longer accepts connections
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", a.port), timeout=2)
    a.check_clean_log()


def test_header_flood_does_not_crash(apid):
    a = apid().start()
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
    conn.putrequest("GET", "/healthz")
    for i in range(2000):
        conn.putheader("X-Junk-%d" % i, "x" * 50)
    try:
        conn.endheaders()
        r = conn.getresponse()
        assert r.status in (413, 414, 431, 400)
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        pass
    conn.close()
    # still serving
    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % a.port, timeout=10) as r:
        assert r.status == 200
    assert a.stop() == 0
    a.check_clean_log()
