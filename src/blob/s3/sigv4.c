/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SigV4 query-string pre-signing (see blob/s3/sigv4.h). The URL is built from the same encoded
 * pieces as the canonical request, so what a client replays is what was signed. HMAC-SHA256 and
 * SHA-256 come from libcrypto's one-shot functions: a URL costs five HMACs and one hash.
 */
#include "core/compat.h"
#include "blob/s3/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/clock.h"
#include "core/mem.h"

/* Cap of every buffer built here; the inputs' caps keep real URLs far below it. */
#define TEXT_MAX (256u << 10)
/* The query parameters the signature itself adds. */
#define AUTH_PARAMS 5

static const char *const reserved_names[] = {
    "X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Date",
    "X-Amz-Expires",   "X-Amz-SignedHeaders", "X-Amz-Signature",
};

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Encodes @s into @out, which has room for 3 * @s.len bytes; returns the length written. */
static size_t encode_to(char *out, struct str s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];

        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}

bool sigv4_uri_encode(struct sbuf *sb, struct str s, bool keep_slash)
{
    size_t room;

    if (!size_mul(s.len, 3, &room) || !sbuf_reserve(sb, room))
        return false;
    sb->len += encode_to(sb->buf + sb->len, s, keep_slash);
    sb->buf[sb->len] = '\0';
    return true;
}

/* Length of @s when it is at most @max bytes; SIZE_MAX when longer (or NULL). */
static size_t capped_len(const char *s, size_t max)
{
    size_t n;

    if (!s)
        return SIZE_MAX;
    n = strnlen(s, max + 1);
    return n > max ? SIZE_MAX : n;
}

/* 1 to @max bytes, each printable ASCII (or, with @name_chars, only A-Za-z0-9._-), no '/'. */
static bool is_field(const char *s, size_t max, bool name_chars)
{
    size_t n = capped_len(s, max);

    if (n == 0 || n == SIZE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (name_chars ? !(is_unreserved(c) && c != '~') : (c <= 0x20 || c >= 0x7f || c == '/'))
            return false;
    }
    return true;
}

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool sigv4_bucket_is_valid(const char *bucket)
{
    size_t n = capped_len(bucket, 63);

    if (n < 3 || n == SIZE_MAX || !is_alnum_lower(bucket[0]) || !is_alnum_lower(bucket[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum_lower(bucket[i]) && bucket[i] != '.' && bucket[i] != '-')
            return false;
    return true;
}

/* Length of the valid UTF-8 sequence at @p (at most @n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t len;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, UTF-16 surrogates, past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool sigv4_key_is_valid(const char *key)
{
    size_t n = capped_len(key, SIGV4_KEY_MAX);
    size_t seg = 0; /* start of the current segment */

    if (n == 0 || n == SIZE_MAX)
        return false;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)key[i] : '/';
        size_t step;

        if (c == '/') {
            size_t len = i - seg;

            if (len == 0 || (len == 1 && key[seg] == '.') ||
                (len == 2 && key[seg] == '.' && key[seg + 1] == '.'))
                return false;
            seg = i + 1;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return false;
        step = utf8_seq((const unsigned char *)key + i, n - i);
        if (step == 0)
            return false;
        i += step - 1;
    }
    return true;
}

bool sigv4_endpoint_parse(const char *endpoint, struct sigv4_endpoint *out)
{
    size_t n = capped_len(endpoint, SIGV4_HOST_MAX + 8);
    const char *p, *end, *host_end;
    uint64_t port = 0;
    size_t o = 0;

    if (n == SIZE_MAX)
        return false;
    if (strncmp(endpoint, "https://", 8) == 0) {
        out->https = true;
        p = endpoint + 8;
    } else if (strncmp(endpoint, "http://", 7) == 0) {
        out->https = false;
        p = endpoint + 7;
    } else {
        return false;
    }
    end = endpoint + n;
    if (end > p && end[-1] == '/')
        end--;
    if (p < end && *p == '[') {
        host_end = memchr(p, ']', (size_t)(end - p));
        if (!host_end || host_end - p < 3)
            return false;
        for (const char *q = p + 1; q < host_end; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
                return false;
        host_end++;
    } else {
        host_end = p;
        while (host_end < end &&
               ((*host_end >= 'a' && *host_end <= 'z') || (*host_end >= 'A' && *host_end <= 'Z') ||
                (*host_end >= '0' && *host_end <= '9') || *host_end == '.' || *host_end == '-'))
            host_end++;
        if (host_end == p || *p == '.' || *p == '-')
            return false;
    }
    if (host_end < end) {
        struct str digits = { host_end + 1, (size_t)(end - host_end - 1) };

        if (*host_end != ':' || digits.len == 0 || digits.ptr[0] == '0' ||
            !str_to_u64(digits, 65535, &port) || port == 0)
            return false;
    }
    if ((size_t)(host_end - p) > SIGV4_HOST_MAX - 6)
        return false;
    for (const char *q = p; q < host_end; q++)
        out->host[o++] = (*q >= 'A' && *q <= 'Z') ? (char)(*q - 'A' + 'a') : *q;
    if (port && port != (out->https ? 443u : 80u)) {
        char num[21];
        size_t len = i64_format((int64_t)port, num);

        out->host[o++] = ':';
        memcpy(out->host + o, num, len);
        o += len;
    }
    out->host[o] = '\0';
    return true;
}

static void hmac(const void *key, size_t key_len, const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, p, n, out, &len);
}

void sigv4_signing_key(struct str secret, const char *date, const char *region, const char *service,
                       uint8_t out[32])
{
    uint8_t k[32];
    char *first = xmalloc(secret.len + 4);

    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secret.ptr, secret.len);
    hmac(first, secret.len + 4, date, strlen(date), k);
    OPENSSL_cleanse(first, secret.len + 4);
    free(first);
    hmac(k, sizeof(k), region, strlen(region), k);
    hmac(k, sizeof(k), service, strlen(service), k);
    hmac(k, sizeof(k), "aws4_request", 12, out);
    OPENSSL_cleanse(k, sizeof(k));
}

void sigv4_signature(const uint8_t key[32], struct str string_to_sign, char out[SIGV4_HEX_LEN + 1])
{
    uint8_t mac[32];

    hmac(key, 32, string_to_sign.ptr, string_to_sign.len, mac);
    hex_encode(mac, sizeof(mac), out);
}

void sigv4_sha256_hex(struct str p, char out[SIGV4_HEX_LEN + 1])
{
    uint8_t h[32];

    SHA256((const unsigned char *)p.ptr, p.len, h);
    hex_encode(h, sizeof(h), out);
}

void sigv4_steps_release(struct sigv4_steps *steps)
{
    free(steps->canonical_request);
    free(steps->string_to_sign);
    steps->canonical_request = steps->string_to_sign = NULL;
}

/* One query parameter, encoded. */
struct qparam {
    const char *name;
    const char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static char *encode_arena(struct arena *a, struct str s)
{
    char *out = arena_alloc(a, s.len * 3 + 1); /* s.len is capped by the caller */

    out[encode_to(out, s, false)] = '\0';
    return out;
}

bool sigv4_query_append(struct sbuf *sb, const struct sigv4_param *params, size_t n)
{
    struct arena a;
    struct qparam *q;
    bool fits = true;

    arena_init(&a);
    q = arena_alloc(&a, n * sizeof(*q));
    for (size_t i = 0; i < n; i++) {
        q[i].name = encode_arena(&a, str_from(params[i].name));
        q[i].value = encode_arena(&a, str_from(params[i].value));
    }
    qsort(q, n, sizeof(*q), qparam_cmp);
    for (size_t i = 0; i < n && fits; i++)
        fits = (i == 0 || sbuf_add(sb, "&", 1)) && sbuf_adds(sb, q[i].name) &&
               sbuf_add(sb, "=", 1) && sbuf_adds(sb, q[i].value);
    arena_release(&a);
    return fits;
}

/* Checks every field of @rq; NULL when all are fine, or what is wrong. */
static const char *request_check(const struct sigv4_request *rq, struct sigv4_endpoint *ep)
{
    static const char *const methods[] = { "GET", "PUT", "POST", "DELETE", "HEAD" };
    size_t secret_len = capped_len(rq->secret_key, SIGV4_SECRET_MAX);
    bool method_ok = false;

    if (!is_field(rq->access_key, SIGV4_ID_MAX, false))
        return "the access key id is empty, too long or holds a space, '/' or a non-ASCII byte";
    if (secret_len == 0 || secret_len == SIZE_MAX)
        return "the secret key is empty or longer than 256 bytes";
    if (!is_field(rq->region, SIGV4_ID_MAX, true))
        return "the region is empty, too long or holds a character other than A-Za-z0-9._-";
    if (rq->service && !is_field(rq->service, SIGV4_ID_MAX, true))
        return "the service is empty, too long or holds a character other than A-Za-z0-9._-";
    if (!sigv4_endpoint_parse(rq->endpoint, ep))
        return "the endpoint is not http[s]://host[:port]";
    if (rq->virtual_host && ep->host[0] == '[')
        return "a bucket cannot be put in front of an IP address";
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        method_ok = method_ok || (rq->method && strcmp(rq->method, methods[i]) == 0);
    if (!method_ok)
        return "the method is not GET, PUT, POST, DELETE or HEAD";
    if (!sigv4_bucket_is_valid(rq->bucket))
        return "the bucket name is not 3-63 of a-z 0-9 . - with a letter or digit at each end";
    if (rq->key && rq->key[0] && !sigv4_key_is_valid(rq->key))
        return "the object key is too long, not UTF-8, or has a control character or an empty, "
               "'.' or '..' segment";
    if (rq->n_params > SIGV4_PARAMS_MAX || (rq->n_params && !rq->params))
        return "too many query parameters";
    for (size_t i = 0; i < rq->n_params; i++) {
        const struct sigv4_param *q = &rq->params[i];
        size_t n = capped_len(q->name, SIGV4_PARAM_NAME_MAX);

        if (n == 0 || n == SIZE_MAX)
            return "a query parameter name is empty or too long";
        if (q->value && capped_len(q->value, SIGV4_PARAM_VALUE_MAX) == SIZE_MAX)
            return "a query parameter value is too long";
        for (size_t j = 0; j < ARRAY_LEN(reserved_names); j++)
            if (strcasecmp(q->name, reserved_names[j]) == 0)
                return "a query parameter has the name of one the signature adds";
    }
    if (rq->now < 0 || rq->now > TIME_MAX_MS / 1000)
        return "the signing time is out of range";
    if (rq->expires < 1 || rq->expires > SIGV4_EXPIRES_MAX)
        return "the expiry is not between 1 second and 7 days";
    return NULL;
}

char *sigv4_presign(const struct sigv4_request *rq, struct sigv4_steps *steps, const char **why)
{
    const char *service = rq->service ? rq->service : "s3";
    struct sigv4_endpoint ep;
    struct arena a;
    struct sigv4_param *q;
    struct sbuf host, path, query, canon, sts, url;
    char iso[TIME_ISO_LEN], amz_date[17], date[9], hash[SIGV4_HEX_LEN + 1];
    char sig[SIGV4_HEX_LEN + 1], expires[21];
    char *credential, *out = NULL;
    uint8_t key[32];
    size_t n;

    *why = request_check(rq, &ep);
    if (*why)
        return NULL;
    arena_init(&a);
    sbuf_init(&host, TEXT_MAX);
    sbuf_init(&path, TEXT_MAX);
    sbuf_init(&query, TEXT_MAX);
    sbuf_init(&canon, TEXT_MAX);
    sbuf_init(&sts, TEXT_MAX);
    sbuf_init(&url, TEXT_MAX);

    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" becomes "YYYYMMDDTHHMMSSZ". */
    time_format_iso(rq->now * 1000, iso);
    memcpy(amz_date, iso, 4);
    memcpy(amz_date + 4, iso + 5, 2);
    memcpy(amz_date + 6, iso + 8, 2);
    amz_date[8] = 'T';
    memcpy(amz_date + 9, iso + 11, 2);
    memcpy(amz_date + 11, iso + 14, 2);
    memcpy(amz_date + 13, iso + 17, 2);
    amz_date[15] = 'Z';
    amz_date[16] = '\0';
    memcpy(date, amz_date, 8);
    date[8] = '\0';

    if (rq->virtual_host) {
        sbuf_adds(&host, rq->bucket);
        sbuf_add(&host, ".", 1);
    }
    sbuf_adds(&host, ep.host);
    sbuf_add(&path, "/", 1);
    if (!rq->virtual_host) {
        sigv4_uri_encode(&path, str_from(rq->bucket), false);
        if (rq->key && rq->key[0])
            sbuf_add(&path, "/", 1);
    }
    if (rq->key)
        sigv4_uri_encode(&path, str_from(rq->key), true);

    /* The query: the caller's parameters and the signature's. */
    n = rq->n_params + AUTH_PARAMS;
    q = arena_alloc(&a, n * sizeof(*q));
    if (rq->n_params)
        memcpy(q, rq->params, rq->n_params * sizeof(*q));
    credential =
        arena_printf(&a, "%s/%s/%s/%s/aws4_request", rq->access_key, date, rq->region, service);
    i64_format(rq->expires, expires);
    q[n - 5] = (struct sigv4_param){ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" };
    q[n - 4] = (struct sigv4_param){ "X-Amz-Credential", credential };
    q[n - 3] = (struct sigv4_param){ "X-Amz-Date", amz_date };
    q[n - 2] = (struct sigv4_param){ "X-Amz-Expires", expires };
    q[n - 1] = (struct sigv4_param){ "X-Amz-SignedHeaders", "host" };
    sigv4_query_append(&query, q, n);

    sbuf_addf(&canon, "%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", rq->method, path.buf,
              query.buf, host.buf);
    sigv4_sha256_hex((struct str){ canon.buf, canon.len }, hash);
    sbuf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date, rq->region,
              service, hash);
    sigv4_signing_key(str_from(rq->secret_key), date, rq->region, service, key);
    sigv4_signature(key, (struct str){ sts.buf, sts.len }, sig);
    OPENSSL_cleanse(key, sizeof(key));

    sbuf_addf(&url, "%s://%s%s?%s&X-Amz-Signature=%s", ep.https ? "https" : "http", host.buf,
              path.buf, query.buf, sig);
    if (host.overflow || path.overflow || query.overflow || canon.overflow || sts.overflow ||
        url.overflow) {
        *why = "the URL is too long";
        goto out;
    }
    if (steps) {
        steps->canonical_request = sbuf_detach(&canon, NULL);
        steps->string_to_sign = sbuf_detach(&sts, NULL);
    }
    out = sbuf_detach(&url, NULL);
out:
    arena_release(&a);
    sbuf_release(&host);
    sbuf_release(&path);
    sbuf_release(&query);
    sbuf_release(&canon);
    sbuf_release(&sts);
    sbuf_release(&url);
    return out;
}
