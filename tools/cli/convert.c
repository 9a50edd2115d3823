/*
 * convert.c — `auris convert`: loads any checkpoint auris reads (.pt, ggml .bin, Hugging Face,
 * native) and writes it as a native file with the chosen weight type.
 *
 * Reference: docs/FORMAT.md (the native format); the writer is auris__native_write.
 * Invariants: the output appears atomically (the writer renames a finished temporary), so a
 * failed or interrupted conversion never leaves a partial OUT behind.
 */
#include "cli/convert.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/vad.h"
#include "model/model.h"

#include <stdio.h>
#include <string.h>

static struct opt conv_opts[] = {
    {"output", 'o', OPT_STR, "native file to write (required)", 0},
    {"type", 0, OPT_STR, "weight type: f32, f16 (default), bf16 or q8_0", 0},
    {"assets", 0, OPT_STR, "directory with the .tiktoken vocabularies", 0},
    {"help", 'h', OPT_FLAG, "show this help", 0},
};
#define N_COPTS ((int)(sizeof conv_opts / sizeof conv_opts[0]))

static int parse_type(const char *s, enum auris__dtype *t)
{
    static const struct {
        const char *name;
        enum auris__dtype type;
    } types[] = {{"f32", AURIS_DT_F32}, {"f16", AURIS_DT_F16}, {"bf16", AURIS_DT_BF16},
                 {"q8_0", AURIS_DT_Q8_0}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i].name) == 0) {
            *t = types[i].type;
            return 0;
        }
    return -1;
}

int cli_cmd_convert(int argc, char **argv)
{
    const char *pos[2];
    int n_pos = 0;
    for (int i = 0; i < N_COPTS; i++)
        conv_opts[i].value = NULL;
    if (args_parse(argc, argv, 2, conv_opts, N_COPTS, pos, 2, &n_pos) != 0)
        return 2;
    if (conv_opts[3].value) {
        printf("usage: auris convert IN -o OUT [--type f32|f16|bf16|q8_0]\n\n"
               "Writes any supported checkpoint as a native auris file. A Silero VAD model\n"
               "(whisper.cpp ggml) becomes a native VAD file (f32).\n\noptions:\n");
        for (int i = 0; i < N_COPTS; i++)
            printf("  --%-12s %s\n", conv_opts[i].name, conv_opts[i].help);
        return 0;
    }
    if (n_pos != 1 || !conv_opts[0].value) {
        fprintf(stderr, "usage: auris convert IN -o OUT [--type f32|f16|bf16|q8_0]\n"
                        "auris: error: one input and --output are required\n");
        return 2;
    }
    if (cli_vad_file_kind(pos[0])) /* a Silero VAD model: written by the VAD writer */
        return cli_vad_convert(pos[0], conv_opts[0].value, conv_opts[1].value);
    enum auris__dtype type = AURIS_DT_F16;
    if (conv_opts[1].value && parse_type(conv_opts[1].value, &type) != 0) {
        fprintf(stderr, "auris: error: argument --type: invalid choice: '%s' (choose from 'f32', "
                        "'f16', 'bf16', 'q8_0')\n", conv_opts[1].value);
        return 2;
    }
    auris_model *m = NULL;
    if (cli_load_model(pos[0], conv_opts[2].value, &m) != 0)
        return 1;
    struct auris_error err = {0};
    int rc = 0;
    if (auris__native_write(m, conv_opts[0].value, type, &err) != AURIS_OK) {
        fprintf(stderr, "auris: error: %s\n", err.message);
        rc = 1;
    }
    auris_model_free(m);
    return rc;
}
