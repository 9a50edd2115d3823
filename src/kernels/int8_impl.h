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

#define AURIS__I8_MAX_K 131072 /* 127 * 128 * K stays below 2^31 (W may hold -128) */

/* C[M][N] (row stride ldc) = A[M][K] . W[N][K]^T, rows of A and W with strides lda, ldw. */
typedef void (*auris__i8_dot_fn)(int M, int N, int K, const int8_t *A, size_t lda,
                                 const int8_t *W, size_t ldw, int32_t *C, size_t ldc);

void auris__i8_dot_generic(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                           size_t ldw, int32_t *C, size_t ldc);
/* AURIS_INT8_COMPAT=saturate: the sums CTranslate2 gets on CPUs without VNNI, where oneDNN's u8s8
 * kernel (vpmaddubsw) adds each pair (k, k+1) of shifted products (A + 128) * W into a saturating
 * int16 before the int32 sum, and the compensation 128 * sum(W) is then subtracted exactly. */
void auris__i8_dot_sat_generic(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                               size_t ldw, int32_t *C, size_t ldc);
#if defined(AURIS_HAVE_X86)
void auris__i8_dot_avx2(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                        size_t ldw, int32_t *C, size_t ldc);
void auris__i8_dot_sat_avx2(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                            size_t ldw, int32_t *C, size_t ldc);
/* AVX-512 VNNI and AVX-VNNI (int8_vnni.h): only when auris__cpu_has_avx512vnni() /
 * auris__cpu_has_avxvnni() say so (gemm.c; each read once). */
void auris__i8_dot_avx512vnni(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                              size_t ldw, int32_t *C, size_t ldc);
void auris__i8_dot_avxvnni(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W,
                           size_t ldw, int32_t *C, size_t ldc);
int auris__cpu_has_avx512vnni(void);
int auris__cpu_has_avxvnni(void);
#endif

/* Run-time quantization of a row and dequantization of int32 results (int8.c has the contract
 * and the portable versions; the AVX2 ones are the same IEEE operations, so the same bits). */
float auris__i8_quantize_row_generic(const float *x, int K, int8_t *q);
/* q[k0..K) with a given scale (the second half of the row quantization). */
void auris__i8_quantize_tail(const float *x, int k0, int K, float scale, int8_t *q);
void auris__i8_dequant_generic(const int32_t *c, int n, float r_a_scale, const float *w_scale,
                               const float *bias, float *y, int acc);
#if defined(AURIS_HAVE_X86)
float auris__i8_quantize_row_avx2(const float *x, int K, int8_t *q);
void auris__i8_dequant_avx2(const int32_t *c, int n, float r_a_scale, const float *w_scale,
                            const float *bias, float *y, int acc);
#endif

/* 1 when AURIS_INT8_COMPAT=saturate is set (read once per product). */
int auris__i8_saturate(void);

#endif /* AURIS_INT8_IMPL_H */
