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
 * get_speech_timestamps does). Every product goes through src/kernels' streaming GEMV, at most
 * 16 rows at a time, whose rows are bit-identical whatever the row count: so a whole buffer
 * (auris_vad_probs) computes the front end (STFT to the last conv layer, which depends only on
 * a window's own samples) for blocks of 16 windows at once, the blocks in parallel over a pool,
 * while the LSTM, which links the windows, runs in order on the blocks done — and gets exactly
 * a stream's numbers.
 * Invariants: a stream's forward pass allocates nothing; the model is read-only after load.
 */
#include "vad/vad.h"
#include "kernels/kernels.h"

#include <limits.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_FILE_BYTES (64u << 20)

/* Front-end buffers for up to `cap` windows (pointers into the owner's storage); the rows of
 * every stage are the windows' rows one after the other. */
struct front {
    float *frames; /* [cap * 4][256] STFT frames */
    float *spec;   /* [cap * 4][258] */
    float *mag;    /* [cap * 4][129] time-major */
    float *col;    /* [cap * 4][129 * 3] im2col, largest layer */
    float *act[2]; /* [cap * 4][128] layer outputs [window][t][out] */
};

#define FRONT_FLOATS(cap) \
    ((size_t)(cap) * VAD_FRAMES * (VAD_FILTER + VAD_BASIS + VAD_BINS * (1 + VAD_KSIZE) + 2 * 128))

struct auris_vad_stream {
    const struct auris_vad *vad;
    struct auris__pool *pool;                       /* one thread: gemm scratch only */
    float x[VAD_INPUT + VAD_PAD];                   /* [640] context, samples, reflection */
    int fill;                                       /* new samples in x[64..64+fill) */
    float h[VAD_HIDDEN], c[VAD_HIDDEN];             /* LSTM state */
    struct front front;                             /* one window, into buf */
    float buf[FRONT_FLOATS(1)];
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

static void front_carve(struct front *f, float *buf, int cap)
{
    size_t rows = (size_t)cap * VAD_FRAMES;
    f->frames = buf;
    f->spec = f->frames + rows * VAD_FILTER;
    f->mag = f->spec + rows * VAD_BASIS;
    f->col = f->mag + rows * VAD_BINS;
    f->act[0] = f->col + rows * VAD_BINS * VAD_KSIZE;
    f->act[1] = f->act[0] + rows * 128;
}

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
    front_carve(&s->front, s->buf, 1);
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

/* C[M][N] = A[M][K] B^T + bias in products of at most MAX_ROWS rows: the streaming GEMV, whose
 * rows are bit-identical whatever M, so a window's numbers do not depend on how many windows
 * are computed together. pool: NULL or one thread (no pool task may start another). */
#define MAX_ROWS 16
static void product(struct auris__pool *pool, int M, int N, int K, const float *A,
                    const float *B, const float *bias, float *C)
{
    for (int r = 0; r < M; r += MAX_ROWS)
        auris__gemm_nt(pool, AURIS_MIN(MAX_ROWS, M - r), N, K, A + (size_t)r * K, K, B,
                       AURIS_DT_F32, K, bias, C + (size_t)r * N, N);
}

/* For each of n_win windows:
 * out[t][o] = relu(bias[o] + sum_{i,k} w[o][i][k] in[t*stride + k - 1][i]) for t < n_out; a window's `in` is [n_in][ch_in] time-major, zero outside; windows follow
 * each other in `in` and `out`. */
static void conv_layer(const struct auris_vad *v, struct auris__pool *pool, float *col, int l,
                       const float *in, int n_in, float *out, int n_out, int n_win)
{
    int ci = auris__vad_in_ch[l], co = auris__vad_out_ch[l], st = auris__vad_stride[l];
    int kdim = ci * VAD_KSIZE;
    for (int w = 0; w < n_win; w++) {
        const float *iw = in + (size_t)w * n_in * ci;
        for (int t = 0; t < n_out; t++) {
            float *row = col + ((size_t)w * n_out + t) * kdim;
            for (int k = 0; k < VAD_KSIZE; k++) {
                int p = t * st + k - 1;
                if (p < 0 || p >= n_in) {
                    for (int i = 0; i < ci; i++)
                        row[i * VAD_KSIZE + k] = 0.0f;
                } else {
                    for (int i = 0; i < ci; i++)
                        row[i * VAD_KSIZE + k] = iw[(size_t)p * ci + i];
                }
            }
        }
    }
    product(pool, n_win * n_out, co, kdim, col, v->enc_w[l], v->enc_b[l], out);
    for (int i = 0; i < n_win * n_out * co; i++)
        out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}

/* The front end (STFT magnitude and the four conv layers) of n_win <= cap windows: x[w] (row
 * stride ldx) holds window w's context, samples and reflection (640); feat[w][0..128) gets the
 * LSTM input. */
static void front_end(const struct auris_vad *v, struct auris__pool *pool, const struct front *f,
                      const float *x, size_t ldx, int n_win, float *feat, size_t ldf)
{
    int rows = n_win * VAD_FRAMES;
    for (int w = 0; w < n_win; w++)
        for (int t = 0; t < VAD_FRAMES; t++)
            memcpy(f->frames + ((size_t)w * VAD_FRAMES + t) * VAD_FILTER,
                   x + (size_t)w * ldx + t * VAD_HOP, VAD_FILTER * sizeof(float));
    product(pool, rows, VAD_BASIS, VAD_FILTER, f->frames, v->stft, NULL, f->spec);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < VAD_BINS; b++) {
            float re = f->spec[r * VAD_BASIS + b], im = f->spec[r * VAD_BASIS + VAD_BINS + b];
            f->mag[r * VAD_BINS + b] = sqrtf(re * re + im * im);
        }
    /* lengths 4 -> 4 -> 2 -> 1 -> 1 */
    conv_layer(v, pool, f->col, 0, f->mag, 4, f->act[0], 4, n_win);
    conv_layer(v, pool, f->col, 1, f->act[0], 4, f->act[1], 2, n_win);
    conv_layer(v, pool, f->col, 2, f->act[1], 2, f->act[0], 1, n_win);
    conv_layer(v, pool, f->col, 3, f->act[0], 1, f->act[1], 1, n_win);
    for (int w = 0; w < n_win; w++)
        memcpy(feat + (size_t)w * ldf, f->act[1] + (size_t)w * VAD_HIDDEN,
               VAD_HIDDEN * sizeof(float));
}

/* The reflect padding of a window's input: x[576 + k] = x[574 - k]. */
static void reflect(float *x)
{
    for (int k = 0; k < VAD_PAD; k++)
        x[VAD_INPUT + k] = x[VAD_INPUT - 2 - k];
}

/* The LSTM cell and the head: in[0..128) holds the front end's output; (h, c) advance one
 * window. Returns the speech probability. */
static float lstm_head(const struct auris_vad *v, struct auris__pool *pool, float *in,
                       float *gates, float *h, float *c)
{
    memcpy(in + VAD_HIDDEN, h, VAD_HIDDEN * sizeof(float));
    auris__gemm_nt(pool, 1, VAD_GATES, 2 * VAD_HIDDEN, in, 2 * VAD_HIDDEN, v->lstm_w,
                   AURIS_DT_F32, 2 * VAD_HIDDEN, v->lstm_b, gates, VAD_GATES);
    float logit = v->head_b[0];
    for (int j = 0; j < VAD_HIDDEN; j++) {
        float ig = sigmoid(gates[j]);
        float fg = sigmoid(gates[VAD_HIDDEN + j]);
        float gg = tanhf(gates[2 * VAD_HIDDEN + j]);
        float og = sigmoid(gates[3 * VAD_HIDDEN + j]);
        c[j] = fg * c[j] + ig * gg;
        h[j] = og * tanhf(c[j]);
        logit += v->head_w[j] * (h[j] > 0.0f ? h[j] : 0.0f);
    }
    return sigmoid(logit);
}

/* One window: s->x[0..576) holds context + samples. Returns the speech probability. */
static float forward(struct auris_vad_stream *s)
{
    reflect(s->x);
    front_end(s->vad, s->pool, &s->front, s->x, 0, 1, s->in, 0);
    float p = lstm_head(s->vad, s->pool, s->in, s->gates, s->h, s->c);
    /* the next context is this window's last 64 samples */
    memmove(s->x, s->x + VAD_WINDOW, VAD_CONTEXT * sizeof(float));
    s->fill = 0;
    return p;
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

/* ---- whole buffers ------------------------------------------------------------------------ */

/* Windows per front-end block: products of MAX_ROWS rows (four windows' STFT frames), a few of
 * them per block so the conv layers' smaller products have rows to share their weights too. */
#define BLOCK_WINDOWS 16
#define BLOCK_FLOATS ((size_t)BLOCK_WINDOWS * (VAD_INPUT + VAD_PAD) + FRONT_FLOATS(BLOCK_WINDOWS))

/* The front end of every window in blocks claimed from `next_block` by any thread, and the
 * LSTM, which needs the windows in order, run by the caller on the blocks already done
 * (ready[b] set once block b's rows of feat are written) while the helpers compute the next. */
struct probs_job {
    const struct auris_vad *v;
    const float *pcm;
    size_t n;              /* samples */
    size_t n_win;
    int n_blocks;
    float *feat;           /* [n_win][128] LSTM inputs */
    float *bufs;           /* [threads][BLOCK_FLOATS] */
    float *probs;          /* [n_win] */
    atomic_int next_block; /* the next block to claim */
    atomic_int *ready;     /* [n_blocks] */
    size_t lstm_next;      /* windows the LSTM has done (the caller's) */
    float h[VAD_HIDDEN], c[VAD_HIDDEN], in[2 * VAD_HIDDEN], gates[VAD_GATES];
};

/* Block b: the front end of windows [b * BLOCK_WINDOWS, +BLOCK_WINDOWS), each window's input
 * made as the stream makes it (the previous window's last 64 samples, zeros before the first; a
 * final partial window zero-padded). */
static void front_block(struct probs_job *j, int b, int thread)
{
    size_t w0 = (size_t)b * BLOCK_WINDOWS;
    int nw = (int)AURIS_MIN((size_t)BLOCK_WINDOWS, j->n_win - w0);
    float *x = j->bufs + (size_t)thread * BLOCK_FLOATS;
    struct front f;
    front_carve(&f, x + (size_t)BLOCK_WINDOWS * (VAD_INPUT + VAD_PAD), BLOCK_WINDOWS);
    for (int w = 0; w < nw; w++) {
        float *xw = x + (size_t)w * (VAD_INPUT + VAD_PAD);
        size_t first = (w0 + (size_t)w) * VAD_WINDOW; /* the window's first new sample */
        if (first == 0)
            memset(xw, 0, VAD_CONTEXT * sizeof(float));
        else
            memcpy(xw, j->pcm + first - VAD_CONTEXT, VAD_CONTEXT * sizeof(float));
        size_t take = AURIS_MIN((size_t)VAD_WINDOW, j->n - first);
        memcpy(xw + VAD_CONTEXT, j->pcm + first, take * sizeof(float));
        memset(xw + VAD_CONTEXT + take, 0, (VAD_WINDOW - take) * sizeof(float));
        reflect(xw);
    }
    front_end(j->v, NULL, &f, x, VAD_INPUT + VAD_PAD, nw, j->feat + w0 * VAD_HIDDEN,
              VAD_HIDDEN);
    atomic_store_explicit(&j->ready[b], 1, memory_order_release);
}

/* The LSTM over block b's windows (the blocks before it done). */
static void lstm_block(struct probs_job *j, int b)
{
    size_t w1 = AURIS_MIN(j->n_win, ((size_t)b + 1) * BLOCK_WINDOWS);
    for (; j->lstm_next < w1; j->lstm_next++) {
        memcpy(j->in, j->feat + j->lstm_next * VAD_HIDDEN, VAD_HIDDEN * sizeof(float));
        j->probs[j->lstm_next] = lstm_head(j->v, NULL, j->in, j->gates, j->h, j->c);
    }
}

/* Helpers compute blocks until none is left to claim; the caller (thread 0) runs the LSTM on
 * every block that is ready and otherwise computes a block itself. Nobody waits for another
 * thread here: the caller returns when the next block is someone else's and still running, and
 * finishes the LSTM after auris__pool_run. */
static void probs_task(void *ctx, int task, int thread)
{
    struct probs_job *j = ctx;
    (void)task;
    for (;;) {
        if (thread == 0 && j->lstm_next < j->n_win) {
            int b = (int)(j->lstm_next / BLOCK_WINDOWS);
            if (atomic_load_explicit(&j->ready[b], memory_order_acquire)) {
                lstm_block(j, b);
                continue;
            }
        }
        int b = atomic_fetch_add_explicit(&j->next_block, 1, memory_order_relaxed);
        if (b >= j->n_blocks)
            return;
        front_block(j, b, thread);
    }
}

enum auris_err auris__vad_probs_pool(const auris_vad *vad, struct auris__pool *pool,
                                     const float *pcm, size_t n_samples, float **probs,
                                     size_t *n_probs, struct auris_error *err)
{
    if (!vad || (!pcm && n_samples) || !probs || !n_probs)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: NULL argument");
    *probs = NULL;
    *n_probs = 0;
    size_t n_win = n_samples / VAD_WINDOW + (n_samples % VAD_WINDOW != 0);
    size_t n_blocks = (n_win + BLOCK_WINDOWS - 1) / BLOCK_WINDOWS;
    if (n_blocks > INT_MAX / 2)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: %zu samples are too many",
                           n_samples);
    int nt = auris__pool_size(pool);
    struct probs_job *j = calloc(1, sizeof *j);
    float *p = malloc((n_win ? n_win : 1) * sizeof *p);
    if (j) {
        j->feat = malloc((n_win ? n_win : 1) * VAD_HIDDEN * sizeof *j->feat);
        j->bufs = malloc((size_t)nt * BLOCK_FLOATS * sizeof *j->bufs);
        j->ready = malloc((n_blocks ? n_blocks : 1) * sizeof *j->ready);
    }
    enum auris_err e = AURIS_OK;
    if (!j || !p || !j->feat || !j->bufs || !j->ready) {
        e = auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for %zu windows", n_win);
        goto done;
    }
    j->v = vad;
    j->pcm = pcm;
    j->n = n_samples;
    j->n_win = n_win;
    j->n_blocks = (int)n_blocks;
    j->probs = p;
    atomic_init(&j->next_block, 0);
    for (size_t b = 0; b < n_blocks; b++)
        atomic_init(&j->ready[b], 0);
    if (n_blocks)
        auris__pool_run(pool, probs_task, j, AURIS_MIN(nt, (int)n_blocks));
    lstm_block(j, (int)n_blocks - 1); /* every block is done: the rest of the LSTM */
    *probs = p;
    *n_probs = n_win;
    p = NULL;
done:
    if (j) {
        free(j->feat);
        free(j->bufs);
        free(j->ready);
    }
    free(j);
    free(p);
    return e;
}

enum auris_err auris_vad_probs(const auris_vad *vad, const float *pcm, size_t n_samples,
                               float **probs, size_t *n_probs, struct auris_error *err)
{
    return auris__vad_probs_pool(vad, NULL, pcm, n_samples, probs, n_probs, err);
}
