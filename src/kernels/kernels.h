/*
 * kernels.h — the compute kernels behind the network: a thread pool and matrix products.
 *
 * Every optimised kernel has a portable reference twin; the implementation is chosen once at run
 * time from the CPU's features, and AURIS_CPU=generic|avx2|avx512 overrides the choice (for tests and
 * for comparing). Layouts are row-major; weights follow PyTorch's Linear layout [out][in].
 * Invariant: kernels never allocate on the hot path (packing buffers live in the pool's
 * per-thread scratch, sized at pool creation).
 */
#ifndef AURIS_KERNELS_H
#define AURIS_KERNELS_H

#include "common.h"

/* Element types of weights. The values are ggml's type ids (the native format stores them). */
enum auris__dtype {
    AURIS_DT_F32 = 0,
    AURIS_DT_F16 = 1,
    AURIS_DT_Q4_0 = 2,   /* blocks of 32: f16 d, 16 bytes of nibbles; value = (q - 8) d */
    AURIS_DT_Q4_1 = 3,   /* f16 d, f16 m, 16 bytes of nibbles; value = q d + m */
    AURIS_DT_Q5_0 = 6,   /* f16 d, u32 of 5th bits, 16 bytes of nibbles; value = (q - 16) d */
    AURIS_DT_Q5_1 = 7,   /* f16 d, f16 m, u32 of 5th bits, 16 bytes of nibbles; q d + m */
    AURIS_DT_Q8_0 = 8,   /* blocks of 32: f16 scale d, then 32 int8 q; value = d * q */
    AURIS_DT_BF16 = 30,  /* bfloat16: the top half of an f32 */
};

/* int8 rows with one f32 scale per row (CTranslate2's int8): `data` points to a struct
 * auris__i8r, not to the values (int8.c). Deliberately not an enumerator: switches over the
 * file types above stay as they are, no file format can declare it (outside ggml's id range),
 * and it is not auris__dtype_known; only the CTranslate2 loader and --compute_type int8
 * (model/compute.c) make such tensors, and only the GEMM hook, auris__to_f32 and
 * auris__row_to_f32 read them. */
#define AURIS_DT_I8R ((enum auris__dtype)1000)

/* An int8 weight [rows][k] as CTranslate2 stores it: value = q / scale, scale = 127 / max|row|.
 * A row range of a fused weight is another descriptor pointing into the same bytes. */
struct auris__i8r {
    const int8_t *q;      /* [rows][k], row stride k, any alignment */
    const float *scale;   /* [rows], 4-byte aligned, finite and > 0 */
    int64_t rows, k;
};

#define AURIS__QK8_0 32          /* elements per q8_0 block */
#define AURIS__Q8_0_BYTES 34     /* bytes per q8_0 block (2-byte f16 scale + 32 int8) */

/* 1 for the types above, 0 otherwise. */
int auris__dtype_known(enum auris__dtype t);

/* Bytes of one block of 32 for the block types (q4_0 18, q4_1 20, q5_0 22, q5_1 24, q8_0 34);
 * 0 for the element types and unknown types. A block type's rows are whole blocks. */
size_t auris__dtype_block_bytes(enum auris__dtype t);

/* Bytes taken by n consecutive elements of type t (for a block type, n must be a multiple of
 * 32). Returns 0 on overflow, an unknown type or a partial block. */
size_t auris__dtype_bytes(enum auris__dtype t, size_t n);

/* dst[0..n) = the n elements at src converted to f32. src may have any alignment; for a block
 * type it starts on a block boundary and n is a multiple of 32 (the values are ggml's
 * dequantize_row_* bits). Unknown types write zeros. */
void auris__to_f32(enum auris__dtype t, const void *src, size_t n, float *dst);

/* ---- thread pool -------------------------------------------------------------------------- */

struct auris__pool;

/* Starts n_threads-1 workers (the caller is the n-th). n_threads <= 0: online CPUs.
 * Returns NULL on failure. */
struct auris__pool *auris__pool_create(int n_threads);
void auris__pool_free(struct auris__pool *pool); /* NULL-safe; joins the workers */
int auris__pool_size(const struct auris__pool *pool); /* 1 when pool is NULL */

/* Runs fn(ctx, task, thread) for task in [0, n_tasks) across the pool and waits for all of them.
 * `thread` is in [0, pool_size) and identifies the per-thread scratch. pool may be NULL
 * (everything runs on the caller). Not re-entrant: fn must not call auris__pool_run. */
typedef void (*auris__task_fn)(void *ctx, int task, int thread);
void auris__pool_run(struct auris__pool *pool, auris__task_fn fn, void *ctx, int n_tasks);

/* ---- matrix products ---------------------------------------------------------------------- */

/* C[M][N] = A[M][K] · B[N][K]^T (+ bias[N] when non-NULL).
 * A, C: f32 with row strides lda, ldc (in elements). B: `btype` (F32, F16, BF16 or a block type)
 * with row stride ldb in elements; for a block type, K and ldb must be multiples of 32 (else the
 * call is a no-op). Block types run on int8 dot products for M <= 16 (auris__gemv_qb) and are
 * dequantized panel by panel into the blocked GEMM otherwise.
 * This is y = x W^T + b for a PyTorch Linear weight W[N][K]. Parallel over the pool. */
void auris__gemm_nt(struct auris__pool *pool, int M, int N, int K,
                    const float *A, int lda,
                    const void *B, enum auris__dtype btype, int ldb,
                    const float *bias, float *C, int ldc);

/* C[M][N] = A[M][K] · B[K][N] (all f32). Used for attention weights times values. */
void auris__gemm_nn(struct auris__pool *pool, int M, int N, int K,
                    const float *A, int lda, const float *B, int ldb, float *C, int ldc);

/* The portable reference twins, single-threaded, always available (tests compare against them). */
void auris__gemm_nt_ref(int M, int N, int K, const float *A, int lda, const void *B,
                        enum auris__dtype btype, int ldb, const float *bias, float *C, int ldc);
void auris__gemm_nn_ref(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                        float *C, int ldc);

/* C[M][N] (+)= A[M][K] . W^T (+ bias[N]) for an int8 weight W = B[N][K], computed as
 * CTranslate2 does on CPU: each row of A quantized to int8 at run time (scale 127 / max|row|,
 * rounded to nearest even through the u8 shift its u8s8 GEMM uses), exact int32 dot products,
 * then y = c * (1 / a_scale) / w_scale[n] + bias[n]. Generic and AVX2 give bit-identical
 * results. acc: add into C (a residual). scratch as for auris__gemm_nt_serial (used when pool is
 * NULL). Parallel over the pool; bad sizes make it a no-op. (int8.c) */
void auris__gemm_i8r(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                     const struct auris__i8r *B, const float *bias, float *C, int ldc, int acc,
                     float *scratch);
/* The portable twin (single-threaded, plain loops; same numbers bit for bit). */
/* Which int8 dot kernel auris__gemm_i8r runs now: "avx512vnni", "avxvnni", "avx2" or
 * "generic" ("-saturate" appended under AURIS_INT8_COMPAT=saturate). Static string. */
const char *auris__i8_kernel(void);

void auris__gemm_i8r_ref(int M, int N, int K, const float *A, int lda, const struct auris__i8r *B,
                         const float *bias, float *C, int ldc);
/* out[0..k) = row `row` of W dequantized as CTranslate2 does: (float)q * (1 / scale). */
void auris__i8r_row_to_f32(const struct auris__i8r *w, int64_t row, float *out);

/* C[M][N] (+)= A[M][K] . W^T (+ bias[N]) for a ggml q8_0 weight W = B[N][K] (row stride ldb,
 * K and ldb multiples of 32) on int8 dot products: each row of A quantized per block of 32 at
 * run time (d = max|x| / 127, f32), exact integer block sums scaled by both block scales, as
 * ggml's q8_0 x q8_0 product (q8.c). Generic and AVX2 give the same bits, and a row's result
 * does not depend on M. acc: add into C. scratch: the caller's buffer of
 * AURIS__SCRATCH_FLOATS floats (NULL: the pool's thread-0 scratch, else allocated). Parallel
 * over N. Returns 0, or -1 (nothing written) for bad sizes or when it could not get memory:
 * the caller then takes its float path. */
int auris__gemv_q8_0(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                     const void *B, int ldb, const float *bias, float *C, int ldc, int acc,
                     float *scratch);
/* The same for any block type bt (q4_0, q4_1, q5_0, q5_1, q8_0; q8.c, q4.c): the weight's
 * codes times the int8 activations exactly in int32, each block's sum scaled by d_w d_a, plus
 * m_w d_a (sum of the block's activation codes) for q4_1 / q5_1, as ggml's q4_1 x q8_1. */
int auris__gemv_qb(struct auris__pool *pool, enum auris__dtype bt, int M, int N, int K,
                   const float *A, int lda, const void *B, int ldb, const float *bias, float *C,
                   int ldc, int acc, float *scratch);
void auris__gemv_qb_ref(enum auris__dtype bt, int M, int N, int K, const float *A, int lda,
                        const void *B, int ldb, const float *bias, float *C, int ldc);
/* The portable twin (single-threaded, plain loops, no acc; the same bits). */
void auris__gemv_q8_0_ref(int M, int N, int K, const float *A, int lda, const void *B, int ldb,
                          const float *bias, float *C, int ldc);

/* Name of the implementation in use ("generic", "avx2", "avx512"). */
const char *auris__kernels_isa(void);

/* ---- additions used inside the library -------------------------------------------------- */

/* Forces an implementation ("generic", "avx2", "avx512"); NULL re-detects (honouring AURIS_CPU).
 * Returns 0, or -1 when the name is unknown or the CPU lacks the features (nothing changes).
 * Not thread-safe with respect to running products: call it before starting work (tests). */
int auris__kernels_force(const char *isa);

/* The packing scratch of pool thread `thread` (as passed to a task), or NULL when pool is NULL
 * or thread is out of range. Owned by the gemm calls made from that thread. */
float *auris__pool_scratch(struct auris__pool *pool, int thread);

/* C += A·B^T (+ bias): as auris__gemm_nt but accumulating (residual connections). */
void auris__gemm_nt_acc(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                        const void *B, enum auris__dtype btype, int ldb, const float *bias,
                        float *C, int ldc);

/* x[j] = exp(scale (x[j] - max x)) / sum over [0, len), in fp32 (single-threaded; the attention
 * softmax). The vector version's exp has ~1e-7 relative error. */
void auris__softmax(float *x, int len, float scale);

/* Single-threaded products for use inside a pool task: `scratch` is that task's
 * auris__pool_scratch(pool, thread) (NULL: allocated per call, for cold paths only). */
void auris__gemm_nt_serial(int M, int N, int K, const float *A, int lda, const void *B,
                           enum auris__dtype btype, int ldb, const float *bias, float *C, int ldc,
                           float *scratch);
void auris__gemm_nn_serial(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                           float *C, int ldc, float *scratch);

/* ---- non-GEMM hot loops (ops_generic.c twins, ops_avx2.c), dispatched with the GEMM's ISA --
 * Single-threaded; callers split rows over the pool. No allocation; no-ops on empty input. */

/* y = (x - mean) / sqrt(var + eps) * w + b over one row of n floats (y may be x). */
void auris__k_layernorm(int n, const float *x, float *y, const float *w, const float *b,
                        float eps);
/* The same for `rows` rows with row strides ldx, ldy (in floats). */
void auris__k_layernorm_rows(int rows, int n, const float *x, size_t ldx, float *y, size_t ldy,
                             const float *w, const float *b, float eps);
/* x[0..n) = 0.5 x (1 + erf(x / sqrt 2)) (exact-erf GELU; the vector erf is within ~1e-7). */
void auris__k_gelu(float *x, size_t n);
/* c[i][j] = gelu(c[i][j] + bias[j]) for i < rows, j < cols, row stride ldc; bias may be NULL. */
void auris__k_bias_gelu(int rows, int cols, float *c, size_t ldc, const float *bias);
/* x[0..n) += y[0..n). */
void auris__k_add(float *x, const float *y, size_t n);
/* One block of keys of an online (flash) softmax row. s[0..len) holds raw scores; *m is the
 * row's running max of scale*s (-INFINITY before the first block) and *l its running sum of
 * exponentials (0 before the first block). Sets m' = max(*m, max_j scale*s[j]),
 * s[j] = exp(scale*s[j] - m'), *l = *l exp(*m - m') + sum_j s[j], *m = m', and returns
 * exp(old m - m'), the factor that rescales the row's output accumulator (0 on the first
 * block). len <= 0 returns 1 and changes nothing. */
float auris__k_softmax_block(float *s, int len, float scale, float *m, float *l);
/* One im2col row of a kernel-3 convolution over channel-major input src[c*ld + t]:
 * dst[3c+k] = src[c*ld + k - 1] for c < C, k < 3, where tap 0 reads 0 unless has_prev and tap 2
 * reads 0 unless has_next (the zero padding at either end). src points at the row's centre. */
void auris__k_unfold3(int C, const float *src, size_t ld, int has_prev, int has_next,
                      float *dst);
/* One im2col row of a kernel-3 convolution over time-major input: dst[3i+k] = s_k[i] for
 * i < n, k < 3; a NULL s_k (padding) reads as zeros. */
void auris__k_interleave3(int n, const float *s0, const float *s1, const float *s2, float *dst);
/* log(sum over x[i] != -inf of exp(x[i])), computed as max + log(sum exp(x - max)): the
 * decoder's log-softmax normaliser over the vocabulary. -inf when n <= 0 or every entry is
 * -inf; NaN when a NaN is among entries that are not all -inf. generic sums exp in double (the results auris has always had); avx2
 * uses a float exp (~1e-7 relative) with double partial sums, well inside the reference's own
 * float32 log_softmax rounding. */
double auris__k_log_sum_exp(const float *x, int n);
/* The index of the first maximum of x[0..n) (0 when n <= 1): torch.argmax's answer, NaN
 * entries never chosen unless x[0] is NaN, as the plain loop `if (x[i] > x[best])` does. */
int auris__k_argmax(const float *x, int n);

/* C[M][N] = gelu(A·B^T + bias) (exact-erf GELU): auris__gemm_nt with the bias and the GELU
 * applied to each C tile while it is in cache (the encoder's convolutions and first MLP layer). */
void auris__gemm_nt_gelu(struct auris__pool *pool, int M, int N, int K, const float *A, int lda,
                         const void *B, enum auris__dtype btype, int ldb, const float *bias,
                         float *C, int ldc);
/* ---- products over a B packed beforehand (flash attention's keys and values) -------------
 * A B used by many products is packed once into the micro-kernels' panel order and then read
 * in place. The panels belong to the ISA in use when they were packed: pack and use under the
 * same ISA (auris__kernels_force in between invalidates them). K <= AURIS_GEMM_PACK_KMAX. */
#define AURIS_GEMM_PACK_KMAX 256
/* Floats one packed N x K B takes (a multiple of 16, so consecutive panels stay 64-byte
 * aligned in a 64-byte aligned buffer); 0 for sizes out of range. */
size_t auris__gemm_pack_floats(int N, int K);
/* dst (64-byte aligned, auris__gemm_pack_floats(N, K) floats) = B packed, where B is f32
 * [N][K] with row stride ldb (_nt, B^T is used: keys) or [K][N] (_nn, values). */
void auris__gemm_pack_nt(int N, int K, const float *B, int ldb, float *dst);
void auris__gemm_pack_nn(int N, int K, const float *B, int ldb, float *dst);
/* C[M][N] = (acc ? C : 0) + A[M][K] · B, B packed by auris__gemm_pack_*(N, K). Single-threaded,
 * allocation-free; the products are bit-identical to auris__gemm_nt_serial/_nn_serial's. */
void auris__gemm_packed(int M, int N, int K, const float *A, int lda, const float *Bp, float *C,
                        int ldc, int acc);

/* ---- few-row streaming products (gemv.c, gemv_avx2.c) ------------------------------------ */

/* C[M][N] = A[M][K] · B[K][N] for B f32 or f16 (row stride ldb), single-threaded, any M: rows
 * in register blocks, each B row segment read once per block (attention weights times the
 * f16 cross-attention values). Other types or bad sizes: no-op. */
void auris__gemm_nn_rows(int M, int N, int K, const float *A, int lda, const void *B,
                         enum auris__dtype bt, int ldb, float *C, int ldc);
/* The same product continued: each output's sum goes on from C's value over these K terms, so
 * auris__gemm_nn_rows over the first piece of a K range and this over each later piece (in
 * order) give the bits of one auris__gemm_nn_rows call over the whole range (attention over a
 * sequence's keys kept in several pieces). For M <= 16, auris__gemm_nn_serial's bits too. */
void auris__gemm_nn_rows_resume(int M, int N, int K, const float *A, int lda, const void *B,
                                enum auris__dtype bt, int ldb, float *C, int ldc);
/* dst[0..n) = src[0..n) as IEEE half (round to nearest even; generic and F16C agree). */
void auris__k_f32_to_f16(const float *src, uint16_t *dst, size_t n);

#endif /* AURIS_KERNELS_H */
