/*
 * fuzz_safetensors.c — libFuzzer target: the safetensors container and its JSON header
 * (safetensors.c, cJSON with a length bound); when the bytes parse, the same file is loaded as
 * a Hugging Face checkpoint (hf.c: name mapping onto Whisper's, a fixed nano config.json) and
 * bound with auris__model_bind.
 *
 * Reference: the safetensors layout (u64 header length, JSON header, data); HF transformers'
 * WhisperForConditionalGeneration tensor names.
 * Invariants: the parser sees an exactly-sized heap copy of the input; the HF step reads a
 * private temporary folder created once per process and removed at exit; every outcome frees
 * everything (tensor list, checkpoint, model with its maps).
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <unistd.h>

/* The dims make_corpus.py's nano model has; bind checks n_audio_ctx and n_vocab. */
static const char CONFIG[] =
    "{\"model_type\":\"whisper\",\"activation_function\":\"gelu\",\"num_mel_bins\":80,"
    "\"max_source_positions\":1500,\"d_model\":1,\"encoder_attention_heads\":1,"
    "\"encoder_layers\":1,\"vocab_size\":51864,\"max_target_positions\":4,"
    "\"decoder_attention_heads\":1,\"decoder_layers\":1}";

static char g_dir[512], g_config[600], g_model[600];

static void cleanup(void)
{
    if (!g_dir[0])
        return;
    unlink(g_model);
    unlink(g_config);
    rmdir(g_dir);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Creates the folder with config.json on first use; 0 when ready. */
static int setup(void)
{
    static int state; /* 0 not tried, 1 ready, -1 failed */
    if (state)
        return state > 0 ? 0 : -1;
    state = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/auris-fuzz-st-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        g_dir[0] = '\0';
        return -1;
    }
    snprintf(g_config, sizeof g_config, "%s/config.json", g_dir);
    snprintf(g_model, sizeof g_model, "%s/model.safetensors", g_dir);
    atexit(cleanup);
    if (write_file(g_config, CONFIG, sizeof CONFIG - 1))
        return -1;
    state = 1;
    return 0;
}

static void load_as_hf(const uint8_t *data, size_t size)
{
    if (setup() || write_file(g_model, data, size))
        return;
    auris_model *m = calloc(1, sizeof *m);
    if (!m)
        return;
    struct auris__checkpoint ck;
    struct auris_error err = {0};
    memset(&ck, 0, sizeof ck);
    enum auris_err rc = auris__load_hf(g_dir, m, &ck, &err);
    fuzz_check_error(rc, &err);
    if (rc == AURIS_OK) {
        rc = auris__model_bind(m, &ck, &err);
        fuzz_note("bind", rc, &err);
    }
    auris__checkpoint_clear(&ck);
    auris_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_copy(data, size);
    if (!buf)
        return 0;
    struct auris__st_tensor *ts = NULL;
    int n = 0;
    struct auris_error err = {0};
    enum auris_err rc = auris__safetensors_parse(buf, size, &ts, &n, &err);
    fuzz_check_error(rc, &err);
    if (rc == AURIS_OK) {
        for (int i = 0; i < n; i++) /* every range must lie inside the input */
            if (ts[i].nbytes && ((const uint8_t *)ts[i].data < buf ||
                                 (const uint8_t *)ts[i].data + ts[i].nbytes > buf + size))
                __builtin_trap();
        free(ts);
        load_as_hf(buf, size);
    }
    free(buf);
    return 0;
}
