/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Files of a package and the MASV upload protocol's API side: add a file (with the blueprint
 * that initiates its upload), hand out part blueprints, finalize a file, finalize the package,
 * list files and hand out download blueprints. The bytes themselves travel through the signed
 * storage routes (storage.c).
 */
#include "core/compat.h"
#include "api/api.h"

#define LOG_COMPONENT "api"
#include "core/clock.h"
#include "core/log.h"
#include "json/jwrite.h"

/* Checks the package token and loads the file of path parameter "file_id" of that package. */
struct file_ctx {
    struct arena *a;
    struct package pkg;
    struct file file;
    struct file_part *parts;
    size_t nparts;
    const char **etags; /* of each of parts, without quotes */
    struct file *files;
    size_t nfiles;
    int64_t storage_period_ms; /* for a package being finalized: how long it is kept */
    const struct api_env *env;
    bool finalized_now;         /* this request finalized it (not an earlier one) */
    struct portal portal;       /* of a package made through a portal */
    struct api_refusal refusal; /* by that portal's restrictions */
};

static enum store_rc file_txn(struct store *s, void *vctx)
{
    struct file_ctx *c = vctx;
    enum store_rc rc = store_file_get(s, c->file.id, c->a, &c->file);

    if (rc == STORE_ONE && strcmp(c->file.package_id, c->pkg.id) != 0)
        return STORE_NONE;
    return rc;
}

static bool file_or_reply(struct req *rq, bool need_full, struct file_ctx *c)
{
    enum store_rc rc;

    if (!api_package_or_reply(rq, need_full, &c->pkg) ||
        !api_id_param_or_reply(rq, "file_id", c->file.id))
        return false;
    rc = api_run_or_reply(rq, "files.get", STORE_READ, file_txn, c);
    if (rc < 0)
        return false;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "no such file in this package");
        return false;
    }
    return true;
}

/* "size" (noting whether it was sent) and "chunk_size" of a request about a file. */
#define SIZE_FIELDS(size, has_size, chunk)                                                         \
    { .name = "size",                                                                              \
      .type = JSPEC_T_INT,                                                                         \
      .min = 0,                                                                                    \
      .max = FILES_MAX_SIZE,                                                                       \
      .out = (size),                                                                               \
      .present = (has_size) },                                                                     \
        JSPEC_INT("chunk_size", (chunk), 0, 0, FILES_MAX_CHUNK_SIZE)

/* ---- the spec ---- */

static void write_limits(struct jw *w)
{
    jw_kint(w, "max_chunk_count", FILES_MAX_CHUNK_COUNT);
    jw_kint(w, "max_chunks_count", FILES_MAX_CHUNK_COUNT);
    jw_kint(w, "max_chunk_size", FILES_MAX_CHUNK_SIZE);
    jw_kint(w, "min_chunk_size", FILES_MIN_CHUNK_SIZE);
}

void api_spec(struct req *rq)
{
    struct jw w;

    jw_init(&w, 4096);
    jw_object_begin(&w);
    write_limits(&w);
    jw_object_end(&w);
    api_jw_reply(rq, 200, &w);
}

/* ---- file objects ---- */

void api_file_write(struct jw *w, const struct file *f)
{
    jw_object_begin(w);
    jw_kstring(w, "id", f->id);
    jw_kstring(w, "kind", f->kind);
    jw_kstring(w, "name", f->name);
    jw_kstring(w, "path", f->path);
    jw_kint(w, "size", f->size < 0 ? 0 : f->size);
    jw_ktime(w, "last_modified", f->last_modified);
    jw_kbool(w, "virus_detected", false);
    jw_kstring(w, "package_id", f->package_id);
    jw_kbool(w, "finalized", f->done);
    jw_ktime(w, "created_at", f->created_at);
    jw_object_end(w);
}

/* A blueprint: {url, method, headers: {}, body?}. */
static void write_blueprint(struct jw *w, const char *url, const char *method, bool with_body)
{
    jw_object_begin(w);
    jw_kstring(w, "url", url);
    jw_kstring(w, "method", method);
    jw_key(w, "headers");
    jw_object_begin(w);
    jw_object_end(w);
    if (with_body)
        jw_kstring(w, "body", "");
    jw_object_end(w);
}

/* ---- add a file ---- */

static enum store_rc insert_txn(struct store *s, void *vctx)
{
    struct file_ctx *c = vctx;
    int64_t n = 0;
    enum store_rc rc = store_files_count(s, c->pkg.id, &n);

    if (rc < 0)
        return rc;
    if (n >= FILES_MAX_COUNT)
        return STORE_NONE;
    rc = api_portal_files_check(s, &c->pkg, &c->file, c->a, &c->portal, &c->refusal);
    if (rc < 0 || c->refusal.err)
        return rc < 0 ? rc : STORE_NONE;
    return store_file_insert(s, &c->file);
}

void api_files_create(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };
    char *kind = NULL, *name = NULL, *path = NULL, *url;
    int64_t last_modified = TIME_UNSET, size = -1, chunk = 0;
    bool has_size = false;
    const struct jspec spec[] = {
        JSPEC_STR("kind", &kind, 0, 16),
        JSPEC_STR("name", &name, JSPEC_REQUIRED | JSPEC_NONEMPTY, FILES_NAME_MAX),
        JSPEC_STR("path", &path, 0, FILES_PATH_MAX),
        JSPEC_TIME("last_modified", &last_modified, 0),
        SIZE_FIELDS(&size, &has_size, &chunk),
        JSPEC_END,
    };
    enum store_rc rc;
    json_t *doc;
    struct jw w;

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW),
                                    "files can be added only before it is finalized") ||
        !api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (kind && kind[0] && strcmp(kind, "file") != 0) {
        resp_error(rq, ERR_INVALID_FIELD, "kind: only \"file\" can be uploaded");
        return;
    }
    if (chunk && chunk < FILES_MIN_CHUNK_SIZE && (!has_size || chunk < size)) {
        resp_error(rq, ERR_INVALID_FIELD, "chunk_size: must be at least %d bytes",
                   FILES_MIN_CHUNK_SIZE);
        return;
    }
    if (chunk && has_size && size > chunk * (int64_t)FILES_MAX_CHUNK_COUNT) {
        resp_error(rq, ERR_INVALID_FIELD, "size: needs more than %d chunks of chunk_size",
                   FILES_MAX_CHUNK_COUNT);
        return;
    }
    id_new(c.file.id);
    memcpy(c.file.package_id, c.pkg.id, sizeof(c.file.package_id));
    c.file.kind = "file";
    c.file.name = name;
    c.file.path = path ? path : "";
    c.file.size = has_size ? size : -1;
    c.file.chunk_size = chunk;
    c.file.created_at = c.file.updated_at = clock_now_ms();
    c.file.last_modified = last_modified == TIME_UNSET ? c.file.created_at : last_modified;
    rc = api_run_or_reply(rq, "files.create", STORE_WRITE, insert_txn, &c);
    if (rc < 0)
        return;
    if (c.refusal.err) {
        resp_error(rq, c.refusal.err, "%s", c.refusal.why);
        return;
    }
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_CONFLICT, "a package holds at most %d files", FILES_MAX_COUNT);
        return;
    }
    url = api_storage_url(rq, BLOB_URL_CREATE, &c.file, 0, NULL);
    if (!url) {
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return;
    }
    jw_init(&w, 64u << 10);
    jw_object_begin(&w);
    jw_key(&w, "file");
    api_file_write(&w, &c.file);
    jw_key(&w, "create_blueprint");
    write_blueprint(&w, url, "POST", true);
    write_limits(&w);
    jw_object_end(&w);
    api_jw_reply(rq, 201, &w);
}

/* ---- part blueprints ---- */

/* STORE_NONE when the file was deleted meanwhile. */
static enum store_rc file_update_txn(struct store *s, void *vctx)
{
    return store_file_update(s, &((struct file_ctx *)vctx)->file);
}

/*
 * Checks that @upload_id is the upload of the file. The embedded store made it when the client
 * replayed the create blueprint. With an object store the client got it from the store, so the
 * first id a client names is asked of the store and then recorded; a client that started over
 * names a new one, which replaces the old (whose parts are dropped).
 */
static bool upload_known_or_reply(struct req *rq, struct file_ctx *c, const char *upload_id)
{
    struct blob *b = api_env(rq)->blob;
    const char *old = c->file.upload_id;
    struct blob_part *parts;
    size_t n;
    enum blob_rc brc;

    if (old && strcmp(old, upload_id) == 0)
        return true;
    if (!blob_direct(b)) {
        resp_error(rq, ERR_INVALID_FIELD, "upload_id: not the upload of this file");
        return false;
    }
    brc = blob_upload_parts(b, c->file.id, upload_id, c->a, &parts, &n);
    if (brc == BLOB_MISSING) {
        resp_error(rq, ERR_INVALID_FIELD, "upload_id: not an upload of this file");
        return false;
    }
    if (brc != BLOB_OK) {
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return false;
    }
    c->file.upload_id = arena_strdup(c->a, upload_id);
    c->file.updated_at = clock_now_ms();
    if (api_run_or_reply(rq, "files.upload", STORE_WRITE, file_update_txn, c) < 0)
        return false;
    if (old)
        (void)blob_upload_abort(b, c->file.id, old);
    return true;
}

void api_files_blueprints(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };
    char *upload_id = NULL;
    const struct jspec spec[] = {
        JSPEC_STR("upload_id", &upload_id, JSPEC_REQUIRED | JSPEC_NONEMPTY, FILES_UPLOAD_ID_MAX),
        JSPEC_END,
    };
    struct str v;
    uint64_t start = 0, count = 1;
    json_t *doc;
    struct jw w;

    if (!file_or_reply(rq, true, &c) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW),
                                    "its files can no longer be uploaded"))
        return;
    if ((req_query(rq, "start", &v) && !str_to_u64(v, FILES_MAX_CHUNK_COUNT - 1, &start)) ||
        (req_query(rq, "count", &v) && !str_to_u64(v, FILES_MAX_CHUNK_COUNT, &count)) ||
        count == 0 || start + count > FILES_MAX_CHUNK_COUNT) {
        resp_error(rq, ERR_INVALID_QUERY,
                   "start and count: parts are numbered 1 to %d; start from 0, count at least 1",
                   FILES_MAX_CHUNK_COUNT);
        return;
    }
    if (!api_body_or_reply(rq, spec, &doc))
        return;
    json_decref(doc);
    if (c.file.done) {
        resp_error(rq, ERR_CONFLICT, "the file is already finalized");
        return;
    }
    if (!upload_known_or_reply(rq, &c, upload_id))
        return;
    jw_init(&w, count * 2048 + 1024);
    jw_array_begin(&w);
    for (uint64_t k = 0; k < count; k++) {
        char *url =
            api_storage_url(rq, BLOB_URL_PART, &c.file, (uint32_t)(start + k + 1), upload_id);

        if (!url) {
            jw_release(&w);
            resp_error(rq, ERR_STORAGE_FAILED, NULL);
            return;
        }
        write_blueprint(&w, url, "PUT", false);
    }
    jw_array_end(&w);
    api_jw_reply(rq, 200, &w);
}

/* ---- finalize a file ---- */

static enum store_rc parts_txn(struct store *s, void *vctx)
{
    struct file_ctx *c = vctx;

    return store_file_parts_list(s, c->file.id, c->a, &c->parts, &c->nparts);
}

/* The part number of a chunk_extras entry: partNumber or part_number, number or string. */
static bool part_number_of(json_t *e, uint64_t *out)
{
    json_t *v = json_object_get(e, "partNumber");

    if (!v)
        v = json_object_get(e, "part_number");
    if (json_is_integer(v) && json_integer_value(v) >= 1 &&
        json_integer_value(v) <= FILES_MAX_CHUNK_COUNT) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return json_is_string(v) &&
           str_to_u64(str_from(json_string_value(v)), FILES_MAX_CHUNK_COUNT, out) && *out >= 1;
}

/* An ETag as a client sends it back: with or without quotes, maybe weak. */
static struct str etag_bare(const char *s)
{
    struct str t = str_trim(str_from(s));

    if (t.len >= 2 && t.ptr[0] == 'W' && t.ptr[1] == '/')
        t.ptr += 2, t.len -= 2;
    if (t.len >= 2 && t.ptr[0] == '"' && t.ptr[t.len - 1] == '"')
        t.ptr++, t.len -= 2;
    return t;
}

/*
 * The parts received of the file's upload, in number order, with the ETag each was answered:
 * from the database for the embedded store, from the object store otherwise.
 */
static bool received_or_reply(struct req *rq, struct file_ctx *c)
{
    const struct api_env *env = api_env(rq);
    struct blob_part *bp;
    size_t n;

    if (!blob_direct(env->blob)) {
        if (api_run_or_reply(rq, "files.parts", STORE_READ, parts_txn, c) < 0)
            return false;
        c->etags = arena_alloc(c->a, (c->nparts + 1) * sizeof(*c->etags));
        for (size_t i = 0; i < c->nparts; i++) {
            char *want = arena_alloc(c->a, AUTH_SIG_LEN + 1);

            api_part_etag(env, c->file.id, &c->parts[i], want);
            c->etags[i] = want;
        }
        return true;
    }
    switch (c->file.upload_id
                ? blob_upload_parts(env->blob, c->file.id, c->file.upload_id, c->a, &bp, &n)
                : BLOB_MISSING) {
    case BLOB_OK:
        break;
    case BLOB_MISSING:
        resp_error(rq, ERR_INVALID_FIELD, "chunk_extras: the upload of this file has no parts");
        return false;
    default:
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return false;
    }
    c->nparts = n;
    c->parts = arena_alloc(c->a, (n + 1) * sizeof(*c->parts));
    c->etags = arena_alloc(c->a, (n + 1) * sizeof(*c->etags));
    for (size_t i = 0; i < n; i++) {
        struct str e = etag_bare(bp[i].etag);

        c->parts[i] = (struct file_part){ .part = bp[i].number, .size = (int64_t)bp[i].size };
        c->etags[i] = arena_strndup(c->a, e.ptr, e.len);
    }
    return true;
}

/*
 * Checks a finalize request's part list against the parts received: every part 1..n named
 * once, each with the ETag the client got for it, under the file's own upload. Reads the parts
 * into @c; their number in *@n.
 */
static bool extras_or_reply(struct req *rq, struct file_ctx *c, json_t *extras, json_t *fextras,
                            uint64_t *n)
{
    json_t *upload = fextras ? json_object_get(fextras, "upload_id") : NULL;
    bool *seen;

    if (json_is_string(upload) &&
        (!c->file.upload_id || strcmp(json_string_value(upload), c->file.upload_id) != 0)) {
        resp_error(rq, ERR_INVALID_FIELD, "file_extras.upload_id: not the upload of this file");
        return false;
    }
    if (extras && !json_is_array(extras)) {
        resp_error(rq, ERR_INVALID_FIELD, "chunk_extras: must be an array");
        return false;
    }
    *n = extras ? json_array_size(extras) : 0;
    if (*n > FILES_MAX_CHUNK_COUNT) {
        resp_error(rq, ERR_INVALID_FIELD, "chunk_extras: at most %d parts", FILES_MAX_CHUNK_COUNT);
        return false;
    }
    if (!received_or_reply(rq, c))
        return false;
    seen = arena_alloc(&rq->arena, *n + 1);
    memset(seen, 0, *n + 1);
    for (size_t i = 0; i < *n; i++) {
        json_t *e = json_array_get(extras, i), *tag = json_object_get(e, "etag");
        const char *want;
        uint64_t part;
        const struct file_part *p;

        if (!tag)
            tag = json_object_get(e, "ETag");
        if (!json_is_object(e) || !part_number_of(e, &part) || part > *n || seen[part] ||
            !json_is_string(tag)) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "chunk_extras[%zu]: needs a partNumber from 1 to %llu, once each, and an "
                       "etag",
                       i, (unsigned long long)*n);
            return false;
        }
        seen[part] = true;
        p = part <= c->nparts && c->parts[part - 1].part == part ? &c->parts[part - 1] : NULL;
        want = p ? c->etags[part - 1] : NULL;
        if (!p) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "chunk_extras: part %llu was not received; send it again",
                       (unsigned long long)part);
            return false;
        }
        if (!str_eq(etag_bare(json_string_value(tag)), str_from(want))) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "chunk_extras: the etag of part %llu is not that of the part received; "
                       "send it again",
                       (unsigned long long)part);
            return false;
        }
    }
    return true;
}

/*
 * Makes the @n parts the file's bytes, @total in all. The embedded store moves in the parts that
 * arrived before their place was known and seals the length; an object store completes the
 * multipart upload, and the object it made must have the size the parts add up to.
 */
static bool bytes_joined_or_reply(struct req *rq, struct file_ctx *c, uint64_t n, uint64_t layout,
                                  uint64_t total)
{
    struct blob *b = api_env(rq)->blob;
    struct blob_part *list;
    uint64_t size = 0;
    enum blob_rc brc;

    if (!blob_direct(b)) {
        /* A side part is removed only once it is durably in place, so one that is missing was
         * placed by an earlier finalize that failed after it: done, not lost. */
        for (size_t i = 0; i < n; i++) {
            if (!c->parts[i].side)
                continue;
            brc = blob_part_place(b, c->file.id, c->parts[i].part, (uint64_t)i * layout);
            if (brc != BLOB_OK && brc != BLOB_MISSING)
                goto failed;
        }
        if (blob_file_seal(b, c->file.id, total) != BLOB_OK)
            goto failed;
        return true;
    }
    list = arena_alloc(c->a, (n + 1) * sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        list[i].number = c->parts[i].part;
        list[i].size = (uint64_t)c->parts[i].size;
        snprintf(list[i].etag, sizeof(list[i].etag), "\"%s\"", c->etags[i]);
    }
    brc = blob_upload_complete(b, c->file.id, c->file.upload_id, list, n, &size);
    if (brc == BLOB_SHORT || brc == BLOB_MISSING) {
        resp_error(rq, ERR_INVALID_FIELD,
                   "chunk_extras: the object store refused these parts; send them again");
        return false;
    }
    if (brc != BLOB_OK)
        goto failed;
    if (size == total)
        return true;
    LOG_AT(LOG_LEVEL_ERROR, rq->rid, "file %s: the object store made %llu bytes of %llu",
           c->file.id, (unsigned long long)size, (unsigned long long)total);
failed:
    resp_error(rq, ERR_STORAGE_FAILED, NULL);
    return false;
}

void api_files_finalize(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };
    json_t *doc, *extras = NULL, *fextras = NULL;
    int64_t size = -1, chunk = 0;
    bool has_size = false;
    const struct jspec spec[] = {
        JSPEC_ANY("chunk_extras", &extras, 0),
        JSPEC_ANY("file_extras", &fextras, 0),
        SIZE_FIELDS(&size, &has_size, &chunk),
        JSPEC_END,
    };
    enum store_rc rc;
    uint64_t n = 0, total = 0, layout;
    uint32_t crc = 0;
    struct jw w;
    bool checked;

    if (!file_or_reply(rq, true, &c) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW),
                                    "its files can no longer change") ||
        !api_body_or_reply(rq, spec, &doc))
        return;
    if (c.file.done) {
        /* Finalizing twice is harmless: the same answer. */
        json_decref(doc);
        goto reply;
    }
    checked = extras_or_reply(rq, &c, extras, fextras, &n);
    json_decref(doc);
    if (!checked)
        return;
    /* The parts must tile the file: all but the last of one size, at least the minimum. */
    layout = n > 1 ? (uint64_t)c.parts[0].size : 0;
    if (c.file.chunk_size > 0 && n > 1 && (uint64_t)c.file.chunk_size != layout) {
        resp_error(rq, ERR_INVALID_FIELD, "chunk_extras: part 1 is not chunk_size bytes");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t sz = (uint64_t)c.parts[i].size;

        if (i + 1 < n && (sz != layout || sz < FILES_MIN_CHUNK_SIZE)) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "chunk_extras: part %zu has %llu bytes; every part but the last must have "
                       "the same size, at least %d bytes",
                       i + 1, (unsigned long long)sz, FILES_MIN_CHUNK_SIZE);
            return;
        }
        if (i + 1 == n && n > 1 && sz > layout) {
            resp_error(rq, ERR_INVALID_FIELD,
                       "chunk_extras: the last part is larger than the others");
            return;
        }
        crc = i == 0 ? c.parts[i].crc32 : blob_crc32_combine(crc, c.parts[i].crc32, sz);
        total += sz;
    }
    if ((has_size && (uint64_t)size != total) ||
        (c.file.size >= 0 && (uint64_t)c.file.size != total)) {
        resp_error(rq, ERR_INVALID_FIELD, "size: the parts hold %llu bytes, not %lld",
                   (unsigned long long)total, (long long)(has_size ? size : c.file.size));
        return;
    }
    if (chunk && n > 1 && (uint64_t)chunk != layout) {
        resp_error(rq, ERR_INVALID_FIELD, "chunk_size: the parts are %llu bytes each",
                   (unsigned long long)layout);
        return;
    }
    if (!api_portal_file_final_or_reply(rq, &c.pkg, &c.file, (int64_t)total) ||
        !bytes_joined_or_reply(rq, &c, n, layout, total))
        return;
    c.file.done = true;
    c.file.size = (int64_t)total;
    c.file.chunk_size = (int64_t)layout;
    c.file.crc32 = crc;
    c.file.updated_at = clock_now_ms();
    rc = api_run_or_reply(rq, "files.finalize", STORE_WRITE, file_update_txn, &c);
    if (rc < 0)
        return;
    if (rc == STORE_NONE) {
        resp_error(rq, ERR_NOT_FOUND, "the file was deleted");
        return;
    }
reply:
    jw_init(&w, 64u << 10);
    api_file_write(&w, &c.file);
    api_jw_reply(rq, 200, &w);
}

/* ---- delete a file ---- */

bool api_file_bytes_remove(const struct api_env *env, const struct file *f)
{
    bool ok = true;

    /* An object store keeps the parts of an unfinished upload until it is aborted. */
    if (blob_direct(env->blob) && !f->done && f->upload_id)
        ok = blob_upload_abort(env->blob, f->id, f->upload_id) == BLOB_OK;
    return blob_file_remove(env->blob, f->id) == BLOB_OK && ok;
}

static enum store_rc delete_txn(struct store *s, void *vctx)
{
    struct file_ctx *c = vctx;

    return store_file_delete(s, c->file.id);
}

void api_files_delete(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };

    if (!file_or_reply(rq, true, &c) ||
        !api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW),
                                    "its files can no longer be removed") ||
        api_run_or_reply(rq, "files.delete", STORE_WRITE, delete_txn, &c) < 0)
        return;
    /* The record goes first: bytes without a record are garbage, never served. */
    (void)api_file_bytes_remove(api_env(rq), &c.file);
    resp_empty(rq, 204);
}

/* ---- list, download ---- */

static enum store_rc files_txn(struct store *s, void *vctx)
{
    struct file_ctx *c = vctx;

    return store_files_list(s, c->pkg.id, c->a, &c->files, &c->nfiles);
}

void api_files_list(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };
    struct jw w;

    if (!api_package_or_reply(rq, false, &c.pkg) ||
        api_run_or_reply(rq, "files.list", STORE_READ, files_txn, &c) < 0)
        return;
    jw_init(&w, (c.nfiles + 2) * 8192 + 4096);
    jw_array_begin(&w);
    for (size_t i = 0; i < c.nfiles; i++)
        api_file_write(&w, &c.files[i]);
    if (c.pkg.state == PACKAGE_FINALIZED) {
        for (int windows = 1; windows >= 0; windows--) {
            struct file z = {
                .kind = windows ? "zip_windows" : "zip_mac",
                .name = arena_printf(&rq->arena, "%s.zip", c.pkg.name),
                .path = "",
                .size = (int64_t)api_zip_size(api_env(rq), c.files, c.nfiles, windows),
                .last_modified = c.pkg.updated_at,
                .done = true,
                .created_at = c.pkg.updated_at,
            };

            memcpy(z.package_id, c.pkg.id, sizeof(z.package_id));
            snprintf(z.id, sizeof(z.id), "%s", z.kind);
            api_file_write(&w, &z);
        }
    }
    jw_array_end(&w);
    api_jw_reply(rq, 200, &w);
}

void api_files_download(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };
    struct str fid = req_param(rq, "file_id");
    char *url;
    struct jw w;

    if (str_eq_cstr(fid, "zip_windows") || str_eq_cstr(fid, "zip_mac")) {
        if (!api_package_or_reply(rq, false, &c.pkg))
            return;
    } else if (!file_or_reply(rq, false, &c)) {
        return;
    }
    if (!api_package_state_or_reply(rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_FINALIZED),
                                    "only a finalized package can be downloaded"))
        return;
    if (c.file.id[0])
        url = api_storage_url(rq, BLOB_URL_GET, &c.file, 0, NULL);
    else
        url = api_storage_zip_url(rq, c.pkg.id, str_eq_cstr(fid, "zip_windows"));
    if (!url) {
        resp_error(rq, ERR_STORAGE_FAILED, NULL);
        return;
    }
    /* The object store does not tell when a download ends: handing out its URL counts. */
    if (c.file.id[0] && blob_direct(api_env(rq)->blob))
        api_download_recorded(rq, c.pkg.id);
    jw_init(&w, 8192);
    write_blueprint(&w, url, "GET", false);
    api_jw_reply(rq, 200, &w);
}

/* ---- finalize the package ---- */

static enum store_rc package_finalize_txn(struct store *s, void *vctx)
{
    struct file_ctx *c = vctx;
    enum store_rc rc = store_package_get(s, c->pkg.id, c->a, &c->pkg);
    int hooks;

    c->finalized_now = false;
    c->refusal.err = ERR_OK;
    if (rc != STORE_ONE)
        return rc;
    if (c->pkg.state != PACKAGE_NEW)
        return STORE_ONE; /* already done: the caller answers with it */
    rc = store_files_list(s, c->pkg.id, c->a, &c->files, &c->nfiles);
    if (rc < 0)
        return rc;
    c->pkg.size = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        if (!c->files[i].done)
            return STORE_NONE;
        c->pkg.size += c->files[i].size;
    }
    if (c->nfiles == 0)
        return STORE_NONE;
    rc = api_portal_files_check(s, &c->pkg, NULL, c->a, &c->portal, &c->refusal);
    if (rc < 0 || c->refusal.err)
        return rc < 0 ? rc : STORE_NONE;
    c->pkg.total_files = (int64_t)c->nfiles;
    c->pkg.state = PACKAGE_FINALIZED;
    c->pkg.updated_at = clock_now_ms();
    /* Kept from now for the storage period (a portal's package: the portal's), unless
     * unlimited; the expiry sweep ends it. */
    if (c->pkg.portal_id)
        api_portal_package_expiry(&c->portal, c->pkg.updated_at, c->storage_period_ms, &c->pkg);
    else
        c->pkg.expiry =
            c->pkg.unlimited_storage ? TIME_UNSET : c->pkg.updated_at + c->storage_period_ms;
    rc = store_package_update(s, &c->pkg);
    if (rc != STORE_ONE)
        return rc;
    /* Its mail is queued with the state change: once, whoever finalizes, however often. */
    rc = api_notify_finalized(s, c->env, &c->pkg);
    if (rc < 0)
        return rc;
    /* And so are its webhooks' deliveries. */
    rc = api_webhooks_enqueue(s, API_HOOK_FINALIZED, &c->pkg, c->a, &hooks);
    if (rc < 0)
        return rc;
    c->finalized_now = true;
    return STORE_ONE;
}

void api_package_finalize(struct req *rq)
{
    struct file_ctx c = { .a = &rq->arena };
    enum store_rc rc;

    if (!api_package_or_reply(rq, true, &c.pkg) ||
        !api_package_state_or_reply(
            rq, &c.pkg, PACKAGE_STATE_BIT(PACKAGE_NEW) | PACKAGE_STATE_BIT(PACKAGE_FINALIZED),
            "it can no longer be finalized"))
        return;
    c.storage_period_ms = api_env(rq)->storage_period_ms;
    c.env = api_env(rq);
    rc = api_run_or_reply(rq, "packages.finalize", STORE_WRITE, package_finalize_txn, &c);
    if (rc < 0)
        return;
    if (c.finalized_now)
        jobs_wake(c.env->jobs);
    if (c.refusal.err) {
        resp_error(rq, c.refusal.err, "%s", c.refusal.why);
        return;
    }
    if (rc == STORE_NONE) {
        for (size_t i = 0; i < c.nfiles; i++)
            if (!c.files[i].done) {
                resp_error(rq, ERR_BAD_REQUEST, "file %s (%s) is not finalized", c.files[i].id,
                           c.files[i].name);
                return;
            }
        resp_error(rq, ERR_BAD_REQUEST, "a package needs at least one file");
        return;
    }
    api_package_reply(rq, 200, &c.pkg);
}
