/*
 * fft.c — complex FFT of any length, in double precision, for the STFT of the log-Mel stage.
 *
 * Algorithms (textbook facts): recursive mixed-radix Cooley-Tukey decimation in time with
 * specialised radix-2/3/4/5 butterflies and a generic odd-prime butterfly, and Bluestein's
 * chirp-z transform for lengths whose largest prime factor exceeds MAX_DIRECT_RADIX.
 * Invariants: a plan is read-only after creation (shareable between threads); every execution
 * writes only into the caller's arrays and work buffer, so it allocates nothing.
 */
#include "audio.h"
#include "fft.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_DIRECT_RADIX 64 /* generic butterflies cost O(p) per output: keep p small */
#define MAX_FACTORS 32      /* an int has at most 31 prime factors */
#define MAX_FFT_LEN (1 << 28)

static const double PI = 3.14159265358979323846264338327950288;

struct auris_fft_plan {
    int n;
    int n_factors;
    int factors[MAX_FACTORS]; /* product == n when direct */
    double *tw_re, *tw_im;    /* [n] exp(-2 pi i j / n) */
    /* Bluestein (bluestein != 0): X = chirp * ((x * chirp) conv conj(chirp)), evaluated as a
     * cyclic convolution of length m (a power of two >= 2n-1) through `sub`. */
    int bluestein;
    int m;
    struct auris_fft_plan *sub;
    double *chirp_re, *chirp_im; /* [n] exp(-pi i j^2 / n) */
    double *filt_re, *filt_im;   /* [m] FFT of the conjugate chirp, wrapped cyclically */
};

static int factorize(int n, int *factors, int *n_factors)
{
    int nf = 0, largest = 1;
    while (n % 4 == 0) {
        factors[nf++] = 4;
        n /= 4;
    }
    for (int p = 2; n > 1; p++) {
        if ((long long)p * p > n)
            p = n; /* what remains is prime */
        while (n % p == 0) {
            factors[nf++] = p;
            n /= p;
            if (p > largest)
                largest = p;
        }
    }
    *n_factors = nf;
    return largest;
}

void auris__fft_plan_free(struct auris_fft_plan *plan)
{
    if (!plan)
        return;
    free(plan->tw_re);
    free(plan->tw_im);
    free(plan->chirp_re);
    free(plan->chirp_im);
    free(plan->filt_re);
    free(plan->filt_im);
    auris__fft_plan_free(plan->sub);
    free(plan);
}

static int init_bluestein(struct auris_fft_plan *plan)
{
    int n = plan->n;
    int m = 1;
    while (m < 2 * n - 1)
        m *= 2;
    plan->m = m;
    plan->sub = auris__fft_plan_create(m);
    plan->chirp_re = malloc(sizeof(double) * (size_t)n);
    plan->chirp_im = malloc(sizeof(double) * (size_t)n);
    plan->filt_re = calloc((size_t)m, sizeof(double));
    plan->filt_im = calloc((size_t)m, sizeof(double));
    double *work = plan->sub ? malloc(sizeof(double) * auris__fft_plan_work_size(plan->sub)) : NULL;
    int ok = plan->sub && plan->chirp_re && plan->chirp_im && plan->filt_re && plan->filt_im && work;
    if (ok) {
        for (int j = 0; j < n; j++) {
            /* j^2 mod 2n keeps the angle small, so the chirp stays accurate for large n */
            long long q = ((long long)j * j) % (2LL * n);
            double a = PI * (double)q / (double)n;
            plan->chirp_re[j] = cos(a);
            plan->chirp_im[j] = -sin(a);
        }
        for (int j = 0; j < n; j++) {
            plan->filt_re[j] = plan->chirp_re[j];
            plan->filt_im[j] = -plan->chirp_im[j];
            if (j > 0) {
                plan->filt_re[m - j] = plan->chirp_re[j];
                plan->filt_im[m - j] = -plan->chirp_im[j];
            }
        }
        auris__fft_plan_exec(plan->sub, plan->filt_re, plan->filt_im, work);
    }
    free(work);
    return ok;
}

struct auris_fft_plan *auris__fft_plan_create(int n)
{
    if (n < 1 || n > MAX_FFT_LEN)
        return NULL;
    struct auris_fft_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return NULL;
    plan->n = n;
    int largest = factorize(n, plan->factors, &plan->n_factors);
    if (largest > MAX_DIRECT_RADIX) {
        plan->bluestein = 1;
        if (!init_bluestein(plan))
            goto fail;
        return plan;
    }
    plan->tw_re = malloc(sizeof(double) * (size_t)n);
    plan->tw_im = malloc(sizeof(double) * (size_t)n);
    if (!plan->tw_re || !plan->tw_im)
        goto fail;
    for (int j = 0; j < n; j++) {
        double a = 2.0 * PI * (double)j / (double)n;
        plan->tw_re[j] = cos(a);
        plan->tw_im[j] = -sin(a);
    }
    return plan;
fail:
    auris__fft_plan_free(plan);
    return NULL;
}

size_t auris__fft_plan_work_size(const struct auris_fft_plan *plan)
{
    if (plan->bluestein)
        return 2 * (size_t)plan->m + auris__fft_plan_work_size(plan->sub);
    return 2 * (size_t)plan->n;
}

/* Loads t_r = out[r*m + k] * W_N^{r k s} for r < p (the DIT twiddles of one butterfly). */
static inline void load_twiddled(const struct auris_fft_plan *plan, const double *ore,
                                 const double *oim, int p, int m, int s, int k, double *tr,
                                 double *ti)
{
    tr[0] = ore[k];
    ti[0] = oim[k];
    for (int r = 1; r < p; r++) {
        double xr = ore[r * m + k], xi = oim[r * m + k];
        if (k == 0) {
            tr[r] = xr;
            ti[r] = xi;
        } else {
            int idx = r * k * s; /* < N because r < p and k < m */
            double wr = plan->tw_re[idx], wi = plan->tw_im[idx];
            tr[r] = xr * wr - xi * wi;
            ti[r] = xr * wi + xi * wr;
        }
    }
}

static void pass2(const struct auris_fft_plan *plan, double *ore, double *oim, int m, int s)
{
    double tr[2], ti[2];
    for (int k = 0; k < m; k++) {
        load_twiddled(plan, ore, oim, 2, m, s, k, tr, ti);
        ore[k] = tr[0] + tr[1];
        oim[k] = ti[0] + ti[1];
        ore[m + k] = tr[0] - tr[1];
        oim[m + k] = ti[0] - ti[1];
    }
}

static void pass3(const struct auris_fft_plan *plan, double *ore, double *oim, int m, int s)
{
    const double c = 0.86602540378443864676; /* sqrt(3)/2 */
    double tr[3], ti[3];
    for (int k = 0; k < m; k++) {
        load_twiddled(plan, ore, oim, 3, m, s, k, tr, ti);
        double sr = tr[1] + tr[2], si = ti[1] + ti[2];
        double dr = tr[1] - tr[2], di = ti[1] - ti[2];
        double ar = tr[0] - 0.5 * sr, ai = ti[0] - 0.5 * si;
        ore[k] = tr[0] + sr;
        oim[k] = ti[0] + si;
        ore[m + k] = ar + c * di;
        oim[m + k] = ai - c * dr;
        ore[2 * m + k] = ar - c * di;
        oim[2 * m + k] = ai + c * dr;
    }
}

static void pass4(const struct auris_fft_plan *plan, double *ore, double *oim, int m, int s)
{
    double tr[4], ti[4];
    for (int k = 0; k < m; k++) {
        load_twiddled(plan, ore, oim, 4, m, s, k, tr, ti);
        double ar = tr[0] + tr[2], ai = ti[0] + ti[2];
        double br = tr[0] - tr[2], bi = ti[0] - ti[2];
        double cr = tr[1] + tr[3], ci = ti[1] + ti[3];
        double dr = tr[1] - tr[3], di = ti[1] - ti[3];
        ore[k] = ar + cr;
        oim[k] = ai + ci;
        ore[2 * m + k] = ar - cr;
        oim[2 * m + k] = ai - ci;
        /* X1 = b - i d, X3 = b + i d */
        ore[m + k] = br + di;
        oim[m + k] = bi - dr;
        ore[3 * m + k] = br - di;
        oim[3 * m + k] = bi + dr;
    }
}

static void pass5(const struct auris_fft_plan *plan, double *ore, double *oim, int m, int s)
{
    const double c1 = 0.30901699437494742410, c2 = -0.80901699437494742410;
    const double s1 = 0.95105651629515357212, s2 = 0.58778525229247312917;
    double tr[5], ti[5];
    for (int k = 0; k < m; k++) {
        load_twiddled(plan, ore, oim, 5, m, s, k, tr, ti);
        double a1r = tr[1] + tr[4], a1i = ti[1] + ti[4];
        double b1r = tr[1] - tr[4], b1i = ti[1] - ti[4];
        double a2r = tr[2] + tr[3], a2i = ti[2] + ti[3];
        double b2r = tr[2] - tr[3], b2i = ti[2] - ti[3];
        double Ar = tr[0] + c1 * a1r + c2 * a2r, Ai = ti[0] + c1 * a1i + c2 * a2i;
        double Br = s1 * b1r + s2 * b2r, Bi = s1 * b1i + s2 * b2i;
        double Cr = tr[0] + c2 * a1r + c1 * a2r, Ci = ti[0] + c2 * a1i + c1 * a2i;
        double Dr = s2 * b1r - s1 * b2r, Di = s2 * b1i - s1 * b2i;
        ore[k] = tr[0] + a1r + a2r;
        oim[k] = ti[0] + a1i + a2i;
        ore[m + k] = Ar + Bi; /* A - iB */
        oim[m + k] = Ai - Br;
        ore[4 * m + k] = Ar - Bi; /* A + iB */
        oim[4 * m + k] = Ai + Br;
        ore[2 * m + k] = Cr + Di; /* C - iD */
        oim[2 * m + k] = Ci - Dr;
        ore[3 * m + k] = Cr - Di; /* C + iD */
        oim[3 * m + k] = Ci + Dr;
    }
}

/* Any radix p <= MAX_DIRECT_RADIX, O(p^2) per butterfly. */
static void pass_generic(const struct auris_fft_plan *plan, double *ore, double *oim, int p,
                         int m, int s)
{
    const int step = plan->n / p; /* W_p = W_N^step */
    double tr[MAX_DIRECT_RADIX], ti[MAX_DIRECT_RADIX];
    for (int k = 0; k < m; k++) {
        load_twiddled(plan, ore, oim, p, m, s, k, tr, ti);
        for (int q = 0; q < p; q++) {
            double accr = 0.0, acci = 0.0;
            for (int r = 0; r < p; r++) {
                int idx = ((r * q) % p) * step;
                accr += tr[r] * plan->tw_re[idx] - ti[r] * plan->tw_im[idx];
                acci += tr[r] * plan->tw_im[idx] + ti[r] * plan->tw_re[idx];
            }
            ore[q * m + k] = accr;
            oim[q * m + k] = acci;
        }
    }
}

/* DFT of the n_sub inputs in[0], in[stride], ... into out[0..n_sub): p sub-transforms of size
 * m = n_sub / p land in out[r*m ..], then m radix-p butterflies combine them in place. */
static void fft_rec(const struct auris_fft_plan *plan, const double *ire, const double *iim,
                    int stride, double *ore, double *oim, int n_sub, int fi)
{
    const int p = plan->factors[fi];
    const int m = n_sub / p;
    if (m == 1) { /* the sub-transforms are single samples: gather them */
        for (int r = 0; r < p; r++) {
            ore[r] = ire[(size_t)r * stride];
            oim[r] = iim[(size_t)r * stride];
        }
    } else {
        for (int r = 0; r < p; r++)
            fft_rec(plan, ire + (size_t)r * stride, iim + (size_t)r * stride, stride * p,
                    ore + (size_t)r * m, oim + (size_t)r * m, m, fi + 1);
    }
    const int s = plan->n / n_sub;
    switch (p) {
    case 2: pass2(plan, ore, oim, m, s); break;
    case 3: pass3(plan, ore, oim, m, s); break;
    case 4: pass4(plan, ore, oim, m, s); break;
    case 5: pass5(plan, ore, oim, m, s); break;
    default: pass_generic(plan, ore, oim, p, m, s); break;
    }
}

void auris__fft_plan_exec(const struct auris_fft_plan *plan, double *re, double *im, double *work)
{
    const int n = plan->n;
    if (n == 1)
        return;
    if (!plan->bluestein) {
        double *ore = work, *oim = work + n;
        fft_rec(plan, re, im, 1, ore, oim, n, 0);
        memcpy(re, ore, sizeof(double) * (size_t)n);
        memcpy(im, oim, sizeof(double) * (size_t)n);
        return;
    }
    const int m = plan->m;
    double *ar = work, *ai = work + m, *sub_work = work + 2 * (size_t)m;
    for (int j = 0; j < n; j++) {
        ar[j] = re[j] * plan->chirp_re[j] - im[j] * plan->chirp_im[j];
        ai[j] = re[j] * plan->chirp_im[j] + im[j] * plan->chirp_re[j];
    }
    for (int j = n; j < m; j++)
        ar[j] = ai[j] = 0.0;
    auris__fft_plan_exec(plan->sub, ar, ai, sub_work);
    /* pointwise product, conjugated so that a forward FFT performs the inverse */
    for (int j = 0; j < m; j++) {
        double pr = ar[j] * plan->filt_re[j] - ai[j] * plan->filt_im[j];
        double pi = ar[j] * plan->filt_im[j] + ai[j] * plan->filt_re[j];
        ar[j] = pr;
        ai[j] = -pi;
    }
    auris__fft_plan_exec(plan->sub, ar, ai, sub_work);
    const double inv_m = 1.0 / (double)m;
    for (int k = 0; k < n; k++) {
        double cr = ar[k] * inv_m, ci = -ai[k] * inv_m;
        re[k] = cr * plan->chirp_re[k] - ci * plan->chirp_im[k];
        im[k] = cr * plan->chirp_im[k] + ci * plan->chirp_re[k];
    }
}

int auris__fft(double *re, double *im, int n)
{
    if (!re || !im || n < 1)
        return -1;
    if (n == 1)
        return 0;
    struct auris_fft_plan *plan = auris__fft_plan_create(n);
    if (!plan)
        return -1;
    double *work = malloc(sizeof(double) * auris__fft_plan_work_size(plan));
    if (!work) {
        auris__fft_plan_free(plan);
        return -1;
    }
    auris__fft_plan_exec(plan, re, im, work);
    free(work);
    auris__fft_plan_free(plan);
    return 0;
}

/* ---- real input ----------------------------------------------------------------------------- */

struct auris_rfft_plan {
    int n;                    /* even */
    struct auris_fft_plan *half; /* length n/2 */
    double *tw_re, *tw_im;    /* [n/2 + 1] exp(-2 pi i k / n) */
};

void auris__rfft_plan_free(struct auris_rfft_plan *plan)
{
    if (!plan)
        return;
    auris__fft_plan_free(plan->half);
    free(plan->tw_re);
    free(plan->tw_im);
    free(plan);
}

struct auris_rfft_plan *auris__rfft_plan_create(int n)
{
    if (n < 2 || n % 2 != 0 || n > MAX_FFT_LEN)
        return NULL;
    struct auris_rfft_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return NULL;
    const int h = n / 2;
    plan->n = n;
    plan->half = auris__fft_plan_create(h);
    plan->tw_re = malloc(sizeof(double) * (size_t)(h + 1));
    plan->tw_im = malloc(sizeof(double) * (size_t)(h + 1));
    if (!plan->half || !plan->tw_re || !plan->tw_im) {
        auris__rfft_plan_free(plan);
        return NULL;
    }
    for (int k = 0; k <= h; k++) {
        double a = 2.0 * PI * (double)k / (double)n;
        plan->tw_re[k] = cos(a);
        plan->tw_im[k] = -sin(a);
    }
    return plan;
}

size_t auris__rfft_plan_work_size(const struct auris_rfft_plan *plan)
{
    return (size_t)plan->n + auris__fft_plan_work_size(plan->half);
}

void auris__rfft_plan_exec(const struct auris_rfft_plan *plan, const double *x, double *out_re,
                           double *out_im, double *work)
{
    const int h = plan->n / 2;
    double *zr = work, *zi = work + h;
    for (int j = 0; j < h; j++) { /* z[j] = x[2j] + i x[2j+1] */
        zr[j] = x[2 * j];
        zi[j] = x[2 * j + 1];
    }
    auris__fft_plan_exec(plan->half, zr, zi, work + plan->n);
    /* E[k] = (Z[k] + conj Z[h-k]) / 2 is the DFT of the even samples, O[k] = (Z[k] - conj
     * Z[h-k]) / 2i that of the odd ones; X[k] = E[k] + W_n^k O[k] for k = 0..h. */
    for (int k = 0; k <= h; k++) {
        int a = k % h, b = (h - k) % h;
        double er = 0.5 * (zr[a] + zr[b]), ei = 0.5 * (zi[a] - zi[b]);
        double dr = zr[a] - zr[b], di = zi[a] + zi[b];
        double or_ = 0.5 * di, oi = -0.5 * dr;
        out_re[k] = er + plan->tw_re[k] * or_ - plan->tw_im[k] * oi;
        out_im[k] = ei + plan->tw_re[k] * oi + plan->tw_im[k] * or_;
    }
}
