/*
 * bench.c — `auris bench`: encoder and decoder timings of a model, as one JSON line.
 *
 * Method: one warm-up, then the median of --runs runs. encode_ms times one 30 s window (a
 * deterministic pseudo-random mel, since speed does not depend on content); decode_ms_per_token
 * times one sequence decoded token by token through the KV cache over 256 positions (cross K/V
 * already computed), averaged per token. Peak RSS is the process's, read after the runs.
 * Work figures come from the model's dims, not from counters: encode_gflop counts 2 flops per
 * multiply-add of everything auris__encode computes (conv1, conv2, per layer the Q/K/V/out
 * projections, Q K^T, P V and the MLP, and the decoder layers' cross-attention K/V
 * projections); decode_bytes_per_token is what one greedy step must read, averaged over the
 * timed positions: every decoder weight and the token embedding (the logits) at their stored
 * element type, the f32 biases and norms, the self-attention K/V cache up to the position and
 * the cross-attention K/V at their element type (f16 unless AURIS_CROSS_KV=f32). The GFLOP/s
 * and GB/s are those figures over the medians. Beam 5 (decode_ms_per_step_beam5, timed in the
 * same runs right after the greedy pass) is one step for all five beams: the network pass of
 * the five rows and the KV-cache reorder (one beam duplicated per step), without the
 * vocabulary math; its bytes count the weights and cross K/V once and the self-attention rows
 * the beams hold (one shared history and a few pages each: see decode_bytes), and
 * decode_beam5_ratio is its time over the greedy token's.
 */
#include "cli/args.h"
#include "cli/cli.h"
#include "decode/decode.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_POSITIONS 256

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* 2 x the multiply-adds of one auris__encode (see the header comment). */
static double encode_flop(const struct auris_model_dims *d)
{
    double T = d->n_audio_ctx, n = d->n_audio_state, C = d->n_mels;
    double conv = 2.0 * T * n * 3.0 * C + T * n * 3.0 * n;      /* conv1 on 2T frames, conv2 */
    double layer = 4.0 * T * n * n + 2.0 * T * T * n + 8.0 * T * n * n; /* proj, QK^T+PV, MLP */
    double cross = (double)d->n_text_layer * 2.0 * T * n * n;  /* cross K/V of the decoder */
    return 2.0 * (conv + (double)d->n_audio_layer * layer + cross);
}

static double tensor_bytes(const struct auris__tensor *t, double count)
{
    if (t->type == AURIS_DT_I8R) /* int8 rows and one f32 scale per row */
        return count + (double)t->ne[0] * 4.0;
    size_t b = auris__dtype_bytes(t->type, (size_t)count);
    return b ? (double)b : count * 4.0;
}

/* Bytes one decoding step of n_seq sequences reads, averaged over positions 0 .. positions-1:
 * the weights and cross K/V once, and the self K/V the sequences hold: beam_pass's beams all
 * descend from beam 0 of four steps before, so they share one history (kvcache.c) and each of
 * the others owns only its last positions, fewer than two pages of them. */
static double decode_bytes(const auris_model *m, int positions, int n_seq, double cross_bytes)
{
    const struct auris_model_dims *d = &m->dims;
    double n = d->n_text_state, T = d->n_audio_ctx, sq = n * n;
    double total = tensor_bytes(&m->tok_emb, (double)d->n_vocab * n) + 3.0 * n * 4.0;
    for (int l = 0; l < d->n_text_layer; l++) {
        const struct auris__block *b = &m->dec[l];
        const struct auris__tensor *sq_w[] = {&b->attn.q_w, &b->attn.k_w, &b->attn.v_w,
                                              &b->attn.o_w, &b->cross.q_w, &b->cross.o_w};
        for (int i = 0; i < 6; i++)
            total += tensor_bytes(sq_w[i], sq);
        total += tensor_bytes(&b->mlp0_w, 4.0 * sq) + tensor_bytes(&b->mlp2_w, 4.0 * sq);
        total += (6.0 * n + 6.0 * n + 5.0 * n) * 4.0;   /* 3 norms, 6 attention + 2 MLP biases */
        /* self K/V, on average over the positions */
        total += 2.0 * n * 4.0 * ((positions + 1) / 2.0 + (n_seq - 1) * 2.0 * AURIS__KV_PAGE);
        total += 2.0 * T * n * cross_bytes;             /* cross K/V */
    }
    return total;
}

static struct opt bench_opts[] = {
    {"model", 'm', OPT_STR, "model checkpoint (required)", 0},
    {"assets", 0, OPT_STR, "directory with the .tiktoken vocabularies", 0},
    {"threads", 0, OPT_INT, "worker threads (default: all online CPUs)", 0},
    {"runs", 0, OPT_INT, "timed runs after one warm-up (default 5)", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
    {"compute_type", 0, OPT_STR, "weight type: default, float32, float16, int8, int8_float32, int8_float16", 0},
};
#define N_BOPTS ((int)(sizeof bench_opts / sizeof bench_opts[0]))

#define BENCH_BEAM 5

/* One beam-search pass of `positions` steps over BENCH_BEAM beams: the first token on one
 * sequence, then the cache shared out and every step decodes all beams together followed by a
 * reorder in which beam 1 continues beam 0 and the last beam is dropped (one beam duplicated per
 * step, the common case of the reference's beam update). Returns ms per step, or < 0. */
static double beam_pass(auris_session *s, int positions)
{
    static const int src[BENCH_BEAM] = {0, 0, 1, 2, 3};
    static const int zeros[BENCH_BEAM] = {0};
    int tok[BENCH_BEAM] = {50257}, row = 0;
    double t0 = now_ms();
    auris__decoder_reset(&s->nn);
    if (auris__decode(&s->nn, tok, 1, &row, 1, s->work.logits) != AURIS_OK ||
        auris__kv_reorder(&s->nn, BENCH_BEAM, zeros) != AURIS_OK)
        return -1.0;
    for (int p = 1; p < positions; p++) {
        for (int b = 0; b < BENCH_BEAM; b++)
            tok[b] = (p * 31 + b * 7919) % 50000;
        if (auris__decode_batch(&s->nn, BENCH_BEAM, tok, 1, &row, 1, s->work.logits) !=
                AURIS_OK ||
            auris__kv_reorder(&s->nn, BENCH_BEAM, src) != AURIS_OK)
            return -1.0;
    }
    double ms = (now_ms() - t0) / positions;
    auris__decoder_reset(&s->nn);
    return ms;
}

static int run_bench(auris_session *s, int runs, double *enc_ms, double *dec_ms,
                     double *beam_ms)
{
    const auris_model *m = s->model;
    const struct auris_model_dims *d = &m->dims;
    size_t n_mel = (size_t)d->n_mels * AURIS_N_FRAMES;
    uint32_t x = 12345u;
    for (size_t i = 0; i < n_mel; i++) { /* xorshift: reproducible, content is irrelevant */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s->mel_window[i] = (float)(x % 2000u) / 1000.0f - 1.0f;
    }
    int positions = BENCH_POSITIONS < d->n_text_ctx ? BENCH_POSITIONS : d->n_text_ctx;
    double *te = malloc(sizeof(double) * (size_t)(runs + 1));
    double *td = malloc(sizeof(double) * (size_t)(runs + 1));
    double *tb = malloc(sizeof(double) * (size_t)(runs + 1));
    struct auris_error err = {0};
    if (!te || !td || !tb || auris__nn_reserve(&s->nn, BENCH_BEAM, &err) != AURIS_OK ||
        auris__decode_work_reserve(&s->work, d->n_vocab, d->n_text_ctx, BENCH_BEAM, 1, &err) !=
            AURIS_OK) {
        free(te);
        free(td);
        free(tb);
        return -1;
    }
    int rc = 0;
    for (int r = 0; r <= runs && rc == 0; r++) { /* run 0 is the warm-up */
        double t0 = now_ms();
        if (auris__encode(&s->nn, s->mel_window) != AURIS_OK)
            rc = -1;
        double t1 = now_ms();
        auris__decoder_reset(&s->nn);
        int tok = 50257, row = 0;
        for (int p = 0; p < positions && rc == 0; p++) {
            if (auris__decode(&s->nn, &tok, 1, &row, 1, s->logits) != AURIS_OK)
                rc = -1;
            tok = (tok * 31 + p) % 50000; /* any ordinary text token */
        }
        double t2 = now_ms();
        te[r] = t1 - t0;
        td[r] = (t2 - t1) / positions;
        if (rc == 0 && (tb[r] = beam_pass(s, positions)) < 0)
            rc = -1;
    }
    if (rc == 0) {
        *enc_ms = median(te + 1, runs);
        *dec_ms = median(td + 1, runs);
        *beam_ms = median(tb + 1, runs);
    }
    free(te);
    free(td);
    free(tb);
    return rc;
}

int cli_cmd_bench(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0, threads = 0, runs = 5;
    if (args_parse(argc, argv, 2, bench_opts, N_BOPTS, pos, 0, &n_pos) != 0)
        return 2;
    if (bench_opts[4].value) {
        printf("usage: auris bench --model PATH [--threads N] [--runs N] [--compute_type T]\n\n"
               "options:\n");
        for (int i = 0; i < N_BOPTS; i++)
            printf("  --%-12s %s\n", bench_opts[i].name, bench_opts[i].help);
        return 0;
    }
    if (args_get_int(&bench_opts[2], &threads) != 0 || args_get_int(&bench_opts[3], &runs) != 0)
        return 2;
    if (!bench_opts[0].value) {
        fprintf(stderr, "auris: error: the following arguments are required: --model\n");
        return 2;
    }
    if (runs < 1 || runs > 1000 || threads < 0) {
        fprintf(stderr, "auris: error: --runs must be in 1..1000 and --threads >= 0\n");
        return 2;
    }
    if (cli_set_compute_type(bench_opts[5].value) != 0)
        return 2;
    auris_model *m = NULL;
    if (cli_load_model(bench_opts[0].value, bench_opts[1].value, &m) != 0)
        return 1;
    struct auris_session_params sp = {.n_threads = threads};
    auris_session *s = NULL;
    struct auris_error err = {0};
    int rc = 1;
    double enc = 0, dec = 0, beam = 0;
    if (auris_session_create(m, &sp, &s, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
    } else if (run_bench(s, runs, &enc, &dec, &beam) != 0) {
        fprintf(stderr, "auris: error: benchmark failed\n");
    } else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        cJSON *name = cJSON_CreateString(bench_opts[0].value); /* escapes the path */
        char *model_json = name ? cJSON_PrintUnformatted(name) : NULL;
        cJSON_Delete(name);
        int positions = AURIS_MIN(BENCH_POSITIONS, m->dims.n_text_ctx);
        double cb = s->nn.cross_type == AURIS_DT_F16 ? 2.0 : 4.0; /* cross K/V element */
        double gflop = encode_flop(&m->dims) / 1e9, bytes = decode_bytes(m, positions, 1, cb);
        double bbytes = decode_bytes(m, positions, BENCH_BEAM, cb);
        printf("{\"model\": %s, \"threads\": %d, \"isa\": \"%s\", \"int8_kernel\": \"%s\", "
               "\"compute_type\": \"%s\", \"runs\": %d, "
               "\"encode_ms\": %.1f, \"encode_gflop\": %.2f, \"encode_gflops\": %.1f, "
               "\"decode_mode\": \"greedy\", \"decode_ms_per_token\": %.3f, "
               "\"decode_positions\": %d, \"decode_mb_per_token\": %.2f, "
               "\"decode_gbps\": %.2f, \"decode_ms_per_step_beam5\": %.3f, "
               "\"decode_beam5_ratio\": %.2f, \"decode_mb_per_step_beam5\": %.2f, "
               "\"decode_gbps_beam5\": %.2f, \"peak_rss_mb\": %.1f}\n",
               model_json ? model_json : "null", auris__pool_size(s->nn.pool),
               auris__kernels_isa(), auris__i8_kernel(), auris_compute_type_name(auris_model_compute_type(m)), runs,
               enc, gflop, enc > 0 ? gflop / (enc / 1e3) : 0.0,
               dec, positions, bytes / 1e6, dec > 0 ? bytes / 1e9 / (dec / 1e3) : 0.0, beam,
               dec > 0 ? beam / dec : 0.0, bbytes / 1e6,
               beam > 0 ? bbytes / 1e9 / (beam / 1e3) : 0.0, (double)ru.ru_maxrss / 1024.0);
        free(model_json);
        rc = 0;
    }
    auris_session_free(s);
    auris_model_free(m);
    return rc;
}
