/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /v1/teams/{team_id}/members: the team's memberships with their teamspaces. */
#include "core/compat.h"
#include "api/api.h"

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

void api_members_list(struct req *rq)
{
    struct membership me;
    struct members_ctx c = { .a = &rq->arena };
    struct store *s;
    enum store_rc rc;
    json_t *out;

    if (!api_team_or_reply(rq, TEAM_VIEW, &me) || !api_store_or_reply(rq, &s))
        return;
    c.team_id = me.team_id;
    rc = api_run_or_reply(rq, "members.list", STORE_READ, members_txn, &c);
    if (rc < 0)
        return;
    out = json_array();
    for (size_t i = 0; i < c.n; i++) {
        const struct membership *m = &c.list[i];
        json_t *spaces = json_array();

        for (size_t k = 0; k < m->nteamspaces; k++)
            json_array_append_new(spaces, json_string(m->teamspace_ids[k]));
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", m->id, "team_id",
                           m->team_id, "user_id", m->user_id, "email", m->email, "name", m->name,
                           "role", role_name(m->role), "teamspaces", spaces, "created_at",
                           jtime(m->created_at), "updated_at", jtime(m->updated_at)));
    }
    resp_json(rq, 200, out);
}
