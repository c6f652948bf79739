/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tags: create, list, delete, and the resolution of a tag object on a package or portal. The
 * rule is the one MASV documents: a known id of the caller's team wins; else a name finds the
 * team's tag of that name or creates it; an empty or missing object means no tag. A tag id of
 * another team is never applied, and no error is given for an unknown one.
 */
#include "core/compat.h"
#include "api/api.h"

#include "core/clock.h"

#define TAG_NAME_MAX 255

static json_t *tag_json(const struct tag *t)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o}", "id", t->id, "name", t->name, "team_id",
                     t->team_id, "active", 1, "created_at", jtime(t->created_at), "updated_at",
                     jtime(t->updated_at));
}

void api_tag_ref_parse(json_t *v, struct arena *a, struct tag_ref *out)
{
    const char *id, *name;

    *out = (struct tag_ref){ 0 };
    if (!json_is_object(v))
        return;
    id = json_string_value(json_object_get(v, "id"));
    name = json_string_value(json_object_get(v, "name"));
    if (id && id_is_valid(str_from(id)))
        out->id = arena_strdup(a, id);
    if (name && str_trim(str_from(name)).len > 0 && utf8_length(str_from(name)) <= TAG_NAME_MAX &&
        !str_has_ctl(str_from(name)) &&
        strlen(name) == json_string_length(json_object_get(v, "name")))
        out->name = arena_strdup(a, name);
}

enum store_rc api_tag_resolve(struct store *s, const char *team_id, const struct tag_ref *ref,
                              struct arena *a, char **tag_id, char **tag_name)
{
    struct tag t;
    enum store_rc rc;

    *tag_id = NULL;
    *tag_name = NULL;
    if (ref->id) {
        rc = store_tag_get(s, ref->id, a, &t);
        if (rc < 0)
            return rc;
        if (rc == STORE_ONE && strcmp(t.team_id, team_id) == 0)
            goto found;
    }
    if (!ref->name)
        return STORE_ONE;
    rc = store_tag_by_name(s, team_id, ref->name, a, &t);
    if (rc == STORE_NONE) {
        t = (struct tag){ .name = ref->name };
        id_new(t.id);
        memcpy(t.team_id, team_id, ID_LEN + 1);
        t.created_at = t.updated_at = clock_now_ms();
        rc = store_tag_insert(s, &t);
        if (rc == STORE_NONE) /* created meanwhile by someone else: run again */
            return STORE_RETRY;
    }
    if (rc < 0)
        return rc;
found:
    *tag_id = arena_strdup(a, t.id);
    *tag_name = t.name;
    return STORE_ONE;
}

struct tag_ctx {
    struct tag tag;
    const char *team_id;
    struct arena *a;
    struct tag *list;
    size_t n;
};

static enum store_rc create_txn(struct store *s, void *vctx)
{
    struct tag_ctx *c = vctx;
    enum store_rc rc = store_tag_insert(s, &c->tag);

    /* The name is taken: answer with the existing tag, as MASV's "find or create" does. */
    if (rc == STORE_NONE)
        rc = store_tag_by_name(s, c->tag.team_id, c->tag.name, c->a, &c->tag);
    return rc;
}

void api_tags_create(struct req *rq)
{
    struct membership me;
    struct tag_ctx c = { .a = &rq->arena };
    const struct jspec spec[] = {
        JSPEC_STR("name", &c.tag.name, JSPEC_REQUIRED | JSPEC_NONEMPTY, TAG_NAME_MAX),
        JSPEC_END,
    };
    struct store *s;
    enum store_rc rc;
    json_t *doc;

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me) || !api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (!api_store_or_reply(rq, &s))
        return;
    id_new(c.tag.id);
    memcpy(c.tag.team_id, me.team_id, sizeof(c.tag.team_id));
    c.tag.created_at = c.tag.updated_at = clock_now_ms();
    rc = store_run(s, "tags.create", STORE_WRITE, create_txn, &c);
    if (rc != STORE_ONE) {
        api_reply_store(rq, rc < 0 ? rc : STORE_HARD);
        return;
    }
    resp_json(rq, 201, tag_json(&c.tag));
}

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct tag_ctx *c = vctx;

    return store_tags_list(s, c->team_id, c->a, &c->list, &c->n);
}

void api_tags_list(struct req *rq)
{
    struct membership me;
    struct tag_ctx c = { .a = &rq->arena };
    enum store_rc rc;
    json_t *out;

    if (!api_team_or_reply(rq, TEAM_PACKAGES, &me))
        return;
    c.team_id = me.team_id;
    rc = api_run_or_reply(rq, "tags.list", STORE_READ, list_txn, &c);
    if (rc < 0)
        return;
    out = json_array();
    for (size_t i = 0; i < c.n; i++)
        json_array_append_new(out, tag_json(&c.list[i]));
    resp_json(rq, 200, out);
}

static enum store_rc get_txn(struct store *s, void *vctx)
{
    struct tag_ctx *c = vctx;

    return store_tag_get(s, c->tag.id, c->a, &c->tag);
}

static enum store_rc delete_txn(struct store *s, void *vctx)
{
    struct tag_ctx *c = vctx;

    return store_tag_delete(s, c->tag.id);
}

void api_tags_delete(struct req *rq)
{
    struct tag_ctx c = { .a = &rq->arena };
    struct membership me;
    struct store *s;
    enum store_rc rc;
    enum err e;

    if (!api_id_param_or_reply(rq, "tag_id", c.tag.id) || !api_store_or_reply(rq, &s))
        return;
    rc = api_run_or_reply(rq, "tags.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return;
    e = rc == STORE_ONE ? auth_team_access(s, api_principal(rq), str_from(c.tag.team_id),
                                           TEAM_DELETE_TAGS, &rq->arena, &me)
                        : ERR_NOT_FOUND;
    if (e != ERR_OK) {
        resp_error(rq, e, e == ERR_NOT_FOUND ? "no such tag" : NULL);
        return;
    }
    rc = api_run_or_reply(rq, "tags.delete", STORE_WRITE, delete_txn, &c);
    if (rc < 0)
        return;
    resp_empty(rq, 204);
}
