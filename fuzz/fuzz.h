/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What every libFuzzer target of consign shares: the entry points' prototypes (the tree builds
 * with -Wmissing-prototypes) and FUZZ_CHECK, which reports a broken invariant and aborts so that
 * libFuzzer keeps the input as a crash.
 */
#ifndef CONSIGN_FUZZ_H
#define CONSIGN_FUZZ_H

#include "core/compat.h"

#include "core/mem.h"
#include "core/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/** Aborts with the place and a message when @cond is false. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "\nFUZZ INVARIANT BROKEN at %s:%d: %s\n  ", __FILE__, __LINE__,        \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* CONSIGN_FUZZ_H */
