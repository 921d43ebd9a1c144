-- 0005_digests.sql - users' digest choices and the one-click links' single use.

ALTER TABLE users ADD COLUMN digest TEXT NOT NULL DEFAULT 'daily'
    CHECK (digest IN ('off','daily','weekly'));
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'fr' CHECK (language IN ('fr','en'));
-- held items received after this were not in a digest yet
ALTER TABLE users ADD COLUMN digest_sent_at INTEGER NOT NULL DEFAULT 0;

-- Each digest link works once: its nonce is claimed here when it is used.
CREATE TABLE digest_links_used (
    nonce         TEXT PRIMARY KEY,
    used_at       INTEGER NOT NULL,
    action        TEXT NOT NULL,
    quarantine_id TEXT NOT NULL
);

-- RFC 8058 one-click unsubscribe done from the portal, and what the sender answered.
ALTER TABLE quarantine ADD COLUMN unsubscribed_at INTEGER;
ALTER TABLE quarantine ADD COLUMN unsubscribe_status INTEGER;

-- What a domain's new users start with (they change it in their preferences).
ALTER TABLE domains ADD COLUMN digest_default TEXT NOT NULL DEFAULT 'daily'
    CHECK (digest_default IN ('off','daily','weekly'));
ALTER TABLE domains ADD COLUMN language_default TEXT NOT NULL DEFAULT 'fr'
    CHECK (language_default IN ('fr','en'));
