/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * For backends only: the table of functions a backend provides and the base struct every
 * backend's connection embeds first.
 */
#ifndef CONSIGN_STORE_INT_H
#define CONSIGN_STORE_INT_H

#include "store/store.h"

struct store_ops {
    const char *name;
    /** How often store_run() runs a transaction that keeps meeting conflicts (0: a default of
     * a few, for a backend that already waits for locks before it reports one). */
    int max_attempts;
    /** Opens a connection (schema migrated); NULL with @why on failure. */
    struct store *(*open)(const struct store_cfg *cfg, char *why, size_t why_cap);
    void (*close)(struct store *s);
    int (*schema_version)(struct store *s);
    enum store_rc (*begin)(struct store *s, enum store_txn_kind kind);
    enum store_rc (*commit)(struct store *s);
    void (*rollback)(struct store *s);
#define STORE_OP(name, params, args) enum store_rc(*name) params;
#include "store/store_ops.def"
#undef STORE_OP
};

/** The base of every backend connection: must be its first member. */
struct store {
    const struct store_ops *ops;
    bool held; /* a read transaction from store_hold_read() is open */
};

/* Helpers both backends share. */
/** A LIKE pattern (escape character '\\') that finds @s anywhere, in @a; NULL for NULL. */
char *store_like_pattern(const char *s, struct arena *a);
/**
 * LIMIT and OFFSET of @page among @total rows. A page past the middle is to be read from the other
 * end with the smaller offset and then turned around (store_packages_reverse()), since the
 * database steps through every row it skips: true then.
 */
bool store_page_window(const struct store_page *page, int64_t total, int64_t *limit,
                       int64_t *offset);
/** Turns @n packages around, in place. */
void store_packages_reverse(struct package *p, size_t n);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

#endif /* CONSIGN_STORE_INT_H */
