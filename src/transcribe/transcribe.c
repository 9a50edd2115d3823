/*
 * transcribe.c — the transcription loop over 30 s windows and language detection.
 *
 * Reference: openai/whisper transcribe.py transcribe(): the mel of the audio followed by 30 s of
 * zeros; language detected from pad_or_trim(mel) (which includes the padding frames) when not
 * given; each window is mel[:, seek:seek+segment_size] zero-padded in the normalised domain;
 * the no-speech skip; previous text as the next window's prompt; segments cleared when empty.
 * This version decodes without timestamps at temperature 0, so each window yields one segment
 * spanning the window and seek advances by whole windows.
 * Invariants: the session's buffers are reused for every window; only the growing result
 * (segments, token history) is allocated here.
 */
#include "audio/audio.h"
#include "decode/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct auris_transcribe_params auris_transcribe_default_params(void)
{
    struct auris_transcribe_params p;
    memset(&p, 0, sizeof p);
    p.language = NULL;
    p.task = AURIS_TASK_TRANSCRIBE;
    p.temperature = 0.0f;
    p.beam_size = 1;
    p.without_timestamps = true;
    p.suppress_tokens = "-1";
    p.suppress_blank = true;
    p.initial_prompt = NULL;
    p.condition_on_previous_text = true;
    p.no_speech_threshold = 0.6f;
    p.logprob_threshold = -1.0f;
    p.compression_ratio_threshold = 2.4f;
    return p;
}

void auris_result_free(struct auris_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_segments; i++) {
        free(r->segments[i].text);
        free(r->segments[i].tokens);
    }
    free(r->segments);
    free(r->text);
    free(r);
}

/* A growable int vector for the token history. */
struct ivec {
    int *v;
    size_t n, cap;
};

static int ivec_push(struct ivec *a, const int *x, size_t n)
{
    if (a->n + n > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->n + n)
            cap *= 2;
        int *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    if (n)
        memcpy(a->v + a->n, x, n * sizeof *x);
    a->n += n;
    return 0;
}

/* Copies mel frames [seek, seek+avail) and zero-fills the rest of the 3000-frame window. */
static void window_from(const float *mel, int n_mels, int n_frames, int seek, int avail,
                        float *win /* [n_mels][3000] */)
{
    for (int m = 0; m < n_mels; m++) {
        float *dst = win + (size_t)m * AURIS_N_FRAMES;
        const float *src = mel + (size_t)m * n_frames + seek;
        int k = avail < AURIS_N_FRAMES ? avail : AURIS_N_FRAMES;
        if (k > 0)
            memcpy(dst, src, (size_t)k * sizeof *dst);
        for (int i = k > 0 ? k : 0; i < AURIS_N_FRAMES; i++)
            dst[i] = 0.0f;
    }
}

static enum auris_err check_params(const auris_model *m, const struct auris_transcribe_params *p,
                                   int *lang_index, struct auris_error *err)
{
    if (p->temperature != 0.0f)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "temperature %g: this version decodes at temperature 0 only",
                           (double)p->temperature);
    if (p->beam_size > 1)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "beam_size %d: this version decodes greedily (beam_size 1) only",
                           p->beam_size);
    if (p->beam_size < 1)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "beam_size must be at least 1");
    if (!p->without_timestamps)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "timestamp decoding is not implemented yet: use without_timestamps");
    if (p->task != AURIS_TASK_TRANSCRIBE && p->task != AURIS_TASK_TRANSLATE)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "unknown task %d", (int)p->task);
    *lang_index = -1;
    if (p->language) {
        int idx = auris_language_index(p->language);
        if (idx < 0)
            return auris__fail(err, AURIS_ERR_INVALID_ARG, "unknown language '%s'", p->language);
        int n_langs = auris_model_n_languages(m);
        if (n_langs > 0 && idx >= n_langs)
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "language '%s' is not supported by this model", p->language);
        if (n_langs == 0 && idx != 0)
            auris__log(AURIS_LOG_WARN, "English-only model: ignoring language '%s'", p->language);
        *lang_index = n_langs == 0 ? 0 : idx;
    }
    return AURIS_OK;
}

/* Appends the window's segment to the result (and clears it when empty, as the reference). */
static enum auris_err add_segment(struct auris_result *r, const struct auris__decode_result *d,
                                  const struct auris__tokenizer *tok, int seek, double start,
                                  double end, struct auris_error *err)
{
    struct auris_segment *segs = realloc(r->segments, (size_t)(r->n_segments + 1) * sizeof *segs);
    if (!segs)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    r->segments = segs;
    struct auris_segment *s = &segs[r->n_segments];
    memset(s, 0, sizeof *s);
    s->id = r->n_segments;
    s->seek = seek;
    s->start = start;
    s->end = end;
    s->temperature = d->temperature;
    s->avg_logprob = d->avg_logprob;
    s->compression_ratio = d->compression_ratio;
    s->no_speech_prob = d->no_speech_prob;
    const int eot = auris__tokenizer_specials(tok)->eot;
    s->tokens = malloc((size_t)(d->n_tokens > 0 ? d->n_tokens : 1) * sizeof *s->tokens);
    if (!s->tokens)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    int n_text = 0;
    for (int i = 0; i < d->n_tokens; i++)
        if (d->tokens[i] < eot)
            s->tokens[n_text++] = d->tokens[i];
    enum auris_err rc = auris__tokenizer_decode(tok, s->tokens, (size_t)n_text, &s->text, err);
    if (rc != AURIS_OK)
        return rc;
    memcpy(s->tokens, d->tokens, (size_t)d->n_tokens * sizeof *s->tokens);
    s->n_tokens = d->n_tokens;
    r->n_segments++;
    char *probe = auris__strdup(s->text);
    if (!probe)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    auris__strip_inplace(probe);
    if (s->start == s->end || probe[0] == '\0') {
        s->text[0] = '\0';
        s->n_tokens = 0;
    }
    free(probe);
    return AURIS_OK;
}

/* Detects the language on pad_or_trim(mel) of the full (padded) mel; returns the index. */
static enum auris_err detect_on_mel(auris_session *s, const float *mel, int n_frames, int *lang,
                                    float *probs, struct auris_error *err)
{
    const auris_model *m = s->model;
    if (auris_model_n_languages(m) == 0)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "language detection needs a multilingual model");
    window_from(mel, m->dims.n_mels, n_frames, 0, n_frames, s->mel_window);
    enum auris_err rc = auris__encode(&s->nn, s->mel_window);
    if (rc != AURIS_OK)
        return auris__fail(err, rc, "encoder failed");
    int best = auris__detect_language_encoded(s, probs);
    if (best < 0)
        return auris__fail(err, AURIS_ERR_INTERNAL, "language detection failed");
    *lang = best;
    return AURIS_OK;
}

static enum auris_err compute_mel(auris_session *s, const float *pcm, size_t n, float **mel,
                                  int *n_frames, struct auris_error *err)
{
    const auris_model *m = s->model;
    if (!pcm && n > 0)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "NULL audio");
    return auris__log_mel(pcm, n, AURIS_N_SAMPLES, m->mel_filters, m->dims.n_mels,
                          auris__pool_size(s->nn.pool), mel, n_frames, err);
}

enum auris_err auris_detect_language(auris_session *s, const float *pcm, size_t n, int *lang,
                                     float *probs, struct auris_error *err)
{
    if (!s || !lang)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_detect_language: NULL argument");
    float *mel = NULL;
    int n_frames = 0;
    enum auris_err rc = compute_mel(s, pcm, n, &mel, &n_frames, err);
    if (rc == AURIS_OK)
        rc = detect_on_mel(s, mel, n_frames, lang, probs, err);
    free(mel);
    return rc;
}

struct loop {
    auris_session *s;
    const struct auris_transcribe_params *p;
    const float *mel;
    int n_frames, content_frames;
    struct auris__decode_options opt;
    struct ivec all;          /* every token so far, prompt first */
    size_t n_initial_prompt;
    struct auris_result *r;
};

static enum auris_err run_windows(struct loop *L, struct auris_error *err)
{
    auris_session *s = L->s;
    const auris_model *m = s->model;
    size_t prompt_reset_since = 0;
    int seek = 0;
    enum auris_err rc = AURIS_OK;
    while (seek < L->content_frames) {
        double time_offset = (double)seek * AURIS_HOP_LENGTH / AURIS_SAMPLE_RATE;
        int segment_size = AURIS_MIN(AURIS_N_FRAMES, L->content_frames - seek);
        double segment_duration = (double)segment_size * AURIS_HOP_LENGTH / AURIS_SAMPLE_RATE;
        window_from(L->mel, m->dims.n_mels, L->n_frames, seek, segment_size, s->mel_window);
        rc = auris__encode(&s->nn, s->mel_window);
        if (rc != AURIS_OK)
            return auris__fail(err, rc, "encoder failed");
        L->opt.prompt = L->all.v ? L->all.v + prompt_reset_since : NULL;
        L->opt.n_prompt = (int)(L->all.n - prompt_reset_since);
        struct auris__decode_result d;
        rc = auris__decode_greedy(s, &L->opt, &d, err);
        if (rc != AURIS_OK)
            return rc;
        bool skip = false;
        if (!isnan(L->p->no_speech_threshold)) {
            skip = d.no_speech_prob > L->p->no_speech_threshold;
            if (!isnan(L->p->logprob_threshold) && d.avg_logprob > L->p->logprob_threshold)
                skip = false;
        }
        if (skip) {
            auris__decode_result_clear(&d);
            seek += segment_size;
            continue;
        }
        rc = add_segment(L->r, &d, m->tok, seek, time_offset, time_offset + segment_duration,
                         err);
        float temperature = d.temperature;
        auris__decode_result_clear(&d);
        if (rc != AURIS_OK)
            return rc;
        seek += segment_size;
        const struct auris_segment *seg = &L->r->segments[L->r->n_segments - 1];
        if (ivec_push(&L->all, seg->tokens, (size_t)seg->n_tokens) != 0)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        if (!L->p->condition_on_previous_text || temperature > 0.5f)
            prompt_reset_since = L->all.n;
        if (L->p->on_segment && !L->p->on_segment(L->p->user, seg))
            return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the segment callback");
    }
    return AURIS_OK;
}

enum auris_err auris_transcribe_pcm(auris_session *s, const float *pcm, size_t n_samples,
                                    const struct auris_transcribe_params *params,
                                    struct auris_result **out, struct auris_error *err)
{
    if (!s || !out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "auris_transcribe_pcm: NULL argument");
    *out = NULL;
    struct auris_transcribe_params p = params ? *params : auris_transcribe_default_params();
    const auris_model *m = s->model;
    struct loop L;
    memset(&L, 0, sizeof L);
    L.s = s;
    L.p = &p;
    float *mel = NULL;
    int lang = -1;
    enum auris_err rc = check_params(m, &p, &lang, err);
    if (rc != AURIS_OK)
        return rc;
    L.r = calloc(1, sizeof *L.r);
    if (!L.r)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");

    rc = compute_mel(s, pcm, n_samples, &mel, &L.n_frames, err);
    if (rc != AURIS_OK)
        goto fail;
    L.mel = mel;
    L.content_frames = L.n_frames - AURIS_N_FRAMES;
    if (lang < 0) {
        if (auris_model_n_languages(m) == 0)
            lang = 0;
        else if ((rc = detect_on_mel(s, mel, L.n_frames, &lang, NULL, err)) != AURIS_OK)
            goto fail;
    }
    snprintf(L.r->language, sizeof L.r->language, "%s", auris_language_code(lang));

    L.opt.task = p.task;
    L.opt.language_token = auris__tokenizer_language_token(m->tok, auris_language_code(lang));
    L.opt.without_timestamps = p.without_timestamps;
    L.opt.suppress_blank = p.suppress_blank;
    L.opt.sample_len = m->dims.n_text_ctx / 2;
    int *suppress = NULL;
    size_t n_suppress = 0;
    rc = auris__suppress_tokens(m->tok, p.suppress_tokens, &suppress, &n_suppress, err);
    if (rc != AURIS_OK)
        goto fail;
    L.opt.suppress = suppress;
    L.opt.n_suppress = n_suppress;

    if (p.initial_prompt) {
        /* the reference encodes " " + prompt.strip() */
        char *text = malloc(strlen(p.initial_prompt) + 2);
        int *ids = NULL;
        size_t n_ids = 0;
        if (!text) {
            rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        } else {
            text[0] = ' ';
            strcpy(text + 1, p.initial_prompt);
            auris__strip_inplace(text + 1);
            rc = auris__tokenizer_encode(m->tok, text, strlen(text), &ids, &n_ids, err);
            if (rc == AURIS_OK && ivec_push(&L.all, ids, n_ids) != 0)
                rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
            L.n_initial_prompt = n_ids;
        }
        free(ids);
        free(text);
    }
    if (rc == AURIS_OK)
        rc = run_windows(&L, err);
    free(suppress);
    if (rc != AURIS_OK)
        goto fail;
    rc = auris__tokenizer_decode(m->tok, L.all.v ? L.all.v + L.n_initial_prompt : NULL,
                                 L.all.n - L.n_initial_prompt, &L.r->text, err);
    if (rc != AURIS_OK)
        goto fail;
    free(mel);
    free(L.all.v);
    *out = L.r;
    return AURIS_OK;
fail:
    free(mel);
    free(L.all.v);
    auris_result_free(L.r);
    return rc;
}
