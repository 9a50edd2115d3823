/*
 * vad_batch.c — the batched VAD pipeline (see vad_batch.h).
 */
#include "transcribe/vad_batch.h"

enum auris_err auris__vad_run_batched(auris_session *s, const float *pcm,
                                      const struct auris__vad_plan *plan, float *buf,
                                      const struct auris_transcribe_params *p, int batch_size,
                                      double t_max, struct auris_result *out,
                                      struct auris_error *err)
{
    (void)s, (void)pcm, (void)plan, (void)buf, (void)p, (void)batch_size, (void)t_max, (void)out;
    return auris__fail(err, AURIS_ERR_UNSUPPORTED, "batched decoding is not implemented yet");
}
