/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SQLite connection: opening in WAL mode, applying the numbered migrations, transactions
 * and the per-connection statement cache. A write transaction takes the write lock at BEGIN
 * (BEGIN IMMEDIATE) so that a busy database is met, and waited for, before any work is done.
 * synchronous=FULL: a commit that returned is on disk, because a 200 means durable.
 */
#include "core/compat.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#define LOG_COMPONENT "store.sqlite"
#include "core/clock.h"
#include "core/log.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_int.h"

/* How long one statement waits for a lock held by another connection or process. */
#define BUSY_TIMEOUT_MS 5000

struct sqlite_store *to_sqlite(struct store *s)
{
    if (s->ops != &store_sqlite_ops) {
        LOG_BUG("not a SQLite store");
        abort();
    }
    return (struct sqlite_store *)s;
}

sqlite3_stmt *sq_stmt(struct sqlite_store *q, const char *sql)
{
    sqlite3_stmt *st = NULL;

    for (size_t i = 0; i < q->ncache; i++) {
        if (q->cache[i].sql == sql) {
            st = q->cache[i].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        LOG_BUG("cannot prepare statement: %s: %s", sqlite3_errmsg(q->db), sql);
        return NULL;
    }
    if (q->ncache < SQL_CACHE_MAX) {
        q->cache[q->ncache].sql = sql;
        q->cache[q->ncache].st = st;
        q->ncache++;
    } else {
        LOG_BUG("statement cache full; raise SQL_CACHE_MAX");
    }
    return st;
}

sqlite3_stmt *sq_stmt_keyed(struct sqlite_store *q, uint32_t key)
{
    for (size_t i = 0; i < q->nkcache; i++) {
        if (q->kcache[i].key == key) {
            sqlite3_reset(q->kcache[i].st);
            sqlite3_clear_bindings(q->kcache[i].st);
            return q->kcache[i].st;
        }
    }
    return NULL;
}

sqlite3_stmt *sq_stmt_keep(struct sqlite_store *q, uint32_t key, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        LOG_BUG("cannot prepare statement: %s: %s", sqlite3_errmsg(q->db), sql);
        return NULL;
    }
    /* A full cache drops its oldest entry: the combinations in use are few. */
    if (q->nkcache == SQL_CACHE_MAX) {
        sqlite3_finalize(q->kcache[0].st);
        memmove(&q->kcache[0], &q->kcache[1], (SQL_CACHE_MAX - 1) * sizeof(q->kcache[0]));
        q->nkcache--;
    }
    q->kcache[q->nkcache].key = key;
    q->kcache[q->nkcache].st = st;
    q->nkcache++;
    return st;
}

enum store_rc sq_fail(struct sqlite_store *q, int rc, const char *what)
{
    int prim = rc & 0xff;

    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return STORE_RETRY;
    LOG_ERR("%s: %s (%d)", what, sqlite3_errmsg(q->db), rc);
    return STORE_HARD;
}

void sq_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

void sq_bind_time(sqlite3_stmt *st, int idx, int64_t ms)
{
    if (ms == TIME_UNSET)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_int64(st, idx, ms);
}

char *sq_text(sqlite3_stmt *st, int i, struct arena *a)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return t ? arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

void sq_id(sqlite3_stmt *st, int i, char out[ID_LEN + 1])
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;

    if (n > ID_LEN)
        n = ID_LEN;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

int64_t sq_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? TIME_UNSET : sqlite3_column_int64(st, i);
}

enum store_rc sq_exec(struct sqlite_store *q, sqlite3_stmt *st, const char *what)
{
    int rc;

    if (!st)
        return STORE_HARD;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return sqlite3_changes(q->db) > 0 ? STORE_ONE : STORE_NONE;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return STORE_NONE;
    return sq_fail(q, rc, what);
}

/* Appends one zeroed element to an arena array that doubles as it fills. */
void *sq_push(struct arena *a, void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void *grown = arena_alloc(a, ncap * elem);

        if (*n)
            memcpy(grown, *arr, *n * elem);
        *arr = grown;
        *cap = ncap;
    }
    return memset((char *)*arr + (*n)++ * elem, 0, elem);
}

/* Steps a bound SELECT to its end, reading each row into a new element of an arena array. */
enum store_rc sq_read_rows(struct sqlite_store *q, sqlite3_stmt *st, struct arena *a, size_t elem,
                           sq_row_reader_fn *fn, void *out, size_t *n, const char *what)
{
    size_t cap = 0;
    int rc;

    *(void **)out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(st, a, sq_push(a, (void **)out, n, &cap, elem));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(q, rc, what);
    return *n ? STORE_ONE : STORE_NONE;
}

enum store_rc sq_read_count(struct sqlite_store *q, sqlite3_stmt *st, int64_t *out,
                            const char *what)
{
    int rc = sqlite3_step(st);

    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_ONE : sq_fail(q, rc, what);
}

enum store_rc sq_read_one(struct sqlite_store *q, sqlite3_stmt *st, struct arena *a,
                          sq_row_reader_fn *fn, void *out, const char *what)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        fn(st, a, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_ONE;
    return rc == SQLITE_DONE ? STORE_NONE : sq_fail(q, rc, what);
}

static bool exec_sql(struct sqlite_store *q, const char *sql, char *why, size_t why_cap)
{
    char *msg = NULL;

    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, why_cap, "%s", msg ? msg : sqlite3_errmsg(q->db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

static int current_version(struct sqlite_store *q)
{
    sqlite3_stmt *st = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(q->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Applies what is missing in one IMMEDIATE transaction: a second process waits, then sees it. */
static bool migrate(struct sqlite_store *q, char *why, size_t why_cap)
{
    int v;

    if (!exec_sql(q,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                  "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                  why, why_cap))
        return false;
    if (!exec_sql(q, "BEGIN IMMEDIATE", why, why_cap))
        return false;
    v = current_version(q);
    if (v < 0) {
        snprintf(why, why_cap, "cannot read the schema version: %s", sqlite3_errmsg(q->db));
        goto fail;
    }
    if (v > (int)sqlite_migrations_count) {
        snprintf(why, why_cap, "the database has schema version %d, newer than this consign (%zu)",
                 v, sqlite_migrations_count);
        goto fail;
    }
    for (size_t i = (size_t)v; i < sqlite_migrations_count; i++) {
        char sql[256];

        if (!exec_sql(q, sqlite_migrations[i].sql, why, why_cap))
            goto fail;
        snprintf(
            sql, sizeof(sql),
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%zu, '%s', %lld)",
            i + 1, sqlite_migrations[i].name, (long long)clock_wall_ms());
        if (!exec_sql(q, sql, why, why_cap))
            goto fail;
        LOG_INFO("applied migration %04zu %s", i + 1, sqlite_migrations[i].name);
    }
    if (!exec_sql(q, "COMMIT", why, why_cap))
        goto fail;
    q->schema_version = (int)sqlite_migrations_count;
    return true;
fail:
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    return false;
}

static void sqlite_close(struct store *s)
{
    struct sqlite_store *q = to_sqlite(s);

    for (size_t i = 0; i < q->ncache; i++)
        sqlite3_finalize(q->cache[i].st);
    for (size_t i = 0; i < q->nkcache; i++)
        sqlite3_finalize(q->kcache[i].st);
    sqlite3_close(q->db);
    free(q);
}

/* SQLite's memory statistics take a global mutex on every allocation; consign never reads
 * them, and with a connection per thread that mutex was contended on every request. */
static void sqlite_configure(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static struct store *sqlite_open(const struct store_cfg *cfg, char *why, size_t why_cap)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct sqlite_store *q = xcalloc(1, sizeof(*q));
    char *path = NULL;
    int rc;

    pthread_once(&once, sqlite_configure);
    q->base.ops = &store_sqlite_ops;
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_cap, "cannot create data directory '%s': %s", cfg->data_dir,
                 strerror(errno));
        goto fail;
    }
    path = xasprintf("%s/consign.db", cfg->data_dir);
    rc = sqlite3_open_v2(path, &q->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, why_cap, "cannot open '%s': %s", path,
                 q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(q->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(q->db, 1);
    if (!exec_sql(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                  why, why_cap) ||
        !migrate(q, why, why_cap))
        goto fail;
    free(path);
    return &q->base;
fail:
    free(path);
    sqlite3_close(q->db);
    free(q);
    return NULL;
}

static int sqlite_schema_version(struct store *s)
{
    return to_sqlite(s)->schema_version;
}

/* Runs one of the prepared transaction statements (parsing "BEGIN" on every request showed). */
static int run_cached(struct sqlite_store *q, const char *sql)
{
    sqlite3_stmt *st = sq_stmt(q, sql);
    int rc;

    if (!st)
        return SQLITE_ERROR;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static enum store_rc sqlite_begin(struct store *s, enum store_txn_kind kind)
{
    struct sqlite_store *q = to_sqlite(s);
    int rc = run_cached(q, kind == STORE_WRITE ? "BEGIN IMMEDIATE" : "BEGIN");

    return rc == SQLITE_OK ? STORE_ONE : sq_fail(q, rc, "begin");
}

static enum store_rc sqlite_commit(struct store *s)
{
    struct sqlite_store *q = to_sqlite(s);
    int rc = run_cached(q, "COMMIT");

    return rc == SQLITE_OK ? STORE_ONE : sq_fail(q, rc, "commit");
}

static void sqlite_rollback(struct store *s)
{
    struct sqlite_store *q = to_sqlite(s);

    if (!sqlite3_get_autocommit(q->db))
        run_cached(q, "ROLLBACK");
}

#define STORE_OP(name, params, args) enum store_rc sqlite_##name params;
#include "store/store_ops.def"
#undef STORE_OP

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
#define STORE_OP(name, params, args) .name = sqlite_##name,
#include "store/store_ops.def"
#undef STORE_OP
};
