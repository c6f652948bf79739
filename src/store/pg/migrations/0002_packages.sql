-- Packages and tags. A package is sent by the team (inbox false) or received through a portal
-- (inbox true, portal_id set). Recipients are a JSON array of addresses. Times are milliseconds
-- since the epoch (UTC); NULL means not set.
CREATE TABLE tags (
    id         text COLLATE "C" PRIMARY KEY,
    team_id    text COLLATE "C" NOT NULL REFERENCES teams (id),
    name       text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE packages (
    id                 text COLLATE "C" PRIMARY KEY,
    team_id            text COLLATE "C" NOT NULL REFERENCES teams (id),
    inbox              boolean NOT NULL DEFAULT false,
    portal_id          text COLLATE "C",
    teamspace_id       text COLLATE "C" REFERENCES teamspaces (id),
    sender_user_id     text COLLATE "C",
    sender             text COLLATE "C" NOT NULL,
    name               text COLLATE "C" NOT NULL,
    description        text COLLATE "C" NOT NULL DEFAULT '',
    recipients         text COLLATE "C" NOT NULL DEFAULT '[]',
    password_hash      text,
    access_limit       bigint NOT NULL DEFAULT 0,
    state              text COLLATE "C" NOT NULL
                       CHECK (state IN ('new', 'finalized', 'expired', 'archived')),
    size               bigint NOT NULL DEFAULT 0,
    total_files        bigint NOT NULL DEFAULT 0,
    usage_total_bytes  bigint NOT NULL DEFAULT 0,
    expiry             bigint,
    custom_expiry      boolean NOT NULL DEFAULT false,
    unlimited_storage  boolean NOT NULL DEFAULT false,
    contains_virus     boolean NOT NULL DEFAULT false,
    custom_metadata_id text COLLATE "C" NOT NULL DEFAULT '',
    tag_id             text COLLATE "C" REFERENCES tags (id),
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL,
    usage_updated_at   bigint
);
-- One index per sort key of the lists, so a page is read in order whatever the sort. Ties are
-- broken by creation time, then id, so the same indexes also serve an equality filter on the
-- key (one sender, tag or teamspace) in the default order. Each ends with the state, so the
-- state filter is checked in the index. NULLs sort first, as in SQLite: the lists order
-- nullable keys NULLS FIRST ascending and NULLS LAST descending, which is this index read
-- forwards or backwards.
CREATE INDEX packages_by_created ON packages (team_id, inbox, created_at, id, state);
CREATE INDEX packages_by_name ON packages (team_id, inbox, name, created_at, id, state);
CREATE INDEX packages_by_size ON packages (team_id, inbox, size, created_at, id, state);
CREATE INDEX packages_by_usage ON packages (team_id, inbox, usage_total_bytes, created_at, id, state);
CREATE INDEX packages_by_expiry ON packages (team_id, inbox, expiry NULLS FIRST, created_at, id, state);
CREATE INDEX packages_by_sender ON packages (team_id, inbox, sender, created_at, id, state);
CREATE INDEX packages_by_state ON packages (team_id, inbox, state, created_at, id);
CREATE INDEX packages_by_teamspace ON packages (team_id, inbox, teamspace_id NULLS FIRST, created_at, id, state);
CREATE INDEX packages_by_tag ON packages (team_id, inbox, tag_id NULLS FIRST, created_at, id, state);
CREATE INDEX packages_by_portal ON packages (portal_id, created_at, id);

-- Package names by trigram, for the "name contains" filter: name ILIKE '%…%' under the
-- database's own collation (the one pg_trgm folds case with), so the match is case-insensitive
-- beyond ASCII when the database has a UTF-8 locale.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX packages_names ON packages USING gin (name COLLATE "default" gin_trgm_ops);

-- How many packages each team has in each state; the same per sender, tag and teamspace; and
-- per day of creation (UTC). Kept by the trigger below, so the total of an unfiltered list, of
-- one filtered by one of those keys, or by creation time, is a sum of a few rows rather than a
-- count over every package.
CREATE TABLE package_counts (
    team_id text COLLATE "C" NOT NULL,
    inbox   boolean NOT NULL,
    state   text COLLATE "C" NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (team_id, inbox, state)
);

CREATE TABLE package_facets (
    team_id text COLLATE "C" NOT NULL,
    inbox   boolean NOT NULL,
    facet   text COLLATE "C" NOT NULL CHECK (facet IN ('sender', 'tag', 'teamspace')),
    value   text COLLATE "C" NOT NULL,
    state   text COLLATE "C" NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (team_id, inbox, facet, value, state)
);

CREATE TABLE package_days (
    team_id text COLLATE "C" NOT NULL,
    inbox   boolean NOT NULL,
    day     bigint NOT NULL, -- created_at / 86400000
    state   text COLLATE "C" NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (team_id, inbox, day, state)
);

-- Adds @delta to the counters of package row @r that the flags name.
CREATE FUNCTION packages_count(r packages, delta bigint, counts boolean, sender boolean,
                               tag boolean, space boolean, days boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF counts THEN
        INSERT INTO package_counts AS c (team_id, inbox, state, n)
            VALUES (r.team_id, r.inbox, r.state, delta)
            ON CONFLICT (team_id, inbox, state) DO UPDATE SET n = c.n + delta;
    END IF;
    INSERT INTO package_facets AS c (team_id, inbox, facet, value, state, n)
        SELECT r.team_id, r.inbox, f.facet, f.value, r.state, delta
        FROM (VALUES ('sender', r.sender, sender), ('tag', r.tag_id, tag),
                     ('teamspace', r.teamspace_id, space)) AS f (facet, value, wanted)
        WHERE f.wanted AND f.value IS NOT NULL
        ON CONFLICT (team_id, inbox, facet, value, state) DO UPDATE SET n = c.n + delta;
    IF days THEN
        INSERT INTO package_days AS c (team_id, inbox, day, state, n)
            VALUES (r.team_id, r.inbox, r.created_at / 86400000, r.state, delta)
            ON CONFLICT (team_id, inbox, day, state) DO UPDATE SET n = c.n + delta;
    END IF;
END $$;

-- An insert counts the new row, a delete uncounts the old one, and an update moves only the
-- counters whose keys changed (an update that keeps them touches no counter row, so writers of
-- different packages do not contend for them).
CREATE FUNCTION packages_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    home   boolean;
    sender boolean;
    tag    boolean;
    space  boolean;
    days   boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM packages_count(NEW, 1, true, true, true, true, true);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM packages_count(OLD, -1, true, true, true, true, true);
    ELSE
        home := OLD.team_id <> NEW.team_id OR OLD.inbox <> NEW.inbox OR OLD.state <> NEW.state;
        sender := home OR OLD.sender IS DISTINCT FROM NEW.sender;
        tag := home OR OLD.tag_id IS DISTINCT FROM NEW.tag_id;
        space := home OR OLD.teamspace_id IS DISTINCT FROM NEW.teamspace_id;
        days := home OR OLD.created_at <> NEW.created_at;
        PERFORM packages_count(OLD, -1, home, sender, tag, space, days);
        PERFORM packages_count(NEW, 1, home, sender, tag, space, days);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER packages_counted AFTER INSERT OR DELETE ON packages
    FOR EACH ROW EXECUTE FUNCTION packages_counted();
CREATE TRIGGER packages_counted_update
    AFTER UPDATE OF team_id, inbox, state, sender, tag_id, teamspace_id, created_at ON packages
    FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id
                       OR OLD.inbox IS DISTINCT FROM NEW.inbox
                       OR OLD.state IS DISTINCT FROM NEW.state
                       OR OLD.sender IS DISTINCT FROM NEW.sender
                       OR OLD.tag_id IS DISTINCT FROM NEW.tag_id
                       OR OLD.teamspace_id IS DISTINCT FROM NEW.teamspace_id
                       OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION packages_counted();
