/*
 * vad.c — `auris vad`: prints the speech segments Silero VAD finds in an audio file, and the
 * --vad_* option handling shared with `auris transcribe --vad True`.
 *
 * Reference: whisper.cpp's VAD options (--vad-model, --vad-threshold, ...; spelled here with
 * underscores like every auris option) and silero-vad's get_speech_timestamps.
 * Output on stdout: json, a list of {"start": s, "end": s}; tsv, "start<TAB>end" lines; probs,
 * one speech probability per 512-sample window. Times in seconds with millisecond precision.
 * Invariants: nothing is printed on stdout unless the whole run succeeded.
 */
#include "cli/vad.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct opt vad_opts[] = {
    {"vad_model", 0, OPT_STR, "Silero VAD model (whisper.cpp ggml or native; default: found in the "
     "assets/cache directory)", 0},
    {"output_format", 'f', OPT_STR, "json (default), tsv, or probs (one probability per "
     "window)", 0},
    {"vad_threshold", 0, OPT_FLOAT, "speech probability threshold (default 0.5)", 0},
    {"vad_neg_threshold", 0, OPT_FLOAT, "speech ends below it (default threshold - 0.15)", 0},
    {"vad_min_speech_duration_ms", 0, OPT_INT, "drop shorter speech (default 250)", 0},
    {"vad_min_silence_duration_ms", 0, OPT_INT, "bridge shorter silences (default 100)", 0},
    {"vad_max_speech_duration_s", 0, OPT_FLOAT, "split longer speech (default: no limit)", 0},
    {"vad_speech_pad_ms", 0, OPT_INT, "padding on each side of speech (default 30)", 0},
    {"vad_samples_overlap", 0, OPT_FLOAT, "seconds kept past each segment when transcribing "
     "(default 0.1)", 0},
    {"assets", 0, OPT_STR, "directory searched for the default VAD model", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_VOPTS ((int)(sizeof vad_opts / sizeof vad_opts[0]))

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_vad_default_model(const char *assets, char *buf, size_t n)
{
    static const char *const names[] = {CLI_VAD_MODEL_NAMES};
    char dirs[3][1024];
    int nd = 0;
    const char *e;
    if ((e = getenv("AURIS_ASSETS")) && *e)
        snprintf(dirs[nd++], sizeof dirs[0], "%s", e);
    if (assets && *assets)
        snprintf(dirs[nd++], sizeof dirs[0], "%s", assets);
    if ((e = getenv("AURIS_CACHE")) && *e)
        snprintf(dirs[nd++], sizeof dirs[0], "%s", e);
    else if ((e = getenv("XDG_CACHE_HOME")) && *e)
        snprintf(dirs[nd++], sizeof dirs[0], "%s/auris", e);
    else if ((e = getenv("HOME")) && *e)
        snprintf(dirs[nd++], sizeof dirs[0], "%s/.cache/auris", e);
    char looked[2048] = "";
    size_t used = 0;
    for (int d = 0; d < nd; d++) {
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            int w = snprintf(buf, n, "%s/%s", dirs[d], names[k]);
            if (w > 0 && (size_t)w < n && is_file(buf))
                return 0;
        }
        int w = snprintf(looked + used, sizeof looked - used, "%s%s", d ? ", " : "", dirs[d]);
        if (w > 0 && (size_t)w < sizeof looked - used)
            used += (size_t)w;
    }
    fprintf(stderr, "auris: error: no VAD model: --vad_model is not given and neither "
                    "ggml-silero-v6.2.0.bin nor silero-v6.2.0-ggml.bin is in %s\n",
            nd ? looked : "any directory (set AURIS_ASSETS, AURIS_CACHE or HOME)");
    return -1;
}

int cli_vad_read_params(struct opt *opts, int n_opts, struct auris_vad_params *p)
{
    *p = auris_vad_default_params();
    struct opt *o;
    double v;
    if ((o = args_find(opts, n_opts, "vad_threshold")) && o->value) {
        if (args_get_double(o, &v) != 0)
            return -1;
        p->threshold = v;
    }
    if ((o = args_find(opts, n_opts, "vad_neg_threshold")) && o->value) {
        if (args_get_double(o, &v) != 0)
            return -1;
        p->neg_threshold = v;
    }
    if ((o = args_find(opts, n_opts, "vad_max_speech_duration_s")) && o->value) {
        if (args_get_double(o, &v) != 0)
            return -1;
        p->max_speech_duration_s = isnan(v) ? INFINITY : v;
    }
    if ((o = args_find(opts, n_opts, "vad_samples_overlap")) && o->value) {
        if (args_get_double(o, &v) != 0)
            return -1;
        p->samples_overlap = v;
    }
    if (((o = args_find(opts, n_opts, "vad_min_speech_duration_ms")) &&
         args_get_int(o, &p->min_speech_duration_ms) != 0) ||
        ((o = args_find(opts, n_opts, "vad_min_silence_duration_ms")) &&
         args_get_int(o, &p->min_silence_duration_ms) != 0) ||
        ((o = args_find(opts, n_opts, "vad_speech_pad_ms")) &&
         args_get_int(o, &p->speech_pad_ms) != 0))
        return -1;
    if (!(p->threshold >= 0 && p->threshold <= 1) ||
        (!isnan(p->neg_threshold) && !(p->neg_threshold >= 0 && p->neg_threshold <= 1))) {
        fprintf(stderr, "auris: error: --vad_threshold and --vad_neg_threshold must be in [0, 1]\n");
        return -1;
    }
    if (p->min_speech_duration_ms < 0 || p->min_silence_duration_ms < 0 || p->speech_pad_ms < 0 ||
        !(p->max_speech_duration_s > 0) || !(p->samples_overlap >= 0 && p->samples_overlap <= 30)) {
        fprintf(stderr, "auris: error: VAD durations must be >= 0, --vad_max_speech_duration_s "
                        "> 0 and --vad_samples_overlap in [0, 30]\n");
        return -1;
    }
    return 0;
}

static void print_help(void)
{
    printf("usage: auris vad AUDIO [--vad_model PATH] [--output_format json|tsv|probs]\n\n"
           "Prints the speech segments Silero VAD finds (seconds).\n\noptions:\n");
    for (int i = 0; i < N_VOPTS; i++)
        printf("  --%-30s %s\n", vad_opts[i].name, vad_opts[i].help);
}

static int print_result(const char *fmt, const float *probs, size_t n_probs,
                        const struct auris_vad_segment *segs, size_t n_segs)
{
    const double sr = AURIS_SAMPLE_RATE;
    if (strcmp(fmt, "probs") == 0) {
        for (size_t i = 0; i < n_probs; i++)
            printf("%.9g\n", (double)probs[i]);
    } else if (strcmp(fmt, "tsv") == 0) {
        for (size_t i = 0; i < n_segs; i++)
            printf("%.3f\t%.3f\n", segs[i].start / sr, segs[i].end / sr);
    } else {
        printf("[");
        for (size_t i = 0; i < n_segs; i++)
            printf("%s{\"start\": %.3f, \"end\": %.3f}", i ? ", " : "", segs[i].start / sr,
                   segs[i].end / sr);
        printf("]\n");
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int cli_cmd_vad(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    for (int i = 0; i < N_VOPTS; i++)
        vad_opts[i].value = NULL;
    if (args_parse(argc, argv, 2, vad_opts, N_VOPTS, pos, 1, &n_pos) != 0)
        return 2;
    if (vad_opts[N_VOPTS - 1].value) {
        print_help();
        return 0;
    }
    if (n_pos != 1) {
        fprintf(stderr, "auris: error: usage: auris vad AUDIO [--vad_model PATH]\n");
        return 2;
    }
    const char *fmt = vad_opts[1].value ? vad_opts[1].value : "json";
    if (strcmp(fmt, "json") && strcmp(fmt, "tsv") && strcmp(fmt, "probs")) {
        fprintf(stderr, "auris: error: argument --output_format: invalid choice: '%s' (choose "
                        "from 'json', 'tsv', 'probs')\n", fmt);
        return 2;
    }
    struct auris_vad_params params;
    if (cli_vad_read_params(vad_opts, N_VOPTS, &params) != 0)
        return 2;
    char found[1200];
    const char *model_path = vad_opts[0].value;
    if (!model_path) {
        if (cli_vad_default_model(vad_opts[N_VOPTS - 2].value, found, sizeof found) != 0)
            return 1;
        model_path = found;
    }
    struct auris_error err = {0};
    auris_vad *vad = NULL;
    float *pcm = NULL, *probs = NULL;
    size_t n = 0, n_probs = 0, n_segs = 0;
    struct auris_vad_segment *segs = NULL;
    int rc = 1;
    if (auris_vad_load(model_path, &vad, &err) == AURIS_OK &&
        auris_audio_load(pos[0], &pcm, &n, &err) == AURIS_OK &&
        auris_vad_probs(vad, pcm, n, &probs, &n_probs, &err) == AURIS_OK &&
        auris_vad_segments_from_probs(probs, n_probs, n, &params, &segs, &n_segs, &err) ==
            AURIS_OK)
        rc = print_result(fmt, probs, n_probs, segs, n_segs);
    else
        fprintf(stderr, "auris: error: %s\n", err.message);
    auris_free(segs);
    auris_free(probs);
    auris_free(pcm);
    auris_vad_free(vad);
    return rc;
}

/* True when the option was given on the command line. */
static bool given(struct opt *opts, int n, const char *name)
{
    struct opt *o = args_find(opts, n, name);
    return o && o->value;
}

int cli_vad_transcribe_config(struct opt *opts, int n_opts,
                              const struct auris_transcribe_params *p,
                              struct cli_vad_config *vc)
{
    memset(vc, 0, sizeof *vc);
    struct opt *o = args_find(opts, n_opts, "vad");
    if (o && args_get_bool(o, &vc->vad) != 0)
        return -1;
    if (cli_vad_read_params(opts, n_opts, &vc->params) != 0)
        return -1;
    o = args_find(opts, n_opts, "vad_model");
    vc->model_path = o ? o->value : NULL;
    bool batched = given(opts, n_opts, "batch_size");
    if (batched) {
        if (args_get_int(args_find(opts, n_opts, "batch_size"), &vc->batch_size) != 0)
            return -1;
        if (vc->batch_size < 1 || vc->batch_size > AURIS_MAX_BATCH) {
            fprintf(stderr, "auris: error: argument --batch_size: must be in 1..%d\n",
                    AURIS_MAX_BATCH);
            return -1;
        }
        if (!vc->vad) {
            fprintf(stderr, "auris: error: --batch_size requires --vad True (the batch is made "
                            "of VAD speech chunks)\n");
            return -1;
        }
    }
    if (vc->vad && p->n_clip_timestamps > 0) {
        fprintf(stderr, "auris: error: --clip_timestamps and --vad True both choose what to "
                        "transcribe: give one of them\n");
        return -1;
    }
    if (!batched)
        return 0;
    /* what the batched mode fixes: refuse flags asking for something else */
    static const char *const fixed[] = {
        "beam_size", "best_of", "patience", "length_penalty", "initial_prompt", "prefix",
        "carry_initial_prompt", "temperature_increment_on_fallback", "word_timestamps",
        "hallucination_silence_threshold"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        o = args_find(opts, n_opts, fixed[i]);
        bool off = o && o->value && (strcmp(o->value, "False") == 0 || strcmp(o->value, "None") == 0 ||
                                     strcmp(o->value, "1") == 0);
        if (o && o->value && !off) {
            fprintf(stderr, "auris: error: --%s %s contradicts --batch_size (batched decoding "
                            "is greedy at temperature 0, without fallback, prompts or word "
                            "timestamps)\n", fixed[i], o->value);
            return -1;
        }
    }
    if (p->temperatures && p->n_temperatures > 0 && p->temperatures[0] != 0.0) {
        fprintf(stderr, "auris: error: --temperature %g contradicts --batch_size (batched "
                        "decoding runs at temperature 0)\n", p->temperatures[0]);
        return -1;
    }
    o = args_find(opts, n_opts, "condition_on_previous_text");
    if (o && o->value && strcmp(o->value, "False") != 0) {
        fprintf(stderr, "auris: error: --condition_on_previous_text %s contradicts --batch_size "
                        "(chunks are decoded independently)\n", o->value);
        return -1;
    }
    return 0;
}

int cli_vad_load(struct cli_vad_config *vc, const char *assets)
{
    if (!vc->vad)
        return 0;
    char found[1200];
    const char *path = vc->model_path;
    if (!path) {
        if (cli_vad_default_model(assets, found, sizeof found) != 0)
            return -1;
        path = found;
    }
    struct auris_error err = {0};
    if (auris_vad_load(path, &vc->model, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        return -1;
    }
    return 0;
}
