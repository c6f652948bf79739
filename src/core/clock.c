/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The application clock and ISO 8601. Calendar arithmetic is done here (days from civil and back,
 * after Howard Hinnant's algorithms) rather than with timegm/gmtime_r so that it is exact over
 * years 1 to 9999, free of the TZ environment and safe in every thread.
 */
#include "core/compat.h"
#include "core/clock.h"

#include <stdatomic.h>

static _Atomic int64_t clock_offset;

int64_t clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    return clock_wall_ms() + atomic_load(&clock_offset);
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_set_offset_ms(int64_t ms)
{
    atomic_store(&clock_offset, ms);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t time_from_civil(int64_t year, unsigned month, unsigned day)
{
    return days_from_civil(year, month, day) * 86400000LL;
}

/* Writes the @n low decimal digits of @v, zero-padded. */
static void put_digits(char *out, unsigned v, unsigned n)
{
    while (n--) {
        out[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* The day of @ms (days since the epoch, rounded down) and the milliseconds into it. */
static int64_t day_of(int64_t ms, int64_t *rem)
{
    int64_t days = ms / 86400000;

    *rem = ms % 86400000;
    if (*rem < 0) {
        *rem += 86400000;
        days--;
    }
    return days;
}

/* "HH:MM:SS" of @rem milliseconds into a day. */
static void put_time_of_day(char *out, int64_t rem)
{
    put_digits(out, (unsigned)(rem / 3600000), 2);
    out[2] = ':';
    put_digits(out + 3, (unsigned)(rem / 60000 % 60), 2);
    out[5] = ':';
    put_digits(out + 6, (unsigned)(rem / 1000 % 60), 2);
}

void time_format_iso(int64_t ms, char out[TIME_ISO_LEN])
{
    int64_t days, rem, y;
    unsigned m, d;

    if (ms == TIME_UNSET || ms < TIME_MIN_MS || ms > TIME_MAX_MS) {
        memcpy(out, "0001-01-01T00:00:00.000Z", 25);
        return;
    }
    days = day_of(ms, &rem);
    civil_from_days(days, &y, &m, &d);
    /* Written digit by digit: list answers format hundreds of times, and printf showed. */
    put_digits(out, (unsigned)y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_time_of_day(out + 11, rem);
    out[19] = '.';
    put_digits(out + 20, (unsigned)(rem % 1000), 3);
    out[23] = 'Z';
    out[24] = '\0';
}

void time_format_rfc5322(int64_t ms, char out[TIME_RFC5322_LEN])
{
    static const char wdays[] = "ThuFriSatSunMonTueWed"; /* day 0 of the epoch was a Thursday */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t days, rem, y, wd;
    unsigned m, d;

    if (ms == TIME_UNSET || ms < TIME_MIN_MS || ms > TIME_MAX_MS)
        ms = 0;
    days = day_of(ms, &rem);
    civil_from_days(days, &y, &m, &d);
    wd = days % 7;
    if (wd < 0)
        wd += 7;
    memcpy(out, wdays + wd * 3, 3);
    memcpy(out + 3, ", ", 2);
    put_digits(out + 5, d, 2);
    out[7] = ' ';
    memcpy(out + 8, months + (m - 1) * 3, 3);
    out[11] = ' ';
    put_digits(out + 12, (unsigned)y, 4);
    out[16] = ' ';
    put_time_of_day(out + 17, rem);
    memcpy(out + 25, " +0000", 7);
}

/* Reads exactly @n digits at *@p. */
static bool digits(const char **p, const char *end, unsigned n, unsigned *out)
{
    unsigned v = 0;

    if ((size_t)(end - *p) < n)
        return false;
    for (unsigned i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, const char *end, char c)
{
    if (*p < end && **p == c) {
        (*p)++;
        return true;
    }
    return false;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

bool time_parse_iso(struct str s, int64_t *out)
{
    const char *p = s.ptr, *end = s.ptr + s.len;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, zh = 0, zm = 0;
    int zsign = 0;
    int64_t v;

    if (!s.ptr || !digits(&p, end, 4, &y) || !expect(&p, end, '-') || !digits(&p, end, 2, &mo) ||
        !expect(&p, end, '-') || !digits(&p, end, 2, &d))
        return false;
    if (y == 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (!digits(&p, end, 2, &h) || !expect(&p, end, ':') || !digits(&p, end, 2, &mi))
            return false;
        if (expect(&p, end, ':')) {
            if (!digits(&p, end, 2, &sec))
                return false;
            if (p < end && (*p == '.' || *p == ',')) {
                unsigned n = 0, scale = 100;

                p++;
                while (p < end && *p >= '0' && *p <= '9') {
                    if (n < 3)
                        ms += (unsigned)(*p - '0') * scale;
                    scale /= 10;
                    n++;
                    p++;
                }
                if (n == 0 || n > 9)
                    return false;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return false;
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            zsign = *p == '+' ? 1 : -1;
            p++;
            if (!digits(&p, end, 2, &zh))
                return false;
            if (p < end) {
                expect(&p, end, ':');
                if (!digits(&p, end, 2, &zm))
                    return false;
            }
            if (zh > 23 || zm > 59)
                return false;
        }
    }
    if (p != end)
        return false;
    v = time_from_civil(y, mo, d) + ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
    v -= (int64_t)zsign * ((int64_t)zh * 3600 + zm * 60) * 1000;
    if (v < TIME_MIN_MS || v > TIME_MAX_MS)
        return false;
    /* The zero instant means "not set" in whatever notation it is written. */
    *out = v == TIME_MIN_MS ? TIME_UNSET : v;
    return true;
}
