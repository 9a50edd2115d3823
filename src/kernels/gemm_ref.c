/*
 * gemm_ref.c — reference matrix products: plain loops with double accumulation.
 *
 * Reference: the definitions in kernels.h (PyTorch F.linear: y = x W^T + b).
 * B may be f32, f16, bf16 or q8_0 (dequantized element by element: d * q).
 * Invariants: single-threaded, no allocation, no blocking — these are the yardstick the tests
 * compare the optimised kernels against, and the fallback when scratch cannot be had.
 */
#include "kernels/kernels.h"
#include "kernels/gemm_impl.h"

void auris__gemm_nt_ref(int M, int N, int K, const float *A, int lda, const void *B,
                        enum auris__dtype btype, int ldb, const float *bias, float *C, int ldc)
{
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = bias ? bias[n] : 0.0;
            for (int k = 0; k < K; k++)
                s += (double)A[(size_t)m * lda + k] * auris__b_elem(B, btype, (size_t)n * ldb + k);
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
