/*
 * int8_avx512vnni.c — the AVX-512 VNNI exact int8 dot product for auris__gemm_i8r (int8.c):
 * int8_vnni.h's body on 64-byte vectors, 8 rows x 2 columns per tile.
 *
 * Reference: int8_vnni.h (VPDPBUSD on w + 128 by the activations, minus 128 sum a).
 * Invariants: compiled with -mavx512f -mavx512vnni (CMake, *_avx512vnni.c) and reached only
 * after int8.c has seen the avx512 level and auris__cpu_has_avx512vnni(); the probe build
 * (tests/unit/probe/vnni_probe.c) compiles this file for AVX2 with VPDPBUSD emulated.
 */
#if defined(AURIS_HAVE_X86)

#define VNNI_BYTES 64
#define MAXR 8
#if defined(AURIS_I8_VNNI_PROBE)
#define DOT_NAME auris__i8_dot_vnni_probe
#else
#include <immintrin.h>
#define DOT_NAME auris__i8_dot_avx512vnni
#define VNNI_DPBUSD(acc, u, s) (vi) _mm512_dpbusd_epi32((__m512i)(acc), (__m512i)(u), (__m512i)(s))
#endif
#include "kernels/int8_vnni.h"

#endif /* AURIS_HAVE_X86 */
