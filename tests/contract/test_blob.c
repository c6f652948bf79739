/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The byte store contract (blob/blob.h) on both backends: what the upload, finalize, download,
 * zip and expiry code rely on. The embedded store runs in a fresh temporary directory; the
 * object store in a bucket of its own on the server of CONSIGN_TEST_S3 (with AWS_ACCESS_KEY_ID
 * and AWS_SECRET_ACCESS_KEY), which tests/run.sh starts with scripts/s3.sh. Clients of the object
 * store are played with plain libcurl and no credentials, as a MASV client replays the
 * pre-signed URLs it is handed. Without CONSIGN_TEST_S3 the object store is a visible skip, and
 * a failure when CONSIGN_BLOB_NEED_S3=1 says the server must be there (as under make test).
 *
 * File contents are a function of (seed, offset), made as they are sent or compared, so that no
 * test holds a file in memory.
 */
#include "core/compat.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "blob/blob.h"
#include "core/id.h"
#include "core/mem.h"
#include "core/str.h"
#include "tap.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define URL_LIFE 600
/* S3's smallest part but the last. */
#define S3_PART (5 * MIB)

static void skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
    fflush(stdout);
}

/* ---- file contents ---- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Bytes @off to @off + @n - 1 of the content named @seed. */
static void content(uint64_t seed, uint64_t off, uint8_t *out, size_t n)
{
    uint64_t word = mix64(seed ^ (off >> 3));

    for (size_t i = 0; i < n; i++, off++) {
        if ((off & 7) == 0)
            word = mix64(seed ^ (off >> 3));
        out[i] = (uint8_t)(word >> ((off & 7) * 8));
    }
}

/* zlib's CRC-32 of bytes @off to @off + @len - 1 of content @seed. */
static uint32_t content_crc(uint64_t seed, uint64_t off, uint64_t len)
{
    uint8_t buf[64 * KIB];
    uLong crc = crc32(0, NULL, 0);

    while (len) {
        size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

        content(seed, off, buf, n);
        crc = crc32(crc, buf, (uInt)n);
        off += n;
        len -= n;
    }
    return (uint32_t)crc;
}

/* Compares bytes as they arrive with content @seed from offset @next on. */
struct check {
    uint64_t seed;
    uint64_t next; /* the offset the next byte must have */
    uint64_t got;
    bool same;
    size_t calls;
    size_t stop_at_call; /* 0: never stop */
};

static void check_init(struct check *c, uint64_t seed, uint64_t first)
{
    *c = (struct check){ .seed = seed, .next = first, .same = true };
}

static void check_bytes(struct check *c, const void *p, size_t n)
{
    uint8_t want[16 * KIB];
    const uint8_t *q = p;

    while (n) {
        size_t k = n < sizeof(want) ? n : sizeof(want);

        content(c->seed, c->next, want, k);
        if (memcmp(q, want, k) != 0)
            c->same = false;
        q += k;
        n -= k;
        c->next += k;
        c->got += k;
    }
}

static bool check_sink(void *ctx, const void *p, size_t n)
{
    struct check *c = ctx;

    if (++c->calls == c->stop_at_call)
        return false;
    check_bytes(c, p, n);
    return true;
}

/* What both stores promise of a removed file @id: removing it again, or a file never stored,
 * is BLOB_OK. */
static void removing_again_is_ok(struct blob *b, const char *id, const char *store)
{
    char never[ID_LEN + 1];

    is_int(blob_file_remove(b, id), BLOB_OK, "%s: removing it again is BLOB_OK", store);
    id_new(never);
    is_int(blob_file_remove(b, never), BLOB_OK, "%s: removing a file never stored is BLOB_OK",
           store);
}

/* ---- the embedded store ---- */

/* Larger than the writer's writeback step (8 MiB), and odd. */
#define CHUNK (8 * MIB + 4099)
#define LAST 5000u

static char data_dir[256];

static size_t tmp_entries(void)
{
    char path[300];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/tmp", data_dir);
    d = opendir(path);
    if (!d)
        return SIZE_MAX;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

/*
 * Sends bytes @off to @off + @len - 1 of content @seed through @w in uneven pieces.
 * BLOB_OK, or the first write's failure.
 */
static enum blob_rc send_part(struct blob_writer *w, uint64_t seed, uint64_t off, uint64_t len)
{
    uint8_t buf[61 * KIB + 7];
    enum blob_rc rc = BLOB_OK;

    for (size_t step = 1; len && rc == BLOB_OK; step = step * 3 % sizeof(buf) + 1) {
        size_t n = len < step ? (size_t)len : step;

        content(seed, off, buf, n);
        rc = blob_part_write(w, buf, n);
        off += n;
        len -= n;
    }
    return rc;
}

/* Writes a whole part, commits it (its CRC-32 in *@crc) and releases its writer. */
static enum blob_rc write_part(struct blob *b, const char *id, uint32_t part, uint64_t at,
                               uint64_t seed, uint64_t off, uint64_t len, uint32_t *crc)
{
    struct blob_writer *w = NULL;
    enum blob_rc rc = blob_part_begin(b, id, part, at, len, &w);

    if (rc == BLOB_OK)
        rc = send_part(w, seed, off, len);
    if (rc == BLOB_OK)
        rc = blob_part_commit(w, crc);
    blob_part_abort(w);
    return rc;
}

/* What a second writer of part @part gets; a writer it should not have had is released. */
static enum blob_rc begin_again(struct blob *b, const char *id, uint32_t part, uint64_t at)
{
    struct blob_writer *w = NULL;
    enum blob_rc rc = blob_part_begin(b, id, part, at, CHUNK, &w);

    blob_part_abort(w);
    return rc;
}

/* True when the whole file @id is content @seed of @size bytes; its CRC-32 in *@crc. */
static bool local_file_is(struct blob *b, const char *id, uint64_t seed, uint64_t size,
                          uint32_t *crc)
{
    uint8_t buf[64 * KIB];
    struct check c;
    struct stat st = { 0 };
    uLong sum = crc32(0, NULL, 0);
    int fd = -1;
    ssize_t k;

    if (blob_file_open(b, id, &fd) != BLOB_OK)
        return false;
    check_init(&c, seed, 0);
    while ((k = read(fd, buf, sizeof(buf))) > 0) {
        check_bytes(&c, buf, (size_t)k);
        sum = crc32(sum, buf, (uInt)k);
    }
    *crc = (uint32_t)sum;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size || c.got != size || !c.same)
        printf("#   %" PRIu64 " bytes on disk, %" PRIu64 " read, %s\n", (uint64_t)st.st_size, c.got,
               c.same ? "as sent" : "not as sent");
    close(fd);
    return k == 0 && (uint64_t)st.st_size == size && c.got == size && c.same;
}

/* Bytes @first to @last of file @id as a download reads them (pread of its descriptor). */
static bool local_range_is(struct blob *b, const char *id, uint64_t seed, uint64_t first,
                           uint64_t last)
{
    uint8_t buf[4 * KIB];
    size_t n = (size_t)(last - first + 1);
    struct check c;
    int fd = -1;
    bool same;

    if (n > sizeof(buf) || blob_file_open(b, id, &fd) != BLOB_OK)
        return false;
    check_init(&c, seed, first);
    same = pread(fd, buf, n, (off_t)first) == (ssize_t)n;
    if (same)
        check_bytes(&c, buf, n);
    close(fd);
    return same && c.same;
}

static void test_local_open(void)
{
    char why[256] = "";
    struct blob *b;

    b = blob_open(data_dir, NULL, why, sizeof(why));
    ok(b != NULL, "local: blob_open with no storage URL opens the data directory");
    if (b) {
        ok(!blob_direct(b), "local: not direct");
        is_str(blob_backend_name(b), "local", "local: named local");
    }
    blob_close(b);
    b = blob_open(data_dir, "", why, sizeof(why));
    ok(b != NULL && !blob_direct(b), "local: an empty storage URL is the embedded store too");
    blob_close(b);
    why[0] = '\0';
    b = blob_open("/nonexistent/consign/data", NULL, why, sizeof(why));
    ok(!b && why[0], "local: a data directory that cannot be made is refused (%s)", why);
    blob_close(b);
}

/*
 * Parts as the /storage routes write them: in place at (part - 1) * CHUNK, or into a side file
 * when the chunk size is not known yet, placed at finalize; then sealed to the file's length.
 */
static void test_local_parts(struct blob *b)
{
    const uint64_t seed = 1, total = 2 * (uint64_t)CHUNK + LAST;
    struct blob_writer *w1 = NULL, *w2 = NULL, *w = NULL;
    uint32_t crc1 = 0, crc2 = 0, crc3 = 0, crc = 0, whole = 0;
    char id[ID_LEN + 1];

    id_new(id);

    /* A side part that gets fewer bytes than announced leaves nothing behind. */
    is_int(blob_part_begin(b, id, 2, BLOB_SIDE, CHUNK, &w), BLOB_OK, "local: begin a side part");
    is_int(send_part(w, seed, CHUNK, 1000), BLOB_OK, "local: 1000 bytes of it");
    is_int(blob_part_commit(w, &crc), BLOB_SHORT, "local: commit with bytes missing: BLOB_SHORT");
    blob_part_abort(w);
    w = NULL;
    is_int(tmp_entries(), 0, "local: the aborted side part left no file");
    is_int(blob_part_place(b, id, 2, CHUNK), BLOB_MISSING,
           "local: the aborted side part cannot be placed");

    /* Two writers of one part exclude each other; writers of other parts do not. */
    is_int(blob_part_begin(b, id, 1, 0, CHUNK, &w1), BLOB_OK, "local: begin part 1 in place");
    is_int(begin_again(b, id, 1, 0), BLOB_BUSY, "local: a second writer of part 1: BLOB_BUSY");
    is_int(blob_part_begin(b, id, 2, BLOB_SIDE, CHUNK, &w2), BLOB_OK,
           "local: part 2 (side) starts while part 1 is held");
    is_int(begin_again(b, id, 2, BLOB_SIDE), BLOB_BUSY,
           "local: a second writer of side part 2: BLOB_BUSY");
    if (!w1 || !w2)
        goto out;
    is_int(send_part(w1, seed, 0, CHUNK), BLOB_OK, "local: part 1's bytes");
    is_int(send_part(w2, seed, CHUNK, CHUNK), BLOB_OK, "local: part 2's bytes");
    is_int(blob_part_commit(w1, &crc1), BLOB_OK, "local: commit part 1");
    is_int(blob_part_commit(w2, &crc2), BLOB_OK, "local: commit part 2");
    is_int(crc1, content_crc(seed, 0, CHUNK), "local: part 1's CRC-32 is zlib's");
    is_int(crc2, content_crc(seed, CHUNK, CHUNK), "local: part 2's CRC-32 is zlib's");
    is_int(begin_again(b, id, 1, 0), BLOB_BUSY,
           "local: a committed part keeps its lock until its writer is released");
    blob_part_abort(w1);
    blob_part_abort(w2);
    w1 = w2 = NULL;
    is_int(begin_again(b, id, 1, 0), BLOB_OK, "local: released, the part can be written again");
    is_int(tmp_entries(), 0, "local: the committed side part left the temporary folder");

    /* The last part: a writer that passes its length, one that falls short of it (with bytes
     * past the file's end), then the right one. */
    is_int(blob_part_begin(b, id, 3, 2 * (uint64_t)CHUNK, LAST, &w), BLOB_OK, "local: part 3");
    is_int(send_part(w, seed, 2 * (uint64_t)CHUNK, LAST - 10), BLOB_OK, "local: most of it");
    {
        uint8_t extra[11] = { 0 };

        is_int(blob_part_write(w, extra, sizeof(extra)), BLOB_SHORT,
               "local: a write past the announced length: BLOB_SHORT");
    }
    blob_part_abort(w);
    w = NULL;
    is_int(blob_part_begin(b, id, 3, 2 * (uint64_t)CHUNK, 2 * LAST, &w), BLOB_OK,
           "local: part 3 announced longer");
    is_int(send_part(w, 99, 0, LAST + 1000), BLOB_OK, "local: other bytes, past the file's end");
    is_int(blob_part_commit(w, &crc), BLOB_SHORT, "local: commit of a short part: BLOB_SHORT");
    blob_part_abort(w);
    w = NULL;
    is_int(write_part(b, id, 3, 2 * (uint64_t)CHUNK, seed, 2 * (uint64_t)CHUNK, LAST, &crc3),
           BLOB_OK, "local: part 3 again, whole");
    is_int(crc3, content_crc(seed, 2 * (uint64_t)CHUNK, LAST), "local: part 3's CRC-32 is zlib's");

    /* Finalize: the side part moves in, the file is cut to its length. */
    is_int(blob_part_place(b, id, 2, CHUNK), BLOB_OK, "local: place side part 2");
    is_int(blob_part_place(b, id, 2, CHUNK), BLOB_MISSING, "local: a placed side part is gone");
    is_int(blob_file_seal(b, id, total), BLOB_OK, "local: seal to the total length");
    ok(local_file_is(b, id, seed, total, &whole), "local: the file reads back byte for byte");
    ok(local_range_is(b, id, seed, 0, 99), "local: a range at the start");
    ok(local_range_is(b, id, seed, CHUNK - 50, CHUNK + 49),
       "local: a range across the placed part's start");
    ok(local_range_is(b, id, seed, total - 100, total - 1), "local: a range at the end");
    is_int(blob_crc32_combine(blob_crc32_combine(crc1, crc2, CHUNK), crc3, LAST), whole,
           "local: the parts' CRCs combine to the file's");
    is_int(blob_crc32_combine(whole, crc32(0, NULL, 0), 0), whole,
           "local: combining an empty piece changes nothing");

    /* Removing. */
    is_int(blob_file_remove(b, id), BLOB_OK, "local: remove the file");
    {
        int fd = -1;

        is_int(blob_file_open(b, id, &fd), BLOB_MISSING, "local: a removed file is missing");
        if (fd >= 0)
            close(fd);
    }
    removing_again_is_ok(b, id, "local");
out:
    blob_part_abort(w1);
    blob_part_abort(w2);
}

/* A file dropped before its finalize takes its side parts with it. */
static void test_local_remove_side(struct blob *b)
{
    char id[ID_LEN + 1];
    uint32_t crc = 0;
    int fd = -1;

    id_new(id);
    is_int(write_part(b, id, 1, 0, 5, 0, 3000, &crc), BLOB_OK, "local: an in-place part");
    is_int(write_part(b, id, 2, BLOB_SIDE, 5, 3000, 3000, &crc), BLOB_OK, "local: a side part");
    is_int(blob_file_remove(b, id), BLOB_OK, "local: remove the unfinished file");
    is_int(blob_part_place(b, id, 2, 3000), BLOB_MISSING, "local: its side part went with it");
    is_int(blob_file_open(b, id, &fd), BLOB_MISSING, "local: and its data file");
    if (fd >= 0)
        close(fd);
}

static void test_local(void)
{
    char why[256] = "";
    struct blob *b;

    test_local_open();
    b = blob_open(data_dir, NULL, why, sizeof(why));
    if (!b) {
        printf("# %s\n", why);
        ok(false, "local: the store opens");
        return;
    }
    test_local_parts(b);
    test_local_remove_side(b);
    blob_close(b);
}

/* ---- storage URLs that are refused, on either backend ---- */

static void test_bad_urls(void)
{
    static const char *const bad[] = {
        "ftp://x",
        "s3://Not_A_Bucket?endpoint=http://127.0.0.1:1",
        "s3://ab?endpoint=http://127.0.0.1:1",
        "s3://?endpoint=http://127.0.0.1:1",
        "s3://consign-files/some/prefix?endpoint=http://127.0.0.1:1",
        "s3://consign-files?endpoint=http://127.0.0.1:1&colour=blue",
        "s3://consign-files?region=eu-west-1&region=eu-west-1",
    };
    char why[256], tiny[8];

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct blob *b;

        why[0] = '\0';
        b = blob_open(data_dir, bad[i], why, sizeof(why));
        ok(!b && why[0], "'%s' is refused (%s)", bad[i], why);
        blob_close(b);
        b = blob_open(data_dir, bad[i], tiny, sizeof(tiny));
        ok(!b && strlen(tiny) < sizeof(tiny), "'%s' is refused into a short message buffer",
           bad[i]);
        blob_close(b);
    }
}

/* ---- the object store ---- */

/* One plain HTTP exchange, as a client without credentials makes it. */
struct exchange {
    long status;
    struct sbuf text;   /* the body of a POST or of a refusal (capped) */
    bool compare;       /* GET: a successful body is compared, not kept */
    struct check body;  /* the body of a successful GET, compared as it comes */
    uint64_t send_seed; /* PUT: bytes send_from... of content send_seed */
    uint64_t send_from, send_left;
    char etag[BLOB_ETAG_MAX + 1];
    char disposition[256];
    CURL *h;
};

static size_t on_send(char *out, size_t size, size_t nmemb, void *ud)
{
    struct exchange *x = ud;
    size_t n = size * nmemb < x->send_left ? size * nmemb : (size_t)x->send_left;

    content(x->send_seed, x->send_from, (uint8_t *)out, n);
    x->send_from += n;
    x->send_left -= n;
    return n;
}

static size_t on_receive(char *p, size_t size, size_t nmemb, void *ud)
{
    struct exchange *x = ud;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    if (x->compare && (status == 200 || status == 206))
        check_bytes(&x->body, p, n);
    else
        (void)sbuf_add(&x->text, p, n); /* past the cap, the start is enough to show */
    return n;
}

/* Copies the value of header @name from @line into @out when @line is that header. */
static void keep_header(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    struct str v;

    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return;
    v = str_trim((struct str){ line + nl + 1, n - nl - 1 });
    while (v.len && (v.ptr[v.len - 1] == '\r' || v.ptr[v.len - 1] == '\n'))
        v.len--;
    snprintf(out, cap, "%.*s", (int)v.len, v.ptr);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    struct exchange *x = ud;
    size_t n = size * nmemb;

    keep_header(line, n, "ETag", x->etag, sizeof(x->etag));
    keep_header(line, n, "Content-Disposition", x->disposition, sizeof(x->disposition));
    return n;
}

/*
 * @method ("GET", "PUT" or "POST") on @url. PUT sends bytes @from to @from + @len - 1 of
 * content @seed; GET compares what comes with content @seed from @from on (@range: "A-B").
 * The answer in @x; release x->text.
 */
static void exchange(struct exchange *x, const char *method, const char *url, uint64_t seed,
                     uint64_t from, uint64_t len, const char *range)
{
    CURLcode cc;

    memset(x, 0, sizeof(*x));
    sbuf_init(&x->text, 64 * KIB);
    check_init(&x->body, seed, from);
    x->compare = strcmp(method, "GET") == 0;
    x->h = curl_easy_init();
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_receive);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
    if (strcmp(method, "PUT") == 0) {
        x->send_seed = seed;
        x->send_from = from;
        x->send_left = len;
        curl_easy_setopt(x->h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(x->h, CURLOPT_READFUNCTION, on_send);
        curl_easy_setopt(x->h, CURLOPT_READDATA, x);
        curl_easy_setopt(x->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (range)
        curl_easy_setopt(x->h, CURLOPT_RANGE, range);
    cc = curl_easy_perform(x->h);
    if (cc != CURLE_OK)
        printf("#   %s: %s\n", method, curl_easy_strerror(cc));
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_cleanup(x->h);
    x->h = NULL;
}

/* The text of the first <@tag> element of @xml (malloc'd), or NULL. */
static char *xml_text(const char *xml, const char *tag)
{
    char start_tag[64], end_tag[64];
    const char *a, *z;

    snprintf(start_tag, sizeof(start_tag), "<%s>", tag);
    snprintf(end_tag, sizeof(end_tag), "</%s>", tag);
    a = xml ? strstr(xml, start_tag) : NULL;
    z = a ? strstr(a, end_tag) : NULL;
    if (!z)
        return NULL;
    a += strlen(start_tag);
    return xmemdup0(a, (size_t)(z - a));
}

/* An upload started as a client starts it: POST to the pre-signed create URL. */
static char *client_create(struct blob *b, const char *id)
{
    char *url = blob_url(b, BLOB_URL_CREATE, id, 0, NULL, NULL, time(NULL), URL_LIFE);
    struct exchange x;
    char *upload_id;

    if (!url)
        return NULL;
    exchange(&x, "POST", url, 0, 0, 0, NULL);
    upload_id = x.status == 200 ? xml_text(x.text.buf, "UploadId") : NULL;
    if (!upload_id)
        printf("#   create: HTTP %ld %s\n", x.status, x.text.buf ? x.text.buf : "");
    sbuf_release(&x.text);
    free(url);
    return upload_id;
}

/* Part @part sent as a client sends it: bytes @from... of content @seed, PUT to its URL. */
static long client_put(struct blob *b, const char *id, const char *upload_id, uint32_t part,
                       uint64_t seed, uint64_t from, uint64_t len, int64_t now,
                       char etag[BLOB_ETAG_MAX + 1])
{
    char *url = blob_url(b, BLOB_URL_PART, id, part, upload_id, NULL, now, URL_LIFE);
    struct exchange x;

    if (!url)
        return 0;
    exchange(&x, "PUT", url, seed, from, len, NULL);
    if (etag)
        memcpy(etag, x.etag, sizeof(x.etag));
    sbuf_release(&x.text);
    free(url);
    return x.status;
}

/* True when blob_read() of bytes @first to @last of @id gives exactly content @seed there. */
static bool read_is(struct blob *b, const char *id, uint64_t seed, uint64_t first, uint64_t last)
{
    struct check c;
    enum blob_rc rc;

    check_init(&c, seed, first);
    rc = blob_read(b, id, first, last, check_sink, &c);
    if (rc != BLOB_OK || c.got != last - first + 1 || !c.same)
        printf("#   read %" PRIu64 "-%" PRIu64 ": rc %d, %" PRIu64 " bytes, %s\n", first, last,
               (int)rc, c.got, c.same ? "as sent" : "not as sent");
    return rc == BLOB_OK && c.got == last - first + 1 && c.same;
}

/* The storage URL of CONSIGN_TEST_S3 with a bucket of this run's own (malloc'd). */
static char *fresh_bucket_url(const char *url)
{
    const char *rest = strchr(url + 5, '?');
    size_t base = rest ? (size_t)(rest - url - 5) : strlen(url + 5);
    uint8_t r[5];
    char suffix[11];

    rand_bytes(r, sizeof(r));
    hex_encode(r, sizeof(r), suffix);
    if (base > 63 - 11)
        base = 63 - 11;
    return xasprintf("s3://%.*s-%s%s", (int)base, url + 5, suffix, rest ? rest : "");
}

/*
 * Whether the store says, to a client without credentials, that the bucket of @url does not
 * exist (S3 answers NoSuchBucket then, AccessDenied for a bucket that does). The endpoint is
 * taken as written: tests/run.sh's URL does not percent-encode it.
 */
static bool bucket_is_missing(const char *url)
{
    const char *q = strchr(url, '?'), *e = q ? strstr(q, "endpoint=") : NULL;
    struct exchange x;
    char *probe;
    bool missing;

    if (!e)
        return false;
    e += strlen("endpoint=");
    probe = xasprintf("%.*s/%.*s", (int)strcspn(e, "&"), e, (int)(q - url - 5), url + 5);
    exchange(&x, "GET", probe, 0, 0, 0, NULL);
    missing = x.status == 404 && x.text.buf && strstr(x.text.buf, "<Code>NoSuchBucket</Code>");
    sbuf_release(&x.text);
    free(probe);
    return missing;
}

static void test_s3_open(const char *url, struct blob **out)
{
    char why[512] = "";
    struct blob *b;

    *out = NULL;
    ok(bucket_is_missing(url), "s3: the run's bucket does not exist before blob_open");
    b = blob_open(data_dir, url, why, sizeof(why));
    if (!ok(b != NULL, "s3: blob_open makes the bucket that does not exist yet")) {
        printf("#   %s\n", why);
        return;
    }
    ok(!bucket_is_missing(url), "s3: the bucket exists");
    ok(blob_direct(b), "s3: direct");
    is_str(blob_backend_name(b), "s3", "s3: named s3");
    blob_close(b);
    b = blob_open(data_dir, url, why, sizeof(why));
    if (!ok(b != NULL, "s3: blob_open of the bucket that now exists"))
        printf("#   %s\n", why);
    *out = b;
}

static void test_s3_unreachable(const char *url)
{
    const char *rest = strchr(url, '?');
    char *bad = xasprintf("%.*s?endpoint=http://127.0.0.1:1", (int)(rest - url), url);
    char why[512] = "";
    struct blob *b = blob_open(data_dir, bad, why, sizeof(why));

    ok(!b && why[0], "s3: a store that does not answer is refused at open (%s)", why);
    blob_close(b);
    free(bad);
}

/* A file as a MASV client uploads it: two parts of 5 MiB and a small last one. */
static void test_s3_file(struct blob *b)
{
    const uint64_t seed = 2, sizes[3] = { S3_PART, S3_PART, 1234 };
    const uint64_t total = sizes[0] + sizes[1] + sizes[2];
    const char *disposition = "attachment; filename=\"a.txt\"";
    char id[ID_LEN + 1], etags[3][BLOB_ETAG_MAX + 1], range[32], *upload_id = NULL, *url = NULL;
    struct blob_part *parts = NULL;
    struct exchange x;
    struct arena a;
    uint64_t size = 0, at = 0;
    size_t n = 99;
    bool same;

    arena_init(&a);
    id_new(id);
    upload_id = client_create(b, id);
    ok(upload_id && upload_id[0], "s3: the create URL, POSTed without credentials, answers an "
                                  "UploadId");
    if (!upload_id)
        goto out;
    is_int(blob_upload_parts(b, id, upload_id, &a, &parts, &n), BLOB_OK,
           "s3: the new upload's parts");
    is_int(n, 0, "s3: none yet");
    is_int(blob_upload_parts(b, id, "2~madeupmadeupmadeupmadeupmadeup", &a, &parts, &n),
           BLOB_MISSING, "s3: the parts of a made-up upload id: BLOB_MISSING");

    for (uint32_t i = 0; i < 3; i++) {
        is_int(client_put(b, id, upload_id, i + 1, seed, at, sizes[i], time(NULL), etags[i]), 200,
               "s3: part %u (%" PRIu64 " bytes) PUT to its URL without credentials", i + 1,
               sizes[i]);
        at += sizes[i];
    }
    is_int(blob_upload_parts(b, id, upload_id, &a, &parts, &n), BLOB_OK, "s3: list the parts");
    is_int(n, 3, "s3: three parts");
    same = n == 3;
    for (size_t i = 0; i < n && i < 3; i++)
        same = same && parts[i].number == i + 1 && parts[i].size == sizes[i] &&
               strcmp(parts[i].etag, etags[i]) == 0;
    ok(same, "s3: in order, with their sizes and the ETags their PUTs answered");
    if (n != 3)
        goto out;
    is_int(blob_upload_complete(b, id, upload_id, parts, n, &size), BLOB_OK,
           "s3: complete the upload");
    is_int(size, total, "s3: the file has the parts' size");
    is_int(blob_upload_parts(b, id, upload_id, &a, &parts, &n), BLOB_MISSING,
           "s3: a completed upload has no parts left to list");

    /* Reading, as the zip of a package reads. */
    ok(read_is(b, id, seed, 0, total - 1), "s3: blob_read of the whole file, byte for byte");
    ok(read_is(b, id, seed, 0, 99), "s3: blob_read of a range at the start");
    ok(read_is(b, id, seed, S3_PART - 1000, S3_PART + 999),
       "s3: blob_read of a range in the middle, across two parts");
    ok(read_is(b, id, seed, total - 100, total - 1), "s3: blob_read of a range at the end");
    ok(read_is(b, id, seed, total - 1, total - 1), "s3: blob_read of the last byte");
    {
        struct check c;

        check_init(&c, seed, 0);
        c.stop_at_call = 1;
        is_int(blob_read(b, id, 0, total - 1, check_sink, &c), BLOB_IO,
               "s3: a sink that says stop ends the read with an error");
        is_int(c.calls, 1, "s3: and is not called again");
    }

    /* Downloading, as a client does with the URL it is handed. */
    url = blob_url(b, BLOB_URL_GET, id, 0, NULL, disposition, time(NULL), URL_LIFE);
    ok(url != NULL, "s3: a download URL");
    if (!url)
        goto out;
    exchange(&x, "GET", url, seed, 0, 0, NULL);
    is_int(x.status, 200, "s3: the download URL, fetched without credentials");
    ok(x.body.got == total && x.body.same, "s3: gives the file byte for byte");
    is_str(x.disposition, disposition, "s3: with the Content-Disposition asked for");
    sbuf_release(&x.text);
    snprintf(range, sizeof(range), "%u-%u", S3_PART - 10, S3_PART + 19);
    exchange(&x, "GET", url, seed, S3_PART - 10, 0, range);
    is_int(x.status, 206, "s3: a Range request on it: 206");
    ok(x.body.got == 30 && x.body.same, "s3: with the slice");
    sbuf_release(&x.text);
    free(url);
    url = blob_url(b, BLOB_URL_GET, id, 0, NULL, NULL, time(NULL) - 3600, 60);
    exchange(&x, "GET", url, seed, 0, 0, NULL);
    is_int(x.status, 403, "s3: a download URL past its time is refused");
    sbuf_release(&x.text);

    /* Removing. */
    is_int(blob_file_remove(b, id), BLOB_OK, "s3: remove the file");
    {
        struct check c;

        check_init(&c, seed, 0);
        is_int(blob_read(b, id, 0, 9, check_sink, &c), BLOB_MISSING,
               "s3: a removed file is missing");
        is_int(c.got, 0, "s3: and gives no byte");
    }
    removing_again_is_ok(b, id, "s3");
out:
    free(url);
    free(upload_id);
    arena_release(&a);
}

/* Uploads that do not end in a file: refused parts, aborted uploads, expired part URLs. */
static void test_s3_refused(struct blob *b)
{
    const uint64_t seed = 3;
    char id[ID_LEN + 1], *upload_id = NULL;
    struct blob_part part = { .number = 1, .size = 1000 };
    struct blob_part *parts = NULL;
    struct check c;
    struct arena a;
    uint64_t size = 0;
    size_t n = 0;

    arena_init(&a);
    id_new(id);
    upload_id = client_create(b, id);
    ok(upload_id != NULL, "s3: another upload");
    if (!upload_id)
        goto out;
    is_int(client_put(b, id, upload_id, 1, seed, 0, 1000, time(NULL) - 3600, NULL), 403,
           "s3: a part URL past its time is refused");
    is_int(client_put(b, id, upload_id, 1, seed, 0, 1000, time(NULL), part.etag), 200,
           "s3: a part");
    snprintf(part.etag, sizeof(part.etag), "\"%032d\"", 0);
    is_int(blob_upload_complete(b, id, upload_id, &part, 1, &size), BLOB_SHORT,
           "s3: complete with a wrong ETag: BLOB_SHORT");
    check_init(&c, seed, 0);
    is_int(blob_read(b, id, 0, 9, check_sink, &c), BLOB_MISSING,
           "s3: a refused complete makes no file");
    is_int(blob_upload_parts(b, id, upload_id, &a, &parts, &n), BLOB_OK,
           "s3: the upload is still there");
    is_int(n, 1, "s3: with its part");
    is_int(blob_upload_abort(b, id, upload_id), BLOB_OK, "s3: abort it");
    is_int(blob_upload_parts(b, id, upload_id, &a, &parts, &n), BLOB_MISSING,
           "s3: an aborted upload is missing");
    is_int(blob_upload_abort(b, id, upload_id), BLOB_OK, "s3: aborting it again is BLOB_OK");
    /* AWS answers NoSuchUpload (BLOB_MISSING); radosgw an InternalError (BLOB_IO). */
    ok(blob_upload_complete(b, id, upload_id, &part, 1, &size) != BLOB_OK,
       "s3: an aborted upload does not complete");
    is_int(blob_read(b, id, 0, 9, check_sink, &c), BLOB_MISSING, "s3: and makes no file");
    is_int(blob_file_remove(b, id), BLOB_OK, "s3: removing the file that never was is BLOB_OK");
out:
    free(upload_id);
    arena_release(&a);
}

static void test_s3(void)
{
    const char *url = getenv("CONSIGN_TEST_S3");
    const char *need = getenv("CONSIGN_BLOB_NEED_S3");
    struct blob *b = NULL;
    char *fresh;

    if (!url || !url[0]) {
        if (need && strcmp(need, "1") == 0) {
            printf("# CONSIGN_TEST_S3 is not set: tests/run.sh (make test) starts radosgw "
                   "(scripts/s3.sh) and sets it\n");
            ok(false, "s3: an S3 server to test against");
        } else {
            skip("s3: CONSIGN_TEST_S3 is not set (scripts/s3.sh start DIR gives it)");
        }
        return;
    }
    if (strncmp(url, "s3://", 5) != 0 || !strchr(url, '?')) {
        printf("# CONSIGN_TEST_S3 is '%s'\n", url);
        ok(false, "s3: CONSIGN_TEST_S3 is s3://BUCKET?endpoint=…");
        return;
    }
    fresh = fresh_bucket_url(url);
    test_s3_open(fresh, &b);
    if (b) {
        test_s3_file(b);
        test_s3_refused(b);
    }
    test_s3_unreachable(fresh);
    blob_close(b);
    free(fresh);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    char dir[] = "/tmp/consign-blob-XXXXXX";

    if (!mkdtemp(dir)) {
        printf("Bail out! cannot make a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    if (mkdir(data_dir, 0700) != 0) {
        printf("Bail out! cannot make %s: %s\n", data_dir, strerror(errno));
        rmdir(dir);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_local();
    test_bad_urls();
    test_s3();
    curl_global_cleanup();
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
