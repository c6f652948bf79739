/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* ULIDs and random bytes; see core/id.h. */
#include "core/compat.h"
#include "core/id.h"

#include <errno.h>
#include <sys/random.h>

#include "core/clock.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void rand_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n) {
        ssize_t k = getrandom(p, n, 0);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "consign: getrandom failed\n");
            abort();
        }
        p += k;
        n -= (size_t)k;
    }
}

/*
 * The random part of ids is drawn from the kernel 51 ids at a time: every request gets an id,
 * and a system call per id showed. The bytes are used once and never leave their thread.
 */
static void id_random(uint8_t r[10])
{
    static _Thread_local uint8_t pool[510];
    static _Thread_local size_t left;

    if (left < 10) {
        rand_bytes(pool, sizeof(pool));
        left = sizeof(pool);
    }
    memcpy(r, pool + sizeof(pool) - left, 10);
    memset(pool + sizeof(pool) - left, 0, 10);
    left -= 10;
}

void id_new_at(int64_t ms, char out[ID_LEN + 1])
{
    uint8_t r[10];
    uint64_t t = (uint64_t)ms & ((1ULL << 48) - 1);
    unsigned acc = 0, bits = 0, k = 10;

    id_random(r);
    for (int i = 9; i >= 0; i--) {
        out[i] = crockford[t & 31];
        t >>= 5;
    }
    /* 80 random bits make exactly 16 characters. */
    for (size_t i = 0; i < sizeof(r); i++) {
        acc = acc << 8 | r[i];
        bits += 8;
        while (bits >= 5) {
            out[k++] = crockford[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    out[ID_LEN] = '\0';
}

void id_new(char out[ID_LEN + 1])
{
    id_new_at(clock_now_ms(), out);
}

bool id_is_valid(struct str s)
{
    if (s.len != ID_LEN || s.ptr[0] < '0' || s.ptr[0] > '7')
        return false;
    for (size_t i = 0; i < ID_LEN; i++)
        if (!memchr(crockford, s.ptr[i], sizeof(crockford) - 1) || s.ptr[i] == '\0')
            return false;
    return true;
}
