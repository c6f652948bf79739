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
    seq                INTEGER PRIMARY KEY, -- a stable rowid, for the name index
    id                 TEXT NOT NULL UNIQUE,
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
-- One index per sort key of the lists, so a page is read in order whatever the sort. Ties are
-- broken by creation time, then id, so the same indexes also serve an equality filter on the
-- key (one sender, tag or teamspace) in the default order. Each ends with the state, so
-- counting a filter's matches reads only the index.
CREATE INDEX packages_by_created ON packages (team_id, inbox, created_at, id, state);
CREATE INDEX packages_by_name ON packages (team_id, inbox, name, created_at, id, state);
CREATE INDEX packages_by_size ON packages (team_id, inbox, size, created_at, id, state);
CREATE INDEX packages_by_usage ON packages (team_id, inbox, usage_total_bytes, created_at, id, state);
CREATE INDEX packages_by_expiry ON packages (team_id, inbox, expiry, created_at, id, state);
CREATE INDEX packages_by_sender ON packages (team_id, inbox, sender, created_at, id, state);
CREATE INDEX packages_by_state ON packages (team_id, inbox, state, created_at, id);
CREATE INDEX packages_by_teamspace ON packages (team_id, inbox, teamspace_id, created_at, id, state);
CREATE INDEX packages_by_tag ON packages (team_id, inbox, tag_id, created_at, id, state);
CREATE INDEX packages_by_portal ON packages (portal_id, created_at, id);

-- How many packages each team has in each state, kept by triggers, so the total of an
-- unfiltered list is a few rows' sum rather than a count over every package.
CREATE TABLE package_counts (
    team_id TEXT NOT NULL,
    inbox   INTEGER NOT NULL,
    state   TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (team_id, inbox, state)
) WITHOUT ROWID;

CREATE TRIGGER packages_counted_insert AFTER INSERT ON packages BEGIN
    INSERT INTO package_counts (team_id, inbox, state, n) VALUES (NEW.team_id, NEW.inbox, NEW.state, 1)
        ON CONFLICT (team_id, inbox, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER packages_counted_delete AFTER DELETE ON packages BEGIN
    UPDATE package_counts SET n = n - 1
        WHERE team_id = OLD.team_id AND inbox = OLD.inbox AND state = OLD.state;
END;

CREATE TRIGGER packages_counted_state AFTER UPDATE OF state ON packages
WHEN OLD.state <> NEW.state BEGIN
    UPDATE package_counts SET n = n - 1
        WHERE team_id = OLD.team_id AND inbox = OLD.inbox AND state = OLD.state;
    INSERT INTO package_counts (team_id, inbox, state, n) VALUES (NEW.team_id, NEW.inbox, NEW.state, 1)
        ON CONFLICT (team_id, inbox, state) DO UPDATE SET n = n + 1;
END;

-- The same counts per sender, tag and teamspace, so the total of a list filtered by one of
-- them is a sum of a few rows as well. An update is counted as the old row leaving and the new
-- one arriving.
CREATE TABLE package_facets (
    team_id TEXT NOT NULL,
    inbox   INTEGER NOT NULL,
    facet   TEXT NOT NULL CHECK (facet IN ('sender', 'tag', 'teamspace')),
    value   TEXT NOT NULL,
    state   TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (team_id, inbox, facet, value, state)
) WITHOUT ROWID;

CREATE TRIGGER packages_faceted_insert AFTER INSERT ON packages BEGIN
    INSERT INTO package_facets (team_id, inbox, facet, value, state, n)
        SELECT NEW.team_id, NEW.inbox, f, v, NEW.state, 1 FROM (
            SELECT 'sender' AS f, NEW.sender AS v UNION ALL
            SELECT 'tag', NEW.tag_id UNION ALL
            SELECT 'teamspace', NEW.teamspace_id) WHERE v IS NOT NULL
        ON CONFLICT (team_id, inbox, facet, value, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER packages_faceted_delete AFTER DELETE ON packages BEGIN
    UPDATE package_facets SET n = n - 1
        WHERE team_id = OLD.team_id AND inbox = OLD.inbox AND state = OLD.state AND (
            (facet = 'sender' AND value = OLD.sender) OR (facet = 'tag' AND value = OLD.tag_id)
            OR (facet = 'teamspace' AND value = OLD.teamspace_id));
END;

CREATE TRIGGER packages_faceted_update AFTER UPDATE OF state, sender, tag_id, teamspace_id
ON packages BEGIN
    UPDATE package_facets SET n = n - 1
        WHERE team_id = OLD.team_id AND inbox = OLD.inbox AND state = OLD.state AND (
            (facet = 'sender' AND value = OLD.sender) OR (facet = 'tag' AND value = OLD.tag_id)
            OR (facet = 'teamspace' AND value = OLD.teamspace_id));
    INSERT INTO package_facets (team_id, inbox, facet, value, state, n)
        SELECT NEW.team_id, NEW.inbox, f, v, NEW.state, 1 FROM (
            SELECT 'sender' AS f, NEW.sender AS v UNION ALL
            SELECT 'tag', NEW.tag_id UNION ALL
            SELECT 'teamspace', NEW.teamspace_id) WHERE v IS NOT NULL
        ON CONFLICT (team_id, inbox, facet, value, state) DO UPDATE SET n = n + 1;
END;

-- Package names by trigram, for the "name contains" filter (case-insensitive).
CREATE VIRTUAL TABLE packages_names USING fts5 (name, content = 'packages', content_rowid = 'seq',
    tokenize = 'trigram');

CREATE TRIGGER packages_names_insert AFTER INSERT ON packages BEGIN
    INSERT INTO packages_names (rowid, name) VALUES (NEW.seq, NEW.name);
END;

CREATE TRIGGER packages_names_delete AFTER DELETE ON packages BEGIN
    INSERT INTO packages_names (packages_names, rowid, name) VALUES ('delete', OLD.seq, OLD.name);
END;

CREATE TRIGGER packages_names_update AFTER UPDATE OF name ON packages BEGIN
    INSERT INTO packages_names (packages_names, rowid, name) VALUES ('delete', OLD.seq, OLD.name);
    INSERT INTO packages_names (rowid, name) VALUES (NEW.seq, NEW.name);
END;
