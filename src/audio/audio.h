/*
 * audio.h — audio input and the log-Mel spectrogram.
 *
 * Reference: openai/whisper audio.py (load_audio, log_mel_spectrogram, pad_or_trim, mel_filters).
 * Invariants: PCM is 16 kHz mono float32; a mel spectrogram is row-major [n_mels][n_frames].
 */
#ifndef AURIS_AUDIO_H
#define AURIS_AUDIO_H

#include "common.h"

/* Decodes `path` ("-" = stdin) with FFmpeg's libraries to 16 kHz mono float32 (see
 * auris_audio_load in auris.h, which calls this). *pcm is malloc'd. */
enum auris_err auris__audio_decode(const char *path, float **pcm, size_t *n_samples,
                                   struct auris_error *err);

/* Slaney-style mel filterbank as librosa.filters.mel(sr=16000, n_fft=400, n_mels) computes it
 * (the one shipped in mel_filters.npz). Writes n_mels * 201 floats, row-major [n_mels][201].
 * n_mels must be 80 or 128 (any 1..256 works). */
enum auris_err auris__mel_filters(int n_mels, float *out /* [n_mels][201] */);

/* Log-Mel spectrogram of `pcm` followed by `pad_samples` zeros, exactly as the reference's
 * log_mel_spectrogram(audio, n_mels, padding=pad_samples): periodic Hann(400), hop 160, centred
 * STFT with reflect padding, last frame dropped, |X|^2, filters, log10(max(x,1e-10)), floor at
 * max-8, (x+4)/4. *n_frames = (n_samples + pad_samples) / 160.
 * `filters` is [n_mels][201]. *out is malloc'd [n_mels][*n_frames].
 * n_threads <= 1 runs on the calling thread. Errors: AURIS_ERR_AUDIO when n_samples +
 * pad_samples < 160 (no frame), INVALID_ARG, NOMEM. Inputs shorter than the 200-sample reflect
 * pad (which torch rejects) are folded repeatedly instead of failing. */
enum auris_err auris__log_mel(const float *pcm, size_t n_samples, size_t pad_samples,
                              const float *filters, int n_mels, int n_threads,
                              float **out, int *n_frames, struct auris_error *err);

/* Copies frames [seek, seek+3000) of mel [n_mels][n_frames] into window [n_mels][3000], padding
 * with zeros past the end (the reference's pad_or_trim in the normalised domain). */
void auris__mel_window(const float *mel, int n_mels, int n_frames, int seek,
                       float *window /* [n_mels][3000] */);

/* In-place complex FFT of length n (any n; radix-2 and Bluestein/mixed internally as needed).
 * Exposed for unit tests. re/im have n entries. Returns 0 on success, -1 on allocation failure. */
int auris__fft(double *re, double *im, int n);
/* Reusable, thread-shareable plans (complex and real-input) are declared in audio/fft.h. */

#endif /* AURIS_AUDIO_H */
