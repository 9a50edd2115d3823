/*
 * vad_batch.h — the batched VAD pipeline (vad_batch.c): N <= 30 s chunks encoded one after the
 * other and decoded together as one decoder batch of N sequences, each with its own start
 * sequence and its own cross-attention K/V.
 *
 * Reference: faster-whisper 1.2.1 BatchedInferencePipeline (one temperature, no conditioning on
 * previous text, every chunk a single window).
 * Invariants: chunk results are appended to `out` in time order; per chunk the tokens do not
 * depend on batch_size (the products give every row the same bits whatever the batch).
 */
#ifndef AURIS_TRANSCRIBE_VAD_BATCH_H
#define AURIS_TRANSCRIBE_VAD_BATCH_H

#include "transcribe/vad_chunks.h"

enum auris_err auris__vad_run_batched(auris_session *s, const float *pcm,
                                      const struct auris__vad_plan *plan, float *buf,
                                      const struct auris_transcribe_params *p, int batch_size,
                                      double t_max, struct auris_result *out,
                                      struct auris_error *err);

#endif
