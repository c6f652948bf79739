/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The logger; see core/log.h. One write(2) per line keeps lines whole between threads. */
#include "core/compat.h"
#include "core/log.h"

#include <stdarg.h>
#include <unistd.h>

#include "core/clock.h"

enum log_level log_threshold = LOG_LEVEL_INFO;

static _Thread_local const char *thread_rid;

void log_set_request(const char *rid)
{
    thread_rid = rid;
}

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

bool log_set_level(const char *name)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };

    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            log_threshold = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_write(enum log_level level, const char *component, const char *rid, const char *fmt, ...)
{
    char line[2048], when[32];
    size_t n;
    int k;
    va_list ap;

    if (!rid)
        rid = thread_rid;
    time_format_iso(clock_wall_ms(), when);
    k = snprintf(line, sizeof(line), "%s %s %s%s%s ", when, level_names[level], component,
                 rid ? " rid=" : "", rid ? rid : "");
    n = k < 0 ? 0 : (size_t)k;
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (k > 0)
            n += (size_t)k;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    /* Keep one event on one line whatever the message contains. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report a failing stderr. */
    }
}
