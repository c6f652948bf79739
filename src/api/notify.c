/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Mail about packages. When a team package is finalized (api_notify_finalized(), inside the
 * finalize's own transaction) each recipient gets a download link of their own and a mail.send
 * job. The job (api_mail_send()) renders the message when it runs, from the package as it is
 * then, builds it (mail/) and delivers it. The link's secret is not stored anywhere, the job
 * queue included: it is an HMAC of the link id under the server's secret (auth_link_secret()),
 * which the job derives again, so the message is the only place it is written.
 *
 * mail.send {"template", "to", "package_id", "link_id"}: the template names what the message
 * says ("package.link": a package sent to you, with your link). The message's Message-ID and,
 * without SMTP, its .eml file name come from the job id, so a job run again after a crash
 * writes no second file. Through SMTP a crash between the server's acceptance of the message and
 * the end of the job sends it again, with the same Message-ID; nothing on our side can close
 * that window, as SMTP has no way to ask whether a message arrived.
 */
#include "core/compat.h"
#include "api/api.h"

#define LOG_COMPONENT "mail"
#include "core/clock.h"
#include "core/log.h"

/* Bytes of a package name in a subject, and of a description in a message. */
#define SUBJECT_NAME_MAX 150
#define DESCRIPTION_MAX 4000

char *api_link_url(const struct api_env *env, struct arena *a, const char *link_id,
                   const char *secret)
{
    return arena_printf(a, "%s/download/%s?secret=%s", env->public_url, link_id, secret);
}

/* ---- queueing, at finalize ---- */

/* The mail.send job of @template to @to about @p, with link @link_id (NULL: none), deduplicated
 * by @dedupe. */
static enum store_rc queue_mail(struct store *s, const char *template, const char *to,
                                const struct package *p, const char *link_id, const char *dedupe,
                                int64_t now)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "template", template, "to", to, "package_id",
                            p->id, "link_id", link_id ? link_id : "");
    char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    enum store_rc rc;

    json_decref(doc);
    if (!payload)
        return STORE_HARD;
    rc = jobs_enqueue(s, "mail.send", payload, dedupe, now, API_MAIL_ATTEMPTS);
    free(payload);
    return rc < 0 ? rc : STORE_ONE;
}

/* A recipient's own link and the job that mails it with @template. */
static enum store_rc notify_recipient(struct store *s, const struct api_env *env,
                                      const struct package *p, const char *template, const char *to,
                                      int64_t now)
{
    struct link l = { 0 };
    char key[AUTH_API_KEY_LEN + 1];
    enum store_rc rc;

    id_new(l.id);
    auth_link_secret(env->secret, l.id, key, l.secret_hash);
    explicit_bzero(key, sizeof(key));
    memcpy(l.package_id, p->id, sizeof(l.package_id));
    l.email = (char *)to;
    l.password_hash = p->password_hash;
    l.access_limit = p->access_limit;
    l.expiry = TIME_UNSET; /* the package's expiry ends it */
    l.active = true;
    l.created_at = l.updated_at = now;
    rc = store_link_insert(s, &l);
    if (rc != STORE_ONE)
        return rc < 0 ? rc : STORE_HARD;
    /* The link id as the dedupe key: one message per link, however the queueing goes. */
    return queue_mail(s, template, to, p, l.id, l.id, now);
}

/* Each address of the JSON array @list gets a link and a message of @template. */
static enum store_rc notify_list(struct store *s, const struct api_env *env,
                                 const struct package *p, const char *template, const char *list,
                                 int64_t now)
{
    json_t *doc = json_loads(list ? list : "[]", 0, NULL), *v;
    enum store_rc rc = STORE_ONE;
    size_t i;

    json_array_foreach(doc, i, v)
    {
        const char *to = json_string_value(v);

        /* Checked when they were set; one that is not an address now is left out, not mailed. */
        if (!to || !mail_address_is_valid(to))
            continue;
        rc = notify_recipient(s, env, p, template, to, now);
        if (rc < 0)
            break;
    }
    json_decref(doc);
    return rc;
}

/*
 * A package that arrived through a portal: each of the portal's recipients hears of it (name,
 * sender, size, files) with a link of their own, and the uploader gets a receipt, without a link,
 * unless the portal says disable_upload_receipt.
 */
static enum store_rc notify_inbox(struct store *s, const struct api_env *env,
                                  const struct package *p, int64_t now)
{
    struct arena a;
    struct portal portal;
    enum store_rc rc;
    char dedupe[ID_LEN + 16];

    if (!p->portal_id)
        return STORE_ONE;
    arena_init(&a);
    rc = store_portal_get(s, p->portal_id, &a, &portal);
    if (rc == STORE_ONE)
        rc = notify_list(s, env, p, "package.arrived", portal.recipients, now);
    if (rc == STORE_ONE && !portal.disable_upload_receipt && mail_address_is_valid(p->sender)) {
        snprintf(dedupe, sizeof(dedupe), "receipt:%s", p->id);
        rc = queue_mail(s, "package.receipt", p->sender, p, NULL, dedupe, now);
    }
    arena_release(&a);
    /* A portal deleted since: nobody to tell. */
    return rc < 0 ? rc : STORE_ONE;
}

enum store_rc api_notify_finalized(struct store *s, const struct api_env *env,
                                   const struct package *p)
{
    int64_t now = clock_now_ms();

    if (p->inbox)
        return notify_inbox(s, env, p, now);
    return notify_list(s, env, p, "package.link", p->recipients, now);
}

/* ---- sending, in the job ---- */

struct mail_job {
    const struct api_env *env;
    const struct job *job;
    struct arena *a;
    const char *template;
    const char *to;
    char package_id[ID_LEN + 1];
    char link_id[ID_LEN + 1];
    struct package pkg;
    struct link link; /* none (a receipt) when link_id is empty */
    struct file *files;
    size_t nfiles;
    struct user sender;
    bool has_sender;
    char key[AUTH_API_KEY_LEN + 1]; /* the link's id and secret */
};

/* What a message says: its subject and its two bodies, from @mj. */
typedef void mail_render_fn(struct mail_job *mj, struct mail_message *m, struct sbuf *text,
                            struct sbuf *html);

static void html_add(struct sbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            sbuf_adds(sb, "&amp;");
            break;
        case '<':
            sbuf_adds(sb, "&lt;");
            break;
        case '>':
            sbuf_adds(sb, "&gt;");
            break;
        case '"':
            sbuf_adds(sb, "&quot;");
            break;
        case '\'':
            sbuf_adds(sb, "&#39;");
            break;
        default:
            sbuf_add(sb, s, 1);
        }
    }
}

/* @s in the arena as one line of at most @max bytes: control characters become spaces (a name
 * with a line break must not break a header), a cut never splits a UTF-8 character. */
static char *one_line(struct arena *a, const char *s, size_t max)
{
    size_t n = strlen(s);
    bool cut = n > max;
    char *out;

    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    out = arena_printf(a, "%.*s%s", (int)n, s, cut ? "\xe2\x80\xa6" : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return out;
}

/* @s cut to at most @max bytes (never inside a UTF-8 character), in the arena. */
static char *cut_text(struct arena *a, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return arena_strdup(a, s);
    while (n > max || (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80))
        n--;
    return arena_printf(a, "%.*s\xe2\x80\xa6", (int)n, s);
}

/* "1.5 MB": decimal units, as disks and browsers count. */
static char *size_text(struct arena *a, int64_t bytes)
{
    static const char *const units[] = { "kB", "MB", "GB", "TB", "PB" };
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1000)
        return arena_printf(a, "%lld byte%s", (long long)bytes, bytes == 1 ? "" : "s");
    v /= 1000;
    while (v >= 1000 && u + 1 < ARRAY_LEN(units)) {
        v /= 1000;
        u++;
    }
    return arena_printf(a, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* "2024-05-01 12:00 UTC". */
static char *date_text(struct arena *a, int64_t ms)
{
    char iso[TIME_ISO_LEN];

    time_format_iso(ms, iso);
    return arena_printf(a, "%.10s %.5s UTC", iso, iso + 11);
}

/* "package.link": a package sent to the recipient, with the recipient's own link. */
static void render_package_link(struct mail_job *mj, struct mail_message *m, struct sbuf *text,
                                struct sbuf *html)
{
    const struct package *p = &mj->pkg;
    struct arena *a = mj->a;
    const char *sender = m->from_name, *name = one_line(a, p->name, SUBJECT_NAME_MAX);
    const char *url = api_link_url(mj->env, a, mj->link.id, mj->key + ID_LEN);
    const char *size = size_text(a, p->size);
    const char *files =
        arena_printf(a, "%lld file%s", (long long)p->total_files, p->total_files == 1 ? "" : "s");
    const char *desc =
        p->description && p->description[0] ? cut_text(a, p->description, DESCRIPTION_MAX) : NULL;
    const char *until = p->expiry != TIME_UNSET ? date_text(a, p->expiry) : NULL;
    char *limit = mj->link.access_limit > 0 ? arena_printf(a, " It can be opened %lld time%s.",
                                                           (long long)mj->link.access_limit,
                                                           mj->link.access_limit == 1 ? "" : "s")
                                            : "";
    bool password = mj->link.password_hash != NULL;

    m->subject = arena_printf(a, "%s sent you \"%s\"", sender, name);
    /* Text. */
    sbuf_addf(text, "%s <%s> sent you \"%s\": %s, %s.\n\n", sender, p->sender, p->name, files,
              size);
    if (desc)
        sbuf_addf(text, "%s\n\n", desc);
    sbuf_addf(text, "Your download link:\n%s\n\n", url);
    sbuf_addf(text,
              "The link is yours: it was made for %s, and whoever has it can download the "
              "files.%s%s\n",
              mj->to, limit,
              password ? " It asks for a password, which the sender gives you separately." : "");
    if (until)
        sbuf_addf(text, "The files can be downloaded until %s.\n", until);
    sbuf_addf(text, "\n-- \nSent by consign (%s) for %s. Reply to this message to write to them.\n",
              mj->env->public_url, p->sender);
    /* HTML: the same, every text of the package escaped. */
    sbuf_adds(html, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
    html_add(html, m->subject);
    sbuf_adds(html, "</title>\n</head>\n<body style=\"font-family: sans-serif; line-height: 1.4\">"
                    "\n<p><strong>");
    html_add(html, sender);
    sbuf_adds(html, "</strong> (<a href=\"mailto:");
    html_add(html, p->sender);
    sbuf_adds(html, "\">");
    html_add(html, p->sender);
    sbuf_adds(html, "</a>) sent you <strong>");
    html_add(html, p->name);
    sbuf_adds(html, "</strong>: ");
    html_add(html, files);
    sbuf_adds(html, ", ");
    html_add(html, size);
    sbuf_adds(html, ".</p>\n");
    if (desc) {
        sbuf_adds(html, "<p style=\"white-space: pre-wrap\">");
        html_add(html, desc);
        sbuf_adds(html, "</p>\n");
    }
    sbuf_adds(html, "<p><a href=\"");
    html_add(html, url);
    sbuf_adds(html, "\">Download the files</a></p>\n<p style=\"color: #555\">The link is yours: "
                    "it was made for ");
    html_add(html, mj->to);
    sbuf_adds(html, ", and whoever has it can download the files.");
    html_add(html, limit);
    if (password)
        sbuf_adds(html, " It asks for a password, which the sender gives you separately.");
    if (until) {
        sbuf_adds(html, " The files can be downloaded until ");
        html_add(html, until);
        sbuf_adds(html, ".");
    }
    sbuf_adds(html, "</p>\n<p style=\"color: #555; font-size: 90%\">Sent by consign (");
    html_add(html, mj->env->public_url);
    sbuf_adds(html, ") for ");
    html_add(html, p->sender);
    sbuf_adds(html, ". Reply to this message to write to them.</p>\n</body>\n</html>\n");
}

/* The package's file names, one a line (at most FILE_LIST_MAX, then how many more). */
#define FILE_LIST_MAX 50

static void file_list(struct mail_job *mj, struct sbuf *text, struct sbuf *html)
{
    size_t shown = mj->nfiles < FILE_LIST_MAX ? mj->nfiles : FILE_LIST_MAX;

    sbuf_adds(html, "<ul>\n");
    for (size_t i = 0; i < shown; i++) {
        const struct file *f = &mj->files[i];
        const char *name =
            f->path && f->path[0] ? arena_printf(mj->a, "%s/%s", f->path, f->name) : f->name;
        const char *line = one_line(mj->a, name, 300), *size = size_text(mj->a, f->size);

        sbuf_addf(text, "  %s (%s)\n", line, size);
        sbuf_adds(html, "<li>");
        html_add(html, line);
        sbuf_adds(html, " (");
        html_add(html, size);
        sbuf_adds(html, ")</li>\n");
    }
    if (mj->nfiles > shown) {
        sbuf_addf(text, "  and %zu more\n", mj->nfiles - shown);
        sbuf_addf(html, "<li>and %zu more</li>\n", mj->nfiles - shown);
    }
    sbuf_adds(html, "</ul>\n");
}

/* The start and end of every HTML body. */
static void html_open(struct sbuf *html, const char *title)
{
    sbuf_adds(html, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
    html_add(html, title);
    sbuf_adds(html, "</title>\n</head>\n<body style=\"font-family: sans-serif; line-height: 1.4\">"
                    "\n");
}

/* "package.arrived": a package came in through a portal; the recipient's own link. */
static void render_package_arrived(struct mail_job *mj, struct mail_message *m, struct sbuf *text,
                                   struct sbuf *html)
{
    const struct package *p = &mj->pkg;
    struct arena *a = mj->a;
    const char *name = one_line(a, p->name, SUBJECT_NAME_MAX);
    const char *url = api_link_url(mj->env, a, mj->link.id, mj->key + ID_LEN);
    const char *size = size_text(a, p->size);

    m->subject = arena_printf(a, "\"%s\" arrived from %s", name, p->sender);
    sbuf_addf(text, "%s uploaded \"%s\" through your portal: %lld file%s, %s.\n\n", p->sender,
              p->name, (long long)p->total_files, p->total_files == 1 ? "" : "s", size);
    html_open(html, m->subject);
    sbuf_adds(html, "<p><strong>");
    html_add(html, p->sender);
    sbuf_adds(html, "</strong> uploaded <strong>");
    html_add(html, p->name);
    sbuf_adds(html, "</strong> through your portal: ");
    html_add(html, size);
    sbuf_adds(html, ".</p>\n");
    file_list(mj, text, html);
    sbuf_addf(text, "\nYour download link:\n%s\n\n-- \nSent by consign (%s).\n", url,
              mj->env->public_url);
    sbuf_adds(html, "<p><a href=\"");
    html_add(html, url);
    sbuf_adds(html, "\">Download the files</a></p>\n</body>\n</html>\n");
}

/* "package.receipt": to the uploader, that the package was received (no link). */
static void render_package_receipt(struct mail_job *mj, struct mail_message *m, struct sbuf *text,
                                   struct sbuf *html)
{
    const struct package *p = &mj->pkg;
    struct arena *a = mj->a;
    const char *name = one_line(a, p->name, SUBJECT_NAME_MAX);
    const char *size = size_text(a, p->size);

    m->from_name = "consign";
    m->reply_to = NULL;
    m->subject = arena_printf(a, "Received: \"%s\"", name);
    sbuf_addf(text, "Your upload \"%s\" was received: %lld file%s, %s.\n\n", p->name,
              (long long)p->total_files, p->total_files == 1 ? "" : "s", size);
    html_open(html, m->subject);
    sbuf_adds(html, "<p>Your upload <strong>");
    html_add(html, p->name);
    sbuf_adds(html, "</strong> was received: ");
    html_add(html, size);
    sbuf_adds(html, ".</p>\n");
    file_list(mj, text, html);
    sbuf_addf(text, "\n-- \nSent by consign (%s).\n", mj->env->public_url);
    sbuf_adds(html, "</body>\n</html>\n");
}

static const struct {
    const char *name;
    mail_render_fn *render;
} templates[] = {
    { "package.link", render_package_link },
    { "package.arrived", render_package_arrived },
    { "package.receipt", render_package_receipt },
};

static enum store_rc read_txn(struct store *s, void *vctx)
{
    struct mail_job *mj = vctx;
    enum store_rc rc = store_package_get(s, mj->package_id, mj->a, &mj->pkg);

    if (rc != STORE_ONE)
        return rc;
    if (mj->link_id[0]) {
        rc = store_link_get(s, mj->link_id, mj->a, &mj->link);
        if (rc != STORE_ONE)
            return rc;
    }
    rc = store_files_list(s, mj->package_id, mj->a, &mj->files, &mj->nfiles);
    if (rc < 0)
        return rc;
    mj->has_sender = false;
    if (mj->pkg.sender_user_id) {
        rc = store_user_get(s, mj->pkg.sender_user_id, mj->a, &mj->sender);
        if (rc < 0)
            return rc;
        mj->has_sender = rc == STORE_ONE;
    }
    return STORE_ONE;
}

/* The payload as notify_recipient() writes it, into @mj (strings in its arena). */
static bool payload_read(struct mail_job *mj)
{
    json_t *doc = json_loads(mj->job->payload, JSON_REJECT_DUPLICATES, NULL);
    const char *tpl = json_string_value(json_object_get(doc, "template")),
               *to = json_string_value(json_object_get(doc, "to")),
               *pid = json_string_value(json_object_get(doc, "package_id")),
               *lid = json_string_value(json_object_get(doc, "link_id"));
    bool ok = tpl && to && pid && lid && id_is_valid(str_from(pid)) &&
              (!lid[0] || id_is_valid(str_from(lid)));

    if (ok) {
        mj->template = arena_strdup(mj->a, tpl);
        mj->to = arena_strdup(mj->a, to);
        memcpy(mj->package_id, pid, ID_LEN + 1);
        snprintf(mj->link_id, sizeof(mj->link_id), "%s", lid);
    }
    json_decref(doc);
    return ok;
}

/* Renders, builds and delivers @mj's message once what it is about was read. */
static enum jobs_outcome send_one(struct mail_job *mj, mail_render_fn *render, char *why,
                                  size_t why_cap)
{
    const struct mail_cfg *cfg = mj->env->mail;
    struct mail_message m = {
        .id = mj->job->id, .date_ms = mj->job->created_at, .from_addr = cfg->from, .to_addr = mj->to
    };
    struct sbuf text, html, msg = { 0 };
    enum jobs_outcome out = JOBS_GIVE_UP;
    uint8_t hash[API_KEY_HASH_LEN];
    enum mail_rc rc;

    if (mj->link_id[0]) {
        auth_link_secret(mj->env->secret, mj->link.id, mj->key, hash);
    }
    if (mj->link_id[0] && !auth_hash_equal(hash, mj->link.secret_hash)) {
        snprintf(why, why_cap, "link %s was made under another signing secret: its secret is lost",
                 mj->link.id);
        return JOBS_GIVE_UP;
    }
    m.from_name = mj->has_sender && mj->sender.name && mj->sender.name[0]
                      ? one_line(mj->a, mj->sender.name, MAIL_NAME_MAX / 2)
                      : mj->pkg.sender;
    m.reply_to = mail_address_is_valid(mj->pkg.sender) ? mj->pkg.sender : NULL;
    sbuf_init(&text, MAIL_BODY_MAX);
    sbuf_init(&html, MAIL_BODY_MAX);
    render(mj, &m, &text, &html);
    m.text = text.buf ? text.buf : "";
    m.html = html.buf ? html.buf : "";
    if (text.overflow || html.overflow) {
        snprintf(why, why_cap, "the message grew past %u bytes", MAIL_BODY_MAX);
        goto out;
    }
    rc = mail_build(&m, &msg, why, why_cap);
    if (rc == MAIL_OK)
        rc = mail_deliver(cfg, mj->job->id, mj->to, msg.buf, msg.len, why, why_cap);
    switch (rc) {
    case MAIL_OK:
        LOG_INFO("mail %s (%s) to %s: %s", mj->job->id, mj->template, mj->to, why);
        out = JOBS_DONE;
        break;
    case MAIL_TRANSIENT:
        out = JOBS_RETRY;
        break;
    case MAIL_REFUSED:
    case MAIL_PERMANENT:
        out = JOBS_GIVE_UP;
        break;
    }
out:
    /* The link's secret was in all three. */
    explicit_bzero(mj->key, sizeof(mj->key));
    if (text.buf)
        explicit_bzero(text.buf, text.len);
    if (html.buf)
        explicit_bzero(html.buf, html.len);
    if (msg.buf)
        explicit_bzero(msg.buf, msg.len);
    sbuf_release(&text);
    sbuf_release(&html);
    sbuf_release(&msg);
    return out;
}

enum jobs_outcome api_mail_send(void *venv, struct store *s, const struct job *j, char *why,
                                size_t why_cap)
{
    struct arena a;
    struct mail_job mj = { .env = venv, .job = j, .a = &a };
    mail_render_fn *render = NULL;
    enum jobs_outcome out = JOBS_DONE;
    enum store_rc rc;

    arena_init(&a);
    if (!payload_read(&mj)) {
        snprintf(why, why_cap, "the payload is not one consign writes");
        out = JOBS_GIVE_UP;
        goto out;
    }
    for (size_t i = 0; i < ARRAY_LEN(templates); i++)
        if (strcmp(templates[i].name, mj.template) == 0)
            render = templates[i].render;
    if (!render || !mj.env->mail) {
        /* A newer server's template, or a server that sends no mail: leave it to another. */
        snprintf(why, why_cap, "%s",
                 !render ? "no such template in this server" : "this server sends no mail");
        out = JOBS_RETRY;
        goto out;
    }
    rc = store_run(s, "mail.read", STORE_READ, read_txn, &mj);
    if (rc < 0) {
        snprintf(why, why_cap, "the database failed");
        out = JOBS_RETRY;
    } else if (rc == STORE_NONE) {
        snprintf(why, why_cap, "package %s or link %s does not exist", mj.package_id, mj.link_id);
        out = JOBS_GIVE_UP;
    } else if (mj.pkg.state != PACKAGE_FINALIZED || (mj.link_id[0] && !mj.link.active)) {
        /* Nothing to download any more: a message would only bring a dead link. */
        LOG_INFO("mail %s to %s not sent: %s", j->id, mj.to,
                 mj.link_id[0] && !mj.link.active ? "its link was deleted"
                                                  : "its package is no longer available");
    } else {
        out = send_one(&mj, render, why, why_cap);
    }
out:
    arena_release(&a);
    return out;
}
