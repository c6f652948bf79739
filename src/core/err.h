/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The error currency of consign: one enum generated from core/errors.def. Actions return it
 * (ERR_OK == 0); the HTTP layer maps it to a status and a JSON body.
 */
#ifndef CONSIGN_ERR_H
#define CONSIGN_ERR_H

#include "core/compat.h"

/** Every error consign reports; the value is the stable registry number. */
enum err {
#define ERR_DEF(name, code, http, type, msg) ERR_##name = code,
#include "core/errors.def"
#undef ERR_DEF
};

/** HTTP status of @e; 500 for a number not in the registry. Thread-safe. */
unsigned err_http_status(enum err e);
/** Stable lowercase type of @e ("invalid_field"); "internal" when unknown. Static storage. */
const char *err_type(enum err e);
/** Default message of @e. Static storage. */
const char *err_message(enum err e);
/** Calls @fn for each registry row in order (used to render docs/errors.md and by tests). */
void err_each(void (*fn)(enum err e, unsigned http, const char *type, const char *msg, void *ctx),
              void *ctx);

#endif /* CONSIGN_ERR_H */
