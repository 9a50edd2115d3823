/*
 * q8.c — products with ggml q8_0 weights on int8 dot products (the decoder's few-row steps):
 * y = x W^T + b with W in its stored q8_0 blocks and each row of x quantized to int8 per block
 * of 32 at run time; the portable column kernel, the driver and the reference twin.
 *
 * Reference (facts only): ggml-quants.c quantize_row_q8_0 (per block d = max|x| / 127,
 * q = round(x / d), 0 for an all-zero block) and ggml_vec_dot_q8_0_q8_0 (sum over blocks of
 * d_x d_w times the exact integer block sum). Unlike ggml the activation scale stays f32 (no
 * f16 rounding) and rounding is to nearest even (the AVX2 rounding instruction's).
 * Invariants: the activations are quantized once per call (all column tasks read them), every
 * row of C is computed exactly as a one-row call computes it (so batched decoding equals
 * decoding alone), generic and AVX2 give the same bits (q8_impl.h); nothing allocates when a
 * pool or a scratch is given and the rows fit it; bad sizes make the call a no-op.
 */
#include "kernels/gemm_impl.h"
#include "kernels/q8_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_BYTES (AURIS__SCRATCH_FLOATS * sizeof(float))

void auris__q8_quantize_generic(const float *x, int K, int8_t *q, float *d, float *sa)
{
    for (int b = 0; b < K / AURIS__QK8_0; b++) {
        const float *xb = x + (size_t)b * AURIS__QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < AURIS__QK8_0; j++)
            amax = fabsf(xb[j]) > amax ? fabsf(xb[j]) : amax;
        const float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < AURIS__QK8_0; j++) {
            /* to nearest, ties to even: |v| <= 127 (+ an ulp) << 2^22, where adding and
             * subtracting 1.5 * 2^23 rounds exactly so (an overflowing v is clamped) */
            float v = xb[j] * id;
            v = (v + 12582912.0f) - 12582912.0f;
            v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v; /* NaN input: 0 below */
            q[(size_t)b * AURIS__QK8_0 + (size_t)j] = v == v ? (int8_t)v : 0;
            sum += q[(size_t)b * AURIS__QK8_0 + (size_t)j];
        }
        d[b] = db;
        sa[b] = db * (float)sum;
    }
}

/* One row of activations against one q8_0 row of B (row_bytes long). */
static float dot_col(const int8_t *qa, const float *da, int nb, const uint8_t *w)
{
    float s = 0.0f;
    for (int b = 0; b < nb; b++, w += AURIS__Q8_0_BYTES) {
        const int8_t *x = qa + (size_t)b * AURIS__QK8_0;
        int32_t isum = 0;
        for (int j = 0; j < AURIS__QK8_0; j++)
            isum += (int32_t)x[j] * (int32_t)(int8_t)w[2 + j];
        const float scale = da[b] * auris__q8_block_d(w);
        s = s + scale * (float)isum;
    }
    return s;
}

void auris__q8_cols_generic(const struct auris__q8_rows *a, int n0, int n1, const uint8_t *B,
                            size_t row_bytes, const float *bias, float *C, int ldc, int acc)
{
    const size_t K = (size_t)a->nb * AURIS__QK8_0;
    for (int n = n0; n < n1; n++)
        for (int m = 0; m < a->M; m++) {
            float v = dot_col(a->qa + (size_t)m * K, a->da + (size_t)m * (size_t)a->nb, a->nb,
                              B + (size_t)n * row_bytes);
            if (bias)
                v = v + bias[n];
            float *c = C + (size_t)m * (size_t)ldc + n;
            *c = acc ? *c + v : v;
        }
}

/* ---- the driver --------------------------------------------------------------------------- */

struct q8_job {
    enum auris__dtype bt;
    auris__q8_cols_fn cols; /* q8_0 */
    void (*cols4)(enum auris__dtype, const struct auris__q8_rows *, int, int, const uint8_t *,
                  size_t, const float *, float *, int, int); /* the 4/5-bit types */
    void (*quantize)(const float *, int, int8_t *, float *, float *);
    struct auris__q8_rows a;
    const uint8_t *B;
    size_t row_bytes;
    const float *bias;
    float *C;
    int ldc, acc, N, chunk;
};

static void q8_task(void *ctx, int task, int thread)
{
    const struct q8_job *j = ctx;
    (void)thread;
    const int n0 = task * j->chunk, n1 = AURIS_MIN(j->N, n0 + j->chunk);
    if (j->bt == AURIS_DT_Q8_0)
        j->cols(&j->a, n0, n1, j->B, j->row_bytes, j->bias, j->C, j->ldc, j->acc);
    else
        j->cols4(j->bt, &j->a, n0, n1, j->B, j->row_bytes, j->bias, j->C, j->ldc, j->acc);
}

static void pick_cols(struct q8_job *j)
{
    j->cols = auris__q8_cols_generic;
    j->cols4 = auris__q4_cols_generic;
    j->quantize = auris__q8_quantize_generic;
#if defined(AURIS_HAVE_X86)
    if (strcmp(auris__kernels_isa(), "generic") != 0) { /* every other level includes AVX2 */
        j->cols = auris__q8_cols_avx2;
        j->cols4 = auris__q4_cols_avx2;
        j->quantize = auris__q8_quantize_avx2;
    }
#endif
}

static int bad_sizes(enum auris__dtype bt, int M, int N, int K, const float *A, int lda,
                     const void *B, int ldb, float *C, int ldc)
{
    return !auris__dtype_block_bytes(bt) || M <= 0 || N <= 0 || K <= 0 || K % AURIS__QK8_0 ||
           ldb % AURIS__QK8_0 || ldb < K || lda < K || ldc < N || !A || !B || !C;
}

int auris__gemv_q8_0(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                     const void *B, int ldb, const float *bias, float *C, int ldc, int acc,
                     float *scratch)
{
    return auris__gemv_qb(pool, AURIS_DT_Q8_0, M, N, K, A, lda, B, ldb, bias, C, ldc, acc,
                          scratch);
}

int auris__gemv_qb(struct auris__pool *pool, enum auris__dtype bt, int M, int N, int K,
                   const float *A, int lda, const void *B, int ldb, const float *bias, float *C,
                   int ldc, int acc, float *scratch)
{
    if (bad_sizes(bt, M, N, K, A, lda, B, ldb, C, ldc))
        return -1; /* the caller's float path validates and reports nothing either */
    const int nb = K / AURIS__QK8_0;
    const size_t need = (size_t)M * (size_t)K + 2 * (size_t)M * (size_t)nb * sizeof(float);
    /* the caller's scratch (thread 0 of the pool, or the task's): the column tasks need none */
    void *buf = scratch ? (void *)scratch : pool ? (void *)auris__pool_scratch(pool, 0) : NULL;
    void *own = NULL;
    if (!buf || need > SCRATCH_BYTES)
        buf = own = malloc(need);
    if (!buf)
        return -1; /* the caller falls back to its float path */
    float *da = buf, *sa = da + (size_t)M * (size_t)nb;
    int8_t *qa = (int8_t *)(sa + (size_t)M * (size_t)nb);
    struct q8_job j = {bt, NULL, NULL, NULL, {M, nb, qa, da, sa}, B,
                       (size_t)ldb / AURIS__QK8_0 * auris__dtype_block_bytes(bt), bias, C, ldc,
                       acc, N, 0};
    pick_cols(&j);
    for (int m = 0; m < M; m++)
        j.quantize(A + (size_t)m * (size_t)lda, K, qa + (size_t)m * (size_t)K,
                   da + (size_t)m * (size_t)nb, sa + (size_t)m * (size_t)nb);
    const int nt = auris__pool_size(pool);
    int chunk = (N + 4 * nt - 1) / (4 * nt); /* about four tasks per thread, whole 16s */
    j.chunk = AURIS_MAX(64, (chunk + 15) / 16 * 16);
    const int n_tasks = (N + j.chunk - 1) / j.chunk;
    if (pool && nt > 1 && n_tasks > 1)
        auris__pool_run(pool, q8_task, &j, n_tasks);
    else
        for (int t = 0; t < n_tasks; t++)
            q8_task(&j, t, 0);
    free(own);
    return 0;
}

void auris__gemv_q8_0_ref(int M, int N, int K, const float *A, int lda, const void *B, int ldb,
                          const float *bias, float *C, int ldc)
{
    auris__gemv_qb_ref(AURIS_DT_Q8_0, M, N, K, A, lda, B, ldb, bias, C, ldc);
}

void auris__gemv_qb_ref(enum auris__dtype bt, int M, int N, int K, const float *A, int lda,
                        const void *B, int ldb, const float *bias, float *C, int ldc)
{
    if (bad_sizes(bt, M, N, K, A, lda, B, ldb, C, ldc))
        return;
    const int nb = K / AURIS__QK8_0;
    int8_t *q = malloc((size_t)K);
    float *d = malloc(2 * (size_t)nb * sizeof *d);
    const size_t row_bytes = (size_t)ldb / AURIS__QK8_0 * auris__dtype_block_bytes(bt);
    if (q && d)
        for (int m = 0; m < M; m++) {
            auris__q8_quantize_generic(A + (size_t)m * (size_t)lda, K, q, d, d + nb);
            const struct auris__q8_rows a = {1, nb, q, d, d + nb};
            float *c = C + (size_t)m * (size_t)ldc;
            if (bt == AURIS_DT_Q8_0)
                auris__q8_cols_generic(&a, 0, N, B, row_bytes, bias, c, ldc, 0);
            else
                auris__q4_cols_generic(bt, &a, 0, N, B, row_bytes, bias, c, ldc, 0);
        }
    free(q);
    free(d);
}
