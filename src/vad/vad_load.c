/*
 * vad_load.c — reads whisper.cpp's ggml Silero VAD file (models/convert-silero-vad-to-ggml.py).
 *
 * Layout, all little-endian int32 unless said: magic 0x67676d6c; model type (int32 length + bytes,
 * "silero-16k"); version major, minor, patch; window (512) and context (64) sizes; the number of
 * conv layers (4) and per layer in channels, out channels, kernel size; LSTM input and hidden
 * size; head in and out channels. Then tensors to the end of the file, each: n_dims (0..4),
 * name length, type (0 f32, 1 f16), ne[n_dims] innermost first (reversed PyTorch order, size-1
 * dimensions squeezed by the converter), the name, the raw data without padding. The data is the
 * PyTorch tensor in row-major order, so conv weights are [out][in][k] and the STFT basis
 * [258][1][256]. Conv weights and the basis are f16 in the published file; f32 is accepted too.
 * Invariants: every read is bounds-checked; shapes are compared with size-1 dimensions ignored;
 * every value must be finite; the architecture must be exactly Silero v5/v6's.
 */
#include "vad/vad.h"
#include "byte_reader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GGML_MAGIC 0x67676d6cu
#define MAX_NAME 256

const int auris__vad_in_ch[VAD_LAYERS] = {VAD_BINS, 128, 64, 64};
const int auris__vad_out_ch[VAD_LAYERS] = {128, 64, 64, 128};
const int auris__vad_stride[VAD_LAYERS] = {1, 2, 2, 1};

static void slot_set(struct auris__vad_slot *s, const char *name, int n_dims, int d0, int d1,
                     int d2, float *dst)
{
    snprintf(s->name, sizeof s->name, "%s", name);
    s->n_dims = n_dims;
    s->dims[0] = d0;
    s->dims[1] = d1;
    s->dims[2] = d2;
    s->dst = dst;
    s->seen = 0;
}

size_t auris__vad_slot_count(const struct auris__vad_slot *s)
{
    size_t n = 1;
    for (int i = 0; i < s->n_dims; i++)
        n *= (size_t)s->dims[i];
    return n;
}

void auris__vad_list_slots(const struct auris_vad *cv, struct auris__vad_slot *slots)
{
    struct auris_vad *v = (struct auris_vad *)cv; /* the slots only name v's arrays */
    int k = 0;
    char name[64];
    for (int l = 0; l < VAD_LAYERS; l++) {
        int in = auris__vad_in_ch[l], out = auris__vad_out_ch[l];
        snprintf(name, sizeof name, "_model.encoder.%d.reparam_conv.weight", l);
        slot_set(&slots[k++], name, 3, out, in, VAD_KSIZE, v->enc_w[l]);
        snprintf(name, sizeof name, "_model.encoder.%d.reparam_conv.bias", l);
        slot_set(&slots[k++], name, 1, out, 0, 0, v->enc_b[l]);
    }
    slot_set(&slots[k++], "_model.decoder.rnn.weight_ih", 2, VAD_GATES, VAD_HIDDEN, 0, v->w_ih);
    slot_set(&slots[k++], "_model.decoder.rnn.weight_hh", 2, VAD_GATES, VAD_HIDDEN, 0, v->w_hh);
    slot_set(&slots[k++], "_model.decoder.rnn.bias_ih", 1, VAD_GATES, 0, 0, v->b_ih);
    slot_set(&slots[k++], "_model.decoder.rnn.bias_hh", 1, VAD_GATES, 0, 0, v->b_hh);
    slot_set(&slots[k++], "_model.decoder.decoder.2.weight", 1, VAD_HIDDEN, 0, 0, v->head_w);
    slot_set(&slots[k++], "_model.decoder.decoder.2.bias", 0, 0, 0, 0, v->head_b);
    slot_set(&slots[k++], "_model.stft.forward_basis_buffer", 2, VAD_BASIS, VAD_FILTER, 0,
             v->stft);
}

enum auris_err auris__vad_make_slots(struct auris_vad *v, struct auris__vad_slot *slots,
                                     struct auris_error *err)
{
    size_t total = (size_t)VAD_BASIS * VAD_FILTER;
    for (int l = 0; l < VAD_LAYERS; l++)
        total += (size_t)auris__vad_out_ch[l] * (auris__vad_in_ch[l] * VAD_KSIZE + 1);
    total += 4 * (size_t)VAD_GATES * VAD_HIDDEN + 3 * (size_t)VAD_GATES + VAD_HIDDEN + 1;
    v->store = auris__aligned_alloc(total * sizeof(float));
    if (!v->store)
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for the weights");
    float *p = v->store;
    for (int l = 0; l < VAD_LAYERS; l++) {
        v->enc_w[l] = p;
        p += (size_t)auris__vad_out_ch[l] * auris__vad_in_ch[l] * VAD_KSIZE;
        v->enc_b[l] = p;
        p += auris__vad_out_ch[l];
    }
    v->w_ih = p, p += (size_t)VAD_GATES * VAD_HIDDEN;
    v->w_hh = p, p += (size_t)VAD_GATES * VAD_HIDDEN;
    v->b_ih = p, p += VAD_GATES;
    v->b_hh = p, p += VAD_GATES;
    v->head_w = p, p += VAD_HIDDEN;
    v->head_b = p, p += 1;
    v->stft = p, p += (size_t)VAD_BASIS * VAD_FILTER;
    v->lstm_w = p, p += 2 * (size_t)VAD_GATES * VAD_HIDDEN;
    v->lstm_b = p;
    auris__vad_list_slots(v, slots);
    return AURIS_OK;
}

struct auris__vad_slot *auris__vad_find_slot(struct auris__vad_slot *slots, const uint8_t *name,
                                             size_t len)
{
    for (int i = 0; i < AURIS__VAD_N_SLOTS; i++)
        if (strlen(slots[i].name) == len && !memcmp(slots[i].name, name, len))
            return &slots[i];
    return NULL;
}

int auris__vad_shape_ok(const struct auris__vad_slot *s, const int64_t *ne, int n_dims)
{
    int64_t got[4];
    int n_got = 0, want[3], n_want = 0;
    for (int i = n_dims - 1; i >= 0; i--) /* ne is innermost first */
        if (ne[i] != 1)
            got[n_got++] = ne[i];
    for (int i = 0; i < s->n_dims; i++)
        if (s->dims[i] != 1)
            want[n_want++] = s->dims[i];
    int same = n_got == n_want;
    for (int i = 0; same && i < n_got; i++)
        same = got[i] == want[i];
    return same;
}

enum auris_err auris__vad_fill(struct auris__vad_slot *s, int type, const uint8_t *dp,
                               const char *name, struct auris_error *err)
{
    size_t n = auris__vad_slot_count(s);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = dp + i * (type ? 2 : 4);
        float f;
        if (type) {
            f = auris__f16_to_f32((uint16_t)(q[0] | (q[1] << 8)));
        } else {
            uint32_t u = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) |
                         ((uint32_t)q[3] << 24);
            memcpy(&f, &u, sizeof f);
        }
        if (!isfinite(f))
            return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' holds a non-finite "
                               "value at %zu", name, i);
        s->dst[i] = f;
    }
    s->seen = 1;
    return AURIS_OK;
}

/* The LSTM's two products as one: [x | h] · [w_ih | w_hh]^T + (b_ih + b_hh). */
static void derive(struct auris_vad *v)
{
    for (int g = 0; g < VAD_GATES; g++) {
        memcpy(v->lstm_w + (size_t)g * 2 * VAD_HIDDEN, v->w_ih + (size_t)g * VAD_HIDDEN,
               VAD_HIDDEN * sizeof(float));
        memcpy(v->lstm_w + (size_t)g * 2 * VAD_HIDDEN + VAD_HIDDEN,
               v->w_hh + (size_t)g * VAD_HIDDEN, VAD_HIDDEN * sizeof(float));
        v->lstm_b[g] = v->b_ih[g] + v->b_hh[g];
    }
}

enum auris_err auris__vad_finish(struct auris_vad *v, const struct auris__vad_slot *slots,
                                 struct auris_error *err)
{
    for (int i = 0; i < AURIS__VAD_N_SLOTS; i++)
        if (!slots[i].seen)
            return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' is missing",
                               slots[i].name);
    derive(v);
    return AURIS_OK;
}

static enum auris_err read_header(struct auris__rd *r, struct auris_vad *v, struct auris_error *err)
{
    int32_t magic, len;
    const uint8_t *p;
    if (!auris__rd_i32(r, &magic) || (uint32_t)magic != GGML_MAGIC)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: not a ggml file (bad magic)");
    if (!auris__rd_i32(r, &len))
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: truncated header");
    if (len <= 0 || len > 64)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "vad: not a whisper.cpp VAD model (model type length %d; a Whisper "
                           "ggml model?)", (int)len);
    if (!auris__rd_take(r, (size_t)len, &p))
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: truncated header");
    if ((size_t)len != strlen("silero-16k") || memcmp(p, "silero-16k", (size_t)len) != 0)
        return auris__fail(err, AURIS_ERR_FORMAT,
                           "vad: model type is not \"silero-16k\" (only Silero 16 kHz is known)");
    int32_t h[5 + 1 + 3 * VAD_LAYERS + 4];
    for (size_t i = 0; i < AURIS_ARRAY_LEN(h); i++)
        if (!auris__rd_i32(r, &h[i]))
            return auris__fail(err, AURIS_ERR_FORMAT, "vad: truncated header");
    if (h[0] < 5 || h[0] > 6 || h[1] < 0 || h[2] < 0)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: Silero version %d.%d.%d is not 5.x or 6.x",
                           (int)h[0], (int)h[1], (int)h[2]);
    for (int i = 0; i < 3; i++)
        v->version[i] = h[i];
    int32_t want[AURIS_ARRAY_LEN(h)] = {h[0], h[1], h[2], VAD_WINDOW, VAD_CONTEXT, VAD_LAYERS};
    for (int l = 0; l < VAD_LAYERS; l++) {
        want[6 + 3 * l] = auris__vad_in_ch[l];
        want[7 + 3 * l] = auris__vad_out_ch[l];
        want[8 + 3 * l] = VAD_KSIZE;
    }
    int32_t tail[4] = {VAD_HIDDEN, VAD_HIDDEN, VAD_HIDDEN, 1};
    memcpy(&want[6 + 3 * VAD_LAYERS], tail, sizeof tail);
    for (size_t i = 3; i < AURIS_ARRAY_LEN(h); i++)
        if (h[i] != want[i])
            return auris__fail(err, AURIS_ERR_FORMAT,
                               "vad: hyperparameter #%d is %d, Silero v6 has %d", (int)i,
                               (int)h[i], (int)want[i]);
    return AURIS_OK;
}

/* Reads one tensor record into its slot. */
static enum auris_err read_tensor(struct auris__rd *r, struct auris__vad_slot *slots,
                                  struct auris_error *err)
{
    int32_t n_dims, name_len, type, ne32[4];
    if (!auris__rd_i32(r, &n_dims) || !auris__rd_i32(r, &name_len) || !auris__rd_i32(r, &type))
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: truncated tensor header");
    if (n_dims < 0 || n_dims > 4 || name_len <= 0 || name_len > MAX_NAME)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: bad tensor header (n_dims %d, name "
                           "length %d)", (int)n_dims, (int)name_len);
    for (int i = 0; i < n_dims; i++)
        if (!auris__rd_i32(r, &ne32[i]))
            return auris__fail(err, AURIS_ERR_FORMAT, "vad: truncated tensor header");
    const uint8_t *np;
    if (!auris__rd_take(r, (size_t)name_len, &np))
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: truncated tensor name");
    char name[MAX_NAME + 1];
    memcpy(name, np, (size_t)name_len);
    name[name_len] = '\0';
    for (int i = 0; i < name_len; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            name[i] = '?';
    struct auris__vad_slot *s = auris__vad_find_slot(slots, np, (size_t)name_len);
    if (!s)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: unknown tensor '%s'", name);
    if (s->seen)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' appears twice", name);
    if (type != 0 && type != 1)
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' has type %d (f32 or f16 "
                           "expected)", name, (int)type);
    int64_t ne[4];
    for (int i = 0; i < n_dims; i++) {
        if (ne32[i] <= 0)
            return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' has dimension %d",
                               name, (int)ne32[i]);
        ne[i] = ne32[i];
    }
    if (!auris__vad_shape_ok(s, ne, n_dims))
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' has the wrong shape", name);
    const uint8_t *dp;
    if (!auris__rd_take(r, auris__vad_slot_count(s) * (type ? 2 : 4), &dp))
        return auris__fail(err, AURIS_ERR_FORMAT, "vad: tensor '%s' is truncated", name);
    return auris__vad_fill(s, (int)type, dp, name, err);
}

enum auris_err auris__vad_parse_ggml(const uint8_t *data, size_t size, struct auris_vad *v,
                                     struct auris_error *err)
{
    struct auris__rd r = {data, size, 0};
    struct auris__vad_slot slots[AURIS__VAD_N_SLOTS];
    enum auris_err e = read_header(&r, v, err);
    if (e == AURIS_OK)
        e = auris__vad_make_slots(v, slots, err);
    while (e == AURIS_OK && r.pos < r.size)
        e = read_tensor(&r, slots, err);
    if (e == AURIS_OK)
        e = auris__vad_finish(v, slots, err);
    return e;
}
