/*
 * args.h — command-line option parsing shared by the auris subcommands.
 *
 * Follows the reference CLI's conventions (openai/whisper transcribe.py cli()): long options
 * with underscores, values as the next argument or after '=', booleans spelled True/False.
 * Hyphenated spellings (--output-format) are accepted as the same option.
 */
#ifndef AURIS_TOOLS_ARGS_H
#define AURIS_TOOLS_ARGS_H

#include <stdbool.h>

enum opt_kind { OPT_STR, OPT_INT, OPT_FLOAT, OPT_BOOL, OPT_FLAG };

struct opt {
    const char *name;   /* canonical, with underscores, without "--" */
    char short_name;    /* 0 when none */
    enum opt_kind kind;
    const char *help;
    const char *value;  /* parsed raw value (NULL: not given) */
};

/* Parses argv[first..argc): options into `opts` (matched by name), everything else into
 * positional[] (at most max_pos). Returns 0, or -1 after printing a one-line error. */
int args_parse(int argc, char **argv, int first, struct opt *opts, int n_opts,
               const char **positional, int max_pos, int *n_pos);

struct opt *args_find(struct opt *opts, int n_opts, const char *name);

/* Typed getters: return 0 and set *out (unchanged when the option is absent), or -1 after
 * printing "auris: error: argument --name: ..." for a malformed value. */
int args_get_int(struct opt *o, int *out);
int args_get_float(struct opt *o, float *out);  /* "None" -> NaN */
int args_get_double(struct opt *o, double *out); /* "None" -> NaN */
int args_get_bool(struct opt *o, bool *out);    /* True/False, true/false, 1/0, yes/no */

#endif
