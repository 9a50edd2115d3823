/*
 * vad_native.c — auris's native Silero VAD file: reader, writer and the file-kind sniffer.
 *
 * Reference: docs/FORMAT.md ("Silero VAD files"): the GGUF v3 container of the Whisper native
 * format (ggml's docs/gguf.md, facts only) with general.architecture = "silero-vad", the
 * Silero release in silero.version, the 15 tensors under their PyTorch state-dict names (the
 * names whisper.cpp's ggml file uses) as f32, and silero.crc32, zlib's CRC-32 of every byte of
 * the file except the 4 bytes of that value, so that damage anywhere is detected.
 * Invariants: the reader checks every count, length, type, dimension, offset and extent before
 * reading, verifies the checksum before any tensor value is used, and accepts exactly the
 * tensors of the ggml reader (vad_load.c's slots, same shapes, finite values). The writer stores the
 * loaded f32 arrays unchanged, so a converted file gives bit-identical probabilities; it builds
 * the file in memory and renames a finished temporary into place.
 */
#include "vad/vad.h"
#include "byte_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { GT_UINT8 = 0, GT_INT32 = 5, GT_UINT32 = 4, GT_STRING = 8, GT_ARRAY = 9, GT_COUNT = 13 };

#define ALIGN 64
#define MAX_KV 64
#define MAX_ALIGN 65536
#define ARCH "silero-vad"
#define KEY_ARCH "general.architecture"
#define KEY_SUM "silero.crc32"
#define SUM_BYTES 4

/* ---- sniffing ----------------------------------------------------------------------------- */

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

enum auris__vad_kind auris__vad_sniff(const uint8_t *h, size_t n)
{
    static const char ggml_type[] = "silero-16k";
    if (n >= 18 && le(h, 4) == 0x67676d6cu && le(h + 4, 4) == 10 && !memcmp(h + 8, ggml_type, 10))
        return AURIS__VAD_GGML;
    /* "GGUF", version, tensor count, key count, then the first key and its string value */
    size_t k = 24, klen = strlen(KEY_ARCH), alen = strlen(ARCH);
    if (n < k + 8 + klen + 4 + 8 + alen || memcmp(h, "GGUF", 4) != 0)
        return AURIS__VAD_NOT;
    if (le(h + k, 8) != klen || memcmp(h + k + 8, KEY_ARCH, klen) != 0)
        return AURIS__VAD_NOT;
    k += 8 + klen;
    if (le(h + k, 4) != GT_STRING || le(h + k + 4, 8) != alen || memcmp(h + k + 12, ARCH, alen))
        return AURIS__VAD_NOT;
    return AURIS__VAD_NATIVE;
}

/* ---- reading ------------------------------------------------------------------------------ */

struct nat {
    struct auris__rd r;
    struct auris_error *err;
    uint64_t alignment;
    int have_arch, have_version;
    size_t sum_pos; /* offset of the checksum value, 0 when absent */
    int verify_sum; /* 0 only for the fuzz target, to reach what the checksum guards */
    struct auris_vad *v;
};

static enum auris_err trunc_at(struct nat *n, const char *what)
{
    return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: native file truncated at byte %zu "
                       "(reading %s)", n->r.pos, what);
}

static int rd_u(struct nat *n, int bytes, uint64_t *v)
{
    const uint8_t *p;
    if (!auris__rd_take(&n->r, (size_t)bytes, &p))
        return 0;
    *v = le(p, bytes);
    return 1;
}

static int rd_s(struct nat *n, const uint8_t **s, uint64_t *len)
{
    size_t save = n->r.pos;
    if (!rd_u(n, 8, len))
        return 0;
    if (*len > n->r.size - n->r.pos) {
        n->r.pos = save;
        return 0;
    }
    *s = n->r.d + n->r.pos;
    n->r.pos += (size_t)*len;
    return 1;
}

static int scalar_size(uint64_t t)
{
    static const int sz[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < GT_COUNT ? sz[t] : 0;
}

/* Skips an unknown key's value: a scalar, a string, or an array of scalars or strings. */
static enum auris_err skip_value(struct nat *n, uint64_t t, const char *key)
{
    const uint8_t *s;
    uint64_t len, et, cnt;
    if (t == GT_STRING)
        return rd_s(n, &s, &len) ? AURIS_OK : trunc_at(n, key);
    if (t != GT_ARRAY) {
        int sz = scalar_size(t);
        if (!sz)
            return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: key '%s' has unknown type %llu",
                               key, (unsigned long long)t);
        return auris__rd_take(&n->r, (size_t)sz, &s) ? AURIS_OK : trunc_at(n, key);
    }
    if (!rd_u(n, 4, &et) || !rd_u(n, 8, &cnt))
        return trunc_at(n, key);
    if (et == GT_STRING) {
        for (uint64_t i = 0; i < cnt; i++)
            if (!rd_s(n, &s, &len))
                return trunc_at(n, key);
        return AURIS_OK;
    }
    int sz = scalar_size(et);
    if (!sz)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: key '%s' is an array of type %llu",
                           key, (unsigned long long)et);
    if (cnt > (n->r.size - n->r.pos) / (size_t)sz)
        return trunc_at(n, key);
    n->r.pos += (size_t)cnt * (size_t)sz;
    return AURIS_OK;
}

static int is(const uint8_t *k, uint64_t len, const char *name)
{
    return len == strlen(name) && memcmp(k, name, (size_t)len) == 0;
}

static enum auris_err rd_version(struct nat *n, uint64_t t)
{
    uint64_t et, cnt, v[3];
    if (t != GT_ARRAY)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: silero.version must be an array");
    if (!rd_u(n, 4, &et) || !rd_u(n, 8, &cnt))
        return trunc_at(n, "silero.version");
    if (et != GT_UINT32 || cnt != 3)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: silero.version must be 3 uint32");
    for (int i = 0; i < 3; i++)
        if (!rd_u(n, 4, &v[i]))
            return trunc_at(n, "silero.version");
    if (v[0] < 5 || v[0] > 6 || v[1] > 1000 || v[2] > 1000)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: Silero version %llu.%llu.%llu is not "
                           "5.x or 6.x", (unsigned long long)v[0], (unsigned long long)v[1],
                           (unsigned long long)v[2]);
    for (int i = 0; i < 3; i++)
        n->v->version[i] = (int)v[i];
    n->have_version = 1;
    return AURIS_OK;
}

static enum auris_err rd_kv(struct nat *n, uint64_t index)
{
    const uint8_t *k, *s;
    uint64_t klen, t, len, a;
    if (!rd_s(n, &k, &klen) || !rd_u(n, 4, &t))
        return trunc_at(n, "a key");
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)AURIS_MIN(klen, 63u), (const char *)k);
    for (char *c = key; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            *c = '?';
    if (is(k, klen, KEY_ARCH)) {
        if (index != 0 || t != GT_STRING)
            return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: %s must be the first key, a "
                               "string", KEY_ARCH);
        if (!rd_s(n, &s, &len))
            return trunc_at(n, key);
        if (!is(s, len, ARCH))
            return auris__fail(n->err, AURIS_ERR_UNSUPPORTED, "vad: GGUF architecture '%.*s' "
                               "is not a Silero VAD model", (int)AURIS_MIN(len, 40u),
                               (const char *)s);
        n->have_arch = 1;
        return AURIS_OK;
    }
    if (!n->have_arch)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: %s must be the first key", KEY_ARCH);
    if (is(k, klen, "general.alignment")) {
        if (t != GT_UINT32 || !rd_u(n, 4, &a))
            return t != GT_UINT32 ? auris__fail(n->err, AURIS_ERR_FORMAT, "vad: "
                                                "general.alignment must be uint32")
                                  : trunc_at(n, key);
        if (a < 8 || a > MAX_ALIGN || (a & (a - 1)))
            return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: general.alignment %llu is not a "
                               "power of two in 8..%d", (unsigned long long)a, MAX_ALIGN);
        n->alignment = a;
        return AURIS_OK;
    }
    if (is(k, klen, "silero.version"))
        return n->have_version ? auris__fail(n->err, AURIS_ERR_FORMAT, "vad: silero.version "
                                             "appears twice")
                               : rd_version(n, t);
    if (is(k, klen, "silero.sample_rate")) {
        if (t != GT_UINT32 || !rd_u(n, 4, &a) || a != 16000)
            return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: silero.sample_rate must be "
                               "uint32 16000");
        return AURIS_OK;
    }
    if (is(k, klen, KEY_SUM)) {
        size_t at = n->r.pos;
        if (t != GT_UINT32 || !rd_u(n, 4, &a) || n->sum_pos)
            return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: %s must appear once, a uint32",
                               KEY_SUM);
        n->sum_pos = at;
        return AURIS_OK;
    }
    return skip_value(n, t, key);
}

/* zlib's CRC-32 of the bytes [0, skip) and [skip + 4, size) of data. */
static uint32_t file_crc(const uint8_t *d, size_t size, size_t skip)
{
    uLong c = crc32(0L, Z_NULL, 0);
    for (size_t p = 0; p < size;) {
        size_t end = p < skip ? skip : size;
        while (p < end) { /* zlib takes uInt lengths */
            uInt len = (uInt)AURIS_MIN(end - p, (size_t)1 << 30);
            c = crc32(c, d + p, len);
            p += len;
        }
        if (p == skip)
            p += SUM_BYTES;
    }
    return (uint32_t)c;
}

static enum auris_err check_sum(struct nat *n)
{
    uint32_t want = (uint32_t)le(n->r.d + n->sum_pos, 4);
    uint32_t got = file_crc(n->r.d, n->r.size, n->sum_pos);
    if (got != want)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: checksum mismatch: the file is "
                           "damaged (%s is %08x, the contents give %08x)", KEY_SUM,
                           (unsigned)want, (unsigned)got);
    return AURIS_OK;
}

struct tinfo {
    struct auris__vad_slot *slot;
    int type;
    uint64_t off, nbytes;
    char name[64];
};

static enum auris_err rd_tinfo(struct nat *n, struct auris__vad_slot *slots, struct tinfo *ti)
{
    const uint8_t *name;
    uint64_t len, nd, type, dim;
    int64_t ne[4];
    if (!rd_s(n, &name, &len))
        return trunc_at(n, "a tensor name");
    if (len == 0 || len >= sizeof ti->name || memchr(name, 0, (size_t)len))
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor name of %llu bytes is empty, "
                           "too long or holds NUL", (unsigned long long)len);
    memcpy(ti->name, name, (size_t)len);
    ti->name[len] = '\0';
    for (char *c = ti->name; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            *c = '?';
    ti->slot = auris__vad_find_slot(slots, name, (size_t)len);
    if (!ti->slot)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: unknown tensor '%s'", ti->name);
    if (ti->slot->seen)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor '%s' appears twice", ti->name);
    ti->slot->seen = 1; /* reset before the data is filled */
    if (!rd_u(n, 4, &nd))
        return trunc_at(n, ti->name);
    if (nd < 1 || nd > 4)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor '%s' has %llu dimensions",
                           ti->name, (unsigned long long)nd);
    for (uint64_t i = 0; i < nd; i++) {
        if (!rd_u(n, 8, &dim))
            return trunc_at(n, ti->name);
        if (dim == 0 || dim > (1u << 20))
            return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor '%s' has dimension %llu",
                               ti->name, (unsigned long long)dim);
        ne[i] = (int64_t)dim;
    }
    if (!rd_u(n, 4, &type) || !rd_u(n, 8, &ti->off))
        return trunc_at(n, ti->name);
    if (type > 1)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor '%s' has type %llu (f32 or "
                           "f16 expected)", ti->name, (unsigned long long)type);
    if (!auris__vad_shape_ok(ti->slot, ne, (int)nd))
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor '%s' has the wrong shape",
                           ti->name);
    ti->type = (int)type;
    ti->nbytes = auris__vad_slot_count(ti->slot) * (type ? 2u : 4u);
    if (ti->off % n->alignment)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: tensor '%s' offset %llu is not a "
                           "multiple of the alignment %llu", ti->name,
                           (unsigned long long)ti->off, (unsigned long long)n->alignment);
    return AURIS_OK;
}

/* The header and key/values (the checksum is located here, verified once the layout is). */
static enum auris_err rd_head(struct nat *n, uint64_t *n_tensors)
{
    uint64_t version, n_kv;
    if (n->r.size < 4 || memcmp(n->r.d, "GGUF", 4) != 0)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: not a GGUF file");
    n->r.pos = 4;
    if (!rd_u(n, 4, &version) || !rd_u(n, 8, n_tensors) || !rd_u(n, 8, &n_kv))
        return trunc_at(n, "the header");
    if (version != 3)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: GGUF version %llu (3 expected)",
                           (unsigned long long)version);
    if (n_kv == 0 || n_kv > MAX_KV)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: impossible key count %llu",
                           (unsigned long long)n_kv);
    n->alignment = 32;
    for (uint64_t i = 0; i < n_kv; i++) {
        enum auris_err e = rd_kv(n, i);
        if (e != AURIS_OK)
            return e;
    }
    if (!n->sum_pos)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: %s is missing", KEY_SUM);
    if (!n->have_version)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: silero.version is missing");
    if (*n_tensors != AURIS__VAD_N_SLOTS)
        return auris__fail(n->err, AURIS_ERR_FORMAT, "vad: %llu tensors (Silero v6 has %d)",
                           (unsigned long long)*n_tensors, AURIS__VAD_N_SLOTS);
    return AURIS_OK;
}

enum auris_err auris__vad_parse_native(const uint8_t *data, size_t size, struct auris_vad *v,
                                       int verify_sum, struct auris_error *err)
{
    struct nat n = {.r = {data, size, 0}, .err = err, .v = v, .verify_sum = verify_sum};
    struct auris__vad_slot slots[AURIS__VAD_N_SLOTS];
    struct tinfo ti[AURIS__VAD_N_SLOTS];
    uint64_t nt = 0;
    enum auris_err e = rd_head(&n, &nt);
    if (e == AURIS_OK)
        e = auris__vad_make_slots(v, slots, err);
    for (int i = 0; e == AURIS_OK && i < AURIS__VAD_N_SLOTS; i++)
        e = rd_tinfo(&n, slots, &ti[i]);
    if (e != AURIS_OK)
        return e;
    size_t start = (n.r.pos + n.alignment - 1) / n.alignment * n.alignment;
    if (start > size)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: the data section starts at %zu, past the "
                           "end of the file (%zu bytes)", start, size);
    size_t avail = size - start;
    for (int i = 0; i < AURIS__VAD_N_SLOTS; i++) {
        if (ti[i].off > avail || ti[i].nbytes > avail - ti[i].off)
            return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' (%llu bytes at offset "
                               "%llu) lies outside the data section of %zu bytes (a truncated "
                               "file?)", ti[i].name, (unsigned long long)ti[i].nbytes,
                               (unsigned long long)ti[i].off, avail);
        for (int j = 0; j < i; j++)
            if (ti[i].off < ti[j].off + ti[j].nbytes && ti[j].off < ti[i].off + ti[i].nbytes)
                return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensors '%s' and '%s' overlap",
                                   ti[j].name, ti[i].name);
    }
    /* the structure is sound (a cut file fails above); now every byte must be what was written */
    if (n.verify_sum && (e = check_sum(&n)) != AURIS_OK)
        return e;
    for (int i = 0; e == AURIS_OK && i < AURIS__VAD_N_SLOTS; i++) {
        ti[i].slot->seen = 0;
        e = auris__vad_fill(ti[i].slot, ti[i].type, data + start + ti[i].off, ti[i].name, err);
    }
    return e == AURIS_OK ? auris__vad_finish(v, slots, err) : e;
}

/* ---- writing ------------------------------------------------------------------------------ */

struct buf {
    uint8_t *d;
    size_t n, cap;
    int failed;
};

static void put(struct buf *b, const void *p, size_t len)
{
    if (b->failed)
        return;
    if (b->cap - b->n < len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < len)
            cap *= 2;
        uint8_t *d = realloc(b->d, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->n, p, len);
    b->n += len;
}

static void put_le(struct buf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)bytes);
}

static void put_str(struct buf *b, const char *s)
{
    put_le(b, strlen(s), 8);
    put(b, s, strlen(s));
}

static void put_key(struct buf *b, const char *key, uint32_t type)
{
    put_str(b, key);
    put_le(b, type, 4);
}

static void pad_to(struct buf *b, size_t to)
{
    static const uint8_t zero[ALIGN];
    while (!b->failed && b->n < to)
        put(b, zero, AURIS_MIN(sizeof zero, to - b->n));
}

/* The whole file in memory; returns the offset of the checksum (0 on NOMEM). */
static size_t build_file(const struct auris_vad *v, const char *name, struct buf *b)
{
    struct auris__vad_slot slots[AURIS__VAD_N_SLOTS];
    auris__vad_list_slots(v, slots);
    put(b, "GGUF", 4);
    put_le(b, 3, 4);
    put_le(b, AURIS__VAD_N_SLOTS, 8);
    put_le(b, name ? 6 : 5, 8);
    put_key(b, KEY_ARCH, GT_STRING);
    put_str(b, ARCH);
    put_key(b, "general.alignment", GT_UINT32);
    put_le(b, ALIGN, 4);
    if (name) {
        put_key(b, "general.name", GT_STRING);
        put_str(b, name);
    }
    put_key(b, "silero.version", GT_ARRAY);
    put_le(b, GT_UINT32, 4);
    put_le(b, 3, 8);
    for (int i = 0; i < 3; i++)
        put_le(b, (uint64_t)v->version[i], 4);
    put_key(b, "silero.sample_rate", GT_UINT32);
    put_le(b, 16000, 4);
    put_key(b, KEY_SUM, GT_UINT32);
    size_t sum_pos = b->n;
    put_le(b, 0, SUM_BYTES); /* filled in at the end */
    uint64_t off = 0;
    for (int i = 0; i < AURIS__VAD_N_SLOTS; i++) {
        const struct auris__vad_slot *s = &slots[i];
        put_str(b, s->name);
        put_le(b, s->n_dims ? (uint64_t)s->n_dims : 1, 4);
        for (int d = s->n_dims - 1; d >= 0; d--) /* innermost first */
            put_le(b, (uint64_t)s->dims[d], 8);
        if (s->n_dims == 0)
            put_le(b, 1, 8);
        put_le(b, 0, 4); /* f32 */
        put_le(b, off, 8);
        off += (auris__vad_slot_count(s) * 4 + ALIGN - 1) / ALIGN * ALIGN;
    }
    size_t start = (b->n + ALIGN - 1) / ALIGN * ALIGN;
    pad_to(b, start);
    for (int i = 0; i < AURIS__VAD_N_SLOTS; i++) {
        size_t cnt = auris__vad_slot_count(&slots[i]);
        for (size_t k = 0; k < cnt; k++) {
            uint32_t u;
            memcpy(&u, &slots[i].dst[k], sizeof u);
            put_le(b, u, 4);
        }
        pad_to(b, (b->n + ALIGN - 1) / ALIGN * ALIGN);
    }
    return b->failed ? 0 : sum_pos;
}

static enum auris_err write_file(const char *path, const struct buf *b, struct auris_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        enum auris_err e = auris__fail(err, AURIS_ERR_IO, "%s: cannot create a temporary file: "
                                       "%s", path, strerror(errno));
        free(tmp);
        return e;
    }
    (void)fchmod(fd, 0644);
    size_t done = 0;
    while (done < b->n) {
        ssize_t w = write(fd, b->d + done, b->n - done);
        if (w <= 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    enum auris_err e = AURIS_OK;
    if (done < b->n || fsync(fd) != 0)
        e = auris__fail(err, AURIS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (close(fd) != 0 && e == AURIS_OK)
        e = auris__fail(err, AURIS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (e == AURIS_OK && rename(tmp, path) != 0)
        e = auris__fail(err, AURIS_ERR_IO, "%s: cannot rename the finished file into place: %s",
                        path, strerror(errno));
    if (e != AURIS_OK)
        unlink(tmp);
    free(tmp);
    return e;
}

enum auris_err auris__vad_write_native(const struct auris_vad *v, const char *path,
                                       const char *name, struct auris_error *err)
{
    if (!v || !v->store || !path || !*path)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: no model or output path");
    struct buf b = {0};
    size_t sum_pos = build_file(v, name, &b);
    if (!sum_pos) {
        free(b.d);
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory writing '%s'", path);
    }
    uint32_t c = file_crc(b.d, b.n, sum_pos);
    for (int i = 0; i < SUM_BYTES; i++)
        b.d[sum_pos + (size_t)i] = (uint8_t)(c >> (8 * i));
    enum auris_err e = write_file(path, &b, err);
    free(b.d);
    return e;
}
