/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Users, teams, memberships, API keys, teamspaces and rate limits on SQLite. */
#include "core/compat.h"

#define LOG_COMPONENT "store.sqlite"
#include "core/clock.h"
#include "core/log.h"
#include "store/sqlite/sqlite_int.h"

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* Runs a SELECT expected to give at most one row, leaving @st on it. */
static enum store_rc one_row(struct sqlite_store *q, sqlite3_stmt *st, const char *what)
{
    int rc;

    if (!st)
        return STORE_HARD;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return STORE_ONE;
    if (rc == SQLITE_DONE)
        return STORE_NONE;
    return sq_fail(q, rc, what);
}

/* ---- users ---- */

#define USER_COLS "id, email, name, password_hash, created_at, updated_at"

static void read_user(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct user *u = record;

    sq_id(st, 0, u->id);
    u->email = sq_text(st, 1, a);
    u->name = sq_text(st, 2, a);
    u->password_hash = sq_text(st, 3, a);
    u->created_at = sqlite3_column_int64(st, 4);
    u->updated_at = sqlite3_column_int64(st, 5);
}

enum store_rc sqlite_user_insert(struct store *s, const struct user *u)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "INSERT INTO users (" USER_COLS ") VALUES (?, ?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, u->id);
    sq_bind_text(st, 2, u->email);
    sq_bind_text(st, 3, u->name ? u->name : "");
    sq_bind_text(st, 4, u->password_hash);
    sqlite3_bind_int64(st, 5, u->created_at);
    sqlite3_bind_int64(st, 6, u->updated_at);
    return sq_exec(q, st, "user insert");
}

static enum store_rc user_where(struct store *s, const char *sql, const char *key, struct arena *a,
                                struct user *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, sql);

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, key);
    return sq_read_one(q, st, a, read_user, out, "user get");
}

enum store_rc sqlite_user_get(struct store *s, const char *id, struct arena *a, struct user *out)
{
    return user_where(s, "SELECT " USER_COLS " FROM users WHERE id = ?", id, a, out);
}

enum store_rc sqlite_user_by_email(struct store *s, const char *email, struct arena *a,
                                   struct user *out)
{
    return user_where(s, "SELECT " USER_COLS " FROM users WHERE email = ?", email, a, out);
}

/* ---- teams ---- */

enum store_rc sqlite_team_insert(struct store *s, const struct team *t)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->name);
    sqlite3_bind_int64(st, 3, t->created_at);
    sqlite3_bind_int64(st, 4, t->updated_at);
    return sq_exec(q, st, "team insert");
}

enum store_rc sqlite_team_get(struct store *s, const char *id, struct arena *a, struct team *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "SELECT id, name, created_at, updated_at FROM teams WHERE id = ?");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    rc = one_row(q, st, "team get");
    if (rc == STORE_ONE) {
        sq_id(st, 0, out->id);
        out->name = sq_text(st, 1, a);
        out->created_at = sqlite3_column_int64(st, 2);
        out->updated_at = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc;
}

enum store_rc sqlite_team_count(struct store *s, int64_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT count(*) FROM teams");

    if (!st)
        return STORE_HARD;
    return sq_read_count(q, st, n, "team count");
}

/* ---- memberships ---- */

#define MEMBER_SELECT                                                                              \
    "SELECT m.id, m.team_id, m.user_id, m.role, m.created_at, m.updated_at, u.email, u.name, "     \
    "t.name FROM memberships m JOIN users u ON u.id = m.user_id JOIN teams t ON t.id = m.team_id "

static void read_member(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct membership *m = record;

    *m = (struct membership){ 0 };
    sq_id(st, 0, m->id);
    sq_id(st, 1, m->team_id);
    sq_id(st, 2, m->user_id);
    m->role = role_parse((const char *)sqlite3_column_text(st, 3));
    m->created_at = sqlite3_column_int64(st, 4);
    m->updated_at = sqlite3_column_int64(st, 5);
    m->email = sq_text(st, 6, a);
    m->name = sq_text(st, 7, a);
    m->team_name = sq_text(st, 8, a);
}

enum store_rc sqlite_membership_insert(struct store *s, const struct membership *m)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "INSERT INTO memberships (id, team_id, user_id, role, created_at, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, m->id);
    sq_bind_text(st, 2, m->team_id);
    sq_bind_text(st, 3, m->user_id);
    sq_bind_text(st, 4, role_name(m->role));
    sqlite3_bind_int64(st, 5, m->created_at);
    sqlite3_bind_int64(st, 6, m->updated_at);
    return sq_exec(q, st, "membership insert");
}

/* Attaches teamspace ids to each of @n memberships of @team_id. */
static enum store_rc attach_teamspaces(struct sqlite_store *q, const char *team_id, struct arena *a,
                                       struct membership *ms, size_t n)
{
    sqlite3_stmt *st =
        sq_stmt(q, "SELECT tm.membership_id, tm.teamspace_id FROM teamspace_members tm "
                   "JOIN teamspaces t ON t.id = tm.teamspace_id WHERE t.team_id = ? "
                   "ORDER BY tm.teamspace_id");
    size_t *caps = NULL;
    int rc;

    if (!st)
        return STORE_HARD;
    caps = arena_alloc(a, (n ? n : 1) * sizeof(*caps));
    sq_bind_text(st, 1, team_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mid = (const char *)sqlite3_column_text(st, 0);

        for (size_t i = 0; i < n; i++) {
            if (mid && strcmp(ms[i].id, mid) == 0) {
                char **slot = sq_push(a, (void **)&ms[i].teamspace_ids, &ms[i].nteamspaces,
                                      &caps[i], sizeof(char *));

                *slot = sq_text(st, 1, a);
            }
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_ONE : sq_fail(q, rc, "teamspaces of members");
}

enum store_rc sqlite_membership_get(struct store *s, const char *team_id, const char *user_id,
                                    struct arena *a, struct membership *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, MEMBER_SELECT "WHERE m.team_id = ? AND m.user_id = ?");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    sq_bind_text(st, 2, user_id);
    rc = one_row(q, st, "membership get");
    if (rc == STORE_ONE)
        read_member(st, a, out);
    sqlite3_reset(st);
    if (rc == STORE_ONE) {
        enum store_rc trc = attach_teamspaces(q, team_id, a, out, 1);

        if (trc < 0)
            return trc;
    }
    return rc;
}

static enum store_rc members_where(struct sqlite_store *q, sqlite3_stmt *st, const char *key,
                                   struct arena *a, struct membership **out, size_t *n)
{
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, key);
    return sq_read_rows(q, st, a, sizeof(**out), read_member, out, n, "memberships list");
}

enum store_rc sqlite_members_list(struct store *s, const char *team_id, struct arena *a,
                                  struct membership **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    enum store_rc rc = members_where(
        q, sq_stmt(q, MEMBER_SELECT "WHERE m.team_id = ? ORDER BY m.created_at, m.id"), team_id, a,
        out, n);

    if (rc == STORE_ONE)
        rc = attach_teamspaces(q, team_id, a, *out, *n);
    return rc;
}

enum store_rc sqlite_memberships_of_user(struct store *s, const char *user_id, struct arena *a,
                                         struct membership **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);

    return members_where(q, sq_stmt(q, MEMBER_SELECT "WHERE m.user_id = ? ORDER BY t.name, t.id"),
                         user_id, a, out, n);
}

/* ---- API keys ---- */

#define KEY_COLS                                                                                   \
    "id, team_id, user_id, membership_id, name, description, secret_hash, expiry, state, "         \
    "created_at, updated_at"

static void read_key(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct api_key *k = record;
    const void *h = sqlite3_column_blob(st, 6);

    sq_id(st, 0, k->id);
    sq_id(st, 1, k->team_id);
    sq_id(st, 2, k->user_id);
    sq_id(st, 3, k->membership_id);
    k->name = sq_text(st, 4, a);
    k->description = sq_text(st, 5, a);
    memset(k->secret_hash, 0, sizeof(k->secret_hash));
    if (h && sqlite3_column_bytes(st, 6) == API_KEY_HASH_LEN)
        memcpy(k->secret_hash, h, API_KEY_HASH_LEN);
    k->expiry = sq_time(st, 7);
    k->state = strcmp((const char *)sqlite3_column_text(st, 8), "active") == 0 ? API_KEY_ACTIVE
                                                                               : API_KEY_INACTIVE;
    k->created_at = sqlite3_column_int64(st, 9);
    k->updated_at = sqlite3_column_int64(st, 10);
}

static const char *state_text(enum api_key_state s)
{
    return s == API_KEY_ACTIVE ? "active" : "inactive";
}

enum store_rc sqlite_api_key_insert(struct store *s, const struct api_key *k)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "INSERT INTO api_keys (" KEY_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, k->id);
    sq_bind_text(st, 2, k->team_id);
    sq_bind_text(st, 3, k->user_id);
    sq_bind_text(st, 4, k->membership_id);
    sq_bind_text(st, 5, k->name ? k->name : "");
    sq_bind_text(st, 6, k->description ? k->description : "");
    sqlite3_bind_blob(st, 7, k->secret_hash, API_KEY_HASH_LEN, SQLITE_TRANSIENT);
    sq_bind_time(st, 8, k->expiry);
    sq_bind_text(st, 9, state_text(k->state));
    sqlite3_bind_int64(st, 10, k->created_at);
    sqlite3_bind_int64(st, 11, k->updated_at);
    return sq_exec(q, st, "api key insert");
}

enum store_rc sqlite_api_key_get(struct store *s, const char *id, struct arena *a,
                                 struct api_key *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_read_one(q, st, a, read_key, out, "api key get");
}

enum store_rc sqlite_api_keys_list(struct store *s, const char *team_id, struct arena *a,
                                   struct api_key **out, size_t *n)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT " KEY_COLS " FROM api_keys WHERE team_id = ? "
                                  "ORDER BY created_at DESC, id DESC");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    return sq_read_rows(q, st, a, sizeof(**out), read_key, out, n, "api keys list");
}

enum store_rc sqlite_api_key_update(struct store *s, const struct api_key *k)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "UPDATE api_keys SET name = ?, description = ?, expiry = ?, "
                                  "state = ?, updated_at = ? WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, k->name ? k->name : "");
    sq_bind_text(st, 2, k->description ? k->description : "");
    sq_bind_time(st, 3, k->expiry);
    sq_bind_text(st, 4, state_text(k->state));
    sqlite3_bind_int64(st, 5, k->updated_at);
    sq_bind_text(st, 6, k->id);
    return sq_exec(q, st, "api key update");
}

enum store_rc sqlite_api_key_delete(struct store *s, const char *id)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "DELETE FROM api_keys WHERE id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, id);
    return sq_exec(q, st, "api key delete");
}

/* ---- teamspaces ---- */

static void read_space(sqlite3_stmt *st, struct arena *a, void *record)
{
    struct teamspace *t = record;

    *t = (struct teamspace){ 0 };
    sq_id(st, 0, t->id);
    sq_id(st, 1, t->team_id);
    t->name = sq_text(st, 2, a);
    t->created_at = sqlite3_column_int64(st, 3);
    t->updated_at = sqlite3_column_int64(st, 4);
}

enum store_rc sqlite_teamspace_insert(struct store *s, const struct teamspace *t)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st =
        sq_stmt(q, "INSERT INTO teamspaces (id, team_id, name, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?)");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->team_id);
    sq_bind_text(st, 3, t->name);
    sqlite3_bind_int64(st, 4, t->created_at);
    sqlite3_bind_int64(st, 5, t->updated_at);
    rc = sq_exec(q, st, "teamspace insert");
    for (size_t i = 0; rc == STORE_ONE && i < t->nmembers; i++) {
        st = sq_stmt(q, "INSERT OR IGNORE INTO teamspace_members (teamspace_id, membership_id) "
                        "VALUES (?, ?)");
        if (!st)
            return STORE_HARD;
        sq_bind_text(st, 1, t->id);
        sq_bind_text(st, 2, t->member_ids[i]);
        if (sq_exec(q, st, "teamspace member insert") < 0)
            return STORE_HARD;
    }
    return rc;
}

enum store_rc sqlite_teamspaces_list(struct store *s, const char *team_id,
                                     const char *membership_id, struct store_page page,
                                     struct arena *a, struct teamspace **out, size_t *n,
                                     int64_t *total)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st;
    int rc;

    *out = NULL;
    *n = 0;
    /* ?2 IS NULL selects every teamspace of the team; otherwise those @membership_id is in. */
    st = sq_stmt(q, "SELECT count(*) FROM teamspaces t WHERE t.team_id = ?1 AND (?2 IS NULL OR "
                    "EXISTS (SELECT 1 FROM teamspace_members x WHERE x.teamspace_id = t.id AND "
                    "x.membership_id = ?2))");
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    sq_bind_text(st, 2, membership_id);
    rc = sq_read_count(q, st, total, "teamspaces count");
    if (rc < 0)
        return rc;
    st = sq_stmt(q, "SELECT t.id, t.team_id, t.name, t.created_at, t.updated_at FROM teamspaces t "
                    "WHERE t.team_id = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM "
                    "teamspace_members x WHERE x.teamspace_id = t.id AND x.membership_id = ?2)) "
                    "ORDER BY t.name, t.id LIMIT ?3 OFFSET ?4");
    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    sq_bind_text(st, 2, membership_id);
    sqlite3_bind_int64(st, 3, page.limit);
    sqlite3_bind_int64(st, 4, (page.page - 1) * page.limit);
    rc = sq_read_rows(q, st, a, sizeof(**out), read_space, out, n, "teamspaces list");
    if (rc < 0)
        return rc;
    st = sq_stmt(q, "SELECT membership_id FROM teamspace_members WHERE teamspace_id = ? "
                    "ORDER BY membership_id");
    for (size_t i = 0; st && i < *n; i++) {
        struct teamspace *t = &(*out)[i];
        size_t mcap = 0;

        sqlite3_reset(st);
        sq_bind_text(st, 1, t->id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            *(char **)sq_push(a, (void **)&t->member_ids, &t->nmembers, &mcap, sizeof(char *)) =
                sq_text(st, 0, a);
        if (rc != SQLITE_DONE) {
            sqlite3_reset(st);
            return sq_fail(q, rc, "teamspace members");
        }
    }
    if (st)
        sqlite3_reset(st);
    return *n ? STORE_ONE : STORE_NONE;
}

/* ---- rate limits ---- */

enum store_rc sqlite_ratelimit_peek(struct store *s, const char *key, int64_t now,
                                    int64_t window_ms, int64_t *count, int64_t *reset_at)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT window_start, count FROM rate_limits WHERE key = ?");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, key);
    rc = one_row(q, st, "rate limit peek");
    *count = 0;
    *reset_at = now;
    if (rc == STORE_ONE) {
        int64_t start = sqlite3_column_int64(st, 0);

        if (now - start < window_ms) {
            *count = sqlite3_column_int64(st, 1);
            *reset_at = start + window_ms;
        }
    }
    sqlite3_reset(st);
    return rc < 0 ? rc : STORE_ONE;
}

enum store_rc sqlite_ratelimit_hit(struct store *s, const char *key, int64_t now, int64_t window_ms,
                                   int64_t *count, int64_t *reset_at)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(
        q, "INSERT INTO rate_limits (key, window_start, count) VALUES (?1, ?2, 1) "
           "ON CONFLICT (key) DO UPDATE SET "
           "count = CASE WHEN ?2 - window_start >= ?3 THEN 1 ELSE count + 1 END, "
           "window_start = CASE WHEN ?2 - window_start >= ?3 THEN ?2 ELSE window_start END");
    enum store_rc rc;

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, window_ms);
    rc = sq_exec(q, st, "rate limit hit");
    if (rc < 0)
        return rc;
    return sqlite_ratelimit_peek(s, key, now, window_ms, count, reset_at);
}

enum store_rc sqlite_ratelimit_clear(struct store *s, const char *key)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "DELETE FROM rate_limits WHERE key = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, key);
    return sq_exec(q, st, "rate limit clear") < 0 ? STORE_HARD : STORE_ONE;
}

enum store_rc sqlite_ratelimit_prune(struct store *s, int64_t before)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "DELETE FROM rate_limits WHERE window_start < ?");

    if (!st)
        return STORE_HARD;
    sqlite3_bind_int64(st, 1, before);
    return sq_exec(q, st, "rate limit prune") < 0 ? STORE_HARD : STORE_ONE;
}

enum store_rc sqlite_teamspace_get(struct store *s, const char *team_id, const char *id,
                                   struct arena *a, struct teamspace *out)
{
    struct sqlite_store *q = to_sqlite(s);
    sqlite3_stmt *st = sq_stmt(q, "SELECT id, team_id, name, created_at, updated_at FROM "
                                  "teamspaces WHERE team_id = ? AND id = ?");

    if (!st)
        return STORE_HARD;
    sq_bind_text(st, 1, team_id);
    sq_bind_text(st, 2, id);
    return sq_read_one(q, st, a, read_space, out, "teamspace get");
}
