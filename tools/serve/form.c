/*
 * form.c — the multipart form fields of a transcription request as auris_transcribe_params.
 *
 * Reference: OpenAI's createTranscription / createTranslation request bodies (model, language,
 * prompt, response_format, temperature, timestamp_granularities[], stream) and, as extra fields,
 * the options of `auris transcribe` with the same names and meanings (beam_size, best_of,
 * word_timestamps, condition_on_previous_text, ...). temperature T gives the CLI's schedule
 * np.arange(T, 1.0 + 1e-6, temperature_increment_on_fallback), so 0 is the reference's fallback
 * schedule and a request equals `auris transcribe --temperature T` with the same options.
 * Invariants: every value is checked here; a bad one is a 400 naming the field, never a crash.
 */
#include "serve/serve.h"
#include "transcribe/transcribe.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void serve_form_init(struct serve_form *f, enum auris_task task)
{
    memset(f, 0, sizeof *f);
    f->p = auris_transcribe_default_params();
    f->p.task = task;
    f->temperature = 0;
    f->temperature_inc = 0.2;
    f->format = FMT_JSON;
}

void serve_form_clear(struct serve_form *f)
{
    if (!f)
        return;
    free(f->language);
    free(f->prompt);
    free(f->prefix);
    free(f->suppress_tokens);
    free(f->model);
    memset(f, 0, sizeof *f);
}

static int bad_value(struct serve_bad *bad, const char *key, const char *value, const char *why)
{
    bad->status = 400;
    bad->param = NULL; /* set by the caller from the static table */
    bad->code = "invalid_value";
    snprintf(bad->message, sizeof bad->message, "Invalid value for '%s': '%.80s' (%s)", key, value,
             why);
    return -1;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"true", "1", "yes", "on"}, *no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return -1;
    *out = (int)x;
    return 0;
}

/* A finite number, or "None"/"null" as NaN when none_ok. */
static int parse_double(const char *v, bool none_ok, double *out)
{
    if (none_ok && (strcmp(v, "None") == 0 || strcmp(v, "null") == 0))
        return *out = NAN, 0;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

static int dup_to(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : -1;
}

enum kind { K_BOOL, K_INT, K_FLOAT, K_SPECIAL };

/* The fields as a table: name, kind, where the value goes. */
struct field {
    const char *name;
    enum kind kind;
    size_t offset;       /* into struct auris_transcribe_params for K_BOOL/K_INT/K_FLOAT */
    double lo, hi;       /* accepted range (numbers) */
    bool none_ok;        /* "None" accepted (NaN) */
};

#define P(m) offsetof(struct auris_transcribe_params, m)
static const struct field fields[] = {
    {"model", K_SPECIAL, 0, 0, 0, false},
    {"language", K_SPECIAL, 0, 0, 0, false},
    {"prompt", K_SPECIAL, 0, 0, 0, false},
    {"initial_prompt", K_SPECIAL, 0, 0, 0, false},
    {"response_format", K_SPECIAL, 0, 0, 0, false},
    {"temperature", K_SPECIAL, 0, 0, 0, false},
    {"temperature_increment_on_fallback", K_SPECIAL, 0, 0, 0, false},
    {"timestamp_granularities[]", K_SPECIAL, 0, 0, 0, false},
    {"timestamp_granularities", K_SPECIAL, 0, 0, 0, false},
    {"stream", K_SPECIAL, 0, 0, 0, false},
    {"prefix", K_SPECIAL, 0, 0, 0, false},
    {"suppress_tokens", K_SPECIAL, 0, 0, 0, false},
    {"seed", K_SPECIAL, 0, 0, 0, false},
    {"beam_size", K_INT, P(beam_size), 0, 16, false},
    {"best_of", K_INT, P(best_of), 0, 16, false},
    {"patience", K_FLOAT, P(patience), 1e-6, 1e6, true},
    {"length_penalty", K_FLOAT, P(length_penalty), 0, 1, true},
    {"word_timestamps", K_BOOL, P(word_timestamps), 0, 0, false},
    {"condition_on_previous_text", K_BOOL, P(condition_on_previous_text), 0, 0, false},
    {"carry_initial_prompt", K_BOOL, P(carry_initial_prompt), 0, 0, false},
    {"without_timestamps", K_BOOL, P(without_timestamps), 0, 0, false},
    {"suppress_blank", K_BOOL, P(suppress_blank), 0, 0, false},
    {"compression_ratio_threshold", K_FLOAT, P(compression_ratio_threshold), -1e6, 1e6, true},
    {"logprob_threshold", K_FLOAT, P(logprob_threshold), -1e6, 1e6, true},
    {"no_speech_threshold", K_FLOAT, P(no_speech_threshold), 0, 1, true},
    {"max_initial_timestamp", K_FLOAT, P(max_initial_timestamp), 0, 30, false},
    {"hallucination_silence_threshold", K_FLOAT, P(hallucination_silence_threshold), 0, 1e6, true},
};
#undef P

static int set_special(struct serve_form *f, const char *key, const char *v, struct serve_bad *b)
{
    if (!strcmp(key, "model"))
        return dup_to(&f->model, v);
    if (!strcmp(key, "language")) {
        if (!*v)
            return 0; /* empty: detect */
        if (auris_language_index(v) < 0)
            return bad_value(b, key, v, "unknown language");
        return dup_to(&f->language, v);
    }
    if (!strcmp(key, "prompt") || !strcmp(key, "initial_prompt"))
        return dup_to(&f->prompt, v);
    if (!strcmp(key, "prefix"))
        return dup_to(&f->prefix, v);
    if (!strcmp(key, "response_format")) {
        static const char *names[] = {"json", "text", "srt", "vtt", "verbose_json"};
        for (int i = 0; i < 5; i++)
            if (!strcmp(v, names[i]))
                return f->format = (enum serve_format)i, 0;
        return bad_value(b, key, v, "expected json, text, srt, vtt or verbose_json");
    }
    if (!strcmp(key, "temperature")) {
        if (parse_double(v, false, &f->temperature) || f->temperature < 0 || f->temperature > 1)
            return bad_value(b, key, v, "expected a number between 0 and 1");
        return 0;
    }
    if (!strcmp(key, "temperature_increment_on_fallback")) {
        if (parse_double(v, true, &f->temperature_inc) ||
            (!isnan(f->temperature_inc) && !(f->temperature_inc > 0 && f->temperature_inc <= 1)))
            return bad_value(b, key, v, "expected a number in (0, 1] or None");
        return 0;
    }
    if (!strncmp(key, "timestamp_granularities", 23)) {
        f->has_granularities = true;
        if (!strcmp(v, "word"))
            f->want_words = f->p.word_timestamps = true;
        else if (!strcmp(v, "segment"))
            f->want_segments = true;
        else
            return bad_value(b, key, v, "expected segment or word");
        return 0;
    }
    if (!strcmp(key, "stream")) {
        if (parse_bool(v, &f->stream))
            return bad_value(b, key, v, "expected true or false");
        return 0;
    }
    if (!strcmp(key, "suppress_tokens")) {
        for (const char *q = v; *q;) {
            char *end;
            long t = strtol(q, &end, 10);
            if (end == q || (*end && *end != ',') || t < -1)
                return bad_value(b, key, v, "expected comma-separated token ids");
            q = *end ? end + 1 : end;
        }
        return dup_to(&f->suppress_tokens, v);
    }
    if (!strcmp(key, "seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-')
            return bad_value(b, key, v, "expected an integer >= 0");
        f->p.seed = (uint64_t)s;
        return 0;
    }
    return -1;
}

int serve_form_field(struct serve_form *f, const char *key, const char *value,
                     struct serve_bad *bad)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field *d = &fields[i];
        if (strcmp(key, d->name) != 0)
            continue;
        int rc = 0;
        char *base = (char *)&f->p;
        if (d->kind == K_SPECIAL) {
            rc = set_special(f, key, value, bad);
            if (rc && !bad->status) { /* allocation failure */
                bad->status = 500;
                snprintf(bad->message, sizeof bad->message, "out of memory");
            }
        } else if (d->kind == K_BOOL) {
            if (parse_bool(value, (bool *)(base + d->offset)))
                rc = bad_value(bad, key, value, "expected true or false");
        } else if (d->kind == K_INT) {
            if (parse_int(value, (long)d->lo, (long)d->hi, (int *)(base + d->offset)))
                rc = bad_value(bad, key, value, "integer out of range");
        } else {
            double x;
            if (parse_double(value, d->none_ok, &x) || (!isnan(x) && (x < d->lo || x > d->hi)))
                rc = bad_value(bad, key, value, "number out of range");
            else
                *(float *)(base + d->offset) = (float)x;
        }
        if (rc && bad->status == 400)
            bad->param = d->name;
        return rc;
    }
    bad->status = 400;
    bad->param = NULL;
    bad->code = "unknown_parameter";
    snprintf(bad->message, sizeof bad->message, "Unrecognized request argument supplied: %.120s",
             key);
    return -1;
}

int serve_form_finish(struct serve_form *f, const struct serve_config *c,
                      const auris_model *model, struct serve_bad *bad)
{
    if (f->model && *f->model && strcmp(f->model, c->served_model_name) != 0) {
        bad->status = 404;
        bad->param = "model";
        bad->code = "model_not_found";
        snprintf(bad->message, sizeof bad->message,
                 "The model '%.100s' does not exist; this server serves '%.60s'", f->model,
                 c->served_model_name);
        return -1;
    }
    int n = auris__temperature_schedule(f->temperature, f->temperature_inc, f->temps,
                                        SERVE_MAX_TEMPS);
    if (n < 1) {
        bad->status = 400;
        bad->param = "temperature";
        bad->code = "invalid_value";
        snprintf(bad->message, sizeof bad->message, "temperature %g with increment %g gives no "
                 "usable temperature schedule", f->temperature, f->temperature_inc);
        return -1;
    }
    f->p.temperatures = f->temps;
    f->p.n_temperatures = n;
    if (!isnan(f->p.patience) && f->p.beam_size < 1) {
        bad->status = 400;
        bad->param = "patience";
        bad->code = "invalid_value";
        snprintf(bad->message, sizeof bad->message, "patience requires beam_size >= 1");
        return -1;
    }
    f->p.language = f->language;
    if (f->language && auris_model_n_languages(model) == 0 &&
        auris_language_index(f->language) != 0)
        f->p.language = "en"; /* English-only model: as the CLI, English instead */
    f->p.initial_prompt = f->prompt;
    f->p.prefix = f->prefix;
    if (f->suppress_tokens)
        f->p.suppress_tokens = f->suppress_tokens;
    if (!f->has_granularities)
        f->want_segments = true;
    return 0;
}
