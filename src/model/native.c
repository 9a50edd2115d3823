/*
 * native.c — loader for auris's native single-file format (GGUF v3 based; see docs/FORMAT.md).
 *
 * Reference: ggml's docs/gguf.md (facts only): "GGUF", u32 version, u64 tensor count, u64 key/value
 * count, typed key/values (strings and arrays length-prefixed with u64), tensor infos (name,
 * u32 n_dims, u64 dims innermost first, u32 ggml type, u64 offset into the data section), then
 * the data section at the next multiple of general.alignment (default 32).
 * Invariants: every count, length, dimension, type and offset is checked against the bytes that
 * remain before anything is read or allocated (allocations are bounded by what the file could
 * possibly hold); tensors must be aligned, inside the data section and pairwise disjoint.
 * Nothing is copied: tensors, vocabulary strings, filters and the alignment-head mask point into
 * the map. Unknown keys are skipped; a tensor type auris cannot compute on is UNSUPPORTED.
 */
#include "model/model.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

enum {
    GT_UINT8 = 0, GT_INT8, GT_UINT16, GT_INT16, GT_UINT32, GT_INT32, GT_FLOAT32, GT_BOOL,
    GT_STRING, GT_ARRAY, GT_UINT64, GT_INT64, GT_FLOAT64, GT_COUNT
};

#define MAX_TENSORS 65536      /* large-v3 has ~1,300 */
#define MAX_VOCAB (1 << 17)    /* the base vocabulary has ~50k tokens */
#define MAX_ALIGN 65536
#define N_FILTER_BINS (AURIS_N_FFT / 2 + 1)

/* The ten ModelDimensions keys and where each goes (the struct's field order differs). */
static const struct {
    const char *key;
    size_t off;
} DIM_KEYS[10] = {
    {"whisper.n_mels", offsetof(struct auris_model_dims, n_mels)},
    {"whisper.n_vocab", offsetof(struct auris_model_dims, n_vocab)},
    {"whisper.n_audio_ctx", offsetof(struct auris_model_dims, n_audio_ctx)},
    {"whisper.n_audio_state", offsetof(struct auris_model_dims, n_audio_state)},
    {"whisper.n_audio_head", offsetof(struct auris_model_dims, n_audio_head)},
    {"whisper.n_audio_layer", offsetof(struct auris_model_dims, n_audio_layer)},
    {"whisper.n_text_ctx", offsetof(struct auris_model_dims, n_text_ctx)},
    {"whisper.n_text_state", offsetof(struct auris_model_dims, n_text_state)},
    {"whisper.n_text_head", offsetof(struct auris_model_dims, n_text_head)},
    {"whisper.n_text_layer", offsetof(struct auris_model_dims, n_text_layer)},
};

struct reader {
    const uint8_t *d;
    size_t size, pos;
    struct auris_error *err;
};

static enum auris_err truncated(struct reader *r, const char *what)
{
    return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: truncated at byte %zu (reading %s)",
                       r->pos, what);
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static enum auris_err rd(struct reader *r, int n, uint64_t *v, const char *what)
{
    if (r->size - r->pos < (size_t)n)
        return truncated(r, what);
    *v = le(r->d + r->pos, n);
    r->pos += (size_t)n;
    return AURIS_OK;
}

/* A u64-length-prefixed string: *s points into the map, not NUL-terminated. */
static enum auris_err rd_str(struct reader *r, const uint8_t **s, uint64_t *len, const char *what)
{
    enum auris_err rc = rd(r, 8, len, what);
    if (rc)
        return rc;
    if (*len > r->size - r->pos)
        return truncated(r, what);
    *s = r->d + r->pos;
    r->pos += (size_t)*len;
    return AURIS_OK;
}

static int scalar_size(uint32_t t)
{
    static const int sz[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < GT_COUNT ? sz[t] : 0;
}

/* Skips a value of type t (arrays of arrays are refused, as ggml does). */
static enum auris_err skip_value(struct reader *r, uint32_t t, const char *key)
{
    const uint8_t *s = NULL;
    uint64_t n = 0, et = 0;
    enum auris_err rc;
    if (t == GT_STRING)
        return rd_str(r, &s, &n, key);
    if (t != GT_ARRAY) {
        int sz = scalar_size(t);
        if (!sz)
            return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: key '%s' has unknown type %u",
                               key, t);
        return r->size - r->pos < (size_t)sz ? truncated(r, key) : (r->pos += (size_t)sz, AURIS_OK);
    }
    if ((rc = rd(r, 4, &et, key)) || (rc = rd(r, 8, &n, key)))
        return rc;
    if (et == GT_STRING) {
        uint64_t len = 0;
        for (uint64_t i = 0; i < n; i++)
            if ((rc = rd_str(r, &s, &len, key)))
                return rc;
        return AURIS_OK;
    }
    int sz = scalar_size((uint32_t)et);
    if (!sz)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: key '%s' is an array of type %llu",
                           key, (unsigned long long)et);
    if (n > (r->size - r->pos) / (size_t)sz)
        return truncated(r, key);
    r->pos += (size_t)n * (size_t)sz;
    return AURIS_OK;
}

static int key_is(const uint8_t *k, uint64_t len, const char *name)
{
    return len == strlen(name) && memcmp(k, name, (size_t)len) == 0;
}

struct native {
    struct reader r;
    struct auris__checkpoint *ck;
    uint32_t alignment;
    int have_dim[10];
    int have_arch, have_tokens, have_heads;
    uint64_t n_heads_mask;
};

/* An integer of any GGUF integer type, within [1, INT_MAX]. */
static enum auris_err rd_dim(struct native *nt, uint32_t t, const char *key, int *out)
{
    uint64_t v = 0;
    int sz = (t == GT_UINT32 || t == GT_INT32) ? 4 : (t == GT_UINT64 || t == GT_INT64) ? 8 : 0;
    if (!sz)
        return auris__fail(nt->r.err, AURIS_ERR_FORMAT, "GGUF: %s must be an integer", key);
    enum auris_err rc = rd(&nt->r, sz, &v, key);
    if (rc)
        return rc;
    if (v == 0 || v > INT_MAX)
        return auris__fail(nt->r.err, AURIS_ERR_FORMAT, "GGUF: %s = %llu is out of range", key,
                           (unsigned long long)v);
    *out = (int)v;
    return AURIS_OK;
}

static enum auris_err rd_tokens(struct native *nt, uint32_t t)
{
    struct reader *r = &nt->r;
    struct auris__checkpoint *ck = nt->ck;
    uint64_t et = 0, n = 0;
    enum auris_err rc;
    if (t != GT_ARRAY)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tokenizer.ggml.tokens must be an array");
    if ((rc = rd(r, 4, &et, "tokenizer.ggml.tokens")) || (rc = rd(r, 8, &n, "tokenizer.ggml.tokens")))
        return rc;
    if (et != GT_STRING)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tokenizer.ggml.tokens must hold strings");
    if (nt->have_tokens)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tokenizer.ggml.tokens appears twice");
    /* every string takes at least its 8-byte length */
    if (n > (r->size - r->pos) / 8 || n > MAX_VOCAB || n == 0)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tokenizer.ggml.tokens has an "
                           "impossible count %llu", (unsigned long long)n);
    ck->vocab = malloc((size_t)n * sizeof *ck->vocab);
    ck->vocab_len = malloc((size_t)n * sizeof *ck->vocab_len);
    if (!ck->vocab || !ck->vocab_len)
        return auris__fail(r->err, AURIS_ERR_NOMEM, "out of memory for the vocabulary");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = 0;
        if ((rc = rd_str(r, &ck->vocab[i], &len, "tokenizer.ggml.tokens")))
            return rc;
        if (len > UINT32_MAX) /* empty tokens exist (multilingual rank 50256) */
            return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: token %llu has length %llu",
                               (unsigned long long)i, (unsigned long long)len);
        ck->vocab_len[i] = (uint32_t)len;
    }
    ck->n_vocab_tokens = (int)n;
    nt->have_tokens = 1;
    return AURIS_OK;
}

static enum auris_err rd_heads(struct native *nt, uint32_t t)
{
    struct reader *r = &nt->r;
    uint64_t et = 0, n = 0;
    enum auris_err rc;
    if (t != GT_ARRAY)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: whisper.alignment_heads must be an array");
    if ((rc = rd(r, 4, &et, "whisper.alignment_heads")) ||
        (rc = rd(r, 8, &n, "whisper.alignment_heads")))
        return rc;
    if (et != GT_UINT8 && et != GT_BOOL)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: whisper.alignment_heads must hold uint8");
    if (nt->have_heads)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: whisper.alignment_heads appears twice");
    if (n > r->size - r->pos)
        return truncated(r, "whisper.alignment_heads");
    for (uint64_t i = 0; i < n; i++)
        if (r->d[r->pos + i] > 1)
            return auris__fail(r->err, AURIS_ERR_FORMAT,
                               "GGUF: whisper.alignment_heads[%llu] is not 0 or 1",
                               (unsigned long long)i);
    nt->ck->alignment_heads = r->d + r->pos;
    nt->n_heads_mask = n;
    nt->have_heads = 1;
    r->pos += (size_t)n;
    return AURIS_OK;
}

static enum auris_err rd_kv(struct native *nt)
{
    struct reader *r = &nt->r;
    const uint8_t *k = NULL;
    uint64_t klen = 0, t = 0;
    enum auris_err rc;
    if ((rc = rd_str(r, &k, &klen, "a key")) || (rc = rd(r, 4, &t, "a value type")))
        return rc;
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)AURIS_MIN(klen, 63u), (const char *)k);
    for (int i = 0; i < 10; i++) {
        if (!key_is(k, klen, DIM_KEYS[i].key))
            continue;
        if (nt->have_dim[i])
            return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: %s appears twice", key);
        nt->have_dim[i] = 1;
        return rd_dim(nt, (uint32_t)t, key, (int *)((char *)&nt->ck->dims + DIM_KEYS[i].off));
    }
    if (key_is(k, klen, "general.architecture")) {
        const uint8_t *s = NULL;
        uint64_t len = 0;
        if (t != GT_STRING)
            return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: general.architecture must be a string");
        if ((rc = rd_str(r, &s, &len, key)))
            return rc;
        if (!key_is(s, len, "whisper"))
            return auris__fail(r->err, AURIS_ERR_UNSUPPORTED,
                               "GGUF: architecture '%.*s' is not a Whisper model",
                               (int)AURIS_MIN(len, 40u), (const char *)s);
        nt->have_arch = 1;
        return AURIS_OK;
    }
    if (key_is(k, klen, "general.alignment")) {
        uint64_t a = 0;
        if (t != GT_UINT32)
            return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: general.alignment must be uint32");
        if ((rc = rd(r, 4, &a, key)))
            return rc;
        if (a < 8 || a > MAX_ALIGN || (a & (a - 1)))
            return auris__fail(r->err, AURIS_ERR_FORMAT,
                               "GGUF: general.alignment %llu is not a power of two in 8..%d",
                               (unsigned long long)a, MAX_ALIGN);
        nt->alignment = (uint32_t)a;
        return AURIS_OK;
    }
    if (key_is(k, klen, "tokenizer.ggml.tokens"))
        return rd_tokens(nt, (uint32_t)t);
    if (key_is(k, klen, "whisper.alignment_heads"))
        return rd_heads(nt, (uint32_t)t);
    return skip_value(r, (uint32_t)t, key);
}

/* ---- tensor infos ------------------------------------------------------------------------- */

struct tinfo {
    uint64_t off, nbytes;
};

static const char *ggml_type_name(uint64_t t)
{
    static const char *const names[] = {
        "f32", "f16", "q4_0", "q4_1", "q4_2", "q4_3", "q5_0", "q5_1", "q8_0", "q8_1", "q2_k",
        "q3_k", "q4_k", "q5_k", "q6_k", "q8_k", "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s",
        "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8", "i16", "i32", "i64", "f64", "iq1_m", "bf16",
    };
    return t < AURIS_ARRAY_LEN(names) ? names[t] : "unknown";
}

static enum auris_err rd_tensor(struct native *nt, struct auris__raw_tensor *rt, struct tinfo *ti)
{
    struct reader *r = &nt->r;
    const uint8_t *name = NULL;
    uint64_t len = 0, nd = 0, type = 0, dims[4] = {0};
    enum auris_err rc;
    if ((rc = rd_str(r, &name, &len, "a tensor name")))
        return rc;
    if (len == 0 || len >= sizeof rt->name || memchr(name, 0, (size_t)len))
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tensor name of %llu bytes at byte %zu "
                           "is empty, too long or holds NUL", (unsigned long long)len, r->pos);
    memcpy(rt->name, name, (size_t)len);
    rt->name[len] = '\0';
    if ((rc = rd(r, 4, &nd, rt->name)))
        return rc;
    if (nd < 1 || nd > 4)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tensor '%s' has %llu dimensions",
                           rt->name, (unsigned long long)nd);
    uint64_t numel = 1;
    for (uint64_t i = 0; i < nd; i++) {
        if ((rc = rd(r, 8, &dims[i], rt->name)))
            return rc;
        if (dims[i] == 0 || dims[i] > (UINT64_C(1) << 40) || numel > (UINT64_C(1) << 40) / dims[i])
            return auris__fail(r->err, AURIS_ERR_FORMAT,
                               "GGUF: tensor '%s' has an impossible dimension %llu", rt->name,
                               (unsigned long long)dims[i]);
        numel *= dims[i];
    }
    if ((rc = rd(r, 4, &type, rt->name)) || (rc = rd(r, 8, &ti->off, rt->name)))
        return rc;
    rt->n_dims = (int)nd;
    for (int i = 0; i < rt->n_dims; i++)
        rt->ne[i] = (int64_t)dims[nd - 1 - (uint64_t)i]; /* ggml order -> PyTorch order */
    rt->type = (enum auris__dtype)type;
    if (type > 255 || !auris__dtype_known(rt->type))
        return auris__fail(r->err, AURIS_ERR_UNSUPPORTED,
                           "GGUF: tensor '%s' has type %llu (%s), which auris cannot use (supported: "
                           "f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0)", rt->name,
                           (unsigned long long)type, ggml_type_name(type));
    if (auris__dtype_block_bytes(rt->type) && dims[0] % AURIS__QK8_0)
        return auris__fail(r->err, AURIS_ERR_FORMAT,
                           "GGUF: tensor '%s' is %s but its rows of %llu are not whole blocks",
                           rt->name, ggml_type_name(type), (unsigned long long)dims[0]);
    ti->nbytes = auris__dtype_bytes(rt->type, (size_t)numel);
    if (ti->nbytes == 0)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: tensor '%s' is too large", rt->name);
    if (ti->off % nt->alignment)
        return auris__fail(r->err, AURIS_ERR_FORMAT,
                           "GGUF: tensor '%s' offset %llu is not a multiple of the alignment %u",
                           rt->name, (unsigned long long)ti->off, nt->alignment);
    return AURIS_OK;
}

static int cmp_off(const void *a, const void *b)
{
    const struct tinfo *const *x = a, *const *y = b;
    return (*x)->off < (*y)->off ? -1 : (*x)->off > (*y)->off;
}

/* Every tensor inside the data section, no two overlapping. */
static enum auris_err check_extents(struct native *nt, struct tinfo *ti, size_t n, size_t data_size)
{
    struct auris__checkpoint *ck = nt->ck;
    for (size_t i = 0; i < n; i++)
        if (ti[i].off > data_size || ti[i].nbytes > data_size - ti[i].off)
            return auris__fail(nt->r.err, AURIS_ERR_FORMAT,
                               "GGUF: tensor '%s' (%llu bytes at offset %llu) lies outside the "
                               "data section of %zu bytes", ck->tensors[i].name,
                               (unsigned long long)ti[i].nbytes, (unsigned long long)ti[i].off,
                               data_size);
    struct tinfo **s = malloc(AURIS_MAX(n, 1) * sizeof *s);
    if (!s)
        return auris__fail(nt->r.err, AURIS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s[i] = &ti[i];
    qsort(s, n, sizeof *s, cmp_off);
    enum auris_err rc = AURIS_OK;
    for (size_t i = 1; i < n && !rc; i++)
        if (s[i - 1]->off + s[i - 1]->nbytes > s[i]->off)
            rc = auris__fail(nt->r.err, AURIS_ERR_FORMAT, "GGUF: tensors '%s' and '%s' overlap",
                             ck->tensors[s[i - 1] - ti].name, ck->tensors[s[i] - ti].name);
    free(s);
    return rc;
}

/* Moves "mel_filters" out of the tensor list into ck->mel_filters. */
static enum auris_err take_filters(struct native *nt)
{
    struct auris__checkpoint *ck = nt->ck;
    for (int i = 0; i < ck->n_tensors; i++) {
        struct auris__raw_tensor *t = &ck->tensors[i];
        if (strcmp(t->name, "mel_filters") != 0)
            continue;
        if (t->type != AURIS_DT_F32 || t->n_dims != 2 || t->ne[1] != N_FILTER_BINS ||
            t->ne[0] > 1024)
            return auris__fail(nt->r.err, AURIS_ERR_FORMAT,
                               "GGUF: mel_filters must be f32 [n_mels][%d]", N_FILTER_BINS);
        if (ck->mel_filters)
            return auris__fail(nt->r.err, AURIS_ERR_FORMAT, "GGUF: mel_filters appears twice");
        ck->mel_filters = t->data;
        ck->filters_n_mels = (int)t->ne[0];
        ck->filters_n_fft = N_FILTER_BINS;
        ck->tensors[i--] = ck->tensors[--ck->n_tensors];
    }
    return AURIS_OK;
}

static enum auris_err parse(struct native *nt)
{
    struct reader *r = &nt->r;
    struct auris__checkpoint *ck = nt->ck;
    uint64_t version = 0, n_tensors = 0, n_kv = 0;
    enum auris_err rc;
    r->pos = 4; /* magic checked by the caller */
    if ((rc = rd(r, 4, &version, "the version")))
        return rc;
    if (version != 2 && version != 3)
        return auris__fail(r->err, AURIS_ERR_UNSUPPORTED, "GGUF version %llu is not supported "
                           "(expected 3)", (unsigned long long)version);
    if ((rc = rd(r, 8, &n_tensors, "the tensor count")) || (rc = rd(r, 8, &n_kv, "the key count")))
        return rc;
    /* a key/value takes at least 13 bytes, a tensor info at least 33 */
    if (n_kv > (r->size - r->pos) / 13)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: impossible key count %llu",
                           (unsigned long long)n_kv);
    if (n_tensors > MAX_TENSORS || n_tensors > (r->size - r->pos) / 33)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: impossible tensor count %llu",
                           (unsigned long long)n_tensors);
    nt->alignment = 32;
    for (uint64_t i = 0; i < n_kv; i++)
        if ((rc = rd_kv(nt)))
            return rc;
    if (!nt->have_arch)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: general.architecture is missing");
    for (int i = 0; i < 10; i++)
        if (!nt->have_dim[i])
            return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: %s is missing", DIM_KEYS[i].key);
    if (nt->have_heads &&
        nt->n_heads_mask != (uint64_t)ck->dims.n_text_layer * (uint64_t)ck->dims.n_text_head)
        return auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: whisper.alignment_heads has %llu "
                           "entries, expected n_text_layer * n_text_head = %d * %d",
                           (unsigned long long)nt->n_heads_mask, ck->dims.n_text_layer,
                           ck->dims.n_text_head);

    size_t n = (size_t)n_tensors;
    ck->tensors = calloc(AURIS_MAX(n, 1), sizeof *ck->tensors);
    struct tinfo *ti = calloc(AURIS_MAX(n, 1), sizeof *ti);
    if (!ck->tensors || !ti) {
        free(ti);
        return auris__fail(r->err, AURIS_ERR_NOMEM, "out of memory for %zu tensors", n);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        rc = rd_tensor(nt, &ck->tensors[i], &ti[i]);
        ck->n_tensors = (int)i + 1;
    }
    size_t data_start = 0;
    if (!rc) {
        data_start = (r->pos + nt->alignment - 1) / nt->alignment * nt->alignment;
        if (data_start > r->size)
            rc = auris__fail(r->err, AURIS_ERR_FORMAT, "GGUF: the data section starts at %zu, "
                             "past the end of the file (%zu bytes)", data_start, r->size);
    }
    if (!rc)
        rc = check_extents(nt, ti, n, r->size - data_start);
    for (size_t i = 0; i < n && !rc; i++)
        ck->tensors[i].data = r->d + data_start + ti[i].off;
    free(ti);
    return rc ? rc : take_filters(nt);
}

enum auris_err auris__load_native(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                  struct auris_error *err)
{
    if (!data || !ck || size < 4 || memcmp(data, "GGUF", 4) != 0)
        return auris__fail(err, AURIS_ERR_FORMAT, "not a GGUF file");
    struct native nt = {.r = {data, size, 0, err}, .ck = ck};
    return parse(&nt);
}
