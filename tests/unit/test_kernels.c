/*
 * test_kernels.c — thread pool and matrix products against their reference twins.
 *
 * Every ISA this CPU supports is forced in turn (auris__kernels_force) and checked on awkward
 * sizes (edges of every blocking level, strides wider than rows, f16 weights, with and without
 * bias, serial and pooled). Tolerance: relative to the magnitude of the dot products.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "isas.h"
#include "kernels/gemm_impl.h"

#if defined(AURIS_TEST_AVX512_PROBE)
/* gemm_avx512.c built for AVX2 (tests/unit/probe/avx512_probe.c) */
void auris__kernel_12x16_probe(int kc, const float *restrict a, int lda,
                               const float *restrict b, float *restrict c, int ldc, int acc);
#endif

static uint32_t rng_state = 12345u;
static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

static float *rand_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

/* max |got-want| / (sum_k |a||b| + tiny), so cancellation does not inflate the error */
static void check_close(const float *got, const float *want, const float *mag, int M, int N,
                        int ldc, double tol, const char *what)
{
    double worst = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double d = fabs((double)got[(size_t)m * ldc + n] - want[(size_t)m * N + n]);
            double r = d / ((double)mag[(size_t)m * N + n] + 1e-6);
            if (r > worst)
                worst = r;
        }
    if (worst > tol)
        fail_msg("%s: relative error %g > %g", what, worst, tol);
}

/* One gemm_nt case: compares pooled, serial and NULL-pool runs with the reference. */
static void case_nt(struct auris__pool *pool, int M, int N, int K, int pad, int f16, int bias)
{
    int lda = K + pad, ldb = K + 2 * pad, ldc = N + 3 * pad;
    float *A = rand_buf((size_t)M * lda);
    float *Bf = rand_buf((size_t)N * ldb);
    uint16_t *Bh = malloc(((size_t)N * ldb + 1) * sizeof *Bh);
    assert_non_null(Bh);
    for (size_t i = 0; i < (size_t)N * ldb; i++) {
        Bh[i] = auris__f32_to_f16(Bf[i]);
        Bf[i] = auris__f16_to_f32(Bh[i]);
    }
    float *bs = bias ? rand_buf((size_t)N) : NULL;
    float *want = malloc((size_t)M * N * sizeof *want), *mag = malloc((size_t)M * N * sizeof *mag);
    float *C = malloc((size_t)M * ldc * sizeof *C);
    assert_non_null(want);
    assert_non_null(mag);
    assert_non_null(C);
    const void *B = f16 ? (const void *)Bh : (const void *)Bf;
    enum auris__dtype bt = f16 ? AURIS_DT_F16 : AURIS_DT_F32;
    auris__gemm_nt_ref(M, N, K, A, lda, B, bt, ldb, bs, want, N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = bs ? fabs(bs[n]) : 0;
            for (int k = 0; k < K; k++)
                s += fabs(A[(size_t)m * lda + k] * Bf[(size_t)n * ldb + k]);
            mag[(size_t)m * N + n] = (float)s;
        }
    char what[128];
    snprintf(what, sizeof what, "nt %s M%d N%d K%d pad%d f16=%d bias=%d", auris__kernels_isa(), M,
             N, K, pad, f16, bias);
    for (int mode = 0; mode < 3; mode++) {
        for (size_t i = 0; i < (size_t)M * ldc; i++)
            C[i] = NAN;
        if (mode == 0)
            auris__gemm_nt(pool, M, N, K, A, lda, B, bt, ldb, bs, C, ldc);
        else if (mode == 1)
            auris__gemm_nt(NULL, M, N, K, A, lda, B, bt, ldb, bs, C, ldc);
        else
            auris__gemm_nt_serial(M, N, K, A, lda, B, bt, ldb, bs, C, ldc,
                                  auris__pool_scratch(pool, 0));
        check_close(C, want, mag, M, N, ldc, 1e-5, what);
        /* padding columns are never written */
        for (int m = 0; m < M; m++)
            for (int n = N; n < ldc; n++)
                assert_true(isnan(C[(size_t)m * ldc + n]));
    }
    /* accumulate: C already holds `want`, so C += A·B^T + bias must give 2*want */
    auris__gemm_nt_acc(pool, M, N, K, A, lda, B, bt, ldb, bs, C, ldc);
    for (size_t i = 0; i < (size_t)M * N; i++) {
        want[i] *= 2;
        mag[i] *= 2;
    }
    check_close(C, want, mag, M, N, ldc, 1e-5, what);
    free(A);
    free(Bf);
    free(Bh);
    free(bs);
    free(want);
    free(mag);
    free(C);
}

static void case_nn(struct auris__pool *pool, int M, int N, int K, int pad)
{
    int lda = K + pad, ldb = N + 2 * pad, ldc = N + pad;
    float *A = rand_buf((size_t)M * lda), *B = rand_buf((size_t)K * ldb);
    float *want = malloc((size_t)M * N * sizeof *want), *mag = malloc((size_t)M * N * sizeof *mag);
    float *C = malloc((size_t)M * ldc * sizeof *C);
    assert_non_null(want);
    assert_non_null(mag);
    assert_non_null(C);
    auris__gemm_nn_ref(M, N, K, A, lda, B, ldb, want, N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += fabs(A[(size_t)m * lda + k] * B[(size_t)k * ldb + n]);
            mag[(size_t)m * N + n] = (float)s;
        }
    char what[128];
    snprintf(what, sizeof what, "nn %s M%d N%d K%d pad%d", auris__kernels_isa(), M, N, K, pad);
    for (int mode = 0; mode < 3; mode++) {
        for (size_t i = 0; i < (size_t)M * ldc; i++)
            C[i] = NAN;
        if (mode == 0)
            auris__gemm_nn(pool, M, N, K, A, lda, B, ldb, C, ldc);
        else if (mode == 1)
            auris__gemm_nn(NULL, M, N, K, A, lda, B, ldb, C, ldc);
        else
            auris__gemm_nn_serial(M, N, K, A, lda, B, ldb, C, ldc, auris__pool_scratch(pool, 1));
        check_close(C, want, mag, M, N, ldc, 1e-5, what);
    }
    free(A);
    free(B);
    free(want);
    free(mag);
    free(C);
}

static void test_gemm_all_isas(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    static const int sizes[][3] = {
        {1, 1, 1},     {1, 17, 3},    {3, 65, 64},   {4, 300, 257},  {5, 33, 17},
        {17, 17, 17},  {64, 64, 64},  {65, 65, 65},  {97, 300, 300}, {300, 17, 520},
        {7, 1500, 64}, {200, 64, 513}, {193, 259, 31},
        {40, 512, 300}, {33, 32, 70}, {36, 40, 9}, /* last panels of 8 and 16 of a 24-wide one */
    };
    int n_run = 0;
    FOR_EACH_ISA(isa) {
        n_run++;
        assert_string_equal(auris__kernels_isa(), isa);
        for (size_t s = 0; s < AURIS_ARRAY_LEN(sizes); s++) {
            int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
            int pad = (int)(s % 3) * 5;
            case_nt(pool, M, N, K, pad, (int)(s & 1), (int)(s % 3 != 1));
            case_nt(pool, M, N, K, pad, (int)!(s & 1), (int)(s % 3 == 1));
            case_nn(pool, M, N, K, pad);
        }
    }
#if defined(AURIS_TEST_AVX512_PROBE)
    /* the AVX-512 table with its micro-kernel's AVX2 build, through the whole driver */
    struct auris__isa probe = auris__isa_avx512; /* its 16-wide packing, AVX2 code */
    probe.kernel = auris__kernel_12x16_probe;
    if (auris__kernels_force("avx2") == 0 && auris__kernels_force_table(&probe) == 0) {
        n_run++;
        for (size_t s = 0; s < AURIS_ARRAY_LEN(sizes); s++) {
            int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
            int pad = (int)(s % 3) * 5;
            case_nt(pool, M, N, K, pad, (int)(s & 1), (int)(s % 3 != 1));
            case_nn(pool, M, N, K, pad);
        }
    }
#endif
    assert_true(n_run >= 1);
    assert_int_equal(auris__kernels_force("no-such-isa"), -1);
    assert_int_equal(auris__kernels_force(NULL), 0);
    auris__pool_free(pool);
}

/* A column of C gets the same bits whether the ISA's full micro-kernel computes it or one of
 * its last-panel parts (AVX2: 16 or 8 of 24 columns, stored straight to C) or the edge tile:
 * products over the first N of 48 B rows equal the 48-row product's first N columns, bit for
 * bit, f32 and f16 B, with K over two depth slices (the second accumulates into C). */
static void test_gemm_panel_tails_bit_identical(void **state)
{
    (void)state;
    enum { M = 36, NF = 48, K = 300 };
    static const int tails[] = {40, 32, 28, 25};
    const uint32_t rng_saved = rng_state; /* the later tests keep the inputs they always had */
    float *A = rand_buf((size_t)M * K), *Bf = rand_buf((size_t)NF * K);
    uint16_t *Bh = malloc((size_t)NF * K * sizeof *Bh);
    float *full = malloc((size_t)M * NF * sizeof *full);
    float *part = malloc((size_t)M * NF * sizeof *part);
    assert_true(Bh && full && part);
    for (size_t i = 0; i < (size_t)NF * K; i++)
        Bh[i] = auris__f32_to_f16(Bf[i]);
    FOR_EACH_ISA(isa) {
        for (int h = 0; h < 2; h++) {
            const void *B = h ? (const void *)Bh : (const void *)Bf;
            enum auris__dtype bt = h ? AURIS_DT_F16 : AURIS_DT_F32;
            auris__gemm_nt(NULL, M, NF, K, A, K, B, bt, K, NULL, full, NF);
            for (size_t t = 0; t < AURIS_ARRAY_LEN(tails); t++) {
                int n = tails[t];
                auris__gemm_nt(NULL, M, n, K, A, K, B, bt, K, NULL, part, NF);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < n; j++)
                        if (memcmp(&part[i * NF + j], &full[i * NF + j], sizeof(float)))
                            fail_msg("%s %s N %d: C[%d][%d] = %.9g, with N 48 %.9g", isa,
                                     h ? "f16" : "f32", n, i, j, (double)part[i * NF + j],
                                     (double)full[i * NF + j]);
            }
        }
    }
    free(A);
    free(Bf);
    free(Bh);
    free(full);
    free(part);
    rng_state = rng_saved;
}

/* B of type bt (BF16 or Q8_0) built from random values, with its exact f32 image Bf. */
static void *make_typed_b(enum auris__dtype bt, int N, int ldb, float *Bf)
{
    size_t row_bytes = auris__dtype_bytes(bt, (size_t)ldb);
    uint8_t *B = malloc((size_t)N * row_bytes + 1);
    assert_non_null(B);
    for (size_t i = 0; i < (size_t)N * row_bytes; i++)
        B[i] = (uint8_t)((frand() + 1.0f) * 127.0f); /* any int8 pattern */
    if (bt == AURIS_DT_Q8_0) /* sane scales: f16 of a random value in [-0.02, 0.02) */
        for (size_t blk = 0; blk < (size_t)N * ldb / AURIS__QK8_0; blk++) {
            uint16_t h = auris__f32_to_f16(frand() * 0.02f);
            B[blk * AURIS__Q8_0_BYTES] = (uint8_t)h;
            B[blk * AURIS__Q8_0_BYTES + 1] = (uint8_t)(h >> 8);
        }
    else /* bf16: exponents of values around 1 so the products stay finite */
        for (size_t i = 0; i < (size_t)N * ldb; i++) {
            uint32_t u;
            float v = frand();
            memcpy(&u, &v, sizeof u);
            B[2 * i] = (uint8_t)(u >> 16);
            B[2 * i + 1] = (uint8_t)(u >> 24);
        }
    for (int n = 0; n < N; n++)
        auris__to_f32(bt, B + (size_t)n * row_bytes, (size_t)ldb, Bf + (size_t)n * ldb);
    return B;
}

/* gemm_nt with a bf16/q8_0 B against the reference twin on the same B, and the reference on
 * the typed B against the reference on its f32 image. */
static void case_nt_typed(struct auris__pool *pool, enum auris__dtype bt, int M, int N, int K,
                          int pad)
{
    int lda = K + pad, ldb = K + 32 * pad, ldc = N + pad;
    float *A = rand_buf((size_t)M * lda), *Bf = rand_buf((size_t)N * ldb);
    void *B = make_typed_b(bt, N, ldb, Bf);
    float *bs = rand_buf((size_t)N);
    float *want = malloc((size_t)M * N * sizeof *want), *mag = malloc((size_t)M * N * sizeof *mag);
    float *want32 = malloc((size_t)M * N * sizeof *want32);
    float *C = malloc((size_t)M * ldc * sizeof *C);
    assert_non_null(want);
    assert_non_null(mag);
    assert_non_null(want32);
    assert_non_null(C);
    auris__gemm_nt_ref(M, N, K, A, lda, B, bt, ldb, bs, want, N);
    auris__gemm_nt_ref(M, N, K, A, lda, Bf, AURIS_DT_F32, ldb, bs, want32, N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = fabs(bs[n]);
            for (int k = 0; k < K; k++)
                s += fabs(A[(size_t)m * lda + k] * Bf[(size_t)n * ldb + k]);
            mag[(size_t)m * N + n] = (float)s;
        }
    char what[128];
    snprintf(what, sizeof what, "nt %s %s M%d N%d K%d pad%d", auris__kernels_isa(),
             bt == AURIS_DT_BF16 ? "bf16" : "q8_0", M, N, K, pad);
    check_close(want32, want, mag, M, N, N, 1e-6, what);
    if (bt == AURIS_DT_Q8_0 && M <= 16) {
        /* few rows: int8 dot products on the blocks (q8.c), activations quantized per block of
         * 32 (<= 1/254 of the block's max each); the kernels must equal their twin */
        float *wq = malloc((size_t)M * N * sizeof *wq);
        assert_non_null(wq);
        auris__gemv_q8_0_ref(M, N, K, A, lda, B, ldb, bs, wq, N);
        check_close(wq, want, mag, M, N, N, 1e-2, what);
        memcpy(want, wq, (size_t)M * N * sizeof *wq);
        free(wq);
    }
    for (int mode = 0; mode < 3; mode++) {
        for (size_t i = 0; i < (size_t)M * ldc; i++)
            C[i] = NAN;
        if (mode == 0)
            auris__gemm_nt(pool, M, N, K, A, lda, B, bt, ldb, bs, C, ldc);
        else if (mode == 1)
            auris__gemm_nt(NULL, M, N, K, A, lda, B, bt, ldb, bs, C, ldc);
        else
            auris__gemm_nt_serial(M, N, K, A, lda, B, bt, ldb, bs, C, ldc,
                                  auris__pool_scratch(pool, 0));
        check_close(C, want, mag, M, N, ldc, 1e-5, what);
        for (int m = 0; m < M; m++)
            for (int n = N; n < ldc; n++)
                assert_true(isnan(C[(size_t)m * ldc + n]));
    }
    free(A);
    free(Bf);
    free(B);
    free(bs);
    free(want);
    free(want32);
    free(mag);
    free(C);
}

static void test_gemm_bf16_q8_0(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    static const int sizes[][3] = {
        {1, 1, 32},  {1, 67, 64},   {2, 33, 96},   {3, 65, 64},   {4, 300, 256}, {5, 33, 288},
        {6, 17, 32}, {64, 64, 64},  {97, 300, 544}, {7, 1500, 64}, {200, 70, 512},
    };
    FOR_EACH_ISA(isa) {
        for (size_t s = 0; s < AURIS_ARRAY_LEN(sizes); s++) {
            case_nt_typed(pool, AURIS_DT_BF16, sizes[s][0], sizes[s][1], sizes[s][2], (int)(s % 3));
            case_nt_typed(pool, AURIS_DT_Q8_0, sizes[s][0], sizes[s][1], sizes[s][2], (int)(s % 3));
        }
    }
    auris__kernels_force(NULL);
    /* q8_0 with K or ldb not a multiple of 32 is refused (C untouched) */
    float A[40] = {0}, C[1] = {42.0f};
    uint8_t B[2 * AURIS__Q8_0_BYTES] = {0};
    auris__gemm_nt(NULL, 1, 1, 33, A, 40, B, AURIS_DT_Q8_0, 64, NULL, C, 1);
    auris__gemm_nt(NULL, 1, 1, 32, A, 40, B, AURIS_DT_Q8_0, 40, NULL, C, 1);
    assert_true(C[0] == 42.0f);
    auris__pool_free(pool);
}

static void test_dtype_helpers(void **state)
{
    (void)state;
    assert_int_equal(auris__dtype_bytes(AURIS_DT_F32, 3), 12);
    assert_int_equal(auris__dtype_bytes(AURIS_DT_BF16, 3), 6);
    assert_int_equal(auris__dtype_bytes(AURIS_DT_Q8_0, 64), 68);
    assert_int_equal(auris__dtype_bytes(AURIS_DT_Q8_0, 33), 0);
    assert_int_equal(auris__dtype_bytes(AURIS_DT_F32, SIZE_MAX / 2), 0);
    assert_int_equal(auris__dtype_bytes((enum auris__dtype)2, 32), 18); /* q4_0 */
    assert_int_equal(auris__dtype_bytes((enum auris__dtype)9, 32), 0);  /* q8_1: not a weight */
    /* q8_0 block: d = 0.5 (f16 0x3800), q = -128..., value d*q */
    uint8_t blk[AURIS__Q8_0_BYTES] = {0x00, 0x38};
    for (int j = 0; j < 32; j++)
        blk[2 + j] = (uint8_t)(int8_t)(j - 16);
    float out[32];
    auris__to_f32(AURIS_DT_Q8_0, blk, 32, out);
    for (int j = 0; j < 32; j++)
        assert_true(out[j] == 0.5f * (float)(j - 16));
    uint8_t bf[4] = {0x80, 0x3f, 0x00, 0xc0}; /* 1.0, -2.0 */
    auris__to_f32(AURIS_DT_BF16, bf, 2, out);
    assert_true(out[0] == 1.0f && out[1] == -2.0f);
}

static void test_gemm_large(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(0);
    assert_non_null(pool);
    FOR_EACH_ISA(isa) {
        case_nt(pool, 1500, 96, 384, 0, 1, 1);
        case_nn(pool, 130, 64, 1500, 3);
    }
    auris__kernels_force(NULL);
    auris__pool_free(pool);
}

static void test_gemm_degenerate(void **state)
{
    (void)state;
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 1, 1, 1}, bias[2] = {5, 6}, C[4] = {9, 9, 9, 9};
    /* K == 0: C is the bias */
    auris__gemm_nt(NULL, 2, 2, 0, A, 2, B, AURIS_DT_F32, 2, bias, C, 2);
    assert_true(C[0] == 5 && C[1] == 6 && C[2] == 5 && C[3] == 6);
    /* bad strides and NULLs are no-ops, not crashes */
    C[0] = 42;
    auris__gemm_nt(NULL, 2, 2, 2, A, 1, B, AURIS_DT_F32, 2, NULL, C, 2);
    auris__gemm_nt(NULL, 2, 2, 2, NULL, 2, B, AURIS_DT_F32, 2, NULL, C, 2);
    auris__gemm_nn(NULL, -1, 2, 2, A, 2, B, 2, C, 2);
    assert_true(C[0] == 42);
}

static void test_softmax_all_isas(void **state)
{
    (void)state;
    static const int lens[] = {1, 7, 8, 9, 64, 1500};
    float x[1500];
    FOR_EACH_ISA(isa) {
        for (size_t l = 0; l < AURIS_ARRAY_LEN(lens); l++) {
            int n = lens[l];
            for (int j = 0; j < n; j++)
                x[j] = 40.0f * frand();
            double mx = -INFINITY, sum = 0, want[1500];
            for (int j = 0; j < n; j++)
                mx = x[j] > mx ? x[j] : mx;
            for (int j = 0; j < n; j++)
                sum += want[j] = exp(((double)x[j] - mx) * 0.125);
            auris__softmax(x, n, 0.125f);
            for (int j = 0; j < n; j++)
                assert_true(fabs(x[j] - want[j] / sum) <= 1e-6 * (want[j] / sum) + 1e-30);
        }
    }
    auris__kernels_force(NULL);
}

struct count_ctx {
    atomic_int *hits;
    int bad_thread;
    int n_threads;
};

static void count_task(void *ctx, int task, int thread)
{
    struct count_ctx *c = ctx;
    atomic_fetch_add(&c->hits[task], 1);
    if (thread < 0 || thread >= c->n_threads)
        c->bad_thread = 1;
}

static void test_pool_exactly_once(void **state)
{
    (void)state;
    int sizes[] = {1, 2, 3, 0, -1};
    for (size_t s = 0; s < AURIS_ARRAY_LEN(sizes); s++) {
        struct auris__pool *pool = auris__pool_create(sizes[s]);
        assert_non_null(pool);
        int nt = auris__pool_size(pool);
        assert_true(nt >= 1);
        if (sizes[s] > 0)
            assert_int_equal(nt, sizes[s]);
        atomic_int hits[257];
        struct count_ctx c = {hits, 0, nt};
        for (int rep = 0; rep < 2000; rep++) {
            int n = 1 + (rep * 37) % 257;
            for (int i = 0; i < n; i++)
                atomic_init(&hits[i], 0);
            auris__pool_run(pool, count_task, &c, n);
            for (int i = 0; i < n; i++)
                assert_int_equal(atomic_load(&hits[i]), 1);
            if (rep % 500 == 0) { /* let workers fall asleep, then wake them */
                struct timespec ts = {0, 3000000};
                nanosleep(&ts, NULL);
            }
        }
        assert_false(c.bad_thread);
        assert_non_null(auris__pool_scratch(pool, nt - 1));
        assert_null(auris__pool_scratch(pool, nt));
        auris__pool_free(pool);
    }
    /* more tasks than one ticket holds (2^20 - 1): split into several jobs */
    {
        struct auris__pool *pool = auris__pool_create(2);
        assert_non_null(pool);
        int n = 2 * ((1 << 20) - 1) + 5;
        atomic_int *many = malloc((size_t)n * sizeof *many);
        assert_non_null(many);
        for (int i = 0; i < n; i++)
            atomic_init(&many[i], 0);
        struct count_ctx c = {many, 0, 2};
        auris__pool_run(pool, count_task, &c, n);
        for (int i = 0; i < n; i++)
            if (atomic_load(&many[i]) != 1)
                fail_msg("task %d ran %d times", i, atomic_load(&many[i]));
        free(many);
        auris__pool_free(pool);
    }
    /* NULL pool runs everything on the caller */
    atomic_int hits[5];
    for (int i = 0; i < 5; i++)
        atomic_init(&hits[i], 0);
    struct count_ctx c = {hits, 0, 1};
    auris__pool_run(NULL, count_task, &c, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(atomic_load(&hits[i]), 1);
    assert_int_equal(auris__pool_size(NULL), 1);
    auris__pool_free(NULL);
}

/* The multi-row GEMV path (M <= 16): every row of an M-row product equals, bit for bit, the
 * product of that row alone (same column split, same accumulation order), for every ISA and
 * weight type, with bias and accumulation, pooled and serial. */
static void test_gemv_rows_bit_identical(void **state)
{
    (void)state;
    const enum auris__dtype types[] = {AURIS_DT_F32, AURIS_DT_F16, AURIS_DT_BF16, AURIS_DT_Q8_0};
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    FOR_EACH_ISA(isa) {
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            int N = 203, K = types[ti] == AURIS_DT_Q8_0 ? 160 : 141, ldb = K + 32 - K % 32;
            float *Bf = rand_buf((size_t)N * ldb);
            void *B;
            if (types[ti] == AURIS_DT_F32) {
                B = malloc((size_t)N * ldb * sizeof(float));
                assert_non_null(B);
                memcpy(B, Bf, (size_t)N * ldb * sizeof(float));
            } else if (types[ti] == AURIS_DT_F16) {
                uint16_t *h = malloc((size_t)N * ldb * sizeof *h);
                assert_non_null(h);
                for (size_t i = 0; i < (size_t)N * ldb; i++)
                    h[i] = auris__f32_to_f16(Bf[i]);
                B = h;
            } else {
                B = make_typed_b(types[ti], N, ldb, Bf);
            }
            float *A = rand_buf((size_t)16 * K), *bias = rand_buf((size_t)N);
            float *C = malloc((size_t)16 * N * sizeof *C), *C1 = malloc((size_t)N * sizeof *C1);
            assert_non_null(C);
            assert_non_null(C1);
            for (int M = 1; M <= 16; M++)
                for (int mode = 0; mode < 3; mode++) {
                    struct auris__pool *p = mode == 1 ? NULL : pool;
                    for (size_t i = 0; i < (size_t)M * N; i++)
                        C[i] = (float)i;
                    if (mode == 2)
                        auris__gemm_nt_acc(p, M, N, K, A, K, B, types[ti], ldb, bias, C, N);
                    else
                        auris__gemm_nt(p, M, N, K, A, K, B, types[ti], ldb, bias, C, N);
                    for (int m = 0; m < M; m++) {
                        for (int n = 0; n < N; n++)
                            C1[n] = (float)((size_t)m * N + n);
                        if (mode == 2)
                            auris__gemm_nt_acc(p, 1, N, K, A + (size_t)m * K, K, B, types[ti], ldb,
                                               bias, C1, N);
                        else
                            auris__gemm_nt(p, 1, N, K, A + (size_t)m * K, K, B, types[ti], ldb,
                                           bias, C1, N);
                        if (memcmp(C1, C + (size_t)m * N, (size_t)N * sizeof *C1) != 0)
                            fail_msg("%s type %d M=%d mode %d: row %d differs from the one-row "
                                     "product", isa, (int)types[ti], M, mode, m);
                    }
                }
            free(C);
            free(C1);
            free(A);
            free(bias);
            free(B);
            free(Bf);
        }
    }
    auris__kernels_force(NULL);
    auris__pool_free(pool);
}

#if defined(AURIS_TEST_AVX512_PROBE)

/* gemm_avx512.c's micro-kernel (built for AVX2 here) against one fmaf chain per output over k
 * ascending, which is what AVX2's kernel_4x24 computes: the same bits, acc or not. */
static void test_avx512_kernel_probe(void **state)
{
    (void)state;
    enum { MR = 12, NR = 16, LDC = 21 };
    static const int kcs[] = {1, 2, 7, 64, 256};
    for (size_t t = 0; t < AURIS_ARRAY_LEN(kcs); t++) {
        int kc = kcs[t], lda = kc + 3; /* A read in place, rows lda apart */
        float *a = rand_buf((size_t)lda * MR);
        float *b = auris__aligned_alloc((size_t)kc * NR * sizeof *b);
        assert_non_null(b);
        for (int i = 0; i < kc * NR; i++)
            b[i] = frand();
        for (int acc = 0; acc < 2; acc++) {
            float c[MR * LDC], want[MR * LDC];
            for (int i = 0; i < MR * LDC; i++)
                c[i] = want[i] = frand();
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++) {
                    float s = 0.0f;
                    for (int k = 0; k < kc; k++)
                        s = fmaf(a[i * lda + k], b[k * NR + j], s);
                    float *w = &want[i * LDC + j];
                    *w = acc ? s + *w : s;
                }
            auris__kernel_12x16_probe(kc, a, lda, b, c, LDC, acc);
            for (int i = 0; i < MR * LDC; i++)
                if (c[i] != want[i])
                    fail_msg("kernel_12x16 kc %d acc %d: c[%d][%d] = %.9g, want %.9g", kc, acc,
                             i / LDC, i % LDC, (double)c[i], (double)want[i]);
        }
        free(a);
        auris__aligned_free(b);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_exactly_once),
        cmocka_unit_test(test_gemm_degenerate),
        cmocka_unit_test(test_gemm_all_isas),
        cmocka_unit_test(test_gemm_panel_tails_bit_identical),
        cmocka_unit_test(test_gemm_large),
        cmocka_unit_test(test_softmax_all_isas),
        cmocka_unit_test(test_gemm_bf16_q8_0),
        cmocka_unit_test(test_dtype_helpers),
        cmocka_unit_test(test_gemv_rows_bit_identical),
#if defined(AURIS_TEST_AVX512_PROBE)
        cmocka_unit_test(test_avx512_kernel_probe),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
