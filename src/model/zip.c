/*
 * zip.c — a read-only view of the zip container torch.save writes (stored members only).
 *
 * Reference: PKWARE APPNOTE.TXT 6.3 (end of central directory, ZIP64 end of central directory
 * record and locator, central directory headers, local file headers, ZIP64 extended information
 * extra field 0x0001). torch.save stores every member uncompressed and pads local headers with
 * an extra field so that data starts on a 64-byte boundary; sizes live in the central directory
 * because the local headers use data descriptors (flag bit 3).
 * Invariants: every entry's name and data lie inside the mapped file, data never overlaps the
 * central directory, names are unique; nothing is read before its bounds are checked.
 */
#include "model/model.h"

#include <stdlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define EOCD_SIZE 22u
#define EOCD64_SIZE 56u
#define LOCATOR64_SIZE 20u
#define CENTRAL_SIZE 46u
#define LOCAL_SIZE 30u
#define MAX_ENTRIES (1 << 20)

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* Locations of the central directory, from the (ZIP64) end records. */
struct cdir {
    uint64_t n_entries, offset, size;
    uint64_t end; /* where the directory must end: start of the EOCD64 or EOCD record */
};

static enum auris_err find_eocd(const uint8_t *d, size_t size, struct cdir *cd,
                                struct auris_error *err)
{
    if (size < EOCD_SIZE)
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: file too small (%zu bytes)", size);
    /* The record sits at the very end, followed only by its comment (< 64 KiB). Scan back for a
     * signature whose comment length reaches exactly the end of the file. */
    size_t lo = size > EOCD_SIZE + 0xffffu ? size - EOCD_SIZE - 0xffffu : 0;
    size_t pos = size - EOCD_SIZE;
    for (;;) {
        if (rd32(d + pos) == SIG_EOCD && pos + EOCD_SIZE + rd16(d + pos + 20) == size)
            break;
        if (pos == lo)
            return auris__fail(err, AURIS_ERR_FORMAT,
                               "zip: end of central directory not found (truncated file?)");
        pos--;
    }
    const uint8_t *e = d + pos;
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10))
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: multi-disk archives are not supported");
    cd->n_entries = rd16(e + 10);
    cd->size = rd32(e + 12);
    cd->offset = rd32(e + 16);
    cd->end = pos;

    /* ZIP64: a locator right before the EOCD points at the ZIP64 end record. */
    if (pos >= LOCATOR64_SIZE && rd32(d + pos - LOCATOR64_SIZE) == SIG_LOCATOR64) {
        const uint8_t *l = d + pos - LOCATOR64_SIZE;
        uint64_t off64 = rd64(l + 8);
        if (rd32(l + 4) != 0 || rd32(l + 16) > 1)
            return auris__fail(err, AURIS_ERR_FORMAT, "zip: multi-disk ZIP64 archive");
        if (off64 > pos - LOCATOR64_SIZE || pos - LOCATOR64_SIZE - off64 < EOCD64_SIZE)
            return auris__fail(err, AURIS_ERR_FORMAT, "zip: ZIP64 end record out of bounds");
        const uint8_t *z = d + off64;
        uint64_t rec_size = rd64(z + 4);
        if (rd32(z) != SIG_EOCD64 || rec_size < EOCD64_SIZE - 12 ||
            rec_size > pos - LOCATOR64_SIZE - off64 - 12)
            return auris__fail(err, AURIS_ERR_FORMAT, "zip: corrupt ZIP64 end record");
        if (rd32(z + 16) != 0 || rd32(z + 20) != 0 || rd64(z + 24) != rd64(z + 32))
            return auris__fail(err, AURIS_ERR_FORMAT, "zip: multi-disk ZIP64 archive");
        /* the 32-bit fields must either agree or be the 0xFF.. escape */
        if ((cd->n_entries != 0xffffu && cd->n_entries != rd64(z + 32)) ||
            (cd->size != 0xffffffffu && cd->size != rd64(z + 40)) ||
            (cd->offset != 0xffffffffu && cd->offset != rd64(z + 48)))
            return auris__fail(err, AURIS_ERR_FORMAT,
                               "zip: ZIP64 end record disagrees with the end of central directory");
        cd->n_entries = rd64(z + 32);
        cd->size = rd64(z + 40);
        cd->offset = rd64(z + 48);
        cd->end = off64;
    } else if (cd->n_entries == 0xffffu || cd->size == 0xffffffffu ||
               cd->offset == 0xffffffffu) {
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: ZIP64 fields without a ZIP64 record");
    }
    if (cd->offset > cd->end || cd->size != cd->end - cd->offset)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "zip: central directory (offset %llu, %llu bytes) out of bounds",
                           (unsigned long long)cd->offset, (unsigned long long)cd->size);
    if (cd->n_entries > MAX_ENTRIES || cd->n_entries * CENTRAL_SIZE > cd->size)
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: implausible entry count %llu",
                           (unsigned long long)cd->n_entries);
    return AURIS_OK;
}

/* Applies the ZIP64 extended-information extra field: 64-bit values replace exactly those
 * 32-bit fields that hold 0xFFFFFFFF, in the order usize, csize, offset. */
static enum auris_err apply_zip64_extra(const uint8_t *x, size_t n, uint64_t *usize,
                                        uint64_t *csize, uint64_t *lho, struct auris_error *err)
{
    size_t p = 0;
    while (p < n) {
        if (n - p < 4)
            return auris__fail(err, AURIS_ERR_FORMAT, "zip: truncated extra field");
        uint16_t id = rd16(x + p), len = rd16(x + p + 2);
        p += 4;
        if (len > n - p)
            return auris__fail(err, AURIS_ERR_FORMAT, "zip: extra field overruns its header");
        if (id == 0x0001) {
            size_t q = p, end = p + len;
            uint64_t *fields[3] = {usize, csize, lho};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffffu)
                    continue;
                if (end - q < 8)
                    return auris__fail(err, AURIS_ERR_FORMAT, "zip: short ZIP64 extra field");
                *fields[i] = rd64(x + q);
                q += 8;
            }
        }
        p += len;
    }
    return AURIS_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct auris__zip_entry *x = a, *y = b;
    size_t n = AURIS_MIN(x->name_len, y->name_len);
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Parses one central directory header at d[*pos] into `e` and advances *pos. */
static enum auris_err read_central(const uint8_t *d, const struct cdir *cd, size_t *pos,
                                   struct auris__zip_entry *e, struct auris_error *err)
{
    size_t p = *pos, end = (size_t)cd->end;
    if (end - p < CENTRAL_SIZE || rd32(d + p) != SIG_CENTRAL)
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: corrupt central directory at offset %zu",
                           p);
    const uint8_t *h = d + p;
    uint16_t flags = rd16(h + 8), method = rd16(h + 10);
    uint64_t csize = rd32(h + 20), usize = rd32(h + 24), lho = rd32(h + 42);
    size_t nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
    if (end - p - CENTRAL_SIZE < nlen + xlen + clen)
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: central directory entry overruns");
    e->name = (const char *)h + CENTRAL_SIZE;
    e->name_len = nlen;
    enum auris_err rc = apply_zip64_extra(h + CENTRAL_SIZE + nlen, xlen, &usize, &csize, &lho, err);
    if (rc)
        return rc;
    if (flags & 0x41u) /* bit 0 encrypted, bit 6 strong encryption */
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: member '%.*s' is encrypted",
                           (int)AURIS_MIN(nlen, 200), e->name);
    e->method = method;
    e->crc32 = rd32(h + 16);
    if (method == 0 && csize != usize)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "zip: stored member '%.*s' has different packed and unpacked sizes",
                           (int)AURIS_MIN(nlen, 200), e->name);
    /* local header: fixed part, same name, then data; all before the central directory */
    if (lho > cd->offset || cd->offset - lho < LOCAL_SIZE || rd32(d + lho) != SIG_LOCAL)
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: bad local header for member '%.*s'",
                           (int)AURIS_MIN(nlen, 200), e->name);
    const uint8_t *l = d + lho;
    uint64_t lname = rd16(l + 26), lextra = rd16(l + 28);
    uint64_t data_off = lho + LOCAL_SIZE + lname + lextra;
    if (lname != nlen || memcmp(l + LOCAL_SIZE, e->name, nlen) != 0 || data_off > cd->offset ||
        csize > cd->offset - data_off)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "zip: member '%.*s' is inconsistent or out of bounds",
                           (int)AURIS_MIN(nlen, 200), e->name);
    e->data_off = (size_t)data_off;
    e->size = (size_t)csize;
    *pos = p + CENTRAL_SIZE + nlen + xlen + clen;
    return AURIS_OK;
}

enum auris_err auris__zip_open(const uint8_t *data, size_t size, struct auris__zip *zip,
                               struct auris_error *err)
{
    memset(zip, 0, sizeof *zip);
    struct cdir cd = {0};
    enum auris_err rc = find_eocd(data, size, &cd, err);
    if (rc)
        return rc;
    if (cd.n_entries == 0)
        return auris__fail(err, AURIS_ERR_FORMAT, "zip: archive is empty");
    zip->entries = calloc((size_t)cd.n_entries, sizeof *zip->entries);
    if (!zip->entries)
        return auris__fail(err, AURIS_ERR_NOMEM, "zip: out of memory for %llu entries",
                           (unsigned long long)cd.n_entries);
    size_t pos = (size_t)cd.offset;
    for (uint64_t i = 0; i < cd.n_entries; i++) {
        rc = read_central(data, &cd, &pos, &zip->entries[i], err);
        if (rc)
            goto fail;
    }
    if (pos != cd.end) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "zip: central directory has trailing bytes");
        goto fail;
    }
    zip->n_entries = (int)cd.n_entries;
    qsort(zip->entries, (size_t)zip->n_entries, sizeof *zip->entries, cmp_entry);
    for (int i = 1; i < zip->n_entries; i++) {
        if (cmp_entry(&zip->entries[i - 1], &zip->entries[i]) == 0) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "zip: member '%.*s' appears twice",
                             (int)AURIS_MIN(zip->entries[i].name_len, 200),
                             zip->entries[i].name);
            goto fail;
        }
    }
    return AURIS_OK;
fail:
    auris__zip_close(zip);
    return rc;
}

void auris__zip_close(struct auris__zip *zip)
{
    if (!zip)
        return;
    free(zip->entries);
    zip->entries = NULL;
    zip->n_entries = 0;
}

const struct auris__zip_entry *auris__zip_find(const struct auris__zip *zip, const char *name,
                                               size_t name_len)
{
    if (!zip || !zip->entries)
        return NULL;
    struct auris__zip_entry key = {.name = name, .name_len = name_len};
    return bsearch(&key, zip->entries, (size_t)zip->n_entries, sizeof key, cmp_entry);
}
