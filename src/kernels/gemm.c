/*
 * gemm.c — blocked matrix products, the portable micro-kernels, and run-time ISA dispatch.
 *
 * Reference: BLIS/GotoBLAS blocking (see gemm_impl.h). C is cut into tiles of nb columns and a
 * group of MC-row blocks (about four tiles per thread) that the pool runs as independent tasks;
 * for every KC slice a task packs its B tile once into its thread's scratch and sweeps the
 * ISA's MR x NR micro-kernel over it and each A block of its group, read in place. A few rows (M <= GEMV_M,
 * the decoder's one-token steps and batches of up to 16 sequences) take a GEMV/AXPY path that
 * streams B once, converting f16 and bf16 on the fly (block types: int8 dot products, q8.c),
 * split over N; its column split does not depend on M and every row is computed exactly as a
 * one-row call would compute it, so each row of C is bit-identical whatever M (batched decoding equals decoding alone). Packing
 * converts every B type to f32 panels (the block types dequantized panel by panel).
 * Invariants: no allocation when a pool is given (scratch belongs to the pool); a NULL pool
 * allocates one scratch per call, and falls back to plain loops if that fails. Bad sizes or
 * NULL pointers make the call a no-op rather than a crash.
 */
#include "kernels/kernels.h"
#include "kernels/gemm_impl.h"
#include "kernels/gemv_impl.h"
#include "kernels/ops_impl.h"

#if defined(AURIS_HAVE_X86)
#include <cpuid.h>
#endif

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define GEMV_M 16 /* at most this many rows of A use the streaming path (a decoder batch) */

_Static_assert(AURIS__KC % AURIS__QK8_0 == 0, "K slices must start on q8_0 block boundaries");

/* ---- portable ISA ------------------------------------------------------------------------- */

static void kernel_4x8(int kc, const float *restrict a, int lda, const float *restrict b,
                       float *restrict c, int ldc, int acc)
{
    float t[4][8] = {{0}};
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < 4; i++) {
            float ai = a[(size_t)i * lda + k];
            for (int j = 0; j < 8; j++)
                t[i][j] += ai * b[j];
        }
        b += 8;
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            c[(size_t)i * ldc + j] = acc ? c[(size_t)i * ldc + j] + t[i][j] : t[i][j];
}

static void pack_b_nt_generic_nr(int nr, int kc, int nc, const void *B, enum auris__dtype bt,
                                 size_t ldb, float *dst)
{
    int n_panels = (nc + nr - 1) / nr;
    for (int p = 0; p < n_panels; p++) {
        float *d = dst + (size_t)p * kc * nr;
        for (int j = 0; j < nr; j++) {
            int row = p * nr + j;
            if (row >= nc) {
                for (int k = 0; k < kc; k++)
                    d[(size_t)k * nr + j] = 0.0f;
            } else if (bt == AURIS_DT_F16) {
                const uint16_t *s = (const uint16_t *)B + (size_t)row * ldb;
                for (int k = 0; k < kc; k++)
                    d[(size_t)k * nr + j] = auris__f16_to_f32(s[k]);
            } else if (bt == AURIS_DT_F32) {
                const float *s = (const float *)B + (size_t)row * ldb;
                for (int k = 0; k < kc; k++)
                    d[(size_t)k * nr + j] = s[k];
            } else {
                /* bf16, q8_0: convert the row's slice once, then scatter it */
                float t[AURIS__KC];
                auris__to_f32(bt, auris__b_ptr(B, bt, (size_t)row * ldb), (size_t)kc, t);
                for (int k = 0; k < kc; k++)
                    d[(size_t)k * nr + j] = t[k];
            }
        }
    }
}

static void pack_b_nt_generic(int kc, int nc, const void *B, enum auris__dtype bt, size_t ldb,
                              float *dst)
{
    pack_b_nt_generic_nr(8, kc, nc, B, bt, ldb, dst);
}

/* One row of a against one q8_0 row of B at element off (K % 32 == 0): per block the
 * integer-valued products are summed, then scaled once by d (the float fallback of q8.c). */
static float dot_q8_0_generic(int K, const float *a, const void *B, size_t off)
{
    float p[8] = {0};
    const uint8_t *blk = auris__b_ptr(B, AURIS_DT_Q8_0, off);
    for (int k = 0; k < K; k += AURIS__QK8_0, blk += AURIS__Q8_0_BYTES) {
        float d = auris__f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
        float q[8] = {0};
        for (int j = 0; j < AURIS__QK8_0; j++)
            q[j & 7] += a[k + j] * (float)(int8_t)blk[2 + j];
        for (int j = 0; j < 8; j++)
            p[j] += d * q[j];
    }
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
}

static void gemv_q8_0_generic(int M, int n0, int n1, int K, const float *A, int lda,
                              const void *B, int ldb, const float *bias, float *C, int ldc,
                              int acc)
{
    for (int n = n0; n < n1; n++)
        for (int m = 0; m < M; m++) {
            float s = dot_q8_0_generic(K, A + (size_t)m * lda, B, (size_t)n * ldb);
            if (bias)
                s += bias[n];
            float *c = C + (size_t)m * ldc + n;
            *c = acc ? *c + s : s;
        }
}

static void softmax_generic(float *x, int len, float scale)
{
    float mx = -INFINITY;
    for (int j = 0; j < len; j++)
        mx = x[j] > mx ? x[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < len; j++) {
        x[j] = expf((x[j] - mx) * scale);
        sum += x[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < len; j++)
        x[j] *= inv;
}

const struct auris__isa auris__isa_generic = {
    "generic", 4, 8, kernel_4x8, pack_b_nt_generic, gemv_q8_0_generic, softmax_generic,
    {NULL, NULL},
};

/* ---- dispatch ----------------------------------------------------------------------------- */

static _Atomic(const struct auris__isa *) g_isa;

/* AVX2 + FMA + F16C, and the OS saving YMM state (XCR0 bits 1-2), read with CPUID directly
 * (some compilers' __builtin_cpu_supports does not know "f16c"). */
static int cpu_has_avx2(void)
{
#if defined(AURIS_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c))
        return 0;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    if ((xlo & 6) != 6)
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;
#else
    return 0;
#endif
}

/* AVX2 (above) plus AVX-512F, and the OS saving opmask and ZMM state (XCR0 bits 5-7). */
static int cpu_has_avx512(void)
{
#if defined(AURIS_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
    if (!cpu_has_avx2())
        return 0;
    unsigned a, b, c, d, xlo, xhi;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((b >> 16) & 1))
        return 0;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    (void)xhi;
    return (xlo & 0xe6) == 0xe6;
#else
    return 0;
#endif
}

/* AVX512_VNNI (CPUID 7.0 ECX bit 11) on top of AVX-512 (above). */
static int probe_avx512vnni(void)
{
#if defined(AURIS_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!cpu_has_avx512())
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (c >> 11) & 1;
#else
    return 0;
#endif
}

/* AVX-VNNI, the VEX form (CPUID 7.1 EAX bit 4), on top of AVX2 (above). */
static int probe_avxvnni(void)
{
#if defined(AURIS_HAVE_X86) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!cpu_has_avx2())
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (a < 1) /* leaf 7's highest subleaf */
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 4) & 1;
#else
    return 0;
#endif
}

/* probe() once per slot: int8.c asks on every product, and CPUID exits a VM (microseconds). */
static int cached(_Atomic int *slot, int (*probe)(void))
{
    int v = *slot;
    if (v < 0)
        *slot = v = probe();
    return v;
}

static _Atomic int g_avx512vnni = -1, g_avxvnni = -1;

int auris__cpu_has_avx512vnni(void)
{
    return cached(&g_avx512vnni, probe_avx512vnni);
}

int auris__cpu_has_avxvnni(void)
{
    return cached(&g_avxvnni, probe_avxvnni);
}

static const struct auris__isa *isa_by_name(const char *name)
{
    if (name && strcmp(name, "generic") == 0)
        return &auris__isa_generic;
#if defined(AURIS_HAVE_X86)
    if (name && strcmp(name, "avx2") == 0)
        return cpu_has_avx2() ? &auris__isa_avx2 : NULL;
    if (name && strcmp(name, "avx512") == 0)
        return cpu_has_avx512() ? &auris__isa_avx512 : NULL;
#endif
    return NULL;
}

static const struct auris__isa *isa_detect(void)
{
    const char *env = getenv("AURIS_CPU");
    if (env && *env) {
        const struct auris__isa *i = isa_by_name(env);
        if (i)
            return i;
        auris__log(AURIS_LOG_WARN, "AURIS_CPU=%s is unknown or unsupported here; detecting", env);
    }
#if defined(AURIS_HAVE_X86)
    if (cpu_has_avx512())
        return &auris__isa_avx512;
    if (cpu_has_avx2())
        return &auris__isa_avx2;
#endif
    return &auris__isa_generic;
}

static const struct auris__isa *isa_get(void)
{
    const struct auris__isa *i = atomic_load_explicit(&g_isa, memory_order_acquire);
    if (!i) {
        i = isa_detect();
        atomic_store_explicit(&g_isa, i, memory_order_release);
    }
    return i;
}

const char *auris__kernels_isa(void)
{
    return isa_get()->name;
}

int auris__kernels_force(const char *name)
{
    const struct auris__isa *i = name ? isa_by_name(name) : isa_detect();
    if (!i)
        return -1;
    atomic_store_explicit(&g_isa, i, memory_order_release);
    return 0;
}

int auris__kernels_force_table(const struct auris__isa *isa)
{
    if (!isa || !isa->name || isa->mr < 1 || isa->mr > AURIS__MAX_MR || AURIS__MC % isa->mr ||
        isa->nr < 1 || isa->nr > AURIS__MAX_NR || AURIS__NB % isa->nr)
        return -1;
    atomic_store_explicit(&g_isa, isa, memory_order_release);
    return 0;
}

/* ---- the blocked driver ------------------------------------------------------------------- */

struct gemm_job {
    const struct auris__isa *isa;
    int M, N, K;
    const float *A;
    int lda;
    const void *B;
    enum auris__dtype bt;
    int ldb;
    int b_is_kn;       /* gemm_nn: B is [K][N] f32 */
    const float *bias;
    float *C;
    int ldc;
    int acc;
    int nb;            /* columns per tile (blocked) or per chunk (streaming) */
    int n_mblk, n_nblk;
    int gelu;          /* epilogue: C = gelu(A B^T + bias) (never with acc) */
    int grp, n_mgrp;   /* blocked: MC row blocks per task, and groups of them (ceil) */
};

static void pack_b_nn(int nr, int kc, int nc, const float *B, int ldb, float *dst)
{
    for (int j0 = 0; j0 < nc; j0 += nr) {
        int w = AURIS_MIN(nr, nc - j0);
        for (int k = 0; k < kc; k++) {
            float *d = dst + (size_t)k * nr;
            const float *s = B + (size_t)k * ldb + j0;
            for (int j = 0; j < w; j++) /* a short loop the compiler vectorises; memcpy of
                                         * one micro-panel row cost a call per 64 bytes */
                d[j] = s[j];
            for (int j = w; j < nr; j++)
                d[j] = 0.0f;
        }
        dst += (size_t)nr * kc;
    }
}

/* C[mc][nc] (row stride ldc) = (acc ? C : 0) + A[mc][kc] (row stride lda, read in place) times
 * the packed panels bp [nc/nr][kc][nr]: the micro-kernel over every whole MR x NR tile, and at
 * the edges over A rows zero-padded in pe [mr][kc] into the tile tmp [mr][nr]. The one home of
 * the sweep (blocked tasks and pre-packed products). */
static void sweep(const struct auris__isa *isa, int mc, int nc, int kc, const float *A, int lda,
                  const float *bp, float *C, int ldc, int acc, float *pe, float *tmp)
{
    const int mr = isa->mr, nr = isa->nr;
    for (int jr = 0; jr < nc; jr += nr) {
        int nn = AURIS_MIN(nr, nc - jr);
        const float *b = bp + (size_t)(jr / nr) * kc * nr;
        for (int ir = 0; ir < mc; ir += mr) {
            int mm = AURIS_MIN(mr, mc - ir);
            const float *ap = A + (size_t)ir * lda;
            float *c = C + (size_t)ir * ldc + jr;
            if (mm == mr && nn == nr) {
                isa->kernel(kc, ap, lda, b, c, ldc, acc);
                continue;
            }
            if (mm == mr && (nn == 8 || nn == 16) && isa->kernel_part[nn / 8 - 1]) {
                isa->kernel_part[nn / 8 - 1](kc, ap, lda, b, c, ldc, acc);
                continue;
            }
            int la = lda;
            if (mm < mr) {
                for (int i = 0; i < mr; i++)
                    for (int k = 0; k < kc; k++)
                        pe[(size_t)i * kc + k] = i < mm ? ap[(size_t)i * lda + k] : 0.0f;
                ap = pe;
                la = kc;
            }
            isa->kernel(kc, ap, la, b, tmp, nr, 0);
            for (int i = 0; i < mm; i++)
                for (int x = 0; x < nn; x++) {
                    float *cc = c + (size_t)i * ldc + x;
                    *cc = acc ? *cc + tmp[i * nr + x] : tmp[i * nr + x];
                }
        }
    }
}

/* Rows m0..m0+mrows (whole MC blocks but the last) x nc columns of C, over all of K: each KC
 * slice of the task's B columns is packed once and serves every row block of the group
 * (BLIS's jc/pc/ic loop order). Every element of C still sums its K slices in order through
 * the same micro-kernel: results do not depend on the split. */
static void gemm_tile(const struct gemm_job *j, int m0, int mrows, int n0, int nc, float *scratch)
{
    const struct auris__isa *isa = j->isa;
    float *pe = scratch;                                 /* [mr][kc] an edge's A rows */
    float *pb = pe + (size_t)AURIS__MC * AURIS__KC;      /* [nc/nr][kc][nr] */
    float *tmp = pb + (size_t)AURIS__KC * AURIS__NB;     /* [mr][nr] edge tile */
    for (int k0 = 0; k0 < j->K; k0 += AURIS__KC) {
        int kc = AURIS_MIN(AURIS__KC, j->K - k0);
        int acc = j->acc || k0 > 0;
        if (j->b_is_kn)
            pack_b_nn(isa->nr, kc, nc, (const float *)j->B + (size_t)k0 * j->ldb + n0, j->ldb,
                      pb);
        else
            isa->pack_b_nt(kc, nc, auris__b_ptr(j->B, j->bt, (size_t)n0 * j->ldb + k0), j->bt,
                           (size_t)j->ldb, pb);
        for (int mb = m0; mb < m0 + mrows; mb += AURIS__MC)
            sweep(isa, AURIS_MIN(AURIS__MC, m0 + mrows - mb), nc, kc,
                  j->A + (size_t)mb * j->lda + k0, j->lda, pb,
                  j->C + (size_t)mb * j->ldc + n0, j->ldc, acc, pe, tmp);
    }
    if (j->gelu) /* the epilogue */
        auris__ops_for(isa->name)->bias_gelu(mrows, nc, j->C + (size_t)m0 * j->ldc + n0,
                                             (size_t)j->ldc, j->bias ? j->bias + n0 : NULL);
    else if (j->bias)
        for (int i = 0; i < mrows; i++) {
            float *c = j->C + (size_t)(m0 + i) * j->ldc + n0;
            for (int x = 0; x < nc; x++)
                c[x] += j->bias[n0 + x];
        }
}

static void blocked_task(void *ctx, int task, int thread, float *scratch)
{
    const struct gemm_job *j = ctx;
    (void)thread;
    int g = task % j->n_mgrp, nbk = task / j->n_mgrp;
    int m0 = g * j->grp * AURIS__MC, n0 = nbk * j->nb;
    gemm_tile(j, m0, AURIS_MIN(j->grp * AURIS__MC, j->M - m0), n0, AURIS_MIN(j->nb, j->N - n0),
              scratch);
}

static void stream_task(const struct gemm_job *j, int task)
{
    int n0 = task * j->nb, n1 = AURIS_MIN(j->N, n0 + j->nb);
    /* the few-row products of gemv.c / gemv_avx2.c (f32, f16, bf16; nn's B is always f32);
     * q8_0 comes here only when auris__gemv_q8_0 could not run (no memory) */
    const struct auris__gemv_ops *g = auris__gemv_for(j->isa->name);
    if (j->b_is_kn)
        g->nn(j->M, n0, n1, j->K, j->A, j->lda, j->B, j->bt, j->ldb, j->C, j->ldc, j->acc);
    else if (!g->nt(j->M, n0, n1, j->K, j->A, j->lda, j->B, j->bt, j->ldb, j->bias, j->C,
                    j->ldc, j->acc) &&
             j->bt == AURIS_DT_Q8_0)
        j->isa->gemv_q8_0(j->M, n0, n1, j->K, j->A, j->lda, j->B, j->ldb, j->bias, j->C, j->ldc,
                          j->acc);
    if (j->gelu) /* bias is already in */
        auris__ops_for(j->isa->name)->bias_gelu(j->M, n1 - n0, j->C + n0, (size_t)j->ldc, NULL);
}

struct pool_ctx {
    const struct gemm_job *job;
    struct auris__pool *pool;
    int streaming;
};

static void pool_task(void *ctx, int task, int thread)
{
    const struct pool_ctx *p = ctx;
    if (p->streaming)
        stream_task(p->job, task);
    else
        blocked_task((void *)p->job, task, thread, auris__pool_scratch(p->pool, thread));
}

/* Plain loops: used only when a NULL-pool call cannot get scratch memory. */
static void gemm_plain(const struct gemm_job *j)
{
    for (int m = 0; m < j->M; m++)
        for (int n = 0; n < j->N; n++) {
            float s = j->bias ? j->bias[n] : 0.0f;
            for (int k = 0; k < j->K; k++) {
                float b;
                if (j->b_is_kn)
                    b = ((const float *)j->B)[(size_t)k * j->ldb + n];
                else
                    b = auris__b_elem(j->B, j->bt, (size_t)n * j->ldb + k);
                s += j->A[(size_t)m * j->lda + k] * b;
            }
            float *c = j->C + (size_t)m * j->ldc + n;
            *c = j->acc ? *c + s : s;
        }
    if (j->gelu)
        auris__ops_generic.bias_gelu(j->M, j->N, j->C, (size_t)j->ldc, NULL);
}

/* Returns 0 when there is nothing (valid) to compute; handles K == 0 itself. */
static int job_valid(struct gemm_job *j)
{
    if (j->M <= 0 || j->N <= 0 || j->K < 0 || !j->A || !j->B || !j->C)
        return 0;
    if (j->ldc < j->N || (j->K > 0 && j->lda < j->K))
        return 0;
    if (j->b_is_kn ? j->ldb < j->N : (j->K > 0 && j->ldb < j->K))
        return 0;
    if (!auris__dtype_known(j->bt))
        return 0;
    /* block rows are whole blocks, and K slices start on block boundaries (KC % 32 == 0) */
    if (auris__dtype_block_bytes(j->bt) && (j->K % AURIS__QK8_0 || j->ldb % AURIS__QK8_0))
        return 0;
    if (j->K == 0) {
        for (int m = 0; m < j->M; m++)
            for (int n = 0; n < j->N; n++) {
                float *c = j->C + (size_t)m * j->ldc + n;
                *c = (j->acc ? *c : 0.0f) + (j->bias ? j->bias[n] : 0.0f);
            }
        if (j->gelu)
            auris__ops_generic.bias_gelu(j->M, j->N, j->C, (size_t)j->ldc, NULL);
        return 0;
    }
    return 1;
}

/* Cuts the blocked product into tasks of a group of MC-row blocks by nb columns. The B tile
 * (KC x nb floats) stays in L2 at nb <= NB; narrower tiles only when there are fewer than about
 * four tasks per thread. A task packs each KC slice of its B tile once for its whole group, so
 * groups are as tall as that many tasks allow (A is read in place: no cost per tile). */
static void blocked_split(struct gemm_job *j, int nt)
{
    j->n_mblk = (j->M + AURIS__MC - 1) / AURIS__MC;
    /* tiles of equal width (whole micro-panels), so that no thread is left with a sliver: 512
     * columns make 192 + 192 + 128, not 240 + 240 + 32 */
    const int nr = j->isa->nr;
    for (int cnt = (j->N + AURIS__NB - 1) / AURIS__NB;; cnt *= 2) {
        int w = (j->N + cnt - 1) / cnt;
        j->nb = AURIS_MIN(AURIS__NB, (w + nr - 1) / nr * nr);
        if (j->nb <= 64 || nt == 1 || j->n_mblk * ((j->N + j->nb - 1) / j->nb) >= 4 * nt)
            break;
    }
    j->n_nblk = (j->N + j->nb - 1) / j->nb;
    int want = nt > 1 ? (4 * nt + j->n_nblk - 1) / j->n_nblk : 1;
    int n_grp = AURIS_MIN(j->n_mblk, want);
    j->grp = (j->n_mblk + n_grp - 1) / n_grp;
    j->n_mgrp = (j->n_mblk + j->grp - 1) / j->grp;
}

static void gemm_dispatch(struct auris__pool *pool, struct gemm_job *j, float *scratch)
{
    int nt = auris__pool_size(pool);
    /* the streaming path has float kernels for every type but the 4/5-bit blocks: those only
     * get here when auris__gemv_qb could not run, and take the blocked path */
    if (j->M <= GEMV_M && (j->b_is_kn || j->bt == AURIS_DT_Q8_0 ||
                           !auris__dtype_block_bytes(j->bt))) {
        /* chunks of whole 16-column groups, about four per thread */
        int chunk = (j->N + 4 * nt - 1) / (4 * nt);
        chunk = AURIS_MAX(64, (chunk + 15) / 16 * 16);
        j->nb = chunk;
        int n_tasks = (j->N + chunk - 1) / chunk;
        if (!pool || nt == 1 || n_tasks == 1) {
            for (int t = 0; t < n_tasks; t++)
                stream_task(j, t);
            return;
        }
        struct pool_ctx pc = {j, pool, 1};
        auris__pool_run(pool, pool_task, &pc, n_tasks);
        return;
    }
    blocked_split(j, pool && nt > 1 ? nt : 1);
    int n_tasks = j->n_mgrp * j->n_nblk;
    if (pool && nt > 1) {
        struct pool_ctx pc = {j, pool, 0};
        auris__pool_run(pool, pool_task, &pc, n_tasks);
        return;
    }
    float *own = NULL;
    if (!scratch)
        scratch = pool ? auris__pool_scratch(pool, 0) : NULL;
    if (!scratch)
        scratch = own = auris__aligned_alloc(AURIS__SCRATCH_FLOATS * sizeof(float));
    if (!scratch) {
        gemm_plain(j);
        return;
    }
    for (int t = 0; t < n_tasks; t++)
        blocked_task(j, t, 0, scratch);
    auris__aligned_free(own);
}

static void gemm_nt_any(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                        const void *B, enum auris__dtype bt, int ldb, const float *bias, float *C,
                        int ldc, int acc, float *scratch)
{
    if (bt == AURIS_DT_I8R) { /* CTranslate2 int8 weights: int8.c (ldb is the descriptor's k) */
        auris__gemm_i8r(pool, M, N, K, A, lda, B, bias, C, ldc, acc, scratch);
        return;
    }
    /* quantized decoder steps: int8 dot products on the stored blocks (q8.c, q4.c) */
    if (auris__dtype_block_bytes(bt) && M <= GEMV_M && K > 0 &&
        auris__gemv_qb(pool, bt, M, N, K, A, lda, B, ldb, bias, C, ldc, acc, scratch) == 0)
        return;
    struct gemm_job j = {isa_get(), M, N, K, A, lda, B, bt, ldb, 0, bias, C, ldc, acc, 0, 0, 0,
                         0, 0, 0};
    if (job_valid(&j))
        gemm_dispatch(pool, &j, scratch);
}

static void gemm_nn_any(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float *C, int ldc, int acc, float *scratch)
{
    struct gemm_job j = {isa_get(), M, N, K, A, lda, B, AURIS_DT_F32, ldb, 1, NULL, C, ldc, acc,
                         0, 0, 0, 0, 0, 0};
    if (job_valid(&j))
        gemm_dispatch(pool, &j, scratch);
}

void auris__gemm_nt(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                    const void *B, enum auris__dtype btype, int ldb, const float *bias, float *C,
                    int ldc)
{
    gemm_nt_any(pool, M, N, K, A, lda, B, btype, ldb, bias, C, ldc, 0, NULL);
}

void auris__gemm_nt_acc(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                        const void *B, enum auris__dtype btype, int ldb, const float *bias,
                        float *C, int ldc)
{
    gemm_nt_any(pool, M, N, K, A, lda, B, btype, ldb, bias, C, ldc, 1, NULL);
}

void auris__gemm_nn(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc)
{
    gemm_nn_any(pool, M, N, K, A, lda, B, ldb, C, ldc, 0, NULL);
}

void auris__softmax(float *x, int len, float scale)
{
    if (x && len > 0)
        isa_get()->softmax(x, len, scale);
}

void auris__gemm_nt_serial(int M, int N, int K, const float *A, int lda, const void *B,
                           enum auris__dtype btype, int ldb, const float *bias, float *C, int ldc,
                           float *scratch)
{
    gemm_nt_any(NULL, M, N, K, A, lda, B, btype, ldb, bias, C, ldc, 0, scratch);
}

void auris__gemm_nn_serial(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           float *C, int ldc, float *scratch)
{
    gemm_nn_any(NULL, M, N, K, A, lda, B, ldb, C, ldc, 0, scratch);
}

void auris__gemm_nt_gelu(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                         const void *B, enum auris__dtype btype, int ldb, const float *bias,
                         float *C, int ldc)
{
    if (btype == AURIS_DT_I8R) { /* int8 weights have their own products; GELU after them */
        auris__gemm_i8r(pool, M, N, K, A, lda, B, bias, C, ldc, 0, NULL);
        auris__k_bias_gelu(M, N, C, ldc, NULL);
        return;
    }
    if (auris__dtype_block_bytes(btype) && M <= GEMV_M && K > 0 && N > 0 && ldc >= N &&
        auris__gemv_qb(pool, btype, M, N, K, A, lda, B, ldb, bias, C, ldc, 0, NULL) == 0) {
        auris__k_bias_gelu(M, N, C, ldc, NULL);
        return;
    }
    struct gemm_job j = {isa_get(), M, N, K, A, lda, B, btype, ldb, 0, bias, C, ldc, 0, 0, 0, 0,
                         1, 0, 0};
    if (job_valid(&j))
        gemm_dispatch(pool, &j, NULL);
}

size_t auris__gemm_pack_floats(int N, int K)
{
    if (N <= 0 || K <= 0 || K > AURIS_GEMM_PACK_KMAX)
        return 0;
    int nr = isa_get()->nr;
    size_t f = (size_t)((N + nr - 1) / nr) * nr * (size_t)K;
    return (f + 15) / 16 * 16;
}

void auris__gemm_pack_nt(int N, int K, const float *B, int ldb, float *dst)
{
    if (auris__gemm_pack_floats(N, K) && B && dst && ldb >= K)
        isa_get()->pack_b_nt(K, N, B, AURIS_DT_F32, (size_t)ldb, dst);
}

void auris__gemm_pack_nn(int N, int K, const float *B, int ldb, float *dst)
{
    if (auris__gemm_pack_floats(N, K) && B && dst && ldb >= N)
        pack_b_nn(isa_get()->nr, K, N, B, ldb, dst);
}

void auris__gemm_packed(int M, int N, int K, const float *A, int lda, const float *Bp, float *C,
                        int ldc, int acc)
{
    if (M <= 0 || !auris__gemm_pack_floats(N, K) || !A || !Bp || !C || lda < K || ldc < N)
        return;
    float pe[AURIS__MAX_MR * AURIS_GEMM_PACK_KMAX];                 /* [mr][K] edge rows */
    float tmp[AURIS__MAX_MR * AURIS__MAX_NR];                       /* [mr][nr] edge tile */
    sweep(isa_get(), M, N, K, A, lda, Bp, C, ldc, acc, pe, tmp);
}
