/*
 * pool.c — one process-wide set of helper threads that every session's pool shares, running
 * batches of independent tasks.
 *
 * Reference: the usual fork-join pool of BLAS/OpenMP runtimes, made process-wide as
 * CTranslate2 and ONNX Runtime share one inter-op pool between sessions. A session's pool is a
 * handle {n_threads T, T scratch buffers}; the helpers (cores - 1 threads in the whole process,
 * started with the first handle that has T > 1, joined with the last) serve one job at a time:
 * auris__pool_run takes them when they are free and otherwise runs its tasks on its caller, so
 * concurrent sessions never wait for each other and never add threads — callers plus helpers
 * never exceed the cores when the callers' T add up to at most the cores (the server's default).
 * A handle with T == 1 never touches the helpers. A job is one 64-bit atomic "ticket"
 * (generation | task count | next task); threads claim tasks by compare-and-swap, so every task
 * runs exactly once, and the caller returns when `done` reaches the task count. Nobody waits for
 * a helper that never got a task: on a busy machine a descheduled helper costs nothing. Helpers
 * spin briefly for the next generation, then sleep on a condition variable; the caller, once
 * its own share is done, spins as briefly for the last tasks and then sleeps on `done_cv`
 * until the helper finishing the job's last task wakes it (no yield loop).
 * Invariants: helper i has thread index i + 1 and claims tasks only while i + 1 < the job's T
 * (read between loading a ticket and claiming from it, so it is that job's T), hence every
 * `thread` passed to a task indexes the running handle's scratch; fn/ctx/limit are rewritten
 * only once every task of the previous job has finished. Every thread index of a handle owns a
 * 64-byte aligned scratch buffer of AURIS__SCRATCH_FLOATS floats for packing.
 */
#include "kernels/kernels.h"
#include "kernels/gemm_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Polling before sleeping, bounded in time (a pause takes 10 to 150 cycles depending on the
 * CPU, so a count of pauses is not): long enough to bridge the gaps between the matrix products
 * of one decoder step, short enough that the serial work between steps (the vocabulary pass,
 * the beam update, word alignment) does not keep a second core busy polling — on a shared
 * machine that core is someone else's. The clock is read once per SPIN_CHECK pauses. */
#define SPIN_NS 50000
#define SPIN_CHECK 64

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The process-wide helper threads and the job they serve. */
struct helpers {
    int n;                    /* helper threads; helper i has thread index i + 1 */
    pthread_t *threads;       /* [n] */
    int n_started;

    /* the current job */
    auris__task_fn fn;
    void *ctx;
    atomic_int limit;         /* the job's T: thread indices < limit may claim tasks */
    _Atomic uint64_t ticket;  /* generation << 40 | n_tasks << 20 | next task */
    atomic_int done;          /* tasks finished in this job */
    atomic_int stop;
    atomic_int taken;         /* 1 while a job owns the helpers */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int n_sleeping;
    pthread_cond_t done_cv;   /* the caller waits here for the job's last task (under mu) */
    atomic_int caller_waiting;
};

struct auris__pool {
    int n_threads;            /* T: thread indices 0 .. T-1 (0 is the caller) */
    float **scratch;          /* [n_threads] each AURIS__SCRATCH_FLOATS */
    struct helpers *h;        /* the shared helpers, or NULL (T == 1 or none available) */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct helpers *g_helpers; /* under g_mu */
static int g_refs;                /* handles holding g_helpers, under g_mu */

#define TASK_BITS 20
#define MAX_TASKS ((1 << TASK_BITS) - 1)
#define TICKET_GEN(t) ((t) >> (2 * TASK_BITS))
#define TICKET_N(t) ((int)(((t) >> TASK_BITS) & MAX_TASKS))
#define TICKET_NEXT(t) ((int)((t) & MAX_TASKS))

/* Claims and runs tasks of whatever job is current until none is left unclaimed (or, for a
 * helper, until the current job does not want this thread index). */
static void run_tasks(struct helpers *h, int thread)
{
    uint64_t t = atomic_load_explicit(&h->ticket, memory_order_acquire);
    while (TICKET_NEXT(t) < TICKET_N(t)) {
        if (thread >= atomic_load_explicit(&h->limit, memory_order_relaxed))
            return;
        if (!atomic_compare_exchange_weak_explicit(&h->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* t was reloaded */
        h->fn(h->ctx, TICKET_NEXT(t), thread);
        /* seq_cst pair with the caller's caller_waiting store: either the caller sees this
         * count before it sleeps or this thread sees it waiting and wakes it */
        if (atomic_fetch_add(&h->done, 1) + 1 == TICKET_N(t) && atomic_load(&h->caller_waiting)) {
            pthread_mutex_lock(&h->mu);
            pthread_cond_broadcast(&h->done_cv);
            pthread_mutex_unlock(&h->mu);
        }
        t = atomic_load_explicit(&h->ticket, memory_order_acquire);
    }
}

struct helper_arg {
    struct helpers *h;
    int id;
};

static void *helper_main(void *arg)
{
    struct helpers *h = ((struct helper_arg *)arg)->h;
    int id = ((struct helper_arg *)arg)->id;
    free(arg);
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = TICKET_GEN(atomic_load_explicit(&h->ticket, memory_order_acquire));
        uint64_t t0 = gen == seen ? now_ns() : 0;
        for (int i = 1; gen == seen; i++) {
            CPU_RELAX();
            gen = TICKET_GEN(atomic_load_explicit(&h->ticket, memory_order_acquire));
            if (i % SPIN_CHECK == 0 && now_ns() - t0 > SPIN_NS)
                break;
        }
        if (gen == seen) {
            pthread_mutex_lock(&h->mu);
            atomic_fetch_add(&h->n_sleeping, 1);
            while ((gen = TICKET_GEN(atomic_load(&h->ticket))) == seen && !atomic_load(&h->stop))
                pthread_cond_wait(&h->cv, &h->mu);
            atomic_fetch_sub(&h->n_sleeping, 1);
            pthread_mutex_unlock(&h->mu);
        }
        if (atomic_load(&h->stop))
            break;
        seen = gen;
        run_tasks(h, id);
    }
    return NULL;
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)AURIS_MIN(n, 256) : 1;
}

static void helpers_free(struct helpers *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->stop, 1);
    atomic_fetch_add(&h->ticket, (uint64_t)1 << (2 * TASK_BITS));
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (int i = 0; i < h->n_started; i++)
        pthread_join(h->threads[i], NULL);
    free(h->threads);
    pthread_cond_destroy(&h->cv);
    pthread_cond_destroy(&h->done_cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* Starts cores - 1 helpers; NULL when there is no second core or on failure. */
static struct helpers *helpers_create(void)
{
    int n = online_cores() - 1;
    if (n < 1)
        return NULL;
    struct helpers *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->threads = calloc((size_t)n, sizeof *h->threads);
    if (!h->threads || pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h->threads);
        free(h);
        return NULL;
    }
    if (pthread_cond_init(&h->cv, NULL) != 0) {
        pthread_mutex_destroy(&h->mu);
        free(h->threads);
        free(h);
        return NULL;
    }
    if (pthread_cond_init(&h->done_cv, NULL) != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h->threads);
        free(h);
        return NULL;
    }
    h->n = n;
    atomic_init(&h->limit, 0);
    atomic_init(&h->ticket, 0);
    atomic_init(&h->done, 0);
    atomic_init(&h->stop, 0);
    atomic_init(&h->taken, 0);
    atomic_init(&h->n_sleeping, 0);
    atomic_init(&h->caller_waiting, 0);
    for (int i = 0; i < n; i++) {
        struct helper_arg *a = malloc(sizeof *a);
        if (a) {
            a->h = h;
            a->id = i + 1;
        }
        if (!a || pthread_create(&h->threads[i], NULL, helper_main, a) != 0) {
            free(a);
            break; /* fewer helpers: still correct */
        }
        h->n_started++;
    }
    if (h->n_started == 0) {
        helpers_free(h);
        return NULL;
    }
    return h;
}

/* A reference to the process-wide helpers (started on first use), or NULL. */
static struct helpers *helpers_acquire(void)
{
    pthread_mutex_lock(&g_mu);
    if (!g_helpers)
        g_helpers = helpers_create();
    if (g_helpers)
        g_refs++;
    struct helpers *h = g_helpers;
    pthread_mutex_unlock(&g_mu);
    return h;
}

static void helpers_release(struct helpers *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&g_mu);
    struct helpers *last = --g_refs == 0 ? g_helpers : NULL;
    if (last)
        g_helpers = NULL;
    pthread_mutex_unlock(&g_mu);
    helpers_free(last); /* joined outside g_mu */
}

struct auris__pool *auris__pool_create(int n_threads)
{
    if (n_threads <= 0)
        n_threads = online_cores();
    if (n_threads > 1024)
        n_threads = 1024;
    struct auris__pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n_threads = n_threads;
    p->scratch = calloc((size_t)n_threads, sizeof *p->scratch);
    if (!p->scratch)
        goto fail;
    for (int i = 0; i < n_threads; i++) {
        p->scratch[i] = auris__aligned_alloc(AURIS__SCRATCH_FLOATS * sizeof(float));
        if (!p->scratch[i])
            goto fail;
    }
    if (n_threads > 1)
        p->h = helpers_acquire(); /* NULL (one core): every job runs on the caller */
    return p;
fail:
    auris__pool_free(p);
    return NULL;
}

void auris__pool_free(struct auris__pool *p)
{
    if (!p)
        return;
    helpers_release(p->h);
    if (p->scratch) {
        for (int i = 0; i < p->n_threads; i++)
            auris__aligned_free(p->scratch[i]);
        free(p->scratch);
    }
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

/* Runs one job of at most MAX_TASKS tasks on the helpers (taken by the caller) and the caller. */
static void run_job(struct helpers *h, int limit, auris__task_fn fn, void *ctx, int n_tasks)
{
    h->fn = fn;
    h->ctx = ctx;
    atomic_store_explicit(&h->limit, limit, memory_order_relaxed);
    atomic_store_explicit(&h->done, 0, memory_order_relaxed);
    uint64_t gen = TICKET_GEN(atomic_load_explicit(&h->ticket, memory_order_relaxed)) + 1;
    /* seq_cst publish, then look for sleepers: a helper either sees the new generation before it
     * sleeps or is counted in n_sleeping and woken here (it rechecks under the mutex). */
    atomic_store(&h->ticket, gen << (2 * TASK_BITS) | (uint64_t)n_tasks << TASK_BITS);
    if (atomic_load(&h->n_sleeping) > 0) {
        pthread_mutex_lock(&h->mu);
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    run_tasks(h, 0);
    uint64_t t0 = now_ns();
    for (int i = 1;; i++) {
        if (atomic_load_explicit(&h->done, memory_order_acquire) >= n_tasks)
            return;
        CPU_RELAX();
        if (i % SPIN_CHECK == 0 && now_ns() - t0 > SPIN_NS)
            break;
    }
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->caller_waiting, 1);
    while (atomic_load(&h->done) < n_tasks)
        pthread_cond_wait(&h->done_cv, &h->mu);
    atomic_store(&h->caller_waiting, 0);
    pthread_mutex_unlock(&h->mu);
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
    struct helpers *h = p ? p->h : NULL;
    /* the helpers serve one job at a time: when another session holds them, run here */
    if (!h || n_tasks == 1 || atomic_exchange_explicit(&h->taken, 1, memory_order_acquire)) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    int limit = AURIS_MIN(p->n_threads, h->n_started + 1);
    if (n_tasks <= MAX_TASKS) {
        run_job(h, limit, fn, ctx, n_tasks);
    } else {
        for (int base = 0; base < n_tasks; base += MAX_TASKS) {
            struct offset_ctx o = {fn, ctx, base};
            run_job(h, limit, offset_task, &o, AURIS_MIN(MAX_TASKS, n_tasks - base));
        }
    }
    atomic_store_explicit(&h->taken, 0, memory_order_release);
}
