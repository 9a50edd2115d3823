/*
 * install_demo.c — a program outside the project that uses an installed libauris the way any C
 * program would: `cc install_demo.c $(pkg-config --cflags --libs auris)`. Run by install.cmake's
 * tests against a temporary prefix and against the installed .deb.
 *
 * It checks that the library it runs against reports the version of the header it was built
 * with, names its kernels, computes a log-Mel spectrogram of a synthetic tone with the
 * documented shape, and reports a missing model as an error with a message (never a crash).
 * Prints one line per check; exit 0 when all pass.
 */
#include <auris.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

int main(void)
{
    int failed = 0;
    const char *want = STR(AURIS_VERSION_MAJOR) "." STR(AURIS_VERSION_MINOR) "." STR(
        AURIS_VERSION_PATCH);
    const char *isa = auris_kernels_isa();
    printf("auris_version %s (header %s), kernels %s\n", auris_version(), want, isa);
    failed |= strcmp(auris_version(), want) != 0;
    failed |= !isa || (strcmp(isa, "avx512") != 0 && strcmp(isa, "avx2") != 0 &&
                       strcmp(isa, "generic") != 0);

    enum { N = AURIS_SAMPLE_RATE }; /* one second of 440 Hz */
    float *pcm = malloc(N * sizeof *pcm);
    if (!pcm)
        return 1;
    for (int i = 0; i < N; i++)
        pcm[i] = 0.5f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / AURIS_SAMPLE_RATE);
    float *mel = NULL;
    int frames = 0;
    struct auris_error err = {0};
    enum auris_err rc = auris_log_mel_spectrogram(pcm, N, 0, 80, 1, &mel, &frames, &err);
    printf("log-Mel: rc %d, %d frames, mel[0] %.4f\n", (int)rc, frames, mel ? mel[0] : 0.0);
    failed |= rc != AURIS_OK || frames != N / AURIS_HOP_LENGTH;
    auris_free(mel);
    free(pcm);

    auris_model *model = NULL;
    rc = auris_model_load("/nonexistent/model.pt", NULL, &model, &err);
    printf("missing model: rc %d (%s): %s\n", (int)rc, auris_strerror(rc), err.message);
    failed |= rc == AURIS_OK || model != NULL || err.message[0] == '\0';
    printf("%s\n", failed ? "FAIL" : "PASS");
    return failed;
}
