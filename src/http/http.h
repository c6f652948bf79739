/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP edge. Handlers see a plain struct req and leave their answer in rq->resp; no type of
 * libmicrohttpd appears here, so the same request path (route match, limits, CORS, dispatch)
 * runs under the real server (http/server.c) and in-process (http_loopback()) for tests and
 * fuzzing.
 */
#ifndef CONSIGN_HTTP_H
#define CONSIGN_HTTP_H

#include "core/compat.h"

#include <jansson.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"

/** Methods as bits, so a route set can report which methods a path allows. */
enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_DELETE = 1 << 4,
    HTTP_PATCH = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
};

/** Most path parameters a route pattern may name. */
#define HTTP_MAX_PARAMS 4
/** Default cap of a JSON request body. */
#define HTTP_JSON_MAX (1u << 20)
/** Caps on the request line and headers, enforced before any handler runs. */
#define HTTP_URI_MAX 4096
#define HTTP_HEADERS_MAX_COUNT 100
#define HTTP_HEADERS_MAX_BYTES (24u << 10)
/** Most query arguments kept from one request. */
#define HTTP_QUERY_MAX_COUNT 100

struct req;

/** A request handler. It must leave a response in rq->resp (resp_* functions) before it returns. */
typedef void http_handler_fn(struct req *rq);

/** One row of the route table (api/routes.c). */
struct http_route {
    enum http_method method;
    /** "/v1/teams/{team_id}/members": literal segments and {name} parameters. */
    const char *pattern;
    http_handler_fn *handler;
    /** Which credentials the route takes; opaque here, read by the dispatcher. */
    unsigned auth;
    /** Largest body accepted; 0 means HTTP_JSON_MAX for POST/PUT/PATCH and none otherwise. */
    uint64_t body_max;
    /** Label for logs and metrics ("members.list"). */
    const char *label;
    /**
     * The body is streamed to the handler instead of collected: the handler runs as soon as the
     * headers are in and either answers at once (a refusal) or installs rq->sink.
     */
    bool stream;
};

/** A name and value pair of a request (header or query argument); both borrowed. */
struct http_kv {
    struct str name;
    struct str value;
};

/** A header of a response, in the request's arena. */
struct resp_header {
    const char *name;
    const char *value;
    struct resp_header *next;
};

/** A response body read from an open file, sent with sendfile. */
struct resp_file {
    int fd; /* owned: closed with the request (or by the server once sent) */
    uint64_t offset;
    uint64_t len;
};

/** A response body produced piece by piece (a zip of a package). */
struct resp_stream {
    uint64_t len; /* exact, known up front */
    /**
     * Fills @buf with up to @max bytes from @pos; bytes written, or -1 on an error. With a
     * @waker, 0 means that nothing is ready yet: the connection waits, without a thread, until
     * http_wake(); without one, 0 is an error.
     */
    ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
    /** Releases @ctx; called exactly once. */
    void (*free)(void *ctx);
    void *ctx;
    /** For bytes another thread produces (from http_waker_new()); NULL for bytes at hand. */
    struct http_waker *waker;
};

/**
 * Lets another thread tell the server that a stream has bytes ready (an object store's bytes,
 * fetched by a thread of the handler's). Reference counted: http_waker_new() gives the caller
 * one reference; a stream that names the waker holds another until the response is done.
 * Thread-safe.
 */
struct http_waker;
/** A waker for @rq's connection; NULL for a request not made by the HTTP server. */
struct http_waker *http_waker_new(struct req *rq);
/** Makes the server read the stream again (at once if its connection waits). */
void http_wake(struct http_waker *w);
/** Drops a reference; accepts NULL. */
void http_waker_unref(struct http_waker *w);

/** What a handler answers. */
struct resp {
    unsigned status;          /* 0 until a handler answers */
    const char *content_type; /* static or arena */
    char *body;               /* malloc'd, owned; freed with the request */
    size_t body_len;
    struct resp_header *headers;
    enum err err; /* the registry error when this is an error response */
    /** Instead of body: bytes of a file, or bytes produced on demand; arena-owned, or NULL. */
    struct resp_file *file;
    struct resp_stream *stream;
    /** Called once the whole body was handed to the client's connection (downloads count). */
    void (*on_sent)(struct req *rq);
    void *on_sent_ctx;
};

/**
 * Where a streamed request body goes (routes with .stream). Installed by the handler; each
 * callback that fails leaves the answer in rq->resp.
 */
struct http_sink {
    /** Takes the next piece of the body; false stops reading it. */
    bool (*write)(struct req *rq, const void *p, size_t n);
    /** The whole body has arrived: sets the answer. */
    void (*done)(struct req *rq);
    /** Releases what the sink holds; always called, last, also when the client went away. */
    void (*release)(struct req *rq);
    void *ctx;
};

/** One request, from its first byte to its completion. Not shared between threads. */
struct req {
    enum http_method method;
    /** The method as sent, for the access log. */
    const char *method_name;
    /** Decoded path, without the query string. */
    struct str path;
    struct http_kv *query;
    size_t nquery;
    struct http_kv *headers;
    size_t nheaders;
    /** The whole body (JSON routes); empty when none was sent. */
    struct str body;
    /** The matched route; NULL when none matched. */
    const struct http_route *route;
    struct str params[HTTP_MAX_PARAMS];
    /** Request id: the client's X-Request-Id when it is sane, else a new one. */
    char rid[48];
    /** Client address as text ("127.0.0.1"), for rate limits and the access log. */
    char client_addr[64];
    /** Everything a handler allocates for this request; released at completion. */
    struct arena arena;
    /** The application's context (borrowed), from struct http_app. */
    void *env;
    /** The caller's identity, set by the dispatcher; arena-owned. */
    void *principal;
    int64_t started_ms;
    struct resp resp;
    /** The streamed body's destination (routes with .stream); NULL otherwise. */
    struct http_sink *sink;
    /** The server's connection (opaque); NULL for a request made in-process. */
    void *server_conn;
};

/** A compiled route table. Immutable after http_router_new(), so shared by every thread. */
struct http_router;

/** Compiles @routes (kept borrowed: the table must outlive the router). Aborts on a bad pattern. */
struct http_router *http_router_new(const struct http_route *routes, size_t n);
/** Frees @r; accepts NULL. */
void http_router_free(struct http_router *r);

/** Outcome of matching a path. */
enum http_match {
    HTTP_MATCH_OK,
    HTTP_MATCH_NOT_FOUND,
    HTTP_MATCH_BAD_METHOD,
};

/**
 * Finds the route for @method and @path. Literal segments win over parameters, left to right.
 * On HTTP_MATCH_OK fills *@route and @params (slices of @path); on HTTP_MATCH_BAD_METHOD fills
 * *@allowed with the methods the path does take. Thread-safe.
 */
enum http_match http_router_match(const struct http_router *r, enum http_method method,
                                  struct str path, const struct http_route **route,
                                  struct str params[HTTP_MAX_PARAMS], unsigned *allowed);

/** What the edge serves: the routes, the code that runs them, and the application context. */
struct http_app {
    const struct http_router *router;
    /**
     * Runs a matched request: checks credentials as the route says and calls its handler. Must
     * leave a response in rq->resp.
     */
    void (*dispatch)(struct req *rq);
    void *env;
};

/** Parses a method name; 0 when unknown. */
enum http_method http_method_parse(struct str name);

/**
 * First step of every request, once its headers are in: assigns the request id, matches the
 * route and checks the limits that do not need the body (URI, headers, declared length).
 * Returns false when a response (404, 405, 413, 431, or the CORS preflight) is already set.
 * @content_length is the declared body length, or -1 when none was declared.
 */
bool http_begin(const struct http_app *app, struct req *rq, int64_t content_length);
/** Last step: runs the dispatcher and adds the headers every response carries. */
void http_finish(const struct http_app *app, struct req *rq);
/**
 * For a .stream route, once http_begin() accepted it: runs the dispatcher before the body.
 * True when a sink now waits for the body; false when the answer is already set.
 */
bool http_stream_open(const struct http_app *app, struct req *rq);
/** Hands a piece of the streamed body to the sink; false when the answer is now set. */
bool http_stream_write(struct req *rq, const void *p, size_t n);
/** The streamed body is complete: the sink sets the answer. */
void http_stream_close(struct req *rq);
/** Sets the 413 answer of a body that outgrew the route's cap, with the usual headers. */
void http_refuse_body(struct req *rq);
/** Largest body the matched route accepts. */
uint64_t http_body_max(const struct req *rq);
/** Releases what @rq owns (body, response, arena). */
void http_req_release(struct req *rq);

/**
 * Runs a whole request in-process, as the server would: @target is path and query
 * ("/v1/x?a=b"), @headers a NULL-terminated list of "Name: value" strings. The answer is in
 * rq->resp; release @rq with http_req_release(). For tests and fuzzing.
 */
void http_loopback(const struct http_app *app, struct req *rq, const char *method,
                   const char *target, const char *const *headers, const void *body,
                   size_t body_len);

/** Value of header @name (case-insensitive), or an empty slice with a NULL ptr. */
struct str req_header(const struct req *rq, const char *name);
/** First value of query argument @name; false when absent. */
bool req_query(const struct req *rq, const char *name, struct str *out);
/** Path parameter @name of the matched route ("team_id"); an empty slice when none. */
struct str req_param(const struct req *rq, const char *name);

/** Sets a JSON response, taking ownership of @body (NULL becomes a 500). */
void resp_json(struct req *rq, unsigned status, json_t *body);
/** Sets a response with no body. */
void resp_empty(struct req *rq, unsigned status);
/** Sets a response of @len bytes of @fd from @offset, taking ownership of @fd. */
void resp_file(struct req *rq, unsigned status, const char *content_type, int fd, uint64_t offset,
               uint64_t len);
/** Sets a response produced by @stream (copied; its ctx is owned from now on). */
void resp_stream(struct req *rq, unsigned status, const char *content_type,
                 const struct resp_stream *stream);
/** What a Range header asks of @size bytes. */
enum http_range {
    HTTP_RANGE_NONE,  /* absent, or not one range of bytes: the whole content */
    HTTP_RANGE_OK,    /* [*from, *from + *len) */
    HTTP_RANGE_UNSAT, /* outside the content: 416 */
};
/** Reads a Range header (one byte range; several are answered with the whole content). */
enum http_range http_range_parse(struct str header, uint64_t size, uint64_t *from, uint64_t *len);
/**
 * Answers @len bytes at @from of content of @size bytes: 200, or 206 with Content-Range when
 * @rq asked for a range, or 416; with Accept-Ranges. Sets *@from and *@len to what to send;
 * false after a 416.
 */
bool http_range_answer(struct req *rq, uint64_t size, uint64_t *from, uint64_t *len,
                       unsigned *status);
/** Sets a response of @content_type, taking ownership of the malloc'd @body. */
void resp_take(struct req *rq, unsigned status, const char *content_type, char *body, size_t len);
/**
 * Sets the error response of @e: status from the registry and the JSON body
 * {"code": status, "message": …, "errors": [{"code": e, "msg": …, "type": …}]}. @fmt (may be
 * NULL for the registry's message) says what exactly is wrong; it must not contain secrets.
 */
void resp_error(struct req *rq, enum err e, const char *fmt, ...) PRINTF_LIKE(3, 4);
/** Adds a response header; both strings are copied into the arena. */
void resp_header_add(struct req *rq, const char *name, const char *value);

/** Settings of the real server. */
struct http_server_opts {
    const char *host;      /* numeric IPv4 or IPv6 address, or a name that resolves to one */
    unsigned port;         /* 0 picks a free port */
    unsigned threads;      /* worker threads; 0 means one per core */
    unsigned conn_limit;   /* open connections at most */
    unsigned conn_timeout; /* seconds a connection may stay idle */
    /* The client is the last address of X-Forwarded-For (what the load balancer in front
     * appended), not the peer: only when every request comes through that balancer. */
    bool trust_forwarded;
};

struct http_server;

/**
 * Starts serving @app (borrowed; must outlive the server). Fills *@out; on failure returns false
 * and logs why. The caller must have blocked SIGINT and SIGTERM in every thread first.
 */
MUST_CHECK bool http_server_start(const struct http_server_opts *opts, const struct http_app *app,
                                  struct http_server **out);
/** The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *s);
/** Stops accepting connections; requests in flight go on. */
void http_server_quiesce(struct http_server *s);
/** Waits until no request is in flight or @timeout_ms passed; true when idle. */
bool http_server_wait_idle(struct http_server *s, int64_t timeout_ms);
/** Stops the server, closing what is left, and frees it; accepts NULL. */
void http_server_stop(struct http_server *s);

#endif /* CONSIGN_HTTP_H */
