/*
 * args.c — long-option parsing for the auris command (see args.h).
 */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Compares an option name typed by the user with a canonical one, '-' matching '_'. */
static bool name_eq(const char *typed, size_t len, const char *canon)
{
    size_t i = 0;
    for (; i < len && canon[i]; i++) {
        char a = typed[i] == '-' ? '_' : typed[i];
        if (a != canon[i])
            return false;
    }
    return i == len && canon[i] == '\0';
}

struct opt *args_find(struct opt *opts, int n_opts, const char *name)
{
    for (int i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

int args_parse(int argc, char **argv, int first, struct opt *opts, int n_opts,
               const char **positional, int max_pos, int *n_pos)
{
    *n_pos = 0;
    bool only_positional = false;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*n_pos >= max_pos) {
                fprintf(stderr, "auris: error: too many arguments (at '%s')\n", a);
                return -1;
            }
            positional[(*n_pos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_positional = true;
            continue;
        }
        struct opt *o = NULL;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (int k = 0; k < n_opts && !o; k++)
                if (name_eq(name, len, opts[k].name))
                    o = &opts[k];
            if (eq)
                val = eq + 1;
        } else if (a[1] && !a[2]) {
            for (int k = 0; k < n_opts && !o; k++)
                if (opts[k].short_name == a[1])
                    o = &opts[k];
        }
        if (!o) {
            fprintf(stderr, "auris: error: unrecognized option '%s' (see --help)\n", a);
            return -1;
        }
        if (o->kind == OPT_FLAG) {
            if (val) {
                fprintf(stderr, "auris: error: option --%s takes no value\n", o->name);
                return -1;
            }
            o->value = "True";
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "auris: error: argument --%s: expected a value\n", o->name);
                return -1;
            }
            val = argv[++i];
        }
        o->value = val;
    }
    return 0;
}

int args_get_int(struct opt *o, int *out)
{
    if (!o || !o->value)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(o->value, &end, 10);
    if (end == o->value || *end || errno || v < -1000000000L || v > 1000000000L) {
        fprintf(stderr, "auris: error: argument --%s: invalid int value: '%s'\n", o->name,
                o->value);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int args_get_double(struct opt *o, double *out)
{
    if (!o || !o->value)
        return 0;
    if (strcmp(o->value, "None") == 0 || strcasecmp(o->value, "none") == 0) {
        *out = NAN;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(o->value, &end);
    if (end == o->value || *end || errno || !isfinite(v)) {
        fprintf(stderr, "auris: error: argument --%s: invalid float value: '%s'\n", o->name,
                o->value);
        return -1;
    }
    *out = v;
    return 0;
}

int args_get_float(struct opt *o, float *out)
{
    double v = (double)*out;
    if (args_get_double(o, &v) != 0)
        return -1;
    *out = (float)v;
    return 0;
}

int args_get_bool(struct opt *o, bool *out)
{
    if (!o || !o->value)
        return 0;
    const char *v = o->value;
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
        *out = false;
        return 0;
    }
    fprintf(stderr, "auris: error: argument --%s: expected True or False, got '%s'\n", o->name,
            v);
    return -1;
}
