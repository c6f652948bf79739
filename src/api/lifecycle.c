/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The background jobs of packages (run by jobs/ workers; see jobs/jobs.h): each kind's handler,
 * and the calls that queue them inside the transaction that makes them needed.
 *
 * package.purge {"package_id"}: removes the bytes of every file of an expired package (its
 * files' records stay, as the package's do). Idempotent: removing bytes twice is harmless.
 *
 * packages.sweep {}: every minute, expires the finalized packages whose expiry has come and
 * cleans up the new ones nobody touched for the abandonment time, across all teams: each becomes
 * expired (the name and recipients stay, links answer 410) and its purge is queued, in one
 * transaction per package. One sweep is queued at a time (its dedupe key), whichever server
 * runs it. Webhooks are told of each package it expires, in that transaction.
 *
 * mail.send: one message, queued when a package is finalized; see notify.c.
 *
 * webhook.deliver: one delivery of an event to a webhook; see webhooks.c.
 */
#include "core/compat.h"
#include "api/api.h"

#define LOG_COMPONENT "lifecycle"

/* Packages a sweep expires per read, and reads per run (the next run goes on). */
#define SWEEP_BATCH 100
#define SWEEP_BATCHES 20
#include "core/clock.h"
#include "core/log.h"

/* The package id of a payload {"package_id": "…"} as consign writes it. */
static bool payload_package(const struct job *j, char out[ID_LEN + 1])
{
    json_error_t e;
    json_t *doc = json_loads(j->payload, JSON_REJECT_DUPLICATES, &e);
    const char *id = json_string_value(json_object_get(doc, "package_id"));
    bool ok = id && id_is_valid(str_from(id));

    if (ok)
        memcpy(out, id, ID_LEN + 1);
    json_decref(doc);
    return ok;
}

enum store_rc api_purge_enqueue(struct store *s, const char *package_id)
{
    char payload[ID_LEN + 32], dedupe[ID_LEN + 8];

    snprintf(payload, sizeof(payload), "{\"package_id\":\"%s\"}", package_id);
    snprintf(dedupe, sizeof(dedupe), "%s", package_id);
    /* STORE_NONE: a purge of it is already queued, which is as good. */
    return jobs_enqueue(s, "package.purge", payload, dedupe, clock_now_ms(), 0);
}

struct purge_ctx {
    const char *id;
    struct arena *a;
    struct package pkg;
    struct file *files;
    size_t n;
};

static enum store_rc purge_txn(struct store *s, void *vctx)
{
    struct purge_ctx *c = vctx;
    enum store_rc rc = store_package_get(s, c->id, c->a, &c->pkg);

    if (rc != STORE_ONE)
        return rc;
    rc = store_files_list(s, c->id, c->a, &c->files, &c->n);
    return rc < 0 ? rc : STORE_ONE;
}

static enum jobs_outcome purge(void *env, struct store *s, const struct job *j, char *why,
                               size_t why_cap)
{
    char id[ID_LEN + 1];
    struct arena a;
    struct purge_ctx c = { .id = id, .a = &a };
    enum jobs_outcome out = JOBS_DONE;
    size_t failed = 0;
    enum store_rc rc;

    if (!payload_package(j, id)) {
        snprintf(why, why_cap, "the payload names no package");
        return JOBS_GIVE_UP;
    }
    arena_init(&a);
    rc = store_run(s, "lifecycle.purge", STORE_READ, purge_txn, &c);
    if (rc < 0) {
        snprintf(why, why_cap, "the database failed");
        out = JOBS_RETRY;
    } else if (rc == STORE_ONE &&
               (c.pkg.state == PACKAGE_NEW || c.pkg.state == PACKAGE_FINALIZED)) {
        /* Never the bytes of a live package (a purge queued for one is a bug of ours). */
        snprintf(why, why_cap, "package %s is %s, not expired", id,
                 package_state_name(c.pkg.state));
        out = JOBS_GIVE_UP;
    } else {
        for (size_t i = 0; i < c.n; i++)
            if (!api_file_bytes_remove(env, &c.files[i]))
                failed++;
        if (failed) {
            snprintf(why, why_cap, "%zu of %zu files of package %s could not be removed", failed,
                     c.n, id);
            out = JOBS_RETRY;
        } else {
            LOG_INFO("removed the bytes of the %zu files of package %s", c.n, id);
        }
    }
    arena_release(&a);
    return out;
}

enum store_rc api_sweep_enqueue(struct store *s)
{
    return jobs_enqueue(s, "packages.sweep", NULL, "sweep", clock_now_ms(), 0);
}

struct expire_ctx {
    const char *id;
    int64_t now, stale_before;
    struct arena *a;
    struct package pkg;
    bool expired;
};

/* Expires one package if it is still due (another sweep, a delete or a new expiry may have come
 * between the list and now). */
static enum store_rc expire_txn(struct store *s, void *vctx)
{
    struct expire_ctx *c = vctx;
    enum store_rc rc = store_package_get(s, c->id, c->a, &c->pkg);
    int hooks;
    bool due;

    c->expired = false;
    if (rc != STORE_ONE)
        return rc;
    due = (c->pkg.state == PACKAGE_FINALIZED && c->pkg.expiry != TIME_UNSET &&
           c->pkg.expiry <= c->now) ||
          (c->pkg.state == PACKAGE_NEW && c->pkg.updated_at < c->stale_before);
    if (!due)
        return STORE_ONE;
    if (c->pkg.state == PACKAGE_NEW)
        c->pkg.expiry = c->now;
    c->pkg.state = PACKAGE_EXPIRED;
    c->pkg.updated_at = c->now;
    rc = store_package_update(s, &c->pkg);
    if (rc != STORE_ONE)
        return rc < 0 ? rc : STORE_HARD;
    rc = api_purge_enqueue(s, c->pkg.id);
    if (rc < 0)
        return rc;
    rc = api_webhooks_enqueue(s, API_HOOK_EXPIRED, &c->pkg, c->a, &hooks);
    if (rc < 0)
        return rc;
    c->expired = true;
    return STORE_ONE;
}

struct due_ctx {
    int64_t now, stale_before;
    struct arena *a;
    struct package *list;
    size_t n;
};

static enum store_rc due_txn(struct store *s, void *vctx)
{
    struct due_ctx *c = vctx;

    return store_packages_due(s, c->now, c->stale_before, SWEEP_BATCH, c->a, &c->list, &c->n);
}

static enum jobs_outcome sweep(void *venv, struct store *s, const struct job *j, char *why,
                               size_t why_cap)
{
    const struct api_env *env = venv;
    int64_t now = clock_now_ms();
    size_t expired = 0;
    enum jobs_outcome out = JOBS_DONE;

    (void)j;
    for (int batch = 0; batch < SWEEP_BATCHES; batch++) {
        struct arena a;
        struct due_ctx d = { .now = now, .stale_before = now - env->abandon_after_ms, .a = &a };
        bool more;

        arena_init(&a);
        if (store_run(s, "lifecycle.due", STORE_READ, due_txn, &d) < 0) {
            snprintf(why, why_cap, "the database failed");
            out = JOBS_RETRY;
            arena_release(&a);
            break;
        }
        for (size_t i = 0; i < d.n; i++) {
            struct expire_ctx c = {
                .id = d.list[i].id, .now = now, .stale_before = d.stale_before, .a = &a
            };

            if (store_run(s, "lifecycle.expire", STORE_WRITE, expire_txn, &c) < 0) {
                snprintf(why, why_cap, "the database failed");
                out = JOBS_RETRY;
                break;
            }
            if (c.expired) {
                expired++;
                LOG_INFO("package %s expired (%s)", c.pkg.id,
                         d.list[i].state == PACKAGE_NEW ? "abandoned before it was finalized"
                                                        : "its storage period ended");
            }
        }
        more = d.n == SWEEP_BATCH && out == JOBS_DONE;
        arena_release(&a);
        if (!more)
            break;
    }
    if (expired)
        jobs_wake(env->jobs);
    return out;
}

const struct jobs_kind api_job_kinds[] = {
    { .kind = "package.purge", .run = purge },
    { .kind = "packages.sweep", .run = sweep, .every_ms = API_SWEEP_EVERY_MS },
    { .kind = "mail.send", .run = api_mail_send, .max_attempts = API_MAIL_ATTEMPTS },
    { .kind = "webhook.deliver", .run = api_webhook_deliver, .max_attempts = API_HOOK_ATTEMPTS },
};
const size_t api_job_kinds_count = ARRAY_LEN(api_job_kinds);
