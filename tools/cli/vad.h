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

/* Silero VAD model files (vad_file.c). What the header of `path` says it is: 0 neither, 1
 * whisper.cpp's ggml VAD file, 2 auris's native VAD file (enum auris__vad_kind). */
int cli_vad_file_kind(const char *path);
/* `auris info` on a VAD file: one JSON line describing the model. Returns the exit status. */
int cli_vad_info(const char *path);
/* `auris convert` of a VAD file to the native format (type NULL or "f32"). Exit status. */
int cli_vad_convert(const char *in, const char *out, const char *type);

#endif

/* `auris transcribe`'s VAD options (--vad, --vad_model, --vad_*, --batch_size). */
struct cli_vad_config {
    bool vad;
    int batch_size;                 /* 0: sequential per chunk */
    struct auris_vad_params params;
    const char *model_path;         /* --vad_model, or NULL: the default lookup */
    auris_vad *model;               /* loaded by cli_vad_load */
};

/* The transcribe options table entries, spliced into it by the CLI. */
#define CLI_VAD_TRANSCRIBE_OPTS \
    {"vad", 0, OPT_BOOL, "transcribe only the speech Silero VAD finds (default: False)", 0}, \
    {"vad_model", 0, OPT_STR, "Silero VAD model, whisper.cpp ggml or native (default: ggml-silero-v6.2.0.bin or silero-v6.2.0-ggml.bin in $AURIS_ASSETS, --assets or the cache directory)", 0}, \
    {"vad_threshold", 0, OPT_FLOAT, "VAD speech probability threshold (default: 0.5)", 0}, \
    {"vad_neg_threshold", 0, OPT_FLOAT, "VAD: speech ends below this probability (default: threshold - 0.15)", 0}, \
    {"vad_min_speech_duration_ms", 0, OPT_INT, "VAD: drop speech shorter than this (default: 250)", 0}, \
    {"vad_min_silence_duration_ms", 0, OPT_INT, "VAD: bridge silences shorter than this (default: 100)", 0}, \
    {"vad_max_speech_duration_s", 0, OPT_FLOAT, "VAD: split speech longer than this, at most 30 (default: 30)", 0}, \
    {"vad_speech_pad_ms", 0, OPT_INT, "VAD: padding on each side of speech (default: 30)", 0}, \
    {"vad_samples_overlap", 0, OPT_FLOAT, "VAD: seconds of audio kept past each speech segment (default: 0.1)", 0}, \
    {"batch_size", 0, OPT_INT, "(requires --vad True) decode this many <= 30 s chunks together (1..16); fixes temperature 0 without fallback, greedy decoding and no conditioning on previous text (default: off)", 0}

/* Reads and checks the options above (p: the transcription options already read, to refuse
 * flags that contradict the batched mode). Returns 0, or -1 after a one-line message. */
int cli_vad_transcribe_config(struct opt *opts, int n_opts,
                              const struct auris_transcribe_params *p,
                              struct cli_vad_config *vc);

/* Loads vc->model when vc->vad (the default lookup when no path). Returns 0 or -1 (printed). */
int cli_vad_load(struct cli_vad_config *vc, const char *assets);
