/*
 * int8.c — products with CTranslate2's int8 weights (struct auris__i8r): y = x W^T + b with
 * W int8 per output row and x quantized per row at run time, as CTranslate2 computes Dense
 * layers on CPU; the portable dot kernel and the reference twin.
 *
 * Reference (facts only): CTranslate2 src/cpu/kernels.cc quantize_s8_row (a_scale = 127 / amax,
 * 1 when amax is 0; with the u8 shift that its MKL/oneDNN u8s8s32 GEMM takes on x86, each value
 * is round-to-nearest-even(x * a_scale - (-128)) and the weight compensation term removes the
 * 128 exactly) and dequantize_gemm_output_row (y = c * (1 / a_scale) / w_scale + bias);
 * src/ops/dequantize_cpu.cc (a stored value is q * (1 / scale)); src/layers/common.cc Dense.
 * With AURIS_INT8_COMPAT=saturate the integer sums reproduce CTranslate2's on CPUs without
 * VNNI instead (oneDNN's vpmaddubsw kernel saturates pairs of products at int16; see
 * int8_impl.h): faster-whisper's int8 tokens there, bit for bit, for comparisons.
 * Invariants: integer sums are exact (or saturated the same way), so every ISA gives the same bits; every float step is a
 * separate IEEE operation in CTranslate2's order (no contraction: ISO C mode); the run-time
 * buffers live in the pool's per-thread scratch (or the caller's), so nothing allocates when
 * one is given; bad sizes make a call a no-op.
 */
#include "kernels/gemm_impl.h"
#include "kernels/int8_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define I8_NB 64                                       /* output columns per int32 tile */
#define MAX_MB 96                                      /* rows of A per block */
#define SCRATCH_BYTES (AURIS__SCRATCH_FLOATS * sizeof(float)) /* what the pool gives a thread */

/* ---- quantization (one home: every path calls these) ------------------------------------ */

/* q[0..K) = x quantized as CTranslate2 does for its u8s8 GEMM; returns the row's scale. */
void auris__i8_quantize_tail(const float *x, int k0, int K, float scale, int8_t *q)
{
    for (int k = k0; k < K; k++) {
        float t = x[k] * scale;
        t = t - (-128.0f);
        t = nearbyintf(t); /* the default rounding mode: to nearest, ties to even */
        /* finite rows never fall below 1 (|x * scale| <= 127); NaN goes to 1 as in the AVX2
         * maxps, so no path makes -128, which the AVX2 dot kernel's sign trick excludes */
        t = t >= 1.0f ? (t <= 255.0f ? t : 255.0f) : 1.0f;
        q[k] = (int8_t)((int)t - 128);
    }
}

float auris__i8_quantize_row_generic(const float *x, int K, int8_t *q)
{
    float amax = 0.0f;
    for (int k = 0; k < K; k++) {
        float a = fabsf(x[k]);
        amax = a > amax ? a : amax;
    }
    const float scale = amax != 0.0f ? 127.0f / amax : 1.0f;
    auris__i8_quantize_tail(x, 0, K, scale, q);
    return scale;
}

/* One output value from its exact integer sum. */
static inline float dequant(int32_t c, float r_a_scale, float w_scale, const float *bias, int n)
{
    float y = (float)c * r_a_scale;
    y = y / w_scale;
    if (bias)
        y = y + bias[n];
    return y;
}

/* y[0..n) (+)= the n outputs of one row (w_scale, bias already offset to its first column). */
void auris__i8_dequant_generic(const int32_t *c, int n, float r_a_scale, const float *w_scale,
                               const float *bias, float *y, int acc)
{
    for (int x = 0; x < n; x++) {
        float v = dequant(c[x], r_a_scale, w_scale[x], bias, x);
        y[x] = acc ? y[x] + v : v;
    }
}

void auris__i8r_row_to_f32(const struct auris__i8r *w, int64_t row, float *out)
{
    const int8_t *q = w->q + (size_t)row * (size_t)w->k;
    const float r = 1.0f / w->scale[row];
    for (int64_t k = 0; k < w->k; k++)
        out[k] = (float)q[k] * r;
}

/* ---- portable dot kernel -------------------------------------------------------------------- */

void auris__i8_dot_generic(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                           size_t ldw, int32_t *C, size_t ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const int8_t *a = A + (size_t)i * lda, *w = W + (size_t)j * ldw;
            int32_t s = 0;
            for (int k = 0; k < K; k++)
                s += (int32_t)a[k] * (int32_t)w[k];
            C[(size_t)i * ldc + j] = s;
        }
}

static inline int32_t sat16(int32_t v)
{
    return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

void auris__i8_dot_sat_generic(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                               size_t ldw, int32_t *C, size_t ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const int8_t *a = A + (size_t)i * lda, *w = W + (size_t)j * ldw;
            int32_t s = 0, wsum = 0;
            for (int k = 0; k < K; k += 2) {
                int32_t p = ((int32_t)a[k] + 128) * w[k];
                wsum += w[k];
                if (k + 1 < K) {
                    p += ((int32_t)a[k + 1] + 128) * w[k + 1];
                    wsum += w[k + 1];
                }
                s += sat16(p);
            }
            C[(size_t)i * ldc + j] = s - 128 * wsum;
        }
}

int auris__i8_saturate(void)
{
    const char *e = getenv("AURIS_INT8_COMPAT");
    return e && !strcmp(e, "saturate");
}

/* ---- the driver --------------------------------------------------------------------------- */

struct i8_job {
    auris__i8_dot_fn dot;
    float (*quant)(const float *x, int K, int8_t *q);
    void (*deq)(const int32_t *c, int n, float r, const float *ws, const float *bias, float *y,
                int acc);
    int M, N, K;
    const float *A;
    int lda;
    const struct auris__i8r *B;
    const float *bias;
    float *C;
    int ldc, acc;
    int mb, nb, n_mblk; /* rows per block, columns per task, number of row blocks */
    struct auris__pool *pool;
};

/* Rows of A one scratch buffer holds with its int32 tile (0 when not even one fits). */
static int rows_per_block(int K)
{
    /* layout: qa [mb][K] (padded to 64 bytes), 1 / a_scale [MAX_MB], int32 tile [mb][I8_NB] */
    size_t per_row = (size_t)K + I8_NB * sizeof(int32_t);
    size_t n = (SCRATCH_BYTES - 64 - MAX_MB * sizeof(float)) / per_row;
    n = n > MAX_MB ? MAX_MB : n;
    return n >= 4 ? (int)(n / 4 * 4) : (int)n;
}

/* Rows m0..m0+mc, columns n0..n1: quantize the rows, then int32 tiles of I8_NB columns. */
static void run_block(const struct i8_job *j, int m0, int mc, int n0, int n1, void *scratch)
{
    const int K = j->K;
    int8_t *qa = scratch;
    float *sa = (float *)((char *)scratch + ((size_t)mc * (size_t)K + 63) / 64 * 64);
    int32_t *c32 = (int32_t *)(sa + MAX_MB);
    for (int i = 0; i < mc; i++)
        sa[i] = 1.0f / j->quant(j->A + (size_t)(m0 + i) * j->lda, K, qa + (size_t)i * K);
    for (int c0 = n0; c0 < n1; c0 += I8_NB) {
        const int nn = AURIS_MIN(I8_NB, n1 - c0);
        j->dot(mc, nn, K, qa, (size_t)K, j->B->q + (size_t)c0 * (size_t)K, (size_t)K, c32, I8_NB);
        for (int i = 0; i < mc; i++)
            j->deq(c32 + (size_t)i * I8_NB, nn, sa[i], j->B->scale + c0, j->bias ? j->bias + c0 : NULL,
                   j->C + (size_t)(m0 + i) * j->ldc + c0, j->acc);
    }
}

static void task_on(const struct i8_job *j, int task, void *scratch)
{
    const int mblk = task % j->n_mblk, nblk = task / j->n_mblk;
    const int m0 = mblk * j->mb, n0 = nblk * j->nb;
    run_block(j, m0, AURIS_MIN(j->mb, j->M - m0), n0, AURIS_MIN(j->N, n0 + j->nb), scratch);
}

static void pool_task(void *ctx, int task, int thread)
{
    const struct i8_job *j = ctx;
    task_on(j, task, auris__pool_scratch(j->pool, thread));
}

/* The dot kernel for the ISA level in use and the CPU's VNNI forms; *name says which. */
static auris__i8_dot_fn pick_dot(const char **name)
{
    const int sat = auris__i8_saturate();
#if defined(AURIS_HAVE_X86)
    const char *isa = auris__kernels_isa();
    if (!sat && strcmp(isa, "avx512") == 0 && auris__cpu_has_avx512vnni())
        return *name = "avx512vnni", auris__i8_dot_avx512vnni;
    if (!sat && strcmp(isa, "generic") != 0 && auris__cpu_has_avxvnni())
        return *name = "avxvnni", auris__i8_dot_avxvnni;
    if (strcmp(isa, "generic") != 0) /* every other level includes AVX2 */
        return sat ? (*name = "avx2-saturate", auris__i8_dot_sat_avx2)
                   : (*name = "avx2", auris__i8_dot_avx2);
#endif
    return sat ? (*name = "generic-saturate", auris__i8_dot_sat_generic)
               : (*name = "generic", auris__i8_dot_generic);
}

const char *auris__i8_kernel(void)
{
    const char *name;
    pick_dot(&name);
    return name;
}

static int sizes_ok(int M, int N, int K, const float *A, int lda, const struct auris__i8r *B,
                    const float *C, int ldc)
{
    return M > 0 && N > 0 && K > 0 && K <= AURIS__I8_MAX_K && A && B && C && B->q && B->scale &&
           lda >= K && ldc >= N && B->k == K && B->rows >= N;
}

void auris__gemm_i8r(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                     const struct auris__i8r *B, const float *bias, float *C, int ldc, int acc,
                     float *scratch)
{
    if (!sizes_ok(M, N, K, A, lda, B, C, ldc))
        return;
    const char *name;
    struct i8_job j = {pick_dot(&name), auris__i8_quantize_row_generic, auris__i8_dequant_generic,
                       M, N, K, A, lda, B, bias, C, ldc, acc, 0, 0, 0, pool};
#if defined(AURIS_HAVE_X86)
    if (j.dot != auris__i8_dot_generic && j.dot != auris__i8_dot_sat_generic) {
        j.quant = auris__i8_quantize_row_avx2;
        j.deq = auris__i8_dequant_avx2;
    }
#endif
    j.mb = rows_per_block(K);
    if (j.mb < 1)
        return;
    j.n_mblk = (M + j.mb - 1) / j.mb;
    const int nt = auris__pool_size(pool);
    /* all columns per task when there are row blocks enough: each row is then quantized once */
    j.nb = (N + I8_NB - 1) / I8_NB * I8_NB;
    while (j.nb > I8_NB && nt > 1 && j.n_mblk * ((N + j.nb - 1) / j.nb) < 4 * nt)
        j.nb = (j.nb / 2 + I8_NB - 1) / I8_NB * I8_NB; /* whole int32 tiles */
    const int n_tasks = j.n_mblk * ((N + j.nb - 1) / j.nb);
    if (pool && nt > 1 && n_tasks > 1) {
        auris__pool_run(pool, pool_task, &j, n_tasks);
        return;
    }
    void *own = NULL;
    if (!scratch)
        scratch = pool ? auris__pool_scratch(pool, 0) : NULL;
    if (!scratch)
        scratch = own = auris__aligned_alloc(SCRATCH_BYTES);
    if (!scratch)
        return;
    for (int t = 0; t < n_tasks; t++)
        task_on(&j, t, scratch);
    auris__aligned_free(own);
}

/* ---- the reference twin ---------------------------------------------------------------------- */

void auris__gemm_i8r_ref(int M, int N, int K, const float *A, int lda, const struct auris__i8r *B,
                         const float *bias, float *C, int ldc)
{
    if (!sizes_ok(M, N, K, A, lda, B, C, ldc))
        return;
    int8_t *q = malloc((size_t)K);
    if (!q)
        return;
    const int sat = auris__i8_saturate();
    for (int m = 0; m < M; m++) {
        const float r = 1.0f / auris__i8_quantize_row_generic(A + (size_t)m * lda, K, q);
        for (int n = 0; n < N; n++) {
            const int8_t *w = B->q + (size_t)n * (size_t)K;
            int64_t s = 0;
            int32_t c;
            if (sat) {
                auris__i8_dot_sat_generic(1, 1, K, q, (size_t)K, w, (size_t)K, &c, 1);
            } else {
                for (int k = 0; k < K; k++)
                    s += (int64_t)q[k] * w[k];
                c = (int32_t)s;
            }
            C[(size_t)m * ldc + n] = dequant(c, r, B->scale[n], bias, n);
        }
    }
    free(q);
}
