-- Accounts: users, teams, memberships with roles, API keys, teamspaces and rate limits.
-- Times are milliseconds since the epoch (UTC); NULL means not set.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'guest', 'integration_manager')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (team_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    team_id       TEXT NOT NULL REFERENCES teams (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    secret_hash   BLOB NOT NULL,
    expiry        INTEGER,
    state         TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX api_keys_by_team ON api_keys (team_id, created_at);

CREATE TABLE teamspaces (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams (id),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX teamspaces_by_team ON teamspaces (team_id, name, id);

CREATE TABLE teamspace_members (
    teamspace_id  TEXT NOT NULL REFERENCES teamspaces (id) ON DELETE CASCADE,
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    PRIMARY KEY (teamspace_id, membership_id)
) WITHOUT ROWID;
CREATE INDEX teamspace_members_by_membership ON teamspace_members (membership_id);

CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_by_start ON rate_limits (window_start);
