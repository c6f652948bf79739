/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /v1/auth: e-mail and password for a user token. A wrong e-mail and a wrong password
 * answer the same, in the same time. Failures are counted per address and per client in the
 * database (so every server process sees them); past the limit the answer is 429 until the
 * window ends, even for the right password.
 */
#include "core/compat.h"
#include "api/api.h"

#define LOG_COMPONENT "api.auth"
#include "core/clock.h"
#include "core/log.h"

#define LOGIN_WINDOW_MS (15 * 60 * 1000)
#define LOGIN_MAX_PER_EMAIL 10
#define LOGIN_MAX_PER_CLIENT 50

struct login_ctx {
    const char *email;
    const char *key_email;
    const char *key_client;
    int64_t now;
    struct arena *a;
    struct user user;
    bool found;
    int64_t count_email, count_client, reset_at;
    struct membership *teams;
    size_t nteams;
};

static enum store_rc peek_txn(struct store *s, void *vctx)
{
    struct login_ctx *c = vctx;
    int64_t r1, r2;
    enum store_rc rc;

    rc = store_ratelimit_peek(s, c->key_email, c->now, LOGIN_WINDOW_MS, &c->count_email, &r1);
    if (rc < 0)
        return rc;
    rc = store_ratelimit_peek(s, c->key_client, c->now, LOGIN_WINDOW_MS, &c->count_client, &r2);
    if (rc < 0)
        return rc;
    c->reset_at = r1 > r2 ? r1 : r2;
    rc = store_user_by_email(s, c->email, c->a, &c->user);
    c->found = rc == STORE_ONE;
    return rc < 0 ? rc : STORE_ONE;
}

static enum store_rc fail_txn(struct store *s, void *vctx)
{
    struct login_ctx *c = vctx;
    int64_t reset;
    enum store_rc rc;

    /* Counts of windows long over go, so guessing at many addresses does not grow the table. */
    rc = store_ratelimit_prune(s, c->now - LOGIN_WINDOW_MS);
    if (rc < 0)
        return rc;
    rc = store_ratelimit_hit(s, c->key_email, c->now, LOGIN_WINDOW_MS, &c->count_email, &reset);
    if (rc < 0)
        return rc;
    return store_ratelimit_hit(s, c->key_client, c->now, LOGIN_WINDOW_MS, &c->count_client, &reset);
}

static enum store_rc success_txn(struct store *s, void *vctx)
{
    struct login_ctx *c = vctx;
    enum store_rc rc = store_ratelimit_clear(s, c->key_email);

    if (rc < 0)
        return rc;
    rc = store_memberships_of_user(s, c->user.id, c->a, &c->teams, &c->nteams);
    return rc < 0 ? rc : STORE_ONE;
}

static void reply_limited(struct req *rq, const struct login_ctx *c)
{
    char secs[24];
    int64_t wait = (c->reset_at - c->now + 999) / 1000;

    snprintf(secs, sizeof(secs), "%lld", (long long)(wait > 0 ? wait : 1));
    resp_error(rq, ERR_RATE_LIMITED, "too many failed sign-ins; try again in %s seconds", secs);
    resp_header_add(rq, "Retry-After", secs);
}

void api_auth_login(struct req *rq)
{
    char *email = NULL, *password = NULL;
    const struct jspec spec[] = {
        JSPEC_STR("email", &email, JSPEC_REQUIRED, 254),
        JSPEC_STR("password", &password, JSPEC_REQUIRED, AUTH_PASSWORD_MAX),
        JSPEC_END,
    };
    struct login_ctx c = { .now = clock_now_ms(), .a = &rq->arena };
    struct store *s;
    json_t *doc, *teams;
    enum store_rc rc;
    char *token;
    struct str pw;

    if (!api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (!api_store_or_reply(rq, &s))
        return;
    for (char *p = email; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    c.email = email;
    c.key_email = arena_printf(&rq->arena, "login:email:%s", email);
    c.key_client = arena_printf(&rq->arena, "login:client:%s", rq->client_addr);
    rc = api_run_or_reply(rq, "auth.login.peek", STORE_READ, peek_txn, &c);
    if (rc < 0)
        return;
    if (c.count_email >= LOGIN_MAX_PER_EMAIL || c.count_client >= LOGIN_MAX_PER_CLIENT) {
        reply_limited(rq, &c);
        return;
    }
    pw = str_from(password);
    if (!c.found ? (auth_password_burn(pw), true)
                 : !auth_password_verify(c.user.password_hash, pw)) {
        rc = api_run_or_reply(rq, "auth.login.fail", STORE_WRITE, fail_txn, &c);
        if (rc < 0)
            return;
        LOG_AT(LOG_LEVEL_INFO, rq->rid, "failed sign-in from %s", rq->client_addr);
        resp_error(rq, ERR_LOGIN_FAILED, NULL);
        return;
    }
    rc = api_run_or_reply(rq, "auth.login.ok", STORE_WRITE, success_txn, &c);
    if (rc < 0)
        return;
    teams = json_array();
    for (size_t i = 0; i < c.nteams; i++)
        json_array_append_new(teams,
                              json_pack("{s:s, s:s, s:s, s:s}", "id", c.teams[i].team_id, "name",
                                        c.teams[i].team_name, "role", role_name(c.teams[i].role),
                                        "membership_id", c.teams[i].id));
    token = auth_user_token_new(api_env(rq)->secret, c.user.id, c.now / 1000);
    resp_json(rq, 200,
              json_pack("{s:s, s:{s:s, s:s, s:s, s:o, s:o}, s:o}", "token", token, "user", "id",
                        c.user.id, "email", c.user.email, "name", c.user.name, "created_at",
                        jtime(c.user.created_at), "updated_at", jtime(c.user.updated_at), "teams",
                        teams));
    free(token);
}
