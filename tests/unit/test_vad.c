/*
 * test_vad.c — Silero VAD pieces that need no oracle: streaming equals one-shot, the segment
 * scan's edge cases (empty, all speech, max-speech cuts, padding), parameter checks, the chunk
 * plan and its time map. The forward pass uses the shared ggml model when present (skips those
 * cases otherwise); parity with the official model is tests/reference/vad_parity.py's job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "transcribe/vad_chunks.h"
#include "vad/vad.h"
#include "kernels/kernels.h"

static auris_vad *load_shared(void)
{
    const char *dir = getenv("AURIS_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/silero-v6.2.0-ggml.bin", dir ? dir : "../shared/data");
    auris_vad *v = NULL;
    struct auris_error err = {0};
    if (auris_vad_load(path, &v, &err) != AURIS_OK)
        return NULL;
    return v;
}

static void test_stream_equals_oneshot(void **state)
{
    (void)state;
    auris_vad *v = load_shared();
    if (!v)
        skip();
    const size_t n = 16000 * 3 + 123;
    float *pcm = malloc(n * sizeof *pcm);
    assert_non_null(pcm);
    uint32_t r = 7;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        pcm[i] = 0.3f * sinf(0.03f * (float)i) * (float)((i / 4000) % 2) +
                 0.01f * ((float)(r >> 8) / 16777216.0f - 0.5f);
    }
    float *all = NULL;
    size_t n_all = 0;
    struct auris_error err = {0};
    assert_int_equal(auris_vad_probs(v, pcm, n, &all, &n_all, &err), AURIS_OK);
    assert_int_equal(n_all, (n + 511) / 512);
    auris_vad_stream *s = NULL;
    assert_int_equal(auris_vad_stream_create(v, &s, &err), AURIS_OK);
    float got[200];
    size_t k = 0, pos = 0, step = 1;
    while (pos < n) {
        size_t take = AURIS_MIN(step, n - pos), m = 0;
        size_t need = auris_vad_stream_pending(s, take);
        if (need > 0) /* too little room is refused and consumes nothing */
            assert_int_equal(auris_vad_stream_feed(s, pcm + pos, take, got + k, need - 1, &m, &err),
                             AURIS_ERR_INVALID_ARG);
        assert_int_equal(auris_vad_stream_feed(s, pcm + pos, take, got + k, 200 - k, &m, &err),
                         AURIS_OK);
        assert_int_equal(m, need);
        k += m;
        pos += take;
        step = step * 3 + 17; /* 1, 20, 77, ... uneven pieces */
        if (step > 3000)
            step = 5;
    }
    k += (size_t)auris_vad_stream_flush(s, got + k);
    assert_int_equal(k, n_all);
    assert_memory_equal(got, all, k * sizeof *got);
    auris_vad_stream_reset(s);
    size_t m = 0;
    assert_int_equal(auris_vad_stream_feed(s, pcm, 1024, got, 2, &m, &err), AURIS_OK);
    assert_memory_equal(got, all, 2 * sizeof *got);
    for (size_t i = 0; i < n_all; i++)
        assert_true(all[i] >= 0.0f && all[i] <= 1.0f);
    auris_vad_stream_free(s);
    auris_free(all);
    free(pcm);
    auris_vad_free(v);
}

/* The whole-buffer path (front end in blocks of windows, in parallel, then the LSTM in order)
 * gives a stream's numbers bit for bit, whatever the pool and wherever the blocks and the final
 * partial window fall. */
static void test_pool_equals_stream(void **state)
{
    (void)state;
    auris_vad *v = load_shared();
    if (!v)
        skip();
    const size_t lens[] = {0, 100, 512, 512 * 16, 512 * 16 + 1, 512 * 33 - 7, 16000 * 2 + 5};
    const size_t max_n = 16000 * 2 + 5;
    float *pcm = malloc(max_n * sizeof *pcm), *want = malloc((max_n / 512 + 2) * sizeof *want);
    assert_non_null(pcm);
    assert_non_null(want);
    uint32_t r = 11;
    for (size_t i = 0; i < max_n; i++) {
        r = r * 1664525u + 1013904223u;
        pcm[i] = 0.4f * sinf(0.011f * (float)i) * (float)((i / 3000) % 2) +
                 0.02f * ((float)(r >> 8) / 16777216.0f - 0.5f);
    }
    struct auris__pool *pools[2] = {auris__pool_create(1), auris__pool_create(2)};
    assert_non_null(pools[0]);
    assert_non_null(pools[1]);
    struct auris_error err = {0};
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        size_t n = lens[t], k = 0;
        auris_vad_stream *s = NULL;
        assert_int_equal(auris_vad_stream_create(v, &s, &err), AURIS_OK);
        assert_int_equal(auris_vad_stream_feed(s, pcm, n, want, max_n / 512 + 2, &k, &err),
                         AURIS_OK);
        k += (size_t)auris_vad_stream_flush(s, want + k);
        auris_vad_stream_free(s);
        assert_int_equal(k, (n + 511) / 512);
        for (int pi = 0; pi < 3; pi++) {
            float *got = NULL;
            size_t n_got = 99;
            assert_int_equal(auris__vad_probs_pool(v, pi < 2 ? pools[pi] : NULL, pcm, n, &got,
                                                   &n_got, &err),
                             AURIS_OK);
            assert_int_equal(n_got, k);
            if (k)
                assert_memory_equal(got, want, k * sizeof *got);
            free(got);
        }
    }
    auris__pool_free(pools[0]);
    auris__pool_free(pools[1]);
    free(pcm);
    free(want);
    auris_vad_free(v);
}

static size_t segs(const float *p, size_t n_probs, size_t n_samples,
                   const struct auris_vad_params *vp, struct auris_vad_segment **out)
{
    size_t n = 0;
    struct auris_error err = {0};
    assert_int_equal(auris_vad_segments_from_probs(p, n_probs, n_samples, vp, out, &n, &err),
                     AURIS_OK);
    return n;
}

static void test_segments_edges(void **state)
{
    (void)state;
    struct auris_vad_segment *s = NULL;
    assert_int_equal(segs(NULL, 0, 0, NULL, &s), 0);
    assert_null(s);
    float p[400];
    for (int i = 0; i < 400; i++)
        p[i] = 0.9f;
    /* all speech: one segment over the whole audio */
    assert_int_equal(segs(p, 400, 400 * 512, NULL, &s), 1);
    assert_int_equal(s[0].start, 0);
    assert_int_equal(s[0].end, 400 * 512);
    auris_free(s);
    /* max speech 2 s without silence: cut at the current window, every piece <= 2 s + pads */
    struct auris_vad_params vp = auris_vad_default_params();
    vp.max_speech_duration_s = 2.0;
    size_t n = segs(p, 400, 400 * 512, &vp, &s);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(s[i].end > s[i].start);
        assert_true(s[i].end - s[i].start <= 2 * 16000 + 2 * 480);
        if (i)
            assert_true(s[i].start >= s[i - 1].end);
    }
    auris_free(s);
    /* a silence of 10 windows splits; padding 30 ms each side */
    for (int i = 100; i < 110; i++)
        p[i] = 0.01f;
    n = segs(p, 400, 400 * 512, NULL, &s);
    assert_int_equal(n, 2);
    assert_int_equal(s[0].end, 100 * 512 + 480);
    assert_int_equal(s[1].start, 110 * 512 - 480);
    auris_free(s);
    /* hysteresis: 0.4 is neither speech (< 0.5) nor silence (>= 0.35) */
    for (int i = 100; i < 110; i++)
        p[i] = 0.4f;
    assert_int_equal(segs(p, 400, 400 * 512, NULL, &s), 1);
    auris_free(s);
    /* bad options */
    struct auris_error err = {0};
    vp = auris_vad_default_params();
    vp.threshold = 1.5;
    assert_int_equal(auris_vad_segments_from_probs(p, 400, 400 * 512, &vp, &s, &n, &err),
                     AURIS_ERR_INVALID_ARG);
    vp = auris_vad_default_params();
    vp.max_speech_duration_s = 0;
    assert_int_equal(auris_vad_segments_from_probs(p, 400, 400 * 512, &vp, &s, &n, &err),
                     AURIS_ERR_INVALID_ARG);
}

static void test_plan_and_map(void **state)
{
    (void)state;
    /* 3 s speech every 10 s over 100 s: 10 segments, chunks of <= 30 s of speech */
    struct auris_vad_segment sg[10];
    for (int i = 0; i < 10; i++) {
        sg[i].start = (int64_t)i * 160000;
        sg[i].end = sg[i].start + 48000;
    }
    struct auris__vad_plan plan;
    struct auris_error err = {0};
    assert_int_equal(auris__vad_plan_make(sg, 10, 1600000, 0.1, &plan, &err), AURIS_OK);
    assert_int_equal(plan.n_pieces, 10);
    assert_int_equal(plan.n_chunks, 2); /* 9 x 3.1 s = 27.9 s, then the rest */
    assert_int_equal(plan.chunks[0].n_pieces, 9);
    assert_int_equal(plan.pieces[0].end, 48000 + 1600);
    assert_int_equal(plan.pieces[9].end, 9 * 160000 + 48000); /* the last keeps no overlap */
    for (int c = 0; c < plan.n_chunks; c++)
        assert_true(plan.chunks[c].n_samples <= AURIS_N_SAMPLES);
    /* chunk-local 0 is the first piece's start; 3.1 s is the second piece's start */
    assert_true(fabs(auris__vad_map_time(&plan, 0, 0.0, false) - 0.0) < 1e-9);
    assert_true(fabs(auris__vad_map_time(&plan, 0, 3.1, false) - 10.0) < 1e-9);
    assert_true(fabs(auris__vad_map_time(&plan, 0, 3.1, true) - 3.1) < 1e-9);
    assert_true(fabs(auris__vad_map_time(&plan, 0, 4.0, false) - 10.9) < 1e-9);
    /* past the chunk's audio: the end of its last piece */
    assert_true(fabs(auris__vad_map_time(&plan, 1, 29.0, true) - 93.0) < 1e-9);
    float *pcm = calloc(1600000, sizeof *pcm), *buf = malloc(AURIS_N_SAMPLES * sizeof *buf);
    assert_non_null(pcm);
    assert_non_null(buf);
    pcm[160000] = 1.0f;
    auris__vad_chunk_audio(&plan, 0, pcm, buf);
    assert_true(buf[49600] == 1.0f);
    free(pcm);
    free(buf);
    auris__vad_plan_free(&plan);
    auris__vad_plan_free(&plan); /* idempotent */
    /* overlap never reaches into the next segment */
    struct auris_vad_segment close[2] = {{0, 1000}, {1500, 3000}};
    assert_int_equal(auris__vad_plan_make(close, 2, 4000, 0.1, &plan, &err), AURIS_OK);
    assert_int_equal(plan.pieces[0].end, 1500);
    auris__vad_plan_free(&plan);
}

static void test_load_errors(void **state)
{
    (void)state;
    auris_vad *v = NULL;
    struct auris_error err = {0};
    assert_int_equal(auris_vad_load("/nonexistent/vad.bin", &v, &err), AURIS_ERR_IO);
    assert_null(v);
    assert_int_equal(auris_vad_load(NULL, &v, &err), AURIS_ERR_INVALID_ARG);
    auris_vad_free(NULL);
    auris_vad_stream_free(NULL);
    auris_vad_stream_reset(NULL);
    float pr;
    assert_int_equal(auris_vad_stream_flush(NULL, &pr), 0);
    assert_int_equal(auris_vad_stream_pending(NULL, 100), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_equals_oneshot),
        cmocka_unit_test(test_pool_equals_stream),
        cmocka_unit_test(test_segments_edges),
        cmocka_unit_test(test_plan_and_map),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
