/*
 * q8_impl.h — private to src/kernels: the q8_0 x int8 column kernels behind auris__gemv_q8_0
 * (q8.c drives them; one per ISA, each with the same contract and the same bits).
 *
 * Reference: ggml's q8_0 x q8_0 dot product (ggml-quants.c ggml_vec_dot_q8_0_q8_0: activations
 * quantized to int8 per block of 32, integer block sums, each scaled by both block scales).
 * Invariants: per output column, s = 0; for each block b in order: s = s + (da[b] * dw[b]) *
 * (float)isum[b], every step a separate IEEE operation (ISO C mode: no contraction), isum
 * exact in int32; then v = s (+ bias[n]) and C = acc ? C + v : v. Any alignment of B.
 */
#ifndef AURIS_Q8_IMPL_H
#define AURIS_Q8_IMPL_H

#include "kernels/kernels.h"

/* M rows of int8 activations: row m is qa[m * K .. +K) with block scales da[m * nb .. +nb)
 * and block sums sa[m * nb + b] = da[..] * (float)(sum of the block's 32 codes) (ggml's q8_1
 * "s", read by the q4_1 / q5_1 kernels for their m term). */
struct auris__q8_rows {
    int M, nb;                /* rows, blocks per row (K / 32) */
    const int8_t *qa;         /* [M][K] */
    const float *da;          /* [M][nb] */
    const float *sa;          /* [M][nb] */
};

/* Columns n0..n1 of C[m][n] = sum over blocks of row m of A times row n of B (q8_0 rows of
 * row_bytes bytes), for every m < M; then + bias[n] when bias, and added into C when acc. */
typedef void (*auris__q8_cols_fn)(const struct auris__q8_rows *a, int n0, int n1,
                                  const uint8_t *B, size_t row_bytes, const float *bias, float *C,
                                  int ldc, int acc);

void auris__q8_cols_generic(const struct auris__q8_rows *a, int n0, int n1, const uint8_t *B,
                            size_t row_bytes, const float *bias, float *C, int ldc, int acc);
/* One row x[0..K) (K a multiple of 32) quantized per block of 32: q[0..K) = round(x / d), ties
 * to even, clamped to +-127, 0 for NaN; d[b] = max|x| / 127 over the block (NaN ignored); sa[b]
 * = d[b] * (float)(sum of the block's q). */
void auris__q8_quantize_generic(const float *x, int K, int8_t *q, float *d, float *sa);
#if defined(AURIS_HAVE_X86)
void auris__q8_cols_avx2(const struct auris__q8_rows *a, int n0, int n1, const uint8_t *B,
                         size_t row_bytes, const float *bias, float *C, int ldc, int acc);
/* auris__q8_quantize_generic with the same bits. */
void auris__q8_quantize_avx2(const float *x, int K, int8_t *q, float *d, float *sa);
#endif

/* The same contract for the 4/5-bit block types t (q4.c, q4_avx2.c): per block,
 * v = (da[b] * dw) * (float)isum, then v = v + mw * sa[b] for q4_1 / q5_1, then s = s + v. */
void auris__q4_cols_generic(enum auris__dtype t, const struct auris__q8_rows *a, int n0, int n1,
                            const uint8_t *B, size_t row_bytes, const float *bias, float *C,
                            int ldc, int acc);
#if defined(AURIS_HAVE_X86)
void auris__q4_cols_avx2(enum auris__dtype t, const struct auris__q8_rows *a, int n0, int n1,
                         const uint8_t *B, size_t row_bytes, const float *bias, float *C, int ldc,
                         int acc);
/* y[0..n) = n values (a multiple of 32) of block type t at b dequantized, the bits of
 * auris__qblock_to_f32 (the encoder's panel packing) */
void auris__qrow_to_f32_avx2(enum auris__dtype t, const uint8_t *b, size_t n, float *y);
#endif

/* y[0..32) = one block of block type t (q4_0 .. q8_0) dequantized as ggml does (q4.c). */
void auris__qblock_to_f32(enum auris__dtype t, const uint8_t *b, float *y);

/* The f32 scale of a q8_0 block (its little-endian f16 first two bytes). */
static inline float auris__q8_block_d(const uint8_t *blk)
{
    return auris__f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
}

#endif /* AURIS_Q8_IMPL_H */
