/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A direct JSON writer into a capped buffer, for the responses that are hot enough to matter
 * (the package lists: fifty objects a page). It writes what it is told in order, handles the
 * commas and escapes strings; it does not check that the result is well formed, so callers
 * pair their begin and end calls. Everything else builds JSON with jansson.
 */
#ifndef CONSIGN_JWRITE_H
#define CONSIGN_JWRITE_H

#include "core/compat.h"
#include "core/str.h"

/** Deepest nesting the writer tracks. */
#define JW_MAX_DEPTH 16

struct jw {
    struct sbuf sb;
    unsigned depth;
    bool need_comma[JW_MAX_DEPTH];
    bool after_key;
};

/** Prepares an empty writer whose output may grow to @max bytes (past it, jw_take gives NULL). */
void jw_init(struct jw *w, size_t max);
void jw_object_begin(struct jw *w);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w);
void jw_array_end(struct jw *w);
/** The key of the next member of an object, @len bytes (trusted text: it is not escaped). */
void jw_key_n(struct jw *w, const char *key, size_t len);
/** A string value, escaped; NULL writes null. */
void jw_string(struct jw *w, const char *s);
/** A string consign made that needs no escaping (ids, tokens, names of states); not NULL. */
void jw_plain(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/** A time as ISO 8601 (TIME_UNSET as the zero time). */
void jw_time(struct jw *w, int64_t ms);
/** A value that is already JSON text made by consign (not escaped or checked). */
void jw_raw(struct jw *w, const char *json);

/*
 * The key of the next member (a literal or trusted text). Inline, so that the length of a
 * literal key is known at compile time: a page of a list writes a thousand keys.
 */
static inline void jw_key(struct jw *w, const char *key)
{
    jw_key_n(w, key, strlen(key));
}

/** A member of an object: jw_key() then the value. */
static inline void jw_kstring(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

static inline void jw_kplain(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_plain(w, s);
}

static inline void jw_kint(struct jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

static inline void jw_kbool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

static inline void jw_ktime(struct jw *w, const char *key, int64_t ms)
{
    jw_key(w, key);
    jw_time(w, ms);
}

/** The text (malloc'd, the caller frees it) and its length; NULL when the cap was passed. */
char *jw_take(struct jw *w, size_t *len);
/** Frees what the writer holds. */
void jw_release(struct jw *w);

#endif /* CONSIGN_JWRITE_H */
