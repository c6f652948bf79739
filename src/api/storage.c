/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The embedded store's storage routes: the small part of S3 that MASV blueprints replay
 * (initiate a multipart upload, upload a part, get an object), plus the package zip. They take
 * no credentials: each URL is signed with the server secret, names only server-generated ids
 * and expires. What is signed is the method, the ids, the part and the expiry, so no URL can be
 * turned into another.
 */
#include "core/compat.h"
#include "api/api.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "zip/zip.h"

#include <zlib.h>

_Static_assert(FILES_MAX_COUNT <= ZIP_ENTRIES_MAX, "every package must fit in one zip");

/* ---- signing ---- */

static char *signed_text(struct arena *a, const char *method, const char *id, uint32_t part,
                         const char *upload_id, int64_t expires)
{
    return arena_printf(a, "%s\n%s\n%u\n%s\n%lld", method, id, part, upload_id ? upload_id : "",
                        (long long)expires);
}

/* Content-Disposition with a name safe in a header, and the exact name for those who read it. */
static char *disposition(struct arena *a, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(name) > 1024 ? 1024 : strlen(name);
    char *ascii = arena_alloc(a, n + 1), *pct = arena_alloc(a, 3 * n + 1);
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];

        ascii[i] = ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' || ch == '/' || ch == ';'
                       ? '_'
                       : (char)ch;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '-' || ch == '_') {
            pct[k++] = (char)ch;
        } else {
            pct[k++] = '%';
            pct[k++] = hex[ch >> 4];
            pct[k++] = hex[ch & 15];
        }
    }
    ascii[n] = '\0';
    pct[k] = '\0';
    return arena_printf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, pct);
}

static void add_disposition(struct req *rq, const char *name)
{
    resp_header_add(rq, "Content-Disposition", disposition(&rq->arena, name));
}

/* The object store's pre-signed URL, copied into the request's arena. */
static char *direct_url(struct req *rq, enum blob_url_kind kind, const struct file *f,
                        uint32_t part, const char *upload_id)
{
    const struct api_env *env = api_env(rq);
    char *url = blob_url(env->blob, kind, f->id, part, upload_id,
                         kind == BLOB_URL_GET ? disposition(&rq->arena, f->name) : NULL,
                         clock_now_ms() / 1000, FILES_URL_TTL_S);
    char *out = url ? arena_strdup(&rq->arena, url) : NULL;

    free(url);
    return out;
}

char *api_storage_url(struct req *rq, enum blob_url_kind kind, const struct file *f, uint32_t part,
                      const char *upload_id)
{
    static const char *const methods[] = {
        [BLOB_URL_CREATE] = "POST",
        [BLOB_URL_PART] = "PUT",
        [BLOB_URL_GET] = "GET",
    };
    const struct api_env *env = api_env(rq);
    int64_t expires = clock_now_ms() / 1000 + FILES_URL_TTL_S;
    char sig[AUTH_SIG_LEN + 1];

    if (blob_direct(env->blob))
        return direct_url(rq, kind, f, part, upload_id);
    auth_url_sign(env->secret,
                  signed_text(&rq->arena, methods[kind], f->id, part, upload_id, expires), sig);
    if (kind == BLOB_URL_CREATE)
        return arena_printf(&rq->arena, "%s/storage/files/%s?uploads&expires=%lld&sig=%s",
                            env->public_url, f->id, (long long)expires, sig);
    if (kind == BLOB_URL_PART)
        return arena_printf(&rq->arena,
                            "%s/storage/files/%s?partNumber=%u&uploadId=%s&expires=%lld&sig=%s",
                            env->public_url, f->id, part, upload_id, (long long)expires, sig);
    return arena_printf(&rq->arena, "%s/storage/files/%s?expires=%lld&sig=%s", env->public_url,
                        f->id, (long long)expires, sig);
}

static const char *zip_kind(bool windows)
{
    return windows ? "zip_windows" : "zip_mac";
}

char *api_storage_zip_url(struct req *rq, const char *package_id, bool windows)
{
    const struct api_env *env = api_env(rq);
    int64_t expires = clock_now_ms() / 1000 + FILES_URL_TTL_S;
    char sig[AUTH_SIG_LEN + 1];

    auth_url_sign(env->secret,
                  signed_text(&rq->arena, "ZIP", package_id, 0, zip_kind(windows), expires), sig);
    return arena_printf(&rq->arena, "%s/storage/packages/%s/%s?expires=%lld&sig=%s",
                        env->public_url, package_id, zip_kind(windows), (long long)expires, sig);
}

/* Checks ?expires= and ?sig= against what the URL must have been signed for. */
static bool signature_or_reply(struct req *rq, const char *method, const char *id, uint32_t part,
                               const char *upload_id)
{
    struct str e, sig;
    uint64_t expires;

    if (!req_query(rq, "expires", &e) || !req_query(rq, "sig", &sig) ||
        !str_to_u64(e, INT64_MAX, &expires) || (int64_t)expires < clock_now_ms() / 1000 ||
        !auth_url_check(api_env(rq)->secret,
                        signed_text(&rq->arena, method, id, part, upload_id, (int64_t)expires),
                        sig)) {
        resp_error(rq, ERR_SIGNATURE_INVALID, NULL);
        return false;
    }
    return true;
}

void api_part_etag(const struct api_env *env, const char *file_id, const struct file_part *p,
                   char out[AUTH_SIG_LEN + 1])
{
    char text[128];

    snprintf(text, sizeof(text), "etag\n%s\n%u\n%lld\n%u", file_id, p->part, (long long)p->size,
             p->crc32);
    auth_url_sign(env->secret, text, out);
}

/* ---- loading what a URL names ---- */

struct storage_ctx {
    struct arena *a;
    struct file file;
    struct package pkg;
    struct file *files;
    size_t nfiles;
    uint32_t part;
    uint64_t len;
    int hooks; /* webhook deliveries queued */
};

static enum store_rc file_pkg_txn(struct store *s, void *vctx)
{
    struct storage_ctx *c = vctx;
    enum store_rc rc = store_file_get(s, c->file.id, c->a, &c->file);

    if (rc != STORE_ONE)
        return rc;
    return store_package_get(s, c->file.package_id, c->a, &c->pkg);
}

static bool load_or_reply(struct req *rq, struct storage_ctx *c)
{
    enum store_rc rc = api_run_or_reply(rq, "storage.file", STORE_READ, file_pkg_txn, c);

    if (rc < 0)
        return false;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such file");
        return false;
    }
    return true;
}

/* ---- initiate ---- */

/* The file routes serve the embedded store only: with an object store, clients move bytes with
 * its own pre-signed URLs and these routes do not exist. */
static bool embedded_or_reply(struct req *rq)
{
    if (!blob_direct(api_env(rq)->blob))
        return true;
    resp_error(rq, ERR_NOT_FOUND, "this server keeps no file bytes: use the URLs the API gives");
    return false;
}

static enum store_rc initiate_txn(struct store *s, void *vctx)
{
    struct storage_ctx *c = vctx;
    enum store_rc rc = store_file_get(s, c->file.id, c->a, &c->file);

    if (rc != STORE_ONE || c->file.upload_id)
        return rc;
    c->file.upload_id = arena_alloc(c->a, ID_LEN + 1);
    id_new(c->file.upload_id);
    c->file.updated_at = clock_now_ms();
    return store_file_update(s, &c->file);
}

void api_storage_initiate(struct req *rq)
{
    struct storage_ctx c = { .a = &rq->arena };
    enum store_rc rc;

    if (!embedded_or_reply(rq) || !api_id_param_or_reply(rq, "file_id", c.file.id) ||
        !signature_or_reply(rq, "POST", c.file.id, 0, NULL) || !load_or_reply(rq, &c) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW),
                                    "its files can no longer be uploaded"))
        return;
    if (c.file.done) {
        resp_error(rq, ERR_CONFLICT, "the file is already finalized");
        return;
    }
    /* One upload per file: initiating again answers the same upload. */
    rc = api_run_or_reply(rq, "storage.initiate", STORE_WRITE, initiate_txn, &c);
    if (rc < 0)
        return;
    if (rc != STORE_ONE) {
        api_reply_store(rq, STORE_HARD);
        return;
    }
    {
        char *xml = xasprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<InitiateMultipartUploadResult "
                              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                              "<Bucket>consign</Bucket><Key>%s</Key><UploadId>%s</UploadId>"
                              "</InitiateMultipartUploadResult>",
                              c.file.id, c.file.upload_id);

        resp_take(rq, 200, "application/xml", xml, strlen(xml));
    }
}

/* ---- upload a part ---- */

struct part_sink {
    struct http_sink sink;
    struct blob_writer *w;
    char file_id[ID_LEN + 1];
    struct file_part part;
};

static bool part_write(struct req *rq, const void *p, size_t n)
{
    struct part_sink *ps = rq->sink->ctx;
    enum blob_rc rc = blob_part_write(ps->w, p, n);

    if (rc == BLOB_OK)
        return true;
    if (rc == BLOB_SHORT)
        resp_error(rq, ERR_BAD_REQUEST, "the part is longer than its Content-Length");
    else
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
    return false;
}

static enum store_rc part_put_txn(struct store *s, void *vctx)
{
    struct part_sink *ps = vctx;
    struct arena a;
    struct file f;
    enum store_rc rc;

    arena_init(&a);
    rc = store_file_get(s, ps->file_id, &a, &f);
    if (rc == STORE_ONE && f.done)
        rc = STORE_NONE;
    arena_release(&a);
    if (rc != STORE_ONE)
        return rc;
    return store_file_part_put(s, ps->file_id, &ps->part);
}

static void part_done(struct req *rq)
{
    struct part_sink *ps = rq->sink->ctx;
    enum blob_rc brc = blob_part_commit(ps->w, &ps->part.crc32);
    char etag[AUTH_SIG_LEN + 3];
    enum store_rc rc;

    /* The writer keeps the part's lock until the part is recorded below: another upload of this
     * part cannot start writing between the bytes and their record. */
    if (brc == BLOB_SHORT) {
        resp_error(rq, ERR_BAD_REQUEST, "the part ended before its Content-Length");
        return;
    }
    if (brc != BLOB_OK) {
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return;
    }
    /* The bytes are on disk; only now does the part count. */
    rc = api_run_or_reply(rq, "storage.part", STORE_WRITE, part_put_txn, ps);
    blob_part_abort(ps->w); /* recorded (or refused): the part is free again */
    ps->w = NULL;
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_CONFLICT, "the file was finalized or deleted meanwhile");
        return;
    }
    etag[0] = '"';
    api_part_etag(api_env(rq), ps->file_id, &ps->part, etag + 1);
    memcpy(etag + 1 + AUTH_SIG_LEN, "\"", 2);
    resp_empty(rq, 200);
    resp_header_add(rq, "ETag", etag);
}

static void part_release(struct req *rq)
{
    struct part_sink *ps = rq->sink->ctx;

    blob_part_abort(ps->w);
    ps->w = NULL;
}

/* Fixes the chunk size from part 1 when nobody declared it. */
static enum store_rc chunk_txn(struct store *s, void *vctx)
{
    struct storage_ctx *c = vctx;
    enum store_rc rc = store_file_get(s, c->file.id, c->a, &c->file);

    if (rc != STORE_ONE || c->file.chunk_size != 0 || c->part != 1 || c->len == 0)
        return rc;
    c->file.chunk_size = (int64_t)c->len;
    c->file.updated_at = clock_now_ms();
    return store_file_update(s, &c->file);
}

/* Forgets a part whose bytes are about to be overwritten. */
static enum store_rc part_reset_txn(struct store *s, void *vctx)
{
    struct storage_ctx *c = vctx;

    return store_file_part_delete(s, c->file.id, c->part) < 0 ? STORE_HARD : STORE_ONE;
}

void api_storage_part(struct req *rq)
{
    struct storage_ctx c = { .a = &rq->arena };
    struct str v, upload;
    uint64_t part, offset;
    struct part_sink *ps;
    enum store_rc rc;
    enum blob_rc brc;
    char *upload_id;

    if (!embedded_or_reply(rq) || !api_id_param_or_reply(rq, "file_id", c.file.id))
        return;
    if (!req_query(rq, "partNumber", &v) || !str_to_u64(v, FILES_MAX_CHUNK_COUNT, &part) ||
        part == 0 || !req_query(rq, "uploadId", &upload) || upload.len > 64) {
        resp_error(rq, ERR_SIGNATURE_INVALID, NULL);
        return;
    }
    upload_id = arena_strndup(&rq->arena, upload.ptr, upload.len);
    if (!signature_or_reply(rq, "PUT", c.file.id, (uint32_t)part, upload_id) ||
        !load_or_reply(rq, &c) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW),
                                    "its files can no longer be uploaded"))
        return;
    v = req_header(rq, "Content-Length");
    if (!v.ptr || !str_to_u64(str_trim(v), UINT64_MAX, &c.len)) {
        resp_error(rq, ERR_LENGTH_REQUIRED, NULL);
        return;
    }
    if (c.len > (uint64_t)FILES_MAX_CHUNK_SIZE) {
        resp_error(rq, ERR_BODY_TOO_LARGE, "a part may have at most %lld bytes",
                   (long long)FILES_MAX_CHUNK_SIZE);
        return;
    }
    if (c.file.done || !c.file.upload_id || strcmp(c.file.upload_id, upload_id) != 0) {
        resp_error(rq, ERR_CONFLICT,
                   c.file.done ? "the file is already finalized" : "no such upload of this file");
        return;
    }
    c.part = (uint32_t)part;
    rc = api_run_or_reply(rq, "storage.chunk", STORE_WRITE, chunk_txn, &c);
    if (rc < 0)
        return;
    if (rc != STORE_ONE) {
        api_reply_store(rq, STORE_HARD);
        return;
    }
    if (c.file.chunk_size > 0 && c.len > (uint64_t)c.file.chunk_size) {
        resp_error(rq, ERR_BAD_REQUEST, "part %llu has %llu bytes, more than the chunk size %lld",
                   (unsigned long long)part, (unsigned long long)c.len,
                   (long long)c.file.chunk_size);
        return;
    }
    if (part == 1)
        offset = 0;
    else if (c.file.chunk_size > 0)
        offset = (part - 1) * (uint64_t)c.file.chunk_size;
    else
        offset = BLOB_SIDE;
    /* A part that ends past the file's declared size could never be finalized: it is refused
     * before a byte is written, so a declared size (checked against a portal's limits when the
     * file was added) also bounds what a client can put on the disk. */
    if (c.file.size >= 0 && offset != BLOB_SIDE && offset + c.len > (uint64_t)c.file.size) {
        resp_error(rq, ERR_BODY_TOO_LARGE,
                   "part %llu ends at byte %llu, past the file's declared size of %lld bytes",
                   (unsigned long long)part, (unsigned long long)(offset + c.len),
                   (long long)c.file.size);
        return;
    }
    ps = arena_alloc(&rq->arena, sizeof(*ps));
    *ps = (struct part_sink){
        .part = { .part = (uint32_t)part, .size = (int64_t)c.len, .side = offset == BLOB_SIDE }
    };
    memcpy(ps->file_id, c.file.id, sizeof(ps->file_id));
    brc = blob_part_begin(api_env(rq)->blob, c.file.id, (uint32_t)part, offset, c.len, &ps->w);
    if (brc == BLOB_BUSY) {
        resp_error(rq, ERR_CONFLICT, "part %llu is being uploaded by another request",
                   (unsigned long long)part);
        return;
    }
    if (brc != BLOB_OK) {
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return;
    }
    /* The part's old record goes before its bytes are overwritten. */
    if (api_run_or_reply(rq, "storage.part_reset", STORE_WRITE, part_reset_txn, &c) < 0) {
        blob_part_abort(ps->w);
        return;
    }
    ps->sink = (struct http_sink){
        .write = part_write, .done = part_done, .release = part_release, .ctx = ps
    };
    rq->sink = &ps->sink;
}

/* ---- downloads ---- */

static enum store_rc touch_txn(struct store *s, void *vctx)
{
    struct storage_ctx *c = vctx;
    enum store_rc rc = store_package_get(s, c->pkg.id, c->a, &c->pkg);

    if (rc != STORE_ONE)
        return rc;
    c->pkg.usage_updated_at = clock_now_ms();
    rc = store_package_update(s, &c->pkg);
    if (rc != STORE_ONE)
        return rc;
    rc = api_webhooks_enqueue(s, API_HOOK_DOWNLOADED, &c->pkg, c->a, &c->hooks);
    return rc < 0 ? rc : STORE_ONE;
}

static void record_download(struct req *rq, struct storage_ctx *c)
{
    struct store *s = api_store(api_env(rq));

    c->hooks = 0;
    if (s && store_run(s, "storage.usage", STORE_WRITE, touch_txn, c) < 0)
        LOG_AT(LOG_LEVEL_WARN, rq->rid, "could not record the download of package %s", c->pkg.id);
    else if (c->hooks)
        jobs_wake(api_env(rq)->jobs);
}

/* A download finished: the package records when it was last used. */
static void download_sent(struct req *rq)
{
    record_download(rq, rq->resp.on_sent_ctx);
}

void api_download_recorded(struct req *rq, const char *package_id)
{
    struct storage_ctx c = { .a = &rq->arena };

    memcpy(c.pkg.id, package_id, sizeof(c.pkg.id));
    record_download(rq, &c);
}

static bool downloadable_or_reply(struct req *rq, const struct package *p)
{
    if (p->state == PACKAGE_FINALIZED)
        return true;
    if (p->state == PACKAGE_EXPIRED || p->state == PACKAGE_ARCHIVED)
        resp_error(rq, ERR_GONE, NULL);
    else
        resp_error(rq, ERR_CONFLICT, "the package is not finalized yet");
    return false;
}

void api_storage_get(struct req *rq)
{
    struct storage_ctx *c = arena_alloc(&rq->arena, sizeof(*c));
    uint64_t from, len;
    unsigned status;
    struct stat st;
    char etag[48];
    int fd;

    *c = (struct storage_ctx){ .a = &rq->arena };
    if (!embedded_or_reply(rq) || !api_id_param_or_reply(rq, "file_id", c->file.id) ||
        !signature_or_reply(rq, "GET", c->file.id, 0, NULL) || !load_or_reply(rq, c) ||
        !downloadable_or_reply(rq, &c->pkg))
        return;
    if (!c->file.done) {
        resp_error(rq, ERR_CONFLICT, "the file is not finalized");
        return;
    }
    if (blob_file_open(api_env(rq)->blob, c->file.id, &fd) != BLOB_OK) {
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return;
    }
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != (uint64_t)c->file.size) {
        /* Never serve bytes that are not exactly the file that was finalized. */
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "file %s has %lld bytes on disk, %lld recorded",
               c->file.id, (long long)st.st_size, (long long)c->file.size);
        close(fd);
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%08x-%llx\"", c->file.crc32, (unsigned long long)c->file.size);
    if (!http_range_answer(rq, (uint64_t)c->file.size, &from, &len, &status)) {
        close(fd);
        return;
    }
    resp_file(rq, status, "application/octet-stream", fd, from, len);
    resp_header_add(rq, "ETag", etag);
    add_disposition(rq, c->file.name);
    rq->resp.on_sent = download_sent;
    rq->resp.on_sent_ctx = c;
}

/* ---- the package as one zip ---- */

struct zip_src {
    struct zip_plan *plan;
    struct blob *blob;
    const struct file *files; /* in the request's arena, which outlives the answer */
    uint64_t base;            /* archive offset of this answer's first byte */
    uint64_t len;             /* bytes of this answer */
    int fd; /* the file being read, or -1: files are read in order, one open at a time */
    size_t fd_index;
};

static ssize_t zip_data(void *cls, void *entry_ctx, uint64_t off, void *buf, size_t n)
{
    struct zip_src *z = cls;
    size_t i = (size_t)(uintptr_t)entry_ctx, got = 0;

    if (z->fd < 0 || z->fd_index != i) {
        if (z->fd >= 0)
            close(z->fd);
        z->fd = -1;
        if (blob_file_open(z->blob, z->files[i].id, &z->fd) != BLOB_OK)
            return -1;
        z->fd_index = i;
    }
    while (got < n) {
        ssize_t k = pread(z->fd, (char *)buf + got, n - got, (off_t)(off + got));

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1; /* the file is shorter than recorded: end the download broken */
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static ssize_t zip_stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct zip_src *z = ctx;

    if (pos >= z->len)
        return 0;
    if (max > z->len - pos)
        max = (size_t)(z->len - pos);
    return zip_plan_read(z->plan, z->base + pos, buf, max, zip_data, z);
}

static void zip_stream_free(void *ctx)
{
    struct zip_src *z = ctx;

    if (z->fd >= 0)
        close(z->fd);
    zip_plan_free(z->plan);
    free(z);
}

/* The plan of a package's zip. Files in an object store were never read by consign: their CRCs
 * come later (a data descriptor each), computed while the archive streams. */
static struct zip_plan *plan_of(const struct file *files, size_t n, bool windows, bool crc_later)
{
    struct zip_entry *e = xcalloc(n ? n : 1, sizeof(*e));
    struct zip_plan *p;

    for (size_t i = 0; i < n; i++) {
        e[i] = (struct zip_entry){
            .name = zip_entry_name(files[i].path, files[i].name, windows),
            .size = (uint64_t)files[i].size,
            .crc32 = files[i].crc32,
            .crc_later = crc_later,
            .mtime_ms = files[i].last_modified,
            .ctx = (void *)(uintptr_t)i,
        };
    }
    p = zip_plan_new(e, n);
    for (size_t i = 0; i < n; i++)
        free((char *)e[i].name);
    free(e);
    return p;
}

uint64_t api_zip_size(const struct api_env *env, const struct file *files, size_t n, bool windows)
{
    struct zip_plan *p = plan_of(files, n, windows, blob_direct(env->blob));
    uint64_t size = p ? zip_plan_size(p) : 0;

    zip_plan_free(p);
    return size;
}

/*
 * The zip of files in an object store. Their bytes come from ranged GETs, which block for as long
 * as the store takes, so they are fetched on a thread of the download's own into a small buffer;
 * the HTTP thread only copies out of it, and the connection waits without a thread while it is
 * empty (http_waker). The thread computes each file's CRC-32 as its bytes go by; a range that
 * starts inside a file reads that file once more for its CRC when the CRC must be written.
 * Memory per download: the buffer and one step of the archive.
 */
#define PIPE_BUF_SIZE (2u << 20)
#define PIPE_STEP (4u << 20)

struct pipe_file {
    char id[ID_LEN + 1];
    uint64_t size;
    uint64_t crc_at; /* bytes from the start whose CRC is in crc */
    uint32_t crc;
};

struct zip_pipe {
    atomic_int refs; /* the thread and the response */
    pthread_mutex_t mu;
    pthread_cond_t room; /* the buffer has room, or the download is gone */
    uint8_t *buf;
    size_t head, len; /* the bytes ready: len of them from head, wrapping */
    bool done, failed, gone;
    struct http_waker *waker;
    struct blob *blob;
    struct zip_plan *plan;
    uint64_t from, end; /* archive bytes of this answer */
    struct pipe_file *files;
    size_t nfiles;
    char rid[48];
};

static void pipe_unref(struct zip_pipe *z)
{
    if (atomic_fetch_sub(&z->refs, 1) != 1)
        return;
    http_waker_unref(z->waker);
    zip_plan_free(z->plan);
    pthread_cond_destroy(&z->room);
    pthread_mutex_destroy(&z->mu);
    free(z->files);
    free(z->buf);
    free(z);
}

struct pipe_sink {
    uint8_t *to;
    size_t at, cap;
    struct pipe_file *f; /* whose CRC follows, or NULL */
};

static bool pipe_take(void *ctx, const void *p, size_t n)
{
    struct pipe_sink *k = ctx;

    if (k->to) {
        if (n > k->cap - k->at)
            return false;
        memcpy(k->to + k->at, p, n);
        k->at += n;
    }
    if (k->f) {
        k->f->crc = (uint32_t)crc32_z(k->f->crc, p, n);
        k->f->crc_at += n;
    }
    return true;
}

static ssize_t pipe_data(void *cls, void *entry_ctx, uint64_t off, void *buf, size_t n)
{
    struct zip_pipe *z = cls;
    struct pipe_file *f = &z->files[(uintptr_t)entry_ctx];
    struct pipe_sink k = { .to = buf, .cap = n, .f = off == f->crc_at ? f : NULL };

    if (n == 0)
        return 0;
    if (blob_read(z->blob, f->id, off, off + n - 1, pipe_take, &k) != BLOB_OK || k.at != n)
        return -1;
    return (ssize_t)n;
}

static bool pipe_crc(void *cls, void *entry_ctx, uint32_t *crc)
{
    struct zip_pipe *z = cls;
    struct pipe_file *f = &z->files[(uintptr_t)entry_ctx];

    if (f->crc_at != f->size) {
        /* The answer started inside this file, or after it: read it once for its CRC. */
        struct pipe_sink k = { .f = f };

        f->crc = 0;
        f->crc_at = 0;
        if (f->size > 0 && blob_read(z->blob, f->id, 0, f->size - 1, pipe_take, &k) != BLOB_OK)
            return false;
    }
    *crc = f->crc;
    return f->crc_at == f->size;
}

/* Puts @n bytes into the buffer, waiting for room; false when the download is gone. */
static bool pipe_put(struct zip_pipe *z, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t k;

        pthread_mutex_lock(&z->mu);
        while (z->len == PIPE_BUF_SIZE && !z->gone)
            pthread_cond_wait(&z->room, &z->mu);
        if (z->gone) {
            pthread_mutex_unlock(&z->mu);
            return false;
        }
        {
            size_t tail = (z->head + z->len) % PIPE_BUF_SIZE;

            k = PIPE_BUF_SIZE - z->len; /* room */
            k = k < PIPE_BUF_SIZE - tail ? k : PIPE_BUF_SIZE - tail;
            k = k < n ? k : n;
            memcpy(z->buf + tail, p, k);
            z->len += k;
        }
        pthread_mutex_unlock(&z->mu);
        http_wake(z->waker);
        p += k;
        n -= k;
    }
    return true;
}

static void *pipe_main(void *arg)
{
    struct zip_pipe *z = arg;
    uint8_t *step = xmalloc(PIPE_STEP);
    bool ok = true;

    log_set_request(z->rid);
    for (uint64_t pos = z->from; ok && pos < z->end;) {
        size_t want = z->end - pos < PIPE_STEP ? (size_t)(z->end - pos) : PIPE_STEP;
        ssize_t n = zip_plan_read_crc(z->plan, pos, step, want, pipe_data, pipe_crc, z);

        ok = n > 0 && pipe_put(z, step, (size_t)n);
        pos += n > 0 ? (uint64_t)n : 0;
    }
    free(step);
    pthread_mutex_lock(&z->mu);
    if (!ok && !z->gone)
        LOG_WARN("the zip could not be read from the object store; the download ends broken");
    z->done = true;
    z->failed = !ok;
    pthread_mutex_unlock(&z->mu);
    http_wake(z->waker);
    log_set_request(NULL);
    pipe_unref(z);
    return NULL;
}

/* On the HTTP thread: what is ready, 0 when nothing is yet, -1 when the thread failed. */
static ssize_t pipe_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct zip_pipe *z = ctx;
    size_t n = 0;

    (void)pos;
    pthread_mutex_lock(&z->mu);
    if (z->len == 0 && z->failed) {
        pthread_mutex_unlock(&z->mu);
        return -1;
    }
    while (n < max && z->len > 0) {
        size_t run = PIPE_BUF_SIZE - z->head;

        run = run < z->len ? run : z->len;
        run = run < max - n ? run : max - n;
        memcpy(buf + n, z->buf + z->head, run);
        z->head = (z->head + run) % PIPE_BUF_SIZE;
        z->len -= run;
        n += run;
    }
    pthread_cond_signal(&z->room);
    pthread_mutex_unlock(&z->mu);
    return (ssize_t)n;
}

static void pipe_free(void *ctx)
{
    struct zip_pipe *z = ctx;

    pthread_mutex_lock(&z->mu);
    z->gone = true;
    pthread_cond_signal(&z->room);
    pthread_mutex_unlock(&z->mu);
    pipe_unref(z);
}

/* Starts the thread of an object store's zip and answers with its stream; false when it cannot
 * (the plan is freed either way). */
static bool pipe_start(struct req *rq, struct storage_ctx *c, struct zip_plan *plan, uint64_t from,
                       uint64_t len, unsigned status)
{
    struct http_waker *w = http_waker_new(rq);
    struct zip_pipe *z;
    struct resp_stream rs;
    pthread_attr_t attr;
    pthread_t th;
    int err;

    if (!w) {
        zip_plan_free(plan);
        return false;
    }
    z = xcalloc(1, sizeof(*z));
    atomic_init(&z->refs, 2);
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->room, NULL);
    z->buf = xmalloc(PIPE_BUF_SIZE);
    z->waker = w;
    z->blob = api_env(rq)->blob;
    z->plan = plan;
    z->from = from;
    z->end = from + len;
    z->nfiles = c->nfiles;
    z->files = xcalloc(c->nfiles ? c->nfiles : 1, sizeof(*z->files));
    for (size_t i = 0; i < c->nfiles; i++) {
        memcpy(z->files[i].id, c->files[i].id, sizeof(z->files[i].id));
        z->files[i].size = (uint64_t)c->files[i].size;
    }
    snprintf(z->rid, sizeof(z->rid), "%s", rq->rid);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&th, &attr, pipe_main, z);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        LOG_AT(LOG_LEVEL_ERROR, rq->rid, "cannot start a zip thread: %s", strerror(err));
        z->refs = 1;
        pipe_unref(z);
        return false;
    }
    rs = (struct resp_stream){
        .len = len, .read = pipe_read, .free = pipe_free, .ctx = z, .waker = w
    };
    resp_stream(rq, status, "application/zip", &rs);
    return true;
}

static enum store_rc zip_txn(struct store *s, void *vctx)
{
    struct storage_ctx *c = vctx;
    enum store_rc rc = store_package_get(s, c->pkg.id, c->a, &c->pkg);

    if (rc != STORE_ONE)
        return rc;
    rc = store_files_list(s, c->pkg.id, c->a, &c->files, &c->nfiles);
    return rc < 0 ? rc : STORE_ONE;
}

void api_storage_zip(struct req *rq)
{
    struct storage_ctx *c = arena_alloc(&rq->arena, sizeof(*c));
    struct str kind = req_param(rq, "kind");
    bool windows = str_eq_cstr(kind, "zip_windows");
    struct resp_stream rs;
    struct zip_plan *plan;
    struct zip_src *z;
    uint64_t from, len, size;
    unsigned status;
    enum store_rc rc;
    bool direct;

    *c = (struct storage_ctx){ .a = &rq->arena };
    if (!windows && !str_eq_cstr(kind, "zip_mac")) {
        resp_error(rq, ERR_NOT_FOUND, "no such archive");
        return;
    }
    if (!api_id_param_or_reply(rq, "package_id", c->pkg.id) ||
        !signature_or_reply(rq, "ZIP", c->pkg.id, 0, zip_kind(windows)))
        return;
    rc = api_run_or_reply(rq, "storage.zip", STORE_READ, zip_txn, c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such package");
        return;
    }
    if (!downloadable_or_reply(rq, &c->pkg))
        return;
    direct = blob_direct(api_env(rq)->blob);
    plan = plan_of(c->files, c->nfiles, windows, direct);
    if (!plan) {
        resp_error(rq, ERR_CONFLICT,
                   "the package has too many files or folders to be served as one zip; "
                   "download its files one by one");
        return;
    }
    size = zip_plan_size(plan);
    if (!http_range_answer(rq, size, &from, &len, &status)) {
        zip_plan_free(plan);
        return;
    }
    if (direct) {
        if (!pipe_start(rq, c, plan, from, len, status)) {
            resp_error(rq, ERR_STORAGE_FAILED, NULL);
            return;
        }
    } else {
        z = xcalloc(1, sizeof(*z));
        z->plan = plan;
        z->blob = api_env(rq)->blob;
        z->files = c->files;
        z->fd = -1;
        z->base = from;
        z->len = len;
        rs = (struct resp_stream){
            .len = len, .read = zip_stream_read, .free = zip_stream_free, .ctx = z
        };
        resp_stream(rq, status, "application/zip", &rs);
    }
    resp_header_add(
        rq, "ETag",
        arena_printf(&rq->arena, "\"zip-%s-%lld\"", c->pkg.id, (long long)c->pkg.updated_at));
    add_disposition(rq, arena_printf(&rq->arena, "%s.zip", c->pkg.name));
    c->pkg.id[ID_LEN] = '\0';
    rq->resp.on_sent = download_sent;
    rq->resp.on_sent_ctx = c;
}
