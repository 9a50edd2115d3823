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
    return fuzz_run_loader(auris__load_ggml, data, size);
}
