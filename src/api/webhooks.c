/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Custom webhooks: a team's owners and admins name a URL that is told of package events
 * (created, finalized, downloaded, expired), with headers and body fields of their own; the
 * requests are signed with a secret shown once at creation. Here: the handlers, the queueing of
 * deliveries inside the transaction of each event, and the job (webhook.deliver) that makes
 * each request and records what came of it.
 *
 * The signing secret is derived from the server's secret and the webhook's id
 * (auth_webhook_secret()), so it is stored nowhere and each delivery derives it again.
 *
 * Who is told: a team's (sent) package goes to the team's active webhooks subscribed to the
 * event; a package received through a portal goes to that portal's custom_webhooks (those of the
 * team, active and subscribed). A delivery's body is made when the event happens and kept in
 * its job, so every attempt sends the same bytes with the same signature; the URL, method and
 * headers are read at each attempt. Downloads come in bursts (ranges, several files): while a
 * delivery of package.downloaded for a package waits, another download queues no other.
 */
#include "core/compat.h"
#include "api/api.h"

#define LOG_COMPONENT "webhooks"
#include "core/clock.h"
#include "core/log.h"

/* Caps on what a webhook may hold. */
#define HOOKS_PER_TEAM 100
#define NAME_MAX_CHARS 255
#define URL_MAX_CHARS 2048
#define HEADERS_MAX 20
#define HEADER_NAME_MAX 64
#define HEADER_VALUE_MAX 1024
#define EXTRAS_MAX_BYTES (16u << 10)
/* Attempts kept per webhook, and most listed at once. */
#define ATTEMPTS_KEEP 100
/* A receiver has this long to answer (and to accept the connection). */
#define DELIVERY_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 5000

static const char *const event_names[API_HOOK_EVENT_COUNT] = {
    [API_HOOK_CREATED] = "package.created",
    [API_HOOK_FINALIZED] = "package.finalized",
    [API_HOOK_DOWNLOADED] = "package.downloaded",
    [API_HOOK_EXPIRED] = "package.expired",
};

/* Names a configured header may not take: those consign sets and those that frame HTTP. */
static const char *const reserved_headers[] = {
    "content-type", "content-length", "transfer-encoding", "host",       "connection", "expect",
    "te",           "trailer",        "upgrade",           "keep-alive", "user-agent",
};

/* Top-level keys of a body that are consign's, which body_extras may not name. */
static const char *const reserved_keys[] = { "id", "event", "time", "package", "portal" };

/* ---- what a webhook says ---- */

/* Compact JSON text of @v in the request arena. */
static char *json_text(struct arena *a, const json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = arena_strdup(a, t ? t : "null");

    free(t);
    return out;
}

/* The stored JSON text @text as a value (@dflt when it does not parse: never, for text we
 * wrote). */
static json_t *stored_json(const char *text, json_t *dflt)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

    if (!v)
        return dflt;
    json_decref(dflt);
    return v;
}

static json_t *hook_json(const struct webhook *w)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(w->id));
    json_object_set_new(o, "team_id", json_string(w->team_id));
    json_object_set_new(o, "name", json_string(w->name ? w->name : ""));
    json_object_set_new(o, "url", json_string(w->url));
    json_object_set_new(o, "method", json_string(w->method));
    json_object_set_new(o, "events", stored_json(w->events, json_array()));
    json_object_set_new(o, "headers", stored_json(w->headers, json_object()));
    json_object_set_new(o, "body_extras", stored_json(w->body_extras, json_object()));
    json_object_set_new(o, "active", json_boolean(w->active));
    json_object_set_new(o, "created_at", jtime(w->created_at));
    json_object_set_new(o, "updated_at", jtime(w->updated_at));
    return o;
}

/* Whether @w's events (JSON text we wrote) has @ev. */
static bool hook_wants(const struct webhook *w, enum api_hook_event ev)
{
    json_t *list = stored_json(w->events, NULL), *e;
    bool found = false;
    size_t i;

    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(e);

        if (name && strcmp(name, event_names[ev]) == 0)
            found = true;
    }
    json_decref(list);
    return found;
}

/* ---- checking what a client sends ---- */

static bool url_or_reply(struct req *rq, const char *url)
{
    char why[160];

    if (!jobs_http_url_ok(url, why, sizeof(why))) {
        resp_error(rq, ERR_INVALID_FIELD, "url: %s", why);
        return false;
    }
    return true;
}

/* "POST" or "PUT", in any case, as upper case into *@out. */
static bool method_or_reply(struct req *rq, const char *text, char **out)
{
    if (strcasecmp(text, "POST") == 0)
        *out = "POST";
    else if (strcasecmp(text, "PUT") == 0)
        *out = "PUT";
    else {
        resp_error(rq, ERR_INVALID_FIELD, "method: must be \"POST\" or \"PUT\"");
        return false;
    }
    return true;
}

/* "events": a non-empty array of event names, kept once each in the order of the first. */
static bool events_or_reply(struct req *rq, json_t *v, char **out)
{
    json_t *list, *e;
    size_t i;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        resp_error(rq, ERR_INVALID_FIELD,
                   "events: must be a non-empty array of package.created, package.finalized, "
                   "package.downloaded and package.expired");
        return false;
    }
    list = json_array();
    json_array_foreach(v, i, e)
    {
        const char *name = json_string_value(e);
        bool known = false, seen = false;
        json_t *k;
        size_t j;

        for (size_t n = 0; name && n < API_HOOK_EVENT_COUNT; n++)
            known = known || strcmp(name, event_names[n]) == 0;
        if (!known) {
            json_decref(list);
            resp_error(rq, ERR_INVALID_FIELD,
                       "events[%zu]: must be package.created, package.finalized, "
                       "package.downloaded or package.expired",
                       i);
            return false;
        }
        json_array_foreach(list, j, k)
        {
            seen = seen || strcmp(json_string_value(k), name) == 0;
        }
        if (!seen)
            json_array_append_new(list, json_string(name));
    }
    *out = json_text(&rq->arena, list);
    json_decref(list);
    return true;
}

/* An HTTP token (RFC 9110): the characters a header name may have. */
static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

/* A header value: printable text and tabs, no CR, LF or other control character. */
static bool is_header_value(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < ' ' && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static bool is_reserved_header(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(reserved_headers); i++)
        if (strcasecmp(name, reserved_headers[i]) == 0)
            return true;
    return strncasecmp(name, "x-consign-", 10) == 0;
}

/* "headers": an object of header names and string values sent with every delivery. */
static bool headers_or_reply(struct req *rq, json_t *v, char **out)
{
    const char *name;
    json_t *value;

    if (json_is_null(v)) {
        *out = "{}";
        return true;
    }
    if (!json_is_object(v) || json_object_size(v) > HEADERS_MAX) {
        resp_error(rq, ERR_INVALID_FIELD, "headers: must be an object of at most %d headers",
                   HEADERS_MAX);
        return false;
    }
    json_object_foreach(v, name, value)
    {
        const char *text = json_string_value(value);

        if (strlen(name) > HEADER_NAME_MAX || !is_token(name)) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "headers: a name must be 1 to %d letters, digits or !#$%%&'*+-.^_`|~",
                       HEADER_NAME_MAX);
            return false;
        }
        if (is_reserved_header(name)) {
            resp_error(rq, ERR_INVALID_FIELD, "headers.%s: consign sets this header itself", name);
            return false;
        }
        if (!text || strlen(text) > HEADER_VALUE_MAX || !is_header_value(text)) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "headers.%s: must be a string of at most %d bytes without line breaks or "
                       "control characters",
                       name, HEADER_VALUE_MAX);
            return false;
        }
    }
    *out = json_text(&rq->arena, v);
    return true;
}

/* "body_extras": an object whose members join each delivery's body. */
static bool extras_or_reply(struct req *rq, json_t *v, char **out)
{
    if (json_is_null(v)) {
        *out = "{}";
        return true;
    }
    if (!json_is_object(v)) {
        resp_error(rq, ERR_INVALID_FIELD, "body_extras: must be an object");
        return false;
    }
    for (size_t i = 0; i < ARRAY_LEN(reserved_keys); i++)
        if (json_object_get(v, reserved_keys[i])) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "body_extras.%s: the body's own field (id, event, time, package and portal "
                       "are consign's)",
                       reserved_keys[i]);
            return false;
        }
    *out = json_text(&rq->arena, v);
    if (strlen(*out) > EXTRAS_MAX_BYTES) {
        resp_error(rq, ERR_INVALID_FIELD, "body_extras: must be at most %u bytes of JSON",
                   EXTRAS_MAX_BYTES);
        return false;
    }
    return true;
}

/* What a create or an update sends; absent fields stay NULL (has_active and has_name say
 * whether those came). */
struct hook_body {
    char *name, *url, *method;
    json_t *events, *headers, *extras;
    bool active, has_active, has_name;
};

/* Parses the body and checks the fields that came, writing them into @w (the rest keep their
 * values): a create requires name, url and events. */
static bool body_or_reply(struct req *rq, bool create, struct webhook *w, json_t **doc)
{
    struct hook_body b = { 0 };
    const struct jspec spec[] = {
        { .name = "name",
          .type = JSPEC_T_STRING,
          .flags = create ? JSPEC_REQUIRED | JSPEC_NONEMPTY : JSPEC_NONEMPTY,
          .max_len = NAME_MAX_CHARS,
          .out = &b.name,
          .present = &b.has_name },
        JSPEC_STR("url", &b.url, create ? JSPEC_REQUIRED : 0, URL_MAX_CHARS),
        JSPEC_STR("method", &b.method, 0, 8),
        JSPEC_ANY("events", &b.events, create ? JSPEC_REQUIRED : 0),
        JSPEC_ANY("headers", &b.headers, 0),
        JSPEC_ANY("body_extras", &b.extras, 0),
        { .name = "active", .type = JSPEC_T_BOOL, .out = &b.active, .present = &b.has_active },
        JSPEC_END,
    };

    if (!api_body_or_reply(rq, spec, doc))
        return false;
    if (b.has_name && !b.name) {
        resp_error(rq, ERR_INVALID_FIELD, "name: must not be null");
        return false;
    }
    if (b.name)
        w->name = b.name;
    if (b.url) {
        if (!url_or_reply(rq, b.url))
            return false;
        w->url = b.url;
    }
    if (b.method && !method_or_reply(rq, b.method, &w->method))
        return false;
    if (b.events && !events_or_reply(rq, b.events, &w->events))
        return false;
    if (b.headers && !headers_or_reply(rq, b.headers, &w->headers))
        return false;
    if (b.extras && !extras_or_reply(rq, b.extras, &w->body_extras))
        return false;
    if (b.has_active)
        w->active = b.active;
    return true;
}

/* ---- the handlers ---- */

struct hook_ctx {
    struct webhook hook;
    const char *team_id;
    struct arena *a;
    struct webhook *list;
    size_t n;
    struct webhook_attempt *tries;
    int64_t limit;
    bool full; /* the team has HOOKS_PER_TEAM already */
};

static enum store_rc create_txn(struct store *s, void *vctx)
{
    struct hook_ctx *c = vctx;
    enum store_rc rc = store_webhooks_list(s, c->hook.team_id, c->a, &c->list, &c->n);

    if (rc < 0)
        return rc;
    c->full = c->n >= HOOKS_PER_TEAM;
    if (c->full)
        return STORE_NONE;
    return store_webhook_insert(s, &c->hook);
}

void api_webhooks_create(struct req *rq)
{
    struct membership me;
    struct hook_ctx c = { .a = &rq->arena, .hook = { .method = "POST", .active = true } };
    char secret[AUTH_SIG_LEN + 1];
    enum store_rc rc;
    json_t *doc = NULL, *out;

    if (!api_team_or_reply(rq, TEAM_MANAGE_HOOKS, &me))
        return;
    if (!body_or_reply(rq, true, &c.hook, &doc)) {
        json_decref(doc);
        return;
    }
    json_decref(doc);
    id_new(c.hook.id);
    memcpy(c.hook.team_id, me.team_id, sizeof(c.hook.team_id));
    c.hook.created_at = c.hook.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "webhooks.create", STORE_WRITE, create_txn, &c);
    if (rc < 0)
        return;
    if (c.full) {
        resp_error(rq, ERR_CONFLICT, "a team has at most %d webhooks", HOOKS_PER_TEAM);
        return;
    }
    if (rc != STORE_ONE) {
        api_reply_store(rq, STORE_HARD);
        return;
    }
    out = hook_json(&c.hook);
    auth_webhook_secret(api_env(rq)->secret, c.hook.id, secret);
    json_object_set_new(out, "secret", json_string(secret));
    explicit_bzero(secret, sizeof(secret));
    resp_json(rq, 201, out);
}

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct hook_ctx *c = vctx;

    return store_webhooks_list(s, c->team_id, c->a, &c->list, &c->n);
}

void api_webhooks_list(struct req *rq)
{
    struct membership me;
    struct hook_ctx c = { .a = &rq->arena };
    json_t *out;

    if (!api_team_or_reply(rq, TEAM_MANAGE_HOOKS, &me))
        return;
    c.team_id = me.team_id;
    if (api_run_or_reply(rq, "webhooks.list", STORE_READ, list_txn, &c) < 0)
        return;
    out = json_array();
    for (size_t i = 0; i < c.n; i++)
        json_array_append_new(out, hook_json(&c.list[i]));
    resp_json(rq, 200, out);
}

static enum store_rc get_txn(struct store *s, void *vctx)
{
    struct hook_ctx *c = vctx;

    return store_webhook_get(s, c->hook.id, c->a, &c->hook);
}

/* Loads the webhook of the path and checks that the caller may manage its team's webhooks:
 * 404 for another team's, as for one that does not exist. */
static bool hook_or_reply(struct req *rq, struct webhook *out)
{
    struct hook_ctx c = { .a = &rq->arena };
    struct membership me;
    struct store *s;
    enum store_rc rc;
    enum err e;

    if (!api_id_param_or_reply(rq, "webhook_id", c.hook.id) || !api_store_or_reply(rq, &s))
        return false;
    rc = api_run_or_reply(rq, "webhooks.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return false;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such webhook");
        return false;
    }
    e = auth_team_access(s, api_principal(rq), str_from(c.hook.team_id), TEAM_MANAGE_HOOKS,
                         &rq->arena, &me);
    if (e != ERR_OK) {
        if (e == ERR_NOT_FOUND)
            resp_error(rq, e, "no such webhook");
        else if (e == ERR_FORBIDDEN)
            resp_error(rq, e, "the role '%s' does not allow this", role_name(me.role));
        else
            resp_error(rq, e, NULL);
        return false;
    }
    *out = c.hook;
    return true;
}

void api_webhooks_get(struct req *rq)
{
    struct webhook w;

    if (hook_or_reply(rq, &w))
        resp_json(rq, 200, hook_json(&w));
}

static enum store_rc update_txn(struct store *s, void *vctx)
{
    struct hook_ctx *c = vctx;

    return store_webhook_update(s, &c->hook);
}

void api_webhooks_update(struct req *rq)
{
    struct hook_ctx c = { .a = &rq->arena };
    enum store_rc rc;
    json_t *doc = NULL;

    if (!hook_or_reply(rq, &c.hook))
        return;
    if (!body_or_reply(rq, false, &c.hook, &doc)) {
        json_decref(doc);
        return;
    }
    json_decref(doc);
    c.hook.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "webhooks.update", STORE_WRITE, update_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such webhook");
        return;
    }
    resp_json(rq, 200, hook_json(&c.hook));
}

static enum store_rc delete_txn(struct store *s, void *vctx)
{
    struct hook_ctx *c = vctx;

    return store_webhook_delete(s, c->hook.id);
}

void api_webhooks_delete(struct req *rq)
{
    struct hook_ctx c = { .a = &rq->arena };

    if (!hook_or_reply(rq, &c.hook) ||
        api_run_or_reply(rq, "webhooks.delete", STORE_WRITE, delete_txn, &c) < 0)
        return;
    resp_empty(rq, 204);
}

static enum store_rc attempts_txn(struct store *s, void *vctx)
{
    struct hook_ctx *c = vctx;

    return store_webhook_attempts_list(s, c->hook.id, c->limit, c->a, &c->tries, &c->n);
}

void api_webhooks_deliveries(struct req *rq)
{
    struct hook_ctx c = { .a = &rq->arena, .limit = ATTEMPTS_KEEP };
    struct str v;
    uint64_t n;
    json_t *out;

    if (!hook_or_reply(rq, &c.hook))
        return;
    if (req_query(rq, "limit", &v)) {
        if (!str_to_u64(str_trim(v), ATTEMPTS_KEEP, &n) || n < 1) {
            resp_error(rq, ERR_INVALID_QUERY, "limit: must be an integer from 1 to %d",
                       ATTEMPTS_KEEP);
            return;
        }
        c.limit = (int64_t)n;
    }
    if (api_run_or_reply(rq, "webhooks.deliveries", STORE_READ, attempts_txn, &c) < 0)
        return;
    out = json_array();
    for (size_t i = 0; i < c.n; i++) {
        const struct webhook_attempt *t = &c.tries[i];

        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:o}", "id", t->id,
                           "delivery_id", t->delivery_id, "event", t->event, "package_id",
                           t->package_id, "attempt", (json_int_t)t->attempt, "status",
                           (json_int_t)t->status, "error", t->error ? t->error : "", "duration_ms",
                           (json_int_t)t->duration_ms, "at", jtime(t->at)));
    }
    resp_json(rq, 200, out);
}

/* ---- events: who is told, queued with the event ---- */

/* The package as a delivery tells it: the package object without its token or password. */
static json_t *package_json(const struct package *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "team_id", json_string(p->team_id));
    json_object_set_new(o, "name", json_string(p->name ? p->name : ""));
    json_object_set_new(o, "description", json_string(p->description ? p->description : ""));
    json_object_set_new(o, "sender", json_string(p->sender ? p->sender : ""));
    json_object_set_new(o, "recipients", stored_json(p->recipients, json_array()));
    json_object_set_new(o, "state", json_string(package_state_name(p->state)));
    json_object_set_new(o, "size", json_integer(p->size));
    json_object_set_new(o, "total_files", json_integer(p->total_files));
    json_object_set_new(o, "access_limit", json_integer(p->access_limit));
    json_object_set_new(o, "expiry", jtime(p->expiry));
    json_object_set_new(o, "custom_expiry", json_boolean(p->custom_expiry));
    json_object_set_new(o, "unlimited_storage", json_boolean(p->unlimited_storage));
    json_object_set_new(o, "created_at", jtime(p->created_at));
    json_object_set_new(o, "updated_at", jtime(p->updated_at));
    json_object_set_new(o, "usage_updated_at", jtime(p->usage_updated_at));
    json_object_set_new(o, "teamspace_id", json_string(p->teamspace_id ? p->teamspace_id : ""));
    json_object_set_new(
        o, "tag",
        p->tag_id ? json_pack("{s:s, s:s}", "id", p->tag_id, "name", p->tag_name ? p->tag_name : "")
                  : json_null());
    json_object_set_new(o, "portal_id", p->portal_id ? json_string(p->portal_id) : json_null());
    return o;
}

/* The body of one delivery, as text: consign's fields, then the webhook's extras. */
static char *body_text(const struct webhook *w, enum api_hook_event ev, const char *delivery_id,
                       const struct package *p, const struct portal *portal)
{
    json_t *o = json_object(), *extras = stored_json(w->body_extras, json_object()), *v;
    const char *k;
    char *text;

    json_object_set_new(o, "id", json_string(delivery_id));
    json_object_set_new(o, "event", json_string(event_names[ev]));
    json_object_set_new(o, "time", jtime(clock_now_ms()));
    json_object_set_new(o, "package", package_json(p));
    json_object_set_new(o, "portal",
                        portal ? json_pack("{s:s, s:s, s:s}", "id", portal->id, "name",
                                           portal->name ? portal->name : "", "subdomain",
                                           portal->subdomain ? portal->subdomain : "")
                               : json_null());
    /* Consign's own fields win (the API refuses extras that name them). */
    json_object_foreach(extras, k, v)
    {
        if (!json_object_get(o, k))
            json_object_set(o, k, v);
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(extras);
    json_decref(o);
    return text;
}

/* Queues one delivery of @ev to @w. */
static enum store_rc enqueue_one(struct store *s, const struct webhook *w, enum api_hook_event ev,
                                 const struct package *p, const struct portal *portal)
{
    char delivery_id[ID_LEN + 1], dedupe[3 * ID_LEN + 32];
    char *body, *payload = NULL;
    enum store_rc rc;
    json_t *doc;

    id_new(delivery_id);
    body = body_text(w, ev, delivery_id, p, portal);
    doc = body ? json_pack("{s:s, s:s, s:s, s:s, s:s}", "webhook_id", w->id, "delivery_id",
                           delivery_id, "event", event_names[ev], "package_id", p->id, "body", body)
               : NULL;
    if (doc)
        payload = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    free(body);
    snprintf(dedupe, sizeof(dedupe), "%s:%s:%s", w->id, event_names[ev], p->id);
    rc = payload ? jobs_enqueue(s, "webhook.deliver", payload, dedupe, clock_now_ms(),
                                API_HOOK_ATTEMPTS)
                 : STORE_HARD;
    free(payload);
    return rc;
}

/* The webhooks of portal @portal (its custom_webhooks, of its team). */
static enum store_rc portal_hooks(struct store *s, const struct portal *portal, struct arena *a,
                                  struct webhook **out, size_t *n)
{
    json_t *list = stored_json(portal->custom_webhooks, NULL), *e;
    size_t i, cap = json_array_size(list);
    enum store_rc rc = STORE_ONE;

    *out = cap ? arena_alloc(a, cap * sizeof(**out)) : NULL;
    *n = 0;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_is_object(e) ? json_object_get(e, "id") : e);
        bool seen = false;

        if (!id || !id_is_valid(str_from(id)))
            continue;
        for (size_t k = 0; k < *n; k++)
            seen = seen || strcmp((*out)[k].id, id) == 0;
        if (seen)
            continue;
        rc = store_webhook_get(s, id, a, &(*out)[*n]);
        if (rc < 0)
            break;
        /* A webhook deleted since, or another team's, is nobody to tell. */
        if (rc == STORE_ONE && strcmp((*out)[*n].team_id, portal->team_id) == 0)
            (*n)++;
        rc = STORE_ONE;
    }
    json_decref(list);
    return rc;
}

enum store_rc api_webhooks_enqueue(struct store *s, enum api_hook_event ev, const struct package *p,
                                   struct arena *a, int *queued)
{
    struct portal portal, *via = NULL;
    struct webhook *hooks = NULL;
    size_t n = 0;
    enum store_rc rc;

    *queued = 0;
    if (p->portal_id) {
        rc = store_portal_get(s, p->portal_id, a, &portal);
        if (rc != STORE_ONE)
            return rc < 0 ? rc : STORE_ONE; /* the portal is gone, and its webhooks with it */
        via = &portal;
        rc = portal_hooks(s, &portal, a, &hooks, &n);
    } else {
        rc = store_webhooks_list(s, p->team_id, a, &hooks, &n);
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!hooks[i].active || !hook_wants(&hooks[i], ev))
            continue;
        rc = enqueue_one(s, &hooks[i], ev, p, via);
        if (rc < 0)
            return rc;
        *queued += rc == STORE_ONE;
    }
    return STORE_ONE;
}

/* ---- the job: one attempt of one delivery ---- */

/* What a delivery job carries (strings in its payload document). */
struct delivery {
    json_t *doc;
    const char *webhook_id, *delivery_id, *event, *package_id, *body;
};

static bool delivery_parse(const struct job *j, struct delivery *d)
{
    d->doc = json_loads(j->payload, JSON_REJECT_DUPLICATES, NULL);
    d->webhook_id = json_string_value(json_object_get(d->doc, "webhook_id"));
    d->delivery_id = json_string_value(json_object_get(d->doc, "delivery_id"));
    d->event = json_string_value(json_object_get(d->doc, "event"));
    d->package_id = json_string_value(json_object_get(d->doc, "package_id"));
    d->body = json_string_value(json_object_get(d->doc, "body"));
    return d->webhook_id && id_is_valid(str_from(d->webhook_id)) && d->delivery_id &&
           id_is_valid(str_from(d->delivery_id)) && d->event && d->package_id &&
           id_is_valid(str_from(d->package_id)) && d->body;
}

static enum store_rc record_txn(struct store *s, void *vctx)
{
    return store_webhook_attempt_insert(s, vctx, ATTEMPTS_KEEP);
}

/* The request's header lines, in @a: consign's, then the webhook's own. */
static const char **header_lines(const struct api_env *env, const struct webhook *w,
                                 const struct delivery *d, const char *sig, struct arena *a,
                                 size_t *n)
{
    json_t *hs = stored_json(w->headers, json_object()), *v;
    const char **lines = arena_alloc(a, (5 + json_object_size(hs)) * sizeof(*lines));
    const char *k;

    *n = 0;
    lines[(*n)++] = "Content-Type: application/json";
    lines[(*n)++] = arena_printf(a, "User-Agent: consign/%s", env->version);
    lines[(*n)++] = arena_printf(a, "X-Consign-Event: %s", d->event);
    lines[(*n)++] = arena_printf(a, "X-Consign-Delivery: %s", d->delivery_id);
    lines[(*n)++] = arena_printf(a, "X-Consign-Signature: sha256=%s", sig);
    json_object_foreach(hs, k, v)
    {
        if (json_is_string(v))
            lines[(*n)++] = arena_printf(a, "%s: %s", k, json_string_value(v));
    }
    json_decref(hs);
    return lines;
}

enum jobs_outcome api_webhook_deliver(void *venv, struct store *s, const struct job *j, char *why,
                                      size_t why_cap)
{
    const struct api_env *env = venv;
    struct delivery d = { 0 };
    struct hook_ctx c = { 0 };
    struct arena a;
    char key[AUTH_SIG_LEN + 1], sig[AUTH_WEBHOOK_SIG_HEX + 1];
    struct jobs_http_call call = { .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                                   .timeout_ms = DELIVERY_TIMEOUT_MS };
    struct jobs_http_result res;
    struct webhook_attempt at = { .attempt = j->attempts };
    enum jobs_outcome out = JOBS_DONE;
    enum store_rc rc;

    arena_init(&a);
    c.a = &a;
    if (!delivery_parse(j, &d)) {
        snprintf(why, why_cap, "the payload names no webhook, delivery, package or body");
        out = JOBS_GIVE_UP;
        goto done;
    }
    memcpy(c.hook.id, d.webhook_id, ID_LEN + 1);
    rc = store_run(s, "webhooks.load", STORE_READ, get_txn, &c);
    if (rc < 0) {
        snprintf(why, why_cap, "the database failed");
        out = JOBS_RETRY;
        goto done;
    }
    if (rc == STORE_NONE || !c.hook.active) {
        LOG_INFO("%s of package %s not delivered: webhook %s is %s", d.event, d.package_id,
                 d.webhook_id, rc == STORE_NONE ? "deleted" : "inactive");
        goto done;
    }
    auth_webhook_secret(env->secret, c.hook.id, key);
    auth_webhook_sign(key, d.body, strlen(d.body), sig);
    explicit_bzero(key, sizeof(key));
    call.url = c.hook.url;
    call.method = c.hook.method;
    call.headers = header_lines(env, &c.hook, &d, sig, &a, &call.nheaders);
    call.body = d.body;
    call.body_len = strlen(d.body);
    jobs_http_send(&call, &res);
    if (res.status >= 200 && res.status <= 299) {
        LOG_INFO("%s of package %s delivered to webhook %s (%ld, attempt %lld, %lld ms)", d.event,
                 d.package_id, c.hook.id, res.status, (long long)j->attempts,
                 (long long)res.duration_ms);
    } else {
        if (res.status)
            snprintf(res.error, sizeof(res.error), "the receiver answered %ld", res.status);
        snprintf(why, why_cap, "webhook %s: %s", c.hook.id, res.error);
        out = JOBS_RETRY;
    }
    id_new(at.id);
    memcpy(at.webhook_id, c.hook.id, ID_LEN + 1);
    memcpy(at.delivery_id, d.delivery_id, ID_LEN + 1);
    memcpy(at.package_id, d.package_id, ID_LEN + 1);
    at.event = (char *)d.event;
    at.status = res.status;
    at.error = res.error;
    at.duration_ms = res.duration_ms;
    at.at = clock_now_ms();
    /* The outcome stands even when it cannot be written down. */
    if (store_run(s, "webhooks.attempt", STORE_WRITE, record_txn, &at) < 0)
        LOG_WARN("the attempt of delivery %s to webhook %s could not be recorded", d.delivery_id,
                 c.hook.id);
done:
    json_decref(d.doc);
    arena_release(&a);
    return out;
}
