/*
 * models.c — `auris models` (the catalogue and the cache) and cli_resolve_model (--model NAME).
 *
 * Reference: openai/whisper __init__.py (available_models, load_model's name-or-path rule).
 * Invariants: tables and JSON go to stdout, progress and errors to stderr; the progress bar is
 * drawn only when stderr is a terminal, so logs and pipes never receive carriage returns.
 */
#include "cli/models.h"

#include "cli/args.h"

#include <auris.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef AURIS_WITH_HUB
#include "hub/hub.h"

#include <cjson/cJSON.h>

/* ---- progress bar -------------------------------------------------------------------------- */

struct bar {
    double last;   /* monotonic seconds of the last redraw */
    int drawn;     /* a line is open on stderr */
    int finished;  /* the current file and phase reached 100% (libcurl keeps reporting it) */
    int phase;
    char file[64];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int draw_bar(void *user, enum auris_hub_phase phase, const char *file, uint64_t done,
                    uint64_t total)
{
    struct bar *b = user;
    if ((int)phase != b->phase || strncmp(file, b->file, sizeof b->file - 1) != 0) {
        if (b->drawn)
            fputc('\n', stderr);
        b->drawn = b->finished = 0;
        b->phase = (int)phase;
        snprintf(b->file, sizeof b->file, "%s", file);
    }
    int finished = total > 0 && done >= total;
    double t = now_s();
    if (b->finished || total == 0 || (!finished && b->drawn && t - b->last < 0.1))
        return 0;
    b->last = t;
    const int width = 30;
    int fill = (int)((double)width * (double)done / (double)total);
    char cells[64];
    for (int i = 0; i < width; i++)
        cells[i] = i < fill ? '#' : '.';
    cells[width] = '\0';
    const double mib = 1024.0 * 1024.0;
    fprintf(stderr, "\r%-11s %-22.22s %3d%% [%s] %8.1f/%.1f MiB",
            phase == AURIS_HUB_DOWNLOAD ? "downloading" : "verifying", file,
            (int)(100.0 * (double)done / (double)total), cells, (double)done / mib,
            (double)total / mib);
    b->drawn = 1;
    if (finished) {
        fputc('\n', stderr);
        b->drawn = 0;
        b->finished = 1;
    }
    fflush(stderr);
    return 0;
}

static void end_bar(struct bar *b)
{
    if (b->drawn)
        fputc('\n', stderr);
    b->drawn = 0;
}

int cli_resolve_model(const char *name_or_path, const char *model_dir, bool download, char **path,
                      const char **official_name)
{
    struct auris_error err = {0};
    struct auris_hub_options o = auris_hub_default_options();
    struct bar b = {.phase = -1};
    struct stat sb;
    *path = NULL;
    if (official_name)
        *official_name = NULL;
    o.model_dir = model_dir;
    o.download = download;
    if (isatty(STDERR_FILENO)) {
        o.progress = draw_bar;
        o.progress_user = &b;
    }
    const struct auris_hub_file *f =
        stat(name_or_path, &sb) == 0 ? NULL : auris_hub_find_model(name_or_path);
    enum auris_err rc = auris_hub_resolve(name_or_path, &o, path, &err);
    end_bar(&b);
    if (rc != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        return -1;
    }
    if (official_name && f)
        *official_name = f->name;
    return 0;
}

/* ---- auris models -------------------------------------------------------------------------- */

static struct opt models_opts[] = {
    {"verify", 0, OPT_FLAG, "hash every cached file and check it against its SHA-256", 0},
    {"json", 0, OPT_FLAG, "print a JSON array instead of a table", 0},
    {"model_dir", 0, OPT_STR, "download root to inspect (default: the cache directory)", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_MOPTS ((int)(sizeof models_opts / sizeof models_opts[0]))

/* One row: an official name or a vocabulary. `verified`: -1 not checked, 0 mismatch, 1 ok. */
struct row {
    const struct auris_hub_file *f;
    char *path;
    long long size;
    int verified;
};

static void format_size(long long n, char *buf, size_t len)
{
    if (n < 0)
        snprintf(buf, len, "-");
    else if (n >= 1024LL * 1024 * 1024)
        snprintf(buf, len, "%.2f GiB", (double)n / (1024.0 * 1024 * 1024));
    else if (n >= 1024LL * 1024)
        snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024));
    else
        snprintf(buf, len, "%lld B", n);
}

/* Hashes r->path, reusing an earlier row's answer for the same file (aliases share files). */
static int verify_row(struct row *rows, int i, struct bar *b)
{
    for (int k = 0; k < i; k++)
        if (rows[k].path && strcmp(rows[k].path, rows[i].path) == 0 && rows[k].verified >= 0)
            return rows[k].verified;
    char hex[65];
    struct auris_error err = {0};
    enum auris_err rc = auris_hub_sha256_file(rows[i].path, isatty(STDERR_FILENO) ? draw_bar
                                              : NULL, b, hex, &err);
    end_bar(b);
    if (rc != AURIS_OK) {
        fprintf(stderr, "auris: warning: %s\n", err.message);
        return 0;
    }
    return strcmp(hex, rows[i].f->sha256) == 0;
}

static void print_table(const struct row *rows, int n, const char *root, bool verify)
{
    printf("cache: %s\n", root);
    printf("%-21s %-21s %-10s %-9s %s\n", "NAME", "FILE", "SIZE", "STATUS", "PATH");
    for (int i = 0; i < n; i++) {
        char size[32];
        format_size(rows[i].size, size, sizeof size);
        const char *status = !rows[i].path ? "missing"
                             : !verify    ? "cached"
                             : rows[i].verified > 0 ? "verified" : "MISMATCH";
        if (rows[i].path)
            printf("%-21s %-21s %-10s %-9s %s\n", rows[i].f->name, rows[i].f->file, size, status,
                   rows[i].path);
        else
            printf("%-21s %-21s %-10s %s\n", rows[i].f->name, rows[i].f->file, size, status);
    }
}

static int print_json(const struct row *rows, int n, const char *root)
{
    cJSON *doc = cJSON_CreateObject(), *arr = NULL;
    int ok = doc && cJSON_AddStringToObject(doc, "cache", root) &&
             (arr = cJSON_AddArrayToObject(doc, "files")) != NULL;
    for (int i = 0; ok && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o);
        ok = ok && cJSON_AddStringToObject(o, "name", rows[i].f->name) &&
             cJSON_AddStringToObject(o, "kind", rows[i].f->vocab ? "model" : "vocabulary") &&
             cJSON_AddStringToObject(o, "file", rows[i].f->file) &&
             cJSON_AddStringToObject(o, "url", rows[i].f->url) &&
             cJSON_AddStringToObject(o, "sha256", rows[i].f->sha256) &&
             cJSON_AddBoolToObject(o, "cached", rows[i].path != NULL);
        ok = ok && (rows[i].path ? cJSON_AddStringToObject(o, "path", rows[i].path) != NULL
                                 : cJSON_AddNullToObject(o, "path") != NULL);
        ok = ok && (rows[i].size >= 0 ? cJSON_AddNumberToObject(o, "size", (double)rows[i].size)
                                            != NULL
                                      : cJSON_AddNullToObject(o, "size") != NULL);
        ok = ok && (rows[i].verified >= 0 ? cJSON_AddBoolToObject(o, "verified",
                                                                  rows[i].verified > 0) != NULL
                                          : cJSON_AddNullToObject(o, "verified") != NULL);
    }
    char *text = ok ? cJSON_Print(doc) : NULL;
    if (text)
        printf("%s\n", text);
    else
        fprintf(stderr, "auris: error: out of memory\n");
    cJSON_free(text);
    cJSON_Delete(doc);
    return text ? 0 : 1;
}

/* Fills rows[] with every model and both vocabularies; returns how many. */
static int collect(struct row *rows, int max, const struct auris_hub_options *o)
{
    static const char *vocab_files[] = {"gpt2.tiktoken", "multilingual.tiktoken"};
    int n = 0;
    const struct auris_hub_file *f;
    for (int i = 0; n < max && (f = auris_hub_model_at(i)); i++)
        rows[n++].f = f;
    for (int i = 0; n < max && i < 2; i++)
        if ((f = auris_hub_find_vocab(vocab_files[i])))
            rows[n++].f = f;
    for (int i = 0; i < n; i++) {
        struct stat sb;
        rows[i].size = -1;
        rows[i].verified = -1;
        if (auris_hub_locate(rows[i].f, o, &rows[i].path, NULL, NULL) == AURIS_OK &&
            rows[i].path && stat(rows[i].path, &sb) == 0)
            rows[i].size = (long long)sb.st_size;
    }
    return n;
}

int cli_cmd_models(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    for (int i = 0; i < N_MOPTS; i++)
        models_opts[i].value = NULL;
    if (args_parse(argc, argv, 2, models_opts, N_MOPTS, pos, 0, &n_pos) != 0)
        return 2;
    if (models_opts[3].value) {
        printf("usage: auris models [--verify] [--json] [--model_dir DIR]\n\n"
               "Lists the official model names, the file each maps to, and what is cached.\n"
               "Cache: $AURIS_CACHE, else $XDG_CACHE_HOME/auris, else ~/.cache/auris (the\n"
               "reference's ~/.cache/whisper is also used when it holds a model).\n\noptions:\n");
        for (int i = 0; i < N_MOPTS; i++)
            printf("  --%-12s %s\n", models_opts[i].name, models_opts[i].help);
        return 0;
    }
    bool verify = models_opts[0].value != NULL, json = models_opts[1].value != NULL;
    struct auris_hub_options o = auris_hub_default_options();
    o.model_dir = models_opts[2].value;
    struct auris_error err = {0};
    char *root = NULL;
    if (o.model_dir)
        root = strdup(o.model_dir);
    else if (auris_hub_cache_dir(&root, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        return 1;
    }
    if (!root) {
        fprintf(stderr, "auris: error: out of memory\n");
        return 1;
    }
    struct row rows[32] = {{0}};
    int n = collect(rows, 32, &o), bad = 0;
    struct bar b = {.phase = -1};
    for (int i = 0; verify && i < n; i++) {
        if (!rows[i].path)
            continue;
        rows[i].verified = verify_row(rows, i, &b);
        bad += rows[i].verified == 0;
    }
    int rc = json ? print_json(rows, n, root) : (print_table(rows, n, root, verify), 0);
    for (int i = 0; i < n; i++)
        free(rows[i].path);
    free(root);
    return rc ? rc : bad ? 1 : 0;
}

#else /* !AURIS_WITH_HUB */

int cli_cmd_models(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "auris: error: this build has no model downloads (libcurl and libcrypto "
                    "were not found)\n");
    return 1;
}

int cli_resolve_model(const char *name_or_path, const char *model_dir, bool download, char **path,
                      const char **official_name)
{
    (void)model_dir;
    (void)download;
    struct stat sb;
    *path = NULL;
    if (official_name)
        *official_name = NULL;
    if (stat(name_or_path, &sb) != 0) {
        fprintf(stderr, "auris: error: %s: no such file (this build cannot download official "
                        "models)\n", name_or_path);
        return -1;
    }
    *path = strdup(name_or_path);
    if (!*path) {
        fprintf(stderr, "auris: error: out of memory\n");
        return -1;
    }
    return 0;
}

#endif
