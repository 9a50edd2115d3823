/*
 * test_audio.c — unit tests of the audio stage: FFT, Mel filterbank, log-Mel, decoding.
 *
 * References: a naive O(n^2) DFT for the FFT; whisper's mel_filters.npz (librosa) for the
 * filterbank; a direct per-frame evaluation of whisper/audio.py's log_mel_spectrogram formula;
 * the ffmpeg CLI (`ffmpeg -nostdin -i F -f s16le -ac 1 -ar 16000 -`) for decoding.
 * Tests needing /work/shared data or the ffmpeg/sox CLIs skip with a message when absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "audio/audio.h"
#include "audio/fft.h"

#define N_BINS 201
static const double PI = 3.14159265358979323846;

/* ---- helpers -------------------------------------------------------------------------------- */

static const char *shared_data(void)
{
    const char *d = getenv("AURIS_SHARED_DATA");
    return d && *d ? d : "/work/shared/data";
}

static int data_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", shared_data(), name);
    struct stat sb;
    return stat(buf, &sb) == 0;
}

static const char *tmp_dir(void)
{
    const char *d = getenv("AURIS_TEST_TMP");
    if (d && *d) {
        mkdir(d, 0777);
        return d;
    }
    return "/tmp";
}

static int have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static unsigned long long rng_state = 88172645463325252ULL;
static double frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Reads a whole file; NULL when it cannot be opened. */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- FFT ------------------------------------------------------------------------------------ */

static void check_fft(int n)
{
    double *re = xmalloc(sizeof(double) * n), *im = xmalloc(sizeof(double) * n);
    double *xr = xmalloc(sizeof(double) * n), *xi = xmalloc(sizeof(double) * n);
    for (int j = 0; j < n; j++) {
        re[j] = xr[j] = frand();
        im[j] = xi[j] = frand();
    }
    assert_int_equal(auris__fft(re, im, n), 0);
    double max_err = 0.0, max_mag = 1.0;
    for (int k = 0; k < n; k++) {
        long double sr = 0, si = 0;
        for (int j = 0; j < n; j++) {
            long long q = ((long long)j * k) % n;
            long double a = -2.0L * (long double)PI * (long double)q / (long double)n;
            sr += xr[j] * cosl(a) - xi[j] * sinl(a);
            si += xr[j] * sinl(a) + xi[j] * cosl(a);
        }
        max_err = fmax(max_err, fabs((double)sr - re[k]));
        max_err = fmax(max_err, fabs((double)si - im[k]));
        max_mag = fmax(max_mag, fabs((double)sr));
    }
    if (max_err > 1e-12 * n * max_mag)
        fail_msg("fft n=%d: max error %g vs naive DFT", n, max_err);
    free(re);
    free(im);
    free(xr);
    free(xi);
}

static void test_fft_vs_dft(void **state)
{
    (void)state;
    static const int sizes[] = {400, 16, 7, 1, 2, 3, 5, 12, 49, 200, 360, 1024, 131, 202, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_fft(sizes[i]);
}

static void test_rfft_vs_dft(void **state)
{
    (void)state;
    static const int sizes[] = {400, 2, 4, 14, 16, 202, 1000};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const int n = sizes[t];
        struct auris_rfft_plan *plan = auris__rfft_plan_create(n);
        assert_non_null(plan);
        double *x = xmalloc(sizeof(double) * n), *xr = xmalloc(sizeof(double) * (n / 2 + 1));
        double *xi = xmalloc(sizeof(double) * (n / 2 + 1));
        double *work = xmalloc(sizeof(double) * auris__rfft_plan_work_size(plan));
        for (int j = 0; j < n; j++)
            x[j] = frand();
        auris__rfft_plan_exec(plan, x, xr, xi, work);
        double max_err = 0.0;
        for (int k = 0; k <= n / 2; k++) {
            long double sr = 0, si = 0;
            for (int j = 0; j < n; j++) {
                long double a = -2.0L * (long double)PI * (long double)(((long long)j * k) % n) / n;
                sr += x[j] * cosl(a);
                si += x[j] * sinl(a);
            }
            max_err = fmax(max_err, fmax(fabs((double)sr - xr[k]), fabs((double)si - xi[k])));
        }
        if (max_err > 1e-12 * n)
            fail_msg("rfft n=%d: max error %g vs naive DFT", n, max_err);
        free(x);
        free(xr);
        free(xi);
        free(work);
        auris__rfft_plan_free(plan);
    }
    assert_null(auris__rfft_plan_create(7));
    assert_null(auris__rfft_plan_create(0));
}

static void test_fft_bad_args(void **state)
{
    (void)state;
    double x[4] = {0};
    assert_int_equal(auris__fft(x, x, 0), -1);
    assert_int_equal(auris__fft(NULL, x, 4), -1);
}

/* ---- .npz reader (zip of .npy; deflated or stored) -------------------------------------------- */

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | rd16(p + 2) << 16; }

/* Returns the float32 payload of `name` with shape [rows][cols] (malloc'd), or NULL. */
static float *npz_read(const unsigned char *zip, size_t zlen, const char *name, int *rows,
                       int *cols)
{
    size_t off = 0;
    while (off + 30 <= zlen && rd32(zip + off) == 0x04034b50u) {
        const unsigned char *h = zip + off;
        uint32_t method = rd16(h + 8);
        uint64_t csize = rd32(h + 18), usize = rd32(h + 22);
        uint32_t nlen = rd16(h + 26), xlen = rd16(h + 28);
        if (off + 30 + nlen + xlen > zlen)
            return NULL;
        const unsigned char *ex = h + 30 + nlen;
        for (uint32_t e = 0; e + 4 <= xlen;) { /* zip64 sizes */
            uint32_t id = rd16(ex + e), sz = rd16(ex + e + 2);
            if (id == 1 && sz >= 16 && e + 4 + 16 <= xlen) {
                if (usize == 0xffffffffu)
                    usize = rd32(ex + e + 4) | (uint64_t)rd32(ex + e + 8) << 32;
                if (csize == 0xffffffffu)
                    csize = rd32(ex + e + 12) | (uint64_t)rd32(ex + e + 16) << 32;
            }
            e += 4 + sz;
        }
        const unsigned char *data = h + 30 + nlen + xlen;
        if ((size_t)(data - zip) + csize > zlen)
            return NULL;
        if (nlen == strlen(name) && memcmp(h + 30, name, nlen) == 0) {
            unsigned char *raw = xmalloc(usize);
            if (method == 0) {
                memcpy(raw, data, usize);
            } else {
                assert_int_equal(method, 8);
                z_stream zs;
                memset(&zs, 0, sizeof zs);
                assert_int_equal(inflateInit2(&zs, -MAX_WBITS), Z_OK);
                zs.next_in = (unsigned char *)data;
                zs.avail_in = (uInt)csize;
                zs.next_out = raw;
                zs.avail_out = (uInt)usize;
                assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
                inflateEnd(&zs);
            }
            /* .npy: magic, version, header length, python-dict header, data */
            assert_memory_equal(raw, "\x93NUMPY", 6);
            size_t hlen = raw[6] == 1 ? rd16(raw + 8) : rd32(raw + 8);
            size_t hoff = raw[6] == 1 ? 10 : 12;
            char *hdr = xmalloc(hlen + 1);
            memcpy(hdr, raw + hoff, hlen);
            hdr[hlen] = '\0';
            assert_non_null(strstr(hdr, "'<f4'"));
            assert_non_null(strstr(hdr, "'fortran_order': False"));
            const char *sh = strstr(hdr, "'shape': (");
            assert_non_null(sh);
            assert_int_equal(sscanf(sh, "'shape': (%d, %d)", rows, cols), 2);
            free(hdr);
            size_t n = (size_t)*rows * (size_t)*cols;
            assert_true(hoff + hlen + n * 4 <= usize);
            float *out = xmalloc(n * sizeof(float));
            memcpy(out, raw + hoff + hlen, n * sizeof(float)); /* little-endian host */
            free(raw);
            return out;
        }
        off = (size_t)(data - zip) + csize;
    }
    return NULL;
}

/* ---- Mel filterbank ------------------------------------------------------------------------- */

static void test_mel_filters_vs_npz(void **state)
{
    (void)state;
    char path[4096];
    if (!data_path(path, sizeof path, "mel_filters.npz")) {
        print_message("skipping: %s not found (set AURIS_SHARED_DATA)\n", path);
        skip();
    }
    size_t zlen;
    unsigned char *zip = read_all(path, &zlen);
    assert_non_null(zip);
    static const int mels[] = {80, 128};
    for (int t = 0; t < 2; t++) {
        char name[32];
        snprintf(name, sizeof name, "mel_%d.npy", mels[t]);
        int rows = 0, cols = 0;
        float *ref = npz_read(zip, zlen, name, &rows, &cols);
        assert_non_null(ref);
        assert_int_equal(rows, mels[t]);
        assert_int_equal(cols, N_BINS);
        float *ours = xmalloc(sizeof(float) * rows * cols);
        assert_int_equal(auris__mel_filters(mels[t], ours), AURIS_OK);
        double max_diff = 0.0;
        int n_exact = 0;
        for (int i = 0; i < rows * cols; i++) {
            max_diff = fmax(max_diff, fabs((double)ours[i] - ref[i]));
            n_exact += ours[i] == ref[i];
        }
        print_message("mel_%d: max |diff| %.3g, %d/%d bit-exact\n", mels[t], max_diff, n_exact,
                      rows * cols);
        assert_true(max_diff <= 1e-6);
        free(ours);
        free(ref);
    }
    free(zip);
}

static void test_mel_filters_properties(void **state)
{
    (void)state;
    float *f = xmalloc(sizeof(float) * 256 * N_BINS);
    assert_int_equal(auris__mel_filters(0, f), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__mel_filters(257, f), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__mel_filters(80, NULL), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__mel_filters(80, f), AURIS_OK);
    int prev_peak = -1;
    for (int i = 0; i < 80; i++) {
        int peak = 0;
        for (int k = 0; k < N_BINS; k++) {
            assert_true(f[i * N_BINS + k] >= 0.0f);
            if (f[i * N_BINS + k] > f[i * N_BINS + peak])
                peak = k;
        }
        assert_true(f[i * N_BINS + peak] > 0.0f);
        assert_true(peak >= prev_peak); /* centres rise with the row */
        prev_peak = peak;
    }
    free(f);
}

/* ---- log-Mel -------------------------------------------------------------------------------- */

/* log10 Mel energies of frame t computed directly from the reference's formula. */
static void direct_frame(const float *x, long long n, const float *filters, int n_mels, int t,
                         double *out)
{
    double frame[400], power[N_BINS];
    for (int j = 0; j < 400; j++) {
        long long i = (long long)t * 160 - 200 + j;
        if (i < 0)
            i = -i;
        if (i >= n)
            i = 2 * (n - 1) - i;
        double w = 0.5 - 0.5 * cos(2.0 * PI * j / 400.0);
        frame[j] = x[i] * w;
    }
    for (int k = 0; k < N_BINS; k++) {
        double sr = 0, si = 0;
        for (int j = 0; j < 400; j++) {
            sr += frame[j] * cos(2.0 * PI * ((j * k) % 400) / 400.0);
            si -= frame[j] * sin(2.0 * PI * ((j * k) % 400) / 400.0);
        }
        power[k] = sr * sr + si * si;
    }
    for (int i = 0; i < n_mels; i++) {
        double acc = 0;
        for (int k = 0; k < N_BINS; k++)
            acc += filters[i * N_BINS + k] * power[k];
        out[i] = log10(fmax(acc, 1e-10));
    }
}

static void test_log_mel_vs_direct(void **state)
{
    (void)state;
    const int n = 4321, n_mels = 80;
    float *x = xmalloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        x[i] = (float)(0.3 * frand() + 0.2 * sin(2 * PI * 440.0 * i / 16000.0));
    float *filters = xmalloc(sizeof(float) * n_mels * N_BINS);
    assert_int_equal(auris__mel_filters(n_mels, filters), AURIS_OK);
    float *mel = NULL;
    int n_frames = 0;
    struct auris_error err = {0};
    assert_int_equal(auris__log_mel(x, n, 0, filters, n_mels, 1, &mel, &n_frames, &err), AURIS_OK);
    assert_int_equal(n_frames, n / 160);
    /* the global max of log10 is recovered from the normalised max: out = (x + 4) / 4 */
    double ref[128];
    double gmax = -1e30;
    for (int t = 0; t < n_frames; t++) {
        direct_frame(x, n, filters, n_mels, t, ref);
        for (int i = 0; i < n_mels; i++)
            gmax = fmax(gmax, ref[i]);
    }
    double max_diff = 0;
    for (int t = 0; t < n_frames; t++) {
        direct_frame(x, n, filters, n_mels, t, ref);
        for (int i = 0; i < n_mels; i++) {
            double want = (fmax(ref[i], gmax - 8.0) + 4.0) / 4.0;
            max_diff = fmax(max_diff, fabs(want - mel[i * n_frames + t]));
        }
    }
    print_message("log_mel vs direct formula: max |diff| %.3g\n", max_diff);
    assert_true(max_diff < 2e-6);
    free(mel);
    free(filters);
    free(x);
}

static void test_log_mel_sine(void **state)
{
    (void)state;
    const int n = 16000, pad = 16000 + 37, n_mels = 80;
    float *x = xmalloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) /* 1 kHz falls exactly on FFT bin 25 (40 Hz spacing) */
        x[i] = (float)(0.5 * sin(2 * PI * 1000.0 * i / 16000.0));
    float *filters = xmalloc(sizeof(float) * n_mels * N_BINS);
    assert_int_equal(auris__mel_filters(n_mels, filters), AURIS_OK);
    /* Hann leaks 1/4 of the amplitude into each neighbouring bin: 1/16 of the power */
    int want_row = 0;
    double best = -1;
    for (int i = 0; i < n_mels; i++) {
        const float *f = filters + i * N_BINS;
        double e = f[25] + (f[24] + f[26]) / 16.0;
        if (e > best) {
            best = e;
            want_row = i;
        }
    }
    float *mel = NULL;
    int n_frames = 0;
    struct auris_error err = {0};
    assert_int_equal(auris__log_mel(x, n, pad, filters, n_mels, 2, &mel, &n_frames, &err),
                     AURIS_OK);
    assert_int_equal(n_frames, (n + pad) / 160);
    float vmax = -1e30f, vmin = 1e30f;
    for (int i = 0; i < n_mels * n_frames; i++) {
        vmax = fmaxf(vmax, mel[i]);
        vmin = fminf(vmin, mel[i]);
    }
    assert_true(vmax - vmin <= 2.0f + 1e-6f);
    assert_float_equal(vmax - vmin, 2.0f, 1e-6); /* padding frames sit on the floor */
    for (int t = 5; t < 95; t++) {
        int arg = 0;
        for (int i = 1; i < n_mels; i++)
            if (mel[i * n_frames + t] > mel[arg * n_frames + t])
                arg = i;
        assert_int_equal(arg, want_row);
        assert_float_equal(mel[arg * n_frames + t], vmax, 1e-3);
    }
    for (int i = 0; i < n_mels; i++) /* frames wholly in the padding */
        assert_float_equal(mel[i * n_frames + n_frames - 1], vmin, 0);
    free(mel);
    free(filters);
    free(x);
}

static void test_log_mel_threads_and_args(void **state)
{
    (void)state;
    const int n = 48000, n_mels = 128;
    float *x = xmalloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        x[i] = (float)(0.1 * frand());
    float *filters = xmalloc(sizeof(float) * n_mels * N_BINS);
    assert_int_equal(auris__mel_filters(n_mels, filters), AURIS_OK);
    float *m1 = NULL, *m3 = NULL;
    int f1 = 0, f3 = 0;
    assert_int_equal(auris__log_mel(x, n, 480000, filters, n_mels, 1, &m1, &f1, NULL), AURIS_OK);
    assert_int_equal(auris__log_mel(x, n, 480000, filters, n_mels, 3, &m3, &f3, NULL), AURIS_OK);
    assert_int_equal(f1, (n + 480000) / 160);
    assert_int_equal(f1, f3);
    assert_memory_equal(m1, m3, sizeof(float) * n_mels * f1);

    /* window: frames past the end are exactly 0.0 (pad_or_trim in the normalised domain) */
    float *win = xmalloc(sizeof(float) * n_mels * AURIS_N_FRAMES);
    int seek = f1 - 1000;
    auris__mel_window(m1, n_mels, f1, seek, win);
    for (int i = 0; i < n_mels; i++) {
        assert_memory_equal(win + i * AURIS_N_FRAMES, m1 + (size_t)i * f1 + seek,
                            sizeof(float) * 1000);
        for (int j = 1000; j < AURIS_N_FRAMES; j++)
            assert_true(win[i * AURIS_N_FRAMES + j] == 0.0f);
    }
    free(win);

    struct auris_error err = {0};
    float *m = NULL;
    int nf = -1;
    assert_int_equal(auris__log_mel(x, 100, 0, filters, n_mels, 1, &m, &nf, &err),
                     AURIS_ERR_AUDIO);
    assert_null(m);
    assert_true(err.message[0] != '\0');
    assert_int_equal(auris__log_mel(NULL, 100, 0, filters, n_mels, 1, &m, &nf, &err),
                     AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris__log_mel(x, n, 0, filters, 0, 1, &m, &nf, &err),
                     AURIS_ERR_INVALID_ARG);
    /* short input (torch would refuse reflect padding this long): defined, no crash */
    assert_int_equal(auris__log_mel(x, 170, 0, filters, n_mels, 1, &m, &nf, &err), AURIS_OK);
    assert_int_equal(nf, 1);
    free(m);
    /* all padding */
    assert_int_equal(auris__log_mel(NULL, 0, 480000, filters, n_mels, 2, &m, &nf, &err), AURIS_OK);
    assert_int_equal(nf, 3000);
    for (int i = 0; i < n_mels * nf; i++)
        assert_true(m[i] == (-10.0f + 4.0f) / 4.0f);
    free(m);
    free(m1);
    free(m3);
    free(filters);
    free(x);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_log_mel_speed(void **state)
{
    (void)state;
    const int n = 480000, n_mels = 80;
    float *x = xmalloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        x[i] = (float)(0.1 * frand());
    float *filters = xmalloc(sizeof(float) * n_mels * N_BINS);
    assert_int_equal(auris__mel_filters(n_mels, filters), AURIS_OK);
    for (int threads = 1; threads <= 2; threads++) {
        float *m = NULL;
        int nf = 0;
        double t0 = now_sec();
        assert_int_equal(auris__log_mel(x, n, 480000, filters, n_mels, threads, &m, &nf, NULL),
                         AURIS_OK);
        double dt = now_sec() - t0;
        print_message("log_mel 30 s + 30 s padding, %d thread(s): %.1f ms\n", threads, dt * 1e3);
        assert_int_equal(nf, 6000);
        assert_true(dt < 5.0); /* generous: sanitizer builds are slow */
        free(m);
    }
    free(filters);
    free(x);
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* Runs the reference's ffmpeg command; returns the samples as int16 (malloc'd), NULL on failure. */
static int16_t *ffmpeg_s16(const char *path, size_t *n)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -threads 0 -i '%s' -f s16le -ac 1 "
             "-acodec pcm_s16le -ar 16000 - 2>/dev/null",
             path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 20, len = 0, got;
    unsigned char *buf = xmalloc(cap);
    while ((got = fread(buf + len, 1, cap - len, p)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    if (pclose(p) != 0) {
        free(buf);
        return NULL;
    }
    *n = len / 2;
    return (int16_t *)buf;
}

static void compare_with_cli(const char *path)
{
    size_t n_ref = 0;
    int16_t *ref = ffmpeg_s16(path, &n_ref);
    if (!ref)
        fail_msg("ffmpeg CLI could not decode %s", path);
    float *pcm = NULL;
    size_t n = 0;
    struct auris_error err = {0};
    enum auris_err rc = auris_audio_load(path, &pcm, &n, &err);
    if (rc != AURIS_OK)
        fail_msg("auris_audio_load(%s): %s", path, err.message);
    size_t n_bad = 0;
    double max_diff = 0;
    for (size_t i = 0; i < n && i < n_ref; i++) {
        double d = fabs((double)pcm[i] - ref[i] / 32768.0);
        max_diff = fmax(max_diff, d);
        n_bad += d > 1.0 / 32768.0 + 1e-9;
    }
    print_message("%s: %zu samples (cli %zu), max |diff| %.3g, %zu beyond 1/32768\n", path, n,
                  n_ref, max_diff, n_bad);
    assert_int_equal(n, n_ref);
    assert_int_equal(n_bad, 0);
    free(pcm);
    free(ref);
}

static void test_decode_jfk_vs_cli(void **state)
{
    (void)state;
    if (!have_tool("ffmpeg")) {
        print_message("skipping: ffmpeg CLI not on PATH\n");
        skip();
    }
    static const char *names[] = {"jfk.wav", "jfk.flac", "jfk.mp3"};
    int any = 0;
    for (int i = 0; i < 3; i++) {
        char path[4096];
        if (!data_path(path, sizeof path, names[i])) {
            print_message("note: %s missing, not compared\n", path);
            continue;
        }
        compare_with_cli(path);
        any = 1;
    }
    if (!any) {
        print_message("skipping: no jfk.* in %s\n", shared_data());
        skip();
    }
}

static void test_decode_generated_vs_cli(void **state)
{
    (void)state;
    if (!have_tool("ffmpeg")) {
        print_message("skipping: ffmpeg CLI not on PATH\n");
        skip();
    }
    /* stereo 44.1 kHz with different content per channel, plus lossy codecs with priming
     * delays and a video container holding two audio streams (the CLI picks the 2-channel) */
    static const char *const recipes[][2] = {
        {"stereo44k.wav", "-f lavfi -i sine=f=440:r=44100:d=2.5 -f lavfi -i "
                          "sine=f=1250:r=44100:d=2.5 -filter_complex amerge=inputs=2 "
                          "-c:a pcm_s16le"},
        {"stereo48k_f32.wav", "-f lavfi -i anoisesrc=r=48000:d=1.3:a=0.3 -ac 2 -c:a pcm_f32le"},
        {"mono8k.wav", "-f lavfi -i sine=f=300:r=8000:d=1.01 -c:a pcm_u8"},
        {"surround.flac", "-f lavfi -i anoisesrc=r=22050:d=1.5:a=0.2 -ac 6 -c:a flac"},
        {"tone.ogg", "-f lavfi -i sine=f=500:r=48000:d=1.7 -c:a libopus"},
        {"tone.m4a", "-f lavfi -i sine=f=700:r=44100:d=1.7 -ac 2 -c:a aac"},
        {"tone_vorbis.ogg", "-f lavfi -i sine=f=900:r=32000:d=1.2 -c:a libvorbis"},
        {"video.mkv", "-f lavfi -i testsrc=s=64x48:d=1:r=5 -f lavfi -i sine=f=200:d=1 "
                      "-f lavfi -i anoisesrc=d=1:a=0.2 -map 0 -map 1 -map 2 -ac:a:1 2 "
                      "-c:v mpeg4 -c:a pcm_s16le"},
    };
    int made = 0;
    for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++) {
        char path[4096], cmd[8192];
        snprintf(path, sizeof path, "%s/%s", tmp_dir(), recipes[i][0]);
        snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -loglevel error -y %s '%s' >/dev/null 2>&1",
                 recipes[i][1], path);
        if (system(cmd) != 0) {
            print_message("note: could not make %s (encoder missing?)\n", recipes[i][0]);
            continue;
        }
        compare_with_cli(path);
        made++;
    }
    if (!made) {
        print_message("skipping: ffmpeg could not make any test file\n");
        skip();
    }
}

/* Points fd 0 at `fd`; returns a copy of the old fd 0, or -1 when there was none (CI may run
 * us without standard input). */
static int stdin_replace(int fd)
{
    if (fd == 0) /* fd 0 was free and `fd` took it: nothing to swap or restore */
        return -2;
    int saved = dup(0);
    assert_true(dup2(fd, 0) == 0);
    return saved;
}

static void stdin_restore(int saved)
{
    if (saved == -2)
        return;
    if (saved >= 0) {
        assert_true(dup2(saved, 0) == 0);
        close(saved);
    } else {
        close(0);
    }
}

static void test_decode_stdin(void **state)
{
    (void)state;
    char path[4096];
    if (!data_path(path, sizeof path, "jfk.flac")) {
        print_message("skipping: %s not found\n", path);
        skip();
    }
    float *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    struct auris_error err = {0};
    assert_int_equal(auris_audio_load(path, &a, &na, &err), AURIS_OK);
    /* redirect our stdin to the file: "-" must read fd 0 */
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    int saved = stdin_replace(fd);
    if (fd != 0)
        close(fd);
    enum auris_err rc = auris_audio_load("-", &b, &nb, &err);
    stdin_restore(saved);
    if (rc != AURIS_OK)
        fail_msg("stdin decode: %s", err.message);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(float));
    free(a);
    free(b);
}

/* A real pipe on fd 0 (not seekable, unlike a redirected file). */
static void test_decode_stdin_pipe(void **state)
{
    (void)state;
    char path[4096], cmd[8192];
    if (!data_path(path, sizeof path, "jfk.mp3")) {
        print_message("skipping: %s not found\n", path);
        skip();
    }
    if (!have_tool("ffmpeg")) {
        print_message("skipping: ffmpeg CLI not on PATH\n");
        skip();
    }
    /* through a pipe the mp3 demuxer cannot seek to trim the encoder padding, so the reference
     * is the CLI reading a pipe too */
    snprintf(cmd, sizeof cmd,
             "cat '%s' | ffmpeg -nostdin -loglevel error -threads 0 -i - -f s16le -ac 1 "
             "-acodec pcm_s16le -ar 16000 - 2>/dev/null",
             path);
    FILE *ref = popen(cmd, "r");
    assert_non_null(ref);
    size_t cap = 1 << 20, na = 0, got;
    int16_t *a = xmalloc(cap * sizeof(int16_t));
    while ((got = fread(a + na, sizeof(int16_t), cap - na, ref)) > 0) {
        na += got;
        if (na == cap) {
            cap *= 2;
            a = realloc(a, cap * sizeof(int16_t));
            assert_non_null(a);
        }
    }
    assert_int_equal(pclose(ref), 0);
    float *b = NULL;
    size_t nb = 0;
    struct auris_error err = {0};
    snprintf(cmd, sizeof cmd, "cat '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int saved = stdin_replace(fileno(p));
    enum auris_err rc = auris_audio_load("-", &b, &nb, &err);
    stdin_restore(saved);
    pclose(p);
    if (rc != AURIS_OK)
        fail_msg("pipe decode: %s", err.message);
    print_message("jfk.mp3 via a pipe: %zu samples (cli %zu)\n", nb, na);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_true(b[i] == (float)a[i] / 32768.0f);
    free(a);
    free(b);
}

/* Streams whose decoded parameters change mid-stream (concatenated MP3s, chained Ogg Vorbis,
 * different rates and channel counts): the resampler is rebuilt as the CLI rebuilds its graph. */
static void test_decode_changing_params(void **state)
{
    (void)state;
    if (!have_tool("ffmpeg")) {
        print_message("skipping: ffmpeg CLI not on PATH\n");
        skip();
    }
    static const char *const kinds[][2] = {{"mp3", "libmp3lame"}, {"ogg", "libvorbis"}};
    int made = 0;
    for (int k = 0; k < 2; k++) {
        char cmd[8192], path[4096];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && ffmpeg -nostdin -loglevel error -y -f lavfi -i "
                 "sine=f=440:r=44100:d=1 -c:a %s part_a.%s && ffmpeg -nostdin -loglevel error -y "
                 "-f lavfi -i sine=f=880:r=22050:d=1 -ac 2 -c:a %s part_b.%s && "
                 "cat part_a.%s part_b.%s > changing.%s",
                 tmp_dir(), kinds[k][1], kinds[k][0], kinds[k][1], kinds[k][0], kinds[k][0],
                 kinds[k][0], kinds[k][0]);
        if (system(cmd) != 0) {
            print_message("note: could not make a changing-parameter .%s\n", kinds[k][0]);
            continue;
        }
        snprintf(path, sizeof path, "%s/changing.%s", tmp_dir(), kinds[k][0]);
        compare_with_cli(path);
        made++;
    }
    if (!made) {
        print_message("skipping: no encoder for the changing-parameter files\n");
        skip();
    }
}

static void expect_error(const char *path, enum auris_err want)
{
    float *pcm = (float *)&pcm; /* must be reset to NULL */
    size_t n = 123;
    struct auris_error err = {0};
    enum auris_err rc = auris_audio_load(path, &pcm, &n, &err);
    print_message("%s -> %s: %s\n", path, auris_strerror(rc), err.message);
    assert_int_equal(rc, want);
    assert_int_equal(err.code, want);
    assert_true(err.message[0] != '\0');
    assert_null(strchr(err.message, '\n'));
    assert_null(pcm);
    assert_int_equal(n, 0);
}

static void test_decode_errors(void **state)
{
    (void)state;
    char path[4096];
    const char *dir = tmp_dir();

    snprintf(path, sizeof path, "%s/empty.wav", dir);
    write_file(path, "", 0);
    expect_error(path, AURIS_ERR_AUDIO);

    snprintf(path, sizeof path, "%s/notes.txt", dir);
    const char *text = "This is not audio.\nJust some words in a text file.\n";
    write_file(path, text, strlen(text));
    expect_error(path, AURIS_ERR_AUDIO);

    snprintf(path, sizeof path, "%s/garbage.bin", dir);
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(frand() * 127.0 + 128.0);
    write_file(path, junk, sizeof junk);
    expect_error(path, AURIS_ERR_AUDIO);

    /* a RIFF/WAVE header cut inside the fmt chunk */
    static const unsigned char hdr[] = {'R', 'I', 'F', 'F', 0x24, 0x7d, 0, 0, 'W', 'A', 'V', 'E',
                                        'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1};
    snprintf(path, sizeof path, "%s/truncated_header.wav", dir);
    write_file(path, hdr, sizeof hdr);
    expect_error(path, AURIS_ERR_AUDIO);

    /* a complete header with no data at all */
    static const unsigned char hdr44[44] = {
        'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0,
        1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0, 'd', 'a', 't', 'a', 0, 0, 0, 0};
    snprintf(path, sizeof path, "%s/no_samples.wav", dir);
    write_file(path, hdr44, sizeof hdr44);
    expect_error(path, AURIS_ERR_AUDIO);

    snprintf(path, sizeof path, "%s/does-not-exist.wav", dir);
    expect_error(path, AURIS_ERR_IO);
    expect_error(dir, AURIS_ERR_IO);

    float *pcm = NULL;
    size_t n = 0;
    assert_int_equal(auris_audio_load(NULL, &pcm, &n, NULL), AURIS_ERR_INVALID_ARG);
    assert_int_equal(auris_audio_load("x.wav", NULL, &n, NULL), AURIS_ERR_INVALID_ARG);
}

static void test_decode_truncated_data(void **state)
{
    (void)state;
    char src[4096], path[4096];
    if (!data_path(src, sizeof src, "jfk.wav")) {
        print_message("skipping: %s not found\n", src);
        skip();
    }
    size_t len;
    unsigned char *wav = read_all(src, &len);
    assert_non_null(wav);
    /* a wav cut mid-data decodes what is there (as the CLI does); an mp3 cut mid-frame too */
    snprintf(path, sizeof path, "%s/cut.wav", tmp_dir());
    write_file(path, wav, len / 3 + 1);
    float *pcm = NULL;
    size_t n = 0;
    struct auris_error err = {0};
    assert_int_equal(auris_audio_load(path, &pcm, &n, &err), AURIS_OK);
    assert_true(n > 0 && n < 200000);
    free(pcm);
    if (have_tool("ffmpeg"))
        compare_with_cli(path);
    free(wav);
    if (data_path(src, sizeof src, "jfk.mp3")) {
        unsigned char *mp3 = read_all(src, &len);
        assert_non_null(mp3);
        snprintf(path, sizeof path, "%s/cut.mp3", tmp_dir());
        write_file(path, mp3, len / 2 + 7);
        pcm = NULL;
        assert_int_equal(auris_audio_load(path, &pcm, &n, &err), AURIS_OK);
        assert_true(n > 0);
        free(pcm);
        free(mp3);
        if (have_tool("ffmpeg"))
            compare_with_cli(path);
    }
}

/* Bad input never crashes: corrupt bytes near the start (headers) and in the middle. Either
 * outcome is fine; an error must carry a message and leave no output. */
static void test_decode_mutations(void **state)
{
    (void)state;
    static const char *names[] = {"jfk.wav", "jfk.flac", "jfk.mp3"};
    int any = 0;
    for (int f = 0; f < 3; f++) {
        char src[4096], path[4096];
        if (!data_path(src, sizeof src, names[f]))
            continue;
        size_t len;
        unsigned char *orig = read_all(src, &len);
        assert_non_null(orig);
        unsigned char *buf = xmalloc(len);
        snprintf(path, sizeof path, "%s/mutated_%s", tmp_dir(), names[f]);
        for (int it = 0; it < 12; it++) {
            memcpy(buf, orig, len);
            size_t region = it % 2 ? len : AURIS_MIN(len, (size_t)256);
            for (int j = 0; j < 1 + it; j++) {
                size_t at = (size_t)((frand() * 0.5 + 0.5) * (double)region) % region;
                buf[at] = (unsigned char)(frand() * 127.0 + 128.0);
            }
            size_t cut = it % 3 == 2 ? len / (size_t)(2 + it) : len;
            write_file(path, buf, cut);
            float *pcm = NULL;
            size_t n = 0;
            struct auris_error err = {0};
            enum auris_err rc = auris_audio_load(path, &pcm, &n, &err);
            if (rc == AURIS_OK) {
                assert_true(n > 0);
                assert_non_null(pcm);
                for (size_t i = 0; i < n; i++)
                    assert_true(pcm[i] >= -1.0f && pcm[i] < 1.0f);
            } else {
                assert_null(pcm);
                assert_true(err.message[0] != '\0');
            }
            free(pcm);
        }
        free(buf);
        free(orig);
        any = 1;
    }
    if (!any) {
        print_message("skipping: no jfk.* in %s\n", shared_data());
        skip();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fft_vs_dft),
        cmocka_unit_test(test_rfft_vs_dft),
        cmocka_unit_test(test_fft_bad_args),
        cmocka_unit_test(test_mel_filters_vs_npz),
        cmocka_unit_test(test_mel_filters_properties),
        cmocka_unit_test(test_log_mel_vs_direct),
        cmocka_unit_test(test_log_mel_sine),
        cmocka_unit_test(test_log_mel_threads_and_args),
        cmocka_unit_test(test_log_mel_speed),
        cmocka_unit_test(test_decode_jfk_vs_cli),
        cmocka_unit_test(test_decode_generated_vs_cli),
        cmocka_unit_test(test_decode_stdin),
        cmocka_unit_test(test_decode_stdin_pipe),
        cmocka_unit_test(test_decode_changing_params),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_truncated_data),
        cmocka_unit_test(test_decode_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
