/*
 * ggml_quant.c — dequantization of ggml's block formats q4_0, q4_1, q5_0, q5_1 and q8_0.
 *
 * Reference (facts only): whisper.cpp ggml/src/ggml-common.h (block layouts) and ggml-quants.c
 * (dequantize_row_*). Every block holds 32 values; all fields are little-endian and packed:
 *   q4_0  f16 d, u8 qs[16]                 x[j] = (lo nibble - 8) d, x[j+16] = (hi nibble - 8) d
 *   q4_1  f16 d, f16 m, u8 qs[16]          x = nibble d + m
 *   q5_0  f16 d, u32 qh, u8 qs[16]         5th bit of x[j] is bit j of qh; x = (q - 16) d
 *   q5_1  f16 d, f16 m, u32 qh, u8 qs[16]  x = q d + m
 *   q8_0  f16 d, i8 qs[32]                 x = q d
 * The dequantization itself has one home, src/kernels/q4.c (auris__to_f32); this file keeps the
 * loader's block sizes and its f32/f16 conversions (tests and tools use them).
 * Invariants: the products are computed in float exactly as ggml does (int * float, then + m),
 * so the f32 output is bit-identical to ggml's; blocks are read bytewise (any alignment).
 */
#include "model/model.h"

size_t auris__ggml_block_bytes(int type)
{
    return auris__dtype_block_bytes((enum auris__dtype)type); /* ggml's ids are the dtype's */
}

int auris__ggml_dequantize_f32(int type, const uint8_t *src, size_t n_blocks, float *dst)
{
    size_t bs = auris__ggml_block_bytes(type);
    if (!bs)
        return -1;
    auris__to_f32((enum auris__dtype)type, src, n_blocks * AURIS__GGML_QK, dst);
    return 0;
}

int auris__ggml_dequantize_f16(int type, const uint8_t *src, size_t n_blocks, uint16_t *dst)
{
    size_t bs = auris__ggml_block_bytes(type);
    if (!bs)
        return -1;
    float y[AURIS__GGML_QK];
    for (size_t i = 0; i < n_blocks; i++) {
        auris__to_f32((enum auris__dtype)type, src + i * bs, AURIS__GGML_QK, y);
        for (int j = 0; j < AURIS__GGML_QK; j++)
            dst[i * AURIS__GGML_QK + (size_t)j] = auris__f32_to_f16(y[j]);
    }
    return 0;
}
