/*
 * transcribe.c — the transcription loop over 30 s windows, temperature fallback and language
 * detection.
 *
 * Reference: openai/whisper transcribe.py transcribe(): the mel of the audio followed by 30 s of
 * zeros; the language detected from pad_or_trim(mel) when not given; clip_timestamps as seek
 * clips; per window, mel[:, seek:seek+segment_size] zero-padded to 3000 frames, the prompt
 * (previous text since the last reset, or the initial prompt carried in front of it),
 * decode_with_fallback over the temperature schedule (beam search only at t == 0, best_of only
 * at t > 0), the no-speech skip, segments cut at consecutive timestamps, seek to the last
 * timestamp, empty or instantaneous segments cleared, the prompt reset after a decoding above
 * temperature 0.5; the final text decoded from every token after the initial prompt.
 * Deliberate differences, only where the reference would loop forever: a window that cannot
 * advance (segment_size <= 0 past the end of the audio inside a clip, or a seek update of 0)
 * moves on instead of being decoded again.
 * With word_timestamps, each window's segments get words (timing.c) before they are reported,
 * seek moves to the last word's end unless the window ended on a single timestamp, and
 * hallucination_silence_threshold skips silence around anomalous segments (skip_hallucinations),
 * as transcribe.py; without it none of this runs and the decoder captures nothing.
 * Invariants: the session's buffers are reused for every window; only the result and the token
 * history are allocated here; on failure nothing leaks and *out stays NULL.
 */
#include "transcribe/transcribe.h"
#include "audio/audio.h"
#include "decode/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_TEMPERATURES 256
#define MAX_CLIP_TIMESTAMPS (1 << 20)

static const double default_temperatures[] = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};

struct auris_transcribe_params auris_transcribe_default_params(void)
{
    struct auris_transcribe_params p;
    memset(&p, 0, sizeof p);
    p.language = NULL;
    p.task = AURIS_TASK_TRANSCRIBE;
    p.temperatures = NULL; /* default_temperatures */
    p.n_temperatures = 0;
    p.beam_size = 5;
    p.best_of = 5;
    p.patience = NAN;
    p.length_penalty = NAN;
    p.seed = 0;
    p.without_timestamps = false;
    p.max_initial_timestamp = 1.0f;
    p.suppress_tokens = "-1";
    p.suppress_blank = true;
    p.initial_prompt = NULL;
    p.carry_initial_prompt = false;
    p.prefix = NULL;
    p.condition_on_previous_text = true;
    p.compression_ratio_threshold = 2.4f;
    p.logprob_threshold = -1.0f;
    p.no_speech_threshold = 0.6f;
    p.clip_timestamps = NULL;
    p.n_clip_timestamps = 0;
    p.word_timestamps = false;
    p.prepend_punctuations = NULL;
    p.append_punctuations = NULL;
    p.hallucination_silence_threshold = NAN;
    return p;
}

static void segment_clear(struct auris_segment *s)
{
    free(s->text);
    free(s->tokens);
    for (int w = 0; w < s->n_words; w++)
        free(s->words[w].word);
    free(s->words);
    memset(s, 0, sizeof *s);
}

void auris_result_free(struct auris_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_segments; i++)
        segment_clear(&r->segments[i]);
    free(r->segments);
    free(r->language_probs);
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
void auris__window_from(const float *mel /* [n_mels][n_frames] */, int n_mels, int n_frames,
                        int seek, int avail, float *win /* [n_mels][3000] */)
{
    int k = AURIS_MIN(avail, AURIS_N_FRAMES);
    k = AURIS_MIN(k, n_frames - seek);
    for (int m = 0; m < n_mels; m++) {
        float *dst = win + (size_t)m * AURIS_N_FRAMES;
        const float *src = mel + (size_t)m * n_frames + seek;
        if (k > 0)
            memcpy(dst, src, (size_t)k * sizeof *dst);
        for (int i = k > 0 ? k : 0; i < AURIS_N_FRAMES; i++)
            dst[i] = 0.0f;
    }
}

static enum auris_err check_language(const auris_model *m, const char *language, int *lang,
                                     struct auris_error *err)
{
    *lang = -1;
    if (!language)
        return AURIS_OK;
    int idx = auris_language_index(language);
    if (idx < 0)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "unknown language '%s'", language);
    int n_langs = auris_model_n_languages(m);
    if (n_langs > 0 && idx >= n_langs)
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "language '%s' is not supported by this model", language);
    if (n_langs == 0 && idx != 0)
        auris__log(AURIS_LOG_WARN, "English-only model: ignoring language '%s'", language);
    *lang = n_langs == 0 ? 0 : idx;
    return AURIS_OK;
}

/* The checks of the reference's DecodingOptions._verify_options and transcribe()'s inputs. */
enum auris_err auris__check_transcribe_params(const auris_model *m,
                                              const struct auris_transcribe_params *p, int *lang,
                                              struct auris_error *err)
{
    if (p->task != AURIS_TASK_TRANSCRIBE && p->task != AURIS_TASK_TRANSLATE)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "unknown task %d", (int)p->task);
    if (p->temperatures) {
        if (p->n_temperatures < 1 || p->n_temperatures > MAX_TEMPERATURES)
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "temperatures: %d values (expected 1 to %d)", p->n_temperatures,
                               MAX_TEMPERATURES);
        for (int i = 0; i < p->n_temperatures; i++)
            if (!isfinite(p->temperatures[i]) || p->temperatures[i] < 0)
                return auris__fail(err, AURIS_ERR_INVALID_ARG,
                                   "temperature %g: expected a finite value >= 0",
                                   p->temperatures[i]);
    }
    if (!isnan(p->length_penalty) && !(p->length_penalty >= 0 && p->length_penalty <= 1))
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "length_penalty (alpha) should be a value between 0 and 1");
    if (!isnan(p->patience) && !(p->patience > 0 && p->patience < 1e6))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "patience must be positive");
    if (!isnan(p->patience) && p->beam_size <= 0)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "patience requires beam_size to be given");
    if (p->beam_size > 1024 || p->best_of > 1024)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "beam_size and best_of must be <= 1024");
    if (p->sample_len < 0 || p->sample_len > m->dims.n_text_ctx / 2)
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "sample_len %d: expected 1 .. %d (n_text_ctx / 2), or 0 for that",
                           p->sample_len, m->dims.n_text_ctx / 2);
    if (!isnan(p->max_initial_timestamp) && !(p->max_initial_timestamp >= 0))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "max_initial_timestamp must be >= 0");
    if (p->n_clip_timestamps < 0 || p->n_clip_timestamps > MAX_CLIP_TIMESTAMPS ||
        (p->n_clip_timestamps > 0 && !p->clip_timestamps))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "clip_timestamps: bad array");
    for (int i = 0; i < p->n_clip_timestamps; i++) {
        double t = p->clip_timestamps[i];
        if (!isfinite(t) || t < 0 || t > 1e7)
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "clip_timestamps: %g is not a time in seconds >= 0", t);
    }
    return check_language(m, p->language, lang, err);
}

/* Detects the language on pad_or_trim(mel) of the full (padded) mel; returns the index. */
static enum auris_err detect_on_mel(auris_session *s, const float *mel, int n_frames, int *lang,
                                    float *probs, struct auris_error *err)
{
    const auris_model *m = s->model;
    if (auris_model_n_languages(m) == 0)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "language detection needs a multilingual model");
    auris__window_from(mel, m->dims.n_mels, n_frames, 0, n_frames, s->mel_window);
    enum auris_err rc = auris__session_encode(s);
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
    const double *temps;
    int n_temps;
    const float *mel;         /* [n_mels][n_frames] */
    int n_frames, content_frames;
    struct auris__decode_options opt;
    uint64_t rng;             /* sampling state (splitmix64), advanced across windows */
    struct ivec all;          /* every token so far, initial prompt first */
    struct ivec prompt;       /* scratch: this window's prompt */
    size_t n_initial_prompt;
    int remaining_prompt_length;
    size_t prompt_reset_since;
    struct auris__span *spans; /* [n_text_ctx + 2] */
    struct auris_result *r;
    int sot_seq[4];           /* the tokenizer's sot_sequence (word alignment) */
    int n_sot;
    double last_speech_timestamp; /* end of the last word kept (word timestamps) */
};

/* One decoding at temperature t, with the options the reference keeps at that temperature:
 * beam search and patience only at t == 0, best_of only at t > 0. */
static enum auris_err decode_at(struct loop *L, double t, struct auris__decode_result *d,
                                struct auris_error *err)
{
    struct auris__decode_options o = L->opt;
    o.temperature = (float)t;
    if (t > 0) {
        o.beam_size = 1;
        o.patience = NAN;
        o.best_of = AURIS_MAX(1, L->p->best_of);
    } else {
        o.best_of = 1;
        o.beam_size = AURIS_MAX(1, L->p->beam_size);
    }
    return auris__decode_window(L->s, &o, d, err);
}

/* decode_with_fallback: the first temperature whose result passes the thresholds, else the
 * last one tried. *t_used is the temperature of the kept result. */
static enum auris_err decode_with_fallback(struct loop *L, struct auris__decode_result *d,
                                           double *t_used, struct auris_error *err)
{
    const struct auris_transcribe_params *p = L->p;
    for (int i = 0; i < L->n_temps; i++) {
        auris__decode_result_clear(d);
        enum auris_err rc = decode_at(L, L->temps[i], d, err);
        if (rc != AURIS_OK)
            return rc;
        *t_used = L->temps[i];
        if (!auris__needs_fallback(d->compression_ratio, d->avg_logprob, d->no_speech_prob,
                                   p->compression_ratio_threshold, p->logprob_threshold,
                                   p->no_speech_threshold))
            break;
    }
    return AURIS_OK;
}

/* Builds this window's prompt into L->prompt and points the decode options at it. */
static enum auris_err set_prompt(struct loop *L, struct auris_error *err)
{
    size_t r[2][2];
    int n = auris__prompt_ranges(L->all.n, L->n_initial_prompt, L->prompt_reset_since,
                                 L->p->carry_initial_prompt, L->remaining_prompt_length, r);
    L->prompt.n = 0;
    for (int i = 0; i < n; i++)
        if (r[i][1] > r[i][0] && ivec_push(&L->prompt, L->all.v + r[i][0], r[i][1] - r[i][0]))
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    L->opt.prompt = L->prompt.n ? L->prompt.v : NULL;
    L->opt.n_prompt = (int)L->prompt.n;
    return AURIS_OK;
}

/* new_segment: fills segment `s` from tokens[span] of decoding `d`. */
static enum auris_err make_segment(struct loop *L, const struct auris__decode_result *d,
                                   double t_used, const struct auris__span *sp, int seek,
                                   struct auris_segment *s, struct auris_error *err)
{
    const struct auris__tokenizer *tok = L->s->model->tok;
    const int eot = auris__tokenizer_specials(tok)->eot;
    int n = sp->end - sp->begin;
    memset(s, 0, sizeof *s);
    s->id = L->r->n_segments;
    s->seek = seek;
    s->start = sp->start;
    s->end = sp->end_time;
    s->temperature = t_used;
    s->avg_logprob = d->avg_logprob;
    s->compression_ratio = d->compression_ratio;
    s->no_speech_prob = d->no_speech_prob;
    s->tokens = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->tokens);
    if (!s->tokens)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    int n_text = 0;
    for (int i = 0; i < n; i++)
        if (d->tokens[sp->begin + i] < eot)
            s->tokens[n_text++] = d->tokens[sp->begin + i];
    enum auris_err rc = auris__tokenizer_decode(tok, s->tokens, (size_t)n_text, &s->text, err);
    if (rc != AURIS_OK)
        return rc;
    if (n > 0)
        memcpy(s->tokens, d->tokens + sp->begin, (size_t)n * sizeof *s->tokens);
    s->n_tokens = n;
    return AURIS_OK;
}

/* transcribe.py's get_end: the end of the last word of the segments, else the end of the last
 * segment; false when there are no segments. */
static bool get_end(const struct auris_segment *segs, int n, double *end)
{
    for (int i = n - 1; i >= 0; i--)
        if (segs[i].n_words > 0) {
            *end = segs[i].words[segs[i].n_words - 1].end;
            return true;
        }
    if (n == 0)
        return false;
    *end = segs[n - 1].end;
    return true;
}

/* next_words_segment: the first of segs[0..n) that has words, or NULL. */
static const struct auris_segment *next_words_segment(const struct auris_segment *segs, int n)
{
    for (int i = 0; i < n; i++)
        if (segs[i].n_words > 0)
            return &segs[i];
    return NULL;
}

/* Where the window's segments and seek stand while the word-timing rules run. */
struct window_state {
    int seek, segment_size;
    bool single_ending;
    int next;       /* the seek of the next window */
    int n_cur;      /* current_segments (the window's segments still kept) */
    bool skipped;   /* the reference's `continue`: the window adds nothing */
};

/* The hallucination_silence_threshold rules of transcribe.py over the window's segments
 * segs[0..w->n_cur), which have their words. May shorten n_cur or skip the window. */
static void skip_hallucinations(struct loop *L, struct auris_segment *segs,
                                struct window_state *w)
{
    const double threshold = auris__py_float(L->p->hallucination_silence_threshold);
    const double time_offset = (double)(w->seek * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    const double window_end_time =
        (double)((w->seek + AURIS_N_FRAMES) * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    const double segment_duration = (double)(w->segment_size * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    const double content_duration =
        (double)(L->content_frames * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    double lwe;
    if (!w->single_ending && get_end(segs, w->n_cur, &lwe) && lwe > time_offset) {
        if (window_end_time - lwe > threshold)
            w->next = (int)auris__py_round(lwe * 100);
        else
            w->next = w->seek + w->segment_size;
    }
    /* a first segment that might be a hallucination: skip the silence before it */
    const struct auris_segment *first = next_words_segment(segs, w->n_cur);
    if (first && auris__is_segment_anomaly(first)) {
        double gap = first->start - time_offset;
        if (gap > threshold) {
            w->next = w->seek + (int)auris__py_round(gap * 100);
            w->skipped = true;
            return;
        }
    }
    /* a possible hallucination surrounded by silence or more hallucinations: drop it and what
     * follows, and seek to it */
    double hal_last_end = L->last_speech_timestamp;
    for (int si = 0; si < w->n_cur; si++) {
        const struct auris_segment *seg = &segs[si];
        if (seg->n_words == 0)
            continue;
        if (auris__is_segment_anomaly(seg)) {
            const struct auris_segment *next = next_words_segment(segs + si + 1, w->n_cur - si - 1);
            double hal_next_start = next ? next->words[0].start : time_offset + segment_duration;
            bool silence_before = seg->start - hal_last_end > threshold ||
                                  seg->start < threshold || seg->start - time_offset < 2.0;
            bool silence_after = hal_next_start - seg->end > threshold ||
                                 auris__is_segment_anomaly(next) ||
                                 window_end_time - seg->end < 2.0;
            if (silence_before && silence_after) {
                double t = time_offset + 1 > seg->start ? time_offset + 1 : seg->start;
                w->next = (int)auris__py_round(t * 100);
                if (content_duration - seg->end < threshold)
                    w->next = L->content_frames;
                w->n_cur = si;
                break;
            }
        }
        hal_last_end = seg->end;
    }
}

/* add_word_timestamps for the window's segments, the seek to the last word and the
 * hallucination rules; updates last_speech_timestamp. */
static enum auris_err word_timing(struct loop *L, struct auris_segment *segs,
                                  struct window_state *w, struct auris_error *err)
{
    const double time_offset = (double)(w->seek * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    enum auris_err rc = auris__add_word_timestamps(
        L->s, segs, w->n_cur, L->sot_seq, L->n_sot, L->r->language, w->segment_size,
        L->p->prepend_punctuations, L->p->append_punctuations, L->last_speech_timestamp, err);
    if (rc != AURIS_OK)
        return rc;
    double lwe;
    if (!w->single_ending && get_end(segs, w->n_cur, &lwe) && lwe > time_offset)
        w->next = (int)auris__py_round(lwe * 100);
    if (!isnan(L->p->hallucination_silence_threshold)) {
        skip_hallucinations(L, segs, w);
        if (w->skipped)
            return AURIS_OK;
    }
    if (get_end(segs, w->n_cur, &lwe))
        L->last_speech_timestamp = lwe;
    return AURIS_OK;
}

/* Turns one decoded window into segments: split, word timings, report, clear, append, extend
 * the history. */
static enum auris_err add_window(struct loop *L, const struct auris__decode_result *d,
                                 double t_used, int n_spans, struct window_state *w,
                                 struct auris_error *err)
{
    struct auris_result *r = L->r;
    struct auris_segment *segs =
        realloc(r->segments, (size_t)(r->n_segments + n_spans) * sizeof *segs);
    if (!segs)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    r->segments = segs;
    const int first = r->n_segments;
    for (int i = 0; i < n_spans; i++) {
        struct auris_segment *s = &segs[r->n_segments];
        enum auris_err rc = make_segment(L, d, t_used, &L->spans[i], w->seek, s, err);
        if (rc != AURIS_OK) {
            segment_clear(s);
            return rc;
        }
        r->n_segments++;
    }
    w->n_cur = n_spans;
    if (L->p->word_timestamps) {
        enum auris_err rc = word_timing(L, segs + first, w, err);
        if (rc != AURIS_OK)
            return rc;
        if (w->skipped)
            w->n_cur = 0;
        while (r->n_segments > first + w->n_cur)
            segment_clear(&segs[--r->n_segments]);
        if (w->skipped)
            return AURIS_OK;
    }
    for (int i = first; i < r->n_segments; i++)
        if (L->p->on_segment && !L->p->on_segment(L->p->user, &segs[i]))
            return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the segment callback");
    for (int i = first; i < r->n_segments; i++) {
        struct auris_segment *s = &segs[i];
        char *probe = auris__strdup(s->text);
        if (!probe)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        auris__strip_inplace(probe);
        if (s->start == s->end || probe[0] == '\0') {
            s->text[0] = '\0';
            s->n_tokens = 0;
            for (int k = 0; k < s->n_words; k++)
                free(s->words[k].word);
            s->n_words = 0;
            s->has_words = true; /* the reference sets segment["words"] = [] */
        }
        free(probe);
        if (ivec_push(&L->all, s->tokens, (size_t)s->n_tokens) != 0)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    }
    return AURIS_OK;
}

static enum auris_err report_progress(struct loop *L, int seek, struct auris_error *err)
{
    if (L->p->on_progress &&
        !L->p->on_progress(L->p->user, AURIS_MIN(seek, L->content_frames), L->content_frames))
        return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the progress callback");
    return AURIS_OK;
}

/* Decodes the window at `seek` and returns the next seek in *next. */
static enum auris_err run_window(struct loop *L, int seek, int segment_size, int *next,
                                 struct auris_error *err)
{
    auris_session *s = L->s;
    const auris_model *m = s->model;
    const int tb = auris__tokenizer_specials(m->tok)->timestamp_begin;
    const int input_stride = AURIS_N_FRAMES / m->dims.n_audio_ctx;
    const double time_offset = (double)seek * AURIS_HOP_LENGTH / AURIS_SAMPLE_RATE;
    struct auris__decode_result d;
    memset(&d, 0, sizeof d);
    double t_used = 0;

    if (L->p->should_abort && L->p->should_abort(L->p->user))
        return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the abort callback");
    auris__window_from(L->mel, m->dims.n_mels, L->n_frames, seek, segment_size, s->mel_window);
    enum auris_err rc = auris__session_encode(s); /* detection may have encoded it already */
    if (rc != AURIS_OK)
        return auris__fail(err, rc, "encoder failed");
    if ((rc = set_prompt(L, err)) != AURIS_OK)
        return rc;
    if ((rc = decode_with_fallback(L, &d, &t_used, err)) != AURIS_OK)
        goto done;
    if (auris__should_skip(d.avg_logprob, d.no_speech_prob, L->p->logprob_threshold,
                           L->p->no_speech_threshold)) {
        *next = seek + segment_size; /* fast-forward to the next window boundary */
        goto done;
    }
    if (d.n_tokens < 0 || d.n_tokens > m->dims.n_text_ctx) {
        rc = auris__fail(err, AURIS_ERR_INTERNAL, "decoder returned %d tokens", d.n_tokens);
        goto done;
    }
    int delta = 0;
    int n_spans = auris__split_window(d.tokens, d.n_tokens, tb, time_offset, segment_size,
                                      input_stride, L->spans, &delta);
    if (delta <= 0)
        delta = segment_size; /* the reference would decode this window again forever */
    struct window_state w = {.seek = seek, .segment_size = segment_size, .next = seek + delta};
    w.single_ending = d.n_tokens >= 2 && d.tokens[d.n_tokens - 2] < tb &&
                      d.tokens[d.n_tokens - 1] >= tb;
    rc = add_window(L, &d, t_used, n_spans, &w, err);
    /* word times only move seek forward; a window that cannot advance moves on (see above) */
    *next = w.next > seek ? w.next : seek + segment_size;
    if (rc == AURIS_OK && !w.skipped && (!L->p->condition_on_previous_text || t_used > 0.5))
        L->prompt_reset_since = L->all.n; /* no prompt after a high-temperature decoding */
done:
    auris__decode_result_clear(&d);
    return rc;
}

static enum auris_err run_clips(struct loop *L, struct auris_error *err)
{
    int n_points = L->p->n_clip_timestamps;
    int *points = malloc((size_t)(n_points + 2) * sizeof *points);
    if (!points)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    n_points = auris__clip_points(L->p->clip_timestamps, n_points, L->content_frames, points);
    enum auris_err rc = AURIS_OK;
    if (n_points < 0) {
        rc = auris__fail(err, AURIS_ERR_INVALID_ARG, "clip_timestamps: negative time");
        goto done;
    }
    int n_clips = n_points / 2, clip = 0;
    int seek = points[0];
    while (clip < n_clips) {
        int clip_start = points[2 * clip], clip_end = points[2 * clip + 1];
        if (seek < clip_start)
            seek = clip_start;
        int segment_size = AURIS_MIN(AURIS_N_FRAMES, L->content_frames - seek);
        segment_size = AURIS_MIN(segment_size, clip_end - seek);
        if (seek >= clip_end || segment_size <= 0) {
            if (++clip < n_clips)
                seek = points[2 * clip];
            continue;
        }
        int next = seek + segment_size;
        if ((rc = run_window(L, seek, segment_size, &next, err)) != AURIS_OK)
            goto done;
        seek = next;
        if ((rc = report_progress(L, seek, err)) != AURIS_OK)
            goto done;
    }
done:
    free(points);
    return rc;
}

/* Tokens of " " + text.strip(), as the reference encodes prompts and prefixes. */
static enum auris_err encode_stripped(const struct auris__tokenizer *tok, const char *text,
                                      int **ids, size_t *n_ids, struct auris_error *err)
{
    char *buf = malloc(strlen(text) + 2);
    if (!buf)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    buf[0] = ' ';
    strcpy(buf + 1, text);
    auris__strip_inplace(buf + 1);
    enum auris_err rc = auris__tokenizer_encode(tok, buf, strlen(buf), ids, n_ids, err);
    free(buf);
    return rc;
}

/* Language, tokens and options shared by every window. */
static enum auris_err setup(struct loop *L, int lang, int **suppress, int **prefix,
                            struct auris_error *err)
{
    const auris_model *m = L->s->model;
    const struct auris_transcribe_params *p = L->p;
    snprintf(L->r->language, sizeof L->r->language, "%s", auris_language_code(lang));
    L->opt.task = p->task;
    L->opt.language_token = auris__tokenizer_language_token(m->tok, auris_language_code(lang));
    L->opt.without_timestamps = p->without_timestamps;
    L->opt.suppress_blank = p->suppress_blank;
    L->opt.sample_len = p->sample_len > 0 ? p->sample_len : m->dims.n_text_ctx / 2;
    L->opt.patience = p->patience;
    L->opt.length_penalty = p->length_penalty;
    L->opt.max_initial_timestamp = p->max_initial_timestamp;
    L->opt.should_abort = p->should_abort;
    L->opt.abort_user = p->user;
    L->rng = p->seed;
    L->opt.rng = &L->rng;
    struct auris__decode_options so = L->opt;
    so.without_timestamps = false; /* the tokenizer's sot_sequence has no <|notimestamps|> */
    L->n_sot = auris__sot_sequence(m->tok, &so, L->sot_seq);
    if (p->word_timestamps && p->task == AURIS_TASK_TRANSLATE)
        auris__log(AURIS_LOG_WARN, "Word-level timestamps on translations may not be reliable.");
    size_t n = 0;
    enum auris_err rc = auris__suppress_tokens(m->tok, p->suppress_tokens, suppress, &n, err);
    if (rc != AURIS_OK)
        return rc;
    L->opt.suppress = *suppress;
    L->opt.n_suppress = n;
    if (p->prefix && p->prefix[0]) {
        if ((rc = encode_stripped(m->tok, p->prefix, prefix, &n, err)) != AURIS_OK)
            return rc;
        L->opt.prefix = *prefix;
        L->opt.n_prefix = (int)n;
    }
    L->remaining_prompt_length = m->dims.n_text_ctx / 2 - 1;
    if (p->initial_prompt) {
        int *ids = NULL;
        rc = encode_stripped(m->tok, p->initial_prompt, &ids, &n, err);
        if (rc == AURIS_OK && ivec_push(&L->all, ids, n) != 0)
            rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        free(ids);
        L->n_initial_prompt = n;
        L->remaining_prompt_length -= (int)AURIS_MIN(n, (size_t)1 << 20);
    }
    if (rc == AURIS_OK) {
        L->spans = malloc(((size_t)m->dims.n_text_ctx + 2) * sizeof *L->spans);
        if (!L->spans)
            rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    }
    return rc;
}

/* Language detection when not given; reports it through on_language. */
static enum auris_err choose_language(struct loop *L, int *lang, struct auris_error *err)
{
    const auris_model *m = L->s->model;
    int n_langs = auris_model_n_languages(m);
    if (*lang >= 0)
        return AURIS_OK;
    if (n_langs == 0) {
        *lang = 0;
        return AURIS_OK;
    }
    L->r->language_probs = calloc((size_t)n_langs, sizeof *L->r->language_probs);
    if (!L->r->language_probs)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    L->r->n_language_probs = n_langs;
    enum auris_err rc = detect_on_mel(L->s, L->mel, L->n_frames, lang, L->r->language_probs, err);
    if (rc != AURIS_OK)
        return rc;
    if (L->p->on_language && !L->p->on_language(L->p->user, auris_language_code(*lang),
                                                L->r->language_probs, n_langs))
        return auris__fail(err, AURIS_ERR_CANCELLED, "cancelled by the language callback");
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
    L.temps = p.temperatures ? p.temperatures : default_temperatures;
    L.n_temps = p.temperatures ? p.n_temperatures : (int)AURIS_ARRAY_LEN(default_temperatures);
    float *mel = NULL;
    int *suppress = NULL, *prefix = NULL;
    int lang = -1;
    enum auris_err rc = auris__check_transcribe_params(m, &p, &lang, err);
    if (rc != AURIS_OK)
        return rc;
    if (AURIS_N_FRAMES % m->dims.n_audio_ctx != 0)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "n_audio_ctx %d does not divide %d",
                           m->dims.n_audio_ctx, AURIS_N_FRAMES);
    L.r = calloc(1, sizeof *L.r);
    if (!L.r)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");

    if ((rc = compute_mel(s, pcm, n_samples, &mel, &L.n_frames, err)) != AURIS_OK)
        goto fail;
    L.mel = mel;
    L.content_frames = L.n_frames - AURIS_N_FRAMES;
    if ((rc = choose_language(&L, &lang, err)) != AURIS_OK)
        goto fail;
    if ((rc = setup(&L, lang, &suppress, &prefix, err)) != AURIS_OK)
        goto fail;
    if ((rc = run_clips(&L, err)) != AURIS_OK)
        goto fail;
    rc = auris__tokenizer_decode(m->tok, L.all.v ? L.all.v + L.n_initial_prompt : NULL,
                                 L.all.n - L.n_initial_prompt, &L.r->text, err);
    if (rc != AURIS_OK)
        goto fail;
    *out = L.r;
    L.r = NULL;
fail:
    free(mel);
    free(suppress);
    free(prefix);
    free(L.spans);
    free(L.all.v);
    free(L.prompt.v);
    auris_result_free(L.r);
    return rc;
}
