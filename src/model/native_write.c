/*
 * native_write.c — writes a loaded model as a native file (GGUF v3 based; docs/FORMAT.md).
 *
 * Reference: ggml's docs/gguf.md for the container (facts only); ggml's quantize_row_q8_0_ref for
 * q8_0 (blocks of 32: d = max|x| / 127 stored as f16, q = round(x * (1/d))); ggml's
 * fp32 -> bf16 rounding (round to nearest even, NaN kept quiet).
 * Invariants: the layout (every offset) is computed before the first byte is written, and every
 * tensor starts on a multiple of ALIGN counted from the file's start, so the loader maps weights
 * in place. Weights already in the requested type are copied byte for byte (an f16 .pt gives
 * bit-identical f16 tensors). The file appears atomically: written to a temporary in the same
 * folder, flushed and synced, then renamed; any failure removes the temporary.
 */
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN 64
#define N_FILTER_BINS (AURIS_N_FFT / 2 + 1)

enum { GT_UINT8 = 0, GT_UINT32 = 4, GT_STRING = 8, GT_ARRAY = 9 };

/* One tensor to write: either a weight, or an f32 array (1-D, positional, filters). */
struct item {
    char name[96];
    const struct auris__tensor *w; /* weight, or NULL */
    const float *f;                /* f32 source when w is NULL */
    int n_dims;
    int64_t ne[3];                 /* PyTorch order */
    enum auris__dtype type;        /* type on disk */
    size_t rows, row_len;          /* ne[0] x product of the rest */
    uint64_t off, nbytes;          /* in the data section */
};

struct writer {
    const auris_model *m;
    enum auris__dtype type;
    struct item *items;
    int n, cap;
    FILE *f;
    float *row;                    /* scratch [max row_len] */
    uint8_t *out;                  /* scratch [bytes of max row_len] */
    struct auris_error *err;
};

/* ---- building the tensor list -------------------------------------------------------------- */

static struct item *add(struct writer *w, const char *name)
{
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 512;
        struct item *p = realloc(w->items, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        w->items = p;
        w->cap = cap;
    }
    struct item *it = &w->items[w->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->name, sizeof it->name, "%s", name);
    return it;
}

/* Rows are the outermost dimension (a 1-D tensor is one row); conversions go row by row. */
static void set_shape(struct item *it, int n_dims, int64_t a, int64_t b, int64_t c)
{
    it->n_dims = n_dims;
    it->ne[0] = a;
    it->ne[1] = b;
    it->ne[2] = c;
    it->rows = n_dims == 1 ? 1 : (size_t)a;
    it->row_len = n_dims == 1 ? (size_t)a : (size_t)b * (size_t)(n_dims == 3 ? c : 1);
}

static int add_f32(struct writer *w, const char *name, const float *src, int n_dims, int64_t a,
                   int64_t b)
{
    struct item *it = add(w, name);
    if (!it)
        return -1;
    it->f = src;
    it->type = AURIS_DT_F32;
    set_shape(it, n_dims, a, b, 1);
    return 0;
}

static int add_w(struct writer *w, const char *name, const struct auris__tensor *t)
{
    struct item *it = add(w, name);
    if (!it)
        return -1;
    it->w = t;
    set_shape(it, t->n_dims, t->ne[0], t->ne[1], t->ne[2]);
    it->type = w->type;
    /* q8_0 needs rows of whole blocks along the innermost dimension (not the k=3 of convs) */
    if (w->type == AURIS_DT_Q8_0 && t->ne[t->n_dims - 1] % AURIS__QK8_0)
        it->type = AURIS_DT_F16;
    return 0;
}

static int add_attn(struct writer *w, const char *p, const char *ln, int s,
                    const struct auris__attn *a)
{
    char n[96];
#define NM(suffix, base) (snprintf(n, sizeof n, "%s.%s", base, suffix), n)
    return add_w(w, NM("query.weight", p), &a->q_w) || add_f32(w, NM("query.bias", p), a->q_b, 1, s, 1) ||
           add_w(w, NM("key.weight", p), &a->k_w) || add_w(w, NM("value.weight", p), &a->v_w) ||
           add_f32(w, NM("value.bias", p), a->v_b, 1, s, 1) || add_w(w, NM("out.weight", p), &a->o_w) ||
           add_f32(w, NM("out.bias", p), a->o_b, 1, s, 1) ||
           add_f32(w, NM("weight", ln), a->ln_w, 1, s, 1) || add_f32(w, NM("bias", ln), a->ln_b, 1, s, 1);
#undef NM
}

static int add_block(struct writer *w, const char *stack, int i, int s, int cross,
                     const struct auris__block *b)
{
    char p[64], q[64], n[96];
    snprintf(p, sizeof p, "%s.blocks.%d.attn", stack, i);
    snprintf(q, sizeof q, "%s.blocks.%d.attn_ln", stack, i);
    if (add_attn(w, p, q, s, &b->attn))
        return -1;
    if (cross) {
        snprintf(p, sizeof p, "%s.blocks.%d.cross_attn", stack, i);
        snprintf(q, sizeof q, "%s.blocks.%d.cross_attn_ln", stack, i);
        if (add_attn(w, p, q, s, &b->cross))
            return -1;
    }
#define NM(suffix) (snprintf(n, sizeof n, "%s.blocks.%d.%s", stack, i, suffix), n)
    return add_w(w, NM("mlp.0.weight"), &b->mlp0_w) ||
           add_f32(w, NM("mlp.0.bias"), b->mlp0_b, 1, 4 * s, 1) ||
           add_w(w, NM("mlp.2.weight"), &b->mlp2_w) ||
           add_f32(w, NM("mlp.2.bias"), b->mlp2_b, 1, s, 1) ||
           add_f32(w, NM("mlp_ln.weight"), b->mlp_ln_w, 1, s, 1) ||
           add_f32(w, NM("mlp_ln.bias"), b->mlp_ln_b, 1, s, 1);
#undef NM
}

/* Every tensor in the official order, then the mel filters. */
static int build(struct writer *w)
{
    const auris_model *m = w->m;
    const struct auris_model_dims *d = &m->dims;
    const int s = d->n_audio_state, t = d->n_text_state;
    if (add_w(w, "encoder.conv1.weight", &m->conv1_w) ||
        add_f32(w, "encoder.conv1.bias", m->conv1_b, 1, s, 1) ||
        add_w(w, "encoder.conv2.weight", &m->conv2_w) ||
        add_f32(w, "encoder.conv2.bias", m->conv2_b, 1, s, 1) ||
        add_f32(w, "encoder.positional_embedding", m->enc_pos, 2, d->n_audio_ctx, s))
        return -1;
    for (int i = 0; i < d->n_audio_layer; i++)
        if (add_block(w, "encoder", i, s, 0, &m->enc[i]))
            return -1;
    if (add_f32(w, "encoder.ln_post.weight", m->enc_ln_w, 1, s, 1) ||
        add_f32(w, "encoder.ln_post.bias", m->enc_ln_b, 1, s, 1) ||
        add_w(w, "decoder.token_embedding.weight", &m->tok_emb) ||
        add_f32(w, "decoder.positional_embedding", m->dec_pos, 2, d->n_text_ctx, t))
        return -1;
    for (int i = 0; i < d->n_text_layer; i++)
        if (add_block(w, "decoder", i, t, 1, &m->dec[i]))
            return -1;
    if (add_f32(w, "decoder.ln.weight", m->dec_ln_w, 1, t, 1) ||
        add_f32(w, "decoder.ln.bias", m->dec_ln_b, 1, t, 1))
        return -1;
    if (m->mel_filters && add_f32(w, "mel_filters", m->mel_filters, 2, d->n_mels, N_FILTER_BINS))
        return -1;
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------------ */

static uint16_t f32_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a (quiet) NaN */
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* out = x[0..n) in type t (for q8_0, n % 32 == 0) */
static void encode(enum auris__dtype t, const float *x, size_t n, uint8_t *out)
{
    switch (t) {
    case AURIS_DT_F16:
        for (size_t i = 0; i < n; i++)
            put16(out + 2 * i, auris__f32_to_f16(x[i]));
        return;
    case AURIS_DT_BF16:
        for (size_t i = 0; i < n; i++)
            put16(out + 2 * i, f32_to_bf16(x[i]));
        return;
    case AURIS_DT_Q8_0:
        for (size_t b = 0; b < n / AURIS__QK8_0; b++, out += AURIS__Q8_0_BYTES) {
            const float *v = x + b * AURIS__QK8_0;
            float amax = 0.0f;
            for (int j = 0; j < AURIS__QK8_0; j++)
                amax = fmaxf(amax, fabsf(v[j]));
            float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            put16(out, auris__f32_to_f16(d));
            for (int j = 0; j < AURIS__QK8_0; j++)
                out[2 + j] = (uint8_t)(int8_t)roundf(v[j] * id);
        }
        return;
    default: /* f32 (check_model admits no other type) */
        break;
    }
    memcpy(out, x, n * sizeof *x);
}

/* ---- output ---------------------------------------------------------------------------------- */

static void put_u32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static void put_u64(FILE *f, uint64_t v)
{
    put_u32(f, (uint32_t)v);
    put_u32(f, (uint32_t)(v >> 32));
}

static void put_str(FILE *f, const void *s, size_t len)
{
    put_u64(f, len);
    fwrite(s, 1, len, f);
}

static void put_key(FILE *f, const char *key, uint32_t type)
{
    put_str(f, key, strlen(key));
    put_u32(f, type);
}

static void pad(FILE *f, uint64_t *pos, uint64_t to)
{
    static const uint8_t zeros[ALIGN];
    while (*pos < to) {
        size_t n = (size_t)AURIS_MIN(to - *pos, (uint64_t)ALIGN);
        fwrite(zeros, 1, n, f);
        *pos += n;
    }
}

/* Writes the key/values; returns their count (counted in the same pass when f is NULL). */
static uint64_t put_kvs(struct writer *w, FILE *f, uint64_t *bytes)
{
    const auris_model *m = w->m;
    const struct auris_model_dims *d = &m->dims;
    const struct {
        const char *key;
        int v;
    } dims[10] = {
        {"whisper.n_mels", d->n_mels},
        {"whisper.n_vocab", d->n_vocab},
        {"whisper.n_audio_ctx", d->n_audio_ctx},
        {"whisper.n_audio_state", d->n_audio_state},
        {"whisper.n_audio_head", d->n_audio_head},
        {"whisper.n_audio_layer", d->n_audio_layer},
        {"whisper.n_text_ctx", d->n_text_ctx},
        {"whisper.n_text_state", d->n_text_state},
        {"whisper.n_text_head", d->n_text_head},
        {"whisper.n_text_layer", d->n_text_layer},
    };
    const char *name = m->path ? strrchr(m->path, '/') : NULL;
    name = name ? name + 1 : m->path ? m->path : "whisper";
    uint64_t n = 0, b = 0;
#define KEY(k, t) (n++, b += 8 + strlen(k) + 4, f ? put_key(f, k, t) : (void)0)
    KEY("general.architecture", GT_STRING);
    b += 8 + 7;
    if (f)
        put_str(f, "whisper", 7);
    KEY("general.name", GT_STRING);
    b += 8 + strlen(name);
    if (f)
        put_str(f, name, strlen(name));
    KEY("general.alignment", GT_UINT32);
    b += 4;
    if (f)
        put_u32(f, ALIGN);
    for (int i = 0; i < 10; i++) {
        KEY(dims[i].key, GT_UINT32);
        b += 4;
        if (f)
            put_u32(f, (uint32_t)dims[i].v);
    }
    int n_base = m->tok ? auris__tokenizer_specials(m->tok)->eot : 0;
    if (n_base > 0) {
        KEY("tokenizer.ggml.tokens", GT_ARRAY);
        b += 12;
        if (f) {
            put_u32(f, GT_STRING);
            put_u64(f, (uint64_t)n_base);
        }
        for (int id = 0; id < n_base; id++) {
            const unsigned char *tok = NULL;
            size_t len = auris__tokenizer_token_bytes(m->tok, id, &tok);
            b += 8 + len;
            if (f)
                put_str(f, tok, len);
        }
    }
    if (m->alignment_heads) {
        size_t nh = (size_t)m->dims.n_text_layer * (size_t)m->dims.n_text_head;
        KEY("whisper.alignment_heads", GT_ARRAY);
        b += 12 + nh;
        if (f) {
            put_u32(f, GT_UINT8);
            put_u64(f, nh);
            fwrite(m->alignment_heads, 1, nh, f);
        }
    }
#undef KEY
    *bytes = b;
    return n;
}

static uint64_t align_up(uint64_t v)
{
    return (v + ALIGN - 1) / ALIGN * ALIGN;
}

/* Bytes of the tensor-info section. */
static uint64_t infos_bytes(const struct writer *w)
{
    uint64_t b = 0;
    for (int i = 0; i < w->n; i++)
        b += 8 + strlen(w->items[i].name) + 4 + 8 * (uint64_t)w->items[i].n_dims + 4 + 8;
    return b;
}

/* One tensor's bytes, row by row; weights already of the output type are copied verbatim. */
static void put_tensor(struct writer *w, const struct item *it)
{
    size_t out_row = auris__dtype_bytes(it->type, it->row_len);
    for (size_t r = 0; r < it->rows; r++) {
        if (it->w && it->w->type == it->type) {
            fwrite((const char *)it->w->data + out_row * r, 1, out_row, w->f);
            continue;
        }
        const float *x = it->f ? it->f + r * it->row_len : w->row;
        if (it->w && it->w->type == AURIS_DT_I8R) { /* CTranslate2 int8: q / scale */
            auris__row_to_f32(it->w, (int64_t)r, w->row);
        } else if (it->w) {
            size_t in_row = auris__dtype_bytes(it->w->type, it->row_len);
            auris__to_f32(it->w->type, (const char *)it->w->data + in_row * r, it->row_len, w->row);
        }
        encode(it->type, x, it->row_len, w->out);
        fwrite(w->out, 1, out_row, w->f);
    }
}

static enum auris_err write_all(struct writer *w)
{
    uint64_t kv_bytes = 0, n_kv = put_kvs(w, NULL, &kv_bytes);
    uint64_t header = 4 + 4 + 8 + 8 + kv_bytes + infos_bytes(w);
    uint64_t data_start = align_up(header), off = 0;
    size_t max_row = 1;
    for (int i = 0; i < w->n; i++) {
        struct item *it = &w->items[i];
        it->off = off;
        it->nbytes = auris__dtype_bytes(it->type, it->rows * it->row_len);
        if (!it->nbytes)
            return auris__fail(w->err, AURIS_ERR_INVALID_ARG, "cannot store tensor '%s' as %d",
                               it->name, (int)it->type);
        off = align_up(off + it->nbytes);
        max_row = AURIS_MAX(max_row, it->row_len);
    }
    w->row = malloc(max_row * sizeof *w->row);
    w->out = malloc(max_row * sizeof(float));
    if (!w->row || !w->out)
        return auris__fail(w->err, AURIS_ERR_NOMEM, "out of memory");

    FILE *f = w->f;
    fwrite("GGUF", 1, 4, f);
    put_u32(f, 3);
    put_u64(f, (uint64_t)w->n);
    put_u64(f, n_kv);
    put_kvs(w, f, &kv_bytes);
    for (int i = 0; i < w->n; i++) {
        const struct item *it = &w->items[i];
        put_str(f, it->name, strlen(it->name));
        put_u32(f, (uint32_t)it->n_dims);
        for (int j = it->n_dims - 1; j >= 0; j--) /* ggml order: innermost first */
            put_u64(f, (uint64_t)it->ne[j]);
        put_u32(f, (uint32_t)it->type);
        put_u64(f, it->off);
    }
    uint64_t pos = header;
    pad(f, &pos, data_start);
    for (int i = 0; i < w->n && !ferror(f); i++) {
        const struct item *it = &w->items[i];
        pad(f, &pos, data_start + it->off);
        put_tensor(w, it);
        pos += it->nbytes;
    }
    return AURIS_OK;
}

static enum auris_err check_model(const auris_model *m, enum auris__dtype type,
                                  struct auris_error *err)
{
    if (!m || !m->enc || !m->dec)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "native write: no model");
    if (type != AURIS_DT_F32 && type != AURIS_DT_F16 && type != AURIS_DT_BF16 &&
        type != AURIS_DT_Q8_0)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "native write: unsupported weight type %d",
                           (int)type);
    return AURIS_OK;
}

enum auris_err auris__native_write(const auris_model *m, const char *path, enum auris__dtype type,
                                   struct auris_error *err)
{
    enum auris_err rc = check_model(m, type, err);
    if (rc)
        return rc;
    if (!path || !*path)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "native write: no output path");
    struct writer w = {.m = m, .type = type, .err = err};
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: cannot create a temporary file: %s", path,
                         strerror(errno));
        free(tmp);
        return rc;
    }
    (void)fchmod(fd, 0644);
    w.f = fdopen(fd, "wb");
    if (!w.f) {
        close(fd);
        rc = auris__fail(err, AURIS_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    setvbuf(w.f, NULL, _IOFBF, 1 << 20);
    if (build(&w)) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = write_all(&w)))
        goto fail;
    if (ferror(w.f) || fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    FILE *f = w.f;
    w.f = NULL;
    if (fclose(f) != 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "%s: cannot rename the finished file into place: %s",
                         path, strerror(errno));
        goto fail;
    }
    goto done;
fail:
    if (w.f)
        fclose(w.f);
    unlink(tmp);
done:
    free(tmp);
    free(w.items);
    free(w.row);
    free(w.out);
    return rc;
}
