-- Packages and tags. A package is sent by the team (inbox = 0) or received through a portal
-- (inbox = 1, portal_id set). Recipients are a JSON array of addresses. Times are milliseconds
-- since the epoch (UTC); NULL means not set.
CREATE TABLE tags (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE packages (
    id                 TEXT PRIMARY KEY,
    team_id            TEXT NOT NULL REFERENCES teams (id),
    inbox              INTEGER NOT NULL DEFAULT 0,
    portal_id          TEXT,
    teamspace_id       TEXT REFERENCES teamspaces (id),
    sender_user_id     TEXT,
    sender             TEXT NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    recipients         TEXT NOT NULL DEFAULT '[]',
    password_hash      TEXT,
    access_limit       INTEGER NOT NULL DEFAULT 0,
    state              TEXT NOT NULL CHECK (state IN ('new', 'finalized', 'expired', 'archived')),
    size               INTEGER NOT NULL DEFAULT 0,
    total_files        INTEGER NOT NULL DEFAULT 0,
    usage_total_bytes  INTEGER NOT NULL DEFAULT 0,
    expiry             INTEGER,
    custom_expiry      INTEGER NOT NULL DEFAULT 0,
    unlimited_storage  INTEGER NOT NULL DEFAULT 0,
    contains_virus     INTEGER NOT NULL DEFAULT 0,
    custom_metadata_id TEXT NOT NULL DEFAULT '',
    tag_id             TEXT REFERENCES tags (id),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    usage_updated_at   INTEGER
);
-- One index per sort key of the lists, so a page is read in order whatever the sort.
CREATE INDEX packages_by_created ON packages (team_id, inbox, created_at, id);
CREATE INDEX packages_by_name ON packages (team_id, inbox, name, id);
CREATE INDEX packages_by_size ON packages (team_id, inbox, size, id);
CREATE INDEX packages_by_usage ON packages (team_id, inbox, usage_total_bytes, id);
CREATE INDEX packages_by_expiry ON packages (team_id, inbox, expiry, id);
CREATE INDEX packages_by_sender ON packages (team_id, inbox, sender, id);
CREATE INDEX packages_by_state ON packages (team_id, inbox, state, id);
CREATE INDEX packages_by_teamspace ON packages (team_id, inbox, teamspace_id, id);
CREATE INDEX packages_by_portal ON packages (portal_id, created_at, id);
CREATE INDEX packages_by_tag ON packages (tag_id);
