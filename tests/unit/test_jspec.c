/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Declarative request parsing: types, limits, required fields, messages naming the field. */
#include "core/compat.h"

#include "core/clock.h"
#include "json/jspec.h"
#include "tap.h"

struct fields {
    char *name, *email, *desc;
    int64_t n, when;
    bool flag, name_present;
    json_t *any;
};

static enum err run(const char *body, struct fields *f, struct arena *a, char *why)
{
    const struct jspec spec[] = {
        { .name = "name",
          .type = JSPEC_T_STRING,
          .flags = JSPEC_REQUIRED | JSPEC_NONEMPTY,
          .max_len = 5,
          .out = &f->name,
          .present = &f->name_present },
        JSPEC_EMAIL("email", &f->email, 0),
        JSPEC_STR("desc", &f->desc, JSPEC_MULTILINE, 100),
        JSPEC_INT("n", &f->n, 0, -5, 5),
        JSPEC_BOOL("flag", &f->flag, 0),
        JSPEC_TIME("when", &f->when, 0),
        JSPEC_ANY("any", &f->any, 0),
        JSPEC_END,
    };
    json_t *doc = jspec_load(str_from(body), why, 256);
    enum err e;

    memset(f, 0, sizeof(*f));
    f->n = 99;
    f->when = 77;
    if (!doc)
        return ERR_INVALID_JSON;
    e = jspec_parse(doc, spec, a, why, 256);
    json_decref(doc);
    return e;
}

int main(void)
{
    struct arena a;
    struct fields f;
    char why[256], deep[200];

    arena_init(&a);
    is_int(run("{\"name\":\"héllo\",\"email\":\" Ann@Example.COM \",\"n\":\"-5\",\"flag\":true,"
               "\"when\":\"2024-05-01T12:00:00Z\",\"desc\":\"a\\nb\",\"extra\":[1]}",
               &f, &a, why),
           ERR_OK, "a full valid body");
    is_str(f.name, "héllo", "string copied (5 characters, 6 bytes)");
    is_str(f.email, "ann@example.com", "email trimmed and lowercased");
    is_int(f.n, -5, "integer from a string");
    ok(f.flag, "bool");
    is_int(f.when, 1714564800000LL, "time");
    is_str(f.desc, "a\nb", "multiline string keeps newlines");
    ok(f.name_present, "presence reported");

    is_int(run("{\"name\":\"x\"}", &f, &a, why), ERR_OK, "optional fields may be absent");
    is_int(f.n, 99, "absent int keeps its default");
    is_int(f.when, 77, "absent time keeps its default");
    is_int(run("{\"name\":\"x\",\"when\":null}", &f, &a, why), ERR_OK, "null time");
    is_int(f.when, TIME_UNSET, "null time is unset");
    is_int(run("{\"name\":\"x\",\"when\":\"\"}", &f, &a, why), ERR_OK, "empty time");
    is_int(f.when, TIME_UNSET, "empty time is unset");

    is_int(run("{}", &f, &a, why), ERR_INVALID_FIELD, "missing required field");
    is_str(why, "name: is required", "message names the field");
    is_int(run("{\"name\":null}", &f, &a, why), ERR_INVALID_FIELD, "null required field");
    is_int(run("{\"name\":\"  \"}", &f, &a, why), ERR_INVALID_FIELD, "blank non-empty field");
    is_int(run("{\"name\":\"toolong\"}", &f, &a, why), ERR_INVALID_FIELD, "over-long string");
    is_str(why, "name: must be at most 5 characters", "length message");
    is_int(run("{\"name\":5}", &f, &a, why), ERR_INVALID_FIELD, "number for a string");
    is_int(run("{\"name\":\"a\\u0000b\"}", &f, &a, why), ERR_INVALID_FIELD, "NUL inside a string");
    is_int(run("{\"name\":\"a\\nb\"}", &f, &a, why), ERR_INVALID_FIELD,
           "newline in a one-line string");
    is_int(run("{\"name\":\"x\",\"email\":\"nope\"}", &f, &a, why), ERR_INVALID_FIELD, "bad email");
    is_int(run("{\"name\":\"x\",\"n\":6}", &f, &a, why), ERR_INVALID_FIELD,
           "integer over the range");
    is_str(why, "n: must be between -5 and 5", "range message");
    is_int(run("{\"name\":\"x\",\"n\":1.5}", &f, &a, why), ERR_INVALID_FIELD,
           "fraction for an integer");
    is_int(run("{\"name\":\"x\",\"n\":2.0}", &f, &a, why), ERR_OK, "integral real accepted");
    is_int(run("{\"name\":\"x\",\"n\":1e300}", &f, &a, why), ERR_INVALID_FIELD,
           "real far past int64");
    is_int(run("{\"name\":\"x\",\"n\":\"1e3\"}", &f, &a, why), ERR_INVALID_FIELD,
           "string that is not an integer");
    is_int(run("{\"name\":\"x\",\"n\":99999999999999999999}", &f, &a, why), ERR_INVALID_JSON,
           "integer past 64 bits");
    is_int(run("{\"name\":\"x\",\"flag\":\"true\"}", &f, &a, why), ERR_INVALID_FIELD,
           "string for a bool");
    is_int(run("{\"name\":\"x\",\"when\":\"2024-02-30\"}", &f, &a, why), ERR_INVALID_FIELD,
           "impossible date");
    is_int(run("{\"name\":\"x\",\"when\":5}", &f, &a, why), ERR_INVALID_FIELD, "number for a time");

    is_int(run("", &f, &a, why), ERR_INVALID_JSON, "empty body");
    is_int(run("[1]", &f, &a, why), ERR_INVALID_JSON, "array body");
    is_int(run("{\"name\":\"a\",\"name\":\"b\"}", &f, &a, why), ERR_INVALID_JSON, "duplicate keys");
    is_int(run("{\"name\":", &f, &a, why), ERR_INVALID_JSON, "truncated");
    ok(strstr(why, "line 1") != NULL, "parse error has a position");
    is_int(run("{\"name\":\"\xff\"}", &f, &a, why), ERR_INVALID_JSON, "invalid UTF-8");
    memset(deep, '[', sizeof(deep));
    deep[0] = '{';
    deep[sizeof(deep) - 1] = '\0';
    is_int(run(deep, &f, &a, why), ERR_INVALID_JSON, "nesting past the limit");

    ok(email_is_valid(STR_LIT("a.b+c@mail.example.org")), "plain address");
    ok(!email_is_valid(STR_LIT("a@b")), "domain without a dot");
    ok(!email_is_valid(STR_LIT("a b@example.org")), "space");
    ok(!email_is_valid(STR_LIT("@example.org")), "empty local part");
    ok(!email_is_valid(STR_LIT("a..b@example.org")), "double dot");
    ok(!email_is_valid(STR_LIT("a@-x.org")), "label starting with a dash");
    ok(!email_is_valid(STR_LIT("a@x..org")), "empty label");
    is_int(utf8_length(STR_LIT("héllo")), 5, "code points");
    arena_release(&a);
    return done_testing();
}
