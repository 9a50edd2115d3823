/*
 * gemm_impl.h — private to src/kernels: blocking constants and the per-ISA function table.
 *
 * Reference: the BLIS/GotoBLAS decomposition (pack a KC x NB panel of B into NR-wide micro-panels,
 * then sweep an MR x NR register-blocked micro-kernel over them and MC-row blocks of A). A is
 * read in place, as BLIS's "sup" kernels read it: packing it cost more than it saved.
 * Invariants: packed buffers are 64-byte aligned and zero-padded to whole micro-panels, and
 * edge rows of A are copied zero-padded to MR, so micro-kernels never read out of bounds and
 * never branch on edges; MC is a multiple of every ISA's MR and NB of every NR.
 */
#ifndef AURIS_GEMM_IMPL_H
#define AURIS_GEMM_IMPL_H

#include "kernels/kernels.h"

#define AURIS__KC 256     /* depth of one packed panel (B micro-panel KC x NR fits L1) */
#define AURIS__MC 96      /* rows of A per packed block (multiple of 12, 6 and 4; fits L2) */
#define AURIS__NB 240     /* columns of B per packed tile (multiple of 24, 16 and 8; fits L2) */
#define AURIS__MAX_MR 12
#define AURIS__MAX_NR 24

/* Packing scratch of one thread: an MC x KC area (the edge rows of A; int8.c and q8.c lay out
 * their own), the B tile, and one edge tile. */
#define AURIS__SCRATCH_FLOATS \
    ((size_t)AURIS__MC * AURIS__KC + (size_t)AURIS__KC * AURIS__NB + AURIS__MAX_MR * AURIS__MAX_NR)

struct auris__isa {
    const char *name;
    int mr, nr;
    /* c[MR][NR] (row stride ldc) = (acc ? c : 0) + a·b over kc: a is MR rows of kc floats read in
     * place (row i at a + i*lda), b one packed micro-panel [kc][NR] */
    void (*kernel)(int kc, const float *a, int lda, const float *b, float *c, int ldc, int acc);
    /* packs rows n0..n0+nc of a [N][K] weight, columns k0..k0+kc, into NR-wide panels
     * dst[panel][kc][NR]; rows past nc are zero */
    void (*pack_b_nt)(int kc, int nc, const void *B, enum auris__dtype bt, size_t ldb, float *dst);
    /* y[m][n] = (acc ? y : 0) + A[m]·B[n] (+bias[n]) for n in [n0,n1), m in [0,M), B q8_0
     * (K, ldb multiples of 32) with float activations: the few-row fallback when q8.c's int8
     * path cannot get memory (the other types stream through gemv_impl.h's table) */
    void (*gemv_q8_0)(int M, int n0, int n1, int K, const float *A, int lda, const void *B,
                      int ldb, const float *bias, float *C, int ldc, int acc);
    /* x[j] = exp(scale (x[j] - max x)) / sum, over [0, len) */
    void (*softmax)(float *x, int len, float scale);
    /* NULL, or kernel's first 8 (i + 1) columns of a panel that holds only those (NR > 8 (i + 1)),
     * stored to c directly with kernel's arithmetic per output */
    void (*kernel_part[2])(int kc, const float *a, int lda, const float *b, float *c, int ldc,
                           int acc);
};

/* Address of element idx of a row-major B of type bt (for a block type, idx is a multiple of
 * 32). */
static inline const void *auris__b_ptr(const void *B, enum auris__dtype bt, size_t idx)
{
    size_t bs = auris__dtype_block_bytes(bt);
    size_t off = bs ? idx / AURIS__QK8_0 * bs : bt == AURIS_DT_F32 ? idx * 4 : idx * 2;
    return (const char *)B + off;
}

/* Element idx of B as f32 (slow paths, edges and the reference twin). */
static inline float auris__b_elem(const void *B, enum auris__dtype bt, size_t idx)
{
    switch (bt) {
    case AURIS_DT_F16:
        return auris__f16_to_f32(((const uint16_t *)B)[idx]);
    case AURIS_DT_BF16:
        return auris__bf16_to_f32(((const uint16_t *)B)[idx]);
    case AURIS_DT_F32:
        return ((const float *)B)[idx];
    default: {
        float y[AURIS__QK8_0];
        auris__to_f32(bt, auris__b_ptr(B, bt, idx - idx % AURIS__QK8_0), AURIS__QK8_0, y);
        return y[idx % AURIS__QK8_0];
    }
    }
}

/* Tests only: makes `isa` (which must outlive its use) the table in use, as auris__kernels_force
 * does by name; -1 (nothing changes) when its MR/NR do not fit the blocking. Lets a CPU without
 * AVX-512 run the whole driver over the AVX-512 micro-kernel's source built for AVX2. */
int auris__kernels_force_table(const struct auris__isa *isa);

extern const struct auris__isa auris__isa_generic;
#if defined(AURIS_HAVE_X86)
extern const struct auris__isa auris__isa_avx2;
/* AVX-512F: gemm_avx512.c's 12x16 micro-kernel over AVX2's packing, GEMV and softmax (those are
 * memory work; every other table treats any level but "generic" as AVX2). */
extern const struct auris__isa auris__isa_avx512;
void auris__kernel_12x16_avx512(int kc, const float *restrict a, int lda,
                                const float *restrict b, float *restrict c, int ldc, int acc);
#endif

#endif /* AURIS_GEMM_IMPL_H */
