/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Inside the SQLite backend: the connection, statement cache and row helpers. */
#ifndef CONSIGN_STORE_SQLITE_INT_H
#define CONSIGN_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store_int.h"

#define SQL_CACHE_MAX 128

struct sqlite_store {
    struct store base; /* must stay first */
    sqlite3 *db;
    int schema_version;
    struct {
        const char *sql; /* the address of a string literal is the key */
        sqlite3_stmt *st;
    } cache[SQL_CACHE_MAX];
    size_t ncache;
    struct {
        uint32_t key; /* a statement assembled from fixed parts, named by which parts */
        sqlite3_stmt *st;
    } kcache[SQL_CACHE_MAX];
    size_t nkcache;
};

/** Downcast; a handle of another backend here is our bug. */
struct sqlite_store *to_sqlite(struct store *s);

/**
 * The prepared statement for @sql (a string literal), reset and with its bindings cleared.
 * NULL when it does not compile (logged): our bug.
 */
sqlite3_stmt *sq_stmt(struct sqlite_store *q, const char *sql);
/**
 * The prepared statement cached under @key (reset, bindings cleared), or NULL when there is none
 * yet: the caller then assembles the text and calls sq_stmt_keep().
 */
sqlite3_stmt *sq_stmt_keyed(struct sqlite_store *q, uint32_t key);
/** Prepares @sql and caches it under @key; NULL when it does not compile (logged). */
sqlite3_stmt *sq_stmt_keep(struct sqlite_store *q, uint32_t key, const char *sql);
/** Maps a result code of a step to a store status, logging what is not a plain conflict. */
enum store_rc sq_fail(struct sqlite_store *q, int rc, const char *what);
/** Binds @s as text (NULL binds SQL NULL). */
void sq_bind_text(sqlite3_stmt *st, int idx, const char *s);
/** Binds a time: TIME_UNSET binds SQL NULL. */
void sq_bind_time(sqlite3_stmt *st, int idx, int64_t ms);
/** Column @i as a string in @a; NULL for SQL NULL. */
char *sq_text(sqlite3_stmt *st, int i, struct arena *a);
/** Column @i into a fixed id buffer (empty for NULL). */
void sq_id(sqlite3_stmt *st, int i, char out[ID_LEN + 1]);
/** Column @i as a time: SQL NULL gives TIME_UNSET. */
int64_t sq_time(sqlite3_stmt *st, int i);
/** Steps a statement that writes; STORE_ONE when a row changed, STORE_NONE when none or on a
 * unique-key conflict. */
enum store_rc sq_exec(struct sqlite_store *q, sqlite3_stmt *st, const char *what);

/** Appends one zeroed element of @elem bytes to an arena array that doubles as it fills. */
void *sq_push(struct arena *a, void **arr, size_t *n, size_t *cap, size_t elem);
/** Fills one record from the current row of a statement. */
typedef void sq_row_reader_fn(sqlite3_stmt *st, struct arena *a, void *record);
/**
 * Steps a bound SELECT to its end, reading each row with @fn into a new element of an arena
 * array (*@out, of @elem-byte records; @out is a pointer to the array pointer) of *@n records.
 */
enum store_rc sq_read_rows(struct sqlite_store *q, sqlite3_stmt *st, struct arena *a, size_t elem,
                           sq_row_reader_fn *fn, void *out, size_t *n, const char *what);

/**
 * Steps a bound SELECT that gives at most one row and reads it with @fn into @out: STORE_ONE,
 * or STORE_NONE when there is no row.
 */
/* Steps a bound SELECT of one integer (a count) into *@out, then resets it. */
enum store_rc sq_read_count(struct sqlite_store *q, sqlite3_stmt *st, int64_t *out,
                            const char *what);

enum store_rc sq_read_one(struct sqlite_store *q, sqlite3_stmt *st, struct arena *a,
                          sq_row_reader_fn *fn, void *out, const char *what);

#endif /* CONSIGN_STORE_SQLITE_INT_H */
