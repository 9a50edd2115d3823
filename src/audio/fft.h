/*
 * fft.h — internal FFT plans of the audio module (fft.c).
 *
 * A plan is immutable after creation and may be executed by many threads at once, each with its
 * own work buffer. Sizes with only small prime factors use a recursive mixed-radix
 * decimation-in-time transform; sizes with a large prime factor use Bluestein's chirp-z
 * algorithm over a power-of-two plan.
 */
#ifndef AURIS_AUDIO_FFT_H
#define AURIS_AUDIO_FFT_H

#include <stddef.h>

struct auris_fft_plan;

/* Plan for a forward complex DFT of length n >= 1: X[k] = sum_j x[j] exp(-2 pi i jk / n).
 * NULL on allocation failure or n < 1. */
struct auris_fft_plan *auris__fft_plan_create(int n);
void auris__fft_plan_free(struct auris_fft_plan *plan);

/* Doubles of work space one execution needs. */
size_t auris__fft_plan_work_size(const struct auris_fft_plan *plan);

/* In-place transform of re/im [n] using `work` [auris__fft_plan_work_size(plan)]. */
void auris__fft_plan_exec(const struct auris_fft_plan *plan, double *re, double *im,
                          double *work);

/* Real-input transform of even length n through one complex FFT of length n/2 (the classic
 * even/odd packing). Output bins 0..n/2 of the forward DFT. Same sharing rules as above. */
struct auris_rfft_plan;
struct auris_rfft_plan *auris__rfft_plan_create(int n);
void auris__rfft_plan_free(struct auris_rfft_plan *plan);
size_t auris__rfft_plan_work_size(const struct auris_rfft_plan *plan);
/* x [n] in; out_re/out_im [n/2 + 1]; work [auris__rfft_plan_work_size(plan)]. */
void auris__rfft_plan_exec(const struct auris_rfft_plan *plan, const double *x, double *out_re,
                           double *out_im, double *work);

#endif /* AURIS_AUDIO_FFT_H */
