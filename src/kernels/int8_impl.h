/*
 * int8_impl.h — private to src/kernels: the exact int8 dot-product block kernels behind
 * auris__gemm_i8r (int8.c drives them; one per ISA, each with the same contract).
 *
 * Reference: the int8 GEMM contract of CTranslate2's CPU backend (int32 results, exact).
 * Invariants: C[i][j] = sum_k A[i][k] * W[j][k] computed exactly in int32 (the caller keeps
 * K <= AURIS__I8_MAX_K so nothing overflows); any alignment; nothing allocates.
 */
#ifndef AURIS_INT8_IMPL_H
#define AURIS_INT8_IMPL_H

#include "kernels/kernels.h"

#define AURIS__I8_MAX_K 131072 /* 127 * 127 * K stays below 2^31 */

/* C[M][N] (row stride ldc) = A[M][K] . W[N][K]^T, rows of A and W with strides lda, ldw. */
typedef void (*auris__i8_dot_fn)(int M, int N, int K, const int8_t *A, size_t lda,
                                 const int8_t *W, size_t ldw, int32_t *C, size_t ldc);

void auris__i8_dot_generic(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                           size_t ldw, int32_t *C, size_t ldc);
#if defined(AURIS_HAVE_X86)
void auris__i8_dot_avx2(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                        size_t ldw, int32_t *C, size_t ldc);
#endif

#endif /* AURIS_INT8_IMPL_H */
