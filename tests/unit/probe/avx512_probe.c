/*
 * avx512_probe.c — gemm_avx512.c compiled with AVX2 flags for test_kernels: the same source,
 * its 16-lane vectors lowered to ymm pairs, exported as auris__kernel_12x16_probe, so a CPU
 * without AVX-512 still checks the micro-kernel's arithmetic (see gemm_avx512.c).
 */
#define AURIS_AVX512_PROBE 1
#include "kernels/gemm_avx512.c"
