/*
 * native.c — loader for auris's native single-file format (GGUF-based; see docs/FORMAT.md).
 * Placeholder until the format lands: such files are refused with a clear message.
 */
#include "model/model.h"

enum auris_err auris__load_native(const uint8_t *data, size_t size, struct auris__checkpoint *ck,
                                  struct auris_error *err)
{
    (void)data;
    (void)size;
    (void)ck;
    return auris__fail(err, AURIS_ERR_UNSUPPORTED, "GGUF files are not supported yet (use a "
                       "whisper.cpp ggml .bin or an OpenAI .pt checkpoint)");
}
