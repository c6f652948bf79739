/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What an S3 store answers, and the object keys consign signs. The input is read by each XML
 * answer parser, which must stay inside it and give values within their limits; then it is an
 * object key and a query value for a pre-signed URL, which when accepted must be made only of
 * URL-safe bytes and decode back to the key.
 */
#include "fuzz.h"

#include "blob/s3/client.h"

static bool is_url_byte(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("-._~%/?&=:", c) != NULL;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_presign(const char *text)
{
    const struct sigv4_param params[] = { { "uploadId", text } };
    struct sigv4_request rq = {
        .access_key = "AKID",
        .secret_key = "secret",
        .region = "us-east-1",
        .endpoint = "http://127.0.0.1:7480",
        .method = "PUT",
        .bucket = "bkt",
        .key = text,
        .params = params,
        .n_params = 1,
        .now = 1369353600,
        .expires = 60,
    };
    const char *why = NULL;
    char *url = sigv4_presign(&rq, NULL, &why), *decoded;
    const char *p, *end;
    size_t o = 0;

    FUZZ_CHECK(url || why, "refused without a reason");
    if (!url || !text[0]) {
        free(url);
        return;
    }
    FUZZ_CHECK(sigv4_key_is_valid(text), "accepted an invalid key");
    for (p = url; *p; p++)
        FUZZ_CHECK(is_url_byte(*p), "byte 0x%02x in the URL", (unsigned char)*p);
    p = url + strlen("http://127.0.0.1:7480/bkt/");
    end = strchr(p, '?');
    FUZZ_CHECK(end, "no query");
    decoded = xmalloc((size_t)(end - p) + 1);
    while (p < end) {
        if (*p == '%') {
            FUZZ_CHECK(end - p >= 3 && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0, "bad escape");
            decoded[o++] = (char)(hex_value(p[1]) * 16 + hex_value(p[2]));
            p += 3;
        } else {
            decoded[o++] = *p++;
        }
    }
    decoded[o] = '\0';
    FUZZ_CHECK(strcmp(decoded, text) == 0, "the path decodes to another key");
    free(decoded);
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct str xml = { (const char *)data, size };
    struct s3_parts parts = { 0 };
    char code[S3_CODE_MAX + 1], etag[S3_ETAG_MAX + 1], *id = NULL, *text;
    bool truncated = false;
    uint32_t next = 0;

    if (s3_answer_upload_id(xml, &id)) {
        FUZZ_CHECK(id[0] && strlen(id) <= S3_UPLOAD_ID_MAX, "upload id of %zu bytes", strlen(id));
        free(id);
    }
    if (s3_answer_parts(xml, &parts, &truncated, &next)) {
        FUZZ_CHECK(parts.n <= S3_PARTS_MAX, "%zu parts", parts.n);
        FUZZ_CHECK(!truncated || next <= S3_PARTS_MAX, "next marker %u", next);
        for (size_t i = 0; i < parts.n; i++)
            FUZZ_CHECK(parts.v[i].number >= 1 && parts.v[i].number <= S3_PARTS_MAX &&
                           strlen(parts.v[i].etag) <= S3_ETAG_MAX,
                       "part %zu", i);
    }
    s3_parts_release(&parts);
    if (s3_answer_error(xml, code))
        FUZZ_CHECK(strlen(code) <= S3_CODE_MAX, "code");
    if (s3_answer_etag(xml, etag))
        FUZZ_CHECK(etag[0] == '"' && strlen(etag) <= S3_ETAG_MAX, "etag '%s'", etag);

    text = xmemdup0(data, size > 2 * SIGV4_KEY_MAX ? 2 * SIGV4_KEY_MAX : size);
    check_presign(text);
    free(text);
    return 0;
}
