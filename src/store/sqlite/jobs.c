/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Background jobs on SQLite: a claim is one UPDATE in a write transaction, which SQLite runs one
 * at a time, so two workers never hold one job at once. */
#include "core/compat.h"

#include "core/clock.h"
#include "store/sqlite/sqlite_int.h"

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
#include "store/store_ops.def"
#undef STORE_OP

#define JOB_COLS                                                                                   \
    "id, kind, payload, dedupe, state, run_after, attempts, max_attempts, lease_owner, "           \
    "lease_until, last_error, created_at, updated_at"

static void read_job(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct job *j = record;

    *j = (struct job){ 0 };
    sq_id(st, 0, j->id);
    j->kind = sq_text(st, 1, a);
    j->payload = sq_text(st, 2, a);
    j->dedupe = sq_text(st, 3, a);
    j->state = job_state_parse((const char *)sqlite3_column_text(st, 4));
    j->run_after = sqlite3_column_int64(st, 5);
    j->attempts = sqlite3_column_int64(st, 6);
    j->max_attempts = sqlite3_column_int64(st, 7);
    j->lease_owner = sq_text(st, 8, a);
    j->lease_until = sq_time(st, 9);
    j->last_error = sq_text(st, 10, a);
    j->created_at = sqlite3_column_int64(st, 11);
    j->updated_at = sqlite3_column_int64(st, 12);
}

enum store_rc sqlite_job_insert(struct store *s, const struct job *j)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "INSERT INTO jobs (" JOB_COLS
                   ") VALUES (?, ?, ?, ?, 'queued', ?, 0, ?, NULL, NULL, NULL, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, j->id);
    sq_bind_text(st, 2, j->kind);
    sq_bind_text(st, 3, j->payload ? j->payload : "{}");
    sq_bind_text(st, 4, j->dedupe);
    sqlite3_bind_int64(st, 5, j->run_after);
    sqlite3_bind_int64(st, 6, j->max_attempts);
    sqlite3_bind_int64(st, 7, j->created_at);
    sqlite3_bind_int64(st, 8, j->created_at);
    return sq_exec(q, st, "job insert");
}

enum store_rc sqlite_job_claim(struct store *s, const char *owner, int64_t now, int64_t lease_ms,
                               struct arena *a, struct job *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "UPDATE jobs SET lease_owner = ?1, lease_until = ?2 + ?3, attempts = attempts + 1, "
           "updated_at = ?2 WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND "
           "run_after <= ?2 AND (lease_until IS NULL OR lease_until < ?2) "
           "ORDER BY run_after, id LIMIT 1) RETURNING " JOB_COLS);

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, owner);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, lease_ms);
    return sq_read_one(q, st, a, read_job, out, "job claim");
}

enum store_rc sqlite_job_finish(struct store *s, const char *id, const char *owner,
                                enum job_state state, int64_t run_after, const char *error,
                                int64_t now)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "UPDATE jobs SET state = ?3, run_after = ?4, last_error = coalesce(?5, last_error), "
           "lease_owner = NULL, lease_until = NULL, updated_at = ?6 "
           "WHERE id = ?1 AND state = 'queued' AND lease_owner = ?2");

    if (!st || !job_state_name(state))
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    sq_bind_text(st, 2, owner);
    sq_bind_text(st, 3, job_state_name(state));
    sqlite3_bind_int64(st, 4, run_after);
    sq_bind_text(st, 5, error);
    sqlite3_bind_int64(st, 6, now);
    return sq_exec(q, st, "job finish");
}

enum store_rc sqlite_job_get(struct store *s, const char *id, struct arena *a, struct job *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " JOB_COLS " FROM jobs WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_job, out, "job get");
}

enum store_rc sqlite_jobs_list(struct store *s, enum job_state state, int64_t limit,
                               struct arena *a, struct job **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " JOB_COLS " FROM jobs WHERE state = ? "
                                  "ORDER BY updated_at DESC, id DESC LIMIT ?");

    *out = NULL;
    *n = 0;
    if (!st || !job_state_name(state))
        return STORE_HARD;
    sq_bind_text(st, 1, job_state_name(state));
    sqlite3_bind_int64(st, 2, limit);
    return sq_read_rows(q, st, a, sizeof(**out), read_job, out, n, "jobs list");
}
