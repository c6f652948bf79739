/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Byte slices and capped buffers; see core/str.h. */
#include "core/compat.h"
#include "core/str.h"

#include "core/mem.h"

struct str str_from(const char *s)
{
    return s ? (struct str){ s, strlen(s) } : STR_NULL;
}

bool str_eq(struct str a, struct str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool str_eq_cstr(struct str a, const char *b)
{
    return str_eq(a, str_from(b));
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool str_eq_nocase(struct str a, const char *b)
{
    size_t n = strlen(b);

    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(a.ptr[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

bool str_has_ctl(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

bool str_to_u64(struct str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0 || s.len > 20)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];

        if (c < '0' || c > '9')
            return false;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(c - '0'), &v))
            return false;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

bool str_next(struct str *rest, char sep, struct str *field)
{
    const char *p;

    if (!rest->ptr)
        return false;
    p = rest->len ? memchr(rest->ptr, sep, rest->len) : NULL;
    if (!p) {
        *field = *rest;
        *rest = STR_NULL;
        return true;
    }
    field->ptr = rest->ptr;
    field->len = (size_t)(p - rest->ptr);
    rest->len -= field->len + 1;
    rest->ptr = p + 1;
    return true;
}

struct str str_trim(struct str s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

void sbuf_init(struct sbuf *sb, size_t max)
{
    sb->buf = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->max = max;
    sb->overflow = false;
}

void sbuf_release(struct sbuf *sb)
{
    free(sb->buf);
    sbuf_init(sb, sb->max);
}

static bool sbuf_grow(struct sbuf *sb, size_t extra)
{
    size_t need, cap;

    if (!size_add(sb->len, extra, &need) || need > sb->max) {
        sb->overflow = true;
        return false;
    }
    if (need + 1 <= sb->cap)
        return true;
    cap = sb->cap ? sb->cap : 64;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    /* Never more room than the cap: sbuf_add's fast path relies on it. */
    if (sb->max < SIZE_MAX && cap > sb->max + 1)
        cap = sb->max + 1;
    sb->buf = xrealloc(sb->buf, cap);
    sb->cap = cap;
    return true;
}

bool sbuf_reserve(struct sbuf *sb, size_t n)
{
    return sbuf_grow(sb, n);
}

size_t i64_format(int64_t v, char *out)
{
    char tmp[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0, k = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return k;
}

bool sbuf_add_i64(struct sbuf *sb, int64_t v)
{
    char buf[24];

    return sbuf_add(sb, buf, i64_format(v, buf));
}

bool sbuf_add_slow(struct sbuf *sb, const void *p, size_t n)
{
    if (!sbuf_grow(sb, n))
        return false;
    if (n)
        memcpy(sb->buf + sb->len, p, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    return true;
}

bool sbuf_adds(struct sbuf *sb, const char *s)
{
    return sbuf_add(sb, s, strlen(s));
}

bool sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sbuf_grow(sb, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return true;
}

char *sbuf_detach(struct sbuf *sb, size_t *len)
{
    char *p = sb->buf ? sb->buf : xstrdup("");

    if (len)
        *len = sb->len;
    sb->buf = NULL;
    sbuf_release(sb);
    return p;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t b64url_encode(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *p = out;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        p[0] = a[v >> 18];
        p[1] = a[(v >> 12) & 63];
        p[2] = a[(v >> 6) & 63];
        p[3] = a[v & 63];
        p += 4;
    }
    if (n - i == 1) {
        *p++ = a[in[i] >> 2];
        *p++ = a[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

        *p++ = a[v >> 10];
        *p++ = a[(v >> 4) & 63];
        *p++ = a[(v & 15) << 2];
    }
    *p = '\0';
    return (size_t)(p - out);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool hex_decode(struct str s, uint8_t *out, size_t n)
{
    if (s.len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(s.ptr[2 * i]), lo = hex_value(s.ptr[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}
