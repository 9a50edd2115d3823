/*
 * kernels.h — the compute kernels behind the network: a thread pool and matrix products.
 *
 * Every optimised kernel has a portable reference twin; the implementation is chosen once at run
 * time from the CPU's features, and AURIS_CPU=generic|avx2 overrides the choice (for tests and
 * for comparing). Layouts are row-major; weights follow PyTorch's Linear layout [out][in].
 * Invariant: kernels never allocate on the hot path (packing buffers live in the pool's
 * per-thread scratch, sized at pool creation).
 */
#ifndef AURIS_KERNELS_H
#define AURIS_KERNELS_H

#include "common.h"

enum auris__dtype { AURIS_DT_F32 = 0, AURIS_DT_F16 = 1 };

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
 * A, C: f32 with row strides lda, ldc (in elements). B: `btype` (F32 or F16) with row stride ldb.
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

/* Name of the implementation in use ("generic", "avx2"). */
const char *auris__kernels_isa(void);

#endif /* AURIS_KERNELS_H */
