/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The package archive. Input: a flags byte, then fields separated by NUL bytes: a folder path
 * and a file name for zip_entry_name(), then up to 64 entries (a control byte choosing the size
 * and time, then the name). Names made by zip_entry_name() must be safe (valid UTF-8 without
 * control characters, no absolute path, no empty, "." or ".." component, components of at most
 * 255 bytes, at most 1024 bytes; for Windows none of <>:"|?*, no trailing dot or space, no device
 * name) and a fixed point. A plan of the entries must read the same in one piece and in pieces of
 * any size from any position; a small archive is parsed back (end records, every central and
 * local header, the file bytes) and its names must be unique ignoring case and never a folder of
 * another entry. A reader that fails must fail the reads that need it.
 */
#include "fuzz.h"

#include "zip/zip.h"

#define MAX_ENTRIES 64
#define SMALL (256 << 10) /* archives read whole and parsed back */

struct fz_file {
    uint32_t idx;
    uint64_t size;
    bool fail;
};

static uint8_t file_byte(uint32_t idx, uint64_t off)
{
    return (uint8_t)(off * 131 + idx * 7 + (off >> 9));
}

static ssize_t fz_read(void *cls, void *ctx, uint64_t off, void *buf, size_t n)
{
    const struct fz_file *f = ctx;
    uint8_t *b = buf;

    FUZZ_CHECK(f == (const struct fz_file *)cls + f->idx, "reader got another closure");
    FUZZ_CHECK(n > 0 && off <= f->size && n <= f->size - off,
               "read of %zu at %llu past the end of a file of %llu", n, (unsigned long long)off,
               (unsigned long long)f->size);
    if (f->fail)
        return -1;
    for (size_t i = 0; i < n; i++)
        b[i] = file_byte(f->idx, off + i);
    return (ssize_t)n;
}

static uint64_t rng;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool utf8_ok(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n;

        if (s[i] < 0x80) {
            if (s[i] < 0x20 || s[i] == 0x7f)
                return false;
            i++;
            continue;
        }
        n = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : s[i] >= 0xc0 ? 2 : 0;
        if (n == 0 || i + n > len)
            return false;
        cp = s[i] & (0x7f >> n);
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < (n == 2   ? 0xa0u
                  : n == 3 ? 0x800u
                           : 0x10000u) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false; /* overlong, C1 control, surrogate or out of range */
        i += n;
    }
    return true;
}

static bool is_device(const char *c, size_t len)
{
    static const char *const names[] = { "con", "prn", "aux", "nul", "conin$", "conout$" };
    char low[8];
    size_t word = 0;

    while (word < len && c[word] != '.')
        word++;
    while (word > 0 && c[word - 1] == ' ')
        word--;
    if (word > 7)
        return false;
    for (size_t i = 0; i < word; i++)
        low[i] = (char)(c[i] >= 'A' && c[i] <= 'Z' ? c[i] + 32 : c[i]);
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (word == strlen(names[i]) && memcmp(low, names[i], word) == 0)
            return true;
    if (word < 4 || (memcmp(low, "com", 3) != 0 && memcmp(low, "lpt", 3) != 0))
        return false;
    return (word == 4 && low[3] >= '0' && low[3] <= '9') ||
           (word == 5 && memcmp(low + 3, "\xc2\xb9", 2) == 0) ||
           (word == 5 && memcmp(low + 3, "\xc2\xb2", 2) == 0) ||
           (word == 5 && memcmp(low + 3, "\xc2\xb3", 2) == 0);
}

static void check_safe(const char *s, size_t max, bool windows, const char *what)
{
    size_t len = strlen(s), start = 0;

    FUZZ_CHECK(len >= 1 && len <= max, "%s: length %zu", what, len);
    FUZZ_CHECK(utf8_ok((const unsigned char *)s, len), "%s '%s' is not clean UTF-8", what, s);
    FUZZ_CHECK(!strchr(s, '\\'), "%s '%s' has a backslash", what, s);
    FUZZ_CHECK(!(len >= 2 && s[1] == ':' && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')),
               "%s '%s' starts with a drive", what, s);
    for (size_t i = 0; i <= len; i++) {
        const char *c = s + start;
        size_t n = i - start;

        if (i < len && s[i] != '/')
            continue;
        FUZZ_CHECK(n > 0, "%s '%s' has an empty component", what, s);
        FUZZ_CHECK(!(n <= 2 && c[0] == '.' && c[n - 1] == '.'), "%s '%s' has a dot component", what,
                   s);
        FUZZ_CHECK(n <= ZIP_COMPONENT_MAX, "%s '%s' has a component of %zu bytes", what, s, n);
        if (windows) {
            FUZZ_CHECK(c[n - 1] != '.' && c[n - 1] != ' ', "%s '%s' has a trailing dot or space",
                       what, s);
            FUZZ_CHECK(!is_device(c, n), "%s '%s' has a device name", what, s);
            for (size_t k = 0; k < n; k++)
                FUZZ_CHECK(!strchr("<>:\"|?*", c[k]), "%s '%s' has a Windows-reserved character",
                           what, s);
        }
        start = i + 1;
    }
}

static void check_name(const char *path, const char *name, bool windows)
{
    char *got = zip_entry_name(path, name, windows), *again;

    check_safe(got, ZIP_NAME_MAX, windows, "name");
    again = zip_entry_name(NULL, got, windows);
    FUZZ_CHECK(strcmp(again, got) == 0, "'%s' cleans again to '%s'", got, again);
    free(again);
    again = zip_entry_name(NULL, got, false);
    FUZZ_CHECK(strcmp(again, got) == 0, "'%s' cleans again (not for Windows) to '%s'", got, again);
    free(again);
    /* Plain names pass through. */
    if (*path && *name && strspn(path, "abcdefghij0123456789") == strlen(path) &&
        strspn(name, "abcdefghij0123456789") == strlen(name) && strlen(path) < 200 &&
        strlen(name) < 200) {
        FUZZ_CHECK(strlen(got) == strlen(path) + 1 + strlen(name) &&
                       strncmp(got, path, strlen(path)) == 0 && got[strlen(path)] == '/' &&
                       strcmp(got + strlen(path) + 1, name) == 0,
                   "'%s' + '%s' gave '%s'", path, name, got);
    }
    free(got);
}

static uint64_t le(const uint8_t *b, int n)
{
    uint64_t v = 0;

    while (n--)
        v = v << 8 | b[n];
    return v;
}

static bool nocase_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];

        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return false;
    }
    return true;
}

/* Parses the whole archive @a back and compares it with the plan and the files. */
static void check_archive(const struct zip_plan *p, const uint8_t *a, uint64_t size,
                          const struct fz_file *files, size_t n)
{
    const uint8_t *end = a + size - 22, *loc = end - 20, *z64 = loc - 56, *c;
    uint64_t cd_off, cd_size, local = 0;

    FUZZ_CHECK(size >= 98 && le(end, 4) == 0x06054b50 && le(loc, 4) == 0x07064b50 &&
                   le(z64, 4) == 0x06064b50,
               "end records missing");
    cd_off = le(z64 + 48, 8);
    cd_size = le(z64 + 40, 8);
    FUZZ_CHECK(le(z64 + 24, 8) == n && le(z64 + 32, 8) == n && le(loc + 8, 8) == size - 98 &&
                   cd_off + cd_size == size - 98 && le(end + 12, 4) == cd_size &&
                   le(end + 16, 4) == cd_off && le(end + 10, 2) == n,
               "end records disagree");
    c = a + cd_off;
    for (size_t i = 0; i < n; i++) {
        const char *name = zip_plan_name(p, i);
        size_t nl = strlen(name), xl;
        const uint8_t *l = a + local, *x;
        unsigned date, time;

        FUZZ_CHECK(le(c, 4) == 0x02014b50 && le(c + 28, 2) == nl && memcmp(c + 46, name, nl) == 0,
                   "central record %zu", i);
        xl = le(c + 30, 2);
        x = c + 46 + nl;
        FUZZ_CHECK(xl == 37 && le(x, 2) == 1 && le(x + 2, 2) == 24 &&
                       le(x + 4, 8) == files[i].size && le(x + 12, 8) == files[i].size &&
                       le(x + 20, 8) == local && le(x + 28, 2) == 0x5455,
                   "central extra fields of %zu", i);
        FUZZ_CHECK(memcmp(c + 12, l + 10, 8) == 0 && le(c + 16, 4) == (uint32_t)(i * 2654435761u),
                   "times and CRC of %zu", i);
        time = (unsigned)le(c + 12, 2);
        date = (unsigned)le(c + 14, 2);
        FUZZ_CHECK((date >> 5 & 15) >= 1 && (date >> 5 & 15) <= 12 && (date & 31) >= 1 &&
                       (time >> 11) < 24 && (time >> 5 & 63) < 60 && (time & 31) < 30,
                   "DOS date %04x time %04x of %zu", date, time, i);
        FUZZ_CHECK(le(l, 4) == 0x04034b50 && le(l + 26, 2) == nl && memcmp(l + 30, name, nl) == 0 &&
                       le(l + 28, 2) == 29 && le(l + 30 + nl, 2) == 1 &&
                       le(l + 30 + nl + 4, 8) == files[i].size &&
                       le(l + 30 + nl + 12, 8) == files[i].size,
                   "local header %zu", i);
        local += 30 + nl + 29;
        for (uint64_t k = 0; k < files[i].size; k++)
            FUZZ_CHECK(a[local + k] == file_byte(files[i].idx, k), "byte %llu of file %zu",
                       (unsigned long long)k, i);
        local += files[i].size;
        c += 46 + nl + xl;
        check_safe(name, ZIP_NAME_MAX + 16, false, "archive path");
        for (size_t j = 0; j < i; j++) {
            const char *o = zip_plan_name(p, j);
            size_t ol = strlen(o);

            FUZZ_CHECK(!(ol == nl && nocase_eq(o, name, nl)), "'%s' and '%s' collide", o, name);
            FUZZ_CHECK(!(ol > nl && o[nl] == '/' && nocase_eq(o, name, nl)),
                       "file '%s' is a folder of '%s'", name, o);
            FUZZ_CHECK(!(nl > ol && name[ol] == '/' && nocase_eq(o, name, ol)),
                       "file '%s' is a folder of '%s'", o, name);
        }
    }
    FUZZ_CHECK(local == cd_off && c == a + cd_off + cd_size, "records do not tile the archive");
}

/* Reads [pos, pos + len) in one piece, then in random pieces, and compares. */
static void check_range(const struct zip_plan *p, struct fz_file *files, uint64_t pos, size_t len,
                        uint8_t *one, uint8_t *pieces)
{
    uint64_t size = zip_plan_size(p);
    size_t want = pos >= size ? 0 : size - pos < len ? (size_t)(size - pos) : len, done = 0;
    ssize_t r = zip_plan_read(p, pos, one, len, fz_read, files);

    FUZZ_CHECK(r == (ssize_t)want, "read of %zu at %llu gave %zd, want %zu", len,
               (unsigned long long)pos, r, want);
    while (done < want) {
        size_t piece = 1 + (size_t)(next_rand() % (next_rand() & 1 ? 8 : 5000));

        piece = piece < want - done ? piece : want - done;

        r = zip_plan_read(p, pos + done, pieces + done, piece, fz_read, files);
        FUZZ_CHECK(r > 0 && (size_t)r <= piece, "piece of %zu at %llu gave %zd", piece,
                   (unsigned long long)(pos + done), r);
        done += (size_t)r;
    }
    FUZZ_CHECK(done == want && memcmp(one, pieces, want) == 0, "pieces differ at %llu",
               (unsigned long long)pos);
}

/* The CRC of a file for entries planned with crc_later: the one its plain entry carries. */
static bool fz_crc(void *cls, void *ctx, uint32_t *crc)
{
    const struct fz_file *f = ctx;

    (void)cls;
    *crc = (uint32_t)(f->idx * 2654435761u);
    return true;
}

/*
 * The same entries with some CRCs known only later (data descriptors): the archive is longer by
 * one descriptor each, and reading it whole or in random pieces gives the same bytes.
 */
static void check_crc_later(const struct zip_entry *plain, struct fz_file *files, size_t n,
                            uint64_t plain_size, uint8_t *one, uint8_t *pieces)
{
    struct zip_entry e[MAX_ENTRIES];
    struct zip_plan *p;
    size_t later = 0;
    uint64_t size;

    for (size_t i = 0; i < n; i++) {
        e[i] = plain[i];
        e[i].crc_later = (next_rand() & 1) != 0;
        later += e[i].crc_later;
    }
    p = zip_plan_new(e, n);
    FUZZ_CHECK(p, "a plan with later CRCs was refused");
    size = zip_plan_size(p);
    FUZZ_CHECK(size == plain_size + 24 * later, "%zu descriptors: %llu bytes, not %llu + 24 each",
               later, (unsigned long long)size, (unsigned long long)plain_size);
    if (size <= SMALL) {
        ssize_t r = zip_plan_read_crc(p, 0, one, SMALL, fz_read, fz_crc, files);
        size_t done = 0;

        FUZZ_CHECK(r == (ssize_t)size, "whole read gave %zd", r);
        while (done < size) {
            size_t piece = 1 + (size_t)(next_rand() % 3000);

            piece = piece < size - done ? piece : size - done;
            r = zip_plan_read_crc(p, done, pieces + done, piece, fz_read, fz_crc, files);
            FUZZ_CHECK(r > 0 && (size_t)r <= piece, "piece at %zu gave %zd", done, r);
            done += (size_t)r;
        }
        FUZZ_CHECK(memcmp(one, pieces, size) == 0, "pieces of a descriptor archive differ");
        FUZZ_CHECK(later == 0 || zip_plan_read(p, 0, one, SMALL, fz_read, files) < 0,
                   "a read past a descriptor without a CRC function succeeded");
    }
    zip_plan_free(p);
}

static void check_plan(const char *const *names, const uint8_t *ctl, size_t n, uint8_t flags)
{
    struct zip_entry e[MAX_ENTRIES];
    struct fz_file files[MAX_ENTRIES];
    struct zip_plan *p;
    uint64_t size;
    uint8_t *one, *pieces;

    for (size_t i = 0; i < n; i++) {
        uint8_t c = ctl[i];
        uint64_t sz = (c & 3) == 0   ? 0
                      : (c & 3) == 1 ? (uint64_t)(c >> 2)
                      : (c & 3) == 2 ? (uint64_t)(c >> 2) * 97 + 1
                                     : ((uint64_t)(c >> 2) << 31) + c;

        files[i] = (struct fz_file){ .idx = (uint32_t)i, .size = sz };
        e[i] = (struct zip_entry){
            .name = names[i],
            .size = sz,
            .crc32 = (uint32_t)(i * 2654435761u),
            .mtime_ms = c == 0xff   ? INT64_MAX
                        : c == 0xfe ? INT64_MIN
                                    : (int64_t)(int8_t)c * 40000000000LL,
            .ctx = &files[i],
        };
    }
    p = zip_plan_new(e, n);
    FUZZ_CHECK(p, "a plan of %zu entries was refused", n);
    FUZZ_CHECK(zip_plan_count(p) == n, "count");
    size = zip_plan_size(p);
    one = xmalloc(SMALL);
    pieces = xmalloc(SMALL);
    if (size <= SMALL) {
        check_range(p, files, 0, SMALL, one, pieces);
        check_archive(p, one, size, files, n);
    }
    for (int k = 0; k < 8; k++) {
        uint64_t pos = next_rand() % (size + 2);
        size_t len = (size_t)(next_rand() % (k & 1 ? 300 : 20000));

        check_range(p, files, pos, len, one, pieces);
    }
    /* A failing reader fails exactly the reads that need its file. */
    if (n && size <= SMALL) {
        size_t bad = flags % n;
        bool needed = files[bad].size > 0;

        files[bad].fail = true;
        FUZZ_CHECK((zip_plan_read(p, 0, one, SMALL, fz_read, files) < 0) == needed,
                   "a failing reader of a file of %llu bytes", (unsigned long long)files[bad].size);
        files[bad].fail = false;
    }
    check_crc_later(e, files, n, size, one, pieces);
    free(one);
    free(pieces);
    zip_plan_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fields[2 + MAX_ENTRIES] = { "" };
    uint8_t ctl[MAX_ENTRIES];
    size_t nf = 0;
    char *copy;
    uint8_t flags;

    if (size == 0)
        return 0;
    flags = data[0];
    copy = xmemdup0(data + 1, size - 1);
    rng = 0x9e3779b97f4a7c15ULL ^ size;
    for (size_t i = 0; i < size; i++)
        rng = (rng ^ data[i]) * 0x100000001b3ULL;
    rng |= 1;
    for (char *s = copy, *end = copy + size - 1; s <= end && nf < ARRAY_LEN(fields);) {
        fields[nf++] = s;
        s += strlen(s) + 1;
    }
    check_name(fields[0], nf > 1 ? fields[1] : "", flags & 1);
    check_name(fields[0], nf > 1 ? fields[1] : "", !(flags & 1));
    if (nf > 2) {
        size_t n = nf - 2;

        for (size_t i = 0; i < n; i++) {
            ctl[i] = (uint8_t)fields[2 + i][0];
            if (fields[2 + i][0])
                fields[2 + i]++;
        }
        check_plan(fields + 2, ctl, n, flags);
    }
    free(copy);
    return 0;
}
