/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The PostgreSQL connection: connecting, applying the numbered migrations under an advisory
 * lock, transactions, the per-connection cache of prepared statements, parameters, results and
 * the mapping of errors to store statuses. A write transaction is SERIALIZABLE, so that bodies
 * written for SQLite's one-writer-at-a-time (read, then write what was read) stay correct: a
 * conflict surfaces as SQLSTATE 40001 and store_run() reruns the body. A read transaction is
 * REPEATABLE READ READ ONLY: one snapshot for every read of a held request. A lost connection
 * fails the call in flight and is re-established at the next transaction, so a restarted
 * server needs no restart of consign.
 */
#include "core/compat.h"

#include <errno.h>
#include <inttypes.h>

#define LOG_COMPONENT "store.pg"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "store/pg/migrations.h"
#include "store/pg/pg_int.h"

/* The pg_advisory_lock() key under which migrations run: "consign" in ASCII. Every consign
 * process takes the same one, so servers starting together migrate once. */
#define MIGRATION_LOCK_KEY "27988542867728238"

/* How long connecting may take, unless the URL says otherwise. */
#define CONNECT_TIMEOUT_S "10"

struct pg_store *to_pg(struct store *s)
{
    if (s->ops != &store_pg_ops) {
        LOG_BUG("not a PostgreSQL store");
        abort();
    }
    return (struct pg_store *)s;
}

/* ---- parameters and columns ---- */

void pg_params_init(struct pg_params *p)
{
    p->n = 0;
    p->overflow = false;
    p->used = 0;
}

/* Room for @len bytes of a value in the scratch area; NULL (and overflow) when out of room. */
static char *scratch(struct pg_params *p, size_t len)
{
    char *at;

    if (p->used + len > sizeof(p->scratch)) {
        p->overflow = true;
        return NULL;
    }
    at = p->scratch + p->used;
    p->used += len;
    return at;
}

void pg_add_text(struct pg_params *p, const char *s)
{
    if (p->n == PG_PARAMS_MAX) {
        p->overflow = true;
        return;
    }
    p->values[p->n++] = s;
}

void pg_add_int(struct pg_params *p, int64_t v)
{
    char *at = scratch(p, 21);

    if (at)
        snprintf(at, 21, "%" PRId64, v);
    pg_add_text(p, at);
}

void pg_add_time(struct pg_params *p, int64_t ms)
{
    if (ms == TIME_UNSET)
        pg_add_text(p, NULL);
    else
        pg_add_int(p, ms);
}

void pg_add_bool(struct pg_params *p, bool v)
{
    pg_add_text(p, v ? "t" : "f");
}

void pg_add_bytes(struct pg_params *p, const uint8_t *b, size_t n)
{
    char *at = scratch(p, 2 + 2 * n + 1);

    if (at) {
        at[0] = '\\';
        at[1] = 'x';
        hex_encode(b, n, at + 2);
    }
    pg_add_text(p, at);
}

char *pg_col_text(const PGresult *r, int row, int i, struct arena *a)
{
    if (PQgetisnull(r, row, i))
        return NULL;
    return arena_strndup(a, PQgetvalue(r, row, i), (size_t)PQgetlength(r, row, i));
}

void pg_col_id(const PGresult *r, int row, int i, char out[ID_LEN + 1])
{
    size_t n = PQgetisnull(r, row, i) ? 0 : (size_t)PQgetlength(r, row, i);

    if (n > ID_LEN)
        n = ID_LEN;
    if (n)
        memcpy(out, PQgetvalue(r, row, i), n);
    out[n] = '\0';
}

int64_t pg_col_int(const PGresult *r, int row, int i)
{
    if (PQgetisnull(r, row, i))
        return 0;
    return strtoll(PQgetvalue(r, row, i), NULL, 10);
}

int64_t pg_col_time(const PGresult *r, int row, int i)
{
    return PQgetisnull(r, row, i) ? TIME_UNSET : pg_col_int(r, row, i);
}

bool pg_col_bool(const PGresult *r, int row, int i)
{
    return !PQgetisnull(r, row, i) && PQgetvalue(r, row, i)[0] == 't';
}

void pg_col_bytes(const PGresult *r, int row, int i, uint8_t *out, size_t n)
{
    const char *v = PQgetvalue(r, row, i);
    size_t len = (size_t)PQgetlength(r, row, i);

    /* bytea in text form is "\x" and hex (the server's default bytea_output). */
    if (PQgetisnull(r, row, i) || len != 2 + 2 * n || v[0] != '\\' || v[1] != 'x' ||
        !hex_decode((struct str){ v + 2, 2 * n }, out, n))
        memset(out, 0, n);
}

char *pg_array_literal(const char *const *items, size_t n, struct arena *a)
{
    size_t len = 3, k = 0;
    char *out;

    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(items[i]) + 3;
    out = arena_alloc(a, len);
    out[k++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[k++] = ',';
        out[k++] = '"';
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                out[k++] = '\\';
            out[k++] = *c;
        }
        out[k++] = '"';
    }
    out[k++] = '}';
    out[k] = '\0';
    return out;
}

/* ---- errors and the connection ---- */

/* The message of @r (else of @conn) on one line, for a log line or a reason. */
static const char *message_of(const PGresult *r, const PGconn *conn, char *buf, size_t cap)
{
    const char *m = r ? PQresultErrorMessage(r) : "";
    size_t k = 0;

    if (!m[0])
        m = PQerrorMessage(conn);
    for (; *m && k + 1 < cap; m++) {
        char c = *m == '\n' || *m == '\t' ? ' ' : *m;

        if (c != ' ' || (k > 0 && buf[k - 1] != ' '))
            buf[k++] = c;
    }
    while (k > 0 && buf[k - 1] == ' ')
        k--;
    buf[k] = '\0';
    return buf;
}

/*
 * Maps a failed result to a store status. Serialization failures and deadlocks are the normal
 * cost of running writers side by side: rerun. A statement in a transaction that an earlier
 * error aborted (a held read after a failure) is rerun too, in a transaction of its own.
 */
static enum store_rc fail(struct pg_store *q, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char msg[512];

    if (PQstatus(q->conn) != CONNECTION_OK) {
        LOG_ERR("%s: the connection to PostgreSQL is lost: %s", what,
                message_of(r, q->conn, msg, sizeof(msg)));
        return STORE_HARD;
    }
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                  strcmp(state, "25P02") == 0)) {
        LOG_DBG("%s: %s (%s): the transaction will be rerun", what,
                message_of(r, q->conn, msg, sizeof(msg)), state);
        return STORE_RETRY;
    }
    if (state && strcmp(state, "23505") == 0)
        return STORE_NONE;
    LOG_ERR("%s: %s (%s)", what, message_of(r, q->conn, msg, sizeof(msg)),
            state ? state : "no SQLSTATE");
    return STORE_HARD;
}

/* Server notices (a skipped CREATE ... IF NOT EXISTS) are for debugging, not for stderr. */
static void on_notice(void *arg, const char *message)
{
    size_t n = strlen(message);

    (void)arg;
    while (n > 0 && message[n - 1] == '\n')
        n--;
    LOG_DBG("server: %.*s", (int)n, message);
}

/* Forgets every prepared statement: a new session has none. */
static void forget_statements(struct pg_store *q)
{
    q->ncache = 0;
    q->nkcache = 0;
}

/*
 * Makes sure the connection is up before work that is not inside a transaction. A lost one is
 * re-established (its prepared statements are gone with the old session). False when the
 * server cannot be reached (logged).
 */
static bool ensure_connected(struct pg_store *q)
{
    char msg[512];

    if (PQstatus(q->conn) == CONNECTION_OK)
        return true;
    LOG_WARN("the connection to PostgreSQL was lost; reconnecting");
    PQreset(q->conn);
    forget_statements(q);
    if (PQstatus(q->conn) != CONNECTION_OK) {
        LOG_ERR("cannot reconnect to PostgreSQL: %s", message_of(NULL, q->conn, msg, sizeof(msg)));
        return false;
    }
    LOG_INFO("reconnected to PostgreSQL");
    return true;
}

/* Prepares @sql under @name; false with q->failed set when it cannot be. */
static bool prepare(struct pg_store *q, const char *name, const char *sql, int n, const Oid *types)
{
    PGresult *r = PQprepare(q->conn, name, sql, n, types);

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

        q->failed = fail(q, r, "prepare");
        /* A statement the server refuses to parse is our bug: show which. */
        if (q->failed == STORE_HARD && state && strncmp(state, "42", 2) == 0)
            LOG_BUG("cannot prepare statement: %s", sql);
        if (q->failed == STORE_NONE)
            q->failed = STORE_HARD;
        PQclear(r);
        return false;
    }
    PQclear(r);
    return true;
}

const struct pg_prepared *pg_stmt(struct pg_store *q, const char *sql)
{
    char name[12];

    /* Outside a transaction a lost connection is re-established here; it takes the
     * statements prepared on it along. */
    if (!q->in_txn && !ensure_connected(q)) {
        q->failed = STORE_HARD;
        return NULL;
    }
    for (size_t i = 0; i < q->ncache; i++)
        if (q->cache[i].sql == sql)
            return &q->cache[i].st;
    if (q->ncache == PG_CACHE_MAX) {
        LOG_BUG("statement cache full; raise PG_CACHE_MAX");
        q->failed = STORE_HARD;
        return NULL;
    }
    snprintf(name, sizeof(name), "c%zu", q->ncache);
    if (!prepare(q, name, sql, 0, NULL))
        return NULL;
    q->cache[q->ncache].sql = sql;
    memcpy(q->cache[q->ncache].st.name, name, sizeof(name));
    return &q->cache[q->ncache++].st;
}

const struct pg_prepared *pg_stmt_keyed(struct pg_store *q, uint32_t key)
{
    if (!q->in_txn)
        (void)ensure_connected(q); /* as in pg_stmt(); on failure pg_stmt_keep() fails too */
    for (size_t i = 0; i < q->nkcache; i++)
        if (q->kcache[i].key == key)
            return &q->kcache[i].st;
    return NULL;
}

const struct pg_prepared *pg_stmt_keep(struct pg_store *q, uint32_t key, const char *sql, int n,
                                       const Oid *types)
{
    char name[12];

    /* A full cache drops its oldest entry: the combinations in use are few. */
    if (q->nkcache == PG_CACHE_MAX) {
        char sql_drop[32];

        snprintf(sql_drop, sizeof(sql_drop), "DEALLOCATE %s", q->kcache[0].st.name);
        PQclear(PQexec(q->conn, sql_drop));
        memmove(&q->kcache[0], &q->kcache[1], (PG_CACHE_MAX - 1) * sizeof(q->kcache[0]));
        q->nkcache--;
    }
    snprintf(name, sizeof(name), "k%u", q->knext++);
    if (!prepare(q, name, sql, n, types))
        return NULL;
    q->kcache[q->nkcache].key = key;
    memcpy(q->kcache[q->nkcache].st.name, name, sizeof(name));
    return &q->kcache[q->nkcache++].st;
}

PGresult *pg_query(struct pg_store *q, const struct pg_prepared *stmt, const struct pg_params *p,
                   const char *what, enum store_rc *rc)
{
    PGresult *r;
    ExecStatusType st;

    if (!stmt) {
        *rc = q->failed;
        return NULL;
    }
    if (p && p->overflow) {
        LOG_BUG("%s: too many parameters", what);
        *rc = STORE_HARD;
        return NULL;
    }
    r = PQexecPrepared(q->conn, stmt->name, p ? p->n : 0, p ? p->values : NULL, NULL, NULL, 0);
    st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    *rc = fail(q, r, what);
    PQclear(r);
    return NULL;
}

enum store_rc pg_exec(struct pg_store *q, const struct pg_prepared *stmt, const struct pg_params *p,
                      int64_t *changed, const char *what)
{
    enum store_rc rc = STORE_HARD;
    PGresult *r = pg_query(q, stmt, p, what, &rc);
    int64_t n;

    if (changed)
        *changed = 0;
    if (!r)
        return rc;
    n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (changed)
        *changed = n;
    return n > 0 ? STORE_ONE : STORE_NONE;
}

enum store_rc pg_read_rows(struct pg_store *q, const struct pg_prepared *stmt,
                           const struct pg_params *p, struct arena *a, size_t elem,
                           pg_row_reader_fn *fn, void *out, size_t *n, const char *what)
{
    enum store_rc rc = STORE_HARD;
    PGresult *r = pg_query(q, stmt, p, what, &rc);
    size_t rows;
    char *arr;

    *(void **)out = NULL;
    *n = 0;
    if (!r)
        return rc;
    rows = (size_t)PQntuples(r);
    if (rows) {
        arr = arena_alloc(a, rows * elem);
        memset(arr, 0, rows * elem);
        for (size_t i = 0; i < rows; i++)
            fn(r, (int)i, a, arr + i * elem);
        *(void **)out = arr;
        *n = rows;
    }
    PQclear(r);
    return rows ? STORE_ONE : STORE_NONE;
}

enum store_rc pg_read_one(struct pg_store *q, const struct pg_prepared *stmt,
                          const struct pg_params *p, struct arena *a, pg_row_reader_fn *fn,
                          void *out, const char *what)
{
    enum store_rc rc = STORE_HARD;
    PGresult *r = pg_query(q, stmt, p, what, &rc);

    if (!r)
        return rc;
    rc = PQntuples(r) > 0 ? STORE_ONE : STORE_NONE;
    if (rc == STORE_ONE)
        fn(r, 0, a, out);
    PQclear(r);
    return rc;
}

enum store_rc pg_read_count(struct pg_store *q, const struct pg_prepared *stmt,
                            const struct pg_params *p, int64_t *out, const char *what)
{
    enum store_rc rc = STORE_HARD;
    PGresult *r = pg_query(q, stmt, p, what, &rc);

    *out = 0;
    if (!r)
        return rc;
    if (PQntuples(r) != 1 || PQnfields(r) < 1) {
        PQclear(r);
        LOG_BUG("%s: not one row of a count", what);
        return STORE_HARD;
    }
    *out = pg_col_int(r, 0, 0);
    PQclear(r);
    return STORE_ONE;
}

/* One text parameter. */
static void one_key(struct pg_params *p, const char *key)
{
    pg_params_init(p);
    pg_add_text(p, key);
}

enum store_rc pg_exec_by(struct pg_store *q, const char *sql, const char *key, const char *what)
{
    struct pg_params p;

    one_key(&p, key);
    return pg_exec(q, pg_stmt(q, sql), &p, NULL, what);
}

enum store_rc pg_read_one_by(struct pg_store *q, const char *sql, const char *key, struct arena *a,
                             pg_row_reader_fn *fn, void *out, const char *what)
{
    struct pg_params p;

    one_key(&p, key);
    return pg_read_one(q, pg_stmt(q, sql), &p, a, fn, out, what);
}

enum store_rc pg_read_rows_by(struct pg_store *q, const char *sql, const char *key, struct arena *a,
                              size_t elem, pg_row_reader_fn *fn, void *out, size_t *n,
                              const char *what)
{
    struct pg_params p;

    one_key(&p, key);
    return pg_read_rows(q, pg_stmt(q, sql), &p, a, elem, fn, out, n, what);
}

/* ---- opening and migrations ---- */

/* Runs @sql (one or more statements, no parameters) at open; false with @why on failure. */
static bool exec_sql(struct pg_store *q, const char *sql, char *why, size_t why_cap)
{
    PGresult *r = PQexec(q->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

    if (!ok)
        message_of(r, q->conn, why, why_cap);
    PQclear(r);
    return ok;
}

/* The version recorded in schema_version, or -1 (with @why). */
static int current_version(struct pg_store *q, char *why, size_t why_cap)
{
    PGresult *r = PQexec(q->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
    int v = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = (int)pg_col_int(r, 0, 0);
    else
        message_of(r, q->conn, why, why_cap);
    PQclear(r);
    return v;
}

/* Records migration @i as applied; false with @why on failure. */
static bool record_version(struct pg_store *q, size_t i, char *why, size_t why_cap)
{
    struct pg_params p;
    PGresult *r;
    bool ok;

    pg_params_init(&p);
    pg_add_int(&p, (int64_t)i + 1);
    pg_add_text(&p, pg_migrations[i].name);
    pg_add_int(&p, clock_wall_ms());
    r = PQexecParams(q->conn,
                     "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                     p.n, NULL, p.values, NULL, NULL, 0);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        message_of(r, q->conn, why, why_cap);
    PQclear(r);
    return ok;
}

/*
 * Applies what is missing in one transaction, under an advisory lock held by the session: a
 * second process waits for the lock, then finds the schema current. The lock is taken before
 * the version table is created, since two CREATE TABLE IF NOT EXISTS at once can still collide.
 */
static bool migrate(struct pg_store *q, char *why, size_t why_cap)
{
    bool ok = false;
    int v;

    if (!exec_sql(q, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", why, why_cap))
        return false;
    if (!exec_sql(q,
                  "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                  "name text NOT NULL, applied_at bigint NOT NULL)",
                  why, why_cap))
        goto unlock;
    v = current_version(q, why, why_cap);
    if (v < 0)
        goto unlock;
    if (v > (int)pg_migrations_count) {
        snprintf(why, why_cap, "the database has schema version %d, newer than this consign (%zu)",
                 v, pg_migrations_count);
        goto unlock;
    }
    if ((size_t)v < pg_migrations_count) {
        if (!exec_sql(q, "BEGIN", why, why_cap))
            goto unlock;
        for (size_t i = (size_t)v; i < pg_migrations_count; i++) {
            if (!exec_sql(q, pg_migrations[i].sql, why, why_cap) ||
                !record_version(q, i, why, why_cap)) {
                char msg[512];

                snprintf(msg, sizeof(msg), "migration %04zu %s: %s", i + 1, pg_migrations[i].name,
                         why);
                snprintf(why, why_cap, "%s", msg);
                PQclear(PQexec(q->conn, "ROLLBACK"));
                goto unlock;
            }
        }
        if (!exec_sql(q, "COMMIT", why, why_cap))
            goto unlock;
        for (size_t i = (size_t)v; i < pg_migrations_count; i++)
            LOG_INFO("applied migration %04zu %s", i + 1, pg_migrations[i].name);
    }
    q->schema_version = (int)pg_migrations_count;
    ok = true;
unlock:
    PQclear(PQexec(q->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")"));
    return ok;
}

static void pg_close(struct store *s)
{
    struct pg_store *q = to_pg(s);

    PQfinish(q->conn);
    free(q);
}

static struct store *pg_open(const struct store_cfg *cfg, char *why, size_t why_cap)
{
    /* The URL comes last so that what it says wins over these defaults. */
    static const char *const keys[] = { "fallback_application_name", "connect_timeout",
                                        "client_encoding", "dbname", NULL };
    const char *values[] = { "consign", CONNECT_TIMEOUT_S, "UTF8", cfg->database_url, NULL };
    struct pg_store *q = xcalloc(1, sizeof(*q));

    q->base.ops = &store_pg_ops;
    q->conn = PQconnectdbParams(keys, values, 1);
    if (!q->conn) {
        snprintf(why, why_cap, "out of memory connecting to PostgreSQL");
        goto fail;
    }
    if (PQstatus(q->conn) != CONNECTION_OK) {
        char msg[512];

        snprintf(why, why_cap, "cannot connect to PostgreSQL: %s",
                 message_of(NULL, q->conn, msg, sizeof(msg)));
        goto fail;
    }
    PQsetNoticeProcessor(q->conn, on_notice, NULL);
    if (!migrate(q, why, why_cap))
        goto fail;
    return &q->base;
fail:
    PQfinish(q->conn);
    free(q);
    return NULL;
}

static int pg_schema_version(struct store *s)
{
    return to_pg(s)->schema_version;
}

/* ---- transactions ---- */

static enum store_rc pg_begin(struct store *s, enum store_txn_kind kind)
{
    struct pg_store *q = to_pg(s);
    PGresult *r;
    enum store_rc rc;

    if (q->in_txn) {
        LOG_BUG("begin inside a transaction");
        return STORE_HARD;
    }
    for (int attempt = 0;; attempt++) {
        if (!ensure_connected(q))
            return STORE_HARD;
        r = PQexec(q->conn, kind == STORE_WRITE
                                ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        /* A connection found dead at BEGIN had nothing in flight: connect again, once. */
        if (PQresultStatus(r) == PGRES_COMMAND_OK || PQstatus(q->conn) == CONNECTION_OK ||
            attempt > 0)
            break;
        PQclear(r);
    }
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        q->in_txn = true;
        q->in_write = kind == STORE_WRITE;
        rc = STORE_ONE;
    } else {
        rc = fail(q, r, "begin");
    }
    PQclear(r);
    return rc;
}

static enum store_rc pg_commit(struct store *s)
{
    struct pg_store *q = to_pg(s);
    PGresult *r = PQexec(q->conn, "COMMIT");
    enum store_rc rc = STORE_ONE;

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = fail(q, r, "commit");
        if (rc == STORE_NONE)
            rc = STORE_HARD; /* a deferred unique check: nothing was committed */
    } else if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        /* An error earlier in the transaction aborted it (and was logged then). A write whose
         * body went on regardless lost its writes: our bug. A held read just ends. */
        if (q->in_write)
            LOG_BUG("commit of a failed transaction: it was rolled back");
        rc = STORE_HARD;
    }
    PQclear(r);
    q->in_txn = PQtransactionStatus(q->conn) != PQTRANS_IDLE &&
                PQtransactionStatus(q->conn) != PQTRANS_UNKNOWN;
    return rc;
}

static void pg_rollback(struct store *s)
{
    struct pg_store *q = to_pg(s);
    PGTransactionStatusType ts = PQtransactionStatus(q->conn);

    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(PQexec(q->conn, "ROLLBACK"));
    q->in_txn = false;
}

#define STORE_OP(name, params, args) enum store_rc pg_##name params;
#include "store/store_ops.def"
#undef STORE_OP

/* A serialization failure is reported at once, without waiting for the other transaction, so
 * a conflict is worth more, shorter attempts than SQLite's busy waits (store_run() pauses
 * between them, about 3.5 s in all). */
#define PG_MAX_ATTEMPTS 20

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .max_attempts = PG_MAX_ATTEMPTS,
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
#define STORE_OP(name, params, args) .name = pg_##name,
#include "store/store_ops.def"
#undef STORE_OP
};
