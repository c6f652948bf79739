/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * AWS Signature Version 4 pre-signed URLs for S3. Given credentials, an endpoint, a method, an
 * object and a signing time, sigv4_presign() writes the URL that lets whoever holds it make that
 * one request, without credentials of their own, until it expires: the query carries
 * X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders=host and X-Amz-Signature, and the payload is UNSIGNED-PAYLOAD (a part PUT
 * streams its body; S3 still checks the bytes it got against Content-Length).
 *
 * The URL's path and query are exactly the canonical request's: every path segment and every
 * query name and value is URI-encoded as AWS canonicalizes it (A-Za-z0-9-._~ kept, every other
 * byte as %XX in uppercase hex, '/' kept between the key's segments), and the query is sorted by
 * encoded name, then value. So a client that replays the URL byte for byte sends what was signed.
 * Every input is checked and length-capped before anything is allocated.
 *
 * Thread-safe: nothing is shared; secrets derived on the way are wiped.
 */
#ifndef CONSIGN_SIGV4_H
#define CONSIGN_SIGV4_H

#include "core/compat.h"

#include "core/str.h"

/** Longest lifetime S3 accepts for a pre-signed URL: seven days, in seconds. */
#define SIGV4_EXPIRES_MAX 604800u
/** S3's limit on an object key, in bytes of UTF-8. */
#define SIGV4_KEY_MAX 1024u
/** Extra query parameters at most (a part upload uses two). */
#define SIGV4_PARAMS_MAX 16u
/** Longest query parameter name, and value, in bytes before encoding. */
#define SIGV4_PARAM_NAME_MAX 128u
#define SIGV4_PARAM_VALUE_MAX 1024u
/** Longest access key id, region and service name. */
#define SIGV4_ID_MAX 128u
/** Longest secret access key. */
#define SIGV4_SECRET_MAX 256u
/** Longest host, with its port, of an endpoint. */
#define SIGV4_HOST_MAX 300u
/** Length of a hex SHA-256 or signature, without its NUL. */
#define SIGV4_HEX_LEN 64u

/** One query parameter: raw bytes (not encoded), NUL-terminated; a NULL value is empty. */
struct sigv4_param {
    const char *name;
    const char *value;
};

/**
 * What to sign. Every pointer is borrowed for the call. Strings are NUL-terminated.
 */
struct sigv4_request {
    const char *access_key; /* access key id: 1–128 printable ASCII bytes, no '/' */
    const char *secret_key; /* secret access key: 1–256 bytes */
    const char *region;     /* e.g. "us-east-1": 1–128 of A-Za-z0-9._- */
    const char *service;    /* NULL means "s3" */
    const char *endpoint;   /* "http[s]://host[:port]", see sigv4_endpoint_parse() */
    bool virtual_host;      /* bucket in the host name (bucket.host/key), not the path */
    const char *method;     /* "GET", "PUT", "POST", "DELETE" or "HEAD" */
    const char *bucket;     /* see sigv4_bucket_is_valid() */
    const char *key;        /* object key, see sigv4_key_is_valid(); NULL or "" for the bucket */
    const struct sigv4_param *params; /* extra query: "uploads", "partNumber" + "uploadId", … */
    size_t n_params;                  /* at most SIGV4_PARAMS_MAX */
    int64_t now;                      /* signing time, seconds since the epoch (0 to year 9999) */
    uint32_t expires;                 /* seconds the URL stays valid: 1 to SIGV4_EXPIRES_MAX */
};

/** The intermediate texts of a signature, for tests and for debugging a refusal. */
struct sigv4_steps {
    char *canonical_request; /* malloc'd */
    char *string_to_sign;    /* malloc'd */
};

/**
 * Pre-signs @rq: returns the URL (malloc'd, the caller frees it), or NULL with *@why set to a
 * static sentence naming the input that was refused (a length past its cap, a character a field
 * may not hold, an expiry out of range, a query name that the signature itself uses, …). When
 * @steps is not NULL it receives the canonical request and the string to sign; release it with
 * sigv4_steps_release(). The URL grants access: never log it.
 */
char *sigv4_presign(const struct sigv4_request *rq, struct sigv4_steps *steps, const char **why);
/** Frees the texts of @steps; accepts an empty or released one. */
void sigv4_steps_release(struct sigv4_steps *steps);

/** An endpoint taken apart. */
struct sigv4_endpoint {
    bool https;
    /* Lowercase host, with ":port" when the port is not the scheme's default: what the Host
     * header carries, and so what is signed. */
    char host[SIGV4_HOST_MAX + 1];
};

/**
 * Parses "http://host[:port]" or "https://host[:port]", with at most one trailing '/'. The host
 * is a DNS name (A-Za-z0-9.-) or an IP address, IPv6 in brackets; a port is 1–65535. No path,
 * query, user or fragment. A port equal to the scheme's default is dropped. False on anything
 * else (@out is then unspecified).
 */
bool sigv4_endpoint_parse(const char *endpoint, struct sigv4_endpoint *out);
/** True for a bucket name S3 accepts everywhere: 3–63 of a-z 0-9 . -, a letter or digit at each end. */
bool sigv4_bucket_is_valid(const char *bucket);
/**
 * True for an object key that is non-empty valid UTF-8 of at most SIGV4_KEY_MAX bytes with no
 * control character, no empty segment and no "." or ".." segment (clients and proxies rewrite
 * such paths before sending them, which would break the signature).
 */
bool sigv4_key_is_valid(const char *key);
/**
 * Appends @s URI-encoded as SigV4 canonicalizes it: A-Za-z0-9-._~ as they are, '/' as it is when
 * @keep_slash, every other byte %XX (uppercase hex). False when @sb's cap is reached.
 */
bool sigv4_uri_encode(struct sbuf *sb, struct str s, bool keep_slash);

/**
 * Appends the canonical query of @params: every name and value encoded as sigv4_uri_encode()
 * does, the pairs sorted by name then value, written "name=value" (an empty value as "name=")
 * and joined by '&'. Callers check the parameters' lengths first. False when @sb's cap is reached.
 */
bool sigv4_query_append(struct sbuf *sb, const struct sigv4_param *params, size_t n);

/** Writes the signing key of @date ("YYYYMMDD"), @region and @service: kSigning, 32 bytes. */
void sigv4_signing_key(struct str secret, const char *date, const char *region, const char *service,
                       uint8_t out[32]);
/** Writes HMAC-SHA256(@key, @string_to_sign) as lowercase hex plus a NUL: the signature. */
void sigv4_signature(const uint8_t key[32], struct str string_to_sign, char out[SIGV4_HEX_LEN + 1]);
/** Writes SHA-256 of @p as lowercase hex plus a NUL (x-amz-content-sha256 of a small body). */
void sigv4_sha256_hex(struct str p, char out[SIGV4_HEX_LEN + 1]);

#endif /* CONSIGN_SIGV4_H */
