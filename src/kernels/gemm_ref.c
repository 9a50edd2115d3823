/*
 * gemm_ref.c — reference matrix products: plain loops with double accumulation.
 *
 * Reference: the definitions in kernels.h (PyTorch F.linear: y = x W^T + b).
 * Invariants: single-threaded, no allocation, no blocking — these are the yardstick the tests
 * compare the optimised kernels against, and the fallback when scratch cannot be had.
 */
#include "kernels/kernels.h"

static float b_at(const void *B, enum auris__dtype bt, size_t idx)
{
    if (bt == AURIS_DT_F16)
        return auris__f16_to_f32(((const uint16_t *)B)[idx]);
    return ((const float *)B)[idx];
}

void auris__gemm_nt_ref(int M, int N, int K, const float *A, int lda, const void *B,
                        enum auris__dtype btype, int ldb, const float *bias, float *C, int ldc)
{
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = bias ? bias[n] : 0.0;
            for (int k = 0; k < K; k++)
                s += (double)A[(size_t)m * lda + k] * b_at(B, btype, (size_t)n * ldb + k);
            C[(size_t)m * ldc + n] = (float)s;
        }
}

void auris__gemm_nn_ref(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                        float *C, int ldc)
{
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0.0;
            for (int k = 0; k < K; k++)
                s += (double)A[(size_t)m * lda + k] * B[(size_t)k * ldb + n];
            C[(size_t)m * ldc + n] = (float)s;
        }
}
