/*
 * jobs.c — the bounded job queue and the worker threads of `auris serve`.
 *
 * Each worker owns one auris_session created at start (the model is shared, read-only) and runs
 * one job at a time: auris_transcribe_pcm with the job's parameters, should_abort reading the
 * job's cancel flag (set by the connection when its client goes away), and for streaming jobs
 * on_segment appending a transcript.text.delta event. A FIFO: jobs_submit refuses a job when
 * `max_queue` jobs already wait besides the running ones (the caller answers 429).
 * Invariants: a queued job holds one reference owned by the queue, passed to the worker that
 * pops it and dropped when the job is done; the queue lock is never held while transcribing.
 */
#include "serve/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
    struct pool *pool;
    auris_session *session;
    pthread_t thread;
    bool started;
};

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* signalled on submit and stop */
    pthread_cond_t idle;      /* signalled when a job finishes */
    struct job **ring;        /* [max_queue] */
    int max_queue, head, n_queued, n_busy; /* max_queue: --queue + workers, the ring's size */
    bool stopping;
    struct worker *workers;   /* [n_workers] */
    int n_workers;
};

double serve_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct job *job_new(enum auris_task task)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (pthread_mutex_init(&j->mu, NULL) != 0) {
        free(j);
        return NULL;
    }
    if (pthread_cond_init(&j->cv, NULL) != 0) {
        pthread_mutex_destroy(&j->mu);
        free(j);
        return NULL;
    }
    j->refs = 1;
    atomic_init(&j->cancel, false);
    serve_form_init(&j->form, task);
    return j;
}

void job_unref(struct job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0)
        return;
    serve_form_clear(&j->form);
    auris_free(j->pcm);
    auris_result_free(j->result);
    free(j->events);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static bool job_aborted(void *user)
{
    struct job *j = user;
    return atomic_load(&j->cancel);
}

static bool job_segment(void *user, const struct auris_segment *seg)
{
    struct job *j = user;
    if (format_event(j, "transcript.text.delta", seg->text) != 0)
        return false; /* out of memory: cancel */
    return !atomic_load(&j->cancel);
}

static void run_job(struct worker *w, struct job *j)
{
    struct auris_transcribe_params p = j->form.p;
    p.user = j;
    p.should_abort = job_aborted;
    if (j->form.stream)
        p.on_segment = job_segment;
    pthread_mutex_lock(&j->mu);
    j->state = JOB_RUNNING;
    j->t_started = serve_now();
    pthread_mutex_unlock(&j->mu);
    struct auris_result *r = NULL;
    struct auris_error err = {0};
    enum auris_err rc = AURIS_ERR_CANCELLED;
    if (!atomic_load(&j->cancel))
        rc = auris_transcribe_pcm(w->session, j->pcm, j->n_samples, &p, &r, &err);
    else
        snprintf(err.message, sizeof err.message, "cancelled before it started");
    if (rc == AURIS_OK && j->form.stream && format_event(j, "transcript.text.done", r->text))
        rc = AURIS_ERR_NOMEM;
    if (rc != AURIS_OK && j->form.stream && !atomic_load(&j->cancel))
        (void)format_event(j, "error", err.message); /* the status line was already sent */
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->err = err;
    j->err.code = rc;
    j->result = r;
    j->state = JOB_DONE;
    j->t_done = serve_now();
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->n_queued == 0 && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->n_queued == 0)
            break; /* stopping and drained */
        struct job *j = p->ring[p->head];
        p->head = (p->head + 1) % p->max_queue;
        p->n_queued--;
        p->n_busy++;
        pthread_mutex_unlock(&p->mu);
        run_job(w, j);
        job_unref(j);
        pthread_mutex_lock(&p->mu);
        p->n_busy--;
        pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct pool *jobs_start(const auris_model *model, int n_workers, int n_threads, int max_queue,
                        struct auris_error *err)
{
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    p->max_queue = (max_queue > 0 ? max_queue : 0) + n_workers; /* ring capacity */
    p->ring = calloc((size_t)p->max_queue, sizeof *p->ring);
    p->workers = calloc((size_t)n_workers, sizeof *p->workers);
    if (!p->ring || !p->workers) {
        free(p->ring);
        free(p->workers);
        free(p);
        goto nomem;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->n_workers = n_workers;
    struct auris_session_params sp = auris_session_default_params();
    sp.n_threads = n_threads;
    for (int i = 0; i < n_workers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        if (auris_session_create(model, &sp, &w->session, err) != AURIS_OK) {
            jobs_stop(p);
            return NULL;
        }
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err->message, sizeof err->message, "cannot start worker thread %d", i);
            err->code = AURIS_ERR_NOMEM;
            jobs_stop(p);
            return NULL;
        }
        w->started = true;
    }
    return p;
nomem:
    err->code = AURIS_ERR_NOMEM;
    snprintf(err->message, sizeof err->message, "out of memory starting the workers");
    return NULL;
}

int jobs_submit(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->n_queued + p->n_busy >= p->max_queue) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    j->refs++;
    j->state = JOB_QUEUED;
    j->t_queued = serve_now();
    pthread_mutex_unlock(&j->mu);
    p->ring[(p->head + p->n_queued) % p->max_queue] = j;
    p->n_queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void jobs_gauges(struct pool *p, int *queued, int *busy)
{
    pthread_mutex_lock(&p->mu);
    *queued = p->n_queued;
    *busy = p->n_busy;
    pthread_mutex_unlock(&p->mu);
}

void jobs_stop(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) {
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
        auris_session_free(p->workers[i].session);
    }
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->ring);
    free(p);
}
