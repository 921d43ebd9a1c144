-- 0002_policy.sql - mail policy (global settings, relay domains, internal networks), the
-- versioned configuration snapshots the agents apply, and the agents themselves.

-- One row: the appliance-wide settings. Defaults are what a fresh install runs with.
CREATE TABLE policy (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    hostname            TEXT NOT NULL DEFAULT 'vrgate.localdomain',
    inbound_address     TEXT NOT NULL DEFAULT '0.0.0.0',
    inbound_port        INTEGER NOT NULL DEFAULT 25,
    outbound_address    TEXT NOT NULL DEFAULT '0.0.0.0',
    outbound_port       INTEGER NOT NULL DEFAULT 8025,
    reinject_address    TEXT NOT NULL DEFAULT '127.0.0.1',
    reinject_port       INTEGER NOT NULL DEFAULT 10025,
    message_size_limit  INTEGER NOT NULL DEFAULT 26214400,
    outbound_mode       TEXT NOT NULL DEFAULT 'mx' CHECK (outbound_mode IN ('mx','smarthost')),
    smarthost_host      TEXT,
    smarthost_port      INTEGER,
    verify_positive_ttl INTEGER NOT NULL DEFAULT 3600,
    verify_negative_ttl INTEGER NOT NULL DEFAULT 300,
    verify_flush        INTEGER NOT NULL DEFAULT 0,  -- bumped to make agents drop their cache
    tls_inbound_cert    TEXT,
    tls_inbound_key     TEXT,
    tls_outbound        TEXT NOT NULL DEFAULT 'may' CHECK (tls_outbound IN ('none','may','encrypt'))
);
INSERT INTO policy (id) VALUES (1);

CREATE TABLE domains (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- duplicate check (db_domains_add)
    internal_host     TEXT NOT NULL,
    internal_port     INTEGER NOT NULL DEFAULT 25,
    verify_recipients INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL
);

CREATE TABLE networks (
    id          TEXT PRIMARY KEY,
    cidr        TEXT NOT NULL UNIQUE,                       -- duplicate check (db_networks_add)
    description TEXT,
    created_at  INTEGER NOT NULL
);

-- Every policy change writes the whole snapshot the agents need, under a new version.
CREATE TABLE config_versions (
    version    INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    actor      TEXT,
    reason     TEXT,
    snapshot   TEXT NOT NULL
);

CREATE TABLE agents (
    name            TEXT PRIMARY KEY,
    applied_version INTEGER,
    last_error      TEXT,
    postfix_state   TEXT,
    started_at      INTEGER,
    last_seen       INTEGER NOT NULL,
    client_ip       TEXT
);
