/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The MASV API: the route table (routes.c), the dispatcher that checks credentials before a
 * handler runs, the helpers handlers share, and one file of handlers per resource.
 */
#ifndef CONSIGN_API_H
#define CONSIGN_API_H

#include "core/compat.h"

#include "auth/auth.h"
#include "http/http.h"
#include "json/jspec.h"
#include "store/store.h"

/** What every handler may read; set up once at start and read-only afterwards. */
struct api_env {
    struct store_cfg store_cfg;
    uint8_t secret[AUTH_SECRET_LEN];
    const char *public_url; /* "http://127.0.0.1:8080", no trailing slash */
    const char *version;
};

/** Credentials a route takes (struct http_route.auth). */
enum api_auth {
    API_AUTH_NONE = 0, /* public */
    API_AUTH_USER,     /* X-API-KEY or X-User-Token */
};

/** The route table and its length. */
extern const struct http_route api_routes[];
extern const size_t api_routes_count;

/** The dispatcher for struct http_app: resolves credentials, then runs the route's handler. */
void api_dispatch(struct req *rq);

/**
 * The store connection of the calling thread, opened on first use (one connection per worker
 * thread, closed when the thread ends). NULL when the database cannot be opened (logged).
 */
struct store *api_store(const struct api_env *env);
/** Closes the calling thread's connection, if any (for the main thread at exit). */
void api_store_release(void);

/* Helpers for handlers. Those named _or_reply set an error response when they return false. */

/** The environment of @rq. */
static inline const struct api_env *api_env(const struct req *rq)
{
    return rq->env;
}
/** The caller; valid on API_AUTH_USER routes. */
static inline const struct principal *api_principal(const struct req *rq)
{
    return rq->principal;
}
/** The store for this request, or false after a 503. */
bool api_store_or_reply(struct req *rq, struct store **out);
/** Parses the body as a JSON object and checks it against @spec; *@doc is decref'd by the caller. */
bool api_body_or_reply(struct req *rq, const struct jspec *spec, json_t **doc);
/** Replies to a failed store call (rc < 0): 503 when busy, 500 otherwise. */
void api_reply_store(struct req *rq, enum store_rc rc);
/**
 * The access decision for the team in path parameter "team_id": fills @m with the caller's
 * membership, or replies 404 (unknown or not the caller's team) or 403 (role).
 */
bool api_team_or_reply(struct req *rq, enum team_action action, struct membership *m);
/** Reads ?page= and ?limit= (1-based page; limit 1..@max_limit, default @max_limit). */
bool api_page_or_reply(struct req *rq, int64_t max_limit, struct store_page *page);
/** Copies path parameter @name into @out when it has the shape of an id; else replies 404. */
bool api_id_param_or_reply(struct req *rq, const char *name, char out[ID_LEN + 1]);
/** {"metadata": {"total": n}, "records": records} (steals @records). */
json_t *api_page_json(int64_t total, json_t *records);

/* Handlers, one file per resource. */
void api_health(struct req *rq);
void api_auth_login(struct req *rq);
void api_members_list(struct req *rq);
void api_keys_create(struct req *rq);
void api_keys_list(struct req *rq);
void api_keys_get(struct req *rq);
void api_keys_update(struct req *rq);
void api_keys_delete(struct req *rq);
void api_spaces_create(struct req *rq);
void api_spaces_list(struct req *rq);

#endif /* CONSIGN_API_H */
