/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The dispatcher and the helpers every handler uses: the per-thread store connection, body
 * parsing, paging, ids and the replies to store failures.
 */
#include "core/compat.h"
#include "api/api.h"

#include <pthread.h>

#define LOG_COMPONENT "api"
#include "core/clock.h"
#include "core/log.h"

static pthread_key_t store_key;
static pthread_once_t store_key_once = PTHREAD_ONCE_INIT;

static void store_key_destroy(void *p)
{
    store_close(p);
}

static void store_key_init(void)
{
    if (pthread_key_create(&store_key, store_key_destroy) != 0)
        abort();
}

struct store *api_store(const struct api_env *env)
{
    struct store *s;
    char why[256];

    pthread_once(&store_key_once, store_key_init);
    s = pthread_getspecific(store_key);
    if (s)
        return s;
    s = store_open(&env->store_cfg, why, sizeof(why));
    if (!s) {
        LOG_ERR("cannot open the database: %s", why);
        return NULL;
    }
    pthread_setspecific(store_key, s);
    return s;
}

void api_store_release(void)
{
    pthread_once(&store_key_once, store_key_init);
    store_close(pthread_getspecific(store_key));
    pthread_setspecific(store_key, NULL);
}

bool api_store_or_reply(struct req *rq, struct store **out)
{
    *out = api_store(api_env(rq));
    if (!*out) {
        resp_error(rq, ERR_STORE_UNAVAILABLE, NULL);
        return false;
    }
    return true;
}

void api_reply_store(struct req *rq, enum store_rc rc)
{
    if (rc == STORE_RETRY)
        resp_error(rq, ERR_STORE_UNAVAILABLE, NULL);
    else
        resp_error(rq, ERR_INTERNAL, "database failure");
}

bool api_body_or_reply(struct req *rq, const struct jspec *spec, json_t **doc)
{
    char why[256];

    *doc = jspec_load(rq->body, why, sizeof(why));
    if (!*doc) {
        resp_error(rq, ERR_INVALID_JSON, "%s", why);
        return false;
    }
    if (jspec_parse(*doc, spec, &rq->arena, why, sizeof(why)) != ERR_OK) {
        resp_error(rq, ERR_INVALID_FIELD, "%s", why);
        json_decref(*doc);
        *doc = NULL;
        return false;
    }
    return true;
}

bool api_team_or_reply(struct req *rq, enum team_action action, struct membership *m)
{
    struct store *s;
    enum err e;

    if (!api_store_or_reply(rq, &s))
        return false;
    e = auth_team_access(s, api_principal(rq), req_param(rq, "team_id"), action, &rq->arena, m);
    if (e == ERR_OK)
        return true;
    if (e == ERR_NOT_FOUND)
        resp_error(rq, e, "no such team");
    else if (e == ERR_FORBIDDEN)
        resp_error(rq, e, "the role '%s' does not allow this", role_name(m->role));
    else
        resp_error(rq, e, NULL);
    return false;
}

static bool query_int_or_reply(struct req *rq, const char *name, int64_t lo, int64_t hi,
                               int64_t *out)
{
    struct str v;
    uint64_t n;

    if (!req_query(rq, name, &v))
        return true;
    if (!str_to_u64(str_trim(v), (uint64_t)hi, &n) || (int64_t)n < lo) {
        resp_error(rq, ERR_INVALID_QUERY, "%s: must be an integer from %lld to %lld", name,
                   (long long)lo, (long long)hi);
        return false;
    }
    *out = (int64_t)n;
    return true;
}

bool api_page_or_reply(struct req *rq, int64_t max_limit, struct store_page *page)
{
    page->page = 1;
    page->limit = max_limit;
    return query_int_or_reply(rq, "page", 1, 1000000000, &page->page) &&
           query_int_or_reply(rq, "limit", 1, max_limit, &page->limit);
}

bool api_sort_or_reply(struct req *rq, const char *const *names, size_t n, unsigned *sort,
                       bool *desc)
{
    struct str v;
    struct sbuf sb;

    if (!req_query(rq, "sort", &v) || v.len == 0)
        return true;
    *desc = v.ptr[0] == '-';
    if (*desc || v.ptr[0] == '+')
        v.ptr++, v.len--;
    for (size_t i = 0; i < n; i++) {
        if (str_eq_cstr(v, names[i])) {
            *sort = (unsigned)i;
            return true;
        }
    }
    sbuf_init(&sb, 1024);
    for (size_t i = 0; i < n; i++)
        sbuf_addf(&sb, "%s%s", i ? ", " : "", names[i]);
    resp_error(rq, ERR_INVALID_QUERY, "sort: must be one of %s, each optionally preceded by '-'",
               sb.overflow ? "the documented keys" : sb.buf);
    sbuf_release(&sb);
    return false;
}

bool api_id_param_or_reply(struct req *rq, const char *name, char out[ID_LEN + 1])
{
    struct str v = req_param(rq, name);

    if (!id_is_valid(v)) {
        resp_error(rq, ERR_NOT_FOUND, NULL);
        return false;
    }
    memcpy(out, v.ptr, ID_LEN);
    out[ID_LEN] = '\0';
    return true;
}

json_t *api_page_json(int64_t total, json_t *records)
{
    return json_pack("{s:{s:I}, s:o}", "metadata", "total", (json_int_t)total, "records", records);
}

static bool principal_or_reply(struct req *rq)
{
    struct principal *p = arena_alloc(&rq->arena, sizeof(*p));
    struct store *s;
    enum err e;

    if (!api_store_or_reply(rq, &s))
        return false;
    e = auth_resolve(s, api_env(rq)->secret, req_header(rq, "X-API-KEY"),
                     req_header(rq, "X-User-Token"), req_param(rq, "team_id"), clock_now_ms(),
                     &rq->arena, p);
    if (e != ERR_OK) {
        if (e == ERR_AUTH_INVALID)
            LOG_AT(LOG_LEVEL_INFO, rq->rid, "rejected credentials from %s", rq->client_addr);
        resp_error(rq, e, NULL);
        return false;
    }
    rq->principal = p;
    return true;
}

static bool package_principal_or_reply(struct req *rq)
{
    struct principal *p = arena_alloc(&rq->arena, sizeof(*p));
    struct str token = req_header(rq, "X-Package-Token");

    if (!token.ptr) {
        resp_error(rq, ERR_AUTH_REQUIRED, "this route takes an X-Package-Token");
        return false;
    }
    if (!auth_package_token_check(api_env(rq)->secret, token, clock_now_ms() / 1000, &p->grant)) {
        LOG_AT(LOG_LEVEL_INFO, rq->rid, "rejected package token from %s", rq->client_addr);
        resp_error(rq, ERR_AUTH_INVALID, NULL);
        return false;
    }
    p->kind = PRINCIPAL_PACKAGE;
    rq->principal = p;
    return true;
}

struct package_ctx {
    const char *id;
    struct arena *a;
    struct package *out;
};

static enum store_rc package_txn(struct store *s, void *vctx)
{
    struct package_ctx *c = vctx;

    return store_package_get(s, c->id, c->a, c->out);
}

enum store_rc api_run_or_reply(struct req *rq, const char *label, enum store_txn_kind kind,
                               store_txn_fn *fn, void *ctx)
{
    struct store *s;
    enum store_rc rc;

    if (!api_store_or_reply(rq, &s))
        return STORE_HARD;
    rc = store_run(s, label, kind, fn, ctx);
    if (rc < 0)
        api_reply_store(rq, rc);
    return rc;
}

static enum store_rc fails_peek_txn(struct store *s, void *vctx)
{
    struct api_fails *f = vctx;

    return store_ratelimit_peek(s, f->key, f->now, f->window_ms, &f->count, &f->reset_at);
}

static enum store_rc fails_hit_txn(struct store *s, void *vctx)
{
    struct api_fails *f = vctx;

    return store_ratelimit_hit(s, f->key, f->now, f->window_ms, &f->count, &f->reset_at);
}

bool api_fails_below_or_reply(struct req *rq, struct api_fails *f)
{
    int64_t wait_s;
    char after[24];

    if (api_run_or_reply(rq, "fails.read", STORE_READ, fails_peek_txn, f) < 0)
        return false;
    if (f->count < f->max)
        return true;
    wait_s = (f->reset_at - f->now) / 1000;
    snprintf(after, sizeof(after), "%lld", (long long)(wait_s > 0 ? wait_s : 1));
    resp_error(rq, ERR_RATE_LIMITED, NULL);
    resp_header_add(rq, "Retry-After", after);
    return false;
}

void api_fails_count(struct req *rq, struct api_fails *f)
{
    struct store *s = api_store(api_env(rq));

    if (!s || store_run(s, "fails.count", STORE_WRITE, fails_hit_txn, f) < 0)
        LOG_AT(LOG_LEVEL_WARN, rq->rid, "could not count a failed attempt");
}

bool api_package_or_reply(struct req *rq, bool need_full, struct package *out)
{
    const struct principal *p = api_principal(rq);
    struct package_ctx c = { .a = &rq->arena, .out = out };
    char id[ID_LEN + 1];
    enum store_rc rc;

    if (!api_id_param_or_reply(rq, "package_id", id))
        return false;
    /* A token opens its own package and no other; any other is simply not there. */
    if (p->kind != PRINCIPAL_PACKAGE || strcmp(p->grant.package_id, id) != 0) {
        resp_error(rq, ERR_NOT_FOUND, "no such package");
        return false;
    }
    if (need_full && p->grant.level != PACKAGE_LEVEL_FULL) {
        resp_error(rq, ERR_FORBIDDEN, "this package token only allows downloads");
        return false;
    }
    c.id = id;
    rc = api_run_or_reply(rq, "packages.get", STORE_READ, package_txn, &c);
    if (rc < 0)
        return false;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such package");
        return false;
    }
    return true;
}

/* Authenticates the caller as the route requires; false once it has answered. */
static bool caller_or_reply(struct req *rq)
{
    switch ((enum api_auth)rq->route->auth) {
    case API_AUTH_NONE:
        return true;
    case API_AUTH_USER:
        return principal_or_reply(rq);
    case API_AUTH_PACKAGE:
        return package_principal_or_reply(rq);
    }
    return true;
}

void api_dispatch(struct req *rq)
{
    struct store *s = api_store(api_env(rq));

    /* The credentials and the handler's reads share one read transaction (a write ends it):
     * a list costs one transaction, not three. */
    if (s)
        (void)store_hold_read(s);
    if (caller_or_reply(rq))
        rq->route->handler(rq);
    if (s)
        store_unhold(s);
}
