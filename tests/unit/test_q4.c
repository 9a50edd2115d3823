/*
 * test_q4.c — products with ggml's 4/5-bit block weights (q4_0, q4_1, q5_0, q5_1; src/kernels/
 * q4.c, q4_avx2.c, q8.c's driver, the GEMM's panel dequantization) against their twins.
 *
 * Every ISA this CPU supports is forced in turn. Few rows (auris__gemv_qb, int8 dot products):
 * equal to auris__gemv_qb_ref bit for bit (column tails, strides, bias, accumulation, pooled and
 * serial, 1 to 16 rows), within the activation quantization bound of the exact product on the
 * dequantized weights, and a known small case exactly. Many rows (the blocked GEMM):
 * bit-identical to the same GEMM on the f32 dequantization (auris__to_f32), so the panel
 * dequantization of each ISA matches the one home of the math. And auris__to_f32 against
 * hand-made blocks.
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
#include "isas.h"

static const enum auris__dtype TYPES[] = {AURIS_DT_Q4_0, AURIS_DT_Q4_1, AURIS_DT_Q5_0,
                                          AURIS_DT_Q5_1};

static uint32_t rng = 4242u;
static uint32_t urand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}
static float frand(void)
{
    return (float)(urand() & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

static void put_half(uint8_t *p, float v)
{
    uint16_t h = auris__f32_to_f16(v);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* N rows of ldb values of type t: random codes and fifth bits, d in [-0.05, 0.05), m in
 * [-0.5, 0.5); every 7th block has d = 0. */
static uint8_t *make_b(enum auris__dtype t, int N, int ldb)
{
    const size_t bs = auris__dtype_block_bytes(t), nblk = (size_t)N * (size_t)ldb / 32;
    uint8_t *B = malloc(nblk * bs);
    assert_non_null(B);
    for (size_t b = 0; b < nblk; b++) {
        uint8_t *p = B + b * bs;
        for (size_t j = 0; j < bs; j++)
            p[j] = (uint8_t)urand();
        put_half(p, b % 7 == 3 ? 0.0f : frand() * 0.05f);
        if (t == AURIS_DT_Q4_1 || t == AURIS_DT_Q5_1)
            put_half(p + 2, frand() * 0.5f);
    }
    return B;
}

static void check_bound(enum auris__dtype t, int M, int N, int K, const float *A, int lda,
                        const uint8_t *B, int ldb, const float *bias, const float *got)
{
    const size_t rb = (size_t)ldb / 32 * auris__dtype_block_bytes(t);
    float *row = malloc((size_t)K * sizeof *row);
    assert_non_null(row);
    for (int n = 0; n < N; n++) {
        auris__to_f32(t, B + (size_t)n * rb, (size_t)K, row);
        for (int m = 0; m < M; m++) {
            double exact = bias[n], bound = 1e-4 * (1.0 + fabs(bias[n]));
            float amax = 0.0f;
            for (int k = 0; k < K; k++) {
                if (k % 32 == 0) { /* the block's activation scale */
                    amax = 0.0f;
                    for (int j = k; j < k + 32; j++)
                        amax = fmaxf(amax, fabsf(A[(size_t)m * lda + j]));
                }
                exact += (double)A[(size_t)m * lda + k] * row[k];
                bound += fabs(row[k]) * amax / 127.0 * 0.5 + 1e-6 * fabs(exact);
            }
            if (!(fabs(got[(size_t)m * N + n] - exact) <= bound))
                fail_msg("type %d M%d N%d K%d [%d][%d]: %.9g vs exact %.9g (bound %.3g)", (int)t,
                         M, N, K, m, n, got[(size_t)m * N + n], exact, bound);
        }
    }
    free(row);
}

static void one_case(struct auris__pool *pool, enum auris__dtype t, int M, int N, int K, int pad)
{
    const int lda = K + pad, ldb = K + 32 * (pad % 2), ldc = N + pad;
    float *A = malloc((size_t)M * lda * sizeof *A), *bias = malloc((size_t)N * sizeof *bias);
    float *want = malloc((size_t)M * N * sizeof *want), *C = malloc((size_t)M * ldc * sizeof *C);
    assert_true(A && bias && want && C);
    for (int i = 0; i < M * lda; i++)
        A[i] = i % 11 == 0 ? 0.0f : frand() * (i % 3 ? 1.0f : 40.0f);
    for (int m = 0; m < M && K >= 64; m++) /* one all-zero block per row */
        memset(A + (size_t)m * lda + 32, 0, 32 * sizeof *A);
    for (int n = 0; n < N; n++)
        bias[n] = frand();
    uint8_t *B = make_b(t, N, ldb);
    auris__gemv_qb_ref(t, M, N, K, A, lda, B, ldb, bias, want, N);
    check_bound(t, M, N, K, A, lda, B, ldb, bias, want);
    FOR_EACH_ISA(isa) {
        for (int mode = 0; mode < 4; mode++) {
            for (int j = 0; j < M * ldc; j++)
                C[j] = mode == 3 ? 1.0f : NAN;
            struct auris__pool *p = mode == 1 ? NULL : pool;
            float *scratch = mode == 2 ? auris__pool_scratch(pool, 0) : NULL;
            assert_int_equal(auris__gemv_qb(p, t, M, N, K, A, lda, B, ldb, bias, C, ldc,
                                            mode == 3, scratch), 0);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    float w = want[(size_t)m * N + n];
                    if (mode == 3)
                        w = 1.0f + w;
                    float got = C[(size_t)m * ldc + n];
                    if (memcmp(&got, &w, sizeof w))
                        fail_msg("%s type %d mode %d M%d N%d K%d: C[%d][%d] = %.9g, twin %.9g",
                                 isa, (int)t, mode, M, N, K, m, n, got, w);
                }
        }
        /* the GEMM entry point takes the same path for a decoder step */
        auris__gemm_nt(pool, M, N, K, A, lda, B, t, ldb, bias, C, ldc);
        for (int m = 0; m < M; m++)
            assert_memory_equal(C + (size_t)m * ldc, want + (size_t)m * N, (size_t)N * sizeof *C);
    }
    auris__kernels_force(NULL);
    free(A);
    free(bias);
    free(want);
    free(C);
    free(B);
}

static void test_gemv_twins(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    static const int sizes[][3] = {{1, 1, 32}, {1, 7, 64}, {1, 8, 32}, {2, 67, 96},
                                   {5, 203, 160}, {16, 130, 512}, {3, 300, 2048}};
    for (size_t ti = 0; ti < AURIS_ARRAY_LEN(TYPES); ti++)
        for (size_t s = 0; s < AURIS_ARRAY_LEN(sizes); s++)
            one_case(pool, TYPES[ti], sizes[s][0], sizes[s][1], sizes[s][2], (int)(s % 3));
    auris__pool_free(pool);
}

/* The shared-weight multi-row kernel: every row count 1..16 (passes of up to 8 rows, a lone
 * last row included; 16 is the GEMM's streaming limit), odd block counts and column tails,
 * each row equal to its twin. */
static void test_gemv_rows(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    for (size_t ti = 0; ti < AURIS_ARRAY_LEN(TYPES); ti++)
        for (int M = 1; M <= 16; M++)
            one_case(pool, TYPES[ti], M, M % 2 ? 37 : 24 + M, M % 3 == 0 ? 32 : 96 + 64 * (M % 2),
                     M % 3);
    auris__pool_free(pool);
}

/* The encoder's rows: the blocked GEMM on block weights equals, bit for bit, the same GEMM on
 * their f32 dequantization (pooled and serial, with the GELU epilogue too). */
static void test_blocked_equals_f32(void **state)
{
    (void)state;
    struct auris__pool *pool = auris__pool_create(2);
    assert_non_null(pool);
    const int M = 37, N = 45, K = 320, ldb = K;
    float *A = malloc((size_t)M * K * sizeof *A), *Bf = malloc((size_t)N * K * sizeof *Bf);
    float *C = malloc((size_t)M * N * sizeof *C), *W = malloc((size_t)M * N * sizeof *W);
    float *bias = malloc((size_t)N * sizeof *bias);
    assert_true(A && Bf && C && W && bias);
    for (int i = 0; i < M * K; i++)
        A[i] = frand();
    for (int n = 0; n < N; n++)
        bias[n] = frand();
    for (size_t ti = 0; ti < AURIS_ARRAY_LEN(TYPES); ti++) {
        uint8_t *B = make_b(TYPES[ti], N, ldb);
        auris__to_f32(TYPES[ti], B, (size_t)N * K, Bf);
        FOR_EACH_ISA(isa) {
            for (int mode = 0; mode < 3; mode++) {
                struct auris__pool *p = mode == 1 ? NULL : pool;
                if (mode == 2) {
                    auris__gemm_nt_gelu(p, M, N, K, A, K, Bf, AURIS_DT_F32, K, bias, W, N);
                    auris__gemm_nt_gelu(p, M, N, K, A, K, B, TYPES[ti], ldb, bias, C, N);
                } else {
                    auris__gemm_nt(p, M, N, K, A, K, Bf, AURIS_DT_F32, K, bias, W, N);
                    auris__gemm_nt(p, M, N, K, A, K, B, TYPES[ti], ldb, bias, C, N);
                }
                if (memcmp(C, W, (size_t)M * N * sizeof *C))
                    fail_msg("%s type %d mode %d: blocked product differs from f32", isa,
                             (int)TYPES[ti], mode);
            }
        }
        auris__kernels_force(NULL);
        free(B);
    }
    auris__pool_free(pool);
    free(A);
    free(Bf);
    free(C);
    free(W);
    free(bias);
}

/* Hand-made blocks: their values, and a one-block product computed exactly. */
static void test_known_blocks(void **state)
{
    (void)state;
    uint8_t b[24];
    float y[32], A[32], C[1];
    /* q5_1: d = 0.5, m = -2, qh = 0xAAAA5555, nibble j = j: x = (nibble | bit << 4) d + m */
    memset(b, 0, sizeof b);
    put_half(b, 0.5f);
    put_half(b + 2, -2.0f);
    const uint32_t qh = 0xAAAA5555u;
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)(qh >> (8 * i));
    for (int j = 0; j < 16; j++)
        b[8 + j] = (uint8_t)(j | ((15 - j) << 4));
    auris__to_f32(AURIS_DT_Q5_1, b, 32, y);
    int32_t code[32];
    for (int j = 0; j < 16; j++) {
        code[j] = j | (int32_t)(((qh >> j) & 1u) << 4);
        code[j + 16] = (15 - j) | (int32_t)(((qh >> (j + 16)) & 1u) << 4);
    }
    for (int j = 0; j < 32; j++)
        assert_true(y[j] == (float)code[j] * 0.5f - 2.0f);
    /* x = 0.5 everywhere: d_a = 0.5 / 127, codes 127, s_a = d_a * 32 * 127 */
    for (int j = 0; j < 32; j++)
        A[j] = 0.5f;
    int32_t csum = 0;
    for (int j = 0; j < 32; j++)
        csum += code[j];
    const float da = 0.5f / 127.0f;
    const float want = (da * 0.5f) * (float)(127 * csum) + -2.0f * (da * (float)(32 * 127));
    FOR_EACH_ISA(isa) {
        assert_int_equal(auris__gemv_qb(NULL, AURIS_DT_Q5_1, 1, 1, 32, A, 32, b, 32, NULL, C, 1,
                                        0, NULL), 0);
        assert_true(C[0] == want);
    }
    auris__kernels_force(NULL);
    /* q4_0: d = 0.25, nibbles j / 15 - j: x = (q - 8) d */
    memset(b, 0, sizeof b);
    put_half(b, 0.25f);
    for (int j = 0; j < 16; j++)
        b[2 + j] = (uint8_t)(j | ((15 - j) << 4));
    auris__to_f32(AURIS_DT_Q4_0, b, 32, y);
    for (int j = 0; j < 16; j++) {
        assert_true(y[j] == (float)(j - 8) * 0.25f);
        assert_true(y[j + 16] == (float)(7 - j) * 0.25f);
    }
    assert_int_equal(auris__dtype_bytes(AURIS_DT_Q4_1, 64), 40);
    assert_int_equal(auris__dtype_bytes(AURIS_DT_Q5_0, 33), 0);
    /* bad sizes are refused and write nothing */
    C[0] = 42.0f;
    assert_int_equal(auris__gemv_qb(NULL, AURIS_DT_Q4_0, 1, 1, 33, A, 40, b, 64, NULL, C, 1, 0,
                                    NULL), -1);
    assert_int_equal(auris__gemv_qb(NULL, AURIS_DT_F16, 1, 1, 32, A, 32, b, 32, NULL, C, 1, 0,
                                    NULL), -1);
    assert_true(C[0] == 42.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemv_twins),
        cmocka_unit_test(test_gemv_rows),
        cmocka_unit_test(test_blocked_equals_f32),
        cmocka_unit_test(test_known_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
