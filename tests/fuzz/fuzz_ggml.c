/*
 * fuzz_ggml.c — libFuzzer target: whisper.cpp ggml files (ggml.c),
 * including block dequantization (ggml_quant.c), then auris__model_bind on whatever parses
 * and the tokenizer from the embedded vocabulary.
 *
 * Reference: whisper.cpp models/convert-pt-to-ggml.py and ggml-common.h.
 * Invariants: the loader sees an exactly-sized heap copy of the input; every outcome frees
 * everything (checkpoint, model, tokenizer); failures carry a message.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_copy(data, size);
    if (!buf)
        return 0;
    struct auris__checkpoint ck;
    struct auris_error err = {0};
    memset(&ck, 0, sizeof ck);
    enum auris_err rc = auris__load_ggml(buf, size, &ck, &err);
    fuzz_check_error(rc, &err);
    if (rc == AURIS_OK)
        fuzz_bind(&ck);
    auris__checkpoint_clear(&ck);
    free(buf);
    return 0;
}
