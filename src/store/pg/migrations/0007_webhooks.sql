-- Custom webhooks: where a team's package events are sent, and what came of each attempt to
-- send one (see struct webhook and struct webhook_attempt in store.h). A webhook's signing
-- secret is derived from the server's secret and its id, so it is kept nowhere. Lists the API
-- checks and writes itself (events, headers, body extras) are compact JSON text. Times are
-- milliseconds since the epoch (UTC). Text that is compared or sorted is COLLATE "C", as
-- SQLite's BINARY.
CREATE TABLE webhooks (
    id          text COLLATE "C" PRIMARY KEY,
    team_id     text COLLATE "C" NOT NULL REFERENCES teams (id),
    name        text NOT NULL,
    url         text NOT NULL,
    method      text NOT NULL CHECK (method IN ('POST', 'PUT')),
    events      text NOT NULL DEFAULT '[]',
    headers     text NOT NULL DEFAULT '{}',
    body_extras text NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL
);
CREATE INDEX webhooks_by_team ON webhooks (team_id, created_at, id);

-- No foreign key to webhooks: an attempt that ends while its webhook is being deleted is simply
-- not recorded (the insert checks that the webhook is there), and deleting a webhook deletes its
-- attempts itself. status is the receiver's HTTP status, 0 when none came.
CREATE TABLE webhook_attempts (
    id          text COLLATE "C" PRIMARY KEY,
    webhook_id  text COLLATE "C" NOT NULL,
    delivery_id text COLLATE "C" NOT NULL,
    event       text NOT NULL,
    package_id  text COLLATE "C" NOT NULL,
    attempt     bigint NOT NULL,
    status      bigint NOT NULL,
    error       text NOT NULL DEFAULT '',
    duration_ms bigint NOT NULL,
    at          bigint NOT NULL
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, at, id);
