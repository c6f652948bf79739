/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Logging: one line per event on stderr, "TIME LEVEL component [rid=…] message". The level is
 * checked before the arguments are evaluated, so a disabled DEBUG line costs one comparison.
 * Each .c file that logs defines LOG_COMPONENT before including this header.
 * ERROR means an operator must act; client mistakes are DEBUG or INFO. Never log a secret:
 * passwords, tokens, API keys, signed URLs or request bodies. Thread-safe.
 */
#ifndef CONSIGN_LOG_H
#define CONSIGN_LOG_H

#include "core/compat.h"

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/** The current threshold; lines above it are dropped. */
extern enum log_level log_threshold;

/** Sets the threshold from "error", "warn", "info" or "debug"; false for anything else. */
bool log_set_level(const char *name);
/**
 * Sets the request id that lines written by the calling thread carry when the caller gives none
 * (NULL clears it). The HTTP layer sets it around each request, so every line logged while a
 * request is handled names it. @rid is borrowed and must stay valid until cleared.
 */
void log_set_request(const char *rid);
/** Writes one line; @rid may be NULL (the thread's request id, if any, is used). Prefer the macros. */
void log_write(enum log_level level, const char *component, const char *rid, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

#ifndef LOG_COMPONENT
#define LOG_COMPONENT "consign"
#endif

#define LOG_AT(level, rid, ...)                                                                    \
    do {                                                                                           \
        if ((level) <= log_threshold)                                                              \
            log_write((level), LOG_COMPONENT, (rid), __VA_ARGS__);                                 \
    } while (0)

#define LOG_ERR(...) LOG_AT(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_LEVEL_WARN, NULL, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define LOG_DBG(...) LOG_AT(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)

/** Logs our own bug at ERROR with the place it happened. */
#define LOG_BUG(...)                                                                               \
    LOG_AT(LOG_LEVEL_ERROR, NULL, "BUG at " __FILE__ ":" LOG_STR(__LINE__) ": " __VA_ARGS__)
#define LOG_STR(x) LOG_STR2(x)
#define LOG_STR2(x) #x

#endif /* CONSIGN_LOG_H */
