/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The S3 client without an S3 server: the configuration URL, the XML answer parsers, and the
 * calls against a fake HTTP server on the loopback that answers what a real store rarely does
 * (200 with an error document, throttling, a range ignored, an answer past its cap, a short
 * body), recording the requests so that their shape (canonical query, payload hash) is checked.
 */
#include "core/compat.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blob/s3/client.h"
#include "core/mem.h"
#include "tap.h"

/* ---- configuration ---- */

static void test_cfg(void)
{
    static const struct {
        const char *url;
        const char *what;
    } bad[] = {
        { "", "empty" },
        { "http://bucket", "not s3://" },
        { "s3://", "no bucket" },
        { "s3://ab", "bucket too short" },
        { "s3://Bucket", "uppercase bucket" },
        { "s3://bucket/prefix", "key prefix" },
        { "s3://key:secret@bucket", "credentials in the URL" },
        { "s3://bucket?endpoint=ftp://h", "endpoint scheme" },
        { "s3://bucket?endpoint=http://h/path", "endpoint with a path" },
        { "s3://bucket?endpoint=http%3A%2F%2Fh%3A99999", "endpoint port out of range" },
        { "s3://bucket?endpoint=", "empty endpoint" },
        { "s3://bucket?endpoint=http%3", "bad escape" },
        { "s3://bucket?endpoint=http%00", "NUL escape" },
        { "s3://bucket?region=us east", "region with a space" },
        { "s3://bucket?region=a&region=b", "region twice" },
        { "s3://bucket?style=path", "unknown parameter" },
    };
    struct s3_cfg cfg;
    char why[256], long_url[3000];

    ok(s3_cfg_parse(&cfg, "s3://consign-data?endpoint=http://127.0.0.1:7480&region=eu-1", "ak",
                    "sk", why, sizeof(why)),
       "full URL parses");
    is_str(cfg.bucket, "consign-data", "bucket");
    is_str(cfg.endpoint, "http://127.0.0.1:7480", "endpoint");
    is_str(cfg.region, "eu-1", "region");
    is_str(cfg.access_key, "ak", "access key");
    is_str(cfg.secret_key, "sk", "secret key");
    is_int(cfg.parts_page, 1000, "a thousand parts a page");
    s3_cfg_release(&cfg);
    ok(cfg.bucket == NULL && cfg.secret_key == NULL, "release empties the configuration");

    ok(s3_cfg_parse(&cfg, "s3://consign-data", "ak", "sk", why, sizeof(why)), "bucket alone");
    is_str(cfg.region, "us-east-1", "default region");
    is_str(cfg.endpoint, "https://s3.us-east-1.amazonaws.com", "default endpoint: AWS");
    s3_cfg_release(&cfg);
    ok(s3_cfg_parse(&cfg, "s3://b.c-d?region=eu-west-3&endpoint=https%3A%2F%2Fs3.example.com", "ak",
                    "sk", why, sizeof(why)) &&
           strcmp(cfg.endpoint, "https://s3.example.com") == 0,
       "percent-encoded endpoint, parameters in any order");
    s3_cfg_release(&cfg);

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        why[0] = '\0';
        ok(!s3_cfg_parse(&cfg, bad[i].url, "ak", "sk", why, sizeof(why)) && why[0] &&
               cfg.bucket == NULL,
           "refused: %s (%s)", bad[i].what, why);
    }
    memset(long_url, 'a', sizeof(long_url) - 1);
    long_url[sizeof(long_url) - 1] = '\0';
    memcpy(long_url, "s3://", 5);
    ok(!s3_cfg_parse(&cfg, long_url, "ak", "sk", why, sizeof(why)) && strstr(why, "longer"),
       "refused: a URL past 2048 bytes (%s)", why);
    ok(!s3_cfg_parse(&cfg, "s3://bucket", NULL, "sk", why, sizeof(why)) &&
           strstr(why, "AWS_ACCESS_KEY_ID"),
       "refused: no access key, and the message names the variable (%s)", why);
    ok(!s3_cfg_parse(&cfg, "s3://bucket", "a/b", "sk", why, sizeof(why)),
       "refused: access key with '/' (%s)", why);
    ok(!s3_cfg_parse(&cfg, "s3://bucket", "ak", "", why, sizeof(why)) &&
           strstr(why, "AWS_SECRET_ACCESS_KEY"),
       "refused: no secret, and the message names the variable (%s)", why);
    ok(!s3_cfg_parse(&cfg, "s3://bucket?region=x y", "ak", "hunter2-secret", why, sizeof(why)) &&
           !strstr(why, "hunter2"),
       "a message never quotes the secret");

    setenv("AWS_ACCESS_KEY_ID", "env-ak", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-sk", 1);
    ok(s3_cfg_from_env(&cfg, "s3://bucket", why, sizeof(why)) &&
           strcmp(cfg.access_key, "env-ak") == 0 && strcmp(cfg.secret_key, "env-sk") == 0,
       "credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    s3_cfg_release(&cfg);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    ok(!s3_cfg_from_env(&cfg, "s3://bucket", why, sizeof(why)), "no AWS_SECRET_ACCESS_KEY");
}

/* ---- answers ---- */

/* A truncated ListParts page laid out the way AWS documents it (pretty-printed, with an
 * Initiator and an Owner whose <ID>s must not be taken for anything else). */
static const char aws_parts[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <Bucket>example-bucket</Bucket>\n  <Key>example-object</Key>\n"
    "  <UploadId>VXBsb2FkIElE</UploadId>\n"
    "  <Initiator>\n    <ID>arn:aws:iam::111122223333:user/someone</ID>\n"
    "    <DisplayName>someone</DisplayName>\n  </Initiator>\n"
    "  <Owner>\n    <ID>75aa57f09aa0c8ca</ID>\n    <DisplayName>owner</DisplayName>\n  </Owner>\n"
    "  <StorageClass>STANDARD</StorageClass>\n  <PartNumberMarker>1</PartNumberMarker>\n"
    "  <NextPartNumberMarker>3</NextPartNumberMarker>\n  <MaxParts>2</MaxParts>\n"
    "  <IsTruncated>true</IsTruncated>\n"
    "  <Part>\n    <PartNumber>2</PartNumber>\n"
    "    <LastModified>2010-11-10T20:48:34.000Z</LastModified>\n"
    "    <ETag>\"7778aef83f66abc1fa1e8477f296d394\"</ETag>\n    <Size>10485760</Size>\n"
    "  </Part>\n"
    "  <Part>\n    <PartNumber>3</PartNumber>\n"
    "    <LastModified>2010-11-10T20:48:33.000Z</LastModified>\n"
    "    <ETag>\"aaaa18db4cc2f85cedef654fccc4a4x8\"</ETag>\n    <Size>10485760</Size>\n"
    "  </Part>\n"
    "</ListPartsResult>\n";

/* The last page as radosgw writes it: one line, ETags with &quot;, an empty Owner. */
static const char rgw_parts[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListPartsResult "
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>consign-test</Bucket><Key>lp</Key>"
    "<UploadId>2~x7aTVDsrA4uX0Zyp14KRj4-m1zC7t1u</UploadId><StorageClass>STANDARD</StorageClass>"
    "<PartNumberMarker>2</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker>"
    "<MaxParts>2</MaxParts><IsTruncated>false</IsTruncated><Owner><ID></ID><DisplayName>"
    "</DisplayName></Owner><Part><LastModified>2026-11-22T12:29:40.636Z</LastModified>"
    "<PartNumber>3</PartNumber><ETag>&quot;6d0bb00954ceb7fbee436bb55a8397a9&quot;</ETag>"
    "<Size>100</Size></Part></ListPartsResult>";

static bool parts_of(const char *xml, struct s3_parts *p, bool *truncated, uint32_t *next)
{
    return s3_answer_parts(str_from(xml), p, truncated, next);
}

static void test_answers(void)
{
    struct s3_parts p = { 0 };
    bool truncated = false;
    uint32_t next = 0;
    char *id = NULL;
    char code[S3_CODE_MAX + 1], etag[S3_ETAG_MAX + 1];

    ok(s3_answer_upload_id(
           STR_LIT("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
                   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n  <Bucket>b</Bucket>\n"
                   "  <Key>k</Key>\n  <UploadId>VXBsb2Fk&amp;SUQ</UploadId>\n"
                   "</InitiateMultipartUploadResult>"),
           &id),
       "UploadId found");
    is_str(id, "VXBsb2Fk&SUQ", "UploadId with its entity decoded");
    free(id);
    id = NULL;
    ok(!s3_answer_upload_id(STR_LIT("<Error><Code>AccessDenied</Code></Error>"), &id),
       "no UploadId in an error");
    ok(!s3_answer_upload_id(STR_LIT("<InitiateMultipartUploadResult><UploadId></UploadId>"
                                    "</InitiateMultipartUploadResult>"),
                            &id),
       "an empty UploadId is refused");
    ok(!s3_answer_upload_id(STR_LIT("<InitiateMultipartUploadResult><UploadId>abc"), &id),
       "an unterminated UploadId is refused");

    ok(parts_of(aws_parts, &p, &truncated, &next), "AWS-style ListParts page");
    ok(truncated && next == 3, "truncated, next marker 3");
    ok(p.n == 2 && p.v[0].number == 2 && p.v[1].number == 3 && p.v[0].size == 10485760,
       "two parts with numbers and sizes");
    is_str(p.n ? p.v[0].etag : NULL, "\"7778aef83f66abc1fa1e8477f296d394\"", "ETag with quotes");
    ok(parts_of(rgw_parts, &p, &truncated, &next), "radosgw-style ListParts page");
    ok(!truncated && p.n == 3 && p.v[2].number == 3 && p.v[2].size == 100, "appended, last page");
    is_str(p.n == 3 ? p.v[2].etag : NULL, "\"6d0bb00954ceb7fbee436bb55a8397a9\"", "&quot; decoded");
    s3_parts_release(&p);

    ok(parts_of("<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>", &p,
                &truncated, &next) &&
           p.n == 0,
       "no parts");
    ok(!parts_of("<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>", &p,
                 &truncated, &next),
       "truncated without a next marker: refused");
    ok(!parts_of("<ListPartsResult><Part><PartNumber>0</PartNumber><ETag>\"e\"</ETag><Size>1"
                 "</Size></Part></ListPartsResult>",
                 &p, &truncated, &next),
       "part number 0: refused");
    ok(!parts_of("<ListPartsResult><Part><PartNumber>10001</PartNumber><ETag>\"e\"</ETag><Size>1"
                 "</Size></Part></ListPartsResult>",
                 &p, &truncated, &next),
       "part number 10001: refused");
    ok(!parts_of("<ListPartsResult><Part><PartNumber>1</PartNumber><Size>1</Size></Part>"
                 "</ListPartsResult>",
                 &p, &truncated, &next),
       "part without an ETag: refused");
    ok(!parts_of("<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&bogus;</ETag><Size>1"
                 "</Size></Part></ListPartsResult>",
                 &p, &truncated, &next),
       "unknown entity: refused");
    ok(!parts_of("<ListPartsResult><Part><PartNumber>1</PartNumber><ETag><![CDATA[x]]></ETag>"
                 "<Size>1</Size></Part></ListPartsResult>",
                 &p, &truncated, &next),
       "markup inside a value: refused");
    ok(!parts_of("<Error><Part><PartNumber>1</PartNumber></Part></Error>", &p, &truncated, &next),
       "parts of another document: refused");
    s3_parts_release(&p);

    ok(s3_answer_error(STR_LIT("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>"
                               "NoSuchUpload</Code>\n  <Message>gone</Message>\n</Error>"),
                       code) &&
           strcmp(code, "NoSuchUpload") == 0,
       "error document and its code");
    ok(s3_answer_error(STR_LIT("\r\n  <!-- x --><Error/>"), code) && code[0] == '\0',
       "an error without a code, after space and a comment");
    ok(!s3_answer_error(STR_LIT("<ListPartsResult><Error><Code>X</Code></Error>"
                                "</ListPartsResult>"),
                        code),
       "an <Error> inside another document is not an error document");
    ok(!s3_answer_error(STR_LIT(""), code), "empty answer: not an error document");

    ok(s3_answer_etag(STR_LIT("<CompleteMultipartUploadResult><Location>l</Location><ETag>&quot;"
                              "3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
                              "</CompleteMultipartUploadResult>"),
                      etag),
       "completed ETag");
    is_str(etag, "\"3858f62230ac3c915f300c664312c11f-9\"", "completed ETag decoded");
    ok(s3_answer_etag(STR_LIT("<CompleteMultipartUploadResult><ETag>b66957d6-1</ETag>"
                              "</CompleteMultipartUploadResult>"),
                      etag) &&
           strcmp(etag, "\"b66957d6-1\"") == 0,
       "an unquoted ETag (radosgw) is quoted");
    ok(!s3_answer_etag(STR_LIT("<CompleteMultipartUploadResult><ETag></ETag>"
                               "</CompleteMultipartUploadResult>"),
                       etag),
       "an empty ETag (radosgw's first answer) is no ETag");
    {
        char text[64];

        ok(s3_answer_upload_id(
               STR_LIT("<InitiateMultipartUploadResult><UploadId>&#65;&#x42;"
                       "&#xe9;&#x1F4E6;</UploadId></InitiateMultipartUploadResult>"),
               &id) &&
               strcmp(id, "AB\xc3\xa9\xf0\x9f\x93\xa6") == 0,
           "character references decoded to UTF-8");
        free(id);
        id = NULL;
        snprintf(text, sizeof(text), "<InitiateMultipartUploadResult><UploadId>&#0;</UploadId>");
        ok(!s3_answer_upload_id(str_from(text), &id), "&#0; refused");
        ok(!s3_answer_upload_id(STR_LIT("<InitiateMultipartUploadResult><UploadId>&#xD800;"
                                        "</UploadId></InitiateMultipartUploadResult>"),
                                &id),
           "a surrogate reference refused");
    }
}

/* ---- a fake store ---- */

#define FAKE_MAX 8

struct fake {
    int fd;
    int port;
    pthread_t thread;
    char *replies[FAKE_MAX]; /* raw HTTP answers, one connection each */
    size_t n;
    char *requests[FAKE_MAX]; /* what came, head and body */
    size_t served;
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;

    for (size_t i = 0; i < f->n; i++) {
        int c = accept(f->fd, NULL, NULL);
        struct sbuf req;
        char buf[4096];
        size_t want = SIZE_MAX;

        if (c < 0)
            break;
        sbuf_init(&req, 4u << 20);
        while (req.len < want) {
            ssize_t got = read(c, buf, sizeof(buf));
            char *end;

            if (got <= 0)
                break;
            sbuf_add(&req, buf, (size_t)got);
            end = req.buf ? strstr(req.buf, "\r\n\r\n") : NULL;
            if (end && want == SIZE_MAX) {
                char *cl = strcasestr(req.buf, "\r\ncontent-length:");
                uint64_t n = 0;

                if (cl && cl < end)
                    n = strtoull(cl + 17, NULL, 10);
                want = (size_t)(end + 4 - req.buf) + n;
            }
        }
        f->requests[i] = sbuf_detach(&req, NULL);
        if (f->replies[i]) {
            size_t len = strlen(f->replies[i]), off = 0;

            while (off < len) {
                ssize_t w = write(c, f->replies[i] + off, len - off);

                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
        close(c);
        f->served++;
    }
    return NULL;
}

/* Starts a server that answers each of the NULL-terminated @replies once, in order. */
static void fake_start(struct fake *f, char **replies)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);

    memset(f, 0, sizeof(*f));
    while (replies[f->n] && f->n < FAKE_MAX) {
        f->replies[f->n] = replies[f->n];
        f->n++;
    }
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->fd, 8) != 0 ||
        getsockname(f->fd, (struct sockaddr *)&a, &len) != 0) {
        perror("fake server");
        exit(99);
    }
    f->port = ntohs(a.sin_port);
    pthread_create(&f->thread, NULL, fake_serve, f);
}

/* Waits until every answer went out; the requests can then be read. */
static void fake_join(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->fd);
}

static void fake_free(struct fake *f)
{
    for (size_t i = 0; i < FAKE_MAX; i++) {
        free(f->replies[i]);
        free(f->requests[i]);
    }
}

static struct s3_client *fake_client(const struct fake *f)
{
    struct s3_cfg cfg;
    struct s3_client *c;
    char url[128], why[256];

    snprintf(url, sizeof(url), "s3://bkt?endpoint=http://127.0.0.1:%d", f->port);
    if (!s3_cfg_parse(&cfg, url, "AKID", "SECRET", why, sizeof(why))) {
        printf("# %s\n", why);
        exit(99);
    }
    c = s3_client_new(&cfg);
    s3_cfg_release(&cfg);
    return c;
}

/* A whole HTTP answer (malloc'd) with @status, @headers (each ending "\r\n") and @body. */
static char *answer(int status, const char *headers, const char *body)
{
    return xasprintf("HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n%s",
                     status, strlen(body), headers, body);
}

struct sink {
    struct sbuf got;
    int calls;
};

static bool sink(void *ctx, const void *p, size_t n)
{
    struct sink *s = ctx;

    s->calls++;
    return sbuf_add(&s->got, p, n);
}

#define COMPLETE_OK                                                                                \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult><Location>x"       \
    "</Location><Bucket>bkt</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag>"                    \
    "</CompleteMultipartUploadResult>"

static bool has(const char *request, const char *text)
{
    return request && strstr(request, text) != NULL;
}

static void test_complete(void)
{
    struct s3_part parts[2] = { { 1, 5, "\"e1\"" }, { 2, 5, "\"e&2\"" } };
    struct fake f;
    struct s3_client *c;
    char etag[S3_ETAG_MAX + 1] = "", hash[SIGV4_HEX_LEN + 1], *line;
    const char *body;

    /* S3 may answer a completion 200, keep the connection alive with spaces, then send an
     * error document. */
    fake_start(&f, (char *[]){
                       answer(200, "", "   \n<Error><Code>InternalError</Code></Error>"),
                       answer(200, "", "<Error><Code>InvalidPart</Code></Error>"),
                       answer(200, "", "   \n" COMPLETE_OK),
                       NULL,
                   });
    c = fake_client(&f);
    is_int(s3_upload_complete(c, "dir/k", "u 1", parts, 2, etag), S3_TRANSIENT,
           "200 with <Error> InternalError: transient");
    is_int(s3_upload_complete(c, "dir/k", "u 1", parts, 2, etag), S3_CONFLICT,
           "200 with <Error> InvalidPart: conflict");
    is_int(s3_upload_complete(c, "dir/k", "u 1", parts, 2, etag), S3_OK,
           "200 after keep-alive spaces: completed");
    is_str(etag, "\"abc-2\"", "completed ETag");
    fake_join(&f);
    ok(has(f.requests[0], "POST /bkt/dir/k?uploadId=u%201 HTTP/1.1"),
       "the upload id is encoded in the query");
    body = f.requests[0] ? strstr(f.requests[0], "\r\n\r\n") : NULL;
    body = body ? body + 4 : "";
    is_str(body,
           "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part>"
           "<PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part><Part><PartNumber>2"
           "</PartNumber><ETag>&quot;e&amp;2&quot;</ETag></Part></CompleteMultipartUpload>",
           "the parts list, ETags escaped");
    sigv4_sha256_hex(str_from(body), hash);
    line = xasprintf("x-amz-content-sha256: %s\r\n", hash);
    ok(has(f.requests[0], line), "the body's SHA-256 is sent as x-amz-content-sha256");
    ok(has(f.requests[0], "Content-Type: application/xml\r\n"), "as XML");
    ok(has(f.requests[0], "Authorization: AWS4-HMAC-SHA256 Credential=AKID/") &&
           has(f.requests[0], "/us-east-1/s3/aws4_request"),
       "signed by libcurl with SigV4 for s3 in the region");
    free(line);
    fake_free(&f);
    s3_client_free(c);

    c = fake_client(&f); /* no server is needed: refused before sending */
    parts[1].number = 1;
    is_int(s3_upload_complete(c, "k", "u", parts, 2, NULL), S3_CONFLICT,
           "parts not in increasing order: refused");
    parts[1].number = 2;
    parts[1].etag[0] = '\0';
    is_int(s3_upload_complete(c, "k", "u", parts, 2, NULL), S3_CONFLICT,
           "a part without ETag: refused");
    is_int(s3_upload_complete(c, "k", "u", parts, 0, NULL), S3_CONFLICT, "no parts: refused");
    s3_client_free(c);
}

static void test_list_and_create(void)
{
    struct s3_parts listed = { 0 };
    struct fake f;
    struct s3_client *c;
    char *id = NULL;
    static const char page1[] =
        "<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2"
        "</NextPartNumberMarker><Part><PartNumber>1</PartNumber><ETag>\"a\"</ETag><Size>5</Size>"
        "</Part><Part><PartNumber>2</PartNumber><ETag>\"b\"</ETag><Size>5</Size></Part>"
        "</ListPartsResult>";
    static const char page2[] =
        "<ListPartsResult><IsTruncated>false</IsTruncated><Part><PartNumber>3</PartNumber><ETag>"
        "\"c\"</ETag><Size>1</Size></Part></ListPartsResult>";

    fake_start(&f, (char *[]){
                       answer(200, "", page1),
                       answer(200, "", page2),
                       answer(200, "", page1),
                       answer(200, "", page1),
                       answer(200, "",
                              "<InitiateMultipartUploadResult><UploadId>2~x</UploadId>"
                              "</InitiateMultipartUploadResult>"),
                       answer(503, "", "<Error><Code>SlowDown</Code></Error>"),
                       answer(404, "", "<Error><Code>NoSuchUpload</Code></Error>"),
                       NULL,
                   });
    c = fake_client(&f);
    is_int(s3_upload_list_parts(c, "k", "u", &listed), S3_OK, "two pages listed");
    ok(listed.n == 3 && listed.v[2].number == 3, "three parts");
    s3_parts_release(&listed);
    is_int(s3_upload_list_parts(c, "k", "u", &listed), S3_ERROR,
           "a next marker that does not move on: error, not a loop");
    s3_parts_release(&listed);
    is_int(s3_upload_create(c, "a b/c", &id), S3_OK, "CreateMultipartUpload");
    is_str(id, "2~x", "its upload id");
    is_int(s3_upload_create(c, "k", &id), S3_TRANSIENT, "503 SlowDown: transient");
    is_int(s3_upload_abort(c, "k", "u"), S3_NOT_FOUND, "404 NoSuchUpload: not found");
    fake_join(&f);
    ok(has(f.requests[0], "GET /bkt/k?max-parts=1000&uploadId=u HTTP/1.1"),
       "first page: the query sorted, no marker");
    ok(has(f.requests[1], "GET /bkt/k?max-parts=1000&part-number-marker=2&uploadId=u HTTP/1.1"),
       "second page from the marker");
    ok(has(f.requests[1], "x-amz-content-sha256: "
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"),
       "a GET carries the empty payload's hash");
    ok(has(f.requests[4], "POST /bkt/a%20b/c?uploads= HTTP/1.1"),
       "create: key encoded, 'uploads=' as SigV4 wants it");
    ok(has(f.requests[4], "Content-Type: application/octet-stream\r\n"),
       "create: the object's type");
    ok(has(f.requests[6], "DELETE /bkt/k?uploadId=u HTTP/1.1"), "abort is a DELETE");
    fake_free(&f);
    free(id);
    s3_client_free(c);
}

static void test_read(void)
{
    struct fake f;
    struct s3_client *c;
    struct s3_object obj;
    struct sink s;
    char *big = xmalloc(S3_ANSWER_MAX + 2);

    memset(big, 'x', S3_ANSWER_MAX + 1);
    big[S3_ANSWER_MAX + 1] = '\0';
    fake_start(&f, (char *[]){
                       answer(206, "Content-Range: bytes 10-19/100\r\n", "0123456789"),
                       answer(200, "", "0123456789"),
                       answer(206, "Content-Range: bytes 11-20/100\r\n", "0123456789"),
                       xasprintf("HTTP/1.1 206 X\r\nConnection: close\r\nContent-Length: 10\r\n"
                                 "Content-Range: bytes 10-19/100\r\n\r\n01234"),
                       answer(404, "", "<Error><Code>NoSuchKey</Code></Error>"),
                       answer(200, "", big),
                       xasprintf("HTTP/1.1 200 X\r\nContent-Length: 12345\r\nETag: \"e\"\r\n\r\n"),
                       answer(409, "", "<Error><Code>BucketAlreadyOwnedByYou</Code></Error>"),
                       NULL,
                   });
    c = fake_client(&f);
    sbuf_init(&s.got, 1024);
    s.calls = 0;
    is_int(s3_object_read(c, "k", 10, 19, sink, &s), S3_OK, "206 with the range asked for");
    is_str(s.got.buf, "0123456789", "its bytes reach the sink");
    sbuf_release(&s.got);
    s.calls = 0;
    is_int(s3_object_read(c, "k", 10, 19, sink, &s), S3_ERROR, "200 to a range: refused");
    is_int(s.calls, 0, "and nothing reached the sink");
    is_int(s3_object_read(c, "k", 10, 19, sink, &s), S3_ERROR, "another range: refused");
    is_int(s.calls, 0, "and nothing reached the sink");
    is_int(s3_object_read(c, "k", 10, 19, sink, &s), S3_TRANSIENT, "a body cut short: transient");
    sbuf_release(&s.got);
    is_int(s3_object_read(c, "k", 0, 9, sink, &s), S3_NOT_FOUND, "404: not found");
    {
        struct s3_parts listed = { 0 };

        is_int(s3_upload_list_parts(c, "k", "u", &listed), S3_ERROR, "an answer past 1 MiB: error");
        s3_parts_release(&listed);
    }
    is_int(s3_object_head(c, "k", &obj), S3_OK, "HEAD");
    ok(obj.size == 12345 && strcmp(obj.etag, "\"e\"") == 0, "HEAD: size and ETag from the headers");
    is_int(s3_bucket_create(c), S3_OK, "409 BucketAlreadyOwnedByYou: ours already");
    fake_join(&f);
    ok(has(f.requests[0], "Range: bytes=10-19\r\n"), "the Range header");
    ok(has(f.requests[7], "PUT /bkt HTTP/1.1") && has(f.requests[7], "Content-Length: 0\r\n"),
       "CreateBucket: PUT of the bucket, empty body, us-east-1 needs no location");
    fake_free(&f);
    free(big);
    s3_client_free(c);
}

int main(void)
{
    test_cfg();
    test_answers();
    test_complete();
    test_list_and_create();
    test_read();
    return done_testing();
}
