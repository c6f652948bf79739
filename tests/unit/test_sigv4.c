/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SigV4 pre-signing against the examples AWS publishes (S3 "Authenticating Requests: Using Query
 * Parameters", the S3 GET Object header example's last steps, the signing-key derivation of the
 * SigV4 reference), then the encoding, sorting, host and refusal rules.
 */
#include "core/compat.h"

#include "blob/s3/sigv4.h"
#include "core/mem.h"
#include "tap.h"

#define AWS_ID "AKIAIOSFODNN7EXAMPLE"
#define AWS_S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AWS_IAM_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_20130524 1369353600

/* A valid path-style request to start each case from. */
static struct sigv4_request base(void)
{
    return (struct sigv4_request){
        .access_key = "ciaccess",
        .secret_key = "cisecret",
        .region = "us-east-1",
        .endpoint = "http://127.0.0.1:7480",
        .method = "PUT",
        .bucket = "consign",
        .key = "files/01ABC",
        .now = T_20130524,
        .expires = 3600,
    };
}

static bool starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends(const char *s, const char *suffix)
{
    return s && strlen(s) >= strlen(suffix) && strcmp(s + strlen(s) - strlen(suffix), suffix) == 0;
}

/* The canonical query string: third line of the canonical request (malloc'd). */
static char *canonical_query(const struct sigv4_request *rq)
{
    struct sigv4_steps steps = { 0 };
    const char *why = NULL;
    char *url = sigv4_presign(rq, &steps, &why), *line = NULL;

    if (url) {
        const char *p = strchr(steps.canonical_request, '\n');
        const char *q = p ? strchr(p + 1, '\n') : NULL;
        const char *e = q ? strchr(q + 1, '\n') : NULL;

        if (e)
            line = xmemdup0(q + 1, (size_t)(e - q - 1));
    }
    free(url);
    sigv4_steps_release(&steps);
    return line;
}

static bool refused(struct sigv4_request rq, const char *what)
{
    const char *why = NULL;
    char *url = sigv4_presign(&rq, NULL, &why);
    bool r = url == NULL && why != NULL;

    ok(r, "refused: %s (%s)", what, why ? why : "accepted");
    free(url);
    return r;
}

static void test_signing_key(void)
{
    uint8_t k[32];
    char hex[65];

    /* SigV4 reference, "derive a signing key": 20120215, us-east-1, iam. */
    sigv4_signing_key(STR_LIT(AWS_IAM_SECRET), "20120215", "us-east-1", "iam", k);
    hex_encode(k, sizeof(k), hex);
    is_str(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
           "kSigning of the SigV4 reference example");
}

static void test_aws_presign_example(void)
{
    struct sigv4_request rq = {
        .access_key = AWS_ID,
        .secret_key = AWS_S3_SECRET,
        .region = "us-east-1",
        .service = "s3",
        .endpoint = "https://s3.amazonaws.com",
        .virtual_host = true,
        .method = "GET",
        .bucket = "examplebucket",
        .key = "test.txt",
        .now = T_20130524,
        .expires = 86400,
    };
    struct sigv4_steps steps = { 0 };
    const char *why = NULL;
    char *url = sigv4_presign(&rq, &steps, &why);

    is_str(steps.canonical_request,
           "GET\n"
           "/test.txt\n"
           "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
           "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
           "SignedHeaders=host\n"
           "host:examplebucket.s3.amazonaws.com\n"
           "\n"
           "host\n"
           "UNSIGNED-PAYLOAD",
           "S3 query-auth example: canonical request");
    is_str(steps.string_to_sign,
           "AWS4-HMAC-SHA256\n"
           "20130524T000000Z\n"
           "20130524/us-east-1/s3/aws4_request\n"
           "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
           "S3 query-auth example: string to sign");
    is_str(url,
           "https://examplebucket.s3.amazonaws.com/test.txt"
           "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
           "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
           "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
           "S3 query-auth example: the URL and its documented signature");
    free(url);
    sigv4_steps_release(&steps);

    /* The same object path-style: same signature scheme, the bucket moves into the path. */
    rq.virtual_host = false;
    url = sigv4_presign(&rq, &steps, &why);
    ok(starts(url, "https://s3.amazonaws.com/examplebucket/test.txt?X-Amz-"),
       "path style: /bucket/key on the endpoint's host");
    ok(steps.canonical_request && strstr(steps.canonical_request, "\n/examplebucket/test.txt\n") &&
           strstr(steps.canonical_request, "\nhost:s3.amazonaws.com\n"),
       "path style: canonical path and host");
    free(url);
    sigv4_steps_release(&steps);
}

static void test_aws_get_object_example(void)
{
    /* S3 "Example: GET Object" (header auth, Range bytes=0-9): its canonical request hashes to
     * the documented value and its string to sign gives the documented signature. */
    static const char canon[] =
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    static const char sts[] = "AWS4-HMAC-SHA256\n20130524T000000Z\n"
                              "20130524/us-east-1/s3/aws4_request\n"
                              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972";
    char hash[65], sig[65];
    uint8_t k[32];

    sigv4_sha256_hex(STR_LIT(canon), hash);
    is_str(hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
           "GET Object example: hash of the canonical request");
    sigv4_sha256_hex(STR_LIT(""), hash);
    is_str(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "SHA-256 of the empty payload");
    sigv4_signing_key(STR_LIT(AWS_S3_SECRET), "20130524", "us-east-1", "s3", k);
    sigv4_signature(k, STR_LIT(sts), sig);
    is_str(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
           "GET Object example: signature");
}

static void test_encoding(void)
{
    static const struct {
        const char *in;
        bool keep_slash;
        const char *want;
    } cases[] = {
        { "AZaz09-._~", false, "AZaz09-._~" },
        { "a b", false, "a%20b" },
        { "a+b", false, "a%2Bb" },
        { "a/b", true, "a/b" },
        { "a/b", false, "a%2Fb" },
        { "\xc3\xbc", false, "%C3%BC" },              /* ü */
        { "\xe2\x82\xac", true, "%E2%82%AC" },        /* € */
        { "\xf0\x9f\x93\xa6", true, "%F0%9F%93%A6" }, /* a four-byte character */
        { "*=&?%#:@!$'()", false, "%2A%3D%26%3F%25%23%3A%40%21%24%27%28%29" },
        { "", false, "" },
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct sbuf sb;

        sbuf_init(&sb, 1024);
        sigv4_uri_encode(&sb, str_from(cases[i].in), cases[i].keep_slash);
        is_str(sb.buf ? sb.buf : "", cases[i].want, "encoding case %zu%s", i,
               cases[i].keep_slash ? " keeping '/'" : "");
        sbuf_release(&sb);
    }
    {
        struct sbuf sb;

        sbuf_init(&sb, 8);
        ok(!sigv4_uri_encode(&sb, STR_LIT("abc"), false) && sb.overflow,
           "encoding past the buffer's cap fails");
        sbuf_release(&sb);
    }
}

static void test_key_in_url(void)
{
    struct sigv4_request rq = base();
    struct sigv4_steps steps = { 0 };
    const char *why = NULL;
    char *url;

    rq.key = "dir/a b+c~\xc3\xbc.txt";
    url = sigv4_presign(&rq, &steps, &why);
    ok(starts(url, "http://127.0.0.1:7480/consign/dir/a%20b%2Bc~%C3%BC.txt?"),
       "key segments encoded, '/' kept, port kept in the URL");
    ok(steps.canonical_request &&
           starts(steps.canonical_request, "PUT\n/consign/dir/a%20b%2Bc~%C3%BC.txt\n"),
       "the canonical path is the URL's path");
    ok(steps.canonical_request && strstr(steps.canonical_request, "\nhost:127.0.0.1:7480\n"),
       "host header with a port that is not the default");
    free(url);
    sigv4_steps_release(&steps);

    rq.key = NULL;
    rq.method = "PUT";
    url = sigv4_presign(&rq, &steps, &why);
    ok(starts(url, "http://127.0.0.1:7480/consign?"), "no key: the bucket");
    free(url);
    sigv4_steps_release(&steps);
}

static void test_query(void)
{
    struct sigv4_request rq = base();
    struct sigv4_param part[] = { { "uploadId", "2~a b/c+d" }, { "partNumber", "3" } };
    struct sigv4_param uploads[] = { { "uploads", NULL } };
    struct sigv4_param twice[] = { { "a", "2" }, { "a", "10" }, { "A", "" } };
    char *q, *url;
    const char *why;

    rq.params = part;
    rq.n_params = 2;
    q = canonical_query(&rq);
    is_str(q,
           "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ciaccess%2F20130524%2Fus-east-1%2Fs3"
           "%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders="
           "host&partNumber=3&uploadId=2~a%20b%2Fc%2Bd",
           "part query: sorted by encoded name, values encoded");
    free(q);

    rq.params = uploads;
    rq.n_params = 1;
    rq.method = "POST";
    q = canonical_query(&rq);
    ok(ends(q, "&uploads="), "an empty value is 'name='");
    free(q);
    url = sigv4_presign(&rq, NULL, &why);
    ok(url && strstr(url, "&uploads=&X-Amz-Signature=") != NULL,
       "the URL carries the query as signed, signature last");
    free(url);

    rq.params = twice;
    rq.n_params = 3;
    q = canonical_query(&rq);
    ok(starts(q, "A=&X-Amz-") && ends(q, "&a=10&a=2"),
       "byte order: uppercase first; one name sorted by value");
    free(q);
}

static void test_endpoints(void)
{
    static const struct {
        const char *in;
        const char *host; /* NULL: refused */
        bool https;
    } cases[] = {
        { "http://127.0.0.1:7480", "127.0.0.1:7480", false },
        { "http://Example.COM:80/", "example.com", false },
        { "https://s3.example.com:443", "s3.example.com", true },
        { "https://s3.example.com:80", "s3.example.com:80", true },
        { "http://[::1]:9000", "[::1]:9000", false },
        { "ftp://h", NULL, false },
        { "http://", NULL, false },
        { "http://h/path", NULL, false },
        { "http://h:0", NULL, false },
        { "http://h:65536", NULL, false },
        { "http://h:080", NULL, false },
        { "http://user@h", NULL, false },
        { "http://h?x=1", NULL, false },
        { "http://h//", NULL, false },
        { "http://[::1", NULL, false },
        { "http://.h", NULL, false },
        { "HTTP://h", NULL, false },
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct sigv4_endpoint ep;
        bool parsed = sigv4_endpoint_parse(cases[i].in, &ep);

        if (cases[i].host)
            ok(parsed && strcmp(ep.host, cases[i].host) == 0 && ep.https == cases[i].https,
               "endpoint %s: host %s", cases[i].in, cases[i].host);
        else
            ok(!parsed, "endpoint %s refused", cases[i].in);
    }
}

static void test_refusals(void)
{
    struct sigv4_request rq = base();
    struct sigv4_param reserved[] = { { "x-amz-signature", "0" } };
    struct sigv4_param many[SIGV4_PARAMS_MAX + 1];
    char long_key[SIGV4_KEY_MAX + 2];
    const char *why;
    char *url;

    rq.expires = SIGV4_EXPIRES_MAX;
    url = sigv4_presign(&rq, NULL, &why);
    ok(url != NULL, "seven days accepted");
    free(url);
    rq = base();
    rq.expires = 0;
    refused(rq, "expiry 0");
    rq.expires = SIGV4_EXPIRES_MAX + 1;
    refused(rq, "expiry past seven days");
    rq = base();
    rq.endpoint = "http://h/p";
    refused(rq, "endpoint with a path");
    rq = base();
    rq.method = "get";
    refused(rq, "lowercase method");
    rq.method = "PATCH";
    refused(rq, "other method");
    rq = base();
    rq.bucket = "ab";
    refused(rq, "two-letter bucket");
    rq.bucket = "Consign";
    refused(rq, "uppercase bucket");
    rq.bucket = "consign-";
    refused(rq, "bucket ending in '-'");
    rq.bucket = "con/sign";
    refused(rq, "bucket with '/'");
    rq = base();
    rq.key = "a/../b";
    refused(rq, "'..' segment");
    rq.key = "a/./b";
    refused(rq, "'.' segment");
    rq.key = "a//b";
    refused(rq, "empty segment");
    rq.key = "/a";
    refused(rq, "leading '/'");
    rq.key = "a/";
    refused(rq, "trailing '/'");
    rq.key = "a\nb";
    refused(rq, "control character");
    rq.key = "a\xff";
    refused(rq, "invalid UTF-8");
    rq.key = "\xc0\xaf";
    refused(rq, "overlong UTF-8");
    rq.key = "\xed\xa0\x80";
    refused(rq, "UTF-16 surrogate");
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    rq.key = long_key;
    refused(rq, "key of 1025 bytes");
    long_key[SIGV4_KEY_MAX] = '\0';
    url = sigv4_presign(&rq, NULL, &why);
    ok(url != NULL, "key of 1024 bytes accepted");
    free(url);
    rq = base();
    rq.params = reserved;
    rq.n_params = 1;
    refused(rq, "a parameter the signature adds");
    for (size_t i = 0; i < ARRAY_LEN(many); i++)
        many[i] = (struct sigv4_param){ "p", "v" };
    rq.params = many;
    rq.n_params = ARRAY_LEN(many);
    refused(rq, "17 parameters");
    rq = base();
    rq.access_key = "a/b";
    refused(rq, "access key with '/'");
    rq.access_key = "";
    refused(rq, "empty access key");
    rq = base();
    rq.secret_key = "";
    refused(rq, "empty secret");
    rq = base();
    rq.region = "us east";
    refused(rq, "region with a space");
    rq = base();
    rq.virtual_host = true;
    rq.endpoint = "http://[::1]:9000";
    refused(rq, "bucket in front of an IPv6 address");
    rq = base();
    rq.now = -1;
    refused(rq, "negative time");
}

int main(void)
{
    test_signing_key();
    test_aws_presign_example();
    test_aws_get_object_example();
    test_encoding();
    test_key_in_url();
    test_query();
    test_endpoints();
    test_refusals();
    return done_testing();
}
