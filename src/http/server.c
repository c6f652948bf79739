/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The only file that speaks libmicrohttpd. It runs MHD's multi-call protocol for each request
 * (headers, then body pieces, then the final call), keeps body sizes to the route's cap while
 * the bytes arrive, and hands a complete struct req to the shared request path in request.c.
 * Mode: MHD's epoll thread pool, one thread per core, which measured best on this class of
 * machine. A response is never queued on the first call of a request: MHD turns keep-alive off
 * when that happens.
 */
#include "core/compat.h"
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_COMPONENT "http"
#include "core/clock.h"
#include "core/log.h"

struct http_server {
    struct MHD_Daemon *daemon;
    const struct http_app *app;
    atomic_int inflight;
    unsigned port;
    bool trust_forwarded;
    /* The wakers of streams in flight, so that stopping can release their connections. */
    pthread_mutex_t wakers_mu;
    struct http_waker *wakers;
    bool stopping;
};

/*
 * A connection whose stream waits for bytes is suspended (it leaves MHD's event loop, holding
 * no thread) and resumed by http_wake(). The flags, under @mu, close the race between a read
 * that finds nothing and a wake that comes before the suspension.
 */
struct http_waker {
    pthread_mutex_t mu;
    atomic_int refs;
    struct MHD_Connection *conn;
    struct http_server *srv;
    bool suspended; /* the connection waits for a wake */
    bool pending;   /* woken while not suspended: read again before suspending */
    bool closed;    /* the server is stopping: the stream fails */
    bool listed;    /* in srv->wakers */
    struct http_waker *prev, *next;
};

/* Most bytes of a refused body read and dropped before the connection is cut. */
#define DISCARD_MAX (16u << 20)

/* Per-request state kept by MHD between calls (its req_cls). */
struct conn_req {
    struct req rq;
    struct sbuf body;
    bool refused;       /* the answer was decided before the whole body was read */
    uint64_t discarded; /* bytes of a refused body read and dropped */
    struct http_server *srv;
    struct MHD_Connection *conn;
};

struct collect {
    struct req *rq;
    struct http_kv *kv;
    size_t n;
    size_t cap;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    struct collect *c = cls;

    (void)kind;
    if (c->n == c->cap)
        return MHD_YES;
    c->kv[c->n].name = (struct str){ key, key_size };
    c->kv[c->n].value = (struct str){ value ? value : "", value ? value_size : 0 };
    c->n++;
    return MHD_YES;
}

static size_t gather(struct MHD_Connection *conn, struct req *rq, enum MHD_ValueKind kind,
                     size_t cap, struct http_kv **out)
{
    /* One slot more than the cap, so that "too many" is seen by the limit checks. */
    struct collect c = { .rq = rq, .cap = cap + 1 };

    c.kv = arena_alloc(&rq->arena, c.cap * sizeof(*c.kv));
    MHD_get_connection_values_n(conn, kind, collect_kv, &c);
    *out = c.kv;
    return c.n;
}

static void client_address(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, cap, "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

/* The last address of X-Forwarded-For, the one the balancer in front of us appended, when it is
 * an IP address; @out is left as it is otherwise. */
static void forwarded_address(struct MHD_Connection *conn, char *out, size_t cap)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
    const char *last = v ? strrchr(v, ',') : NULL;
    struct str a;
    char text[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    int family;

    if (!v)
        return;
    a = str_trim(str_from(last ? last + 1 : v));
    if (a.len == 0 || a.len >= sizeof(text))
        return;
    memcpy(text, a.ptr, a.len);
    text[a.len] = '\0';
    family = strchr(text, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, text, bin) == 1)
        inet_ntop(family, bin, out, (socklen_t)cap);
}

/* Block size of generated bodies (zips): big enough that the send calls stay few. */
#define STREAM_BLOCK (256u << 10)

struct http_waker *http_waker_new(struct req *rq)
{
    struct conn_req *cr = rq->server_conn;
    struct http_waker *w;

    if (!cr)
        return NULL;
    w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    atomic_init(&w->refs, 1);
    w->conn = cr->conn;
    w->srv = cr->srv;
    return w;
}

void http_waker_unref(struct http_waker *w)
{
    if (!w || atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void http_wake(struct http_waker *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->suspended) {
        w->suspended = false;
        MHD_resume_connection(w->conn);
    } else {
        w->pending = true;
    }
    pthread_mutex_unlock(&w->mu);
}

/* A stream's waker joins the server's list while its response lives (for http_server_stop). */
static void waker_list(struct http_waker *w, bool add)
{
    struct http_server *srv = w->srv;

    pthread_mutex_lock(&srv->wakers_mu);
    if (add) {
        w->next = srv->wakers;
        if (srv->wakers)
            srv->wakers->prev = w;
        srv->wakers = w;
        w->listed = true;
        w->closed = srv->stopping;
    } else if (w->listed) {
        if (w->prev)
            w->prev->next = w->next;
        else
            srv->wakers = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->listed = false;
    }
    pthread_mutex_unlock(&srv->wakers_mu);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct resp_stream *s = cls;
    struct http_waker *w = s->waker;
    ssize_t n;

    if (!w) {
        n = s->read(s->ctx, pos, buf, max);
        return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    pthread_mutex_lock(&w->mu);
    n = w->closed ? -1 : s->read(s->ctx, pos, buf, max);
    if (n == 0 && !w->pending) {
        /* Nothing yet: leave the event loop until http_wake() (the rule of MHD for a reader that
         * has no data: suspend, then return 0). */
        w->suspended = true;
        MHD_suspend_connection(w->conn);
    }
    w->pending = false;
    pthread_mutex_unlock(&w->mu);
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void stream_free(void *cls)
{
    struct resp_stream *s = cls;

    s->free(s->ctx);
    if (s->waker) {
        waker_list(s->waker, false);
        http_waker_unref(s->waker);
    }
    free(s);
}

/* The MHD response of an answer; what it takes over (body, fd, stream) is no longer ours. */
static struct MHD_Response *response_of(struct resp *resp)
{
    struct MHD_Response *r;

    if (resp->file) {
        r = MHD_create_response_from_fd_at_offset64(resp->file->len, resp->file->fd,
                                                    resp->file->offset);
        if (r)
            resp->file = NULL;
        return r;
    }
    if (resp->stream) {
        struct resp_stream *s = xmalloc(sizeof(*s));

        *s = *resp->stream;
        r = MHD_create_response_from_callback(s->len, STREAM_BLOCK, stream_read, s, stream_free);
        if (!r) {
            free(s);
            return NULL;
        }
        if (s->waker) {
            atomic_fetch_add(&s->waker->refs, 1);
            waker_list(s->waker, true);
        }
        resp->stream = NULL;
        return r;
    }
    r = MHD_create_response_from_buffer(
        resp->body_len, resp->body, resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (r)
        resp->body = NULL;
    return r;
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct req *rq)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = response_of(&rq->resp);
    if (!r)
        return MHD_NO;
    if (rq->resp.content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rq->resp.content_type);
    for (const struct resp_header *h = rq->resp.headers; h; h = h->next)
        MHD_add_response_header(r, h->name, h->value);
    ret = MHD_queue_response(conn, rq->resp.status, r);
    MHD_destroy_response(r);
    return ret;
}

static bool expects_continue(struct MHD_Connection *conn)
{
    const char *e = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

    return e && str_eq_nocase(str_from(e), "100-continue");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct http_server *srv = cls;
    struct conn_req *cr = *req_cls;
    struct req *rq;

    (void)version;
    if (!cr) {
        const char *cl;
        int64_t content_length = -1;
        uint64_t v;

        cr = xcalloc(1, sizeof(*cr));
        cr->srv = srv;
        cr->conn = conn;
        rq = &cr->rq;
        rq->server_conn = cr;
        arena_init(&rq->arena);
        rq->method_name = arena_strdup(&rq->arena, method);
        rq->method = http_method_parse(str_from(method));
        rq->path = str_from(url);
        client_address(conn, rq->client_addr, sizeof(rq->client_addr));
        if (srv->trust_forwarded)
            forwarded_address(conn, rq->client_addr, sizeof(rq->client_addr));
        rq->nheaders = gather(conn, rq, MHD_HEADER_KIND, HTTP_HEADERS_MAX_COUNT, &rq->headers);
        rq->nquery = gather(conn, rq, MHD_GET_ARGUMENT_KIND, HTTP_QUERY_MAX_COUNT, &rq->query);
        if (rq->nquery > HTTP_QUERY_MAX_COUNT)
            rq->nquery = HTTP_QUERY_MAX_COUNT;
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && str_to_u64(str_from(cl), INT64_MAX, &v))
            content_length = (int64_t)v;
        sbuf_init(&cr->body, 0);
        *req_cls = cr;
        atomic_fetch_add(&srv->inflight, 1);
        cr->refused = !http_begin(srv->app, rq, content_length);
        cr->body.max = http_body_max(rq);
        if (!cr->refused && rq->route->stream)
            cr->refused = !http_stream_open(srv->app, rq);
        /*
         * A refused request that waits for "100 Continue" is answered now, so its body is never
         * sent; so is one that announces a body too large to be worth reading. Any other refused
         * body is read and dropped first (below): a client that sends its body without waiting
         * only reads the answer if the server reads what it sent. The connection closes after.
         */
        if (cr->refused &&
            (expects_continue(conn) ||
             (content_length > 0 && (uint64_t)content_length > cr->body.max + DISCARD_MAX)))
            return queue(conn, rq);
        return MHD_YES;
    }
    rq = &cr->rq;
    if (*upload_data_size > 0 && !cr->refused && rq->sink) {
        if (http_stream_write(rq, upload_data, *upload_data_size)) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        /* The sink refused: the rest of the body is read and dropped, as below. */
        cr->refused = true;
    }
    if (*upload_data_size > 0) {
        if (!cr->refused && sbuf_add(&cr->body, upload_data, *upload_data_size)) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        /* MHD cannot answer in the middle of a body: a body that outgrows its cap is read to
         * its end and dropped, then refused; one that goes on far past it is cut off. */
        if (!cr->refused) {
            http_refuse_body(rq);
            cr->refused = true;
            sbuf_release(&cr->body);
        }
        cr->discarded += *upload_data_size;
        *upload_data_size = 0;
        return cr->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (cr->refused)
        return queue(conn, rq);
    if (rq->sink) {
        http_stream_close(rq);
        return queue(conn, rq);
    }
    rq->body = (struct str){ cr->body.buf ? cr->body.buf : "", cr->body.len };
    http_finish(srv->app, rq);
    return queue(conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct conn_req *cr = *req_cls;
    struct req *rq;

    (void)conn;
    if (!cr)
        return;
    rq = &cr->rq;
    /* The query string is never logged: it can carry link secrets and signatures. */
    LOG_AT(LOG_LEVEL_INFO, rq->rid, "%s %.*s %u %s %.1fms client=%s%s",
           rq->method_name ? rq->method_name : "-", (int)(rq->path.len > 256 ? 256 : rq->path.len),
           rq->path.ptr ? rq->path.ptr : "", rq->resp.status, rq->route ? rq->route->label : "-",
           (double)(clock_mono_ms() - rq->started_ms), rq->client_addr,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->resp.on_sent) {
        log_set_request(rq->rid);
        rq->resp.on_sent(rq);
        log_set_request(NULL);
    }
    sbuf_release(&cr->body);
    http_req_release(rq);
    free(cr);
    *req_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    LOG_DBG("libmicrohttpd: %s", line);
}

bool http_server_start(const struct http_server_opts *opts, const struct http_app *app,
                       struct http_server **out)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    struct http_server *srv = NULL;
    unsigned threads = opts->threads;
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    char port[16];
    const union MHD_DaemonInfo *info;
    int rc;

    snprintf(port, sizeof(port), "%u", opts->port);
    rc = getaddrinfo(opts->host, port, &hints, &ai);
    if (rc != 0 || !ai) {
        LOG_ERR("cannot resolve listen address '%s': %s", opts->host, gai_strerror(rc));
        return false;
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        threads = n > 0 ? (unsigned)n : 1;
    }
    srv = xcalloc(1, sizeof(*srv));
    pthread_mutex_init(&srv->wakers_mu, NULL);
    srv->app = app;
    srv->trust_forwarded = opts->trust_forwarded;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, opts->conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, opts->conn_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64u << 10), MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->daemon) {
        LOG_ERR("cannot listen on %s:%u (in use, or not an address of this machine?)", opts->host,
                opts->port);
        free(srv);
        return false;
    }
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    *out = srv;
    return true;
}

unsigned http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_quiesce(struct http_server *s)
{
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);

    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

bool http_server_wait_idle(struct http_server *s, int64_t timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;

    while (atomic_load(&s->inflight) > 0) {
        if (clock_mono_ms() >= deadline)
            return false;
        usleep(20 * 1000);
    }
    return true;
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    /* No connection may be suspended when MHD stops: streams still waiting fail now. */
    pthread_mutex_lock(&s->wakers_mu);
    s->stopping = true;
    for (struct http_waker *w = s->wakers; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        w->closed = true;
        if (w->suspended) {
            w->suspended = false;
            MHD_resume_connection(w->conn);
        }
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&s->wakers_mu);
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->wakers_mu);
    free(s);
}
