/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Which webhooks hear of an event, in-process: a team's package goes to the team's active
 * webhooks subscribed to the event; a package received through a portal goes to the portal's
 * custom_webhooks only (active, subscribed, of the portal's team, each once). What is queued is
 * one webhook.deliver job per webhook, whose body is the event as it happened.
 */
#include "core/compat.h"

#include "core/clock.h"
#include "loop.h"
#include "tap.h"

static struct provisioned owner, other;

#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static const char *at(const char *fmt, ...)
{
    static char buf[8][1024];
    static int k;
    va_list ap;

    k = (k + 1) % 8;
    va_start(ap, fmt);
    vsnprintf(buf[k], sizeof(buf[k]), fmt, ap);
    va_end(ap);
    return buf[k];
}

/* Creates a webhook through the API; its id into @id. */
static void hook(const struct provisioned *team, const char *events, bool active,
                 char id[ID_LEN + 1])
{
    struct loop_resp r =
        loop_call("POST", at("/v1/teams/%s/custom_webhooks", team->team_id), team->api_key,
                  at("{\"name\":\"h\",\"url\":\"http://127.0.0.1:9/in\",\"events\":%s,"
                     "\"active\":%s}",
                     events, active ? "true" : "false"));
    const char *got = json_string_value(json_object_get(r.json, "id"));

    if (r.status != 201 || !got)
        printf("Bail out! webhook not created (%u)\n", r.status);
    else
        memcpy(id, got, ID_LEN + 1);
    loop_free(&r);
}

struct event_ctx {
    enum api_hook_event ev;
    const struct package *p;
    struct arena *a;
    int queued;
};

static enum store_rc event_txn(struct store *s, void *vctx)
{
    struct event_ctx *c = vctx;

    return api_webhooks_enqueue(s, c->ev, c->p, c->a, &c->queued);
}

static enum store_rc insert_txn(struct store *s, void *vctx)
{
    return store_package_insert(s, vctx);
}

static enum store_rc portal_txn(struct store *s, void *vctx)
{
    return store_portal_insert(s, vctx);
}

static int cmp_id(const void *x, const void *y)
{
    return strcmp(x, y);
}

/* Claims every queued job and gives the webhook ids of the deliveries among them, sorted,
 * comma-separated; the bodies of the last one into *@body (in @a). */
static const char *drain(struct arena *a, json_t **body)
{
    char ids[8][ID_LEN + 1];
    const char *out;
    size_t n = 0;
    struct job j;

    *body = NULL;
    while (store_job_claim(loop_store(), "test", clock_now_ms() + 1000, 60000, a, &j) ==
           STORE_ONE) {
        json_t *doc = json_loads(j.payload, 0, NULL);

        if (strcmp(j.kind, "webhook.deliver") == 0 && n < 8) {
            snprintf(ids[n++], ID_LEN + 1, "%s",
                     json_string_value(json_object_get(doc, "webhook_id")));
            json_decref(*body);
            *body = json_loads(json_string_value(json_object_get(doc, "body")), 0, NULL);
        }
        json_decref(doc);
        (void)store_job_finish(loop_store(), j.id, "test", JOB_DONE, 0, NULL, clock_now_ms());
    }
    qsort(ids, n, sizeof(ids[0]), cmp_id);
    out = "";
    for (size_t i = 0; i < n; i++)
        out = arena_printf(a, "%s%s%s", out, i ? "," : "", ids[i]);
    return out;
}

static const char *sorted(struct arena *a, const char *x, const char *y)
{
    return arena_printf(a, "%s,%s", strcmp(x, y) < 0 ? x : y, strcmp(x, y) < 0 ? y : x);
}

int main(void)
{
    char all[ID_LEN + 1], expired[ID_LEN + 1], off[ID_LEN + 1], both[ID_LEN + 1],
        theirs[ID_LEN + 1], dangling[ID_LEN + 1];
    struct portal portal = { 0 };
    struct package team_pkg = { 0 }, portal_pkg;
    struct event_ctx c = { 0 };
    struct arena a;
    json_t *body;

    if (!loop_init()) {
        printf("Bail out! cannot set up\n");
        return 1;
    }
    arena_init(&a);
    c.a = &a;
    loop_team("Alpha", "owner@alpha.test", "password-a", &owner);
    loop_team("Beta", "owner@beta.test", "password-b", &other);
    hook(&owner, "[\"package.created\",\"package.downloaded\"]", true, all);
    hook(&owner, "[\"package.expired\"]", true, expired);
    hook(&owner, "[\"package.created\"]", false, off);
    hook(&owner, "[\"package.created\",\"package.expired\"]", true, both);
    hook(&other, "[\"package.created\"]", true, theirs);
    id_new(dangling);

    id_new(portal.id);
    memcpy(portal.team_id, owner.team_id, ID_LEN + 1);
    portal.name = "Uploads";
    portal.subdomain = "uploads";
    portal.active = true;
    portal.custom_webhooks = (char *)at("[{\"id\":\"%s\"},{\"id\":\"%s\"},{\"id\":\"%s\"},"
                                        "{\"id\":\"%s\"},{\"id\":\"%s\"}]",
                                        both, theirs, off, dangling, both);
    portal.created_at = portal.updated_at = clock_now_ms();
    is_int(store_run(loop_store(), "t", STORE_WRITE, portal_txn, &portal), STORE_ONE,
           "a portal naming a webhook of the team (twice), one of another team, an inactive one "
           "and one that does not exist");

    id_new(team_pkg.id);
    memcpy(team_pkg.team_id, owner.team_id, ID_LEN + 1);
    team_pkg.sender = "owner@alpha.test";
    team_pkg.name = "Sent";
    team_pkg.recipients = "[\"r@example.org\"]";
    team_pkg.state = PACKAGE_NEW;
    team_pkg.expiry = TIME_UNSET;
    team_pkg.usage_updated_at = TIME_UNSET;
    team_pkg.created_at = team_pkg.updated_at = clock_now_ms();
    portal_pkg = team_pkg;
    id_new(portal_pkg.id);
    portal_pkg.inbox = true;
    portal_pkg.portal_id = portal.id;
    portal_pkg.name = "Received";
    portal_pkg.sender = "outsider@example.org";
    ok(store_run(loop_store(), "t", STORE_WRITE, insert_txn, &team_pkg) == STORE_ONE &&
           store_run(loop_store(), "t", STORE_WRITE, insert_txn, &portal_pkg) == STORE_ONE,
       "a sent package and a received one");

    c.ev = API_HOOK_CREATED;
    c.p = &team_pkg;
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE, "created, sent");
    is_int(c.queued, 2, "two deliveries queued");
    is_str(drain(&a, &body), sorted(&a, all, both),
           "to the team's active webhooks subscribed to it: not the inactive, the unsubscribed "
           "or another team's");
    ok(json_is_null(json_object_get(body, "portal")) &&
           strcmp(json_string_value(json_object_get(json_object_get(body, "package"), "id")),
                  team_pkg.id) == 0,
       "its body names the package and no portal");
    json_decref(body);

    c.p = &portal_pkg;
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE,
           "created, received");
    is_int(c.queued, 1, "one delivery queued");
    is_str(drain(&a, &body), both,
           "to the portal's webhook only, once: not the team's others, not another team's, not "
           "the inactive one");
    {
        json_t *p = json_object_get(body, "portal");

        ok(p && strcmp(json_string_value(json_object_get(p, "id")), portal.id) == 0 &&
               strcmp(json_string_value(json_object_get(p, "name")), "Uploads") == 0 &&
               strcmp(json_string_value(json_object_get(p, "subdomain")), "uploads") == 0,
           "its body names the portal");
        is_str(json_string_value(json_object_get(json_object_get(body, "package"), "portal_id")),
               portal.id, "and the package's portal");
    }
    json_decref(body);

    c.ev = API_HOOK_EXPIRED;
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE,
           "expired, received");
    is_str(drain(&a, &body), both, "the portal's webhook, subscribed to it too");
    json_decref(body);
    c.p = &team_pkg;
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE, "expired, sent");
    is_str(drain(&a, &body), sorted(&a, expired, both), "the team's two subscribed to it");
    json_decref(body);

    c.ev = API_HOOK_DOWNLOADED;
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE, "downloaded");
    is_int(c.queued, 1, "one delivery queued");
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE,
           "downloaded again at once");
    is_int(c.queued, 0, "while one waits, a burst of downloads queues no other");
    is_str(drain(&a, &body), all, "the one waiting");
    json_decref(body);
    c.p = &portal_pkg;
    is_int(store_run(loop_store(), "t", STORE_WRITE, event_txn, &c), STORE_ONE,
           "downloaded, received");
    is_int(c.queued, 0, "the portal's webhook is not subscribed to it: nobody");

    arena_release(&a);
    loop_done();
    return done_testing();
}
