/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Declarative JSON request parsing over jansson. A handler lists the fields it takes (name,
 * type, required, limits, destination) and jspec_parse() checks them all, copies strings into
 * the request's arena and says precisely which field is wrong. Fields a handler does not list
 * are ignored, as MASV clients send read-only fields back on update.
 */
#ifndef CONSIGN_JSPEC_H
#define CONSIGN_JSPEC_H

#include "core/compat.h"

#include <jansson.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"

enum jspec_type {
    JSPEC_T_STRING, /* char ** */
    JSPEC_T_EMAIL,  /* char **: an address, lowercased */
    JSPEC_T_INT,    /* int64_t *: an integer in [min, max] (a string of digits is accepted too) */
    JSPEC_T_BOOL,   /* bool * */
    JSPEC_T_TIME,   /* int64_t *: ISO 8601, milliseconds UTC; null or "" gives TIME_UNSET */
    JSPEC_T_ANY,    /* json_t **: borrowed from the parsed document */
};

enum jspec_flags {
    JSPEC_REQUIRED = 1 << 0,  /* absent (or null) is an error */
    JSPEC_NONEMPTY = 1 << 1,  /* strings: "" (after trimming spaces) is an error */
    JSPEC_MULTILINE = 1 << 2, /* strings: newlines and tabs are allowed */
};

/** One field a request takes. Build them with the JSPEC_* macros; end the list with JSPEC_END. */
struct jspec {
    const char *name;
    enum jspec_type type;
    unsigned flags;
    size_t max_len; /* strings: most characters (code points) */
    int64_t min, max;
    void *out;
    bool *present; /* optional: set true when the field was sent (even as null) */
};

/* clang-format off */
#define JSPEC_STR(n, o, f, maxlen) { .name = (n), .type = JSPEC_T_STRING, .flags = (f), .max_len = (maxlen), .out = (o) }
#define JSPEC_EMAIL(n, o, f) { .name = (n), .type = JSPEC_T_EMAIL, .flags = (f), .max_len = 254, .out = (o) }
#define JSPEC_INT(n, o, f, lo, hi) { .name = (n), .type = JSPEC_T_INT, .flags = (f), .min = (lo), .max = (hi), .out = (o) }
#define JSPEC_BOOL(n, o, f) { .name = (n), .type = JSPEC_T_BOOL, .flags = (f), .out = (o) }
#define JSPEC_TIME(n, o, f) { .name = (n), .type = JSPEC_T_TIME, .flags = (f), .out = (o) }
#define JSPEC_ANY(n, o, f) { .name = (n), .type = JSPEC_T_ANY, .flags = (f), .out = (o) }
#define JSPEC_END { .name = NULL }
/* clang-format on */

/** Most nesting a request body may have. */
#define JSPEC_MAX_DEPTH 32

/**
 * Parses @body as one JSON object (duplicate keys and nesting past JSPEC_MAX_DEPTH refused).
 * Returns the document (the caller decrefs it) or NULL with a message in @why.
 */
json_t *jspec_load(struct str body, char *why, size_t why_cap);

/**
 * Checks @obj against @spec and fills the destinations; strings are copied into @a.
 * Returns ERR_OK or ERR_INVALID_FIELD with a message naming the field in @why.
 * Destinations of absent fields are left as they were, so callers set defaults first.
 */
MUST_CHECK enum err jspec_parse(json_t *obj, const struct jspec *spec, struct arena *a, char *why,
                                size_t why_cap);

/** True when @s is a plausible e-mail address (local@domain.tld, no spaces, sane lengths). */
bool email_is_valid(struct str s);
/** Number of UTF-8 code points in @s (which jansson has already checked is UTF-8). */
size_t utf8_length(struct str s);

/** A new JSON string of the ISO 8601 form of @ms (TIME_UNSET gives the zero time). */
json_t *jtime(int64_t ms);

#endif /* CONSIGN_JSPEC_H */
