/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The package archive; see zip/zip.h. zip_plan_new() fixes every offset once (names made safe
 * and unique, then local headers and data, central directory, end records); zip_plan_read()
 * finds the region of a position by binary search and writes header bytes from the plan or asks
 * the reader for file bytes. Field layouts are those of PKWARE's APPNOTE.TXT 6.3 (4.3.7 local
 * header, 4.3.12 central directory header, 4.3.14-4.3.16 end records, 4.5.3 zip64 extra field)
 * and Info-ZIP's extended timestamp (0x5455). Every integer is written byte by byte, little-endian.
 */
#include "core/compat.h"
#include "zip/zip.h"

#include <limits.h>

#include "core/clock.h"
#include "core/mem.h"

/* Signatures and fixed values of the records. */
#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END64 0x06064b50u
#define SIG_LOCATOR 0x07064b50u
#define SIG_END 0x06054b50u
#define SIG_DESCRIPTOR 0x08074b50u
#define VERSION_NEEDED 45                   /* 4.5: zip64 */
#define VERSION_MADE_BY (0x0300 | 45)       /* Unix, so that the mode below applies */
#define FLAG_UTF8 0x0800                    /* bit 11: names are UTF-8 */
#define FLAG_DESCRIPTOR 0x0008              /* bit 3: the CRC follows the data */
#define MODE_FILE ((uint32_t)0100644 << 16) /* external attributes: a regular file, rw-r--r-- */
#define EXTRA_ZIP64 0x0001
#define EXTRA_TIME 0x5455
#define TIME_HAS_MTIME 0x01

/* Record lengths: fixed part, then name, then extra fields. */
#define LOCAL_FIXED 30
#define LOCAL_EXTRA (4 + 16 + 4 + 5) /* zip64 (both sizes), timestamp */
#define CENTRAL_FIXED 46
#define CENTRAL_EXTRA (4 + 24 + 4 + 5) /* zip64 (sizes, offset), timestamp */
#define END64_LEN 56
#define LOCATOR_LEN 20
#define END_LEN 22
#define TAIL_LEN (END64_LEN + LOCATOR_LEN + END_LEN)
/* The data descriptor with the zip64 sizes (APPNOTE 4.3.9): signature, CRC, two 8-byte sizes. */
#define DESCRIPTOR_LEN 24

/* Longest archive path: a cleaned name plus " (N)". */
#define PLAN_NAME_MAX (ZIP_NAME_MAX + 16)
/* Longest extension kept when a name is cut or numbered, dot included. */
#define EXT_MAX 32

struct zip_item {
    const char *name; /* in the plan's arena */
    uint64_t size;
    uint64_t local_off;   /* the local header; the data follows it */
    uint64_t central_off; /* the central directory record */
    void *ctx;
    uint32_t crc;
    bool crc_later; /* the CRC is asked for when it is written; a data descriptor follows */
    uint32_t unix_time;
    uint16_t name_len;
    uint16_t dos_time;
    uint16_t dos_date;
};

struct zip_plan {
    struct zip_item *items;
    size_t n;
    uint64_t cd_off;  /* central directory */
    uint64_t end_off; /* zip64 end record, locator, end record */
    uint64_t total;
    struct arena names;
};

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)v);
    put16(b + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b + 4, (uint32_t)(v >> 32));
}

/* ---- Names ---------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s (of @len bytes), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : lo; /* overlong */
        hi = s[0] == 0xed ? 0x9f : hi; /* surrogates */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : lo; /* overlong */
        hi = s[0] == 0xf4 ? 0x8f : hi; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Largest k <= @limit that does not split a UTF-8 character of the valid @s of @len bytes. */
static size_t utf8_floor(const char *s, size_t len, size_t limit)
{
    if (limit >= len)
        return len;
    while (limit > 0 && ((unsigned char)s[limit] & 0xc0) == 0x80)
        limit--;
    return limit;
}

/*
 * Writes the safe form of @s into @out, character by character while each fits in @cap bytes:
 * control characters, bytes that are not UTF-8 and, for Windows, its reserved punctuation each
 * become one '_'. *@cut tells whether the end of @s was reached.
 */
static size_t map_chars(const char *s, size_t len, bool windows, char *out, size_t cap, bool *cut)
{
    size_t i = 0, o = 0;

    while (i < len) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t n = utf8_seq(u, len - i);
        bool bad = n == 0 || u[0] < 0x20 || u[0] == 0x7f || (u[0] == 0xc2 && u[1] < 0xa0) ||
                   (windows && strchr("<>:\"|?*", u[0]));
        size_t w = bad ? 1 : n;

        if (o + w > cap) {
            *cut = true;
            return o;
        }
        if (bad)
            out[o] = '_';
        else
            memcpy(out + o, u, n);
        o += w;
        i += n ? n : 1;
    }
    *cut = false;
    return o;
}

static bool ascii_eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];

        if (x >= 'a' && x <= 'z')
            x = (char)(x - 'a' + 'A');
        if (y >= 'a' && y <= 'z')
            y = (char)(y - 'a' + 'A');
        if (x != y)
            return false;
    }
    return true;
}

/* Is @s (@len bytes, the part of a component before its first dot) a Windows device name? */
static bool is_device(const char *s, size_t len)
{
    static const char *const names[] = { "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$" };

    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (len == strlen(names[i]) && ascii_eq_nocase(s, names[i], len))
            return true;
    if (len < 4 || (!ascii_eq_nocase(s, "COM", 3) && !ascii_eq_nocase(s, "LPT", 3)))
        return false;
    /* A digit, or superscript one, two or three. */
    return (len == 4 && s[3] >= '0' && s[3] <= '9') ||
           (len == 5 && s[3] == '\xc2' && (s[4] == '\xb9' || s[4] == '\xb2' || s[4] == '\xb3'));
}

/*
 * What Windows would refuse or silently change: a device name gets a '_' after it (or in place
 * of its first letter when the component is full), and trailing dots and spaces become '_'.
 */
static size_t windows_fix(char *c, size_t n)
{
    size_t word = 0;

    while (word < n && c[word] != '.')
        word++;
    while (word > 0 && c[word - 1] == ' ')
        word--;
    if (is_device(c, word)) {
        if (n < ZIP_COMPONENT_MAX) {
            memmove(c + word + 1, c + word, n - word);
            c[word] = '_';
            n++;
        } else {
            c[0] = '_';
        }
    }
    for (size_t i = n; i > 0 && (c[i - 1] == '.' || c[i - 1] == ' '); i--)
        c[i - 1] = '_';
    return n;
}

/* Where the extension of the component @c starts (its last dot), or @len when it has none. */
static size_t ext_start(const char *c, size_t len)
{
    const char *dot = memrchr(c, '.', len);

    if (!dot || dot == c || (size_t)(c + len - dot) > EXT_MAX)
        return len;
    return (size_t)(dot - c);
}

/* The safe form of one component into @out (ZIP_COMPONENT_MAX bytes); 0 when it is dropped. */
static size_t clean_component(const char *s, size_t len, bool windows, char *out)
{
    bool cut;
    size_t n;

    if (len == 0 || (len <= 2 && s[0] == '.' && s[len - 1] == '.'))
        return 0;
    n = map_chars(s, len, windows, out, ZIP_COMPONENT_MAX, &cut);
    if (cut) {
        /* Too long: cut the stem, keep the extension. What is left is far longer than "..". */
        size_t e = ext_start(s, len), t;
        char tail[ZIP_COMPONENT_MAX]; /* EXT_MAX is enough; the compiler cannot tell */

        if (e < len) {
            t = map_chars(s + e, len - e, windows, tail, sizeof(tail), &cut);
            n = utf8_floor(out, n, ZIP_COMPONENT_MAX - t);
            memcpy(out + n, tail, t);
            n += t;
        }
    }
    return windows ? windows_fix(out, n) : n;
}

/* An archive path being built: leading folders that fit, and the last component seen. */
struct name_build {
    bool windows;
    bool dirs_full;
    size_t dirs_len;
    size_t last_len;
    char dirs[ZIP_NAME_MAX];
    char last[ZIP_COMPONENT_MAX];
};

static void build_component(struct name_build *b, const char *c, size_t n)
{
    if (b->last_len && !b->dirs_full) {
        size_t sep = b->dirs_len ? 1 : 0;

        /* Leave room for at least "/x" after the folders. */
        if (b->dirs_len + sep + b->last_len + 2 <= ZIP_NAME_MAX) {
            b->dirs[b->dirs_len] = '/';
            memcpy(b->dirs + b->dirs_len + sep, b->last, b->last_len);
            b->dirs_len += sep + b->last_len;
        } else {
            b->dirs_full = true; /* later folders are dropped too, not just the ones too long */
        }
    }
    memcpy(b->last, c, n);
    b->last_len = n;
}

/* Adds the components of one client string; a drive is dropped from its first one. */
static void build_input(struct name_build *b, const char *s)
{
    bool first = true;
    char c[ZIP_COMPONENT_MAX];

    while (s && *s) {
        size_t len = strcspn(s, "/\\"), n;
        const char *p = s;

        s += len + (s[len] != '\0');
        if (first)
            while (len >= 2 && p[1] == ':' && ((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z')) {
                p += 2;
                len -= 2;
            }
        n = clean_component(p, len, b->windows, c);
        if (n) {
            build_component(b, c, n);
            first = false;
        }
    }
}

/* zip_entry_name() into @out (ZIP_NAME_MAX + 1 bytes, NUL-terminated); returns the length. */
static size_t name_clean(const char *path, const char *name, bool windows, char *out)
{
    struct name_build b;
    size_t keep, n;

    b.windows = windows;
    b.dirs_full = false;
    b.dirs_len = b.last_len = 0;
    build_input(&b, path);
    build_input(&b, name);
    if (b.last_len == 0) {
        memcpy(out, "file", 5);
        return 4;
    }
    /* Keep the file name whole, and the folders up to a '/' that leaves room for it. */
    keep = b.dirs_len;
    while (keep && keep + 1 + b.last_len > ZIP_NAME_MAX) {
        const char *slash = memrchr(b.dirs, '/', keep);

        keep = slash ? (size_t)(slash - b.dirs) : 0;
    }
    memcpy(out, b.dirs, keep);
    n = keep;
    if (keep)
        out[n++] = '/';
    memcpy(out + n, b.last, b.last_len);
    n += b.last_len;
    out[n] = '\0';
    return n;
}

char *zip_entry_name(const char *path, const char *name, bool windows)
{
    char out[ZIP_NAME_MAX + 1];
    size_t n = name_clean(path, name, windows, out);

    return xmemdup0(out, n);
}

/* @x with " (@k)" before the extension of its last component, cut to stay a valid component. */
static size_t name_numbered(const char *x, size_t len, uint32_t k, char *out)
{
    const char *slash = memrchr(x, '/', len);
    size_t c = slash ? (size_t)(slash - x) + 1 : 0;
    size_t e = c + ext_start(x + c, len - c), stem = e, nl;
    char num[24];

    nl = (size_t)snprintf(num, sizeof(num), " (%u)", (unsigned)k);
    if (len - c + nl > ZIP_COMPONENT_MAX)
        stem = c + utf8_floor(x + c, e - c, ZIP_COMPONENT_MAX - nl - (len - e));
    memcpy(out, x, stem);
    memcpy(out + stem, num, nl);
    memcpy(out + stem + nl, x + e, len - e);
    return stem + nl + len - e;
}

/* ---- Finding duplicates ----------------------------------------------------------------------- */

/*
 * An open-addressing set of archive paths and of the folders they make, compared ignoring ASCII
 * case. Keys are not copied: a key is the first @len bytes of the name of item @item (a folder
 * is a prefix of a name; numbering a name never changes its folders). Each key also remembers
 * the next number to try when a later file has the same name. The total number of probes is
 * capped, so names chosen to collide cost a refusal instead of quadratic time.
 */
struct name_slot {
    uint32_t hash;
    uint32_t item;
    uint32_t len; /* 0: empty */
    uint32_t next;
};

struct name_table {
    struct name_slot *slots;
    size_t mask;
    size_t used;
    const struct zip_item *items;
    uint64_t probes;
    uint64_t budget;
};

#define PROBES_PER_OP 32

static uint64_t hash_step(uint64_t h, char c)
{
    if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
    return (h ^ (unsigned char)c) * 0x100000001b3ULL; /* FNV-1a */
}

static uint32_t hash_final(uint64_t h)
{
    /* FNV's low bits are weak; mix them before they choose a slot (MurmurHash3's finaliser). */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

#define HASH_INIT 0xcbf29ce484222325ULL

static uint32_t hash_name(const char *s, size_t len)
{
    uint64_t h = HASH_INIT;

    for (size_t i = 0; i < len; i++)
        h = hash_step(h, s[i]);
    return hash_final(h);
}

/* The slot of the key, or the empty slot where it would go; NULL past the probe budget. */
static struct name_slot *table_find(struct name_table *t, const char *s, size_t len, uint32_t h)
{
    size_t i = h & t->mask;

    t->budget += PROBES_PER_OP;
    for (;;) {
        struct name_slot *sl = &t->slots[i];

        if (++t->probes > t->budget)
            return NULL;
        if (sl->len == 0 ||
            (sl->hash == h && sl->len == len && ascii_eq_nocase(t->items[sl->item].name, s, len)))
            return sl;
        i = (i + 1) & t->mask;
    }
}

static bool table_resize(struct name_table *t, size_t slots, size_t *mem)
{
    struct name_slot *old = t->slots;
    size_t old_n = t->slots ? t->mask + 1 : 0, bytes = slots * sizeof(*old);

    if (bytes > ZIP_PLAN_MEM_MAX - *mem)
        return false;
    t->slots = xcalloc(slots, sizeof(*old));
    t->mask = slots - 1;
    for (size_t j = 0; j < old_n; j++) {
        size_t i = old[j].hash & t->mask;

        if (old[j].len == 0)
            continue;
        while (t->slots[i].len)
            i = (i + 1) & t->mask;
        t->slots[i] = old[j];
    }
    free(old);
    *mem += bytes;
    *mem -= old_n * sizeof(*old);
    return true;
}

/* Adds a key known to be absent; false when the table would pass the memory cap. */
static bool table_add(struct name_table *t, uint32_t item, size_t len, uint32_t h, size_t *mem)
{
    size_t i;

    if ((t->used + 1) * 2 > t->mask + 1 && !table_resize(t, (t->mask + 1) * 2, mem))
        return false;
    i = h & t->mask;
    while (t->slots[i].len)
        i = (i + 1) & t->mask;
    t->slots[i] = (struct name_slot){ .hash = h, .item = item, .len = (uint32_t)len, .next = 2 };
    t->used++;
    return true;
}

/* Adds the folders of item @i, deepest first: once one is known, so are those above it. */
static bool table_add_folders(struct name_table *t, uint32_t i, size_t *mem)
{
    const struct zip_item *it = &t->items[i];
    uint32_t hashes[ZIP_NAME_MAX / 2];
    uint16_t ends[ZIP_NAME_MAX / 2];
    size_t n = 0;
    uint64_t h = HASH_INIT;

    for (size_t j = 0; j < it->name_len; j++) {
        if (it->name[j] == '/') {
            hashes[n] = hash_final(h);
            ends[n++] = (uint16_t)j;
        }
        h = hash_step(h, it->name[j]);
    }
    while (n--) {
        struct name_slot *sl = table_find(t, it->name, ends[n], hashes[n]);

        if (!sl)
            return false;
        if (sl->len)
            break;
        if (!table_add(t, i, ends[n], hashes[n], mem))
            return false;
    }
    return true;
}

/* Gives item @i a name no earlier file and no folder has (in the plan's arena). */
static bool table_add_file(struct name_table *t, struct zip_plan *p, uint32_t i, size_t *mem)
{
    struct zip_item *it = &p->items[i];
    uint32_t h = hash_name(it->name, it->name_len), k, hc;
    struct name_slot *sl = table_find(t, it->name, it->name_len, h), *sc;
    char cand[PLAN_NAME_MAX + 1];
    size_t clen;

    if (!sl)
        return false;
    if (sl->len == 0)
        return table_add(t, i, it->name_len, h, mem);
    k = sl->next;
    do {
        clen = name_numbered(it->name, it->name_len, k++, cand);
        hc = hash_name(cand, clen);
        sc = table_find(t, cand, clen, hc);
        if (!sc)
            return false;
    } while (sc->len);
    sl->next = k; /* nothing was added since sl was found: it is still the key's slot */
    it->name = arena_strndup(&p->names, cand, clen);
    it->name_len = (uint16_t)clen;
    return table_add(t, i, clen, hc, mem);
}

/* ---- The plan ------------------------------------------------------------------------------- */

static bool is_leap(unsigned y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* DOS date and time (APPNOTE 4.4.6) of @ms, UTC, clamped to what they hold: 1980 to 2107. */
static void dos_datetime(int64_t ms, uint16_t *time, uint16_t *date)
{
    static const uint8_t month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const int64_t first = time_from_civil(1980, 1, 1);
    const int64_t last = time_from_civil(2108, 1, 1) - 2000; /* 2107-12-31 23:59:58 */
    int64_t secs, days, sod;
    unsigned year = 1980, month = 0;

    ms = ms < first ? first : ms > last ? last : ms;
    secs = (ms - first) / 1000;
    days = secs / 86400;
    sod = secs % 86400;
    while (days >= (is_leap(year) ? 366 : 365))
        days -= is_leap(year++) ? 366 : 365;
    for (;;) {
        unsigned len = month_days[month] + (month == 1 && is_leap(year));

        if (days < len)
            break;
        days -= len;
        month++;
    }
    *date = (uint16_t)((year - 1980) << 9 | (month + 1) << 5 | (unsigned)(days + 1));
    *time = (uint16_t)((sod / 3600) << 11 | (sod / 60 % 60) << 5 | (sod % 60) / 2);
}

/* Seconds for the extended timestamp, which readers take as signed or unsigned 32 bits. */
static uint32_t unix_seconds(int64_t ms)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;

    return s > INT32_MAX ? INT32_MAX : (uint32_t)s;
}

static bool add_u64(uint64_t *acc, uint64_t v)
{
    return !__builtin_add_overflow(*acc, v, acc) && *acc <= INT64_MAX;
}

/* Offsets of every record; false when the archive would pass INT64_MAX bytes. */
static bool plan_layout(struct zip_plan *p)
{
    uint64_t off = 0;

    for (size_t i = 0; i < p->n; i++) {
        struct zip_item *it = &p->items[i];

        it->local_off = off;
        if (!add_u64(&off, LOCAL_FIXED + it->name_len + LOCAL_EXTRA) || !add_u64(&off, it->size) ||
            (it->crc_later && !add_u64(&off, DESCRIPTOR_LEN)))
            return false;
    }
    p->cd_off = off;
    for (size_t i = 0; i < p->n; i++) {
        p->items[i].central_off = off;
        if (!add_u64(&off, CENTRAL_FIXED + p->items[i].name_len + CENTRAL_EXTRA))
            return false;
    }
    p->end_off = off;
    if (!add_u64(&off, TAIL_LEN))
        return false;
    p->total = off;
    return true;
}

struct zip_plan *zip_plan_new(const struct zip_entry *entries, size_t n)
{
    struct zip_plan *p = NULL;
    struct name_table t = { 0 };
    size_t mem;
    char name[ZIP_NAME_MAX + 1];
    bool ok = false;

    if (n > ZIP_ENTRIES_MAX || (n && !entries))
        return NULL;
    p = xcalloc(1, sizeof(*p));
    p->items = xcalloc(n, sizeof(*p->items));
    p->n = n;
    arena_init(&p->names);
    mem = sizeof(*p) + n * sizeof(*p->items);
    t.items = p->items;
    t.budget = 4096;
    if (!table_resize(&t, 64, &mem))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct zip_entry *e = &entries[i];
        struct zip_item *it = &p->items[i];
        size_t len = name_clean(NULL, e->name, false, name);

        it->name = arena_strndup(&p->names, name, len);
        it->name_len = (uint16_t)len;
        it->size = e->size;
        it->ctx = e->ctx;
        it->crc = e->crc32;
        it->crc_later = e->crc_later;
        it->unix_time = unix_seconds(e->mtime_ms);
        dos_datetime(e->mtime_ms, &it->dos_time, &it->dos_date);
        if (p->names.total > ZIP_PLAN_MEM_MAX - mem)
            goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!table_add_folders(&t, (uint32_t)i, &mem))
            goto out;
    for (size_t i = 0; i < n; i++)
        if (!table_add_file(&t, p, (uint32_t)i, &mem) || p->names.total > ZIP_PLAN_MEM_MAX - mem)
            goto out;
    ok = plan_layout(p);
out:
    free(t.slots);
    if (!ok) {
        zip_plan_free(p);
        return NULL;
    }
    return p;
}

uint64_t zip_plan_size(const struct zip_plan *p)
{
    return p->total;
}

size_t zip_plan_count(const struct zip_plan *p)
{
    return p->n;
}

const char *zip_plan_name(const struct zip_plan *p, size_t i)
{
    return p->items[i].name;
}

void zip_plan_free(struct zip_plan *p)
{
    if (!p)
        return;
    arena_release(&p->names);
    free(p->items);
    free(p);
}

/* ---- Bytes ---------------------------------------------------------------------------------- */

/*
 * The fields local and central headers share, from "version needed" to the name's length, with
 * @crc. An entry whose CRC comes later has the descriptor flag in both, and 0 for its CRC in the
 * local header; its sizes are known and written all the same.
 */
static uint8_t *put_common(uint8_t *b, const struct zip_item *it, uint32_t crc)
{
    put16(b, VERSION_NEEDED);
    put16(b + 2, it->crc_later ? FLAG_UTF8 | FLAG_DESCRIPTOR : FLAG_UTF8);
    put16(b + 4, 0); /* stored */
    put16(b + 6, it->dos_time);
    put16(b + 8, it->dos_date);
    put32(b + 10, crc);
    put32(b + 14, UINT32_MAX); /* compressed size: in the zip64 field */
    put32(b + 18, UINT32_MAX); /* uncompressed size: in the zip64 field */
    put16(b + 22, it->name_len);
    return b + 24;
}

/*
 * The zip64 extended information field (4.5.3): the fields that are 0xFFFFFFFF in the header, in
 * this order: sizes (a local header must have both), then in a central record the local header's
 * offset (the disk is 0, so it is not there). Returns the end.
 */
static uint8_t *put_zip64(uint8_t *x, const struct zip_item *it, bool central)
{
    put16(x, EXTRA_ZIP64);
    put16(x + 2, central ? 24 : 16);
    put64(x + 4, it->size);
    put64(x + 12, it->size);
    if (!central)
        return x + 20;
    put64(x + 20, it->local_off);
    return x + 28;
}

/* The extended timestamp: modification time only, the same in both headers. */
static void put_time(uint8_t *b, const struct zip_item *it)
{
    put16(b, EXTRA_TIME);
    put16(b + 2, 5);
    b[4] = TIME_HAS_MTIME;
    put32(b + 5, it->unix_time);
}

static size_t local_header(const struct zip_item *it, uint8_t *b)
{
    uint8_t *x;

    put32(b, SIG_LOCAL);
    x = put_common(b + 4, it, it->crc_later ? 0 : it->crc);
    put16(x, LOCAL_EXTRA);
    memcpy(x + 2, it->name, it->name_len);
    put_time(put_zip64(x + 2 + it->name_len, it, false), it);
    return LOCAL_FIXED + it->name_len + LOCAL_EXTRA;
}

static size_t central_header(const struct zip_item *it, uint32_t crc, uint8_t *b)
{
    uint8_t *x;

    put32(b, SIG_CENTRAL);
    put16(b + 4, VERSION_MADE_BY);
    x = put_common(b + 6, it, crc);
    put16(x, CENTRAL_EXTRA);
    put16(x + 2, 0); /* comment */
    put16(x + 4, 0); /* disk */
    put16(x + 6, 0); /* internal attributes */
    put32(x + 8, MODE_FILE);
    put32(x + 12, UINT32_MAX); /* local header offset: in the zip64 field */
    memcpy(x + 16, it->name, it->name_len);
    put_time(put_zip64(x + 16 + it->name_len, it, true), it);
    return CENTRAL_FIXED + it->name_len + CENTRAL_EXTRA;
}

static size_t descriptor(const struct zip_item *it, uint32_t crc, uint8_t *b)
{
    put32(b, SIG_DESCRIPTOR);
    put32(b + 4, crc);
    put64(b + 8, it->size);
    put64(b + 16, it->size);
    return DESCRIPTOR_LEN;
}

static void tail_records(const struct zip_plan *p, uint8_t *b)
{
    uint64_t cd_size = p->end_off - p->cd_off;
    uint8_t *l = b + END64_LEN, *e = l + LOCATOR_LEN;

    put32(b, SIG_END64);
    put64(b + 4, END64_LEN - 12); /* the size of what follows this field */
    put16(b + 12, VERSION_MADE_BY);
    put16(b + 14, VERSION_NEEDED);
    put32(b + 16, 0); /* this disk */
    put32(b + 20, 0); /* the disk of the central directory */
    put64(b + 24, p->n);
    put64(b + 32, p->n);
    put64(b + 40, cd_size);
    put64(b + 48, p->cd_off);

    put32(l, SIG_LOCATOR);
    put32(l + 4, 0); /* the disk of the zip64 end record */
    put64(l + 8, p->end_off);
    put32(l + 16, 1); /* disks */

    /* The classic record holds what fits and -1 where it does not (4.4.1.4). */
    put32(e, SIG_END);
    put16(e + 4, 0);
    put16(e + 6, 0);
    put16(e + 8, p->n < UINT16_MAX ? (uint16_t)p->n : UINT16_MAX);
    put16(e + 10, p->n < UINT16_MAX ? (uint16_t)p->n : UINT16_MAX);
    put32(e + 12, cd_size < UINT32_MAX ? (uint32_t)cd_size : UINT32_MAX);
    put32(e + 16, p->cd_off < UINT32_MAX ? (uint32_t)p->cd_off : UINT32_MAX);
    put16(e + 20, 0); /* comment */
}

/* Index of the last item whose record (local or central) starts at or before @at. */
static size_t find_item(const struct zip_plan *p, uint64_t at, bool central)
{
    size_t lo = 0, hi = p->n;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t off = central ? p->items[mid].central_off : p->items[mid].local_off;

        if (off <= at)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t copy_from(const uint8_t *src, size_t len, uint64_t skip, uint8_t *dst, size_t max)
{
    size_t n = len - (size_t)skip;

    n = n < max ? n : max;
    memcpy(dst, src + skip, n);
    return n;
}

/* The CRC of @it: its own, or the one @crc gives; false when that fails. */
static bool crc_of(const struct zip_item *it, zip_crc_fn *crc, void *cls, uint32_t *out)
{
    if (!it->crc_later) {
        *out = it->crc;
        return true;
    }
    return crc && crc(cls, it->ctx, out);
}

ssize_t zip_plan_read_crc(const struct zip_plan *p, uint64_t pos, void *buf, size_t max,
                          zip_read_fn *rd, zip_crc_fn *crc, void *cls)
{
    uint8_t hdr[CENTRAL_FIXED + PLAN_NAME_MAX + CENTRAL_EXTRA], *out = buf;
    size_t done = 0;

    if (pos >= p->total)
        return 0;
    if (max > SSIZE_MAX)
        max = SSIZE_MAX;
    if (max > p->total - pos)
        max = (size_t)(p->total - pos);
    while (done < max) {
        uint64_t at = pos + done;
        size_t want = max - done, k;
        uint32_t c;

        if (at < p->cd_off) {
            const struct zip_item *it = &p->items[find_item(p, at, false)];
            uint64_t data = it->local_off + LOCAL_FIXED + it->name_len + LOCAL_EXTRA;

            if (at < data) {
                k = copy_from(hdr, local_header(it, hdr), at - it->local_off, out + done, want);
            } else if (at - data < it->size) {
                uint64_t left = it->size - (at - data);
                ssize_t r;

                k = left < want ? (size_t)left : want;
                r = rd(cls, it->ctx, at - data, out + done, k);
                if (r < 0 || (size_t)r != k)
                    return -1;
            } else {
                if (!crc_of(it, crc, cls, &c))
                    return -1;
                k = copy_from(hdr, descriptor(it, c, hdr), at - data - it->size, out + done, want);
            }
        } else if (at < p->end_off) {
            const struct zip_item *it = &p->items[find_item(p, at, true)];

            if (!crc_of(it, crc, cls, &c))
                return -1;
            k = copy_from(hdr, central_header(it, c, hdr), at - it->central_off, out + done, want);
        } else {
            tail_records(p, hdr);
            k = copy_from(hdr, TAIL_LEN, at - p->end_off, out + done, want);
        }
        done += k;
    }
    return (ssize_t)done;
}

ssize_t zip_plan_read(const struct zip_plan *p, uint64_t pos, void *buf, size_t max,
                      zip_read_fn *rd, void *cls)
{
    return zip_plan_read_crc(p, pos, buf, max, rd, NULL, cls);
}
