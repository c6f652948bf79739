/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The route matcher over the real route table. Input: one byte choosing the method, then the
 * decoded path. The result is compared with a naive reference matcher written here (walk the
 * pattern and the path together; a parameter takes a non-empty run of bytes without '/'; among
 * matches the leftmost literal wins, then table order), and the invariants of http.h are checked:
 * parameters are non-empty slices of the path, HTTP_MATCH_OK means the route's method is the one
 * asked (or GET for HEAD), HTTP_MATCH_BAD_METHOD reports exactly the methods the path takes, and
 * req_param() finds each parameter by name.
 */
#include "fuzz.h"

#include "api/api.h"
#include "http/http.h"

static const enum http_method methods[] = {
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH, HTTP_OPTIONS,
};
static const char *const method_names[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
};

static struct http_router *router;

/* Reference: does @path fit @pattern? Fills @params and the literal mask (leftmost = highest). */
static bool ref_fits(const char *pattern, struct str path, struct str params[HTTP_MAX_PARAMS],
                     size_t *nparams, unsigned long long *literal_mask)
{
    const char *p = pattern;
    size_t i = 0, seg = 0;

    *nparams = 0;
    *literal_mask = 0;
    while (*p) {
        /* Both are at a '/' here. */
        if (*p != '/' || i >= path.len || path.ptr[i] != '/')
            return false;
        p++;
        i++;
        if (*p == '{') {
            size_t start = i;

            while (i < path.len && path.ptr[i] != '/')
                i++;
            if (i == start)
                return false;
            params[(*nparams)++] = (struct str){ path.ptr + start, i - start };
            p = strchr(p, '}') + 1;
        } else {
            const char *end = strchrnul(p, '/');
            size_t n = (size_t)(end - p);

            if (path.len - i < n || memcmp(path.ptr + i, p, n) != 0)
                return false;
            i += n;
            if (i < path.len && path.ptr[i] != '/')
                return false;
            p = end;
            *literal_mask |= 1ULL << (63 - seg);
        }
        seg++;
    }
    return i == path.len;
}

static bool method_fits(enum http_method route, enum http_method asked)
{
    return route == asked || (asked == HTTP_HEAD && route == HTTP_GET);
}

static size_t count_params(const char *pattern)
{
    size_t n = 0;

    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{'))
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str params[HTTP_MAX_PARAMS], want_params[HTTP_MAX_PARAMS] = { { 0 } };
    const struct http_route *route = NULL, *want = NULL;
    unsigned allowed = 0, want_allowed = 0;
    unsigned long long best_mask = 0;
    enum http_method method;
    enum http_match m;
    struct str path;
    char *copy;

    if (!router)
        router = http_router_new(api_routes, api_routes_count);
    if (size == 0)
        return 0;
    method = methods[data[0] % ARRAY_LEN(methods)];
    /* A copy of exactly the path bytes, so ASan sees any read past the slice. */
    copy = xmemdup0(data + 1, size - 1);
    path = (struct str){ copy, size - 1 };

    /* The method parser agrees with the names. */
    {
        enum http_method pm = http_method_parse(path);

        if (pm) {
            bool named = false;

            for (size_t k = 0; k < ARRAY_LEN(methods); k++)
                named |= pm == methods[k] && str_eq_cstr(path, method_names[k]);
            FUZZ_CHECK(named, "http_method_parse gave %d for a slice of %zu bytes", (int)pm,
                       path.len);
        }
    }

    for (size_t r = 0; r < api_routes_count; r++) {
        struct str p[HTTP_MAX_PARAMS];
        size_t np;
        unsigned long long mask;

        if (!ref_fits(api_routes[r].pattern, path, p, &np, &mask))
            continue;
        want_allowed |= api_routes[r].method;
        if (!method_fits(api_routes[r].method, method))
            continue;
        if (!want || mask > best_mask) {
            want = &api_routes[r];
            best_mask = mask;
            memcpy(want_params, p, sizeof(p));
        }
    }

    memset(params, 0, sizeof(params));
    m = http_router_match(router, method, path, &route, params, &allowed);
    switch (m) {
    case HTTP_MATCH_OK: {
        size_t np = count_params(route->pattern);
        struct req rq = { .route = route };

        FUZZ_CHECK(route >= api_routes && route < api_routes + api_routes_count,
                   "the route is not a row of the table");
        FUZZ_CHECK(method_fits(route->method, method), "route %s (method %d) for method %d",
                   route->label, (int)route->method, (int)method);
        FUZZ_CHECK(want == route, "matched %s, the reference says %s", route->label,
                   want ? want->label : "none");
        for (size_t k = 0; k < np; k++) {
            FUZZ_CHECK(params[k].len > 0 && params[k].ptr, "parameter %zu of %s is empty", k,
                       route->label);
            FUZZ_CHECK(params[k].ptr >= path.ptr &&
                           params[k].ptr + params[k].len <= path.ptr + path.len,
                       "parameter %zu of %s is not inside the path", k, route->label);
            FUZZ_CHECK(!memchr(params[k].ptr, '/', params[k].len),
                       "parameter %zu of %s spans a '/'", k, route->label);
            FUZZ_CHECK(params[k].ptr == want_params[k].ptr && params[k].len == want_params[k].len,
                       "parameter %zu of %s differs from the reference", k, route->label);
        }
        /* req_param() finds each parameter by its name in the pattern. */
        memcpy(rq.params, params, sizeof(params));
        for (const char *p = strchr(route->pattern, '{'); p; p = strchr(p + 1, '{')) {
            const char *close = strchr(p, '}');
            char name[64];
            struct str got;
            size_t k = 0;

            snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
            for (const char *q = strchr(route->pattern, '{'); q != p; q = strchr(q + 1, '{'))
                k++;
            got = req_param(&rq, name);
            FUZZ_CHECK(got.ptr == params[k].ptr && got.len == params[k].len,
                       "req_param(%s) of %s is not parameter %zu", name, route->label, k);
        }
        FUZZ_CHECK(req_param(&rq, "no_such_param").ptr == NULL, "unknown parameter name found");
        break;
    }
    case HTTP_MATCH_BAD_METHOD:
        FUZZ_CHECK(!want, "405 but the reference matched %s", want->label);
        FUZZ_CHECK(allowed != 0, "405 with no allowed method");
        FUZZ_CHECK(allowed == want_allowed, "allowed 0x%x, the reference says 0x%x", allowed,
                   want_allowed);
        FUZZ_CHECK(!(allowed & method) && !(method == HTTP_HEAD && (allowed & HTTP_GET)),
                   "405 although method %d is allowed (0x%x)", (int)method, allowed);
        break;
    case HTTP_MATCH_NOT_FOUND:
        FUZZ_CHECK(!want && want_allowed == 0, "404 but the reference matched (allowed 0x%x)",
                   want_allowed);
        break;
    default:
        FUZZ_CHECK(false, "unknown match result %d", (int)m);
    }
    free(copy);
    return 0;
}
