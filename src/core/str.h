/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Byte slices and capped string buffers. Request data is handled as slices ({ptr, len}, not
 * NUL-terminated); output that is not JSON is built in a struct sbuf whose size is capped at
 * init, so no client can make it grow without bound.
 */
#ifndef CONSIGN_STR_H
#define CONSIGN_STR_H

#include "core/compat.h"

#include <stdarg.h>

/** A borrowed byte slice. Never owns its bytes; may contain anything, including NUL. */
struct str {
    const char *ptr;
    size_t len;
};

/** Slice of a string literal. */
#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
/** The empty slice. */
#define STR_NULL ((struct str){ NULL, 0 })

/** Slice of the NUL-terminated @s (NULL gives the empty slice). */
struct str str_from(const char *s);
/** Byte equality. */
bool str_eq(struct str a, struct str b);
/** Byte equality with a NUL-terminated string. */
bool str_eq_cstr(struct str a, const char *b);
/** ASCII case-insensitive equality with a NUL-terminated string. */
bool str_eq_nocase(struct str a, const char *b);
/** True when @s contains a NUL byte or an ASCII control character other than tab. */
bool str_has_ctl(struct str s);
/**
 * Parses an unsigned decimal number made only of digits (no sign, no space, no leading '+'),
 * at most @max. False on anything else, including overflow and the empty slice.
 */
bool str_to_u64(struct str s, uint64_t max, uint64_t *out);
/**
 * Splits off the part of *@rest before the first @sep and advances *@rest past it. Returns false
 * once *@rest is exhausted (a NULL ptr); an empty field between separators is returned as such.
 */
bool str_next(struct str *rest, char sep, struct str *field);
/** Removes ASCII spaces and tabs from both ends. */
struct str str_trim(struct str s);

/**
 * A growable byte buffer with a hard cap. The buffer is always NUL-terminated after its @len
 * bytes. Appends that would pass @max fail and leave the buffer as it was; @overflow records it.
 * Not thread-safe.
 */
struct sbuf {
    char *buf; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max;
    bool overflow;
};

/** Prepares an empty buffer that may hold at most @max bytes. */
void sbuf_init(struct sbuf *sb, size_t max);
/** Frees the bytes; the buffer is empty and reusable with the same cap. */
void sbuf_release(struct sbuf *sb);
bool sbuf_add_slow(struct sbuf *sb, const void *p, size_t n);

/**
 * Appends @n bytes; false (and nothing appended) when the cap would be passed. Inline because
 * writers call it for every few bytes: the buffer never holds more room than its cap allows, so
 * fitting in the room is the whole check.
 */
static inline bool sbuf_add(struct sbuf *sb, const void *p, size_t n)
{
    if (sb->buf && n < sb->cap - sb->len) {
        memcpy(sb->buf + sb->len, p, n);
        sb->len += n;
        sb->buf[sb->len] = '\0';
        return true;
    }
    return sbuf_add_slow(sb, p, n);
}
/** Appends a NUL-terminated string. */
bool sbuf_adds(struct sbuf *sb, const char *s);
/** Makes room for @n more bytes without appending (false past the cap). */
bool sbuf_reserve(struct sbuf *sb, size_t n);
/** Appends @v in decimal (a hot path: no printf). */
bool sbuf_add_i64(struct sbuf *sb, int64_t v);
/** Writes @v in decimal into @out (at least 21 bytes, NUL-terminated); returns the length. */
size_t i64_format(int64_t v, char *out);
/** Appends formatted text. */
bool sbuf_addf(struct sbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);
/** Takes the bytes out (malloc'd, NUL-terminated; the caller frees them); @sb is left empty. */
char *sbuf_detach(struct sbuf *sb, size_t *len);

/** Writes @n bytes as lowercase hex plus a NUL into @out (2 * @n + 1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/** Decodes exactly @n bytes of hex from @s; false on a wrong length or a non-hex digit. */
bool hex_decode(struct str s, uint8_t *out, size_t n);

/** Length of @n bytes in base64url without padding. */
#define B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/**
 * Writes @n bytes as base64url without padding plus a NUL into @out (B64URL_LEN(@n) + 1 bytes);
 * returns the length written. Not constant-time: for data that is public once encoded.
 */
size_t b64url_encode(const uint8_t *in, size_t n, char *out);

#endif /* CONSIGN_STR_H */
