/*
 * download.c — verified, resumable HTTP(S) downloads with libcurl, and the per-file lock.
 *
 * Reference: openai/whisper __init__.py _download (the SHA-256 of the whole file must equal the
 * one its URL names). Unlike the reference, which writes straight to the final name, bytes go to
 * "<dest>.part": a rerun after an interruption asks for the rest with "Range: bytes=N-", after
 * rehashing the N bytes it holds. A server answering 200 instead of 206 sends the whole file, so
 * the partial file restarts from zero; a 206 must start exactly at N.
 * Invariants: dest only ever appears by rename() of a fully verified .part; a hash mismatch
 * deletes the .part; a failed transfer keeps a non-empty .part for resuming and removes an empty
 * one.
 */
#include "hub/hub_internal.h"

#include "common.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *auris__hub_join(const char *a, const char *b, int sep)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, sep ? "/" : "", b);
    return s;
}

/* ---- lock ---------------------------------------------------------------------------------- */

enum auris_err auris__hub_lock(const char *lock_path, int *fd_out, struct auris_error *err)
{
    for (;;) {
        int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return auris__fail(err, AURIS_ERR_IO, "cannot create the lock file %s: %s",
                               lock_path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            auris__log(AURIS_LOG_INFO, "waiting for another process downloading (%s)",
                       lock_path);
            while (flock(fd, LOCK_EX) != 0) {
                if (errno == EINTR)
                    continue;
                int e = errno;
                close(fd);
                return auris__fail(err, AURIS_ERR_IO, "cannot lock %s: %s", lock_path,
                                   strerror(e));
            }
        }
        /* the previous holder unlinks the file before releasing it: a lock on an inode no
         * longer at lock_path protects nothing, so start over with the current file */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock_path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            *fd_out = fd;
            return AURIS_OK;
        }
        close(fd);
    }
}

void auris__hub_unlock(int fd, const char *lock_path)
{
    if (fd < 0)
        return;
    unlink(lock_path);
    close(fd);
}

/* ---- one HTTP transfer --------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct xfer {
    int fd;                 /* the .part file, positioned at `offset` */
    auris_hub_sha256 *h;    /* hash of bytes [0, offset + written) */
    uint64_t offset;        /* bytes the .part held when the response began */
    uint64_t written;       /* bytes of this response written */
    int decided;            /* the response status was examined */
    int resumed;            /* the server honoured the Range request (206) */
    int bad_range;          /* 206 starting elsewhere than `offset` */
    int io_errno;           /* a write failed */
    int hash_failed;
    int cancelled;
    char content_range[160];
    CURL *curl;
    const struct auris_hub_options *opt;
    const char *file; /* basename, for progress */
};

static size_t on_header(char *line, size_t size, size_t n, void *user)
{
    struct xfer *x = user;
    size_t len = size * n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) /* a new response (after a redirect) */
        x->content_range[0] = '\0';
    else if (len > 14 && strncasecmp(line, "Content-Range:", 14) == 0) {
        size_t m = AURIS_MIN(len - 14, sizeof x->content_range - 1);
        memcpy(x->content_range, line + 14, m);
        x->content_range[m] = '\0';
    }
    return len;
}

/* Checks the response's status on its first body bytes: 206 must continue at `offset`, any
 * other success is the whole file and restarts the .part. Returns 0 to abort. */
static int decide(struct xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    x->decided = 1;
    if (status == 206) {
        unsigned long long start = 0;
        if (x->offset == 0 || sscanf(x->content_range, " bytes %llu-", &start) != 1 ||
            start != x->offset) {
            x->bad_range = 1;
            return 0;
        }
        x->resumed = 1;
        return 1;
    }
    if (x->offset > 0) {
        if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0) {
            x->io_errno = errno;
            return 0;
        }
        if (auris_hub_sha256_reset(x->h) != 0) {
            x->hash_failed = 1;
            return 0;
        }
        x->offset = 0;
    }
    return 1;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    struct xfer *x = user;
    size_t len = size * n;
    if (!x->decided && !decide(x))
        return 0;
    if (auris_hub_sha256_update(x->h, data, len) != 0) {
        x->hash_failed = 1;
        return 0;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(x->fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->io_errno = w < 0 ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    x->written += len;
    return len;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    struct xfer *x = user;
    if (!x->opt->progress)
        return 0;
    uint64_t total = dltotal > 0 ? x->offset + (uint64_t)dltotal : 0;
    uint64_t done = x->offset + (uint64_t)(dlnow > 0 ? dlnow : 0);
    if (x->opt->progress(x->opt->progress_user, AURIS_HUB_DOWNLOAD, x->file, done, total) != 0) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

/* Sets up `curl` for one GET of url from byte `from`. */
static CURLcode setup(CURL *curl, const char *url, struct xfer *x, char *errbuf, char *range,
                      size_t range_size)
{
    const struct auris_hub_options *o = x->opt;
    CURLcode c = CURLE_OK;
    /* no downgrade from https through a redirect */
    const char *redir = strncmp(url, "https:", 6) == 0 ? "https" : "http,https";
#define SET(opt, val) if (c == CURLE_OK) c = curl_easy_setopt(curl, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, redir);
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 10L);
    SET(CURLOPT_FAILONERROR, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, "auris/" "0.1");
    SET(CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : 30L);
    SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
    SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s > 0 ? o->low_speed_time_s : 60L);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    if (x->offset > 0) {
        snprintf(range, range_size, "%" PRIu64 "-", x->offset);
        SET(CURLOPT_RANGE, range);
    }
#undef SET
    return c;
}

enum xfer_result { XFER_OK, XFER_FAILED, XFER_RANGE_REFUSED };

/* One GET of url appending to the .part from x->offset. */
static enum xfer_result transfer(const char *url, struct xfer *x, struct auris_error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "", range[32];
    CURL *curl = curl_easy_init();
    if (!curl) {
        auris__fail(err, AURIS_ERR_NOMEM, "cannot start a download (libcurl init failed)");
        return XFER_FAILED;
    }
    x->curl = curl;
    x->decided = x->resumed = x->bad_range = x->io_errno = x->hash_failed = x->cancelled = 0;
    x->written = 0;
    x->content_range[0] = '\0';
    enum xfer_result res = XFER_FAILED;
    CURLcode c = setup(curl, url, x, errbuf, range, sizeof range);
    if (c == CURLE_OK)
        c = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
    if (c == CURLE_OK && !x->decided && !decide(x)) /* an empty body */
        c = CURLE_WRITE_ERROR;
    if (c == CURLE_OK) {
        res = XFER_OK;
    } else if (x->cancelled) {
        auris__fail(err, AURIS_ERR_CANCELLED, "download of %s cancelled", url);
    } else if (x->io_errno) {
        auris__fail(err, AURIS_ERR_IO, "cannot write the download of %s: %s", x->file,
                    strerror(x->io_errno));
    } else if (x->hash_failed) {
        auris__fail(err, AURIS_ERR_INTERNAL, "SHA-256 failed while downloading %s", x->file);
    } else if (x->bad_range || (c == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
        res = XFER_RANGE_REFUSED;
    } else if (c == CURLE_HTTP_RETURNED_ERROR) {
        auris__fail(err, AURIS_ERR_IO, "cannot download %s: the server answered HTTP %ld", url,
                    status);
    } else if (c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING) {
        auris__fail(err, AURIS_ERR_IO,
                    "download of %s was interrupted after %" PRIu64 " bytes (%s); run again to "
                    "resume", url, x->offset + x->written, why);
    } else if (c == CURLE_OPERATION_TIMEDOUT) {
        auris__fail(err, AURIS_ERR_IO, "download of %s timed out (%s); run again to resume", url,
                    why);
    } else {
        auris__fail(err, AURIS_ERR_IO, "cannot download %s: %s (check the network connection)",
                    url, why);
    }
    curl_easy_cleanup(curl);
    x->curl = NULL;
    return res;
}

/* ---- the download -------------------------------------------------------------------------- */

/* Hashes the first `n` bytes of fd (the .part being resumed) into h. */
static enum auris_err rehash(int fd, uint64_t n, auris_hub_sha256 *h, struct xfer *x,
                             const char *part, struct auris_error *err)
{
    const size_t chunk = 1 << 20;
    unsigned char *buf = malloc(chunk);
    if (!buf)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory hashing %s", part);
    enum auris_err rc = AURIS_OK;
    uint64_t done = 0;
    while (done < n) {
        size_t want = (size_t)AURIS_MIN((uint64_t)chunk, n - done);
        ssize_t r = pread(fd, buf, want, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = auris__fail(err, AURIS_ERR_IO, "cannot read %s: %s", part,
                             r < 0 ? strerror(errno) : "file shrank");
            break;
        }
        if (auris_hub_sha256_update(h, buf, (size_t)r) != 0) {
            rc = auris__fail(err, AURIS_ERR_INTERNAL, "SHA-256 failed on %s", part);
            break;
        }
        done += (uint64_t)r;
        if (x->opt->progress &&
            x->opt->progress(x->opt->progress_user, AURIS_HUB_VERIFY, x->file, done, n) != 0) {
            rc = auris__fail(err, AURIS_ERR_CANCELLED, "verifying %s was cancelled", part);
            break;
        }
    }
    free(buf);
    return rc;
}

/* Empties the .part and the hash: the next transfer starts from byte 0. */
static enum auris_err restart(struct xfer *x, const char *part, struct auris_error *err)
{
    if (ftruncate(x->fd, 0) != 0)
        return auris__fail(err, AURIS_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
    if (auris_hub_sha256_reset(x->h) != 0)
        return auris__fail(err, AURIS_ERR_INTERNAL, "SHA-256 init failed");
    x->offset = 0;
    return AURIS_OK;
}

/* Flushes the verified .part and gives it the final name. */
static enum auris_err publish(int fd, const char *part, const char *dest, struct auris_error *err)
{
    if (fsync(fd) != 0)
        return auris__fail(err, AURIS_ERR_IO, "cannot flush %s: %s", part, strerror(errno));
    if (rename(part, dest) != 0)
        return auris__fail(err, AURIS_ERR_IO, "cannot rename %s to %s: %s", part, dest,
                           strerror(errno));
    return AURIS_OK;
}

enum auris_err auris__hub_download_locked(const char *url, const char *sha256, const char *dest,
                                          const struct auris_hub_options *opt,
                                          struct auris_error *err)
{
    struct xfer x = {.fd = -1, .opt = opt};
    char hex[65];
    enum auris_err rc = AURIS_OK;
    char *part = auris__hub_join(dest, ".part", 0);
    x.h = auris_hub_sha256_new();
    if (!part || !x.h) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory downloading %s", dest);
        goto done;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        rc = auris__fail(err, AURIS_ERR_INTERNAL, "libcurl initialisation failed: %s",
                         curl_easy_strerror(curl_init_rc));
        goto done;
    }
    x.file = strrchr(dest, '/') ? strrchr(dest, '/') + 1 : dest;
    x.fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat sb;
    if (x.fd < 0 || fstat(x.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = auris__fail(err, AURIS_ERR_IO, "cannot open %s: %s", part,
                         x.fd < 0 ? strerror(errno) : "not a regular file");
        goto done;
    }
    x.offset = (uint64_t)sb.st_size;
    if (x.offset > 0) {
        if ((rc = rehash(x.fd, x.offset, x.h, &x, part, err)) != AURIS_OK)
            goto done;
        /* a previous run may have been stopped between the last byte and the rename */
        if (auris_hub_sha256_peek(x.h, hex) == 0 && strcmp(hex, sha256) == 0) {
            rc = publish(x.fd, part, dest, err);
            goto done;
        }
        auris__log(AURIS_LOG_INFO, "resuming %s from byte %" PRIu64, x.file, x.offset);
    }
    for (int round = 0;; round++) {
        if (lseek(x.fd, (off_t)x.offset, SEEK_SET) < 0) {
            rc = auris__fail(err, AURIS_ERR_IO, "cannot seek in %s: %s", part, strerror(errno));
            goto done;
        }
        enum xfer_result r = transfer(url, &x, err);
        if (r == XFER_RANGE_REFUSED && round == 0) {
            /* 416 (the .part is as long as the file or longer) or a 206 elsewhere: the
             * partial file cannot be trusted to continue; start over once */
            auris__log(AURIS_LOG_WARN, "%s: the server refused to resume; downloading again",
                       x.file);
            if ((rc = restart(&x, part, err)) != AURIS_OK)
                goto done;
            continue;
        }
        if (r == XFER_RANGE_REFUSED) {
            rc = auris__fail(err, AURIS_ERR_IO, "cannot download %s: the server refused the "
                             "byte range", url);
            goto done;
        }
        if (r != XFER_OK) {
            rc = err ? err->code : AURIS_ERR_IO;
            goto done;
        }
        if (auris_hub_sha256_final(x.h, hex) != 0) {
            rc = auris__fail(err, AURIS_ERR_INTERNAL, "SHA-256 failed on %s", part);
            goto done;
        }
        if (strcmp(hex, sha256) == 0)
            break;
        if (x.resumed && round == 0) {
            /* the kept bytes may come from another version of the file: one clean retry */
            auris__log(AURIS_LOG_WARN, "%s: the resumed download does not verify; downloading "
                       "it again from the start", x.file);
            if ((rc = restart(&x, part, err)) != AURIS_OK)
                goto done;
            continue;
        }
        close(x.fd);
        x.fd = -1;
        unlink(part);
        rc = auris__fail(err, AURIS_ERR_FORMAT,
                         "SHA-256 mismatch for %s: expected %s, got %s; the download was deleted",
                         url, sha256, hex);
        goto done;
    }
    rc = publish(x.fd, part, dest, err);
done:
    if (x.fd >= 0) {
        /* keep a non-empty .part for resuming, never an empty one */
        if (rc != AURIS_OK && fstat(x.fd, &sb) == 0 && sb.st_size == 0)
            unlink(part);
        close(x.fd);
    }
    auris_hub_sha256_free(x.h);
    free(part);
    return rc;
}

enum auris_err auris_hub_download(const char *url, const char *sha256, const char *dest,
                                  const struct auris_hub_options *options,
                                  struct auris_error *err)
{
    if (!url || !sha256 || !dest)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_download: NULL argument");
    struct auris_hub_options defaults = auris_hub_default_options();
    const struct auris_hub_options *opt = options ? options : &defaults;
    char *lock_path = auris__hub_join(dest, ".lock", 0);
    if (!lock_path)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory downloading %s", dest);
    int fd = -1;
    enum auris_err rc = auris__hub_lock(lock_path, &fd, err);
    if (rc == AURIS_OK)
        rc = auris__hub_download_locked(url, sha256, dest, opt, err);
    auris__hub_unlock(fd, lock_path);
    free(lock_path);
    return rc;
}
