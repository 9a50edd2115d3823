/*
 * ops_impl.h — private to src/kernels: the per-ISA table of the non-GEMM hot loops (layer norm,
 * GELU, bias + GELU over a C tile, elementwise add, the online-softmax block step of flash
 * attention, and the convolutions' im2col rows).
 *
 * The table is chosen with the GEMM's ISA (auris__kernels_isa, AURIS_CPU): "generic" gets the
 * portable twins of ops_generic.c, every x86 level from avx2 up gets ops_avx2.c.
 * Invariants: the kernels work on caller memory only (no allocation, no state); vector versions
 * match their twins to ~1e-7 relative (exp, erf, summation order) and the im2col rows exactly.
 */
#ifndef AURIS_OPS_IMPL_H
#define AURIS_OPS_IMPL_H

#include "kernels/kernels.h"

struct auris__ops {
    const char *name;
    /* y[0..n) = (x - mean) / sqrt(var + eps) * w + b over one row; y may be x */
    void (*layernorm)(int n, const float *x, float *y, const float *w, const float *b, float eps);
    /* x[0..n) = 0.5 x (1 + erf(x / sqrt 2)) */
    void (*gelu)(float *x, size_t n);
    /* c[i][j] = gelu(c[i][j] + bias[j]) for i < rows, j < cols; bias may be NULL */
    void (*bias_gelu)(int rows, int cols, float *c, size_t ldc, const float *bias);
    /* x[0..n) += y[0..n) */
    void (*add)(float *x, const float *y, size_t n);
    /* one key block of an online softmax row (see auris__k_softmax_block) */
    float (*softmax_block)(float *s, int len, float scale, float *m, float *l);
    /* dst[3c+k] = src[c*ld + k - 1] for c < C, k < 3; tap 0 reads 0 unless has_prev, tap 2
     * reads 0 unless has_next (so src[-1] / src[c*ld+1] are touched only when they exist) */
    void (*unfold3)(int C, const float *src, size_t ld, int has_prev, int has_next, float *dst);
    /* dst[3i+k] = s_k[i] for i < n, k < 3; a NULL s_k reads as zeros */
    void (*interleave3)(int n, const float *s0, const float *s1, const float *s2, float *dst);
    /* log sum exp over x[0..n), -inf entries skipped (see auris__k_log_sum_exp) */
    double (*log_sum_exp)(const float *x, int n);
    /* index of the first maximum of x[0..n), n >= 1 (see auris__k_argmax) */
    int (*argmax)(const float *x, int n);
};

extern const struct auris__ops auris__ops_generic;
#if defined(AURIS_HAVE_X86)
extern const struct auris__ops auris__ops_avx2;
#endif

/* The table that goes with the GEMM implementation named isa_name. */
const struct auris__ops *auris__ops_for(const char *isa_name);

#endif /* AURIS_OPS_IMPL_H */
