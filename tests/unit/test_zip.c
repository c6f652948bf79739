/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The package archive: safe names, duplicates renamed, the same bytes whatever the pieces they
 * are read in, and archives that Python's zipfile reads back (one of small files, one with a
 * file past 4 GiB written as a sparse file).
 */
#include "core/compat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/str.h"
#include "zip/zip.h"
#include "tap.h"

struct mem_file {
    const char *data;
    size_t len;
};

static ssize_t mem_read(void *cls, void *ctx, uint64_t off, void *buf, size_t n)
{
    const struct mem_file *f = ctx;

    (void)cls;
    if (off > f->len || n > f->len - off)
        return -1;
    memcpy(buf, f->data + off, n);
    return (ssize_t)n;
}

static ssize_t failing_read(void *cls, void *ctx, uint64_t off, void *buf, size_t n)
{
    (void)cls, (void)ctx, (void)off, (void)buf;
    return n > 1 ? (ssize_t)n - 1 : -1; /* short, or an error */
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The whole archive read from 0 in pieces of @piece bytes (malloc'd); NULL if a read failed. */
static uint8_t *read_all(const struct zip_plan *p, size_t piece, uint64_t *got)
{
    uint64_t size = zip_plan_size(p), pos = 0;
    uint8_t *buf = xmalloc(size + piece);
    ssize_t r;

    while ((r = zip_plan_read(p, pos, buf + pos, piece, mem_read, NULL)) > 0)
        pos += (uint64_t)r;
    *got = pos;
    if (r < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Runs python3 -c @script on @path; its output (malloc'd), or NULL when it failed. */
static char *python(const char *script, const char *path)
{
    char *cmd = xasprintf("PYTHONIOENCODING=utf-8 python3 -c '%s' '%s' 2>&1", script, path);
    struct sbuf out;
    char chunk[4096];
    size_t n;
    FILE *f = popen(cmd, "r");

    free(cmd);
    if (!f)
        return NULL;
    sbuf_init(&out, 1 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sbuf_add(&out, chunk, n);
    if (pclose(f) != 0) {
        printf("# python: %s\n", out.buf ? out.buf : "");
        sbuf_release(&out);
        return NULL;
    }
    return sbuf_detach(&out, NULL);
}

static bool write_file(const char *path, const uint8_t *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    bool ok = fd >= 0 && write(fd, b, n) == (ssize_t)n;

    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_names(void)
{
    static const struct {
        const char *path, *name;
        bool windows;
        const char *want;
    } cases[] = {
        { NULL, "a.txt", false, "a.txt" },
        { "photos/2024", "a.jpg", false, "photos/2024/a.jpg" },
        { "../..", "etc/passwd", false, "etc/passwd" },
        { NULL, "../../etc/passwd", false, "etc/passwd" },
        { "/abs/dir/", "x", false, "abs/dir/x" },
        { "a\\b\\..\\c", "d", false, "a/b/c/d" },
        { "a//b/./", "//c", false, "a/b/c" },
        { "C:\\Users\\me", "f.txt", false, "Users/me/f.txt" },
        { "docs", "C:\\x.txt", false, "docs/x.txt" },
        { "c:/d:e", "f", false, "e/f" },
        { "./.", "", false, "file" },
        { NULL, NULL, false, "file" },
        { "", "..", true, "file" },
        { NULL, "a\tb\001c\177.txt", false, "a_b_c_.txt" },
        { NULL, "bad\xff\xfe.txt", false, "bad__.txt" },
        { NULL, "c1\xc2\x85.txt", false, "c1_.txt" },
        { NULL, "over\xc0\xaflong", false, "over__long" },
        { NULL, "sur\xed\xa0\x80", false, "sur___" },
        { NULL, "cut\xe6\x97", false, "cut__" },
        { "été", "日本.jpg", false, "été/日本.jpg" },
        { NULL, "a<b>c:d\"e|f?g*h.txt", true, "a_b_c_d_e_f_g_h.txt" },
        { NULL, "a<b>c:d\"e|f?g*h.txt", false, "a<b>c:d\"e|f?g*h.txt" },
        { "dir. ", "name. .", true, "dir__/name___" },
        { "dir. ", "name. .", false, "dir. /name. ." },
        { NULL, "...", false, "..." },
        { NULL, "...", true, "___" },
        { NULL, "CON", true, "CON_" },
        { NULL, "CON", false, "CON" },
        { "nul", "aux.txt", true, "nul_/aux_.txt" },
        { NULL, "com1.tar.gz", true, "com1_.tar.gz" },
        { NULL, "Con .txt", true, "Con_ .txt" },
        { NULL, "lpt\xc2\xb9", true, "lpt\xc2\xb9_" },
        { NULL, "Console.txt", true, "Console.txt" },
        { NULL, "com10", true, "com10" },
    };
    char long_name[700], want[300];
    char *got, *again;

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        got = zip_entry_name(cases[i].path, cases[i].name, cases[i].windows);
        is_str(got, cases[i].want, "name of '%s' + '%s'%s", cases[i].path ? cases[i].path : "",
               cases[i].name ? cases[i].name : "", cases[i].windows ? " for Windows" : "");
        again = zip_entry_name(NULL, got, false);
        is_str(again, got, "... is a fixed point");
        free(again);
        again = zip_entry_name(NULL, got, cases[i].windows);
        is_str(again, got, "... also with its own flag");
        free(again);
        free(got);
    }

    /* A component past 255 bytes keeps its extension; a cut never splits a character. */
    memset(long_name, 'x', 300);
    memcpy(long_name + 300, ".jpg", 5);
    memset(want, 'x', 251);
    memcpy(want + 251, ".jpg", 5);
    got = zip_entry_name(NULL, long_name, false);
    is_str(got, want, "a long name is cut before its extension");
    free(got);
    for (size_t i = 0; i < 300; i++)
        memcpy(long_name + 2 * i, "\xc3\xa9", 2);
    long_name[600] = '\0';
    got = zip_entry_name("d", long_name, false);
    is_int(strlen(got), 2 + 254, "a long UTF-8 name is cut at a character");
    ok(strncmp(got + 2, long_name, 254) == 0, "... to 127 characters");
    free(got);

    /* A deep path keeps its file name and the leading folders that fit. */
    {
        struct sbuf path;

        sbuf_init(&path, 4096);
        for (int i = 0; i < 20; i++) {
            memset(want, 'a' + i, 100);
            want[100] = '/';
            sbuf_add(&path, want, 101);
        }
        got = zip_entry_name(path.buf, "f.txt", false);
        is_int(strlen(got), 10 * 101 + 5, "a deep path is cut at a folder");
        ok(strncmp(got, path.buf, 10 * 101) == 0 && strcmp(got + 1010, "f.txt") == 0,
           "... keeping the first ten folders and the file name");
        free(got);
        got = zip_entry_name(path.buf, NULL, false);
        ok(strlen(got) <= ZIP_NAME_MAX, "without a name, the last folder is the name");
        free(got);
        sbuf_release(&path);
    }
}

/* The archive paths a plan of @names gives. */
static bool plan_names(const char *const *names, const char *const *want, size_t n)
{
    struct zip_entry e[16] = { 0 };
    struct zip_plan *p;
    bool all = true;

    for (size_t i = 0; i < n; i++)
        e[i].name = names[i];
    p = zip_plan_new(e, n);
    if (!p)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(zip_plan_name(p, i), want[i]) != 0) {
            printf("#   entry %zu: got '%s', want '%s'\n", i, zip_plan_name(p, i), want[i]);
            all = false;
        }
    }
    zip_plan_free(p);
    return all;
}

static void test_duplicates(void)
{
    static const char *const names[] = {
        "dup.txt", "dup.txt",  "DUP.TXT",  "dup (2).txt", "x",     "x/y",       ".bashrc",
        ".bashrc", "a.tar.gz", "a.tar.gz", "../noext",    "noext", "C:\\noext",
    };
    static const char *const want[] = {
        "dup.txt", "dup (2).txt", "DUP (3).TXT", "dup (2) (2).txt", "x (2)",
        "x/y",     ".bashrc",     ".bashrc (2)", "a.tar.gz",        "a.tar (2).gz",
        "noext",   "noext (2)",   "noext (3)",
    };
    char long_name[300], *got;
    struct zip_entry e[2] = { 0 };
    struct zip_plan *p;

    ok(plan_names(names, want, ARRAY_LEN(names)),
       "duplicates are numbered before their extension, ignoring case, and never a folder");

    memset(long_name, 'y', 251);
    memcpy(long_name + 251, ".mov", 5);
    e[0].name = e[1].name = long_name;
    p = zip_plan_new(e, 2);
    got = p ? xstrdup(zip_plan_name(p, 1)) : NULL;
    ok(got && strlen(got) == 255 && strcmp(got + 247, " (2).mov") == 0,
       "a numbered long name stays within 255 bytes");
    free(got);
    zip_plan_free(p);
}

struct small {
    const char *name;
    const char *data;
    size_t len;
    int64_t mtime_ms;
};

static void test_small_archive(void)
{
    static char bin[768];
    const int64_t leap = time_from_civil(2024, 2, 29) + (13 * 3600 + 45 * 60 + 31) * 1000 + 999;
    struct small files[] = {
        { "hello.txt", "Hello, world\n", 13, leap },
        { "empty.dat", "", 0, 0 },
        { NULL, "root:x:0:0\n", 11, time_from_civil(2200, 1, 1) },
        { "dup.txt", "one", 3, leap },
        { "dup.txt", "two", 3, leap },
        { "photos/été/日本.jpg", bin, sizeof(bin), leap },
    };
    enum { N = ARRAY_LEN(files) };
    struct zip_entry e[N];
    struct mem_file mf[N];
    struct zip_plan *p;
    uint8_t *one, *piece, buf[8192];
    uint64_t size, got;
    bool same = true;
    char *etc = zip_entry_name("../../etc", "passwd", false);
    char path[] = "/tmp/consign-test-zip-XXXXXX";
    int fd;

    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)i;
    files[2].name = etc;
    for (size_t i = 0; i < N; i++) {
        mf[i] = (struct mem_file){ files[i].data, files[i].len };
        e[i] = (struct zip_entry){
            .name = files[i].name,
            .size = files[i].len,
            .crc32 = (uint32_t)crc32(0, (const Bytef *)files[i].data, (uInt)files[i].len),
            .mtime_ms = files[i].mtime_ms,
            .ctx = &mf[i],
        };
    }
    p = zip_plan_new(e, N);
    if (!ok(p, "a plan of small files")) {
        free(etc);
        return;
    }
    size = zip_plan_size(p);
    one = xmalloc(size + 100);
    is_int(zip_plan_read(p, 0, one, size + 100, mem_read, NULL), size,
           "one read of the whole archive gives zip_plan_size() bytes");
    is_int(zip_plan_read(p, size, buf, 10, mem_read, NULL), 0, "a read at the end gives 0");
    is_int(zip_plan_read(p, size + 7, buf, 10, mem_read, NULL), 0, "so does one past it");
    ok(memcmp(one, "PK\3\4", 4) == 0 && memcmp(one + size - 22, "PK\5\6", 4) == 0,
       "a local header first, the end record last");

    static const size_t pieces[] = { 1, 7, 4093 };
    for (size_t k = 0; k < ARRAY_LEN(pieces); k++) {
        piece = read_all(p, pieces[k], &got);
        is_int(got, size, "pieces of %zu bytes add up to the size", pieces[k]);
        ok(piece && memcmp(piece, one, size) == 0, "... and are the same bytes");
        free(piece);
    }
    for (int i = 0; i < 500; i++) {
        uint64_t pos = next_rand() % (size + 1);
        size_t n = (size_t)(next_rand() % 3000);
        ssize_t r = zip_plan_read(p, pos, buf, n, mem_read, NULL);
        size_t want = size - pos < n ? (size_t)(size - pos) : n;

        if (r != (ssize_t)want || memcmp(buf, one + pos, want) != 0) {
            printf("#   read at %llu of %zu gave %zd\n", (unsigned long long)pos, n, r);
            same = false;
        }
    }
    ok(same, "reads at random offsets are slices of the whole");
    is_int(zip_plan_read(p, 0, buf, sizeof(buf), failing_read, NULL), -1,
           "a short read by the reader fails the read");
    {
        uint64_t cd = size - 98;

        while (cd > 0 && memcmp(one + cd, "PK\1\2", 4) != 0)
            cd--;
        is_int(zip_plan_read(p, cd, buf, 60, failing_read, NULL), 60,
               "header bytes do not call the reader");
    }

    fd = mkstemp(path);
    if (ok(fd >= 0 && write_file(path, one, size), "archive written to %s", path)) {
        static const char script[] =
            "import sys, zipfile, struct\n"
            "z = zipfile.ZipFile(sys.argv[1])\n"
            "print(z.testzip())\n"
            "for i in z.infolist():\n"
            "    t, x = None, i.extra\n"
            "    while len(x) >= 4:\n"
            "        tag, n = struct.unpack(\"<HH\", x[:4])\n"
            "        if tag == 0x5455: t = struct.unpack(\"<I\", x[5:9])[0]\n"
            "        x = x[4 + n:]\n"
            "    d = i.date_time\n"
            "    print(i.filename, i.file_size, i.compress_type, hex(i.flag_bits),\n"
            "          i.create_version, i.extract_version, i.create_system,\n"
            "          \"%d-%02d-%02d %02d:%02d:%02d\" % d, t, z.read(i).hex())\n";
        char *out = python(script, path);
        struct sbuf want;
        char hex[2 * sizeof(bin) + 1];
        static const char *const dates[] = {
            "2024-02-29 13:45:30 1709214331", "1980-01-01 00:00:00 0",
            "2107-12-31 23:59:58 2147483647", "2024-02-29 13:45:30 1709214331",
            "2024-02-29 13:45:30 1709214331", "2024-02-29 13:45:30 1709214331",
        };

        sbuf_init(&want, 1 << 20);
        sbuf_adds(&want, "None\n");
        for (size_t i = 0; i < N; i++) {
            hex_encode((const uint8_t *)files[i].data, files[i].len, hex);
            sbuf_addf(&want, "%s %zu 0 0x800 45 45 3 %s %s\n", zip_plan_name(p, i), files[i].len,
                      dates[i], hex);
        }
        is_str(out, want.buf, "python's zipfile reads names, sizes, times and contents back");
        ok(strstr(want.buf, "\netc/passwd ") && strstr(want.buf, "\ndup (2).txt "),
           "... with the traversal dropped and the duplicate renamed");
        sbuf_release(&want);
        free(out);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(one);
    zip_plan_free(p);
    free(etc);
}

/*
 * Writes the archive into @fd as a sparse file: every byte but those of the zero-filled file,
 * which are left to the file's holes (they read as zeros). The reader records where in the
 * piece the zeros go instead of writing them.
 */
struct sparse {
    uint8_t *piece;
    size_t holes[9][2]; /* the reader fills 8 at most; write_sparse() adds one */
    size_t nholes;
};

static ssize_t sparse_read(void *cls, void *ctx, uint64_t off, void *buf, size_t n)
{
    struct sparse *s = cls;

    if (ctx)
        return mem_read(NULL, ctx, off, buf, n);
    if (s->nholes == ARRAY_LEN(s->holes) - 1)
        return -1;
    s->holes[s->nholes][0] = (size_t)((uint8_t *)buf - s->piece);
    s->holes[s->nholes++][1] = n;
    return (ssize_t)n;
}

static bool write_sparse(const struct zip_plan *p, int fd)
{
    const size_t piece = 1 << 20;
    struct sparse s = { .piece = xmalloc(piece) };
    uint64_t pos = 0;
    ssize_t r;
    bool good = ftruncate(fd, (off_t)zip_plan_size(p)) == 0;

    while (good && (r = zip_plan_read(p, pos, s.piece, piece, sparse_read, &s)) != 0) {
        size_t at = 0;

        good = r > 0;
        s.holes[s.nholes][0] = (size_t)r; /* a last hole of nothing, at the end */
        s.holes[s.nholes][1] = 0;
        for (size_t h = 0; good && h <= s.nholes; h++) {
            size_t n = s.holes[h][0] - at;

            good = n == 0 || pwrite(fd, s.piece + at, n, (off_t)(pos + at)) == (ssize_t)n;
            at = s.holes[h][0] + s.holes[h][1];
        }
        s.nholes = 0;
        pos += (uint64_t)r;
    }
    free(s.piece);
    return good && pos == zip_plan_size(p);
}

/* CRC-32 of @len zero bytes. */
static uint32_t zeros_crc(uint64_t len)
{
    static const uint8_t zeros[1 << 16];
    uLong mib = crc32(0, NULL, 0), crc = crc32(0, NULL, 0);

    for (int i = 0; i < 16; i++)
        mib = crc32(mib, zeros, sizeof(zeros));
    for (; len >= 1 << 20; len -= 1 << 20)
        crc = crc32_combine(crc, mib, 1 << 20);
    for (; len > 0; len -= len < sizeof(zeros) ? len : sizeof(zeros))
        crc = crc32(crc, zeros, (uInt)(len < sizeof(zeros) ? len : sizeof(zeros)));
    return (uint32_t)crc;
}

static void test_large_archive(void)
{
    const uint64_t big = (UINT64_C(5) << 30) + 3;
    struct mem_file before = { "before\n", 7 }, after = { "after\n", 6 };
    struct zip_entry e[] = {
        { .name = "before.txt",
          .size = 7,
          .crc32 = (uint32_t)crc32(0, (const Bytef *)"before\n", 7),
          .ctx = &before },
        { .name = "big.bin", .size = big, .crc32 = zeros_crc(big), .ctx = NULL },
        { .name = "after.txt",
          .size = 6,
          .crc32 = (uint32_t)crc32(0, (const Bytef *)"after\n", 6),
          .ctx = &after },
    };
    /* Local headers: 30 bytes, the name, 29 bytes of extra fields (zip64 and timestamp). */
    const uint64_t big_off = 30 + 10 + 29 + 7, after_off = big_off + 30 + 7 + 29 + big;
    struct zip_plan *p = zip_plan_new(e, ARRAY_LEN(e));
    char path[] = "/tmp/consign-test-zip-big-XXXXXX", *out, *want;
    uint8_t end[22];
    int fd;

    if (!ok(p, "a plan with a file of 5 GiB"))
        return;
    is_int(zip_plan_read(p, zip_plan_size(p) - 22, end, 22, sparse_read, NULL), 22,
           "the end record");
    ok(memcmp(end + 12, "\xff\xff\xff\xff", 4) != 0 && memcmp(end + 16, "\xff\xff\xff\xff", 4) == 0,
       "... says the directory's offset is in the zip64 record, and gives its size");
    fd = mkstemp(path);
    if (fd < 0 || !write_sparse(p, fd)) {
        ok(1, "# SKIP cannot write a sparse file of %llu bytes in /tmp",
           (unsigned long long)zip_plan_size(p));
    } else {
        static const char script[] =
            "import sys, zipfile\n"
            "z = zipfile.ZipFile(sys.argv[1])\n"
            "for i in z.infolist():\n"
            "    print(i.filename, i.file_size, i.compress_size, i.header_offset, \"%08x\" % i.CRC)\n"
            "print(z.read(\"before.txt\") + z.read(\"after.txt\"))\n"
            "with z.open(\"big.bin\") as f:\n"
            "    d = f.read(1 << 20)\n"
            "    print(len(d), d.count(0))\n";

        out = python(script, path);
        want = xasprintf("before.txt 7 7 0 %08x\n"
                         "big.bin %llu %llu %llu %08x\n"
                         "after.txt 6 6 %llu %08x\n"
                         "b'before\\nafter\\n'\n"
                         "1048576 1048576\n",
                         e[0].crc32, (unsigned long long)big, (unsigned long long)big,
                         (unsigned long long)big_off, e[1].crc32, (unsigned long long)after_off,
                         e[2].crc32);
        is_str(out, want, "python's zipfile reads sizes and offsets past 4 GiB");
        free(out);
        free(want);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    zip_plan_free(p);
}

static void test_limits(void)
{
    struct zip_entry *many = xcalloc(ZIP_ENTRIES_MAX + 1, sizeof(*many));
    struct zip_entry two[2] = { { .name = "a", .size = INT64_MAX / 2 + 1 },
                                { .name = "b", .size = INT64_MAX / 2 + 1 } };
    struct zip_plan *p;
    uint8_t *buf = xmalloc(1 << 16);
    uint64_t pos = 0;
    ssize_t r;
    char **deep;
    size_t ndeep = 8000;

    ok(!zip_plan_new(many, ZIP_ENTRIES_MAX + 1), "one entry too many is refused");
    ok(!zip_plan_new(two, 2), "an archive past INT64_MAX bytes is refused");
    p = zip_plan_new(NULL, 0);
    ok(p && zip_plan_size(p) == 98, "an empty archive is its end records");
    zip_plan_free(p);

    /* The most entries, all with the same name, read whole in pieces. */
    for (size_t i = 0; i < ZIP_ENTRIES_MAX; i++)
        many[i].name = "IMG.jpg";
    p = zip_plan_new(many, ZIP_ENTRIES_MAX);
    if (ok(p, "%d entries of one name", ZIP_ENTRIES_MAX)) {
        is_str(zip_plan_name(p, ZIP_ENTRIES_MAX - 1), "IMG (100000).jpg",
               "... numbered to the last");
        while ((r = zip_plan_read(p, pos, buf, 1 << 16, mem_read, NULL)) > 0)
            pos += (uint64_t)r;
        is_int(pos, zip_plan_size(p), "... read whole in pieces");
        zip_plan_free(p);
    }

    /* Folders chosen to fill the table of names pass the memory cap. */
    deep = xcalloc(ndeep, sizeof(*deep));
    for (size_t i = 0; i < ndeep; i++) {
        char *s = xmalloc(ZIP_NAME_MAX + 1);
        int n = snprintf(s, 16, "%05zu", i);

        for (; n + 2 <= ZIP_NAME_MAX; n += 2)
            memcpy(s + n, "/a", 2);
        s[n] = '\0';
        deep[i] = s;
        many[i].name = s;
    }
    ok(!zip_plan_new(many, ndeep), "4 million folders pass the memory cap");
    p = zip_plan_new(many, 100);
    ok(p, "... 50000 are fine");
    zip_plan_free(p);
    for (size_t i = 0; i < ndeep; i++)
        free(deep[i]);
    free(deep);
    free(many);
    free(buf);
}

/* The CRC of a mem_file, as an object store's file gets it: computed when asked. */
static bool mem_crc(void *cls, void *ctx, uint32_t *out)
{
    const struct mem_file *f = ctx;

    ++*(int *)cls;
    *out = (uint32_t)crc32(0, (const Bytef *)f->data, (uInt)f->len);
    return true;
}

/* Entries whose CRC comes later: a data descriptor after their bytes, the CRC asked for. */
static void test_crc_later(void)
{
    static const char *const data[] = { "first file\n", "", "third, its CRC known\n", "last" };
    enum { N = ARRAY_LEN(data) };
    struct zip_entry e[N], plain[N];
    struct mem_file mf[N];
    struct zip_plan *p, *q;
    uint8_t *one, buf[4096];
    uint64_t size;
    int asked = 0;
    bool same = true;
    char path[] = "/tmp/consign-test-zip-XXXXXX";
    int fd;

    for (size_t i = 0; i < N; i++) {
        mf[i] = (struct mem_file){ data[i], strlen(data[i]) };
        plain[i] = (struct zip_entry){
            .name = i == 2 ? "known.txt" : (i == 1 ? "dir/empty" : "f.txt"),
            .size = mf[i].len,
            .crc32 = (uint32_t)crc32(0, (const Bytef *)data[i], (uInt)mf[i].len),
            .mtime_ms = 1700000000000,
            .ctx = &mf[i],
        };
        e[i] = plain[i];
        if (i != 2) {
            e[i].crc32 = 0;
            e[i].crc_later = true;
        }
    }
    p = zip_plan_new(e, N);
    q = zip_plan_new(plain, N);
    if (!ok(p && q, "plans with and without later CRCs")) {
        zip_plan_free(p);
        zip_plan_free(q);
        return;
    }
    size = zip_plan_size(p);
    is_int(size, zip_plan_size(q) + 3 * 24, "each later CRC adds a 24-byte descriptor");
    one = xmalloc(size);
    is_int(zip_plan_read_crc(p, 0, one, size, mem_read, mem_crc, &asked), size,
           "the whole archive reads with a CRC function");
    is_int(asked, 6, "each later CRC was asked for twice: descriptor and central record");
    ok(one[6] == 0x08 && one[7] == 0x08 && memcmp(one + 14, "\0\0\0\0", 4) == 0,
       "the first local header has the descriptor flag and no CRC");
    is_int(zip_plan_read(p, 0, one, size, mem_read, NULL), -1,
           "without a CRC function, reading past a descriptor fails");
    is_int(zip_plan_read_crc(p, 0, one, size, mem_read, mem_crc, &asked), size, "read again");
    for (int i = 0; i < 300; i++) {
        uint64_t pos = next_rand() % (size + 1);
        size_t n = (size_t)(next_rand() % 400);
        ssize_t r = zip_plan_read_crc(p, pos, buf, n, mem_read, mem_crc, &asked);
        size_t want = size - pos < n ? (size_t)(size - pos) : n;

        if (r != (ssize_t)want || memcmp(buf, one + pos, want) != 0)
            same = false;
    }
    ok(same, "reads at random offsets are slices of the whole");
    fd = mkstemp(path);
    if (ok(fd >= 0 && write_file(path, one, size), "archive written to %s", path)) {
        static const char script[] = "import sys, zipfile\n"
                                     "z = zipfile.ZipFile(sys.argv[1])\n"
                                     "print(z.testzip())\n"
                                     "for i in z.infolist():\n"
                                     "    print(i.filename, i.file_size, hex(i.flag_bits),\n"
                                     "          hex(i.CRC), z.read(i).decode())\n";
        char *out = python(script, path);
        struct sbuf want;

        sbuf_init(&want, 1 << 16);
        sbuf_adds(&want, "None\n");
        for (size_t i = 0; i < N; i++)
            sbuf_addf(&want, "%s %zu %s 0x%x %s\n", zip_plan_name(p, i), mf[i].len,
                      i == 2 ? "0x800" : "0x808", (unsigned)plain[i].crc32, data[i]);
        is_str(out, want.buf, "python's zipfile checks every CRC and reads the files back");
        sbuf_release(&want);
        free(out);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(one);
    zip_plan_free(p);
    zip_plan_free(q);
}

int main(void)
{
    test_names();
    test_duplicates();
    test_small_archive();
    test_crc_later();
    test_large_archive();
    test_limits();
    return done_testing();
}
