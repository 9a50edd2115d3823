/*
 * main.c — the `auris` command: transcribe, detect-language, info, bench, serve (tools/serve).
 *
 * The transcribe options, their defaults and messages follow the reference CLI (openai/whisper
 * transcribe.py cli()): output_format "all", verbose True printing each segment as
 * "[00:00.000 --> 00:07.000] text", beam_size 5, best_of 5, the temperature schedule
 * np.arange(temperature, 1.0 + 1e-6, temperature_increment_on_fallback), every input with its
 * own outputs and a failure on one reported while the others continue. auris extras:
 * --without_timestamps, --seed, --prefix, --assets, '-' for standard input, a progress bar on
 * stderr only when it is a terminal. Options this version does not implement (word timestamps
 * and what depends on them) are refused rather than ignored.
 * Invariants: errors are one line on stderr ("auris: error: ..."); usage errors exit 2, failed
 * inputs exit 1 after every input was tried; output files appear whole or not at all.
 */
#include "cli/args.h"
#include "cli/cli.h"
#include "output/output.h"
#include "transcribe/transcribe.h"

#include "cli/convert.h"
#include "cli/models.h"
#include "serve/serve.h"
#include "cli/vad.h"
#include "kernels/kernels.h"

#include <auris.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_INPUTS 4096
#define MAX_TEMPS 256
#define MAX_CLIPS 4096

static void log_to_stderr(void *user, enum auris_log_level level, const char *msg)
{
    (void)user;
    if (level <= AURIS_LOG_WARN)
        fprintf(stderr, "auris: %s: %s\n", level == AURIS_LOG_ERROR ? "error" : "warning", msg);
}

static struct opt transcribe_opts[] = {
    {"model", 'm', OPT_STR, "official model name (tiny, base.en, large-v3, turbo, ...; downloaded to the cache when missing) or a path: OpenAI .pt, whisper.cpp ggml .bin, auris native file, or a Hugging Face directory (required)", 0},
    {"model_dir", 0, OPT_STR, "where official models are kept (default: $AURIS_CACHE, $XDG_CACHE_HOME/auris or ~/.cache/auris)", 0},
    {"assets", 0, OPT_STR, "directory with gpt2.tiktoken / multilingual.tiktoken (default: $AURIS_ASSETS, the model's directory, the cache)", 0},
    {"device", 0, OPT_STR, "device to use for inference: only cpu", 0},
    {"output_dir", 'o', OPT_STR, "directory to save the outputs (default: .)", 0},
    {"output_format", 'f', OPT_STR, "txt, vtt, srt, tsv, json or all (default: all)", 0},
    {"verbose", 0, OPT_BOOL, "print each segment as it is decoded; False: a progress bar (default: True)", 0},
    {"task", 0, OPT_STR, "transcribe (X->X) or translate (X->English) (default: transcribe)", 0},
    {"language", 0, OPT_STR, "language spoken in the audio, code or name; None: detect (default: None)", 0},
    {"temperature", 0, OPT_FLOAT, "temperature to use for sampling (default: 0)", 0},
    {"best_of", 0, OPT_STR, "number of candidates when sampling with non-zero temperature (default: 5)", 0},
    {"beam_size", 0, OPT_STR, "number of beams in beam search, only applicable when temperature is zero (default: 5)", 0},
    {"sample_len", 0, OPT_STR, "most tokens sampled per 30-second window, 1 .. n_text_ctx/2; None: n_text_ctx/2 = 224 (default: None)", 0},
    {"patience", 0, OPT_FLOAT, "beam search patience; the default (1.0) is conventional beam search (default: None)", 0},
    {"length_penalty", 0, OPT_FLOAT, "token length penalty coefficient (alpha) in [0, 1]; None: simple length normalization (default: None)", 0},
    {"suppress_tokens", 0, OPT_STR, "comma-separated token ids to suppress; -1 = most special characters except common punctuation (default: -1)", 0},
    {"initial_prompt", 0, OPT_STR, "text to provide as a prompt for the first window (default: None)", 0},
    {"carry_initial_prompt", 0, OPT_BOOL, "prepend initial_prompt to every window's prompt (default: False)", 0},
    {"condition_on_previous_text", 0, OPT_BOOL, "provide the previous output as a prompt for the next window (default: True)", 0},
    {"fp16", 0, OPT_BOOL, "accepted for compatibility; auris computes in fp32 on the CPU (default: True)", 0},
    {"temperature_increment_on_fallback", 0, OPT_FLOAT, "temperature to increase when falling back (default: 0.2)", 0},
    {"compression_ratio_threshold", 0, OPT_FLOAT, "treat the decoding as failed above this gzip compression ratio (default: 2.4)", 0},
    {"logprob_threshold", 0, OPT_FLOAT, "treat the decoding as failed below this average log probability (default: -1.0)", 0},
    {"no_speech_threshold", 0, OPT_FLOAT, "consider a window silent above this <|nospeech|> probability when the decoding failed by logprob_threshold (default: 0.6)", 0},
    {"word_timestamps", 0, OPT_BOOL, "(experimental) extract word-level timestamps and refine the results based on them (default: False)", 0},
    {"prepend_punctuations", 0, OPT_STR, "with word_timestamps, merge these punctuation symbols with the next word", 0},
    {"append_punctuations", 0, OPT_STR, "with word_timestamps, merge these punctuation symbols with the previous word", 0},
    {"highlight_words", 0, OPT_BOOL, "(requires --word_timestamps True) underline each word as it is spoken in srt and vtt", 0},
    {"max_line_width", 0, OPT_STR, "(requires --word_timestamps True) the maximum number of characters in a line before breaking the line", 0},
    {"max_line_count", 0, OPT_STR, "(requires --word_timestamps True) the maximum number of lines in a segment", 0},
    {"max_words_per_line", 0, OPT_STR, "(requires --word_timestamps True, no effect with --max_line_width) the maximum number of words in a segment", 0},
    {"threads", 0, OPT_STR, "worker threads (default 0: all online CPUs)", 0},
    {"compute_type", 0, OPT_STR, "auris: weight type, as faster-whisper names it: default (as stored), float32, float16, int8, int8_float32, int8_float16; bfloat16 is refused on CPUs without native bf16 (default: default)", 0},
    {"clip_timestamps", 0, OPT_STR, "comma-separated start,end,start,end,... seconds of clips to process; the last end defaults to the end of the file (default: 0)", 0},
    {"hallucination_silence_threshold", 0, OPT_FLOAT, "(requires --word_timestamps True) skip silent periods longer than this threshold (in seconds) when a possible hallucination is detected", 0},
    {"without_timestamps", 0, OPT_BOOL, "auris: decode text only, one segment per window (default: False)", 0},
    {"seed", 0, OPT_STR, "auris: seed of the random sampler used at temperature > 0 (default: 0)", 0},
    {"prefix", 0, OPT_STR, "auris: text forced at the start of every window's output (default: None)", 0},
    CLI_VAD_TRANSCRIBE_OPTS,
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_TOPTS ((int)(sizeof transcribe_opts / sizeof transcribe_opts[0]))

static struct opt *topt(const char *name)
{
    return args_find(transcribe_opts, N_TOPTS, name);
}

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
            "  transcribe AUDIO... --model MODEL  transcribe audio files ('-' reads stdin)\n"
            "  detect-language AUDIO --model MODEL detect the spoken language (first 30 s)\n"
            "  info --model PATH                  print a checkpoint's dimensions\n"
            "  bench --model PATH [--threads N]   time the encoder and the decoder (--compute_type T)\n"
            "  models [--verify] [--json]         list official models and what is cached\n"
            "  convert IN -o OUT [--type T]       write auris's native format (f32|f16|bf16|q8_0)\n"
            "  serve --model MODEL [--port P]     OpenAI-compatible transcription server\n"
            "  vad AUDIO [--vad_model PATH]       print the speech segments (Silero VAD)\n"
            "  --version                          print the version\n\n"
            "Run 'auris COMMAND --help' for the options of a command.\n");
}

/* optional_int: an integer or "None" (*is_none). Returns 0, or -1 after a message. */
static int get_optional_int(struct opt *o, int *out, bool *is_none)
{
    if (is_none)
        *is_none = false;
    if (!o->value)
        return 0;
    if (strcmp(o->value, "None") == 0) {
        if (!is_none) {
            fprintf(stderr, "auris: error: argument --%s: invalid int value: 'None'\n", o->name);
            return -1;
        }
        *is_none = true;
        return 0;
    }
    struct opt tmp = *o;
    tmp.kind = OPT_INT;
    return args_get_int(&tmp, out);
}

/* A uint64 seed. */
static int get_seed(struct opt *o, uint64_t *out)
{
    if (!o->value)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(o->value, &end, 10);
    if (end == o->value || *end || errno || o->value[0] == '-') {
        fprintf(stderr, "auris: error: argument --seed: invalid int value: '%s'\n", o->value);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* "--option requires --word_timestamps True", the reference's warnings about the line options,
 * and the word-timestamp settings of the transcription. */
static int check_word_options(struct auris__writer_options *w, struct auris_transcribe_params *p)
{
    bool word_ts_value = false, *word_ts = &word_ts_value;
    bool none;
    int width = 0, count = 0, words = 0;
    if (args_get_bool(topt("word_timestamps"), word_ts) ||
        args_get_bool(topt("highlight_words"), &w->highlight_words) ||
        get_optional_int(topt("max_line_width"), &width, &none) ||
        get_optional_int(topt("max_line_count"), &count, &none) ||
        get_optional_int(topt("max_words_per_line"), &words, &none))
        return -1;
    w->max_line_width = width > 0 ? width : 0;
    w->max_line_count = count > 0 ? count : 0;
    w->max_words_per_line = words > 0 ? words : 0;
    if (!*word_ts) {
        const char *names[] = {"highlight_words", "max_line_count", "max_line_width",
                               "max_words_per_line"};
        bool set[] = {w->highlight_words, count != 0, width != 0, words != 0};
        for (int i = 0; i < 4; i++)
            if (set[i]) {
                fprintf(stderr, "auris: error: --%s requires --word_timestamps True\n", names[i]);
                return -1;
            }
    }
    if (w->max_line_count && !w->max_line_width)
        fprintf(stderr, "auris: warning: --max_line_count has no effect without --max_line_width\n");
    if (w->max_words_per_line && w->max_line_width)
        fprintf(stderr, "auris: warning: --max_words_per_line has no effect with --max_line_width\n");
    float hst = NAN;
    if (args_get_float(topt("hallucination_silence_threshold"), &hst))
        return -1;
    p->word_timestamps = *word_ts;
    p->hallucination_silence_threshold = hst; /* used only with word timestamps, as the reference */
    if (topt("prepend_punctuations")->value)
        p->prepend_punctuations = topt("prepend_punctuations")->value;
    if (topt("append_punctuations")->value)
        p->append_punctuations = topt("append_punctuations")->value;
    return 0;
}

/* --clip_timestamps "start,end,...": floats >= 0; "" or "0" is the whole file. */
static int parse_clips(const char *s, double *out, int *n)
{
    *n = 0;
    if (!s || !*s)
        return 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0 || (*end && *end != ',') ||
            *n >= MAX_CLIPS) {
            fprintf(stderr, "auris: error: argument --clip_timestamps: expected comma-separated "
                            "times in seconds >= 0, got '%s'\n", s);
            return -1;
        }
        out[(*n)++] = v;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

static int check_suppress(const char *spec)
{
    /* syntax only here; ids are checked against the model's vocabulary when decoding */
    const char *q = spec;
    while (*q) {
        char *end;
        long v = strtol(q, &end, 10);
        if (end == q || (*end && *end != ',') || v < -1) {
            fprintf(stderr, "auris: error: argument --suppress_tokens: expected comma-separated "
                            "token ids, got '%s'\n", spec);
            return -1;
        }
        q = *end ? end + 1 : end;
    }
    return 0;
}

struct run_config {
    struct auris_transcribe_params p;
    double temps[MAX_TEMPS];
    double clips[MAX_CLIPS];
    struct auris__writer_options wopt;
    int fmt;
    const char *out_dir;
    bool verbose;
    int threads;
    struct cli_vad_config vad;
};

static int read_task_language(struct auris_transcribe_params *p)
{
    struct opt *task = topt("task");
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
    struct opt *lang = topt("language");
    if (lang->value && strcmp(lang->value, "None") != 0) {
        if (auris_language_index(lang->value) < 0) {
            fprintf(stderr, "auris: error: argument --language: unknown language '%s'\n",
                    lang->value);
            return -1;
        }
        p->language = lang->value;
    }
    return 0;
}

/* The decoding options; returns 0 or -1 (message printed). */
static int read_decoding(struct run_config *c)
{
    struct auris_transcribe_params *p = &c->p;
    double temperature = 0, inc = 0.2;
    bool none_beam = false, none_best = false, none_len = false, fp16 = true;
    if (read_task_language(p) ||
        args_get_double(topt("temperature"), &temperature) ||
        args_get_double(topt("temperature_increment_on_fallback"), &inc) ||
        get_optional_int(topt("beam_size"), &p->beam_size, &none_beam) ||
        get_optional_int(topt("best_of"), &p->best_of, &none_best) ||
        get_optional_int(topt("sample_len"), &p->sample_len, &none_len) ||
        args_get_float(topt("patience"), &p->patience) ||
        args_get_float(topt("length_penalty"), &p->length_penalty) ||
        args_get_bool(topt("without_timestamps"), &p->without_timestamps) ||
        args_get_bool(topt("condition_on_previous_text"), &p->condition_on_previous_text) ||
        args_get_bool(topt("carry_initial_prompt"), &p->carry_initial_prompt) ||
        args_get_float(topt("compression_ratio_threshold"), &p->compression_ratio_threshold) ||
        args_get_float(topt("logprob_threshold"), &p->logprob_threshold) ||
        args_get_float(topt("no_speech_threshold"), &p->no_speech_threshold) ||
        args_get_bool(topt("fp16"), &fp16) || get_seed(topt("seed"), &p->seed))
        return -1;
    if (none_beam)
        p->beam_size = 0;
    if (none_best)
        p->best_of = 1;
    if (none_len)
        p->sample_len = 0;
    else if (topt("sample_len") && topt("sample_len")->value && p->sample_len < 1) {
        fprintf(stderr, "auris: error: --sample_len must be >= 1 (or None)\n");
        return -1;
    }
    if (isnan(temperature) || temperature < 0) {
        fprintf(stderr, "auris: error: argument --temperature: expected a number >= 0\n");
        return -1;
    }
    int n = auris__temperature_schedule(temperature, inc, c->temps, MAX_TEMPS);
    if (n < 1) {
        fprintf(stderr, "auris: error: --temperature %g with --temperature_increment_on_fallback "
                        "%g gives no usable temperature schedule\n", temperature, inc);
        return -1;
    }
    p->temperatures = c->temps;
    p->n_temperatures = n;
    if (p->beam_size < 0 || p->best_of < 0) {
        fprintf(stderr, "auris: error: --beam_size and --best_of must be >= 0\n");
        return -1;
    }
    if (!isnan(p->length_penalty) && !(p->length_penalty >= 0 && p->length_penalty <= 1)) {
        fprintf(stderr, "auris: error: --length_penalty (alpha) should be a value between 0 "
                        "and 1\n");
        return -1;
    }
    if (!isnan(p->patience) && (none_beam || !(p->patience > 0))) {
        fprintf(stderr, "auris: error: --patience must be > 0 and requires --beam_size\n");
        return -1;
    }
    struct opt *sup = topt("suppress_tokens");
    if (sup->value) {
        if (check_suppress(sup->value))
            return -1;
        p->suppress_tokens = sup->value;
    }
    p->initial_prompt = topt("initial_prompt")->value;
    p->prefix = topt("prefix")->value;
    int n_clips = 0;
    if (parse_clips(topt("clip_timestamps")->value, c->clips, &n_clips))
        return -1;
    p->clip_timestamps = c->clips;
    p->n_clip_timestamps = n_clips;
    return 0;
}

/* Reads every transcribe option into `c`. Returns 0 or -1 (message printed). */
static int read_config(struct run_config *c)
{
    memset(c, 0, sizeof *c);
    c->p = auris_transcribe_default_params();
    c->verbose = true;
    if (read_decoding(c) || check_word_options(&c->wopt, &c->p) ||
        args_get_bool(topt("verbose"), &c->verbose))
        return -1;
    bool none = false;
    if (get_optional_int(topt("threads"), &c->threads, &none))
        return -1;
    if (c->threads < 0) {
        fprintf(stderr, "auris: error: argument --threads: must be >= 0\n");
        return -1;
    }
    struct opt *dev = topt("device");
    if (dev->value && strcmp(dev->value, "cpu") != 0) {
        fprintf(stderr, "auris: error: --device %s: auris runs on the CPU only\n", dev->value);
        return -1;
    }
    const char *fmt_name = topt("output_format")->value;
    c->fmt = auris__format_parse(fmt_name ? fmt_name : "all");
    if (c->fmt < 0) {
        fprintf(stderr, "auris: error: argument --output_format/-f: invalid choice: '%s' "
                        "(choose from 'txt', 'vtt', 'srt', 'tsv', 'json', 'all')\n", fmt_name);
        return -1;
    }
    c->out_dir = topt("output_dir")->value ? topt("output_dir")->value : ".";
    return cli_vad_transcribe_config(transcribe_opts, N_TOPTS, &c->p, &c->vad);
}

/* "[00:00.000 --> 00:11.000]" as the reference's format_timestamp. */
void cli_format_timestamp(double seconds, char *buf, size_t n)
{
    auris__format_timestamp(seconds, false, '.', buf, n);
}

static bool print_segment(void *user, const struct auris_segment *seg)
{
    (void)user;
    char a[32], b[32];
    cli_format_timestamp(seg->start, a, sizeof a);
    cli_format_timestamp(seg->end, b, sizeof b);
    printf("[%s --> %s] %s\n", a, b, seg->text);
    fflush(stdout);
    return true;
}

/* LANGUAGES[code].title() */
static void print_detected(const char *code)
{
    const char *name = auris_language_name(auris_language_index(code));
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name ? name : code);
    bool start = true;
    for (char *c = buf; *c; c++) {
        bool alpha = isalpha((unsigned char)*c);
        *c = (char)(alpha && start ? toupper((unsigned char)*c) : tolower((unsigned char)*c));
        start = !alpha;
    }
    printf("Detected language: %s\n", buf);
    fflush(stdout);
}

static bool on_language(void *user, const char *code, const float *probs, int n)
{
    (void)user, (void)probs, (void)n;
    print_detected(code);
    return true;
}

/* A tqdm-like bar on stderr: " 45%|####      | 1350/3000 [00:05<00:06, 270.00frames/s]". */
struct progress {
    struct timespec t0;
    int last_pct;
};

static bool on_progress(void *user, int64_t done, int64_t total)
{
    struct progress *pr = user;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = (double)(now.tv_sec - pr->t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - pr->t0.tv_nsec);
    int pct = total > 0 ? (int)(100 * done / total) : 100;
    char bar[11];
    for (int i = 0; i < 10; i++)
        bar[i] = i < pct / 10 ? '#' : ' ';
    bar[10] = '\0';
    double rate = el > 0 ? (double)done / el : 0;
    double left = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r%3d%%|%s| %lld/%lld [%02d:%02d<%02d:%02d, %.2fframes/s]", pct, bar,
            (long long)done, (long long)total, (int)el / 60, (int)el % 60, (int)left / 60,
            (int)left % 60, rate);
    if (done >= total)
        fputc('\n', stderr);
    fflush(stderr);
    pr->last_pct = pct;
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
    char *first = stem;
    while (*first == '.')
        first++;
    if (dot && dot > first) /* os.path.splitext ignores leading dots */
        *dot = '\0';
    free(copy);
}

/* --model_dir of the current command, for resolving official names */
static const char *g_model_dir;
/* --compute_type of the current command */
static enum auris_compute_type g_compute_type = AURIS_COMPUTE_DEFAULT;

int cli_set_compute_type(const char *name)
{
    if (!name)
        return 0;
    if (auris_compute_type_from_name(name, &g_compute_type) != 0) {
        fprintf(stderr, "auris: error: argument --compute_type: invalid choice: '%s' (choose from "
                "'default', 'float32', 'float16', 'bfloat16', 'int8', 'int8_float32', "
                "'int8_float16')\n", name);
        return -1;
    }
    return 0;
}

int cli_load_model(const char *name_or_path, const char *assets, auris_model **model)
{
    struct auris_error err = {0};
    struct auris_model_params mp = auris_model_default_params();
    char *path = NULL;
    const char *official = NULL;
    if (cli_resolve_model(name_or_path, g_model_dir, true, &path, &official) != 0)
        return -1; /* the resolver printed why */
    mp.assets_dir = assets;
    mp.official_name = official;
    mp.compute_type = g_compute_type;
    int rc = 0;
    if (cli_vad_file_kind(path)) {
        fprintf(stderr, "auris: error: %s is a Silero VAD model, not a Whisper model (give it "
                        "to --vad_model)\n", path);
        rc = -1;
    } else if (auris_model_load(path, &mp, model, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        rc = -1;
    }
    free(path);
    return rc;
}

static int transcribe_one(auris_session *sess, const auris_model *model, const char *path,
                          const struct run_config *c)
{
    struct auris_error err = {0};
    float *pcm = NULL;
    size_t n = 0;
    struct auris_result *r = NULL;
    struct auris_transcribe_params p = c->p;
    struct progress pr = {{0, 0}, -1};
    int rc = -1;
    if (auris_audio_load(path, &pcm, &n, &err) != AURIS_OK)
        goto done;
    if (!p.language && auris_model_n_languages(model) > 0) {
        if (c->verbose)
            printf("Detecting language using up to the first 30 seconds. Use `--language` to "
                   "specify the language\n");
        p.on_language = on_language;
    }
    if (c->verbose) {
        p.on_segment = print_segment;
    } else if (isatty(STDERR_FILENO)) {
        clock_gettime(CLOCK_MONOTONIC, &pr.t0);
        p.on_progress = on_progress;
        p.user = &pr;
    }
    if (c->vad.vad ? auris_transcribe_vad(sess, c->vad.model, &c->vad.params, c->vad.batch_size,
                                          pcm, n, &p, &r, &err) != AURIS_OK
                   : auris_transcribe_pcm(sess, pcm, n, &p, &r, &err) != AURIS_OK)
        goto done;
    char stem[1024];
    output_stem(path, stem, sizeof stem);
    if (auris__write_output_file(c->out_dir, stem, (enum auris__format)c->fmt, r, &c->wopt,
                                 &err) != AURIS_OK)
        goto done;
    rc = 0;
done:
    if (rc != 0) {
        if (pr.last_pct >= 0 && pr.last_pct < 100)
            fputc('\n', stderr);
        /* the library's message usually names the file already */
        size_t pl = strlen(path);
        if (strncmp(err.message, path, pl) == 0 && err.message[pl] == ':')
            fprintf(stderr, "auris: error: %s\n", err.message);
        else
            fprintf(stderr, "auris: error: %s: %s\n", path, err.message);
    }
    auris_result_free(r);
    auris_free(pcm);
    return rc;
}

/* os.makedirs(dir, exist_ok=True) */
static int make_dirs(const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return -1;
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(d, 0777) != 0 && errno != EEXIST) {
            free(d);
            return -1;
        }
        *p = '/';
    }
    int rc = mkdir(d, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(d);
    struct stat st;
    return rc == 0 && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

static int cmd_transcribe(int argc, char **argv)
{
    static const char *inputs[MAX_INPUTS];
    static struct run_config c;
    int n_in = 0;
    if (args_parse(argc, argv, 2, transcribe_opts, N_TOPTS, inputs, MAX_INPUTS, &n_in) != 0)
        return 2;
    if (topt("help")->value) {
        printf("usage: auris transcribe AUDIO... --model MODEL [options]\n\noptions:\n");
        print_opts(stdout, transcribe_opts, N_TOPTS);
        return 0;
    }
    if (read_config(&c) != 0)
        return 2;
    const char *model_path = topt("model")->value;
    if (!model_path) {
        fprintf(stderr, "auris: error: the following arguments are required: --model\n");
        return 2;
    }
    if (n_in == 0) {
        fprintf(stderr, "auris: error: the following arguments are required: audio\n");
        return 2;
    }
    if (make_dirs(c.out_dir) != 0) {
        fprintf(stderr, "auris: error: cannot create output directory '%s'\n", c.out_dir);
        return 1;
    }
    if (cli_set_compute_type(topt("compute_type")->value) != 0)
        return 2;
    if (cli_vad_load(&c.vad, topt("assets")->value) != 0)
        return 1;
    auris_model *model = NULL;
    g_model_dir = topt("model_dir")->value;
    if (cli_load_model(model_path, topt("assets")->value, &model) != 0) {
        auris_vad_free(c.vad.model);
        return 1;
    }
    if (c.p.language && auris_model_n_languages(model) == 0 &&
        auris_language_index(c.p.language) != 0) {
        fprintf(stderr, "auris: warning: %s is an English-only model but received '%s'; "
                        "using English instead.\n", model_path, c.p.language);
        c.p.language = "en";
    }
    struct auris_session_params sp = auris_session_default_params();
    sp.n_threads = c.threads;
    auris_session *sess = NULL;
    struct auris_error err = {0};
    if (auris_session_create(model, &sp, &sess, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        auris_model_free(model);
        auris_vad_free(c.vad.model);
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < n_in; i++)
        if (transcribe_one(sess, model, inputs[i], &c) != 0)
            failed++;
    auris_session_free(sess);
    auris_model_free(model);
    auris_vad_free(c.vad.model);
    if (failed && n_in > 1)
        fprintf(stderr, "auris: %d of %d inputs failed\n", failed, n_in);
    return failed ? 1 : 0;
}

static struct opt simple_opts[] = {
    {"model", 'm', OPT_STR, "model checkpoint (required)", 0},
    {"assets", 0, OPT_STR, "directory with the .tiktoken vocabularies", 0},
    {"threads", 0, OPT_INT, "worker threads (default: all online CPUs)", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
    {"json", 0, OPT_FLAG, "detect-language: print the full probability table as JSON", 0},
};
#define N_SOPTS ((int)(sizeof simple_opts / sizeof simple_opts[0]))

static int cmd_info(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    if (args_parse(argc, argv, 2, simple_opts, N_SOPTS - 1, pos, 0, &n_pos) != 0)
        return 2;
    if (simple_opts[3].value) {
        printf("usage: auris info --model PATH\n\noptions:\n");
        print_opts(stdout, simple_opts, N_SOPTS - 1);
        return 0;
    }
    if (!simple_opts[0].value) {
        fprintf(stderr, "auris: error: the following arguments are required: --model\n");
        return 2;
    }
    if (cli_vad_file_kind(simple_opts[0].value)) /* a Silero VAD model, not a Whisper one */
        return cli_vad_info(simple_opts[0].value);
    auris_model *m = NULL;
    if (cli_load_model(simple_opts[0].value, simple_opts[1].value, &m) != 0)
        return 1;
    const struct auris_model_dims *d = auris_model_get_dims(m);
    printf("{\"n_mels\": %d, \"n_audio_ctx\": %d, \"n_audio_state\": %d, \"n_audio_head\": %d, "
           "\"n_audio_layer\": %d, \"n_vocab\": %d, \"n_text_ctx\": %d, \"n_text_state\": %d, "
           "\"n_text_head\": %d, \"n_text_layer\": %d, \"multilingual\": %s, "
           "\"n_languages\": %d, \"isa\": \"%s\", \"int8_kernel\": \"%s\"}\n",
           d->n_mels, d->n_audio_ctx, d->n_audio_state, d->n_audio_head, d->n_audio_layer,
           d->n_vocab, d->n_text_ctx, d->n_text_state, d->n_text_head, d->n_text_layer,
           auris_model_is_multilingual(m) ? "true" : "false", auris_model_n_languages(m),
           auris_kernels_isa(), auris__i8_kernel());
    auris_model_free(m);
    return 0;
}

static void print_language_json(int lang, const float *probs, int n)
{
    printf("{\"language\": \"%s\", \"language_probs\": {", auris_language_code(lang));
    for (int i = 0; i < n; i++)
        printf("%s\"%s\": %.9g", i ? ", " : "", auris_language_code(i), (double)probs[i]);
    printf("}}\n");
}

static int cmd_detect(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    if (args_parse(argc, argv, 2, simple_opts, N_SOPTS, pos, 1, &n_pos) != 0)
        return 2;
    if (simple_opts[3].value) {
        printf("usage: auris detect-language AUDIO --model PATH [--json]\n\noptions:\n");
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
        if (simple_opts[4].value)
            print_language_json(lang, probs, auris_model_n_languages(m));
        else
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
    if (!strcmp(cmd, "models"))
        return cli_cmd_models(argc, argv);
    if (!strcmp(cmd, "convert"))
        return cli_cmd_convert(argc, argv);
    if (!strcmp(cmd, "serve"))
        return cli_cmd_serve(argc, argv);
    if (!strcmp(cmd, "vad"))
        return cli_cmd_vad(argc, argv);
    fprintf(stderr, "auris: error: unknown command '%s' (see auris --help)\n", cmd);
    return 2;
}
