/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Webhooks on SQLite: a team's webhooks and the attempts to deliver events to them. A webhook's
 * attempts are kept to a recent few (the caller says how many), so a busy webhook's history
 * never grows without end.
 */
#include "core/compat.h"

#include "store/sqlite/sqlite_int.h"

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
#include "store/store_ops.def"
#undef STORE_OP

#define WEBHOOK_COLS                                                                               \
    "id, team_id, name, url, method, events, headers, body_extras, active, created_at, "           \
    "updated_at"
#define ATTEMPT_COLS                                                                               \
    "id, webhook_id, delivery_id, event, package_id, attempt, status, error, duration_ms, at"

static void read_webhook(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct webhook *w = record;

    *w = (struct webhook){ 0 };
    sq_id(st, 0, w->id);
    sq_id(st, 1, w->team_id);
    w->name = sq_text(st, 2, a);
    w->url = sq_text(st, 3, a);
    w->method = sq_text(st, 4, a);
    w->events = sq_text(st, 5, a);
    w->headers = sq_text(st, 6, a);
    w->body_extras = sq_text(st, 7, a);
    w->active = sqlite3_column_int(st, 8) != 0;
    w->created_at = sqlite3_column_int64(st, 9);
    w->updated_at = sqlite3_column_int64(st, 10);
}

static void read_attempt(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct webhook_attempt *t = record;

    *t = (struct webhook_attempt){ 0 };
    sq_id(st, 0, t->id);
    sq_id(st, 1, t->webhook_id);
    sq_id(st, 2, t->delivery_id);
    t->event = sq_text(st, 3, a);
    sq_id(st, 4, t->package_id);
    t->attempt = sqlite3_column_int64(st, 5);
    t->status = sqlite3_column_int64(st, 6);
    t->error = sq_text(st, 7, a);
    t->duration_ms = sqlite3_column_int64(st, 8);
    t->at = sqlite3_column_int64(st, 9);
}

/* Binds the fields an insert and an update share, from parameter 1 on. */
static void bind_fields(sqlite3_stmt *st, const struct webhook *w)
{
    sq_bind_text(st, 1, w->name ? w->name : "");
    sq_bind_text(st, 2, w->url);
    sq_bind_text(st, 3, w->method);
    sq_bind_text(st, 4, w->events ? w->events : "[]");
    sq_bind_text(st, 5, w->headers ? w->headers : "{}");
    sq_bind_text(st, 6, w->body_extras ? w->body_extras : "{}");
    sqlite3_bind_int(st, 7, w->active);
    sqlite3_bind_int64(st, 8, w->updated_at);
    sq_bind_text(st, 9, w->id);
}

enum store_rc sqlite_webhook_insert(struct store *s, const struct webhook *w)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "INSERT INTO webhooks (name, url, method, events, headers, "
                                  "body_extras, active, updated_at, id, team_id, created_at) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    bind_fields(st, w);
    sq_bind_text(st, 10, w->team_id);
    sqlite3_bind_int64(st, 11, w->created_at);
    return sq_exec(q, st, "webhook insert");
}

enum store_rc sqlite_webhook_get(struct store *s, const char *id, struct arena *a,
                                 struct webhook *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_webhook, out, "webhook get");
}

enum store_rc sqlite_webhook_update(struct store *s, const struct webhook *w)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "UPDATE webhooks SET name = ?, url = ?, method = ?, events = ?, "
                                  "headers = ?, body_extras = ?, active = ?, updated_at = ? "
                                  "WHERE id = ?");

    if (!st)
        return STORE_HARD;
    bind_fields(st, w);
    return sq_exec(q, st, "webhook update");
}

enum store_rc sqlite_webhook_delete(struct store *s, const char *id)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "DELETE FROM webhook_attempts WHERE webhook_id = ?");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    rc = sq_exec(q, st, "webhook attempts delete");
    if (rc < 0)
        return rc;
    st = sq_stmt(q, "DELETE FROM webhooks WHERE id = ?");
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_exec(q, st, "webhook delete");
}

enum store_rc sqlite_webhooks_list(struct store *s, const char *team_id, struct arena *a,
                                   struct webhook **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " WEBHOOK_COLS " FROM webhooks WHERE team_id = ? "
                                  "ORDER BY created_at, id");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    return sq_read_rows(q, st, a, sizeof(**out), read_webhook, out, n, "webhooks list");
}

enum store_rc sqlite_webhook_attempt_insert(struct store *s, const struct webhook_attempt *at,
                                            int64_t keep)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "INSERT INTO webhook_attempts (" ATTEMPT_COLS ") SELECT ?1, "
                                  "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE EXISTS (SELECT 1 "
                                  "FROM webhooks WHERE id = ?2)");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, at->id);
    sq_bind_text(st, 2, at->webhook_id);
    sq_bind_text(st, 3, at->delivery_id);
    sq_bind_text(st, 4, at->event);
    sq_bind_text(st, 5, at->package_id);
    sqlite3_bind_int64(st, 6, at->attempt);
    sqlite3_bind_int64(st, 7, at->status);
    sq_bind_text(st, 8, at->error ? at->error : "");
    sqlite3_bind_int64(st, 9, at->duration_ms);
    sqlite3_bind_int64(st, 10, at->at);
    rc = sq_exec(q, st, "webhook attempt insert");
    if (rc != STORE_ONE)
        return rc;
    st = sq_stmt(q, "DELETE FROM webhook_attempts WHERE webhook_id = ?1 AND id NOT IN (SELECT id "
                    "FROM webhook_attempts WHERE webhook_id = ?1 ORDER BY at DESC, id DESC "
                    "LIMIT ?2)");
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, at->webhook_id);
    sqlite3_bind_int64(st, 2, keep);
    rc = sq_exec(q, st, "webhook attempts prune");
    return rc < 0 ? rc : STORE_ONE;
}

enum store_rc sqlite_webhook_attempts_list(struct store *s, const char *webhook_id, int64_t limit,
                                           struct arena *a, struct webhook_attempt **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " ATTEMPT_COLS " FROM webhook_attempts WHERE "
                                  "webhook_id = ? ORDER BY at DESC, id DESC LIMIT ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, webhook_id);
    sqlite3_bind_int64(st, 2, limit);
    return sq_read_rows(q, st, a, sizeof(**out), read_attempt, out, n, "webhook attempts list");
}
