/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Memory: allocation wrappers that abort on exhaustion, checked size arithmetic, and the arena
 * that a request (or any other short-lived unit of work) allocates from and frees at once.
 */
#ifndef CONSIGN_MEM_H
#define CONSIGN_MEM_H

#include "core/compat.h"

#include <stdarg.h>

/** malloc() that aborts the process when memory is exhausted. Never returns NULL. */
void *xmalloc(size_t n);
/** calloc() that aborts on exhaustion or when @n * @size overflows. Never returns NULL. */
void *xcalloc(size_t n, size_t size);
/** realloc() that aborts on exhaustion. */
void *xrealloc(void *p, size_t n);
/** strdup() that aborts on exhaustion. */
char *xstrdup(const char *s);
/** Copies @len bytes of @s and a terminating NUL into new memory. */
char *xmemdup0(const void *s, size_t len);
/** asprintf() that aborts on exhaustion; the result is the caller's to free(). */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/** *out = a + b; false when the sum overflows size_t. */
static inline bool size_add(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/** *out = a * b; false when the product overflows size_t. */
static inline bool size_mul(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/**
 * A region allocator: many small allocations, one release. Blocks grow geometrically; a large
 * request gets a block of its own. Not thread-safe: an arena belongs to one unit of work.
 */
struct arena {
    struct arena_block *head; /* newest block first */
    size_t total;             /* bytes taken from the system, for diagnostics */
};

/** Prepares an empty arena; no memory is taken until the first allocation. */
void arena_init(struct arena *a);
/** Frees every block of @a and leaves it empty and reusable. */
void arena_release(struct arena *a);
/** @n bytes aligned for any type; zeroed. Never NULL. Lives until arena_release(). */
void *arena_alloc(struct arena *a, size_t n);
/** Copy of @len bytes of @s with a terminating NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
/** Copy of the NUL-terminated @s; NULL stays NULL. */
char *arena_strdup(struct arena *a, const char *s);
/** printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF_LIKE(2, 3);
/** vprintf into the arena. */
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);

#endif /* CONSIGN_MEM_H */
