-- Custom webhooks: where a team's package events are sent, and what came of each attempt to
-- send one (see struct webhook and struct webhook_attempt in store.h). A webhook's signing
-- secret is derived from the server's secret and its id, so it is kept nowhere. Lists the API
-- checks and writes itself (events, headers, body extras) are compact JSON text. Times are
-- milliseconds since the epoch (UTC).
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams (id),
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    method      TEXT NOT NULL CHECK (method IN ('POST', 'PUT')),
    events      TEXT NOT NULL DEFAULT '[]',
    headers     TEXT NOT NULL DEFAULT '{}',
    body_extras TEXT NOT NULL DEFAULT '{}',
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX webhooks_by_team ON webhooks (team_id, created_at, id);

-- No foreign key to webhooks: an attempt that ends while its webhook is being deleted is simply
-- not recorded (the insert checks that the webhook is there), and deleting a webhook deletes its
-- attempts itself. status is the receiver's HTTP status, 0 when none came.
CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event       TEXT NOT NULL,
    package_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, at, id);
