/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A whole request in-process: http_loopback() with the real route table and api_dispatch(), over
 * a SQLite database in a temporary directory made once per process.
 *
 * Input, shaped like HTTP/1.1 so that seeds are readable:
 *     METHOD SP TARGET LF            (TARGET is path and query; CR before LF is dropped)
 *     Name: value LF                 (zero or more header lines, at most MAX_HEADERS)
 *     LF
 *     body                           (the rest, sent as is)
 * Placeholders in the target, headers and body are replaced before the request runs, so the
 * fuzzer reaches the handlers behind authentication: @TEAM and @XTEAM (ids of the two teams),
 * @KEY, @MKEY, @GKEY, @IKEY, @XKEY (API keys of team 1's owner, member, guest and integration
 * manager and of team 2's owner), @KEYID, @GKEYID, @XKEYID (their ids), @MID, @GMID, @XMID
 * (membership ids), @TOKEN and @GTOKEN (user tokens of the owner and the guest), @EMAIL and
 * @PASS (the owner's sign-in).
 *
 * Checked on every response: a status in 100..599 and never 500; an X-Request-Id header; an error
 * (>= 400) carries a JSON object whose "code" is the status and whose "errors" is a non-empty
 * array, but for the web pages' own 404 page (HTML, from a web route only, with its
 * Content-Security-Policy); a JSON success body parses. The server has a portal domain
 * (upload.example.com), so that Host headers reach the portal pages. And the access rules, as the policy table states them: a
 * route that takes credentials never succeeds without any, nor with a key or token other than
 * those provisioned (byte for byte); with an API key, a route never succeeds for a team other
 * than the key's or for a role that role_can() refuses.
 *
 * Every API write is undone after each input (the API keys and teamspaces tables are restored
 * from a snapshot through a second connection) so that inputs are independent and the database
 * does not grow. Of the rate-limit counters only the client's is kept: after the first 50 failed
 * sign-ins of a 15-minute window, POST /v1/auth answers 429 without hashing a password, which
 * keeps the target fast.
 */
#include "fuzz.h"

#include <dirent.h>
#include <jansson.h>
#include <sqlite3.h>
#include <unistd.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/log.h"

#define MAX_HEADERS 128
#define PASSWORD "fuzz-password-1"

static struct api_env env;
static struct http_app app;
static struct http_router *router;
static struct store *store;
static char data_dir[64];
static sqlite3 *db;
static sqlite3_stmt *version_stmt;
static int64_t data_version;
/* FUZZ_REQUEST_VERBOSE=1 prints each request's status and body (to replay a crash or a seed). */
static bool verbose;

/* Who a key is: its team and role. */
struct known_key {
    const char *placeholder;
    const char *id_placeholder;
    char key[AUTH_API_KEY_LEN + 1];
    char id[ID_LEN + 1];
    char team_id[ID_LEN + 1];
    char membership_id[ID_LEN + 1];
    enum role role;
};

static struct known_key keys[] = {
    { "@KEY", "@KEYID", .role = ROLE_OWNER },   { "@MKEY", NULL, .role = ROLE_MEMBER },
    { "@GKEY", "@GKEYID", .role = ROLE_GUEST }, { "@IKEY", NULL, .role = ROLE_INTEGRATION_MANAGER },
    { "@XKEY", "@XKEYID", .role = ROLE_OWNER },
};
enum { K_OWNER, K_MEMBER, K_GUEST, K_INTEGRATION, K_OTHER };

static char owner_token[512], guest_token[512];

struct subst {
    const char *name;
    const char *value;
};
/* Longest names first, so "@KEYID" is not read as "@KEY" then "ID". */
static struct subst substs[20];
static size_t nsubsts;

static void add_subst(const char *name, const char *value)
{
    if (nsubsts == ARRAY_LEN(substs))
        abort();
    substs[nsubsts++] = (struct subst){ name, value };
}

static int by_length_desc(const void *a, const void *b)
{
    return (int)strlen(((const struct subst *)b)->name) -
           (int)strlen(((const struct subst *)a)->name);
}

/* @in with every placeholder replaced; malloc'd and NUL-terminated, length in *@out_len. */
static char *expand(const char *in, size_t n, size_t *out_len)
{
    size_t cap = n + 1, len = 0;
    char *out = xmalloc(cap);

    for (size_t i = 0; i < n;) {
        const struct subst *hit = NULL;

        if (in[i] == '@') {
            for (size_t k = 0; k < nsubsts && !hit; k++) {
                size_t l = strlen(substs[k].name);

                if (n - i >= l && memcmp(in + i, substs[k].name, l) == 0)
                    hit = &substs[k];
            }
        }
        if (hit) {
            size_t vl = strlen(hit->value);

            if (len + vl + 1 > cap) {
                cap = (len + vl + 1) * 2;
                out = xrealloc(out, cap);
            }
            memcpy(out + len, hit->value, vl);
            len += vl;
            i += strlen(hit->name);
        } else {
            if (len + 2 > cap) {
                cap = (len + 2) * 2;
                out = xrealloc(out, cap);
            }
            out[len++] = in[i++];
        }
    }
    out[len] = '\0';
    if (out_len)
        *out_len = len;
    return out;
}

static void db_exec(const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "fuzz_request: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        abort();
    }
}

static int64_t read_data_version(void)
{
    int64_t v;

    if (sqlite3_step(version_stmt) != SQLITE_ROW) {
        fprintf(stderr, "fuzz_request: PRAGMA data_version: %s\n", sqlite3_errmsg(db));
        abort();
    }
    v = sqlite3_column_int64(version_stmt, 0);
    sqlite3_reset(version_stmt);
    return v;
}

/* Undoes what the last request wrote, when it wrote anything. */
static void restore_snapshot(void)
{
    if (read_data_version() == data_version)
        return;
    db_exec("BEGIN IMMEDIATE;"
            "DELETE FROM main.teamspace_members; DELETE FROM main.teamspaces;"
            "DELETE FROM main.api_keys;"
            "INSERT INTO main.api_keys SELECT * FROM temp.seed_api_keys;"
            "INSERT INTO main.teamspaces SELECT * FROM temp.seed_teamspaces;"
            "INSERT INTO main.teamspace_members SELECT * FROM temp.seed_teamspace_members;"
            "DELETE FROM main.rate_limits WHERE key <> 'login:client:127.0.0.1';"
            "COMMIT;");
    data_version = read_data_version();
}

static void cleanup(void)
{
    static const char *const files[] = { "consign.db", "consign.db-wal", "consign.db-shm" };

    sqlite3_finalize(version_stmt);
    sqlite3_close(db);
    api_store_release();
    http_router_free(router);
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        char path[128];

        snprintf(path, sizeof(path), "%s/%s", data_dir, files[i]);
        unlink(path);
    }
    rmdir(data_dir);
}

static void provision(struct known_key *k, const char *team_id, const char *email, enum role role,
                      char user_id[ID_LEN + 1])
{
    struct provisioned p;
    char why[256];
    enum err e;

    if (team_id)
        e = auth_provision_member(store, team_id, email, STR_LIT(PASSWORD), role, &p, why,
                                  sizeof(why));
    else
        e = auth_provision_team(store, "Fuzz team", email, STR_LIT(PASSWORD), &p, why, sizeof(why));
    if (e != ERR_OK) {
        fprintf(stderr, "fuzz_request: provisioning %s: %s\n", email, why);
        abort();
    }
    memcpy(k->key, p.api_key, sizeof(k->key));
    memcpy(k->id, p.api_key, ID_LEN);
    k->id[ID_LEN] = '\0';
    memcpy(k->team_id, p.team_id, sizeof(k->team_id));
    memcpy(k->membership_id, p.membership_id, sizeof(k->membership_id));
    if (user_id)
        memcpy(user_id, p.user_id, ID_LEN + 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char owner_id[ID_LEN + 1], guest_id[ID_LEN + 1], path[128], body[256];
    const char *hdr[] = { NULL, NULL };
    char key_header[128];
    struct req rq;

    (void)argc;
    (void)argv;
    if (!auth_init())
        abort();
    log_set_level("error");
    verbose = getenv("FUZZ_REQUEST_VERBOSE") && strcmp(getenv("FUZZ_REQUEST_VERBOSE"), "1") == 0;
    snprintf(data_dir, sizeof(data_dir), "/tmp/consign-fuzz-XXXXXX");
    if (!mkdtemp(data_dir)) {
        perror("fuzz_request: mkdtemp");
        abort();
    }
    atexit(cleanup);
    env.store_cfg.data_dir = data_dir;
    memcpy(env.secret, "consign-fuzz-secret-0123456789ab", AUTH_SECRET_LEN);
    env.public_url = "http://127.0.0.1:8080";
    env.version = "fuzz";
    env.portal_domain = "upload.example.com";
    router = http_router_new(api_routes, api_routes_count);
    app = (struct http_app){ .router = router, .dispatch = api_dispatch, .env = &env };
    store = api_store(&env);
    if (!store)
        abort();

    provision(&keys[K_OWNER], NULL, "owner@fuzz.example", ROLE_OWNER, owner_id);
    provision(&keys[K_MEMBER], keys[K_OWNER].team_id, "member@fuzz.example", ROLE_MEMBER, NULL);
    provision(&keys[K_GUEST], keys[K_OWNER].team_id, "guest@fuzz.example", ROLE_GUEST, guest_id);
    provision(&keys[K_INTEGRATION], keys[K_OWNER].team_id, "integrations@fuzz.example",
              ROLE_INTEGRATION_MANAGER, NULL);
    provision(&keys[K_OTHER], NULL, "other@fuzz.example", ROLE_OWNER, NULL);
    {
        /* The owner of team 1 is also an admin of team 2 (through a key not given out). */
        struct known_key unused;

        provision(&unused, keys[K_OTHER].team_id, "owner@fuzz.example", ROLE_ADMIN, NULL);
    }
    {
        char *t = auth_user_token_new(env.secret, owner_id, clock_now_ms() / 1000);

        snprintf(owner_token, sizeof(owner_token), "%s", t);
        free(t);
        t = auth_user_token_new(env.secret, guest_id, clock_now_ms() / 1000);
        snprintf(guest_token, sizeof(guest_token), "%s", t);
        free(t);
    }
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        add_subst(keys[i].placeholder, keys[i].key);
        if (keys[i].id_placeholder)
            add_subst(keys[i].id_placeholder, keys[i].id);
    }
    add_subst("@TEAM", keys[K_OWNER].team_id);
    add_subst("@XTEAM", keys[K_OTHER].team_id);
    add_subst("@MID", keys[K_OWNER].membership_id);
    add_subst("@GMID", keys[K_GUEST].membership_id);
    add_subst("@XMID", keys[K_OTHER].membership_id);
    add_subst("@TOKEN", owner_token);
    add_subst("@GTOKEN", guest_token);
    add_subst("@EMAIL", "owner@fuzz.example");
    add_subst("@PASS", PASSWORD);
    qsort(substs, nsubsts, sizeof(substs[0]), by_length_desc);

    /* One teamspace with two members, so that lists have something to show. */
    snprintf(path, sizeof(path), "/v1/teams/%s/spaces", keys[K_OWNER].team_id);
    snprintf(body, sizeof(body), "{\"name\":\"Seed space\",\"member_ids\":[\"%s\",\"%s\"]}",
             keys[K_OWNER].membership_id, keys[K_GUEST].membership_id);
    snprintf(key_header, sizeof(key_header), "X-API-KEY: %s", keys[K_OWNER].key);
    hdr[0] = key_header;
    http_loopback(&app, &rq, "POST", path, hdr, body, strlen(body));
    if (rq.resp.status != 201) {
        fprintf(stderr, "fuzz_request: seeding a teamspace gave %u: %.*s\n", rq.resp.status,
                (int)rq.resp.body_len, rq.resp.body ? rq.resp.body : "");
        abort();
    }
    http_req_release(&rq);

    /* A second connection, to snapshot and restore what the API may change. */
    snprintf(path, sizeof(path), "%s/consign.db", data_dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        abort();
    sqlite3_busy_timeout(db, 5000);
    db_exec("PRAGMA synchronous=OFF;"
            "CREATE TEMP TABLE seed_api_keys AS SELECT * FROM main.api_keys;"
            "CREATE TEMP TABLE seed_teamspaces AS SELECT * FROM main.teamspaces;"
            "CREATE TEMP TABLE seed_teamspace_members AS SELECT * FROM main.teamspace_members;");
    if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &version_stmt, NULL) != SQLITE_OK)
        abort();
    data_version = read_data_version();
    return 0;
}

/* Splits off the next line of *@p (up to LF, without a CR before it). */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *nl;

    if (*p >= end)
        return false;
    nl = memchr(*p, '\n', (size_t)(end - *p));
    *line = *p;
    *len = (size_t)((nl ? nl : end) - *p);
    *p = nl ? nl + 1 : end;
    if (*len && (*line)[*len - 1] == '\r')
        (*len)--;
    return true;
}

static const struct known_key *key_of(struct str v)
{
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        if (str_eq_cstr(v, keys[i].key))
            return &keys[i];
    return NULL;
}

/* The action a route needs in its team, or -1 when it is not a team route. */
static int action_of(const char *label)
{
    if (strcmp(label, "members.list") == 0)
        return TEAM_VIEW;
    if (strncmp(label, "api_keys.", 9) == 0)
        return TEAM_MANAGE_KEYS;
    if (strcmp(label, "spaces.create") == 0)
        return TEAM_MANAGE_SPACES;
    if (strcmp(label, "spaces.list") == 0)
        return TEAM_LIST_SPACES;
    return -1;
}

static void check_response(const struct req *rq)
{
    const struct resp *r = &rq->resp;
    bool has_rid = false, has_csp = false;
    bool html = r->content_type && strncmp(r->content_type, "text/html", 9) == 0;

    FUZZ_CHECK(r->status >= 100 && r->status <= 599, "status %u", r->status);
    FUZZ_CHECK(r->status != 500, "500 Internal Server Error: %.*s", (int)r->body_len,
               r->body ? r->body : "");
    for (const struct resp_header *h = r->headers; h; h = h->next) {
        has_rid |= strcmp(h->name, "X-Request-Id") == 0 && h->value && h->value[0];
        has_csp |= strcmp(h->name, "Content-Security-Policy") == 0 && h->value &&
                   strstr(h->value, "script-src 'self'");
    }
    FUZZ_CHECK(has_rid, "no X-Request-Id on a %u response", r->status);
    if (html) {
        FUZZ_CHECK(rq->route && strncmp(rq->route->label, "web.", 4) == 0,
                   "an HTML answer from a route that is no web page");
        FUZZ_CHECK(r->status == 200 || r->status == 404, "an HTML %u", r->status);
        FUZZ_CHECK(has_csp, "a page without its Content-Security-Policy");
        FUZZ_CHECK(r->body_len > 0 && memcmp(r->body, "<!doctype html>", 15) == 0,
                   "an HTML answer that is not a page");
    } else if (r->status >= 400) {
        json_error_t e;
        json_t *doc, *code, *errors;

        FUZZ_CHECK(r->body && r->content_type && strcmp(r->content_type, "application/json") == 0,
                   "a %u response without a JSON body", r->status);
        doc = json_loadb(r->body, r->body_len, 0, &e);
        FUZZ_CHECK(json_is_object(doc), "the body of a %u is not a JSON object: %.*s", r->status,
                   (int)r->body_len, r->body);
        code = json_object_get(doc, "code");
        FUZZ_CHECK(json_is_integer(code) && json_integer_value(code) == (json_int_t)r->status,
                   "a %u response whose code is not the status: %s", r->status, r->body);
        errors = json_object_get(doc, "errors");
        FUZZ_CHECK(json_is_array(errors) && json_array_size(errors) > 0 &&
                       json_is_integer(json_object_get(json_array_get(errors, 0), "code")),
                   "a %u response without errors[0].code: %s", r->status, r->body);
        FUZZ_CHECK(rq->resp.err != ERR_OK, "a %u response without its registry error", r->status);
        json_decref(doc);
    } else if (r->body && r->content_type && strcmp(r->content_type, "application/json") == 0) {
        json_error_t e;
        json_t *doc = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &e);

        FUZZ_CHECK(doc, "the JSON body of a %u does not parse: %s", r->status, e.text);
        json_decref(doc);
    }
    if (r->status == 204)
        FUZZ_CHECK(r->body_len == 0, "a 204 with a body");
}

/* Authentication and the policy table, from the outside. */
static void check_access(const struct req *rq)
{
    const struct http_route *route = rq->route;
    struct str api_key, token;
    const struct known_key *k;
    int action;

    if (!route || rq->resp.status >= 400 || route->auth != API_AUTH_USER)
        return;
    api_key = req_header(rq, "X-API-KEY");
    token = req_header(rq, "X-User-Token");
    FUZZ_CHECK(api_key.ptr || token.ptr, "%s answered %u without credentials", route->label,
               rq->resp.status);
    k = api_key.ptr ? key_of(api_key) : NULL;
    FUZZ_CHECK(!api_key.ptr || k, "%s answered %u to an API key that is none of ours", route->label,
               rq->resp.status);
    FUZZ_CHECK(api_key.ptr || str_eq_cstr(token, owner_token) || str_eq_cstr(token, guest_token),
               "%s answered %u to a user token that is none of ours", route->label,
               rq->resp.status);
    if (!k)
        return;
    action = action_of(route->label);
    if (action >= 0)
        FUZZ_CHECK(role_can(k->role, (enum team_action)action),
                   "%s answered %u to a key whose role (%s) may not do it", route->label,
                   rq->resp.status, role_name(k->role));
    {
        struct str team = req_param(rq, "team_id"), key_id = req_param(rq, "key_id");

        if (team.ptr)
            FUZZ_CHECK(str_eq_cstr(team, k->team_id),
                       "%s answered %u for team %.*s to a key of team %s", route->label,
                       rq->resp.status, (int)team.len, team.ptr, k->team_id);
        if (key_id.ptr) {
            for (size_t i = 0; i < ARRAY_LEN(keys); i++)
                if (str_eq_cstr(key_id, keys[i].id))
                    FUZZ_CHECK(strcmp(keys[i].team_id, k->team_id) == 0,
                               "%s answered %u for a key of team %s to a key of team %s",
                               route->label, rq->resp.status, keys[i].team_id, k->team_id);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size, *line;
    char *method, *target, *body, *headers[MAX_HEADERS + 1];
    size_t len, nh = 0, body_len = 0;
    struct req rq;

    if (!next_line(&p, end, &line, &len))
        return 0;
    {
        const char *sp = memchr(line, ' ', len);
        size_t ml = sp ? (size_t)(sp - line) : len;

        method = xmemdup0(line, ml);
        target = sp ? expand(sp + 1, len - ml - 1, NULL) : xstrdup("");
    }
    while (nh < MAX_HEADERS && next_line(&p, end, &line, &len) && len > 0)
        headers[nh++] = expand(line, len, NULL);
    headers[nh] = NULL;
    body = expand(p, (size_t)(end - p), &body_len);

    http_loopback(&app, &rq, method, target, (const char *const *)headers, body, body_len);
    if (verbose)
        fprintf(stderr, "%s %s -> %u %s %.*s\n", method, target, rq.resp.status,
                rq.route ? rq.route->label : "-",
                (int)(rq.resp.body_len > 300 ? 300 : rq.resp.body_len),
                rq.resp.body ? rq.resp.body : "");
    check_response(&rq);
    check_access(&rq);
    http_req_release(&rq);

    for (size_t i = 0; i < nh; i++)
        free(headers[i]);
    free(method);
    free(target);
    free(body);
    restore_snapshot();
    return 0;
}
