/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Inside the PostgreSQL backend: the connection, its cache of prepared statements, parameters
 * and result helpers. Every statement is prepared once per connection and executed with text
 * parameters; none is ever assembled from input.
 * Threads: a struct pg_store is one connection, used by one thread at a time.
 */
#ifndef CONSIGN_STORE_PG_INT_H
#define CONSIGN_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/store_int.h"

#define PG_CACHE_MAX 128
#define PG_PARAMS_MAX 48

/** A statement prepared on the connection, known to the server by this name. */
struct pg_prepared {
    char name[12];
};

struct pg_store {
    struct store base; /* must stay first */
    PGconn *conn;
    int schema_version;
    bool in_txn;          /* between a begin and its commit or rollback */
    bool in_write;        /* and that transaction is a STORE_WRITE one */
    enum store_rc failed; /* why the last pg_stmt*() gave NULL */
    struct {
        const char *sql; /* the address of a string literal is the key */
        struct pg_prepared st;
    } cache[PG_CACHE_MAX];
    size_t ncache;
    struct {
        uint32_t key; /* a statement assembled from fixed parts, named by which parts */
        struct pg_prepared st;
    } kcache[PG_CACHE_MAX];
    size_t nkcache;
    unsigned knext; /* numbers the names of keyed statements */
};

/** Downcast; a handle of another backend here is our bug. */
struct pg_store *to_pg(struct store *s);

/**
 * The prepared statement for @sql (a string literal), prepared on first use with
 * the parameter types the server infers. NULL when it cannot be prepared (q->failed says why:
 * STORE_HARD for our bug or a lost connection, STORE_RETRY in a transaction that must rerun);
 * every pg_exec/pg_read* given NULL returns q->failed.
 */
const struct pg_prepared *pg_stmt(struct pg_store *q, const char *sql);
/** The statement cached under @key, or NULL when there is none yet: the caller then
 * assembles the text and calls pg_stmt_keep(). */
const struct pg_prepared *pg_stmt_keyed(struct pg_store *q, uint32_t key);
/** Prepares @sql with @n parameters of the given type OIDs and caches it under @key; NULL as for
 * pg_stmt(). The oldest keyed statement is dropped when the cache is full. */
const struct pg_prepared *pg_stmt_keep(struct pg_store *q, uint32_t key, const char *sql, int n,
                                       const Oid *types);

/** The text parameters of one execution. Values are borrowed until it has run. */
struct pg_params {
    int n;
    bool overflow; /* more parameters than fit: our bug, refused at execution */
    const char *values[PG_PARAMS_MAX];
    char scratch[1024]; /* numbers and bytea in text form */
    size_t used;
};

/** Empties @p. */
void pg_params_init(struct pg_params *p);
/** Adds @s as text; NULL adds SQL NULL. */
void pg_add_text(struct pg_params *p, const char *s);
void pg_add_int(struct pg_params *p, int64_t v);
/** Adds a time: TIME_UNSET adds SQL NULL. */
void pg_add_time(struct pg_params *p, int64_t ms);
void pg_add_bool(struct pg_params *p, bool v);
/** Adds @n bytes as a bytea. */
void pg_add_bytes(struct pg_params *p, const uint8_t *b, size_t n);

/** Column @i of row @row as a string in @a; NULL for SQL NULL. */
char *pg_col_text(const PGresult *r, int row, int i, struct arena *a);
/** Column @i into a fixed id buffer (empty for NULL). */
void pg_col_id(const PGresult *r, int row, int i, char out[ID_LEN + 1]);
/** Column @i as an integer (0 for NULL). */
int64_t pg_col_int(const PGresult *r, int row, int i);
/** Column @i as a time: SQL NULL gives TIME_UNSET. */
int64_t pg_col_time(const PGresult *r, int row, int i);
bool pg_col_bool(const PGresult *r, int row, int i);
/** Column @i, a bytea of exactly @n bytes, into @out (zeros when it is anything else). */
void pg_col_bytes(const PGresult *r, int row, int i, uint8_t *out, size_t n);

/**
 * Runs @stmt with @p (NULL: none). The result when it succeeded (the
 * caller PQclear()s it); NULL with *@rc set when it failed: STORE_RETRY on a serialization
 * failure or deadlock, STORE_NONE on a unique-key conflict, STORE_HARD otherwise (logged).
 */
PGresult *pg_query(struct pg_store *q, const struct pg_prepared *stmt, const struct pg_params *p,
                   const char *what, enum store_rc *rc);
/**
 * Runs a statement that writes: STORE_ONE when it changed a row, STORE_NONE when none or on a
 * unique-key conflict. The number of rows changed goes to *@changed unless it is NULL.
 */
enum store_rc pg_exec(struct pg_store *q, const struct pg_prepared *stmt, const struct pg_params *p,
                      int64_t *changed, const char *what);

/** Fills one record from row @row of a result. */
typedef void pg_row_reader_fn(const PGresult *r, int row, struct arena *a, void *record);
/**
 * Runs a SELECT and reads each row with @fn into a new arena array (*@out, of @elem-byte
 * records, zeroed first; @out is a pointer to the array pointer) of *@n records. STORE_ONE, or
 * STORE_NONE when there are no rows.
 */
enum store_rc pg_read_rows(struct pg_store *q, const struct pg_prepared *stmt,
                           const struct pg_params *p, struct arena *a, size_t elem,
                           pg_row_reader_fn *fn, void *out, size_t *n, const char *what);
/** Runs a SELECT that gives at most one row and reads it with @fn into @out: STORE_ONE, or
 * STORE_NONE when there is no row. */
enum store_rc pg_read_one(struct pg_store *q, const struct pg_prepared *stmt,
                          const struct pg_params *p, struct arena *a, pg_row_reader_fn *fn,
                          void *out, const char *what);
/** Runs a SELECT of one integer (a count) into *@out. */
enum store_rc pg_read_count(struct pg_store *q, const struct pg_prepared *stmt,
                            const struct pg_params *p, int64_t *out, const char *what);

/* The calls above for the common statement of one text parameter, @key, given as its SQL. */
enum store_rc pg_exec_by(struct pg_store *q, const char *sql, const char *key, const char *what);
enum store_rc pg_read_one_by(struct pg_store *q, const char *sql, const char *key, struct arena *a,
                             pg_row_reader_fn *fn, void *out, const char *what);
enum store_rc pg_read_rows_by(struct pg_store *q, const char *sql, const char *key, struct arena *a,
                              size_t elem, pg_row_reader_fn *fn, void *out, size_t *n,
                              const char *what);

/** A text[] literal of @n strings, each quoted, in @a: a list passed as one parameter. */
char *pg_array_literal(const char *const *items, size_t n, struct arena *a);

#endif /* CONSIGN_STORE_PG_INT_H */
