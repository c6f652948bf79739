/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The route matcher: literals over parameters, 404 against 405, parameters by name. */
#include "core/compat.h"

#include "http/http.h"
#include "tap.h"

static void h(struct req *rq)
{
    (void)rq;
}

static const struct http_route routes[] = {
    { .method = HTTP_GET,
      .pattern = "/v1/teams/{team_id}/{thing}",
      .handler = h,
      .label = "generic" },
    { .method = HTTP_GET,
      .pattern = "/v1/teams/{team_id}/members",
      .handler = h,
      .label = "members" },
    { .method = HTTP_POST,
      .pattern = "/v1/teams/{team_id}/members",
      .handler = h,
      .label = "members.add" },
    { .method = HTTP_GET,
      .pattern = "/v1/packages/{package_id}/files/{file_id}",
      .handler = h,
      .label = "file" },
    { .method = HTTP_POST,
      .pattern = "/v1/packages/{package_id}/finalize",
      .handler = h,
      .label = "finalize" },
    { .method = HTTP_PUT,
      .pattern = "/v1/packages/{package_id}",
      .handler = h,
      .label = "pkg.put" },
    { .method = HTTP_POST,
      .pattern = "/v1/packages/{package_id}",
      .handler = h,
      .label = "pkg.post" },
    { .method = HTTP_GET, .pattern = "/healthz", .handler = h, .label = "health" },
    { .method = HTTP_GET, .pattern = "/", .handler = h, .label = "root" },
};

static const char *match(struct http_router *r, enum http_method m, const char *path,
                         struct str params[HTTP_MAX_PARAMS], unsigned *allowed)
{
    const struct http_route *route = NULL;
    enum http_match res = http_router_match(r, m, str_from(path), &route, params, allowed);

    if (res == HTTP_MATCH_NOT_FOUND)
        return "404";
    if (res == HTTP_MATCH_BAD_METHOD)
        return "405";
    return route->label;
}

int main(void)
{
    struct http_router *r = http_router_new(routes, ARRAY_LEN(routes));
    struct str p[HTTP_MAX_PARAMS];
    unsigned allowed = 0;
    struct req rq = { 0 };

    is_str(match(r, HTTP_GET, "/v1/teams/T1/members", p, &allowed), "members",
           "literal beats parameter");
    ok(str_eq_cstr(p[0], "T1"), "parameter value");
    is_str(match(r, HTTP_GET, "/v1/teams/T1/spaces", p, &allowed), "generic",
           "parameter when no literal");
    ok(str_eq_cstr(p[1], "spaces"), "second parameter");
    is_str(match(r, HTTP_POST, "/v1/teams/T1/members", p, &allowed), "members.add",
           "method picks the row");
    is_str(match(r, HTTP_DELETE, "/v1/teams/T1/members", p, &allowed), "405",
           "wrong method is 405");
    ok(allowed == (HTTP_GET | HTTP_POST), "allowed methods are reported");
    is_str(match(r, HTTP_HEAD, "/healthz", p, &allowed), "health", "HEAD is served by GET");
    is_str(match(r, HTTP_GET, "/v1/teams", p, &allowed), "404", "too few segments");
    is_str(match(r, HTTP_GET, "/v1/teams/T1/members/x", p, &allowed), "404", "too many segments");
    is_str(match(r, HTTP_GET, "/v1/teams//members", p, &allowed), "404", "empty segment");
    is_str(match(r, HTTP_GET, "/v1/teams/T1/members/", p, &allowed), "404", "trailing slash");
    is_str(match(r, HTTP_GET, "v1/teams/T1/members", p, &allowed), "404", "relative path");
    is_str(match(r, HTTP_GET, "", p, &allowed), "404", "empty path");
    is_str(match(r, HTTP_GET, "/", p, &allowed), "root", "the root is a route of no segment");
    is_str(match(r, HTTP_GET, "//", p, &allowed), "404", "two slashes are not the root");
    is_str(match(r, HTTP_GET, "/healthz/", p, &allowed), "404", "a trailing slash is no route");
    is_str(match(r, HTTP_POST, "/v1/packages/P/finalize", p, &allowed), "finalize",
           "literal last segment");
    is_str(match(r, HTTP_GET, "/v1/packages/P/files/F", p, &allowed), "file", "two parameters");
    is_str(match(r, HTTP_PUT, "/v1/packages/P", p, &allowed), "pkg.put",
           "PUT and POST on one path (PUT)");
    is_str(match(r, HTTP_POST, "/v1/packages/P", p, &allowed), "pkg.post",
           "PUT and POST on one path (POST)");
    is_str(match(r, HTTP_GET, "/v1/packages/../teams/T1/members", p, &allowed), "404",
           "dot segments are data");

    rq.route = &routes[3];
    rq.params[0] = STR_LIT("P9");
    rq.params[1] = STR_LIT("F9");
    ok(str_eq_cstr(req_param(&rq, "file_id"), "F9"), "parameter by name");
    ok(str_eq_cstr(req_param(&rq, "package_id"), "P9"), "first parameter by name");
    ok(req_param(&rq, "team_id").ptr == NULL, "unknown name gives nothing");
    http_router_free(r);
    return done_testing();
}
