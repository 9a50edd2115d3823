/*
 * test_q8.c — the q8_0 x int8 products (src/kernels/q8.c, q8_avx2.c) against their twin.
 *
 * Every ISA this CPU supports is forced in turn: auris__gemv_q8_0 must equal
 * auris__gemv_q8_0_ref bit for bit (column tails, strides, bias, accumulation, pooled and
 * serial, stored -128 weights and zero blocks, 1 to 17 rows), stay within the activation
 * quantization bound of the exact f32 product, and compute a known small case exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/q8_impl.h"
#include "isas.h"

static uint32_t rng = 777u;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

/* N rows of ldb values as q8_0 blocks: random bytes (-128 included), scales in [-0.05, 0.05),
 * every 7th block all zero. */
static uint8_t *make_b(int N, int ldb)
{
    const size_t nblk = (size_t)N * (size_t)ldb / AURIS__QK8_0;
    uint8_t *B = malloc(nblk * AURIS__Q8_0_BYTES);
    assert_non_null(B);
    for (size_t b = 0; b < nblk; b++) {
        uint8_t *p = B + b * AURIS__Q8_0_BYTES;
        uint16_t h = auris__f32_to_f16(frand() * 0.05f);
        p[0] = (uint8_t)h;
        p[1] = (uint8_t)(h >> 8);
        for (int j = 0; j < AURIS__QK8_0; j++)
            p[2 + j] = b % 7 == 3 ? 0 : j == 5 ? 0x80 : (uint8_t)((rng = rng * 1103515245u + 12345u) >> 13);
    }
    return B;
}

static void one_case(struct auris__pool *pool, int M, int N, int K, int pad)
{
    const int lda = K + pad, ldb = K + 32 * (pad % 2), ldc = N + pad;
    float *A = malloc((size_t)M * lda * sizeof *A), *bias = malloc((size_t)N * sizeof *bias);
    float *want = malloc((size_t)M * N * sizeof *want), *C = malloc((size_t)M * ldc * sizeof *C);
    float *row = malloc((size_t)ldb * sizeof *row);
    assert_true(A && bias && want && C && row);
    for (int i = 0; i < M * lda; i++)
        A[i] = i % 11 == 0 ? 0.0f : frand() * (i % 3 ? 1.0f : 40.0f);
    for (int m = 0; m < M && K >= 64; m++) /* one all-zero block per row */
        memset(A + (size_t)m * lda + 32, 0, 32 * sizeof *A);
    for (int n = 0; n < N; n++)
        bias[n] = frand();
    uint8_t *B = make_b(N, ldb);
    auris__gemv_q8_0_ref(M, N, K, A, lda, B, ldb, bias, want, N);
    /* within the quantization bound of the exact product: |err| <= sum_k |w_k| d_a,k / 2 */
    const size_t rb = (size_t)ldb / AURIS__QK8_0 * AURIS__Q8_0_BYTES;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            auris__to_f32(AURIS_DT_Q8_0, B + (size_t)n * rb, (size_t)K, row);
            double exact = bias[n], bound = 1e-4 * (1.0 + fabs(bias[n]));
            for (int k = 0; k < K; k++) {
                exact += (double)A[(size_t)m * lda + k] * row[k];
                float amax = 0.0f;
                for (int j = k / 32 * 32; j < k / 32 * 32 + 32; j++)
                    amax = fmaxf(amax, fabsf(A[(size_t)m * lda + j]));
                bound += fabs(row[k]) * amax / 127.0 * 0.5 + 1e-6 * fabs(exact);
            }
            assert_true(fabs(want[(size_t)m * N + n] - exact) <= bound);
        }
    FOR_EACH_ISA(isa) {
        for (int mode = 0; mode < 4; mode++) {
            for (int j = 0; j < M * ldc; j++)
                C[j] = mode == 3 ? 1.0f : NAN;
            struct auris__pool *p = mode == 1 ? NULL : pool;
            float *scratch = mode == 2 ? auris__pool_scratch(pool, 0) : NULL;
            assert_int_equal(auris__gemv_q8_0(p, M, N, K, A, lda, B, ldb, bias, C, ldc, mode == 3,
                                              scratch), 0);
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) {
                    float w = want[(size_t)m * N + n];
                    if (mode == 3)
                        w = 1.0f + w;
                    float got = C[(size_t)m * ldc + n];
                    if (memcmp(&got, &w, sizeof w))
                        fail_msg("%s mode %d M%d N%d K%d: C[%d][%d] = %.9g, twin %.9g", isa,
                                 mode, M, N, K, m, n, got, w);
                }
                for (int n = N; n < ldc; n++)
                    assert_true(isnan(C[(size_t)m * ldc + n]) || mode == 3);
            }
        }
    }
    auris__kernels_force(NULL);
    free(A);
    free(bias);
    free(want);
    free(C);
    free(row);
    free(B);
}

static void test_twins(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    static const int sizes[][3] = {{1, 1, 32}, {1, 7, 64}, {1, 8, 32}, {2, 67, 96},
                                   {5, 203, 160}, {16, 130, 512}, {3, 1000, 2048}, {1, 17, 5120}};
    for (size_t s = 0; s < AURIS_ARRAY_LEN(sizes); s++)
        one_case(pool, sizes[s][0], sizes[s][1], sizes[s][2], (int)(s % 3));
    auris__pool_free(pool);
}

/* The shared-weight multi-row kernel: every row count 1..17 (one pass of up to 8 rows, then
 * the rest, a lone last row included), odd block counts and column tails, each row equal to
 * its one-row twin. */
static void test_rows(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    for (int M = 1; M <= 17; M++)
        one_case(pool, M, M % 2 ? 37 : 24 + M, M % 3 == 0 ? 32 : 96 + 64 * (M % 2), M % 3);
    auris__pool_free(pool);
}

/* A known case: d_w = 0.5, w = -128..-97; x = 0.5 everywhere (d_a = 0.5 / 127, q = 127). */
static void test_exact_small(void **state)
{
    (void)state;
    uint8_t B[AURIS__Q8_0_BYTES] = {0x00, 0x38};
    int32_t wsum = 0;
    for (int j = 0; j < 32; j++) {
        B[2 + j] = (uint8_t)(int8_t)(-128 + j);
        wsum += -128 + j;
    }
    float A[32], C[1];
    for (int j = 0; j < 32; j++)
        A[j] = 0.5f;
    FOR_EACH_ISA(isa) {
        assert_int_equal(auris__gemv_q8_0(NULL, 1, 1, 32, A, 32, B, 32, NULL, C, 1, 0, NULL), 0);
        const float want = ((0.5f / 127.0f) * 0.5f) * (float)(127 * wsum);
        assert_true(C[0] == want);
    }
    auris__kernels_force(NULL);
    /* bad sizes are refused and write nothing */
    C[0] = 42.0f;
    assert_int_equal(auris__gemv_q8_0(NULL, 1, 1, 33, A, 40, B, 64, NULL, C, 1, 0, NULL), -1);
    assert_int_equal(auris__gemv_q8_0(NULL, 1, 1, 32, A, 32, B, 40, NULL, C, 1, 0, NULL), -1);
    assert_true(C[0] == 42.0f);
}

/* The AVX2 activation quantizer against the portable one, bit for bit, on blocks of special
 * values: all zero, NaN, +-inf, huge, subnormal, exact .5 ties, -0, and random ones. */
static void test_quantize_twin(void **state)
{
    (void)state;
#if defined(AURIS_HAVE_X86)
    if (auris__kernels_force("avx2") != 0)
        skip(); /* the CPU lacks AVX2 */
    auris__kernels_force(NULL);
    enum { NBLK = 12, K = NBLK * 32 };
    float x[K];
    for (int i = 0; i < K; i++)
        x[i] = frand() * 3.0f;
    for (int j = 0; j < 32; j++) {
        x[j] = 0.0f;                                            /* block 0: all zero */
        x[3 * 32 + j] = (float)(j - 16) + 0.5f;                 /* 3: ties (amax 15.5) */
        x[4 * 32 + j] = j % 2 ? 1e-40f : -1e-41f;               /* 4: subnormal */
        x[5 * 32 + j] = j % 3 ? 3e38f : -3.4e38f;               /* 5: huge */
        x[9 * 32 + j] = j == 31 ? 127.0f : (float)(j - 15) + 0.5f; /* 9: ties at scale 1 */
        x[10 * 32 + j] = -0.0f;                                 /* 10: negative zeros */
    }
    x[1 * 32 + 7] = NAN;                                        /* 1: one NaN */
    x[2 * 32 + 0] = INFINITY;                                   /* 2: +inf (scale inf) */
    x[6 * 32 + 31] = -INFINITY;
    x[7 * 32 + 0] = NAN;                                        /* 7: NaN first */
    x[7 * 32 + 1] = -NAN;
    x[8 * 32 + 5] = 1e30f;                                      /* 8: one huge, rest ~0 */
    int8_t q0[K], q1[K];
    float d0[NBLK], d1[NBLK], s0[NBLK], s1[NBLK];
    auris__q8_quantize_generic(x, K, q0, d0, s0);
    auris__q8_quantize_avx2(x, K, q1, d1, s1);
    assert_memory_equal(q0, q1, sizeof q0);
    for (int b = 0; b < NBLK; b++) {
        if (!(isnan(d0[b]) && isnan(d1[b])))
            assert_memory_equal(&d0[b], &d1[b], sizeof d0[b]);
        if (!(isnan(s0[b]) && isnan(s1[b])))
            assert_memory_equal(&s0[b], &s1[b], sizeof s0[b]);
    }
    /* ties went to even at scale 1 (block 9: d = 1) */
    assert_true(d0[9] == 1.0f && q0[9 * 32 + 0] == -14 && q0[9 * 32 + 1] == -14 &&
                q0[9 * 32 + 15] == 0 && q0[9 * 32 + 16] == 2);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twins),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_exact_small),
        cmocka_unit_test(test_quantize_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
