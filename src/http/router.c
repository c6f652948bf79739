/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The route matcher. Patterns are split into segments once at start; a request path is split
 * the same way and compared with every route of the same segment count. A hundred routes make
 * a linear scan cheaper than any tree worth maintaining. Among routes that match, the one with
 * a literal segment where the others have a parameter, earliest from the left, wins, so
 * "/v1/teams/{id}/members" and "/v1/teams/{id}/{x}" do not depend on table order.
 */
#include "core/compat.h"
#include "http/http.h"

#include "core/mem.h"

#define MAX_SEGMENTS 12

struct segment {
    const char *text; /* literal text, or the parameter name */
    size_t len;
    bool is_param;
};

struct compiled_route {
    const struct http_route *route;
    struct segment seg[MAX_SEGMENTS];
    size_t nseg;
    unsigned specificity; /* bit (MAX_SEGMENTS - 1 - i) set when segment i is literal */
};

struct http_router {
    struct compiled_route *routes;
    size_t n;
};

static NORETURN void bad_pattern(const char *pattern, const char *why)
{
    fprintf(stderr, "consign: route pattern '%s': %s\n", pattern, why);
    abort();
}

static void compile(const struct http_route *route, struct compiled_route *out)
{
    const char *p = route->pattern;
    size_t nparams = 0;

    out->route = route;
    out->nseg = 0;
    out->specificity = 0;
    if (p[0] != '/')
        bad_pattern(route->pattern, "must start with '/'");
    if (p[1] == '\0') /* the root: no segment at all */
        return;
    while (*p == '/') {
        const char *start = ++p;
        struct segment *s;

        while (*p && *p != '/')
            p++;
        if (out->nseg == MAX_SEGMENTS)
            bad_pattern(route->pattern, "too many segments");
        if (p == start)
            bad_pattern(route->pattern, "empty segment");
        s = &out->seg[out->nseg];
        if (*start == '{') {
            if (p[-1] != '}' || p - start < 3)
                bad_pattern(route->pattern, "bad parameter");
            if (++nparams > HTTP_MAX_PARAMS)
                bad_pattern(route->pattern, "too many parameters");
            s->text = start + 1;
            s->len = (size_t)(p - start - 2);
            s->is_param = true;
        } else {
            s->text = start;
            s->len = (size_t)(p - start);
            s->is_param = false;
            out->specificity |= 1u << (MAX_SEGMENTS - 1 - out->nseg);
        }
        out->nseg++;
    }
}

struct http_router *http_router_new(const struct http_route *routes, size_t n)
{
    struct http_router *r = xcalloc(1, sizeof(*r));

    r->routes = xcalloc(n, sizeof(*r->routes));
    r->n = n;
    for (size_t i = 0; i < n; i++)
        compile(&routes[i], &r->routes[i]);
    return r;
}

void http_router_free(struct http_router *r)
{
    if (!r)
        return;
    free(r->routes);
    free(r);
}

enum http_match http_router_match(const struct http_router *r, enum http_method method,
                                  struct str path, const struct http_route **route,
                                  struct str params[HTTP_MAX_PARAMS], unsigned *allowed)
{
    struct str segs[MAX_SEGMENTS];
    size_t nseg = 0;
    const struct compiled_route *best = NULL;
    unsigned methods = 0;
    struct str rest;

    if (path.len == 0 || path.ptr[0] != '/')
        return HTTP_MATCH_NOT_FOUND;
    /* "/" is the root, of no segment; elsewhere an empty segment matches nothing. */
    rest = path.len == 1 ? STR_NULL : (struct str){ path.ptr + 1, path.len - 1 };
    while (rest.ptr) {
        struct str seg;

        str_next(&rest, '/', &seg);
        if (seg.len == 0 || nseg == MAX_SEGMENTS)
            return HTTP_MATCH_NOT_FOUND;
        segs[nseg++] = seg;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct compiled_route *c = &r->routes[i];
        bool ok = c->nseg == nseg;

        for (size_t k = 0; ok && k < nseg; k++)
            if (!c->seg[k].is_param)
                ok = str_eq(segs[k], (struct str){ c->seg[k].text, c->seg[k].len });
        if (!ok)
            continue;
        methods |= c->route->method;
        if (c->route->method != method && !(method == HTTP_HEAD && c->route->method == HTTP_GET))
            continue;
        if (!best || c->specificity > best->specificity)
            best = c;
    }
    if (!best) {
        *allowed = methods;
        return methods ? HTTP_MATCH_BAD_METHOD : HTTP_MATCH_NOT_FOUND;
    }
    *route = best->route;
    for (size_t k = 0, np = 0; k < nseg; k++)
        if (best->seg[k].is_param)
            params[np++] = segs[k];
    return HTTP_MATCH_OK;
}

struct str req_param(const struct req *rq, const char *name)
{
    const struct http_route *route = rq->route;
    const char *p;
    size_t idx = 0, n = strlen(name);

    if (!route)
        return STR_NULL;
    /* Parameter names are read from the pattern itself, in order. */
    for (p = strchr(route->pattern, '{'); p; p = strchr(p + 1, '{'), idx++) {
        const char *close = strchr(p, '}');

        if (close && (size_t)(close - p - 1) == n && memcmp(p + 1, name, n) == 0)
            return idx < HTTP_MAX_PARAMS ? rq->params[idx] : STR_NULL;
    }
    return STR_NULL;
}
