/*
 * auris.h — the public interface of auris, OpenAI Whisper speech recognition in C.
 *
 * This header is the specification. Everything not declared here is internal.
 *
 * Objects
 *   auris_model    immutable weights, vocabulary and mel filterbank of one checkpoint. Shared:
 *                  any number of threads and sessions may use one model at the same time.
 *   auris_session  per-request state (KV caches, scratch, thread pool) bound to one model. A
 *                  session is used by one thread at a time; create one per concurrent request.
 *   auris_result   the output of a transcription: plain data, owned by the caller, freed with
 *                  auris_result_free().
 *
 * Errors
 *   Every fallible call returns enum auris_err and, when `err` is non-NULL, fills it with the code
 *   and a one-line, human-readable message naming what went wrong (the file, the tensor, the
 *   option). The library never prints, exits or aborts; diagnostics go to the log callback.
 *
 * Ownership
 *   Pointers returned through `out` parameters are owned by the caller and released with the
 *   matching *_free function (all of which accept NULL). Strings passed in are copied when kept.
 */
#ifndef AURIS_H
#define AURIS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AURIS_VERSION_MAJOR 0
#define AURIS_VERSION_MINOR 1
#define AURIS_VERSION_PATCH 0

/* Audio constants of every Whisper model. */
#define AURIS_SAMPLE_RATE 16000
#define AURIS_N_FFT 400
#define AURIS_HOP_LENGTH 160
#define AURIS_CHUNK_SECONDS 30
#define AURIS_N_SAMPLES (AURIS_SAMPLE_RATE * AURIS_CHUNK_SECONDS) /* 480000 */
#define AURIS_N_FRAMES (AURIS_N_SAMPLES / AURIS_HOP_LENGTH)       /* 3000 */

enum auris_err {
    AURIS_OK = 0,
    AURIS_ERR_INVALID_ARG,  /* a parameter or option value is out of range or malformed */
    AURIS_ERR_NOMEM,        /* an allocation failed */
    AURIS_ERR_IO,           /* a file could not be opened, read, mapped or written */
    AURIS_ERR_FORMAT,       /* a model or vocabulary file is malformed, truncated or hostile */
    AURIS_ERR_AUDIO,        /* audio input is empty, corrupt or not audio */
    AURIS_ERR_UNSUPPORTED,  /* valid request that this version does not implement */
    AURIS_ERR_NOT_FOUND,    /* a required file (e.g. a vocabulary) could not be located */
    AURIS_ERR_TOKENIZER,    /* text could not be tokenized */
    AURIS_ERR_CANCELLED,    /* a callback asked to stop */
    AURIS_ERR_INTERNAL      /* a broken invariant; please report it */
};

/* Static English description of a code; never NULL. Thread-safe. */
const char *auris_strerror(enum auris_err code);

#define AURIS_ERROR_MESSAGE_SIZE 512
/* Filled by fallible calls when non-NULL. `message` is one line, NUL-terminated. */
struct auris_error {
    enum auris_err code;
    char message[AURIS_ERROR_MESSAGE_SIZE];
};

/* ---- logging ------------------------------------------------------------------------------ */

enum auris_log_level { AURIS_LOG_ERROR = 0, AURIS_LOG_WARN, AURIS_LOG_INFO, AURIS_LOG_DEBUG };

/* Receives every diagnostic the library emits. `msg` is one line without a trailing newline and
 * is only valid during the call. May be called from any thread that calls into the library. */
typedef void (*auris_log_fn)(void *user, enum auris_log_level level, const char *msg);

/* Installs the process-wide log callback (NULL: discard, the default). Not thread-safe with
 * respect to other library calls: set it once at start-up. */
void auris_set_log_callback(auris_log_fn fn, void *user);

/* ---- audio -------------------------------------------------------------------------------- */

/* Decodes any file FFmpeg can read ("-" reads standard input), downmixes and resamples it to
 * 16 kHz mono float32 in [-1, 1), as `ffmpeg -i FILE -f s16le -ac 1 -ar 16000` does.
 * On success *pcm (free with auris_free) holds *n_samples > 0 samples.
 * Errors: AURIS_ERR_IO (cannot open), AURIS_ERR_AUDIO (empty, corrupt, no audio stream).
 * Thread-safe. */
enum auris_err auris_audio_load(const char *path, float **pcm, size_t *n_samples,
                                struct auris_error *err);

/* Releases memory the library handed to the caller (PCM buffers, strings). NULL-safe. */
void auris_free(void *p);

/* ---- model -------------------------------------------------------------------------------- */

typedef struct auris_model auris_model;

struct auris_model_dims {
    int n_mels;
    int n_audio_ctx;
    int n_audio_state;
    int n_audio_head;
    int n_audio_layer;
    int n_vocab;
    int n_text_ctx;
    int n_text_state;
    int n_text_head;
    int n_text_layer;
};

struct auris_model_params {
    /* Directory searched for gpt2.tiktoken / multilingual.tiktoken when the checkpoint carries no
     * vocabulary (OpenAI .pt files). NULL: $AURIS_ASSETS, then the model's own directory, then the
     * cache directory ($AURIS_CACHE, $XDG_CACHE_HOME/auris, ~/.cache/auris). */
    const char *assets_dir;
};

/* Defaults for auris_model_load. */
struct auris_model_params auris_model_default_params(void);

/* Loads a checkpoint: OpenAI .pt (zip + pickle) or whisper.cpp ggml .bin; the format is detected
 * from the file's bytes. Every tensor's name, shape and size is validated; a malformed file gives
 * AURIS_ERR_FORMAT with a message naming the tensor or structure. `params` may be NULL.
 * On success *out is a model to release with auris_model_free. Thread-safe. */
enum auris_err auris_model_load(const char *path, const struct auris_model_params *params,
                                auris_model **out, struct auris_error *err);

/* Releases a model. Every session made from it must have been freed first. NULL-safe. */
void auris_model_free(auris_model *model);

/* The model's dimensions; valid while the model lives. */
const struct auris_model_dims *auris_model_get_dims(const auris_model *model);

/* True when the model has the multilingual vocabulary (n_vocab >= 51865). */
bool auris_model_is_multilingual(const auris_model *model);

/* Number of language tokens the model knows: 99, 100 (large-v3) or 0 for English-only models. */
int auris_model_n_languages(const auris_model *model);

/* ---- languages ---------------------------------------------------------------------------- */

/* Language table in the reference's order (index 0 = "en"). Returns NULL past the end. */
const char *auris_language_code(int index);
const char *auris_language_name(int index);
/* Index of a language given by code ("de") or English name, case-insensitive ("German");
 * -1 when unknown. */
int auris_language_index(const char *code_or_name);

/* ---- session ------------------------------------------------------------------------------ */

typedef struct auris_session auris_session;

struct auris_session_params {
    int n_threads; /* worker threads for matrix products; <= 0: number of online CPUs */
};

struct auris_session_params auris_session_default_params(void);

/* Creates the per-request state for `model`: KV caches and scratch are allocated here, once, so
 * that forward passes allocate nothing. `params` may be NULL. The model must outlive the
 * session. Thread-safe (the model is only read). */
enum auris_err auris_session_create(const auris_model *model,
                                    const struct auris_session_params *params,
                                    auris_session **out, struct auris_error *err);

/* Releases a session. NULL-safe. */
void auris_session_free(auris_session *session);

/* ---- transcription ------------------------------------------------------------------------ */

enum auris_task { AURIS_TASK_TRANSCRIBE = 0, AURIS_TASK_TRANSLATE = 1 };

struct auris_segment;

/* Called once per finished segment, in order, during auris_transcribe_pcm. The segment is only
 * valid during the call. Return false to cancel (the call then fails with AURIS_ERR_CANCELLED). */
typedef bool (*auris_segment_fn)(void *user, const struct auris_segment *segment);

struct auris_transcribe_params {
    const char *language;        /* code or name; NULL: detect from the first 30 s */
    enum auris_task task;        /* default TRANSCRIBE */
    float temperature;           /* 0: greedy (the only value this version decodes) */
    int beam_size;               /* 1 (beam search arrives later; >1 is UNSUPPORTED) */
    bool without_timestamps;     /* true (timestamp decoding arrives later; false is UNSUPPORTED) */
    const char *suppress_tokens; /* comma-separated ids; "-1" = the reference's default set */
    bool suppress_blank;         /* suppress " " and <|endoftext|> at the first step */
    const char *initial_prompt;  /* text given as previous context to the first window, or NULL */
    bool condition_on_previous_text; /* feed each window's text as the next window's prompt */
    float no_speech_threshold;   /* 0.6; NaN disables the no-speech skip */
    float logprob_threshold;     /* -1.0; NaN disables */
    float compression_ratio_threshold; /* 2.4; NaN disables (used by fallback, arriving later) */
    auris_segment_fn on_segment; /* optional streaming callback */
    void *user;                  /* passed to on_segment */
};

/* The reference CLI's defaults, restricted to what this version implements. */
struct auris_transcribe_params auris_transcribe_default_params(void);

struct auris_segment {
    int id;
    int seek;                 /* window start, in mel frames (10 ms) */
    double start, end;        /* seconds */
    char *text;               /* UTF-8 */
    int *tokens;              /* text tokens of the segment */
    int n_tokens;
    float temperature;
    double avg_logprob;
    double compression_ratio;
    double no_speech_prob;
};

struct auris_result {
    char *text;               /* UTF-8 transcript of the whole input */
    char language[16];        /* code of the language used ("en") */
    struct auris_segment *segments;
    int n_segments;
};

/* Transcribes 16 kHz mono PCM. On success *out holds a result to free with auris_result_free.
 * Errors: INVALID_ARG (bad params, e.g. unknown language), UNSUPPORTED (an option this version
 * does not implement), NOMEM. Not thread-safe per session. */
enum auris_err auris_transcribe_pcm(auris_session *session, const float *pcm, size_t n_samples,
                                    const struct auris_transcribe_params *params,
                                    struct auris_result **out, struct auris_error *err);

/* Releases a result. NULL-safe. */
void auris_result_free(struct auris_result *result);

/* Detects the spoken language from the first 30 s of `pcm`. Fills probs[0..n_languages-1] (in
 * auris_language_code order) when `probs` is non-NULL and returns the best index in *lang.
 * Errors: UNSUPPORTED for English-only models. */
enum auris_err auris_detect_language(auris_session *session, const float *pcm, size_t n_samples,
                                     int *lang, float *probs, struct auris_error *err);

#ifdef __cplusplus
}
#endif
#endif /* AURIS_H */
