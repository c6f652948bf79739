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

void jw_key(struct jw *w, const char *key)
{
    value_start(w);
    sbuf_add(&w->sb, "\"", 1);
    sbuf_adds(&w->sb, key);
    sbuf_add(&w->sb, "\":", 2);
    w->after_key = true;
}

void jw_string(struct jw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run;

    if (!s) {
        jw_null(w);
        return;
    }
    value_start(w);
    sbuf_add(&w->sb, "\"", 1);
    /* Copy runs of plain bytes at once; escape quotes, backslashes and control characters. */
    for (run = s; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6];
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        esc[0] = '\\';
        sbuf_add(&w->sb, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        sbuf_add(&w->sb, esc, n);
    }
    sbuf_add(&w->sb, run, (size_t)(s - run));
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

void jw_kstring(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

void jw_ktime(struct jw *w, const char *key, int64_t ms)
{
    jw_key(w, key);
    jw_time(w, ms);
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
