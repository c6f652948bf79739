/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Allocation wrappers and the arena. On Linux with overcommit an allocation failure is almost
 * never recoverable in a useful way, so the wrappers abort; what prevents exhaustion is capping
 * every client-controlled size before it is allocated.
 */
#include "core/compat.h"
#include "core/mem.h"

#include <stdarg.h>

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    max_align_t data[];
};

static NORETURN void out_of_memory(size_t n)
{
    fprintf(stderr, "consign: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        out_of_memory(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (!size_mul(n, size, &total))
        out_of_memory(SIZE_MAX);
    p = calloc(total ? n : 1, total ? size : 1);
    if (!p)
        out_of_memory(total);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xmemdup0(s, strlen(s));
}

char *xmemdup0(const void *s, size_t len)
{
    size_t n;
    char *p;

    if (!size_add(len, 1, &n))
        out_of_memory(SIZE_MAX);
    p = xmalloc(n);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(0);
    return out;
}

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->total = 0;
}

void arena_release(struct arena *a)
{
    struct arena_block *b = a->head;

    while (b) {
        struct arena_block *next = b->next;

        free(b);
        b = next;
    }
    arena_init(a);
}

/* Room for @n bytes, not cleared. */
static void *arena_take(struct arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    struct arena_block *b = a->head;
    size_t need, size;
    void *p;

    if (!size_add(n, align - 1, &need))
        out_of_memory(SIZE_MAX);
    need &= ~(align - 1);
    if (need == 0)
        need = align;
    if (!b || b->size - b->used < need) {
        size = b ? b->size * 2 : 4096;
        if (size > 1u << 20)
            size = 1u << 20;
        if (size < need)
            size = need;
        b = xmalloc(sizeof(*b) + size);
        b->size = size;
        b->used = 0;
        /* A block made for one large request goes second so the current block keeps serving. */
        if (a->head && size == need) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
        a->total += size;
    }
    p = (char *)b->data + b->used;
    b->used += need;
    return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
    void *p = arena_take(a, n);

    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    size_t n;
    char *p;

    if (!size_add(len, 1, &n))
        out_of_memory(SIZE_MAX);
    p = arena_take(a, n);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return arena_strdup(a, "");
    p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}
