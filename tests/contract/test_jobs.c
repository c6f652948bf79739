/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The job runtime (jobs/jobs.h) over a real store (SQLite in a temporary directory; the claim
 * semantics it builds on are in the store contract, on both backends): outcomes, backoff, the
 * attempts limit, a dead worker's lease, unknown kinds, and worker threads running every job
 * once. Time is moved with the clock's offset, never slept.
 */
#include "core/compat.h"

#include <pthread.h>
#include <unistd.h>

#include "core/clock.h"
#include "jobs/jobs.h"
#include "tap.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int runs_ok, runs_flaky, runs_broken;

static enum jobs_outcome run_ok(void *env, struct store *s, const struct job *j, char *why,
                                size_t cap)
{
    (void)env, (void)s, (void)j, (void)why, (void)cap;
    pthread_mutex_lock(&mu);
    runs_ok++;
    pthread_mutex_unlock(&mu);
    return JOBS_DONE;
}

static enum jobs_outcome run_flaky(void *env, struct store *s, const struct job *j, char *why,
                                   size_t cap)
{
    (void)env, (void)s;
    runs_flaky++;
    if (j->attempts < 3) {
        snprintf(why, cap, "not yet (attempt %lld)", (long long)j->attempts);
        return JOBS_RETRY;
    }
    return JOBS_DONE;
}

static enum jobs_outcome run_broken(void *env, struct store *s, const struct job *j, char *why,
                                    size_t cap)
{
    (void)env, (void)s, (void)j;
    runs_broken++;
    snprintf(why, cap, "always broken");
    return JOBS_RETRY;
}

static enum jobs_outcome run_hopeless(void *env, struct store *s, const struct job *j, char *why,
                                      size_t cap)
{
    (void)env, (void)s, (void)j;
    snprintf(why, cap, "its subject is gone");
    return JOBS_GIVE_UP;
}

static const struct jobs_kind kinds[] = {
    { .kind = "t.ok", .run = run_ok },
    { .kind = "t.flaky", .run = run_flaky, .max_attempts = 5 },
    { .kind = "t.broken", .run = run_broken, .max_attempts = 2 },
    { .kind = "t.hopeless", .run = run_hopeless },
};

static struct job *only(struct store *s, struct arena *a, const char *kind, enum job_state st)
{
    struct job *list;
    size_t n;

    if (store_jobs_list(s, st, 100, a, &list, &n) < 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].kind, kind) == 0)
            return &list[i];
    return NULL;
}

static bool run(struct store *s)
{
    return jobs_run_one(s, kinds, ARRAY_LEN(kinds), NULL, "tester");
}

int main(void)
{
    char dir[] = "/tmp/consign-jobs-XXXXXX", why[256];
    struct store_cfg cfg = { 0 };
    struct store *s;
    struct arena a;
    struct job *j;
    int64_t t0 = clock_now_ms();

    if (!mkdtemp(dir))
        return 99;
    cfg.data_dir = dir;
    s = store_open(&cfg, why, sizeof(why));
    if (!ok(s != NULL, "a store (%s)", s ? "sqlite" : why))
        return done_testing();
    arena_init(&a);

    is_int(jobs_backoff(0, 1), JOBS_BACKOFF_MS, "the first retry waits the base");
    is_int(jobs_backoff(0, 3), 4 * JOBS_BACKOFF_MS, "the third four times it");
    is_int(jobs_backoff(0, 40), JOBS_BACKOFF_MAX_MS, "never more than the cap");

    ok(!run(s), "an empty queue runs nothing");
    is_int(jobs_enqueue(s, "t.ok", "{\"a\":1}", "key", t0, 0), STORE_ONE, "queued");
    is_int(jobs_enqueue(s, "t.ok", "{\"a\":1}", "key", t0, 0), STORE_NONE,
           "queued again with its dedupe key: once");
    ok(run(s) && runs_ok == 1, "it runs");
    j = only(s, &a, "t.ok", JOB_DONE);
    ok(j && j->attempts == 1 && j->lease_owner == NULL, "done after one attempt, no lease");
    ok(!run(s), "nothing more");

    /* failing twice, then fine: backoff between */
    jobs_enqueue(s, "t.flaky", NULL, NULL, t0, 0);
    ok(run(s) && runs_flaky == 1, "flaky runs once");
    j = only(s, &a, "t.flaky", JOB_QUEUED);
    ok(j && j->run_after >= t0 + JOBS_BACKOFF_MS &&
           strcmp(j->last_error, "not yet (attempt 1)") == 0,
       "queued again a backoff later, with its error");
    ok(!run(s), "not before its backoff");
    clock_set_offset_ms(JOBS_BACKOFF_MS + 10);
    ok(run(s) && runs_flaky == 2, "after it: the second attempt");
    clock_set_offset_ms(JOBS_BACKOFF_MS + 10 + 2 * JOBS_BACKOFF_MS + 10);
    ok(run(s) && runs_flaky == 3, "the third, after a doubled backoff");
    j = only(s, &a, "t.flaky", JOB_DONE);
    ok(j && j->attempts == 3, "done on its third attempt");

    /* always failing: failed after max_attempts, kept with its error */
    jobs_enqueue(s, "t.broken", NULL, NULL, clock_now_ms(), 2);
    run(s);
    clock_set_offset_ms(JOBS_BACKOFF_MAX_MS);
    run(s);
    j = only(s, &a, "t.broken", JOB_FAILED);
    ok(j && runs_broken == 2 && j->attempts == 2 && strcmp(j->last_error, "always broken") == 0,
       "failed after its 2 attempts, its last error kept");

    /* giving up: failed at once */
    jobs_enqueue(s, "t.hopeless", NULL, NULL, clock_now_ms(), 0);
    run(s);
    j = only(s, &a, "t.hopeless", JOB_FAILED);
    ok(j && j->attempts == 1 && strcmp(j->last_error, "its subject is gone") == 0,
       "a handler that gives up fails the job on its first attempt");

    /* a kind this build does not know: retried (a newer server may know it), then failed */
    jobs_enqueue(s, "t.future", NULL, NULL, clock_now_ms(), 1);
    run(s);
    j = only(s, &a, "t.future", JOB_FAILED);
    ok(j && strstr(j->last_error, "no handler") != NULL, "an unknown kind fails, saying why");

    /* a worker dies holding a job: its lease runs out, another takes it over */
    {
        struct job got;
        int64_t now = clock_now_ms();

        jobs_enqueue(s, "t.ok", NULL, NULL, now, 0);
        is_int(store_job_claim(s, "dead-worker", now, JOBS_LEASE_MS, &a, &got), STORE_ONE,
               "a worker claims it and dies");
        ok(!run(s), "while its lease lasts, nobody else runs it");
        clock_set_offset_ms(JOBS_BACKOFF_MAX_MS + JOBS_LEASE_MS + 1);
        runs_ok = 0;
        ok(run(s) && runs_ok == 1, "once the lease ran out, another worker runs it");
        is_int(store_job_finish(s, got.id, "dead-worker", JOB_DONE, 0, NULL, clock_now_ms()),
               STORE_NONE, "the dead worker's late finish changes nothing");
    }
    /* ...on its last attempt: given up rather than run once more than allowed */
    {
        struct job got;
        int64_t now = clock_now_ms();

        jobs_enqueue(s, "t.hopeless", NULL, "last", now, 1);
        store_job_claim(s, "dead-worker", now, JOBS_LEASE_MS, &a, &got);
        clock_set_offset_ms(JOBS_BACKOFF_MAX_MS + 2 * JOBS_LEASE_MS + 2);
        run(s);
        is_int(store_job_get(s, got.id, &a, &got), STORE_ONE, "read");
        ok(got.state == JOB_FAILED && strstr(got.last_error, "stopped before it ended"),
           "a job whose worker died on its last attempt fails, saying so");
    }

    /* worker threads: every job run once */
    {
        struct jobs_cfg jc = {
            .store = cfg, .kinds = kinds, .nkinds = ARRAY_LEN(kinds), .workers = 3, .poll_ms = 50
        };
        struct jobs *w;
        int done = 0;

        runs_ok = 0;
        for (int i = 0; i < 30; i++)
            jobs_enqueue(s, "t.ok", NULL, NULL, clock_now_ms(), 0);
        w = jobs_start(&jc, why, sizeof(why));
        ok(w != NULL, "three workers started");
        jobs_wake(w);
        for (int tries = 0; tries < 400 && done < 30; tries++) {
            struct job *list;
            size_t n;

            usleep(10 * 1000);
            pthread_mutex_lock(&mu);
            done = runs_ok;
            pthread_mutex_unlock(&mu);
            (void)store_jobs_list(s, JOB_QUEUED, 100, &a, &list, &n);
        }
        jobs_stop(w);
        is_int(runs_ok, 30, "the workers ran the 30 jobs, each once");
    }

    arena_release(&a);
    store_close(s);
    {
        char cmd[64];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void)system(cmd);
    }
    return done_testing();
}
