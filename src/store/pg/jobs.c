/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Background jobs on PostgreSQL: a claim locks the row it takes and skips rows another claim
 * has locked (FOR UPDATE SKIP LOCKED), so workers of many servers never wait on each other and
 * never get one job twice. */
#include "core/compat.h"

#include "store/pg/pg_int.h"

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

#define JOB_COLS                                                                                   \
    "id, kind, payload, dedupe, state, run_after, attempts, max_attempts, lease_owner, "           \
    "lease_until, last_error, created_at, updated_at"

static void read_job(const PGresult *r, int row, struct arena *a, void *record)
{
    struct job *j = record;
    char *state;

    *j = (struct job){ 0 };
    pg_col_id(r, row, 0, j->id);
    j->kind = pg_col_text(r, row, 1, a);
    j->payload = pg_col_text(r, row, 2, a);
    j->dedupe = pg_col_text(r, row, 3, a);
    state = pg_col_text(r, row, 4, a);
    j->state = job_state_parse(state);
    j->run_after = pg_col_int(r, row, 5);
    j->attempts = pg_col_int(r, row, 6);
    j->max_attempts = pg_col_int(r, row, 7);
    j->lease_owner = pg_col_text(r, row, 8, a);
    j->lease_until = pg_col_time(r, row, 9);
    j->last_error = pg_col_text(r, row, 10, a);
    j->created_at = pg_col_int(r, row, 11);
    j->updated_at = pg_col_int(r, row, 12);
}

enum store_rc pg_job_insert(struct store *s, const struct job *j)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, j->id);
    pg_add_text(&p, j->kind);
    pg_add_text(&p, j->payload ? j->payload : "{}");
    pg_add_text(&p, j->dedupe);
    pg_add_int(&p, j->run_after);
    pg_add_int(&p, j->max_attempts);
    pg_add_int(&p, j->created_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO jobs (" JOB_COLS ") VALUES ($1, $2, $3, $4, 'queued', "
                              "$5, 0, $6, NULL, NULL, NULL, $7, $7) ON CONFLICT DO NOTHING"),
                   &p, NULL, "job insert");
}

enum store_rc pg_job_claim(struct store *s, const char *owner, int64_t now, int64_t lease_ms,
                           struct arena *a, struct job *out)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, owner);
    pg_add_int(&p, now);
    pg_add_int(&p, lease_ms);
    return pg_read_one(
        q,
        pg_stmt(q, "UPDATE jobs SET lease_owner = $1, lease_until = $2 + $3, "
                   "attempts = attempts + 1, updated_at = $2 WHERE id = (SELECT id FROM jobs "
                   "WHERE state = 'queued' AND run_after <= $2 AND (lease_until IS NULL OR "
                   "lease_until < $2) ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                   "RETURNING " JOB_COLS),
        &p, a, read_job, out, "job claim");
}

enum store_rc pg_job_finish(struct store *s, const char *id, const char *owner,
                            enum job_state state, int64_t run_after, const char *error, int64_t now)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    if (!job_state_name(state))
        return STORE_HARD;
    pg_params_init(&p);
    pg_add_text(&p, id);
    pg_add_text(&p, owner);
    pg_add_text(&p, job_state_name(state));
    pg_add_int(&p, run_after);
    pg_add_text(&p, error);
    pg_add_int(&p, now);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE jobs SET state = $3, run_after = $4, "
                              "last_error = coalesce($5, last_error), lease_owner = NULL, "
                              "lease_until = NULL, updated_at = $6 WHERE id = $1 AND "
                              "state = 'queued' AND lease_owner = $2"),
                   &p, NULL, "job finish");
}

enum store_rc pg_job_get(struct store *s, const char *id, struct arena *a, struct job *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " JOB_COLS " FROM jobs WHERE id = $1", id, a, read_job,
                          out, "job get");
}

enum store_rc pg_jobs_list(struct store *s, enum job_state state, int64_t limit, struct arena *a,
                           struct job **out, size_t *n)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    *out = NULL;
    *n = 0;
    if (!job_state_name(state))
        return STORE_HARD;
    pg_params_init(&p);
    pg_add_text(&p, job_state_name(state));
    pg_add_int(&p, limit);
    return pg_read_rows(q,
                        pg_stmt(q, "SELECT " JOB_COLS " FROM jobs WHERE state = $1 "
                                   "ORDER BY updated_at DESC, id DESC LIMIT $2"),
                        &p, a, sizeof(**out), read_job, out, n, "jobs list");
}
