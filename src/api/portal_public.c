/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Portals, the public side: what an outsider without credentials sees of a portal (by its
 * subdomain), the package they create through it, and the portal's restrictions on that
 * package's files, checked when a file is added, when it is finalized and when the package is.
 *
 * A portal accepts new packages while it is active and, when its expiry is enabled, until its
 * expiry: the seed says such a portal is "unavailable for new uploads", so its page answers 404
 * like an inactive one. A package created before then may still be finished; a package whose
 * portal was deleted may not, since the restrictions it was made under are gone with it.
 *
 * The access code is compared in constant time. Failed attempts are counted per portal and
 * client address in the database (every server sees them), as failed link secrets are: past
 * CODE_FAILS_MAX in CODE_WINDOW_MS the answer is 429, even for the right code.
 *
 * Restrictions: the file type is the end of the file's name, case-insensitively, against the
 * portal's ".ext" list (the only types allowed, or with file_type_restriction_exclude the types
 * refused); sizes and counts apply when package_size_restriction_enabled is set. At add time a
 * file counts with its declared size (none declared: 0), at finalize with what it holds. A file
 * refused at its finalize is removed, record and bytes.
 */
#include "core/compat.h"
#include "api/api.h"

#include <ctype.h>

#define LOG_COMPONENT "api"
#include "core/clock.h"
#include "core/log.h"

#define NAME_MAX_CHARS 255
#define DESCRIPTION_MAX_CHARS 10000
#define ACCESS_CODE_MAX_CHARS 255
#define SUBDOMAIN_MIN 3
#define SUBDOMAIN_MAX 53
#define DAY_MS 86400000LL
/* Failed access codes allowed per portal and client address in a window. */
#define CODE_FAILS_MAX 10
#define CODE_WINDOW_MS (15 * 60 * 1000)

/* Whether @p takes new packages at @now; else why not, in *@why. */
static bool portal_is_open(const struct portal *p, int64_t now, const char **why)
{
    if (!p->active) {
        *why = "the portal is not active";
        return false;
    }
    if (p->expiry_enabled && p->expiry != TIME_UNSET && p->expiry <= now) {
        *why = "the portal stopped accepting uploads at its expiry";
        return false;
    }
    return true;
}

/* A JSON array consign stored as text, or an empty array. */
static json_t *list_json(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;

    return json_is_array(v) ? v : (json_decref(v), json_array());
}

/* ---- the public view ---- */

struct lookup_ctx {
    const char *subdomain;
    struct arena *a;
    struct portal portal;
};

static enum store_rc lookup_txn(struct store *s, void *vctx)
{
    struct lookup_ctx *c = vctx;

    return store_portal_by_subdomain(s, c->subdomain, c->a, &c->portal);
}

int api_portal_public_find(struct req *rq, struct str v, struct portal *out)
{
    struct lookup_ctx c = { .a = &rq->arena };
    char sub[SUBDOMAIN_MAX + 1];
    const char *why;
    enum store_rc rc;

    /* Subdomains are stored lowercase; anything that cannot be one is simply not there. */
    if (v.len < SUBDOMAIN_MIN || v.len > SUBDOMAIN_MAX)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        if (!isalnum((unsigned char)v.ptr[i]) && v.ptr[i] != '-')
            return 0;
        sub[i] = (char)tolower((unsigned char)v.ptr[i]);
    }
    sub[v.len] = '\0';
    c.subdomain = sub;
    rc = api_run_or_reply(rq, "portals.public", STORE_READ, lookup_txn, &c);
    if (rc < 0)
        return -1;
    if (rc == STORE_NONE || !portal_is_open(&c.portal, clock_now_ms(), &why))
        return 0;
    *out = c.portal;
    return 1;
}

void api_portal_public_get(struct req *rq)
{
    struct portal p;
    int found = api_portal_public_find(rq, req_param(rq, "subdomain"), &p);

    if (found < 0)
        return;
    if (found == 0) {
        resp_error(rq, ERR_NOT_FOUND, "no such portal");
        return;
    }
    resp_json(rq, 200, api_portal_public_json(&p));
}

/* ---- a package through a portal ---- */

void api_portal_package_expiry(const struct portal *p, int64_t from, int64_t period_ms,
                               struct package *pkg)
{
    pkg->unlimited_storage = p->custom_expiry_days < 0;
    pkg->custom_expiry = p->custom_expiry_days > 0;
    if (pkg->unlimited_storage)
        pkg->expiry = TIME_UNSET;
    else
        pkg->expiry =
            from + (p->custom_expiry_days > 0 ? p->custom_expiry_days * DAY_MS : period_ms);
}

struct create_ctx {
    struct arena *a;
    char portal_id[ID_LEN + 1];
    struct portal portal;
    struct package pkg;
    int64_t period_ms;
    int64_t now;
    struct api_fails fails; /* failed access codes for this portal from this client */
    int hooks;              /* webhook deliveries queued */
};

static enum store_rc portal_txn(struct store *s, void *vctx)
{
    struct create_ctx *c = vctx;

    return store_portal_get(s, c->portal_id, c->a, &c->portal);
}

/* The package takes what the portal says as it is when the package is written: its team,
 * teamspace, tag, recipients, download password and storage terms. */
static enum store_rc insert_txn(struct store *s, void *vctx)
{
    struct create_ctx *c = vctx;
    const struct portal *p = &c->portal;
    enum store_rc rc = store_portal_get(s, c->portal_id, c->a, &c->portal);

    if (rc != STORE_ONE)
        return rc;
    memcpy(c->pkg.team_id, p->team_id, sizeof(c->pkg.team_id));
    c->pkg.portal_id = c->portal_id;
    c->pkg.teamspace_id = p->teamspace_id;
    c->pkg.teamspace_name = p->teamspace_name;
    c->pkg.tag_id = p->tag_id;
    c->pkg.tag_name = p->tag_name;
    c->pkg.recipients = p->recipients ? p->recipients : "[]";
    c->pkg.password_hash = p->download_password_hash;
    api_portal_package_expiry(p, c->now, c->period_ms, &c->pkg);
    rc = store_package_insert(s, &c->pkg);
    if (rc != STORE_ONE)
        return rc < 0 ? rc : STORE_HARD;
    rc = api_webhooks_enqueue(s, API_HOOK_CREATED, &c->pkg, c->a, &c->hooks);
    return rc < 0 ? rc : STORE_ONE;
}

/* Whether @code (or else the header X-Access-Code) opens @c's portal; a failure is counted.
 * Replies 401 when it does not. */
static bool code_or_reply(struct req *rq, struct create_ctx *c, const char *code)
{
    struct str given = code ? str_from(code) : req_header(rq, "X-Access-Code");

    if (given.ptr && auth_code_equal(given, c->portal.access_code))
        return true;
    api_fails_count(rq, &c->fails);
    resp_error(rq, ERR_ACCESS_CODE_INVALID,
               given.ptr ? "access_code: wrong" : "access_code: required by this portal");
    return false;
}

/* The portal of the route's portal_id, open for uploads, from a client not locked out by failed
 * access codes: true with c->portal and c->fails set; else the refusal is replied. */
static bool open_portal_or_reply(struct req *rq, struct create_ctx *c)
{
    const char *why;
    enum store_rc rc;

    if (!api_id_param_or_reply(rq, "portal_id", c->portal_id))
        return false;
    rc = api_run_or_reply(rq, "portals.get", STORE_READ, portal_txn, c);
    if (rc < 0)
        return false;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such portal");
        return false;
    }
    if (!portal_is_open(&c->portal, c->now, &why)) {
        resp_error(rq, ERR_PORTAL_CLOSED, "%s", why);
        return false;
    }
    c->fails = (struct api_fails){
        .key = arena_printf(c->a, "portal-code:%s:%s", c->portal_id, rq->client_addr),
        .max = CODE_FAILS_MAX,
        .window_ms = CODE_WINDOW_MS,
        .now = c->now,
    };
    return !c->portal.has_access_code || api_fails_below_or_reply(rq, &c->fails);
}

/* open_portal_or_reply(), then the body against @spec, which fills *@code with the access code
 * it names: true when the code opens the portal (or it needs none). */
static bool admitted_or_reply(struct req *rq, struct create_ctx *c, const struct jspec *spec,
                              char *const *code)
{
    json_t *doc;

    if (!open_portal_or_reply(rq, c) || !api_body_or_reply(rq, spec, &doc))
        return false;
    json_decref(doc);
    return !c->portal.has_access_code || code_or_reply(rq, c, *code);
}

/*
 * consign defines: POST /v1/portals/{portal_id}/access {"access_code"} answers 204 when the code
 * opens the portal (or it has none), so that an uploader's page can ask for the code before
 * anything else. A wrong code counts as a failure exactly as at package creation: the two share
 * one count, so this is no way around its limit.
 */
void api_portal_access(struct req *rq)
{
    struct create_ctx c = { .a = &rq->arena, .now = clock_now_ms() };
    char *code = NULL;
    const struct jspec spec[] = {
        JSPEC_STR("access_code", &code, 0, ACCESS_CODE_MAX_CHARS),
        JSPEC_END,
    };

    if (admitted_or_reply(rq, &c, spec, &code))
        resp_empty(rq, 204);
}

void api_portal_packages_create(struct req *rq)
{
    struct create_ctx c = { .a = &rq->arena, .now = clock_now_ms() };
    char *code = NULL, *sender = NULL;
    const struct jspec spec[] = {
        JSPEC_STR("name", &c.pkg.name, JSPEC_REQUIRED | JSPEC_NONEMPTY, NAME_MAX_CHARS),
        JSPEC_STR("sender", &sender, JSPEC_REQUIRED, 254),
        JSPEC_STR("description", &c.pkg.description, JSPEC_MULTILINE, DESCRIPTION_MAX_CHARS),
        JSPEC_STR("access_code", &code, 0, ACCESS_CODE_MAX_CHARS),
        JSPEC_END,
    };
    struct str addr;
    enum store_rc rc;

    if (!admitted_or_reply(rq, &c, spec, &code))
        return;
    addr = str_trim(str_from(sender));
    if (!email_is_valid(addr)) {
        resp_error(rq, ERR_INVALID_FIELD, "sender: must be an e-mail address");
        return;
    }
    if (!api_portal_name_matches(&c.portal, str_from(c.pkg.name))) {
        resp_error(rq, ERR_INVALID_FIELD,
                   "name: does not match this portal's package name format%s%s",
                   c.portal.name_format_label && c.portal.name_format_label[0] ? ": " : "",
                   c.portal.name_format_label ? c.portal.name_format_label : "");
        return;
    }
    c.pkg.sender = arena_strndup(c.a, addr.ptr, addr.len);
    for (char *p = c.pkg.sender; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!c.pkg.description)
        c.pkg.description = "";
    id_new(c.pkg.id);
    c.pkg.inbox = true;
    c.pkg.state = PACKAGE_NEW;
    c.pkg.usage_updated_at = TIME_UNSET;
    c.pkg.created_at = c.pkg.updated_at = c.now;
    c.period_ms = api_env(rq)->storage_period_ms;
    rc = api_run_or_reply(rq, "portals.package_create", STORE_WRITE, insert_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such portal");
        return;
    }
    if (c.hooks)
        jobs_wake(api_env(rq)->jobs);
    api_package_reply(rq, 201, &c.pkg);
}

/* ---- restrictions on a portal package's files ---- */

/* Whether the name @name has one of the types of the JSON array @types (".ext", lowercase). */
static bool has_type(const char *name, const char *types)
{
    json_t *list = list_json(types), *e;
    size_t n = strlen(name), i;
    bool found = false;

    json_array_foreach(list, i, e)
    {
        const char *t = json_string_value(e);
        size_t k = t ? strlen(t) : 0;

        if (k == 0 || k >= n)
            continue;
        found = true;
        for (size_t j = 0; j < k && found; j++)
            found = tolower((unsigned char)name[n - k + j]) == (unsigned char)t[j];
        if (found)
            break;
    }
    json_decref(list);
    return found;
}

/* The JSON array @types as ".a, .b" in @a. */
static const char *types_text(const char *types, struct arena *a)
{
    json_t *list = list_json(types), *e;
    struct sbuf sb;
    const char *out;
    size_t i;

    sbuf_init(&sb, 4096);
    json_array_foreach(list, i, e) sbuf_addf(&sb, "%s%s", i ? ", " : "", json_string_value(e));
    out = arena_strdup(a, sb.overflow ? "the portal's file_types" : sb.buf ? sb.buf : "");
    sbuf_release(&sb);
    json_decref(list);
    return out;
}

/* Refuses @f (the file a request is about, or one of the package's) by @p's type and file size
 * rules; false with @out set when it breaks one. */
static bool file_allowed(const struct portal *p, const struct file *f, struct arena *a,
                         struct api_refusal *out)
{
    if (p->file_type_restriction_enabled &&
        has_type(f->name, p->file_types) == p->file_type_restriction_exclude) {
        *out = (struct api_refusal){
            ERR_FILE_TYPE_REFUSED,
            arena_printf(a, "name: %s: this portal %s files of type %s (file_types)", f->name,
                         p->file_type_restriction_exclude ? "refuses" : "accepts only",
                         types_text(p->file_types, a)),
        };
        return false;
    }
    if (p->package_size_restriction_enabled && p->max_file_size > 0 && f->size > p->max_file_size) {
        *out = (struct api_refusal){
            ERR_PORTAL_LIMIT,
            arena_printf(a,
                         "size: %s has %lld bytes; this portal accepts files of at most %lld "
                         "bytes (max_file_size)",
                         f->name, (long long)f->size, (long long)p->max_file_size),
        };
        return false;
    }
    return true;
}

enum store_rc api_portal_files_check(struct store *s, const struct package *pkg,
                                     const struct file *f, struct arena *a, struct portal *p,
                                     struct api_refusal *out)
{
    struct file *files;
    size_t n;
    int64_t count, total = 0;
    bool listed = false;
    enum store_rc rc;

    *out = (struct api_refusal){ ERR_OK, NULL };
    if (!pkg->portal_id)
        return STORE_ONE;
    rc = store_portal_get(s, pkg->portal_id, a, p);
    if (rc < 0)
        return rc;
    if (rc == STORE_NONE) {
        *out = (struct api_refusal){ ERR_GONE, "the portal of this package was deleted: it takes "
                                               "no more files" };
        return STORE_ONE;
    }
    rc = store_files_list(s, pkg->id, a, &files, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const struct file *one = &files[i];

        if (f && strcmp(one->id, f->id) == 0) {
            one = f; /* the size it has now, not the one it declared */
            listed = true;
        }
        if (!f && !file_allowed(p, one, a, out))
            return STORE_ONE;
        total += one->size > 0 ? one->size : 0;
    }
    count = (int64_t)n;
    if (f && !listed) {
        total += f->size > 0 ? f->size : 0;
        count++;
    }
    if (f && !file_allowed(p, f, a, out))
        return STORE_ONE;
    if (!p->package_size_restriction_enabled)
        return STORE_ONE;
    if (p->max_file_count > 0 && count > p->max_file_count)
        *out = (struct api_refusal){
            ERR_PORTAL_LIMIT,
            arena_printf(a, "this portal accepts at most %lld files in a package (max_file_count)",
                         (long long)p->max_file_count),
        };
    else if (p->max_package_size > 0 && total > p->max_package_size)
        *out = (struct api_refusal){
            ERR_PORTAL_LIMIT,
            arena_printf(a,
                         "size: the package would hold %lld bytes; this portal accepts packages "
                         "of at most %lld bytes (max_package_size)",
                         (long long)total, (long long)p->max_package_size),
        };
    return STORE_ONE;
}

struct final_ctx {
    struct arena *a;
    const struct package *pkg;
    struct file file;
    struct portal portal;
    struct api_refusal refusal;
};

static enum store_rc final_txn(struct store *s, void *vctx)
{
    struct final_ctx *c = vctx;

    return api_portal_files_check(s, c->pkg, &c->file, c->a, &c->portal, &c->refusal);
}

static enum store_rc remove_txn(struct store *s, void *vctx)
{
    return store_file_delete(s, ((struct final_ctx *)vctx)->file.id);
}

bool api_portal_file_final_or_reply(struct req *rq, const struct package *pkg, const struct file *f,
                                    int64_t size)
{
    struct final_ctx c = { .a = &rq->arena, .pkg = pkg, .file = *f };

    if (!pkg->portal_id)
        return true;
    c.file.size = size;
    if (api_run_or_reply(rq, "portals.restrictions", STORE_READ, final_txn, &c) < 0)
        return false;
    if (c.refusal.err == ERR_OK)
        return true;
    /* Nothing of a refused file stays: the record goes first (bytes without one are never
     * served), then its bytes or the object store's unfinished upload. */
    if (c.refusal.err != ERR_GONE) {
        if (api_run_or_reply(rq, "files.delete", STORE_WRITE, remove_txn, &c) < 0)
            return false;
        if (!api_file_bytes_remove(api_env(rq), f))
            LOG_AT(LOG_LEVEL_WARN, rq->rid, "could not remove the bytes of refused file %s", f->id);
    }
    resp_error(rq, c.refusal.err, "%s", c.refusal.why);
    return false;
}
