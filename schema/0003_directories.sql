-- 0003_directories.sql - directory profiles (Active Directory / OpenLDAP) tried in order at
-- login, and what users records about where an account comes from.

CREATE TABLE directories (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    position           INTEGER NOT NULL,              -- login tries profiles by position
    kind               TEXT NOT NULL CHECK (kind IN ('ad','openldap')),
    uris               TEXT NOT NULL,                 -- JSON array, tried in order
    starttls           INTEGER NOT NULL DEFAULT 0,
    ca_file            TEXT,
    verify_cert        INTEGER NOT NULL DEFAULT 1,
    network_timeout_ms INTEGER NOT NULL DEFAULT 3000,
    op_timeout_ms      INTEGER NOT NULL DEFAULT 5000,
    bind_dn            TEXT,
    bind_password      TEXT,                          -- write-only through the API
    base_dn            TEXT NOT NULL,
    user_filter        TEXT NOT NULL,
    netbios_domain     TEXT,
    address_attrs      TEXT NOT NULL,                 -- JSON array
    username_attr      TEXT NOT NULL,
    display_attr       TEXT NOT NULL,
    group_roles        TEXT NOT NULL DEFAULT '[]',    -- JSON array of {group_dn, role}
    enabled            INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
-- profiles in login order (db_directories_list)
CREATE INDEX directories_position ON directories(position);

ALTER TABLE users ADD COLUMN directory_id TEXT REFERENCES directories(id) ON DELETE SET NULL;
ALTER TABLE users ADD COLUMN dn TEXT;
-- the role the directory's groups give, and the admin's override; users.role is the one in force
ALTER TABLE users ADD COLUMN directory_role TEXT;
ALTER TABLE users ADD COLUMN role_override TEXT
    CHECK (role_override IS NULL OR role_override IN ('admin','helpdesk','auditor','user'));
