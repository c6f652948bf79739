/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The few S3 calls consign makes itself, against any S3-compatible store (AWS, Ceph radosgw,
 * MinIO, …): multipart uploads (create, list parts, complete, abort), HEAD and DELETE of an
 * object, a ranged GET streamed to a callback, and bucket creation. File bytes from clients never
 * pass here: they go to the store through pre-signed URLs (s3_presign(), blob/s3/sigv4.h).
 *
 * Requests go through libcurl, which signs them (SigV4, Authorization header). Objects are
 * addressed path-style (endpoint/bucket/key), so any endpoint works without DNS per bucket.
 * Every call has a connect time-out of 10 s and either a total time-out or, for the streaming
 * GET, a low-speed limit. XML answers are capped at S3_ANSWER_MAX before they are parsed.
 *
 * Threads: a struct s3_client is immutable once made and may be used by any number of threads at
 * once; each call uses a libcurl handle of its own.
 */
#ifndef CONSIGN_S3_CLIENT_H
#define CONSIGN_S3_CLIENT_H

#include "core/compat.h"

#include "blob/s3/sigv4.h"
#include "core/str.h"

/** Longest ETag kept, quotes included (S3's are 34 to about 45 bytes). */
#define S3_ETAG_MAX 128u
/** Longest upload id accepted from a store. */
#define S3_UPLOAD_ID_MAX 1024u
/** Parts of one upload at most, and highest part number (S3's limits). */
#define S3_PARTS_MAX 10000u
/** Largest XML answer read; a longer one fails the call. */
#define S3_ANSWER_MAX (1u << 20)
/** Longest S3 error code kept ("NoSuchUpload", "InvalidPart", …). */
#define S3_CODE_MAX 64u

/** Where the bytes live and with which credentials. Every string is owned (malloc'd). */
struct s3_cfg {
    char *bucket;
    char *endpoint; /* "http[s]://host[:port]" */
    char *region;
    char *access_key;
    char *secret_key;
    /* Parts asked for per ListParts page, 1–1000 (1000 after parsing; tests lower it so that
     * paging is exercised). */
    uint32_t parts_page;
};

/**
 * Parses @url, "s3://BUCKET?endpoint=http://127.0.0.1:7480&region=us-east-1", into @cfg with the
 * given credentials (copied). Parameters are optional and may be percent-encoded: region
 * defaults to us-east-1 and endpoint to https://s3.REGION.amazonaws.com. Unknown or repeated
 * parameters, a key prefix after the bucket, an invalid bucket name, region or endpoint, and
 * missing credentials are refused: false with a sentence in @why (never quoting a secret), and
 * @cfg left empty. Release @cfg with s3_cfg_release() after success.
 */
bool s3_cfg_parse(struct s3_cfg *cfg, const char *url, const char *access_key,
                  const char *secret_key, char *why, size_t why_cap);
/** s3_cfg_parse() with the credentials of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */
bool s3_cfg_from_env(struct s3_cfg *cfg, const char *url, char *why, size_t why_cap);
/** Frees the strings of @cfg (the secret wiped first); accepts a released or zeroed one. */
void s3_cfg_release(struct s3_cfg *cfg);

/** Results of S3 calls. */
enum s3_rc {
    S3_OK = 0,
    S3_NOT_FOUND, /* no such object, upload or bucket */
    S3_CONFLICT,  /* the request contradicts the store: a wrong or missing part or ETag, parts
                     out of order, a part too small, a bucket someone else owns */
    S3_TRANSIENT, /* 5xx, throttling, time-out, connection failure: the caller may retry */
    S3_ERROR,     /* anything else (refused credentials, a malformed answer, …); logged */
};

/** A stable name for @rc ("ok", "not found", …), for messages and tests. */
const char *s3_rc_name(enum s3_rc rc);

/** One part of a multipart upload. */
struct s3_part {
    uint32_t number; /* 1 to S3_PARTS_MAX */
    uint64_t size;
    char etag[S3_ETAG_MAX + 1]; /* as the store gave it, quotes included */
};

/** A growable list of parts; zero-initialise it, release it with s3_parts_release(). */
struct s3_parts {
    struct s3_part *v;
    size_t n;
    size_t cap;
};

/** Frees the parts; @parts is empty and reusable. */
void s3_parts_release(struct s3_parts *parts);

/** What HEAD tells of an object. */
struct s3_object {
    uint64_t size;
    char etag[S3_ETAG_MAX + 1];
};

struct s3_client;

/**
 * Makes a client of @cfg as s3_cfg_parse() filled it (copied; @cfg may be released afterwards).
 * Initialises libcurl once per process. Never NULL.
 */
struct s3_client *s3_client_new(const struct s3_cfg *cfg);
/** Frees @c (its secret wiped); accepts NULL. No call on @c may be running. */
void s3_client_free(struct s3_client *c);

/**
 * A pre-signed URL for @method on object @key (NULL: the bucket) with the extra query @params,
 * signed at @now (seconds since the epoch) for @expires seconds; see sigv4_presign(). Returns
 * the URL (malloc'd, the caller frees it; never log it) or NULL with *@why set.
 */
char *s3_presign(const struct s3_client *c, const char *method, const char *key,
                 const struct sigv4_param *params, size_t n_params, int64_t now, uint32_t expires,
                 const char **why);

/** CreateBucket. A bucket that already exists and is ours is S3_OK. */
enum s3_rc s3_bucket_create(struct s3_client *c);
/** GetBucketCors: S3_OK when the bucket has CORS rules, S3_NOT_FOUND when it has none. */
enum s3_rc s3_bucket_cors_get(struct s3_client *c);
/** PutBucketCors: the bucket's CORS rules become @xml (a CORSConfiguration document). */
enum s3_rc s3_bucket_cors_put(struct s3_client *c, const char *xml);
/** GetBucketLifecycleConfiguration: S3_OK when the bucket has rules, S3_NOT_FOUND when none. */
enum s3_rc s3_bucket_lifecycle_get(struct s3_client *c);
/** PutBucketLifecycleConfiguration: the bucket's rules become @xml. */
enum s3_rc s3_bucket_lifecycle_put(struct s3_client *c, const char *xml);

/**
 * CreateMultipartUpload of @key (content type application/octet-stream): the new upload id in
 * *@upload_id (malloc'd, the caller frees it).
 */
enum s3_rc s3_upload_create(struct s3_client *c, const char *key, char **upload_id);
/**
 * ListParts of upload @upload_id of @key, every page: the parts are appended to @parts in part
 * number order. S3_NOT_FOUND when there is no such upload (aborted or completed).
 */
enum s3_rc s3_upload_list_parts(struct s3_client *c, const char *key, const char *upload_id,
                                struct s3_parts *parts);
/**
 * CompleteMultipartUpload of @key with @n @parts (their numbers strictly increasing, each with
 * the ETag its upload answered; sizes are not sent). The object's ETag in @etag when not NULL.
 * A wrong ETag, a missing or too small part is S3_CONFLICT, including when the store answers
 * 200 with an error document (which S3 may do after it has started its answer).
 */
enum s3_rc s3_upload_complete(struct s3_client *c, const char *key, const char *upload_id,
                              const struct s3_part *parts, size_t n, char etag[S3_ETAG_MAX + 1]);
/** AbortMultipartUpload: the parts are dropped. S3_NOT_FOUND when there is no such upload. */
enum s3_rc s3_upload_abort(struct s3_client *c, const char *key, const char *upload_id);

/** HeadObject: the object's size and ETag. */
enum s3_rc s3_object_head(struct s3_client *c, const char *key, struct s3_object *out);
/** DeleteObject. An object that does not exist is S3_OK (S3 answers so). */
enum s3_rc s3_object_delete(struct s3_client *c, const char *key);

/**
 * Receives the next @n bytes of an object; false stops the transfer (the call then fails with
 * S3_ERROR). Called on the calling thread, with no lock held.
 */
typedef bool s3_sink_fn(void *ctx, const void *p, size_t n);

/**
 * GetObject of bytes @first to @last (inclusive) of @key, handed to @sink as they arrive,
 * never buffered whole. Exactly @last - @first + 1 bytes reach the sink on S3_OK; a range past
 * the object's end is S3_ERROR. On failure the sink may have had some of the bytes already.
 * There is no total time-out: the transfer fails (S3_TRANSIENT)
 * when it moves less than 1 KiB per second for 30 seconds, a slow sink included.
 */
enum s3_rc s3_object_read(struct s3_client *c, const char *key, uint64_t first, uint64_t last,
                          s3_sink_fn *sink, void *ctx);

/*
 * Parsers of the store's XML answers, used by the calls above and exported for tests and fuzzing.
 * Each takes an answer of any bytes (capped by the caller) and never reads past it.
 */

/** The <UploadId> of an InitiateMultipartUploadResult, malloc'd in *@upload_id. */
bool s3_answer_upload_id(struct str xml, char **upload_id);
/**
 * Appends the <Part>s of a ListPartsResult to @parts (each with PartNumber, Size and ETag) and
 * reads <IsTruncated> and <NextPartNumberMarker>. False on a malformed part, or past
 * S3_PARTS_MAX parts in all.
 */
bool s3_answer_parts(struct str xml, struct s3_parts *parts, bool *truncated,
                     uint32_t *next_marker);
/** When @xml is an <Error> document: true, with its <Code> in @code (possibly empty). */
bool s3_answer_error(struct str xml, char code[S3_CODE_MAX + 1]);
/** The <ETag> of a CompleteMultipartUploadResult. */
bool s3_answer_etag(struct str xml, char etag[S3_ETAG_MAX + 1]);

#endif /* CONSIGN_S3_CLIENT_H */
