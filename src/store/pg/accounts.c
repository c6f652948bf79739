/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Users, teams, memberships, API keys, teamspaces and rate limits on PostgreSQL. Inserts that
 * may meet a unique key say ON CONFLICT DO NOTHING: a taken key is STORE_NONE, as on SQLite,
 * and the transaction stays usable (an error would abort it).
 */
#include "core/compat.h"

#define LOG_COMPONENT "store.pg"
#include "core/clock.h"
#include "core/log.h"
#include "store/pg/pg_int.h"

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* ---- users ---- */

#define USER_COLS "id, email, name, password_hash, created_at, updated_at"

static void read_user(const PGresult *r, int row, struct arena *a, void *record)
{
    struct user *u = record;

    pg_col_id(r, row, 0, u->id);
    u->email = pg_col_text(r, row, 1, a);
    u->name = pg_col_text(r, row, 2, a);
    u->password_hash = pg_col_text(r, row, 3, a);
    u->created_at = pg_col_int(r, row, 4);
    u->updated_at = pg_col_int(r, row, 5);
}

enum store_rc pg_user_insert(struct store *s, const struct user *u)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, u->id);
    pg_add_text(&p, u->email);
    pg_add_text(&p, u->name ? u->name : "");
    pg_add_text(&p, u->password_hash);
    pg_add_int(&p, u->created_at);
    pg_add_int(&p, u->updated_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO users (" USER_COLS ") VALUES ($1, $2, $3, $4, $5, $6) "
                              "ON CONFLICT DO NOTHING"),
                   &p, NULL, "user insert");
}

static enum store_rc user_where(struct store *s, const char *sql, const char *key, struct arena *a,
                                struct user *out)
{
    return pg_read_one_by(to_pg(s), sql, key, a, read_user, out, "user get");
}

enum store_rc pg_user_get(struct store *s, const char *id, struct arena *a, struct user *out)
{
    return user_where(s, "SELECT " USER_COLS " FROM users WHERE id = $1", id, a, out);
}

enum store_rc pg_user_by_email(struct store *s, const char *email, struct arena *a,
                               struct user *out)
{
    return user_where(s, "SELECT " USER_COLS " FROM users WHERE email = $1", email, a, out);
}

/* ---- teams ---- */

static void read_team(const PGresult *r, int row, struct arena *a, void *record)
{
    struct team *t = record;

    pg_col_id(r, row, 0, t->id);
    t->name = pg_col_text(r, row, 1, a);
    t->created_at = pg_col_int(r, row, 2);
    t->updated_at = pg_col_int(r, row, 3);
}

enum store_rc pg_team_insert(struct store *s, const struct team *t)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, t->id);
    pg_add_text(&p, t->name);
    pg_add_int(&p, t->created_at);
    pg_add_int(&p, t->updated_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO teams (id, name, created_at, updated_at) "
                              "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"),
                   &p, NULL, "team insert");
}

enum store_rc pg_team_get(struct store *s, const char *id, struct arena *a, struct team *out)
{
    return pg_read_one_by(to_pg(s),
                          "SELECT id, name, created_at, updated_at FROM teams WHERE id = $1", id, a,
                          read_team, out, "team get");
}

enum store_rc pg_team_count(struct store *s, int64_t *n)
{
    struct pg_store *q = to_pg(s);

    return pg_read_count(q, pg_stmt(q, "SELECT count(*) FROM teams"), NULL, n, "team count");
}

/* ---- memberships ---- */

#define MEMBER_SELECT                                                                              \
    "SELECT m.id, m.team_id, m.user_id, m.role, m.created_at, m.updated_at, u.email, u.name, "     \
    "t.name FROM memberships m JOIN users u ON u.id = m.user_id JOIN teams t ON t.id = m.team_id "

static void read_member(const PGresult *r, int row, struct arena *a, void *record)
{
    struct membership *m = record;

    *m = (struct membership){ 0 };
    pg_col_id(r, row, 0, m->id);
    pg_col_id(r, row, 1, m->team_id);
    pg_col_id(r, row, 2, m->user_id);
    m->role = role_parse(PQgetvalue(r, row, 3));
    m->created_at = pg_col_int(r, row, 4);
    m->updated_at = pg_col_int(r, row, 5);
    m->email = pg_col_text(r, row, 6, a);
    m->name = pg_col_text(r, row, 7, a);
    m->team_name = pg_col_text(r, row, 8, a);
}

enum store_rc pg_membership_insert(struct store *s, const struct membership *m)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, m->id);
    pg_add_text(&p, m->team_id);
    pg_add_text(&p, m->user_id);
    pg_add_text(&p, role_name(m->role));
    pg_add_int(&p, m->created_at);
    pg_add_int(&p, m->updated_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO memberships (id, team_id, user_id, role, created_at, "
                              "updated_at) VALUES ($1, $2, $3, $4, $5, $6) "
                              "ON CONFLICT DO NOTHING"),
                   &p, NULL, "membership insert");
}

/* The values of column 1 of the rows of @r whose column 0 is @id, in row order, as a new arena
 * array in *@list of *@count. */
static void values_of(const PGresult *r, const char *id, struct arena *a, char ***list,
                      size_t *count)
{
    int rows = PQntuples(r);
    size_t k = 0;

    *count = 0;
    for (int row = 0; row < rows; row++)
        *count += strcmp(PQgetvalue(r, row, 0), id) == 0;
    *list = *count ? arena_alloc(a, *count * sizeof(char *)) : NULL;
    for (int row = 0; row < rows && k < *count; row++)
        if (strcmp(PQgetvalue(r, row, 0), id) == 0)
            (*list)[k++] = pg_col_text(r, row, 1, a);
}

/* Attaches teamspace ids to each of @n memberships of @team_id. */
static enum store_rc attach_teamspaces(struct pg_store *q, const char *team_id, struct arena *a,
                                       struct membership *ms, size_t n)
{
    enum store_rc rc = STORE_HARD;
    struct pg_params p;
    PGresult *r;

    pg_params_init(&p);
    pg_add_text(&p, team_id);
    r = pg_query(q,
                 pg_stmt(q, "SELECT tm.membership_id, tm.teamspace_id FROM teamspace_members tm "
                            "JOIN teamspaces t ON t.id = tm.teamspace_id WHERE t.team_id = $1 "
                            "ORDER BY tm.teamspace_id"),
                 &p, "teamspaces of members", &rc);
    if (!r)
        return rc;
    for (size_t i = 0; i < n; i++)
        values_of(r, ms[i].id, a, &ms[i].teamspace_ids, &ms[i].nteamspaces);
    PQclear(r);
    return STORE_ONE;
}

enum store_rc pg_membership_get(struct store *s, const char *team_id, const char *user_id,
                                struct arena *a, struct membership *out)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc;

    pg_params_init(&p);
    pg_add_text(&p, team_id);
    pg_add_text(&p, user_id);
    rc = pg_read_one(q, pg_stmt(q, MEMBER_SELECT "WHERE m.team_id = $1 AND m.user_id = $2"), &p, a,
                     read_member, out, "membership get");
    if (rc == STORE_ONE) {
        enum store_rc trc = attach_teamspaces(q, team_id, a, out, 1);

        if (trc < 0)
            return trc;
    }
    return rc;
}

static enum store_rc members_where(struct pg_store *q, const char *sql, const char *key,
                                   struct arena *a, struct membership **out, size_t *n)
{
    return pg_read_rows_by(q, sql, key, a, sizeof(**out), read_member, out, n, "memberships list");
}

enum store_rc pg_members_list(struct store *s, const char *team_id, struct arena *a,
                              struct membership **out, size_t *n)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc = members_where(
        q, MEMBER_SELECT "WHERE m.team_id = $1 ORDER BY m.created_at, m.id", team_id, a, out, n);

    if (rc == STORE_ONE)
        rc = attach_teamspaces(q, team_id, a, *out, *n);
    return rc;
}

enum store_rc pg_memberships_of_user(struct store *s, const char *user_id, struct arena *a,
                                     struct membership **out, size_t *n)
{
    return members_where(to_pg(s), MEMBER_SELECT "WHERE m.user_id = $1 ORDER BY t.name, t.id",
                         user_id, a, out, n);
}

/* ---- API keys ---- */

#define KEY_COLS                                                                                   \
    "id, team_id, user_id, membership_id, name, description, secret_hash, expiry, state, "         \
    "created_at, updated_at"

static void read_key(const PGresult *r, int row, struct arena *a, void *record)
{
    struct api_key *k = record;

    pg_col_id(r, row, 0, k->id);
    pg_col_id(r, row, 1, k->team_id);
    pg_col_id(r, row, 2, k->user_id);
    pg_col_id(r, row, 3, k->membership_id);
    k->name = pg_col_text(r, row, 4, a);
    k->description = pg_col_text(r, row, 5, a);
    pg_col_bytes(r, row, 6, k->secret_hash, API_KEY_HASH_LEN);
    k->expiry = pg_col_time(r, row, 7);
    k->state = strcmp(PQgetvalue(r, row, 8), "active") == 0 ? API_KEY_ACTIVE : API_KEY_INACTIVE;
    k->created_at = pg_col_int(r, row, 9);
    k->updated_at = pg_col_int(r, row, 10);
}

static const char *state_text(enum api_key_state s)
{
    return s == API_KEY_ACTIVE ? "active" : "inactive";
}

enum store_rc pg_api_key_insert(struct store *s, const struct api_key *k)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, k->id);
    pg_add_text(&p, k->team_id);
    pg_add_text(&p, k->user_id);
    pg_add_text(&p, k->membership_id);
    pg_add_text(&p, k->name ? k->name : "");
    pg_add_text(&p, k->description ? k->description : "");
    pg_add_bytes(&p, k->secret_hash, API_KEY_HASH_LEN);
    pg_add_time(&p, k->expiry);
    pg_add_text(&p, state_text(k->state));
    pg_add_int(&p, k->created_at);
    pg_add_int(&p, k->updated_at);
    return pg_exec(q,
                   pg_stmt(q, "INSERT INTO api_keys (" KEY_COLS ") VALUES ($1, $2, $3, $4, $5, "
                              "$6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"),
                   &p, NULL, "api key insert");
}

enum store_rc pg_api_key_get(struct store *s, const char *id, struct arena *a, struct api_key *out)
{
    return pg_read_one_by(to_pg(s), "SELECT " KEY_COLS " FROM api_keys WHERE id = $1", id, a,
                          read_key, out, "api key get");
}

enum store_rc pg_api_keys_list(struct store *s, const char *team_id, struct arena *a,
                               struct api_key **out, size_t *n)
{
    return pg_read_rows_by(to_pg(s),
                           "SELECT " KEY_COLS " FROM api_keys WHERE team_id = $1 "
                           "ORDER BY created_at DESC, id DESC",
                           team_id, a, sizeof(**out), read_key, out, n, "api keys list");
}

enum store_rc pg_api_key_update(struct store *s, const struct api_key *k)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, k->name ? k->name : "");
    pg_add_text(&p, k->description ? k->description : "");
    pg_add_time(&p, k->expiry);
    pg_add_text(&p, state_text(k->state));
    pg_add_int(&p, k->updated_at);
    pg_add_text(&p, k->id);
    return pg_exec(q,
                   pg_stmt(q, "UPDATE api_keys SET name = $1, description = $2, expiry = $3, "
                              "state = $4, updated_at = $5 WHERE id = $6"),
                   &p, NULL, "api key update");
}

enum store_rc pg_api_key_delete(struct store *s, const char *id)
{
    return pg_exec_by(to_pg(s), "DELETE FROM api_keys WHERE id = $1", id, "api key delete");
}

/* ---- teamspaces ---- */

static void read_space(const PGresult *r, int row, struct arena *a, void *record)
{
    struct teamspace *t = record;

    *t = (struct teamspace){ 0 };
    pg_col_id(r, row, 0, t->id);
    pg_col_id(r, row, 1, t->team_id);
    t->name = pg_col_text(r, row, 2, a);
    t->created_at = pg_col_int(r, row, 3);
    t->updated_at = pg_col_int(r, row, 4);
}

enum store_rc pg_teamspace_insert(struct store *s, const struct teamspace *t)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc;

    pg_params_init(&p);
    pg_add_text(&p, t->id);
    pg_add_text(&p, t->team_id);
    pg_add_text(&p, t->name);
    pg_add_int(&p, t->created_at);
    pg_add_int(&p, t->updated_at);
    rc = pg_exec(q,
                 pg_stmt(q, "INSERT INTO teamspaces (id, team_id, name, created_at, updated_at) "
                            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"),
                 &p, NULL, "teamspace insert");
    for (size_t i = 0; rc == STORE_ONE && i < t->nmembers; i++) {
        enum store_rc mrc;

        pg_params_init(&p);
        pg_add_text(&p, t->id);
        pg_add_text(&p, t->member_ids[i]);
        mrc = pg_exec(q,
                      pg_stmt(q, "INSERT INTO teamspace_members (teamspace_id, membership_id) "
                                 "VALUES ($1, $2) ON CONFLICT DO NOTHING"),
                      &p, NULL, "teamspace member insert");
        if (mrc < 0)
            return mrc;
    }
    return rc;
}

enum store_rc pg_teamspaces_list(struct store *s, const char *team_id, const char *membership_id,
                                 struct store_page page, struct arena *a, struct teamspace **out,
                                 size_t *n, int64_t *total)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc = STORE_HARD;
    const char **ids;
    PGresult *r;

    *out = NULL;
    *n = 0;
    /* $2 IS NULL selects every teamspace of the team; otherwise those @membership_id is in. */
    pg_params_init(&p);
    pg_add_text(&p, team_id);
    pg_add_text(&p, membership_id);
    rc = pg_read_count(q,
                       pg_stmt(q, "SELECT count(*) FROM teamspaces t WHERE t.team_id = $1 AND "
                                  "($2::text IS NULL OR EXISTS (SELECT 1 FROM teamspace_members "
                                  "x WHERE x.teamspace_id = t.id AND x.membership_id = $2))"),
                       &p, total, "teamspaces count");
    if (rc < 0)
        return rc;
    pg_add_int(&p, page.limit);
    pg_add_int(&p, (page.page - 1) * page.limit);
    rc = pg_read_rows(q,
                      pg_stmt(q, "SELECT t.id, t.team_id, t.name, t.created_at, t.updated_at "
                                 "FROM teamspaces t WHERE t.team_id = $1 AND ($2::text IS NULL "
                                 "OR EXISTS (SELECT 1 FROM teamspace_members x WHERE "
                                 "x.teamspace_id = t.id AND x.membership_id = $2)) "
                                 "ORDER BY t.name, t.id LIMIT $3 OFFSET $4"),
                      &p, a, sizeof(**out), read_space, out, n, "teamspaces list");
    if (rc <= 0)
        return rc;
    /* The members of the whole page at once. */
    ids = arena_alloc(a, *n * sizeof(*ids));
    for (size_t i = 0; i < *n; i++)
        ids[i] = (*out)[i].id;
    pg_params_init(&p);
    pg_add_text(&p, pg_array_literal(ids, *n, a));
    r = pg_query(q,
                 pg_stmt(q, "SELECT teamspace_id, membership_id FROM teamspace_members "
                            "WHERE teamspace_id = ANY ($1::text[]) "
                            "ORDER BY teamspace_id, membership_id"),
                 &p, "teamspace members", &rc);
    if (!r)
        return rc;
    for (size_t i = 0; i < *n; i++)
        values_of(r, ids[i], a, &(*out)[i].member_ids, &(*out)[i].nmembers);
    PQclear(r);
    return STORE_ONE;
}

enum store_rc pg_teamspace_get(struct store *s, const char *team_id, const char *id,
                               struct arena *a, struct teamspace *out)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;

    pg_params_init(&p);
    pg_add_text(&p, team_id);
    pg_add_text(&p, id);
    return pg_read_one(q,
                       pg_stmt(q, "SELECT id, team_id, name, created_at, updated_at FROM "
                                  "teamspaces WHERE team_id = $1 AND id = $2"),
                       &p, a, read_space, out, "teamspace get");
}

/* ---- rate limits ---- */

/* The count and end of the window that started at @start with @count events, seen at @now:
 * nothing once the window is over. */
static void window_of(int64_t start, int64_t count, int64_t now, int64_t window_ms,
                      int64_t *out_count, int64_t *reset_at)
{
    *out_count = 0;
    *reset_at = now;
    if (now - start < window_ms) {
        *out_count = count;
        *reset_at = start + window_ms;
    }
}

enum store_rc pg_ratelimit_peek(struct store *s, const char *key, int64_t now, int64_t window_ms,
                                int64_t *count, int64_t *reset_at)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc = STORE_HARD;
    struct pg_params p;
    PGresult *r;

    *count = 0;
    *reset_at = now;
    pg_params_init(&p);
    pg_add_text(&p, key);
    r = pg_query(q, pg_stmt(q, "SELECT window_start, count FROM rate_limits WHERE key = $1"), &p,
                 "rate limit peek", &rc);
    if (!r)
        return rc;
    if (PQntuples(r) > 0)
        window_of(pg_col_int(r, 0, 0), pg_col_int(r, 0, 1), now, window_ms, count, reset_at);
    PQclear(r);
    return STORE_ONE;
}

enum store_rc pg_ratelimit_hit(struct store *s, const char *key, int64_t now, int64_t window_ms,
                               int64_t *count, int64_t *reset_at)
{
    struct pg_store *q = to_pg(s);
    enum store_rc rc = STORE_HARD;
    struct pg_params p;
    PGresult *r;

    *count = 0;
    *reset_at = now;
    pg_params_init(&p);
    pg_add_text(&p, key);
    pg_add_int(&p, now);
    pg_add_int(&p, window_ms);
    r = pg_query(q,
                 pg_stmt(q, "INSERT INTO rate_limits AS l (key, window_start, count) "
                            "VALUES ($1, $2::bigint, 1) ON CONFLICT (key) DO UPDATE SET "
                            "count = CASE WHEN $2::bigint - l.window_start >= $3::bigint THEN 1 "
                            "ELSE l.count + 1 END, window_start = CASE WHEN $2::bigint - "
                            "l.window_start >= $3::bigint THEN $2::bigint ELSE l.window_start END "
                            "RETURNING window_start, count"),
                 &p, "rate limit hit", &rc);
    if (!r)
        return rc;
    if (PQntuples(r) > 0)
        window_of(pg_col_int(r, 0, 0), pg_col_int(r, 0, 1), now, window_ms, count, reset_at);
    PQclear(r);
    return STORE_ONE;
}

enum store_rc pg_ratelimit_clear(struct store *s, const char *key)
{
    enum store_rc rc =
        pg_exec_by(to_pg(s), "DELETE FROM rate_limits WHERE key = $1", key, "rate limit clear");

    return rc < 0 ? rc : STORE_ONE;
}

enum store_rc pg_ratelimit_prune(struct store *s, int64_t before)
{
    struct pg_store *q = to_pg(s);
    struct pg_params p;
    enum store_rc rc;

    pg_params_init(&p);
    pg_add_int(&p, before);
    rc = pg_exec(q, pg_stmt(q, "DELETE FROM rate_limits WHERE window_start < $1"), &p, NULL,
                 "rate limit prune");
    return rc < 0 ? rc : STORE_ONE;
}
