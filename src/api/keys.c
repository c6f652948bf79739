/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * API keys: create (the value is shown once, only its hash is kept), list, read, change (name,
 * description, expiry, state) and delete. Owners, admins and integration managers manage the
 * keys of their team; a key acts with the rights of the user it belongs to, in its team only.
 */
#include "core/compat.h"
#include "api/api.h"

#include "core/clock.h"

static json_t *key_json(const struct api_key *k)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:o, s:o}", "id", k->id, "name",
                     k->name ? k->name : "", "description", k->description ? k->description : "",
                     "expiry", jtime(k->expiry), "state",
                     k->state == API_KEY_ACTIVE ? "active" : "inactive", "team_id", k->team_id,
                     "user_id", k->user_id, "membership_id", k->membership_id, "created_at",
                     jtime(k->created_at), "updated_at", jtime(k->updated_at));
}

/* Parses "active"/"inactive"; replies 400 otherwise. */
static bool state_or_reply(struct req *rq, const char *text, enum api_key_state *out)
{
    if (strcmp(text, "active") == 0)
        *out = API_KEY_ACTIVE;
    else if (strcmp(text, "inactive") == 0)
        *out = API_KEY_INACTIVE;
    else {
        resp_error(rq, ERR_INVALID_FIELD, "state: must be \"active\" or \"inactive\"");
        return false;
    }
    return true;
}

static bool expiry_or_reply(struct req *rq, int64_t expiry)
{
    if (expiry != TIME_UNSET && expiry <= clock_now_ms()) {
        resp_error(rq, ERR_INVALID_FIELD, "expiry: must be in the future");
        return false;
    }
    return true;
}

struct key_ctx {
    struct api_key key;
    const char *team_id;
    struct arena *a;
    struct api_key *list;
    size_t n;
};

static enum store_rc insert_txn(struct store *s, void *vctx)
{
    struct key_ctx *c = vctx;

    return store_api_key_insert(s, &c->key);
}

void api_keys_create(struct req *rq)
{
    struct membership me;
    struct key_ctx c = { .key = { .expiry = TIME_UNSET, .state = API_KEY_ACTIVE } };
    char *state = NULL;
    char value[AUTH_API_KEY_LEN + 1];
    const struct jspec spec[] = {
        JSPEC_STR("name", &c.key.name, 0, 255),
        JSPEC_STR("description", &c.key.description, JSPEC_MULTILINE, 1000),
        JSPEC_TIME("expiry", &c.key.expiry, 0),
        JSPEC_STR("state", &state, 0, 16),
        JSPEC_END,
    };
    struct store *s;
    enum store_rc rc;
    json_t *doc, *out;

    if (!api_team_or_reply(rq, TEAM_MANAGE_KEYS, &me) || !api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if ((state && !state_or_reply(rq, state, &c.key.state)) || !expiry_or_reply(rq, c.key.expiry) ||
        !api_store_or_reply(rq, &s))
        return;
    auth_api_key_new(c.key.id, value, c.key.secret_hash);
    memcpy(c.key.team_id, me.team_id, sizeof(c.key.team_id));
    memcpy(c.key.user_id, me.user_id, sizeof(c.key.user_id));
    memcpy(c.key.membership_id, me.id, sizeof(c.key.membership_id));
    c.key.created_at = c.key.updated_at = clock_now_ms();
    rc = store_run(s, "api_keys.create", STORE_WRITE, insert_txn, &c);
    if (rc != STORE_ONE) {
        api_reply_store(rq, rc < 0 ? rc : STORE_HARD);
        return;
    }
    out = key_json(&c.key);
    json_object_set_new(out, "key", json_string(value));
    resp_json(rq, 201, out);
}

static enum store_rc list_txn(struct store *s, void *vctx)
{
    struct key_ctx *c = vctx;

    return store_api_keys_list(s, c->team_id, c->a, &c->list, &c->n);
}

void api_keys_list(struct req *rq)
{
    struct membership me;
    struct key_ctx c = { .a = &rq->arena };
    enum store_rc rc;
    json_t *out;

    if (!api_team_or_reply(rq, TEAM_MANAGE_KEYS, &me))
        return;
    c.team_id = me.team_id;
    rc = api_run_or_reply(rq, "api_keys.list", STORE_READ, list_txn, &c);
    if (rc < 0)
        return;
    out = json_array();
    for (size_t i = 0; i < c.n; i++)
        json_array_append_new(out, key_json(&c.list[i]));
    resp_json(rq, 200, out);
}

static enum store_rc get_txn(struct store *s, void *vctx)
{
    struct key_ctx *c = vctx;

    return store_api_key_get(s, c->key.id, c->a, &c->key);
}

/* Loads the key of the path and checks that the caller may manage keys in its team. */
static bool key_or_reply(struct req *rq, struct api_key *out)
{
    struct key_ctx c = { .a = &rq->arena };
    struct membership me;
    struct store *s;
    enum store_rc rc;
    enum err e;

    if (!api_id_param_or_reply(rq, "key_id", c.key.id) || !api_store_or_reply(rq, &s))
        return false;
    rc = api_run_or_reply(rq, "api_keys.get", STORE_READ, get_txn, &c);
    if (rc < 0)
        return false;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such API key");
        return false;
    }
    e = auth_team_access(s, api_principal(rq), str_from(c.key.team_id), TEAM_MANAGE_KEYS,
                         &rq->arena, &me);
    if (e != ERR_OK) {
        if (e == ERR_NOT_FOUND)
            resp_error(rq, e, "no such API key");
        else
            resp_error(rq, e, NULL);
        return false;
    }
    *out = c.key;
    return true;
}

void api_keys_get(struct req *rq)
{
    struct api_key k;

    if (key_or_reply(rq, &k))
        resp_json(rq, 200, key_json(&k));
}

static enum store_rc update_txn(struct store *s, void *vctx)
{
    struct key_ctx *c = vctx;

    return store_api_key_update(s, &c->key);
}

void api_keys_update(struct req *rq)
{
    struct key_ctx c = { 0 };
    char *state = NULL;
    bool has_expiry = false;
    int64_t expiry = TIME_UNSET;
    const struct jspec spec[] = {
        JSPEC_STR("name", &c.key.name, 0, 255),
        JSPEC_STR("description", &c.key.description, JSPEC_MULTILINE, 1000),
        { .name = "expiry", .type = JSPEC_T_TIME, .out = &expiry, .present = &has_expiry },
        JSPEC_STR("state", &state, 0, 16),
        JSPEC_END,
    };
    enum store_rc rc;
    json_t *doc;

    if (!key_or_reply(rq, &c.key) || !api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (has_expiry) {
        if (!expiry_or_reply(rq, expiry))
            return;
        c.key.expiry = expiry;
    }
    if (state && !state_or_reply(rq, state, &c.key.state))
        return;
    c.key.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "api_keys.update", STORE_WRITE, update_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such API key");
        return;
    }
    resp_json(rq, 200, key_json(&c.key));
}

static enum store_rc delete_txn(struct store *s, void *vctx)
{
    struct key_ctx *c = vctx;

    return store_api_key_delete(s, c->key.id);
}

void api_keys_delete(struct req *rq)
{
    struct key_ctx c = { 0 };
    enum store_rc rc;

    if (!key_or_reply(rq, &c.key))
        return;
    rc = api_run_or_reply(rq, "api_keys.delete", STORE_WRITE, delete_txn, &c);
    if (rc < 0)
        return;
    resp_empty(rq, 204);
}
