/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Identifiers and randomness. Every object id is a ULID: 26 characters of Crockford base32,
 * a 48-bit millisecond timestamp then 80 random bits, so ids sort by creation time.
 */
#ifndef CONSIGN_ID_H
#define CONSIGN_ID_H

#include "core/compat.h"
#include "core/str.h"

/** Length of an id without its NUL. */
#define ID_LEN 26

/** Fills @buf with @n bytes from the kernel's CSPRNG; aborts if it cannot. Thread-safe. */
void rand_bytes(void *buf, size_t n);
/** Writes a new id for time @ms (and a NUL) into @out. Thread-safe. */
void id_new_at(int64_t ms, char out[ID_LEN + 1]);
/** A new id for the current application time. */
void id_new(char out[ID_LEN + 1]);
/** True when @s has the exact shape of an id (uppercase Crockford base32, first digit 0–7). */
bool id_is_valid(struct str s);

#endif /* CONSIGN_ID_H */
