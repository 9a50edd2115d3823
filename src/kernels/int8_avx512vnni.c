/*
 * int8_avx512vnni.c — AVX-512 VNNI exact int8 dot-product blocks for auris__gemm_i8r (int8.c).
 *
 * Reference: Intel's VPDPBUSD (AVX512_VNNI): per int32 lane, acc + the four products of
 * unsigned bytes of the first source by signed bytes of the second, wrapping, no saturation.
 * The weights are the unsigned side, offset by 128 (w ^ 0x80 = w + 128 in [0, 255]), and the
 * activations the signed side as quantized; sum (w + 128) a = sum w a + 128 sum a, so each
 * row's 128 sum a (also a VPDPBUSD pass, with ones) is subtracted at the end. All of it is
 * exact modulo 2^32 and the true sum fits int32 (int8_impl.h's K bound), so the results equal
 * the portable kernel's bit for bit.
 * Shape: 8 rows of A x 2 rows of W per tile, 64 k per step (16 VPDPBUSD per two W loads and
 * eight A loads), sums reduced across lanes by one shuffle tree for all 16 accumulators.
 * Written with GCC/clang vector extensions around one intrinsic, like gemm_avx512.c: the same
 * source compiled with AVX2 flags and AURIS_I8_VNNI_PROBE (tests/unit/probe/vnni_probe.c)
 * replaces VPDPBUSD by its definition in vector code, so a machine without VNNI still checks
 * this file's indexing, tails, offsets and reduction against the portable kernel.
 * Invariants: compiled with -mavx512f -mavx512vnni (CMake, *_avx512vnni.c) and
 * reached only after int8.c has seen the AVX-512 level and gemm.c's CPUID check for VNNI;
 * unaligned loads only (memcpy); rows, columns and K % 64 tails handled in place.
 */
#include "kernels/int8_impl.h"

#if defined(AURIS_HAVE_X86)

#include <string.h>

#if defined(AURIS_I8_VNNI_PROBE)
#define DOT_NAME auris__i8_dot_vnni_probe
#else
#include <immintrin.h>
#define DOT_NAME auris__i8_dot_avx512vnni
#endif

typedef int32_t v16i __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));

static inline v16i load64(const int8_t *p)
{
    v16i v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* acc + per lane the four products of u's unsigned bytes by s's signed bytes. */
static inline v16i dpbusd(v16i acc, v16i u, v16i s)
{
#if defined(AURIS_I8_VNNI_PROBE)
    const v16u uu = (v16u)u;
    for (int i = 0; i < 4; i++) {
        const v16i ub = (v16i)((uu >> (8 * i)) & 0xff);
        const v16i sb = (v16i)((v16u)s << (24 - 8 * i)) >> 24; /* arithmetic: signed byte i */
        acc = (v16i)((v16u)acc + (v16u)(ub * sb));   /* wrapping, as VPDPBUSD */
    }
    return acc;
#else
    return (v16i)_mm512_dpbusd_epi32((__m512i)acc, (__m512i)u, (__m512i)s);
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
#define SHUF(x, y, ...) __builtin_shuffle(x, y, (v16u){__VA_ARGS__})
#endif
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

/* Lane sums of 16 vectors in one: lane j of the result is the sum of c[j]'s lanes. Each level
 * halves the lanes per vector and doubles the vectors per register, keeping their order. */
static inline v16u reduce16(const v16i c[16])
{
    v16u l1[8], l2[4], l3[2];
    for (int i = 0; i < 8; i++)
        l1[i] = HALF8((v16u)c[2 * i], (v16u)c[2 * i + 1]);
    for (int i = 0; i < 4; i++)
        l2[i] = HALF4(l1[2 * i], l1[2 * i + 1]);
    for (int i = 0; i < 2; i++)
        l3[i] = HALF2(l2[2 * i], l2[2 * i + 1]);
    return HALF1(l3[0], l3[1]);
}

/* 128 * the sum of a[0..K64) for each of n rows (wrapping, as the products are). */
static void offsets(int n, int K64, const int8_t *A, size_t lda, uint32_t *off)
{
    const v16i ones = (v16i)((v16u){0} + 0x01010101u);
    for (int r = 0; r < n; r++) {
        v16i s = {0};
        for (int k = 0; k < K64; k += 64)
            s = dpbusd(s, ones, load64(A + (size_t)r * lda + k));
        uint32_t t = 0;
        for (int i = 0; i < 16; i++)
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
    const int K64 = K / 64 * 64;
    const int8_t *a[8], *w0 = W, *w1 = nw > 1 ? W + ldw : W;
    for (int r = 0; r < 8; r++)
        a[r] = A + (size_t)(r < R ? r : 0) * lda;
    const v16i flip = (v16i)((v16u){0} + 0x80808080u);
    v16i c[16] = {{0}};
    for (int k = 0; k < K64; k += 64) {
        const v16i u0 = load64(w0 + k) ^ flip, u1 = load64(w1 + k) ^ flip;
#pragma GCC unroll 8
        for (int r = 0; r < RR; r++) {
            const v16i x = load64(a[r] + k);
            c[2 * r] = dpbusd(c[2 * r], u0, x);
            c[2 * r + 1] = dpbusd(c[2 * r + 1], u1, x);
        }
    }
    const v16u s = reduce16(c);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < nw; j++)
            C[(size_t)r * ldc + j] =
                (int32_t)(s[2 * r + j] - off[r] + (uint32_t)tail_dot(K64, K, a[r], j ? w1 : w0));
}

/* Blocks of 8 rows (the last one 1, 2, 4 or 8 wide as it needs), two columns per tile. */
void DOT_NAME(int M, int N, int K, const int8_t *A, size_t lda, const int8_t *W, size_t ldw,
              int32_t *C, size_t ldc)
{
    uint32_t off[8];
    for (int i = 0; i < M; i += 8) {
        const int R = AURIS_MIN(8, M - i);
        const int8_t *a = A + (size_t)i * lda;
        offsets(R, K / 64 * 64, a, lda, off);
        for (int j = 0; j < N; j += 2) {
            const int nw = AURIS_MIN(2, N - j);
            const int8_t *w = W + (size_t)j * ldw;
            int32_t *c = C + (size_t)i * ldc + j;
            if (R > 4)
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

#endif /* AURIS_HAVE_X86 */
