/*
 * gemv_impl.h — private to src/kernels: the per-ISA table of the streaming products for a few
 * rows (the decoder's steps: 1 sequence greedy, up to AURIS__NN_MAX_SEQ beams or samples).
 *
 * Chosen with the GEMM's ISA (auris__kernels_isa, AURIS_CPU): "generic" gets gemv.c, avx2
 * gets gemv_avx2.c. Invariants: no allocation, no state; every row of C is computed exactly as a
 * one-row call would compute it (same operation order per output), so a row's bits do not
 * depend on how many rows share the call.
 */
#ifndef AURIS_GEMV_IMPL_H
#define AURIS_GEMV_IMPL_H

#include "kernels/kernels.h"

struct auris__gemv_ops {
    const char *name;
    /* C[m][n] = (acc ? C : 0) + A[m]·B[n] (+ bias[n]) for m < M, n in [n0, n1), B [N][K] with
     * row stride ldb. Each B row is read from memory once for all M rows. Returns 0 (and does
     * nothing) when bt is not one it streams (F32, F16, BF16); the caller then falls back. */
    int (*nt)(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
              enum auris__dtype bt, int ldb, const float *bias, float *C, int ldc, int acc);
    /* C[m][n0..n1) = (acc ? C : 0) + sum_k A[m][k] B[k][n0..n1) for any M >= 1, B [K][N] f32 or
     * f16 with row stride ldb (attention weights times values). acc 2 continues each output's
     * sum from C in the order a call over more k would have taken (1 may add C at the end
     * instead), so pieces of K run one after the other (0, then 2, 2, ...) give the bits of one
     * call over all of K. Returns 0 for other types. */
    int (*nn)(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
              enum auris__dtype bt, int ldb, float *C, int ldc, int acc);
    /* dst[0..n) = src as IEEE half, round to nearest even (the cross-attention K/V store) */
    void (*to_f16)(const float *src, uint16_t *dst, size_t n);
};

extern const struct auris__gemv_ops auris__gemv_generic;
#if defined(AURIS_HAVE_X86)
extern const struct auris__gemv_ops auris__gemv_avx2;
#endif

/* The table that goes with the GEMM implementation named isa_name. */
const struct auris__gemv_ops *auris__gemv_for(const char *isa_name);

#endif /* AURIS_GEMV_IMPL_H */
