#!/usr/bin/python3
"""gen_quarantine.py - fill a stopped apid's index with a synthetic quarantine.

Writes straight into DATA-DIR/apid.db (apid must not be running: bench/quarantine.sh stops
it first) in one transaction:
  * USERS directory users (role user), one or two addresses each;
  * ENTRIES quarantine rows (random 22-char base64url ids, senders, subjects, categories,
    scores) with their quarantine_rcpts rows (status held; about 1 in 10 messages has a
    second recipient). EXPIRED of them were received ~60 days ago (past every category's
    default retention) and get a real small spool file, so that the purge removes files;
    the others are spread over the last 29 days (newsletters: 14 days, their retention
    being 15) and have no file (listing does not read the spool);
  * one API token (role user) for each of BENCH benchmark users and one for the
    bootstrap admin (role admin), hash = SHA-256 of "vrt_" + 43 base64url characters.
Writes the tokens to TOKENS-FILE as tab-separated lines: "admin<TAB>TOKEN" and
"user<TAB>TOKEN<TAB>USER-ID<TAB>ITEMS<TAB>ADDRESS[<TAB>ADDRESS]".
  gen_quarantine.py DATA-DIR TOKENS-FILE [--entries N] [--users N] [--expired N] [--bench N]
"""
import argparse
import base64
import hashlib
import json
import os
import random
import sqlite3
import sys
import time

FIRST = ("anna bob carla david emma felix greta hugo ines jonas karin lars maria nils olga "
         "paul rosa sven tina ugo vera walter xenia yann zoe").split()
LAST = ("schmidt mueller martin bernard dubois rossi bianchi garcia lopez novak kowalski "
        "jensen hansen smith jones brown taylor wilson evans thomas").split()
SPAM_DOMAINS = ["mailer%d.%s" % (i, tld) for i in range(60)
                for tld in ("biz", "top", "xyz", "info", "ru")]
NEWS_DOMAINS = ["news.%s.com" % n for n in (
    "shopzilla", "travelnow", "techdaily", "bankofnowhere", "fashionhub", "weeklydeals",
    "cloudvendor", "airline-miles", "bookclub", "sportsworld")]
CATS = (("spam", 70), ("newsletter", 15), ("blocklist", 7), ("attachment", 5), ("virus", 3))
SPAM_SUBJ = [
    "Your invoice #{n} is overdue", "Invoice {n} attached", "You have won {n} EUR",
    "Urgent: verify your account", "Re: payment {n}", "Cheap meds, {n}% off",
    "Your parcel {n} could not be delivered", "Meet singles near you",
    "Final notice: outstanding invoice", "Crypto profits {n}% guaranteed",
    "Password expires today", "Business proposal", "Re: your order {n}",
]
NEWS_SUBJ = [
    "This week's deals: up to {n}% off", "Your {n} monthly newsletter", "New arrivals",
    "Flash sale ends tonight", "Top stories for you", "Your miles statement",
    "Webinar invitation: cloud costs", "We miss you - {n}% off",
]
OTHER_SUBJ = ["Scan {n}", "Documents", "Invoice {n}.zip", "Re: contract", "Shipping label",
              "Fax message {n}", "Updated invoice", "Photos"]
SYMBOLS = ["BAYES_SPAM", "RBL_SPAMHAUS_SBL", "URIBL_BLACK", "MIME_HTML_ONLY", "FORGED_SENDER",
           "R_SPF_FAIL", "DMARC_POLICY_REJECT", "HFILTER_HOSTNAME_UNKNOWN", "FREEMAIL_FROM"]
VIRUSES = ["Eicar-Signature", "Win.Trojan.Agent-1234", "Doc.Dropper.Emotet-42",
           "Html.Phishing.Bank-7"]


def rid(rng):
    """a 22-char base64url id like vr_random_id"""
    return base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("tokens_file")
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--expired", type=int, default=100_000)
    ap.add_argument("--bench", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t0 = time.monotonic()
    now = int(time.time())
    db = sqlite3.connect(os.path.join(a.data_dir, "apid.db"), isolation_level=None)
    # apid is stopped: the WAL is folded back; a rollback journal is cheap for a nearly
    # empty file (new pages are not journaled); apid turns WAL on again when it opens.
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -2000000")
    admin = db.execute("SELECT id FROM users WHERE role = 'admin' ORDER BY created_at "
                       "LIMIT 1").fetchone()
    if admin is None:
        sys.exit("gen_quarantine: no admin in users (has apid run once on this DIR?)")
    db.execute("BEGIN")

    # users and addresses; a user's weight spreads the entries unevenly (log-normal)
    users, addrs, weights = [], [], []
    for i in range(a.users):
        uid = rid(rng)
        f, l = rng.choice(FIRST), rng.choice(LAST)
        name = "%s.%s%d" % (f, l, i)
        mine = ["%s@corp.example" % name]
        if rng.random() < 0.4:
            mine.append("%s%d@corp-alias.example" % (f[0] + l, i))
        users.append((uid, name, "%s %s" % (f.title(), l.title()), now - 86400 * 90,
                      "uid=%s,ou=people,dc=corp,dc=example" % name))
        addrs.append(mine)
        weights.append(rng.lognormvariate(0, 0.6))
    db.executemany("INSERT INTO users (id, username, display_name, role, source, created_at, "
                   "dn, directory_role) VALUES (?, ?, ?, 'user', 'directory', ?, ?, 'user')",
                   users)
    db.executemany("INSERT INTO addresses (address, user_id, is_primary) VALUES (?, ?, ?)",
                   ((ad, users[i][0], int(j == 0)) for i, mine in enumerate(addrs)
                    for j, ad in enumerate(mine)))

    # entries, inserted in id order (the primary key index grows at its end)
    ids = set()
    while len(ids) < a.entries:
        ids.add(rid(rng))
    ids = sorted(ids)
    expired = set(rng.sample(range(a.entries), a.expired))
    cat_names = [c for c, _ in CATS]
    cat_weights = [w for _, w in CATS]
    owners = rng.choices(range(a.users), weights=weights, k=a.entries)
    rcpts = []          # (qid, recipient, received_at, category)
    files = []          # (qid, spool, body) of the expired ones
    counts = [0] * a.users

    def rows():
        for k, qid in enumerate(ids):
            cat = rng.choices(cat_names, cat_weights)[0]
            n = rng.randrange(1000, 99999)
            if k in expired:
                t = now - 60 * 86400 - rng.randrange(86400)
            else:
                span = 14 * 86400 if cat == "newsletter" else 29 * 86400
                t = now - rng.randrange(span)
            score = virus = None
            if cat == "spam":
                score = round(rng.uniform(8, 30), 2)
                subj = rng.choice(SPAM_SUBJ).format(n=n)
                dom = rng.choice(SPAM_DOMAINS)
            elif cat == "newsletter":
                score = round(rng.uniform(0, 5), 2)
                subj = rng.choice(NEWS_SUBJ).format(n=n % 90)
                dom = rng.choice(NEWS_DOMAINS)
            else:
                score = round(rng.uniform(-1, 12), 2) if rng.random() < 0.8 else None
                subj = rng.choice(OTHER_SUBJ).format(n=n)
                dom = rng.choice(SPAM_DOMAINS + NEWS_DOMAINS)
                if cat == "virus":
                    virus = rng.choice(VIRUSES)
            sender = "%s%d@%s" % (rng.choice(FIRST), rng.randrange(100), dom)
            size = rng.randrange(2000, 200000)
            spool = "%s/%s.eml" % (qid[:2], qid)
            o = owners[k]
            mine = [rng.choice(addrs[o])]
            counts[o] += 1
            if rng.random() < 0.1:
                o2 = rng.randrange(a.users)
                if o2 != o:
                    mine.append(addrs[o2][0])
                    counts[o2] += 1
            for r in sorted(mine):
                rcpts.append((qid, r, t, cat))
            if k in expired:
                body = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@bench>\r\n\r\n"
                        "expired benchmark message\r\n" % (sender, mine[0], subj, qid)).encode()
                files.append((spool, body))
                sha = hashlib.sha256(body).hexdigest()
                size = len(body)
            else:
                sha = "%064x" % rng.getrandbits(256)
            syms = json.dumps(rng.sample(SYMBOLS, 3)) if score is not None else "[]"
            yield (qid, "bench-" + qid, "Q%X" % rng.getrandbits(40), "<%s@bench>" % qid,
                   spool, sha, size, t, "outbound" if rng.random() < 0.02 else "inbound",
                   cat, sender, sender, subj, score, virus, syms)

    db.executemany("INSERT INTO quarantine (id, ingest_key, queue_id, message_id, spool, "
                   "sha256, size, received_at, direction, category, sender, from_addr, "
                   "subject, score, virus, symbols) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?, ?, ?, ?, ?)", rows())
    db.executemany("INSERT INTO quarantine_rcpts (quarantine_id, recipient, status, "
                   "received_at, category, updated_at) VALUES (?, ?, 'held', ?, ?, ?)",
                   ((q, r, t, c, t) for q, r, t, c in rcpts))

    # tokens: benchmark users are random users with at least two pages of items
    tokens = []
    bench = rng.sample([i for i in range(a.users) if counts[i] >= 120], a.bench)

    def token(uid, role):
        secret = "vrt_" + base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()
        db.execute("INSERT INTO api_tokens (id, user_id, name, role, hash, created_at) "
                   "VALUES (?, ?, 'bench-quarantine', ?, ?, ?)",
                   (rid(rng), uid, role, hashlib.sha256(secret.encode()).digest(), now))
        return secret

    tokens.append("admin\t%s" % token(admin[0], "admin"))
    for i in bench:
        tokens.append("user\t%s\t%s\t%d\t%s" % (token(users[i][0], "user"), users[i][0],
                                                counts[i], "\t".join(addrs[i])))
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
    t_db = time.monotonic() - t0

    # the spool files of the expired entries (0600 in 0700 directories, like apid)
    t1 = time.monotonic()
    spool = os.path.join(a.data_dir, "spool")
    os.makedirs(spool, mode=0o700, exist_ok=True)
    made = set()
    for name, body in files:
        d = os.path.join(spool, name[:2])
        if d not in made:
            os.makedirs(d, mode=0o700, exist_ok=True)
            made.add(d)
        fd = os.open(os.path.join(spool, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, body)
        os.close(fd)
    os.sync()
    t_files = time.monotonic() - t1
    with open(a.tokens_file, "w") as f:
        f.write("\n".join(tokens) + "\n")
    per = sorted(counts)
    print("index: %d users, %d addresses, %d entries, %d recipient rows in %.1f s; "
          "%d spool files in %.1f s; items per user: median %d, max %d"
          % (a.users, sum(map(len, addrs)), a.entries, len(rcpts), t_db, len(files),
             t_files, per[len(per) // 2], per[-1]))


if __name__ == "__main__":
    main()
