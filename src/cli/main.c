/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* consign's entry point: a table of commands, as git has. */
#include "core/compat.h"
#include "cli/cli.h"

#include <stdarg.h>
#include <sys/stat.h>

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "serve", cmd_serve, "run the HTTP server" },
    { "worker", cmd_worker, "run only background jobs (the options of serve)" },
    { "admin", cmd_admin, "manage teams and members (create-team, add-member)" },
    { "errors", cmd_errors, "print the error registry as Markdown" },
};

static const char usage[] = "usage: consign [--version] [--help] COMMAND [ARGS]\n"
                            "\n"
                            "commands:\n";

static void print_usage(FILE *f)
{
    fputs(usage, f);
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'consign COMMAND --help' describes a command and its options.\n", f);
}

const char *cli_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && v[0] ? v : fallback;
}

int cli_usage_error(const char *text, const char *fmt, ...)
{
    va_list ap;

    fputs("consign: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(text, stderr);
    return 2;
}

int main(int argc, char **argv)
{
    /* The data directory holds password hashes and the signing secret: nothing consign
     * creates is for other users' eyes. */
    umask(077);
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("consign %s\n", CONSIGN_VERSION);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "consign: '%s' is not a command\n\n", argv[1]);
    print_usage(stderr);
    return 2;
}
