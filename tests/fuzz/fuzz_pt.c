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
    uint8_t *buf = fuzz_copy(data, size);
    if (!buf)
        return 0;
    struct auris__checkpoint ck;
    struct auris_error err = {0};
    memset(&ck, 0, sizeof ck);
    enum auris_err rc = auris__load_pt(buf, size, &ck, &err);
    fuzz_check_error(rc, &err);
    if (rc == AURIS_OK)
        fuzz_bind(&ck);
    auris__checkpoint_clear(&ck);
    free(buf);
    return 0;
}
