/*
 * task.c — the decoding state machine of one window: initial tokens, logit filters, greedy /
 * sampling / beam-search token selection, finalisation and ranking, driven by any logits source.
 *
 * Reference: openai/whisper decoding.py — DecodingTask (_get_initial_tokens, _main_loop, run),
 * SuppressBlank, SuppressTokens, ApplyTimestampRules, GreedyDecoder, BeamSearchDecoder,
 * MaximumLikelihoodRanker. Quirks kept on purpose, because results are compared with it:
 *  - Python slicing of the prompt/prefix tails (a zero bound keeps the whole list);
 *  - cumulative log-probabilities are float32 (the reference's tensor), each step's log-softmax
 *    is taken over the filtered logits and includes <|endoftext|>;
 *  - beam candidates are a dict keyed by the whole sequence (identical beams at the first step
 *    collapse, the last writer becomes the source), ranked by a stable descending sort;
 *    topk ties go to the lower token id; finalize fills with unfinished beams by descending
 *    score, ties to the higher index (numpy's small-array argsort reversed);
 *  - the ranker divides by the length (None) or ((5+len)/6)^alpha and takes the first maximum;
 *  - no_speech_prob is the softmax of the unfiltered logits at <|startoftranscript|>.
 * Sampling (temperature > 0) uses splitmix64 and cannot reproduce torch's Categorical draws.
 * Invariants: the loop allocates nothing (auris__decode_work_reserve sizes everything before);
 * only the result's token copy is allocated, at the end.
 */
#include "decode/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double auris__py_float(float f)
{
    if (!isfinite(f))
        return (double)f;
    char buf[64];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return (double)f;
}

/* ---- work buffers ------------------------------------------------------------------------- */

void auris__decode_work_free(struct auris__decode_work *w)
{
    if (!w)
        return;
    auris__aligned_free(w->logits);
    auris__aligned_free(w->first);
    free(w->tokens);
    free(w->tokens_next);
    free(w->sum);
    free(w->sum_next);
    free(w->src);
    free(w->cand_src);
    free(w->cand_tok);
    free(w->cand_score);
    free(w->cand_order);
    free(w->fin_tokens);
    free(w->fin_len);
    free(w->fin_score);
    memset(w, 0, sizeof *w);
}

static void *alloc_n(size_t n, size_t size)
{
    size_t bytes;
    if (!auris__mul_ok(n ? n : 1, size, &bytes))
        return NULL;
    return malloc(bytes);
}

enum auris_err auris__decode_work_reserve(struct auris__decode_work *w, int n_vocab, int n_ctx,
                                          int cap, int fin_cap, struct auris_error *err)
{
    if (!w || n_vocab < 1 || n_ctx < 1 || cap < 1 || cap > AURIS__MAX_GROUP || fin_cap < 0 ||
        fin_cap > (1 << 16) || n_ctx > (1 << 20) || n_vocab > (1 << 24))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: bad work sizes");
    if (w->logits && w->n_vocab == n_vocab && w->n_ctx == n_ctx && w->cap >= cap &&
        w->fin_cap >= fin_cap)
        return AURIS_OK;
    cap = AURIS_MAX(cap, w->cap);
    fin_cap = AURIS_MAX(fin_cap, w->fin_cap);
    auris__decode_work_free(w);
    size_t V = (size_t)n_vocab, S = (size_t)n_ctx + 2, C = (size_t)cap;
    size_t nc = C * (C + 1), F = (size_t)fin_cap;
    w->logits = auris__aligned_alloc(C * V * sizeof(float));
    w->first = auris__aligned_alloc(2 * V * sizeof(float));
    w->tokens = alloc_n(C * S, sizeof(int));
    w->tokens_next = alloc_n(C * S, sizeof(int));
    w->sum = alloc_n(C, sizeof(float));
    w->sum_next = alloc_n(C, sizeof(float));
    w->src = alloc_n(C, sizeof(int));
    w->cand_src = alloc_n(nc, sizeof(int));
    w->cand_tok = alloc_n(nc, sizeof(int));
    w->cand_score = alloc_n(nc, sizeof(float));
    w->cand_order = alloc_n(nc, sizeof(int));
    w->fin_tokens = alloc_n(F * S, sizeof(int));
    w->fin_len = alloc_n(F, sizeof(int));
    w->fin_score = alloc_n(F, sizeof(float));
    if (!w->logits || !w->first || !w->tokens || !w->tokens_next || !w->sum || !w->sum_next ||
        !w->src || !w->cand_src || !w->cand_tok || !w->cand_score || !w->cand_order ||
        !w->fin_tokens || !w->fin_len || !w->fin_score) {
        auris__decode_work_free(w);
        return auris__fail(err, AURIS_ERR_NOMEM, "decode: out of memory for decoding buffers");
    }
    w->n_vocab = n_vocab;
    w->n_ctx = n_ctx;
    w->cap = cap;
    w->fin_cap = fin_cap;
    return AURIS_OK;
}

/* ---- options ------------------------------------------------------------------------------ */

static bool given(float x)
{
    return !isnan(x) && x != 0.0f; /* Python truthiness of an Optional[float] */
}

static bool use_beam(const struct auris__decode_options *o)
{
    return o->temperature == 0.0f &&
           (o->beam_size > 1 || (o->beam_size == 1 && given(o->patience)));
}

int auris__decode_group_size(const struct auris__decode_options *o, int *fin_cap,
                             struct auris_error *err)
{
    int n = 1, fc = 0;
    if (!(o->temperature >= 0.0f) || isinf(o->temperature)) {
        auris__fail(err, AURIS_ERR_INVALID_ARG, "temperature must be finite and >= 0");
        return -1;
    }
    if (!isnan(o->length_penalty) && !(o->length_penalty >= 0.0f && o->length_penalty <= 1.0f)) {
        auris__fail(err, AURIS_ERR_INVALID_ARG,
                    "length_penalty (alpha) should be a value between 0 and 1");
        return -1;
    }
    if (o->temperature > 0.0f) {
        n = o->best_of > 1 ? o->best_of : 1;
    } else if (use_beam(o)) {
        n = o->beam_size;
        double patience = given(o->patience) ? auris__py_float(o->patience) : 1.0;
        double mc = nearbyint((double)n * patience); /* Python round(): half to even */
        if (!(mc > 0.0) || mc > 65536.0) {
            auris__fail(err, AURIS_ERR_INVALID_ARG, "invalid beam size (%d) or patience (%g)",
                        o->beam_size, (double)o->patience);
            return -1;
        }
        fc = AURIS_MAX((int)mc, n);
    }
    if (n > AURIS__MAX_GROUP) {
        auris__fail(err, AURIS_ERR_INVALID_ARG, "beam_size/best_of %d exceeds the limit of %d", n,
                    AURIS__MAX_GROUP);
        return -1;
    }
    if (fin_cap)
        *fin_cap = fc;
    return n;
}

/* ---- initial tokens ----------------------------------------------------------------------- */

/* Start index of Python's list[-k:] for a list of n. */
static int py_tail_start(int n, int k)
{
    if (k > 0)
        return n > k ? n - k : 0;
    if (k == 0)
        return 0;
    return -k < n ? -k : n; /* list[-(-m):] == list[m:] */
}

static int sample_len_of(const struct auris__decode_layout *lay,
                         const struct auris__decode_options *o)
{
    return o->sample_len > 0 ? o->sample_len : lay->n_text_ctx / 2;
}

int auris__initial_tokens(const struct auris__decode_layout *lay,
                          const struct auris__decode_options *o, int *out, int cap,
                          int *sot_index)
{
    const int n_ctx = lay->n_text_ctx;
    int n = 0;
    if (o->prompt && o->n_prompt > 0) {
        int b = py_tail_start(o->n_prompt, n_ctx / 2 - 1);
        if (1 + (o->n_prompt - b) > cap)
            return -1;
        out[n++] = lay->sot_prev;
        memcpy(out + n, o->prompt + b, (size_t)(o->n_prompt - b) * sizeof *out);
        n += o->n_prompt - b;
    }
    if (n + lay->n_sot_seq > cap)
        return -1;
    memcpy(out + n, lay->sot_seq, (size_t)lay->n_sot_seq * sizeof *out);
    n += lay->n_sot_seq;
    if (o->prefix && o->n_prefix > 0) {
        int b = py_tail_start(o->n_prefix, n_ctx / 2 - sample_len_of(lay, o));
        if (n + (o->n_prefix - b) > cap)
            return -1;
        memcpy(out + n, o->prefix + b, (size_t)(o->n_prefix - b) * sizeof *out);
        n += o->n_prefix - b;
    }
    int si = -1; /* initial_tokens.index(sot) */
    for (int i = 0; i < n && si < 0; i++)
        if (out[i] == lay->sot)
            si = i;
    *sot_index = si;
    return n;
}

/* ---- logit filters ------------------------------------------------------------------------ */

struct run {
    const struct auris__decode_layout *lay;
    const struct auris__decode_options *o;
    int sample_begin, sot_index, n_group, stride;
    bool beam, has_max_initial;
    int max_initial_index;
    double temperature;
    int beam_size, max_candidates;
};

/* Python slice bound for a list of n. */
static int py_index(long i, int n)
{
    if (i < 0)
        i += n;
    if (i < 0)
        return 0;
    return i > n ? n : (int)i;
}

static void mask(float *x, long b, long e, int n)
{
    int lo = py_index(b, n), hi = py_index(e, n);
    for (int i = lo; i < hi; i++)
        x[i] = -INFINITY;
}

static void timestamp_rules(const struct run *r, float *x, const int *row, int len)
{
    const struct auris__decode_layout *lay = r->lay;
    const int V = lay->n_vocab, tb = lay->timestamp_begin;
    x[lay->no_timestamps] = -INFINITY;

    const int *seq = row + r->sample_begin;
    int m = len - r->sample_begin;
    bool last_ts = m >= 1 && seq[m - 1] >= tb;
    bool penult_ts = m < 2 || seq[m - 2] >= tb;
    if (last_ts) {
        if (penult_ts) /* a pair just closed (or the first token): text must follow */
            mask(x, tb, V, V);
        else /* an open timestamp: close it (or end) */
            mask(x, 0, lay->eot, V);
    }
    int t_last = -1;
    for (int i = m - 1; i >= 0 && t_last < 0; i--)
        if (seq[i] >= tb)
            t_last = seq[i];
    if (t_last >= 0) /* non-decreasing, and strictly increasing after a closed segment */
        mask(x, tb, (last_ts && !penult_ts) ? t_last : (long)t_last + 1, V);

    if (len == r->sample_begin) {
        mask(x, 0, tb, V);
        if (r->has_max_initial)
            mask(x, (long)tb + r->max_initial_index + 1, V, V);
    }

    /* a timestamp when their total probability beats every single text token */
    double all = auris__decode_log_sum_exp(x, V);
    double ts = auris__decode_log_sum_exp(x + tb, V - tb) - all;
    float mx = -INFINITY;
    for (int i = 0; i < tb && i < V; i++)
        if (x[i] > mx)
            mx = x[i];
    if (ts > (double)mx - all)
        mask(x, 0, tb, V);
}

static void apply_filters(const struct run *r, float *x, const int *row, int len)
{
    const struct auris__decode_options *o = r->o;
    const struct auris__decode_layout *lay = r->lay;
    if (o->suppress_blank && len == r->sample_begin) {
        for (int k = 0; k < lay->n_blank; k++)
            x[lay->blank[k]] = -INFINITY;
        x[lay->eot] = -INFINITY;
    }
    for (size_t k = 0; k < o->n_suppress; k++)
        x[o->suppress[k]] = -INFINITY;
    if (!o->without_timestamps)
        timestamp_rules(r, x, row, len);
}

/* ---- token selection ---------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A draw from softmax(x / T) (tokens at -inf are never drawn). */
static int sample_token(const float *x, int n, double T, uint64_t *rng)
{
    int am = auris__decode_argmax(x, n);
    double mx = (double)x[am], total = 0.0;
    for (int i = 0; i < n; i++)
        if (x[i] != -INFINITY)
            total += exp(((double)x[i] - mx) / T);
    double u = (double)(splitmix64(rng) >> 11) * 0x1.0p-53 * total, cum = 0.0;
    int last = am;
    for (int i = 0; i < n; i++) {
        if (x[i] == -INFINITY)
            continue;
        double p = exp(((double)x[i] - mx) / T);
        if (p <= 0.0)
            continue;
        cum += p;
        last = i;
        if (cum > u)
            return i;
    }
    return last;
}

/* GreedyDecoder.update over every sequence; returns whether all ended with <|endoftext|>. */
static bool greedy_update(const struct run *r, struct auris__decode_work *w, int *tok, int len,
                          uint64_t *rng)
{
    const int V = r->lay->n_vocab, eot = r->lay->eot;
    bool all_done = true;
    for (int g = 0; g < r->n_group; g++) {
        int *row = tok + (size_t)g * r->stride;
        const float *x = w->logits + (size_t)g * V;
        int next = eot;
        if (row[len - 1] != eot) {
            next = r->temperature > 0.0 ? sample_token(x, V, r->temperature, rng)
                                        : auris__decode_argmax(x, V);
            float lp = (float)((double)x[next] - auris__decode_log_sum_exp(x, V));
            w->sum[g] += lp;
        }
        row[len] = next;
        all_done = all_done && next == eot;
    }
    return all_done;
}

/* Stable sort of order[0..n) by key descending (Python's sorted(..., reverse=True)). */
static void sort_desc(int *order, int n, const float *key)
{
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i;
        while (j > 0 && key[v] > key[order[j - 1]]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

static void add_finished(const struct run *r, struct auris__decode_work *w, int *n_fin,
                         const int *row, int len, float score)
{
    int m = len - r->sample_begin;
    int *dst = w->fin_tokens + (size_t)(*n_fin) * r->stride;
    memcpy(dst, row + r->sample_begin, (size_t)(m > 0 ? m : 0) * sizeof *dst);
    w->fin_len[*n_fin] = m > 0 ? m : 0;
    w->fin_score[*n_fin] = score;
    (*n_fin)++;
}

/* BeamSearchDecoder.update for one audio; the new sequences go to *nxt, sources to w->src. */
static bool beam_update(const struct run *r, struct auris__decode_work *w, const int *cur,
                        int *nxt, int len, int *n_fin)
{
    const int V = r->lay->n_vocab, eot = r->lay->eot, B = r->beam_size;
    int n_c = 0, top[AURIS__MAX_GROUP + 1];
    for (int j = 0; j < B; j++) {
        const float *x = w->logits + (size_t)j * V;
        const int *row = cur + (size_t)j * r->stride;
        double lse = auris__decode_log_sum_exp(x, V);
        auris__decode_top_k(x, V, B + 1, top);
        for (int t = 0; t < B + 1; t++) {
            float lp = (float)((double)x[top[t]] - lse);
            float score = w->sum[j] + lp; /* float32, as the tensor sum */
            int dup = -1;
            for (int c = 0; c < n_c && dup < 0; c++)
                if (w->cand_tok[c] == top[t] &&
                    (w->cand_src[c] == j ||
                     !memcmp(cur + (size_t)w->cand_src[c] * r->stride, row,
                             (size_t)len * sizeof *row)))
                    dup = c;
            if (dup >= 0) { /* dict update: keeps its place, last writer is the source */
                w->cand_score[dup] = score;
                w->cand_src[dup] = j;
                continue;
            }
            w->cand_src[n_c] = j;
            w->cand_tok[n_c] = top[t];
            w->cand_score[n_c] = score;
            w->cand_order[n_c] = n_c;
            n_c++;
        }
    }
    sort_desc(w->cand_order, n_c, w->cand_score);
    int saved = 0, fin_new[AURIS__MAX_GROUP * (AURIS__MAX_GROUP + 1)], n_new = 0;
    for (int k = 0; k < n_c && saved < B; k++) {
        int c = w->cand_order[k];
        if (w->cand_tok[c] == eot) {
            fin_new[n_new++] = c;
        } else {
            int *row = nxt + (size_t)saved * r->stride;
            memcpy(row, cur + (size_t)w->cand_src[c] * r->stride, (size_t)len * sizeof *row);
            row[len] = w->cand_tok[c];
            w->sum_next[saved] = w->cand_score[c];
            w->src[saved] = w->cand_src[c];
            saved++;
        }
    }
    for (int g = saved; g < B; g++) { /* unreachable: every beam offers B non-EOT tokens */
        memcpy(nxt + (size_t)g * r->stride, nxt, (size_t)(len + 1) * sizeof *nxt);
        w->sum_next[g] = -INFINITY;
        w->src[g] = w->src[0];
    }
    memcpy(w->sum, w->sum_next, (size_t)B * sizeof *w->sum);
    /* newly finished, already in descending order, until the candidate list is full */
    for (int k = 0; k < n_new && *n_fin < r->max_candidates; k++) {
        int c = fin_new[k];
        add_finished(r, w, n_fin, cur + (size_t)w->cand_src[c] * r->stride, len,
                     w->cand_score[c]);
    }
    return *n_fin >= r->max_candidates;
}

/* ---- the loop ----------------------------------------------------------------------------- */

static enum auris_err check_setup(const struct auris__decode_layout *lay,
                                  const struct auris__decode_options *o,
                                  const struct auris__logits_source *src,
                                  const struct auris__decode_work *w, const struct run *r,
                                  struct auris_error *err)
{
    const int V = lay->n_vocab;
    if (!src || !src->first || !src->step || !src->reorder)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: incomplete logits source");
    if (V < 1 || lay->eot < 0 || lay->eot >= V || lay->timestamp_begin <= lay->eot ||
        lay->timestamp_begin > V || lay->no_timestamps < 0 || lay->no_timestamps >= V ||
        lay->no_speech < 0 || lay->no_speech >= V || lay->n_blank < 0 ||
        lay->n_blank > (int)AURIS_ARRAY_LEN(lay->blank) || lay->n_sot_seq < 1 ||
        lay->n_sot_seq > 4 || lay->n_text_ctx < 1 || lay->n_audio_ctx < 1)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: bad token layout");
    for (int k = 0; k < lay->n_blank; k++)
        if (lay->blank[k] < 0 || lay->blank[k] >= V)
            return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: bad blank token");
    for (size_t k = 0; k < o->n_suppress; k++)
        if (!o->suppress || o->suppress[k] < 0 || o->suppress[k] >= V)
            return auris__fail(err, AURIS_ERR_INVALID_ARG,
                               "decode: suppressed token outside the vocabulary");
    if ((o->n_prompt > 0 && !o->prompt) || (o->n_prefix > 0 && !o->prefix))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: NULL prompt or prefix");
    if (w->n_vocab != V || w->n_ctx != lay->n_text_ctx || w->cap < r->n_group ||
        w->fin_cap < (r->beam ? AURIS_MAX(r->max_candidates, r->beam_size) : 0))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: work buffers not reserved");
    if (r->beam && V < r->beam_size + 1)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: vocabulary smaller than beam");
    return AURIS_OK;
}

static enum auris_err setup_run(const struct auris__decode_layout *lay,
                                const struct auris__decode_options *o, struct run *r,
                                struct auris_error *err)
{
    memset(r, 0, sizeof *r);
    r->lay = lay;
    r->o = o;
    int fin_cap = 0;
    r->n_group = auris__decode_group_size(o, &fin_cap, err);
    if (r->n_group < 0)
        return AURIS_ERR_INVALID_ARG;
    r->beam = use_beam(o);
    r->beam_size = r->beam ? o->beam_size : 0;
    if (r->beam) {
        double patience = given(o->patience) ? auris__py_float(o->patience) : 1.0;
        r->max_candidates = (int)nearbyint((double)o->beam_size * patience);
    }
    r->temperature = auris__py_float(o->temperature);
    r->stride = lay->n_text_ctx + 2;
    if (!o->without_timestamps && given(o->max_initial_timestamp)) {
        double precision = 30.0 / (double)lay->n_audio_ctx; /* CHUNK_LENGTH / n_audio_ctx */
        double idx = nearbyint(auris__py_float(o->max_initial_timestamp) / precision);
        if (!(fabs(idx) < 1e9))
            return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: bad max_initial_timestamp");
        r->has_max_initial = true;
        r->max_initial_index = (int)idx;
    }
    return AURIS_OK;
}

/* Sampled tokens of a finished row: up to its first <|endoftext|> (or all). */
static int sampled_len(const struct run *r, const int *row, int len)
{
    int e = r->sample_begin;
    while (e < len && row[e] != r->lay->eot)
        e++;
    return e - r->sample_begin;
}

static enum auris_err finish(const struct run *r, struct auris__decode_work *w, const int *cur,
                             int len, int n_fin, bool eot_in_initial,
                             struct auris__decode_result *res, struct auris_error *err)
{
    /* candidates: the finished beams (completed with unfinished ones), or every sample */
    int n_cand, lens[AURIS__MAX_GROUP];
    if (r->beam) {
        if (n_fin < r->beam_size) {
            int order[AURIS__MAX_GROUP];
            for (int j = 0; j < r->beam_size; j++)
                order[j] = r->beam_size - 1 - j; /* descending score, ties to the higher index */
            sort_desc(order, r->beam_size, w->sum);
            for (int k = 0; k < r->beam_size && n_fin < r->beam_size; k++)
                add_finished(r, w, &n_fin, cur + (size_t)order[k] * r->stride, len,
                             w->sum[order[k]]);
        }
        n_cand = n_fin;
    } else {
        for (int g = 0; g < r->n_group; g++) /* GreedyDecoder.finalize: rows read in place */
            lens[g] = sampled_len(r, cur + (size_t)g * r->stride, len);
        n_cand = r->n_group;
    }
    /* MaximumLikelihoodRanker */
    double alpha = isnan(r->o->length_penalty) ? NAN : auris__py_float(r->o->length_penalty);
    int best = -1;
    double best_score = 0.0;
    for (int c = 0; c < n_cand; c++) {
        int m = r->beam ? w->fin_len[c] : lens[c];
        if (eot_in_initial)
            m = 0;
        double lp = (double)(r->beam ? w->fin_score[c] : w->sum[c]);
        double penalty = isnan(alpha) ? (double)m : pow((5.0 + m) / 6.0, alpha);
        double score = lp / penalty;
        if (best < 0 || (!isnan(best_score) && (isnan(score) || score > best_score))) {
            best = c;
            best_score = score;
        }
    }
    const int *sel = r->beam ? w->fin_tokens + (size_t)best * r->stride
                             : cur + (size_t)best * r->stride + r->sample_begin;
    int m = r->beam ? w->fin_len[best] : lens[best];
    if (eot_in_initial)
        m = 0;
    double sum = (double)(r->beam ? w->fin_score[best] : w->sum[best]);
    res->tokens = malloc((size_t)(m > 0 ? m : 1) * sizeof *res->tokens);
    if (!res->tokens)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    memcpy(res->tokens, sel, (size_t)m * sizeof *res->tokens);
    res->n_tokens = m;
    res->sum_logprob = sum;
    res->avg_logprob = sum / (double)(m + 1);
    return AURIS_OK;
}

enum auris_err auris__decode_run(const struct auris__decode_layout *lay,
                                 const struct auris__decode_options *o,
                                 const struct auris__logits_source *src,
                                 struct auris__decode_work *w, struct auris__decode_result *res,
                                 struct auris_error *err)
{
    if (!lay || !o || !w || !res)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "decode: NULL argument");
    memset(res, 0, sizeof *res);
    struct run r;
    enum auris_err rc = setup_run(lay, o, &r, err);
    if (rc != AURIS_OK)
        return rc;
    if ((rc = check_setup(lay, o, src, w, &r, err)) != AURIS_OK)
        return rc;
    const int V = lay->n_vocab, n_ctx = lay->n_text_ctx, eot = lay->eot;
    int *cur = w->tokens, *nxt = w->tokens_next;
    int len = auris__initial_tokens(lay, o, cur, n_ctx, &r.sot_index);
    if (len < 0 || r.sot_index < 0)
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "decode: the prompt, start sequence and prefix exceed %d tokens",
                           n_ctx);
    r.sample_begin = len;
    bool eot_in_initial = false;
    for (int i = 0; i < len; i++)
        eot_in_initial = eot_in_initial || cur[i] == eot;
    for (int g = 1; g < r.n_group; g++)
        memcpy(cur + (size_t)g * r.stride, cur, (size_t)len * sizeof *cur);
    for (int g = 0; g < r.n_group; g++)
        w->sum[g] = 0.0f;
    uint64_t local_rng = 0x853c49e6748fea9bull;
    uint64_t *rng = o->rng ? o->rng : &local_rng;
    int zeros[AURIS__MAX_GROUP] = {0}, n_fin = 0;
    const int sample_len = sample_len_of(lay, o);

    for (int i = 0; i < sample_len; i++) {
        if (i == 0) {
            rc = src->first(src->ctx, cur, len, r.sot_index, w->first);
            if (rc == AURIS_OK) {
                const float *at_sot = w->first + V;
                res->no_speech_prob = exp((double)at_sot[lay->no_speech] - auris__decode_log_sum_exp(at_sot, V));
                for (int g = 0; g < r.n_group; g++)
                    memcpy(w->logits + (size_t)g * V, w->first, (size_t)V * sizeof(float));
            }
        } else {
            rc = src->step(src->ctx, r.n_group, cur, r.stride, len, w->logits);
        }
        if (rc == AURIS_ERR_CANCELLED)
            return auris__fail(err, rc, "cancelled by the abort callback");
        if (rc != AURIS_OK)
            return auris__fail(err, rc, "decoder forward pass failed at position %d", len);
        for (int g = 0; g < r.n_group; g++) {
            const int *row = cur + (size_t)g * r.stride;
            if (r.beam || row[len - 1] != eot) /* a finished sample only repeats EOT */
                apply_filters(&r, w->logits + (size_t)g * V, row, len);
        }
        bool completed;
        if (r.beam) {
            completed = beam_update(&r, w, cur, nxt, len, &n_fin);
            int *t = cur;
            cur = nxt;
            nxt = t;
        } else {
            completed = greedy_update(&r, w, cur, len, rng);
            for (int g = 0; g < r.n_group; g++)
                w->src[g] = g;
        }
        len++;
        rc = src->reorder(src->ctx, r.n_group, i == 0 ? zeros : w->src);
        if (rc != AURIS_OK)
            return auris__fail(err, rc, "decoder cache reordering failed");
        if (completed || len > n_ctx)
            break;
    }
    rc = finish(&r, w, cur, len, n_fin, eot_in_initial, res, err);
    res->temperature = o->temperature;
    return rc;
}

void auris__decode_filter(const struct auris__decode_layout *lay,
                          const struct auris__decode_options *o, int sample_begin,
                          const int *row, int len, float *logits)
{
    struct run r;
    if (!lay || !o || !row || !logits || len < sample_begin ||
        setup_run(lay, o, &r, NULL) != AURIS_OK)
        return;
    r.sample_begin = sample_begin;
    apply_filters(&r, logits, row, len);
}
