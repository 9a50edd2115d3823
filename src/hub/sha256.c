/*
 * sha256.c — streaming SHA-256 over OpenSSL's EVP interface, and hashing of whole files.
 *
 * Reference: openai/whisper __init__.py _download (hashlib.sha256(...).hexdigest(): lowercase
 * hex). Invariants: digests are always 64 lowercase hex digits + NUL; files are read in fixed
 * chunks, so memory does not grow with the file.
 */
#include "hub/hub.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct auris_hub_sha256 {
    EVP_MD_CTX *ctx;
};

auris_hub_sha256 *auris_hub_sha256_new(void)
{
    auris_hub_sha256 *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || auris_hub_sha256_reset(h) != 0) {
        auris_hub_sha256_free(h);
        return NULL;
    }
    return h;
}

int auris_hub_sha256_reset(auris_hub_sha256 *h)
{
    if (!h || !h->ctx)
        return -1;
    return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int auris_hub_sha256_update(auris_hub_sha256 *h, const void *data, size_t n)
{
    if (!h || !h->ctx || (!data && n))
        return -1;
    if (n == 0)
        return 0;
    return EVP_DigestUpdate(h->ctx, data, n) == 1 ? 0 : -1;
}

int auris_hub_sha256_final(auris_hub_sha256 *h, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!h || !h->ctx || !hex)
        return -1;
    if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

int auris_hub_sha256_peek(const auris_hub_sha256 *h, char hex[65])
{
    if (!h || !h->ctx)
        return -1;
    auris_hub_sha256 copy = {EVP_MD_CTX_new()};
    int rc = copy.ctx && EVP_MD_CTX_copy_ex(copy.ctx, h->ctx) == 1
                 ? auris_hub_sha256_final(&copy, hex)
                 : -1;
    EVP_MD_CTX_free(copy.ctx);
    return rc;
}

void auris_hub_sha256_free(auris_hub_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int auris_hub_sha256_hex(const void *data, size_t n, char hex[65])
{
    auris_hub_sha256 *h = auris_hub_sha256_new();
    int rc = (h && auris_hub_sha256_update(h, data, n) == 0 && auris_hub_sha256_final(h, hex) == 0)
                 ? 0 : -1;
    auris_hub_sha256_free(h);
    return rc;
}

enum auris_err auris_hub_sha256_file(const char *path, auris_hub_progress_fn progress, void *user,
                                     char hex[65], struct auris_error *err)
{
    if (!path || !hex)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_hub_sha256_file: NULL argument");
    enum auris_err rc = AURIS_OK;
    const size_t chunk = 1 << 20;
    unsigned char *buf = NULL;
    auris_hub_sha256 *h = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return auris__fail(err, AURIS_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s is not a regular file", path);
        goto done;
    }
    buf = malloc(chunk);
    h = auris_hub_sha256_new();
    if (!buf || !h) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory hashing %s", path);
        goto done;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    uint64_t done_bytes = 0, total = (uint64_t)sb.st_size;
    for (;;) {
        ssize_t r = read(fd, buf, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = auris__fail(err, AURIS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        if (auris_hub_sha256_update(h, buf, (size_t)r) != 0) {
            rc = auris__fail(err, AURIS_ERR_INTERNAL, "SHA-256 failed on %s", path);
            goto done;
        }
        done_bytes += (uint64_t)r;
        if (progress && progress(user, AURIS_HUB_VERIFY, base, done_bytes, total) != 0) {
            rc = auris__fail(err, AURIS_ERR_CANCELLED, "verifying %s was cancelled", path);
            goto done;
        }
    }
    if (auris_hub_sha256_final(h, hex) != 0)
        rc = auris__fail(err, AURIS_ERR_INTERNAL, "SHA-256 failed on %s", path);
done:
    auris_hub_sha256_free(h);
    free(buf);
    close(fd);
    return rc;
}
