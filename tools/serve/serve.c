/*
 * serve.c — `auris serve`: options, start-up (one model, N worker sessions, the HTTP daemon) and
 * the drain on SIGTERM/SIGINT.
 *
 * Reference: the options of issue 8 (host, port, workers, threads, queue, max_upload_mb, api_key,
 * served_model_name) with OpenAI's names for what clients see. Threads: by default each of the
 * W workers gets max(1, cores / W) threads, so W x T never exceeds the cores.
 * Invariants: SIGTERM/SIGINT/SIGPIPE are blocked in every thread and taken by sigwait in the
 * main thread only; on a signal new requests get 503, accepted ones finish (up to
 * --drain_timeout seconds), the daemon closes, the workers finish what is queued, exit 0.
 */
#include "cli/args.h"
#include "cli/cli.h"
#include "serve/serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct opt serve_opts[] = {
    {"model", 'm', OPT_STR, "model: official name or path, as for transcribe (required)", 0},
    {"assets", 0, OPT_STR, "directory with gpt2.tiktoken / multilingual.tiktoken", 0},
    {"host", 0, OPT_STR, "address to listen on (default: 127.0.0.1)", 0},
    {"port", 0, OPT_INT, "TCP port; 0 picks a free one, printed on stderr (default: 8000)", 0},
    {"workers", 0, OPT_INT, "requests transcribed at once, one session each (default: 2)", 0},
    {"threads", 0, OPT_INT, "threads per worker (default 0: cores / workers, at least 1)", 0},
    {"queue", 0, OPT_INT, "requests waiting for a worker; beyond it 429 (default: 64)", 0},
    {"max_upload_mb", 0, OPT_INT, "largest accepted request body in MiB; beyond it 413 (default: 25)", 0},
    {"api_key", 0, OPT_STR, "require 'Authorization: Bearer KEY' on /v1/* (default: $AURIS_API_KEY, else none)", 0},
    {"served_model_name", 0, OPT_STR, "the model name clients send; others get 404 model_not_found (default: whisper-1)", 0},
    {"timeout", 0, OPT_INT, "seconds a connection may stay idle before it is closed (default: 30)", 0},
    {"request_timeout", 0, OPT_INT, "seconds an upload may take in total; beyond it the connection is closed (default: 300)", 0},
    {"drain_timeout", 0, OPT_INT, "seconds SIGTERM waits for running requests (default: 600)", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_OPTS ((int)(sizeof serve_opts / sizeof serve_opts[0]))

static int drain_timeout_s = 600;

static int int_opt(const char *name, int def, int lo, int hi, int *out)
{
    struct opt *o = args_find(serve_opts, N_OPTS, name);
    *out = def;
    if (o->value && args_get_int(o, out) != 0)
        return -1;
    if (*out < lo || *out > hi) {
        fprintf(stderr, "auris: error: argument --%s: expected %d .. %d, got %d\n", name, lo, hi,
                *out);
        return -1;
    }
    return 0;
}

int serve_parse_options(int argc, char **argv, struct serve_config *c)
{
    const char *pos[1];
    int n_pos = 0;
    memset(c, 0, sizeof *c);
    if (args_parse(argc, argv, 2, serve_opts, N_OPTS, pos, 0, &n_pos) != 0)
        return -1;
    if (args_find(serve_opts, N_OPTS, "help")->value) {
        printf("usage: auris serve --model MODEL [options]\n\n"
               "An OpenAI-compatible transcription server: POST /v1/audio/transcriptions and\n"
               "/v1/audio/translations (multipart: file, model, language, prompt, response_format\n"
               "json|text|srt|vtt|verbose_json, temperature, timestamp_granularities[], stream and\n"
               "the transcribe options beam_size, best_of, patience, length_penalty,\n"
               "word_timestamps, condition_on_previous_text, carry_initial_prompt,\n"
               "without_timestamps, suppress_tokens, suppress_blank, compression_ratio_threshold,\n"
               "logprob_threshold, no_speech_threshold, temperature_increment_on_fallback, seed,\n"
               "prefix, max_initial_timestamp, hallucination_silence_threshold), GET /v1/models,\n"
               "/health, /metrics (Prometheus), /openapi.json. One access-log line per request\n"
               "on stderr. SIGTERM/SIGINT: new requests get 503, accepted ones finish, exit 0.\n\n"
               "options:\n");
        for (int i = 0; i < N_OPTS; i++) {
            char left[64];
            if (serve_opts[i].short_name)
                snprintf(left, sizeof left, "-%c, --%s", serve_opts[i].short_name,
                         serve_opts[i].name);
            else
                snprintf(left, sizeof left, "    --%s", serve_opts[i].name);
            printf("  %-26s %s\n", left, serve_opts[i].help);
        }
        return 1;
    }
    c->model = args_find(serve_opts, N_OPTS, "model")->value;
    if (!c->model) {
        fprintf(stderr, "auris: error: the following arguments are required: --model\n");
        return -1;
    }
    c->assets = args_find(serve_opts, N_OPTS, "assets")->value;
    c->host = args_find(serve_opts, N_OPTS, "host")->value;
    if (!c->host)
        c->host = "127.0.0.1";
    c->api_key = args_find(serve_opts, N_OPTS, "api_key")->value;
    if (!c->api_key && getenv("AURIS_API_KEY") && *getenv("AURIS_API_KEY"))
        c->api_key = getenv("AURIS_API_KEY");
    c->served_model_name = args_find(serve_opts, N_OPTS, "served_model_name")->value;
    if (!c->served_model_name)
        c->served_model_name = "whisper-1";
    if (int_opt("port", 8000, 0, 65535, &c->port) || int_opt("workers", 2, 1, 256, &c->workers) ||
        int_opt("threads", 0, 0, 1024, &c->threads) ||
        int_opt("queue", 64, 0, 100000, &c->queue) ||
        int_opt("max_upload_mb", 25, 1, 4096, &c->max_upload_mb) ||
        int_opt("timeout", 30, 1, 86400, &c->timeout_s) ||
        int_opt("request_timeout", 300, 1, 86400, &c->request_timeout_s) ||
        int_opt("drain_timeout", 600, 0, 86400, &drain_timeout_s))
        return -1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    if (c->threads == 0)
        c->threads = (int)(cores / c->workers > 0 ? cores / c->workers : 1);
    else if ((long)c->workers * c->threads > cores)
        fprintf(stderr, "auris: warning: --workers %d x --threads %d exceeds the %ld cores\n",
                c->workers, c->threads, cores);
    return 0;
}

int cli_cmd_serve(int argc, char **argv)
{
    struct serve_config c;
    int rc = serve_parse_options(argc, argv, &c);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread made from here on */
    auris_model *model = NULL;
    if (cli_load_model(c.model, c.assets, &model) != 0)
        return 1;
    struct auris_error err = {0};
    struct pool *pool = jobs_start(model, c.workers, c.threads, c.queue, &err);
    if (!pool) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        auris_model_free(model);
        return 1;
    }
    struct server *srv = http_start(&c, model, pool, &err);
    if (!srv) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        jobs_stop(pool);
        auris_model_free(model);
        return 1;
    }
    fprintf(stderr, "auris serve: model %s as '%s', %d workers x %d threads, queue %d\n", c.model,
            c.served_model_name, c.workers, c.threads, c.queue);
    int sig = 0;
    sigdelset(&sigs, SIGPIPE);
    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "auris serve: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_stop(srv, drain_timeout_s);
    jobs_stop(pool);
    auris_model_free(model);
    fprintf(stderr, "auris serve: stopped\n");
    return 0;
}
