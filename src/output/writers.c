/*
 * writers.c — format names, format_timestamp, the txt and tsv writers and the all-or-nothing
 * file writer.
 *
 * Reference: openai/whisper utils.py format_timestamp (round(seconds * 1000), Python's
 * half-to-even rounding), WriteTXT (each segment's stripped text on its own line), WriteTSV
 * ("start\tend\ttext" header, integer milliseconds, tabs in the text replaced by spaces),
 * get_writer("all") (txt, vtt, srt, tsv, json in that order), ResultWriter (<stem>.<ext>).
 * Invariants: a file appears under its final name only after it was completely written,
 * flushed and synced; temporary files are removed on every failure path.
 */
#include "output/output.h"
#include "decode/decode.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const format_names[] = {"txt", "vtt", "srt", "tsv", "json", "all"};

int auris__format_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < (int)AURIS_ARRAY_LEN(format_names); i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return -1;
}

const char *auris__format_ext(enum auris__format f)
{
    if ((int)f < 0 || f >= AURIS_FMT_ALL)
        return NULL;
    return format_names[f];
}

void auris__format_timestamp(double seconds, bool always_hours, char marker, char *buf, size_t n)
{
    if (!(seconds >= 0))
        seconds = 0;
    if (seconds > 1e12)
        seconds = 1e12;
    long long ms = (long long)rint(seconds * 1000.0); /* Python round(): ties to even */
    long long h = ms / 3600000;
    ms -= h * 3600000;
    long long m = ms / 60000;
    ms -= m * 60000;
    long long s = ms / 1000;
    ms -= s * 1000;
    if (always_hours || h > 0)
        snprintf(buf, n, "%02lld:%02lld:%02lld%c%03lld", h, m, s, marker, ms);
    else
        snprintf(buf, n, "%02lld:%02lld%c%03lld", m, s, marker, ms);
}

/* A stripped copy of a segment's text; NULL when out of memory. */
static char *stripped(const char *text)
{
    char *t = auris__strdup(text ? text : "");
    if (t)
        auris__strip_inplace(t);
    return t;
}

int auris__write_txt(FILE *f, const struct auris_result *r)
{
    for (int i = 0; i < r->n_segments; i++) {
        char *t = stripped(r->segments[i].text);
        if (!t)
            return -1;
        int bad = fprintf(f, "%s\n", t) < 0;
        free(t);
        if (bad)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

int auris__write_tsv(FILE *f, const struct auris_result *r)
{
    if (fputs("start\tend\ttext\n", f) < 0)
        return -1;
    for (int i = 0; i < r->n_segments; i++) {
        const struct auris_segment *s = &r->segments[i];
        char *t = stripped(s->text);
        if (!t)
            return -1;
        for (char *c = t; *c; c++)
            if (*c == '\t')
                *c = ' ';
        double a = rint(1000 * s->start), b = rint(1000 * s->end);
        if (!(fabs(a) < 9e18))
            a = 0;
        if (!(fabs(b) < 9e18))
            b = 0;
        int bad = fprintf(f, "%lld\t%lld\t%s\n", (long long)a, (long long)b, t) < 0;
        free(t);
        if (bad)
            return -1;
    }
    return ferror(f) ? -1 : 0;
}

int auris__write_format(FILE *f, enum auris__format fmt, const struct auris_result *r,
                        const struct auris__writer_options *o)
{
    switch (fmt) {
    case AURIS_FMT_TXT: return auris__write_txt(f, r);
    case AURIS_FMT_VTT: return auris__write_vtt(f, r, o);
    case AURIS_FMT_SRT: return auris__write_srt(f, r, o);
    case AURIS_FMT_TSV: return auris__write_tsv(f, r);
    case AURIS_FMT_JSON: return auris__write_json(f, r);
    default: return -1;
    }
}

/* Writes one format to a fresh temporary file in `dir`; on success *tmp_path names it. */
static enum auris_err write_temp(const char *dir, const char *stem, enum auris__format fmt,
                                 const struct auris_result *r,
                                 const struct auris__writer_options *o, char **tmp_path,
                                 struct auris_error *err)
{
    const char *ext = auris__format_ext(fmt);
    size_t n = strlen(dir) + strlen(stem) + strlen(ext) + 32;
    char *path = malloc(n);
    *tmp_path = NULL;
    if (!path)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    snprintf(path, n, "%s/.%s.%s.XXXXXX", dir, stem, ext);
    int fd = mkstemp(path);
    if (fd < 0) {
        enum auris_err rc = auris__fail(err, AURIS_ERR_IO, "cannot create a file in '%s': %s",
                                        dir, strerror(errno));
        free(path);
        return rc;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(path);
        free(path);
        return auris__fail(err, AURIS_ERR_IO, "cannot write in '%s': %s", dir, strerror(errno));
    }
    int w = auris__write_format(f, fmt, r, o);
    int c = fflush(f) != 0 || fsync(fileno(f)) != 0;
    c |= fclose(f) != 0;
    if (w != 0 || c) {
        unlink(path);
        free(path);
        return auris__fail(err, AURIS_ERR_IO, "cannot write '%s/%s.%s'", dir, stem, ext);
    }
    *tmp_path = path;
    return AURIS_OK;
}

enum auris_err auris__write_output_file(const char *dir, const char *stem, enum auris__format fmt,
                                        const struct auris_result *r,
                                        const struct auris__writer_options *o,
                                        struct auris_error *err)
{
    if (!dir || !stem || !r || (int)fmt < 0 || fmt > AURIS_FMT_ALL)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "write_output_file: bad argument");
    enum auris__format first = fmt == AURIS_FMT_ALL ? AURIS_FMT_TXT : fmt;
    enum auris__format last = fmt == AURIS_FMT_ALL ? AURIS_FMT_JSON : fmt;
    char *tmp[AURIS_FMT_ALL] = {0};
    enum auris_err rc = AURIS_OK;
    /* every file is complete before any is renamed, so a failure leaves none of them */
    for (int k = (int)first; k <= (int)last && rc == AURIS_OK; k++)
        rc = write_temp(dir, stem, (enum auris__format)k, r, o, &tmp[k], err);
    for (int k = (int)first; k <= (int)last; k++) {
        if (!tmp[k])
            continue;
        if (rc == AURIS_OK) {
            const char *ext = auris__format_ext((enum auris__format)k);
            size_t n = strlen(dir) + strlen(stem) + strlen(ext) + 8;
            char *final_path = malloc(n);
            if (!final_path) {
                rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
            } else {
                snprintf(final_path, n, "%s/%s.%s", dir, stem, ext);
                if (rename(tmp[k], final_path) != 0)
                    rc = auris__fail(err, AURIS_ERR_IO, "cannot create '%s': %s", final_path,
                                     strerror(errno));
                free(final_path);
            }
        }
        if (rc != AURIS_OK)
            unlink(tmp[k]); /* no-op once renamed */
        free(tmp[k]);
    }
    return rc;
}
