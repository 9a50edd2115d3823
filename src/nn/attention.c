/*
 * attention.c — multi-head attention with an online (flash) softmax, for the encoder.
 *
 * Reference: openai/whisper model.py MultiHeadAttention.qkv_attention (softmax(q k^T / sqrt d) v
 * per head, no mask in the encoder); the online softmax of flash attention (Milakov &
 * Gimelshein 2018; Dao et al. 2022). Per (head, block of AURIS__ATT_QB queries) the keys are
 * swept in blocks of AURIS__FLASH_KB: S = Q K_j^T (gemm kernels), each row's running max m and
 * sum l are updated (auris__k_softmax_block, which turns S into P = exp(scale S - m)), the
 * output rows are rescaled by exp(m_old - m) and O += P V_j; at the end O /= l. No score row
 * longer than one key block exists, so the working set (S, one K and one V block) stays in L2
 * whatever n_ctx is.
 * Invariants: no allocation; a task uses only its thread's slice of s_buf and pool scratch;
 * masked or batched attention is auris__attention_run's (the decoder's) and is passed there.
 */
#include "nn/ops.h"

#include <math.h>

struct flash_ctx {
    const struct auris__attention *a;
    struct auris__pool *pool;
    int n_qblk;
};

static void scale_row(float *o, int d, float f)
{
    for (int c = 0; c < d; c++)
        o[c] *= f;
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
    float *scratch = auris__pool_scratch(fc->pool, thread);
    const float *q = a->q + (size_t)q0 * a->ldq + (size_t)h * d;
    float *out = a->out + (size_t)q0 * a->ldo + (size_t)h * d;
    float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < nq; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
    }
    for (int k0 = 0; k0 < a->n_kv; k0 += AURIS__FLASH_KB) {
        int kw = AURIS_MIN(AURIS__FLASH_KB, a->n_kv - k0);
        const float *kb = (const float *)a->k + (size_t)k0 * a->ldk + (size_t)h * d;
        const float *vb = (const float *)a->v + (size_t)k0 * a->ldv + (size_t)h * d;
        auris__gemm_nt_serial(nq, kw, d, q, a->ldq, kb, AURIS_DT_F32, a->ldk, NULL, s, kw,
                              scratch);
        for (int i = 0; i < nq; i++) {
            float alpha = auris__k_softmax_block(s + (size_t)i * kw, kw, scale, &m[i], &l[i]);
            if (k0 > 0 && alpha != 1.0f)
                scale_row(out + (size_t)i * a->ldo, d, alpha);
        }
        if (k0 == 0) /* the first block overwrites whatever out held */
            auris__gemm_nn_serial(nq, d, kw, s, kw, vb, a->ldv, out, a->ldo, scratch);
        else
            auris__gemm_nn_serial_acc(nq, d, kw, s, kw, vb, a->ldv, out, a->ldo, scratch);
    }
    for (int i = 0; i < nq; i++)
        scale_row(out + (size_t)i * a->ldo, d, 1.0f / l[i]);
}

void auris__attention_flash(struct auris__pool *pool, const struct auris__attention *a)
{
    if (a->causal_past >= 0 || a->n_batch > 1 || a->kv_type != AURIS_DT_F32) {
        auris__attention_run(pool, a);
        return;
    }
    if (a->n_q <= 0 || a->n_kv <= 0 || a->n_head <= 0 || a->d_head <= 0 || !a->s_buf ||
        a->s_stride < AURIS__FLASH_STRIDE)
        return;
    struct flash_ctx c = {a, pool, (a->n_q + AURIS__ATT_QB - 1) / AURIS__ATT_QB};
    auris__pool_run(pool, flash_task, &c, a->n_head * c.n_qblk);
}
