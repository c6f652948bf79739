/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Packages: create, the paginated (v1.1) and legacy (v1.0) lists, one package, and management
 * with a package token (update, expiry, delete, archive) or in bulk by expiry window.
 * Who sees what: owners and admins every package of the team; members and integration managers
 * those they sent and those of their teamspaces; guests none (auth/policy.c).
 */
#include "core/compat.h"
#include "api/api.h"

#include "core/clock.h"
#include "jobs/jobs.h"
#include "json/jwrite.h"

#define NAME_MAX_CHARS 255
#define DESCRIPTION_MAX_CHARS 10000
#define RECIPIENTS_MAX 500
#define LINK_PASSWORD_MAX 1024
/* Storage period of a new package until lifecycle rules give it another. */
#define DEFAULT_PERIOD_MS (7LL * 86400000)
/* Most ids in one tags= or teamspaces= filter. */
#define FILTER_IDS_MAX 100

/* Largest JSON answer a package list may give: fifty objects of bounded fields, or a legacy list. */
#define LIST_JSON_MAX (64u << 20)

/*
 * Writes the package object, as the MASV documents describe it, with a full-access token for
 * the caller; @legacy adds the fields of the v1.0 list. Written directly rather than through
 * jansson: a page has fifty of them, and building them was most of a list's cost.
 */
static void package_write(struct jw *w, struct req *rq, const struct package *p, bool legacy)
{
    const struct principal *who = api_principal(rq);
    /* A token handed out under a package token keeps the user it was first issued to; one
     * handed out without credentials (to a portal's uploader) is issued to nobody. */
    const char *uid = !who                             ? ""
                      : who->kind == PRINCIPAL_PACKAGE ? who->grant.user_id
                                                       : who->user.id;
    char *token = auth_package_token_new(api_env(rq)->secret, p->id, PACKAGE_LEVEL_FULL,
                                         uid[0] ? uid : NULL, clock_now_ms() / 1000);

    jw_object_begin(w);
    jw_kint(w, "access_limit", p->access_limit);
    jw_kplain(w, "access_token", token);
    jw_kbool(w, "contains_virus", p->contains_virus);
    jw_ktime(w, "created_at", p->created_at);
    jw_kbool(w, "custom_expiry", p->custom_expiry);
    jw_kstring(w, "custom_metadata_id", p->custom_metadata_id ? p->custom_metadata_id : "");
    jw_kstring(w, "description", p->description ? p->description : "");
    jw_ktime(w, "expiry", p->expiry);
    jw_kplain(w, "id", p->id);
    jw_kstring(w, "name", p->name);
    jw_kplain(w, "password", p->password_hash ? "****" : "");
    jw_key(w, "recipients");
    jw_raw(w, p->recipients ? p->recipients : "[]"); /* stored as JSON we wrote */
    jw_kstring(w, "sender", p->sender);
    jw_kint(w, "size", p->size);
    jw_kplain(w, "state", package_state_name(p->state));
    jw_kint(w, "total_files", p->total_files);
    jw_kbool(w, "unlimited_storage", p->unlimited_storage);
    jw_ktime(w, "updated_at", p->updated_at);
    jw_ktime(w, "usage_updated_at", p->usage_updated_at);
    jw_kplain(w, "teamspace_id", p->teamspace_id ? p->teamspace_id : "");
    jw_key(w, "teamspace");
    if (p->teamspace_id) {
        jw_object_begin(w);
        jw_kplain(w, "id", p->teamspace_id);
        jw_kstring(w, "name", p->teamspace_name ? p->teamspace_name : "");
        jw_object_end(w);
    } else {
        jw_null(w);
    }
    if (p->tag_id) {
        jw_key(w, "tag");
        jw_object_begin(w);
        jw_kplain(w, "id", p->tag_id);
        jw_kstring(w, "name", p->tag_name ? p->tag_name : "");
        jw_object_end(w);
    }
    if (p->portal_id) {
        jw_kplain(w, "portal_id", p->portal_id);
    }
    if (legacy) {
        jw_key(w, "links");
        jw_array_begin(w);
        jw_array_end(w);
    }
    jw_object_end(w);
    free(token);
}

void api_jw_reply(struct req *rq, unsigned status, struct jw *w)
{
    size_t len;
    char *text = jw_take(w, &len);

    if (!text) {
        resp_error(rq, ERR_INTERNAL, "answer too large");
        return;
    }
    resp_take(rq, status, "application/json", text, len);
}

void api_package_reply(struct req *rq, unsigned status, const struct package *p)
{
    struct jw w;

    jw_init(&w, 1u << 20);
    package_write(&w, rq, p, false);
    api_jw_reply(rq, status, &w);
}

/*
 * Reads "recipients": an array of addresses, as strings or {"email": …} objects. Addresses are
 * checked, lowercased and kept once each; the result is a JSON array in the arena.
 */
bool api_recipients_or_reply(struct req *rq, json_t *v, char **out)
{
    json_t *list, *e;
    size_t i;
    char *text;

    if (!json_is_array(v) || json_array_size(v) > RECIPIENTS_MAX) {
        resp_error(rq, ERR_INVALID_FIELD, "recipients: must be an array of at most %d addresses",
                   RECIPIENTS_MAX);
        return false;
    }
    list = json_array();
    json_array_foreach(v, i, e)
    {
        json_t *addr = json_is_object(e) ? json_object_get(e, "email") : e;
        struct str s = { json_string_value(addr), json_string_length(addr) };
        char *lower;
        bool dup = false;
        size_t k;
        json_t *have;

        s = str_trim(s);
        if (!s.ptr || !email_is_valid(s) || memchr(s.ptr, '\0', s.len)) {
            json_decref(list);
            resp_error(rq, ERR_INVALID_FIELD, "recipients[%zu]: must be an e-mail address", i);
            return false;
        }
        lower = arena_strndup(&rq->arena, s.ptr, s.len);
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        json_array_foreach(list, k, have) dup |= strcmp(json_string_value(have), lower) == 0;
        if (!dup)
            json_array_append_new(list, json_string(lower));
    }
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    *out = arena_strdup(&rq->arena, text);
    free(text);
    return true;
}

static struct package_scope scope_of(const struct membership *me)
{
    bool all = role_can(me->role, TEAM_ALL_PACKAGES);

    return (struct package_scope){ .all = all,
                                   .user_id = all ? NULL : me->user_id,
                                   .membership_id = all ? NULL : me->id };
}

/* ---- create ---- */

struct create_ctx {
    struct package pkg;
    struct tag_ref tag;
    struct arena *a;
    bool bad_teamspace;
    const struct membership *me;
    int hooks; /* webhook deliveries queued */
};

static enum store_rc create_txn(struct store *s, void *vctx)
{
    struct create_ctx *c = vctx;
    struct teamspace ts;
    enum store_rc rc;

    c->bad_teamspace = false;
    if (c->pkg.teamspace_id) {
        struct membership m;

        rc = store_teamspace_get(s, c->pkg.team_id, c->pkg.teamspace_id, c->a, &ts);
        if (rc < 0)
            return rc;
        if (rc == STORE_ONE && !role_can(c->me->role, TEAM_ALL_PACKAGES)) {
            rc = store_membership_get(s, c->pkg.team_id, c->me->user_id, c->a, &m);
            if (rc < 0)
                return rc;
            rc = STORE_NONE;
            for (size_t i = 0; i < m.nteamspaces; i++)
                if (strcmp(m.teamspace_ids[i], c->pkg.teamspace_id) == 0)
                    rc = STORE_ONE;
        }
        if (rc != STORE_ONE) {
            c->bad_teamspace = true;
            return STORE_NONE;
        }
        c->pkg.teamspace_name = ts.name;
    }
    rc = api_tag_resolve(s, c->pkg.team_id, &c->tag, c->a, &c->pkg.tag_id, &c->pkg.tag_name);
    if (rc < 0)
        return rc;
    rc = store_package_insert(s, &c->pkg);
    if (rc != STORE_ONE)
        return rc;
    rc = api_webhooks_enqueue(s, API_HOOK_CREATED, &c->pkg, c->a, &c->hooks);
    return rc < 0 ? rc : STORE_ONE;
}

void api_packages_create(struct req *rq)
{
    struct membership me;
    struct create_ctx c = { .a = &rq->arena, .me = &me };
    char *password = NULL;
    json_t *doc, *recipients = NULL, *tag = NULL;
    const struct jspec spec[] = {
        JSPEC_STR("name", &c.pkg.name, JSPEC_REQUIRED | JSPEC_NONEMPTY, NAME_MAX_CHARS),
        JSPEC_STR("description", &c.pkg.description, JSPEC_REQUIRED | JSPEC_MULTILINE,
                  DESCRIPTION_MAX_CHARS),
        JSPEC_ANY("recipients", &recipients, JSPEC_REQUIRED),
        JSPEC_STR("password", &password, 0, LINK_PASSWORD_MAX),
        JSPEC_INT("access_limit", &c.pkg.access_limit, 0, 0, 1000000),
        JSPEC_ANY("tag", &tag, 0),
        JSPEC_STR("teamspace_id", &c.pkg.teamspace_id, 0, ID_LEN),
        JSPEC_END,
    };
    int64_t now = clock_now_ms();
    enum store_rc rc;

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) || !api_body_or_reply(rq, spec, &doc))
        return;
    if (!api_recipients_or_reply(rq, recipients, &c.pkg.recipients)) {
        json_decref(doc);
        return;
    }
    api_tag_ref_parse(tag, &rq->arena, &c.tag);
    json_decref(doc);
    if (c.pkg.teamspace_id && c.pkg.teamspace_id[0] == '\0')
        c.pkg.teamspace_id = NULL;
    if (c.pkg.teamspace_id && !id_is_valid(str_from(c.pkg.teamspace_id))) {
        resp_error(rq, ERR_INVALID_FIELD, "teamspace_id: not a teamspace of this team");
        return;
    }
    if (password && password[0]) {
        char *hash = auth_password_hash(str_from(password));

        if (!hash) {
            resp_error(rq, ERR_INTERNAL, "cannot hash the password");
            return;
        }
        c.pkg.password_hash = arena_strdup(&rq->arena, hash);
        free(hash);
    }
    id_new(c.pkg.id);
    memcpy(c.pkg.team_id, me.team_id, sizeof(c.pkg.team_id));
    c.pkg.sender_user_id = me.user_id;
    c.pkg.sender = me.email;
    c.pkg.state = PACKAGE_NEW;
    c.pkg.expiry = now + DEFAULT_PERIOD_MS;
    c.pkg.usage_updated_at = TIME_UNSET;
    c.pkg.created_at = c.pkg.updated_at = now;
    rc = api_run_or_reply(rq, "packages.create", STORE_WRITE, create_txn, &c);
    if (rc < 0)
        return;
    if (c.bad_teamspace) {
        resp_error(rq, ERR_INVALID_FIELD,
                   "teamspace_id: not a teamspace of this team that you are in");
        return;
    }
    if (rc != STORE_ONE) {
        api_reply_store(rq, STORE_HARD);
        return;
    }
    if (c.hooks)
        jobs_wake(api_env(rq)->jobs);
    api_package_reply(rq, 201, &c.pkg);
}

/* ---- lists ---- */

static const char *const sort_names[PACKAGE_SORT_COUNT] = {
    [PACKAGE_SORT_CREATED_AT] = "created_at",
    [PACKAGE_SORT_NAME] = "name",
    [PACKAGE_SORT_SIZE] = "size",
    [PACKAGE_SORT_USAGE] = "usage_total_bytes",
    [PACKAGE_SORT_EXPIRY] = "expiry",
    [PACKAGE_SORT_SENDER] = "sender",
    [PACKAGE_SORT_STATE] = "status",
    [PACKAGE_SORT_TEAMSPACE] = "teamspace_id",
};

static bool sort_or_reply(struct req *rq, struct package_query *q)
{
    unsigned sort = PACKAGE_SORT_CREATED_AT;

    q->desc = true; /* newest first unless asked otherwise */
    if (!api_sort_or_reply(rq, sort_names, PACKAGE_SORT_COUNT, &sort, &q->desc))
        return false;
    q->sort = (enum package_sort)sort;
    return true;
}

/* status: repeated keys ("status=a&status=b", also "status[]=") and comma lists. */
static bool status_or_reply(struct req *rq, struct package_query *q)
{
    bool any = false;

    q->states = 0;
    for (size_t i = 0; i < rq->nquery; i++) {
        struct str rest, one;

        if (!str_eq_cstr(rq->query[i].name, "status") &&
            !str_eq_cstr(rq->query[i].name, "status[]"))
            continue;
        rest = rq->query[i].value;
        while (str_next(&rest, ',', &one)) {
            enum package_state st;

            one = str_trim(one);
            if (one.len == 0)
                continue;
            st = package_state_parse(one);
            if (!st) {
                resp_error(rq, ERR_INVALID_QUERY,
                           "status: must be new, finalized, expired or archived");
                return false;
            }
            q->states |= PACKAGE_STATE_BIT(st);
            any = true;
        }
    }
    if (!any)
        q->states = PACKAGE_STATE_BIT(PACKAGE_FINALIZED) | PACKAGE_STATE_BIT(PACKAGE_EXPIRED);
    return true;
}

/* A comma list of ids as a JSON array in the arena; NULL when the parameter is absent. */
bool api_ids_query_or_reply(struct req *rq, const char *name, const char **out)
{
    struct str v, rest, one;
    json_t *list;
    char *text;

    *out = NULL;
    if (!req_query(rq, name, &v))
        return true;
    list = json_array();
    rest = v;
    while (str_next(&rest, ',', &one)) {
        one = str_trim(one);
        if (one.len == 0)
            continue;
        if (!id_is_valid(one) || json_array_size(list) >= FILTER_IDS_MAX) {
            json_decref(list);
            resp_error(rq, ERR_INVALID_QUERY,
                       "%s: must be a comma-separated list of at most %d ids", name,
                       FILTER_IDS_MAX);
            return false;
        }
        json_array_append_new(list, json_stringn(one.ptr, one.len));
    }
    text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    *out = arena_strdup(&rq->arena, text);
    free(text);
    return true;
}

/* A date-only end of a range ("2024-05-01") means the end of that day: "on or before". */
static bool date_or_reply(struct req *rq, const char *name, bool is_end, int64_t *out)
{
    struct str v;

    *out = TIME_UNSET;
    if (!req_query(rq, name, &v) || v.len == 0)
        return true;
    if (!time_parse_iso(v, out) || *out == TIME_UNSET) {
        resp_error(rq, ERR_INVALID_QUERY, "%s: must be an ISO 8601 date or date-time", name);
        return false;
    }
    if (is_end && v.len == 10)
        *out += 86400000 - 1;
    return true;
}

bool api_text_query_or_reply(struct req *rq, const char *name, size_t max, const char **out)
{
    struct str v;

    *out = NULL;
    if (!req_query(rq, name, &v) || v.len == 0)
        return true;
    if (utf8_length(v) > max || memchr(v.ptr, '\0', v.len)) {
        resp_error(rq, ERR_INVALID_QUERY, "%s: must be at most %zu characters", name, max);
        return false;
    }
    *out = arena_strndup(&rq->arena, v.ptr, v.len);
    return true;
}

struct list_ctx {
    struct package_query q;
    struct arena *a;
    struct package *list;
    size_t n;
    int64_t total;
};

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct list_ctx *c = vctx;

    return store_packages_list(s, &c->q, c->a, &c->list, &c->n, &c->total);
}

/* Runs @c's query and answers with the records (as a page when @paged, else a bare array). */
static void list_reply(struct req *rq, struct list_ctx *c, bool paged)
{
    enum store_rc rc;
    struct jw w;

    rc = api_run_or_reply(rq, "packages.list", STORE_READ, list_txn, c);
    if (rc < 0)
        return;
    jw_init(&w, LIST_JSON_MAX);
    sbuf_reserve(&w.sb, 1024 + c->n * 1024); /* about a kilobyte a package */
    if (paged) {
        jw_object_begin(&w);
        jw_key(&w, "metadata");
        jw_object_begin(&w);
        jw_kint(&w, "total", c->total);
        jw_object_end(&w);
        jw_key(&w, "records");
    }
    jw_array_begin(&w);
    for (size_t i = 0; i < c->n; i++)
        package_write(&w, rq, &c->list[i], !paged);
    jw_array_end(&w);
    if (paged)
        jw_object_end(&w);
    api_jw_reply(rq, 200, &w);
}

/* The parameters of a v1.1 list into @q. */
static bool paged_query_or_reply(struct req *rq, struct package_query *q)
{
    const char *sender;

    if (!api_page_or_reply(rq, 50, &q->page) || !sort_or_reply(rq, q) || !status_or_reply(rq, q) ||
        !api_text_query_or_reply(rq, "name", NAME_MAX_CHARS, &q->name) ||
        !api_text_query_or_reply(rq, "sender", 254, &sender) ||
        !api_ids_query_or_reply(rq, "tags", &q->tags_json) ||
        !api_ids_query_or_reply(rq, "teamspaces", &q->teamspaces_json) ||
        !date_or_reply(rq, "created_at_start", false, &q->created_start) ||
        !date_or_reply(rq, "created_at_end", true, &q->created_end))
        return false;
    if (sender) {
        char *lower = arena_strdup(&rq->arena, sender);

        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        q->sender = lower;
    }
    return true;
}

void api_packages_list(struct req *rq)
{
    struct membership me;
    struct list_ctx c = { .a = &rq->arena };

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) || !paged_query_or_reply(rq, &c.q))
        return;
    c.q.team_id = me.team_id;
    c.q.scope = scope_of(&me);
    list_reply(rq, &c, true);
}

/* A legacy boolean flag: 1/0, true/false, yes/no, on/off. */
static bool flag_or_reply(struct req *rq, const char *name, bool dflt, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    struct str v;

    *out = dflt;
    if (!req_query(rq, name, &v) || v.len == 0)
        return true;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (str_eq_nocase(v, yes[i]))
            return (*out = true);
        if (str_eq_nocase(v, no[i]))
            return !(*out = false);
    }
    resp_error(rq, ERR_INVALID_QUERY, "%s: must be true or false (or 1 or 0)", name);
    return false;
}

/* The flags of a legacy list into @q, newest first. */
static bool legacy_query_or_reply(struct req *rq, struct package_query *q)
{
    bool expired, finalized, fresh, archived;

    if (!flag_or_reply(rq, "expired", true, &expired) ||
        !flag_or_reply(rq, "finalized", true, &finalized) ||
        !flag_or_reply(rq, "new", false, &fresh) ||
        !flag_or_reply(rq, "archived", false, &archived))
        return false;
    q->states = (expired ? PACKAGE_STATE_BIT(PACKAGE_EXPIRED) : 0) |
                (finalized ? PACKAGE_STATE_BIT(PACKAGE_FINALIZED) : 0) |
                (fresh ? PACKAGE_STATE_BIT(PACKAGE_NEW) : 0) |
                (archived ? PACKAGE_STATE_BIT(PACKAGE_ARCHIVED) : 0);
    q->sort = PACKAGE_SORT_CREATED_AT;
    q->desc = true;
    q->created_start = q->created_end = TIME_UNSET;
    return true;
}

void api_packages_list_legacy(struct req *rq)
{
    struct membership me;
    struct list_ctx c = { .a = &rq->arena };

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) || !legacy_query_or_reply(rq, &c.q))
        return;
    c.q.team_id = me.team_id;
    c.q.scope = scope_of(&me);
    list_reply(rq, &c, false);
}

void api_portal_packages_list(struct req *rq, const char *team_id, const char *portal_id,
                              bool paged)
{
    struct list_ctx c = { .a = &rq->arena };

    if (paged ? !paged_query_or_reply(rq, &c.q) : !legacy_query_or_reply(rq, &c.q))
        return;
    c.q.team_id = team_id;
    c.q.inbox = true;
    c.q.portal_id = portal_id;
    c.q.scope.all = true; /* whoever sees the portal sees its packages */
    list_reply(rq, &c, paged);
}

/* ---- one package ---- */

/* Whether the member @me may see @p. */
static bool can_see(const struct membership *me, const struct package *p)
{
    if (strcmp(p->team_id, me->team_id) != 0 || !role_can(me->role, TEAM_PACKAGES))
        return false;
    if (role_can(me->role, TEAM_ALL_PACKAGES))
        return true;
    if (p->sender_user_id && strcmp(p->sender_user_id, me->user_id) == 0)
        return true;
    for (size_t i = 0; p->teamspace_id && i < me->nteamspaces; i++)
        if (strcmp(me->teamspace_ids[i], p->teamspace_id) == 0)
            return true;
    return false;
}

struct get_ctx {
    const char *id;
    struct arena *a;
    struct package pkg;
};

static enum store_rc get_txn(struct store *s, void *vctx)
{
    struct get_ctx *c = vctx;

    return store_package_get(s, c->id, c->a, &c->pkg);
}

void api_packages_get(struct req *rq)
{
    struct membership me;
    struct get_ctx c = { .a = &rq->arena };
    char id[ID_LEN + 1];
    enum store_rc rc;

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) || !api_id_param_or_reply(rq, "package_id", id))
        return;
    c.id = id;
    rc = api_run_or_reply(rq, "packages.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE || !can_see(&me, &c.pkg)) {
        resp_error(rq, ERR_NOT_FOUND, "no such package");
        return;
    }
    api_package_reply(rq, 200, &c.pkg);
}

/* ---- management with a package token ---- */

struct update_ctx {
    struct package pkg;
    struct tag_ref tag; /* the tag the body asks for, when @set_tag */
    bool set_tag;       /* only a full update changes the tag; other changes keep it */
    struct arena *a;
    bool purge;    /* queue the removal of its bytes, in the same transaction */
    bool expiring; /* it expires now, unless it already has: webhooks are told */
    int hooks;     /* webhook deliveries queued */
};

static enum store_rc update_txn(struct store *s, void *vctx)
{
    struct update_ctx *c = vctx;
    bool expires = false;
    enum store_rc rc;

    c->hooks = 0;
    if (c->expiring) {
        struct package now;

        /* Told once: not when another request (or the sweep) expired it since it was read. */
        rc = store_package_get(s, c->pkg.id, c->a, &now);
        if (rc < 0)
            return rc;
        expires = rc == STORE_ONE && (now.state == PACKAGE_NEW || now.state == PACKAGE_FINALIZED);
    }
    if (c->set_tag) {
        rc = api_tag_resolve(s, c->pkg.team_id, &c->tag, c->a, &c->pkg.tag_id, &c->pkg.tag_name);
        if (rc < 0)
            return rc;
    }
    rc = store_package_update(s, &c->pkg);
    if (rc != STORE_ONE)
        return rc < 0 ? rc : STORE_HARD;
    if (c->purge) {
        rc = api_purge_enqueue(s, c->pkg.id);
        if (rc < 0)
            return rc;
    }
    rc = store_package_get(s, c->pkg.id, c->a, &c->pkg);
    if (rc != STORE_ONE || !expires)
        return rc;
    rc = api_webhooks_enqueue(s, API_HOOK_EXPIRED, &c->pkg, c->a, &c->hooks);
    return rc < 0 ? rc : STORE_ONE;
}

static void save_reply(struct req *rq, struct update_ctx *c, unsigned status)
{
    enum store_rc rc;

    c->pkg.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "packages.update", STORE_WRITE, update_txn, c);
    if (rc < 0)
        return;
    if (status == 204)
        resp_empty(rq, 204);
    else
        api_package_reply(rq, status, &c->pkg);
}

bool api_package_state_or_reply(struct req *rq, const struct package *p, unsigned states,
                                const char *what)
{
    if (states & PACKAGE_STATE_BIT(p->state))
        return true;
    resp_error(rq, ERR_CONFLICT, "the package is %s: %s", package_state_name(p->state), what);
    return false;
}

void api_package_update(struct req *rq)
{
    struct update_ctx c = { .a = &rq->arena };
    json_t *doc, *recipients = NULL, *tag = NULL;
    char *name = NULL;
    bool has_name = false;
    const struct jspec spec[] = {
        { .name = "name",
          .type = JSPEC_T_STRING,
          .flags = JSPEC_NONEMPTY,
          .max_len = NAME_MAX_CHARS,
          .out = &name,
          .present = &has_name },
        JSPEC_STR("description", &c.pkg.description, JSPEC_MULTILINE, DESCRIPTION_MAX_CHARS),
        JSPEC_ANY("recipients", &recipients, 0),
        JSPEC_INT("access_limit", &c.pkg.access_limit, 0, 0, 1000000),
        JSPEC_ANY("tag", &tag, 0),
        JSPEC_END,
    };

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        !api_package_state_or_reply(
            rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW) | PACKAGE_STATE_BIT(PACKAGE_FINALIZED),
            "only new and finalized packages can be changed") ||
        !api_body_or_reply(rq, spec, &doc))
        return;
    if (has_name && !name) {
        json_decref(doc);
        resp_error(rq, ERR_INVALID_FIELD, "name: must not be null");
        return;
    }
    if (name)
        c.pkg.name = name;
    if (!c.pkg.description)
        c.pkg.description = "";
    if (recipients && !json_is_null(recipients) &&
        !api_recipients_or_reply(rq, recipients, &c.pkg.recipients)) {
        json_decref(doc);
        return;
    }
    /* A missing or empty tag object takes the tag off, as the tags document says. */
    api_tag_ref_parse(tag, &rq->arena, &c.tag);
    c.set_tag = true;
    json_decref(doc);
    save_reply(rq, &c, 200);
}

void api_package_expiry(struct req *rq)
{
    struct update_ctx c = { .a = &rq->arena };
    int64_t expiry = TIME_UNSET;
    bool unlimited = false, has_expiry = false;
    const struct jspec spec[] = {
        { .name = "expiry", .type = JSPEC_T_TIME, .out = &expiry, .present = &has_expiry },
        JSPEC_BOOL("unlimited_storage", &unlimited, 0),
        JSPEC_END,
    };
    json_t *doc;

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_FINALIZED),
                                    "only a finalized package's expiry can be changed") ||
        !api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (!unlimited && (!has_expiry || expiry == TIME_UNSET)) {
        resp_error(rq, ERR_INVALID_FIELD, "expiry: is required unless unlimited_storage is true");
        return;
    }
    if (!unlimited && expiry <= clock_now_ms()) {
        resp_error(rq, ERR_INVALID_FIELD, "expiry: must be in the future");
        return;
    }
    c.pkg.unlimited_storage = unlimited;
    c.pkg.expiry = unlimited ? TIME_UNSET : expiry;
    c.pkg.custom_expiry = true;
    save_reply(rq, &c, 200);
}

void api_package_delete(struct req *rq)
{
    struct update_ctx c = { .a = &rq->arena, .purge = true };

    if (!api_package_or_reply(rq, true, &c.pkg))
        return;
    /* Deleting is expiring now: the bytes go, the name and recipients stay. The state says
     * expired and the removal of the bytes is queued in one transaction, so no download starts
     * after this answer and no byte is forgotten by a server that stops. */
    if (c.pkg.state == PACKAGE_NEW || c.pkg.state == PACKAGE_FINALIZED) {
        c.pkg.state = PACKAGE_EXPIRED;
        c.pkg.expiry = clock_now_ms();
        c.expiring = true;
    }
    save_reply(rq, &c, 204);
    if (rq->resp.status == 204)
        jobs_wake(api_env(rq)->jobs);
}

static void move_one(struct req *rq, enum package_state from, enum package_state to)
{
    struct update_ctx c = { .a = &rq->arena };

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(from),
                                    to == PACKAGE_ARCHIVED
                                        ? "only expired packages can be archived"
                                        : "only archived packages can be unarchived"))
        return;
    c.pkg.state = to;
    save_reply(rq, &c, 204);
}

void api_package_archive(struct req *rq)
{
    move_one(rq, PACKAGE_EXPIRED, PACKAGE_ARCHIVED);
}

void api_package_unarchive(struct req *rq)
{
    move_one(rq, PACKAGE_ARCHIVED, PACKAGE_EXPIRED);
}

/* ---- in bulk, by expiry window ---- */

struct move_ctx {
    const char *team_id;
    bool inbox;
    struct package_scope scope;
    enum package_state from, to;
    int64_t start, end, updated;
};

static enum store_rc move_txn(struct store *s, void *vctx)
{
    struct move_ctx *c = vctx;

    return store_packages_move_by_expiry(s, c->team_id, c->inbox, &c->scope, c->from, c->to,
                                         c->start, c->end, clock_now_ms(), &c->updated);
}

bool api_expiry_window_or_reply(struct req *rq, int64_t *start, int64_t *end)
{
    const struct jspec spec[] = {
        JSPEC_TIME("expiry_start", start, 0),
        JSPEC_TIME("expiry_end", end, 0),
        JSPEC_END,
    };
    json_t *doc;

    *start = *end = TIME_UNSET;
    if (!api_body_or_reply(rq, spec, &doc))
        return false;
    json_decref(doc);
    /* Both default to the zero time, as documented: the earliest instant there is. */
    if (*start == TIME_UNSET)
        *start = TIME_MIN_MS;
    if (*end == TIME_UNSET)
        *end = TIME_MIN_MS;
    return true;
}

static void move_many(struct req *rq, bool inbox, enum package_state from, enum package_state to)
{
    struct membership me;
    struct move_ctx c = { .inbox = inbox, .from = from, .to = to };
    enum store_rc rc;

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) ||
        !api_expiry_window_or_reply(rq, &c.start, &c.end))
        return;
    c.team_id = me.team_id;
    c.scope = scope_of(&me);
    rc = api_run_or_reply(rq, "packages.move", STORE_WRITE, move_txn, &c);
    if (rc < 0)
        return;
    resp_json(rq, 200, json_pack("{s:I}", "total_updated", (json_int_t)c.updated));
}

void api_team_archive(struct req *rq)
{
    move_many(rq, false, PACKAGE_EXPIRED, PACKAGE_ARCHIVED);
}

void api_team_unarchive(struct req *rq)
{
    move_many(rq, false, PACKAGE_ARCHIVED, PACKAGE_EXPIRED);
}

void api_inbox_archive(struct req *rq)
{
    move_many(rq, true, PACKAGE_EXPIRED, PACKAGE_ARCHIVED);
}

void api_inbox_unarchive(struct req *rq)
{
    move_many(rq, true, PACKAGE_ARCHIVED, PACKAGE_EXPIRED);
}
