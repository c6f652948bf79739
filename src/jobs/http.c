/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The HTTP requests jobs make to the outside (webhook deliveries), through libcurl: one easy
 * handle per request, bounded in time and in what it reads, so that a receiver that hangs,
 * answers slowly or answers without end holds one worker for the timeout and no longer.
 */
#include "core/compat.h"
#include "jobs/jobs.h"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_setup(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Counts the answer's body and drops it; past the cap the exchange ends (a short write). */
static size_t drop_body(char *p, size_t size, size_t n, void *arg)
{
    size_t *seen = arg;

    (void)p;
    *seen += size * n;
    return *seen > JOBS_HTTP_BODY_MAX ? 0 : size * n;
}

bool jobs_http_url_ok(const char *url, char *why, size_t why_cap)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
    bool ok = false;

    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p >= 0x7f) {
            snprintf(why, why_cap, "must be ASCII, without spaces or control characters");
            return false;
        }
    pthread_once(&curl_once, curl_setup);
    u = curl_ready ? curl_url() : NULL;
    if (!u) {
        snprintf(why, why_cap, "cannot be checked now");
        return false;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        snprintf(why, why_cap, "must be an absolute http:// or https:// URL with a host");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(why, why_cap, "must be an http:// or https:// URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        snprintf(why, why_cap, "must not carry a user name or password (send a header instead)");
        goto out;
    }
    ok = true;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return ok;
}

bool jobs_http_send(const struct jobs_http_call *call, struct jobs_http_result *out)
{
    struct curl_slist *hs = NULL;
    char err[CURL_ERROR_SIZE] = "";
    size_t seen = 0;
    int64_t start = mono_ms();
    CURLcode res;
    CURL *h;

    *out = (struct jobs_http_result){ 0 };
    if (!jobs_http_url_ok(call->url, out->error, sizeof(out->error)))
        return false;
    h = curl_easy_init();
    if (!h) {
        snprintf(out->error, sizeof(out->error), "libcurl cannot be initialised");
        return false;
    }
    for (size_t i = 0; i < call->nheaders; i++)
        hs = curl_slist_append(hs, call->headers[i]);
    /* A body is sent at once: no "Expect: 100-continue" round trip a receiver may not answer. */
    hs = curl_slist_append(hs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)call->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    res = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    out->duration_ms = mono_ms() - start;
    if (res == CURLE_WRITE_ERROR && out->status > 0)
        res = CURLE_OK; /* an answer came; only its overlong body was cut */
    if (res != CURLE_OK) {
        out->status = 0;
        if (res == CURLE_OPERATION_TIMEDOUT)
            snprintf(out->error, sizeof(out->error), "no answer: timed out after %lld ms",
                     (long long)out->duration_ms);
        else
            snprintf(out->error, sizeof(out->error), "%s", err[0] ? err : curl_easy_strerror(res));
    }
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return res == CURLE_OK;
}
