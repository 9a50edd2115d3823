/*
 * fuzz_native.c — libFuzzer target: auris's native GGUF-based files
 * (native.c): keys, vocabulary, alignment heads and tensor infos, then auris__model_bind on
 * whatever parses and the tokenizer from the embedded vocabulary.
 *
 * Reference: docs/FORMAT.md and ggml's docs/gguf.md.
 * Invariants: the loader sees an exactly-sized heap copy of the input; every outcome frees
 * everything (checkpoint, model, tokenizer); failures carry a message.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_loader(auris__load_native, data, size);
}
