/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Background work on the database's job rows (struct job, store.h): worker threads that claim a
 * due job under a lease, run its kind's handler outside any transaction, and record the outcome:
 * done; a retry later with exponential backoff; or, past the kind's attempts, failed (kept to be
 * looked at). A job whose worker died is claimed again when its lease runs out, so a handler may
 * run twice for one job and must be idempotent. Any number of processes share one queue: `consign
 * serve` runs workers beside its HTTP threads, `consign worker` runs only workers.
 *
 * Threads: jobs_start() (or jobs_begin()) makes the workers, each with a database connection of
 * its own; handlers run on them. jobs_enqueue() may be called from any thread, inside the caller's transaction.
 */
#ifndef CONSIGN_JOBS_H
#define CONSIGN_JOBS_H

#include "core/compat.h"

#include "store/store.h"

/** What a handler says of one attempt. */
enum jobs_outcome {
    JOBS_DONE,    /* finished (also when there was nothing left to do) */
    JOBS_RETRY,   /* failed for now (a store that did not answer): try again later */
    JOBS_GIVE_UP, /* can never succeed (its subject is gone for good): failed at once */
};

/**
 * Runs job @j with the worker's database connection @s (outside any transaction: the handler
 * runs its own); a sentence for the log and the job's last_error in @why when it fails.
 */
typedef enum jobs_outcome jobs_handler_fn(void *env, struct store *s, const struct job *j,
                                          char *why, size_t why_cap);

/** A kind of job and how to run it. */
struct jobs_kind {
    const char *kind;
    jobs_handler_fn *run;
    int max_attempts; /* then failed; 0 means JOBS_MAX_ATTEMPTS */
    /* A recurring kind (a sweep): once a run is done or failed, the next is queued this long
     * after, in the same transaction, so the chain never breaks. 0: runs once. */
    int64_t every_ms;
};

/** Attempts of a kind that says none. */
#define JOBS_MAX_ATTEMPTS 8
/** The backoff of retry n (1-based) is JOBS_BACKOFF_MS << (n - 1), at most JOBS_BACKOFF_MAX_MS. */
#define JOBS_BACKOFF_MS 5000
#define JOBS_BACKOFF_MAX_MS (3600 * 1000)
/** How long a worker holds a job before another may take it over. */
#define JOBS_LEASE_MS (10 * 60 * 1000)

struct jobs_cfg {
    struct store_cfg store; /* each worker opens its own connection */
    const struct jobs_kind *kinds;
    size_t nkinds;
    void *env;        /* passed to the handlers */
    unsigned workers; /* threads; 0 runs none */
    int64_t poll_ms;  /* how often an idle worker looks for due jobs */
};

struct jobs;

/**
 * The queue's handle without workers yet: jobs_wake() and jobs_stop() work on it, and
 * jobs_begin() starts them, once what their handlers read is ready.
 */
struct jobs *jobs_new(const struct jobs_cfg *cfg);
/** Starts @j's workers; false with @why when a thread cannot be started (@j is jobs_stop()'s). */
bool jobs_begin(struct jobs *j, char *why, size_t why_cap);
/** jobs_new() and jobs_begin(): NULL with @why when a worker cannot be started. */
struct jobs *jobs_start(const struct jobs_cfg *cfg, char *why, size_t why_cap);
/** Asks the workers to stop, waits for the jobs they run to end, frees @j; accepts NULL. */
void jobs_stop(struct jobs *j);
/** Wakes this process's idle workers: a job was just queued (others find it by polling). */
void jobs_wake(struct jobs *j);

/**
 * Queues a job of @kind with @payload (JSON text, or NULL for "{}"), due at @run_after, inside
 * the caller's transaction on @s, so that it exists exactly when what it is about does.
 * @dedupe: NULL, or a key that makes a second queueing of the same work a no-op. @max_attempts as
 * in struct jobs_kind. Returns what store_job_insert() did (STORE_NONE: already queued).
 */
enum store_rc jobs_enqueue(struct store *s, const char *kind, const char *payload,
                           const char *dedupe, int64_t run_after, int max_attempts);

/** When retry @attempt (1-based) of a job that failed at @now may run. */
int64_t jobs_backoff(int64_t now, int64_t attempt);

/**
 * Claims and runs at most one due job as @owner on @s (what a worker does once): true when one
 * ran. For `consign admin` and tests that drive the queue without threads.
 */
bool jobs_run_one(struct store *s, const struct jobs_kind *kinds, size_t nkinds, void *env,
                  const char *owner);

/** One HTTP request a job makes (a webhook delivery). Strings are borrowed. */
struct jobs_http_call {
    const char *url;            /* http:// or https:// */
    const char *method;         /* "POST", "PUT", ... */
    const char *const *headers; /* "Name: value" lines, @nheaders of them */
    size_t nheaders;
    const char *body; /* sent as it is, @body_len bytes */
    size_t body_len;
    int64_t connect_timeout_ms;
    int64_t timeout_ms; /* the whole exchange, connecting included */
};

/** What came of a jobs_http_call. */
struct jobs_http_result {
    long status;         /* the answer's HTTP status; 0 when no answer came */
    int64_t duration_ms; /* from the start to the end of the exchange */
    char error[256];     /* why no answer came (no secret in it); "" when one did */
};

/** Most bytes of an answer's body read (and dropped); a longer body ends the exchange there. */
#define JOBS_HTTP_BODY_MAX (64u << 10)

/**
 * Makes @call through libcurl: only http and https, redirects not followed, the timeouts of
 * @call, the answer's body read up to JOBS_HTTP_BODY_MAX and dropped. True when an answer came
 * (whatever its status, in @out); false with @out->error when none did (the URL is refused, the
 * connection failed, the time ran out). Thread-safe.
 */
bool jobs_http_send(const struct jobs_http_call *call, struct jobs_http_result *out);

/**
 * Whether @url can be called by jobs_http_send(): an absolute http:// or https:// URL with a
 * host, no user name or password, and no spaces or control characters, as libcurl parses it.
 * False with a sentence naming what is wrong in @why.
 */
bool jobs_http_url_ok(const char *url, char *why, size_t why_cap);

#endif /* CONSIGN_JOBS_H */
