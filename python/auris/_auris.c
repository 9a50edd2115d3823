/*
 * _auris.c — the CPython extension module auris._auris: libauris (linked statically, with the
 * model hub auris_hub) exposed through the CPython C API. The Python package (model.py,
 * audio.py) turns the reference's keyword arguments into the plain values this module takes.
 *
 * Reference: include/auris.h is the contract; the result dict has the shape of openai/whisper
 * transcribe()'s ({"text", "segments": [{id, seek, start, end, text, tokens, temperature,
 * avg_logprob, compression_ratio, no_speech_prob[, words]}], "language"}).
 *
 * Invariants
 *   - The GIL is released around every call into the library that can take time (model load,
 *     audio decoding, log-Mel, transcription, language detection, downloads), so Python threads
 *     run transcriptions at the same time. Library callbacks arrive on the calling thread and
 *     re-take the GIL (PyEval_RestoreThread) only for as long as they run Python code.
 *   - A Model owns an auris_model and a small stack of idle sessions (pushed and popped with the
 *     GIL held); each call takes one session, so concurrent calls never share a session.
 *   - A failure raises auris.AurisError carrying the library's one-line message and its code; a
 *     Python exception raised inside a callback (or KeyboardInterrupt) cancels the work and is
 *     re-raised as is.
 *   - Audio crosses the boundary as float32 buffers (buffer protocol in, bytearray out), so the
 *     module needs no NumPy headers; the Python side wraps them with numpy.frombuffer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <auris.h>

#include "hub/hub.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDLE_SESSIONS 8
#define MAX_LIST 4096 /* temperatures, clip timestamps */

static PyObject *AurisError; /* auris.AurisError(RuntimeError), attributes code and reason */

static PyObject *raise_auris(const struct auris_error *e, enum auris_err rc)
{
    enum auris_err code = e->code != AURIS_OK ? e->code : rc;
    const char *msg = e->message[0] ? e->message : auris_strerror(code);
    PyObject *exc = PyObject_CallFunction(AurisError, "s", msg);
    if (!exc)
        return NULL;
    PyObject *c = PyLong_FromLong((long)code);
    PyObject *r = PyUnicode_FromString(auris_strerror(code));
    if (c && r && PyObject_SetAttrString(exc, "code", c) == 0 &&
        PyObject_SetAttrString(exc, "reason", r) == 0)
        PyErr_SetObject(AurisError, exc);
    Py_XDECREF(c);
    Py_XDECREF(r);
    Py_DECREF(exc);
    return NULL;
}

/* ---- float32 buffers ------------------------------------------------------------------------ */

/* Gets a C-contiguous float32 view of `obj`. Returns 0, or -1 with an exception set. */
static int get_f32(PyObject *obj, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    if (view->itemsize != 4 || strcmp(f, "f") != 0) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_TypeError, "audio must be a float32 array");
        return -1;
    }
    return 0;
}

static PyObject *bytearray_f32(const float *x, size_t n)
{
    if (n > (size_t)PY_SSIZE_T_MAX / sizeof(float))
        return PyErr_NoMemory();
    return PyByteArray_FromStringAndSize((const char *)x, (Py_ssize_t)(n * sizeof(float)));
}

/* ---- callbacks: re-take the GIL on the thread that released it -------------------------------- */

struct call_ctx {
    PyThreadState *ts;   /* saved by PyEval_SaveThread while the library works */
    PyObject *on_segment, *on_progress, *on_language, *on_download;
    int py_error;        /* a callback raised: the exception is pending in ts */
};

static void ctx_release(struct call_ctx *c)
{
    c->ts = PyEval_SaveThread();
}

static void ctx_acquire(struct call_ctx *c)
{
    PyEval_RestoreThread(c->ts);
}

/* Calls fn(args) with the GIL; false (cancel) when it raised or a signal handler raised. */
static bool ctx_call(struct call_ctx *c, PyObject *fn, PyObject *args)
{
    ctx_acquire(c);
    bool ok = true;
    if (!args) {
        ok = false;
    } else {
        if (fn) {
            PyObject *r = PyObject_CallObject(fn, args);
            ok = r != NULL;
            Py_XDECREF(r);
        }
        Py_DECREF(args);
    }
    if (ok && PyErr_CheckSignals() != 0)
        ok = false;
    if (!ok)
        c->py_error = 1;
    ctx_release(c);
    return ok;
}

static PyObject *segment_dict(const struct auris_segment *s);

static bool cb_segment(void *user, const struct auris_segment *seg)
{
    struct call_ctx *c = user;
    if (!c->on_segment)
        return true;
    ctx_acquire(c);
    PyObject *d = segment_dict(seg);
    PyObject *args = d ? PyTuple_Pack(1, d) : NULL;
    Py_XDECREF(d);
    if (!args)
        c->py_error = 1;
    ctx_release(c);
    return args ? ctx_call(c, c->on_segment, args) : false;
}

static bool cb_progress(void *user, int64_t done, int64_t total)
{
    struct call_ctx *c = user;
    ctx_acquire(c);
    PyObject *args = Py_BuildValue("(LL)", (long long)done, (long long)total);
    ctx_release(c);
    return ctx_call(c, c->on_progress, args);
}

static bool cb_language(void *user, const char *code, const float *probs, int n)
{
    struct call_ctx *c = user;
    if (!c->on_language)
        return true;
    ctx_acquire(c);
    PyObject *list = PyList_New(n);
    for (int i = 0; list && i < n; i++) {
        PyObject *v = PyFloat_FromDouble((double)probs[i]);
        if (!v) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, v);
    }
    PyObject *args = list ? Py_BuildValue("(sN)", code, list) : NULL;
    ctx_release(c);
    return ctx_call(c, c->on_language, args);
}

static int cb_download(void *user, enum auris_hub_phase phase, const char *file, uint64_t done,
                       uint64_t total)
{
    struct call_ctx *c = user;
    ctx_acquire(c);
    PyObject *args = Py_BuildValue("(ssKK)", phase == AURIS_HUB_DOWNLOAD ? "download" : "verify",
                                   file, (unsigned long long)done, (unsigned long long)total);
    ctx_release(c);
    return ctx_call(c, c->on_download, args) ? 0 : 1;
}

/* ---- result -> dict ----------------------------------------------------------------------- */

static PyObject *text_obj(const char *s)
{
    /* tiktoken's decode(errors="replace"): invalid UTF-8 becomes U+FFFD */
    return PyUnicode_DecodeUTF8(s ? s : "", s ? (Py_ssize_t)strlen(s) : 0, "replace");
}

static int set_item(PyObject *d, const char *key, PyObject *v)
{
    if (!v)
        return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *words_list(const struct auris_segment *s)
{
    PyObject *list = PyList_New(s->n_words);
    for (int i = 0; list && i < s->n_words; i++) {
        const struct auris_word *w = &s->words[i];
        PyObject *d = PyDict_New();
        if (!d || set_item(d, "word", text_obj(w->word)) ||
            set_item(d, "start", PyFloat_FromDouble(w->start)) ||
            set_item(d, "end", PyFloat_FromDouble(w->end)) ||
            set_item(d, "probability", PyFloat_FromDouble(w->probability))) {
            Py_XDECREF(d);
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, d);
    }
    return list;
}

static PyObject *segment_dict(const struct auris_segment *s)
{
    PyObject *d = PyDict_New();
    PyObject *tokens = PyList_New(s->n_tokens);
    for (int i = 0; tokens && i < s->n_tokens; i++) {
        PyObject *t = PyLong_FromLong(s->tokens[i]);
        if (!t) {
            Py_CLEAR(tokens);
            break;
        }
        PyList_SET_ITEM(tokens, i, t);
    }
    if (!d || !tokens || set_item(d, "id", PyLong_FromLong(s->id)) ||
        set_item(d, "seek", PyLong_FromLong(s->seek)) ||
        set_item(d, "start", PyFloat_FromDouble(s->start)) ||
        set_item(d, "end", PyFloat_FromDouble(s->end)) || set_item(d, "text", text_obj(s->text)) ||
        PyDict_SetItemString(d, "tokens", tokens) ||
        set_item(d, "temperature", PyFloat_FromDouble(s->temperature)) ||
        set_item(d, "avg_logprob", PyFloat_FromDouble(s->avg_logprob)) ||
        set_item(d, "compression_ratio", PyFloat_FromDouble(s->compression_ratio)) ||
        set_item(d, "no_speech_prob", PyFloat_FromDouble(s->no_speech_prob)) ||
        (s->has_words && set_item(d, "words", words_list(s)))) {
        Py_XDECREF(d);
        Py_XDECREF(tokens);
        return NULL;
    }
    Py_DECREF(tokens);
    return d;
}

static PyObject *result_dict(const struct auris_result *r)
{
    PyObject *d = PyDict_New();
    PyObject *segs = PyList_New(r->n_segments);
    for (int i = 0; segs && i < r->n_segments; i++) {
        PyObject *s = segment_dict(&r->segments[i]);
        if (!s) {
            Py_CLEAR(segs);
            break;
        }
        PyList_SET_ITEM(segs, i, s);
    }
    if (!d || !segs || set_item(d, "text", text_obj(r->text)) ||
        PyDict_SetItemString(d, "segments", segs) ||
        set_item(d, "language", PyUnicode_FromString(r->language))) {
        Py_XDECREF(d);
        Py_XDECREF(segs);
        return NULL;
    }
    Py_DECREF(segs);
    return d;
}

/* ---- Model ---------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    auris_model *model;
    int n_threads;
    auris_session *idle[MAX_IDLE_SESSIONS]; /* sessions not in use; GIL-protected */
    int n_idle;
} ModelObject;

static void Model_dealloc(ModelObject *self)
{
    for (int i = 0; i < self->n_idle; i++)
        auris_session_free(self->idle[i]);
    self->n_idle = 0;
    auris_model_free(self->model);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "assets_dir", "official_name", "threads", "compute_type",
                             NULL};
    PyObject *path_obj = NULL;
    const char *assets = NULL, *official = NULL, *compute = NULL;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|zziz", kwlist, PyUnicode_FSConverter,
                                     &path_obj, &assets, &official, &threads, &compute))
        return -1;
    enum auris_compute_type ct = AURIS_COMPUTE_DEFAULT;
    if (compute && auris_compute_type_from_name(compute, &ct) != 0) {
        Py_DECREF(path_obj);
        PyErr_Format(PyExc_ValueError,
                     "compute_type '%s': expected default, float32, float16, bfloat16, int8, "
                     "int8_float32 or int8_float16", compute);
        return -1;
    }
    if (self->model) {
        Py_DECREF(path_obj);
        PyErr_SetString(PyExc_RuntimeError, "Model is already initialised");
        return -1;
    }
    struct auris_model_params mp = auris_model_default_params();
    mp.assets_dir = assets;
    mp.official_name = official;
    mp.compute_type = ct;
    struct auris_error err = {0};
    enum auris_err rc;
    auris_model *m = NULL;
    const char *path = PyBytes_AS_STRING(path_obj);
    Py_BEGIN_ALLOW_THREADS
    rc = auris_model_load(path, &mp, &m, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (rc != AURIS_OK) {
        raise_auris(&err, rc);
        return -1;
    }
    self->model = m;
    self->n_threads = threads < 0 ? 0 : threads;
    return 0;
}

static int model_ready(ModelObject *self)
{
    if (!self->model) {
        PyErr_SetString(PyExc_RuntimeError, "Model is not initialised");
        return 0;
    }
    return 1;
}

/* Takes an idle session or creates one (GIL released while creating). NULL + exception. */
static auris_session *take_session(ModelObject *self)
{
    if (self->n_idle > 0)
        return self->idle[--self->n_idle];
    struct auris_session_params sp = auris_session_default_params();
    sp.n_threads = self->n_threads;
    struct auris_error err = {0};
    auris_session *s = NULL;
    enum auris_err rc;
    Py_BEGIN_ALLOW_THREADS
    rc = auris_session_create(self->model, &sp, &s, &err);
    Py_END_ALLOW_THREADS
    if (rc != AURIS_OK) {
        raise_auris(&err, rc);
        return NULL;
    }
    return s;
}

static void give_session(ModelObject *self, auris_session *s)
{
    if (self->n_idle < MAX_IDLE_SESSIONS)
        self->idle[self->n_idle++] = s;
    else
        auris_session_free(s);
}

/* A sequence of floats as a PyMem_Malloc'd array (*out, NULL when empty) of *n values.
 * Returns 0, or -1 with an exception set. */
static int float_list(PyObject *seq, double **out, int *n, const char *what)
{
    *out = NULL;
    *n = 0;
    if (!seq || seq == Py_None)
        return 0;
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast)
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    if (len > MAX_LIST) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "%s: at most %d values", what, MAX_LIST);
        return -1;
    }
    double *v = PyMem_Malloc((size_t)(len ? len : 1) * sizeof *v);
    if (!v) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        v[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (v[i] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(fast);
            PyMem_Free(v);
            return -1;
        }
    }
    Py_DECREF(fast);
    *out = v;
    *n = (int)len;
    return 0;
}

static PyObject *callable_or_null(PyObject *o)
{
    return o && o != Py_None ? o : NULL;
}

static PyObject *Model_transcribe(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {
        "audio", "language", "task", "temperatures", "beam_size", "best_of", "sample_len",
        "patience",
        "length_penalty", "seed", "without_timestamps", "max_initial_timestamp",
        "suppress_tokens", "suppress_blank", "initial_prompt", "carry_initial_prompt", "prefix",
        "condition_on_previous_text", "compression_ratio_threshold", "logprob_threshold",
        "no_speech_threshold", "clip_timestamps", "word_timestamps", "prepend_punctuations",
        "append_punctuations", "hallucination_silence_threshold", "on_segment", "on_progress",
        "on_language", NULL};
    if (!model_ready(self))
        return NULL;
    struct auris_transcribe_params p = auris_transcribe_default_params();
    PyObject *audio = NULL, *temps = NULL, *clips = NULL;
    PyObject *on_segment = NULL, *on_progress = NULL, *on_language = NULL;
    int task = 0, without_ts = 0, sup_blank = 1, carry = 0, cond = 1, word_ts = 0;
    unsigned long long seed = 0;
    const char *suppress = "-1";
    if (!PyArg_ParseTupleAndKeywords(
            args, kw, "O|ziOiiiffKpfzpzpzpfffOpzzfOOO", kwlist, &audio, &p.language, &task,
            &temps, &p.beam_size, &p.best_of, &p.sample_len, &p.patience, &p.length_penalty, &seed,
            &without_ts, &p.max_initial_timestamp, &suppress, &sup_blank, &p.initial_prompt,
            &carry, &p.prefix, &cond, &p.compression_ratio_threshold, &p.logprob_threshold,
            &p.no_speech_threshold, &clips, &word_ts, &p.prepend_punctuations,
            &p.append_punctuations, &p.hallucination_silence_threshold, &on_segment,
            &on_progress, &on_language))
        return NULL;
    double *temp_buf = NULL, *clip_buf = NULL;
    int n_temps = 0, n_clips = 0;
    if (float_list(temps, &temp_buf, &n_temps, "temperature") ||
        float_list(clips, &clip_buf, &n_clips, "clip_timestamps")) {
        PyMem_Free(temp_buf);
        return NULL;
    }
    p.task = task ? AURIS_TASK_TRANSLATE : AURIS_TASK_TRANSCRIBE;
    p.temperatures = n_temps ? temp_buf : NULL;
    p.n_temperatures = n_temps;
    p.clip_timestamps = clip_buf;
    p.n_clip_timestamps = n_clips;
    p.seed = (uint64_t)seed;
    p.without_timestamps = without_ts;
    p.suppress_tokens = suppress ? suppress : "";
    p.suppress_blank = sup_blank;
    p.carry_initial_prompt = carry;
    p.condition_on_previous_text = cond;
    p.word_timestamps = word_ts;

    struct call_ctx ctx = {0};
    ctx.on_segment = callable_or_null(on_segment);
    ctx.on_progress = callable_or_null(on_progress);
    ctx.on_language = callable_or_null(on_language);
    p.on_segment = cb_segment;
    p.on_progress = cb_progress; /* always: it also checks for KeyboardInterrupt */
    p.on_language = cb_language;
    p.user = &ctx;

    Py_buffer view;
    auris_session *s = NULL;
    if (get_f32(audio, &view) != 0)
        goto fail;
    if (!(s = take_session(self))) {
        PyBuffer_Release(&view);
        goto fail;
    }
    struct auris_result *res = NULL;
    struct auris_error err = {0};
    ctx_release(&ctx);
    enum auris_err rc = auris_transcribe_pcm(s, view.buf, (size_t)view.len / sizeof(float), &p,
                                             &res, &err);
    ctx_acquire(&ctx);
    PyBuffer_Release(&view);
    give_session(self, s);
    PyObject *out = NULL;
    if (ctx.py_error) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "transcription cancelled by a callback");
    } else if (rc != AURIS_OK) {
        raise_auris(&err, rc);
    } else {
        out = result_dict(res);
    }
    auris_result_free(res);
    PyMem_Free(temp_buf);
    PyMem_Free(clip_buf);
    return out;
fail:
    PyMem_Free(temp_buf);
    PyMem_Free(clip_buf);
    return NULL;
}

static PyObject *Model_detect_language(ModelObject *self, PyObject *arg)
{
    if (!model_ready(self))
        return NULL;
    int n = auris_model_n_languages(self->model);
    Py_buffer view;
    if (get_f32(arg, &view) != 0)
        return NULL;
    auris_session *s = take_session(self);
    if (!s) {
        PyBuffer_Release(&view);
        return NULL;
    }
    float probs[256];
    int lang = -1;
    struct auris_error err = {0};
    enum auris_err rc;
    Py_BEGIN_ALLOW_THREADS
    rc = auris_detect_language(s, view.buf, (size_t)view.len / sizeof(float), &lang, probs, &err);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    give_session(self, s);
    if (rc != AURIS_OK)
        return raise_auris(&err, rc);
    PyObject *list = PyList_New(n);
    for (int i = 0; list && i < n; i++) {
        PyObject *v = PyFloat_FromDouble((double)probs[i]);
        if (!v) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, v);
    }
    return list ? Py_BuildValue("(iN)", lang, list) : NULL;
}

static PyObject *Model_dims(ModelObject *self, PyObject *unused)
{
    (void)unused;
    if (!model_ready(self))
        return NULL;
    const struct auris_model_dims *d = auris_model_get_dims(self->model);
    return Py_BuildValue("{sisisisisisisisisisi}", "n_mels", d->n_mels, "n_vocab", d->n_vocab,
                         "n_audio_ctx", d->n_audio_ctx, "n_audio_state", d->n_audio_state,
                         "n_audio_head", d->n_audio_head, "n_audio_layer", d->n_audio_layer,
                         "n_text_ctx", d->n_text_ctx, "n_text_state", d->n_text_state,
                         "n_text_head", d->n_text_head, "n_text_layer", d->n_text_layer);
}

static PyObject *Model_n_languages(ModelObject *self, PyObject *unused)
{
    (void)unused;
    if (!model_ready(self))
        return NULL;
    return PyLong_FromLong(auris_model_n_languages(self->model));
}

static PyMethodDef Model_methods[] = {
    {"transcribe", (PyCFunction)(void (*)(void))Model_transcribe, METH_VARARGS | METH_KEYWORDS,
     "transcribe(audio, **params) -> dict: float32 16 kHz PCM through auris_transcribe_pcm."},
    {"detect_language", (PyCFunction)(void (*)(void))Model_detect_language, METH_O,
     "detect_language(audio) -> (index, probs) over the first 30 s of float32 PCM."},
    {"dims", (PyCFunction)(void (*)(void))Model_dims, METH_NOARGS, "The model's dimensions."},
    {"n_languages", (PyCFunction)(void (*)(void))Model_n_languages, METH_NOARGS,
     "Language tokens the model knows (0: English-only)."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "auris._auris.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Model(path, assets_dir=None, official_name=None, threads=0): a loaded checkpoint.",
    .tp_methods = Model_methods,
    .tp_init = (initproc)Model_init,
    .tp_new = PyType_GenericNew,
};

/* ---- module functions ------------------------------------------------------------------------ */

static PyObject *mod_load_audio(PyObject *mod, PyObject *arg)
{
    (void)mod;
    PyObject *path_obj = NULL;
    if (!PyUnicode_FSConverter(arg, &path_obj))
        return NULL;
    float *pcm = NULL;
    size_t n = 0;
    struct auris_error err = {0};
    enum auris_err rc;
    const char *path = PyBytes_AS_STRING(path_obj);
    Py_BEGIN_ALLOW_THREADS
    rc = auris_audio_load(path, &pcm, &n, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (rc != AURIS_OK)
        return raise_auris(&err, rc);
    PyObject *out = bytearray_f32(pcm, n);
    auris_free(pcm);
    return out;
}

static PyObject *mod_log_mel(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *audio;
    int n_mels = 80, threads = 0;
    Py_ssize_t padding = 0;
    if (!PyArg_ParseTuple(args, "O|ini", &audio, &n_mels, &padding, &threads))
        return NULL;
    if (padding < 0) {
        PyErr_SetString(PyExc_ValueError, "padding must be >= 0");
        return NULL;
    }
    Py_buffer view;
    if (get_f32(audio, &view) != 0)
        return NULL;
    float *mel = NULL;
    int frames = 0;
    struct auris_error err = {0};
    enum auris_err rc;
    Py_BEGIN_ALLOW_THREADS
    rc = auris_log_mel_spectrogram(view.buf, (size_t)view.len / sizeof(float), (size_t)padding,
                                   n_mels, threads, &mel, &frames, &err);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (rc != AURIS_OK)
        return raise_auris(&err, rc);
    PyObject *buf = bytearray_f32(mel, (size_t)n_mels * (size_t)frames);
    auris_free(mel);
    return buf ? Py_BuildValue("(Ni)", buf, frames) : NULL;
}

static PyObject *mod_resolve(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *name, *root = NULL;
    PyObject *progress = NULL;
    int download = 1;
    if (!PyArg_ParseTuple(args, "s|zOp", &name, &root, &progress, &download))
        return NULL;
    const struct auris_hub_file *f = auris_hub_find_model(name);
    struct auris_hub_options o = auris_hub_default_options();
    struct call_ctx ctx = {0};
    o.model_dir = root;
    o.download = download;
    ctx.on_download = callable_or_null(progress);
    if (ctx.on_download) {
        o.progress = cb_download;
        o.progress_user = &ctx;
    }
    char *path = NULL;
    struct auris_error err = {0};
    ctx_release(&ctx);
    enum auris_err rc = auris_hub_resolve(name, &o, &path, &err);
    ctx_acquire(&ctx);
    if (ctx.py_error) {
        free(path);
        return NULL;
    }
    if (rc != AURIS_OK)
        return raise_auris(&err, rc);
    /* an existing path wins over a name, as auris_hub_resolve decides */
    int is_official = f && !(path && strcmp(path, name) == 0);
    PyObject *out = Py_BuildValue("(sz)", path, is_official ? f->name : NULL);
    free(path);
    return out;
}

static PyObject *mod_official_models(PyObject *mod, PyObject *unused)
{
    (void)mod, (void)unused;
    PyObject *list = PyList_New(0);
    for (int i = 0; list; i++) {
        const struct auris_hub_file *f = auris_hub_model_at(i);
        if (!f)
            break;
        PyObject *s = PyUnicode_FromString(f->name);
        if (!s || PyList_Append(list, s) != 0)
            Py_CLEAR(list);
        Py_XDECREF(s);
    }
    return list;
}

static PyObject *mod_languages(PyObject *mod, PyObject *unused)
{
    (void)mod, (void)unused;
    PyObject *list = PyList_New(0);
    for (int i = 0; list && auris_language_code(i); i++) {
        PyObject *t = Py_BuildValue("(ss)", auris_language_code(i), auris_language_name(i));
        if (!t || PyList_Append(list, t) != 0)
            Py_CLEAR(list);
        Py_XDECREF(t);
    }
    return list;
}

static PyObject *mod_version(PyObject *mod, PyObject *unused)
{
    (void)mod, (void)unused;
    return PyUnicode_FromString(auris_version());
}

static PyObject *mod_kernels_isa(PyObject *mod, PyObject *unused)
{
    (void)mod, (void)unused;
    return PyUnicode_FromString(auris_kernels_isa());
}

/* Library diagnostics go to a Python callable (logging, installed by the package). The library
 * may call this from its worker threads, hence PyGILState. */
static PyObject *g_log_fn;

static void log_to_python(void *user, enum auris_log_level level, const char *msg)
{
    (void)user;
    if (!Py_IsInitialized())
        return;
    PyGILState_STATE st = PyGILState_Ensure();
    if (g_log_fn) {
        PyObject *r = PyObject_CallFunction(g_log_fn, "is", (int)level, msg);
        if (!r)
            PyErr_Clear(); /* a failing logger must not fail the transcription */
        Py_XDECREF(r);
    }
    PyGILState_Release(st);
}

static PyObject *mod_set_log(PyObject *mod, PyObject *fn)
{
    (void)mod;
    if (fn != Py_None && !PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "expected a callable or None");
        return NULL;
    }
    Py_XINCREF(fn == Py_None ? NULL : fn);
    PyObject *old = g_log_fn;
    g_log_fn = fn == Py_None ? NULL : fn;
    auris_set_log_callback(g_log_fn ? log_to_python : NULL, NULL);
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"load_audio", mod_load_audio, METH_O,
     "load_audio(path) -> bytearray of float32 16 kHz mono PCM (auris_audio_load)."},
    {"log_mel_spectrogram", mod_log_mel, METH_VARARGS,
     "log_mel_spectrogram(pcm, n_mels=80, padding=0, threads=0) -> (bytearray, n_frames)."},
    {"resolve_model", mod_resolve, METH_VARARGS,
     "resolve_model(name_or_path, download_root=None, progress=None, download=True) -> "
     "(path, official_name or None): downloads official models into the cache."},
    {"official_models", mod_official_models, METH_NOARGS, "Names of the official models."},
    {"languages", mod_languages, METH_NOARGS, "[(code, name)] in the reference's order."},
    {"version", mod_version, METH_NOARGS, "auris_version()."},
    {"kernels_isa", mod_kernels_isa, METH_NOARGS, "auris_kernels_isa()."},
    {"set_log_callback", mod_set_log, METH_O,
     "set_log_callback(fn(level, message) or None): receives the library's diagnostics."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "auris._auris", "Binding of libauris (see auris.h).", -1,
    module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__auris(void)
{
    if (PyType_Ready(&ModelType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    AurisError = PyErr_NewExceptionWithDoc(
        "auris.AurisError",
        "An error reported by libauris: str(e) is its one-line message, e.code the auris_err "
        "value and e.reason its description.",
        PyExc_RuntimeError, NULL);
    Py_INCREF(&ModelType);
    if (!AurisError || PyModule_AddObject(m, "AurisError", AurisError) != 0 ||
        PyModule_AddObject(m, "Model", (PyObject *)&ModelType) != 0 ||
        PyModule_AddIntConstant(m, "SAMPLE_RATE", AURIS_SAMPLE_RATE) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(AurisError); /* the module holds one reference, this file another */
    return m;
}
