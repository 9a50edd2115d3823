/*
 * vad.h — `auris vad AUDIO [--vad_model PATH] [--output_format json|tsv|probs]` and the VAD
 * options shared with `auris transcribe --vad True`.
 */
#ifndef AURIS_TOOLS_VAD_H
#define AURIS_TOOLS_VAD_H

#include <auris.h>
#include <stddef.h>

#include "cli/args.h"

/* File names looked for when --vad_model is not given, in this order. */
#define CLI_VAD_MODEL_NAMES "ggml-silero-v6.2.0.bin", "silero-v6.2.0-ggml.bin"

/* Finds the default VAD model in $AURIS_ASSETS, `assets` (when non-NULL) and the cache
 * directory ($AURIS_CACHE, else $XDG_CACHE_HOME/auris, else ~/.cache/auris). Returns 0 with the
 * path in buf, or -1 after printing exactly which files were looked for where. */
int cli_vad_default_model(const char *assets, char *buf, size_t n);

/* Reads the --vad_* options (threshold, neg_threshold, min_speech_duration_ms,
 * max_speech_duration_s, min_silence_duration_ms, speech_pad_ms, samples_overlap) from opts into
 * p. Returns 0, or -1 after a one-line message. */
int cli_vad_read_params(struct opt *opts, int n_opts, struct auris_vad_params *p);

/* argv[1] is "vad". Returns the exit status (0, 1 on a failure, 2 on a usage error). */
int cli_cmd_vad(int argc, char **argv);

#endif
