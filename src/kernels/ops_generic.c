/*
 * ops_generic.c — the portable twins of the non-GEMM hot loops, and their dispatch.
 *
 * Reference: openai/whisper model.py (LayerNorm with eps, nn.GELU's exact erf form, softmax);
 * the online softmax is the flash-attention recurrence (Milakov & Gimelshein 2018; Dao et al.
 * 2022): per key block m' = max(m, max scale*s), l' = l e^(m-m') + sum e^(scale*s - m').
 * The twins are plain loops in the reference's order of operations with libm's expf/erff; the
 * vector files are tested against them (tests/unit/test_ops.c).
 * Invariants: no allocation, no state; every entry point is a no-op on empty input.
 */
#include "kernels/ops_impl.h"

#include <math.h>
#include <string.h>

static void layernorm_generic(int n, const float *x, float *y, const float *w, const float *b,
                              float eps)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i];
    float mean = s / (float)n;
    float v = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        v += d * d;
    }
    float inv = 1.0f / sqrtf(v / (float)n + eps);
    for (int i = 0; i < n; i++)
        y[i] = (x[i] - mean) * inv * w[i] + b[i];
}

static inline float gelu1(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

static void gelu_generic(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = gelu1(x[i]);
}

static void bias_gelu_generic(int rows, int cols, float *c, size_t ldc, const float *bias)
{
    for (int i = 0; i < rows; i++) {
        float *r = c + (size_t)i * ldc;
        for (int j = 0; j < cols; j++)
            r[j] = gelu1(r[j] + (bias ? bias[j] : 0.0f));
    }
}

static void add_generic(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

static float softmax_block_generic(float *s, int len, float scale, float *m, float *l)
{
    float mx = *m;
    for (int j = 0; j < len; j++)
        mx = scale * s[j] > mx ? scale * s[j] : mx;
    float alpha = expf(*m - mx); /* 0 on the first block (m = -inf) */
    float sum = 0.0f;
    for (int j = 0; j < len; j++) {
        s[j] = expf(scale * s[j] - mx);
        sum += s[j];
    }
    *l = *l * alpha + sum;
    *m = mx;
    return alpha;
}

static void unfold3_generic(int C, const float *src, size_t ld, int has_prev, int has_next,
                            float *dst)
{
    for (int c = 0; c < C; c++) {
        const float *p = src + (size_t)c * ld;
        dst[3 * c + 0] = has_prev ? p[-1] : 0.0f;
        dst[3 * c + 1] = p[0];
        dst[3 * c + 2] = has_next ? p[1] : 0.0f;
    }
}

/* The decoder's normaliser as it has always been computed: exp in double, one running sum. */
static double log_sum_exp_generic(const float *x, int n)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    if (mx == -INFINITY)
        return -INFINITY;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        if (x[i] != -INFINITY)
            s += exp((double)x[i] - (double)mx);
    return (double)mx + log(s);
}

static int argmax_generic(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static void interleave3_generic(int n, const float *s0, const float *s1, const float *s2,
                                float *dst)
{
    for (int i = 0; i < n; i++) {
        dst[3 * i + 0] = s0 ? s0[i] : 0.0f;
        dst[3 * i + 1] = s1 ? s1[i] : 0.0f;
        dst[3 * i + 2] = s2 ? s2[i] : 0.0f;
    }
}

const struct auris__ops auris__ops_generic = {
    "generic", layernorm_generic, gelu_generic, bias_gelu_generic, add_generic,
    softmax_block_generic, unfold3_generic, interleave3_generic, log_sum_exp_generic,
    argmax_generic,
};

/* ---- dispatch ----------------------------------------------------------------------------- */

const struct auris__ops *auris__ops_for(const char *isa_name)
{
#if defined(AURIS_HAVE_X86)
    /* every x86 level above generic includes AVX2+FMA+F16C */
    if (isa_name && strcmp(isa_name, "generic") != 0)
        return &auris__ops_avx2;
#endif
    (void)isa_name;
    return &auris__ops_generic;
}

static const struct auris__ops *ops(void)
{
    return auris__ops_for(auris__kernels_isa());
}

void auris__k_layernorm(int n, const float *x, float *y, const float *w, const float *b,
                        float eps)
{
    if (n > 0)
        ops()->layernorm(n, x, y, w, b, eps);
}

void auris__k_layernorm_rows(int rows, int n, const float *x, size_t ldx, float *y, size_t ldy,
                             const float *w, const float *b, float eps)
{
    if (rows <= 0 || n <= 0)
        return;
    const struct auris__ops *o = ops();
    for (int r = 0; r < rows; r++)
        o->layernorm(n, x + (size_t)r * ldx, y + (size_t)r * ldy, w, b, eps);
}

void auris__k_gelu(float *x, size_t n)
{
    if (n)
        ops()->gelu(x, n);
}

void auris__k_bias_gelu(int rows, int cols, float *c, size_t ldc, const float *bias)
{
    if (rows > 0 && cols > 0)
        ops()->bias_gelu(rows, cols, c, ldc, bias);
}

void auris__k_add(float *x, const float *y, size_t n)
{
    if (n)
        ops()->add(x, y, n);
}

float auris__k_softmax_block(float *s, int len, float scale, float *m, float *l)
{
    if (len <= 0)
        return 1.0f;
    return ops()->softmax_block(s, len, scale, m, l);
}

void auris__k_unfold3(int C, const float *src, size_t ld, int has_prev, int has_next, float *dst)
{
    if (C > 0)
        ops()->unfold3(C, src, ld, has_prev, has_next, dst);
}

void auris__k_interleave3(int n, const float *s0, const float *s1, const float *s2, float *dst)
{
    if (n > 0)
        ops()->interleave3(n, s0, s1, s2, dst);
}

int auris__k_argmax(const float *x, int n)
{
    return n > 1 ? ops()->argmax(x, n) : 0;
}

double auris__k_log_sum_exp(const float *x, int n)
{
    if (n <= 0)
        return -INFINITY;
    return ops()->log_sum_exp(x, n);
}
