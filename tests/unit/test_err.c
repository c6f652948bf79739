/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The error registry: unique numbers and types, sane statuses. */
#include "core/compat.h"

#include "core/err.h"
#include "tap.h"

#define MAX_ROWS 256

static struct {
    int code;
    unsigned http;
    const char *type;
} rows[MAX_ROWS];
static size_t nrows;

static void collect(enum err e, unsigned http, const char *type, const char *msg, void *ctx)
{
    (void)msg;
    (void)ctx;
    if (nrows < MAX_ROWS)
        rows[nrows++] = (typeof(rows[0])){ (int)e, http, type };
}

int main(void)
{
    bool unique = true, statuses = true, ranges = true;

    err_each(collect, NULL);
    ok(nrows > 10, "registry has rows");
    for (size_t i = 0; i < nrows; i++) {
        for (size_t k = i + 1; k < nrows; k++)
            unique &= rows[i].code != rows[k].code && strcmp(rows[i].type, rows[k].type) != 0;
        statuses &= rows[i].http >= 200 && rows[i].http <= 599;
        ranges &= rows[i].code == 0 || rows[i].code >= 1000;
    }
    ok(unique, "numbers and types are unique");
    ok(statuses, "every row maps to an HTTP status");
    ok(ranges, "numbers are outside the HTTP status range");
    is_int(err_http_status(ERR_NOT_FOUND), 404, "not found is 404");
    is_int(err_http_status(ERR_BODY_TOO_LARGE), 413, "too large is 413");
    is_int(err_http_status(ERR_RATE_LIMITED), 429, "rate limited is 429");
    is_int(err_http_status((enum err)999999), 500, "unknown is 500");
    is_str(err_type(ERR_INVALID_FIELD), "invalid_field", "type");
    return done_testing();
}
