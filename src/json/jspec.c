/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Declarative request parsing; see json/jspec.h. */
#include "core/compat.h"
#include "json/jspec.h"

#include "core/clock.h"

static bool too_deep(const char *p, size_t len)
{
    /* jansson's own limit is 2048 levels; ours is far lower, checked before parsing. */
    int depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > JSPEC_MAX_DEPTH)
                return true;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return false;
}

json_t *jspec_load(struct str body, char *why, size_t why_cap)
{
    json_error_t e;
    json_t *doc;

    if (body.len == 0) {
        snprintf(why, why_cap, "a JSON object is required as the body");
        return NULL;
    }
    if (too_deep(body.ptr, body.len)) {
        snprintf(why, why_cap, "the body is nested more than %d levels deep", JSPEC_MAX_DEPTH);
        return NULL;
    }
    doc = json_loadb(body.ptr, body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
    if (!doc) {
        snprintf(why, why_cap, "invalid JSON at line %d, column %d: %s", e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        snprintf(why, why_cap, "the body must be a JSON object");
        json_decref(doc);
        return NULL;
    }
    return doc;
}

size_t utf8_length(struct str s)
{
    size_t n = 0;

    for (size_t i = 0; i < s.len; i++)
        if (((unsigned char)s.ptr[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool domain_label_ok(struct str l)
{
    if (l.len == 0 || l.len > 63 || l.ptr[0] == '-' || l.ptr[l.len - 1] == '-')
        return false;
    for (size_t i = 0; i < l.len; i++) {
        unsigned char c = (unsigned char)l.ptr[i];

        if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

bool email_is_valid(struct str s)
{
    const char *at;
    struct str local, domain, rest, label;
    size_t labels = 0;

    if (s.len < 3 || s.len > 254)
        return false;
    at = memrchr(s.ptr, '@', s.len);
    if (!at)
        return false;
    local = (struct str){ s.ptr, (size_t)(at - s.ptr) };
    domain = (struct str){ at + 1, s.len - local.len - 1 };
    if (local.len == 0 || local.len > 64 || local.ptr[0] == '.' || local.ptr[local.len - 1] == '.')
        return false;
    for (size_t i = 0; i < local.len; i++) {
        unsigned char c = (unsigned char)local.ptr[i];

        if (c <= ' ' || c == 0x7f || c == '@' || c == '"' || c == '(' || c == ')' || c == ',' ||
            c == ':' || c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' ||
            (c == '.' && i + 1 < local.len && local.ptr[i + 1] == '.'))
            return false;
    }
    rest = domain;
    while (str_next(&rest, '.', &label)) {
        if (!domain_label_ok(label))
            return false;
        labels++;
    }
    return labels >= 2;
}

static bool fail(char *why, size_t cap, const char *name, const char *what)
{
    snprintf(why, cap, "%s: %s", name, what);
    return false;
}

static bool take_string(const struct jspec *f, json_t *v, struct arena *a, char *why, size_t cap)
{
    struct str s;
    char msg[96];

    if (!json_is_string(v))
        return fail(why, cap, f->name, "must be a string");
    s = (struct str){ json_string_value(v), json_string_length(v) };
    if (f->type == JSPEC_T_EMAIL)
        s = str_trim(s);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];

        if (c == 0 || c == 0x7f ||
            (c < 0x20 && !((f->flags & JSPEC_MULTILINE) && (c == '\n' || c == '\r' || c == '\t'))))
            return fail(why, cap, f->name, "must not contain control characters");
    }
    if ((f->flags & JSPEC_NONEMPTY) && str_trim(s).len == 0)
        return fail(why, cap, f->name, "must not be empty");
    if (f->max_len && utf8_length(s) > f->max_len) {
        snprintf(msg, sizeof(msg), "must be at most %zu characters", f->max_len);
        return fail(why, cap, f->name, msg);
    }
    if (f->type == JSPEC_T_EMAIL) {
        char *lower;

        if (!email_is_valid(s))
            return fail(why, cap, f->name, "must be an e-mail address");
        lower = arena_strndup(a, s.ptr, s.len);
        for (char *p = lower; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        *(char **)f->out = lower;
        return true;
    }
    *(char **)f->out = arena_strndup(a, s.ptr, s.len);
    return true;
}

static bool take_int(const struct jspec *f, json_t *v, char *why, size_t cap)
{
    int64_t n;
    char msg[96];

    if (json_is_integer(v)) {
        n = (int64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        struct str s = { json_string_value(v), json_string_length(v) };
        bool neg = s.len && s.ptr[0] == '-';
        uint64_t u;

        if (neg)
            s.ptr++, s.len--;
        if (!str_to_u64(s, (uint64_t)INT64_MAX, &u))
            return fail(why, cap, f->name, "must be an integer");
        n = neg ? -(int64_t)u : (int64_t)u;
    } else if (json_is_real(v) && json_real_value(v) >= -9e15 && json_real_value(v) <= 9e15 &&
               json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        /* The range comes first: converting a double outside int64_t is undefined. */
        n = (int64_t)json_real_value(v);
    } else {
        return fail(why, cap, f->name, "must be an integer");
    }
    if (n < f->min || n > f->max) {
        snprintf(msg, sizeof(msg), "must be between %lld and %lld", (long long)f->min,
                 (long long)f->max);
        return fail(why, cap, f->name, msg);
    }
    *(int64_t *)f->out = n;
    return true;
}

enum err jspec_parse(json_t *obj, const struct jspec *spec, struct arena *a, char *why,
                     size_t why_cap)
{
    for (const struct jspec *f = spec; f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        bool ok = true;

        if (f->present)
            *f->present = v != NULL;
        if (!v || json_is_null(v)) {
            if (f->flags & JSPEC_REQUIRED) {
                fail(why, why_cap, f->name, "is required");
                return ERR_INVALID_FIELD;
            }
            if (v && f->type == JSPEC_T_TIME)
                *(int64_t *)f->out = TIME_UNSET;
            if (v && (f->type == JSPEC_T_STRING || f->type == JSPEC_T_EMAIL))
                *(char **)f->out = NULL;
            continue;
        }
        switch (f->type) {
        case JSPEC_T_STRING:
        case JSPEC_T_EMAIL:
            ok = take_string(f, v, a, why, why_cap);
            break;
        case JSPEC_T_INT:
            ok = take_int(f, v, why, why_cap);
            break;
        case JSPEC_T_BOOL:
            if (json_is_boolean(v))
                *(bool *)f->out = json_is_true(v);
            else
                ok = fail(why, why_cap, f->name, "must be true or false");
            break;
        case JSPEC_T_TIME: {
            struct str s;

            if (!json_is_string(v)) {
                ok = fail(why, why_cap, f->name, "must be an ISO 8601 date-time string");
                break;
            }
            s = (struct str){ json_string_value(v), json_string_length(v) };
            if (s.len == 0) {
                if (f->flags & JSPEC_REQUIRED)
                    ok = fail(why, why_cap, f->name, "is required");
                else
                    *(int64_t *)f->out = TIME_UNSET;
            } else if (!time_parse_iso(s, (int64_t *)f->out)) {
                ok = fail(why, why_cap, f->name,
                          "must be an ISO 8601 date-time (2024-05-01T12:00:00Z)");
            }
            break;
        }
        case JSPEC_T_ANY:
            *(json_t **)f->out = v;
            break;
        }
        if (!ok)
            return ERR_INVALID_FIELD;
    }
    return ERR_OK;
}

json_t *jtime(int64_t ms)
{
    char buf[TIME_ISO_LEN];

    time_format_iso(ms, buf);
    return json_string(buf);
}
