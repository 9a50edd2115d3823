/*
 * spectrogram.c — the public log-Mel entry point (auris_log_mel_spectrogram in auris.h): builds
 * the Slaney filterbank for n_mels and runs the one log-Mel implementation (mel.c) on it.
 *
 * Reference: openai/whisper audio.py log_mel_spectrogram(audio, n_mels, padding).
 * Invariants: no math of its own (filters and spectrogram come from mel.c); on failure *mel is
 * NULL and nothing is leaked.
 */
#include "audio/audio.h"

#include <stdlib.h>

#define N_BINS (AURIS_N_FFT / 2 + 1) /* 201 frequency bins of the 400-point FFT */

enum auris_err auris_log_mel_spectrogram(const float *pcm, size_t n_samples, size_t padding,
                                         int n_mels, int n_threads, float **mel, int *n_frames,
                                         struct auris_error *err)
{
    if (!mel || !n_frames)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "log_mel_spectrogram: NULL output");
    *mel = NULL;
    *n_frames = 0;
    if (n_mels < 1 || n_mels > 256)
        return auris__fail(err, AURIS_ERR_INVALID_ARG,
                           "log_mel_spectrogram: n_mels %d is outside 1..256", n_mels);
    float *filters = malloc((size_t)n_mels * N_BINS * sizeof *filters); /* [n_mels][201] */
    if (!filters)
        return auris__fail(err, AURIS_ERR_NOMEM, "log_mel_spectrogram: out of memory");
    enum auris_err rc = auris__mel_filters(n_mels, filters);
    if (rc != AURIS_OK)
        rc = auris__fail(err, rc, "log_mel_spectrogram: cannot build %d mel filters", n_mels);
    else
        rc = auris__log_mel(pcm, n_samples, padding, filters, n_mels, n_threads, mel, n_frames,
                            err);
    free(filters);
    return rc;
}
