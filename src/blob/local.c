/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * File bytes on local disk. Layout under the data dir:
 *
 *   blobs/<xy>/<file id>           the file's bytes (xy: the id's last two characters)
 *   blobs/<xy>/<file id>.<part>    a part that arrived before its place was known
 *   tmp/                           side parts being written (renamed into blobs/ when whole)
 *
 * Nothing is named after anything a client sent. A part writer holds an OFD lock on one byte
 * of the data file far past any real offset (2^62 + part), so two uploads of one part exclude
 * each other even across processes, and the lock goes when the descriptor closes.
 */
#include "core/compat.h"
#include "blob/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "blob/blob_int.h"

#define LOG_COMPONENT "blob"
#include "core/log.h"
#include "core/mem.h"

/* Writeback is started every this many bytes, so that the final fdatasync has little left. */
#define WRITEBACK_EVERY (8u << 20)
/* Where the per-part locks live in the data file's offset space. */
#define LOCK_BASE ((off_t)1 << 62)

struct local_blob {
    struct blob base;
    char *dir; /* <data>/blobs */
    char *tmp; /* <data>/tmp */
};

static const struct blob_ops local_ops;

/* The embedded store behind @b; its own calls are never made on another store. */
static struct local_blob *to_local(struct blob *b)
{
    if (b->ops != &local_ops)
        abort();
    return (struct local_blob *)b;
}

struct blob_writer {
    struct local_blob *b;
    int fd;      /* the data file (in place) or the temporary side file */
    int lock_fd; /* the data file, holding the part's lock */
    bool side;
    char file_id[ID_LEN + 1];
    uint32_t part;
    uint64_t offset; /* where the next byte goes */
    uint64_t start;
    uint64_t len; /* announced */
    uint64_t done;
    uint64_t synced; /* bytes whose writeback was started */
    uint32_t crc;
    char tmp_path[512];
};

static bool make_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

/* Makes a new directory entry in @dir durable. */
static bool sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

static void local_close(struct blob *base)
{
    struct local_blob *b = to_local(base);

    free(b->dir);
    free(b->tmp);
    free(b);
}

struct blob *blob_local_open(const char *data_dir, char *why, size_t why_cap)
{
    struct local_blob *b = xcalloc(1, sizeof(*b));

    b->base.ops = &local_ops;
    b->dir = xasprintf("%s/blobs", data_dir);
    b->tmp = xasprintf("%s/tmp", data_dir);
    if (!make_dir(b->dir) || !make_dir(b->tmp)) {
        snprintf(why, why_cap, "cannot create %s: %s", b->dir, strerror(errno));
        local_close(&b->base);
        return NULL;
    }
    return &b->base;
}

static void shard_path(const struct local_blob *b, const char *file_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%c%c", b->dir, file_id[ID_LEN - 2], file_id[ID_LEN - 1]);
}

static void data_path(const struct local_blob *b, const char *file_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%c%c/%s", b->dir, file_id[ID_LEN - 2], file_id[ID_LEN - 1], file_id);
}

static void side_path(const struct local_blob *b, const char *file_id, uint32_t part, char *out,
                      size_t cap)
{
    snprintf(out, cap, "%s/%c%c/%s.%u", b->dir, file_id[ID_LEN - 2], file_id[ID_LEN - 1], file_id,
             part);
}

/* Opens (creating, durably, on first use) the data file of @file_id. */
static int open_data(struct local_blob *b, const char *file_id)
{
    char shard[512], path[512];
    int fd;

    data_path(b, file_id, path, sizeof(path));
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    shard_path(b, file_id, shard, sizeof(shard));
    if (!make_dir(shard))
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && (!sync_dir(shard) || !sync_dir(b->dir))) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool lock_part(int fd, uint32_t part)
{
    struct flock fl = {
        .l_type = F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = LOCK_BASE + (off_t)part,
        .l_len = 1,
    };

    return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

enum blob_rc blob_part_begin(struct blob *base, const char *file_id, uint32_t part, uint64_t offset,
                             uint64_t len, struct blob_writer **out)
{
    struct local_blob *b = to_local(base);
    struct blob_writer *w;
    int fd = open_data(b, file_id);

    if (fd < 0) {
        LOG_ERR("cannot open the data of file %s: %s", file_id, strerror(errno));
        return BLOB_IO;
    }
    if (!lock_part(fd, part)) {
        int e = errno;

        close(fd);
        if (e == EAGAIN || e == EACCES)
            return BLOB_BUSY;
        LOG_ERR("cannot lock part %u of file %s: %s", part, file_id, strerror(e));
        return BLOB_IO;
    }
    w = xcalloc(1, sizeof(*w));
    w->b = b;
    w->lock_fd = fd;
    w->fd = fd;
    w->part = part;
    w->len = len;
    memcpy(w->file_id, file_id, ID_LEN + 1);
    if (offset == BLOB_SIDE) {
        w->side = true;
        snprintf(w->tmp_path, sizeof(w->tmp_path), "%s/%s.%u.XXXXXX", b->tmp, file_id, part);
        w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
        if (w->fd < 0) {
            LOG_ERR("cannot create a side part in %s: %s", b->tmp, strerror(errno));
            w->tmp_path[0] = '\0';
            blob_part_abort(w);
            return BLOB_IO;
        }
        offset = 0;
    }
    w->offset = w->start = offset;
    *out = w;
    return BLOB_OK;
}

enum blob_rc blob_part_write(struct blob_writer *w, const void *p, size_t n)
{
    const char *c = p;

    if (n > w->len - w->done)
        return BLOB_SHORT;
    w->crc = (uint32_t)crc32_z(w->crc, p, n);
    while (n) {
        ssize_t k = pwrite(w->fd, c, n, (off_t)w->offset);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            LOG_ERR("cannot write part %u of file %s: %s", w->part, w->file_id,
                    k < 0 ? strerror(errno) : "no progress");
            return BLOB_IO;
        }
        c += k;
        n -= (size_t)k;
        w->offset += (uint64_t)k;
        w->done += (uint64_t)k;
    }
    if (w->done - w->synced >= WRITEBACK_EVERY) {
        /* Start writing back what came so far; nothing waits for it here. */
        (void)sync_file_range(w->fd, (off_t)(w->start + w->synced), (off_t)(w->done - w->synced),
                              SYNC_FILE_RANGE_WRITE);
        w->synced = w->done;
    }
    return BLOB_OK;
}

static void writer_free(struct blob_writer *w)
{
    if (w->fd >= 0 && w->fd != w->lock_fd)
        close(w->fd);
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    free(w);
}

enum blob_rc blob_part_commit(struct blob_writer *w, uint32_t *crc)
{
    char path[512], shard[512];

    if (w->done != w->len)
        return BLOB_SHORT;
    if (fdatasync(w->fd) != 0) {
        LOG_ERR("cannot sync part %u of file %s: %s", w->part, w->file_id, strerror(errno));
        return BLOB_IO;
    }
    if (w->side) {
        side_path(w->b, w->file_id, w->part, path, sizeof(path));
        shard_path(w->b, w->file_id, shard, sizeof(shard));
        if (rename(w->tmp_path, path) != 0 || !sync_dir(shard)) {
            LOG_ERR("cannot keep side part %u of file %s: %s", w->part, w->file_id,
                    strerror(errno));
            return BLOB_IO;
        }
        w->tmp_path[0] = '\0'; /* renamed: nothing left to remove */
    }
    *crc = w->crc;
    return BLOB_OK;
}

void blob_part_abort(struct blob_writer *w)
{
    if (!w)
        return;
    if (w->side && w->tmp_path[0])
        unlink(w->tmp_path);
    writer_free(w);
}

enum blob_rc blob_part_place(struct blob *base, const char *file_id, uint32_t part, uint64_t offset)
{
    struct local_blob *b = to_local(base);
    char path[512];
    int in, out;
    struct stat st;
    loff_t off_in = 0, off_out = (loff_t)offset;
    enum blob_rc rc = BLOB_OK;

    side_path(b, file_id, part, path, sizeof(path));
    in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT ? BLOB_MISSING : BLOB_IO;
    out = open_data(b, file_id);
    if (out < 0 || fstat(in, &st) != 0) {
        if (out >= 0)
            close(out);
        close(in);
        return BLOB_IO;
    }
    /* In the kernel, and without copying at all where the filesystem shares extents. */
    while (off_in < st.st_size) {
        ssize_t k = copy_file_range(in, &off_in, out, &off_out, (size_t)(st.st_size - off_in), 0);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            LOG_ERR("cannot place part %u of file %s: %s", part, file_id,
                    k < 0 ? strerror(errno) : "no progress");
            rc = BLOB_IO;
            break;
        }
    }
    if (rc == BLOB_OK && fdatasync(out) != 0)
        rc = BLOB_IO;
    close(in);
    close(out);
    if (rc == BLOB_OK)
        unlink(path);
    return rc;
}

enum blob_rc blob_file_seal(struct blob *base, const char *file_id, uint64_t size)
{
    struct local_blob *b = to_local(base);
    int fd = open_data(b, file_id);
    enum blob_rc rc = BLOB_OK;

    if (fd < 0)
        return BLOB_IO;
    if (ftruncate(fd, (off_t)size) != 0 || fdatasync(fd) != 0) {
        LOG_ERR("cannot seal file %s: %s", file_id, strerror(errno));
        rc = BLOB_IO;
    }
    close(fd);
    return rc;
}

enum blob_rc blob_file_open(struct blob *base, const char *file_id, int *fd)
{
    struct local_blob *b = to_local(base);
    char path[512];

    data_path(b, file_id, path, sizeof(path));
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0)
        return BLOB_OK;
    return errno == ENOENT ? BLOB_MISSING : BLOB_IO;
}

static enum blob_rc local_file_remove(struct blob *base, const char *file_id)
{
    struct local_blob *b = to_local(base);
    char path[512];
    DIR *dir;
    struct dirent *de;

    data_path(b, file_id, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT) {
        LOG_ERR("cannot remove file %s: %s", file_id, strerror(errno));
        return BLOB_IO;
    }
    /* Side parts ("<id>.<part>") of a file never finalized: the shard holds few names. */
    shard_path(b, file_id, path, sizeof(path));
    dir = opendir(path);
    if (!dir)
        return BLOB_OK;
    while ((de = readdir(dir)) != NULL)
        if (strncmp(de->d_name, file_id, ID_LEN) == 0 && de->d_name[ID_LEN] == '.')
            (void)unlinkat(dirfd(dir), de->d_name, 0);
    closedir(dir);
    return BLOB_OK;
}

static const struct blob_ops local_ops = {
    .name = "local",
    .direct = false,
    .close = local_close,
    .file_remove = local_file_remove,
};
