/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The direct JSON writer; see json/jwrite.h. */
#include "core/compat.h"
#include "json/jwrite.h"

#include "core/clock.h"

void jw_init(struct jw *w, size_t max)
{
    memset(w, 0, sizeof(*w));
    sbuf_init(&w->sb, max);
}

/* Before a value: the comma that separates it from the previous one, unless a key precedes it. */
static void value_start(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->need_comma[w->depth])
        sbuf_add(&w->sb, ",", 1);
    w->need_comma[w->depth] = true;
}

static void open(struct jw *w, char c)
{
    value_start(w);
    sbuf_add(&w->sb, &c, 1);
    if (w->depth + 1 < JW_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_(struct jw *w, char c)
{
    sbuf_add(&w->sb, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

void jw_object_begin(struct jw *w)
{
    open(w, '{');
}

void jw_object_end(struct jw *w)
{
    close_(w, '}');
}

void jw_array_begin(struct jw *w)
{
    open(w, '[');
}

void jw_array_end(struct jw *w)
{
    close_(w, ']');
}

void jw_key_n(struct jw *w, const char *key, size_t len)
{
    bool comma = w->need_comma[w->depth];
    char *p;

    /* A thousand keys a page: one check for room, then the bytes directly. */
    w->need_comma[w->depth] = true;
    if (!sbuf_reserve(&w->sb, len + 4))
        return;
    p = w->sb.buf + w->sb.len;
    if (comma)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, key, len);
    p += len;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    w->sb.len = (size_t)(p - w->sb.buf);
    w->after_key = true;
}

/* The bytes a JSON string cannot hold as they are: quote, backslash, control characters. */
static const bool must_escape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1, [0x7f] = 1,
};

/* The escape of a byte must_escape names, into @esc; its length. */
static size_t escape(unsigned char c, char esc[6])
{
    static const char hex[] = "0123456789abcdef";

    esc[0] = '\\';
    switch (c) {
    case '"':
        esc[1] = '"';
        return 2;
    case '\\':
        esc[1] = '\\';
        return 2;
    case '\n':
        esc[1] = 'n';
        return 2;
    case '\r':
        esc[1] = 'r';
        return 2;
    case '\t':
        esc[1] = 't';
        return 2;
    default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        return 6;
    }
}

void jw_string(struct jw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run;

    if (!s) {
        jw_null(w);
        return;
    }
    value_start(w);
    sbuf_add(&w->sb, "\"", 1);
    /* Copy runs of plain bytes at once; the terminating NUL is in the table, so one test per
     * byte finds both the end and what needs escaping. */
    for (run = p;; p++) {
        char esc[6];

        if (!must_escape[*p])
            continue;
        sbuf_add(&w->sb, run, (size_t)(p - run));
        if (*p == '\0')
            break;
        sbuf_add(&w->sb, esc, escape(*p, esc));
        run = p + 1;
    }
    sbuf_add(&w->sb, "\"", 1);
}

void jw_plain(struct jw *w, const char *s)
{
    value_start(w);
    sbuf_add(&w->sb, "\"", 1);
    sbuf_adds(&w->sb, s);
    sbuf_add(&w->sb, "\"", 1);
}

void jw_int(struct jw *w, int64_t v)
{
    value_start(w);
    sbuf_add_i64(&w->sb, v);
}

void jw_bool(struct jw *w, bool v)
{
    value_start(w);
    sbuf_adds(&w->sb, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    value_start(w);
    sbuf_adds(&w->sb, "null");
}

void jw_time(struct jw *w, int64_t ms)
{
    char buf[TIME_ISO_LEN];

    time_format_iso(ms, buf);
    value_start(w);
    sbuf_add(&w->sb, "\"", 1);
    sbuf_adds(&w->sb, buf);
    sbuf_add(&w->sb, "\"", 1);
}

void jw_raw(struct jw *w, const char *json)
{
    value_start(w);
    sbuf_adds(&w->sb, json);
}

char *jw_take(struct jw *w, size_t *len)
{
    if (w->sb.overflow) {
        sbuf_release(&w->sb);
        return NULL;
    }
    return sbuf_detach(&w->sb, len);
}

void jw_release(struct jw *w)
{
    sbuf_release(&w->sb);
}
