/*
 * test_pool_shared.c — the process-wide helper threads shared by several sessions' pools.
 *
 * Reference: src/kernels/pool.c's contract (auris__pool_run runs every task exactly once with a
 * thread index below the pool's size; concurrent pools never wait for each other).
 * Invariants checked: with several pools used at once from several threads, every task runs
 * exactly once and sees a thread index valid for its own pool; pools of size 1 only ever use
 * index 0 (their caller); pools created and freed repeatedly start and join the helpers cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "kernels/kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define N_TASKS 97
#define ROUNDS 3000

struct user {
    int n_threads;
    atomic_int hits[N_TASKS];
    atomic_int bad;
};

static void task(void *ctx, int t, int thread)
{
    struct user *u = ctx;
    atomic_fetch_add(&u->hits[t], 1);
    if (thread < 0 || thread >= u->n_threads)
        atomic_store(&u->bad, 1);
}

static void *session(void *arg)
{
    struct user *u = arg;
    struct auris__pool *p = auris__pool_create(u->n_threads);
    if (!p) {
        atomic_store(&u->bad, 2);
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N_TASKS; i++)
            atomic_store(&u->hits[i], 0);
        auris__pool_run(p, task, u, N_TASKS);
        for (int i = 0; i < N_TASKS; i++)
            if (atomic_load(&u->hits[i]) != 1)
                atomic_store(&u->bad, 3);
    }
    auris__pool_free(p);
    return NULL;
}

static void test_concurrent_pools(void **state)
{
    (void)state;
    int sizes[] = {1, 2, 4, 2};
    struct user u[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        u[i].n_threads = sizes[i];
        atomic_init(&u[i].bad, 0);
        for (int k = 0; k < N_TASKS; k++)
            atomic_init(&u[i].hits[k], 0);
        assert_int_equal(pthread_create(&th[i], NULL, session, &u[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&u[i].bad), 0);
    }
}

static void test_create_free_cycles(void **state)
{
    (void)state;
    for (int c = 0; c < 50; c++) {
        struct auris__pool *a = auris__pool_create(2), *b = auris__pool_create(3);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(auris__pool_size(b), 3);
        struct user u = {.n_threads = 2};
        atomic_init(&u.bad, 0);
        for (int k = 0; k < N_TASKS; k++)
            atomic_init(&u.hits[k], 0);
        auris__pool_run(a, task, &u, N_TASKS);
        auris__pool_free(a);
        u.n_threads = 3;
        auris__pool_run(b, task, &u, N_TASKS);
        auris__pool_free(b);
        for (int k = 0; k < N_TASKS; k++)
            assert_int_equal(atomic_load(&u.hits[k]), 2);
        assert_int_equal(atomic_load(&u.bad), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_pools),
        cmocka_unit_test(test_create_free_cycles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
