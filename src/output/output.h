/*
 * output.h — writers for transcription results: txt, vtt, srt, tsv, json and "all".
 *
 * Reference: openai/whisper utils.py (format_timestamp, WriteTXT, SubtitlesWriter.iterate_result,
 * WriteVTT, WriteSRT, WriteTSV, WriteJSON, get_writer). Every writer produces byte for byte what
 * the reference writes for the same result dict.
 * Invariants: writers only write to the stream they are given; making files appear whole or not
 * at all is auris__write_output_file's job (temporary file + rename).
 */
#ifndef AURIS_OUTPUT_H
#define AURIS_OUTPUT_H

#include "common.h"

#include <stdio.h>

enum auris__format {
    AURIS_FMT_TXT = 0,
    AURIS_FMT_VTT,
    AURIS_FMT_SRT,
    AURIS_FMT_TSV,
    AURIS_FMT_JSON,
    AURIS_FMT_ALL /* every format above, in this order (get_writer("all")) */
};

/* The subtitle options of the reference's writers (0 / false = None). They only change the
 * output of results with word timings (segments carrying `words`). */
struct auris__writer_options {
    int max_line_width;     /* characters per line before breaking */
    int max_line_count;     /* lines per subtitle (with max_line_width) */
    int max_words_per_line; /* words per line (without max_line_width) */
    bool highlight_words;   /* underline each word as it is spoken (vtt, srt) */
};

/* Parses "txt", "vtt", "srt", "tsv", "json", "all"; returns -1 when unknown. */
int auris__format_parse(const char *name);
/* The file extension of a single format ("txt"); NULL for AURIS_FMT_ALL. */
const char *auris__format_ext(enum auris__format f);

/* format_timestamp: [hh:]mm:ss<marker>mmm, milliseconds rounded half to even; hours always
 * when `always_hours`, else only when non-zero. Negative input is clamped to 0 (the reference
 * asserts). Writes at most n bytes (32 is always enough). */
void auris__format_timestamp(double seconds, bool always_hours, char decimal_marker, char *buf,
                             size_t n);

/* Each writer returns 0, or -1 on a write or allocation error. `o` may be NULL. */
int auris__write_txt(FILE *f, const struct auris_result *r);
int auris__write_vtt(FILE *f, const struct auris_result *r, const struct auris__writer_options *o);
int auris__write_srt(FILE *f, const struct auris_result *r, const struct auris__writer_options *o);
int auris__write_tsv(FILE *f, const struct auris_result *r);
/* json.dump(result): {"text", "segments": [{id, seek, start, end, text, tokens, temperature,
 * avg_logprob, compression_ratio, no_speech_prob[, words]}], "language"} with Python's default
 * separators, ASCII escaping and float repr. */
int auris__write_json(FILE *f, const struct auris_result *r);
/* One of the above by format (not AURIS_FMT_ALL). */
int auris__write_format(FILE *f, enum auris__format fmt, const struct auris_result *r,
                        const struct auris__writer_options *o);

/* Writes `r` in format `fmt` (AURIS_FMT_ALL: every format) to <dir>/<stem>.<ext>, each through a
 * temporary file in `dir` renamed into place only when complete; on failure no partial file is
 * left behind (files of "all" completed before the failure stay). `o` may be NULL. */
enum auris_err auris__write_output_file(const char *dir, const char *stem, enum auris__format fmt,
                                        const struct auris_result *r,
                                        const struct auris__writer_options *o,
                                        struct auris_error *err);

#endif /* AURIS_OUTPUT_H */
