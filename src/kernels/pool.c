/*
 * pool.c — persistent worker threads that run batches of independent tasks.
 *
 * Reference: the usual fork-join pool of BLAS/OpenMP runtimes. A job is one 64-bit atomic
 * "ticket" (generation | task count | next task); threads claim tasks by compare-and-swap on it,
 * so every task runs exactly once, and the caller returns when `done` reaches the task count.
 * Nobody waits for a worker that never got a task: on a busy machine a descheduled worker costs
 * nothing (the caller runs the tasks itself). Workers spin briefly for the next generation (a
 * decoded token issues many small jobs in quick succession), then sleep on a condition variable.
 * Invariants: one job at a time (auris__pool_run is not re-entrant); fn/ctx are read only after
 * a successful claim of an unfinished task, and the caller rewrites them only once every task
 * has finished, so they are stable while read. Every thread owns a 64-byte aligned scratch
 * buffer of AURIS__SCRATCH_FLOATS floats for packing.
 */
#include "kernels/kernels.h"
#include "kernels/gemm_impl.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* ~tens of microseconds of polling before sleeping: long enough to bridge the gaps between the
 * matrix products of one decoder step, short enough not to burn a core while idle. */
#define SPIN_ITERS 20000

struct worker {
    struct auris__pool *pool;
    int id;
    pthread_t thread;
    int started;
};

struct auris__pool {
    int n_threads;
    struct worker *workers;   /* [n_threads-1]; worker i has thread index i+1 */
    float **scratch;          /* [n_threads] each AURIS__SCRATCH_FLOATS */

    /* the current job */
    auris__task_fn fn;
    void *ctx;
    _Atomic uint64_t ticket;  /* generation << 40 | n_tasks << 20 | next task */
    atomic_int done;          /* tasks finished in this job */
    atomic_int stop;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int n_sleeping;
};

#define TASK_BITS 20
#define MAX_TASKS ((1 << TASK_BITS) - 1)
#define TICKET_GEN(t) ((t) >> (2 * TASK_BITS))
#define TICKET_N(t) ((int)(((t) >> TASK_BITS) & MAX_TASKS))
#define TICKET_NEXT(t) ((int)((t) & MAX_TASKS))

/* Claims and runs tasks of whatever job is current until none is left unclaimed. */
static void run_tasks(struct auris__pool *p, int thread)
{
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    while (TICKET_NEXT(t) < TICKET_N(t)) {
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* t was reloaded */
        p->fn(p->ctx, TICKET_NEXT(t), thread);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct auris__pool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = TICKET_GEN(atomic_load_explicit(&p->ticket, memory_order_acquire));
        for (int i = 0; gen == seen && i < SPIN_ITERS; i++) {
            CPU_RELAX();
            gen = TICKET_GEN(atomic_load_explicit(&p->ticket, memory_order_acquire));
        }
        if (gen == seen) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->n_sleeping, 1);
            while ((gen = TICKET_GEN(atomic_load(&p->ticket))) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->n_sleeping, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop))
            break;
        seen = gen;
        run_tasks(p, w->id);
    }
    return NULL;
}

struct auris__pool *auris__pool_create(int n_threads)
{
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)AURIS_MIN(n, 256) : 1;
    }
    if (n_threads > 1024)
        n_threads = 1024;
    struct auris__pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n_threads = n_threads;
    atomic_init(&p->ticket, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->n_sleeping, 0);
    int mu_ok = 0, cv_ok = 0;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail;
    mu_ok = 1;
    if (pthread_cond_init(&p->cv, NULL) != 0)
        goto fail;
    cv_ok = 1;
    p->scratch = calloc((size_t)n_threads, sizeof *p->scratch);
    if (!p->scratch)
        goto fail;
    for (int i = 0; i < n_threads; i++) {
        p->scratch[i] = auris__aligned_alloc(AURIS__SCRATCH_FLOATS * sizeof(float));
        if (!p->scratch[i])
            goto fail;
    }
    if (n_threads > 1) {
        p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers)
            goto fail;
        for (int i = 0; i < n_threads - 1; i++) {
            p->workers[i].pool = p;
            p->workers[i].id = i + 1;
            if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
                goto fail;
            p->workers[i].started = 1;
        }
    }
    return p;
fail:
    if (!mu_ok || !cv_ok) {
        if (mu_ok)
            pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    auris__pool_free(p);
    return NULL;
}

void auris__pool_free(struct auris__pool *p)
{
    if (!p)
        return;
    if (p->workers) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        atomic_fetch_add(&p->ticket, (uint64_t)1 << (2 * TASK_BITS));
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n_threads - 1; i++)
            if (p->workers[i].started)
                pthread_join(p->workers[i].thread, NULL);
        free(p->workers);
    }
    if (p->scratch) {
        for (int i = 0; i < p->n_threads; i++)
            auris__aligned_free(p->scratch[i]);
        free(p->scratch);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int auris__pool_size(const struct auris__pool *p)
{
    return p ? p->n_threads : 1;
}

float *auris__pool_scratch(struct auris__pool *p, int thread)
{
    if (!p || thread < 0 || thread >= p->n_threads)
        return NULL;
    return p->scratch[thread];
}

/* Runs one job of at most MAX_TASKS tasks. */
static void run_job(struct auris__pool *p, auris__task_fn fn, void *ctx, int n_tasks)
{
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    uint64_t gen = TICKET_GEN(atomic_load_explicit(&p->ticket, memory_order_relaxed)) + 1;
    /* seq_cst publish, then look for sleepers: a worker either sees the new generation before it
     * sleeps or is counted in n_sleeping and woken here (it rechecks under the mutex). */
    atomic_store(&p->ticket, gen << (2 * TASK_BITS) | (uint64_t)n_tasks << TASK_BITS);
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_tasks(p, 0);
    for (int i = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks; i++) {
        if (i < SPIN_ITERS)
            CPU_RELAX();
        else
            sched_yield();
    }
}

struct offset_ctx {
    auris__task_fn fn;
    void *ctx;
    int base;
};

static void offset_task(void *c, int task, int thread)
{
    const struct offset_ctx *o = c;
    o->fn(o->ctx, o->base + task, thread);
}

void auris__pool_run(struct auris__pool *p, auris__task_fn fn, void *ctx, int n_tasks)
{
    if (!fn || n_tasks <= 0)
        return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    if (n_tasks <= MAX_TASKS) {
        run_job(p, fn, ctx, n_tasks);
        return;
    }
    for (int base = 0; base < n_tasks; base += MAX_TASKS) {
        struct offset_ctx o = {fn, ctx, base};
        run_job(p, offset_task, &o, AURIS_MIN(MAX_TASKS, n_tasks - base));
    }
}
