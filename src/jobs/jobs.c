/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The workers of the job queue; see jobs/jobs.h. */
#include "core/compat.h"
#include "jobs/jobs.h"

#include <pthread.h>
#include <unistd.h>

#define LOG_COMPONENT "jobs"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

struct jobs {
    struct jobs_cfg cfg;
    pthread_t *threads;
    unsigned nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job was queued here, or stop */
    bool stop;
    unsigned wakes;
    char owner_base[64]; /* host:pid:random, so that owners are unique across servers */
};

struct worker {
    struct jobs *j;
    unsigned index;
};

int64_t jobs_backoff(int64_t now, int64_t attempt)
{
    int64_t delay = JOBS_BACKOFF_MAX_MS;

    if (attempt >= 1 && attempt < 30) {
        delay = (int64_t)JOBS_BACKOFF_MS << (attempt - 1);
        if (delay > JOBS_BACKOFF_MAX_MS)
            delay = JOBS_BACKOFF_MAX_MS;
    }
    return now + delay;
}

enum store_rc jobs_enqueue(struct store *s, const char *kind, const char *payload,
                           const char *dedupe, int64_t run_after, int max_attempts)
{
    struct job j = { .kind = (char *)kind,
                     .payload = (char *)(payload ? payload : "{}"),
                     .dedupe = (char *)dedupe,
                     .run_after = run_after,
                     .max_attempts = max_attempts > 0 ? max_attempts : JOBS_MAX_ATTEMPTS,
                     .created_at = clock_now_ms() };

    id_new(j.id);
    return store_job_insert(s, &j);
}

struct claim_ctx {
    const char *owner;
    struct arena *a;
    struct job job;
};

static enum store_rc claim_txn(struct store *s, void *vctx)
{
    struct claim_ctx *c = vctx;

    return store_job_claim(s, c->owner, clock_now_ms(), JOBS_LEASE_MS, c->a, &c->job);
}

struct finish_ctx {
    const struct job *job;
    const char *owner;
    enum job_state state;
    int64_t run_after;
    const char *error;
    int64_t every_ms; /* a recurring kind's next run, when this one ends */
};

static enum store_rc finish_txn(struct store *s, void *vctx)
{
    struct finish_ctx *c = vctx;
    int64_t now = clock_now_ms();
    enum store_rc rc =
        store_job_finish(s, c->job->id, c->owner, c->state, c->run_after, c->error, now);

    if (rc != STORE_ONE || !c->every_ms || c->state == JOB_QUEUED)
        return rc;
    rc = jobs_enqueue(s, c->job->kind, c->job->payload, c->job->dedupe, now + c->every_ms,
                      (int)c->job->max_attempts);
    return rc < 0 ? rc : STORE_ONE;
}

static const struct jobs_kind *kind_of(const struct jobs_kind *kinds, size_t n, const char *kind)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

bool jobs_run_one(struct store *s, const struct jobs_kind *kinds, size_t nkinds, void *env,
                  const char *owner)
{
    struct arena a;
    struct claim_ctx c = { .owner = owner, .a = &a };
    struct finish_ctx f = { .job = &c.job, .owner = owner };
    const struct jobs_kind *k;
    enum jobs_outcome out;
    char why[512] = "";
    enum store_rc rc;

    arena_init(&a);
    if (store_run(s, "jobs.claim", STORE_WRITE, claim_txn, &c) != STORE_ONE) {
        arena_release(&a);
        return false;
    }
    k = kind_of(kinds, nkinds, c.job.kind);
    log_set_request(c.job.id);
    if (!k) {
        /* A kind this build does not know (a newer server queued it): leave it to one that does,
         * until its attempts run out. */
        snprintf(why, sizeof(why), "no handler for the kind '%s' in this server", c.job.kind);
        out = JOBS_RETRY;
    } else if (c.job.attempts > c.job.max_attempts) {
        /* Its last attempt's worker died (its lease ran out): no more. */
        snprintf(why, sizeof(why), "the worker of its last attempt stopped before it ended");
        out = JOBS_GIVE_UP;
    } else {
        out = k->run(env, s, &c.job, why, sizeof(why));
    }
    f.run_after = c.job.run_after;
    f.every_ms = k ? k->every_ms : 0;
    switch (out) {
    case JOBS_DONE:
        f.state = JOB_DONE;
        break;
    case JOBS_RETRY:
        f.state = c.job.attempts >= c.job.max_attempts ? JOB_FAILED : JOB_QUEUED;
        f.run_after = jobs_backoff(clock_now_ms(), c.job.attempts);
        f.error = why;
        break;
    case JOBS_GIVE_UP:
        f.state = JOB_FAILED;
        f.error = why;
        break;
    }
    if (f.state == JOB_FAILED)
        LOG_WARN("job %s (%s) failed after %lld attempts: %s", c.job.id, c.job.kind,
                 (long long)c.job.attempts, why);
    else if (f.state == JOB_QUEUED)
        LOG_INFO("job %s (%s), attempt %lld: %s; again later", c.job.id, c.job.kind,
                 (long long)c.job.attempts, why);
    rc = store_run(s, "jobs.finish", STORE_WRITE, finish_txn, &f);
    if (rc == STORE_NONE)
        LOG_WARN("job %s (%s) ran longer than its lease; another worker has it", c.job.id,
                 c.job.kind);
    log_set_request(NULL);
    arena_release(&a);
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct jobs *j = w->j;
    char why[256], owner[96];
    struct store *s = store_open(&j->cfg.store, why, sizeof(why));

    snprintf(owner, sizeof(owner), "%s:%u", j->owner_base, w->index);
    if (!s)
        LOG_ERR("worker %u cannot open the database: %s", w->index, why);
    pthread_mutex_lock(&j->mu);
    while (s && !j->stop) {
        unsigned wakes = j->wakes;
        bool ran;

        pthread_mutex_unlock(&j->mu);
        ran = jobs_run_one(s, j->cfg.kinds, j->cfg.nkinds, j->cfg.env, owner);
        pthread_mutex_lock(&j->mu);
        if (!ran && !j->stop && wakes == j->wakes) {
            struct timespec until;
            int64_t ms;

            clock_gettime(CLOCK_REALTIME, &until);
            ms = (int64_t)until.tv_nsec / 1000000 + j->cfg.poll_ms;
            until.tv_sec += ms / 1000;
            until.tv_nsec = (long)(ms % 1000) * 1000000;
            pthread_cond_timedwait(&j->cv, &j->mu, &until);
        }
    }
    pthread_mutex_unlock(&j->mu);
    store_close(s);
    free(w);
    return NULL;
}

struct jobs *jobs_new(const struct jobs_cfg *cfg)
{
    struct jobs *j = xcalloc(1, sizeof(*j));
    char host[32] = "host", rnd[ID_LEN + 1];

    j->cfg = *cfg;
    if (j->cfg.poll_ms <= 0)
        j->cfg.poll_ms = 1000;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    (void)gethostname(host, sizeof(host) - 1);
    id_new(rnd);
    snprintf(j->owner_base, sizeof(j->owner_base), "%s:%ld:%s", host, (long)getpid(), rnd + 10);
    j->threads = xcalloc(cfg->workers ? cfg->workers : 1, sizeof(*j->threads));
    return j;
}

bool jobs_begin(struct jobs *j, char *why, size_t why_cap)
{
    for (unsigned i = j->nthreads; i < j->cfg.workers; i++) {
        struct worker *w = xcalloc(1, sizeof(*w));
        int err;

        w->j = j;
        w->index = i;
        err = pthread_create(&j->threads[i], NULL, worker_main, w);
        if (err != 0) {
            snprintf(why, why_cap, "cannot start a worker thread: %s", strerror(err));
            free(w);
            return false;
        }
        j->nthreads++;
    }
    return true;
}

struct jobs *jobs_start(const struct jobs_cfg *cfg, char *why, size_t why_cap)
{
    struct jobs *j = jobs_new(cfg);

    if (!jobs_begin(j, why, why_cap)) {
        jobs_stop(j);
        return NULL;
    }
    return j;
}

void jobs_wake(struct jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->wakes++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

void jobs_stop(struct jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    for (unsigned i = 0; i < j->nthreads; i++)
        pthread_join(j->threads[i], NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j->threads);
    free(j);
}
