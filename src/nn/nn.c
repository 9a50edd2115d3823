/*
 * nn.c — Whisper's audio encoder and text decoder (fp32) with the decoder's KV caches.
 *
 * Reference: openai/whisper model.py — AudioEncoder (conv1 k3 p1 + GELU, conv2 k3 s2 p1 + GELU,
 * + positional embedding, pre-norm residual blocks, ln_post), TextDecoder (token + learned
 * positional embedding, blocks with causal self-attention and cross-attention, final ln, logits
 * against the token embedding), ResidualAttentionBlock, MultiHeadAttention (key has no bias).
 * Convolutions are im2col + gemm_nt: the weight [out][in][3] is read as a Linear [out][in*3]
 * because the im2col columns are ordered (in, k) (rows built by the vector auris__k_unfold3 /
 * auris__k_interleave3). The encoder's blocks (enc_block) use the online-softmax attention
 * (attention.c) and put bias + GELU in the GEMM epilogue; the decoder's go through run_block.
 * Batched decoding (beams, best-of samples) stacks the sequences' rows for every matrix product
 * (the streaming few-row products read each weight once per step for all rows; a step's
 * self-attention Q, K and V are one pool job, qkv_fused);
 * self-attention runs per sequence over its history (its cache slot, or after beam forks the
 * runs of pages it shares with other beams: kvcache.c), cross-attention over the shared audio
 * K/V treats all rows as one query block; the cross K/V are stored head-major (one contiguous
 * block per head) so that a step streams them front to back.
 * Word timestamps re-derive the alignment heads' pre-softmax cross-attention scores from the
 * layer's query and keys (a small product per head) only while capture is on.
 * Invariants: buffers are allocated by auris__nn_state_init, auris__nn_reserve and
 * auris__nn_capture_init only;
 * encode/decode allocate nothing and never write to the model. Buffer layouts are documented
 * where they are carved.
 */
#include "nn/nn.h"
#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int mul3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t t;
    return auris__mul_ok(a, b, &t) && auris__mul_ok(t, c, out);
}

/* The encoder's block phase: xn is T*n floats or the packed values if more, and pad what the
 * packed keys need beyond the value buffer they go to (0 when d_head % 16 == 0 but for the
 * last key block's rounding); both multiples of 16 floats, so every region stays 64-byte
 * aligned. */
static void enc_layout(const struct auris_model_dims *d, size_t *xn, size_t *pad)
{
    size_t Tn = (size_t)d->n_audio_ctx * (size_t)d->n_audio_state, vf, kf;
    auris__flash_pack_floats(d->n_audio_ctx, d->n_audio_head,
                             d->n_audio_state / d->n_audio_head, &vf, &kf);
    *xn = (AURIS_MAX(Tn, vf) + 15) / 16 * 16;
    *pad = (kf > Tn ? kf - Tn + 15 : 0) / 16 * 16;
}

/* Score buffers of attention: one AURIS__ATT_QB x n_kv slice per thread. */
static size_t att_stride(int n_kv)
{
    return (size_t)AURIS__ATT_QB * (size_t)n_kv;
}

static int dims_ok(const struct auris_model_dims *d)
{
    if (d->n_mels <= 0 || d->n_audio_ctx <= 0 || d->n_audio_state <= 0 || d->n_audio_head <= 0 ||
        d->n_audio_layer <= 0 || d->n_vocab <= 0 || d->n_text_ctx <= 0 || d->n_text_state <= 0 ||
        d->n_text_head <= 0 || d->n_text_layer <= 0)
        return 0;
    if (d->n_audio_state % d->n_audio_head || d->n_text_state % d->n_text_head)
        return 0;
    /* cross-attention projects encoder features with the decoder's square weights */
    if (d->n_audio_state != d->n_text_state)
        return 0;
    /* keep every element count and 4*n_state products well inside int */
    if (d->n_audio_ctx > (1 << 20) || d->n_text_ctx > (1 << 20) || d->n_mels > (1 << 16) ||
        d->n_audio_state > (1 << 16) || d->n_vocab > (1 << 24))
        return 0;
    return 1;
}

void auris__nn_state_free(struct auris__nn_state *st)
{
    if (!st)
        return;
    auris__pool_free(st->pool);
    auris__aligned_free(st->enc_x);
    auris__aligned_free(st->enc_buf);
    auris__aligned_free(st->cross_k);
    auris__aligned_free(st->cross_v);
    auris__aligned_free(st->bcross_k);
    auris__aligned_free(st->bcross_v);
    auris__aligned_free(st->self_k);
    auris__aligned_free(st->self_v);
    auris__aligned_free(st->dec_buf);
    auris__aligned_free(st->align_qk);
    auris__kv_free(st);
    free(st->align_layer);
    free(st->align_head);
    memset(st, 0, sizeof *st);
}

static float *alloc_floats(size_t n)
{
    size_t bytes;
    if (!auris__mul_ok(n, sizeof(float), &bytes))
        return NULL;
    float *p = auris__aligned_alloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

enum auris_err auris__nn_state_init(struct auris__nn_state *st, const auris_model *model,
                                    int n_threads, struct auris_error *err)
{
    if (!st || !model)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "nn state: NULL argument");
    memset(st, 0, sizeof *st);
    const struct auris_model_dims *d = &model->dims;
    if (!dims_ok(d))
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "nn state: unsupported model dimensions (audio %d/%d, text %d/%d)",
                           d->n_audio_state, d->n_audio_head, d->n_text_state, d->n_text_head);
    size_t T = (size_t)d->n_audio_ctx, n = (size_t)d->n_audio_state, C = (size_t)d->n_mels;
    size_t L = (size_t)d->n_text_ctx, nt = (size_t)d->n_text_state;
    st->model = model;
    st->pool = auris__pool_create(n_threads);
    if (!st->pool)
        goto nomem;
    size_t nthr = (size_t)auris__pool_size(st->pool);

    /* encoder: conv phase [h1 2T*n | cols max(2T*3C, T*3n)], block phase
     * [xn | q | k | v | pad | att | flash attention score blocks], the MLP hidden 4*T*n from
     * q on; while attention runs, xn holds the packed values and v + pad the packed keys */
    size_t conv = 2 * T * n + AURIS_MAX(2 * T * 3 * C, T * 3 * n);
    enc_layout(d, &st->enc_xn, &st->enc_pad);
    size_t blocks = st->enc_xn + 4 * T * n + st->enc_pad + nthr * AURIS__FLASH_STRIDE;
    st->enc_buf_len = AURIS_MAX(conv, blocks);
    /* decoder: [x L*n | xn L*n | q L*n | att L*n | hidden 4*L*n | scores] */
    st->dec_buf_len = 8 * L * nt + nthr * att_stride((int)AURIS_MAX(L, T));
    size_t enc_x, cross, self;
    if (!auris__mul_ok(T, n, &enc_x) || !mul3((size_t)d->n_text_layer, T, nt, &cross) ||
        !mul3((size_t)d->n_text_layer, L, nt, &self))
        goto nomem;
    st->enc_x = alloc_floats(enc_x);
    st->enc_buf = alloc_floats(st->enc_buf_len);
    const char *kv_env = getenv("AURIS_CROSS_KV");
    st->cross_type = kv_env && strcmp(kv_env, "f32") == 0 ? AURIS_DT_F32 : AURIS_DT_F16;
    /* f16 elements take half a float: round the count up to whole floats */
    size_t cross_floats = st->cross_type == AURIS_DT_F16 ? (cross + 1) / 2 : cross;
    st->cross_k = alloc_floats(cross_floats);
    st->cross_v = alloc_floats(cross_floats);
    size_t self_bytes;
    if (!auris__mul_ok(self, sizeof(float), &self_bytes))
        goto nomem;
    st->self_k = auris__aligned_alloc(self_bytes); /* not cleared: see auris__nn_reserve */
    st->self_v = auris__aligned_alloc(self_bytes);
    st->dec_buf = alloc_floats(st->dec_buf_len);
    if (!st->enc_x || !st->enc_buf || !st->cross_k || !st->cross_v || !st->self_k ||
        !st->self_v || !st->dec_buf || auris__kv_init(st, d->n_text_ctx) != AURIS_OK)
        goto nomem;
    st->n_past = 0;
    st->n_slots = 1;
    st->n_seq = 1;
    for (int i = 0; i < AURIS__NN_MAX_SEQ; i++)
        st->slot[i] = i;
    return AURIS_OK;
nomem:
    auris__nn_state_free(st);
    return auris__fail(err, AURIS_ERR_NOMEM, "nn state: out of memory for buffers");
}

/* ---- encoder ------------------------------------------------------------------------------ */

/* conv1 columns: cols[t][c*3+k] = mel[c][t+k-1], zero outside [0, T2) */
struct im2col1_ctx {
    const float *mel;
    float *cols;
    int C, T2;
};

static void im2col1(void *c, size_t t0, size_t t1)
{
    const struct im2col1_ctx *x = c;
    for (size_t t = t0; t < t1; t++)
        auris__k_unfold3(x->C, x->mel + t, (size_t)x->T2, t > 0, t + 1 < (size_t)x->T2,
                         x->cols + t * (size_t)x->C * 3);
}

/* conv2 columns (stride 2): cols[t][c*3+k] = h[2t+k-1][c], zero outside [0, T2) */
struct im2col2_ctx {
    const float *h;
    float *cols;
    int n, T2;
};

static void im2col2(void *c, size_t t0, size_t t1)
{
    const struct im2col2_ctx *x = c;
    for (size_t t = t0; t < t1; t++) {
        const float *h = x->h + 2 * t * (size_t)x->n; /* row 2t */
        auris__k_interleave3(x->n, t > 0 ? h - x->n : NULL, h,
                             2 * t + 1 < (size_t)x->T2 ? h + x->n : NULL,
                             x->cols + t * (size_t)x->n * 3);
    }
}

struct add_ctx {
    float *x;
    const float *y;
};

static void add_range(void *c, size_t b, size_t e)
{
    const struct add_ctx *a = c;
    auris__k_add(a->x + b, a->y + b, e - b);
}

/* The cross-attention K/V store: rows [b, e) of src [T][n] (heads as column slices of d)
 * into dst head-major [n / d][T][d], as f16 or f32 (the same values either way as a plain
 * elementwise store), so that one head's keys and values are each one contiguous block that a
 * decoding step streams front to back. */
struct xstore_ctx {
    const float *src;
    void *dst;
    enum auris__dtype type;
    int T, n, d;
};

static void xstore_rows(void *c, size_t b, size_t e)
{
    const struct xstore_ctx *x = c;
    for (size_t t = b; t < e; t++)
        for (int h = 0; h < x->n / x->d; h++) {
            const float *s = x->src + t * (size_t)x->n + (size_t)h * x->d;
            size_t o = ((size_t)h * x->T + t) * (size_t)x->d;
            if (x->type == AURIS_DT_F16)
                auris__k_f32_to_f16(s, (uint16_t *)x->dst + o, (size_t)x->d);
            else
                memcpy((float *)x->dst + o, s, (size_t)x->d * sizeof(float));
        }
}

/* One pre-norm residual block over x [rows][n]: self-attention (optionally causal, with k/v
 * written to kbuf/vbuf at row kv_off and attending over kv_off+rows keys), optional
 * cross-attention over precomputed ck/cv [n_cross][n], and the MLP. */
struct block_io {
    float *x, *xn, *q, *att, *hidden, *scores;
    size_t s_stride;
    float *v_pack, *k_pack; /* the encoder's flash attention: packed value/key blocks */
    size_t v_pack_len, k_pack_len;
    float *kbuf, *vbuf; /* [..][n]; new keys/values go to row kv_off (of each sequence's slot) */
    int kv_off, causal;
    const void *ck, *cv; /* cross_type elements */
    enum auris__dtype cross_type;
    int n_cross;
    const int *cross_index; /* per-sequence cross K/V: sequence b at ck/cv + index[b] * stride */
    size_t cross_bstride;
    /* batched decoding: rows = n_seq * n_tok, sequence b's rows are [b*n_tok, (b+1)*n_tok) and
     * its cache is kbuf/vbuf + slot[b] * slot_stride; n_seq <= 1: one sequence at kbuf/vbuf */
    int n_seq, n_tok;
    const int *slot;
    size_t slot_stride;
    /* paged histories after beam forks (NULL: each sequence's are all in its own slot):
     * sequence b's keys are runs[run_off[b] .. run_off[b+1]) of the layer's slots at kl/vl */
    const struct auris__kv_run *runs;
    const int *run_off;
    const float *kl, *vl; /* this layer's slot 0 */
};

/* Self-attention's Q, K and V of a decoder step in one pool job instead of three: the tasks are
 * chunks of whole 16-column groups of the three products, each a serial streaming product, so
 * every output gets the arithmetic the three separate calls give it. Only for streamed weight
 * types and rows <= 16; returns 0 (nothing done) otherwise. */
struct qkv_job {
    int rows, n, chunk, per;
    const float *xn;
    const struct auris__attn *w;
    float *out[3]; /* [rows][n] each, row stride n */
};

static void qkv_task(void *c, int task, int thread)
{
    const struct qkv_job *j = c;
    (void)thread;
    int which = task / j->per, n0 = (task % j->per) * j->chunk;
    int nc = AURIS_MIN(j->chunk, j->n - n0);
    const struct auris__tensor *t = which == 0 ? &j->w->q_w : which == 1 ? &j->w->k_w
                                                                          : &j->w->v_w;
    const float *bias = which == 0 ? j->w->q_b : which == 2 ? j->w->v_b : NULL;
    const char *b = (const char *)t->data + auris__dtype_bytes(t->type, (size_t)n0 * j->n);
    auris__gemm_nt_serial(j->rows, nc, j->n, j->xn, j->n, b, t->type, j->n,
                          bias ? bias + n0 : NULL, j->out[which] + n0, j->n, NULL);
}

static int streamed(enum auris__dtype t)
{
    return t == AURIS_DT_F32 || t == AURIS_DT_F16 || t == AURIS_DT_BF16;
}

static int qkv_fused(struct auris__pool *pool, const struct auris__attn *w, int rows, int n,
                     const float *xn, float *q, float *k, float *v)
{
    int nt = auris__pool_size(pool);
    if (rows > 16 || nt < 2 || n % 16 || !streamed(w->q_w.type) || !streamed(w->k_w.type) ||
        !streamed(w->v_w.type))
        return 0;
    int chunk = AURIS_MAX(64, (n / (2 * nt) + 15) / 16 * 16);
    struct qkv_job j = {rows, n, chunk, (n + chunk - 1) / chunk, xn, w, {q, k, v}};
    auris__pool_run(pool, qkv_task, &j, 3 * j.per);
    return 1;
}

static void attn_sublayer(struct auris__pool *pool, const struct auris__attn *w, int rows, int n,
                          int n_head, const struct block_io *io, int cross)
{
    auris__layernorm(pool, rows, n, io->x, n, io->xn, n, w->ln_w, w->ln_b);
    /* where this step's self-attention K/V go: the cache rows (one sequence) or the idle MLP
     * buffer, scattered to the slots below (several) */
    float *kn = io->hidden, *vn = io->hidden + (size_t)rows * n;
    if (!cross && io->n_seq <= 1) {
        kn = io->kbuf + (size_t)io->kv_off * n;
        vn = io->vbuf + (size_t)io->kv_off * n;
    }
    int fused = !cross && qkv_fused(pool, w, rows, n, io->xn, io->q, kn, vn);
    if (!fused)
        auris__gemm_nt(pool, rows, n, n, io->xn, n, w->q_w.data, w->q_w.type, n, w->q_b, io->q,
                       n);
    struct auris__attention a = {0};
    a.q = io->q;
    a.ldq = a.ldk = a.ldv = a.ldo = n;
    a.out = io->att;
    a.n_q = rows;
    a.n_head = n_head;
    a.d_head = n / n_head;
    a.s_buf = io->scores;
    a.s_stride = io->s_stride;
    if (cross) { /* head-major [n_head][n_cross][d_head] */
        a.k = io->ck;
        a.v = io->cv;
        a.ldk = a.ldv = a.d_head;
        a.kv_hstride = (size_t)io->n_cross * a.d_head;
        a.n_kv = io->n_cross;
        a.causal_past = -1;
        a.kv_type = io->cross_type;
        if (io->cross_index) {
            a.n_q = io->n_tok;
            a.n_batch = io->n_seq;
            a.kv_index = io->cross_index;
            a.kv_bstride = io->cross_bstride;
        }
    } else if (io->n_seq <= 1) {
        if (!fused) {
            auris__gemm_nt(pool, rows, n, n, io->xn, n, w->k_w.data, w->k_w.type, n, NULL, kn,
                           n);
            auris__gemm_nt(pool, rows, n, n, io->xn, n, w->v_w.data, w->v_w.type, n, w->v_b,
                           vn, n);
        }
        a.k = io->kbuf;
        a.v = io->vbuf;
        a.n_kv = io->kv_off + rows;
        a.causal_past = io->causal ? io->kv_off : -1;
    } else {
        /* all sequences' new K/V in one product (into the idle MLP buffer), then scattered to
         * the slots, whose order is arbitrary after beam reordering */
        if (!fused) {
            auris__gemm_nt(pool, rows, n, n, io->xn, n, w->k_w.data, w->k_w.type, n, NULL, kn,
                           n);
            auris__gemm_nt(pool, rows, n, n, io->xn, n, w->v_w.data, w->v_w.type, n, w->v_b,
                           vn, n);
        }
        size_t chunk = (size_t)io->n_tok * n;
        for (int b = 0; b < io->n_seq; b++) {
            size_t dst = (size_t)io->slot[b] * io->slot_stride + (size_t)io->kv_off * n;
            memcpy(io->kbuf + dst, kn + (size_t)b * chunk, chunk * sizeof(float));
            memcpy(io->vbuf + dst, vn + (size_t)b * chunk, chunk * sizeof(float));
        }
        a.k = io->kbuf;
        a.v = io->vbuf;
        a.n_q = io->n_tok;
        a.n_kv = io->kv_off + io->n_tok;
        a.causal_past = io->causal ? io->kv_off : -1;
        a.n_batch = io->n_seq;
        a.kv_index = io->slot;
        a.kv_bstride = io->slot_stride;
    }
    if (!cross && io->runs) {
        a.k = io->kl;
        a.v = io->vl;
        a.kv_runs = io->runs;
        a.kv_run_off = io->run_off;
        a.kv_bstride = io->slot_stride;
    }
    auris__attention_run(pool, &a);
    auris__gemm_nt_acc(pool, rows, n, n, io->att, n, w->o_w.data, w->o_w.type, n, w->o_b, io->x,
                       n);
}

static void run_block(struct auris__pool *pool, const struct auris__block *b, int rows, int n,
                      int n_head, const struct block_io *io, int has_cross)
{
    attn_sublayer(pool, &b->attn, rows, n, n_head, io, 0);
    if (has_cross)
        attn_sublayer(pool, &b->cross, rows, n, n_head, io, 1);
    auris__layernorm(pool, rows, n, io->x, n, io->xn, n, b->mlp_ln_w, b->mlp_ln_b);
    auris__gemm_nt(pool, rows, 4 * n, n, io->xn, n, b->mlp0_w.data, b->mlp0_w.type, n, b->mlp0_b,
                   io->hidden, 4 * n);
    auris__gelu(pool, io->hidden, (size_t)rows * 4 * n);
    auris__gemm_nt_acc(pool, rows, n, 4 * n, io->hidden, 4 * n, b->mlp2_w.data, b->mlp2_w.type,
                       4 * n, b->mlp2_b, io->x, n);
}

/* One encoder block over x [rows][n] (ResidualAttentionBlock without cross-attention): the
 * self-attention of attn_sublayer but with the online softmax (no score rows of n_ctx), and the
 * MLP with bias + GELU applied in the first product's epilogue. */
static void enc_block(struct auris__pool *pool, const struct auris__block *b, int rows, int n,
                      int n_head, const struct block_io *io)
{
    const struct auris__attn *w = &b->attn;
    auris__layernorm(pool, rows, n, io->x, n, io->xn, n, w->ln_w, w->ln_b);
    auris__gemm_nt(pool, rows, n, n, io->xn, n, w->q_w.data, w->q_w.type, n, w->q_b, io->q, n);
    auris__gemm_nt(pool, rows, n, n, io->xn, n, w->k_w.data, w->k_w.type, n, NULL, io->kbuf, n);
    auris__gemm_nt(pool, rows, n, n, io->xn, n, w->v_w.data, w->v_w.type, n, w->v_b, io->vbuf,
                   n);
    struct auris__attention a = {0};
    a.q = io->q;
    a.k = io->kbuf;
    a.v = io->vbuf;
    a.ldq = a.ldk = a.ldv = a.ldo = n;
    a.out = io->att;
    a.n_q = a.n_kv = rows;
    a.n_head = n_head;
    a.d_head = n / n_head;
    a.causal_past = -1;
    a.s_buf = io->scores;
    a.s_stride = io->s_stride;
    a.v_pack = io->v_pack;
    a.v_pack_len = io->v_pack_len;
    a.k_pack = io->k_pack;
    a.k_pack_len = io->k_pack_len;
    auris__attention_flash(pool, &a);
    auris__gemm_nt_acc(pool, rows, n, n, io->att, n, w->o_w.data, w->o_w.type, n, w->o_b, io->x,
                       n);
    auris__layernorm(pool, rows, n, io->x, n, io->xn, n, b->mlp_ln_w, b->mlp_ln_b);
    auris__gemm_nt_gelu(pool, rows, 4 * n, n, io->xn, n, b->mlp0_w.data, b->mlp0_w.type, n,
                        b->mlp0_b, io->hidden, 4 * n);
    auris__gemm_nt_acc(pool, rows, n, 4 * n, io->hidden, 4 * n, b->mlp2_w.data, b->mlp2_w.type,
                       4 * n, b->mlp2_b, io->x, n);
}

enum auris_err auris__encode(struct auris__nn_state *st, const float *mel)
{
    if (!st || !st->model || !st->enc_buf || !mel)
        return AURIS_ERR_INVALID_ARG;
    const auris_model *m = st->model;
    const struct auris_model_dims *d = &m->dims;
    struct auris__pool *pool = st->pool;
    int T = d->n_audio_ctx, T2 = 2 * d->n_audio_ctx, n = d->n_audio_state, C = d->n_mels;
    size_t Tn = (size_t)T * n;
    float *x = st->enc_x;

    /* conv1 + GELU into h1 [T2][n] */
    float *h1 = st->enc_buf, *cols = st->enc_buf + (size_t)T2 * n;
    struct im2col1_ctx c1 = {mel, cols, C, T2};
    auris__par_for(pool, (size_t)T2, 64, im2col1, &c1);
    auris__gemm_nt_gelu(pool, T2, n, 3 * C, cols, 3 * C, m->conv1_w.data, m->conv1_w.type,
                        3 * C, m->conv1_b, h1, n);
    /* conv2 (stride 2) + GELU into x [T][n], then the positional embedding */
    struct im2col2_ctx c2 = {h1, cols, n, T2};
    auris__par_for(pool, (size_t)T, 32, im2col2, &c2);
    auris__gemm_nt_gelu(pool, T, n, 3 * n, cols, 3 * n, m->conv2_w.data, m->conv2_w.type, 3 * n,
                        m->conv2_b, x, n);
    struct add_ctx ac = {x, m->enc_pos};
    auris__par_for(pool, Tn, 16384, add_range, &ac);

    struct block_io io = {0};
    io.x = x;
    io.xn = st->enc_buf;
    io.q = io.xn + st->enc_xn;
    io.kbuf = io.q + Tn;
    io.vbuf = io.kbuf + Tn;
    io.att = io.vbuf + Tn + st->enc_pad;
    io.hidden = io.q; /* the MLP runs after attention is done with q/k/v/att */
    io.scores = io.att + Tn;
    io.s_stride = AURIS__FLASH_STRIDE;
    io.v_pack = io.xn; /* free while attention runs */
    io.v_pack_len = st->enc_xn;
    io.k_pack = io.vbuf; /* free once the values are packed */
    io.k_pack_len = Tn + st->enc_pad;
    for (int l = 0; l < d->n_audio_layer; l++)
        enc_block(pool, &m->enc[l], T, n, d->n_audio_head, &io);
    auris__layernorm(pool, T, n, x, n, x, n, m->enc_ln_w, m->enc_ln_b);

    /* cross-attention keys/values of every decoder layer: f32 products into the idle encoder
     * scratch [k Tn | v Tn], then stored head-major as cross_type */
    size_t es = st->cross_type == AURIS_DT_F16 ? 2 : 4;
    int dh = d->n_text_state / d->n_text_head;
    for (int l = 0; l < d->n_text_layer; l++) {
        const struct auris__attn *w = &m->dec[l].cross;
        float *kf = st->enc_buf, *vf = st->enc_buf + Tn;
        auris__gemm_nt(pool, T, n, n, x, n, w->k_w.data, w->k_w.type, n, NULL, kf, n);
        auris__gemm_nt(pool, T, n, n, x, n, w->v_w.data, w->v_w.type, n, w->v_b, vf, n);
        struct xstore_ctx xk = {kf, (char *)st->cross_k + (size_t)l * Tn * es, st->cross_type,
                                T, n, dh};
        struct xstore_ctx xv = {vf, (char *)st->cross_v + (size_t)l * Tn * es, st->cross_type,
                                T, n, dh};
        auris__par_for(pool, (size_t)T, 64, xstore_rows, &xk);
        auris__par_for(pool, (size_t)T, 64, xstore_rows, &xv);
    }
    st->n_past = 0;
    st->n_encodes++;
    return AURIS_OK;
}

/* ---- decoder ------------------------------------------------------------------------------ */

enum auris_err auris__nn_capture_init(struct auris__nn_state *st, struct auris_error *err)
{
    if (!st || !st->model)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "nn capture: NULL argument");
    if (st->align_qk)
        return AURIS_OK;
    const struct auris_model_dims *d = &st->model->dims;
    int n = auris__model_alignment_heads(st->model, NULL, NULL, 0);
    bool fallback = n <= 0;
    if (fallback) /* model.py's default: all heads of the second half of the layers */
        n = (d->n_text_layer - d->n_text_layer / 2) * d->n_text_head;
    size_t count;
    if (n <= 0 || !mul3((size_t)n, (size_t)d->n_text_ctx, (size_t)d->n_audio_ctx, &count))
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "nn capture: no alignment heads");
    st->align_layer = malloc((size_t)n * sizeof(int));
    st->align_head = malloc((size_t)n * sizeof(int));
    st->align_qk = alloc_floats(count);
    if (!st->align_layer || !st->align_head || !st->align_qk) {
        auris__aligned_free(st->align_qk);
        free(st->align_layer);
        free(st->align_head);
        st->align_qk = NULL;
        st->align_layer = st->align_head = NULL;
        return auris__fail(err, AURIS_ERR_NOMEM, "nn capture: out of memory");
    }
    if (fallback) {
        int k = 0;
        for (int l = d->n_text_layer / 2; l < d->n_text_layer; l++)
            for (int h = 0; h < d->n_text_head; h++, k++) {
                st->align_layer[k] = l;
                st->align_head[k] = h;
            }
    } else {
        auris__model_alignment_heads(st->model, st->align_layer, st->align_head, n);
    }
    st->n_align = n;
    return AURIS_OK;
}

/* Records layer l's alignment-head scores for `rows` new rows of one sequence: q [rows][n] is
 * the cross-attention query the layer just used, ck [n_text_head][n_audio_ctx][d_head] its
 * keys. */
static void capture_layer(struct auris__nn_state *st, int l, const float *q, const void *ck,
                          int rows)
{
    const struct auris_model_dims *d = &st->model->dims;
    int n = d->n_text_state, T = d->n_audio_ctx, dh = n / d->n_text_head;
    /* both q and k are scaled by d^-1/4 in the reference; one factor here */
    float s = (float)pow((double)dh, -0.25);
    float s2 = s * s;
    for (int i = 0; i < st->n_align; i++) {
        if (st->align_layer[i] != l)
            continue;
        int h = st->align_head[i];
        float *out = st->align_qk + ((size_t)i * d->n_text_ctx + (size_t)st->n_past) * T;
        size_t es = st->cross_type == AURIS_DT_F16 ? 2 : 4;
        auris__gemm_nt(st->pool, rows, T, dh, q + (size_t)h * dh, n,
                       (const char *)ck + (size_t)h * T * dh * es, st->cross_type, dh, NULL,
                       out, T);
        size_t cnt = (size_t)rows * T;
        for (size_t k = 0; k < cnt; k++)
            out[k] *= s2;
    }
}

/* Row `tok` of the token embedding [n_vocab][n] as f32, whatever its element type. */
static void embed_row(const struct auris__tensor *emb, int tok, float *out)
{
    auris__row_to_f32(emb, tok, out);
}

enum auris_err auris__decode_batch(struct auris__nn_state *st, int n_seq, const int *tokens,
                                   int n_tokens, const int *rows, int n_rows, float *logits)
{
    if (!st || !st->model || !st->dec_buf || !tokens || n_tokens <= 0 || n_rows < 0 ||
        n_seq < 1 || n_seq != st->n_seq)
        return AURIS_ERR_INVALID_ARG;
    const auris_model *m = st->model;
    const struct auris_model_dims *d = &m->dims;
    if (n_tokens > d->n_text_ctx - st->n_past || n_rows > d->n_text_ctx / n_seq ||
        n_tokens > d->n_text_ctx / n_seq)
        return AURIS_ERR_INVALID_ARG;
    if (n_rows > 0 && (!rows || !logits))
        return AURIS_ERR_INVALID_ARG;
    if (st->bcross_on && (n_seq > st->bcross_cap || (st->capture && n_seq == 1)))
        return AURIS_ERR_INVALID_ARG;
    for (int i = 0; st->bcross_on && i < n_seq; i++)
        if (st->bcross_index[i] < 0 || st->bcross_index[i] >= st->bcross_cap)
            return AURIS_ERR_INVALID_ARG;
    int total = n_seq * n_tokens;
    for (int i = 0; i < total; i++)
        if (tokens[i] < 0 || tokens[i] >= d->n_vocab)
            return AURIS_ERR_INVALID_ARG;
    for (int i = 0; i < n_rows; i++)
        if (rows[i] < 0 || rows[i] >= n_tokens)
            return AURIS_ERR_INVALID_ARG;

    struct auris__pool *pool = st->pool;
    int n = d->n_text_state, L = d->n_text_ctx, T = d->n_audio_ctx;
    size_t Ln = (size_t)L * n;
    struct block_io io = {0};
    io.x = st->dec_buf;
    io.xn = io.x + Ln;
    io.q = io.xn + Ln;
    io.att = io.q + Ln;
    io.hidden = io.att + Ln;
    io.scores = io.hidden + 4 * Ln;
    io.s_stride = att_stride(AURIS_MAX(L, T));
    io.kv_off = st->n_past;
    io.causal = 1;
    io.n_cross = T;
    io.n_seq = n_seq;
    io.n_tok = n_tokens;
    io.slot = st->slot;
    io.slot_stride = Ln;
    int run_off[AURIS__NN_MAX_SEQ + 1];
    auris__kv_append(st, n_tokens);
    io.runs = auris__kv_runs(st, st->n_past + n_tokens, run_off);
    io.run_off = run_off;

    for (int r = 0; r < total; r++) {
        float *xr = io.x + (size_t)r * n;
        const float *pos = m->dec_pos + (size_t)(st->n_past + r % n_tokens) * n;
        embed_row(&m->tok_emb, tokens[r], xr);
        for (int j = 0; j < n; j++)
            xr[j] += pos[j];
    }
    for (int l = 0; l < d->n_text_layer; l++) {
        size_t layer = (size_t)l * st->n_slots * Ln;
        io.kbuf = st->self_k + layer;
        io.vbuf = st->self_v + layer;
        io.kl = io.kbuf;
        io.vl = io.vbuf;
        if (n_seq == 1) { /* the single-sequence path writes the slot directly */
            io.kbuf += (size_t)st->slot[0] * Ln;
            io.vbuf += (size_t)st->slot[0] * Ln;
        }
        size_t es = st->cross_type == AURIS_DT_F16 ? 2 : 4, lay_off = (size_t)l * T * n * es;
        io.cross_type = st->cross_type;
        io.ck = (const char *)st->cross_k + lay_off;
        io.cv = (const char *)st->cross_v + lay_off;
        if (st->bcross_on) {
            io.ck = (const char *)st->bcross_k + lay_off;
            io.cv = (const char *)st->bcross_v + lay_off;
            io.cross_index = st->bcross_index;
            io.cross_bstride = (size_t)d->n_text_layer * T * n;
        }
        run_block(pool, &m->dec[l], total, n, d->n_text_head, &io, 1);
        if (st->capture && n_seq == 1 && st->align_qk) /* q still holds this layer's query */
            capture_layer(st, l, io.q, io.ck, total);
    }
    st->n_past += n_tokens;

    /* final norm of the requested rows only, then logits against the token embedding */
    for (int b = 0; b < n_seq; b++)
        for (int r = 0; r < n_rows; r++)
            auris__layernorm(NULL, 1, n, io.x + ((size_t)b * n_tokens + rows[r]) * n, n,
                             io.xn + ((size_t)b * n_rows + r) * n, n, m->dec_ln_w, m->dec_ln_b);
    if (n_rows > 0)
        auris__gemm_nt(pool, n_seq * n_rows, d->n_vocab, n, io.xn, n, m->tok_emb.data,
                       m->tok_emb.type, n, NULL, logits, d->n_vocab);
    return AURIS_OK;
}

enum auris_err auris__nn_batch_reserve(struct auris__nn_state *st, int n, struct auris_error *err)
{
    if (!st || !st->model || n < 1 || n > AURIS__NN_MAX_SEQ)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "nn: %d audios in a batch (1..%d)", n,
                           AURIS__NN_MAX_SEQ);
    for (int i = 0; i < AURIS__NN_MAX_SEQ; i++)
        st->bcross_index[i] = i;
    if (n <= st->bcross_cap)
        return AURIS_OK;
    const struct auris_model_dims *d = &st->model->dims;
    size_t count;
    if (!mul3((size_t)n * d->n_text_layer, (size_t)d->n_audio_ctx, (size_t)d->n_text_state,
              &count))
        return auris__fail(err, AURIS_ERR_NOMEM, "nn: batch of %d audios is too large", n);
    if (st->cross_type == AURIS_DT_F16)
        count = (count + 1) / 2; /* in whole floats */
    float *k = alloc_floats(count), *v = alloc_floats(count);
    if (!k || !v) {
        auris__aligned_free(k);
        auris__aligned_free(v);
        return auris__fail(err, AURIS_ERR_NOMEM, "nn: out of memory for the cross-attention "
                           "K/V of %d audios", n);
    }
    auris__aligned_free(st->bcross_k);
    auris__aligned_free(st->bcross_v);
    st->bcross_k = k;
    st->bcross_v = v;
    st->bcross_cap = n;
    return AURIS_OK;
}

void auris__nn_batch_store(struct auris__nn_state *st, int b)
{
    if (!st || !st->model || b < 0 || b >= st->bcross_cap)
        return;
    const struct auris_model_dims *d = &st->model->dims;
    size_t per = (size_t)d->n_text_layer * d->n_audio_ctx * d->n_text_state *
                 (st->cross_type == AURIS_DT_F16 ? 2 : 4); /* bytes per audio */
    memcpy((char *)st->bcross_k + (size_t)b * per, st->cross_k, per);
    memcpy((char *)st->bcross_v + (size_t)b * per, st->cross_v, per);
}

enum auris_err auris__decode(struct auris__nn_state *st, const int *tokens, int n_tokens,
                             const int *rows, int n_rows, float *logits)
{
    if (!st || st->n_seq != 1)
        return AURIS_ERR_INVALID_ARG;
    return auris__decode_batch(st, 1, tokens, n_tokens, rows, n_rows, logits);
}
