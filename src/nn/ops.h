/*
 * ops.h — private to src/nn: the network's building blocks (layer norm, GELU, attention, a
 * parallel-for) on row-major f32 activations, spread over the pool.
 *
 * Reference: openai/whisper model.py (LayerNorm eps 1e-5, nn.GELU() exact erf form,
 * MultiHeadAttention.qkv_attention: softmax((q d^-1/4)(k d^-1/4)^T + mask) v per head).
 * Invariants: nothing here allocates; attention's per-thread score buffers come from the caller.
 */
#ifndef AURIS_NN_OPS_H
#define AURIS_NN_OPS_H

#include "kernels/kernels.h"

#define AURIS__ATT_QB 72 /* query rows per attention task (a multiple of every MR) */

/* Runs fn(ctx, begin, end) over [0, n) in chunks of at least min_chunk, across the pool. */
typedef void (*auris__range_fn)(void *ctx, size_t begin, size_t end);
void auris__par_for(struct auris__pool *pool, size_t n, size_t min_chunk, auris__range_fn fn,
                    void *ctx);

/* y[r] = (x[r] - mean) / sqrt(var + 1e-5) * w + b for each of `rows` rows of n; y may be x. */
void auris__layernorm(struct auris__pool *pool, int rows, int n, const float *x, int ldx,
                      float *y, int ldy, const float *w, const float *b);

/* x = 0.5 x (1 + erf(x / sqrt 2)) elementwise, in place. */
void auris__gelu(struct auris__pool *pool, float *x, size_t count);

/* Multi-head attention on projected q/k/v (heads are column slices of width d_head):
 * out[i][h] = softmax(q[i][h] · k[j][h] / sqrt(d_head) over j) · v[j][h].
 * causal_past >= 0: query i sits at position causal_past + i and sees keys j <= that position;
 * -1: no mask. s_buf: pool_size * s_stride floats, s_stride >= AURIS__ATT_QB * n_kv.
 * Batches: batch b (of max(n_batch, 1)) owns query/output rows [b*n_q, (b+1)*n_q) and attends
 * to the keys/values at k/v + kv_index[b] * kv_bstride (each sequence its own KV-cache slot),
 * with the same n_kv and causal_past for all. kv_index may be NULL only when n_batch <= 1 (one
 * batch at k/v); when given it is honoured for a single batch too (the last live sequence of a
 * VAD batch keeps its audio's slot, which need not be slot 0). */
/* Positions [start, end) of one sequence's keys/values, at those rows of cache slot `slot`. */
struct auris__kv_run {
    int slot, start, end;
};

struct auris__attention {
    const float *q;
    const void *k, *v; /* kv_type elements */
    int ldq, ldk, ldv;
    float *out;
    int ldo;
    int n_q, n_kv, n_head, d_head;
    int causal_past;
    float *s_buf;
    size_t s_stride;
    int n_batch;
    const int *kv_index; /* [n_batch] */
    size_t kv_bstride;   /* elements between consecutive kv_index slots */
    /* paged histories (self-attention after beam forks): when set, batch b's keys/values are
     * the runs kv_runs[kv_run_off[b] .. kv_run_off[b+1]), which cover [0, n_kv) in order, each
     * at k/v + slot * kv_bstride with rows by position, and kv_index is not read. Runs start
     * at multiples of 4; up to 16 query rows get the bits one slot holding it all would give. */
    const struct auris__kv_run *kv_runs;
    const int *kv_run_off; /* [n_batch + 1] */
    size_t kv_hstride;   /* elements between heads' K/V: 0 (heads are column slices, head h
                          * at column h * d_head) or, head-major [n_head][n_kv][ldk], the
                          * distance from one head's rows to the next (auris__attention_run
                          * only: the flash attention takes column slices) */
    enum auris__dtype kv_type; /* element type of k and v: F32 (0, the default) or F16;
                                * ldk, ldv and offsets count elements */
    /* flash attention only: room for every head's value and key blocks, packed once per call
     * (64-byte aligned; lengths >= auris__flash_pack_floats). All values are packed before the
     * first key, so k_pack may overlap v (the encoder packs its keys into the freed value
     * buffer); nothing else may overlap an input or the output. */
    float *v_pack, *k_pack;
    size_t v_pack_len, k_pack_len;
};
void auris__attention_run(struct auris__pool *pool, const struct auris__attention *a);

/* Keys per block of the flash attention, and the s_buf floats it needs per thread
 * (a [AURIS__ATT_QB][AURIS__FLASH_KB] score block plus each row's running max and sum). */
#define AURIS__FLASH_KB 256
#define AURIS__FLASH_STRIDE ((size_t)AURIS__ATT_QB * AURIS__FLASH_KB + 2 * AURIS__ATT_QB)

/* The same attention computed with an online softmax over blocks of keys (attention.c), for
 * unmasked single-batch attention (the encoder): s_stride >= AURIS__FLASH_STRIDE suffices, and
 * v_pack/k_pack must hold what auris__flash_pack_floats says (for d_head a multiple of 16,
 * n_kv * n_head * d_head floats for the values and a little more for the keys). Causal,
 * batched or f16 requests, or too little pack room, go to auris__attention_run (and its
 * s_stride rule). */
void auris__flash_pack_floats(int n_kv, int n_head, int d_head, size_t *v_floats,
                              size_t *k_floats);
void auris__attention_flash(struct auris__pool *pool, const struct auris__attention *a);

#endif /* AURIS_NN_OPS_H */
