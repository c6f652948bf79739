/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The request path shared by the real server and the in-process loopback: request ids, route
 * matching, the limits that come before any handler, CORS, response helpers and the headers
 * every answer carries.
 */
#include "core/compat.h"
#include "http/http.h"

#include <stdarg.h>
#include <unistd.h>

#define LOG_COMPONENT "http"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

static const struct {
    const char *name;
    enum http_method m;
} methods[] = {
    { "GET", HTTP_GET },         { "HEAD", HTTP_HEAD },     { "POST", HTTP_POST },
    { "PUT", HTTP_PUT },         { "DELETE", HTTP_DELETE }, { "PATCH", HTTP_PATCH },
    { "OPTIONS", HTTP_OPTIONS },
};

/* What browsers on other origins may send and read; credentials travel in headers, not cookies. */
#define CORS_ALLOW_HEADERS                                                                         \
    "Content-Type, X-API-KEY, X-User-Token, X-Package-Token, X-Link-Password, X-Access-Code, "     \
    "X-Request-Id, Range, If-Range, If-Match, If-None-Match, Content-MD5"
#define CORS_EXPOSE_HEADERS                                                                        \
    "ETag, Content-Length, Content-Range, Content-Disposition, Accept-Ranges, Retry-After, "       \
    "X-Request-Id, Location"

enum http_method http_method_parse(struct str name)
{
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (str_eq_cstr(name, methods[i].name))
            return methods[i].m;
    return 0;
}

static void methods_text(unsigned set, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
        if (!(set & methods[i].m) && !(methods[i].m == HTTP_HEAD && (set & HTTP_GET)) &&
            methods[i].m != HTTP_OPTIONS)
            continue;
        int k = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", methods[i].name);

        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
}

struct str req_header(const struct req *rq, const char *name)
{
    for (size_t i = 0; i < rq->nheaders; i++)
        if (str_eq_nocase(rq->headers[i].name, name))
            return rq->headers[i].value;
    return STR_NULL;
}

bool req_query(const struct req *rq, const char *name, struct str *out)
{
    for (size_t i = 0; i < rq->nquery; i++) {
        if (str_eq_cstr(rq->query[i].name, name)) {
            *out = rq->query[i].value;
            return true;
        }
    }
    return false;
}

void resp_header_add(struct req *rq, const char *name, const char *value)
{
    struct resp_header *h = arena_alloc(&rq->arena, sizeof(*h));
    struct resp_header **tail = &rq->resp.headers;

    h->name = arena_strdup(&rq->arena, name);
    h->value = arena_strdup(&rq->arena, value);
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

/* Drops a file or stream body that an answer set earlier. */
static void resp_drop_source(struct resp *r)
{
    if (r->file) {
        close(r->file->fd);
        r->file = NULL;
    }
    if (r->stream) {
        r->stream->free(r->stream->ctx);
        r->stream = NULL;
    }
}

void resp_take(struct req *rq, unsigned status, const char *content_type, char *body, size_t len)
{
    free(rq->resp.body);
    resp_drop_source(&rq->resp);
    rq->resp.status = status;
    rq->resp.content_type = content_type;
    rq->resp.body = body;
    rq->resp.body_len = len;
}

void resp_empty(struct req *rq, unsigned status)
{
    resp_take(rq, status, NULL, NULL, 0);
}

void resp_file(struct req *rq, unsigned status, const char *content_type, int fd, uint64_t offset,
               uint64_t len)
{
    struct resp_file *f = arena_alloc(&rq->arena, sizeof(*f));

    resp_take(rq, status, content_type, NULL, 0);
    *f = (struct resp_file){ .fd = fd, .offset = offset, .len = len };
    rq->resp.file = f;
}

void resp_stream(struct req *rq, unsigned status, const char *content_type,
                 const struct resp_stream *stream)
{
    struct resp_stream *s = arena_alloc(&rq->arena, sizeof(*s));

    resp_take(rq, status, content_type, NULL, 0);
    *s = *stream;
    rq->resp.stream = s;
}

void resp_json(struct req *rq, unsigned status, json_t *body)
{
    char *text;

    if (!body) {
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "BUG: no JSON body for a %u response", status);
        resp_error(rq, ERR_INTERNAL, NULL);
        return;
    }
    text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text) {
        fprintf(stderr, "consign: out of memory encoding JSON\n");
        abort();
    }
    resp_take(rq, status, "application/json", text, strlen(text));
}

void resp_error(struct req *rq, enum err e, const char *fmt, ...)
{
    unsigned status = err_http_status(e);
    const char *msg = err_message(e);
    char detail[512];
    json_t *body;

    if (fmt) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        msg = detail;
    }
    body = json_pack("{s:i, s:s, s:[{s:i, s:s, s:s}]}", "code", (int)status, "message", msg,
                     "errors", "code", (int)e, "msg", msg, "type", err_type(e));
    if (!body) /* only when @msg is not UTF-8: fall back to the registry text */
        body = json_pack("{s:i, s:s, s:[{s:i, s:s, s:s}]}", "code", (int)status, "message",
                         err_message(e), "errors", "code", (int)e, "msg", err_message(e), "type",
                         err_type(e));
    resp_json(rq, status, body);
    rq->resp.err = e;
    if (status >= 500)
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "%s %s: %s", rq->method_name ? rq->method_name : "-",
               rq->route ? rq->route->label : "-", msg);
}

static bool rid_is_sane(struct str s)
{
    if (s.len == 0 || s.len > 40)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static void add_common_headers(struct req *rq)
{
    resp_header_add(rq, "X-Request-Id", rq->rid);
    resp_header_add(rq, "Access-Control-Allow-Origin", "*");
    resp_header_add(rq, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    if (rq->resp.content_type && strcmp(rq->resp.content_type, "application/json") == 0)
        resp_header_add(rq, "Cache-Control", "no-store");
}

uint64_t http_body_max(const struct req *rq)
{
    if (rq->route && rq->route->body_max)
        return rq->route->body_max;
    return HTTP_JSON_MAX;
}

bool http_begin(const struct http_app *app, struct req *rq, int64_t content_length)
{
    struct str rid = req_header(rq, "X-Request-Id");
    size_t header_bytes = 0;
    unsigned allowed = 0;
    enum http_match m;

    if (rid_is_sane(rid))
        memcpy(rq->rid, rid.ptr, rid.len), rq->rid[rid.len] = '\0';
    else
        id_new(rq->rid);
    log_set_request(rq->rid);
    rq->started_ms = clock_mono_ms();
    rq->env = app->env;
    for (size_t i = 0; i < rq->nheaders; i++)
        header_bytes += rq->headers[i].name.len + rq->headers[i].value.len + 4;
    if (rq->nheaders > HTTP_HEADERS_MAX_COUNT || header_bytes > HTTP_HEADERS_MAX_BYTES) {
        resp_error(rq, ERR_HEADERS_TOO_LARGE, "at most %d headers of %u bytes in all are accepted",
                   HTTP_HEADERS_MAX_COUNT, HTTP_HEADERS_MAX_BYTES);
        goto refused;
    }
    if (rq->path.len > HTTP_URI_MAX) {
        resp_error(rq, ERR_URI_TOO_LONG, NULL);
        goto refused;
    }
    /* An unknown method (0) matches no route: the path's own methods answer it, as a 405. */
    m = http_router_match(app->router, rq->method == HTTP_OPTIONS ? HTTP_GET : rq->method, rq->path,
                          &rq->route, rq->params, &allowed);
    if (rq->method == HTTP_OPTIONS) {
        /* A CORS preflight: any path the API knows may be called from a browser. */
        rq->route = NULL;
        if (m == HTTP_MATCH_NOT_FOUND) {
            resp_error(rq, ERR_NOT_FOUND, NULL);
            goto refused;
        }
        resp_empty(rq, 204);
        resp_header_add(rq, "Access-Control-Allow-Methods",
                        "GET, HEAD, POST, PUT, DELETE, OPTIONS");
        resp_header_add(rq, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        resp_header_add(rq, "Access-Control-Max-Age", "86400");
        goto refused;
    }
    if (m == HTTP_MATCH_NOT_FOUND) {
        resp_error(rq, ERR_NOT_FOUND, "no route for %.*s",
                   (int)(rq->path.len > 200 ? 200 : rq->path.len), rq->path.ptr);
        goto refused;
    }
    if (m == HTTP_MATCH_BAD_METHOD) {
        char allow[128];

        methods_text(allowed, allow, sizeof(allow));
        resp_error(rq, ERR_METHOD_NOT_ALLOWED, "this resource takes %s", allow);
        resp_header_add(rq, "Allow", allow);
        goto refused;
    }
    if (content_length > 0 && (uint64_t)content_length > http_body_max(rq)) {
        http_refuse_body(rq);
        return false;
    }
    log_set_request(NULL);
    return true;
refused:
    add_common_headers(rq);
    log_set_request(NULL);
    return false;
}

void http_refuse_body(struct req *rq)
{
    resp_error(rq, ERR_BODY_TOO_LARGE, "the body may be at most %llu bytes",
               (unsigned long long)http_body_max(rq));
    add_common_headers(rq);
    log_set_request(NULL);
}

void http_finish(const struct http_app *app, struct req *rq)
{
    log_set_request(rq->rid);
    app->dispatch(rq);
    if (rq->resp.status == 0) {
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "BUG: route %s left no response", rq->route->label);
        resp_error(rq, ERR_INTERNAL, NULL);
    }
    add_common_headers(rq);
    log_set_request(NULL);
}

bool http_stream_open(const struct http_app *app, struct req *rq)
{
    log_set_request(rq->rid);
    app->dispatch(rq);
    if (rq->resp.status == 0 && !rq->sink) {
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "BUG: route %s set neither an answer nor a sink",
               rq->route->label);
        resp_error(rq, ERR_INTERNAL, NULL);
    }
    if (rq->resp.status) {
        add_common_headers(rq);
        log_set_request(NULL);
        return false;
    }
    log_set_request(NULL);
    return true;
}

bool http_stream_write(struct req *rq, const void *p, size_t n)
{
    bool ok;

    log_set_request(rq->rid);
    ok = rq->sink->write(rq, p, n);
    if (!ok) {
        if (rq->resp.status == 0)
            resp_error(rq, ERR_INTERNAL, NULL);
        add_common_headers(rq);
    }
    log_set_request(NULL);
    return ok;
}

void http_stream_close(struct req *rq)
{
    log_set_request(rq->rid);
    rq->sink->done(rq);
    if (rq->resp.status == 0) {
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "BUG: route %s's sink left no answer", rq->route->label);
        resp_error(rq, ERR_INTERNAL, NULL);
    }
    add_common_headers(rq);
    log_set_request(NULL);
}

void http_req_release(struct req *rq)
{
    if (rq->sink) {
        rq->sink->release(rq);
        rq->sink = NULL;
    }
    resp_drop_source(&rq->resp);
    free(rq->resp.body);
    rq->resp.body = NULL;
    arena_release(&rq->arena);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decoding as libmicrohttpd does it; '+' becomes a space in query arguments only. */
static struct str url_decode(struct arena *a, const char *s, size_t len, bool plus_is_space)
{
    char *out = arena_alloc(a, len + 1);
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            out[n++] = (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[n++] = ' ';
        } else {
            out[n++] = s[i];
        }
    }
    return (struct str){ out, n };
}

void http_loopback(const struct http_app *app, struct req *rq, const char *method,
                   const char *target, const char *const *headers, const void *body,
                   size_t body_len)
{
    const char *q = strchr(target, '?');
    size_t nh = 0;

    memset(rq, 0, sizeof(*rq));
    arena_init(&rq->arena);
    rq->method_name = method;
    rq->method = http_method_parse(str_from(method));
    rq->path = url_decode(&rq->arena, target, q ? (size_t)(q - target) : strlen(target), false);
    snprintf(rq->client_addr, sizeof(rq->client_addr), "127.0.0.1");
    if (q) {
        struct str rest = str_from(q + 1), arg;

        rq->query = arena_alloc(&rq->arena, HTTP_QUERY_MAX_COUNT * sizeof(*rq->query));
        while (str_next(&rest, '&', &arg) && rq->nquery < HTTP_QUERY_MAX_COUNT) {
            const char *eq = arg.len ? memchr(arg.ptr, '=', arg.len) : NULL;
            size_t klen = eq ? (size_t)(eq - arg.ptr) : arg.len;
            struct http_kv *kv;

            if (arg.len == 0)
                continue;
            kv = &rq->query[rq->nquery++];
            kv->name = url_decode(&rq->arena, arg.ptr, klen, true);
            kv->value = eq ? url_decode(&rq->arena, eq + 1, arg.len - klen - 1, true) : STR_LIT("");
        }
    }
    while (headers && headers[nh])
        nh++;
    rq->headers = arena_alloc(&rq->arena, (nh + 1) * sizeof(*rq->headers));
    for (size_t i = 0; i < nh; i++) {
        const char *colon = strchr(headers[i], ':');
        struct http_kv *kv = &rq->headers[rq->nheaders];

        if (!colon)
            continue;
        kv->name = (struct str){ headers[i], (size_t)(colon - headers[i]) };
        kv->value = str_trim(str_from(colon + 1));
        rq->nheaders++;
    }
    if (!http_begin(app, rq, (int64_t)body_len))
        return;
    if (rq->route->stream) {
        /* In pieces, as a network would deliver them. */
        const char *p = body;
        size_t left = body_len;

        if (!http_stream_open(app, rq))
            return;
        while (left) {
            size_t n = left < 4096 ? left : 4096;

            if (!http_stream_write(rq, p, n))
                return;
            p += n;
            left -= n;
        }
        http_stream_close(rq);
    } else {
        rq->body =
            (struct str){ body_len ? arena_strndup(&rq->arena, body, body_len) : "", body_len };
        http_finish(app, rq);
    }
    /* In-process, the whole answer counts as delivered. */
    if (rq->resp.on_sent)
        rq->resp.on_sent(rq);
}

enum http_range http_range_parse(struct str h, uint64_t size, uint64_t *from, uint64_t *len)
{
    struct str spec, a, b;
    const char *dash;
    uint64_t x, y;

    h = str_trim(h);
    if (h.len < 6 || memcmp(h.ptr, "bytes=", 6) != 0)
        return HTTP_RANGE_NONE;
    spec = str_trim((struct str){ h.ptr + 6, h.len - 6 });
    if (memchr(spec.ptr, ',', spec.len) || !(dash = memchr(spec.ptr, '-', spec.len)))
        return HTTP_RANGE_NONE;
    a = str_trim((struct str){ spec.ptr, (size_t)(dash - spec.ptr) });
    b = str_trim((struct str){ dash + 1, spec.len - (size_t)(dash - spec.ptr) - 1 });
    if (a.len == 0) {
        /* The last y bytes. */
        if (!str_to_u64(b, UINT64_MAX, &y))
            return HTTP_RANGE_NONE;
        if (y == 0 || size == 0)
            return HTTP_RANGE_UNSAT;
        *len = y < size ? y : size;
        *from = size - *len;
        return HTTP_RANGE_OK;
    }
    if (!str_to_u64(a, UINT64_MAX, &x))
        return HTTP_RANGE_NONE;
    if (b.len == 0) {
        y = UINT64_MAX;
    } else if (!str_to_u64(b, UINT64_MAX, &y) || y < x) {
        return HTTP_RANGE_NONE;
    }
    if (x >= size)
        return HTTP_RANGE_UNSAT;
    if (y >= size)
        y = size - 1;
    *from = x;
    *len = y - x + 1;
    return HTTP_RANGE_OK;
}

bool http_range_answer(struct req *rq, uint64_t size, uint64_t *from, uint64_t *len,
                       unsigned *status)
{
    char v[96];

    resp_header_add(rq, "Accept-Ranges", "bytes");
    switch (http_range_parse(req_header(rq, "Range"), size, from, len)) {
    case HTTP_RANGE_OK:
        snprintf(v, sizeof(v), "bytes %llu-%llu/%llu", (unsigned long long)*from,
                 (unsigned long long)(*from + *len - 1), (unsigned long long)size);
        resp_header_add(rq, "Content-Range", v);
        *status = 206;
        return true;
    case HTTP_RANGE_UNSAT:
        snprintf(v, sizeof(v), "bytes */%llu", (unsigned long long)size);
        resp_error(rq, ERR_RANGE_UNSATISFIABLE, "the content has %llu bytes",
                   (unsigned long long)size);
        resp_header_add(rq, "Content-Range", v);
        return false;
    case HTTP_RANGE_NONE:
        break;
    }
    *from = 0;
    *len = size;
    *status = 200;
    return true;
}
