/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The background jobs of packages (run by jobs/ workers; see jobs/jobs.h): each kind's handler,
 * and the calls that queue them inside the transaction that makes them needed.
 *
 * package.purge {"package_id"}: removes the bytes of every file of an expired package (its
 * files' records stay, as the package's do). Idempotent: removing bytes twice is harmless.
 */
#include "core/compat.h"
#include "api/api.h"

#define LOG_COMPONENT "lifecycle"
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

const struct jobs_kind api_job_kinds[] = {
    { .kind = "package.purge", .run = purge },
};
const size_t api_job_kinds_count = ARRAY_LEN(api_job_kinds);
