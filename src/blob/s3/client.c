/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Server-side S3 calls through libcurl (see blob/s3/client.h), and the small XML reader for
 * their answers. libcurl signs each request (CURLOPT_AWS_SIGV4). Debian 12's libcurl (7.88)
 * signs the path and query exactly as it is given them, without canonicalizing, so every URL
 * here is built already canonical: segments URI-encoded, the query sorted and every parameter
 * written "name=value" (an S3 "?uploads" would be signed as "uploads" and refused).
 *
 * The XML reader knows only what these few answers need: find an element by name, take its text,
 * decode the five entities and character references. It never allocates more than the answer.
 * No XML library: the answers are small, flat and capped, and the parsers are fuzzed.
 */
#include "core/compat.h"
#include "blob/s3/client.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>

#define LOG_COMPONENT "s3"
#include "core/log.h"
#include "core/mem.h"

/* Time-outs, seconds. Completing an upload of thousands of parts may take S3 minutes. */
#define CONNECT_TIMEOUT 10L
#define CALL_TIMEOUT 60L
#define COMPLETE_TIMEOUT 900L
/* The streaming GET fails below this many bytes per second over this many seconds. */
#define LOW_SPEED_BYTES 1024L
#define LOW_SPEED_SECONDS 30L
/* Longest S3 URL written here: the endpoint, an encoded key and a short query. */
#define URL_MAX (16u << 10)
#define S3_URL_MAX 2048u

struct s3_client {
    struct s3_cfg cfg;
    struct sigv4_endpoint ep;
    char *sigv4; /* "aws:amz:REGION:s3" */
};

const char *s3_rc_name(enum s3_rc rc)
{
    switch (rc) {
    case S3_OK:
        return "ok";
    case S3_NOT_FOUND:
        return "not found";
    case S3_CONFLICT:
        return "conflict";
    case S3_TRANSIENT:
        return "transient";
    case S3_ERROR:
        return "error";
    }
    return "?";
}

/* ---- XML answers ---- */

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct str trim_xml(struct str s)
{
    while (s.len && is_xml_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_xml_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/*
 * Finds the next element named @name in *@rest: its content (between the start and end tags;
 * empty for <name/>) in *@inner, and *@rest advanced past it. Elements of one name are not
 * nested in these answers, so the first closing tag ends it.
 */
static bool xml_next(struct str *rest, const char *name, struct str *inner)
{
    size_t nl = strlen(name);
    const char *p = rest->ptr, *end = rest->ptr + rest->len;

    while (p && p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p)), *q, *gt, *close;

        if (!lt)
            return false;
        q = lt + 1;
        p = q;
        if ((size_t)(end - q) <= nl || memcmp(q, name, nl) != 0 ||
            !(q[nl] == '>' || q[nl] == '/' || is_xml_space(q[nl])))
            continue;
        gt = memchr(q + nl, '>', (size_t)(end - q - nl));
        if (!gt)
            return false;
        if (gt[-1] == '/') {
            *inner = (struct str){ gt, 0 };
            rest->ptr = gt + 1;
            rest->len = (size_t)(end - gt - 1);
            return true;
        }
        for (close = gt + 1; close < end; close++) {
            close = memchr(close, '<', (size_t)(end - close));
            if (!close)
                return false;
            if ((size_t)(end - close) >= nl + 3 && close[1] == '/' &&
                memcmp(close + 2, name, nl) == 0 && close[2 + nl] == '>')
                break;
        }
        if (close >= end)
            return false;
        *inner = (struct str){ gt + 1, (size_t)(close - gt - 1) };
        rest->ptr = close + nl + 3;
        rest->len = (size_t)(end - rest->ptr);
        return true;
    }
    return false;
}

/* Appends code point @cp as UTF-8; false for one XML does not allow. */
static bool put_utf8(uint64_t cp, char *out, size_t *o, size_t cap)
{
    unsigned char b[4];
    size_t n;

    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return false;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (cap - *o <= n)
        return false;
    memcpy(out + *o, b, n);
    *o += n;
    return true;
}

/*
 * Decodes the text content @in into @out (@cap bytes, NUL included): entities and character
 * references replaced. False when it holds markup or a bad reference, or does not fit.
 */
static bool xml_text(struct str in, char *out, size_t cap)
{
    static const struct {
        const char *name;
        char c;
    } entities[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' }
    };
    size_t o = 0;

    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        const char *semi;
        bool known = false;

        if (c == '<' || c == '\0')
            return false;
        if (c != '&') {
            if (cap - o <= 1)
                return false;
            out[o++] = c;
            continue;
        }
        semi = memchr(in.ptr + i, ';', in.len - i);
        if (!semi || semi - (in.ptr + i) > 12)
            return false;
        if (in.ptr[i + 1] == '#') {
            struct str num = { in.ptr + i + 2, (size_t)(semi - in.ptr - i - 2) };
            uint64_t cp = 0;

            if (num.len && (num.ptr[0] == 'x' || num.ptr[0] == 'X')) {
                num.ptr++;
                num.len--;
                if (num.len == 0 || num.len > 6)
                    return false;
                for (size_t k = 0; k < num.len; k++) {
                    char h = num.ptr[k];
                    int v = (h >= '0' && h <= '9')   ? h - '0'
                            : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                            : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                     : -1;

                    if (v < 0)
                        return false;
                    cp = cp * 16 + (uint64_t)v;
                }
            } else if (!str_to_u64(num, 0x10ffff, &cp)) {
                return false;
            }
            if (!put_utf8(cp, out, &o, cap))
                return false;
        } else {
            for (size_t k = 0; k < ARRAY_LEN(entities) && !known; k++) {
                size_t len = strlen(entities[k].name);

                if ((size_t)(semi - in.ptr - i) == len &&
                    memcmp(in.ptr + i + 1, entities[k].name, len) == 0) {
                    if (cap - o <= 1)
                        return false;
                    out[o++] = entities[k].c;
                    known = true;
                }
            }
            if (!known)
                return false;
        }
        i = (size_t)(semi - in.ptr);
    }
    out[o] = '\0';
    return true;
}

/* The text of the first element @name in @xml, decoded into @out. */
static bool xml_find_text(struct str xml, const char *name, char *out, size_t cap)
{
    struct str inner;

    return xml_next(&xml, name, &inner) && xml_text(inner, out, cap);
}

/* The first element @name of @xml as a number of at most @max. */
static bool xml_find_u64(struct str xml, const char *name, uint64_t max, uint64_t *out)
{
    char text[24];

    return xml_find_text(xml, name, text, sizeof(text)) &&
           str_to_u64(trim_xml(str_from(text)), max, out);
}

/* True when the document element of @xml is named @name (after the prolog and comments). */
static bool xml_root_is(struct str xml, const char *name)
{
    size_t nl = strlen(name);
    size_t i = 0;

    for (;;) {
        while (i < xml.len && is_xml_space(xml.ptr[i]))
            i++;
        if (i + 1 >= xml.len || xml.ptr[i] != '<')
            return false;
        if (xml.ptr[i + 1] == '?' || xml.ptr[i + 1] == '!') {
            const char *gt = memchr(xml.ptr + i, '>', xml.len - i);

            if (!gt)
                return false;
            i = (size_t)(gt - xml.ptr) + 1;
            continue;
        }
        return xml.len - i - 1 > nl && memcmp(xml.ptr + i + 1, name, nl) == 0 &&
               (xml.ptr[i + 1 + nl] == '>' || xml.ptr[i + 1 + nl] == '/' ||
                is_xml_space(xml.ptr[i + 1 + nl]));
    }
}

bool s3_answer_upload_id(struct str xml, char **upload_id)
{
    char *id = xmalloc(S3_UPLOAD_ID_MAX + 1);

    if (!xml_root_is(xml, "InitiateMultipartUploadResult") ||
        !xml_find_text(xml, "UploadId", id, S3_UPLOAD_ID_MAX + 1) || !id[0]) {
        free(id);
        return false;
    }
    *upload_id = id;
    return true;
}

bool s3_answer_parts(struct str xml, struct s3_parts *parts, bool *truncated, uint32_t *next_marker)
{
    char flag[8];
    struct str rest = xml, inner;
    uint64_t next = 0;

    if (!xml_root_is(xml, "ListPartsResult"))
        return false;
    *truncated = xml_find_text(xml, "IsTruncated", flag, sizeof(flag)) && strcmp(flag, "true") == 0;
    if (*truncated && !xml_find_u64(xml, "NextPartNumberMarker", S3_PARTS_MAX, &next))
        return false;
    *next_marker = (uint32_t)next;
    while (xml_next(&rest, "Part", &inner)) {
        struct s3_part p = { 0 };
        uint64_t number, size;

        if (!xml_find_u64(inner, "PartNumber", S3_PARTS_MAX, &number) || number == 0 ||
            !xml_find_u64(inner, "Size", UINT64_MAX, &size) ||
            !xml_find_text(inner, "ETag", p.etag, sizeof(p.etag)))
            return false;
        if (parts->n == S3_PARTS_MAX)
            return false;
        p.number = (uint32_t)number;
        p.size = size;
        if (parts->n == parts->cap) {
            parts->cap = parts->cap ? parts->cap * 2 : 16;
            parts->v = xrealloc(parts->v, parts->cap * sizeof(*parts->v));
        }
        parts->v[parts->n++] = p;
    }
    return true;
}

bool s3_answer_error(struct str xml, char code[S3_CODE_MAX + 1])
{
    if (!xml_root_is(xml, "Error"))
        return false;
    if (!xml_find_text(xml, "Code", code, S3_CODE_MAX + 1))
        code[0] = '\0';
    return true;
}

bool s3_answer_etag(struct str xml, char etag[S3_ETAG_MAX + 1])
{
    char text[S3_ETAG_MAX - 1];
    size_t n;

    if (!xml_root_is(xml, "CompleteMultipartUploadResult") ||
        !xml_find_text(xml, "ETag", etag, S3_ETAG_MAX + 1) || !etag[0])
        return false;
    /* Quoted, as S3 writes ETags everywhere else (radosgw leaves the quotes out here). */
    n = strlen(etag);
    if (etag[0] != '"' && n <= sizeof(text) - 1) {
        memcpy(text, etag, n + 1);
        snprintf(etag, S3_ETAG_MAX + 1, "\"%s\"", text);
    }
    return etag[0] == '"';
}

void s3_parts_release(struct s3_parts *parts)
{
    free(parts->v);
    *parts = (struct s3_parts){ 0 };
}

/* ---- configuration ---- */

static void set_why(char *why, size_t cap, const char *fmt, ...) PRINTF_LIKE(3, 4);

static void set_why(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (!why || !cap)
        return;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* Percent-decodes @s (malloc'd result); NULL on a bad escape or a NUL byte. */
static char *url_decode(struct str s)
{
    char *out = xmalloc(s.len + 1);
    size_t o = 0;

    for (size_t i = 0; i < s.len; i++) {
        uint8_t b;

        if (s.ptr[i] != '%') {
            out[o++] = s.ptr[i];
            continue;
        }
        if (i + 2 >= s.len || !hex_decode((struct str){ s.ptr + i + 1, 2 }, &b, 1) || b == 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)b;
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static bool is_region(const char *s)
{
    size_t n = strnlen(s, 65);

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool is_access_key(const char *s)
{
    size_t n = strnlen(s, SIGV4_ID_MAX + 1);

    if (n == 0 || n > SIGV4_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '/')
            return false;
    return true;
}

bool s3_cfg_parse(struct s3_cfg *cfg, const char *url, const char *access_key,
                  const char *secret_key, char *why, size_t why_cap)
{
    struct str rest, field, bucket;
    const char *q;
    struct sigv4_endpoint ep;
    size_t n;

    *cfg = (struct s3_cfg){ 0 };
    n = url ? strnlen(url, S3_URL_MAX + 1) : 0;
    if (n == 0) {
        set_why(why, why_cap, "no S3 URL (s3://BUCKET?endpoint=…&region=…)");
        return false;
    }
    if (n > S3_URL_MAX) {
        set_why(why, why_cap, "the S3 URL is longer than %u bytes", S3_URL_MAX);
        return false;
    }
    if (strncmp(url, "s3://", 5) != 0) {
        set_why(why, why_cap, "the S3 URL must start with s3:// (s3://BUCKET?endpoint=…)");
        return false;
    }
    q = strchr(url + 5, '?');
    bucket = (struct str){ url + 5, q ? (size_t)(q - url - 5) : n - 5 };
    if (memchr(bucket.ptr, '/', bucket.len) || memchr(bucket.ptr, '@', bucket.len)) {
        set_why(why, why_cap,
                "the S3 URL has more than a bucket name after s3:// (no key "
                "prefix, no credentials: those come from AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)");
        return false;
    }
    cfg->bucket = xmemdup0(bucket.ptr, bucket.len);
    if (!sigv4_bucket_is_valid(cfg->bucket)) {
        set_why(why, why_cap,
                "the bucket name in the S3 URL is not 3 to 63 of a-z 0-9 . - with a letter or "
                "digit at each end");
        goto fail;
    }
    rest = q ? str_from(q + 1) : STR_NULL;
    while (q && str_next(&rest, '&', &field)) {
        const char *eq = memchr(field.ptr, '=', field.len);
        struct str name = { field.ptr, eq ? (size_t)(eq - field.ptr) : field.len };
        char **slot = NULL;

        if (field.len == 0)
            continue;
        if (str_eq_cstr(name, "endpoint"))
            slot = &cfg->endpoint;
        else if (str_eq_cstr(name, "region"))
            slot = &cfg->region;
        if (!slot) {
            set_why(why, why_cap,
                    "unknown parameter \"%.*s\" in the S3 URL (known: endpoint, region)",
                    (int)(name.len > 40 ? 40 : name.len), name.ptr);
            goto fail;
        }
        if (*slot) {
            set_why(why, why_cap, "parameter \"%.*s\" is given twice in the S3 URL", (int)name.len,
                    name.ptr);
            goto fail;
        }
        *slot = eq ? url_decode((struct str){ eq + 1, (size_t)(field.ptr + field.len - eq - 1) })
                   : xstrdup("");
        if (!*slot || !**slot) {
            set_why(why, why_cap, "parameter \"%.*s\" of the S3 URL is empty or badly encoded",
                    (int)name.len, name.ptr);
            goto fail;
        }
    }
    if (!cfg->region)
        cfg->region = xstrdup("us-east-1");
    if (!is_region(cfg->region)) {
        set_why(why, why_cap,
                "the region in the S3 URL is not 1 to 64 of A-Z a-z 0-9 - _ . (like us-east-1)");
        goto fail;
    }
    if (!cfg->endpoint)
        cfg->endpoint = xasprintf("https://s3.%s.amazonaws.com", cfg->region);
    if (!sigv4_endpoint_parse(cfg->endpoint, &ep)) {
        set_why(why, why_cap,
                "the endpoint in the S3 URL is not http://HOST[:PORT] or https://HOST[:PORT] "
                "(no path; percent-encode it if it holds '&')");
        goto fail;
    }
    if (!access_key || !*access_key) {
        set_why(why, why_cap, "no S3 access key id (AWS_ACCESS_KEY_ID)");
        goto fail;
    }
    if (!is_access_key(access_key)) {
        set_why(why, why_cap,
                "the S3 access key id (AWS_ACCESS_KEY_ID) is longer than %u bytes or holds a "
                "space, '/' or a non-ASCII byte",
                SIGV4_ID_MAX);
        goto fail;
    }
    n = secret_key ? strnlen(secret_key, SIGV4_SECRET_MAX + 1) : 0;
    if (n == 0 || n > SIGV4_SECRET_MAX) {
        set_why(why, why_cap,
                "the S3 secret key (AWS_SECRET_ACCESS_KEY) is not set or longer than %u bytes",
                SIGV4_SECRET_MAX);
        goto fail;
    }
    cfg->access_key = xstrdup(access_key);
    cfg->secret_key = xstrdup(secret_key);
    cfg->parts_page = 1000;
    return true;
fail:
    s3_cfg_release(cfg);
    return false;
}

bool s3_cfg_from_env(struct s3_cfg *cfg, const char *url, char *why, size_t why_cap)
{
    return s3_cfg_parse(cfg, url, getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), why,
                        why_cap);
}

void s3_cfg_release(struct s3_cfg *cfg)
{
    if (cfg->secret_key) {
        OPENSSL_cleanse(cfg->secret_key, strlen(cfg->secret_key));
        free(cfg->secret_key);
    }
    free(cfg->bucket);
    free(cfg->endpoint);
    free(cfg->region);
    free(cfg->access_key);
    *cfg = (struct s3_cfg){ 0 };
}

/* ---- the client ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_setup(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct s3_client *s3_client_new(const struct s3_cfg *cfg)
{
    struct s3_client *c = xcalloc(1, sizeof(*c));

    pthread_once(&curl_once, curl_setup);
    c->cfg.bucket = xstrdup(cfg->bucket);
    c->cfg.endpoint = xstrdup(cfg->endpoint);
    c->cfg.region = xstrdup(cfg->region);
    c->cfg.access_key = xstrdup(cfg->access_key);
    c->cfg.secret_key = xstrdup(cfg->secret_key);
    c->cfg.parts_page = cfg->parts_page >= 1 && cfg->parts_page <= 1000 ? cfg->parts_page : 1000;
    if (!sigv4_endpoint_parse(c->cfg.endpoint, &c->ep))
        LOG_BUG("s3_client_new with an endpoint that s3_cfg_parse refuses");
    c->sigv4 = xasprintf("aws:amz:%s:s3", c->cfg.region);
    return c;
}

void s3_client_free(struct s3_client *c)
{
    if (!c)
        return;
    s3_cfg_release(&c->cfg);
    free(c->sigv4);
    free(c);
}

char *s3_presign(const struct s3_client *c, const char *method, const char *key,
                 const struct sigv4_param *params, size_t n_params, int64_t now, uint32_t expires,
                 const char **why)
{
    struct sigv4_request rq = {
        .access_key = c->cfg.access_key,
        .secret_key = c->cfg.secret_key,
        .region = c->cfg.region,
        .endpoint = c->cfg.endpoint,
        .method = method,
        .bucket = c->cfg.bucket,
        .key = key,
        .params = params,
        .n_params = n_params,
        .now = now,
        .expires = expires,
    };

    return sigv4_presign(&rq, NULL, why);
}

/* One request and what came back. */
struct call {
    const char *op; /* the S3 operation, for logs */
    const char *method;
    const char *key; /* NULL: the bucket */
    const struct sigv4_param *params;
    size_t n_params;
    struct str body; /* sent when .ptr is set */
    const char *content_type;
    bool content_md5; /* send Content-MD5 of the body (PutBucketCors requires it) */
    long timeout;
    /* a ranged GET */
    s3_sink_fn *sink;
    void *ctx;
    uint64_t first, last, got;
    bool range_ok, sink_stopped, bad_range;
    /* the answer */
    CURL *h;
    long status;
    uint64_t length; /* Content-Length */
    bool has_length;
    struct sbuf answer;
    char etag[S3_ETAG_MAX + 1];
    char code[S3_CODE_MAX + 1];
};

static bool header_is(const char *line, size_t n, const char *name, struct str *value)
{
    size_t nl = strlen(name);

    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    *value = trim_xml((struct str){ line + nl + 1, n - nl - 1 });
    return true;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    struct call *k = ud;
    size_t n = size * nmemb;
    struct str v;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget what the last one said. */
        k->etag[0] = '\0';
        k->range_ok = k->has_length = false;
    } else if (header_is(line, n, "Content-Length", &v)) {
        k->has_length = str_to_u64(v, UINT64_MAX, &k->length);
    } else if (header_is(line, n, "ETag", &v)) {
        if (v.len <= S3_ETAG_MAX && !str_has_ctl(v)) {
            memcpy(k->etag, v.ptr, v.len);
            k->etag[v.len] = '\0';
        }
    } else if (k->sink && header_is(line, n, "Content-Range", &v)) {
        /* "bytes FIRST-LAST/SIZE": exactly the range asked for, or nothing is streamed. */
        struct str unit, a, b;
        uint64_t first, last;

        k->range_ok = str_next(&v, ' ', &unit) && str_eq_cstr(unit, "bytes") &&
                      str_next(&v, '-', &a) && str_next(&v, '/', &b) &&
                      str_to_u64(a, UINT64_MAX, &first) && str_to_u64(b, UINT64_MAX, &last) &&
                      first == k->first && last == k->last;
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct call *k = ud;
    size_t n = size * nmemb;

    if (k->sink) {
        long status = 0;

        curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            if (status != 206 || !k->range_ok || n > k->last - k->first + 1 - k->got) {
                k->bad_range = true;
                return 0;
            }
            if (!k->sink(k->ctx, p, n)) {
                k->sink_stopped = true;
                return 0;
            }
            k->got += n;
            return n;
        }
    }
    return sbuf_add(&k->answer, p, n) ? n : 0;
}

static bool code_is(const char *code, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0)
            return true;
    return false;
}

/* What an answer with @status and error @code (possibly empty) means for the caller. */
static enum s3_rc answer_rc(long status, const char *code)
{
    static const char *const transient[] = { "InternalError", "ServiceUnavailable", "SlowDown",
                                             "RequestTimeout", "OperationAborted" };
    static const char *const conflict[] = { "InvalidPart", "InvalidPartOrder", "EntityTooSmall",
                                            "BucketAlreadyExists" };

    if (code_is(code, transient, ARRAY_LEN(transient)))
        return S3_TRANSIENT;
    if (code_is(code, conflict, ARRAY_LEN(conflict)))
        return S3_CONFLICT;
    if (status >= 200 && status < 300 && !code[0])
        return S3_OK;
    if (status == 404)
        return S3_NOT_FOUND;
    if (status == 409)
        return S3_CONFLICT;
    if (status >= 500 || status == 429 || status == 408)
        return S3_TRANSIENT;
    return S3_ERROR;
}

static enum s3_rc curl_rc(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return S3_TRANSIENT;
    default:
        return S3_ERROR;
    }
}

/* The URL of @k: endpoint, /bucket[/key], and the canonical query. NULL past the cap. */
static char *call_url(const struct s3_client *c, const struct call *k)
{
    struct sbuf sb;
    bool fits;

    sbuf_init(&sb, URL_MAX);
    fits = sbuf_addf(&sb, "%s://%s/", c->ep.https ? "https" : "http", c->ep.host) &&
           sigv4_uri_encode(&sb, str_from(c->cfg.bucket), false);
    if (fits && k->key)
        fits = sbuf_add(&sb, "/", 1) && sigv4_uri_encode(&sb, str_from(k->key), true);
    if (fits && k->n_params)
        fits = sbuf_add(&sb, "?", 1) && sigv4_query_append(&sb, k->params, k->n_params);
    if (!fits) {
        sbuf_release(&sb);
        return NULL;
    }
    return sbuf_detach(&sb, NULL);
}

/* Checks the parameters a caller gave: the key and the values that go into the query. */
static bool call_args_ok(const struct call *k)
{
    if (k->key && !sigv4_key_is_valid(k->key)) {
        LOG_WARN("%s: refused an object key that is not a valid S3 key", k->op);
        return false;
    }
    for (size_t i = 0; i < k->n_params; i++)
        if (k->params[i].value &&
            strnlen(k->params[i].value, SIGV4_PARAM_VALUE_MAX + 1) > SIGV4_PARAM_VALUE_MAX) {
            LOG_WARN("%s: refused a %s longer than %u bytes", k->op, k->params[i].name,
                     SIGV4_PARAM_VALUE_MAX);
            return false;
        }
    return true;
}

/* Runs @k against the store and tells what the answer means. */
static enum s3_rc call_run(struct s3_client *c, struct call *k)
{
    struct curl_slist *headers = NULL;
    char hash[SIGV4_HEX_LEN + 1], line[128 + SIGV4_HEX_LEN], range[48];
    char *url = NULL;
    enum s3_rc rc = S3_ERROR;
    CURLcode cc;

    sbuf_init(&k->answer, S3_ANSWER_MAX);
    k->etag[0] = k->code[0] = '\0';
    k->status = 0;
    if (!curl_ready) {
        LOG_ERR("%s: libcurl could not be initialised", k->op);
        return S3_ERROR;
    }
    if (!call_args_ok(k))
        return S3_ERROR;
    url = call_url(c, k);
    if (!url) {
        LOG_WARN("%s: the URL would pass %u bytes", k->op, URL_MAX);
        return S3_ERROR;
    }
    k->h = curl_easy_init();
    if (!k->h) {
        LOG_ERR("%s: curl_easy_init failed", k->op);
        goto out;
    }
    /* The payload hash libcurl signs: the body's when there is one, else the empty one's; a
     * streamed body (none here) would be UNSIGNED-PAYLOAD. */
    sigv4_sha256_hex(k->body.ptr ? k->body : STR_LIT(""), hash);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hash);
    headers = curl_slist_append(headers, line);
    /* No header-removing lines ("Expect:", "Content-Type:"): libcurl 7.88 signs them as empty
     * headers that it then does not send, and the store refuses the signature. So a request
     * with a body names its type (libcurl would otherwise send a form's). */
    if (k->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", k->content_type);
        headers = curl_slist_append(headers, line);
    }
    if (k->content_md5) {
        unsigned char md5[16];
        char b64[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_ORIGINAL)];

        if (!EVP_Digest(k->body.ptr, k->body.len, md5, NULL, EVP_md5(), NULL)) {
            LOG_ERR("%s: MD5 failed", k->op);
            goto out;
        }
        sodium_bin2base64(b64, sizeof(b64), md5, sizeof(md5), sodium_base64_VARIANT_ORIGINAL);
        snprintf(line, sizeof(line), "Content-MD5: %s", b64);
        headers = curl_slist_append(headers, line);
    }
    if (!headers) {
        LOG_ERR("%s: out of memory for headers", k->op);
        goto out;
    }
    curl_easy_setopt(k->h, CURLOPT_URL, url);
    curl_easy_setopt(k->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
    if (k->sink) {
        curl_easy_setopt(k->h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
        curl_easy_setopt(k->h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
    } else {
        curl_easy_setopt(k->h, CURLOPT_TIMEOUT, k->timeout);
    }
    curl_easy_setopt(k->h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(k->h, CURLOPT_USERNAME, c->cfg.access_key);
    curl_easy_setopt(k->h, CURLOPT_PASSWORD, c->cfg.secret_key);
    curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(k->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k->h, CURLOPT_HEADERDATA, k);
    curl_easy_setopt(k->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k->h, CURLOPT_WRITEDATA, k);
    if (strcmp(k->method, "HEAD") == 0) {
        curl_easy_setopt(k->h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(k->method, "GET") != 0) {
        curl_easy_setopt(k->h, CURLOPT_CUSTOMREQUEST, k->method);
    }
    if (k->content_type) {
        /* PUT and POST send a body, empty or not, so that Content-Length is always there. */
        curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, k->body.ptr ? k->body.ptr : "");
        curl_easy_setopt(k->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->body.len);
    }
    if (k->sink) {
        snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, k->first, k->last);
        curl_easy_setopt(k->h, CURLOPT_RANGE, range);
    }

    cc = curl_easy_perform(k->h);
    curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &k->status);
    if (k->answer.len)
        s3_answer_error((struct str){ k->answer.buf, k->answer.len }, k->code);
    if (k->sink_stopped) {
        rc = S3_ERROR;
        LOG_DBG("%s %s: the receiver stopped the transfer", k->op, k->key);
        goto out;
    }
    if (k->bad_range) {
        rc = S3_ERROR;
        LOG_WARN("%s %s: the store did not answer the range %s (HTTP %ld)", k->op, k->key, range,
                 k->status);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = k->answer.overflow ? S3_ERROR : curl_rc(cc);
        LOG_WARN("%s %s/%s: %s%s", k->op, c->cfg.bucket, k->key ? k->key : "",
                 curl_easy_strerror(cc), k->answer.overflow ? " (the answer passed its cap)" : "");
        goto out;
    }
    rc = answer_rc(k->status, k->code);
    if (rc == S3_OK && k->sink && k->got != k->last - k->first + 1) {
        rc = S3_ERROR;
        LOG_WARN("%s %s: %" PRIu64 " bytes of the range came, not %" PRIu64, k->op, k->key, k->got,
                 k->last - k->first + 1);
    }
    if (rc != S3_OK)
        LOG_AT(rc == S3_NOT_FOUND || rc == S3_CONFLICT ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, NULL,
               "%s %s/%s: HTTP %ld %s", k->op, c->cfg.bucket, k->key ? k->key : "", k->status,
               k->code[0] ? k->code : "(no error code)");
out:
    curl_slist_free_all(headers);
    if (k->h)
        curl_easy_cleanup(k->h);
    k->h = NULL;
    free(url);
    return rc;
}

static struct str call_answer(const struct call *k)
{
    return (struct str){ k->answer.buf ? k->answer.buf : "", k->answer.len };
}

enum s3_rc s3_bucket_create(struct s3_client *c)
{
    struct call k = { .op = "CreateBucket",
                      .method = "PUT",
                      .content_type = "application/xml",
                      .timeout = CALL_TIMEOUT };
    char *body = NULL;
    enum s3_rc rc;

    /* us-east-1 takes no location; elsewhere AWS wants the region named. */
    if (strcmp(c->cfg.region, "us-east-1") != 0) {
        body = xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                         "2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
                         "</CreateBucketConfiguration>",
                         c->cfg.region);
        k.body = str_from(body);
    }
    rc = call_run(c, &k);
    if (rc == S3_CONFLICT && strcmp(k.code, "BucketAlreadyOwnedByYou") == 0)
        rc = S3_OK;
    sbuf_release(&k.answer);
    free(body);
    return rc;
}

/* GET of a bucket sub-resource (?cors, ?lifecycle): S3_OK when the bucket has it. */
static enum s3_rc bucket_config_get(struct s3_client *c, const char *op, const char *what)
{
    const struct sigv4_param p[] = { { what, NULL } };
    struct call k = {
        .op = op, .method = "GET", .params = p, .n_params = 1, .timeout = CALL_TIMEOUT
    };
    enum s3_rc rc = call_run(c, &k);

    sbuf_release(&k.answer);
    return rc;
}

/* PUT of a bucket sub-resource with its XML, which S3 wants with a Content-MD5. */
static enum s3_rc bucket_config_put(struct s3_client *c, const char *op, const char *what,
                                    const char *xml)
{
    const struct sigv4_param p[] = { { what, NULL } };
    struct call k = { .op = op,
                      .method = "PUT",
                      .params = p,
                      .n_params = 1,
                      .body = str_from(xml),
                      .content_type = "application/xml",
                      .content_md5 = true,
                      .timeout = CALL_TIMEOUT };
    enum s3_rc rc = call_run(c, &k);

    sbuf_release(&k.answer);
    return rc;
}

enum s3_rc s3_bucket_cors_get(struct s3_client *c)
{
    return bucket_config_get(c, "GetBucketCors", "cors");
}

enum s3_rc s3_bucket_cors_put(struct s3_client *c, const char *xml)
{
    return bucket_config_put(c, "PutBucketCors", "cors", xml);
}

enum s3_rc s3_bucket_lifecycle_get(struct s3_client *c)
{
    return bucket_config_get(c, "GetBucketLifecycleConfiguration", "lifecycle");
}

enum s3_rc s3_bucket_lifecycle_put(struct s3_client *c, const char *xml)
{
    return bucket_config_put(c, "PutBucketLifecycleConfiguration", "lifecycle", xml);
}

enum s3_rc s3_upload_create(struct s3_client *c, const char *key, char **upload_id)
{
    static const struct sigv4_param uploads[] = { { "uploads", NULL } };
    struct call k = { .op = "CreateMultipartUpload",
                      .method = "POST",
                      .key = key,
                      .params = uploads,
                      .n_params = 1,
                      .content_type = "application/octet-stream",
                      .timeout = CALL_TIMEOUT };
    enum s3_rc rc = call_run(c, &k);

    if (rc == S3_OK && !s3_answer_upload_id(call_answer(&k), upload_id)) {
        LOG_WARN("CreateMultipartUpload %s: no upload id in the answer", key);
        rc = S3_ERROR;
    }
    sbuf_release(&k.answer);
    return rc;
}

enum s3_rc s3_upload_list_parts(struct s3_client *c, const char *key, const char *upload_id,
                                struct s3_parts *parts)
{
    char page[12], marker[12] = "0";
    struct sigv4_param params[] = { { "max-parts", page },
                                    { "uploadId", upload_id },
                                    { "part-number-marker", marker } };
    uint32_t at = 0;

    snprintf(page, sizeof(page), "%" PRIu32, c->cfg.parts_page);
    for (;;) {
        struct call k = { .op = "ListParts",
                          .method = "GET",
                          .key = key,
                          .params = params,
                          .n_params = at ? 3 : 2,
                          .timeout = CALL_TIMEOUT };
        enum s3_rc rc = call_run(c, &k);
        bool truncated = false;
        uint32_t next = 0;

        if (rc == S3_OK && !s3_answer_parts(call_answer(&k), parts, &truncated, &next)) {
            LOG_WARN("ListParts %s: a malformed answer", key);
            rc = S3_ERROR;
        }
        sbuf_release(&k.answer);
        if (rc != S3_OK)
            return rc;
        if (!truncated)
            return S3_OK;
        if (next <= at) {
            LOG_WARN("ListParts %s: the next page marker does not move on", key);
            return S3_ERROR;
        }
        at = next;
        snprintf(marker, sizeof(marker), "%" PRIu32, at);
    }
}

/* Appends @s with XML's special characters escaped. */
static bool xml_escape_append(struct sbuf *sb, const char *s)
{
    bool fits = true;

    for (; *s && fits; s++) {
        switch (*s) {
        case '&':
            fits = sbuf_adds(sb, "&amp;");
            break;
        case '<':
            fits = sbuf_adds(sb, "&lt;");
            break;
        case '>':
            fits = sbuf_adds(sb, "&gt;");
            break;
        case '"':
            fits = sbuf_adds(sb, "&quot;");
            break;
        default:
            fits = sbuf_add(sb, s, 1);
        }
    }
    return fits;
}

enum s3_rc s3_upload_complete(struct s3_client *c, const char *key, const char *upload_id,
                              const struct s3_part *parts, size_t n, char etag[S3_ETAG_MAX + 1])
{
    struct sigv4_param params[] = { { "uploadId", upload_id } };
    struct call k = { .op = "CompleteMultipartUpload",
                      .method = "POST",
                      .key = key,
                      .params = params,
                      .n_params = 1,
                      .content_type = "application/xml",
                      .timeout = COMPLETE_TIMEOUT };
    struct sbuf body;
    bool fits;
    enum s3_rc rc;

    if (n == 0 || n > S3_PARTS_MAX) {
        LOG_WARN("CompleteMultipartUpload %s: %zu parts", key, n);
        return S3_CONFLICT;
    }
    /* Each part costs at most ~60 bytes and its escaped ETag. */
    sbuf_init(&body, S3_PARTS_MAX * (64 + 6 * S3_ETAG_MAX));
    fits = sbuf_adds(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                            "2006-03-01/\">");
    for (size_t i = 0; i < n && fits; i++) {
        struct str e = { parts[i].etag, strnlen(parts[i].etag, S3_ETAG_MAX + 1) };

        if (parts[i].number == 0 || parts[i].number > S3_PARTS_MAX ||
            (i && parts[i].number <= parts[i - 1].number) || e.len == 0 || e.len > S3_ETAG_MAX ||
            str_has_ctl(e)) {
            LOG_WARN("CompleteMultipartUpload %s: part %zu has no valid number or ETag, or is "
                     "out of order",
                     key, i);
            sbuf_release(&body);
            return S3_CONFLICT;
        }
        fits =
            sbuf_addf(&body, "<Part><PartNumber>%" PRIu32 "</PartNumber><ETag>", parts[i].number) &&
            xml_escape_append(&body, parts[i].etag) && sbuf_adds(&body, "</ETag></Part>");
    }
    fits = fits && sbuf_adds(&body, "</CompleteMultipartUpload>");
    if (!fits) {
        LOG_BUG("the CompleteMultipartUpload body passed its cap");
        sbuf_release(&body);
        return S3_ERROR;
    }
    k.body = (struct str){ body.buf, body.len };
    rc = call_run(c, &k);
    if (rc == S3_OK && etag && !s3_answer_etag(call_answer(&k), etag)) {
        /* radosgw (Ceph 16) answers the first completion with an empty <ETag>: ask HEAD. */
        struct s3_object obj;

        rc = s3_object_head(c, key, &obj);
        if (rc == S3_OK)
            memcpy(etag, obj.etag, S3_ETAG_MAX + 1);
    }
    sbuf_release(&k.answer);
    sbuf_release(&body);
    return rc;
}

enum s3_rc s3_upload_abort(struct s3_client *c, const char *key, const char *upload_id)
{
    struct sigv4_param params[] = { { "uploadId", upload_id } };
    struct call k = { .op = "AbortMultipartUpload",
                      .method = "DELETE",
                      .key = key,
                      .params = params,
                      .n_params = 1,
                      .timeout = CALL_TIMEOUT };
    enum s3_rc rc = call_run(c, &k);

    sbuf_release(&k.answer);
    return rc;
}

enum s3_rc s3_object_head(struct s3_client *c, const char *key, struct s3_object *out)
{
    struct call k = { .op = "HeadObject", .method = "HEAD", .key = key, .timeout = CALL_TIMEOUT };
    enum s3_rc rc = call_run(c, &k);

    if (rc == S3_OK && (!k.has_length || !k.etag[0])) {
        LOG_WARN("HeadObject %s: no Content-Length or ETag in the answer", key);
        rc = S3_ERROR;
    }
    if (rc == S3_OK) {
        out->size = k.length;
        memcpy(out->etag, k.etag, sizeof(out->etag));
    }
    sbuf_release(&k.answer);
    return rc;
}

enum s3_rc s3_object_delete(struct s3_client *c, const char *key)
{
    struct call k = {
        .op = "DeleteObject", .method = "DELETE", .key = key, .timeout = CALL_TIMEOUT
    };
    enum s3_rc rc = call_run(c, &k);

    sbuf_release(&k.answer);
    return rc == S3_NOT_FOUND && strcmp(k.code, "NoSuchKey") == 0 ? S3_OK : rc;
}

enum s3_rc s3_object_read(struct s3_client *c, const char *key, uint64_t first, uint64_t last,
                          s3_sink_fn *sink, void *ctx)
{
    struct call k = { .op = "GetObject",
                      .method = "GET",
                      .key = key,
                      .sink = sink,
                      .ctx = ctx,
                      .first = first,
                      .last = last };
    enum s3_rc rc;

    if (last < first || last == UINT64_MAX || !key) {
        LOG_BUG("GetObject of an impossible range or no key");
        return S3_ERROR;
    }
    rc = call_run(c, &k);
    sbuf_release(&k.answer);
    return rc;
}
