/*
 * mel.c — the Mel filterbank and the log-Mel spectrogram.
 *
 * References: librosa.filters.mel (Slaney mel scale, Slaney area normalisation; the source of
 * whisper's mel_filters.npz) and whisper/audio.py log_mel_spectrogram (torch.stft with a periodic
 * Hann window, center=True, reflect padding, last frame dropped, |X|^2, log10 with a 1e-10
 * floor, dynamic range clamped to 8 decades, (x + 4) / 4).
 * Invariants: spectra are computed in double and stored as float; mel output is row-major
 * [n_mels][n_frames]; every frame only reads the input, so frames can run on any thread.
 */
#include "audio.h"
#include "fft.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define N_FFT AURIS_N_FFT                 /* 400 */
#define N_BINS (AURIS_N_FFT / 2 + 1)      /* 201 */
#define HOP AURIS_HOP_LENGTH              /* 160 */
#define MAX_MELS 256
#define MAX_THREADS 64
#define BLOCK 32 /* frames per unit of work */

static const double PI = 3.14159265358979323846264338327950288;

/* ---- filterbank ----------------------------------------------------------------------------- */

/* Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above. */
#define SLANEY_F_SP (200.0 / 3.0)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP)

static double slaney_logstep(void)
{
    return log(6.4) / 27.0;
}

static double hz_to_mel(double hz)
{
    if (hz >= SLANEY_MIN_LOG_HZ)
        return SLANEY_MIN_LOG_MEL + log(hz / SLANEY_MIN_LOG_HZ) / slaney_logstep();
    return hz / SLANEY_F_SP;
}

static double mel_to_hz(double mel)
{
    if (mel >= SLANEY_MIN_LOG_MEL)
        return SLANEY_MIN_LOG_HZ * exp(slaney_logstep() * (mel - SLANEY_MIN_LOG_MEL));
    return SLANEY_F_SP * mel;
}

enum auris_err auris__mel_filters(int n_mels, float *out)
{
    if (n_mels < 1 || n_mels > MAX_MELS || !out)
        return AURIS_ERR_INVALID_ARG;
    double mel_f[MAX_MELS + 2], fft_f[N_BINS];
    /* band edges: n_mels + 2 points evenly spaced in mel between 0 Hz and Nyquist, as
     * numpy.linspace computes them (i * step + start, last point exact) */
    const double mel_lo = hz_to_mel(0.0), mel_hi = hz_to_mel(AURIS_SAMPLE_RATE / 2.0);
    const double step = (mel_hi - mel_lo) / (double)(n_mels + 1);
    for (int i = 0; i < n_mels + 2; i++)
        mel_f[i] = mel_to_hz(i == n_mels + 1 ? mel_hi : (double)i * step + mel_lo);
    /* numpy.fft.rfftfreq(400, 1/16000): k / (n * d) */
    const double bin_hz = 1.0 / ((double)N_FFT * (1.0 / (double)AURIS_SAMPLE_RATE));
    for (int k = 0; k < N_BINS; k++)
        fft_f[k] = (double)k * bin_hz;
    for (int i = 0; i < n_mels; i++) {
        const double lo_w = mel_f[i + 1] - mel_f[i], hi_w = mel_f[i + 2] - mel_f[i + 1];
        const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (int k = 0; k < N_BINS; k++) {
            double lower = -(mel_f[i] - fft_f[k]) / lo_w;
            double upper = (mel_f[i + 2] - fft_f[k]) / hi_w;
            double w = fmax(0.0, fmin(lower, upper));
            /* librosa stores the triangle in a float32 array before scaling it in place: round
             * twice, as it does, so the values match bit for bit */
            out[(size_t)i * N_BINS + k] = (float)((double)(float)w * enorm);
        }
    }
    return AURIS_OK;
}

/* ---- log-Mel spectrogram -------------------------------------------------------------------- */

struct mel_job {
    /* shared, read-only */
    const float *pcm;          /* [n_samples] */
    size_t n_samples;
    size_t n_total;            /* n_samples + pad_samples: zeros after pcm */
    const float *filters;      /* [n_mels][201] */
    const int *band_lo, *band_hi; /* [n_mels] non-zero range [lo, hi) of each filter row */
    int n_mels;
    int n_frames;
    const struct auris_rfft_plan *plan;
    const double *window;      /* [400] periodic Hann */
    float *out;                /* [n_mels][n_frames], each job writes its own columns */
    /* per job: blocks job, job + n_jobs, ... of BLOCK frames (interleaved, so that trailing
     * zero padding does not leave one thread all the work) */
    int job, n_jobs;
    float max_val;
    int failed;
};

/* Sample i of the signal after centre padding by reflection (torch "reflect": the edge sample
 * is not repeated). Folds repeatedly so that very short inputs stay in range. */
static double padded_sample(const struct mel_job *job, long long i)
{
    const long long L = (long long)job->n_total;
    if (L == 1)
        return job->n_samples ? job->pcm[0] : 0.0;
    while (i < 0 || i >= L) {
        if (i < 0)
            i = -i;
        if (i >= L)
            i = 2 * (L - 1) - i;
    }
    return (size_t)i < job->n_samples ? (double)job->pcm[i] : 0.0;
}

/* Windowed frame t into re[400]; returns 0 when every sample is zero (digital silence or the
 * zero padding), whose spectrum is exactly zero. */
static int load_frame(const struct mel_job *job, int t, double *re)
{
    const long long start = (long long)t * HOP - N_FFT / 2;
    int nonzero = 0;
    if (start >= 0 && (size_t)start + N_FFT <= job->n_samples) {
        const float *x = job->pcm + start;
        for (int n = 0; n < N_FFT; n++) {
            re[n] = (double)x[n] * job->window[n];
            nonzero |= x[n] != 0.0f;
        }
    } else if (start >= 0 && (size_t)start >= job->n_samples &&
               (unsigned long long)start + N_FFT <= job->n_total) {
        return 0; /* wholly inside the zero padding */
    } else {
        for (int n = 0; n < N_FFT; n++) {
            double x = padded_sample(job, start + n);
            re[n] = x * job->window[n];
            nonzero |= x != 0.0;
        }
    }
    return nonzero;
}

static void *mel_worker(void *arg)
{
    struct mel_job *job = arg;
    double frame[N_FFT], xr[N_BINS], xi[N_BINS], power[N_BINS];
    double *work = malloc(sizeof(double) * auris__rfft_plan_work_size(job->plan));
    if (!work) {
        job->failed = 1;
        return NULL;
    }
    const float log_floor = -10.0f; /* log10(1e-10) */
    float max_val = -INFINITY;
    for (int b0 = job->job * BLOCK; b0 < job->n_frames; b0 += job->n_jobs * BLOCK) {
        const int b1 = AURIS_MIN(b0 + BLOCK, job->n_frames);
        for (int t = b0; t < b1; t++) {
            float *dst = job->out + t;
            if (!load_frame(job, t, frame)) {
                for (int i = 0; i < job->n_mels; i++)
                    dst[(size_t)i * job->n_frames] = log_floor;
                max_val = fmaxf(max_val, log_floor);
                continue;
            }
            auris__rfft_plan_exec(job->plan, frame, xr, xi, work);
            for (int k = 0; k < N_BINS; k++)
                power[k] = xr[k] * xr[k] + xi[k] * xi[k];
            for (int i = 0; i < job->n_mels; i++) {
                /* sparse row: only the filter's non-zero band contributes */
                const float *f = job->filters + (size_t)i * N_BINS;
                double acc = 0.0;
                for (int k = job->band_lo[i]; k < job->band_hi[i]; k++)
                    acc += (double)f[k] * power[k];
                float v = (float)log10(acc > 1e-10 ? acc : 1e-10);
                dst[(size_t)i * job->n_frames] = v;
                max_val = fmaxf(max_val, v);
            }
        }
    }
    job->max_val = max_val;
    free(work);
    return NULL;
}

enum auris_err auris__log_mel(const float *pcm, size_t n_samples, size_t pad_samples,
                              const float *filters, int n_mels, int n_threads, float **out,
                              int *n_frames, struct auris_error *err)
{
    struct auris_rfft_plan *plan = NULL;
    float *mel = NULL;
    enum auris_err rc = AURIS_OK;
    if (!out || !n_frames || !filters || (!pcm && n_samples > 0) || n_mels < 1 ||
        n_mels > MAX_MELS)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "log_mel: invalid argument");
    *out = NULL;
    *n_frames = 0;
    if (pad_samples > SIZE_MAX - n_samples)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "log_mel: sample count overflows");
    const size_t n_total = n_samples + pad_samples;
    const size_t frames = n_total / HOP;
    if (frames == 0)
        return auris__fail(err, AURIS_ERR_AUDIO,
                           "log_mel: %zu samples is shorter than one 10 ms frame", n_total);
    size_t n_cells;
    if (frames > INT32_MAX || !auris__mul_ok(frames, (size_t)n_mels, &n_cells) ||
        n_cells > SIZE_MAX / sizeof(float))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "log_mel: input too long (%zu samples)",
                           n_total);

    double window[N_FFT];
    for (int n = 0; n < N_FFT; n++) /* periodic Hann: denominator N, not N - 1 */
        window[n] = 0.5 - 0.5 * cos(2.0 * PI * (double)n / (double)N_FFT);
    int band_lo[MAX_MELS], band_hi[MAX_MELS];
    for (int i = 0; i < n_mels; i++) {
        const float *f = filters + (size_t)i * N_BINS;
        int lo = 0, hi = N_BINS;
        while (lo < hi && f[lo] == 0.0f)
            lo++;
        while (hi > lo && f[hi - 1] == 0.0f)
            hi--;
        band_lo[i] = lo;
        band_hi[i] = hi;
    }

    plan = auris__rfft_plan_create(N_FFT);
    mel = malloc(n_cells * sizeof(float));
    if (!plan || !mel) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "log_mel: out of memory for %zu frames", frames);
        goto fail;
    }

    int n_jobs = n_threads < 1 ? 1 : AURIS_MIN(n_threads, MAX_THREADS);
    const size_t n_blocks = (frames + BLOCK - 1) / BLOCK;
    if ((size_t)n_jobs > n_blocks)
        n_jobs = (int)n_blocks;
    struct mel_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int j = 0; j < n_jobs; j++) {
        jobs[j] = (struct mel_job){
            .pcm = pcm, .n_samples = n_samples, .n_total = n_total, .filters = filters,
            .band_lo = band_lo, .band_hi = band_hi, .n_mels = n_mels, .n_frames = (int)frames,
            .plan = plan, .window = window, .out = mel,
            .job = j, .n_jobs = n_jobs, .max_val = -INFINITY,
        };
    }
    for (int j = 1; j < n_jobs; j++)
        started[j] = pthread_create(&tids[j], NULL, mel_worker, &jobs[j]) == 0;
    mel_worker(&jobs[0]);
    for (int j = 1; j < n_jobs; j++) {
        if (started[j])
            pthread_join(tids[j], NULL);
        else
            mel_worker(&jobs[j]); /* no thread to be had: do the share here */
    }

    float gmax = -INFINITY;
    for (int j = 0; j < n_jobs; j++) {
        if (jobs[j].failed) {
            rc = auris__fail(err, AURIS_ERR_NOMEM, "log_mel: out of memory for FFT scratch");
            goto fail;
        }
        if (jobs[j].max_val > gmax)
            gmax = jobs[j].max_val;
    }
    const float floor_val = gmax - 8.0f;
    for (size_t c = 0; c < n_cells; c++) {
        float v = mel[c] > floor_val ? mel[c] : floor_val;
        mel[c] = (v + 4.0f) / 4.0f;
    }
    auris__rfft_plan_free(plan);
    *out = mel;
    *n_frames = (int)frames;
    return AURIS_OK;
fail:
    auris__rfft_plan_free(plan);
    free(mel);
    return rc;
}

void auris__mel_window(const float *mel, int n_mels, int n_frames, int seek, float *window)
{
    if (!window || n_mels < 1)
        return;
    for (int i = 0; i < n_mels; i++) {
        float *dst = window + (size_t)i * AURIS_N_FRAMES;
        for (int j = 0; j < AURIS_N_FRAMES; j++) {
            long long f = (long long)seek + j;
            dst[j] = (mel && f >= 0 && f < n_frames) ? mel[(size_t)i * n_frames + (size_t)f] : 0.0f;
        }
    }
}
