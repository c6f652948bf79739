/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Request bodies: jspec_load() then jspec_parse() against two specs that between them use every
 * field type (string with a length cap, e-mail, int with a range, bool, time, any) and every flag
 * (required, nonempty, multiline, the present pointer). Checked:
 *  - jspec_load() accepts exactly the JSON objects without duplicate keys nested at most
 *    JSPEC_MAX_DEPTH deep (jansson itself is the reference);
 *  - after ERR_OK every destination obeys its field's rules (length in code points, no control
 *    characters, lowercase valid e-mail, integer in range, time in range), and destinations of
 *    absent fields are untouched;
 *  - after an error the message names a field of the spec.
 * email_is_valid() and utf8_length() also run on the raw input.
 */
#include "fuzz.h"

#include <jansson.h>

#include "core/clock.h"
#include "json/jspec.h"

static char sentinel[] = "sentinel";
#define SENTINEL_STR sentinel
#define SENTINEL_INT ((int64_t)0x5a5a5a5a5a5a5a5aLL)

struct out {
    char *name, *desc, *email, *text, *email2, *title;
    int64_t count, big, when, n, t;
    bool flag, b, title_present;
    json_t *extra, *any;
};

static void reset(struct out *o)
{
    o->name = o->desc = o->email = o->text = o->email2 = o->title = SENTINEL_STR;
    o->count = o->big = o->when = o->n = o->t = SENTINEL_INT;
    o->flag = o->b = true;
    o->title_present = false;
    o->extra = o->any = (json_t *)&o->extra;
}

static bool in_spec(const struct jspec *spec, const char *why)
{
    for (const struct jspec *f = spec; f->name; f++) {
        size_t n = strlen(f->name);

        if (strncmp(why, f->name, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
            return true;
    }
    return false;
}

static void check_string(const struct jspec *f, const char *s)
{
    struct str v;

    if (s == SENTINEL_STR || s == NULL)
        return;
    v = str_from(s);
    FUZZ_CHECK(f->max_len == 0 || utf8_length(v) <= f->max_len, "%s: %zu code points > %zu",
               f->name, utf8_length(v), f->max_len);
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        bool ws = c == '\n' || c == '\r' || c == '\t';

        FUZZ_CHECK(c != 0x7f && (c >= 0x20 || (ws && (f->flags & JSPEC_MULTILINE))),
                   "%s: control character 0x%02x at %zu", f->name, c, i);
    }
    if (f->flags & JSPEC_NONEMPTY)
        FUZZ_CHECK(str_trim(v).len > 0, "%s: empty although nonempty", f->name);
    if (f->type == JSPEC_T_EMAIL) {
        FUZZ_CHECK(email_is_valid(v), "%s: '%s' is not valid", f->name, s);
        for (size_t i = 0; i < v.len; i++)
            FUZZ_CHECK(!(v.ptr[i] >= 'A' && v.ptr[i] <= 'Z'), "%s: '%s' is not lowercase", f->name,
                       s);
    }
}

static void check_ok(json_t *doc, const struct jspec *spec)
{
    for (const struct jspec *f = spec; f->name; f++) {
        json_t *v = json_object_get(doc, f->name);

        if (f->present)
            FUZZ_CHECK(*f->present == (v != NULL), "%s: present flag wrong", f->name);
        if (!v) {
            /* Absent: untouched. */
            switch (f->type) {
            case JSPEC_T_STRING:
            case JSPEC_T_EMAIL:
                FUZZ_CHECK(*(char **)f->out == SENTINEL_STR, "%s: absent but written", f->name);
                break;
            case JSPEC_T_INT:
            case JSPEC_T_TIME:
                FUZZ_CHECK(*(int64_t *)f->out == SENTINEL_INT, "%s: absent but written", f->name);
                break;
            case JSPEC_T_BOOL:
                FUZZ_CHECK(*(bool *)f->out == true, "%s: absent but written", f->name);
                break;
            case JSPEC_T_ANY:
                break;
            }
            FUZZ_CHECK(!(f->flags & JSPEC_REQUIRED), "%s: required but absent, yet ERR_OK",
                       f->name);
            continue;
        }
        switch (f->type) {
        case JSPEC_T_STRING:
        case JSPEC_T_EMAIL:
            FUZZ_CHECK(*(char **)f->out != SENTINEL_STR, "%s: present but not written", f->name);
            FUZZ_CHECK(json_is_null(v) == (*(char **)f->out == NULL), "%s: null mismatch", f->name);
            check_string(f, *(char **)f->out);
            break;
        case JSPEC_T_INT: {
            int64_t n = *(int64_t *)f->out;

            FUZZ_CHECK(json_is_null(v) || (n >= f->min && n <= f->max),
                       "%s: %lld outside [%lld, %lld]", f->name, (long long)n, (long long)f->min,
                       (long long)f->max);
            if (json_is_integer(v))
                FUZZ_CHECK(n == (int64_t)json_integer_value(v), "%s: %lld is not the value sent",
                           f->name, (long long)n);
            break;
        }
        case JSPEC_T_BOOL:
            if (!json_is_null(v))
                FUZZ_CHECK(*(bool *)f->out == json_is_true(v), "%s: wrong boolean", f->name);
            break;
        case JSPEC_T_TIME: {
            int64_t t = *(int64_t *)f->out;

            FUZZ_CHECK(t == TIME_UNSET || (t >= TIME_MIN_MS && t <= TIME_MAX_MS),
                       "%s: time %lld out of range", f->name, (long long)t);
            if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
                FUZZ_CHECK(t == TIME_UNSET, "%s: null or \"\" is not TIME_UNSET", f->name);
            break;
        }
        case JSPEC_T_ANY:
            if (!json_is_null(v))
                FUZZ_CHECK(*(json_t **)f->out == v, "%s: not the value", f->name);
            break;
        }
    }
}

static size_t depth_of(json_t *v)
{
    size_t d = 0, i;
    const char *k;
    json_t *e;

    if (json_is_array(v)) {
        json_array_foreach(v, i, e)
        {
            size_t c = depth_of(e);

            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_object(v)) {
        json_object_foreach(v, k, e)
        {
            size_t c = depth_of(e);

            d = c > d ? c : d;
        }
        return d + 1;
    }
    return 0;
}

static void run_spec(json_t *doc, const struct jspec *spec, struct out *o)
{
    struct arena a;
    char why[256];
    enum err e;

    arena_init(&a);
    reset(o);
    why[0] = '\0';
    e = jspec_parse(doc, spec, &a, why, sizeof(why));
    if (e == ERR_OK)
        check_ok(doc, spec);
    else
        FUZZ_CHECK(e == ERR_INVALID_FIELD && in_spec(spec, why), "error %d with message '%s'",
                   (int)e, why);
    arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct out o;
    const struct jspec lenient[] = {
        JSPEC_STR("name", &o.name, 0, 16),
        JSPEC_STR("description", &o.desc, JSPEC_MULTILINE, 64),
        JSPEC_EMAIL("email", &o.email, 0),
        JSPEC_INT("count", &o.count, 0, -5, 100),
        JSPEC_INT("big", &o.big, 0, INT64_MIN, INT64_MAX),
        JSPEC_BOOL("flag", &o.flag, 0),
        JSPEC_TIME("when", &o.when, 0),
        JSPEC_ANY("extra", &o.extra, 0),
        JSPEC_END,
    };
    const struct jspec strict[] = {
        { .name = "title",
          .type = JSPEC_T_STRING,
          .flags = JSPEC_REQUIRED | JSPEC_NONEMPTY,
          .max_len = 255,
          .out = &o.title,
          .present = &o.title_present },
        JSPEC_EMAIL("email", &o.email2, JSPEC_REQUIRED | JSPEC_NONEMPTY),
        JSPEC_INT("n", &o.n, JSPEC_REQUIRED, 1, 50),
        JSPEC_BOOL("b", &o.b, JSPEC_REQUIRED),
        JSPEC_TIME("t", &o.t, JSPEC_REQUIRED),
        JSPEC_ANY("any", &o.any, JSPEC_REQUIRED),
        JSPEC_STR("text", &o.text, JSPEC_MULTILINE | JSPEC_NONEMPTY, 1000),
        JSPEC_END,
    };
    /* An exact-size copy, so ASan sees a read past the body. */
    char *body = xmemdup0(data, size);
    struct str s = { body, size };
    char why[256];
    json_t *doc, *ref;
    json_error_t je;

    (void)email_is_valid(s);
    FUZZ_CHECK(utf8_length(s) <= size, "utf8_length > bytes");

    doc = jspec_load(s, why, sizeof(why));
    ref = size ? json_loadb(body, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je) : NULL;
    if (doc) {
        FUZZ_CHECK(json_is_object(doc), "jspec_load gave a non-object");
        FUZZ_CHECK(ref && json_equal(doc, ref), "jspec_load accepted what jansson refuses");
        FUZZ_CHECK(depth_of(doc) <= JSPEC_MAX_DEPTH, "nested %zu deep", depth_of(doc));
        run_spec(doc, lenient, &o);
        run_spec(doc, strict, &o);
        json_decref(doc);
    } else {
        FUZZ_CHECK(why[0] != '\0', "refused without a message");
        FUZZ_CHECK(!ref || !json_is_object(ref) || depth_of(ref) > JSPEC_MAX_DEPTH,
                   "refused a valid object of depth %zu: %s", depth_of(ref), why);
    }
    json_decref(ref);
    free(body);
    return 0;
}
