/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Range headers. The first eight bytes are the content's size, the rest the header's value.
 * A range that is accepted must lie inside the content and hold at least one byte; "bytes=a-b"
 * with a <= b < size must be taken exactly as written.
 */
#include "fuzz.h"

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t content = 0, from = 0, len = 0;
    enum http_range r;
    char *text;

    if (size < 8)
        return 0;
    memcpy(&content, data, 8);
    content >>= (data[0] & 63); /* small sizes too */
    text = xmemdup0(data + 8, size - 8);
    r = http_range_parse((struct str){ text, size - 8 }, content, &from, &len);
    if (r == HTTP_RANGE_OK) {
        FUZZ_CHECK(len >= 1 && from < content && len <= content - from,
                   "'%s' of %llu bytes gives [%llu, +%llu)", text, (unsigned long long)content,
                   (unsigned long long)from, (unsigned long long)len);
    }
    if (content > 0) {
        uint64_t a = content / 3, b = content - 1 - content / 5;
        char h[64];

        if (a <= b) {
            snprintf(h, sizeof(h), "bytes=%llu-%llu", (unsigned long long)a, (unsigned long long)b);
            r = http_range_parse(str_from(h), content, &from, &len);
            FUZZ_CHECK(r == HTTP_RANGE_OK && from == a && len == b - a + 1, "'%s' of %llu", h,
                       (unsigned long long)content);
        }
    }
    free(text);
    return 0;
}
