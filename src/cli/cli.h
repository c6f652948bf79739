/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The command line: one function per command, dispatched from main.c's table. */
#ifndef CONSIGN_CLI_H
#define CONSIGN_CLI_H

#include "core/compat.h"

#define CONSIGN_VERSION "0.1.0"

/** Each command gets argv without the program name (argv[0] is the command); returns the exit code. */
int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_errors(int argc, char **argv);

/** Value of environment variable @name, or @fallback when unset or empty. */
const char *cli_env(const char *name, const char *fallback);
/** Prints @usage to stderr and returns 2 (a wrong invocation). */
int cli_usage_error(const char *usage, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
