/*
 * output.h — writers for transcription results.
 *
 * Reference: openai/whisper utils.py (WriteTXT, WriteJSON). Invariants: writers only write to the
 * stream they are given; making files appear whole or not at all is the caller's job
 * (auris__write_output_file does it with a temporary file and rename).
 */
#ifndef AURIS_OUTPUT_H
#define AURIS_OUTPUT_H

#include "common.h"

#include <stdio.h>

enum auris__format { AURIS_FMT_TXT = 0, AURIS_FMT_JSON = 1 };

/* Parses "txt" / "json"; returns -1 when unknown. */
int auris__format_parse(const char *name);
const char *auris__format_ext(enum auris__format f);

/* One line per segment, its text stripped (WriteTXT). Returns 0, or -1 on a write error. */
int auris__write_txt(FILE *f, const struct auris_result *r);

/* {"text", "segments": [{id, seek, start, end, text, tokens, temperature, avg_logprob,
 * compression_ratio, no_speech_prob}], "language"} (WriteJSON). Returns 0, or -1. */
int auris__write_json(FILE *f, const struct auris_result *r);

/* Writes `r` in format `fmt` to <dir>/<stem>.<ext> through a temporary file in `dir` that is
 * renamed into place only when complete; on any failure nothing is left behind. */
enum auris_err auris__write_output_file(const char *dir, const char *stem, enum auris__format fmt,
                                        const struct auris_result *r, struct auris_error *err);

#endif /* AURIS_OUTPUT_H */
