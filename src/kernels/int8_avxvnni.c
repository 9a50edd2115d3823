/*
 * int8_avxvnni.c — the AVX-VNNI (VEX, 256-bit: Alder Lake and later client cores, Sierra
 * Forest, Zen 5) exact int8 dot product for auris__gemm_i8r (int8.c): int8_vnni.h's body on
 * 32-byte vectors, 4 rows x 2 columns per tile (16 ymm registers).
 *
 * Reference: int8_vnni.h (VPDPBUSD on w + 128 by the activations, minus 128 sum a).
 * Invariants: compiled with -mavx2 -mavxvnni (CMake, *_avxvnni.c) and reached only after
 * int8.c has seen an AVX2 level and auris__cpu_has_avxvnni(); the probe build
 * (tests/unit/probe/avxvnni_probe.c) compiles this file for AVX2 with VPDPBUSD emulated.
 */
#if defined(AURIS_HAVE_X86)

#define VNNI_BYTES 32
#define MAXR 4
#if defined(AURIS_I8_VNNI_PROBE)
#define DOT_NAME auris__i8_dot_avxvnni_probe
#else
#include <immintrin.h>
#define DOT_NAME auris__i8_dot_avxvnni
#define VNNI_DPBUSD(acc, u, s) (vi) _mm256_dpbusd_avx_epi32((__m256i)(acc), (__m256i)(u), (__m256i)(s))
#endif
#include "kernels/int8_vnni.h"

#endif /* AURIS_HAVE_X86 */
