/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The first include of every .c file: feature macros, attributes shared by the whole tree and
 * the list of banned libc functions.
 */
#ifndef CONSIGN_COMPAT_H
#define CONSIGN_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

/* Headers that declare banned names come before banned.h so that their prototypes still parse. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** Marks a function whose result must be looked at. */
#define MUST_CHECK __attribute__((warn_unused_result))
/** printf-style format checking for argument @fmt_idx, variadic arguments from @arg_idx. */
#define PRINTF_LIKE(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))

/** Number of elements of a true array (not a pointer). */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#include "core/banned.h"

#endif /* CONSIGN_COMPAT_H */
