/*
 * test_transcribe.c — the model-free arithmetic of the transcription loop, driven with
 * hand-made token sequences: segment splitting at consecutive timestamps, the single timestamp
 * ending, seeking to the last timestamp, the no-consecutive-timestamps duration, fallback and
 * no-speech decisions, prompt construction (carry_initial_prompt with Python's slicing), clip
 * seek points (Python's round) and the CLI temperature schedule (np.arange). Expected times were
 * printed by CPython with the reference's expressions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transcribe/transcribe.h"

#include <math.h>

#define TB 50364 /* <|0.00|> of multilingual models */
#define A 400    /* text tokens */
#define B 370
#define C 452

static struct auris__span spans[64];

static void test_split_pairs(void **state)
{
    (void)state;
    /* <0.00> a b <2.00><2.00> c <5.00><5.00> d e: two closed segments, the unfinished tail is
     * decoded again from seek + 250 * 2 */
    const int t[] = {TB, A, B, TB + 100, TB + 100, C, TB + 250, TB + 250, A, B};
    int delta = -1;
    int n = auris__split_window(t, 10, TB, 30.0, 3000, 2, spans, &delta);
    assert_int_equal(n, 2);
    assert_int_equal(spans[0].begin, 0);
    assert_int_equal(spans[0].end, 4);
    assert_true(spans[0].start == 30.0 && spans[0].end_time == 32.0);
    assert_int_equal(spans[1].begin, 4);
    assert_int_equal(spans[1].end, 7);
    assert_true(spans[1].start == 32.0 && spans[1].end_time == 35.0);
    assert_int_equal(delta, 500);
}

static void test_split_single_ending(void **state)
{
    (void)state;
    /* <0.00> a <1.00><1.00> b <1.60>: the last timestamp closes a segment and the whole
     * window is consumed */
    const int t[] = {TB, A, TB + 50, TB + 50, B, TB + 80};
    int delta = -1;
    int n = auris__split_window(t, 6, TB, 0.0, 2345, 2, spans, &delta);
    assert_int_equal(n, 2);
    assert_true(spans[0].start == 0.0 && spans[0].end_time == 1.0);
    assert_int_equal(spans[1].begin, 3);
    assert_int_equal(spans[1].end, 6);
    assert_true(spans[1].start == 1.0 && spans[1].end_time == 1.6);
    assert_int_equal(delta, 2345);
}

static void test_split_ends_with_pair(void **state)
{
    (void)state;
    /* ... <0.40><0.40>: not a single ending; the trailing timestamp is dropped */
    const int t[] = {TB, A, TB + 10, TB + 10, B, TB + 20, TB + 20};
    int delta = -1;
    int n = auris__split_window(t, 7, TB, 0.0, 3000, 2, spans, &delta);
    assert_int_equal(n, 2);
    assert_int_equal(spans[1].begin, 3);
    assert_int_equal(spans[1].end, 6);
    assert_int_equal(delta, 40);
}

static void test_split_no_consecutive(void **state)
{
    (void)state;
    int delta = -1;
    /* one segment ending at the last timestamp */
    const int t1[] = {TB, A, B, TB + 75};
    int n = auris__split_window(t1, 4, TB, 12.34, 3000, 2, spans, &delta);
    assert_int_equal(n, 1);
    assert_int_equal(spans[0].begin, 0);
    assert_int_equal(spans[0].end, 4);
    assert_true(spans[0].start == 12.34 && spans[0].end_time == 12.34 + 1.5);
    assert_int_equal(delta, 3000);
    /* timestamp 37 after an offset: 12.34 + 37 * 0.02 == 13.08 as Python computes it */
    const int t2[] = {TB + 37, A};
    n = auris__split_window(t2, 2, TB, 12.34, 3000, 2, spans, &delta);
    assert_true(spans[0].end_time == 13.08);
    /* no timestamps (without_timestamps): the window's duration */
    const int t3[] = {A, B, C};
    n = auris__split_window(t3, 3, TB, 0.0, 1100, 2, spans, &delta);
    assert_int_equal(n, 1);
    assert_true(spans[0].end_time == 11.0);
    assert_int_equal(delta, 1100);
    /* the last timestamp is <|0.00|>: the window's duration too */
    const int t4[] = {A, TB};
    n = auris__split_window(t4, 2, TB, 0.0, 1100, 2, spans, &delta);
    assert_true(spans[0].end_time == 11.0);
    /* nothing decoded */
    n = auris__split_window(t4, 0, TB, 30.0, 3000, 2, spans, &delta);
    assert_int_equal(n, 1);
    assert_int_equal(spans[0].end - spans[0].begin, 0);
    assert_true(spans[0].start == 30.0 && spans[0].end_time == 60.0);
    assert_int_equal(delta, 3000);
    /* one token: never a single-timestamp ending */
    const int t5[] = {TB + 5};
    n = auris__split_window(t5, 1, TB, 0.0, 3000, 2, spans, &delta);
    assert_int_equal(n, 1);
    assert_true(spans[0].end_time == 0.1);
}

static void test_fallback(void **state)
{
    (void)state;
    const float cr = 2.4f, lp = -1.0f, ns = 0.6f;
    assert_false(auris__needs_fallback(1.5, -0.5, 0.1, cr, lp, ns));
    assert_true(auris__needs_fallback(2.5, -0.5, 0.1, cr, lp, ns)); /* repetitive */
    assert_true(auris__needs_fallback(1.5, -1.5, 0.1, cr, lp, ns)); /* improbable */
    assert_false(auris__needs_fallback(1.5, -1.5, 0.7, cr, lp, ns)); /* silence */
    assert_false(auris__needs_fallback(2.5, -1.5, 0.7, cr, lp, ns)); /* silence wins */
    assert_true(auris__needs_fallback(2.5, -0.5, 0.7, cr, lp, ns));
    assert_false(auris__needs_fallback(2.5, -1.5, 0.1, NAN, NAN, ns)); /* None thresholds */
    assert_true(auris__needs_fallback(1.5, -1.5, 0.7, cr, lp, NAN));
    assert_false(auris__needs_fallback(2.4, -1.0, 0.1, cr, lp, ns)); /* strict comparisons */
}

static void test_should_skip(void **state)
{
    (void)state;
    assert_true(auris__should_skip(-1.5, 0.7, -1.0f, 0.6f));
    assert_false(auris__should_skip(-0.5, 0.7, -1.0f, 0.6f)); /* confident text */
    assert_false(auris__should_skip(-1.5, 0.5, -1.0f, 0.6f));
    assert_false(auris__should_skip(-1.5, 0.7, -1.0f, NAN));
    assert_true(auris__should_skip(-0.5, 0.7, NAN, 0.6f));
}

static void test_prompt_ranges(void **state)
{
    (void)state;
    size_t r[2][2];
    assert_int_equal(auris__prompt_ranges(10, 0, 4, false, 223, r), 1);
    assert_true(r[0][0] == 4 && r[0][1] == 10);
    assert_int_equal(auris__prompt_ranges(10, 3, 10, false, 220, r), 1);
    assert_true(r[0][0] == 10 && r[0][1] == 10); /* reset: empty prompt */
    /* carry: the initial prompt, then everything after it */
    assert_int_equal(auris__prompt_ranges(20, 5, 0, true, 218, r), 2);
    assert_true(r[0][0] == 0 && r[0][1] == 5 && r[1][0] == 5 && r[1][1] == 20);
    /* carry after a reset, keeping the last 3 */
    auris__prompt_ranges(20, 5, 12, true, 3, r);
    assert_true(r[0][0] == 0 && r[0][1] == 5 && r[1][0] == 17 && r[1][1] == 20);
    /* Python: x[-0:] is all of x, x[--2:] drops the first two */
    auris__prompt_ranges(20, 5, 12, true, 0, r);
    assert_true(r[1][0] == 12 && r[1][1] == 20);
    auris__prompt_ranges(20, 5, 12, true, -2, r);
    assert_true(r[1][0] == 14 && r[1][1] == 20);
    auris__prompt_ranges(20, 5, 12, true, -50, r);
    assert_true(r[1][0] == 20 && r[1][1] == 20);
}

static void test_clip_points(void **state)
{
    (void)state;
    int p[8];
    assert_int_equal(auris__clip_points(NULL, 0, 1100, p), 2);
    assert_true(p[0] == 0 && p[1] == 1100);
    const double one[] = {0.0};
    assert_int_equal(auris__clip_points(one, 1, 1100, p), 2);
    assert_true(p[0] == 0 && p[1] == 1100);
    const double three[] = {0.005, 1.235, 10.5};
    assert_int_equal(auris__clip_points(three, 3, 5000, p), 4);
    assert_true(p[0] == 0 && p[1] == 124 && p[2] == 1050 && p[3] == 5000); /* Python round */
    const double two[] = {0.015, 3.0};
    assert_int_equal(auris__clip_points(two, 2, 5000, p), 2);
    assert_true(p[0] == 2 && p[1] == 300);
    const double bad[] = {-1.0};
    assert_int_equal(auris__clip_points(bad, 1, 5000, p), -1);
}

static void test_temperature_schedule(void **state)
{
    (void)state;
    double t[16];
    assert_int_equal(auris__temperature_schedule(0.0, 0.2, t, 16), 6);
    assert_true(t[0] == 0.0 && t[1] == 0.2 && t[2] == 0.4 && t[3] == 0.6000000000000001 &&
                t[4] == 0.8 && t[5] == 1.0);
    assert_int_equal(auris__temperature_schedule(0.1, 0.3, t, 16), 4);
    assert_true(t[2] == 0.7000000000000001 && t[3] == 1.0000000000000002);
    assert_int_equal(auris__temperature_schedule(0.5, 0.25, t, 16), 3);
    assert_int_equal(auris__temperature_schedule(1.0, 0.2, t, 16), 1);
    assert_int_equal(auris__temperature_schedule(0.4, NAN, t, 16), 1); /* increment None */
    assert_true(t[0] == 0.4);
    assert_int_equal(auris__temperature_schedule(1.5, 0.2, t, 16), -1); /* empty */
    assert_int_equal(auris__temperature_schedule(0.0, 0.0, t, 16), -1);
    assert_int_equal(auris__temperature_schedule(0.0, 0.01, t, 16), -1); /* too long */
}

static void test_py_round(void **state)
{
    (void)state;
    assert_true(auris__py_round(0.5) == 0.0);
    assert_true(auris__py_round(1.5) == 2.0);
    assert_true(auris__py_round(2.5) == 2.0);
    assert_true(auris__py_round(-0.5) == 0.0);
    assert_true(auris__py_round(2.6) == 3.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_pairs),         cmocka_unit_test(test_split_single_ending),
        cmocka_unit_test(test_split_ends_with_pair), cmocka_unit_test(test_split_no_consecutive),
        cmocka_unit_test(test_fallback),            cmocka_unit_test(test_should_skip),
        cmocka_unit_test(test_prompt_ranges),       cmocka_unit_test(test_clip_points),
        cmocka_unit_test(test_temperature_schedule), cmocka_unit_test(test_py_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
