/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Portals, the team side: create, read, update and delete, the team's lists (v1.1 and legacy),
 * a portal's package lists and the archive of its packages by expiry window.
 *
 * Who sees a portal (and its packages): owners and admins every portal of the team; members and
 * integration managers its regular portals in no teamspace or in one of theirs, and the private
 * portals whose access list names them; guests none. Anything else answers 404. Whoever sees a
 * portal may change it, but a member who is on a private portal's access list without the
 * permission of the access policy (owners, admins and the portal's creator have it) may neither
 * take themselves off the list nor make the portal regular. Owners, admins and the creator may
 * delete it.
 *
 * Secrets: the access code is a code a team hands to its uploaders, and MASV shows it to the
 * portal's managers, so it is kept as given and returned to whoever may change the portal (the
 * public side will compare it in constant time). The download password protects every package
 * uploaded through the portal; it is kept only as its Argon2id hash, which the packages inherit,
 * and is returned masked ("****") like a package's password: a client that sends the mask (or
 * leaves the field out) back keeps the password. Neither is ever logged.
 */
#include "core/compat.h"
#include "api/api.h"

#include <ctype.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/clock.h"

#define NAME_MAX_CHARS 255
#define MESSAGE_MAX_CHARS 10000
#define URL_MAX_CHARS 2048
#define ACCESS_CODE_MAX_CHARS 255
#define LABEL_MAX_CHARS 255
#define SUBDOMAIN_MIN 3
#define SUBDOMAIN_MAX 53
/* Most entries of the lists a portal carries. */
#define ACCESS_LIST_MAX 1000
#define FILE_TYPES_MAX 100
#define FILE_TYPE_MAX_CHARS 32
#define LINKED_MAX 50 /* cloud connections, webhooks */
/* The name format: its length, and what one match may cost (the public side runs it on every
 * name an uploader sends, so no pattern may stall a server). */
#define NAME_FORMAT_MAX_CHARS 1024
#define NAME_FORMAT_NEST_LIMIT 50
#define NAME_FORMAT_MATCH_LIMIT 100000
#define NAME_FORMAT_DEPTH_LIMIT 1000
/* What a portal's download password reads as. */
#define PASSWORD_MASK "****"

/* ---- access ---- */

static bool in_list(char *const *list, size_t n, const char *id)
{
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

/* Whether the member @me sees @p (a portal of their team). */
static bool can_see(const struct membership *me, const struct portal *p)
{
    if (!role_can(me->role, TEAM_PACKAGES))
        return false;
    if (role_can(me->role, TEAM_ALL_PACKAGES))
        return true;
    if (p->access_level == PORTAL_PRIVATE)
        return in_list(p->access_list, p->naccess, me->id);
    return !p->teamspace_id || in_list(me->teamspace_ids, me->nteamspaces, p->teamspace_id);
}

/* Whether @me has the access policy's permission on @p, beyond an access list: owners and
 * admins, and whoever created it. */
static bool has_permission(const struct membership *me, const struct portal *p)
{
    return role_can(me->role, TEAM_ALL_PACKAGES) ||
           (p->created_by && strcmp(p->created_by, me->user_id) == 0);
}

struct get_ctx {
    const char *id;
    struct arena *a;
    struct portal *out;
};

static enum store_rc get_txn(struct store *s, void *vctx)
{
    struct get_ctx *c = vctx;

    return store_portal_get(s, c->id, c->a, c->out);
}

/*
 * The portal of path parameter "portal_id" and the caller's membership of its team, when the
 * caller sees it; else a 404 (or 403 for a role without packages, as on the team's routes).
 */
static bool portal_or_reply(struct req *rq, struct portal *out, struct membership *me)
{
    char id[ID_LEN + 1];
    struct get_ctx c = { .id = id, .a = &rq->arena, .out = out };
    struct store *s;
    enum store_rc rc;
    enum err e;

    if (!api_id_param_or_reply(rq, "portal_id", id) || !api_store_or_reply(rq, &s))
        return false;
    rc = api_run_or_reply(rq, "portals.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return false;
    e = rc == STORE_ONE ? auth_team_access(s, api_principal(rq), str_from(out->team_id),
                                           TEAM_PACKAGES, &rq->arena, me)
                        : ERR_NOT_FOUND;
    if (e == ERR_FORBIDDEN) {
        resp_error(rq, e, "the role '%s' does not allow this", role_name(me->role));
        return false;
    }
    if (e != ERR_OK || !can_see(me, out)) {
        resp_error(rq, e == ERR_OK ? ERR_NOT_FOUND : e,
                   e == ERR_OK || e == ERR_NOT_FOUND ? "no such portal" : NULL);
        return false;
    }
    return true;
}

/* ---- the portal object ---- */

struct members_ctx {
    const char *team_id;
    struct arena *a;
    struct membership *list;
    size_t n;
};

static enum store_rc members_txn(struct store *s, void *vctx)
{
    struct members_ctx *c = vctx;

    return store_members_list(s, c->team_id, c->a, &c->list, &c->n);
}

/* A JSON value consign stored as text (an array it wrote), or an empty array. */
static json_t *stored_json(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

    return v ? v : json_array();
}

static json_t *text_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

/* The portal object: every field of MASV's tables; access list entries with the name and
 * e-mail of their membership among @members. */
static json_t *portal_json(const struct portal *p, const struct members_ctx *members)
{
    json_t *o = json_object(), *list = json_array();

    for (size_t i = 0; i < p->naccess; i++) {
        const struct membership *m = NULL;

        for (size_t k = 0; members && k < members->n && !m; k++)
            if (strcmp(members->list[k].id, p->access_list[i]) == 0)
                m = &members->list[k];
        json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "membership_id", p->access_list[i],
                                              "name", text_or_empty(m ? m->name : NULL), "email",
                                              text_or_empty(m ? m->email : NULL)));
    }
    json_object_set_new(o, "access_code", text_or_empty(p->access_code));
    json_object_set_new(o, "access_level", json_string(portal_access_level_name(p->access_level)));
    json_object_set_new(o, "access_list", list);
    json_object_set_new(o, "active", json_boolean(p->active));
    json_object_set_new(o, "background_url", text_or_empty(p->background_url));
    json_object_set_new(o, "cloud_connections", stored_json(p->cloud_connections));
    json_object_set_new(o, "created_at", jtime(p->created_at));
    json_object_set_new(o, "custom_expiry_days", json_integer(p->custom_expiry_days));
    json_object_set_new(o, "custom_webhooks", stored_json(p->custom_webhooks));
    json_object_set_new(o, "disable_upload_receipt", json_boolean(p->disable_upload_receipt));
    json_object_set_new(o, "download_password",
                        json_string(p->download_password_hash ? PASSWORD_MASK : ""));
    json_object_set_new(o, "expiry", jtime(p->expiry));
    json_object_set_new(o, "expiry_enabled", json_boolean(p->expiry_enabled));
    json_object_set_new(o, "file_type_restriction_enabled",
                        json_boolean(p->file_type_restriction_enabled));
    json_object_set_new(o, "file_type_restriction_exclude",
                        json_boolean(p->file_type_restriction_exclude));
    json_object_set_new(o, "file_types", stored_json(p->file_types));
    json_object_set_new(o, "has_access_code", json_boolean(p->has_access_code));
    json_object_set_new(o, "has_download_password", json_boolean(p->has_download_password));
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "logo_url", text_or_empty(p->logo_url));
    json_object_set_new(o, "max_file_count", json_integer(p->max_file_count));
    json_object_set_new(o, "max_file_size", json_integer(p->max_file_size));
    json_object_set_new(o, "max_package_size", json_integer(p->max_package_size));
    json_object_set_new(o, "message", text_or_empty(p->message));
    json_object_set_new(o, "name", text_or_empty(p->name));
    json_object_set_new(o, "package_name_format",
                        json_pack("{s:o, s:o}", "label", text_or_empty(p->name_format_label),
                                  "value", text_or_empty(p->name_format_value)));
    json_object_set_new(o, "package_name_format_enabled",
                        json_boolean(p->package_name_format_enabled));
    json_object_set_new(o, "package_size_restriction_enabled",
                        json_boolean(p->package_size_restriction_enabled));
    json_object_set_new(o, "primary_color", text_or_empty(p->primary_color));
    json_object_set_new(o, "recipients", stored_json(p->recipients));
    json_object_set_new(o, "subdomain", text_or_empty(p->subdomain));
    if (p->tag_id)
        json_object_set_new(
            o, "tag", json_pack("{s:s, s:o}", "id", p->tag_id, "name", text_or_empty(p->tag_name)));
    json_object_set_new(o, "team_id", json_string(p->team_id));
    json_object_set_new(o, "teamspace",
                        p->teamspace_id ? json_pack("{s:s, s:o}", "id", p->teamspace_id, "name",
                                                    text_or_empty(p->teamspace_name))
                                        : json_null());
    json_object_set_new(o, "teamspace_id", text_or_empty(p->teamspace_id));
    json_object_set_new(
        o, "terms_of_service",
        json_pack("{s:o, s:o, s:o, s:o}", "checkbox_label", text_or_empty(p->tos_checkbox_label),
                  "checkbox_url", text_or_empty(p->tos_checkbox_url), "description",
                  text_or_empty(p->tos_description), "title", text_or_empty(p->tos_title)));
    json_object_set_new(o, "terms_of_service_enabled", json_boolean(p->terms_of_service_enabled));
    json_object_set_new(o, "updated_at", jtime(p->updated_at));
    return o;
}

/* The fields of the portal object an uploader's page sees: a list of what may be shown, so
 * that nothing added to the object later is shown before someone decides it may be. */
static const char *const public_fields[] = {
    "id",
    "name",
    "subdomain",
    "message",
    "active",
    "logo_url",
    "background_url",
    "primary_color",
    "has_access_code",
    "has_download_password",
    "terms_of_service_enabled",
    "terms_of_service",
    "package_size_restriction_enabled",
    "max_package_size",
    "max_file_size",
    "max_file_count",
    "file_type_restriction_enabled",
    "file_type_restriction_exclude",
    "file_types",
    "package_name_format_enabled",
    "package_name_format",
    "custom_expiry_days",
    "expiry_enabled",
    "expiry",
};

json_t *api_portal_public_json(const struct portal *p)
{
    json_t *all = portal_json(p, NULL), *o = json_object();

    for (size_t i = 0; i < ARRAY_LEN(public_fields); i++)
        json_object_set(o, public_fields[i], json_object_get(all, public_fields[i]));
    json_decref(all);
    return o;
}

/* Reads the members of @team_id when one of @n portals has an access list (for their names). */
static bool members_or_reply(struct req *rq, const char *team_id, const struct portal *ps, size_t n,
                             struct members_ctx *c)
{
    bool any = false;

    *c = (struct members_ctx){ .team_id = team_id, .a = &rq->arena };
    for (size_t i = 0; i < n; i++)
        any |= ps[i].naccess > 0;
    return !any || api_run_or_reply(rq, "members.list", STORE_READ, members_txn, c) >= 0;
}

static void portal_reply(struct req *rq, unsigned status, const struct portal *p)
{
    struct members_ctx members;

    if (members_or_reply(rq, p->team_id, p, 1, &members))
        resp_json(rq, status, portal_json(p, &members));
}

/* ---- the body of a create or update ---- */

/* The lists and objects of a body, checked after the scalars. */
struct portal_body {
    json_t *recipients, *cloud_connections, *custom_webhooks, *tag, *access_list, *tos, *file_types,
        *name_format;
    char *access_level, *access_code, *download_password;
    const char **webhook_ids; /* of custom_webhooks, when the body sets them */
    size_t nwebhooks;
    bool has_code_field, has_password_field, has_teamspace_field, configure_clouds;
    struct tag_ref tag_ref;
    bool set_tag;
};

/* "field: message" as a 400. */
#define BAD(rq, ...) (resp_error((rq), ERR_INVALID_FIELD, __VA_ARGS__), false)

static bool is_http_url(const char *s)
{
    return !s || !s[0] || strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

static bool is_hex_color(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0)
        return true;
    if (s[0] != '#' || (n != 4 && n != 7))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Lowercases @s in place and checks it is a DNS label of SUBDOMAIN_MIN to SUBDOMAIN_MAX
 * characters: letters, digits and hyphens, neither first nor last a hyphen. */
static bool subdomain_ok(char *s)
{
    size_t n = strlen(s);

    if (n < SUBDOMAIN_MIN || n > SUBDOMAIN_MAX || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        s[i] = (char)tolower((unsigned char)s[i]);
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* A compact JSON text of @v in the arena; steals @v. */
static char *json_text(struct req *rq, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    char *out = arena_strdup(&rq->arena, text ? text : "[]");

    free(text);
    json_decref(v);
    return out;
}

/* @v as an array of at most @max elements (NULL: absent), or a 400 naming @field. */
static bool array_or_reply(struct req *rq, json_t *v, const char *field, size_t max)
{
    if (json_is_array(v) && json_array_size(v) <= max)
        return true;
    return BAD(rq, "%s: must be an array of at most %zu entries", field, max);
}

/* An id given as a string or as the member @key of an object; NULL when it is neither. */
static const char *id_of(json_t *e, const char *key)
{
    const char *id = json_string_value(json_is_object(e) ? json_object_get(e, key) : e);

    return id && id_is_valid(str_from(id)) ? id : NULL;
}

/* "file_types": ".ext" strings, lowercased and kept once each. */
static bool file_types_or_reply(struct req *rq, json_t *v, char **out)
{
    json_t *list, *e;
    size_t i;

    if (!array_or_reply(rq, v, "file_types", FILE_TYPES_MAX))
        return false;
    list = json_array();
    json_array_foreach(v, i, e)
    {
        const char *t = json_string_value(e);
        size_t n = t ? json_string_length(e) : 0;
        char buf[FILE_TYPE_MAX_CHARS + 1];
        bool ok =
            n >= 2 && n <= FILE_TYPE_MAX_CHARS && strlen(t) == n && t[0] == '.' && t[n - 1] != '.';
        bool dup = false;

        buf[0] = '.';
        for (size_t k = 1; ok && k < n; k++) {
            ok = isalnum((unsigned char)t[k]) || strchr("._+-", t[k]) != NULL;
            buf[k] = (char)tolower((unsigned char)t[k]);
        }
        if (!ok) {
            json_decref(list);
            return BAD(rq, "file_types[%zu]: must be a file extension with its dot, such as .mov",
                       i);
        }
        buf[n] = '\0';
        for (size_t k = 0; k < json_array_size(list) && !dup; k++)
            dup = strcmp(json_string_value(json_array_get(list, k)), buf) == 0;
        if (!dup)
            json_array_append_new(list, json_string(buf));
    }
    *out = json_text(rq, list);
    return true;
}

/* "cloud_connections": {id, target_action, sync_metadata} objects, kept in that shape. */
static bool clouds_or_reply(struct req *rq, json_t *v, char **out)
{
    json_t *list, *e;
    size_t i;

    if (!array_or_reply(rq, v, "cloud_connections", LINKED_MAX))
        return false;
    list = json_array();
    json_array_foreach(v, i, e)
    {
        char *id = NULL, *action = NULL, why[256];
        bool sync = false;
        const struct jspec spec[] = {
            JSPEC_STR("id", &id, JSPEC_REQUIRED, ID_LEN),
            JSPEC_STR("target_action", &action, JSPEC_REQUIRED | JSPEC_NONEMPTY, 64),
            JSPEC_BOOL("sync_metadata", &sync, 0),
            JSPEC_END,
        };

        if (!json_is_object(e) || jspec_parse(e, spec, &rq->arena, why, sizeof(why)) != ERR_OK ||
            !id_is_valid(str_from(id))) {
            json_decref(list);
            return BAD(rq,
                       "cloud_connections[%zu]: must be an object with an id, a target_action "
                       "and optionally sync_metadata",
                       i);
        }
        json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "id", id, "target_action", action,
                                              "sync_metadata", sync));
    }
    *out = json_text(rq, list);
    return true;
}

/* "custom_webhooks": {id} objects (or ids), kept as {id} objects; their ids into @b for the
 * check that they are the team's webhooks. */
static bool webhooks_or_reply(struct req *rq, json_t *v, struct portal_body *b, char **out)
{
    json_t *list, *e;
    size_t i;

    if (!array_or_reply(rq, v, "custom_webhooks", LINKED_MAX))
        return false;
    b->webhook_ids = arena_alloc(&rq->arena, (json_array_size(v) + 1) * sizeof(char *));
    b->nwebhooks = 0;
    list = json_array();
    json_array_foreach(v, i, e)
    {
        const char *id = id_of(e, "id");

        if (!id) {
            json_decref(list);
            return BAD(rq, "custom_webhooks[%zu]: must be an object with the id of a webhook", i);
        }
        json_array_append_new(list, json_pack("{s:s}", "id", id));
        b->webhook_ids[b->nwebhooks++] = arena_strdup(&rq->arena, id);
    }
    *out = json_text(rq, list);
    return true;
}

/* "access_list": membership ids, as strings or {membership_id} objects, kept once each. */
static bool access_list_or_reply(struct req *rq, json_t *v, struct portal *p)
{
    json_t *e;
    size_t i;

    if (!array_or_reply(rq, v, "access_list", ACCESS_LIST_MAX))
        return false;
    p->naccess = 0;
    p->access_list = arena_alloc(&rq->arena, (json_array_size(v) + 1) * sizeof(char *));
    json_array_foreach(v, i, e)
    {
        const char *id = id_of(e, "membership_id");

        if (!id)
            return BAD(rq, "access_list[%zu]: must be a membership id", i);
        if (!in_list(p->access_list, p->naccess, id))
            p->access_list[p->naccess++] = arena_strdup(&rq->arena, id);
    }
    return true;
}

static bool tos_or_reply(struct req *rq, json_t *v, struct portal *p)
{
    const struct jspec spec[] = {
        JSPEC_STR("checkbox_label", &p->tos_checkbox_label, 0, LABEL_MAX_CHARS),
        JSPEC_STR("checkbox_url", &p->tos_checkbox_url, 0, URL_MAX_CHARS),
        JSPEC_STR("title", &p->tos_title, 0, LABEL_MAX_CHARS),
        JSPEC_STR("description", &p->tos_description, JSPEC_MULTILINE, MESSAGE_MAX_CHARS),
        JSPEC_END,
    };
    char why[256];

    if (json_is_null(v)) {
        p->tos_checkbox_label = p->tos_checkbox_url = p->tos_title = p->tos_description = NULL;
        return true;
    }
    if (!json_is_object(v))
        return BAD(rq, "terms_of_service: must be an object");
    if (jspec_parse(v, spec, &rq->arena, why, sizeof(why)) != ERR_OK)
        return BAD(rq, "terms_of_service.%s", why);
    if (!is_http_url(p->tos_checkbox_url))
        return BAD(rq, "terms_of_service.checkbox_url: must be an http or https URL");
    return true;
}

static bool name_format_or_reply(struct req *rq, json_t *v, struct portal *p)
{
    const struct jspec spec[] = {
        JSPEC_STR("value", &p->name_format_value, JSPEC_MULTILINE, NAME_FORMAT_MAX_CHARS),
        JSPEC_STR("label", &p->name_format_label, 0, LABEL_MAX_CHARS),
        JSPEC_END,
    };
    char why[256];

    if (json_is_null(v)) {
        p->name_format_value = p->name_format_label = NULL;
        return true;
    }
    if (!json_is_object(v))
        return BAD(rq, "package_name_format: must be an object with a value and a label");
    if (jspec_parse(v, spec, &rq->arena, why, sizeof(why)) != ERR_OK)
        return BAD(rq, "package_name_format.%s", why);
    return true;
}

/* PCRE2 contexts that bound a pattern's compilation and each match. */
static pcre2_compile_context *name_format_context(void)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);

    if (!cc)
        abort();
    pcre2_set_max_pattern_length(cc, NAME_FORMAT_MAX_CHARS * 4);
    pcre2_set_parens_nest_limit(cc, NAME_FORMAT_NEST_LIMIT);
    return cc;
}

/* @pattern compiled as the name format (UTF-8, \C refused), or NULL with why in @why. */
static pcre2_code *name_format_compile(const char *pattern, char *why, size_t cap)
{
    pcre2_compile_context *cc = name_format_context();
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE at = 0;
    pcre2_code *re;
    int code = 0;

    re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                       PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &code, &at, cc);
    pcre2_compile_context_free(cc);
    if (!re) {
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        snprintf(why, cap, "%s at offset %zu", (const char *)msg, (size_t)at);
    }
    return re;
}

bool api_portal_name_matches(const struct portal *p, struct str name)
{
    pcre2_match_context *mc = NULL;
    pcre2_match_data *md = NULL;
    pcre2_code *re;
    char why[256];
    int rc = -1;

    if (!p->package_name_format_enabled || !p->name_format_value || !p->name_format_value[0])
        return true;
    re = name_format_compile(p->name_format_value, why, sizeof(why));
    if (!re)
        return false; /* checked when saved: a pattern that no longer compiles matches nothing */
    mc = pcre2_match_context_create(NULL);
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!mc || !md)
        abort();
    pcre2_set_match_limit(mc, NAME_FORMAT_MATCH_LIMIT);
    pcre2_set_depth_limit(mc, NAME_FORMAT_DEPTH_LIMIT);
    /* A match that runs into a limit is no match: the name is refused, the server goes on. */
    rc = pcre2_match(re, (PCRE2_SPTR)name.ptr, name.len, 0, 0, md, mc);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    pcre2_code_free(re);
    return rc >= 0;
}

/*
 * Checks the portal @p as the body left it (on update: over the stored one) against every rule
 * of the create and update tables, and fills what the body's lists and objects say. @cur is the
 * stored portal on update, NULL on create.
 */
static bool portal_rules_or_reply(struct req *rq, struct portal_body *b, struct portal *p,
                                  const struct portal *cur)
{
    char why[256];

    if (!subdomain_ok(p->subdomain))
        return BAD(rq,
                   "subdomain: must be a DNS label of %d to %d letters, digits and hyphens, "
                   "not starting or ending with a hyphen",
                   SUBDOMAIN_MIN, SUBDOMAIN_MAX);
    if (!is_http_url(p->logo_url))
        return BAD(rq, "logo_url: must be an http or https URL");
    if (!is_http_url(p->background_url))
        return BAD(rq, "background_url: must be an http or https URL");
    if (!is_hex_color(p->primary_color))
        return BAD(rq, "primary_color: must be an HTML hex color such as #0078D4");
    if (b->recipients && !json_is_null(b->recipients) &&
        !api_recipients_or_reply(rq, b->recipients, &p->recipients))
        return false;
    /* On update the attached cloud connections change only when configure_cloud_connections
     * says so; on create, whenever they are given. */
    if (b->configure_clouds && (!b->cloud_connections || json_is_null(b->cloud_connections)))
        return BAD(rq, "cloud_connections: required when configure_cloud_connections is true");
    if (b->cloud_connections && !json_is_null(b->cloud_connections) &&
        (!cur || b->configure_clouds) &&
        !clouds_or_reply(rq, b->cloud_connections, &p->cloud_connections))
        return false;
    if (b->custom_webhooks && !json_is_null(b->custom_webhooks) &&
        !webhooks_or_reply(rq, b->custom_webhooks, b, &p->custom_webhooks))
        return false;
    if (b->file_types && !json_is_null(b->file_types) &&
        !file_types_or_reply(rq, b->file_types, &p->file_types))
        return false;
    if (b->tos && !tos_or_reply(rq, b->tos, p))
        return false;
    if (b->name_format && !name_format_or_reply(rq, b->name_format, p))
        return false;
    if (b->tag) {
        const char *id = json_string_value(json_object_get(b->tag, "id"));

        if (!json_is_object(b->tag) && !json_is_null(b->tag))
            return BAD(rq, "tag: must be an object with an id or a name");
        api_tag_ref_parse(b->tag, &rq->arena, &b->tag_ref);
        if (id && id[0] && !b->tag_ref.id && !b->tag_ref.name)
            return BAD(rq, "tag.id: not a tag of this team");
        b->set_tag = true;
    }
    if (b->access_level) {
        p->access_level = portal_access_level_parse(b->access_level);
        if (!p->access_level)
            return BAD(rq, "access_level: must be regular or private");
    }
    if (b->access_list && !json_is_null(b->access_list) &&
        !access_list_or_reply(rq, b->access_list, p))
        return false;
    if (p->teamspace_id && !p->teamspace_id[0])
        p->teamspace_id = NULL;
    if (p->teamspace_id && !id_is_valid(str_from(p->teamspace_id)))
        return BAD(rq, "teamspace_id: not a teamspace of this team");

    /* The rules that tie fields together, on what the portal will be. */
    if (b->has_code_field)
        p->access_code = b->access_code;
    if (!p->has_access_code)
        p->access_code = NULL;
    else if (!p->access_code || !p->access_code[0])
        return BAD(rq, "access_code: required when has_access_code is true");
    if (!p->has_download_password) {
        p->download_password_hash = NULL;
    } else if (b->download_password && b->download_password[0] &&
               strcmp(b->download_password, PASSWORD_MASK) != 0) {
        char *hash = auth_password_hash(str_from(b->download_password));

        if (!hash) {
            resp_error(rq, ERR_INTERNAL, "cannot hash the download password");
            return false;
        }
        p->download_password_hash = arena_strdup(&rq->arena, hash);
        free(hash);
    } else if (!p->download_password_hash) {
        return BAD(rq, "download_password: required when has_download_password is true");
    }
    if (p->terms_of_service_enabled && (!p->tos_checkbox_label || !p->tos_checkbox_label[0]))
        return BAD(rq, "terms_of_service.checkbox_label: required when terms_of_service_enabled "
                       "is true");
    if (p->package_size_restriction_enabled && p->max_package_size == 0 && p->max_file_size == 0 &&
        p->max_file_count == 0)
        return BAD(rq, "max_package_size, max_file_size, max_file_count: at least one is required "
                       "when package_size_restriction_enabled is true");
    if (p->file_type_restriction_enabled && (!p->file_types || strcmp(p->file_types, "[]") == 0))
        return BAD(rq, "file_types: a list of extensions such as .mov is required when "
                       "file_type_restriction_enabled is true");
    if (p->expiry_enabled && p->expiry == TIME_UNSET)
        return BAD(rq, "expiry: required when expiry_enabled is true");
    if (p->package_name_format_enabled && (!p->name_format_value || !p->name_format_value[0]))
        return BAD(rq, "package_name_format.value: required when package_name_format_enabled is "
                       "true");
    if (p->name_format_value && p->name_format_value[0]) {
        pcre2_code *re = name_format_compile(p->name_format_value, why, sizeof(why));

        if (!re)
            return BAD(rq, "package_name_format.value: not a valid regular expression: %s", why);
        pcre2_code_free(re);
    }
    if (p->access_level == PORTAL_PRIVATE) {
        if (p->teamspace_id)
            return BAD(rq, "teamspace_id: a private portal cannot be in a teamspace");
        if (p->naccess == 0)
            return BAD(rq, "access_list: a private portal needs at least one membership of this "
                           "team");
        if (!p->has_access_code)
            return BAD(rq, "has_access_code: a private portal requires an access code");
    } else {
        p->naccess = 0; /* a regular portal has no access list */
    }
    return true;
}

/*
 * Parses a create (@cur NULL) or update body over @p, which holds the defaults or the stored
 * portal: a field left out keeps its value. Replies 400 naming the field on any mistake.
 */
static bool portal_body_or_reply(struct req *rq, struct portal *p, const struct portal *cur,
                                 struct portal_body *b)
{
    unsigned upd = cur ? JSPEC_REQUIRED : 0;
    bool has_teamspace = false;
    const struct jspec spec[] = {
        JSPEC_STR("name", &p->name, JSPEC_REQUIRED | JSPEC_NONEMPTY, NAME_MAX_CHARS),
        JSPEC_STR("subdomain", &p->subdomain, JSPEC_REQUIRED | JSPEC_NONEMPTY, SUBDOMAIN_MAX),
        JSPEC_BOOL("active", &p->active, upd),
        JSPEC_BOOL("has_access_code", &p->has_access_code, upd),
        { .name = "access_code",
          .type = JSPEC_T_STRING,
          .max_len = ACCESS_CODE_MAX_CHARS,
          .out = &b->access_code,
          .present = &b->has_code_field },
        JSPEC_STR("message", &p->message, JSPEC_MULTILINE, MESSAGE_MAX_CHARS),
        JSPEC_STR("logo_url", &p->logo_url, 0, URL_MAX_CHARS),
        JSPEC_STR("background_url", &p->background_url, 0, URL_MAX_CHARS),
        JSPEC_STR("primary_color", &p->primary_color, 0, 16),
        JSPEC_ANY("recipients", &b->recipients, 0),
        JSPEC_BOOL("has_download_password", &p->has_download_password, 0),
        JSPEC_STR("download_password", &b->download_password, 0, AUTH_PASSWORD_MAX),
        JSPEC_INT("custom_expiry_days", &p->custom_expiry_days, 0, -1, 65535),
        JSPEC_BOOL("configure_cloud_connections", &b->configure_clouds, 0),
        JSPEC_ANY("cloud_connections", &b->cloud_connections, 0),
        JSPEC_BOOL("disable_upload_receipt", &p->disable_upload_receipt, 0),
        JSPEC_ANY("custom_webhooks", &b->custom_webhooks, 0),
        JSPEC_ANY("tag", &b->tag, 0),
        JSPEC_STR("access_level", &b->access_level, 0, 16),
        JSPEC_ANY("access_list", &b->access_list, 0),
        { .name = "teamspace_id",
          .type = JSPEC_T_STRING,
          .max_len = 64,
          .out = &p->teamspace_id,
          .present = &has_teamspace },
        JSPEC_BOOL("terms_of_service_enabled", &p->terms_of_service_enabled, 0),
        JSPEC_ANY("terms_of_service", &b->tos, 0),
        JSPEC_BOOL("package_size_restriction_enabled", &p->package_size_restriction_enabled, 0),
        JSPEC_INT("max_package_size", &p->max_package_size, 0, 0, INT64_C(1) << 62),
        JSPEC_INT("max_file_size", &p->max_file_size, 0, 0, INT64_C(1) << 62),
        JSPEC_INT("max_file_count", &p->max_file_count, 0, 0, 1000000000),
        JSPEC_BOOL("file_type_restriction_enabled", &p->file_type_restriction_enabled, 0),
        JSPEC_BOOL("file_type_restriction_exclude", &p->file_type_restriction_exclude, 0),
        JSPEC_ANY("file_types", &b->file_types, 0),
        JSPEC_BOOL("expiry_enabled", &p->expiry_enabled, 0),
        JSPEC_TIME("expiry", &p->expiry, 0),
        JSPEC_BOOL("package_name_format_enabled", &p->package_name_format_enabled, 0),
        JSPEC_ANY("package_name_format", &b->name_format, 0),
        JSPEC_END,
    };
    json_t *doc;
    bool ok;

    if (!api_body_or_reply(rq, spec, &doc))
        return false;
    b->has_teamspace_field = has_teamspace;
    ok = portal_rules_or_reply(rq, b, p, cur);
    json_decref(doc);
    return ok;
}

/* ---- writing ---- */

struct save_ctx {
    struct portal portal;
    struct portal_body *body;
    const struct membership *me;
    struct arena *a;
    bool create;
    /* What the transaction found wrong (it answers STORE_NONE then): */
    const char *bad; /* a message naming the field */
    bool gone;       /* the portal was deleted meanwhile */
};

/* The references of @c's portal: its teamspace, access list, webhooks and tag belong to the
 * team. */
static enum store_rc check_refs(struct store *s, struct save_ctx *c)
{
    struct portal *p = &c->portal;
    struct membership *members;
    struct teamspace ts;
    size_t n;
    enum store_rc rc;

    if (p->teamspace_id) {
        rc = store_teamspace_get(s, p->team_id, p->teamspace_id, c->a, &ts);
        if (rc < 0)
            return rc;
        if (rc == STORE_NONE) {
            c->bad = "teamspace_id: not a teamspace of this team";
            return STORE_NONE;
        }
        if (!role_can(c->me->role, TEAM_ALL_PACKAGES) &&
            !in_list(c->me->teamspace_ids, c->me->nteamspaces, p->teamspace_id)) {
            c->bad = "teamspace_id: not a teamspace of this team that you are in";
            return STORE_NONE;
        }
        p->teamspace_name = ts.name;
    }
    if (p->naccess) {
        rc = store_members_list(s, p->team_id, c->a, &members, &n);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < p->naccess; i++) {
            bool found = false;

            for (size_t k = 0; k < n && !found; k++)
                found = strcmp(members[k].id, p->access_list[i]) == 0;
            if (!found) {
                c->bad = arena_printf(c->a, "access_list: '%s' is not a membership of this team",
                                      p->access_list[i]);
                return STORE_NONE;
            }
        }
    }
    for (size_t i = 0; i < c->body->nwebhooks; i++) {
        struct webhook w;

        rc = store_webhook_get(s, c->body->webhook_ids[i], c->a, &w);
        if (rc < 0)
            return rc;
        if (rc == STORE_NONE || strcmp(w.team_id, p->team_id) != 0) {
            c->bad = arena_printf(c->a, "custom_webhooks: '%s' is not a webhook of this team",
                                  c->body->webhook_ids[i]);
            return STORE_NONE;
        }
    }
    if (c->body->set_tag) {
        rc = api_tag_resolve(s, p->team_id, &c->body->tag_ref, c->a, &p->tag_id, &p->tag_name);
        if (rc < 0)
            return rc;
        if (c->body->tag_ref.id && !c->body->tag_ref.name && !p->tag_id) {
            c->bad = "tag.id: not a tag of this team";
            return STORE_NONE;
        }
    }
    return STORE_ONE;
}

static enum store_rc save_txn(struct store *s, void *vctx)
{
    struct save_ctx *c = vctx;
    struct portal now;
    enum store_rc rc;

    c->bad = NULL;
    c->gone = false;
    if (!c->create) {
        rc = store_portal_get(s, c->portal.id, c->a, &now);
        if (rc != STORE_ONE) {
            c->gone = rc == STORE_NONE;
            return rc;
        }
    }
    rc = check_refs(s, c);
    if (rc != STORE_ONE)
        return rc;
    rc = c->create ? store_portal_insert(s, &c->portal) : store_portal_update(s, &c->portal);
    if (rc != STORE_ONE)
        return rc;
    return store_portal_get(s, c->portal.id, c->a, &c->portal);
}

/* Runs @c and answers with the portal (@status), or with what went wrong. */
static void save_reply(struct req *rq, struct save_ctx *c, unsigned status)
{
    enum store_rc rc = api_run_or_reply(rq, c->create ? "portals.create" : "portals.update",
                                        STORE_WRITE, save_txn, c);

    if (rc < 0)
        return;
    if (c->bad)
        resp_error(rq, ERR_INVALID_FIELD, "%s", c->bad);
    else if (c->gone)
        resp_error(rq, ERR_NOT_FOUND, "no such portal");
    else if (rc != STORE_ONE)
        resp_error(rq, ERR_ALREADY_EXISTS, "subdomain: '%s' is taken by another portal",
                   c->portal.subdomain);
    else
        portal_reply(rq, status, &c->portal);
}

void api_portals_create(struct req *rq)
{
    struct membership me;
    struct portal_body body = { 0 };
    struct save_ctx c = { .body = &body, .me = &me, .a = &rq->arena, .create = true };
    int64_t now = clock_now_ms();

    c.portal.access_level = PORTAL_REGULAR;
    c.portal.expiry = TIME_UNSET;
    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) ||
        !portal_body_or_reply(rq, &c.portal, NULL, &body))
        return;
    id_new(c.portal.id);
    memcpy(c.portal.team_id, me.team_id, sizeof(c.portal.team_id));
    c.portal.created_by = me.user_id;
    c.portal.created_at = c.portal.updated_at = now;
    save_reply(rq, &c, 201);
}

void api_portal_update(struct req *rq)
{
    struct membership me;
    struct portal cur;
    struct portal_body body = { 0 };
    struct save_ctx c = { .body = &body, .me = &me, .a = &rq->arena };

    if (!portal_or_reply(rq, &cur, &me))
        return;
    c.portal = cur;
    if (!portal_body_or_reply(rq, &c.portal, &cur, &body))
        return;
    /* Someone on a private portal's access list without the policy's permission keeps it
     * private and keeps themselves on the list. */
    if (cur.access_level == PORTAL_PRIVATE && !has_permission(&me, &cur)) {
        if (c.portal.access_level != PORTAL_PRIVATE) {
            resp_error(rq, ERR_FORBIDDEN,
                       "access_level: only owners, admins and its creator may make a private "
                       "portal regular");
            return;
        }
        if (!in_list(c.portal.access_list, c.portal.naccess, me.id)) {
            resp_error(rq, ERR_FORBIDDEN,
                       "access_list: you may not take yourself off a private portal's access "
                       "list");
            return;
        }
    }
    c.portal.updated_at = clock_now_ms();
    save_reply(rq, &c, 200);
}

void api_portals_get(struct req *rq)
{
    struct membership me;
    struct portal p;

    if (portal_or_reply(rq, &p, &me))
        portal_reply(rq, 200, &p);
}

struct delete_ctx {
    const char *id;
};

static enum store_rc delete_txn(struct store *s, void *vctx)
{
    return store_portal_delete(s, ((struct delete_ctx *)vctx)->id, clock_now_ms());
}

void api_portal_delete(struct req *rq)
{
    struct membership me;
    struct portal p;
    struct delete_ctx c = { .id = p.id };
    enum store_rc rc;

    if (!portal_or_reply(rq, &p, &me))
        return;
    if (!has_permission(&me, &p)) {
        resp_error(rq, ERR_FORBIDDEN, "only owners, admins and its creator may delete a portal");
        return;
    }
    rc = api_run_or_reply(rq, "portals.delete", STORE_WRITE, delete_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE)
        resp_error(rq, ERR_NOT_FOUND, "no such portal");
    else
        resp_empty(rq, 204);
}

/* ---- the team's lists ---- */

struct list_ctx {
    struct portal_query q;
    struct arena *a;
    struct portal *list;
    size_t n;
    int64_t total;
};

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct list_ctx *c = vctx;

    return store_portals_list(s, &c->q, c->a, &c->list, &c->n, &c->total);
}

static const char *const sort_names[PORTAL_SORT_COUNT] = {
    [PORTAL_SORT_CREATED_AT] = "created_at",
    [PORTAL_SORT_NAME] = "name",
    [PORTAL_SORT_ACTIVE] = "active",
};

static bool sort_or_reply(struct req *rq, struct portal_query *q)
{
    unsigned sort = PORTAL_SORT_CREATED_AT;

    q->desc = true; /* newest first unless asked otherwise */
    if (!api_sort_or_reply(rq, sort_names, PORTAL_SORT_COUNT, &sort, &q->desc))
        return false;
    q->sort = (enum portal_sort)sort;
    return true;
}

/* Lists the caller's team's portals they see: a page of @c->q, or (@paged false) all. */
static void list_reply(struct req *rq, struct list_ctx *c, const struct membership *me, bool paged)
{
    struct members_ctx members;
    json_t *records;

    c->q.team_id = me->team_id;
    c->q.scope.all = role_can(me->role, TEAM_ALL_PACKAGES);
    c->q.scope.membership_id = c->q.scope.all ? NULL : me->id;
    if (api_run_or_reply(rq, "portals.list", STORE_READ, list_txn, c) < 0 ||
        !members_or_reply(rq, me->team_id, c->list, c->n, &members))
        return;
    records = json_array();
    for (size_t i = 0; i < c->n; i++)
        json_array_append_new(records, portal_json(&c->list[i], &members));
    resp_json(rq, 200, paged ? api_page_json(c->total, records) : records);
}

void api_portals_list(struct req *rq)
{
    struct membership me;
    struct list_ctx c = { .a = &rq->arena };
    const char *subdomain;

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) || !api_page_or_reply(rq, 50, &c.q.page) ||
        !sort_or_reply(rq, &c.q) ||
        !api_text_query_or_reply(rq, "name", NAME_MAX_CHARS, &c.q.name) ||
        !api_text_query_or_reply(rq, "subdomain", SUBDOMAIN_MAX, &subdomain) ||
        !api_ids_query_or_reply(rq, "tags", &c.q.tags_json) ||
        !api_ids_query_or_reply(rq, "teamspaces", &c.q.teamspaces_json))
        return;
    if (subdomain) {
        char *lower = arena_strdup(&rq->arena, subdomain);

        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        c.q.subdomain = lower;
    }
    list_reply(rq, &c, &me, true);
}

void api_portals_list_legacy(struct req *rq)
{
    struct membership me;
    struct list_ctx c = { .a = &rq->arena };

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me))
        return;
    c.q.sort = PORTAL_SORT_CREATED_AT;
    c.q.desc = true;
    list_reply(rq, &c, &me, false);
}

/* ---- a portal's packages ---- */

void api_portal_packages(struct req *rq)
{
    struct membership me;
    struct portal p;

    if (portal_or_reply(rq, &p, &me))
        api_portal_packages_list(rq, p.team_id, p.id, true);
}

void api_portal_packages_legacy(struct req *rq)
{
    struct membership me;
    struct portal p;

    if (portal_or_reply(rq, &p, &me))
        api_portal_packages_list(rq, p.team_id, p.id, false);
}

struct move_ctx {
    const char *portal_id;
    const char *package_id; /* NULL: every package of the portal */
    struct arena *a;
    enum package_state from, to;
    int64_t start, end, updated;
    bool no_package;
};

static enum store_rc move_txn(struct store *s, void *vctx)
{
    struct move_ctx *c = vctx;

    c->no_package = false;
    if (c->package_id) {
        struct package pkg;
        enum store_rc rc = store_package_get(s, c->package_id, c->a, &pkg);

        if (rc < 0)
            return rc;
        if (rc == STORE_NONE || !pkg.portal_id || strcmp(pkg.portal_id, c->portal_id) != 0) {
            c->no_package = true;
            return STORE_NONE;
        }
    }
    return store_portal_packages_move(s, c->portal_id, c->package_id, c->from, c->to, c->start,
                                      c->end, clock_now_ms(), &c->updated);
}

/* Moves the portal's packages (or the one of path parameter "package_id", when the route has
 * it) from @from to @to by expiry window: {"total_updated": n}. */
static void move_reply(struct req *rq, enum package_state from, enum package_state to)
{
    struct membership me;
    struct portal p;
    char package_id[ID_LEN + 1];
    struct move_ctx c = { .a = &rq->arena, .from = from, .to = to };

    if (!portal_or_reply(rq, &p, &me))
        return;
    if (req_param(rq, "package_id").ptr) {
        if (!api_id_param_or_reply(rq, "package_id", package_id))
            return;
        c.package_id = package_id;
    }
    if (!api_expiry_window_or_reply(rq, &c.start, &c.end))
        return;
    c.portal_id = p.id;
    if (api_run_or_reply(rq, "portals.packages.move", STORE_WRITE, move_txn, &c) < 0)
        return;
    if (c.no_package)
        resp_error(rq, ERR_NOT_FOUND, "no such package in this portal");
    else
        resp_json(rq, 200, json_pack("{s:I}", "total_updated", (json_int_t)c.updated));
}

void api_portal_archive(struct req *rq)
{
    move_reply(rq, PACKAGE_EXPIRED, PACKAGE_ARCHIVED);
}

void api_portal_unarchive(struct req *rq)
{
    move_reply(rq, PACKAGE_ARCHIVED, PACKAGE_EXPIRED);
}
