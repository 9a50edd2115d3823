/*
 * int8_vnni.h — private to src/kernels: the body of the VNNI exact int8 dot-product kernels
 * for auris__gemm_i8r, included by int8_avx512vnni.c (64-byte vectors) and int8_avxvnni.c
 * (32-byte, VEX), and by their probe builds in tests/unit/probe.
 *
 * Reference: Intel's VPDPBUSD (AVX512_VNNI, AVX_VNNI): per int32 lane, acc + the four products
 * of unsigned bytes of the first source by signed bytes of the second, wrapping, no
 * saturation. The weights are the unsigned side, offset by 128 (w ^ 0x80 = w + 128 in
 * [0, 255]), the activations the signed side as quantized; sum (w + 128) a = sum w a +
 * 128 sum a, so each row's 128 sum a (a VPDPBUSD pass with ones) is subtracted at the end.
 * All of it is exact modulo 2^32 and the true sum fits int32 (int8_impl.h's K bound), so the
 * results equal the portable kernel's bit for bit.
 * Shape: MAXR rows of A (8 with 32 zmm registers, 4 with 16 ymm) x 2 rows of W per tile, one
 * vector of k per step (2 * MAXR VPDPBUSD per two W loads and MAXR A loads), the lane sums of
 * all accumulators by one shuffle tree.
 * Written with GCC/clang vector extensions around one intrinsic, like gemm_avx512.c: with
 * AURIS_I8_VNNI_PROBE, VPDPBUSD is replaced by its definition in vector code, so a machine
 * without VNNI compiles the same body for AVX2 and checks its indexing, tails, offsets and
 * reduction against the portable kernel (test_ct2).
 * The includer defines VNNI_BYTES (64 or 32), MAXR (8 or 4), DOT_NAME, and VNNI_DPBUSD(acc, u,
 * s) unless probing. Invariants: reached only after int8.c's CPUID checks for the ISA;
 * unaligned loads only (memcpy); rows, columns and K % VNNI_BYTES tails handled in place.
 */
#include "kernels/int8_impl.h"

#include <string.h>

#define VL (VNNI_BYTES / 4) /* int32 lanes per vector */
typedef int32_t vi __attribute__((vector_size(VNNI_BYTES)));
typedef uint32_t vu __attribute__((vector_size(VNNI_BYTES)));

static inline vi loadv(const int8_t *p)
{
    vi v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* acc + per lane the four products of u's unsigned bytes by s's signed bytes. */
static inline vi dpbusd(vi acc, vi u, vi s)
{
#if defined(AURIS_I8_VNNI_PROBE)
    const vu uu = (vu)u;
    for (int i = 0; i < 4; i++) {
        const vi ub = (vi)((uu >> (8 * i)) & 0xff);
        const vi sb = (vi)((vu)s << (24 - 8 * i)) >> 24; /* arithmetic: signed byte i */
        acc = (vi)((vu)acc + (vu)(ub * sb));   /* wrapping, as VPDPBUSD */
    }
    return acc;
#else
    return VNNI_DPBUSD(acc, u, s);
#endif
}

static inline int32_t tail_dot(int k0, int K, const int8_t *a, const int8_t *w)
{
    int32_t s = 0;
    for (int k = k0; k < K; k++)
        s += (int32_t)a[k] * (int32_t)w[k];
    return s;
}

/* Two-vector shuffles: clang's builtin, or gcc's (__builtin_shufflevector is gcc 12+ only). */
#if defined(__clang__)
#define SHUF(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define SHUF(x, y, ...) __builtin_shuffle(x, y, (vu){__VA_ARGS__})
#endif

/* One level of the lane-sum tree: lane groups of x then y, each group summed with its upper
 * half, so each level halves the lanes per vector and doubles the vectors per register,
 * keeping their order. */
#if VNNI_BYTES == 64
#define HALF8(x, y)                                                                              \
    (SHUF(x, y, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +                        \
     SHUF(x, y, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
#define HALF4(x, y)                                                                              \
    (SHUF(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +                      \
     SHUF(x, y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31))
#define HALF2(x, y)                                                                              \
    (SHUF(x, y, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +                      \
     SHUF(x, y, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31))
#define HALF1(x, y)                                                                              \
    (SHUF(x, y, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +                     \
     SHUF(x, y, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31))
#define LEVEL1 HALF8
#define LEVEL2 HALF4
#define LEVEL3 HALF2
#else /* 32 bytes: 8 lanes; three levels leave the 16 sums in two vectors */
#define HALF4(x, y) (SHUF(x, y, 0, 1, 2, 3, 8, 9, 10, 11) + SHUF(x, y, 4, 5, 6, 7, 12, 13, 14, 15))
#define HALF2(x, y) (SHUF(x, y, 0, 1, 4, 5, 8, 9, 12, 13) + SHUF(x, y, 2, 3, 6, 7, 10, 11, 14, 15))
#define HALF1(x, y) (SHUF(x, y, 0, 2, 4, 6, 8, 10, 12, 14) + SHUF(x, y, 1, 3, 5, 7, 9, 11, 13, 15))
#define LEVEL1 HALF4
#define LEVEL2 HALF2
#define LEVEL3 HALF1
#endif

/* s[j] = the sum of c[j]'s lanes, j < 16. */
static inline void reduce16(const vi c[16], uint32_t s[16])
{
    vu l1[8], l2[4], l3[2];
    for (int i = 0; i < 8; i++)
        l1[i] = LEVEL1((vu)c[2 * i], (vu)c[2 * i + 1]);
    for (int i = 0; i < 4; i++)
        l2[i] = LEVEL2(l1[2 * i], l1[2 * i + 1]);
    for (int i = 0; i < 2; i++)
        l3[i] = LEVEL3(l2[2 * i], l2[2 * i + 1]);
#if VNNI_BYTES == 64
    const vu r = HALF1(l3[0], l3[1]);
    memcpy(s, &r, sizeof r);
#else
    memcpy(s, l3, sizeof l3);
#endif
}

/* 128 * the sum of a[0..KV) for each of n rows (wrapping, as the products are). */
static void offsets(int n, int KV, const int8_t *A, size_t lda, uint32_t *off)
{
    const vi ones = (vi)((vu){0} + 0x01010101u);
    for (int r = 0; r < n; r++) {
        vi s = {0};
        for (int k = 0; k < KV; k += VNNI_BYTES)
            s = dpbusd(s, ones, loadv(A + (size_t)r * lda + k));
        uint32_t t = 0;
        for (int i = 0; i < VL; i++)
            t += (uint32_t)s[i];
        off[r] = 128u * t;
    }
}

/* Rows of A (R of them, 1..RR; rows past R repeat the first) x W rows j, j+1 (nw = 1 or 2):
 * one tile. RR (1, 2, 4 or 8) is a constant at each call, so the row loop unrolls and the
 * accumulators live in registers; off[] holds the rows' offsets. */
static inline __attribute__((always_inline)) void tile(int RR, int R, int nw, int K,
                                                       const int8_t *A, size_t lda,
                                                       const int8_t *W, size_t ldw,
                                                       const uint32_t *off, int32_t *C,
                                                       size_t ldc)
{
    const int KV = K / VNNI_BYTES * VNNI_BYTES;
    const int8_t *a[8], *w0 = W, *w1 = nw > 1 ? W + ldw : W;
    for (int r = 0; r < 8; r++)
        a[r] = A + (size_t)(r < R ? r : 0) * lda;
    const vi flip = (vi)((vu){0} + 0x80808080u);
    vi c[16] = {{0}};
    for (int k = 0; k < KV; k += VNNI_BYTES) {
        const vi u0 = loadv(w0 + k) ^ flip, u1 = loadv(w1 + k) ^ flip;
#pragma GCC unroll 8
        for (int r = 0; r < RR; r++) {
            const vi x = loadv(a[r] + k);
            c[2 * r] = dpbusd(c[2 * r], u0, x);
            c[2 * r + 1] = dpbusd(c[2 * r + 1], u1, x);
        }
    }
    uint32_t s[16];
    reduce16(c, s);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nw; j++)
            C[(size_t)r * ldc + j] =
                (int32_t)(s[2 * r + j] - off[r] + (uint32_t)tail_dot(KV, K, a[r], j ? w1 : w0));
}

/* Blocks of MAXR rows (the last one 1, 2, 4 or 8 wide as it needs), two columns per tile. */
void DOT_NAME(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W, size_t ldw,
              int32_t *C, size_t ldc)
{
    uint32_t off[8];
    for (int i = 0; i < M; i += MAXR) {
        const int R = AURIS_MIN(MAXR, M - i);
        const int8_t *a = A + (size_t)i * lda;
        offsets(R, K / VNNI_BYTES * VNNI_BYTES, a, lda, off);
        for (int j = 0; j < N; j += 2) {
            const int nw = AURIS_MIN(2, N - j);
            const int8_t *w = W + (size_t)j * ldw;
            int32_t *c = C + (size_t)i * ldc + j;
            if (MAXR > 4 && R > 4)
                tile(8, R, nw, K, a, lda, w, ldw, off, c, ldc);
            else if (R > 2)
                tile(4, R, nw, K, a, lda, w, ldw, off, c, ldc);
            else if (R == 2)
                tile(2, R, nw, K, a, lda, w, ldw, off, c, ldc);
            else
                tile(1, R, nw, K, a, lda, w, ldw, off, c, ldc);
        }
    }
}

