/*
 * vad.c — the Silero VAD v6 forward pass and its per-stream state (public auris_vad_*).
 *
 * Reference: silero-vad 6.2.0's TorchScript model, per 512-sample window at 16 kHz:
 *   x = [64 samples of context | 512 new samples] (576), reflect-padded by 64 on the right;
 *   STFT: conv1d with the [258][1][256] basis, stride 128 -> 4 frames; magnitude of 129 bins;
 *   encoder: conv1d k3 p1 129->128 s1, 128->64 s2, 64->64 s2, 64->128 s1, each + ReLU -> [128][1];
 *   LSTM cell (gates i, f, g, o) with (h, c) carried across windows;
 *   head: ReLU, 1x1 conv 128->1, sigmoid (the mean over its single frame is itself).
 * The context of the next window is the last 64 samples of this one; the first window's context
 * and the initial (h, c) are zeros. A final partial window is zero-padded (as
 * get_speech_timestamps does). Every product goes through src/kernels (the 1-thread pool owned
 * by the stream provides the packing scratch).
 * Invariants: a stream's forward pass allocates nothing; the model is read-only after load.
 */
#include "vad/vad.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_FILE_BYTES (64u << 20)

struct auris_vad_stream {
    const struct auris_vad *vad;
    struct auris__pool *pool;                       /* one thread: gemm scratch only */
    float x[VAD_INPUT + VAD_PAD];                   /* [640] context, samples, reflection */
    int fill;                                       /* new samples in x[64..64+fill) */
    float h[VAD_HIDDEN], c[VAD_HIDDEN];             /* LSTM state */
    float frames[VAD_FRAMES * VAD_FILTER];          /* [4][256] */
    float spec[VAD_FRAMES * VAD_BASIS];             /* [4][258] */
    float mag[VAD_FRAMES * VAD_BINS];               /* [4][129] time-major */
    float col[VAD_FRAMES * VAD_BINS * VAD_KSIZE];   /* im2col [t][in][3], largest layer */
    float act[2][VAD_FRAMES * 128];                 /* layer outputs [t][out] */
    float in[2 * VAD_HIDDEN];                       /* [x | h] */
    float gates[VAD_GATES];                         /* [512] */
};

/* ---- model -------------------------------------------------------------------------------- */

static enum auris_err read_file(const char *path, uint8_t **data, size_t *size,
                                struct auris_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return auris__fail(err, AURIS_ERR_IO, "vad: cannot open '%s'", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    enum auris_err e = AURIS_OK;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                e = auris__fail(err, AURIS_ERR_FORMAT, "vad: '%s' is too large for a VAD model",
                                path);
                break;
            }
            cap = cap ? 2 * cap : (1u << 20);
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                e = auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory reading '%s'", path);
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                e = auris__fail(err, AURIS_ERR_IO, "vad: cannot read '%s'", path);
            break;
        }
    }
    fclose(f);
    if (e != AURIS_OK) {
        free(buf);
        return e;
    }
    *data = buf;
    *size = n;
    return AURIS_OK;
}

enum auris_err auris_vad_load(const char *path, auris_vad **out, struct auris_error *err)
{
    if (!path || !out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: NULL path or out");
    *out = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    enum auris_err e = read_file(path, &data, &size, err);
    if (e != AURIS_OK)
        return e;
    struct auris_vad *v = calloc(1, sizeof *v);
    if (!v) {
        free(data);
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory");
    }
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0) /* auris's native file (vad_native.c) */
        e = auris__vad_parse_native(data, size, v, 1, err);
    else
        e = auris__vad_parse_ggml(data, size, v, err);
    free(data);
    if (e != AURIS_OK) {
        if (err) {
            /* name the file: "vad: X" -> "vad: PATH: X" */
            char msg[AURIS_ERROR_MESSAGE_SIZE];
            const char *rest = strncmp(err->message, "vad: ", 5) == 0 ? err->message + 5
                                                                      : err->message;
            snprintf(msg, sizeof msg, "vad: %.200s: %.300s", path, rest);
            memcpy(err->message, msg, sizeof msg);
        }
        auris_vad_free(v);
        return e;
    }
    *out = v;
    return AURIS_OK;
}

void auris_vad_free(auris_vad *vad)
{
    if (!vad)
        return;
    auris__aligned_free(vad->store);
    free(vad);
}

/* ---- stream ------------------------------------------------------------------------------- */

enum auris_err auris_vad_stream_create(const auris_vad *vad, auris_vad_stream **out,
                                       struct auris_error *err)
{
    if (!vad || !out)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: NULL model or out");
    *out = NULL;
    struct auris_vad_stream *s = auris__aligned_alloc(sizeof *s);
    if (!s)
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for a stream");
    memset(s, 0, sizeof *s);
    s->vad = vad;
    s->pool = auris__pool_create(1);
    if (!s->pool) {
        auris__aligned_free(s);
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for a stream");
    }
    *out = s;
    return AURIS_OK;
}

void auris_vad_stream_free(auris_vad_stream *s)
{
    if (!s)
        return;
    auris__pool_free(s->pool);
    auris__aligned_free(s);
}

void auris_vad_stream_reset(auris_vad_stream *s)
{
    if (!s)
        return;
    memset(s->x, 0, sizeof s->x);
    memset(s->h, 0, sizeof s->h);
    memset(s->c, 0, sizeof s->c);
    s->fill = 0;
}

static float sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* out[t][o] = relu(bias[o] + sum_{i,k} w[o][i][k] in[t*stride + k - 1][i]) for t < n_out;
 * `in` is [n_in][ch_in] time-major, zero outside. */
static void conv_layer(struct auris_vad_stream *s, int l, const float *in, int n_in, float *out,
                       int n_out)
{
    int ci = auris__vad_in_ch[l], co = auris__vad_out_ch[l], st = auris__vad_stride[l];
    int kdim = ci * VAD_KSIZE;
    for (int t = 0; t < n_out; t++) {
        float *row = s->col + (size_t)t * kdim;
        for (int k = 0; k < VAD_KSIZE; k++) {
            int p = t * st + k - 1;
            if (p < 0 || p >= n_in) {
                for (int i = 0; i < ci; i++)
                    row[i * VAD_KSIZE + k] = 0.0f;
            } else {
                for (int i = 0; i < ci; i++)
                    row[i * VAD_KSIZE + k] = in[(size_t)p * ci + i];
            }
        }
    }
    auris__gemm_nt(s->pool, n_out, co, kdim, s->col, kdim, s->vad->enc_w[l], AURIS_DT_F32, kdim,
                   s->vad->enc_b[l], out, co);
    for (int i = 0; i < n_out * co; i++)
        out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

/* One window: s->x[0..576) holds context + samples. Returns the speech probability. */
static float forward(struct auris_vad_stream *s)
{
    const struct auris_vad *v = s->vad;
    float *x = s->x;
    for (int k = 0; k < VAD_PAD; k++) /* reflect: x[576 + k] = x[574 - k] */
        x[VAD_INPUT + k] = x[VAD_INPUT - 2 - k];
    for (int t = 0; t < VAD_FRAMES; t++)
        memcpy(s->frames + t * VAD_FILTER, x + t * VAD_HOP, VAD_FILTER * sizeof(float));
    auris__gemm_nt(s->pool, VAD_FRAMES, VAD_BASIS, VAD_FILTER, s->frames, VAD_FILTER, v->stft,
                   AURIS_DT_F32, VAD_FILTER, NULL, s->spec, VAD_BASIS);
    for (int t = 0; t < VAD_FRAMES; t++)
        for (int f = 0; f < VAD_BINS; f++) {
            float re = s->spec[t * VAD_BASIS + f], im = s->spec[t * VAD_BASIS + VAD_BINS + f];
            s->mag[t * VAD_BINS + f] = sqrtf(re * re + im * im);
        }
    /* lengths 4 -> 4 -> 2 -> 1 -> 1 */
    conv_layer(s, 0, s->mag, 4, s->act[0], 4);
    conv_layer(s, 1, s->act[0], 4, s->act[1], 2);
    conv_layer(s, 2, s->act[1], 2, s->act[0], 1);
    conv_layer(s, 3, s->act[0], 1, s->in, 1);
    memcpy(s->in + VAD_HIDDEN, s->h, sizeof s->h);
    auris__gemm_nt(s->pool, 1, VAD_GATES, 2 * VAD_HIDDEN, s->in, 2 * VAD_HIDDEN, v->lstm_w,
                   AURIS_DT_F32, 2 * VAD_HIDDEN, v->lstm_b, s->gates, VAD_GATES);
    float logit = v->head_b[0];
    for (int j = 0; j < VAD_HIDDEN; j++) {
        float ig = sigmoid(s->gates[j]);
        float fg = sigmoid(s->gates[VAD_HIDDEN + j]);
        float gg = tanhf(s->gates[2 * VAD_HIDDEN + j]);
        float og = sigmoid(s->gates[3 * VAD_HIDDEN + j]);
        s->c[j] = fg * s->c[j] + ig * gg;
        s->h[j] = og * tanhf(s->c[j]);
        logit += v->head_w[j] * (s->h[j] > 0.0f ? s->h[j] : 0.0f);
    }
    /* the next context is this window's last 64 samples */
    memmove(x, x + VAD_WINDOW, VAD_CONTEXT * sizeof(float));
    s->fill = 0;
    return sigmoid(logit);
}

size_t auris_vad_stream_pending(const auris_vad_stream *s, size_t n_samples)
{
    return s ? ((size_t)s->fill + n_samples) / VAD_WINDOW : 0;
}

enum auris_err auris_vad_stream_feed(auris_vad_stream *s, const float *pcm, size_t n_samples,
                                     float *probs, size_t capacity, size_t *n_probs,
                                     struct auris_error *err)
{
    if (n_probs)
        *n_probs = 0;
    if (!s || (!pcm && n_samples) || !n_probs)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: NULL stream, samples or n_probs");
    size_t need = auris_vad_stream_pending(s, n_samples);
    if (need > capacity || (need && !probs))
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "vad: room for %zu probabilities is needed, %zu given", need, capacity);
    size_t done = 0;
    while (n_samples) {
        size_t take = AURIS_MIN(n_samples, (size_t)(VAD_WINDOW - s->fill));
        memcpy(s->x + VAD_CONTEXT + s->fill, pcm, take * sizeof(float));
        s->fill += (int)take;
        pcm += take;
        n_samples -= take;
        if (s->fill == VAD_WINDOW)
            probs[done++] = forward(s);
    }
    *n_probs = done;
    return AURIS_OK;
}

int auris_vad_stream_flush(auris_vad_stream *s, float *prob)
{
    if (!s || !prob || s->fill == 0)
        return 0;
    memset(s->x + VAD_CONTEXT + s->fill, 0, (size_t)(VAD_WINDOW - s->fill) * sizeof(float));
    *prob = forward(s);
    return 1;
}

enum auris_err auris_vad_probs(const auris_vad *vad, const float *pcm, size_t n_samples,
                               float **probs, size_t *n_probs, struct auris_error *err)
{
    if (!vad || (!pcm && n_samples) || !probs || !n_probs)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: NULL argument");
    *probs = NULL;
    *n_probs = 0;
    size_t cap = n_samples / VAD_WINDOW + 1;
    float *p = malloc(cap * sizeof *p);
    if (!p)
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for %zu probabilities", cap);
    auris_vad_stream *s = NULL;
    size_t n = 0;
    enum auris_err e = auris_vad_stream_create(vad, &s, err);
    if (e == AURIS_OK)
        e = auris_vad_stream_feed(s, pcm, n_samples, p, cap, &n, err);
    if (e == AURIS_OK)
        n += (size_t)auris_vad_stream_flush(s, p + n);
    auris_vad_stream_free(s);
    if (e != AURIS_OK) {
        free(p);
        return e;
    }
    *probs = p;
    *n_probs = n;
    return AURIS_OK;
}
