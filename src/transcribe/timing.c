/*
 * timing.c — word-level timestamps: cross-attention alignment with dynamic time warping, word
 * splitting, punctuation merging, the duration clamps and the hallucination anomaly scores.
 *
 * Reference: openai/whisper timing.py (median_filter, dtw_cpu, backtrace, find_alignment,
 * merge_punctuations, add_word_timestamps), tokenizer.py (split_to_word_tokens,
 * split_tokens_on_unicode, split_tokens_on_spaces) and transcribe.py (word_anomaly_score,
 * is_segment_anomaly). The decoder runs once over [sot_sequence, notimestamps, text, eot] with the
 * capture of the alignment heads' pre-softmax scores on (see nn.h); everything after that is
 * float32 as torch computes it until the DTW, whose cost matrix is float32 fed with doubles as
 * numba's. Times are 20 ms steps (TOKENS_PER_SECOND = 50).
 * Invariants: pure functions except auris__add_word_timestamps; every array index is checked
 * against the sizes given; on failure nothing leaks and segments keep no partial word list.
 */
#include "transcribe/transcribe.h"
#include "decode/decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TOKENS_PER_SECOND 50.0
#define MEDFILT_WIDTH 7
#define MAX_MEDFILT 63

static const char default_prepend[] = "\"'\xe2\x80\x9c\xc2\xbf([{-";
static const char default_append[] =
    "\"'.\xe3\x80\x82,\xef\xbc\x8c!\xef\xbc\x81?\xef\xbc\x9f:\xef\xbc\x9a\xe2\x80\x9d)]}\xe3\x80\x81";
static const char sentence_end_marks[] = ".\xe3\x80\x82!\xef\xbc\x81?\xef\xbc\x9f";
/* transcribe.py's `punctuation` (prepend + append defaults) and Python's string.punctuation */
static const char anomaly_punctuation[] =
    "\"'\xe2\x80\x9c\xc2\xbf([{-\"'.\xe3\x80\x82,\xef\xbc\x8c!\xef\xbc\x81?\xef\xbc\x9f:\xef\xbc\x9a"
    "\xe2\x80\x9d)]}\xe3\x80\x81";
static const char ascii_punctuation[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

void auris__word_timings_free(struct auris__word_timing *w, int n)
{
    if (!w)
        return;
    for (int i = 0; i < n; i++)
        free(w[i].word);
    free(w);
}

double auris__py_round2(double x)
{
    if (!isfinite(x))
        return x;
    /* printf rounds the exact binary value half-to-even, as Python's correctly rounded round() */
    char buf[400];
    snprintf(buf, sizeof buf, "%.2f", x);
    return strtod(buf, NULL);
}

/* Python's `needle in haystack` for str (the empty string is in every string). */
static bool py_in(const char *needle, const char *haystack)
{
    return strstr(haystack, needle) != NULL;
}

/* torch.sort's order: NaN above every number. */
static bool lt_nan_last(float a, float b)
{
    return !isnan(a) && (isnan(b) || a < b);
}

int auris__median_filter(float *x, int rows, int n, int width)
{
    if (width < 1 || width > MAX_MEDFILT || width % 2 == 0 || rows < 0 || n < 0)
        return -1;
    int pad = width / 2;
    if (n <= pad)
        return 0; /* F.pad cannot reflect by more than the length: the input is returned */
    float *row = malloc((size_t)n * sizeof *row);
    if (!row)
        return -1;
    float win[MAX_MEDFILT];
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * n;
        memcpy(row, xr, (size_t)n * sizeof *row);
        for (int k = 0; k < n; k++) {
            for (int t = 0; t < width; t++) {
                int idx = k - pad + t;
                if (idx < 0)
                    idx = -idx;
                else if (idx >= n)
                    idx = 2 * (n - 1) - idx;
                /* insertion sort as the window fills */
                float v = row[idx];
                int p = t;
                while (p > 0 && lt_nan_last(v, win[p - 1])) {
                    win[p] = win[p - 1];
                    p--;
                }
                win[p] = v;
            }
            xr[k] = win[pad];
        }
    }
    free(row);
    return 0;
}

int auris__dtw(const double *x, int N, int M, int *text_idx, int *time_idx)
{
    if (N < 0 || M < 0)
        return -1;
    size_t W = (size_t)M + 1, cells;
    if (!auris__mul_ok((size_t)N + 1, W, &cells))
        return -1;
    float *cost = malloc(cells * sizeof *cost);
    signed char *trace = malloc(cells);
    if (!cost || !trace) {
        free(cost);
        free(trace);
        return -1;
    }
    for (size_t k = 0; k < cells; k++) {
        cost[k] = INFINITY;
        trace[k] = -1;
    }
    cost[0] = 0;
    for (int j = 1; j <= M; j++) {
        for (int i = 1; i <= N; i++) {
            float c0 = cost[(size_t)(i - 1) * W + (size_t)(j - 1)];
            float c1 = cost[(size_t)(i - 1) * W + (size_t)j];
            float c2 = cost[(size_t)i * W + (size_t)(j - 1)];
            float c;
            signed char t;
            if (c0 < c1 && c0 < c2) {
                c = c0;
                t = 0;
            } else if (c1 < c0 && c1 < c2) {
                c = c1;
                t = 1;
            } else {
                c = c2;
                t = 2;
            }
            /* float64 input plus a float32 cost, stored in the float32 matrix */
            cost[(size_t)i * W + (size_t)j] = (float)(x[(size_t)(i - 1) * M + (j - 1)] + (double)c);
            trace[(size_t)i * W + (size_t)j] = t;
        }
    }
    for (int j = 0; j <= M; j++)
        trace[j] = 2;
    for (int i = 0; i <= N; i++)
        trace[(size_t)i * W] = 1;
    int i = N, j = M, len = 0;
    while (i > 0 || j > 0) {
        text_idx[len] = i - 1;
        time_idx[len] = j - 1;
        len++;
        signed char t = trace[(size_t)i * W + (size_t)j];
        if (t == 0) {
            i--;
            j--;
        } else if (t == 1) {
            i--;
        } else {
            j--;
        }
    }
    for (int a = 0, b = len - 1; a < b; a++, b--) {
        int ti = text_idx[a], tt = time_idx[a];
        text_idx[a] = text_idx[b];
        time_idx[a] = time_idx[b];
        text_idx[b] = ti;
        time_idx[b] = tt;
    }
    free(cost);
    free(trace);
    return len;
}

int auris__alignment_weights(float *w, int H, int N, int F, int medfilt_width, float *matrix)
{
    for (int h = 0; h < H; h++) {
        float *wh = w + (size_t)h * N * F;
        for (int r = 0; r < N; r++) { /* softmax over the audio frames */
            float *x = wh + (size_t)r * F;
            float mx = -INFINITY;
            for (int f = 0; f < F; f++)
                mx = x[f] > mx ? x[f] : mx;
            double sum = 0;
            for (int f = 0; f < F; f++) {
                x[f] = (float)exp((double)x[f] - (double)mx);
                sum += x[f];
            }
            for (int f = 0; f < F; f++)
                x[f] = (float)((double)x[f] / sum);
        }
        for (int f = 0; f < F; f++) { /* std_mean over tokens, unbiased=False */
            double mean = 0, var = 0;
            for (int r = 0; r < N; r++)
                mean += wh[(size_t)r * F + f];
            mean /= N;
            for (int r = 0; r < N; r++) {
                double dv = wh[(size_t)r * F + f] - mean;
                var += dv * dv;
            }
            float m = (float)mean, sd = (float)sqrt(var / N);
            for (int r = 0; r < N; r++)
                wh[(size_t)r * F + f] = (wh[(size_t)r * F + f] - m) / sd;
        }
        if (auris__median_filter(wh, N, F, medfilt_width) != 0)
            return -1;
    }
    for (size_t k = 0; k < (size_t)N * F; k++) {
        double sum = 0;
        for (int h = 0; h < H; h++)
            sum += w[(size_t)h * N * F + k];
        matrix[k] = (float)(sum / H);
    }
    return 0;
}

bool auris__splits_on_unicode(const char *language)
{
    static const char *const langs[] = {"zh", "ja", "th", "lo", "my", "yue"};
    if (!language)
        return false;
    for (size_t i = 0; i < AURIS_ARRAY_LEN(langs); i++)
        if (strcmp(language, langs[i]) == 0)
            return true;
    return false;
}

/* Code points of UTF-8 text (already valid: the tokenizer replaced bad bytes); a stray byte
 * counts as one code point. Returns the count written to cp (capacity len). */
static size_t utf8_codepoints(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n = 0, i = 0;
    while (i < len) {
        unsigned c = s[i];
        int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        if (i + (size_t)extra >= len)
            extra = 0;
        uint32_t v = extra == 0 ? c : extra == 1 ? (c & 0x1f) : extra == 2 ? (c & 0x0f) : (c & 0x07);
        for (int k = 1; k <= extra; k++)
            v = (v << 6) | (s[i + (size_t)k] & 0x3f);
        cp[n++] = v;
        i += (size_t)extra + 1;
    }
    return n;
}

/* split_tokens_on_unicode: a word ends where the text decoded so far has no U+FFFD that the
 * full decoding does not also have at that place. */
static enum auris_err split_unicode(const struct auris__tokenizer *tok, const int *tokens, int n,
                                    char **words, int *word_len, int *n_words,
                                    struct auris_error *err)
{
    char *full = NULL, *part = NULL;
    size_t full_len = 0, part_len = 0;
    uint32_t *full_cp = NULL, *part_cp = NULL;
    enum auris_err rc = auris__tokenizer_decode_len(tok, tokens, (size_t)n, &full, &full_len, err);
    if (rc != AURIS_OK)
        return rc;
    full_cp = malloc((full_len + 1) * sizeof *full_cp);
    if (!full_cp) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t n_full = utf8_codepoints((const unsigned char *)full, full_len, full_cp);
    size_t offset = 0;
    int begin = 0, count = 0;
    for (int i = 0; i < n; i++) {
        rc = auris__tokenizer_decode_len(tok, tokens + begin, (size_t)(i + 1 - begin), &part,
                                         &part_len, err);
        if (rc != AURIS_OK)
            goto done;
        free(part_cp);
        part_cp = malloc((part_len + 1) * sizeof *part_cp);
        if (!part_cp) {
            rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
            goto done;
        }
        size_t n_part = utf8_codepoints((const unsigned char *)part, part_len, part_cp), rep = 0;
        while (rep < n_part && part_cp[rep] != 0xfffd)
            rep++;
        bool ends = rep == n_part ||
                    (offset + rep < n_full && full_cp[offset + rep] == 0xfffd);
        if (ends) {
            words[count] = part;
            word_len[count] = i + 1 - begin;
            count++;
            part = NULL;
            begin = i + 1;
            offset += n_part;
        } else {
            free(part);
            part = NULL;
        }
    }
    *n_words = count;
done: /* on failure the words written so far stay in words[] for the caller to free */
    free(full);
    free(part);
    free(full_cp);
    free(part_cp);
    return rc;
}

enum auris_err auris__split_word_tokens(const struct auris__tokenizer *tok, const int *tokens,
                                        int n_tokens, bool by_unicode, char ***words_out,
                                        int **len_out, int *n_out, struct auris_error *err)
{
    *words_out = NULL;
    *len_out = NULL;
    *n_out = 0;
    if (n_tokens < 0 || (n_tokens > 0 && !tokens))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "split_to_word_tokens: bad tokens");
    size_t cap = (size_t)(n_tokens > 0 ? n_tokens : 1);
    char **words = calloc(cap, sizeof *words);
    int *len = calloc(cap, sizeof *len);
    int n = 0;
    enum auris_err rc = AURIS_OK;
    if (!words || !len) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = split_unicode(tok, tokens, n_tokens, words, len, &n, err)) != AURIS_OK)
        goto fail;
    if (!by_unicode) { /* split_tokens_on_spaces: join subwords that do not start a word */
        const int eot = auris__tokenizer_specials(tok)->eot;
        int m = 0, tok_pos = 0;
        for (int k = 0; k < n; k++) {
            char *sub = words[k];
            words[k] = NULL;
            char *stripped = auris__strdup(sub);
            if (!stripped) {
                free(sub);
                rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
                goto fail;
            }
            auris__strip_inplace(stripped);
            bool special = tokens[tok_pos] >= eot;
            bool starts = special || sub[0] == ' ' || py_in(stripped, ascii_punctuation) || m == 0;
            free(stripped);
            tok_pos += len[k];
            if (starts) {
                words[m] = sub;
                len[m] = len[k];
                m++;
                continue;
            }
            size_t a = strlen(words[m - 1]), b = strlen(sub);
            char *joined = realloc(words[m - 1], a + b + 1);
            if (!joined) {
                free(sub);
                rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
                goto fail;
            }
            memcpy(joined + a, sub, b + 1);
            free(sub);
            words[m - 1] = joined;
            len[m - 1] += len[k];
        }
        n = m;
    }
    *words_out = words;
    *len_out = len;
    *n_out = n;
    return AURIS_OK;
fail:
    if (words)
        for (size_t k = 0; k < cap; k++)
            free(words[k]);
    free(words);
    free(len);
    return rc;
}

int auris__words_from_path(const int *text_idx, const int *time_idx, int path_len, char **words,
                           const int *word_len, int n_words, const float *token_probs,
                           struct auris__word_timing *out)
{
    if (n_words <= 1)
        return 0; /* only <|endoftext|>: no words */
    /* jump_times: the time at which the path enters each new text row */
    int n_jumps = 0;
    for (int p = 0; p < path_len; p++)
        if (p == 0 || text_idx[p] != text_idx[p - 1])
            n_jumps++;
    int boundary = 0;
    for (int w = 0; w < n_words - 1; w++) {
        int b1 = boundary + word_len[w];
        if (b1 >= n_jumps || word_len[w] <= 0)
            return -1;
        boundary = b1;
    }
    boundary = 0;
    for (int w = 0; w < n_words - 1; w++) {
        int b0 = boundary, b1 = boundary + word_len[w];
        double t0 = NAN, t1 = NAN;
        for (int p = 0, k = -1; p < path_len; p++) {
            if (p == 0 || text_idx[p] != text_idx[p - 1])
                k++;
            else
                continue;
            if (k == b0)
                t0 = (double)time_idx[p] / TOKENS_PER_SECOND;
            if (k == b1) {
                t1 = (double)time_idx[p] / TOKENS_PER_SECOND;
                break;
            }
        }
        double sum = 0;
        for (int t = b0; t < b1; t++)
            sum += (double)token_probs[t];
        out[w].word = words[w];
        words[w] = NULL;
        out[w].tok_begin = b0;
        out[w].n_tokens = b1 - b0;
        out[w].start = t0;
        out[w].end = t1;
        out[w].probability = sum / (b1 - b0);
        boundary = b1;
    }
    return n_words - 1;
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* `following` gets previous.word + following.word and the tokens of both; `previous` empties. */
static int merge_into(struct auris__word_timing *dst, struct auris__word_timing *src,
                      bool src_first)
{
    char *joined = src_first ? concat(src->word, dst->word) : concat(dst->word, src->word);
    char *empty = auris__strdup("");
    if (!joined || !empty) {
        free(joined);
        free(empty);
        return -1;
    }
    free(dst->word);
    dst->word = joined;
    if (src_first && src->n_tokens > 0)
        dst->tok_begin = src->tok_begin;
    dst->n_tokens += src->n_tokens;
    free(src->word);
    src->word = empty;
    src->n_tokens = 0;
    return 0;
}

int auris__merge_punctuations(struct auris__word_timing *a, int n, const char *prepended,
                              const char *appended)
{
    if (!prepended)
        prepended = default_prepend;
    if (!appended)
        appended = default_append;
    for (int i = n - 2, j = n - 1; i >= 0; i--) {
        struct auris__word_timing *prev = &a[i], *next = &a[j];
        char *stripped = auris__strdup(prev->word);
        if (!stripped)
            return -1;
        auris__strip_inplace(stripped);
        bool merge = prev->word[0] == ' ' && py_in(stripped, prepended);
        free(stripped);
        if (merge) {
            if (merge_into(next, prev, true) != 0)
                return -1;
        } else {
            j = i;
        }
    }
    for (int i = 0, j = 1; j < n; j++) {
        struct auris__word_timing *prev = &a[i], *next = &a[j];
        size_t lp = strlen(prev->word);
        bool ends_space = lp > 0 && prev->word[lp - 1] == ' ';
        if (!ends_space && py_in(next->word, appended)) {
            if (merge_into(prev, next, false) != 0)
                return -1;
        } else {
            i = j;
        }
    }
    return 0;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double auris__clamp_word_durations(struct auris__word_timing *a, int n, double *max_duration)
{
    double *d = n > 0 ? malloc((size_t)n * sizeof *d) : NULL;
    int nd = 0;
    bool has_nan = false;
    for (int i = 0; i < n && d; i++) {
        double v = a[i].end - a[i].start;
        if (v != 0) {
            has_nan |= isnan(v);
            d[nd++] = v;
        }
    }
    double median = 0.0;
    if (nd > 0) {
        qsort(d, (size_t)nd, sizeof *d, cmp_double);
        median = has_nan ? NAN : nd % 2 ? d[nd / 2] : (d[nd / 2 - 1] + d[nd / 2]) / 2.0;
    }
    free(d);
    median = median < 0.7 ? median : 0.7; /* Python's min(0.7, median) */
    double max_d = median * 2;
    *max_duration = max_d;
    if (nd > 0) {
        for (int i = 1; i < n; i++) {
            if (!(a[i].end - a[i].start > max_d))
                continue;
            if (py_in(a[i].word, sentence_end_marks))
                a[i].end = a[i].start + max_d;
            else if (py_in(a[i - 1].word, sentence_end_marks))
                a[i].start = a[i].end - max_d;
        }
    }
    return median;
}

static double py_max(double a, double b)
{
    return b > a ? b : a;
}

static double py_min(double a, double b)
{
    return b < a ? b : a;
}

/* The first/last word adjustments of one segment's words (add_word_timestamps' "hacks"). */
static void adjust_segment(struct auris_segment *seg, double median, double max_d,
                           double *last_speech)
{
    struct auris_word *w = seg->words;
    int n = seg->n_words;
    if (n == 0)
        return;
    if (w[0].end - *last_speech > median * 4 &&
        (w[0].end - w[0].start > max_d || (n > 1 && w[1].end - w[0].start > max_d * 2))) {
        if (n > 1 && w[1].end - w[1].start > max_d) {
            double boundary = py_max(w[1].end / 2, w[1].end - max_d);
            w[0].end = w[1].start = boundary;
        }
        w[0].start = py_max(0, w[0].end - max_d);
    }
    if (seg->start < w[0].end && seg->start - 0.5 > w[0].start)
        w[0].start = py_max(0, py_min(w[0].end - median, seg->start));
    else
        seg->start = w[0].start;
    if (seg->end > w[n - 1].start && seg->end + 0.5 < w[n - 1].end)
        w[n - 1].end = py_max(w[n - 1].start + median, seg->end);
    else
        seg->end = w[n - 1].end;
    *last_speech = seg->end;
}

enum auris_err auris__assign_words(struct auris_segment *segs, int n_segs, const int *n_text,
                                   const struct auris__word_timing *a, int n, double time_offset,
                                   double median, double max_d, double last_speech,
                                   struct auris_error *err)
{
    int wi = 0;
    for (int s = 0; s < n_segs; s++) {
        struct auris_segment *seg = &segs[s];
        for (int k = 0; k < seg->n_words; k++)
            free(seg->words[k].word);
        free(seg->words);
        seg->words = NULL;
        seg->n_words = 0;
        seg->has_words = true;
        int saved = 0;
        int first = wi;
        while (wi < n && saved < n_text[s]) {
            saved += a[wi].n_tokens;
            wi++;
        }
        if (wi > first) {
            seg->words = calloc((size_t)(wi - first), sizeof *seg->words);
            if (!seg->words)
                return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        }
        for (int k = first; k < wi; k++) {
            if (!a[k].word[0])
                continue;
            struct auris_word *w = &seg->words[seg->n_words];
            w->word = auris__strdup(a[k].word);
            if (!w->word)
                return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
            w->start = auris__py_round2(time_offset + a[k].start);
            w->end = auris__py_round2(time_offset + a[k].end);
            w->probability = a[k].probability;
            seg->n_words++;
        }
        adjust_segment(seg, median, max_d, &last_speech);
    }
    return AURIS_OK;
}

double auris__word_anomaly_score(const struct auris_word *w)
{
    double duration = w->end - w->start, score = 0.0;
    if (w->probability < 0.15)
        score += 1.0;
    if (duration < 0.133)
        score += (0.133 - duration) * 15;
    if (duration > 2.0)
        score += duration - 2.0;
    return score;
}

bool auris__is_segment_anomaly(const struct auris_segment *s)
{
    if (!s || s->n_words == 0)
        return false;
    double score = 0.0;
    int kept = 0;
    for (int i = 0; i < s->n_words && kept < 8; i++) {
        if (py_in(s->words[i].word, anomaly_punctuation))
            continue;
        score += auris__word_anomaly_score(&s->words[i]);
        kept++;
    }
    return score >= 3 || score + 0.01 >= kept;
}

/* ---- the alignment of one window ---------------------------------------------------------- */

struct align_buf {
    int *seq, *text, *rows, *path_text, *path_time, *word_len;
    float *logits, *probs, *w, *matrix;
    double *x;
    char **words;
    int n_words;
    struct auris__word_timing *timings;
    int n_timings;
};

static void align_buf_free(struct align_buf *b)
{
    free(b->seq);
    free(b->text);
    free(b->rows);
    free(b->path_text);
    free(b->path_time);
    free(b->word_len);
    free(b->logits);
    free(b->probs);
    free(b->w);
    free(b->matrix);
    free(b->x);
    if (b->words)
        for (int i = 0; i < b->n_words; i++)
            free(b->words[i]);
    free(b->words);
    auris__word_timings_free(b->timings, b->n_timings);
}

/* The decoder pass with capture on: token probabilities (softmax over ids < eot) of the text
 * tokens into b->probs, the alignment heads' scores cut to F frames into b->w [H][N][F]. */
static enum auris_err run_decoder(auris_session *s, struct align_buf *b, int N, int n_sot,
                                  int n_text, int F, struct auris_error *err)
{
    struct auris__nn_state *st = &s->nn;
    const auris_model *m = s->model;
    const int V = m->dims.n_vocab, T = m->dims.n_audio_ctx;
    const int eot = auris__tokenizer_specials(m->tok)->eot;
    enum auris_err rc = auris__nn_capture_init(st, err);
    if (rc != AURIS_OK)
        return rc;
    const int H = st->n_align;
    b->rows = malloc((size_t)n_text * sizeof *b->rows);
    b->logits = malloc((size_t)n_text * (size_t)V * sizeof *b->logits);
    b->probs = malloc((size_t)n_text * sizeof *b->probs);
    b->w = malloc(((size_t)H * N * (size_t)(F > 0 ? F : 1)) * sizeof *b->w);
    if (!b->rows || !b->logits || !b->probs || !b->w)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for word alignment");
    for (int k = 0; k < n_text; k++)
        b->rows[k] = n_sot + k;
    auris__decoder_reset(st);
    st->capture = true;
    rc = auris__decode(st, b->seq, N, b->rows, n_text, b->logits);
    st->capture = false;
    auris__decoder_reset(st);
    if (rc != AURIS_OK)
        return auris__fail(err, rc, "word alignment: decoder failed");
    for (int k = 0; k < n_text; k++) {
        const float *lg = b->logits + (size_t)k * V;
        float mx = -INFINITY;
        for (int v = 0; v < eot; v++)
            mx = lg[v] > mx ? lg[v] : mx;
        double sum = 0;
        for (int v = 0; v < eot; v++)
            sum += exp((double)lg[v] - (double)mx);
        int t = b->text[k];
        b->probs[k] = (float)(exp((double)lg[t] - (double)mx) / sum);
    }
    for (int h = 0; h < H; h++)
        for (int r = 0; r < N; r++)
            memcpy(b->w + ((size_t)h * N + r) * F,
                   st->align_qk + ((size_t)h * m->dims.n_text_ctx + r) * T,
                   (size_t)F * sizeof(float));
    return AURIS_OK;
}

/* find_alignment over the concatenated text tokens; fills b->timings. */
static enum auris_err find_alignment(auris_session *s, struct align_buf *b, const int *sot_seq,
                                     int n_sot, int n_text, const char *language, int num_frames,
                                     struct auris_error *err)
{
    const auris_model *m = s->model;
    const struct auris__specials *sp = auris__tokenizer_specials(m->tok);
    const int N = n_sot + n_text + 2;
    if (N > m->dims.n_text_ctx)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED,
                           "word alignment: %d tokens exceed the text context", N);
    b->seq = malloc((size_t)N * sizeof *b->seq);
    if (!b->seq)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    memcpy(b->seq, sot_seq, (size_t)n_sot * sizeof *b->seq);
    b->seq[n_sot] = sp->no_timestamps;
    memcpy(b->seq + n_sot + 1, b->text, (size_t)n_text * sizeof *b->seq);
    b->seq[N - 1] = sp->eot;
    const int F = AURIS_MAX(0, AURIS_MIN(num_frames / 2, m->dims.n_audio_ctx));
    enum auris_err rc = run_decoder(s, b, N, n_sot, n_text, F, err);
    if (rc != AURIS_OK)
        return rc;
    const int H = s->nn.n_align, Nd = n_text + 1;
    b->matrix = malloc((size_t)N * (size_t)(F > 0 ? F : 1) * sizeof *b->matrix);
    b->x = malloc((size_t)Nd * (size_t)(F > 0 ? F : 1) * sizeof *b->x);
    b->path_text = malloc(((size_t)Nd + F + 1) * sizeof *b->path_text);
    b->path_time = malloc(((size_t)Nd + F + 1) * sizeof *b->path_time);
    if (!b->matrix || !b->x || !b->path_text || !b->path_time ||
        auris__alignment_weights(b->w, H, N, F, MEDFILT_WIDTH, b->matrix) != 0)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for word alignment");
    /* rows of <|notimestamps|> and the text tokens, negated: DTW finds the cheapest path */
    for (size_t k = 0; k < (size_t)Nd * F; k++)
        b->x[k] = -(double)b->matrix[(size_t)n_sot * F + k];
    int path_len = auris__dtw(b->x, Nd, F, b->path_text, b->path_time);
    if (path_len < 0)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for word alignment");
    b->text[n_text] = sp->eot; /* split text_tokens + [eot] */
    rc = auris__split_word_tokens(m->tok, b->text, n_text + 1, auris__splits_on_unicode(language),
                                  &b->words, &b->word_len, &b->n_words, err);
    if (rc != AURIS_OK)
        return rc;
    b->timings = calloc((size_t)AURIS_MAX(b->n_words, 1), sizeof *b->timings);
    if (!b->timings)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    int n = auris__words_from_path(b->path_text, b->path_time, path_len, b->words, b->word_len,
                                   b->n_words, b->probs, b->timings);
    if (n < 0)
        return auris__fail(err, AURIS_ERR_INTERNAL, "word alignment: path too short");
    b->n_timings = n;
    return AURIS_OK;
}

enum auris_err auris__add_word_timestamps(auris_session *s, struct auris_segment *segs,
                                          int n_segs, const int *sot_seq, int n_sot,
                                          const char *language, int num_frames,
                                          const char *prepend, const char *append,
                                          double last_speech_timestamp, struct auris_error *err)
{
    if (!s || (n_segs > 0 && !segs) || n_sot < 1 || n_sot > 4 || !sot_seq)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "add_word_timestamps: bad arguments");
    if (n_segs == 0)
        return AURIS_OK;
    const int eot = auris__tokenizer_specials(s->model->tok)->eot;
    struct align_buf b;
    memset(&b, 0, sizeof b);
    enum auris_err rc = AURIS_OK;
    int *n_text = calloc((size_t)n_segs, sizeof *n_text);
    size_t total = 0;
    for (int i = 0; i < n_segs; i++)
        total += (size_t)AURIS_MAX(segs[i].n_tokens, 0);
    b.text = malloc((total + 1) * sizeof *b.text);
    if (!n_text || !b.text) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    int nt = 0;
    for (int i = 0; i < n_segs; i++)
        for (int k = 0; k < segs[i].n_tokens; k++)
            if (segs[i].tokens[k] < eot) {
                b.text[nt++] = segs[i].tokens[k];
                n_text[i]++;
            }
    if (nt > 0 && (rc = find_alignment(s, &b, sot_seq, n_sot, nt, language, num_frames, err)))
        goto done;
    double max_d = 0;
    double median = auris__clamp_word_durations(b.timings, b.n_timings, &max_d);
    if (auris__merge_punctuations(b.timings, b.n_timings, prepend, append) != 0) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    double time_offset = (double)(segs[0].seek * AURIS_HOP_LENGTH) / AURIS_SAMPLE_RATE;
    rc = auris__assign_words(segs, n_segs, n_text, b.timings, b.n_timings, time_offset, median,
                             max_d, last_speech_timestamp, err);
done:
    free(n_text);
    align_buf_free(&b);
    return rc;
}
