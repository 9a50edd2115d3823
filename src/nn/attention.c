/*
 * attention.c — multi-head attention with an online (flash) softmax, for the encoder.
 *
 * Reference: openai/whisper model.py MultiHeadAttention.qkv_attention (softmax(q k^T / sqrt d) v
 * per head, no mask in the encoder); the online softmax of flash attention (Milakov &
 * Gimelshein 2018; Dao et al. 2022). Every head's value and key blocks are first packed once
 * into the GEMM micro-kernels' panel order (before, each query block re-packed them: a fifth
 * of the encoder's time). Per (head, block of AURIS__ATT_QB queries) the keys are
 * swept in blocks of AURIS__FLASH_KB: S = Q K_j^T (gemm kernels), each row's running max m and
 * sum l are updated (auris__k_softmax_block, which turns S into P = exp(scale S - m)), the
 * output rows are rescaled by exp(m_old - m) and O += P V_j; at the end O /= l. No score row
 * longer than one key block exists, so the working set (S, one K and one V block) stays in L2
 * whatever n_ctx is.
 * Invariants: no allocation; a task uses only its thread's slice of s_buf (a packing task
 * writes only its own block of v_pack/k_pack);
 * masked or batched attention is auris__attention_run's (the decoder's) and is passed there.
 */
#include "nn/ops.h"

#include <math.h>

struct flash_ctx {
    const struct auris__attention *a;
    int n_qblk, n_kblk;
    size_t v_head, k_head; /* floats of one head's packed values, keys */
    size_t v_blk, k_blk;   /* floats of one whole (FLASH_KB) packed value, key block */
    int keys;              /* pack_task: pack keys (else values) */
};

static void scale_row(float *o, int d, float f)
{
    for (int c = 0; c < d; c++)
        o[c] *= f;
}

/* Key block j of head h, packed, and its value block (blocks before j are whole). */
static const float *packed_k(const struct flash_ctx *fc, int h, int j)
{
    return fc->a->k_pack + (size_t)h * fc->k_head + (size_t)j * fc->k_blk;
}

static const float *packed_v(const struct flash_ctx *fc, int h, int j)
{
    return fc->a->v_pack + (size_t)h * fc->v_head + (size_t)j * fc->v_blk;
}

/* Packs block j of head h: its values, or (fc->keys) its keys. */
static void pack_task(void *c, int task, int thread)
{
    const struct flash_ctx *fc = c;
    const struct auris__attention *a = fc->a;
    (void)thread;
    int h = task / fc->n_kblk, j = task % fc->n_kblk, d = a->d_head;
    int k0 = j * AURIS__FLASH_KB, kw = AURIS_MIN(AURIS__FLASH_KB, a->n_kv - k0);
    if (fc->keys)
        auris__gemm_pack_nt(kw, d, (const float *)a->k + (size_t)k0 * a->ldk + (size_t)h * d,
                            a->ldk, (float *)packed_k(fc, h, j));
    else
        auris__gemm_pack_nn(d, kw, (const float *)a->v + (size_t)k0 * a->ldv + (size_t)h * d,
                            a->ldv, (float *)packed_v(fc, h, j));
}

static void flash_task(void *c, int task, int thread)
{
    const struct flash_ctx *fc = c;
    const struct auris__attention *a = fc->a;
    int h = task / fc->n_qblk, qb = task % fc->n_qblk;
    int q0 = qb * AURIS__ATT_QB, nq = AURIS_MIN(AURIS__ATT_QB, a->n_q - q0);
    int d = a->d_head;
    float *s = a->s_buf + (size_t)thread * a->s_stride;        /* [nq][kw] scores, then P */
    float *m = s + (size_t)AURIS__ATT_QB * AURIS__FLASH_KB;    /* [nq] running max */
    float *l = m + AURIS__ATT_QB;                              /* [nq] running sum */
    const float *q = a->q + (size_t)q0 * a->ldq + (size_t)h * d;
    float *out = a->out + (size_t)q0 * a->ldo + (size_t)h * d;
    float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < nq; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
    }
    for (int j = 0; j < fc->n_kblk; j++) {
        int kw = AURIS_MIN(AURIS__FLASH_KB, a->n_kv - j * AURIS__FLASH_KB);
        auris__gemm_packed(nq, kw, d, q, a->ldq, packed_k(fc, h, j), s, kw, 0);
        for (int i = 0; i < nq; i++) {
            float alpha = auris__k_softmax_block(s + (size_t)i * kw, kw, scale, &m[i], &l[i]);
            if (j > 0 && alpha != 1.0f)
                scale_row(out + (size_t)i * a->ldo, d, alpha);
        }
        /* the first block overwrites whatever out held */
        auris__gemm_packed(nq, d, kw, s, kw, packed_v(fc, h, j), out, a->ldo, j > 0);
    }
    for (int i = 0; i < nq; i++)
        scale_row(out + (size_t)i * a->ldo, d, 1.0f / l[i]);
}

/* Per head: the packed values (d x kw blocks) and keys (kw x d blocks), and the floats of one
 * whole block of each, as this ISA's panels lay them out (0 when out of range). */
static void head_sizes(int n_kv, int d, size_t *v_head, size_t *k_head, size_t *v_blk,
                       size_t *k_blk)
{
    int n_kblk = (n_kv + AURIS__FLASH_KB - 1) / AURIS__FLASH_KB;
    int last = n_kv - (n_kblk - 1) * AURIS__FLASH_KB;
    *v_blk = auris__gemm_pack_floats(d, AURIS__FLASH_KB);
    *k_blk = auris__gemm_pack_floats(AURIS__FLASH_KB, d);
    size_t vl = auris__gemm_pack_floats(d, last), kl = auris__gemm_pack_floats(last, d);
    int ok = *v_blk && *k_blk && vl && kl;
    *v_head = ok ? (size_t)(n_kblk - 1) * *v_blk + vl : 0;
    *k_head = ok ? (size_t)(n_kblk - 1) * *k_blk + kl : 0;
}

void auris__flash_pack_floats(int n_kv, int n_head, int d_head, size_t *v_floats,
                              size_t *k_floats)
{
    *v_floats = *k_floats = 0;
    if (n_kv <= 0 || n_head <= 0 || d_head <= 0)
        return;
    size_t vh, kh, vb, kb;
    head_sizes(n_kv, d_head, &vh, &kh, &vb, &kb);
    *v_floats = (size_t)n_head * vh;
    *k_floats = (size_t)n_head * kh;
}

void auris__attention_flash(struct auris__pool *pool, const struct auris__attention *a)
{
    if (a->n_q <= 0 || a->n_kv <= 0 || a->n_head <= 0 || a->d_head <= 0)
        return;
    size_t vn, kn;
    auris__flash_pack_floats(a->n_kv, a->n_head, a->d_head, &vn, &kn);
    if (a->causal_past >= 0 || a->n_batch > 1 || a->kv_index || a->kv_runs ||
        a->kv_type != AURIS_DT_F32 ||
        !vn || !kn || !a->v_pack || !a->k_pack || a->v_pack_len < vn || a->k_pack_len < kn) {
        auris__attention_run(pool, a);
        return;
    }
    if (!a->s_buf || a->s_stride < AURIS__FLASH_STRIDE)
        return;
    struct flash_ctx c = {a, (a->n_q + AURIS__ATT_QB - 1) / AURIS__ATT_QB,
                          (a->n_kv + AURIS__FLASH_KB - 1) / AURIS__FLASH_KB, 0, 0, 0, 0, 0};
    head_sizes(a->n_kv, a->d_head, &c.v_head, &c.k_head, &c.v_blk, &c.k_blk);
    /* every value first: the keys' room may be the value input */
    auris__pool_run(pool, pack_task, &c, a->n_head * c.n_kblk);
    c.keys = 1;
    auris__pool_run(pool, pack_task, &c, a->n_head * c.n_kblk);
    auris__pool_run(pool, flash_task, &c, a->n_head * c.n_qblk);
}
