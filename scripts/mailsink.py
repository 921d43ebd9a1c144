#!/usr/bin/python3
"""mailsink - a small SMTP server that stores what it receives, for the vrgate stack.

Stands in for the organisation's internal mail server (``--mailboxes FILE``: only those
recipients are accepted, others get ``550 5.1.1 <addr>: Recipient address rejected: User
unknown``) or for the Internet (no ``--mailboxes``: any recipient is accepted).

Every accepted message is stored as ONE file in ``--store DIR`` (whatever the number of
recipients), named ``<ns-timestamp>.<pid>.<seq>.<server-name>.eml`` and written atomically:
``DIR/.tmp/NAME`` is written, fsync'ed, renamed into DIR, and DIR is fsync'ed before the
``250`` is sent. Only complete messages ever appear as ``*.eml``. The file holds the message as
received on the wire (dot-unstuffed) with LF line endings, preceded by envelope headers::

    X-Mailsink-Server: internal
    X-Mailsink-From: sender@example.org      (``<>`` for the null sender)
    X-Mailsink-Rcpt: alice@corp.test          (one line per envelope recipient)
    X-Mailsink-Peer: 127.0.0.1
    X-Mailsink-Id: <file name without .eml>

The ``250`` reply to DATA is ``250 2.0.0 Ok: queued as <id>``, so Postfix's log names the file.

Run-time switches (files checked on every command, no restart needed):
  * the mailboxes file is re-read when its mtime changes (tests may append an address);
  * ``--tempfail FILE``: while FILE exists, every RCPT gets a temporary failure. If FILE holds
    a reply line starting with a 4xx/5xx code (e.g. ``452 4.2.2 Mailbox full``) that line is
    used, otherwise ``451 4.3.0 <addr>: Temporary failure (mailsink tempfail switch)``.

Needs Debian's python3-aiosmtpd: run with /usr/bin/python3.
"""
import argparse
import asyncio
import itertools
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP


def log(msg):
    sys.stdout.write("%s mailsink: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg))
    sys.stdout.flush()


class Mailboxes:
    """A set of lower-cased addresses from a file, re-read when the file changes."""

    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.addrs = frozenset()
        self.reload()

    def reload(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if key == self.mtime:
            return
        with open(self.path, encoding="utf-8") as f:
            addrs = {l.strip().lower() for l in f if l.strip() and not l.startswith("#")}
        self.addrs = frozenset(addrs)
        self.mtime = key
        log("%d mailboxes loaded from %s" % (len(self.addrs), self.path))

    def __contains__(self, addr):
        self.reload()
        return addr.lower() in self.addrs


class Store:
    def __init__(self, directory, name):
        self.dir = directory
        self.tmp = os.path.join(directory, ".tmp")
        self.name = name
        self.seq = itertools.count(1)
        os.makedirs(self.tmp, exist_ok=True)

    def new_id(self):
        return "%d.%d.%06d.%s" % (time.time_ns(), os.getpid(), next(self.seq), self.name)

    def write(self, ident, data):
        """Blocking: temp + fsync + rename + fsync(dir). Runs in a worker thread."""
        tmp = os.path.join(self.tmp, ident)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(self.dir, ident + ".eml"))
        dfd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class Handler:
    def __init__(self, args):
        self.name = args.name
        self.mailboxes = Mailboxes(args.mailboxes) if args.mailboxes else None
        self.tempfail = args.tempfail
        self.store = Store(args.store, args.name)

    def _tempfail_reply(self, addr):
        if not self.tempfail or not os.path.exists(self.tempfail):
            return None
        try:
            with open(self.tempfail, encoding="utf-8") as f:
                line = f.readline().strip()
        except OSError:
            line = ""
        if len(line) >= 3 and line[0] in "45" and line[:3].isdigit():
            return line
        return "451 4.3.0 <%s>: Temporary failure (mailsink tempfail switch)" % addr

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._tempfail_reply(address)
        if reply:
            log("%s: RCPT <%s> -> %s" % (self.name, address, reply))
            return reply
        if self.mailboxes is not None and address not in self.mailboxes:
            log("%s: RCPT <%s> rejected: unknown" % (self.name, address))
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        ident = self.store.new_id()
        sender = envelope.mail_from or "<>"
        hdr = ["X-Mailsink-Server: %s" % self.name, "X-Mailsink-From: %s" % sender]
        hdr += ["X-Mailsink-Rcpt: %s" % r for r in envelope.rcpt_tos]
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        hdr += ["X-Mailsink-Peer: %s" % peer, "X-Mailsink-Id: %s" % ident, ""]
        body = envelope.original_content.replace(b"\r\n", b"\n")
        data = "\n".join(hdr).encode("utf-8", "surrogateescape") + body
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.store.write, ident, data)
        except OSError as e:
            log("%s: cannot store %s: %s" % (self.name, ident, e))
            return "451 4.3.0 Cannot store message"
        log("%s: stored %s.eml from=<%s> rcpt=%s size=%d" % (
            self.name, ident, envelope.mail_from or "",
            ",".join(envelope.rcpt_tos), len(body)))
        return "250 2.0.0 Ok: queued as %s" % ident


class LenientSMTP(SMTP):
    # Real servers accept long lines; aiosmtpd's default (1001) answers 500 to them.
    line_length_limit = 1 << 16


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT (loopback)")
    ap.add_argument("--store", required=True, help="directory for *.eml files")
    ap.add_argument("--name", default="mailsink", help="server name (file names, headers)")
    ap.add_argument("--mailboxes", help="file of accepted recipients, one per line")
    ap.add_argument("--tempfail", help="while this file exists, RCPT gets a 4xx")
    ap.add_argument("--hostname", help="name in the banner and EHLO reply")
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    host, port = args.listen.rsplit(":", 1)
    host = host.strip("[]")
    os.makedirs(args.store, exist_ok=True)
    handler = Handler(args)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return LenientSMTP(handler, data_size_limit=100 * 1024 * 1024, enable_SMTPUTF8=True,
                           hostname=args.hostname or (args.name + ".mailsink.test"),
                           ident="mailsink", timeout=300, loop=loop)

    server = loop.run_until_complete(
        loop.create_server(factory, host=host, port=int(port), reuse_address=True))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    log("%s: listening on %s:%s, storing into %s%s" % (
        args.name, host, port, args.store,
        "" if handler.mailboxes is None else " (%d mailboxes)" % len(handler.mailboxes.addrs)))
    loop.run_until_complete(stop.wait())
    server.close()
    loop.run_until_complete(server.wait_closed())
    log("%s: stopped" % args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
