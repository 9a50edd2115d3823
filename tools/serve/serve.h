/*
 * serve.h — `auris serve`: an OpenAI-compatible transcription server (internal interface of the
 * tools/serve files).
 *
 * Reference: OpenAI's audio API (POST /v1/audio/transcriptions and /translations, multipart form
 * fields, response formats json/text/srt/vtt/verbose_json, the error object
 * {"error":{"message","type","param","code"}}, text/event-stream transcript.text.delta/done).
 * Layout: options.c (command line), http.c (libmicrohttpd handler, uploads, routing, limits),
 * form.c (form fields -> transcription parameters), jobs.c (bounded queue and worker sessions),
 * format.c (response bodies), metrics.c (Prometheus text, access log), openapi.c.
 * Invariants: one model loaded once; every worker owns one session created at start; a job is
 * reference counted (the HTTP request and the worker that runs it) and freed by the last owner;
 * the worker never touches the connection; the connection thread never touches a session.
 */
#ifndef AURIS_SERVE_H
#define AURIS_SERVE_H

#include <auris.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SERVE_MAX_TEMPS 64
#define SERVE_MAX_FIELD (64 * 1024) /* longest accepted form field value (prompt) */

struct serve_config {
    const char *model;
    const char *model_dir;
    const char *assets;
    const char *host;
    int port;
    int workers;
    int threads;             /* per worker; 0: cores / workers (at least 1) */
    int queue;               /* jobs waiting for a worker beyond the running ones */
    int max_upload_mb;
    const char *api_key;     /* NULL: no authentication */
    const char *served_model_name;
    int timeout_s;           /* inactivity timeout of a connection */
    int request_timeout_s;   /* whole upload deadline (slow clients) */
};

/* Parses `auris serve` options into *c. Returns 0, 1 when --help was printed, -1 on a usage
 * error (message printed). */
int serve_parse_options(int argc, char **argv, struct serve_config *c);

/* ---- the request as transcription parameters (form.c) ---------------------------------------- */

enum serve_format { FMT_JSON = 0, FMT_TEXT, FMT_SRT, FMT_VTT, FMT_VERBOSE_JSON };

struct serve_form {
    struct auris_transcribe_params p;
    double temps[SERVE_MAX_TEMPS];
    double temperature, temperature_inc;
    enum serve_format format;
    bool stream;
    bool want_words, want_segments;  /* timestamp_granularities[] */
    bool has_granularities;
    char *language, *prompt, *prefix, *suppress_tokens, *model; /* owned */
};

/* A bad request found while reading the form. */
struct serve_bad {
    int status;              /* 400, 404 */
    const char *param;       /* static or NULL */
    const char *code;        /* static or NULL */
    char message[256];
};

void serve_form_init(struct serve_form *f, enum auris_task task);
void serve_form_clear(struct serve_form *f);
/* Applies one form field. Returns 0, or -1 with *bad filled. */
int serve_form_field(struct serve_form *f, const char *key, const char *value,
                     struct serve_bad *bad);
/* Checks the whole form (temperature schedule, model name) once every field was read. */
int serve_form_finish(struct serve_form *f, const struct serve_config *c,
                      const auris_model *model, struct serve_bad *bad);

/* ---- jobs (jobs.c) ------------------------------------------------------------------------------ */

enum job_state { JOB_QUEUED = 0, JOB_RUNNING, JOB_DONE };

struct job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                /* under mu */
    struct serve_form form;
    float *pcm;              /* [n_samples] 16 kHz mono */
    size_t n_samples;
    enum job_state state;    /* under mu */
    atomic_bool cancel;      /* set by the connection when the client is gone */
    enum auris_err rc;
    struct auris_error err;
    struct auris_result *result;
    char *events;            /* streaming: text/event-stream bytes produced so far, under mu */
    size_t n_events, cap_events;
    double t_queued, t_started, t_done; /* monotonic seconds */
};

struct job *job_new(enum auris_task task);
void job_unref(struct job *j); /* NULL-safe; frees on the last reference */

struct pool;
/* Loads nothing: creates `n_workers` sessions of `model` (n_threads each) and their threads.
 * Returns NULL with *err filled on failure. */
struct pool *jobs_start(const auris_model *model, int n_workers, int n_threads, int max_queue,
                        struct auris_error *err);
/* Enqueues j (taking a reference). Returns 0, or -1 when the queue is full. */
int jobs_submit(struct pool *p, struct job *j);
/* Waits for every queued and running job, stops the workers, frees their sessions. NULL-safe. */
void jobs_stop(struct pool *p);
void jobs_gauges(struct pool *p, int *queued, int *busy);

double serve_now(void); /* monotonic seconds */

/* ---- responses (format.c) ------------------------------------------------------------------------ */

/* The body of a finished job in its format; malloc'd, *len bytes; *content_type static. NULL on
 * allocation failure. */
char *format_result(const struct job *j, const auris_model *model, size_t *len,
                    const char **content_type);
/* {"error":{"message","type","param","code"}}; malloc'd. */
char *format_error(const char *message, const char *type, const char *param, const char *code);
/* Appends one server-sent event "data: <json>\n\n" for a delta (segment text) or the final text. */
int format_event(struct job *j, const char *type, const char *text);
/* The JSON of GET /v1/models. */
char *format_models(const char *served_model_name);
const char *serve_openapi_json(void);

/* ---- metrics (metrics.c) ------------------------------------------------------------------------ */

void metrics_record(const char *endpoint, int status, double audio_s, double proc_s);
/* Prometheus text exposition; malloc'd. */
char *metrics_text(struct pool *p);

/* ---- HTTP (http.c) --------------------------------------------------------------------------------- */

struct server;
struct server *http_start(const struct serve_config *c, const auris_model *model, struct pool *p,
                          struct auris_error *err);
/* Drains: every new request gets 503 (Retry-After) and /health 503 while the accepted requests
 * finish (at most `grace_s` seconds), then the daemon and its connections close. NULL-safe. */
void http_stop(struct server *s, double grace_s);

int cli_cmd_serve(int argc, char **argv);

#endif /* AURIS_SERVE_H */
