/*
 * main.c — the `auris` command: transcribe, detect-language, info, bench.
 *
 * The option names and meanings follow the reference CLI (openai/whisper transcribe.py cli()).
 * Options this version does not implement are refused with a message rather than ignored.
 * Invariants: errors are one line on stderr ("auris: error: ..."), the exit status is non-zero
 * when any input failed, and output files appear whole or not at all.
 */
#include "cli/args.h"
#include "cli/cli.h"
#include "output/output.h"

#include <auris.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INPUTS 4096

static void log_to_stderr(void *user, enum auris_log_level level, const char *msg)
{
    (void)user;
    if (level <= AURIS_LOG_WARN)
        fprintf(stderr, "auris: %s: %s\n", level == AURIS_LOG_ERROR ? "error" : "warning", msg);
}

static struct opt transcribe_opts[] = {
    {"model", 'm', OPT_STR, "model checkpoint: OpenAI .pt or whisper.cpp ggml .bin (required)", 0},
    {"assets", 0, OPT_STR, "directory with gpt2.tiktoken / multilingual.tiktoken (default: $AURIS_ASSETS, the model's directory, the cache)", 0},
    {"output_dir", 'o', OPT_STR, "directory to save the outputs (default: .)", 0},
    {"output_format", 'f', OPT_STR, "txt or json (default: txt; vtt, srt, tsv and all need timestamps, not yet implemented)", 0},
    {"verbose", 0, OPT_BOOL, "True: print each segment as it is decoded (default: True)", 0},
    {"task", 0, OPT_STR, "transcribe or translate (X->English) (default: transcribe)", 0},
    {"language", 0, OPT_STR, "spoken language, code or name (default: detect from the first 30 s)", 0},
    {"temperature", 0, OPT_FLOAT, "sampling temperature (only 0, greedy, is implemented)", 0},
    {"best_of", 0, OPT_INT, "candidates when sampling (unused at temperature 0)", 0},
    {"beam_size", 0, OPT_INT, "beams in beam search (only 1, greedy, is implemented; default 1)", 0},
    {"patience", 0, OPT_FLOAT, "beam search patience (not implemented)", 0},
    {"length_penalty", 0, OPT_FLOAT, "beam search length penalty (not implemented)", 0},
    {"suppress_tokens", 0, OPT_STR, "comma-separated token ids to suppress; -1 = the default set (default: -1)", 0},
    {"initial_prompt", 0, OPT_STR, "text to provide as a prompt for the first window", 0},
    {"carry_initial_prompt", 0, OPT_BOOL, "not implemented", 0},
    {"condition_on_previous_text", 0, OPT_BOOL, "use the previous window's text as the next prompt (default: True)", 0},
    {"fp16", 0, OPT_BOOL, "accepted for compatibility; auris computes in fp32", 0},
    {"temperature_increment_on_fallback", 0, OPT_FLOAT, "fallback temperature step (only None/0 is implemented; default None)", 0},
    {"compression_ratio_threshold", 0, OPT_FLOAT, "default 2.4", 0},
    {"logprob_threshold", 0, OPT_FLOAT, "default -1.0", 0},
    {"no_speech_threshold", 0, OPT_FLOAT, "skip a window as silence above this no-speech probability when its avg logprob is below logprob_threshold (default 0.6)", 0},
    {"without_timestamps", 0, OPT_BOOL, "decode text only (default: True; False is not implemented yet)", 0},
    {"word_timestamps", 0, OPT_BOOL, "not implemented", 0},
    {"prepend_punctuations", 0, OPT_STR, "word timestamps (not implemented)", 0},
    {"append_punctuations", 0, OPT_STR, "word timestamps (not implemented)", 0},
    {"highlight_words", 0, OPT_BOOL, "not implemented", 0},
    {"max_line_width", 0, OPT_INT, "not implemented", 0},
    {"max_line_count", 0, OPT_INT, "not implemented", 0},
    {"max_words_per_line", 0, OPT_INT, "not implemented", 0},
    {"clip_timestamps", 0, OPT_STR, "not implemented (only the default 0)", 0},
    {"hallucination_silence_threshold", 0, OPT_FLOAT, "not implemented", 0},
    {"device", 0, OPT_STR, "only cpu", 0},
    {"threads", 0, OPT_INT, "worker threads (default 0: all online CPUs)", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_TOPTS ((int)(sizeof transcribe_opts / sizeof transcribe_opts[0]))

static void print_opts(FILE *f, const struct opt *o, int n)
{
    for (int i = 0; i < n; i++) {
        char left[64];
        if (o[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s", o[i].short_name, o[i].name);
        else
            snprintf(left, sizeof left, "    --%s", o[i].name);
        fprintf(f, "  %-38s %s\n", left, o[i].help);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: auris COMMAND [options]\n\n"
            "Whisper speech recognition.\n\n"
            "commands:\n"
            "  transcribe AUDIO... --model PATH   transcribe audio files ('-' reads stdin)\n"
            "  detect-language AUDIO --model PATH detect the spoken language (first 30 s)\n"
            "  info --model PATH                  print a checkpoint's dimensions\n"
            "  bench --model PATH [--threads N]   time the encoder and the decoder\n"
            "  --version                          print the version\n\n"
            "Run 'auris COMMAND --help' for the options of a command.\n");
}

/* Refuses options this version does not implement when given a non-default value. */
static int check_unimplemented(struct opt *o, int n)
{
    static const char *never[] = {"patience", "length_penalty", "prepend_punctuations",
                                  "append_punctuations", "max_line_width", "max_line_count",
                                  "max_words_per_line", "hallucination_silence_threshold"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        struct opt *x = args_find(o, n, never[i]);
        if (x && x->value) {
            fprintf(stderr, "auris: error: --%s is not implemented yet\n", x->name);
            return -1;
        }
    }
    static const char *bools[] = {"carry_initial_prompt", "word_timestamps", "highlight_words"};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        bool v = false;
        struct opt *x = args_find(o, n, bools[i]);
        if (args_get_bool(x, &v) != 0)
            return -1;
        if (v) {
            fprintf(stderr, "auris: error: --%s True is not implemented yet\n", x->name);
            return -1;
        }
    }
    struct opt *clip = args_find(o, n, "clip_timestamps");
    if (clip->value && strcmp(clip->value, "0") != 0) {
        fprintf(stderr, "auris: error: --clip_timestamps is not implemented yet\n");
        return -1;
    }
    struct opt *dev = args_find(o, n, "device");
    if (dev->value && strcmp(dev->value, "cpu") != 0) {
        fprintf(stderr, "auris: error: --device %s: auris runs on the CPU only\n", dev->value);
        return -1;
    }
    float inc = NAN;
    struct opt *fb = args_find(o, n, "temperature_increment_on_fallback");
    if (args_get_float(fb, &inc) != 0)
        return -1;
    if (!isnan(inc) && inc != 0.0f) {
        fprintf(stderr, "auris: error: --temperature_increment_on_fallback %s: temperature "
                        "fallback is not implemented yet (use None)\n", fb->value);
        return -1;
    }
    return 0;
}

/* Reads the decoding options into params. Returns 0 or -1 (message printed). */
static int read_transcribe_params(struct opt *o, int n, struct auris_transcribe_params *p)
{
    if (check_unimplemented(o, n) != 0)
        return -1;
    struct opt *task = args_find(o, n, "task");
    if (task->value) {
        if (strcmp(task->value, "transcribe") == 0)
            p->task = AURIS_TASK_TRANSCRIBE;
        else if (strcmp(task->value, "translate") == 0)
            p->task = AURIS_TASK_TRANSLATE;
        else {
            fprintf(stderr, "auris: error: argument --task: invalid choice: '%s' (choose from "
                            "'transcribe', 'translate')\n", task->value);
            return -1;
        }
    }
    struct opt *lang = args_find(o, n, "language");
    if (lang->value && strcmp(lang->value, "None") != 0) {
        if (auris_language_index(lang->value) < 0) {
            fprintf(stderr, "auris: error: argument --language: unknown language '%s'\n",
                    lang->value);
            return -1;
        }
        p->language = lang->value;
    }
    int best_of = 5;
    if (args_get_float(args_find(o, n, "temperature"), &p->temperature) ||
        args_get_int(args_find(o, n, "beam_size"), &p->beam_size) ||
        args_get_int(args_find(o, n, "best_of"), &best_of) ||
        args_get_bool(args_find(o, n, "without_timestamps"), &p->without_timestamps) ||
        args_get_bool(args_find(o, n, "condition_on_previous_text"),
                      &p->condition_on_previous_text) ||
        args_get_float(args_find(o, n, "compression_ratio_threshold"),
                       &p->compression_ratio_threshold) ||
        args_get_float(args_find(o, n, "logprob_threshold"), &p->logprob_threshold) ||
        args_get_float(args_find(o, n, "no_speech_threshold"), &p->no_speech_threshold))
        return -1;
    bool fp16 = true;
    if (args_get_bool(args_find(o, n, "fp16"), &fp16))
        return -1;
    if (isnan(p->temperature) || p->temperature != 0.0f) {
        fprintf(stderr, "auris: error: --temperature %s: only 0 (greedy decoding) is "
                        "implemented yet\n", args_find(o, n, "temperature")->value);
        return -1;
    }
    if (p->beam_size != 1) {
        fprintf(stderr, "auris: error: --beam_size %d: beam search is not implemented yet "
                        "(use 1)\n", p->beam_size);
        return -1;
    }
    if (best_of < 1) {
        fprintf(stderr, "auris: error: --best_of must be at least 1\n");
        return -1;
    }
    if (!p->without_timestamps) {
        fprintf(stderr, "auris: error: --without_timestamps False: timestamp decoding is not "
                        "implemented yet\n");
        return -1;
    }
    struct opt *sup = args_find(o, n, "suppress_tokens");
    if (sup->value) {
        /* syntax only here; ids are checked against the model's vocabulary when decoding */
        const char *q = sup->value;
        while (*q) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q || (*end && *end != ',') || v < -1) {
                fprintf(stderr, "auris: error: argument --suppress_tokens: expected "
                                "comma-separated token ids, got '%s'\n", sup->value);
                return -1;
            }
            q = *end ? end + 1 : end;
        }
        p->suppress_tokens = sup->value;
    }
    struct opt *prompt = args_find(o, n, "initial_prompt");
    if (prompt->value)
        p->initial_prompt = prompt->value;
    return 0;
}

/* "[00:00.000 --> 00:11.000]" as the reference's format_timestamp. */
void cli_format_timestamp(double seconds, char *buf, size_t n)
{
    long long ms = llround(seconds * 1000.0);
    if (ms < 0)
        ms = 0;
    long long h = ms / 3600000;
    ms -= h * 3600000;
    long long m = ms / 60000;
    ms -= m * 60000;
    long long s = ms / 1000;
    ms -= s * 1000;
    if (h > 0)
        snprintf(buf, n, "%02lld:%02lld:%02lld.%03lld", h, m, s, ms);
    else
        snprintf(buf, n, "%02lld:%02lld.%03lld", m, s, ms);
}

static bool print_segment(void *user, const struct auris_segment *seg)
{
    (void)user;
    char a[64], b[64];
    cli_format_timestamp(seg->start, a, sizeof a);
    cli_format_timestamp(seg->end, b, sizeof b);
    printf("[%s --> %s] %s\n", a, b, seg->text);
    fflush(stdout);
    return true;
}

/* Output file stem: the input's basename without its extension ("stdin" for "-"). */
static void output_stem(const char *path, char *stem, size_t n)
{
    if (strcmp(path, "-") == 0) {
        snprintf(stem, n, "stdin");
        return;
    }
    char *copy = strdup(path);
    const char *base = copy ? basename(copy) : path;
    snprintf(stem, n, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot && dot != stem)
        *dot = '\0';
    free(copy);
}

int cli_load_model(const char *path, const char *assets, auris_model **model)
{
    struct auris_error err = {0};
    struct auris_model_params mp = auris_model_default_params();
    mp.assets_dir = assets;
    if (auris_model_load(path, &mp, model, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int transcribe_one(auris_session *sess, const char *path,
                          const struct auris_transcribe_params *p, int fmt, const char *out_dir,
                          bool verbose)
{
    struct auris_error err = {0};
    float *pcm = NULL;
    size_t n = 0;
    struct auris_result *r = NULL;
    int rc = -1;
    if (auris_audio_load(path, &pcm, &n, &err) != AURIS_OK)
        goto done;
    if (auris_transcribe_pcm(sess, pcm, n, p, &r, &err) != AURIS_OK)
        goto done;
    if (verbose && !p->language)
        fprintf(stderr, "Detected language: %s\n",
                auris_language_name(auris_language_index(r->language)));
    char stem[1024];
    output_stem(path, stem, sizeof stem);
    if (auris__write_output_file(out_dir, stem, (enum auris__format)fmt, r, &err) != AURIS_OK)
        goto done;
    if (!verbose)
        printf("%s\n", r->text);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "auris: error: %s: %s\n", path, err.message);
    auris_result_free(r);
    auris_free(pcm);
    return rc;
}

static int cmd_transcribe(int argc, char **argv)
{
    const char *inputs[MAX_INPUTS];
    int n_in = 0;
    struct opt *o = transcribe_opts;
    if (args_parse(argc, argv, 2, o, N_TOPTS, inputs, MAX_INPUTS, &n_in) != 0)
        return 2;
    if (args_find(o, N_TOPTS, "help")->value) {
        printf("usage: auris transcribe AUDIO... --model PATH [options]\n\noptions:\n");
        print_opts(stdout, o, N_TOPTS);
        return 0;
    }
    struct auris_transcribe_params p = auris_transcribe_default_params();
    p.on_segment = print_segment;
    bool verbose = true;
    int threads = 0;
    if (read_transcribe_params(o, N_TOPTS, &p) != 0 ||
        args_get_bool(args_find(o, N_TOPTS, "verbose"), &verbose) != 0 ||
        args_get_int(args_find(o, N_TOPTS, "threads"), &threads) != 0)
        return 2;
    if (!verbose)
        p.on_segment = NULL;
    const char *model_path = args_find(o, N_TOPTS, "model")->value;
    if (!model_path) {
        fprintf(stderr, "auris: error: the following arguments are required: --model\n");
        return 2;
    }
    if (n_in == 0) {
        fprintf(stderr, "auris: error: the following arguments are required: audio\n");
        return 2;
    }
    const char *fmt_name = args_find(o, N_TOPTS, "output_format")->value;
    int fmt = auris__format_parse(fmt_name ? fmt_name : "txt");
    if (fmt < 0) {
        fprintf(stderr, "auris: error: argument --output_format: '%s' is not available yet "
                        "(choose from 'txt', 'json')\n", fmt_name);
        return 2;
    }
    const char *out_dir = args_find(o, N_TOPTS, "output_dir")->value;
    if (!out_dir)
        out_dir = ".";
    if (threads < 0) {
        fprintf(stderr, "auris: error: argument --threads: must be >= 0\n");
        return 2;
    }
    struct stat st;
    if (stat(out_dir, &st) != 0 && mkdir(out_dir, 0777) != 0) {
        fprintf(stderr, "auris: error: cannot create output directory '%s'\n", out_dir);
        return 1;
    }

    auris_model *model = NULL;
    if (cli_load_model(model_path, args_find(o, N_TOPTS, "assets")->value, &model) != 0)
        return 1;
    if (p.language && auris_model_n_languages(model) == 0 &&
        auris_language_index(p.language) != 0) {
        fprintf(stderr, "auris: warning: %s is an English-only model but received '%s'; "
                        "using English instead.\n", model_path, p.language);
        p.language = "en";
    }
    struct auris_session_params sp = auris_session_default_params();
    sp.n_threads = threads;
    auris_session *sess = NULL;
    struct auris_error err = {0};
    if (auris_session_create(model, &sp, &sess, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        auris_model_free(model);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < n_in; i++)
        if (transcribe_one(sess, inputs[i], &p, fmt, out_dir, verbose) != 0)
            failed++;
    auris_session_free(sess);
    auris_model_free(model);
    if (failed && n_in > 1)
        fprintf(stderr, "auris: %d of %d inputs failed\n", failed, n_in);
    return failed ? 1 : 0;
}

static struct opt simple_opts[] = {
    {"model", 'm', OPT_STR, "model checkpoint (required)", 0},
    {"assets", 0, OPT_STR, "directory with the .tiktoken vocabularies", 0},
    {"threads", 0, OPT_INT, "worker threads (default: all online CPUs)", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_SOPTS ((int)(sizeof simple_opts / sizeof simple_opts[0]))

static int cmd_info(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    if (args_parse(argc, argv, 2, simple_opts, N_SOPTS, pos, 0, &n_pos) != 0)
        return 2;
    if (simple_opts[3].value) {
        printf("usage: auris info --model PATH\n\noptions:\n");
        print_opts(stdout, simple_opts, N_SOPTS);
        return 0;
    }
    if (!simple_opts[0].value) {
        fprintf(stderr, "auris: error: the following arguments are required: --model\n");
        return 2;
    }
    auris_model *m = NULL;
    if (cli_load_model(simple_opts[0].value, simple_opts[1].value, &m) != 0)
        return 1;
    const struct auris_model_dims *d = auris_model_get_dims(m);
    printf("{\"n_mels\": %d, \"n_audio_ctx\": %d, \"n_audio_state\": %d, \"n_audio_head\": %d, "
           "\"n_audio_layer\": %d, \"n_vocab\": %d, \"n_text_ctx\": %d, \"n_text_state\": %d, "
           "\"n_text_head\": %d, \"n_text_layer\": %d, \"multilingual\": %s, "
           "\"n_languages\": %d}\n",
           d->n_mels, d->n_audio_ctx, d->n_audio_state, d->n_audio_head, d->n_audio_layer,
           d->n_vocab, d->n_text_ctx, d->n_text_state, d->n_text_head, d->n_text_layer,
           auris_model_is_multilingual(m) ? "true" : "false", auris_model_n_languages(m));
    auris_model_free(m);
    return 0;
}

static int cmd_detect(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    if (args_parse(argc, argv, 2, simple_opts, N_SOPTS, pos, 1, &n_pos) != 0)
        return 2;
    if (simple_opts[3].value) {
        printf("usage: auris detect-language AUDIO --model PATH\n\noptions:\n");
        print_opts(stdout, simple_opts, N_SOPTS);
        return 0;
    }
    if (!simple_opts[0].value || n_pos != 1) {
        fprintf(stderr, "auris: error: usage: auris detect-language AUDIO --model PATH\n");
        return 2;
    }
    int threads = 0;
    if (args_get_int(&simple_opts[2], &threads) != 0)
        return 2;
    auris_model *m = NULL;
    if (cli_load_model(simple_opts[0].value, simple_opts[1].value, &m) != 0)
        return 1;
    struct auris_error err = {0};
    struct auris_session_params sp = {.n_threads = threads};
    auris_session *s = NULL;
    float *pcm = NULL, probs[128];
    size_t n = 0;
    int lang = -1, rc = 1;
    if (auris_session_create(m, &sp, &s, &err) == AURIS_OK &&
        auris_audio_load(pos[0], &pcm, &n, &err) == AURIS_OK &&
        auris_detect_language(s, pcm, n, &lang, probs, &err) == AURIS_OK) {
        printf("%s (%s) %.4f\n", auris_language_code(lang), auris_language_name(lang),
               (double)probs[lang]);
        rc = 0;
    } else {
        fprintf(stderr, "auris: error: %s\n", err.message);
    }
    auris_free(pcm);
    auris_session_free(s);
    auris_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    auris_set_log_callback(log_to_stderr, NULL);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("auris %d.%d.%d\n", AURIS_VERSION_MAJOR, AURIS_VERSION_MINOR, AURIS_VERSION_PATCH);
        return 0;
    }
    if (!strcmp(cmd, "transcribe"))
        return cmd_transcribe(argc, argv);
    if (!strcmp(cmd, "detect-language") || !strcmp(cmd, "detect_language"))
        return cmd_detect(argc, argv);
    if (!strcmp(cmd, "info"))
        return cmd_info(argc, argv);
    if (!strcmp(cmd, "bench"))
        return cli_cmd_bench(argc, argv);
    fprintf(stderr, "auris: error: unknown command '%s' (see auris --help)\n", cmd);
    return 2;
}
