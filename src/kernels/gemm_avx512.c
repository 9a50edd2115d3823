/*
 * gemm_avx512.c — the AVX-512 (F) GEMM micro-kernel: 12 rows x 16 columns, one zmm per row.
 *
 * Reference: the BLIS skylakex sgemm shape family (one B row of 16 floats per zmm, a broadcast
 * A element per row, 12 accumulators so the two FMA ports stay busy while B streams from L1).
 * It reads the same 16-wide packed B panels as the AVX2 kernel (pack_b_nt is AVX2's; packing
 * is memory work, not arithmetic) and reads A in place, twelve rows lda apart.
 * Written with GCC/clang vector extensions rather than intrinsics, and contracted to FMA
 * (-ffp-contract=fast for this file): every c[i][j] is one fused multiply-add chain over k in
 * ascending order, exactly as AVX2's kernel_4x24 computes it, so the two agree bit for bit
 * (the generic twin, unfused, agrees to rounding). The same source compiled with AVX2 flags (AURIS_AVX512_PROBE, the
 * unit test's copy) lowers each 16-lane vector to two ymm halves: a machine without AVX-512
 * still runs and checks this file's arithmetic; only the instruction selection is the
 * compiler's.
 * Invariants: compiled with -mavx512f -mfma -mf16c -ffp-contract=fast -O2 in every build type
 * (CMake, *_avx512.c; without optimisation no FMA is formed) and reached only after
 * gemm.c's CPUID/XGETBV check for AVX-512F and the OS saving ZMM state; b is 64-byte aligned
 * (packed panels), a and c need no alignment.
 */
#include "kernels/gemm_impl.h"

#include <string.h>

#if defined(AURIS_HAVE_X86)

typedef float v16 __attribute__((vector_size(64)));

#define MR 12
#define NR 16

#if defined(AURIS_AVX512_PROBE)
#define KERNEL_NAME auris__kernel_12x16_probe
#else
#define KERNEL_NAME auris__kernel_12x16_avx512
#endif

#if defined(AURIS_AVX512_PROBE)
void KERNEL_NAME(int kc, const float *restrict a, int lda, const float *restrict b,
                 float *restrict c, int ldc, int acc);
#endif

/* c[12][16] (row stride ldc) = (acc ? c : 0) + sum over k of a[i][k] b[k][j], a's rows lda apart */
void KERNEL_NAME(int kc, const float *restrict a, int lda, const float *restrict b,
                 float *restrict c, int ldc, int acc)
{
    v16 s[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++)
        s[i] = (v16){0};
    for (int k = 0; k < kc; k++) {
        v16 bv = *(const v16 *)__builtin_assume_aligned(b, 64);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++)
            s[i] += a[(size_t)i * lda + k] * bv; /* one vfmadd231ps, embedded broadcast */
        b += NR;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        float *cr = c + (size_t)i * ldc;
        if (acc) {
            v16 t;
            memcpy(&t, cr, sizeof t);
            s[i] += t;
        }
        memcpy(cr, &s[i], sizeof s[i]);
    }
}

#endif /* AURIS_HAVE_X86 */
