/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * File bytes in an S3-compatible object store. Each file is one object, "files/<xy>/<file id>"
 * (xy: the id's last two characters, as on disk), named by nothing a client sent. Clients
 * upload parts and download files with pre-signed URLs; consign lists, completes and aborts
 * the multipart uploads and deletes the objects (blob/s3/client.h).
 */
#include "core/compat.h"
#include "blob/blob.h"

#define LOG_COMPONENT "blob.s3"
#include "blob/blob_int.h"
#include "blob/s3/client.h"
#include "core/log.h"

struct s3_blob {
    struct blob base;
    struct s3_client *client;
    char *endpoint; /* the configuration's "http[s]://host[:port]" */
};

static const struct blob_ops s3_ops;

static struct s3_blob *to_s3(struct blob *b)
{
    if (b->ops != &s3_ops)
        abort();
    return (struct s3_blob *)b;
}

/* The object of @file_id; the id was made by consign, so the key needs no encoding. */
static void object_key(const char *file_id, char out[ID_LEN + 16])
{
    size_t n = strlen(file_id);

    if (n != ID_LEN)
        abort();
    snprintf(out, ID_LEN + 16, "files/%c%c/%s", file_id[n - 2], file_id[n - 1], file_id);
}

static enum blob_rc rc_of(enum s3_rc rc)
{
    switch (rc) {
    case S3_OK:
        return BLOB_OK;
    case S3_NOT_FOUND:
        return BLOB_MISSING;
    case S3_CONFLICT:
        return BLOB_SHORT;
    case S3_TRANSIENT:
    case S3_ERROR:
        break;
    }
    return BLOB_IO;
}

static void s3_close(struct blob *base)
{
    struct s3_blob *b = to_s3(base);

    s3_client_free(b->client);
    free(b->endpoint);
    free(b);
}

static const char *s3_origin(const struct blob *base)
{
    return ((const struct s3_blob *)base)->endpoint;
}

/*
 * The CORS rules a bucket gets when it has none: browsers (the portal and download pages) send
 * parts to pre-signed URLs and must read each part's ETag. Any origin: a pre-signed URL is its
 * own authorisation, and no cookies are involved. Rules an operator set are left alone.
 */
static const char cors_rules[] =
    "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule>"
    "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
    "<AllowedMethod>HEAD</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
    "<AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader>"
    "<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>"
    "</CORSRule></CORSConfiguration>";

/*
 * The lifecycle rule a bucket gets when it has none: an upload nobody finished within 30 days is
 * dropped by the store itself, whatever happened to the server that knew of it. (Packages left
 * unfinished are cleaned up by consign much sooner; this is the net under it.)
 */
static const char lifecycle_rules[] =
    "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>"
    "<ID>consign-abandoned-uploads</ID><Filter><Prefix>files/</Prefix></Filter>"
    "<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>30"
    "</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";

/* Gives the bucket the rules above that it has none of; rules an operator set stay. */
static void rules_default(struct s3_client *c, const char *url)
{
    enum s3_rc rc = s3_bucket_cors_get(c);

    if (rc == S3_NOT_FOUND)
        rc = s3_bucket_cors_put(c, cors_rules);
    if (rc != S3_OK)
        LOG_WARN("could not give the bucket of '%s' its CORS rules (%s): browsers will not "
                 "upload to it",
                 url, s3_rc_name(rc));
    rc = s3_bucket_lifecycle_get(c);
    if (rc == S3_NOT_FOUND)
        rc = s3_bucket_lifecycle_put(c, lifecycle_rules);
    if (rc != S3_OK)
        LOG_WARN("could not give the bucket of '%s' its lifecycle rule (%s): abandoned uploads "
                 "stay until consign aborts them",
                 url, s3_rc_name(rc));
}

struct blob *blob_s3_open(const char *url, char *why, size_t why_cap)
{
    struct s3_cfg cfg;
    struct s3_blob *b;
    enum s3_rc rc;

    if (!s3_cfg_from_env(&cfg, url, why, why_cap))
        return NULL;
    b = xcalloc(1, sizeof(*b));
    b->base.ops = &s3_ops;
    b->client = s3_client_new(&cfg);
    b->endpoint = xstrdup(cfg.endpoint);
    s3_cfg_release(&cfg);
    /* A new deployment starts with no bucket: make it, as the embedded store makes its folder. */
    rc = s3_bucket_create(b->client);
    if (rc != S3_OK) {
        snprintf(why, why_cap, "cannot reach or create the bucket of '%s': %s", url,
                 s3_rc_name(rc));
        s3_close(&b->base);
        return NULL;
    }
    rules_default(b->client, url);
    return &b->base;
}

static char *s3_url(struct blob *base, enum blob_url_kind kind, const char *file_id, uint32_t part,
                    const char *upload_id, const char *disposition, int64_t now_s, uint32_t ttl_s)
{
    struct s3_blob *b = to_s3(base);
    char key[ID_LEN + 16], number[16];
    struct sigv4_param params[2];
    const char *method = "GET", *why = NULL;
    size_t n = 0;
    char *url;

    object_key(file_id, key);
    switch (kind) {
    case BLOB_URL_CREATE:
        method = "POST";
        params[n++] = (struct sigv4_param){ "uploads", "" };
        break;
    case BLOB_URL_PART:
        method = "PUT";
        snprintf(number, sizeof(number), "%u", part);
        params[n++] = (struct sigv4_param){ "partNumber", number };
        params[n++] = (struct sigv4_param){ "uploadId", upload_id };
        break;
    case BLOB_URL_GET:
        if (disposition)
            params[n++] = (struct sigv4_param){ "response-content-disposition", disposition };
        break;
    }
    url = s3_presign(b->client, method, key, params, n, now_s, ttl_s, &why);
    if (!url)
        LOG_ERR("cannot sign a URL of file %s: %s", file_id, why ? why : "?");
    return url;
}

static enum blob_rc s3_upload_parts(struct blob *base, const char *file_id, const char *upload_id,
                                    struct arena *a, struct blob_part **parts, size_t *n)
{
    struct s3_blob *b = to_s3(base);
    struct s3_parts got = { 0 };
    char key[ID_LEN + 16];
    enum s3_rc rc;

    object_key(file_id, key);
    *parts = NULL;
    *n = 0;
    rc = s3_upload_list_parts(b->client, key, upload_id, &got);
    if (rc == S3_OK && got.n) {
        *parts = arena_alloc(a, got.n * sizeof(**parts));
        for (size_t i = 0; i < got.n; i++) {
            (*parts)[i].number = got.v[i].number;
            (*parts)[i].size = got.v[i].size;
            snprintf((*parts)[i].etag, sizeof((*parts)[i].etag), "%s", got.v[i].etag);
        }
        *n = got.n;
    }
    s3_parts_release(&got);
    if (rc != S3_OK && rc != S3_NOT_FOUND)
        LOG_ERR("cannot list the parts of file %s: %s", file_id, s3_rc_name(rc));
    return rc_of(rc);
}

static enum blob_rc s3_upload_complete_(struct blob *base, const char *file_id,
                                        const char *upload_id, const struct blob_part *parts,
                                        size_t n, uint64_t *size)
{
    struct s3_blob *b = to_s3(base);
    struct s3_part *list = xcalloc(n ? n : 1, sizeof(*list));
    struct s3_object obj;
    char key[ID_LEN + 16];
    enum s3_rc rc;

    object_key(file_id, key);
    for (size_t i = 0; i < n; i++) {
        list[i].number = parts[i].number;
        list[i].size = parts[i].size;
        snprintf(list[i].etag, sizeof(list[i].etag), "%s", parts[i].etag);
    }
    rc = s3_upload_complete(b->client, key, upload_id, list, n, NULL);
    free(list);
    /* A complete whose answer was lost leaves the object made and the upload gone: the object
     * is what counts, so a retried finalize finds it. */
    if (rc == S3_OK || rc == S3_NOT_FOUND) {
        enum s3_rc hrc = s3_object_head(b->client, key, &obj);

        if (hrc == S3_OK) {
            *size = obj.size;
            return BLOB_OK;
        }
        if (rc == S3_OK)
            rc = hrc;
    }
    if (rc != S3_CONFLICT && rc != S3_NOT_FOUND)
        LOG_ERR("cannot complete the upload of file %s: %s", file_id, s3_rc_name(rc));
    return rc_of(rc);
}

static enum blob_rc s3_upload_abort_(struct blob *base, const char *file_id, const char *upload_id)
{
    struct s3_blob *b = to_s3(base);
    char key[ID_LEN + 16];
    enum s3_rc rc;

    object_key(file_id, key);
    rc = s3_upload_abort(b->client, key, upload_id);
    if (rc == S3_NOT_FOUND)
        return BLOB_OK;
    if (rc != S3_OK)
        LOG_ERR("cannot abort the upload of file %s: %s", file_id, s3_rc_name(rc));
    return rc_of(rc);
}

static enum blob_rc s3_read(struct blob *base, const char *file_id, uint64_t first, uint64_t last,
                            blob_sink_fn *sink, void *ctx)
{
    struct s3_blob *b = to_s3(base);
    char key[ID_LEN + 16];
    enum s3_rc rc;

    object_key(file_id, key);
    rc = s3_object_read(b->client, key, first, last, sink, ctx);
    if (rc != S3_OK)
        LOG_WARN("cannot read file %s: %s", file_id, s3_rc_name(rc));
    return rc == S3_OK ? BLOB_OK : rc == S3_NOT_FOUND ? BLOB_MISSING : BLOB_IO;
}

static enum blob_rc s3_file_remove(struct blob *base, const char *file_id)
{
    struct s3_blob *b = to_s3(base);
    char key[ID_LEN + 16];
    enum s3_rc rc;

    object_key(file_id, key);
    rc = s3_object_delete(b->client, key);
    if (rc != S3_OK)
        LOG_ERR("cannot delete the object of file %s: %s", file_id, s3_rc_name(rc));
    return rc_of(rc);
}

static const struct blob_ops s3_ops = {
    .name = "s3",
    .direct = true,
    .origin = s3_origin,
    .close = s3_close,
    .file_remove = s3_file_remove,
    .url = s3_url,
    .upload_parts = s3_upload_parts,
    .upload_complete = s3_upload_complete_,
    .upload_abort = s3_upload_abort_,
    .read = s3_read,
};
