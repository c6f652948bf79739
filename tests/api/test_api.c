/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The account API in-process, through the real router and dispatcher: sign-in, API keys,
 * members, teamspaces, the access policy, and the answers to bad input.
 */
#include "core/compat.h"

#include "core/clock.h"
#include "loop.h"
#include "tap.h"

static struct provisioned team_a, team_b, admin, member, guest, im, both;

static const char *s(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void provision(void)
{
    loop_team("Alpha", "owner@alpha.test", "password-a", &team_a);
    loop_team("Beta", "owner@beta.test", "password-b", &team_b);
    loop_member(team_a.team_id, "admin@alpha.test", "password-1", ROLE_ADMIN, &admin);
    loop_member(team_a.team_id, "Member@Alpha.test", "password-2", ROLE_MEMBER, &member);
    loop_member(team_a.team_id, "guest@alpha.test", "password-3", ROLE_GUEST, &guest);
    loop_member(team_a.team_id, "im@alpha.test", "password-4", ROLE_INTEGRATION_MANAGER, &im);
    loop_member(team_b.team_id, "admin@alpha.test", "ignored!", ROLE_MEMBER, &both);
}

/* Fills one "%s" in @fmt (always a literal at the call sites) with @id. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *path(const char *fmt, const char *id)
{
    static char buf[8][256];
    static int k;

    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), fmt, id);
    return buf[k];
}

static void test_edge(void)
{
    struct loop_resp r;
    const char *hdr[] = { "X-Request-Id: abc-123", NULL };
    const char *bad_rid[] = { "X-Request-Id: has space", NULL };
    char *big;

    r = loop_call("GET", "/healthz", NULL, NULL);
    is_int(r.status, 200, "health answers");
    is_str(s(r.json, "status"), "ok", "health status");
    ok(loop_header(&r, "X-Request-Id") && strlen(loop_header(&r, "X-Request-Id")) == ID_LEN,
       "a request id is generated");
    is_str(loop_header(&r, "Access-Control-Allow-Origin"), "*", "CORS on every answer");
    loop_free(&r);
    r = loop_call_h("GET", "/healthz", hdr, NULL, 0);
    is_str(loop_header(&r, "X-Request-Id"), "abc-123", "a sane client request id is kept");
    loop_free(&r);
    r = loop_call_h("GET", "/healthz", bad_rid, NULL, 0);
    ok(strcmp(loop_header(&r, "X-Request-Id"), "has space") != 0, "an odd request id is replaced");
    loop_free(&r);
    r = loop_call("GET", "/v1/nothing/here", NULL, NULL);
    is_int(r.status, 404, "unknown path");
    is_int(json_integer_value(json_object_get(r.json, "code")), 404,
           "error body code is the status");
    is_int(loop_err_code(&r), ERR_NOT_FOUND, "registry code");
    is_str(s(json_array_get(json_object_get(r.json, "errors"), 0), "type"), "not_found",
           "error type");
    loop_free(&r);
    r = loop_call("PATCH", "/v1/auth", NULL, "{}");
    is_int(r.status, 405, "wrong method");
    ok(loop_header(&r, "Allow") && strstr(loop_header(&r, "Allow"), "POST"), "Allow names POST");
    loop_free(&r);
    r = loop_call("BREW", "/v1/auth", NULL, NULL);
    is_int(r.status, 405, "unknown method");
    loop_free(&r);
    r = loop_call("OPTIONS", path("/v1/teams/%s/members", team_a.team_id), NULL, NULL);
    is_int(r.status, 204, "CORS preflight");
    ok(strstr(loop_header(&r, "Access-Control-Allow-Headers"), "X-API-KEY") != NULL,
       "preflight allows X-API-KEY");
    ok(strstr(loop_header(&r, "Access-Control-Allow-Methods"), "DELETE") != NULL,
       "preflight allows DELETE");
    loop_free(&r);
    r = loop_call("OPTIONS", "/nowhere", NULL, NULL);
    is_int(r.status, 404, "preflight of an unknown path");
    loop_free(&r);
    big = xmalloc(HTTP_JSON_MAX + 2);
    memset(big, ' ', HTTP_JSON_MAX + 1);
    big[HTTP_JSON_MAX + 1] = '\0';
    r = loop_call("POST", "/v1/auth", NULL, big);
    is_int(r.status, 413, "body over 1 MiB");
    is_int(loop_err_code(&r), ERR_BODY_TOO_LARGE, "body too large code");
    loop_free(&r);
    free(big);
    {
        const char *many[HTTP_HEADERS_MAX_COUNT + 2];

        for (int i = 0; i <= HTTP_HEADERS_MAX_COUNT; i++)
            many[i] = "X-Filler: 1";
        many[HTTP_HEADERS_MAX_COUNT + 1] = NULL;
        r = loop_call_h("GET", "/healthz", many, NULL, 0);
        is_int(r.status, 431, "too many headers");
        loop_free(&r);
    }
}

static void test_login(void)
{
    struct loop_resp r;
    char *token;

    r = loop_call("POST", "/v1/auth", NULL,
                  "{\"email\":\"OWNER@alpha.test\",\"password\":\"password-a\"}");
    is_int(r.status, 200, "sign-in");
    ok(s(r.json, "token") != NULL, "a token");
    is_str(s(json_object_get(r.json, "user"), "email"), "owner@alpha.test", "the user");
    ok(json_object_get(json_object_get(r.json, "user"), "password_hash") == NULL,
       "no hash in the answer");
    is_str(s(json_array_get(json_object_get(r.json, "teams"), 0), "id"), team_a.team_id,
           "its team");
    is_str(s(json_array_get(json_object_get(r.json, "teams"), 0), "role"), "owner", "its role");
    token = arena_printf(&r.rq.arena, "token:%s", s(r.json, "token"));
    token = xstrdup(token);
    loop_free(&r);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), token, NULL);
    is_int(r.status, 200, "the token works as X-User-Token");
    loop_free(&r);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), "token:abc.def.ghi", NULL);
    is_int(r.status, 401, "a forged token is refused");
    is_int(loop_err_code(&r), ERR_AUTH_INVALID, "invalid credentials code");
    loop_free(&r);
    free(token);

    r = loop_call("POST", "/v1/auth", NULL,
                  "{\"email\":\"owner@alpha.test\",\"password\":\"wrong-one\"}");
    is_int(r.status, 401, "wrong password");
    {
        char *wrong_pw = xstrdup(s(r.json, "message"));

        loop_free(&r);
        r = loop_call("POST", "/v1/auth", NULL,
                      "{\"email\":\"nobody@alpha.test\",\"password\":\"wrong-one\"}");
        is_int(r.status, 401, "unknown email");
        is_str(s(r.json, "message"), wrong_pw, "the same answer for both");
        free(wrong_pw);
    }
    loop_free(&r);
    r = loop_call("POST", "/v1/auth", NULL, "{\"email\":\"owner@alpha.test\"}");
    is_int(r.status, 400, "missing password");
    loop_free(&r);
    r = loop_call("POST", "/v1/auth", NULL, "{\"email\":1,\"password\":\"x\"}");
    is_int(r.status, 400, "email of the wrong type");
    loop_free(&r);
    r = loop_call("POST", "/v1/auth", NULL, "not json");
    is_int(r.status, 400, "malformed JSON");
    is_int(loop_err_code(&r), ERR_INVALID_JSON, "invalid JSON code");
    loop_free(&r);

    for (int i = 0; i < 9; i++) {
        r = loop_call("POST", "/v1/auth", NULL,
                      "{\"email\":\"guest@alpha.test\",\"password\":\"nope-nope\"}");
        loop_free(&r);
    }
    r = loop_call("POST", "/v1/auth", NULL,
                  "{\"email\":\"guest@alpha.test\",\"password\":\"nope-nope\"}");
    is_int(r.status, 401, "the tenth failure is still a 401");
    loop_free(&r);
    r = loop_call("POST", "/v1/auth", NULL,
                  "{\"email\":\"guest@alpha.test\",\"password\":\"password-3\"}");
    is_int(r.status, 429, "then even the right password is rate limited");
    ok(loop_header(&r, "Retry-After") && strtol(loop_header(&r, "Retry-After"), NULL, 10) > 0,
       "with Retry-After");
    loop_free(&r);
    clock_set_offset_ms(16 * 60 * 1000);
    r = loop_call("POST", "/v1/auth", NULL,
                  "{\"email\":\"guest@alpha.test\",\"password\":\"password-3\"}");
    is_int(r.status, 200, "after the window the right password works");
    loop_free(&r);
    clock_set_offset_ms(0);
}

static void test_access(void)
{
    struct loop_resp r;
    const char *members_a = path("/v1/teams/%s/members", team_a.team_id);

    r = loop_call("GET", members_a, NULL, NULL);
    is_int(r.status, 401, "no credentials");
    is_int(loop_err_code(&r), ERR_AUTH_REQUIRED, "credentials required code");
    loop_free(&r);
    r = loop_call("GET", members_a, "garbage", NULL);
    is_int(r.status, 401, "a garbage key");
    loop_free(&r);
    r = loop_call("GET", members_a, team_a.api_key, NULL);
    is_int(r.status, 200, "owner lists members");
    is_int(json_array_size(r.json), 5, "five members");
    is_str(s(json_array_get(r.json, 2), "email"), "member@alpha.test", "emails are lowercase");
    is_str(s(json_array_get(r.json, 2), "role"), "member", "role");
    ok(json_is_array(json_object_get(json_array_get(r.json, 0), "teamspaces")), "teamspaces array");
    loop_free(&r);
    r = loop_call("GET", members_a, member.api_key, NULL);
    is_int(r.status, 200, "member lists members");
    loop_free(&r);
    r = loop_call("GET", members_a, guest.api_key, NULL);
    is_int(r.status, 403, "guest may not");
    is_int(loop_err_code(&r), ERR_FORBIDDEN, "forbidden code");
    loop_free(&r);
    r = loop_call("GET", members_a, team_b.api_key, NULL);
    is_int(r.status, 404, "another team's key: 404");
    loop_free(&r);
    r = loop_call("GET", members_a, both.api_key, NULL);
    is_int(r.status, 404, "a key of team B works only in team B, though its user is in A");
    loop_free(&r);
    r = loop_call("GET", "/v1/teams/NOT-AN-ID/members", team_a.api_key, NULL);
    is_int(r.status, 404, "malformed team id");
    loop_free(&r);
    r = loop_call("GET", "/v1/teams/01M8166BWWZP2J6X829RJMGMBZ/members", team_a.api_key, NULL);
    is_int(r.status, 404, "unknown team");
    loop_free(&r);
}

static void test_keys(void)
{
    const char *keys_a = path("/v1/teams/%s/api_keys", team_a.team_id);
    struct loop_resp r;
    char *key, *id, *kpath;

    r = loop_call(
        "POST", keys_a, team_a.api_key,
        "{\"name\":\"ci\",\"description\":\"for\\nCI\",\"expiry\":\"2099-01-01T00:00:00Z\"}");
    is_int(r.status, 201, "owner creates a key");
    ok(s(r.json, "key") && strlen(s(r.json, "key")) == AUTH_API_KEY_LEN, "value shown once");
    is_str(s(r.json, "state"), "active", "active by default");
    is_str(s(r.json, "expiry"), "2099-01-01T00:00:00.000Z", "expiry");
    is_str(s(r.json, "user_id"), team_a.user_id, "belongs to the caller");
    key = xstrdup(s(r.json, "key"));
    id = xstrdup(s(r.json, "id"));
    kpath = xstrdup(path("/v1/api_keys/%s", id));
    loop_free(&r);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), key, NULL);
    is_int(r.status, 200, "the new key works");
    loop_free(&r);
    r = loop_call("GET", keys_a, admin.api_key, NULL);
    is_int(r.status, 200, "admin lists keys");
    ok(json_array_size(r.json) >= 6, "every key of the team");
    is_str(s(json_array_get(r.json, 0), "id"), id, "newest first");
    ok(json_object_get(json_array_get(r.json, 0), "key") == NULL, "no values in lists");
    loop_free(&r);
    r = loop_call("GET", kpath, im.api_key, NULL);
    is_int(r.status, 200, "integration manager reads a key");
    ok(json_object_get(r.json, "key") == NULL, "no value on read");
    loop_free(&r);
    r = loop_call("POST", keys_a, member.api_key, "{}");
    is_int(r.status, 403, "member may not create keys");
    loop_free(&r);
    r = loop_call("GET", keys_a, guest.api_key, NULL);
    is_int(r.status, 403, "guest may not list keys");
    loop_free(&r);
    r = loop_call("GET", kpath, team_b.api_key, NULL);
    is_int(r.status, 404, "another team's owner does not see it");
    loop_free(&r);
    r = loop_call("POST", keys_a, team_a.api_key, "{\"expiry\":\"2001-01-01T00:00:00Z\"}");
    is_int(r.status, 400, "expiry in the past");
    loop_free(&r);
    r = loop_call("POST", keys_a, team_a.api_key, "{\"state\":\"sleepy\"}");
    is_int(r.status, 400, "unknown state");
    loop_free(&r);
    r = loop_call("POST", keys_a, team_a.api_key, "{\"expiry\":\"2024-02-30T00:00:00Z\"}");
    is_int(r.status, 400, "impossible date");
    loop_free(&r);

    r = loop_call("PUT", kpath, team_a.api_key, "{\"name\":\"renamed\",\"state\":\"inactive\"}");
    is_int(r.status, 200, "update");
    is_str(s(r.json, "name"), "renamed", "new name");
    is_str(s(r.json, "description"), "for\nCI", "untouched field kept");
    is_str(s(r.json, "state"), "inactive", "new state");
    loop_free(&r);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), key, NULL);
    is_int(r.status, 401, "an inactive key is refused");
    loop_free(&r);
    r = loop_call("PUT", kpath, team_a.api_key, "{\"state\":\"active\",\"expiry\":null}");
    is_int(r.status, 200, "reactivate without expiry");
    is_str(s(r.json, "expiry"), "0001-01-01T00:00:00.000Z", "no expiry is the zero time");
    loop_free(&r);
    r = loop_call("PUT", kpath, team_a.api_key, "{\"expiry\":\"2099-06-01T00:00:00Z\"}");
    loop_free(&r);
    clock_set_offset_ms((int64_t)100 * 365 * 86400000);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), key, NULL);
    is_int(r.status, 401, "an expired key is refused");
    loop_free(&r);
    clock_set_offset_ms(0);
    r = loop_call("DELETE", kpath, member.api_key, NULL);
    is_int(r.status, 403, "member may not delete keys");
    loop_free(&r);
    r = loop_call("DELETE", kpath, team_a.api_key, NULL);
    is_int(r.status, 204, "delete");
    ok(r.body == NULL || r.body[0] == '\0', "no body");
    loop_free(&r);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), key, NULL);
    is_int(r.status, 401, "a deleted key is refused");
    loop_free(&r);
    r = loop_call("GET", kpath, team_a.api_key, NULL);
    is_int(r.status, 404, "a deleted key is gone");
    loop_free(&r);
    r = loop_call("DELETE", "/v1/api_keys/nope", team_a.api_key, NULL);
    is_int(r.status, 404, "malformed key id");
    loop_free(&r);
    free(key);
    free(id);
    free(kpath);
}

static void test_spaces(void)
{
    const char *spaces_a = path("/v1/teams/%s/spaces", team_a.team_id);
    const char *list_a = path("/v1.1/teams/%s/spaces", team_a.team_id);
    struct loop_resp r;
    char body[512], seen[40][ID_LEN + 1];
    int nseen = 0;
    bool overlap = false;

    for (int i = 0; i < 12; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"space %02d\",\"member_ids\":[%s%s%s]}", i,
                 i % 3 == 0 ? "\"" : "", i % 3 == 0 ? member.membership_id : "",
                 i % 3 == 0 ? "\"" : "");
        r = loop_call("POST", spaces_a, i % 2 ? admin.api_key : team_a.api_key, body);
        if (r.status != 201)
            is_int(r.status, 201, "create space %d", i);
        loop_free(&r);
    }
    r = loop_call("POST", spaces_a, team_a.api_key,
                  "{\"name\":\"x\",\"member_ids\":[\"01M8166BWWZP2J6X829RJMGMBZ\"]}");
    is_int(r.status, 400, "unknown membership");
    ok(strstr(s(r.json, "message"), "member_ids") != NULL, "message names the field");
    loop_free(&r);
    snprintf(body, sizeof(body), "{\"name\":\"x\",\"member_ids\":[\"%s\"]}", both.membership_id);
    r = loop_call("POST", spaces_a, team_a.api_key, body);
    is_int(r.status, 400, "a membership of another team");
    loop_free(&r);
    r = loop_call("POST", spaces_a, team_a.api_key, "{\"name\":\"x\",\"member_ids\":\"abc\"}");
    is_int(r.status, 400, "member_ids not an array");
    loop_free(&r);
    r = loop_call("POST", spaces_a, team_a.api_key, "{\"name\":\"\"}");
    is_int(r.status, 400, "empty name");
    loop_free(&r);
    memset(body, 'n', 300);
    memcpy(body, "{\"name\":\"", 9);
    memcpy(body + 290, "\"}", 3);
    r = loop_call("POST", spaces_a, team_a.api_key, body);
    is_int(r.status, 400, "name over 255 characters");
    loop_free(&r);
    r = loop_call("POST", spaces_a, member.api_key, "{\"name\":\"mine\"}");
    is_int(r.status, 403, "member may not create spaces");
    loop_free(&r);

    for (int page = 1; page <= 3; page++) {
        snprintf(body, sizeof(body), "%s?page=%d&limit=5", list_a, page);
        r = loop_call("GET", body, team_a.api_key, NULL);
        if (page == 1) {
            is_int(r.status, 200, "list spaces");
            is_int(
                json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "total")),
                12, "total counts all");
        }
        for (size_t i = 0; i < json_array_size(json_object_get(r.json, "records")); i++) {
            const char *sid = s(json_array_get(json_object_get(r.json, "records"), i), "id");

            for (int k = 0; k < nseen; k++)
                overlap |= strcmp(seen[k], sid) == 0;
            if (nseen < 40)
                memcpy(seen[nseen++], sid, ID_LEN + 1);
        }
        loop_free(&r);
    }
    ok(nseen == 12 && !overlap, "three pages give each space once (%d)", nseen);
    r = loop_call("GET", list_a, member.api_key, NULL);
    is_int(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "total")), 4,
           "a member sees only its spaces");
    ok(json_array_size(json_object_get(json_array_get(json_object_get(r.json, "records"), 0),
                                       "member_ids")) == 1,
       "with their members");
    loop_free(&r);
    r = loop_call("GET", list_a, guest.api_key, NULL);
    is_int(r.status, 200, "a guest may list");
    is_int(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "total")), 0,
           "but is in none");
    loop_free(&r);
    r = loop_call("GET", path("/v1/teams/%s/members", team_a.team_id), team_a.api_key, NULL);
    for (size_t i = 0; i < json_array_size(r.json); i++)
        if (strcmp(s(json_array_get(r.json, i), "id"), member.membership_id) == 0)
            is_int(json_array_size(json_object_get(json_array_get(r.json, i), "teamspaces")), 4,
                   "members list shows the teamspaces");
    loop_free(&r);
    static const char *const bad_queries[] = { "?limit=0", "?limit=51", "?limit=x", "?page=0",
                                               "?page=-1", "?page=1.5", "?limit=" };
    for (size_t i = 0; i < ARRAY_LEN(bad_queries); i++) {
        snprintf(body, sizeof(body), "%s%s", list_a, bad_queries[i]);
        r = loop_call("GET", body, team_a.api_key, NULL);
        is_int(r.status, 400, "refuses %s", bad_queries[i]);
        loop_free(&r);
    }
    snprintf(body, sizeof(body), "%s?page=99", list_a);
    r = loop_call("GET", body, team_a.api_key, NULL);
    ok(r.status == 200 && json_array_size(json_object_get(r.json, "records")) == 0,
       "a page past the end is empty");
    loop_free(&r);
    r = loop_call("GET", path("/v1.1/teams/%s/spaces", team_b.team_id), team_a.api_key, NULL);
    is_int(r.status, 404, "another team's spaces");
    loop_free(&r);
}

/* A portal's name format as the public side will run it: a match, a miss, and a pattern whose
 * backtracking would take ages answering "no match" at once under the match limit. */
static void test_name_format(void)
{
    struct portal p = { .package_name_format_enabled = true,
                        .name_format_value = (char *)"^[A-Z]+_\\d{4}$" };
    char evil[64];
    int64_t t0;

    ok(api_portal_name_matches(&p, str_from("REEL_2024")), "name format: a matching name");
    ok(!api_portal_name_matches(&p, str_from("reel_2024")), "name format: a name that does not");
    p.package_name_format_enabled = false;
    ok(api_portal_name_matches(&p, str_from("anything")), "name format: off, every name");
    p.package_name_format_enabled = true;
    p.name_format_value = (char *)"^(a+)+$";
    memset(evil, 'a', sizeof(evil) - 2);
    evil[sizeof(evil) - 2] = 'b';
    evil[sizeof(evil) - 1] = '\0';
    t0 = clock_mono_ms();
    ok(!api_portal_name_matches(&p, str_from(evil)),
       "name format: catastrophic backtracking is no match");
    ok(clock_mono_ms() - t0 < 2000, "name format: and it stops at the match limit (%lld ms)",
       (long long)(clock_mono_ms() - t0));
}

int main(void)
{
    if (!loop_init()) {
        printf("Bail out! cannot set up\n");
        return 1;
    }
    provision();
    test_edge();
    test_login();
    test_access();
    test_keys();
    test_spaces();
    test_name_format();
    loop_done();
    return done_testing();
}
