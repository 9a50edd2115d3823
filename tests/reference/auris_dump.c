/*
 * auris_dump.c — writes every intermediate stage of auris for one audio file, so that
 * tests/reference/parity.py can compare them with the PyTorch reference (whisper_ref.py).
 *
 * Reference: the stages of openai/whisper transcribe.py/decoding.py for the first 30 s window
 * (load_audio, log_mel_spectrogram(padding=N_SAMPLES), pad_or_trim, encoder, DecodingTask greedy
 * with suppress_tokens "-1", suppress_blank, without_timestamps).
 * Invariants: outputs are raw little-endian arrays (float32 or int32, row-major) plus meta.json
 * giving their shapes and the scalar results; text.txt holds the decoded text bytes verbatim.
 *
 * Usage: auris_dump --audio FILE --outdir D [--model M] [--language en|auto] [--threads N]
 *                   [--assets DIR] [--n-mels 80]
 * Without --model only pcm.f32, mel.f32 and window.f32 are written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auris.h"
#include "audio/audio.h"
#include "common.h"
#include "decode/decode.h"
#include "model/model.h"
#include "nn/nn.h"
#include "tokenizer/tokenizer.h"

#define PAD_SAMPLES 480000
#define WINDOW_FRAMES 3000

struct args {
    const char *model, *audio, *outdir, *language, *assets;
    int threads, n_mels;
};

static int usage(void)
{
    fprintf(stderr, "usage: auris_dump --audio FILE --outdir DIR [--model M] [--language en|auto]"
                    " [--threads N] [--assets DIR] [--n-mels 80]\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    a->language = "en";
    a->threads = 2;
    a->n_mels = 80;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc)
            return -1;
        const char *v = argv[++i];
        if (!strcmp(k, "--model"))
            a->model = v;
        else if (!strcmp(k, "--audio"))
            a->audio = v;
        else if (!strcmp(k, "--outdir"))
            a->outdir = v;
        else if (!strcmp(k, "--language"))
            a->language = v;
        else if (!strcmp(k, "--assets"))
            a->assets = v;
        else if (!strcmp(k, "--threads"))
            a->threads = atoi(v);
        else if (!strcmp(k, "--n-mels"))
            a->n_mels = atoi(v);
        else
            return -1;
    }
    return (a->audio && a->outdir && a->n_mels > 0) ? 0 : -1;
}

static int write_raw(const char *dir, const char *name, const void *data, size_t elem,
                     size_t count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "auris_dump: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = count ? fwrite(data, elem, count, f) : 0;
    int bad = (n != count) | (fclose(f) != 0);
    if (bad)
        fprintf(stderr, "auris_dump: short write to %s\n", path);
    return bad ? -1 : 0;
}

/* Everything the model part produces, gathered for meta.json. */
struct model_out {
    int n_ctx, n_state, n_vocab, n_start, n_tokens, n_rows, language_token;
    struct auris__decode_result res;
};

static int fail_err(const char *what, const struct auris_error *err)
{
    fprintf(stderr, "auris_dump: %s: %s (%s)\n", what, err->message, auris_strerror(err->code));
    return -1;
}

/* Encoder, greedy decoding and teacher-forced logits of the first window. */
static int run_model(const struct args *a, const float *window, struct model_out *mo)
{
    struct auris_error err = {0};
    auris_model *model = NULL;
    auris_session *s = NULL;
    int *suppress = NULL, *seq = NULL, *rows = NULL;
    size_t n_suppress = 0;
    float *logits = NULL;
    int rc = -1;

    struct auris_model_params mp = auris_model_default_params();
    mp.assets_dir = a->assets;
    if (auris_model_load(a->model, &mp, &model, &err) != AURIS_OK) {
        fail_err("loading the model", &err);
        goto done;
    }
    const struct auris_model_dims *d = auris_model_get_dims(model);
    if (d->n_mels != a->n_mels) {
        fprintf(stderr, "auris_dump: model has n_mels %d, pass --n-mels %d\n", d->n_mels,
                d->n_mels);
        goto done;
    }
    struct auris_session_params sp = auris_session_default_params();
    sp.n_threads = a->threads;
    if (auris_session_create(model, &sp, &s, &err) != AURIS_OK) {
        fail_err("creating the session", &err);
        goto done;
    }
    if (auris__encode(&s->nn, window) != AURIS_OK) {
        fprintf(stderr, "auris_dump: auris__encode failed\n");
        goto done;
    }
    mo->n_ctx = d->n_audio_ctx;
    mo->n_state = d->n_audio_state;
    mo->n_vocab = d->n_vocab;
    if (write_raw(a->outdir, "encoder.f32", s->nn.enc_x, sizeof(float),
                  (size_t)d->n_audio_ctx * (size_t)d->n_audio_state))
        goto done;

    const struct auris__tokenizer *tok = model->tok;
    const struct auris__specials *spc = auris__tokenizer_specials(tok);
    if (auris__suppress_tokens(tok, "-1", &suppress, &n_suppress, &err) != AURIS_OK) {
        fail_err("building the suppress list", &err);
        goto done;
    }
    struct auris__decode_options o = {0};
    o.task = AURIS_TASK_TRANSCRIBE;
    o.language_token = -1;
    if (spc->n_langs > 0) {
        if (!strcmp(a->language, "auto")) {
            o.language_token = spc->lang_begin + auris__detect_language_encoded(s, NULL);
        } else {
            o.language_token = auris__tokenizer_language_token(tok, a->language);
            if (o.language_token < 0) {
                fprintf(stderr, "auris_dump: unknown language %s\n", a->language);
                goto done;
            }
        }
    }
    mo->language_token = o.language_token;
    o.without_timestamps = true;
    o.suppress_blank = true;
    o.suppress = suppress;
    o.n_suppress = n_suppress;
    o.sample_len = d->n_text_ctx / 2;
    if (auris__decode_greedy(s, &o, &mo->res, &err) != AURIS_OK) {
        fail_err("greedy decoding", &err);
        goto done;
    }

    /* teacher forcing: the start sequence and the sampled tokens in one decoder call */
    int start[4];
    mo->n_start = auris__sot_sequence(tok, &o, start);
    mo->n_tokens = mo->res.n_tokens;
    int n = mo->n_start + mo->n_tokens;
    if (n > d->n_text_ctx) {
        fprintf(stderr, "auris_dump: sequence of %d tokens exceeds n_text_ctx\n", n);
        goto done;
    }
    seq = malloc((size_t)n * sizeof *seq);
    rows = malloc((size_t)n * sizeof *rows);
    logits = malloc((size_t)n * (size_t)d->n_vocab * sizeof *logits);
    if (!seq || !rows || !logits) {
        fprintf(stderr, "auris_dump: out of memory\n");
        goto done;
    }
    memcpy(seq, start, (size_t)mo->n_start * sizeof *seq);
    if (mo->n_tokens)
        memcpy(seq + mo->n_start, mo->res.tokens, (size_t)mo->n_tokens * sizeof *seq);
    for (int i = 0; i < n; i++)
        rows[i] = i;
    auris__decoder_reset(&s->nn);
    if (auris__decode(&s->nn, seq, n, rows, n, logits) != AURIS_OK) {
        fprintf(stderr, "auris_dump: teacher-forced auris__decode failed\n");
        goto done;
    }
    mo->n_rows = n;
    if (write_raw(a->outdir, "sequence.i32", seq, sizeof(int), (size_t)n) ||
        write_raw(a->outdir, "logits.f32", logits, sizeof(float), (size_t)n * d->n_vocab) ||
        write_raw(a->outdir, "text.txt", mo->res.text ? mo->res.text : "", 1,
                  mo->res.text ? strlen(mo->res.text) : 0))
        goto done;
    rc = 0;
done:
    free(logits);
    free(rows);
    free(seq);
    free(suppress);
    auris_session_free(s);
    auris_model_free(model);
    return rc;
}

static int write_meta(const struct args *a, size_t n_samples, int n_frames,
                      const struct model_out *mo)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", a->outdir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"n_samples\": %zu,\n  \"n_mels\": %d,\n  \"n_frames\": %d,\n"
               "  \"window_frames\": %d",
            n_samples, a->n_mels, n_frames, WINDOW_FRAMES);
    if (a->model) {
        const struct auris__decode_result *r = &mo->res;
        fprintf(f, ",\n  \"n_audio_ctx\": %d,\n  \"n_audio_state\": %d,\n  \"n_vocab\": %d,\n"
                   "  \"n_start\": %d,\n  \"n_tokens\": %d,\n  \"n_rows\": %d,\n"
                   "  \"language_token\": %d,\n  \"sum_logprob\": %.17g,\n"
                   "  \"avg_logprob\": %.17g,\n  \"no_speech_prob\": %.17g,\n"
                   "  \"compression_ratio\": %.17g",
                mo->n_ctx, mo->n_state, mo->n_vocab, mo->n_start, mo->n_tokens, mo->n_rows,
                mo->language_token, r->sum_logprob, r->avg_logprob, r->no_speech_prob,
                r->compression_ratio);
    }
    fprintf(f, "\n}\n");
    return fclose(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct args a;
    if (parse_args(argc, argv, &a))
        return usage();
    struct auris_error err = {0};
    float *pcm = NULL, *mel = NULL, *filters = NULL, *window = NULL;
    size_t n_samples = 0;
    int n_frames = 0, rc = 1;
    struct model_out mo;
    memset(&mo, 0, sizeof mo);

    if (auris_audio_load(a.audio, &pcm, &n_samples, &err) != AURIS_OK) {
        fail_err("loading audio", &err);
        goto done;
    }
    if (write_raw(a.outdir, "pcm.f32", pcm, sizeof(float), n_samples))
        goto done;
    filters = malloc((size_t)a.n_mels * 201 * sizeof *filters);
    window = malloc((size_t)a.n_mels * WINDOW_FRAMES * sizeof *window);
    if (!filters || !window) {
        fprintf(stderr, "auris_dump: out of memory\n");
        goto done;
    }
    if (auris__mel_filters(a.n_mels, filters) != AURIS_OK) {
        fprintf(stderr, "auris_dump: auris__mel_filters(%d) failed\n", a.n_mels);
        goto done;
    }
    if (auris__log_mel(pcm, n_samples, PAD_SAMPLES, filters, a.n_mels, a.threads, &mel,
                       &n_frames, &err) != AURIS_OK) {
        fail_err("log-mel", &err);
        goto done;
    }
    auris__mel_window(mel, a.n_mels, n_frames, 0, window);
    if (write_raw(a.outdir, "mel.f32", mel, sizeof(float), (size_t)a.n_mels * n_frames) ||
        write_raw(a.outdir, "window.f32", window, sizeof(float),
                  (size_t)a.n_mels * WINDOW_FRAMES))
        goto done;
    if (a.model && run_model(&a, window, &mo))
        goto done;
    if (write_meta(&a, n_samples, n_frames, &mo)) {
        fprintf(stderr, "auris_dump: cannot write meta.json\n");
        goto done;
    }
    rc = 0;
done:
    auris__decode_result_clear(&mo.res);
    free(window);
    free(filters);
    free(mel);
    auris_free(pcm);
    return rc;
}
