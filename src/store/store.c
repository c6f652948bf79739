/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Backend selection, the transaction runner and the public calls, each forwarding to the
 * backend's table. Selection is by configuration from a static table, not by loading plugins.
 */
#include "core/compat.h"
#include "store/store.h"

#include <unistd.h>

#define LOG_COMPONENT "store"
#include "core/log.h"
#include "store/store_int.h"

/* Attempts of one transaction before giving up on a busy database, unless the backend says
 * otherwise. Each may already have waited out the backend's own busy timeout, so a few are
 * plenty. */
#define STORE_MAX_ATTEMPTS 5

/* clang-format off */
static const char *const role_names[] = {
    [ROLE_OWNER] = "owner",   [ROLE_ADMIN] = "admin", [ROLE_MEMBER] = "member",
    [ROLE_GUEST] = "guest", [ROLE_INTEGRATION_MANAGER] = "integration_manager",
};
/* clang-format on */

const char *role_name(enum role r)
{
    return (size_t)r < ARRAY_LEN(role_names) ? role_names[r] : NULL;
}

enum role role_parse(const char *name)
{
    for (size_t i = 1; i < ARRAY_LEN(role_names); i++)
        if (name && strcmp(name, role_names[i]) == 0)
            return (enum role)i;
    return 0;
}

static const char *const state_names[] = {
    [PACKAGE_NEW] = "new",
    [PACKAGE_FINALIZED] = "finalized",
    [PACKAGE_EXPIRED] = "expired",
    [PACKAGE_ARCHIVED] = "archived",
};

const char *package_state_name(enum package_state st)
{
    return (size_t)st < ARRAY_LEN(state_names) ? state_names[st] : NULL;
}

enum package_state package_state_parse(struct str name)
{
    for (size_t i = 1; i < ARRAY_LEN(state_names); i++)
        if (str_eq_cstr(name, state_names[i]))
            return (enum package_state)i;
    return 0;
}

static const char *const access_level_names[] = {
    [PORTAL_REGULAR] = "regular",
    [PORTAL_PRIVATE] = "private",
};

const char *portal_access_level_name(enum portal_access_level l)
{
    return (size_t)l < ARRAY_LEN(access_level_names) ? access_level_names[l] : NULL;
}

enum portal_access_level portal_access_level_parse(const char *name)
{
    for (size_t i = 1; i < ARRAY_LEN(access_level_names); i++)
        if (name && strcmp(name, access_level_names[i]) == 0)
            return (enum portal_access_level)i;
    return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *const job_state_names[] = {
    [JOB_QUEUED] = "queued",
    [JOB_DONE] = "done",
    [JOB_FAILED] = "failed",
};

const char *job_state_name(enum job_state st)
{
    return (size_t)st < ARRAY_LEN(job_state_names) ? job_state_names[st] : NULL;
}

enum job_state job_state_parse(const char *name)
{
    for (size_t i = 1; i < ARRAY_LEN(job_state_names); i++)
        if (name && strcmp(name, job_state_names[i]) == 0)
            return (enum job_state)i;
    return 0;
}

char *store_like_pattern(const char *s, struct arena *a)
{
    size_t n, k = 0;
    char *out;

    if (!s)
        return NULL;
    n = strlen(s);
    out = arena_alloc(a, 2 * n + 3);
    out[k++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
            out[k++] = '\\';
        out[k++] = s[i];
    }
    out[k++] = '%';
    out[k] = '\0';
    return out;
}

bool store_page_window(const struct store_page *page, int64_t total, int64_t *limit,
                       int64_t *offset)
{
    *offset = page->limit > 0 ? (page->page - 1) * page->limit : 0;
    if (page->limit > 0 && *offset<total && * offset> total / 2) {
        int64_t end = *offset + page->limit < total ? *offset + page->limit : total;

        *limit = end - *offset;
        *offset = total - end;
        return true;
    }
    *limit = page->limit > 0 ? page->limit : -1;
    return false;
}

void store_packages_reverse(struct package *p, size_t n)
{
    for (size_t i = 0, k = n ? n - 1 : 0; i < k; i++, k--) {
        struct package t = p[i];

        p[i] = p[k];
        p[k] = t;
    }
}

struct store *store_open(const struct store_cfg *cfg, char *why, size_t why_cap)
{
    const char *url = cfg->database_url;

    if (!url || !url[0])
        return store_sqlite_ops.open(cfg, why, why_cap);
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        return store_pg_ops.open(cfg, why, why_cap);
    /* Not echoed: a URL may carry a password. */
    snprintf(why, why_cap,
             "the database URL must start with postgres:// or postgresql:// (leave it unset for "
             "SQLite in the data directory)");
    return NULL;
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

const char *store_backend_name(const struct store *s)
{
    return s->ops->name;
}

int store_schema_version(struct store *s)
{
    return s->ops->schema_version(s);
}

/*
 * Waits before attempt @attempt (from 1): a growing pause, 2 ms doubling up to 256 ms, of which
 * a random part is left out, so that transactions that met each other do not meet again in
 * step.
 */
static void pause_before(int attempt)
{
    useconds_t full = (useconds_t)(1000 << (attempt < 8 ? attempt : 8));
    uint16_t r;

    rand_bytes(&r, sizeof(r));
    usleep(full / 2 + (useconds_t)r % (full / 2 + 1));
}

enum store_rc store_run(struct store *s, const char *label, enum store_txn_kind kind,
                        store_txn_fn *fn, void *ctx)
{
    int attempts = s->ops->max_attempts > 0 ? s->ops->max_attempts : STORE_MAX_ATTEMPTS;
    enum store_rc rc = STORE_RETRY;

    if (s->held && kind == STORE_READ) {
        rc = fn(s, ctx);
        if (rc != STORE_RETRY)
            return rc;
        /* Run again below in a transaction of its own. */
    }
    store_unhold(s);
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0)
            pause_before(attempt);
        rc = s->ops->begin(s, kind);
        if (rc == STORE_RETRY)
            continue;
        if (rc < 0)
            return rc;
        rc = fn(s, ctx);
        if (rc < 0) {
            s->ops->rollback(s);
            if (rc == STORE_RETRY)
                continue;
            return rc;
        }
        enum store_rc crc = s->ops->commit(s);

        if (crc == STORE_RETRY) {
            s->ops->rollback(s);
            continue;
        }
        if (crc < 0) {
            s->ops->rollback(s);
            return crc;
        }
        return rc;
    }
    LOG_WARN("transaction '%s' gave up after %d busy attempts", label, attempts);
    return STORE_RETRY;
}

bool store_hold_read(struct store *s)
{
    if (!s->held)
        s->held = s->ops->begin(s, STORE_READ) == STORE_ONE;
    return s->held;
}

void store_unhold(struct store *s)
{
    if (!s->held)
        return;
    /* Nothing was written: a failed commit loses nothing, and the rollback ends it. */
    if (s->ops->commit(s) < 0)
        s->ops->rollback(s);
    s->held = false;
}

#define STORE_OP(name, params, args)                                                               \
    enum store_rc store_##name params                                                              \
    {                                                                                              \
        return s->ops->name args;                                                                  \
    }
#include "store/store_ops.def"
#undef STORE_OP
