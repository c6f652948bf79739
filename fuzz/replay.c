/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Runs a fuzz target over saved inputs without libFuzzer, so that `make test` (gcc, ASan and
 * UBSan) replays every seed and every input that once crashed on each run.
 * usage: replay_<target> TARGET DIR...   every file of each DIR; in a folder named "crashes"
 * only the files whose names start with "TARGET-". Prints TAP, one line per input.
 */
#include "core/compat.h"

#include <dirent.h>
#include <sys/stat.h>

#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int n;

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, k;

    if (!f) {
        printf("not ok %d - cannot open %s\n", ++n, path);
        return;
    }
    do {
        if (len == cap)
            buf = xrealloc(buf, cap = cap ? cap * 2 : 4096);
        k = fread(buf + len, 1, cap - len, f);
        len += k;
    } while (k > 0);
    fclose(f);
    /* A copy of exactly the input's size, so that ASan sees reads past its end. */
    uint8_t *exact = xmalloc(len);

    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    printf("ok %d - %s\n", ++n, path);
    fflush(stdout);
}

static void run_dir(const char *target, const char *dir)
{
    const char *base = strrchr(dir, '/');
    bool crashes = strcmp(base ? base + 1 : dir, "crashes") == 0;
    size_t prefix = strlen(target);
    struct dirent *e;
    char **names = NULL;
    size_t count = 0;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (crashes && (strncmp(e->d_name, target, prefix) != 0 || e->d_name[prefix] != '-'))
            continue;
        names = xrealloc(names, (count + 1) * sizeof(*names));
        names[count++] = xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof(*names), name_cmp);
    for (size_t i = 0; i < count; i++) {
        run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TARGET DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 2; i < argc; i++)
        run_dir(argv[1], argv[i]);
    printf("1..%d\n", n);
    return n > 0 ? 0 : 1;
}
