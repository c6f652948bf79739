/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Lookups over the error registry (core/errors.def). */
#include "core/compat.h"
#include "core/err.h"

struct err_row {
    enum err code;
    unsigned http;
    const char *type;
    const char *msg;
};

static const struct err_row rows[] = {
#define ERR_DEF(name, code, http, type, msg) { ERR_##name, http, type, msg },
#include "core/errors.def"
#undef ERR_DEF
};

static const struct err_row *find(enum err e)
{
    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        if (rows[i].code == e)
            return &rows[i];
    return NULL;
}

unsigned err_http_status(enum err e)
{
    const struct err_row *r = find(e);

    return r ? r->http : 500;
}

const char *err_type(enum err e)
{
    const struct err_row *r = find(e);

    return r ? r->type : "internal";
}

const char *err_message(enum err e)
{
    const struct err_row *r = find(e);

    return r ? r->msg : "internal error";
}

void err_each(void (*fn)(enum err e, unsigned http, const char *type, const char *msg, void *ctx),
              void *ctx)
{
    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        fn(rows[i].code, rows[i].http, rows[i].type, rows[i].msg, ctx);
}
