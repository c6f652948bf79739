-- Background jobs: rows any server's workers claim with a lease (see struct job in store.h).
CREATE TABLE jobs (
    id           text PRIMARY KEY COLLATE "C",
    kind         text NOT NULL,
    payload      text NOT NULL,
    dedupe       text,
    state        text NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    run_after    bigint NOT NULL,
    attempts     bigint NOT NULL DEFAULT 0,
    max_attempts bigint NOT NULL,
    lease_owner  text,
    lease_until  bigint,
    last_error   text,
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);
-- What a worker looks for: queued jobs by when they may run.
CREATE INDEX jobs_ready ON jobs (run_after, id) WHERE state = 'queued';
-- Enqueueing the same work twice queues it once.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe) WHERE state = 'queued' AND dedupe IS NOT NULL;
CREATE INDEX jobs_by_state ON jobs (state, updated_at);
