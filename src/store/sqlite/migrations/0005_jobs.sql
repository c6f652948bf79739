-- Background jobs: rows any server's workers claim with a lease (see struct job in store.h).
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedupe       TEXT,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    run_after    INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- What a worker looks for: queued jobs by when they may run.
CREATE INDEX jobs_ready ON jobs (run_after, id) WHERE state = 'queued';
-- Enqueueing the same work twice queues it once.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe) WHERE state = 'queued' AND dedupe IS NOT NULL;
CREATE INDEX jobs_by_state ON jobs (state, updated_at);
