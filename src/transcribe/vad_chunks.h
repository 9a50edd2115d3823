/*
 * vad_chunks.h — speech segments grouped into <= 30 s chunks of concatenated speech, and the map
 * from a chunk's own timeline back to the original one (src/transcribe/vad_chunks.c).
 *
 * Reference: faster-whisper 1.2.1 vad.py collect_chunks(max_duration=30) and
 * SpeechTimestampsMap; whisper.cpp's samples_overlap (each segment but the last keeps that much
 * audio past its end; here never past the next segment's start, so no audio is repeated).
 * Invariants: pieces are in time order; every chunk holds >= 1 piece and <= AURIS_N_SAMPLES
 * samples; chunk-local times map monotonically onto the original timeline.
 */
#ifndef AURIS_TRANSCRIBE_VAD_CHUNKS_H
#define AURIS_TRANSCRIBE_VAD_CHUNKS_H

#include "common.h"

/* One speech segment as cut from the original audio: samples [start, end). */
struct auris__vad_piece {
    int64_t start, end;
};

/* Pieces [first, first + n_pieces) concatenated: n_samples samples. */
struct auris__vad_chunk {
    int first, n_pieces;
    int64_t n_samples;
};

struct auris__vad_plan {
    struct auris__vad_piece *pieces;
    int n_pieces;
    struct auris__vad_chunk *chunks;
    int n_chunks;
};

/* Builds the plan of n_segs segments (ordered, within [0, n_samples)): every segment but the
 * last extended by `overlap_s` seconds (never past the next segment's start), segments longer
 * than 30 s cut,
 * then chunks filled in order while their total stays <= 30 s. NOMEM. */
enum auris_err auris__vad_plan_make(const struct auris_vad_segment *segs, size_t n_segs,
                                    size_t n_samples, double overlap_s,
                                    struct auris__vad_plan *plan, struct auris_error *err);
void auris__vad_plan_free(struct auris__vad_plan *plan); /* NULL-safe; zeroes the plan */

/* Copies chunk c's pieces from pcm into dst (room for its n_samples). */
void auris__vad_chunk_audio(const struct auris__vad_plan *plan, int c, const float *pcm,
                            float *dst);

/* Chunk c's local time t (seconds) on the original timeline. A time on the border of two
 * pieces goes to the end of the earlier piece when is_end, else to the start of the later; a
 * time past the chunk's audio (Whisper's timestamps can run into the padding) goes to the end
 * of its last piece, so chunks stay in time order. */
double auris__vad_map_time(const struct auris__vad_plan *plan, int c, double t, bool is_end);

#endif
