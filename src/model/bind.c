/*
 * bind.c — validates a parsed checkpoint against the Whisper architecture and fills auris_model.
 *
 * Reference: openai/whisper model.py (AudioEncoder: conv1 [s][n_mels][3], conv2 [s][s][3],
 * positional_embedding [n_audio_ctx][s], blocks, ln_post; TextDecoder: token_embedding
 * [n_vocab][t], positional_embedding [n_text_ctx][t], blocks with cross-attention, ln;
 * ResidualAttentionBlock: attn (query/key/value/out, key without bias), attn_ln, cross_attn,
 * cross_attn_ln, mlp.0 [4s][s], mlp.2 [s][4s], mlp_ln).
 * Invariants: every expected tensor is present exactly once with its official shape and no other
 * tensor exists; 1-D tensors and positional embeddings are f32 — used in place when the file
 * holds them as 4-byte-aligned f32 (the native format), else converted to owned 64-byte-aligned
 * copies; weights (f32, f16, bf16, q8_0) stay in the map when aligned to their element size
 * (bfloat16 flagged by the .pt/safetensors loaders with is_bf16 becomes an owned f32 copy),
 * otherwise they are copied to owned buffers, so a native file is used without copies. All
 * owned memory is registered with auris__model_own.
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>

/* Bounds well above every published Whisper model, low enough that no product overflows. */
#define MAX_STATE 8192
#define MAX_HEAD 256
#define MAX_LAYER 256
#define MAX_TEXT_CTX 8192
#define N_VOCAB_MIN 51864 /* English-only */
#define N_VOCAB_MAX 51866 /* large-v3: 100 languages */
#define N_FILTER_BINS (AURIS_N_FFT / 2 + 1)

static enum auris_err check_dims(const struct auris_model_dims *d, struct auris_error *err)
{
    const struct {
        const char *name;
        int v, lo, hi;
    } r[] = {
        {"n_audio_state", d->n_audio_state, 1, MAX_STATE},
        {"n_audio_head", d->n_audio_head, 1, MAX_HEAD},
        {"n_audio_layer", d->n_audio_layer, 1, MAX_LAYER},
        {"n_text_ctx", d->n_text_ctx, 1, MAX_TEXT_CTX},
        {"n_text_state", d->n_text_state, 1, MAX_STATE},
        {"n_text_head", d->n_text_head, 1, MAX_HEAD},
        {"n_text_layer", d->n_text_layer, 1, MAX_LAYER},
        {"n_vocab", d->n_vocab, N_VOCAB_MIN, N_VOCAB_MAX},
    };
    for (size_t i = 0; i < AURIS_ARRAY_LEN(r); i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return auris__fail(err, AURIS_ERR_FORMAT, "invalid dims: %s = %d (expected %d..%d)",
                               r[i].name, r[i].v, r[i].lo, r[i].hi);
    if (d->n_mels != 80 && d->n_mels != 128)
        return auris__fail(err, AURIS_ERR_FORMAT, "invalid dims: n_mels = %d (expected 80 or 128)",
                           d->n_mels);
    /* conv2 has stride 2, so a 30 s window of 3000 frames gives n_audio_ctx positions */
    if (d->n_audio_ctx != AURIS_N_FRAMES / 2)
        return auris__fail(err, AURIS_ERR_FORMAT, "invalid dims: n_audio_ctx = %d (expected %d)",
                           d->n_audio_ctx, AURIS_N_FRAMES / 2);
    if (d->n_audio_state % d->n_audio_head)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "invalid dims: n_audio_state %d is not a multiple of n_audio_head %d",
                           d->n_audio_state, d->n_audio_head);
    if (d->n_text_state % d->n_text_head)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "invalid dims: n_text_state %d is not a multiple of n_text_head %d",
                           d->n_text_state, d->n_text_head);
    return AURIS_OK;
}

/* ---- tensor lookup --------------------------------------------------------------------------- */

struct binder {
    auris_model *model;
    const struct auris__checkpoint *ck;
    const struct auris__raw_tensor **sorted; /* [n_tensors] by name */
    uint8_t *used;                            /* [n_tensors], indexed like ck->tensors */
    struct auris_error *err;
};

static int cmp_raw(const void *a, const void *b)
{
    const struct auris__raw_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static const struct auris__raw_tensor *lookup(struct binder *b, const char *name)
{
    struct auris__raw_tensor key;
    snprintf(key.name, sizeof key.name, "%s", name);
    const struct auris__raw_tensor *pk = &key;
    const struct auris__raw_tensor **hit =
        bsearch(&pk, b->sorted, (size_t)b->ck->n_tensors, sizeof *b->sorted, cmp_raw);
    if (!hit)
        return NULL;
    b->used[*hit - b->ck->tensors] = 1;
    return *hit;
}

static void fmt_shape(char *buf, size_t n, int n_dims, const int64_t *ne)
{
    size_t o = 0;
    o += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < n_dims && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? "," : "", (long long)ne[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

/* Equal shapes; with `squeezed`, size-1 dimensions are ignored on both sides. */
static int same_shape(const struct auris__raw_tensor *t, int n_dims, const int64_t *ne,
                      int squeezed)
{
    if (!squeezed) {
        if (t->n_dims != n_dims)
            return 0;
        for (int i = 0; i < n_dims; i++)
            if (t->ne[i] != ne[i])
                return 0;
        return 1;
    }
    int i = 0, j = 0;
    for (;;) {
        while (i < t->n_dims && t->ne[i] == 1)
            i++;
        while (j < n_dims && ne[j] == 1)
            j++;
        if (i == t->n_dims || j == n_dims)
            return i == t->n_dims && j == n_dims;
        if (t->ne[i++] != ne[j++])
            return 0;
    }
}

/* Finds `name` and checks it has shape ne[0..n_dims). */
static enum auris_err get(struct binder *b, const char *name, int n_dims, const int64_t *ne,
                          const struct auris__raw_tensor **out)
{
    const struct auris__raw_tensor *t = lookup(b, name);
    if (!t)
        return auris__fail(b->err, AURIS_ERR_FORMAT, "tensor '%s' is missing", name);
    if (!same_shape(t, n_dims, ne, b->ck->squeezed)) {
        char got[96], want[96];
        fmt_shape(got, sizeof got, t->n_dims, t->ne);
        fmt_shape(want, sizeof want, n_dims, ne);
        return auris__fail(b->err, AURIS_ERR_FORMAT, "tensor '%s' has shape %s, expected %s", name,
                           got, want);
    }
    *out = t;
    return AURIS_OK;
}

static size_t numel_of(int n_dims, const int64_t *ne)
{
    size_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (size_t)ne[i]; /* bounded by check_dims */
    return n;
}

static enum auris_err own(struct binder *b, void *p, const char *name)
{
    if (auris__model_own(b->model, p))
        return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory for tensor '%s'", name);
    return AURIS_OK;
}

/* The element type a raw tensor really has (loaders may flag bfloat16 as F16 + is_bf16). */
static enum auris__dtype raw_type(const struct auris__raw_tensor *t)
{
    return t->is_bf16 ? AURIS_DT_BF16 : t->type;
}

void auris__row_to_f32(const struct auris__tensor *t, int64_t row, float *out)
{
    size_t n = (size_t)t->ne[t->n_dims - 1];
    if (t->type == AURIS_DT_I8R) { /* CTranslate2 int8: data is a descriptor */
        auris__i8r_row_to_f32(t->data, row, out);
        return;
    }
    auris__to_f32(t->type, (const char *)t->data + auris__dtype_bytes(t->type, n) * (size_t)row,
                  n, out);
}

/* An owned f32 copy of a tensor of any on-disk type (the source may be unaligned). */
static enum auris_err to_f32(struct binder *b, const struct auris__raw_tensor *t, size_t n,
                             const char *name, float **out)
{
    *out = NULL;
    enum auris__dtype type = raw_type(t);
    if (!auris__dtype_known(type) || (auris__dtype_block_bytes(type) && n % AURIS__QK8_0))
        return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "tensor '%s' has an unusable type",
                           name);
    float *dst = auris__aligned_alloc(n * sizeof *dst);
    if (!dst)
        return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory for tensor '%s'", name);
    auris__to_f32(type, t->data, n, dst);
    auris__model_release_pages(b->model, t->data, auris__dtype_bytes(type, n));
    enum auris_err rc = own(b, dst, name);
    if (!rc)
        *out = dst;
    return rc;
}

/* 1-D parameters and positional embeddings: always owned f32. */
static enum auris_err bind_f32(struct binder *b, const char *name, int n_dims, int64_t ne0,
                               int64_t ne1, const float **dst)
{
    const int64_t ne[2] = {ne0, ne1};
    const struct auris__raw_tensor *t;
    enum auris_err rc = get(b, name, n_dims, ne, &t);
    if (rc)
        return rc;
    if (raw_type(t) == AURIS_DT_F32 && (uintptr_t)t->data % sizeof(float) == 0) {
        *dst = t->data; /* read-only use; the map outlives the model's pointers */
        return AURIS_OK;
    }
    float *p;
    rc = to_f32(b, t, numel_of(n_dims, ne), name, &p);
    *dst = p;
    return rc;
}

/* 2-D/3-D weights: in place when aligned to their element size, else an owned copy. */
static enum auris_err bind_w(struct binder *b, const char *name, int n_dims, int64_t ne0,
                             int64_t ne1, int64_t ne2, struct auris__tensor *dst)
{
    const int64_t ne[3] = {ne0, ne1, ne2};
    const struct auris__raw_tensor *t;
    enum auris_err rc = get(b, name, n_dims, ne, &t);
    if (rc)
        return rc;
    size_t n = numel_of(n_dims, ne);
    dst->n_dims = n_dims;
    memcpy(dst->ne, ne, sizeof ne);
    if (auris__dtype_known(raw_type(t)) || t->type == AURIS_DT_I8R) { /* --compute_type */
        enum auris__dtype want = auris__compute_target(b->model->compute, raw_type(t), n_dims == 2);
        if (want != raw_type(t) && (want != AURIS_DT_F32 || !t->is_bf16)) {
            if (auris__dtype_block_bytes(raw_type(t)) && ne[n_dims - 1] % AURIS__QK8_0)
                return auris__fail(b->err, AURIS_ERR_FORMAT, "tensor '%s' is block-quantized "
                                   "but its rows are not whole blocks", name);
            struct auris__tensor src = *dst;
            src.type = raw_type(t);
            src.data = t->data;
            return auris__weight_convert(b->model, name, &src, want, dst, b->err);
        }
    }
    if (t->is_bf16) {
        /* loaders that flag bfloat16 on an F16 type (.pt, safetensors) get f32 copies, as
         * before; the native format declares AURIS_DT_BF16 and is used in place below */
        float *p;
        rc = to_f32(b, t, n, name, &p);
        dst->type = AURIS_DT_F32;
        dst->data = p;
        return rc;
    }
    dst->type = t->type;
    if (dst->type == AURIS_DT_I8R) { /* a descriptor owned by the model (ct2.c), used in place */
        dst->data = t->data;
        return AURIS_OK;
    }
    if (!auris__dtype_known(dst->type))
        return auris__fail(b->err, AURIS_ERR_UNSUPPORTED, "tensor '%s' has an unsupported type",
                           name);
    /* the kernels read block-quantized weights as whole blocks along each row, bytewise */
    const int blocks = auris__dtype_block_bytes(dst->type) != 0;
    if (blocks && ne[n_dims - 1] % AURIS__QK8_0)
        return auris__fail(b->err, AURIS_ERR_FORMAT,
                           "tensor '%s' is block-quantized but its rows of %lld are not whole "
                           "blocks of %d", name, (long long)ne[n_dims - 1], AURIS__QK8_0);
    size_t align = dst->type == AURIS_DT_F32 ? 4 : blocks ? 1 : 2;
    if ((uintptr_t)t->data % align == 0) {
        dst->data = t->data;
        return AURIS_OK;
    }
    size_t bytes = auris__dtype_bytes(dst->type, n);
    void *p = auris__aligned_alloc(bytes);
    if (!p)
        return auris__fail(b->err, AURIS_ERR_NOMEM, "out of memory for tensor '%s'", name);
    memcpy(p, t->data, bytes);
    auris__model_release_pages(b->model, t->data, bytes); /* the map's copy is not needed */
    rc = own(b, p, name);
    dst->data = rc ? NULL : p;
    return rc;
}

/* One attention module: <prefix>.{query,key,value,out}.* and its layer norm <ln>.* */
static enum auris_err bind_attn(struct binder *b, const char *prefix, const char *ln, int s,
                                struct auris__attn *a)
{
    char n[96];
    enum auris_err rc;
#define NAME(fmt, x) (snprintf(n, sizeof n, fmt, x), n)
    if ((rc = bind_w(b, NAME("%s.query.weight", prefix), 2, s, s, 1, &a->q_w)) ||
        (rc = bind_f32(b, NAME("%s.query.bias", prefix), 1, s, 1, &a->q_b)) ||
        (rc = bind_w(b, NAME("%s.key.weight", prefix), 2, s, s, 1, &a->k_w)) ||
        (rc = bind_w(b, NAME("%s.value.weight", prefix), 2, s, s, 1, &a->v_w)) ||
        (rc = bind_f32(b, NAME("%s.value.bias", prefix), 1, s, 1, &a->v_b)) ||
        (rc = bind_w(b, NAME("%s.out.weight", prefix), 2, s, s, 1, &a->o_w)) ||
        (rc = bind_f32(b, NAME("%s.out.bias", prefix), 1, s, 1, &a->o_b)) ||
        (rc = bind_f32(b, NAME("%s.weight", ln), 1, s, 1, &a->ln_w)) ||
        (rc = bind_f32(b, NAME("%s.bias", ln), 1, s, 1, &a->ln_b)))
        return rc;
#undef NAME
    return AURIS_OK;
}

static enum auris_err bind_block(struct binder *b, const char *stack, int i, int s, int cross,
                                 struct auris__block *blk)
{
    char p[64], q[64], n[96];
    enum auris_err rc;
    snprintf(p, sizeof p, "%s.blocks.%d.attn", stack, i);
    snprintf(q, sizeof q, "%s.blocks.%d.attn_ln", stack, i);
    if ((rc = bind_attn(b, p, q, s, &blk->attn)))
        return rc;
    if (cross) {
        snprintf(p, sizeof p, "%s.blocks.%d.cross_attn", stack, i);
        snprintf(q, sizeof q, "%s.blocks.%d.cross_attn_ln", stack, i);
        if ((rc = bind_attn(b, p, q, s, &blk->cross)))
            return rc;
    }
#define NAME(suffix) (snprintf(n, sizeof n, "%s.blocks.%d.%s", stack, i, suffix), n)
    if ((rc = bind_w(b, NAME("mlp.0.weight"), 2, 4 * s, s, 1, &blk->mlp0_w)) ||
        (rc = bind_f32(b, NAME("mlp.0.bias"), 1, 4 * s, 1, &blk->mlp0_b)) ||
        (rc = bind_w(b, NAME("mlp.2.weight"), 2, s, 4 * s, 1, &blk->mlp2_w)) ||
        (rc = bind_f32(b, NAME("mlp.2.bias"), 1, s, 1, &blk->mlp2_b)) ||
        (rc = bind_f32(b, NAME("mlp_ln.weight"), 1, s, 1, &blk->mlp_ln_w)) ||
        (rc = bind_f32(b, NAME("mlp_ln.bias"), 1, s, 1, &blk->mlp_ln_b)))
        return rc;
#undef NAME
    return AURIS_OK;
}

static enum auris_err bind_all(struct binder *b)
{
    auris_model *m = b->model;
    const struct auris_model_dims *d = &m->dims;
    const int s = d->n_audio_state, t = d->n_text_state;
    enum auris_err rc;
    m->enc = auris__aligned_alloc((size_t)d->n_audio_layer * sizeof *m->enc);
    if (m->enc)
        memset(m->enc, 0, (size_t)d->n_audio_layer * sizeof *m->enc);
    if ((rc = own(b, m->enc, "encoder.blocks")))
        return rc;
    m->dec = auris__aligned_alloc((size_t)d->n_text_layer * sizeof *m->dec);
    if (m->dec)
        memset(m->dec, 0, (size_t)d->n_text_layer * sizeof *m->dec);
    if ((rc = own(b, m->dec, "decoder.blocks")))
        return rc;

    if ((rc = bind_w(b, "encoder.conv1.weight", 3, s, d->n_mels, 3, &m->conv1_w)) ||
        (rc = bind_f32(b, "encoder.conv1.bias", 1, s, 1, &m->conv1_b)) ||
        (rc = bind_w(b, "encoder.conv2.weight", 3, s, s, 3, &m->conv2_w)) ||
        (rc = bind_f32(b, "encoder.conv2.bias", 1, s, 1, &m->conv2_b)) ||
        (rc = bind_f32(b, "encoder.positional_embedding", 2, d->n_audio_ctx, s, &m->enc_pos)))
        return rc;
    for (int i = 0; i < d->n_audio_layer; i++)
        if ((rc = bind_block(b, "encoder", i, s, 0, &m->enc[i])))
            return rc;
    if ((rc = bind_f32(b, "encoder.ln_post.weight", 1, s, 1, &m->enc_ln_w)) ||
        (rc = bind_f32(b, "encoder.ln_post.bias", 1, s, 1, &m->enc_ln_b)) ||
        (rc = bind_w(b, "decoder.token_embedding.weight", 2, d->n_vocab, t, 1, &m->tok_emb)) ||
        (rc = bind_f32(b, "decoder.positional_embedding", 2, d->n_text_ctx, t, &m->dec_pos)))
        return rc;
    for (int i = 0; i < d->n_text_layer; i++)
        if ((rc = bind_block(b, "decoder", i, t, 1, &m->dec[i])))
            return rc;
    if ((rc = bind_f32(b, "decoder.ln.weight", 1, t, 1, &m->dec_ln_w)) ||
        (rc = bind_f32(b, "decoder.ln.bias", 1, t, 1, &m->dec_ln_b)))
        return rc;
    for (int i = 0; i < b->ck->n_tensors; i++)
        if (!b->used[i])
            return auris__fail(b->err, AURIS_ERR_FORMAT, "unexpected tensor '%s'",
                               b->ck->tensors[i].name);
    return AURIS_OK;
}

enum auris_err auris__model_bind(auris_model *model, const struct auris__checkpoint *ck,
                                 struct auris_error *err)
{
    enum auris_err rc = check_dims(&ck->dims, err);
    if (rc)
        return rc;
    if (ck->mel_filters &&
        (ck->filters_n_mels != ck->dims.n_mels || ck->filters_n_fft != N_FILTER_BINS))
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "embedded mel filters have shape [%d][%d], expected [%d][%d]",
                           ck->filters_n_mels, ck->filters_n_fft, ck->dims.n_mels, N_FILTER_BINS);
    model->dims = ck->dims;
    struct binder b = {.model = model, .ck = ck, .err = err};
    size_t n = (size_t)AURIS_MAX(ck->n_tensors, 1);
    b.sorted = malloc(n * sizeof *b.sorted);
    b.used = calloc(n, 1);
    if (!b.sorted || !b.used) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < ck->n_tensors; i++)
        b.sorted[i] = &ck->tensors[i];
    qsort(b.sorted, (size_t)ck->n_tensors, sizeof *b.sorted, cmp_raw);
    for (int i = 1; i < ck->n_tensors; i++) {
        if (strcmp(b.sorted[i - 1]->name, b.sorted[i]->name) == 0) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s' appears more than once",
                             b.sorted[i]->name);
            goto done;
        }
    }
    rc = bind_all(&b);
    if (!rc && ck->alignment_heads) {
        size_t nh = (size_t)ck->dims.n_text_layer * (size_t)ck->dims.n_text_head;
        uint8_t *h = auris__aligned_alloc(nh);
        if ((rc = own(&b, h, "alignment heads")) == AURIS_OK) {
            memcpy(h, ck->alignment_heads, nh);
            model->alignment_heads = h;
        }
    }
    if (!rc && ck->mel_filters) {
        float *f = NULL;
        struct auris__raw_tensor mf = {.type = AURIS_DT_F32, .data = ck->mel_filters};
        rc = to_f32(&b, &mf, (size_t)ck->filters_n_mels * N_FILTER_BINS, "mel filters", &f);
        model->mel_filters = f;
    }
done:
    free(b.sorted);
    free(b.used);
    return rc;
}
