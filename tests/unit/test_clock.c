/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* ISO 8601 parsing and formatting, and the movable clock. */
#include "core/compat.h"

#include "core/clock.h"
#include "tap.h"

static int64_t parse(const char *s)
{
    int64_t v = 12345;

    return time_parse_iso(str_from(s), &v) ? v : -1;
}

static const char *fmt(int64_t ms)
{
    static char buf[TIME_ISO_LEN];

    time_format_iso(ms, buf);
    return buf;
}

int main(void)
{
    static const char *const bad[] = {
        "",
        "2024",
        "2024-13-01",
        "2024-00-10",
        "2023-02-29",
        "2024-02-30",
        "2024-04-31",
        "2024-01-01T24:00:00Z",
        "2024-01-01T12:60:00Z",
        "2024-01-01T12:00:60Z",
        "2024-01-01T12:00:00.Z",
        "2024-01-01T12:00:00.1234567890Z",
        "2024-01-01T12Z",
        "2024-01-01T12:00:00+25:00",
        "2024-01-01T12:00:00Z ",
        " 2024-01-01",
        "0000-01-01",
        "2024-1-01",
        "2024-01-01T12:00:00+0",
        "2024-01-01X12:00:00Z",
        "2024-01-01T12:00:00ZZ",
        "abcd-ef-gh",
    };
    int64_t t0, t1;

    is_int(parse("1970-01-01T00:00:00Z"), 0, "epoch");
    is_int(parse("1970-01-01"), 0, "date only is midnight UTC");
    is_int(parse("2022-11-01T20:09:48.249Z"), 1667333388249LL, "MASV's own example");
    is_int(parse("2022-11-01T20:09:48.2491234Z"), 1667333388249LL, "extra digits are cut");
    is_int(parse("2022-11-01T20:09:48.2Z"), 1667333388200LL, "one fraction digit");
    is_int(parse("2022-11-01T22:09:48.249+02:00"), 1667333388249LL, "positive offset");
    is_int(parse("2022-11-01T18:09:48.249-0200"), 1667333388249LL, "negative offset without colon");
    is_int(parse("2022-11-01T21:09:48.249+01"), 1667333388249LL, "hour-only offset");
    is_int(parse("2022-11-01 20:09:48.249"), 1667333388249LL, "space separator, no zone is UTC");
    is_int(parse("2022-11-01T20:09"), 1667333340000LL, "no seconds");
    is_int(parse("2024-02-29T00:00:00Z"), 1709164800000LL, "leap day");
    is_int(parse("2000-02-29"), 951782400000LL, "leap century");
    ok(parse("1900-02-29") == -1, "1900 was not a leap year");
    is_int(parse("0001-01-01T00:00:00.000Z"), TIME_UNSET, "the zero time means unset");
    is_int(parse("0001-01-01T01:00+01:00"), TIME_UNSET,
           "the zero instant with an offset is unset too");
    is_int(parse("9999-12-31T23:59:59.999Z"), TIME_MAX_MS, "latest instant");
    is_int(parse("0001-01-01T00:00:00.001Z"), TIME_MIN_MS + 1, "earliest set instant");
    is_int(parse("1969-12-31T23:59:59.999Z"), -1, "before the epoch");
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        ok(parse(bad[i]) == -1, "refuses '%s'", bad[i]);

    is_str(fmt(1667333388249LL), "2022-11-01T20:09:48.249Z", "format");
    is_str(fmt(0), "1970-01-01T00:00:00.000Z", "format epoch");
    is_str(fmt(-1), "1969-12-31T23:59:59.999Z", "format before epoch");
    is_str(fmt(TIME_UNSET), "0001-01-01T00:00:00.000Z", "format unset");
    is_str(fmt(TIME_MAX_MS), "9999-12-31T23:59:59.999Z", "format latest");
    for (int64_t ms = TIME_MIN_MS + 1; ms < TIME_MAX_MS; ms += 86400000LL * 97 + 12345) {
        if (parse(fmt(ms)) != ms) {
            ok(0, "round trip of %lld", (long long)ms);
            break;
        }
    }
    ok(1, "format and parse round-trip over years 1 to 9999");

    {
        char d[TIME_RFC5322_LEN];

        time_format_rfc5322(0, d);
        is_str(d, "Thu, 01 Jan 1970 00:00:00 +0000", "e-mail date of the epoch");
        time_format_rfc5322(-1000, d);
        is_str(d, "Wed, 31 Dec 1969 23:59:59 +0000", "e-mail date before the epoch");
        time_format_rfc5322(1709210096000LL, d);
        is_str(d, "Thu, 29 Feb 2024 12:34:56 +0000", "e-mail date of a leap day");
        time_format_rfc5322(253402300799000LL, d);
        is_str(d, "Fri, 31 Dec 9999 23:59:59 +0000", "e-mail date of the latest time");
        time_format_rfc5322(TIME_UNSET, d);
        is_str(d, "Thu, 01 Jan 1970 00:00:00 +0000", "an unset time is the epoch");
    }

    t0 = clock_now_ms();
    clock_set_offset_ms(7LL * 86400000);
    t1 = clock_now_ms();
    ok(t1 - t0 >= 7LL * 86400000 && t1 - t0 < 7LL * 86400000 + 5000, "offset moves the clock");
    ok(clock_wall_ms() < t1 - 86400000, "wall time is not moved");
    clock_set_offset_ms(0);
    return done_testing();
}
