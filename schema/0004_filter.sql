-- 0004_filter.sql - what the filter needs (per-domain thresholds, global filter policy,
-- allow/block lists, users' newsletter choice), what it records (message tracking,
-- one row per message and one per recipient), and the quarantine index.

ALTER TABLE domains ADD COLUMN spam_tag REAL NOT NULL DEFAULT 5.0;
ALTER TABLE domains ADD COLUMN spam_quarantine REAL NOT NULL DEFAULT 8.0;
ALTER TABLE domains ADD COLUMN spam_reject REAL NOT NULL DEFAULT 15.0;
ALTER TABLE domains ADD COLUMN subject_prefix TEXT NOT NULL DEFAULT '[SPAM]';
ALTER TABLE domains ADD COLUMN newsletter TEXT NOT NULL DEFAULT 'deliver'
    CHECK (newsletter IN ('deliver','tag','quarantine'));
ALTER TABLE domains ADD COLUMN fail_open_spam INTEGER NOT NULL DEFAULT 0;

ALTER TABLE policy ADD COLUMN virus_action TEXT NOT NULL DEFAULT 'quarantine'
    CHECK (virus_action IN ('quarantine','reject','discard'));
ALTER TABLE policy ADD COLUMN blocklist_action TEXT NOT NULL DEFAULT 'quarantine'
    CHECK (blocklist_action IN ('quarantine','reject'));
ALTER TABLE policy ADD COLUMN blocked_extensions TEXT NOT NULL DEFAULT
    '["exe","scr","js","jse","vbs","vbe","bat","cmd","com","pif","jar","msi","hta","wsf","ps1","lnk","iso","img","cpl","reg"]';
ALTER TABLE policy ADD COLUMN blocked_types TEXT NOT NULL DEFAULT
    '["application/x-msdownload","application/x-dosexec","application/x-ms-installer"]';
ALTER TABLE policy ADD COLUMN block_encrypted_archives INTEGER NOT NULL DEFAULT 1;
ALTER TABLE policy ADD COLUMN outbound_spam_tag REAL NOT NULL DEFAULT 5.0;
ALTER TABLE policy ADD COLUMN outbound_spam_quarantine REAL NOT NULL DEFAULT 8.0;
ALTER TABLE policy ADD COLUMN outbound_spam_reject REAL NOT NULL DEFAULT 15.0;
-- days a held item is kept, per category (quarantine purge)
ALTER TABLE policy ADD COLUMN retention TEXT NOT NULL DEFAULT
    '{"spam":30,"newsletter":15,"virus":30,"attachment":30,"blocklist":30}';

-- Allow and block list entries: global (owner_id '') or a user's own (for all the
-- user's addresses). pattern: "user@domain", "*@domain" or "domain".
CREATE TABLE lists (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('allow','block')),
    owner_id   TEXT NOT NULL DEFAULT '',                 -- '' = global
    pattern    TEXT NOT NULL,
    comment    TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    UNIQUE (owner_id, kind, pattern)                     -- duplicate check (db_lists_add)
);
-- a user's entries (db_lists_list by owner)
CREATE INDEX lists_owner ON lists(owner_id, kind, pattern);

ALTER TABLE users ADD COLUMN newsletter TEXT NOT NULL DEFAULT 'default'
    CHECK (newsletter IN ('default','deliver','tag','quarantine'));

-- Message tracking: every message the filter decided on.
CREATE TABLE messages (
    seq         INTEGER PRIMARY KEY,                     -- order and cursor
    id          TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('inbound','outbound')),
    queue_id    TEXT,
    agent       TEXT,
    client_ip   TEXT,
    helo        TEXT,
    sender      TEXT,
    from_addr   TEXT,
    subject     TEXT,
    message_id  TEXT,
    size        INTEGER,
    score       REAL,
    virus       TEXT,
    symbols     TEXT                                     -- JSON
);
-- time-window listing and purge (db_messages_list, retention)
CREATE INDEX messages_received ON messages(received_at);
-- the same message reported twice (agent retry) is recorded once
CREATE UNIQUE INDEX messages_agent_queue ON messages(agent, queue_id, coalesce(message_id, ''));

CREATE TABLE message_rcpts (
    message_seq INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
    recipient   TEXT NOT NULL COLLATE NOCASE,
    action      TEXT NOT NULL,
    category    TEXT NOT NULL,
    reason      TEXT,
    quarantine_id TEXT,                                  -- when the action is quarantine
    PRIMARY KEY (message_seq, recipient)
);
-- tracking search by recipient (db_messages_list)
CREATE INDEX message_rcpts_recipient ON message_rcpts(recipient, message_seq);

-- The quarantine: one row per quarantined message, one per recipient with its status.
CREATE TABLE quarantine (
    id          TEXT PRIMARY KEY,                        -- random: users see it
    ingest_key  TEXT NOT NULL UNIQUE,                    -- the agent's retry of one copy is one row
    queue_id    TEXT,
    message_id  TEXT,
    spool       TEXT NOT NULL,                           -- file name under DATA-DIR/spool
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    direction   TEXT NOT NULL,
    category    TEXT NOT NULL CHECK (category IN ('spam','virus','newsletter','attachment','blocklist')),
    sender      TEXT,
    from_addr   TEXT,
    subject     TEXT,
    score       REAL,
    virus       TEXT,
    symbols     TEXT,
    unsubscribe TEXT,
    one_click   INTEGER NOT NULL DEFAULT 0
);
-- retention purge (oldest first, per category)
CREATE INDEX quarantine_received ON quarantine(category, received_at);

CREATE TABLE quarantine_rcpts (
    quarantine_id TEXT NOT NULL REFERENCES quarantine(id) ON DELETE CASCADE,
    recipient     TEXT NOT NULL COLLATE NOCASE,
    status        TEXT NOT NULL DEFAULT 'held'
        CHECK (status IN ('held','releasing','released','deleted','expired')),
    received_at   INTEGER NOT NULL,                      -- copied: the user's list is one index walk
    category      TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (quarantine_id, recipient)
);
-- a user's quarantine, newest first (quarantine list); covering for the recipient-side
-- columns so that a page sorts before it joins the messages
CREATE INDEX quarantine_rcpts_user ON quarantine_rcpts(recipient, received_at DESC, quarantine_id,
                                                      category, status, updated_at);
-- staff's view of the whole quarantine, newest first (quarantine list without recipient)
CREATE INDEX quarantine_rcpts_time ON quarantine_rcpts(received_at DESC, quarantine_id, recipient);

-- Held items per category and status, kept by triggers, so that staff's totals are not a
-- count over the whole quarantine on every page (quarantine totals).
CREATE TABLE quarantine_counts (
    category TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (category, status)
);
CREATE TRIGGER quarantine_counts_ins AFTER INSERT ON quarantine_rcpts BEGIN
    INSERT INTO quarantine_counts (category, status, n) VALUES (NEW.category, NEW.status, 1)
        ON CONFLICT (category, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER quarantine_counts_del AFTER DELETE ON quarantine_rcpts BEGIN
    UPDATE quarantine_counts SET n = n - 1 WHERE category = OLD.category AND status = OLD.status;
END;
CREATE TRIGGER quarantine_counts_upd AFTER UPDATE OF status, category ON quarantine_rcpts BEGIN
    UPDATE quarantine_counts SET n = n - 1 WHERE category = OLD.category AND status = OLD.status;
    INSERT INTO quarantine_counts (category, status, n) VALUES (NEW.category, NEW.status, 1)
        ON CONFLICT (category, status) DO UPDATE SET n = n + 1;
END;
