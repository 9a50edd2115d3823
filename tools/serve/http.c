/*
 * http.c — the HTTP side of `auris serve` on libmicrohttpd: routing, authentication, uploads
 * through MHD's multipart post processor, limits, waiting for jobs, streaming, access log.
 *
 * Reference: libmicrohttpd's access-handler protocol (first call with headers only, then one call
 * per chunk of body, then a final call with *upload_data_size == 0), OpenAI's statuses and error
 * object for the audio API. One thread per connection (MHD_USE_THREAD_PER_CONNECTION): the
 * connection's thread receives the upload into an unlinked temporary file, decodes the audio
 * (400 if it does not decode), submits a job (429 + Retry-After beyond the queue) and waits for
 * it, polling its socket so that a client that disconnects cancels its job (the worker's
 * should_abort sees the flag within one decoding step). Streaming responses are fed from the
 * job's event buffer by MHD_create_response_from_callback.
 * Invariants: a size over --max_upload_mb is refused from Content-Length before any body byte is
 * read (413 at once); a body without a declared size that passes it is discarded unread from
 * then on and answered 413 when it ends (MHD sends answers after the body), and past twice the
 * limit, or past --request_timeout, the connection is closed; nothing of a request outlives its completion
 * callback except a job still referenced by its worker; every error body is OpenAI's shape.
 */
#include "serve/serve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum route { R_NONE = 0, R_TRANSCRIBE, R_TRANSLATE, R_MODELS, R_MODEL, R_HEALTH, R_METRICS,
             R_OPENAPI };

struct server {
    struct MHD_Daemon *d;
    const struct serve_config *c;
    const auris_model *model;
    struct pool *pool;
    atomic_bool draining;
    atomic_int active;        /* accepted transcription requests not yet completed */
};

struct req {
    struct server *srv;
    char method[16];
    char path[160];
    enum route route;
    double t0;
    int status;               /* of the queued response */
    bool responded;
    struct MHD_PostProcessor *pp;
    struct job *job;
    int fd;                   /* upload, unlinked; -1 when none */
    bool have_file;
    uint64_t received;
    char *key, *val;          /* the form field being received */
    size_t val_len;
    struct serve_bad bad;     /* first error met while receiving */
    bool failed;
    bool accepted;            /* submitted to the workers: counted in server.active */
    MHD_socket sock;
};

/* ---- responses ------------------------------------------------------------------------------ */

static enum MHD_Result respond(struct MHD_Connection *conn, struct req *r, int status,
                               char *body, size_t len, const char *type)
{
    struct MHD_Response *resp = body ? MHD_create_response_from_buffer(len, body,
                                                                       MHD_RESPMEM_MUST_FREE)
                                     : NULL;
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == 429 || status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                r->route == R_TRANSCRIBE || r->route == R_TRANSLATE ? "POST"
                                                                                    : "GET, HEAD");
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->responded = true;
    return ok;
}

static const char *error_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 429: return "rate_limit_error";
    case 500: return "server_error";
    case 503: return "server_error";
    default: return "invalid_request_error";
    }
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, struct req *r, int status,
                                     const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result respond_error(struct MHD_Connection *conn, struct req *r, int status,
                                     const char *param, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *body = format_error(msg, error_type(status), param, code);
    return respond(conn, r, status, body, body ? strlen(body) : 0, "application/json");
}

static enum MHD_Result respond_bad(struct MHD_Connection *conn, struct req *r)
{
    return respond_error(conn, r, r->bad.status ? r->bad.status : 400, r->bad.param, r->bad.code,
                         "%s", r->bad.message);
}

/* ---- routing and checks --------------------------------------------------------------------- */

static enum route route_of(const char *url)
{
    static const struct { const char *path; enum route r; } routes[] = {
        {"/v1/audio/transcriptions", R_TRANSCRIBE}, {"/v1/audio/translations", R_TRANSLATE},
        {"/v1/models", R_MODELS}, {"/health", R_HEALTH}, {"/metrics", R_METRICS},
        {"/openapi.json", R_OPENAPI},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(url, routes[i].path) == 0)
            return routes[i].r;
    if (strncmp(url, "/v1/models/", 11) == 0 && url[11])
        return R_MODEL;
    return R_NONE;
}

/* Constant-time comparison of the Authorization header with "Bearer <key>". */
static bool authorized(struct MHD_Connection *conn, const char *key)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    size_t a = strlen(given), b = strlen(key), n = a > b ? a : b;
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(i < a ? given[i] : 0) ^ (unsigned char)(i < b ? key[i] : 0);
    return diff == 0;
}

/* True when the peer closed or reset the connection (pending request bytes do not count). */
static bool client_gone(MHD_socket s)
{
    if (s == MHD_INVALID_SOCKET)
        return false;
    char c;
    ssize_t n = recv(s, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static enum MHD_Result answer_get(struct MHD_Connection *conn, struct req *r)
{
    struct server *srv = r->srv;
    switch (r->route) {
    case R_HEALTH: {
        bool d = atomic_load(&srv->draining);
        char *b = strdup(d ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}");
        return respond(conn, r, d ? 503 : 200, b, b ? strlen(b) : 0, "application/json");
    }
    case R_METRICS: {
        char *b = metrics_text(srv->pool);
        return respond(conn, r, 200, b, b ? strlen(b) : 0, "text/plain; version=0.0.4");
    }
    case R_OPENAPI: {
        char *b = strdup(serve_openapi_json());
        return respond(conn, r, 200, b, b ? strlen(b) : 0, "application/json");
    }
    case R_MODELS: {
        char *b = format_models(srv->c->served_model_name);
        return respond(conn, r, 200, b, b ? strlen(b) : 0, "application/json");
    }
    case R_MODEL: {
        const char *id = r->path + 11;
        if (strcmp(id, srv->c->served_model_name) != 0)
            return respond_error(conn, r, 404, "model", "model_not_found",
                                 "The model '%.100s' does not exist", id);
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", id);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", 0);
        cJSON_AddStringToObject(m, "owned_by", "auris");
        char *b = cJSON_PrintUnformatted(m);
        cJSON_Delete(m);
        return respond(conn, r, 200, b, b ? strlen(b) : 0, "application/json");
    }
    default:
        return MHD_NO;
    }
}

/* ---- the upload ----------------------------------------------------------------------------- */

static void fail(struct req *r, int status, const char *param, const char *code, const char *msg)
{
    if (r->failed)
        return;
    r->failed = true;
    r->bad.status = status;
    r->bad.param = param;
    r->bad.code = code;
    snprintf(r->bad.message, sizeof r->bad.message, "%s", msg);
}

/* Applies the field received so far (if any). */
static void flush_field(struct req *r)
{
    if (!r->key)
        return;
    if (!r->failed && serve_form_field(&r->job->form, r->key, r->val ? r->val : "", &r->bad))
        r->failed = true;
    free(r->key);
    free(r->val);
    r->key = r->val = NULL;
    r->val_len = 0;
}

static int open_upload(struct req *r)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/auris-upload-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path); /* nothing is left behind, whatever happens */
    r->fd = fd;
    return 0;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
    struct req *r = cls;
    if (r->failed || !key)
        return r->failed ? MHD_NO : MHD_YES;
    if (strcmp(key, "file") == 0) {
        if (off == 0 && r->have_file && r->fd >= 0 && lseek(r->fd, 0, SEEK_CUR) > 0) {
            fail(r, 400, "file", "invalid_value", "Only one 'file' may be sent");
            return MHD_NO;
        }
        if (r->fd < 0 && open_upload(r) != 0) {
            fail(r, 500, NULL, NULL, "cannot store the upload");
            return MHD_NO;
        }
        r->have_file = true;
        for (size_t done = 0; done < size;) {
            ssize_t w = write(r->fd, data + done, size - done);
            if (w <= 0) {
                fail(r, 500, NULL, NULL, "cannot store the upload");
                return MHD_NO;
            }
            done += (size_t)w;
        }
        return MHD_YES;
    }
    /* a new value: another key, or the same key again (MHD may deliver a value's first bytes
     * in a zero-length call, so only a value that already has bytes ends at off == 0) */
    if (!r->key || strcmp(r->key, key) != 0 || (off == 0 && r->val_len > 0)) {
        flush_field(r);
        r->key = strdup(key);
        if (!r->key) {
            fail(r, 500, NULL, NULL, "out of memory");
            return MHD_NO;
        }
    }
    if (r->val_len + size > SERVE_MAX_FIELD) {
        fail(r, 400, NULL, "invalid_value", "a form field is longer than 64 KiB");
        return MHD_NO;
    }
    char *grown = realloc(r->val, r->val_len + size + 1);
    if (!grown) {
        fail(r, 500, NULL, NULL, "out of memory");
        return MHD_NO;
    }
    r->val = grown;
    memcpy(r->val + r->val_len, data, size);
    r->val_len += size;
    r->val[r->val_len] = '\0';
    if (memchr(r->val, '\0', r->val_len)) {
        fail(r, 400, key, "invalid_value", "a form field contains a NUL byte");
        return MHD_NO;
    }
    return MHD_YES;
}

/* The first call of a POST to a transcription route: auth, type and size checks. */
static enum MHD_Result begin_upload(struct MHD_Connection *conn, struct req *r)
{
    struct server *srv = r->srv;
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!type || strncasecmp(type, "multipart/form-data", 19) != 0)
        return respond_error(conn, r, 415, NULL, "unsupported_media_type",
                             "Content-Type must be multipart/form-data, got '%.100s'",
                             type ? type : "(none)");
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t limit = (uint64_t)srv->c->max_upload_mb << 20;
    if (cl && strtoull(cl, NULL, 10) > limit)
        return respond_error(conn, r, 413, "file", "file_too_large",
                             "Maximum content size limit (%d MB) exceeded", srv->c->max_upload_mb);
    r->job = job_new(r->route == R_TRANSLATE ? AURIS_TASK_TRANSLATE : AURIS_TASK_TRANSCRIBE);
    if (r->job)
        r->pp = MHD_create_post_processor(conn, 64 * 1024, on_field, r);
    if (!r->pp)
        return respond_error(conn, r, r->job ? 400 : 500, NULL, NULL,
                             r->job ? "malformed multipart/form-data (no boundary?)"
                                    : "out of memory");
    return MHD_YES;
}

/* ---- running the job ------------------------------------------------------------------------ */

static int status_of(enum auris_err rc)
{
    switch (rc) {
    case AURIS_ERR_INVALID_ARG: case AURIS_ERR_UNSUPPORTED: case AURIS_ERR_TOKENIZER:
    case AURIS_ERR_AUDIO: return 400;
    case AURIS_ERR_CANCELLED: return 499; /* the client is gone: nobody reads this */
    default: return 500;
    }
}

/* Waits (j->mu held) up to 100 ms for the job to signal, so the caller can poll its client. */
static void wait_tick(struct job *j)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&j->cv, &j->mu, &until);
}

static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct req *r = cls;
    struct job *j = r->job;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        if (pos < j->n_events) {
            size_t n = j->n_events - (size_t)pos;
            if (n > max)
                n = max;
            memcpy(buf, j->events + pos, n);
            pthread_mutex_unlock(&j->mu);
            return (ssize_t)n;
        }
        if (j->state == JOB_DONE) {
            pthread_mutex_unlock(&j->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        wait_tick(j);
        if (j->state != JOB_DONE && client_gone(r->sock)) {
            atomic_store(&j->cancel, true);
            pthread_mutex_unlock(&j->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

/* Waits for the job; false when the client went away (the job is then cancelled). */
static bool wait_job(struct req *r)
{
    struct job *j = r->job;
    pthread_mutex_lock(&j->mu);
    while (j->state != JOB_DONE) {
        wait_tick(j);
        if (j->state != JOB_DONE && client_gone(r->sock)) {
            atomic_store(&j->cancel, true);
            pthread_mutex_unlock(&j->mu);
            return false;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return true;
}

static enum MHD_Result finish_upload(struct MHD_Connection *conn, struct req *r)
{
    struct server *srv = r->srv;
    MHD_destroy_post_processor(r->pp);
    r->pp = NULL;
    flush_field(r);
    if (r->failed)
        return respond_bad(conn, r);
    if (!r->have_file)
        return respond_error(conn, r, 400, "file", NULL, "Missing required parameter: 'file'");
    if (serve_form_finish(&r->job->form, srv->c, srv->model, &r->bad))
        return respond_bad(conn, r);
    if (atomic_load(&srv->draining))
        return respond_error(conn, r, 503, NULL, "shutting_down", "The server is shutting down");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", r->fd);
    struct auris_error err = {0};
    if (auris_audio_load(path, &r->job->pcm, &r->job->n_samples, &err) != AURIS_OK)
        return respond_error(conn, r, 400, "file", "invalid_audio",
                             "The audio file could not be decoded: %s", err.message);
    close(r->fd);
    r->fd = -1;
    atomic_fetch_add(&srv->active, 1);
    r->accepted = true;
    if (jobs_submit(srv->pool, r->job) != 0)
        return respond_error(conn, r, 429, NULL, "rate_limit_exceeded",
                             "Too many requests are waiting; retry later");
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u); /* the job may be long */
    if (r->job->form.stream) {
        /* r (and its job reference) lives until the completion callback, after the response */
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384,
                                                                      read_events, r, NULL);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        /* the connection's timeout is off while the job runs: close it after the stream */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        enum MHD_Result ok = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
        r->status = 200;
        r->responded = true;
        return ok;
    }
    if (!wait_job(r)) {
        r->status = 499;
        return MHD_NO; /* close: the client is gone */
    }
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)srv->c->timeout_s);
    struct job *j = r->job;
    if (j->rc != AURIS_OK)
        return respond_error(conn, r, status_of(j->rc), NULL, NULL, "%s", j->err.message);
    size_t len = 0;
    const char *type = NULL;
    char *body = format_result(j, srv->model, &len, &type);
    if (!body)
        return respond_error(conn, r, 500, NULL, NULL, "out of memory formatting the result");
    return respond(conn, r, 200, body, len, type);
}

/* ---- the access handler --------------------------------------------------------------------- */

static enum MHD_Result first_call(struct server *srv, struct MHD_Connection *conn,
                                  const char *url, const char *method, void **con_cls)
{
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->srv = srv;
    r->fd = -1;
    r->t0 = serve_now();
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", url);
    r->route = route_of(url);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->sock = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
    *con_cls = r;
    bool post = strcmp(method, "POST") == 0;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool upload_route = r->route == R_TRANSCRIBE || r->route == R_TRANSLATE;
    if (r->route == R_NONE)
        return respond_error(conn, r, 404, NULL, "unknown_url", "Invalid URL (%s %.100s)",
                             r->method, r->path);
    if ((upload_route && !post) || (!upload_route && !get))
        return respond_error(conn, r, 405, NULL, "method_not_allowed",
                             "Method %s is not allowed on %.100s", r->method, r->path);
    bool open_route = r->route == R_HEALTH || r->route == R_OPENAPI || r->route == R_METRICS;
    if (srv->c->api_key && !open_route && !authorized(conn, srv->c->api_key))
        return respond_error(conn, r, 401, NULL, "invalid_api_key",
                             "Incorrect or missing API key: send 'Authorization: Bearer KEY'");
    if (!upload_route)
        return answer_get(conn, r);
    if (atomic_load(&srv->draining))
        return respond_error(conn, r, 503, NULL, "shutting_down", "The server is shutting down");
    return begin_upload(conn, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct req *r = *con_cls;
    if (!r)
        return first_call(srv, conn, url, method, con_cls);
    if (r->responded) { /* answered at the first call: MHD discards the body itself */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        uint64_t limit = (uint64_t)srv->c->max_upload_mb << 20;
        r->received += *upload_data_size;
        if (r->received > 2 * limit || serve_now() - r->t0 > srv->c->request_timeout_s) {
            r->status = r->received > 2 * limit ? 413 : 408;
            return MHD_NO; /* far too large or too slow: close the connection now */
        }
        if (r->received > limit) {
            char msg[96];
            snprintf(msg, sizeof msg, "Maximum content size limit (%d MB) exceeded",
                     srv->c->max_upload_mb);
            fail(r, 413, "file", "file_too_large", msg); /* the rest is discarded unread */
        }
        if (!r->failed && MHD_post_process(r->pp, upload_data, *upload_data_size) != MHD_YES &&
            !r->failed)
            fail(r, 400, NULL, "invalid_value", "malformed multipart/form-data body");
        *upload_data_size = 0;
        return MHD_YES;
    }
    return finish_upload(conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct server *srv = cls;
    struct req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    double audio_s = 0, queue_ms = 0, proc_ms = 0;
    if (r->job) {
        struct job *j = r->job;
        pthread_mutex_lock(&j->mu);
        if (j->state != JOB_DONE)
            atomic_store(&j->cancel, true);
        if (j->t_queued > 0)
            queue_ms = 1e3 * ((j->t_started > 0 ? j->t_started : serve_now()) - j->t_queued);
        if (j->t_started > 0)
            proc_ms = 1e3 * ((j->t_done > 0 ? j->t_done : serve_now()) - j->t_started);
        audio_s = (double)j->n_samples / AURIS_SAMPLE_RATE;
        pthread_mutex_unlock(&j->mu);
        if (r->status == 200 && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            r->status = 499; /* the client left before the whole answer */
    }
    if (!r->responded && r->status == 0)
        r->status = 499;
    fprintf(stderr, "auris serve: %s %s %d audio_s=%.3f queue_ms=%.1f processing_ms=%.1f\n",
            r->method, r->path, r->status, audio_s, queue_ms, proc_ms);
    metrics_record(r->path, r->status, r->status == 200 ? audio_s : 0, proc_ms / 1e3);
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    if (r->fd >= 0)
        close(r->fd);
    free(r->key);
    free(r->val);
    job_unref(r->job);
    if (r->accepted)
        atomic_fetch_sub(&srv->active, 1);
    free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    fprintf(stderr, "auris serve: http: %s\n", buf);
}

struct server *http_start(const struct serve_config *c, const auris_model *model, struct pool *p,
                          struct auris_error *err)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s) {
        err->code = AURIS_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    s->c = c;
    s->model = model;
    s->pool = p;
    atomic_init(&s->draining, false);
    atomic_init(&s->active, 0);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    int gai = getaddrinfo(c->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        err->code = AURIS_ERR_INVALID_ARG;
        snprintf(err->message, sizeof err->message, "--host %s: %s", c->host, gai_strerror(gai));
        free(s);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)(c->queue + c->workers + 64),
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        err->code = AURIS_ERR_IO;
        snprintf(err->message, sizeof err->message, "cannot listen on %s:%d (in use?)", c->host,
                 c->port);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "auris serve: listening on http://%s:%u\n", c->host,
            di ? (unsigned)di->port : (unsigned)c->port);
    return s;
}

void http_stop(struct server *s, double grace_s)
{
    if (!s)
        return;
    /* New requests get 503 (and /health 503) while the accepted ones finish; then the daemon
     * and every connection close. */
    atomic_store(&s->draining, true);
    double until = serve_now() + grace_s;
    while (atomic_load(&s->active) > 0 && serve_now() < until)
        usleep(20 * 1000);
    MHD_stop_daemon(s->d);
    free(s);
}
