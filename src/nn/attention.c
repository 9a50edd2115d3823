/*
 * attention.c — multi-head attention with an online (flash) softmax, for the encoder.
 *
 * Reference: openai/whisper model.py MultiHeadAttention.qkv_attention (softmax(q k^T / sqrt d) v
 * per head, no mask in the encoder); the online softmax of flash attention (Milakov &
 * Gimelshein 2018; Dao et al. 2022). Every head's key and value blocks are first packed once
 * into the GEMM micro-kernels' panel order (one pool job; before, each query block re-packed
 * them, a fifth of the encoder's time). Per (head, block of AURIS__ATT_QB queries) the keys are
 * swept in blocks of AURIS__FLASH_KB: S = Q K_j^T (gemm kernels), each row's running max m and
 * sum l are updated (auris__k_softmax_block, which turns S into P = exp(scale S - m)), the
 * output rows are rescaled by exp(m_old - m) and O += P V_j; at the end O /= l. No score row
 * longer than one key block exists, so the working set (S, one K and one V block) stays in L2
 * whatever n_ctx is.
 * Invariants: no allocation; a task uses only its thread's slice of s_buf (and kv_pack, each
 * packing task its own blocks);
 * masked or batched attention is auris__attention_run's (the decoder's) and is passed there.
 */
#include "nn/ops.h"

#include <math.h>

struct flash_ctx {
    const struct auris__attention *a;
    int n_qblk, n_kblk;
    size_t per; /* floats of one packed key (or value) block */
};

/* Packed key block j of head h, and its value block right after it. */
static float *packed_k(const struct flash_ctx *fc, int h, int j)
{
    return fc->a->kv_pack + ((size_t)h * fc->n_kblk + j) * 2 * fc->per;
}

static void scale_row(float *o, int d, float f)
{
    for (int c = 0; c < d; c++)
        o[c] *= f;
}

static void pack_task(void *c, int task, int thread)
{
    const struct flash_ctx *fc = c;
    const struct auris__attention *a = fc->a;
    (void)thread;
    int h = task / fc->n_kblk, j = task % fc->n_kblk;
    int k0 = j * AURIS__FLASH_KB, kw = AURIS_MIN(AURIS__FLASH_KB, a->n_kv - k0), d = a->d_head;
    float *pk = packed_k(fc, h, j);
    auris__gemm_pack_nt(kw, d, (const float *)a->k + (size_t)k0 * a->ldk + (size_t)h * d, a->ldk,
                        pk);
    auris__gemm_pack_nn(d, kw, (const float *)a->v + (size_t)k0 * a->ldv + (size_t)h * d, a->ldv,
                        pk + fc->per);
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
        const float *pk = packed_k(fc, h, j);
        auris__gemm_packed(nq, kw, d, q, a->ldq, pk, s, kw, 0);
        for (int i = 0; i < nq; i++) {
            float alpha = auris__k_softmax_block(s + (size_t)i * kw, kw, scale, &m[i], &l[i]);
            if (j > 0 && alpha != 1.0f)
                scale_row(out + (size_t)i * a->ldo, d, alpha);
        }
        /* the first block overwrites whatever out held */
        auris__gemm_packed(nq, d, kw, s, kw, pk + fc->per, out, a->ldo, j > 0);
    }
    for (int i = 0; i < nq; i++)
        scale_row(out + (size_t)i * a->ldo, d, 1.0f / l[i]);
}

/* One packed block's floats: keys kw x d or values d x kw, kw <= FLASH_KB, any ISA's panels. */
static size_t block_floats(int d_head)
{
    return (size_t)AURIS__FLASH_KB * (size_t)((d_head + 15) / 16 * 16);
}

size_t auris__flash_pack_floats(int n_kv, int n_head, int d_head)
{
    if (n_kv <= 0 || n_head <= 0 || d_head <= 0 || d_head > AURIS_GEMM_PACK_KMAX)
        return 0;
    size_t n_kblk = (size_t)(n_kv + AURIS__FLASH_KB - 1) / AURIS__FLASH_KB;
    return 2 * (size_t)n_head * n_kblk * block_floats(d_head);
}

void auris__attention_flash(struct auris__pool *pool, const struct auris__attention *a)
{
    size_t need = auris__flash_pack_floats(a->n_kv, a->n_head, a->d_head);
    if (a->causal_past >= 0 || a->n_batch > 1 || a->kv_type != AURIS_DT_F32 || !a->kv_pack ||
        !need || a->kv_pack_len < need) {
        auris__attention_run(pool, a);
        return;
    }
    if (a->n_q <= 0 || a->n_kv <= 0 || a->n_head <= 0 || a->d_head <= 0 || !a->s_buf ||
        a->s_stride < AURIS__FLASH_STRIDE)
        return;
    struct flash_ctx c = {a, (a->n_q + AURIS__ATT_QB - 1) / AURIS__ATT_QB,
                          (a->n_kv + AURIS__FLASH_KB - 1) / AURIS__FLASH_KB,
                          block_floats(a->d_head)};
    if (auris__gemm_pack_floats(AURIS__FLASH_KB, a->d_head) > c.per ||
        auris__gemm_pack_floats(a->d_head, AURIS__FLASH_KB) > c.per) {
        auris__attention_run(pool, a);
        return;
    }
    auris__pool_run(pool, pack_task, &c, a->n_head * c.n_kblk);
    auris__pool_run(pool, flash_task, &c, a->n_head * c.n_qblk);
}
