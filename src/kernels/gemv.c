/*
 * gemv.c — the portable twin of the streaming few-row products (gemv_impl.h), and its dispatch.
 *
 * Reference: a plain dot product per output with eight partial sums (k mod 8) reduced as
 * ((p0+p4)+(p1+p5))+((p2+p6)+(p3+p7)) — the order the generic GEMV has always used, so generic
 * results are unchanged — and a k-ascending AXPY per output for B[K][N].
 * Invariants: no allocation; each output depends only on its own row of A and column of B.
 */
#include "kernels/gemv_impl.h"

#include <string.h>

static float load1(const void *B, enum auris__dtype bt, size_t idx)
{
    if (bt == AURIS_DT_F16)
        return auris__f16_to_f32(((const uint16_t *)B)[idx]);
    if (bt == AURIS_DT_BF16)
        return auris__bf16_to_f32(((const uint16_t *)B)[idx]);
    return ((const float *)B)[idx];
}

static float dot(int K, const float *a, const void *B, enum auris__dtype bt, size_t off)
{
    float p[8] = {0};
    int k = 0;
    if (bt == AURIS_DT_F32) { /* whole groups of 8, then the tail into p[0] */
        const float *b = (const float *)B + off;
        for (; k + 8 <= K; k += 8)
            for (int j = 0; j < 8; j++)
                p[j] += a[k + j] * b[k + j];
        for (; k < K; k++)
            p[0] += a[k] * b[k];
    } else {
        for (; k < K; k++)
            p[k & 7] += a[k] * load1(B, bt, off + (size_t)k);
    }
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

static int nt_generic(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                      enum auris__dtype bt, int ldb, const float *bias, float *C, int ldc,
                      int acc)
{
    if (bt != AURIS_DT_F32 && bt != AURIS_DT_F16 && bt != AURIS_DT_BF16)
        return 0;
    for (int n = n0; n < n1; n++)
        for (int m = 0; m < M; m++) {
            float s = dot(K, A + (size_t)m * lda, B, bt, (size_t)n * ldb);
            if (bias)
                s += bias[n];
            float *c = C + (size_t)m * ldc + n;
            *c = acc ? *c + s : s;
        }
    return 1;
}

static int nn_generic(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                      enum auris__dtype bt, int ldb, float *C, int ldc, int acc)
{
    if (bt != AURIS_DT_F32 && bt != AURIS_DT_F16)
        return 0;
    for (int m = 0; m < M; m++) {
        float *restrict c = C + (size_t)m * ldc;
        if (!acc)
            for (int j = n0; j < n1; j++)
                c[j] = 0.0f;
        for (int k = 0; k < K; k++) {
            float a = A[(size_t)m * lda + k];
            size_t row = (size_t)k * ldb;
            for (int j = n0; j < n1; j++)
                c[j] += a * load1(B, bt, row + (size_t)j);
        }
    }
    return 1;
}

static void to_f16_generic(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = auris__f32_to_f16(src[i]);
}

const struct auris__gemv_ops auris__gemv_generic = {"generic", nt_generic, nn_generic,
                                                    to_f16_generic};

const struct auris__gemv_ops *auris__gemv_for(const char *isa_name)
{
#if defined(AURIS_HAVE_X86)
    if (isa_name && strcmp(isa_name, "generic") != 0)
        return &auris__gemv_avx2;
#endif
    (void)isa_name;
    return &auris__gemv_generic;
}

void auris__gemm_nn_rows(int M, int N, int K, const float *A, int lda, const void *B,
                         enum auris__dtype bt, int ldb, float *C, int ldc)
{
    if (M <= 0 || N <= 0 || K < 0 || !A || !B || !C || ldc < N || ldb < N || lda < K)
        return;
    if (K == 0) {
        for (int m = 0; m < M; m++)
            memset(C + (size_t)m * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    auris__gemv_for(auris__kernels_isa())->nn(M, 0, N, K, A, lda, B, bt, ldb, C, ldc, 0);
}

void auris__gemm_nn_rows_resume(int M, int N, int K, const float *A, int lda, const void *B,
                                enum auris__dtype bt, int ldb, float *C, int ldc)
{
    if (M <= 0 || N <= 0 || K <= 0 || !A || !B || !C || ldc < N || ldb < N || lda < K)
        return;
    auris__gemv_for(auris__kernels_isa())->nn(M, 0, N, K, A, lda, B, bt, ldb, C, ldc, 2);
}

void auris__k_f32_to_f16(const float *src, uint16_t *dst, size_t n)
{
    if (src && dst && n)
        auris__gemv_for(auris__kernels_isa())->to_f16(src, dst, n);
}
