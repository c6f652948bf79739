/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Webhooks on PostgreSQL: a team's webhooks and the attempts to deliver events to them. A
 * webhook's attempts are kept to a recent few (the caller says how many), so a busy webhook's
 * history never grows without end.
 */
#include "core/compat.h"

#include "store/pg/pg_int.h"

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

#define WEBHOOK_COLS                                                                               \
    "id, team_id, name, url, method, events, headers, body_extras, active, created_at, "           \
    "updated_at"
#define ATTEMPT_COLS                                                                               \
    "id, webhook_id, delivery_id, event, package_id, attempt, status, error, duration_ms, at"

static void read_webhook(const PGresult *r, int row, struct arena *a, void *record)
{
    struct webhook *w = record;

    pg_col_id(r, row, 0, w->id);
    pg_col_id(r, row, 1, w->team_id);
    w->name = pg_col_text(r, row, 2, a);
    w->url = pg_col_text(r, row, 3, a);
    w->method = pg_col_text(r, row, 4, a);
    w->events = pg_col_text(r, row, 5, a);
    w->headers = pg_col_text(r, row, 6, a);
    w->body_extras = pg_col_text(r, row, 7, a);
    w->active = pg_col_bool(r, row, 8);
    w->created_at = pg_col_int(r, row, 9);
    w->updated_at = pg_col_int(r, row, 10);
}

static void read_attempt(const PGresult *r, int row, struct arena *a, void *record)
{
    struct webhook_attempt *t = record;

    pg_col_id(r, row, 0, t->id);
    pg_col_id(r, row, 1, t->webhook_id);
    pg_col_id(r, row, 2, t->delivery_id);
    t->event = pg_col_text(r, row, 3, a);
    pg_col_id(r, row, 4, t->package_id);
    t->attempt = pg_col_int(r, row, 5);
    t->status = pg_col_int(r, row, 6);
    t->error = pg_col_text(r, row, 7, a);
    t->duration_ms = pg_col_int(r, row, 8);
    t->at = pg_col_int(r, row, 9);
}

/* The parameters an insert and an update share, as $1 to $9. */
static void add_fields(struct pg_params *p, const struct webhook *w)
{
    pg_params_init(p);
    pg_add_text(p, w->name ? w->name : "");
    pg_add_text(p, w->url);
    pg_add_text(p, w->method);
    pg_add_text(p, w->events ? w->events : "[]");
    pg_add_text(p, w->headers ? w->headers : "{}");
    pg_add_text(p, w->body_extras ? w->body_extras : "{}");
    pg_add_bool(p, w->active);
    pg_add_int(p, w->updated_at);
    pg_add_text(p, w->id);
}

enum store_rc pg_webhook_insert(struct store *s, const struct webhook *w)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    add_fields(&p, w);
    pg_add_text(&p, w->team_id);
    pg_add_int(&p, w->created_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO webhooks (name, url, method, events, headers, "
                              "body_extras, active, updated_at, id, team_id, created_at) VALUES "
                              "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                              "ON CONFLICT DO NOTHING"),
                   &p, NULL, "webhook insert");
}

enum store_rc pg_webhook_get(struct store *s, const char *id, struct arena *a, struct webhook *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = $1", id, a,
                          read_webhook, out, "webhook get");
}

enum store_rc pg_webhook_update(struct store *s, const struct webhook *w)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    add_fields(&p, w);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE webhooks SET name = $1, url = $2, method = $3, events = $4, "
                              "headers = $5, body_extras = $6, active = $7, updated_at = $8 "
                              "WHERE id = $9"),
                   &p, NULL, "webhook update");
}

enum store_rc pg_webhook_delete(struct store *s, const char *id)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc = pg_exec_by(q, "DELETE FROM webhook_attempts WHERE webhook_id = $1", id,
                                  "webhook attempts delete");

    if (rc < 0)
        return rc;
    return pg_exec_by(q, "DELETE FROM webhooks WHERE id = $1", id, "webhook delete");
}

enum store_rc pg_webhooks_list(struct store *s, const char *team_id, struct arena *a,
                               struct webhook **out, size_t *n)
{
    return pg_read_rows_by(to_pg(s),
                           "SELECT " WEBHOOK_COLS " FROM webhooks WHERE team_id = $1 "
                           "ORDER BY created_at, id",
                           team_id, a, sizeof(**out), read_webhook, out, n, "webhooks list");
}

enum store_rc pg_webhook_attempt_insert(struct store *s, const struct webhook_attempt *at,
                                        int64_t keep)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc;

    pg_params_init(&p);
    pg_add_text(&p, at->id);
    pg_add_text(&p, at->webhook_id);
    pg_add_text(&p, at->delivery_id);
    pg_add_text(&p, at->event);
    pg_add_text(&p, at->package_id);
    pg_add_int(&p, at->attempt);
    pg_add_int(&p, at->status);
    pg_add_text(&p, at->error ? at->error : "");
    pg_add_int(&p, at->duration_ms);
    pg_add_int(&p, at->at);
    rc = pg_exec(q,
                 pg_stmt(q, "INSERT INTO webhook_attempts (" ATTEMPT_COLS ") SELECT $1::text, "
                            "$2::text, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, "
                            "$8::text, $9::bigint, $10::bigint WHERE EXISTS (SELECT 1 FROM "
                            "webhooks WHERE id = $2::text)"),
                 &p, NULL, "webhook attempt insert");
    if (rc != STORE_ONE)
        return rc;
    pg_params_init(&p);
    pg_add_text(&p, at->webhook_id);
    pg_add_int(&p, keep);
    rc = pg_exec(q,
                 pg_stmt(q, "DELETE FROM webhook_attempts WHERE webhook_id = $1 AND id NOT IN "
                            "(SELECT id FROM webhook_attempts WHERE webhook_id = $1 "
                            "ORDER BY at DESC, id DESC LIMIT $2)"),
                 &p, NULL, "webhook attempts prune");
    return rc < 0 ? rc : STORE_ONE;
}

enum store_rc pg_webhook_attempts_list(struct store *s, const char *webhook_id, int64_t limit,
                                       struct arena *a, struct webhook_attempt **out, size_t *n)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, webhook_id);
    pg_add_int(&p, limit);
    return pg_read_rows(q,
                        pg_stmt(q, "SELECT " ATTEMPT_COLS " FROM webhook_attempts WHERE "
                                   "webhook_id = $1 ORDER BY at DESC, id DESC LIMIT $2"),
                        &p, a, sizeof(**out), read_attempt, out, n, "webhook attempts list");
}
