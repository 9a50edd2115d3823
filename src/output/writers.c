/*
 * writers.c — txt and json result writers and the all-or-nothing file writer.
 *
 * Reference: openai/whisper utils.py WriteTXT (each segment's stripped text on its own line) and
 * WriteJSON (the result dict). JSON is produced with cJSON; text stays UTF-8.
 * Invariants: a file appears under its final name only after it was completely written and
 * flushed; temporary files are removed on every failure path.
 */
#include "output/output.h"
#include "decode/decode.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int auris__format_parse(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "txt") == 0)
        return AURIS_FMT_TXT;
    if (strcmp(name, "json") == 0)
        return AURIS_FMT_JSON;
    return -1;
}

const char *auris__format_ext(enum auris__format f)
{
    return f == AURIS_FMT_JSON ? "json" : "txt";
}

int auris__write_txt(FILE *f, const struct auris_result *r)
{
    for (int i = 0; i < r->n_segments; i++) {
        char *t = auris__strdup(r->segments[i].text ? r->segments[i].text : "");
        if (!t)
            return -1;
        auris__strip_inplace(t);
        int bad = fprintf(f, "%s\n", t) < 0;
        free(t);
        if (bad)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

static cJSON *segment_json(const struct auris_segment *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *toks = cJSON_CreateArray();
    if (!o || !toks)
        goto fail;
    for (int i = 0; i < s->n_tokens; i++) {
        cJSON *n = cJSON_CreateNumber(s->tokens[i]);
        if (!n || !cJSON_AddItemToArray(toks, n)) {
            cJSON_Delete(n);
            goto fail;
        }
    }
    if (!cJSON_AddNumberToObject(o, "id", s->id) || !cJSON_AddNumberToObject(o, "seek", s->seek) ||
        !cJSON_AddNumberToObject(o, "start", s->start) ||
        !cJSON_AddNumberToObject(o, "end", s->end) ||
        !cJSON_AddStringToObject(o, "text", s->text ? s->text : ""))
        goto fail;
    if (!cJSON_AddItemToObject(o, "tokens", toks))
        goto fail;
    toks = NULL;
    if (!cJSON_AddNumberToObject(o, "temperature", s->temperature) ||
        !cJSON_AddNumberToObject(o, "avg_logprob", s->avg_logprob) ||
        !cJSON_AddNumberToObject(o, "compression_ratio", s->compression_ratio) ||
        !cJSON_AddNumberToObject(o, "no_speech_prob", s->no_speech_prob))
        goto fail;
    return o;
fail:
    cJSON_Delete(toks);
    cJSON_Delete(o);
    return NULL;
}

int auris__write_json(FILE *f, const struct auris_result *r)
{
    int rc = -1;
    char *s = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *segs = cJSON_CreateArray();
    if (!root || !segs)
        goto done;
    if (!cJSON_AddStringToObject(root, "text", r->text ? r->text : ""))
        goto done;
    for (int i = 0; i < r->n_segments; i++) {
        cJSON *o = segment_json(&r->segments[i]);
        if (!o || !cJSON_AddItemToArray(segs, o)) {
            cJSON_Delete(o);
            goto done;
        }
    }
    if (!cJSON_AddItemToObject(root, "segments", segs))
        goto done;
    segs = NULL;
    if (!cJSON_AddStringToObject(root, "language", r->language))
        goto done;
    s = cJSON_PrintUnformatted(root);
    if (!s)
        goto done;
    if (fputs(s, f) >= 0 && !ferror(f))
        rc = 0;
done:
    free(s);
    cJSON_Delete(segs);
    cJSON_Delete(root);
    return rc;
}

enum auris_err auris__write_output_file(const char *dir, const char *stem, enum auris__format fmt,
                                        const struct auris_result *r, struct auris_error *err)
{
    const char *ext = auris__format_ext(fmt);
    size_t n = strlen(dir) + strlen(stem) + strlen(ext) + 32;
    char *final_path = malloc(n), *tmp_path = malloc(n + 16);
    enum auris_err rc = AURIS_OK;
    FILE *f = NULL;
    int fd = -1;
    if (!final_path || !tmp_path) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(final_path, n, "%s/%s.%s", dir, stem, ext);
    snprintf(tmp_path, n + 16, "%s/.%s.%s.XXXXXX", dir, stem, ext);
    fd = mkstemp(tmp_path);
    if (fd < 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "cannot create a file in '%s': %s", dir,
                         strerror(errno));
        goto done;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp_path);
        rc = auris__fail(err, AURIS_ERR_IO, "cannot write '%s': %s", tmp_path, strerror(errno));
        goto done;
    }
    int w = fmt == AURIS_FMT_JSON ? auris__write_json(f, r) : auris__write_txt(f, r);
    int c = fflush(f) != 0 || fsync(fileno(f)) != 0;
    c |= fclose(f) != 0;
    if (w != 0 || c) {
        unlink(tmp_path);
        rc = auris__fail(err, AURIS_ERR_IO, "cannot write '%s'", final_path);
        goto done;
    }
    if (rename(tmp_path, final_path) != 0) {
        unlink(tmp_path);
        rc = auris__fail(err, AURIS_ERR_IO, "cannot create '%s': %s", final_path,
                         strerror(errno));
    }
done:
    free(final_path);
    free(tmp_path);
    return rc;
}
