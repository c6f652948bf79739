/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SQLite schema migrations, embedded at build time from migrations/NNNN_name.sql by
 * tools/embed-sql.py. Migration i (0-based) brings the schema to version i + 1.
 */
#ifndef CONSIGN_STORE_SQLITE_MIGRATIONS_H
#define CONSIGN_STORE_SQLITE_MIGRATIONS_H

#include <stddef.h>

struct sql_migration {
    const char *name;
    const char *sql;
};

extern const struct sql_migration sqlite_migrations[];
extern const size_t sqlite_migrations_count;

#endif
