-- Accounts: users, teams, memberships with roles, API keys, teamspaces and rate limits.
-- Times are milliseconds since the epoch (UTC); NULL means not set. Text that is compared or
-- sorted is COLLATE "C": byte order, as SQLite's BINARY, whatever the database's locale.
CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    email         text COLLATE "C" NOT NULL UNIQUE,
    name          text COLLATE "C" NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);

CREATE TABLE teams (
    id         text COLLATE "C" PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE memberships (
    id         text COLLATE "C" PRIMARY KEY,
    team_id    text COLLATE "C" NOT NULL REFERENCES teams (id),
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id),
    role       text COLLATE "C" NOT NULL
               CHECK (role IN ('owner', 'admin', 'member', 'guest', 'integration_manager')),
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    UNIQUE (team_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE api_keys (
    id            text COLLATE "C" PRIMARY KEY,
    membership_id text COLLATE "C" NOT NULL REFERENCES memberships (id),
    team_id       text COLLATE "C" NOT NULL REFERENCES teams (id),
    user_id       text COLLATE "C" NOT NULL REFERENCES users (id),
    name          text COLLATE "C" NOT NULL DEFAULT '',
    description   text COLLATE "C" NOT NULL DEFAULT '',
    secret_hash   bytea NOT NULL,
    expiry        bigint,
    state         text COLLATE "C" NOT NULL CHECK (state IN ('active', 'inactive')),
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
CREATE INDEX api_keys_by_team ON api_keys (team_id, created_at);

CREATE TABLE teamspaces (
    id         text COLLATE "C" PRIMARY KEY,
    team_id    text COLLATE "C" NOT NULL REFERENCES teams (id),
    name       text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX teamspaces_by_team ON teamspaces (team_id, name, id);

CREATE TABLE teamspace_members (
    teamspace_id  text COLLATE "C" NOT NULL REFERENCES teamspaces (id) ON DELETE CASCADE,
    membership_id text COLLATE "C" NOT NULL REFERENCES memberships (id),
    PRIMARY KEY (teamspace_id, membership_id)
);
CREATE INDEX teamspace_members_by_membership ON teamspace_members (membership_id);

CREATE TABLE rate_limits (
    key          text COLLATE "C" PRIMARY KEY,
    window_start bigint NOT NULL,
    count        bigint NOT NULL
);
CREATE INDEX rate_limits_by_start ON rate_limits (window_start);
