/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* In-process API calls for tests; see loop.h. */
#include "core/compat.h"

#include "loop.h"

#include <strings.h>

static struct api_env env;
static struct http_router *router;
static struct http_app app;
static char dir[] = "/tmp/consign-api-XXXXXX";

bool loop_init(void)
{
    if (!auth_init() || !mkdtemp(dir))
        return false;
    memset(env.secret, 7, sizeof(env.secret));
    env.store_cfg.data_dir = dir;
    env.public_url = "http://consign.test";
    env.version = "test";
    router = http_router_new(api_routes, api_routes_count);
    app = (struct http_app){ .router = router, .dispatch = api_dispatch, .env = &env };
    return api_store(&env) != NULL;
}

void loop_done(void)
{
    char cmd[128];

    api_store_release();
    http_router_free(router);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

struct api_env *loop_env(void)
{
    return &env;
}

struct store *loop_store(void)
{
    return api_store(&env);
}

static void bail(enum err e, const char *why)
{
    if (e != ERR_OK) {
        printf("Bail out! provisioning: %s\n", why);
        exit(1);
    }
}

void loop_team(const char *name, const char *email, const char *password, struct provisioned *out)
{
    char why[256];

    bail(auth_provision_team(loop_store(), name, email, str_from(password), out, why, sizeof(why)),
         why);
}

void loop_member(const char *team_id, const char *email, const char *password, enum role role,
                 struct provisioned *out)
{
    char why[256];

    bail(auth_provision_member(loop_store(), team_id, email, str_from(password), role, out, why,
                               sizeof(why)),
         why);
}

struct loop_resp loop_call_h(const char *method, const char *target, const char *const *headers,
                             const char *body, size_t body_len)
{
    struct loop_resp r = { 0 };
    json_error_t e;

    http_loopback(&app, &r.rq, method, target, headers, body, body_len);
    r.status = r.rq.resp.status;
    if (r.rq.resp.body) {
        r.body = xmemdup0(r.rq.resp.body, r.rq.resp.body_len);
        r.json = json_loadb(r.body, strlen(r.body), 0, &e);
    }
    return r;
}

struct loop_resp loop_call(const char *method, const char *target, const char *key,
                           const char *body)
{
    char header[512];
    const char *headers[3] = { NULL, NULL, NULL };

    if (key) {
        if (strncmp(key, "token:", 6) == 0)
            snprintf(header, sizeof(header), "X-User-Token: %s", key + 6);
        else
            snprintf(header, sizeof(header), "X-API-KEY: %s", key);
        headers[0] = header;
    }
    return loop_call_h(method, target, headers, body, body ? strlen(body) : 0);
}

void loop_free(struct loop_resp *r)
{
    json_decref(r->json);
    free(r->body);
    http_req_release(&r->rq);
    memset(r, 0, sizeof(*r));
}

int loop_err_code(const struct loop_resp *r)
{
    json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);

    return (int)json_integer_value(json_object_get(e, "code"));
}

const char *loop_header(const struct loop_resp *r, const char *name)
{
    for (const struct resp_header *h = r->rq.resp.headers; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    return NULL;
}
