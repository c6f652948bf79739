/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The PostgreSQL schema migrations, embedded at build time from migrations/NNNN_name.sql by
 * tools/embed-sql.py. Migration i (0-based) brings the schema to version i + 1. The numbering is
 * the PostgreSQL schema's own, independent of SQLite's.
 */
#ifndef CONSIGN_STORE_PG_MIGRATIONS_H
#define CONSIGN_STORE_PG_MIGRATIONS_H

#include <stddef.h>

/* The same record as SQLite's migrations.h: the generator writes one shape for both. */
struct sql_migration {
    const char *name;
    const char *sql;
};

extern const struct sql_migration pg_migrations[];
extern const size_t pg_migrations_count;

#endif
