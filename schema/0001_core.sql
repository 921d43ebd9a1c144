-- 0001_core.sql - users, addresses, sessions, API tokens, audit log, health probe.
-- Times are INTEGER seconds since the epoch (UTC). Ids a client sees are random text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- login lookup (db_users_by_name)
    display_name  TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin','helpdesk','auditor','user','agent')),
    source        TEXT NOT NULL CHECK (source IN ('local','directory')),
    password_hash TEXT,                                  -- argon2id (local accounts only)
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER
);

CREATE TABLE addresses (
    address    TEXT PRIMARY KEY COLLATE NOCASE,          -- who owns this address
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_primary INTEGER NOT NULL DEFAULT 0
);
-- the addresses of one user (db_users_addresses)
CREATE INDEX addresses_user ON addresses(user_id);

-- One row per issued session JWT, so that logout can revoke it.
CREATE TABLE sessions (
    jti        TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    client_ip  TEXT
);
-- purge of expired sessions (db_sessions_purge)
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin','helpdesk','auditor','user','agent')),
    hash         BLOB NOT NULL UNIQUE,                   -- SHA-256 of the secret (db_tokens_by_hash)
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
-- a user's tokens (db_tokens_list)
CREATE INDEX api_tokens_user ON api_tokens(user_id, created_at);

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,                       -- order and cursor, never shown as id
    id        TEXT NOT NULL UNIQUE,
    time      INTEGER NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    outcome   TEXT NOT NULL CHECK (outcome IN ('success','failure')),
    client_ip TEXT,
    detail    TEXT
);
-- filters of GET /api/v1/audit by actor and by action (db_audit_list)
CREATE INDEX audit_actor ON audit(actor, seq);
CREATE INDEX audit_action ON audit(action, seq);

-- A row /readyz rewrites to prove the database takes writes.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
INSERT INTO health_probe (id, at) VALUES (1, 0);
