/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * ISO 8601. time_parse_iso() on the input; a success must lie in [TIME_MIN_MS, TIME_MAX_MS] (or
 * be TIME_UNSET), and unless it is TIME_UNSET, time_format_iso() of it must be a 24-character
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" that parses back to the same milliseconds. Independently, the first
 * eight bytes taken as a number of milliseconds must survive format then parse when in range.
 */
#include "fuzz.h"

#include "core/clock.h"

static void check_format(int64_t ms, const char *why)
{
    char buf[TIME_ISO_LEN + 8];
    int64_t back = 0;
    size_t n;

    memset(buf, 'x', sizeof(buf));
    time_format_iso(ms, buf);
    n = strnlen(buf, TIME_ISO_LEN);
    FUZZ_CHECK(n == 24, "%s: %lld formats as %zu characters", why, (long long)ms, n);
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        bool ok = (i == 4 || i == 7)     ? c == '-'
                  : i == 10              ? c == 'T'
                  : (i == 13 || i == 16) ? c == ':'
                  : i == 19              ? c == '.'
                  : i == 23              ? c == 'Z'
                                         : (c >= '0' && c <= '9');

        FUZZ_CHECK(ok, "%s: %lld formats as '%s'", why, (long long)ms, buf);
    }
    FUZZ_CHECK(time_parse_iso((struct str){ buf, n }, &back), "%s: '%s' (from %lld) does not parse",
               why, buf, (long long)ms);
    FUZZ_CHECK(back == ms, "%s: %lld formats as '%s', which parses as %lld", why, (long long)ms,
               buf, (long long)back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = xmemdup0(data, size);
    int64_t v = 12345;

    if (time_parse_iso((struct str){ copy, size }, &v)) {
        FUZZ_CHECK(v == TIME_UNSET || (v >= TIME_MIN_MS && v <= TIME_MAX_MS),
                   "'%.*s' parses as %lld, out of range", (int)size, copy, (long long)v);
        if (v != TIME_UNSET)
            check_format(v, "round trip of the input");
    } else {
        FUZZ_CHECK(v == 12345, "a failed parse wrote its output");
    }
    if (size >= 8) {
        int64_t ms;

        memcpy(&ms, data, sizeof(ms));
        if (ms > TIME_MIN_MS && ms <= TIME_MAX_MS)
            check_format(ms, "format of a number");
    }
    free(copy);
    return 0;
}
