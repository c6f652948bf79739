/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The S3 calls and pre-signed URLs against a real S3 server: what consign does through its
 * client, and what a MASV client does with the URLs it is handed (plain HTTP, no credentials).
 * The server is CONSIGN_TEST_S3 (s3://BUCKET?endpoint=…&region=…) with AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY; tests/run.sh starts radosgw for it (scripts/s3.sh). Without it the test
 * fails: an S3 backend that is never exercised must not look green.
 */
#include "core/compat.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <unistd.h>

#include "blob/s3/client.h"
#include "core/mem.h"
#include "tap.h"

#define MIB (1024u * 1024u)
#define URL_LIFE 600

static struct s3_client *client;
static char run_id[32];

/* ---- plain HTTP, as a client replaying a pre-signed URL ---- */

struct reply {
    long status;
    struct sbuf body;
    char etag[S3_ETAG_MAX + 1];
};

struct upload_src {
    const uint8_t *p;
    size_t left;
};

static size_t read_src(char *out, size_t size, size_t nmemb, void *ud)
{
    struct upload_src *src = ud;
    size_t n = size * nmemb < src->left ? size * nmemb : src->left;

    memcpy(out, src->p, n);
    src->p += n;
    src->left -= n;
    return n;
}

static size_t keep_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct reply *r = ud;

    return sbuf_add(&r->body, p, size * nmemb) ? size * nmemb : 0;
}

static size_t keep_etag(char *line, size_t size, size_t nmemb, void *ud)
{
    struct reply *r = ud;
    size_t n = size * nmemb;

    if (n > 5 && strncasecmp(line, "ETag:", 5) == 0) {
        struct str v = str_trim((struct str){ line + 5, n - 5 });

        while (v.len && (v.ptr[v.len - 1] == '\r' || v.ptr[v.len - 1] == '\n'))
            v.len--;
        if (v.len <= S3_ETAG_MAX) {
            memcpy(r->etag, v.ptr, v.len);
            r->etag[v.len] = '\0';
        }
    }
    return n;
}

/*
 * @method on @url with no credentials: PUT streams @body (Expect: 100-continue, as large
 * uploads do), POST sends it at once. The answer in @r (release r->body).
 */
static void http(const char *method, const char *url, const void *body, size_t len,
                 const char *range, struct reply *r)
{
    CURL *h = curl_easy_init();
    struct upload_src src = { body, len };
    CURLcode cc;

    memset(r, 0, sizeof(*r));
    sbuf_init(&r->body, 16 * MIB);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, keep_etag);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_src);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK)
        printf("# %s: %s\n", method, curl_easy_strerror(cc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
}

static char *presign(const char *method, const char *key, const struct sigv4_param *params,
                     size_t n, int64_t now, uint32_t life)
{
    const char *why = NULL;
    char *url = s3_presign(client, method, key, params, n, now, life, &why);

    if (!url)
        printf("# presign: %s\n", why);
    return url;
}

/* A part PUT through its pre-signed URL; the ETag in @etag. */
static long put_part(const char *key, const char *upload_id, uint32_t number, const uint8_t *p,
                     size_t len, char etag[S3_ETAG_MAX + 1])
{
    char num[12];
    struct sigv4_param params[] = { { "partNumber", num }, { "uploadId", upload_id } };
    struct reply r;
    char *url;

    snprintf(num, sizeof(num), "%" PRIu32, number);
    url = presign("PUT", key, params, 2, time(NULL), URL_LIFE);
    if (!url)
        return 0;
    http("PUT", url, p, len, NULL, &r);
    memcpy(etag, r.etag, S3_ETAG_MAX + 1);
    sbuf_release(&r.body);
    free(url);
    return r.status;
}

/* ---- the object's bytes ---- */

static uint8_t *make_bytes(size_t n, uint64_t seed)
{
    uint8_t *p = xmalloc(n);
    uint64_t x = seed | 1;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
    return p;
}

struct collect {
    struct sbuf got;
    size_t calls;
    size_t stop_after; /* bytes; 0: never stop */
};

static bool collect(void *ctx, const void *p, size_t n)
{
    struct collect *c = ctx;

    c->calls++;
    if (c->stop_after && c->got.len >= c->stop_after)
        return false;
    return sbuf_add(&c->got, p, n);
}

static bool read_equals(const char *key, uint64_t first, uint64_t last, const uint8_t *want)
{
    struct collect c = { 0 };
    enum s3_rc rc;
    bool same;

    sbuf_init(&c.got, 16 * MIB);
    rc = s3_object_read(client, key, first, last, collect, &c);
    same = rc == S3_OK && c.got.len == last - first + 1 &&
           memcmp(c.got.buf, want + first, c.got.len) == 0;
    if (!same)
        printf("# read %" PRIu64 "-%" PRIu64 ": %s, %zu bytes\n", first, last, s3_rc_name(rc),
               c.got.len);
    sbuf_release(&c.got);
    return same;
}

static char *key_of(const char *name)
{
    return xasprintf("test/%s/%s", run_id, name);
}

/* ---- the cases ---- */

static void test_bucket(void)
{
    is_int(s3_bucket_create(client), S3_OK, "CreateBucket");
    is_int(s3_bucket_create(client), S3_OK, "CreateBucket again: already ours is fine");
    is_int(s3_bucket_cors_get(client), S3_NOT_FOUND, "a new bucket has no CORS rules");
    is_int(s3_bucket_cors_put(client, "<CORSConfiguration><CORSRule>"
                                      "<AllowedOrigin>*</AllowedOrigin>"
                                      "<AllowedMethod>PUT</AllowedMethod>"
                                      "<ExposeHeader>ETag</ExposeHeader>"
                                      "</CORSRule></CORSConfiguration>"),
           S3_OK, "PutBucketCors (with its Content-MD5)");
    is_int(s3_bucket_cors_get(client), S3_OK, "then it has some");
    is_int(s3_bucket_lifecycle_get(client), S3_NOT_FOUND, "a new bucket has no lifecycle rules");
    is_int(s3_bucket_lifecycle_put(
               client, "<LifecycleConfiguration><Rule><ID>t</ID><Filter><Prefix>files/</Prefix>"
                       "</Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload>"
                       "<DaysAfterInitiation>30</DaysAfterInitiation>"
                       "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>"),
           S3_OK, "PutBucketLifecycleConfiguration: abandoned uploads dropped after 30 days");
    is_int(s3_bucket_lifecycle_get(client), S3_OK, "then it has one");
}

/* The MASV path: create by a pre-signed POST, three parts by pre-signed PUTs, complete. */
static void test_multipart(void)
{
    const size_t sizes[3] = { 5 * MIB, 5 * MIB, 1000 };
    const size_t total = sizes[0] + sizes[1] + sizes[2];
    uint8_t *data = make_bytes(total, 42);
    char *key = key_of("multipart/data.bin"), *url, *upload_id = NULL;
    struct sigv4_param uploads[] = { { "uploads", NULL } };
    struct s3_part sent[3] = { 0 };
    struct s3_parts listed = { 0 };
    struct s3_object obj = { 0 };
    char etag[S3_ETAG_MAX + 1] = "";
    struct reply r;
    size_t at = 0;
    bool same = true;

    url = presign("POST", key, uploads, 1, time(NULL), URL_LIFE);
    http("POST", url, NULL, 0, NULL, &r);
    is_int(r.status, 200, "pre-signed POST ?uploads without credentials");
    ok(s3_answer_upload_id((struct str){ r.body.buf, r.body.len }, &upload_id),
       "its answer carries an UploadId");
    sbuf_release(&r.body);
    free(url);
    if (!upload_id)
        goto out;

    for (uint32_t i = 0; i < 3; i++) {
        sent[i].number = i + 1;
        sent[i].size = sizes[i];
        is_int(put_part(key, upload_id, i + 1, data + at, sizes[i], sent[i].etag), 200,
               "pre-signed PUT of part %u (%zu bytes)", i + 1, sizes[i]);
        ok(sent[i].etag[0] == '"', "part %u answered its ETag", i + 1);
        at += sizes[i];
    }

    /* The client lists two parts a page: the third comes from a second page. */
    is_int(s3_upload_list_parts(client, key, upload_id, &listed), S3_OK, "ListParts, paged");
    is_int(listed.n, 3, "three parts listed");
    for (size_t i = 0; i < listed.n && i < 3; i++)
        same = same && listed.v[i].number == sent[i].number && listed.v[i].size == sent[i].size &&
               strcmp(listed.v[i].etag, sent[i].etag) == 0;
    ok(same, "numbers, sizes and ETags listed are those sent");

    is_int(s3_upload_complete(client, key, upload_id, sent, 3, etag), S3_OK,
           "CompleteMultipartUpload with the ETags");
    ok(strlen(etag) > 4 && strcmp(etag + strlen(etag) - 3, "-3\"") == 0,
       "the object's ETag names its three parts (%s)", etag);
    is_int(s3_object_head(client, key, &obj), S3_OK, "HeadObject");
    is_int(obj.size, total, "the object has the parts' size");
    is_str(obj.etag, etag, "HEAD gives the completed ETag");

    ok(read_equals(key, 5 * MIB - 1000, 5 * MIB + 999, data),
       "ranged GET across the parts' boundary");
    ok(read_equals(key, 0, total - 1, data), "ranged GET of the whole object, streamed");
    ok(read_equals(key, total - 1, total - 1, data), "ranged GET of the last byte");
    {
        struct collect c = { .stop_after = 1 };

        sbuf_init(&c.got, 16 * MIB);
        is_int(s3_object_read(client, key, 0, total - 1, collect, &c), S3_ERROR,
               "a sink that stops ends the transfer");
        sbuf_release(&c.got);
        sbuf_init(&c.got, 16 * MIB);
        c.stop_after = 0;
        is_int(s3_object_read(client, key, total - 10, total + 10, collect, &c), S3_ERROR,
               "a range past the end is refused");
        is_int(c.got.len, 0, "and nothing of it reached the sink");
        is_int(s3_object_read(client, key, total, total + 10, collect, &c), S3_ERROR,
               "a range after the end is refused");
        sbuf_release(&c.got);
    }

    /* A download URL as a MASV client gets it, with Range. */
    url = presign("GET", key, NULL, 0, time(NULL), URL_LIFE);
    http("GET", url, NULL, 0, "100-199", &r);
    is_int(r.status, 206, "pre-signed GET with Range: 206");
    ok(r.body.len == 100 && memcmp(r.body.buf, data + 100, 100) == 0,
       "pre-signed GET with Range: the bytes");
    sbuf_release(&r.body);

    /* A changed signature, a changed key, an expired URL: refused. */
    url[strlen(url) - 1] = url[strlen(url) - 1] == '0' ? '1' : '0';
    http("GET", url, NULL, 0, NULL, &r);
    is_int(r.status, 403, "a tampered signature is refused");
    sbuf_release(&r.body);
    free(url);
    {
        char *other = key_of("multipart/data.bia");

        url = presign("GET", key, NULL, 0, time(NULL), URL_LIFE);
        memcpy(strstr(url, "data.bin"), "data.bia", 8);
        http("GET", url, NULL, 0, NULL, &r);
        is_int(r.status, 403, "a URL whose key was changed is refused");
        sbuf_release(&r.body);
        free(url);
        free(other);
    }
    url = presign("GET", key, NULL, 0, time(NULL) - 3600, 60);
    http("GET", url, NULL, 0, NULL, &r);
    is_int(r.status, 403, "an expired URL is refused");
    sbuf_release(&r.body);
    free(url);
    url = presign("PUT", key, NULL, 0, time(NULL), URL_LIFE);
    http("GET", url, NULL, 0, NULL, &r);
    is_int(r.status, 403, "a URL signed for PUT does not GET");
    sbuf_release(&r.body);
    free(url);

    /* Deleting. */
    is_int(s3_object_delete(client, key), S3_OK, "DeleteObject");
    is_int(s3_object_head(client, key, &obj), S3_NOT_FOUND, "HEAD after delete: not found");
    {
        struct collect c = { 0 };

        sbuf_init(&c.got, MIB);
        is_int(s3_object_read(client, key, 0, 9, collect, &c), S3_NOT_FOUND,
               "GET after delete: not found");
        sbuf_release(&c.got);
    }
    is_int(s3_object_delete(client, key), S3_OK, "DeleteObject of a missing object is ok");
out:
    s3_parts_release(&listed);
    free(upload_id);
    free(key);
    free(data);
}

static void test_abort(void)
{
    char *key = key_of("abort"), *upload_id = NULL;
    uint8_t *data = make_bytes(1000, 7);
    struct s3_part p = { .number = 1 };
    struct s3_parts listed = { 0 };

    is_int(s3_upload_create(client, key, &upload_id), S3_OK, "CreateMultipartUpload");
    ok(upload_id && upload_id[0], "with an upload id");
    if (!upload_id)
        goto out;
    is_int(put_part(key, upload_id, 1, data, 1000, p.etag), 200, "a part of the client's upload");
    is_int(s3_upload_list_parts(client, key, upload_id, &listed), S3_OK, "ListParts");
    is_int(listed.n, 1, "one part");
    s3_parts_release(&listed);
    is_int(s3_upload_abort(client, key, upload_id), S3_OK, "AbortMultipartUpload");
    is_int(s3_upload_list_parts(client, key, upload_id, &listed), S3_NOT_FOUND,
           "ListParts after abort: not found");
    is_int(s3_upload_abort(client, key, upload_id), S3_NOT_FOUND, "abort again: not found");
    /* AWS answers 404 NoSuchUpload; radosgw 16 answers 500 InternalError ("completion already
     * in progress"), which reads as transient. Either way it must not succeed. */
    ok(s3_upload_complete(client, key, upload_id, &p, 1, NULL) != S3_OK,
       "complete after abort fails");
out:
    s3_parts_release(&listed);
    free(upload_id);
    free(key);
    free(data);
}

static void test_complete_refused(void)
{
    char *key = key_of("wrong-etag"), *upload_id = NULL;
    uint8_t *data = make_bytes(6 * MIB, 9);
    struct s3_part parts[2] = { { .number = 1 }, { .number = 2 } };
    struct s3_object obj;

    is_int(s3_upload_create(client, key, &upload_id), S3_OK, "CreateMultipartUpload");
    if (!upload_id)
        goto out;
    is_int(put_part(key, upload_id, 1, data, 5 * MIB, parts[0].etag), 200, "part 1");
    is_int(put_part(key, upload_id, 2, data + 5 * MIB, MIB, parts[1].etag), 200, "part 2");
    {
        struct s3_part wrong[2];

        memcpy(wrong, parts, sizeof(wrong));
        snprintf(wrong[1].etag, sizeof(wrong[1].etag), "\"%032d\"", 0);
        is_int(s3_upload_complete(client, key, upload_id, wrong, 2, NULL), S3_CONFLICT,
               "complete with a wrong ETag: conflict");
        wrong[1] = parts[1];
        wrong[1].number = 3;
        is_int(s3_upload_complete(client, key, upload_id, wrong, 2, NULL), S3_CONFLICT,
               "complete naming a part never sent: conflict");
        is_int(s3_upload_complete(client, key, upload_id, (struct s3_part[]){ parts[1], parts[0] },
                                  2, NULL),
               S3_CONFLICT, "parts out of order: conflict");
    }
    is_int(s3_object_head(client, key, &obj), S3_NOT_FOUND, "no object after a refused complete");
    is_int(s3_upload_complete(client, key, upload_id, parts, 2, NULL), S3_OK,
           "the upload still completes with the right ETags");
    is_int(s3_object_head(client, key, &obj), S3_OK, "HEAD");
    is_int(obj.size, 6 * MIB, "its size");
    is_int(s3_object_delete(client, key), S3_OK, "DeleteObject");
out:
    free(upload_id);
    free(key);
    free(data);
}

/* Keys with spaces, '+', '~' and non-ASCII reach the store intact, signed or through curl. */
static void test_odd_key(void)
{
    char *key = key_of("odd/a b+c~\xc3\xbc=&%.txt"), *url;
    uint8_t *data = make_bytes(3000, 11);
    struct s3_object obj;
    struct reply r;

    url = presign("PUT", key, NULL, 0, time(NULL), URL_LIFE);
    http("PUT", url, data, 3000, NULL, &r);
    is_int(r.status, 200, "pre-signed PUT of an object with an odd key");
    sbuf_release(&r.body);
    free(url);
    is_int(s3_object_head(client, key, &obj), S3_OK, "the client finds it by the same key");
    is_int(obj.size, 3000, "its size");
    ok(read_equals(key, 10, 2999, data), "its bytes");
    is_int(s3_object_delete(client, key), S3_OK, "DeleteObject");
    free(key);
    free(data);
}

static void test_errors(const struct s3_cfg *good)
{
    struct s3_cfg cfg = *good;
    struct s3_client *c;
    struct s3_object obj;
    char *key = key_of("none");

    cfg.secret_key = "not-the-secret";
    c = s3_client_new(&cfg);
    is_int(s3_object_head(c, key, &obj), S3_ERROR, "wrong credentials: an error, not a retry");
    s3_client_free(c);
    cfg.secret_key = good->secret_key;
    cfg.endpoint = "http://127.0.0.1:1";
    c = s3_client_new(&cfg);
    is_int(s3_object_head(c, key, &obj), S3_TRANSIENT, "no server: transient");
    s3_client_free(c);
    is_int(s3_object_head(client, "a/../b", &obj), S3_ERROR, "a key that cannot be signed");
    free(key);
}

int main(void)
{
    const char *url = getenv("CONSIGN_TEST_S3");
    struct s3_cfg cfg;
    char why[256];

    if (!url || !*url) {
        printf("# CONSIGN_TEST_S3 is not set: run the tests with tests/run.sh (make test), "
               "which starts radosgw (scripts/s3.sh)\n");
        ok(false, "an S3 server to test against");
        return done_testing();
    }
    if (!s3_cfg_from_env(&cfg, url, why, sizeof(why))) {
        printf("# %s\n", why);
        ok(false, "CONSIGN_TEST_S3 and the AWS_* variables parse");
        return done_testing();
    }
    cfg.parts_page = 2;
    client = s3_client_new(&cfg);
    snprintf(run_id, sizeof(run_id), "%ld-%d", (long)time(NULL), (int)getpid());

    test_bucket();
    test_multipart();
    test_abort();
    test_complete_refused();
    test_odd_key();
    test_errors(&cfg);

    s3_client_free(client);
    s3_cfg_release(&cfg);
    return done_testing();
}
