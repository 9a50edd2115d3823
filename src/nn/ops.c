/*
 * ops.c — layer norm, GELU, blockwise multi-head attention and a parallel-for over the pool.
 * The row kernels themselves (vectorised per ISA) live in src/kernels (auris__k_*); this file
 * splits the rows over the pool.
 *
 * Reference: openai/whisper model.py (LayerNorm, nn.GELU, MultiHeadAttention.qkv_attention).
 * Attention is computed per (head, block of AURIS__ATT_QB queries): scores S = Q K^T with the
 * gemm kernels, a max-subtracted fp32 softmax per row, then S V, written straight into the head's
 * column slice of the output. Scaling by d^-1/4 on q and on k equals scaling S by d^-1/2.
 * Invariants: no allocation; each task uses only its thread's slice of s_buf and pool scratch.
 */
#include "nn/ops.h"

#include <math.h>

struct range_ctx {
    auris__range_fn fn;
    void *ctx;
    size_t n, chunk;
};

static void range_task(void *c, int task, int thread)
{
    const struct range_ctx *r = c;
    (void)thread;
    size_t b = (size_t)task * r->chunk;
    size_t e = AURIS_MIN(r->n, b + r->chunk);
    if (b < e)
        r->fn(r->ctx, b, e);
}

void auris__par_for(struct auris__pool *pool, size_t n, size_t min_chunk, auris__range_fn fn,
                    void *ctx)
{
    if (n == 0)
        return;
    size_t nt = (size_t)auris__pool_size(pool);
    size_t chunk = (n + 4 * nt - 1) / (4 * nt);
    if (chunk < min_chunk)
        chunk = min_chunk ? min_chunk : 1;
    size_t n_tasks = (n + chunk - 1) / chunk;
    if (n_tasks > 1u << 30) { /* keep the task count an int */
        chunk = (n + (1u << 30) - 1) / (1u << 30);
        n_tasks = (n + chunk - 1) / chunk;
    }
    struct range_ctx r = {fn, ctx, n, chunk};
    auris__pool_run(pool, range_task, &r, (int)n_tasks);
}

/* ---- layer norm --------------------------------------------------------------------------- */

struct ln_ctx {
    int n;
    const float *x;
    int ldx;
    float *y;
    int ldy;
    const float *w, *b;
};

static void ln_rows(void *c, size_t r0, size_t r1)
{
    const struct ln_ctx *l = c;
    auris__k_layernorm_rows((int)(r1 - r0), l->n, l->x + r0 * (size_t)l->ldx, (size_t)l->ldx,
                            l->y + r0 * (size_t)l->ldy, (size_t)l->ldy, l->w, l->b, 1e-5f);
}

void auris__layernorm(struct auris__pool *pool, int rows, int n, const float *x, int ldx,
                      float *y, int ldy, const float *w, const float *b)
{
    if (rows <= 0 || n <= 0)
        return;
    struct ln_ctx l = {n, x, ldx, y, ldy, w, b};
    size_t min_rows = (size_t)AURIS_MAX(1, 16384 / n);
    if (rows < 8) /* decoder steps: not worth waking the workers */
        ln_rows(&l, 0, (size_t)rows);
    else
        auris__par_for(pool, (size_t)rows, min_rows, ln_rows, &l);
}

/* ---- GELU --------------------------------------------------------------------------------- */

static void gelu_range(void *c, size_t b, size_t e)
{
    auris__k_gelu((float *)c + b, e - b);
}

void auris__gelu(struct auris__pool *pool, float *x, size_t count)
{
    if (count < 16384)
        gelu_range(x, 0, count);
    else
        auris__par_for(pool, count, 8192, gelu_range, x);
}

/* ---- attention ---------------------------------------------------------------------------- */

struct att_ctx {
    const struct auris__attention *a;
    struct auris__pool *pool;
    int n_qblk;
};

/* Row softmax of scale*s over [0, len), zero over [len, width). */
static void softmax_row(float *s, int len, int width, float scale)
{
    auris__softmax(s, len, scale);
    for (int j = len; j < width; j++)
        s[j] = 0.0f;
}

/* Scores S = Q K^T then, after the softmax, S V for a paged history: one product per run of
 * pages (the runs start at multiples of 4, where the streaming nt product starts a group, and
 * the value sums are resumed from run to run), so up to 16 query rows get the bits a single
 * slot holding the whole history gives. kb/vb are the layer's slot 0 with the head offset. */
static void runs_scores(const struct auris__attention *a, int b, int nq, int width,
                        const float *q, const char *kb, size_t es, float *s, float *scratch)
{
    const struct auris__kv_run *r = a->kv_runs + a->kv_run_off[b];
    const struct auris__kv_run *end = a->kv_runs + a->kv_run_off[b + 1];
    for (; r < end && r->start < width; r++) {
        const char *k = kb + ((size_t)r->slot * a->kv_bstride + (size_t)r->start * a->ldk) * es;
        auris__gemm_nt_serial(nq, AURIS_MIN(r->end, width) - r->start, a->d_head, q, a->ldq, k,
                              a->kv_type, a->ldk, NULL, s + r->start, width, scratch);
    }
}

static void runs_values(const struct auris__attention *a, int b, int nq, int width,
                        const float *s, const char *vb, size_t es, float *out)
{
    const struct auris__kv_run *r = a->kv_runs + a->kv_run_off[b];
    const struct auris__kv_run *end = a->kv_runs + a->kv_run_off[b + 1];
    for (int first = 1; r < end && r->start < width; r++, first = 0) {
        const char *v = vb + ((size_t)r->slot * a->kv_bstride + (size_t)r->start * a->ldv) * es;
        int len = AURIS_MIN(r->end, width) - r->start;
        if (first)
            auris__gemm_nn_rows(nq, a->d_head, len, s + r->start, width, v, a->kv_type, a->ldv,
                                out, a->ldo);
        else
            auris__gemm_nn_rows_resume(nq, a->d_head, len, s + r->start, width, v, a->kv_type,
                                       a->ldv, out, a->ldo);
    }
}

/* Tasks run head by head (all batches of head 0 first), so that beams sharing a history read
 * its rows for one head one after the other, while they are in cache. */
static void att_task(void *c, int task, int thread)
{
    const struct att_ctx *ac = c;
    const struct auris__attention *a = ac->a;
    int n_batch = a->n_batch > 1 ? a->n_batch : 1, per_head = n_batch * ac->n_qblk;
    int h = task / per_head, t = task % per_head;
    int b = t / ac->n_qblk, qb = t % ac->n_qblk;
    int q0 = qb * AURIS__ATT_QB, nq = AURIS_MIN(AURIS__ATT_QB, a->n_q - q0);
    int d = a->d_head;
    size_t kv_off = a->kv_index && !a->kv_runs ? (size_t)a->kv_index[b] * a->kv_bstride : 0;
    size_t es = a->kv_type == AURIS_DT_F16 ? 2 : 4; /* bytes per K/V element */
    const char *kb = (const char *)a->k + kv_off * es, *vb = (const char *)a->v + kv_off * es;
    size_t row0 = (size_t)b * (size_t)a->n_q + (size_t)q0; /* first query row of this task */
    /* keys after the block's last query position are masked for every row: skip them */
    int width = a->n_kv;
    if (a->causal_past >= 0)
        width = AURIS_MIN(a->n_kv, a->causal_past + q0 + nq);
    float *s = a->s_buf + (size_t)thread * a->s_stride;
    float *scratch = auris__pool_scratch(ac->pool, thread);
    const float *q = a->q + row0 * a->ldq + (size_t)h * d;
    size_t hoff = (size_t)h * (a->kv_hstride ? a->kv_hstride : (size_t)d) * es;
    if (a->kv_runs)
        runs_scores(a, b, nq, width, q, kb + hoff, es, s, scratch);
    else
        auris__gemm_nt_serial(nq, width, d, q, a->ldq, kb + hoff, a->kv_type, a->ldk, NULL, s,
                              width, scratch);
    float scale = 1.0f / sqrtf((float)d);
    for (int i = 0; i < nq; i++) {
        int len = width;
        if (a->causal_past >= 0)
            len = AURIS_MIN(width, a->causal_past + q0 + i + 1);
        softmax_row(s + (size_t)i * width, len, width, scale);
    }
    float *out = a->out + row0 * a->ldo + (size_t)h * d;
    if (a->kv_runs)
        runs_values(a, b, nq, width, s, vb + hoff, es, out);
    else if (a->kv_type == AURIS_DT_F16) /* f16 values: the streaming product converts them */
        auris__gemm_nn_rows(nq, d, width, s, width, vb + hoff, AURIS_DT_F16, a->ldv, out,
                            a->ldo);
    else
        auris__gemm_nn_serial(nq, d, width, s, width, (const float *)(vb + hoff), a->ldv, out,
                              a->ldo, scratch);
}

void auris__attention_run(struct auris__pool *pool, const struct auris__attention *a)
{
    if (a->n_q <= 0 || a->n_kv <= 0 || a->n_head <= 0 || a->d_head <= 0)
        return;
    if (a->s_stride < (size_t)AURIS__ATT_QB * (size_t)a->n_kv)
        return;
    int n_batch = a->n_batch > 1 ? a->n_batch : 1;
    if (n_batch > 1 && !a->kv_index && !a->kv_runs)
        return;
    struct att_ctx c = {a, pool, (a->n_q + AURIS__ATT_QB - 1) / AURIS__ATT_QB};
    auris__pool_run(pool, att_task, &c, n_batch * a->n_head * c.n_qblk);
}
