/*
 * vad_chunks.c — VAD speech segments into <= 30 s chunks and chunk times back onto the original
 * timeline (see vad_chunks.h for the reference and invariants).
 */
#include "transcribe/vad_chunks.h"

#include <math.h>
#include <stdlib.h>

void auris__vad_plan_free(struct auris__vad_plan *plan)
{
    if (!plan)
        return;
    free(plan->pieces);
    free(plan->chunks);
    memset(plan, 0, sizeof *plan);
}

enum auris_err auris__vad_plan_make(const struct auris_vad_segment *segs, size_t n_segs,
                                    size_t n_samples, double overlap_s,
                                    struct auris__vad_plan *plan, struct auris_error *err)
{
    memset(plan, 0, sizeof *plan);
    if (n_segs == 0)
        return AURIS_OK;
    if (n_segs > (size_t)INT32_MAX / 2)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "vad: too many speech segments");
    plan->pieces = malloc(n_segs * sizeof *plan->pieces);
    plan->chunks = malloc(n_segs * sizeof *plan->chunks);
    if (!plan->pieces || !plan->chunks) {
        auris__vad_plan_free(plan);
        return auris__fail(err, AURIS_ERR_NOMEM, "vad: out of memory for the chunk plan");
    }
    const int64_t max = AURIS_N_SAMPLES;
    const int64_t overlap = (int64_t)llround(overlap_s * AURIS_SAMPLE_RATE);
    struct auris__vad_chunk *cur = NULL;
    for (size_t i = 0; i < n_segs; i++) {
        int64_t s = AURIS_MAX((int64_t)0, segs[i].start);
        int64_t e = AURIS_MIN((int64_t)n_samples, segs[i].end);
        if (i + 1 < n_segs) /* the overlap never reaches into the next segment */
            e = AURIS_MAX(e, AURIS_MIN(AURIS_MIN((int64_t)n_samples, e + overlap), segs[i + 1].start));
        e = AURIS_MIN(e, s + max);
        if (e <= s)
            continue;
        struct auris__vad_piece *pc = &plan->pieces[plan->n_pieces];
        pc->start = s;
        pc->end = e;
        if (!cur || cur->n_samples + (e - s) > max) {
            cur = &plan->chunks[plan->n_chunks++];
            cur->first = plan->n_pieces;
            cur->n_pieces = 0;
            cur->n_samples = 0;
        }
        cur->n_pieces++;
        cur->n_samples += e - s;
        plan->n_pieces++;
    }
    return AURIS_OK;
}

void auris__vad_chunk_audio(const struct auris__vad_plan *plan, int c, const float *pcm,
                            float *dst)
{
    const struct auris__vad_chunk *ch = &plan->chunks[c];
    for (int i = 0; i < ch->n_pieces; i++) {
        const struct auris__vad_piece *pc = &plan->pieces[ch->first + i];
        memcpy(dst, pcm + pc->start, (size_t)(pc->end - pc->start) * sizeof *dst);
        dst += pc->end - pc->start;
    }
}

double auris__vad_map_time(const struct auris__vad_plan *plan, int c, double t, bool is_end)
{
    const struct auris__vad_chunk *ch = &plan->chunks[c];
    const double sr = AURIS_SAMPLE_RATE;
    double local = 0.0; /* chunk-local start of piece i, seconds */
    for (int i = 0; i < ch->n_pieces; i++) {
        const struct auris__vad_piece *pc = &plan->pieces[ch->first + i];
        double len = (double)(pc->end - pc->start) / sr;
        bool last = i + 1 == ch->n_pieces;
        if (last || (is_end ? t <= local + len : t < local + len))
            return (double)pc->start / sr + AURIS_MIN(len, t < local ? 0.0 : t - local);
        local += len;
    }
    return t; /* no pieces: unreachable for a valid plan */
}
