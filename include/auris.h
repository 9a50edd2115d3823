/*
 * auris.h — the public interface of auris, OpenAI Whisper speech recognition in C.
 *
 * This header is the specification. Everything not declared here is internal.
 *
 * Objects
 *   auris_model    immutable weights, vocabulary and mel filterbank of one checkpoint. Shared:
 *                  any number of threads and sessions may use one model at the same time.
 *   auris_session  per-request state (KV caches, scratch) bound to one model. A
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
 *
 * Linking
 *   `pkg-config --cflags --libs auris` links libauris.so; `--static` adds the dependencies that
 *   libauris.a needs (link the archive itself with -l:libauris.a). Only the functions declared
 *   here are exported from libauris.so: the library is compiled with -fvisibility=hidden and
 *   this header's declarations are wrapped in a default-visibility pragma, so a new declaration
 *   here is public without further annotation, and nothing else is.
 */
#ifndef AURIS_H
#define AURIS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

/* The one home of the version: CMake (soname, auris.pc, the .deb) and pyproject.toml (the Python
 * wheel) read these three lines; keep them adjacent and in this order. The soname is
 * libauris.so.0.MINOR while MAJOR is 0 (every 0.x release may change the ABI), then
 * libauris.so.MAJOR. */
#define AURIS_VERSION_MAJOR 0
#define AURIS_VERSION_MINOR 1
#define AURIS_VERSION_PATCH 0

/* The version of the library actually linked, "MAJOR.MINOR.PATCH" (may differ from the macros
 * above when a program runs against a newer shared library). Static string; thread-safe. */
const char *auris_version(void);

/* Name of the matrix-product kernels in use on this CPU: "avx512" (AVX-512F: the encoder's GEMM
 * micro-kernel; the rest as avx2), "avx2" (AVX2 + FMA + F16C) or "generic" (portable C). Chosen
 * at first use from the CPU's features; AURIS_CPU=generic|avx2|avx512 in the environment forces
 * one the CPU has. Static string; thread-safe. */
const char *auris_kernels_isa(void);

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

/* The log-Mel spectrogram of `pcm` (16 kHz mono) followed by `padding` zero samples, as the
 * reference's log_mel_spectrogram(audio, n_mels, padding): periodic Hann window of 400, hop 160,
 * centred STFT with reflect padding (last frame dropped), power, the Slaney mel filterbank of
 * librosa (mel_filters.npz), log10 clamped at 1e-10, floored at max - 8, then (x + 4) / 4.
 * n_mels is 80 (every model but large-v3) or 128 (large-v3, turbo).
 * On success *mel (free with auris_free) is row-major [n_mels][*n_frames] with
 * *n_frames = (n_samples + padding) / 160. n_threads <= 1 computes on the calling thread.
 * Errors: INVALID_ARG (n_mels outside 1..256, NULL pointers), AUDIO (fewer than 160 samples
 * in all), NOMEM. Thread-safe. */
enum auris_err auris_log_mel_spectrogram(const float *pcm, size_t n_samples, size_t padding,
                                         int n_mels, int n_threads, float **mel, int *n_frames,
                                         struct auris_error *err);

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

/* How the model's weight matrices are held and multiplied, named as CTranslate2 /
 * faster-whisper name them (--compute_type). Activations are always computed in f32 on the CPU;
 * the type says which form the weights take at load (the model is immutable afterwards):
 *   DEFAULT       the weights as the file stores them (f32, f16, bf16, q8_0, CTranslate2 int8;
 *                 q4_0/q4_1/q5_0/q5_1 are widened to f16)
 *   FLOAT32       every weight matrix converted to f32 at load
 *   FLOAT16       every weight matrix converted to f16 at load (auris multiplies f16 weights
 *                 in f32 with F16C conversion, so unlike CTranslate2 this is efficient on CPUs)
 *   INT8          every Linear weight (attention, MLP, token embedding = output projection) of
 *                 encoder and decoder quantized per output row at load (scale 127 / max|row|,
 *                 CTranslate2's int8), activations quantized per row at run time, exact int32
 *                 dot products; the convolutions keep their stored type
 *   INT8_FLOAT32  INT8 with the convolutions converted to f32
 *   INT8_FLOAT16  INT8 with the convolutions converted to f16
 *   BFLOAT16      refused with AURIS_ERR_UNSUPPORTED on every CPU auris supports today (no native
 *                 bf16 arithmetic: CTranslate2 refuses it likewise); bf16 files still load with
 *                 DEFAULT, FLOAT32 or FLOAT16 */
enum auris_compute_type {
    AURIS_COMPUTE_DEFAULT = 0,
    AURIS_COMPUTE_FLOAT32,
    AURIS_COMPUTE_FLOAT16,
    AURIS_COMPUTE_BFLOAT16,
    AURIS_COMPUTE_INT8,
    AURIS_COMPUTE_INT8_FLOAT32,
    AURIS_COMPUTE_INT8_FLOAT16
};

/* The faster-whisper name of a compute type ("default", "float32", "int8_float16", ...); NULL
 * for a value outside the enum. Static string; thread-safe. */
const char *auris_compute_type_name(enum auris_compute_type type);
/* The compute type called `name` (the names above; "float" is float32 as in CTranslate2).
 * Returns 0, or -1 (and leaves *out alone) for an unknown or NULL name. Thread-safe. */
int auris_compute_type_from_name(const char *name, enum auris_compute_type *out);

struct auris_model_params {
    /* Directory searched for gpt2.tiktoken / multilingual.tiktoken when the checkpoint carries no
     * vocabulary (OpenAI .pt files). NULL: $AURIS_ASSETS, then the model's own directory, then the
     * cache directory ($AURIS_CACHE, $XDG_CACHE_HOME/auris, ~/.cache/auris). */
    const char *assets_dir;
    /* The official model this checkpoint is, e.g. "base.en": selects that model's published
     * alignment heads (its decoder shape must match, else AURIS_ERR_INVALID_ARG). NULL: all
     * heads of the decoder's second half, as the reference does for unnamed models. */
    const char *official_name;
    /* How the weights are held (see enum auris_compute_type). Default: AURIS_COMPUTE_DEFAULT. */
    enum auris_compute_type compute_type;
};

/* Defaults for auris_model_load. */
struct auris_model_params auris_model_default_params(void);

/* Loads a checkpoint: OpenAI .pt (zip + pickle), whisper.cpp ggml .bin (f32/f16/quantized),
 * auris's native GGUF-based file (docs/FORMAT.md, memory-mapped in place), or a Hugging Face
 * directory (or its config.json / *.safetensors / index file). The format is detected from the
 * file's bytes, never its name. Every tensor's name, shape and size is validated; a malformed file gives
 * AURIS_ERR_FORMAT with a message naming the tensor or structure. `params` may be NULL.
 * params->compute_type outside the enum is AURIS_ERR_INVALID_ARG, BFLOAT16 AURIS_ERR_UNSUPPORTED
 * (see enum auris_compute_type); conversions it asks for happen here, once.
 * On success *out is a model to release with auris_model_free. Thread-safe. */
enum auris_err auris_model_load(const char *path, const struct auris_model_params *params,
                                auris_model **out, struct auris_error *err);

/* The compute type the model was loaded with (its params' compute_type; DEFAULT when it was
 * loaded without params). Thread-safe. */
enum auris_compute_type auris_model_compute_type(const auris_model *model);

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
    /* Threads for matrix products: the calling thread plus up to n_threads - 1 of the
     * process-wide helper threads (online CPUs - 1 in all, shared by every session; a session
     * whose helpers are busy with another session's product computes on its caller alone).
     * 1: everything on the calling thread. <= 0: number of online CPUs. */
    int n_threads;
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

/* Follows openai/whisper transcribe() and DecodingOptions field by field. Floats documented
 * "NaN = None" take NaN where the reference takes None. */

enum auris_task { AURIS_TASK_TRANSCRIBE = 0, AURIS_TASK_TRANSLATE = 1 };

struct auris_segment;

/* Called once per decoded segment, in order, during auris_transcribe_pcm — the segments the
 * reference prints in verbose mode, before empty or zero-length ones are cleared in the result.
 * The segment is only valid during the call. Return false to cancel (AURIS_ERR_CANCELLED). */
typedef bool (*auris_segment_fn)(void *user, const struct auris_segment *segment);

/* Called after each window: `done` of `total` content mel frames (10 ms each) are processed.
 * Return false to cancel (AURIS_ERR_CANCELLED). */
typedef bool (*auris_progress_fn)(void *user, int64_t done, int64_t total);

/* Called once, before any segment, when the language was detected (language == NULL on a
 * multilingual model): `code` ("en") and probs[0..n_probs-1] in auris_language_code order.
 * Only valid during the call. Return false to cancel (AURIS_ERR_CANCELLED). */
typedef bool (*auris_language_fn)(void *user, const char *code, const float *probs, int n_probs);

/* Polled between decoding steps (before every window's encoder pass and before every decoder
 * step of the token loop, beams and fallbacks included) with the params' `user`. Return true to
 * stop: the transcription then returns AURIS_ERR_CANCELLED within one step and no result. May be
 * called from the thread that called auris_transcribe_pcm only; must be cheap (it runs once per
 * token) and must not call back into the library with the same session. */
typedef bool (*auris_abort_fn)(void *user);

struct auris_transcribe_params {
    const char *language;        /* code or name; NULL: detect from the first 30 s */
    enum auris_task task;        /* TRANSCRIBE (default) or TRANSLATE (X -> English) */
    /* Temperatures tried in order, falling back to the next one when a window's result is too
     * repetitive (compression_ratio_threshold) or improbable (logprob_threshold). NULL: the
     * default (0, 0.2, 0.4, 0.6, 0.8, 1). The array is read during the call only. */
    const double *temperatures;
    int n_temperatures;          /* entries in `temperatures` (1 .. 256) */
    int beam_size;               /* beams at temperature 0; <= 1: greedy. Default 5 */
    int best_of;                 /* independent samples at temperature > 0; <= 1: one. Default 5 */
    int sample_len;              /* most tokens sampled per window, 1 .. n_text_ctx/2 (224 for
                                  * the official models); 0 (default): n_text_ctx/2, as the
                                  * reference's DecodingOptions.sample_len = None */
    float patience;              /* beam search patience (> 0); NaN = None (1.0) */
    float length_penalty;        /* in [0, 1]; NaN = None (rank by sum_logprob / length) */
    uint64_t seed;               /* seed of the sampling random generator; default 0 */
    bool without_timestamps;     /* decode text only (<|notimestamps|>); default false */
    float max_initial_timestamp; /* seconds; the first timestamp is at most this; default 1.0 */
    const char *suppress_tokens; /* comma-separated ids; "-1" = the reference's non-speech set */
    bool suppress_blank;         /* suppress " " and <|endoftext|> at the first step; true */
    const char *initial_prompt;  /* text given as previous context to the first window, or NULL */
    bool carry_initial_prompt;   /* prepend initial_prompt to every window's prompt; false */
    const char *prefix;          /* text forced at the start of every window's output, or NULL */
    bool condition_on_previous_text; /* previous windows' text as the next prompt; true */
    float compression_ratio_threshold; /* fall back above this zlib ratio; 2.4; NaN = None */
    float logprob_threshold;     /* fall back below this average log-probability; -1; NaN = None */
    float no_speech_threshold;   /* skip a window as silence above this no-speech probability
                                  * when its avg logprob is below logprob_threshold; 0.6;
                                  * NaN = None */
    /* clip_timestamps: start,end,start,end,... seconds (>= 0) of the parts to transcribe; an
     * odd count means the last clip runs to the end. n == 0: the whole input. */
    const double *clip_timestamps;
    int n_clip_timestamps;
    /* Word-level timestamps from the alignment heads' cross-attention (DTW), as the reference's
     * timing.py: segments then carry `words` and their bounds follow the words. The punctuation
     * sets (NULL: the reference's) are the words' merging rules. hallucination_silence_threshold
     * (seconds) only acts with word timestamps: silence around anomalous segments is skipped. */
    bool word_timestamps;
    const char *prepend_punctuations;
    const char *append_punctuations;
    float hallucination_silence_threshold; /* seconds; NaN = None */
    auris_segment_fn on_segment;   /* optional streaming of segments */
    auris_progress_fn on_progress; /* optional */
    auris_language_fn on_language; /* optional */
    auris_abort_fn should_abort;   /* optional: cancellation, e.g. a client that went away */
    void *user;                    /* passed to the callbacks */
};

/* The reference transcribe()'s defaults with the reference CLI's beam_size 5 / best_of 5. */
struct auris_transcribe_params auris_transcribe_default_params(void);

/* One word with its time span (word-level timestamps). */
struct auris_word {
    char *word;               /* UTF-8, with its leading space as the reference keeps it */
    double start, end;        /* seconds */
    double probability;
};

struct auris_segment {
    int id;
    int seek;                 /* window start, in mel frames (10 ms) */
    double start, end;        /* seconds */
    char *text;               /* UTF-8, as decoded (not stripped) */
    int *tokens;              /* the segment's tokens, timestamps included, as the reference */
    int n_tokens;
    double temperature;       /* temperature of the decoding that was kept */
    double avg_logprob;
    double compression_ratio;
    double no_speech_prob;
    /* The reference's "words" entry: present (has_words) with word timestamps, and — a quirk of
     * the reference kept for identical output — as an empty list on segments cleared for being
     * empty or instantaneous. */
    struct auris_word *words;
    int n_words;
    bool has_words;
};

struct auris_result {
    char *text;               /* UTF-8 transcript of the whole input (the reference's "text") */
    char language[16];        /* code of the language used ("en") */
    float *language_probs;    /* [n_language_probs], auris_language_code order, when the
                               * language was detected; else NULL */
    int n_language_probs;
    struct auris_segment *segments;
    int n_segments;
};

/* Transcribes 16 kHz mono PCM as the reference's transcribe(): 30 s windows with the sequential
 * seek algorithm, temperature fallback, no-speech skip, previous text as prompt.
 * On success *out holds a result to free with auris_result_free.
 * Errors: INVALID_ARG (bad params, e.g. unknown language), UNSUPPORTED (an option this version
 * does not implement), CANCELLED (a callback returned false or should_abort returned true),
 * NOMEM. Not thread-safe per session. */
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

/* ---- voice activity detection (Silero VAD) ------------------------------------------------ */

/* Silero VAD v6 (silero-vad 6.2.0): one speech probability per window of AURIS_VAD_WINDOW
 * samples of 16 kHz audio, each window seeing the previous AURIS_VAD_CONTEXT samples too, with an
 * LSTM state carried from window to window. */
#define AURIS_VAD_WINDOW 512
#define AURIS_VAD_CONTEXT 64

typedef struct auris_vad auris_vad;               /* immutable weights; shareable by threads */
typedef struct auris_vad_stream auris_vad_stream; /* per-stream state (context, LSTM, scratch) */

/* Loads whisper.cpp's ggml Silero VAD file (e.g. ggml-silero-v6.2.0.bin) or auris's native VAD
 * file (`auris convert` of it; docs/FORMAT.md), told apart by the first bytes. Every tensor's
 * name, type, shape and values (and a native file's CRC-32) are validated: a malformed, truncated or hostile file gives
 * AURIS_ERR_FORMAT naming the file and what is wrong; AURIS_ERR_IO when it cannot be read.
 * On success *out is a model to release with auris_vad_free. Thread-safe. */
enum auris_err auris_vad_load(const char *path, auris_vad **out, struct auris_error *err);

/* Releases a VAD model; every stream made from it must have been freed first. NULL-safe. */
void auris_vad_free(auris_vad *vad);

/* Creates the state of one audio stream (zero context and LSTM state); all memory of the forward
 * pass is allocated here. The model must outlive the stream. One thread at a time per stream;
 * any number of streams may share a model. Errors: INVALID_ARG, NOMEM. */
enum auris_err auris_vad_stream_create(const auris_vad *vad, auris_vad_stream **out,
                                       struct auris_error *err);

/* Releases a stream. NULL-safe. */
void auris_vad_stream_free(auris_vad_stream *stream);

/* Forgets all audio fed so far (as a new stream). NULL-safe. */
void auris_vad_stream_reset(auris_vad_stream *stream);

/* How many probabilities the next auris_vad_stream_feed of n_samples will produce (the complete
 * windows among the buffered samples plus these). 0 for a NULL stream. */
size_t auris_vad_stream_pending(const auris_vad_stream *stream, size_t n_samples);

/* Appends n_samples of 16 kHz mono PCM in [-1, 1] to the stream and writes the speech probability
 * of every window completed by them to probs[0..*n_probs), in order; samples of an incomplete
 * window are kept for the next call. `capacity` must be at least
 * auris_vad_stream_pending(stream, n_samples), else INVALID_ARG and nothing is consumed.
 * Feeding audio piece by piece gives exactly the probabilities of feeding it at once. */
enum auris_err auris_vad_stream_feed(auris_vad_stream *stream, const float *pcm,
                                     size_t n_samples, float *probs, size_t capacity,
                                     size_t *n_probs, struct auris_error *err);

/* Ends the stream: the buffered partial window, zero-padded, gives one last probability in
 * *prob. Returns 1 when it did, 0 when no samples were buffered (or stream/prob is NULL). */
int auris_vad_stream_flush(auris_vad_stream *stream, float *prob);

/* The probabilities of a whole buffer: ceil(n_samples / AURIS_VAD_WINDOW) values in *probs
 * (free with auris_free), the last window zero-padded. Thread-safe (uses its own stream). */
enum auris_err auris_vad_probs(const auris_vad *vad, const float *pcm, size_t n_samples,
                               float **probs, size_t *n_probs, struct auris_error *err);

/* Options of speech segmentation, as silero-vad's get_speech_timestamps (and whisper.cpp's
 * --vad_* options). */
struct auris_vad_params {
    double threshold;            /* speech when prob >= threshold; 0.5 */
    double neg_threshold;        /* speech ends below it; NaN: max(threshold - 0.15, 0.01) */
    int min_speech_duration_ms;  /* shorter segments are dropped; 250 */
    double max_speech_duration_s; /* longer segments are split at their longest silence
                                  * (> 98 ms), else cut; INFINITY: no limit */
    int min_silence_duration_ms; /* silences shorter than this are bridged; 100 */
    int speech_pad_ms;           /* padding added on each side of a segment; 30 */
    double samples_overlap;      /* seconds of audio kept past each segment's end when speech
                                  * is cut out for transcription; 0.1 */
};

/* whisper.cpp's / silero-vad's defaults, listed above. */
struct auris_vad_params auris_vad_default_params(void);

/* A speech segment, in samples of the 16 kHz input: [start, end). */
struct auris_vad_segment {
    int64_t start, end;
};

/* Speech segments from probabilities (as auris_vad_probs gives them) of n_samples of audio, as
 * get_speech_timestamps computes them. `params` may be NULL (defaults). *segments (free with
 * auris_free; NULL when none) holds *n_segments ordered segments. Errors: INVALID_ARG for an
 * out-of-range option, NOMEM. Thread-safe. */
enum auris_err auris_vad_segments_from_probs(const float *probs, size_t n_probs,
                                             size_t n_samples,
                                             const struct auris_vad_params *params,
                                             struct auris_vad_segment **segments,
                                             size_t *n_segments, struct auris_error *err);

/* auris_vad_probs followed by auris_vad_segments_from_probs. Thread-safe. */
enum auris_err auris_vad_segments(const auris_vad *vad, const float *pcm, size_t n_samples,
                                  const struct auris_vad_params *params,
                                  struct auris_vad_segment **segments, size_t *n_segments,
                                  struct auris_error *err);

/* ---- transcription of voice activity ------------------------------------------------------ */

#define AURIS_MAX_BATCH 16 /* chunks decoded together by the batched pipeline */

/* Transcribes only the speech `vad` finds in 16 kHz mono PCM: speech segments as
 * auris_vad_segments (`vad_params`, NULL: defaults; max_speech_duration_s is capped at 30 s),
 * each segment but the last keeping samples_overlap seconds past its end (never past the next
 * segment's start), concatenated in order
 * into chunks of at most 30 s (as faster-whisper's collect_chunks); segment and word times are
 * mapped back onto the original timeline. Audio without speech gives a result with no segments
 * and runs no decoder pass.
 * batch_size 0: each chunk is transcribed as auris_transcribe_pcm would with every option in
 *   `params` (conditioning on previous text stays within a chunk; a language detected in the
 *   first chunk is kept for the rest).
 * batch_size 1..AURIS_MAX_BATCH: the batched pipeline. Each chunk is one window; batch_size
 *   chunks are encoded and decoded together as one batch of greedy sequences. It fixes: the first
 *   temperature only (no fallback), no conditioning on previous text, no initial prompt, beam
 *   size and best_of 1; word timestamps, a prefix, a patience, a length penalty and a
 *   temperature other than 0 are refused (INVALID_ARG). The tokens of a chunk do not depend on
 *   batch_size.
 * clip_timestamps cannot be combined with VAD (INVALID_ARG). Callbacks see mapped segments.
 * Errors: as auris_transcribe_pcm, and those of auris_vad_segments. Not thread-safe per
 * session; `vad` may be shared. */
enum auris_err auris_transcribe_vad(auris_session *session, const auris_vad *vad,
                                    const struct auris_vad_params *vad_params, int batch_size,
                                    const float *pcm, size_t n_samples,
                                    const struct auris_transcribe_params *params,
                                    struct auris_result **out, struct auris_error *err);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif
#endif /* AURIS_H */
