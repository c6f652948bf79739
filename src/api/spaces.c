/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Teamspaces: groups of a team's memberships. Owners and admins create them and see them all;
 * everyone else sees the teamspaces they belong to.
 */
#include "core/compat.h"
#include "api/api.h"

#include "core/clock.h"

/* Most members named in one request. */
#define SPACE_MEMBERS_MAX 10000

static json_t *space_json(const struct teamspace *t)
{
    json_t *members = json_array();

    for (size_t i = 0; i < t->nmembers; i++)
        json_array_append_new(members, json_string(t->member_ids[i]));
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "id", t->id, "team_id", t->team_id, "name",
                     t->name, "member_ids", members, "created_at", jtime(t->created_at),
                     "updated_at", jtime(t->updated_at));
}

struct space_ctx {
    struct teamspace space;
    const char *unknown; /* a member id that is not a membership of the team */
    struct arena *a;
    const char *membership_filter;
    struct store_page page;
    struct teamspace *list;
    size_t n;
    int64_t total;
};

static enum store_rc create_txn(struct store *s, void *vctx)
{
    struct space_ctx *c = vctx;
    struct membership *members;
    size_t n;
    enum store_rc rc;

    c->unknown = NULL;
    rc = store_members_list(s, c->space.team_id, c->a, &members, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < c->space.nmembers; i++) {
        bool found = false;

        for (size_t k = 0; k < n && !found; k++)
            found = strcmp(members[k].id, c->space.member_ids[i]) == 0;
        if (!found) {
            c->unknown = c->space.member_ids[i];
            return STORE_NONE;
        }
    }
    return store_teamspace_insert(s, &c->space);
}

/* Reads "member_ids": an array of membership ids (strings); replies 400 when malformed. */
static bool member_ids_or_reply(struct req *rq, json_t *v, struct teamspace *t)
{
    size_t n, i;
    json_t *e;

    if (!v || json_is_null(v))
        return true;
    if (!json_is_array(v) || json_array_size(v) > SPACE_MEMBERS_MAX) {
        resp_error(rq, ERR_INVALID_FIELD,
                   "member_ids: must be an array of at most %d membership ids", SPACE_MEMBERS_MAX);
        return false;
    }
    n = json_array_size(v);
    t->member_ids = arena_alloc(&rq->arena, (n ? n : 1) * sizeof(char *));
    json_array_foreach(v, i, e)
    {
        const char *id = json_string_value(e);

        if (!id || !id_is_valid(str_from(id))) {
            resp_error(rq, ERR_INVALID_FIELD, "member_ids[%zu]: must be a membership id", i);
            return false;
        }
        for (size_t k = 0; k < t->nmembers && id; k++)
            if (strcmp(t->member_ids[k], id) == 0)
                id = NULL; /* named twice: a member once */
        if (id)
            t->member_ids[t->nmembers++] = arena_strdup(&rq->arena, id);
    }
    return true;
}

void api_spaces_create(struct req *rq)
{
    struct membership me;
    struct space_ctx c = { .a = &rq->arena };
    json_t *doc, *ids = NULL;
    const struct jspec spec[] = {
        JSPEC_STR("name", &c.space.name, JSPEC_REQUIRED | JSPEC_NONEMPTY, 255),
        JSPEC_ANY("member_ids", &ids, 0),
        JSPEC_END,
    };
    enum store_rc rc;

    if (!api_team_or_reply(rq, TEAM_MANAGE_SPACES, &me) || !api_body_or_reply(rq, spec, &doc))
        return;
    if (!member_ids_or_reply(rq, ids, &c.space)) {
        json_decref(doc);
        return;
    }
    json_decref(doc);
    id_new(c.space.id);
    memcpy(c.space.team_id, me.team_id, sizeof(c.space.team_id));
    c.space.created_at = c.space.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "spaces.create", STORE_WRITE, create_txn, &c);
    if (rc < 0)
        return;
    if (c.unknown) {
        resp_error(rq, ERR_INVALID_FIELD, "member_ids: '%s' is not a membership of this team",
                   c.unknown);
        return;
    }
    if (rc != STORE_ONE) {
        api_reply_store(rq, STORE_HARD);
        return;
    }
    resp_json(rq, 201, space_json(&c.space));
}

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct space_ctx *c = vctx;

    return store_teamspaces_list(s, c->space.team_id, c->membership_filter, c->page, c->a, &c->list,
                                 &c->n, &c->total);
}

void api_spaces_list(struct req *rq)
{
    struct membership me;
    struct space_ctx c = { .a = &rq->arena };
    enum store_rc rc;
    json_t *records;

    if (!api_team_or_reply(rq, TEAM_LIST_SPACES, &me) || !api_page_or_reply(rq, 50, &c.page))
        return;
    memcpy(c.space.team_id, me.team_id, sizeof(c.space.team_id));
    c.membership_filter = role_can(me.role, TEAM_SEE_ALL_SPACES) ? NULL : me.id;
    rc = api_run_or_reply(rq, "spaces.list", STORE_READ, list_txn, &c);
    if (rc < 0)
        return;
    records = json_array();
    for (size_t i = 0; i < c.n; i++)
        json_array_append_new(records, space_json(&c.list[i]));
    resp_json(rq, 200, api_page_json(c.total, records));
}
