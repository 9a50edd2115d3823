/*
 * fuzz_ct2.c — libFuzzer target: CTranslate2 model.bin files (ct2.c): the container (strings,
 * shapes, dtypes, byte counts, aliases), the mapping onto Whisper's names (fused QKV/KV row
 * views, int8 descriptors and scales, scalar flags), then auris__model_bind on whatever parses.
 *
 * Reference: CTranslate2's model_spec.py serialisation (see ct2.c); seeds are written by
 * tests/reference/ct2_model.py corpus.
 * Invariants: the loader sees an exactly-sized heap copy of the input and no directory (side
 * files are not read); every outcome frees everything; failures carry a message.
 */
#include "fuzz_common.h"

static enum auris_err load_ct2_bytes(const uint8_t *data, size_t size,
                                     struct auris__checkpoint *ck, struct auris_error *err)
{
    return auris__load_ct2(data, size, NULL, ck, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_loader(load_ct2_bytes, data, size);
}
