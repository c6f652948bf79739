/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Download links: made with a package's full token, resolved by anyone holding the link id
 * and its secret (and its password, when it has one) into a download-only package token.
 * The secret is 256 random bits stored as SHA-256; failed attempts are counted per link and
 * client, so guessing a secret or password is as slow as guessing a login.
 */
#include "core/compat.h"
#include "api/api.h"

#include "core/clock.h"

/* Failed resolutions allowed per link and client address in a window. */
#define LINK_FAILS_MAX 10
#define LINK_WINDOW_MS (15 * 60 * 1000)

struct link_ctx {
    struct arena *a;
    struct package pkg;
    struct link link;
    struct link *list;
    size_t n;
    int64_t now;
    struct api_fails fails; /* failed resolutions of this link from this client */
};

static void link_write(struct jw *w, const struct link *l, const char *secret)
{
    jw_object_begin(w);
    jw_kstring(w, "id", l->id);
    jw_kstring(w, "package_id", l->package_id);
    if (secret)
        jw_kstring(w, "download_secret", secret);
    jw_kstring(w, "email", l->email ? l->email : "");
    jw_kint(w, "access_limit", l->access_limit);
    jw_kbool(w, "access_limit_enabled", l->access_limit > 0);
    jw_kint(w, "access_count", l->access_count);
    jw_kbool(w, "active", l->active);
    jw_ktime(w, "expiry", l->expiry);
    jw_kstring(w, "password", l->password_hash ? "****" : "");
    jw_ktime(w, "created_at", l->created_at);
    jw_object_end(w);
}

static enum store_rc insert_txn(struct store *s, void *vctx)
{
    struct link_ctx *c = vctx;

    return store_link_insert(s, &c->link);
}

void api_links_create(struct req *rq)
{
    struct link_ctx c = { .a = &rq->arena };
    char *email = NULL, *password = NULL, key[AUTH_API_KEY_LEN + 1];
    int64_t limit = -1, expiry = TIME_UNSET;
    const struct jspec spec[] = {
        JSPEC_EMAIL("email", &email, 0),
        JSPEC_STR("password", &password, 0, AUTH_PASSWORD_MAX),
        JSPEC_INT("access_limit", &limit, 0, 0, 1000000),
        JSPEC_TIME("expiry", &expiry, 0),
        JSPEC_END,
    };
    enum store_rc rc;
    json_t *doc;
    struct jw w;

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        !api_package_state_or_reply(
            rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW) | PACKAGE_STATE_BIT(PACKAGE_FINALIZED),
            "links can no longer be made") ||
        !api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (expiry != TIME_UNSET && expiry <= clock_now_ms()) {
        resp_error(rq, ERR_INVALID_FIELD, "expiry: must be in the future");
        return;
    }
    auth_api_key_new(c.link.id, key, c.link.secret_hash);
    memcpy(c.link.package_id, c.pkg.id, sizeof(c.link.package_id));
    c.link.email = email ? email : "";
    if (password && password[0]) {
        char *h = auth_password_hash(str_from(password));

        if (!h) {
            resp_error(rq, ERR_INTERNAL, "cannot hash the password");
            return;
        }
        c.link.password_hash = arena_strdup(&rq->arena, h);
        free(h);
    } else if (!password && c.pkg.password_hash) {
        /* The package's password protects its links unless a link says otherwise. */
        c.link.password_hash = c.pkg.password_hash;
    }
    c.link.access_limit = limit >= 0 ? limit : c.pkg.access_limit;
    c.link.expiry = expiry;
    c.link.active = true;
    c.link.created_at = c.link.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "links.create", STORE_WRITE, insert_txn, &c);
    if (rc < 0)
        return;
    if (rc != STORE_ONE) {
        api_reply_store(rq, STORE_HARD);
        return;
    }
    jw_init(&w, 16384);
    link_write(&w, &c.link, key + ID_LEN);
    api_jw_reply(rq, 201, &w);
}

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct link_ctx *c = vctx;

    return store_links_list(s, c->pkg.id, c->a, &c->list, &c->n);
}

void api_links_list(struct req *rq)
{
    struct link_ctx c = { .a = &rq->arena };
    struct jw w;

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        api_run_or_reply(rq, "links.list", STORE_READ, list_txn, &c) < 0)
        return;
    jw_init(&w, c.n * 2048 + 1024);
    jw_array_begin(&w);
    for (size_t i = 0; i < c.n; i++)
        link_write(&w, &c.list[i], NULL);
    jw_array_end(&w);
    api_jw_reply(rq, 200, &w);
}

static enum store_rc get_txn(struct store *s, void *vctx)
{
    struct link_ctx *c = vctx;
    enum store_rc rc = store_link_get(s, c->link.id, c->a, &c->link);

    if (rc != STORE_ONE)
        return rc;
    return store_package_get(s, c->link.package_id, c->a, &c->pkg);
}

static enum store_rc disable_txn(struct store *s, void *vctx)
{
    struct link_ctx *c = vctx;

    c->link.active = false;
    c->link.updated_at = clock_now_ms();
    return store_link_update(s, &c->link);
}

void api_links_delete(struct req *rq)
{
    const struct principal *p = api_principal(rq);
    struct link_ctx c = { .a = &rq->arena };
    enum store_rc rc;

    if (!api_id_param_or_reply(rq, "link_id", c.link.id))
        return;
    rc = api_run_or_reply(rq, "links.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return;
    /* Only the full token of the link's own package sees it. */
    if (rc == STORE_NONE || p->kind != PRINCIPAL_PACKAGE ||
        strcmp(p->grant.package_id, c.link.package_id) != 0) {
        resp_error(rq, ERR_NOT_FOUND, "no such link");
        return;
    }
    if (p->grant.level != PACKAGE_LEVEL_FULL) {
        resp_error(rq, ERR_FORBIDDEN, "this package token only allows downloads");
        return;
    }
    if (api_run_or_reply(rq, "links.delete", STORE_WRITE, disable_txn, &c) < 0)
        return;
    resp_empty(rq, 204);
}

/* ---- resolve ---- */

/* Counts the access, unless the limit is reached meanwhile. */
static enum store_rc access_txn(struct store *s, void *vctx)
{
    struct link_ctx *c = vctx;
    enum store_rc rc = store_link_get(s, c->link.id, c->a, &c->link);

    if (rc != STORE_ONE)
        return rc;
    if (c->link.access_limit > 0 && c->link.access_count >= c->link.access_limit)
        return STORE_NONE;
    c->link.access_count++;
    c->link.updated_at = c->now;
    return store_link_update(s, &c->link);
}

static void fail_reply(struct req *rq, struct link_ctx *c, enum err e, const char *what)
{
    api_fails_count(rq, &c->fails);
    resp_error(rq, e, "%s", what);
}

void api_links_resolve(struct req *rq)
{
    struct link_ctx c = { .a = &rq->arena, .now = clock_now_ms() };
    char key[AUTH_API_KEY_LEN + 1], id[ID_LEN + 1], *token;
    uint8_t hash[API_KEY_HASH_LEN];
    struct str secret, password = req_header(rq, "X-Link-Password");
    enum store_rc rc;
    struct jw w;

    if (!api_id_param_or_reply(rq, "link_id", c.link.id))
        return;
    c.fails = (struct api_fails){
        .key = arena_printf(&rq->arena, "link:%s:%s", c.link.id, rq->client_addr),
        .max = LINK_FAILS_MAX,
        .window_ms = LINK_WINDOW_MS,
        .now = c.now,
    };
    if (!api_fails_below_or_reply(rq, &c.fails))
        return;
    if (!req_query(rq, "secret", &secret) || secret.len != AUTH_API_KEY_LEN - ID_LEN) {
        fail_reply(rq, &c, ERR_AUTH_INVALID, "the link's secret is missing or wrong");
        return;
    }
    memcpy(key, c.link.id, ID_LEN);
    memcpy(key + ID_LEN, secret.ptr, secret.len);
    key[AUTH_API_KEY_LEN] = '\0';
    rc = api_run_or_reply(rq, "links.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE || !auth_api_key_parse(str_from(key), id, hash) ||
        !auth_hash_equal(hash, c.link.secret_hash)) {
        fail_reply(rq, &c, ERR_AUTH_INVALID, "the link's secret is missing or wrong");
        return;
    }
    if (!c.link.active || c.pkg.state == PACKAGE_EXPIRED || c.pkg.state == PACKAGE_ARCHIVED ||
        (c.link.expiry != TIME_UNSET && c.link.expiry <= c.now)) {
        resp_error(rq, ERR_GONE,
                   !c.link.active                                          ? "the link was deleted"
                   : c.link.expiry != TIME_UNSET && c.link.expiry <= c.now ? "the link has expired"
                                                                           : NULL);
        return;
    }
    if (c.pkg.state != PACKAGE_FINALIZED) {
        resp_error(rq, ERR_CONFLICT, "the package is not finalized yet");
        return;
    }
    if (c.link.password_hash &&
        (!password.ptr || !auth_password_verify(c.link.password_hash, password))) {
        fail_reply(rq, &c, ERR_LINK_PASSWORD,
                   password.ptr ? "wrong link password"
                                : "the link needs a password "
                                  "(X-Link-Password)");
        return;
    }
    rc = api_run_or_reply(rq, "links.access", STORE_WRITE, access_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_ACCESS_LIMIT, NULL);
        return;
    }
    token = auth_package_token_new(api_env(rq)->secret, c.pkg.id, PACKAGE_LEVEL_DOWNLOAD, c.link.id,
                                   c.now / 1000);
    jw_init(&w, 16384);
    jw_object_begin(&w);
    jw_kstring(&w, "id", c.link.id);
    jw_kstring(&w, "package_id", c.pkg.id);
    jw_kstring(&w, "name", c.pkg.name);
    jw_kint(&w, "package_size", c.pkg.size);
    jw_ktime(&w, "expiry", c.pkg.expiry);
    jw_kstring(&w, "sender_email", c.pkg.sender);
    jw_kstring(&w, "recipient_email", c.link.email ? c.link.email : "");
    jw_kstring(&w, "package_token", token);
    jw_object_end(&w);
    free(token);
    api_jw_reply(rq, 200, &w);
}
