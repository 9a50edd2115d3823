/*
 * format.c — response bodies of `auris serve`: json, text, srt, vtt, verbose_json, the error
 * object, server-sent events and the model list.
 *
 * Reference: OpenAI's audio API responses (Transcription {text}; TranscriptionVerbose {task,
 * language (full lower-case name), duration, text, segments[id, seek, start, end, text, tokens,
 * temperature, avg_logprob, compression_ratio, no_speech_prob], words[word, start, end]};
 * transcript.text.delta / transcript.text.done events; {"error": {...}}); srt and vtt come from
 * src/output's writers (the reference's WriteSRT / WriteVTT). Texts are the reference's as
 * `auris transcribe` writes them (segment texts unstripped), so results equal the CLI's JSON.
 * Invariants: cJSON builds every JSON body (escaping, round-trip floats); failures return NULL.
 */
#include "output/output.h"
#include "serve/serve.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *format_error(const char *message, const char *type, const char *param, const char *code)
{
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    if (!e) {
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddStringToObject(e, "message", message ? message : "");
    cJSON_AddStringToObject(e, "type", type ? type : "invalid_request_error");
    if (param)
        cJSON_AddStringToObject(e, "param", param);
    else
        cJSON_AddNullToObject(e, "param");
    if (code)
        cJSON_AddStringToObject(e, "code", code);
    else
        cJSON_AddNullToObject(e, "code");
    return print_free(root);
}

/* A number as the shortest of %.15g/%.16g/%.17g that reads back as exactly `v` (cJSON's own
 * printing accepts a 15-digit form within an epsilon, which would change segment times). */
static cJSON *add_num(cJSON *o, const char *name, double v)
{
    char buf[40];
    if (!isfinite(v))
        return cJSON_AddNullToObject(o, name);
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_AddRawToObject(o, name, buf);
}

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

static cJSON *segment_json(const struct auris_segment *s)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "id", s->id);
    add_num(o, "seek", s->seek);
    add_num(o, "start", s->start);
    add_num(o, "end", s->end);
    cJSON_AddStringToObject(o, "text", s->text ? s->text : "");
    cJSON *t = cJSON_AddArrayToObject(o, "tokens");
    for (int i = 0; t && i < s->n_tokens; i++)
        cJSON_AddItemToArray(t, cJSON_CreateNumber(s->tokens[i]));
    add_num(o, "temperature", s->temperature);
    add_num(o, "avg_logprob", s->avg_logprob);
    add_num(o, "compression_ratio", s->compression_ratio);
    add_num(o, "no_speech_prob", s->no_speech_prob);
    return o;
}

static char *verbose_json(const struct job *j)
{
    const struct auris_result *r = j->result;
    const char *name = auris_language_name(auris_language_index(r->language));
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "task",
                            j->form.p.task == AURIS_TASK_TRANSLATE ? "translate" : "transcribe");
    cJSON_AddStringToObject(root, "language", name ? name : r->language);
    add_num(root, "duration", (double)j->n_samples / AURIS_SAMPLE_RATE);
    cJSON_AddStringToObject(root, "text", r->text ? r->text : "");
    if (j->form.want_segments) {
        cJSON *segs = cJSON_AddArrayToObject(root, "segments");
        for (int i = 0; segs && i < r->n_segments; i++)
            cJSON_AddItemToArray(segs, segment_json(&r->segments[i]));
    }
    if (j->form.want_words) {
        cJSON *words = cJSON_AddArrayToObject(root, "words");
        for (int i = 0; words && i < r->n_segments; i++)
            for (int k = 0; k < r->segments[i].n_words; k++) {
                const struct auris_word *w = &r->segments[i].words[k];
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "word", skip_space(w->word ? w->word : ""));
                add_num(o, "start", w->start);
                add_num(o, "end", w->end);
                cJSON_AddItemToArray(words, o);
            }
    }
    return print_free(root);
}

/* Runs one of src/output's writers into memory. */
static char *write_mem(enum auris__format fmt, const struct auris_result *r, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    int rc = auris__write_format(f, fmt, r, NULL);
    if (fclose(f) != 0 || rc != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

char *format_result(const struct job *j, const auris_model *model, size_t *len,
                    const char **content_type)
{
    (void)model;
    const struct auris_result *r = j->result;
    char *s = NULL;
    *content_type = "application/json";
    switch (j->form.format) {
    case FMT_JSON: {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "text", r->text ? r->text : "");
        s = print_free(root);
        break;
    }
    case FMT_VERBOSE_JSON:
        s = verbose_json(j);
        break;
    case FMT_TEXT: {
        const char *t = r->text ? r->text : "";
        size_t n = strlen(t);
        s = malloc(n + 2);
        if (s) {
            memcpy(s, t, n);
            s[n] = '\n';
            s[n + 1] = '\0';
            *len = n + 1;
        }
        *content_type = "text/plain; charset=utf-8";
        return s;
    }
    case FMT_SRT:
        *content_type = "application/x-subrip; charset=utf-8";
        return write_mem(AURIS_FMT_SRT, r, len);
    case FMT_VTT:
        *content_type = "text/vtt; charset=utf-8";
        return write_mem(AURIS_FMT_VTT, r, len);
    }
    if (s)
        *len = strlen(s);
    return s;
}

int format_event(struct job *j, const char *type, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    const char *key = !strcmp(type, "transcript.text.done") ? "text"
                      : !strcmp(type, "error")                ? "message"
                                                              : "delta";
    cJSON_AddStringToObject(o, key, text ? text : "");
    char *s = print_free(o);
    if (!s)
        return -1;
    size_t n = strlen(s) + 8; /* "data: " + "\n\n" */
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    if (j->n_events + n + 1 > j->cap_events) {
        size_t cap = (j->cap_events ? j->cap_events * 2 : 1024) + n;
        char *grown = realloc(j->events, cap);
        if (!grown)
            rc = -1;
        else {
            j->events = grown;
            j->cap_events = cap;
        }
    }
    if (rc == 0)
        j->n_events += (size_t)snprintf(j->events + j->n_events, j->cap_events - j->n_events,
                                        "data: %s\n\n", s);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    free(s);
    return rc;
}

char *format_models(const char *served_model_name)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", served_model_name);
    cJSON_AddStringToObject(m, "object", "model");
    add_num(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "auris");
    cJSON_AddItemToArray(data, m);
    return print_free(root);
}
