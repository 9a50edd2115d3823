/*
 * avxvnni_probe.c — int8_avxvnni.c compiled with AVX2 flags for test_ct2: the same source with
 * VPDPBUSD replaced by its definition in vector code, exported as auris__i8_dot_avxvnni_probe
 * (see int8_vnni.h and vnni_probe.c).
 */
#define AURIS_I8_VNNI_PROBE 1
#include "kernels/int8_avxvnni.c"
