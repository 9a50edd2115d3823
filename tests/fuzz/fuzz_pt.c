/*
 * fuzz_pt.c — libFuzzer target: OpenAI .pt checkpoints: the zip container (zip.c),
 * the allow-list pickle VM (pickle.c) and storage binding (pt.c), then auris__model_bind on
 * whatever parses.
 *
 * Reference: PyTorch's torch.save zip layout; openai/whisper's checkpoint dict.
 * Invariants: the loader sees an exactly-sized heap copy of the input; every outcome frees
 * everything (checkpoint, model, tokenizer); failures carry a message.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_loader(auris__load_pt, data, size);
}
