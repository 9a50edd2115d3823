/*
 * test_decoding.c — the window decoding state machine driven by scripted logits (no model), and
 * batched decoding / KV-cache reordering of the network on a tiny random model.
 *
 * Reference: openai/whisper decoding.py (SuppressBlank, SuppressTokens, ApplyTimestampRules,
 * GreedyDecoder, BeamSearchDecoder, MaximumLikelihoodRanker, DecodingTask._get_initial_tokens).
 * The fake vocabulary: text 0..19, <|endoftext|> 20, <|startoftranscript|> 21, <|startofprev|>
 * 22, <|notimestamps|> 23, <|nospeech|> 24, timestamps 30..39 (<|0.00|> .. <|0.18|>); " " is 5.
 * Beam expectations were worked out by hand from the reference's algorithm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "decode/decode.h"

enum { V = 40, EOT = 20, SOT = 21, PREV = 22, NOTS = 23, NOSP = 24, TB = 30, BLANK = 5 };

static struct auris__decode_layout layout(int n_ctx)
{
    struct auris__decode_layout l;
    memset(&l, 0, sizeof l);
    l.n_vocab = V;
    l.n_text_ctx = n_ctx;
    l.n_audio_ctx = 1500;
    l.eot = EOT;
    l.sot = SOT;
    l.sot_prev = PREV;
    l.no_timestamps = NOTS;
    l.no_speech = NOSP;
    l.timestamp_begin = TB;
    l.blank[0] = BLANK;
    l.n_blank = 1;
    l.sot_seq[0] = SOT;
    l.n_sot_seq = 1;
    return l;
}

static struct auris__decode_options options(void)
{
    struct auris__decode_options o;
    memset(&o, 0, sizeof o);
    o.language_token = -1;
    o.without_timestamps = true;
    o.suppress_blank = false;
    o.beam_size = 1;
    o.best_of = 1;
    o.patience = NAN;
    o.length_penalty = NAN;
    o.max_initial_timestamp = NAN;
    return o;
}

/* ---- a scripted logits source ------------------------------------------------------------- */

typedef void (*script_fn)(const int *sampled, int n, float *out);

struct script {
    script_fn fn;
    int sample_begin;
    int n_steps, n_reorders;
    int reorders[8][AURIS__MAX_GROUP];
    int reorder_n[8];
};

static enum auris_err s_first(void *ctx, const int *tokens, int n, int sot_index, float *out)
{
    struct script *s = ctx;
    assert_int_equal(tokens[sot_index], SOT);
    s->sample_begin = n;
    s->fn(tokens + n, 0, out);
    for (int i = 0; i < V; i++)
        out[V + i] = 0.0f;
    out[V + NOSP] = 2.0f;
    return AURIS_OK;
}

static enum auris_err s_reorder(void *ctx, int n, const int *src)
{
    struct script *s = ctx;
    if (s->n_reorders < 8) {
        memcpy(s->reorders[s->n_reorders], src, (size_t)n * sizeof *src);
        s->reorder_n[s->n_reorders] = n;
    }
    s->n_reorders++;
    return AURIS_OK;
}

static enum auris_err s_step(void *ctx, int n_seq, const int *tokens, int stride, int len,
                             float *out)
{
    struct script *s = ctx;
    s->n_steps++;
    for (int i = 0; i < n_seq; i++)
        s->fn(tokens + (size_t)i * stride + s->sample_begin, len - s->sample_begin,
              out + (size_t)i * V);
    return AURIS_OK;
}

static enum auris_err run(const struct auris__decode_layout *lay,
                          const struct auris__decode_options *o, struct script *s,
                          struct auris__decode_result *res)
{
    struct auris__decode_work w;
    memset(&w, 0, sizeof w);
    struct auris_error err = {0};
    int fin = 0;
    int n = auris__decode_group_size(o, &fin, &err);
    assert_true(n >= 1);
    assert_int_equal(auris__decode_work_reserve(&w, V, lay->n_text_ctx, n, fin, &err), AURIS_OK);
    struct auris__logits_source src = {s, s_first, s_reorder, s_step};
    enum auris_err rc = auris__decode_run(lay, o, &src, &w, res, &err);
    auris__decode_work_free(&w);
    return rc;
}

static void fill(float *x, float v)
{
    for (int i = 0; i < V; i++)
        x[i] = v;
}

static double lse(const float *x)
{
    double m = -INFINITY, s = 0.0;
    for (int i = 0; i < V; i++)
        if (x[i] > m)
            m = x[i];
    for (int i = 0; i < V; i++)
        s += exp(x[i] - m);
    return m + log(s);
}

/* ---- greedy ------------------------------------------------------------------------------- */

/* tokens 1, 2, 3 then <|endoftext|>; blank (5) is the favourite at the first step */
static void greedy_script(const int *seq, int n, float *out)
{
    (void)seq;
    fill(out, 0.0f);
    if (n == 0) {
        out[BLANK] = 9.0f;
        out[EOT] = 8.0f;
    }
    out[7] = 6.0f; /* suppressed by the list */
    out[n < 3 ? n + 1 : EOT] = 5.0f;
}

static void test_greedy_eot_and_logprob(void **state)
{
    (void)state;
    struct auris__decode_layout lay = layout(64);
    struct auris__decode_options o = options();
    o.suppress_blank = true;
    int sup[] = {7};
    o.suppress = sup;
    o.n_suppress = 1;
    struct script s = {.fn = greedy_script};
    struct auris__decode_result r;
    assert_int_equal(run(&lay, &o, &s, &r), AURIS_OK);
    assert_int_equal(r.n_tokens, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.tokens[i], i + 1);
    /* expected log-probabilities over the filtered logits */
    double sum = 0.0;
    for (int k = 0; k < 4; k++) {
        float x[V];
        greedy_script(NULL, k, x);
        if (k == 0)
            x[BLANK] = x[EOT] = -INFINITY;
        x[7] = -INFINITY;
        int pick = k < 3 ? k + 1 : EOT;
        sum += x[pick] - lse(x);
    }
    assert_float_equal(r.sum_logprob, sum, 1e-5);
    assert_float_equal(r.avg_logprob, sum / 4.0, 1e-5);
    assert_float_equal(r.no_speech_prob, exp(2.0) / (exp(2.0) + 39.0), 1e-6);
    assert_int_equal(s.n_steps, 3); /* the first pass plus three single-token steps */
    auris__decode_result_clear(&r);

    /* SuppressBlank acts at the first step only: later, a favourite blank is taken */
    o.n_suppress = 0;
    o.sample_len = 2;
    struct script s2 = {.fn = greedy_script};
    assert_int_equal(run(&lay, &o, &s2, &r), AURIS_OK);
    assert_int_equal(r.n_tokens, 2);
    assert_int_equal(r.tokens[0], 7); /* blank and EOT removed, 7 is next */
    assert_int_equal(r.tokens[1], 7);
    auris__decode_result_clear(&r);
}

/* ---- timestamp rules ---------------------------------------------------------------------- */

static void filtered(const struct auris__decode_options *o, const int *seq, int n, float *x)
{
    struct auris__decode_layout lay = layout(64);
    int row[32] = {SOT};
    if (n > 0)
        memcpy(row + 1, seq, (size_t)n * sizeof *seq);
    auris__decode_filter(&lay, o, 1, row, 1 + n, x);
}

static void test_timestamp_rules(void **state)
{
    (void)state;
    struct auris__decode_options o = options();
    o.without_timestamps = false;
    o.max_initial_timestamp = 0.06f; /* round(0.06 / 0.02) = 3: <|0.06|> = 33 */
    float x[V];

    /* first step: text suppressed, timestamps up to the initial maximum, notimestamps never */
    fill(x, 0.0f);
    filtered(&o, NULL, 0, x);
    for (int i = 0; i < V; i++)
        assert_true(i >= TB && i <= TB + 3 ? isfinite(x[i]) : x[i] == -INFINITY);

    /* after the initial timestamp: text must follow (penultimate counts as a timestamp) */
    int s1[] = {31};
    fill(x, 0.0f);
    filtered(&o, s1, 1, x);
    for (int i = TB; i < V; i++)
        assert_true(x[i] == -INFINITY);
    assert_true(isfinite(x[3]) && isfinite(x[EOT]));

    /* an open segment (text, timestamp): no text, EOT allowed, timestamps >= the last */
    int s2[] = {31, 3, 33};
    fill(x, 0.0f);
    x[EOT] = 5.0f; /* likelier than the timestamps together, so it survives the last rule */
    filtered(&o, s2, 3, x);
    for (int i = 0; i < EOT; i++)
        assert_true(x[i] == -INFINITY);
    assert_true(isfinite(x[EOT]));
    for (int i = TB; i < V; i++)
        assert_true(i >= 33 ? isfinite(x[i]) : x[i] == -INFINITY);

    /* a closed pair: no timestamp at all */
    int s3[] = {31, 3, 33, 33};
    fill(x, 0.0f);
    filtered(&o, s3, 4, x);
    for (int i = TB; i < V; i++)
        assert_true(x[i] == -INFINITY);
    assert_true(isfinite(x[3]));

    /* text after a pair: the next timestamp must be strictly later */
    int s4[] = {31, 3, 33, 33, 4};
    fill(x, 0.0f);
    x[4] = 5.0f;
    filtered(&o, s4, 5, x);
    for (int i = TB; i < V; i++)
        assert_true(i >= 34 ? isfinite(x[i]) : x[i] == -INFINITY);
    assert_true(isfinite(x[4]));
    assert_true(x[NOTS] == -INFINITY);

    /* total timestamp probability beats every text token: text is suppressed */
    int s5[] = {31, 3};
    fill(x, -5.0f);
    x[3] = 1.0f;
    for (int i = TB; i < V; i++)
        x[i] = 0.0f; /* 10 * e^0 > e^1 */
    filtered(&o, s5, 2, x);
    assert_true(x[3] == -INFINITY && x[EOT] == -INFINITY);
    assert_true(isfinite(x[35]));
    /* ... but not when one text token is more likely than all timestamps together */
    fill(x, -5.0f);
    x[3] = 3.0f;
    for (int i = TB; i < V; i++)
        x[i] = 0.0f; /* 10 < e^3 */
    filtered(&o, s5, 2, x);
    assert_true(isfinite(x[3]));

    /* max_initial_timestamp None (NaN or 0): every timestamp allowed at the first step */
    o.max_initial_timestamp = 0.0f;
    fill(x, 0.0f);
    filtered(&o, NULL, 0, x);
    assert_true(isfinite(x[V - 1]));
}

/* prefers text token 3 unless a timestamp is forced; ends after a few segments */
static void ts_script(const int *seq, int n, float *out)
{
    (void)seq;
    fill(out, -2.0f);
    out[3] = 1.5f;
    out[4] = 1.4f;
    for (int i = TB; i < V; i++)
        out[i] = (float)(i - TB) * 0.1f - 1.0f;
    out[EOT] = n >= 9 ? 5.0f : -3.0f;
}

static void test_timestamp_decoding(void **state)
{
    (void)state;
    struct auris__decode_layout lay = layout(64);
    struct auris__decode_options o = options();
    o.without_timestamps = false;
    o.max_initial_timestamp = 0.04f; /* <= 32 */
    struct script s = {.fn = ts_script};
    struct auris__decode_result r;
    assert_int_equal(run(&lay, &o, &s, &r), AURIS_OK);
    assert_true(r.n_tokens >= 2);
    assert_true(r.tokens[0] >= TB && r.tokens[0] <= TB + 2);
    int last_ts = -1, run_ts = 0;
    for (int i = 0; i < r.n_tokens; i++) {
        int t = r.tokens[i];
        assert_true(t != NOTS && t != EOT);
        if (t >= TB) {
            assert_true(t >= last_ts);
            last_ts = t;
            run_ts++;
            assert_true(run_ts <= 2);
        } else {
            run_ts = 0;
        }
    }
    auris__decode_result_clear(&r);
}

/* ---- beam search -------------------------------------------------------------------------- */

static void dist(float *out, const int *tok, const double *p, int n)
{
    for (int i = 0; i < V; i++)
        out[i] = -INFINITY;
    for (int i = 0; i < n; i++)
        out[tok[i]] = (float)log(p[i]);
}

/* A=1, B=2, C=3, D=4, E=5 (see the header); probabilities are exact (others -inf) */
static void beam_script(const int *seq, int n, float *out)
{
    if (n == 0) {
        dist(out, (int[]){1, 2, EOT}, (double[]){0.6, 0.3, 0.1}, 3);
    } else if (n == 1 && seq[0] == 1) {
        dist(out, (int[]){EOT, 3, 4}, (double[]){0.5, 0.3, 0.2}, 3);
    } else if (n == 1 && seq[0] == 2) {
        dist(out, (int[]){5, EOT, 6}, (double[]){0.9, 0.05, 0.05}, 3);
    } else {
        dist(out, (int[]){EOT, 7, 8}, (double[]){0.9, 0.05, 0.05}, 3);
    }
}

static void expect_tokens(const struct auris__decode_result *r, const int *want, int n)
{
    assert_int_equal(r->n_tokens, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(r->tokens[i], want[i]);
}

static void test_beam_ranking(void **state)
{
    (void)state;
    struct auris__decode_layout lay = layout(64);
    struct auris__decode_options o = options();
    o.beam_size = 2;
    struct auris__decode_result r;

    /* finished: [A] (0.3) at step 1, [B E] (0.243) at step 2, then the list (2) is full */
    struct script s = {.fn = beam_script};
    assert_int_equal(run(&lay, &o, &s, &r), AURIS_OK);
    expect_tokens(&r, (int[]){2, 5}, 2); /* length norm: log .243 / 2 > log .3 / 1 */
    assert_float_equal(r.sum_logprob, log(0.243), 1e-5);
    assert_float_equal(r.avg_logprob, log(0.243) / 3.0, 1e-5);
    assert_int_equal(s.n_steps, 2);
    /* identical beams at the first step: every new beam comes from the one computed sequence */
    assert_int_equal(s.reorder_n[0], 2);
    assert_int_equal(s.reorders[0][0], 0);
    assert_int_equal(s.reorders[0][1], 0);
    /* step 1: [B E] continues beam 1 (B), [A C] beam 0 (A) */
    assert_int_equal(s.reorders[1][0], 1);
    assert_int_equal(s.reorders[1][1], 0);
    auris__decode_result_clear(&r);

    /* alpha = 0: no length normalisation, [A] wins; alpha = 1: ((5+len)/6) still favours [A] */
    o.length_penalty = 0.0f;
    struct script s2 = {.fn = beam_script};
    assert_int_equal(run(&lay, &o, &s2, &r), AURIS_OK);
    expect_tokens(&r, (int[]){1}, 1);
    assert_float_equal(r.sum_logprob, log(0.3), 1e-5);
    auris__decode_result_clear(&r);
    o.length_penalty = 1.0f;
    struct script s3 = {.fn = beam_script};
    assert_int_equal(run(&lay, &o, &s3, &r), AURIS_OK);
    expect_tokens(&r, (int[]){1}, 1);
    auris__decode_result_clear(&r);

    /* patience 2: four finished candidates needed, one more step ([B E 7] from a tie with 8) */
    o.length_penalty = NAN;
    o.patience = 2.0f;
    struct script s4 = {.fn = beam_script};
    assert_int_equal(run(&lay, &o, &s4, &r), AURIS_OK);
    assert_int_equal(s4.n_steps, 3);
    expect_tokens(&r, (int[]){2, 5}, 2);
    assert_int_equal(s4.reorders[2][0], 0); /* [B E 7] and [B E 8] both continue [B E] */
    assert_int_equal(s4.reorders[2][1], 0);
    auris__decode_result_clear(&r);

    /* out of steps with one finished: finalize adds the best unfinished beam ([B E], 0.27) */
    o.patience = NAN;
    o.sample_len = 2;
    struct script s5 = {.fn = beam_script};
    assert_int_equal(run(&lay, &o, &s5, &r), AURIS_OK);
    expect_tokens(&r, (int[]){2, 5}, 2);
    assert_float_equal(r.sum_logprob, log(0.27), 1e-5);
    auris__decode_result_clear(&r);

    /* too many beams, bad alpha */
    struct auris_error err = {0};
    o.beam_size = AURIS__MAX_GROUP + 1;
    assert_int_equal(auris__decode_group_size(&o, NULL, &err), -1);
    o.beam_size = 2;
    o.length_penalty = 1.5f;
    assert_int_equal(auris__decode_group_size(&o, NULL, &err), -1);
    /* max_candidates = round(beam * patience), half to even: round(2.5) = 2 */
    o.length_penalty = NAN;
    o.beam_size = 5;
    o.patience = 0.5f;
    int fin = 0;
    assert_int_equal(auris__decode_group_size(&o, &fin, &err), 5);
    assert_int_equal(fin, 5); /* max(max_candidates 2, beam 5) */
    o.patience = 2.1f;
    assert_int_equal(auris__decode_group_size(&o, &fin, &err), 5);
    assert_int_equal(fin, 10); /* round(10.5) = 10 */
}

/* ---- sampling ----------------------------------------------------------------------------- */

static void sample_script(const int *seq, int n, float *out)
{
    (void)seq;
    fill(out, -1.0f);
    for (int i = 0; i < 10; i++)
        out[i] = (float)(i % 3);
    out[EOT] = n >= 3 ? 1.0f : -1.0f;
}

static void test_best_of_sampling(void **state)
{
    (void)state;
    struct auris__decode_layout lay = layout(64);
    struct auris__decode_options o = options();
    o.temperature = 1.0f;
    o.best_of = 4;
    o.sample_len = 12;
    struct auris__decode_result a, b;
    uint64_t seed = 42;
    o.rng = &seed;
    struct script s1 = {.fn = sample_script};
    assert_int_equal(run(&lay, &o, &s1, &a), AURIS_OK);
    seed = 42;
    struct script s2 = {.fn = sample_script};
    assert_int_equal(run(&lay, &o, &s2, &b), AURIS_OK);
    assert_int_equal(a.n_tokens, b.n_tokens);
    assert_memory_equal(a.tokens, b.tokens, (size_t)a.n_tokens * sizeof(int));
    assert_true(a.sum_logprob == b.sum_logprob);
    assert_true(a.n_tokens >= 1 && a.n_tokens <= 12);
    assert_true(a.temperature == 1.0f);
    assert_int_equal(s1.reorder_n[0], 4); /* four samples from the one first pass */
    auris__decode_result_clear(&a);
    auris__decode_result_clear(&b);
}

/* ---- initial tokens ----------------------------------------------------------------------- */

static void test_initial_tokens(void **state)
{
    (void)state;
    struct auris__decode_layout lay = layout(448);
    struct auris__decode_options o = options();
    int prompt[300], prefix[40], out[600], si = -1;
    for (int i = 0; i < 300; i++)
        prompt[i] = i % 20;
    for (int i = 0; i < 40; i++)
        prefix[i] = 100 + i;
    o.prompt = prompt;
    o.n_prompt = 300;
    int n = auris__initial_tokens(&lay, &o, out, 600, &si);
    assert_int_equal(n, 1 + 223 + 1);
    assert_int_equal(out[0], PREV);
    assert_int_equal(out[1], prompt[300 - 223]);
    assert_int_equal(out[223], prompt[299]);
    assert_int_equal(si, 224);
    assert_int_equal(out[224], SOT);

    /* sample_len 224 = n_ctx/2: max_prefix_len 0 and Python's prefix[-0:] keeps it all */
    o.n_prompt = 0;
    o.prefix = prefix;
    o.n_prefix = 40;
    o.sample_len = 0;
    n = auris__initial_tokens(&lay, &o, out, 600, &si);
    assert_int_equal(si, 0);
    assert_int_equal(n, 41);
    assert_int_equal(out[1], 100);
    /* sample_len 200: the last 24 */
    o.sample_len = 200;
    n = auris__initial_tokens(&lay, &o, out, 600, &si);
    assert_int_equal(n, 25);
    assert_int_equal(out[1], 116);
    /* sample_len 230: prefix[6:] */
    o.sample_len = 230;
    n = auris__initial_tokens(&lay, &o, out, 600, &si);
    assert_int_equal(n, 35);
    assert_int_equal(out[1], 106);
    /* does not fit */
    assert_int_equal(auris__initial_tokens(&lay, &o, out, 10, &si), -1);
    /* an empty prompt adds no <|startofprev|> */
    o.prompt = prompt;
    o.n_prompt = 0;
    o.n_prefix = 0;
    n = auris__initial_tokens(&lay, &o, out, 600, &si);
    assert_int_equal(n, 1);
}

static void prefix_script(const int *seq, int n, float *out)
{
    (void)seq;
    fill(out, 0.0f);
    out[n == 0 ? BLANK : EOT] = 3.0f;
    out[9] = 2.0f;
}

static void test_prefix_in_decoding(void **state)
{
    (void)state;
    struct auris__decode_layout lay = layout(64);
    struct auris__decode_options o = options();
    o.suppress_blank = true;
    int prefix[] = {11, 12};
    o.prefix = prefix;
    o.n_prefix = 2;
    struct script s = {.fn = prefix_script};
    struct auris__decode_result r;
    assert_int_equal(run(&lay, &o, &s, &r), AURIS_OK);
    assert_int_equal(s.sample_begin, 3); /* sot + prefix */
    expect_tokens(&r, (int[]){9}, 1);     /* the prefix is not part of the result */
    auris__decode_result_clear(&r);
}

/* ---- the network: batched decoding and KV reordering --------------------------------------- */

struct tiny {
    auris_model model;
    void *allocs[256];
    int n;
    uint32_t rng;
};

static float *tvec(struct tiny *t, size_t n, float c, float spread)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    t->allocs[t->n++] = p;
    for (size_t i = 0; i < n; i++) {
        t->rng = t->rng * 1664525u + 1013904223u;
        p[i] = c + spread * ((float)((t->rng >> 8) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f);
    }
    return p;
}

static struct auris__tensor tw(struct tiny *t, int d0, int d1, int d2)
{
    struct auris__tensor w = {0};
    w.n_dims = d2 ? 3 : 2;
    w.ne[0] = d0;
    w.ne[1] = d1;
    w.ne[2] = d2;
    w.type = AURIS_DT_F32;
    size_t cnt = (size_t)d0 * d1 * (d2 ? d2 : 1);
    w.data = tvec(t, cnt, 0.0f, 1.0f / sqrtf((float)(cnt / (size_t)d0)));
    return w;
}

static void tattn(struct tiny *t, struct auris__attn *a, int n)
{
    a->ln_w = tvec(t, (size_t)n, 1.0f, 0.2f);
    a->ln_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    a->q_w = tw(t, n, n, 0);
    a->q_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    a->k_w = tw(t, n, n, 0);
    a->v_w = tw(t, n, n, 0);
    a->v_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    a->o_w = tw(t, n, n, 0);
    a->o_b = tvec(t, (size_t)n, 0.0f, 0.2f);
}

static void tblock(struct tiny *t, struct auris__block *b, int n, int cross)
{
    tattn(t, &b->attn, n);
    if (cross)
        tattn(t, &b->cross, n);
    b->mlp_ln_w = tvec(t, (size_t)n, 1.0f, 0.2f);
    b->mlp_ln_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    b->mlp0_w = tw(t, 4 * n, n, 0);
    b->mlp0_b = tvec(t, 4 * (size_t)n, 0.0f, 0.2f);
    b->mlp2_w = tw(t, n, 4 * n, 0);
    b->mlp2_b = tvec(t, (size_t)n, 0.0f, 0.2f);
}

static struct tiny *tiny_model(void)
{
    struct tiny *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->rng = 99u;
    struct auris_model_dims d = {
        .n_mels = 8, .n_audio_ctx = 24, .n_audio_state = 24, .n_audio_head = 3,
        .n_audio_layer = 1, .n_vocab = 37, .n_text_ctx = 40, .n_text_state = 24,
        .n_text_head = 3, .n_text_layer = 2,
    };
    auris_model *m = &t->model;
    m->dims = d;
    int n = d.n_audio_state;
    m->conv1_w = tw(t, n, d.n_mels, 3);
    m->conv1_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    m->conv2_w = tw(t, n, n, 3);
    m->conv2_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    m->enc_pos = tvec(t, (size_t)d.n_audio_ctx * n, 0.0f, 1.0f);
    m->enc = calloc((size_t)d.n_audio_layer, sizeof *m->enc);
    t->allocs[t->n++] = m->enc;
    tblock(t, &m->enc[0], n, 0);
    m->enc_ln_w = tvec(t, (size_t)n, 1.0f, 0.2f);
    m->enc_ln_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    m->tok_emb = tw(t, d.n_vocab, n, 0);
    m->dec_pos = tvec(t, (size_t)d.n_text_ctx * n, 0.0f, 0.5f);
    m->dec = calloc((size_t)d.n_text_layer, sizeof *m->dec);
    t->allocs[t->n++] = m->dec;
    for (int l = 0; l < d.n_text_layer; l++)
        tblock(t, &m->dec[l], n, 1);
    m->dec_ln_w = tvec(t, (size_t)n, 1.0f, 0.2f);
    m->dec_ln_b = tvec(t, (size_t)n, 0.0f, 0.2f);
    return t;
}

static void tiny_free(struct tiny *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->allocs[i]);
    free(t);
}

/* logits of the last position of seq[0..n) decoded alone from an empty cache */
static void solo(struct auris__nn_state *st, const int *seq, int n, float *out)
{
    auris__decoder_reset(st);
    int row = n - 1;
    assert_int_equal(auris__decode(st, seq, n, &row, 1, out), AURIS_OK);
}

static void test_nn_batch_and_reorder(void **state)
{
    (void)state;
    struct tiny *t = tiny_model();
    const auris_model *m = &t->model;
    const int NV = m->dims.n_vocab;
    struct auris__nn_state st;
    struct auris_error err = {0};
    assert_int_equal(auris__nn_state_init(&st, m, 2, &err), AURIS_OK);
    float *mel = tvec(t, (size_t)m->dims.n_mels * 2 * m->dims.n_audio_ctx, 0.0f, 1.0f);
    assert_int_equal(auris__encode(&st, mel), AURIS_OK);
    assert_int_equal(auris__nn_reserve(&st, 4, &err), AURIS_OK);
    assert_int_equal(auris__nn_reserve(&st, AURIS__NN_MAX_SEQ + 1, &err), AURIS_ERR_INVALID_ARG);

    /* a shared start, fanned out to 3 sequences, stepped, reordered, stepped again */
    int seqs[3][8] = {{3, 4, 5, 10, 20, 30}, {3, 4, 5, 11, 21, 31}, {3, 4, 5, 12, 22, 32}};
    float *got = malloc(4 * (size_t)NV * sizeof *got), *want = malloc((size_t)NV * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    auris__decoder_reset(&st);
    int row = 2;
    assert_int_equal(auris__decode_batch(&st, 1, seqs[0], 3, &row, 1, got), AURIS_OK);
    assert_int_equal(auris__kv_reorder(&st, 3, (int[]){0, 0, 0}), AURIS_OK);
    int step[3], r0 = 0;
    for (int i = 0; i < 3; i++)
        step[i] = seqs[i][3];
    assert_int_equal(auris__decode_batch(&st, 2, step, 1, &r0, 1, got), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__decode_batch(&st, 3, step, 1, &r0, 1, got), AURIS_OK);
    float batched[3][64];
    for (int i = 0; i < 3; i++)
        memcpy(batched[i], got + (size_t)i * NV, (size_t)NV * sizeof(float));
    /* new order: 2, 0, 0 (sequence 1 dropped, 0 duplicated); histories follow */
    assert_int_equal(auris__kv_reorder(&st, 3, (int[]){2, 0, 0}), AURIS_OK);
    int hist[3][8];
    memcpy(hist[0], seqs[2], sizeof hist[0]);
    memcpy(hist[1], seqs[0], sizeof hist[1]);
    memcpy(hist[2], seqs[0], sizeof hist[2]);
    hist[2][4] = 25; /* the duplicate diverges */
    for (int i = 0; i < 3; i++)
        step[i] = hist[i][4];
    assert_int_equal(auris__decode_batch(&st, 3, step, 1, &r0, 1, got), AURIS_OK);
    float after[3][64];
    for (int i = 0; i < 3; i++)
        memcpy(after[i], got + (size_t)i * NV, (size_t)NV * sizeof(float));

    for (int i = 0; i < 3; i++) {
        solo(&st, seqs[i], 4, want);
        for (int v = 0; v < NV; v++)
            assert_float_equal(batched[i][v], want[v], 2e-4);
        solo(&st, hist[i], 5, want);
        for (int v = 0; v < NV; v++)
            assert_float_equal(after[i][v], want[v], 2e-4);
    }
    assert_int_equal(auris__kv_reorder(&st, 5, (int[]){0, 0, 0, 0, 0}), AURIS_ERR_INVALID_ARG);
    free(got);
    free(want);
    auris__nn_state_free(&st);
    tiny_free(t);
}

/* seq[0..n) decoded alone from an empty cache in calls of calls[0], calls[1], ... tokens (the
 * call structure of a batched run); the logits of its last position */
static void replay(struct auris__nn_state *st, const int *seq, const int *calls, float *out)
{
    auris__decoder_reset(st);
    for (int i = 0, at = 0; calls[i]; at += calls[i++]) {
        int row = calls[i] - 1;
        assert_int_equal(auris__decode(st, seq + at, calls[i], &row, 1, out), AURIS_OK);
    }
}

/* Beams that fork and die at every step share their pages (kvcache.c) instead of copies. Each
 * sequence's logits must stay bit for bit those of its own history decoded alone, over forks at
 * page boundaries and inside pages, many slots per history, and then the survivor alone (one
 * step of one token, one of two). */
static void test_nn_paged_beams(void **state)
{
    (void)state;
    struct tiny *t = tiny_model();
    const auris_model *m = &t->model;
    const int NV = m->dims.n_vocab, NB = 5, L = m->dims.n_text_ctx;
    struct auris__nn_state st, alone;
    struct auris_error err = {0};
    assert_int_equal(auris__nn_state_init(&st, m, 2, &err), AURIS_OK);
    assert_int_equal(auris__nn_state_init(&alone, m, 2, &err), AURIS_OK);
    float *mel = tvec(t, (size_t)m->dims.n_mels * 2 * m->dims.n_audio_ctx, 0.0f, 1.0f);
    assert_int_equal(auris__encode(&st, mel), AURIS_OK);
    assert_int_equal(auris__encode(&alone, mel), AURIS_OK);
    assert_int_equal(auris__nn_reserve(&st, NB, &err), AURIS_OK);

    int hist[5][48], tmp[5][48], calls[48] = {3}, n_calls = 1, len = 3;
    float *got = malloc((size_t)NB * NV * sizeof *got), *want = malloc((size_t)NV * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    for (int b = 0; b < NB; b++)
        hist[b][0] = 3, hist[b][1] = 4, hist[b][2] = 5;
    auris__decoder_reset(&st);
    int row = 2, r0 = 0, max_slots = 1;
    assert_int_equal(auris__decode_batch(&st, 1, hist[0], 3, &row, 1, got), AURIS_OK);
    assert_int_equal(auris__kv_reorder(&st, NB, (int[]){0, 0, 0, 0, 0}), AURIS_OK);
    uint32_t x = 12345u;
    for (; len < L - 4; len++) {
        int step[5];
        for (int b = 0; b < NB; b++)
            step[b] = hist[b][len] = (int)((len * 7 + b * 3 + (x >> 7)) % 19u);
        calls[n_calls++] = 1;
        calls[n_calls] = 0;
        assert_int_equal(auris__decode_batch(&st, NB, step, 1, &r0, 1, got), AURIS_OK);
        for (int b = 0; b < NB; b++) {
            replay(&alone, hist[b], calls, want);
            if (memcmp(got + (size_t)b * NV, want, (size_t)NV * sizeof *want) != 0)
                fail_msg("position %d: sequence %d differs from its history alone", len, b);
        }
        int src[5], off[AURIS__NN_MAX_SEQ + 1];
        for (int b = 0; b < NB; b++) { /* a fork or two per step, the rest shuffled */
            x = x * 1103515245u + 12345u;
            src[b] = b < 2 ? (int)((x >> 9) % 2u) : (int)((x >> 9) % (unsigned)NB);
        }
        for (int b = 0; b < NB; b++)
            memcpy(tmp[b], hist[src[b]], sizeof tmp[b]);
        memcpy(hist, tmp, sizeof hist);
        assert_int_equal(auris__kv_reorder(&st, NB, src), AURIS_OK);
        const struct auris__kv_run *runs = auris__kv_runs(&st, st.n_past, off);
        for (int b = 0; runs && b < NB; b++)
            max_slots = AURIS_MAX(max_slots, off[b + 1] - off[b]);
    }
    assert_true(max_slots >= 3); /* histories did spread over several slots */

    /* the last sequence alone, its history in pieces: one token, then two at once */
    assert_int_equal(auris__kv_reorder(&st, 1, (int[]){NB - 1}), AURIS_OK);
    int one[1] = {hist[NB - 1][len] = 7}, two[2] = {hist[NB - 1][len + 1] = 8,
                                                      hist[NB - 1][len + 2] = 9};
    int rows2[2] = {1, 0};
    calls[n_calls++] = 1;
    calls[n_calls] = 0;
    assert_int_equal(auris__decode(&st, one, 1, &r0, 1, got), AURIS_OK);
    replay(&alone, hist[NB - 1], calls, want);
    assert_memory_equal(got, want, (size_t)NV * sizeof *want);
    calls[n_calls++] = 2;
    calls[n_calls] = 0;
    assert_int_equal(auris__decode(&st, two, 2, rows2, 1, got), AURIS_OK);
    replay(&alone, hist[NB - 1], calls, want);
    assert_memory_equal(got, want, (size_t)NV * sizeof *want);
    free(got);
    free(want);
    auris__nn_state_free(&st);
    auris__nn_state_free(&alone);
    tiny_free(t);
}

/* The encoder runs once for a window encoded twice in a row (language detection, then the first
 * window of a long file), again for another window or after any other encoder run, and the
 * features it keeps are those a fresh run gives. */
static void test_session_encode_once(void **state)
{
    (void)state;
    struct tiny *t = tiny_model();
    const auris_model *m = &t->model;
    auris_session *s = NULL;
    struct auris_error err = {0};
    assert_int_equal(auris_session_create(m, NULL, &s, &err), AURIS_OK);
    size_t n_mel = (size_t)m->dims.n_mels * AURIS_N_FRAMES;
    float *a = tvec(t, n_mel, 0.0f, 1.0f), *b = tvec(t, n_mel, 0.5f, 1.0f);
    size_t cross = (size_t)m->dims.n_text_layer * m->dims.n_audio_ctx * m->dims.n_text_state * 2;
    uint16_t *want = malloc(cross);
    assert_non_null(want);
    memcpy(s->mel_window, a, n_mel * sizeof(float));
    assert_int_equal(auris__session_encode(s), AURIS_OK);
    assert_int_equal(s->nn.n_encodes, 1);
    memcpy(want, s->nn.cross_k, cross);
    s->nn.n_past = 3;
    assert_int_equal(auris__session_encode(s), AURIS_OK); /* the same window: kept */
    assert_int_equal(s->nn.n_encodes, 1);
    assert_int_equal(s->nn.n_past, 0);
    memcpy(s->mel_window, b, n_mel * sizeof(float));
    assert_int_equal(auris__session_encode(s), AURIS_OK); /* another window */
    assert_int_equal(s->nn.n_encodes, 2);
    memcpy(s->mel_window, a, n_mel * sizeof(float));
    assert_int_equal(auris__session_encode(s), AURIS_OK);
    assert_int_equal(s->nn.n_encodes, 3);
    assert_memory_equal(s->nn.cross_k, want, cross);
    assert_int_equal(auris__encode(&s->nn, b), AURIS_OK); /* someone else's run */
    memcpy(s->mel_window, a, n_mel * sizeof(float));
    assert_int_equal(auris__session_encode(s), AURIS_OK);
    assert_int_equal(s->nn.n_encodes, 5);
    assert_memory_equal(s->nn.cross_k, want, cross);
    free(want);
    auris_session_free(s);
    tiny_free(t);
}

/* Per-audio cross K/V (the VAD batch): two audios in batch slots 0 and 1, decoded together;
 * then sequence 0 ends and sequence 1 goes on alone. The survivor must keep attending to its
 * own audio in slot 1, not to slot 0's (attention_run once ignored kv_index for one batch). */
static void test_nn_batch_cross_slots(void **state)
{
    (void)state;
    struct tiny *t = tiny_model();
    const auris_model *m = &t->model;
    const int NV = m->dims.n_vocab;
    struct auris__nn_state st;
    struct auris_error err = {0};
    assert_int_equal(auris__nn_state_init(&st, m, 2, &err), AURIS_OK);
    size_t n_mel = (size_t)m->dims.n_mels * 2 * m->dims.n_audio_ctx;
    float *mel_a = tvec(t, n_mel, 0.0f, 1.0f), *mel_b = tvec(t, n_mel, 0.5f, 1.0f);
    assert_int_equal(auris__nn_batch_reserve(&st, 2, &err), AURIS_OK);
    assert_int_equal(auris__encode(&st, mel_a), AURIS_OK);
    auris__nn_batch_store(&st, 0);
    assert_int_equal(auris__encode(&st, mel_b), AURIS_OK);
    auris__nn_batch_store(&st, 1);
    assert_int_equal(auris__nn_reserve(&st, 2, &err), AURIS_OK);

    const int hist[2][4] = {{3, 4, 7, 9}, {3, 4, 8, 6}};
    float *got = malloc(2 * (size_t)NV * sizeof *got), *want = malloc((size_t)NV * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    auris__decoder_reset(&st);
    assert_int_equal(auris__kv_reorder(&st, 2, (int[]){0, 0}), AURIS_OK);
    st.bcross_index[0] = 0;
    st.bcross_index[1] = 1;
    st.bcross_on = true;
    int r0 = 0;
    for (int p = 0; p < 3; p++) {
        int step[2] = {hist[0][p], hist[1][p]};
        assert_int_equal(auris__decode_batch(&st, 2, step, 1, &r0, 1, got), AURIS_OK);
    }
    /* sequence 0 ends: sequence 1 continues alone, at batch position 0, with its audio */
    assert_int_equal(auris__kv_reorder(&st, 1, (int[]){1}), AURIS_OK);
    st.bcross_index[0] = 1;
    assert_int_equal(auris__decode_batch(&st, 1, &hist[1][3], 1, &r0, 1, got), AURIS_OK);
    st.bcross_on = false;

    /* the same history decoded alone against audio b as the session's own encoder output */
    assert_int_equal(auris__encode(&st, mel_b), AURIS_OK);
    solo(&st, hist[1], 4, want);
    for (int v = 0; v < NV; v++)
        assert_float_equal(got[v], want[v], 2e-4);
    free(got);
    free(want);
    auris__nn_state_free(&st);
    tiny_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_eot_and_logprob),
        cmocka_unit_test(test_timestamp_rules),
        cmocka_unit_test(test_timestamp_decoding),
        cmocka_unit_test(test_beam_ranking),
        cmocka_unit_test(test_best_of_sampling),
        cmocka_unit_test(test_initial_tokens),
        cmocka_unit_test(test_prefix_in_decoding),
        cmocka_unit_test(test_nn_batch_and_reorder),
        cmocka_unit_test(test_session_encode_once),
        cmocka_unit_test(test_nn_paged_beams),
        cmocka_unit_test(test_nn_batch_cross_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
