/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Time: the one clock every rule of consign reads (with an offset that tests can move, so
 * expiry is tested without sleeping), and ISO 8601 parsing and formatting. Times are
 * milliseconds since the Unix epoch, UTC, in an int64_t; TIME_UNSET means "not set" and is
 * written as MASV's zero time 0001-01-01T00:00:00.000Z.
 */
#ifndef CONSIGN_CLOCK_H
#define CONSIGN_CLOCK_H

#include "core/compat.h"
#include "core/str.h"

/** "Not set". */
#define TIME_UNSET INT64_MIN
/** Size of the buffer time_format_iso() writes, NUL included. */
#define TIME_ISO_LEN 32
/** Earliest and latest instants accepted: years 0001 to 9999. */
#define TIME_MIN_MS (-62135596800000LL)
#define TIME_MAX_MS (253402300799999LL)

/** Now, as the application sees it: wall time plus the offset. Thread-safe. */
int64_t clock_now_ms(void);
/** Real wall time, never offset (for logs). Thread-safe. */
int64_t clock_wall_ms(void);
/** Monotonic milliseconds, for durations and deadlines. Thread-safe. */
int64_t clock_mono_ms(void);
/** Moves the application clock by @ms relative to wall time (tests, and `--clock-offset`). */
void clock_set_offset_ms(int64_t ms);

/** Writes @ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into @out; TIME_UNSET as the zero time. */
void time_format_iso(int64_t ms, char out[TIME_ISO_LEN]);
/** Size of the buffer time_format_rfc5322() writes, NUL included. */
#define TIME_RFC5322_LEN 32
/**
 * Writes @ms as an e-mail Date (RFC 5322, in UTC): "Thu, 01 Feb 2024 09:05:00 +0000". Times
 * outside years 1 to 9999, and TIME_UNSET, are written as the Unix epoch.
 */
void time_format_rfc5322(int64_t ms, char out[TIME_RFC5322_LEN]);
/**
 * Parses ISO 8601 as clients send it: a date ("2022-11-01"), or a date and time with 'T' (or a
 * space), optional seconds and fraction (up to 9 digits, cut to milliseconds), and a zone of
 * 'Z', "+HH:MM", "+HHMM" or "+HH" (none means UTC). Every field is range-checked (February 30
 * is refused). The zero time parses as TIME_UNSET. False on anything else; @out is untouched.
 */
bool time_parse_iso(struct str s, int64_t *out);
/** Milliseconds of the civil date; no range checks. */
int64_t time_from_civil(int64_t year, unsigned month, unsigned day);

#endif /* CONSIGN_CLOCK_H */
