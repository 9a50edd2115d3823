/*
 * vnni_probe.c — int8_avx512vnni.c compiled with AVX2 flags for test_ct2: the same source with
 * VPDPBUSD replaced by its definition in vector code, exported as auris__i8_dot_vnni_probe, so
 * a CPU without AVX-512 VNNI still checks the kernel's indexing, offsets, tails and reduction
 * (see int8_vnni.h).
 */
#define AURIS_I8_VNNI_PROBE 1
/* 64-byte vectors passed between static functions without AVX-512: no ABI crosses here
 * (gcc 12 and clang 14 both know -Wpsabi) */
#pragma GCC diagnostic ignored "-Wpsabi"
#include "kernels/int8_avx512vnni.c"
