/*
 * decode.c — audio file decoding with FFmpeg's libraries, to 16 kHz mono float32.
 *
 * Reference: whisper/audio.py load_audio, which runs
 *   ffmpeg -nostdin -i FILE -f s16le -ac 1 -acodec pcm_s16le -ar 16000 -
 * and divides the int16 samples by 32768. We reproduce that pipeline in-process: the CLI's
 * stream choice (most channels, default disposition first), its channel-layout guess for
 * unspecified layouts, libswresample with its default options (what the CLI's auto-inserted
 * aresample filter uses) straight to S16 mono 16 kHz, and flushes of decoder and resampler.
 * Invariants: the library never prints — libav's log goes to auris__log at DEBUG level; every
 * failure path releases everything through one cleanup label.
 */
#include "audio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#define OUT_RATE AURIS_SAMPLE_RATE

/* ---- libav logging ------------------------------------------------------------------------ */

static void av_log_to_auris(void *avcl, int level, const char *fmt, va_list vl)
{
    static _Thread_local int print_prefix = 1;
    if (level > AV_LOG_VERBOSE)
        return;
    char line[1024];
    av_log_format_line2(avcl, level, fmt, vl, line, (int)sizeof line, &print_prefix);
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len > 0)
        auris__log(AURIS_LOG_DEBUG, "ffmpeg: %s", line);
}

static pthread_once_t g_av_once = PTHREAD_ONCE_INIT;

/* libav's log callback is process-wide: installing ours on first use is what keeps the library
 * from printing, at the cost of replacing a callback the host program may have set. */
static void av_setup(void)
{
    av_log_set_callback(av_log_to_auris);
}

/* ---- output accumulation -------------------------------------------------------------------- */

struct decoder {
    const char *path;         /* for messages */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    SwrContext *swr;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;
    /* parameters the resampler was configured for */
    AVChannelLayout in_layout;
    int in_rate;
    int in_format;
    int16_t *tmp;             /* [tmp_cap] resampler output */
    int tmp_cap;
    float *pcm;               /* [n_pcm], capacity cap_pcm */
    size_t n_pcm, cap_pcm;
    int n_decode_errors;
};

static enum auris_err append_s16(struct decoder *d, const int16_t *s, int n,
                                 struct auris_error *err)
{
    if (n <= 0)
        return AURIS_OK;
    if (d->n_pcm + (size_t)n > d->cap_pcm) {
        size_t cap = d->cap_pcm ? d->cap_pcm : (size_t)OUT_RATE * 32;
        while (cap < d->n_pcm + (size_t)n) {
            if (cap > SIZE_MAX / 2 / sizeof(float))
                return auris__fail(err, AURIS_ERR_NOMEM, "%s: decoded audio too long", d->path);
            cap *= 2;
        }
        float *p = realloc(d->pcm, cap * sizeof(float));
        if (!p)
            return auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory for decoded audio",
                               d->path);
        d->pcm = p;
        d->cap_pcm = cap;
    }
    float *dst = d->pcm + d->n_pcm;
    for (int i = 0; i < n; i++)
        dst[i] = (float)s[i] / 32768.0f; /* exactly the reference's int16 / 32768.0 */
    d->n_pcm += (size_t)n;
    return AURIS_OK;
}

/* Runs the resampler on `frame` (NULL: drain it) and appends what comes out. */
static enum auris_err resample(struct decoder *d, const AVFrame *frame, struct auris_error *err)
{
    for (;;) {
        int in_n = frame ? frame->nb_samples : 0;
        int want = swr_get_out_samples(d->swr, in_n);
        if (want < 0)
            return auris__fail(err, AURIS_ERR_AUDIO, "%s: resampler failed", d->path);
        want += 16;
        if (want > d->tmp_cap) {
            int16_t *t = realloc(d->tmp, (size_t)want * sizeof(int16_t));
            if (!t)
                return auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", d->path);
            d->tmp = t;
            d->tmp_cap = want;
        }
        uint8_t *out_planes[1] = {(uint8_t *)d->tmp};
        int got = swr_convert(d->swr, out_planes, d->tmp_cap,
                              frame ? (const uint8_t **)frame->extended_data : NULL, in_n);
        if (got < 0)
            return auris__fail(err, AURIS_ERR_AUDIO, "%s: resampling failed", d->path);
        enum auris_err rc = append_s16(d, d->tmp, got, err);
        if (rc != AURIS_OK)
            return rc;
        /* input is consumed in one call; a drain may need several until nothing is left */
        if (frame || got == 0)
            return AURIS_OK;
    }
}

/* (Re)configures the resampler for the frame's parameters. On a change mid-stream (chained
 * Ogg, concatenated MP3) the CLI rebuilds its filter graph and so discards the few samples
 * (about 1 ms) still buffered in the old resampler; we do the same to stay sample-exact. */
static enum auris_err setup_resampler(struct decoder *d, const AVFrame *frame,
                                      struct auris_error *err)
{
    AVChannelLayout layout = {0};
    if (frame->ch_layout.nb_channels <= 0 || frame->sample_rate <= 0)
        return auris__fail(err, AURIS_ERR_AUDIO, "%s: decoder produced a frame without channels "
                           "or sample rate", d->path);
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&layout, frame->ch_layout.nb_channels); /* as the CLI guesses */
    else if (av_channel_layout_copy(&layout, &frame->ch_layout) < 0)
        return auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", d->path);

    if (d->swr && d->in_rate == frame->sample_rate && d->in_format == frame->format &&
        av_channel_layout_compare(&d->in_layout, &layout) == 0) {
        av_channel_layout_uninit(&layout);
        return AURIS_OK;
    }
    enum auris_err rc = AURIS_OK;
    if (d->swr) {
        auris__log(AURIS_LOG_DEBUG, "%s: audio parameters changed mid-stream", d->path);
        swr_free(&d->swr);
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    if (swr_alloc_set_opts2(&d->swr, &mono, AV_SAMPLE_FMT_S16, OUT_RATE, &layout,
                            (enum AVSampleFormat)frame->format, frame->sample_rate, 0, NULL) < 0 ||
        swr_init(d->swr) < 0) {
        swr_free(&d->swr);
        rc = auris__fail(err, AURIS_ERR_AUDIO, "%s: cannot convert %d Hz %d-channel %s audio",
                         d->path, frame->sample_rate, frame->ch_layout.nb_channels,
                         av_get_sample_fmt_name((enum AVSampleFormat)frame->format)
                             ? av_get_sample_fmt_name((enum AVSampleFormat)frame->format)
                             : "unknown-format");
        goto done;
    }
    av_channel_layout_uninit(&d->in_layout);
    d->in_layout = layout;
    layout = (AVChannelLayout){0};
    d->in_rate = frame->sample_rate;
    d->in_format = frame->format;
done:
    av_channel_layout_uninit(&layout);
    return rc;
}

/* Receives every frame the decoder has ready and resamples it. */
static enum auris_err drain_decoder(struct decoder *d, struct auris_error *err)
{
    for (;;) {
        int ret = avcodec_receive_frame(d->dec, d->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return AURIS_OK;
        if (ret < 0) {
            /* a corrupt frame: the CLI logs it and goes on, and so do we */
            d->n_decode_errors++;
            return AURIS_OK;
        }
        enum auris_err rc = setup_resampler(d, d->frame, err);
        if (rc == AURIS_OK)
            rc = resample(d, d->frame, err);
        av_frame_unref(d->frame);
        if (rc != AURIS_OK)
            return rc;
    }
}

/* ---- opening -------------------------------------------------------------------------------- */

static int is_open_errno(int ret)
{
    return ret == AVERROR(ENOENT) || ret == AVERROR(EACCES) || ret == AVERROR(EPERM) ||
           ret == AVERROR(EISDIR) || ret == AVERROR(ENOTDIR) || ret == AVERROR(ENAMETOOLONG) ||
           ret == AVERROR(ELOOP) || ret == AVERROR(EIO);
}

/* The CLI's default audio stream choice: most channels, +5e6 for the default disposition,
 * +1e8 for streams that delivered packets while probing; first wins ties. */
static int pick_stream(AVFormatContext *fmt)
{
    int best = -1;
    long long best_score = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO ||
            !avcodec_find_decoder(st->codecpar->codec_id))
            continue;
        long long score = st->codecpar->ch_layout.nb_channels +
                          100000000LL * !!(st->event_flags & AVSTREAM_EVENT_FLAG_NEW_PACKETS) +
                          5000000LL * !!(st->disposition & AV_DISPOSITION_DEFAULT);
        if (score > best_score) {
            best_score = score;
            best = (int)i;
        }
    }
    return best;
}

static enum auris_err open_input(struct decoder *d, struct auris_error *err)
{
    const int is_stdin = strcmp(d->path, "-") == 0;
    char *url = NULL;
    if (!is_stdin) {
        struct stat sb;
        if (stat(d->path, &sb) != 0)
            return auris__fail(err, AURIS_ERR_IO, "%s: cannot open: %s", d->path,
                               strerror(errno));
        if (S_ISDIR(sb.st_mode))
            return auris__fail(err, AURIS_ERR_IO, "%s: is a directory", d->path);
        if (S_ISREG(sb.st_mode) && sb.st_size == 0)
            return auris__fail(err, AURIS_ERR_AUDIO, "%s: file is empty", d->path);
        /* "file:" keeps names with a colon from being taken for another protocol */
        size_t len = strlen(d->path);
        url = malloc(len + 6);
        if (!url)
            return auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", d->path);
        memcpy(url, "file:", 5);
        memcpy(url + 5, d->path, len + 1);
    }
    int ret = avformat_open_input(&d->fmt, is_stdin ? "pipe:0" : url, NULL, NULL);
    free(url);
    if (ret < 0) {
        char msg[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(ret, msg, sizeof msg);
        if (is_open_errno(ret))
            return auris__fail(err, AURIS_ERR_IO, "%s: cannot open: %s", d->path, msg);
        return auris__fail(err, AURIS_ERR_AUDIO, "%s: not a readable audio/video file (%s)",
                           d->path, msg);
    }
    /* as the CLI: a failed probe is fatal only when it found no stream at all */
    ret = avformat_find_stream_info(d->fmt, NULL);
    if (ret < 0 && d->fmt->nb_streams == 0)
        return auris__fail(err, AURIS_ERR_AUDIO, "%s: cannot read stream information",
                           d->path);
    d->stream = pick_stream(d->fmt);
    if (d->stream < 0)
        return auris__fail(err, AURIS_ERR_AUDIO, "%s: no decodable audio stream", d->path);
    for (unsigned i = 0; i < d->fmt->nb_streams; i++)
        d->fmt->streams[i]->discard = (int)i == d->stream ? AVDISCARD_DEFAULT : AVDISCARD_ALL;

    const AVStream *st = d->fmt->streams[d->stream];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    d->dec = avcodec_alloc_context3(codec);
    if (!d->dec)
        return auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", d->path);
    if (avcodec_parameters_to_context(d->dec, st->codecpar) < 0)
        return auris__fail(err, AURIS_ERR_AUDIO, "%s: bad codec parameters", d->path);
    d->dec->pkt_timebase = st->time_base;
    if (avcodec_open2(d->dec, codec, NULL) < 0)
        return auris__fail(err, AURIS_ERR_AUDIO, "%s: cannot open the %s decoder", d->path,
                           codec->name);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->pkt || !d->frame)
        return auris__fail(err, AURIS_ERR_NOMEM, "%s: out of memory", d->path);
    return AURIS_OK;
}

/* ---- entry points --------------------------------------------------------------------------- */

enum auris_err auris__audio_decode(const char *path, float **pcm, size_t *n_samples,
                                   struct auris_error *err)
{
    if (!path || !*path || !pcm || !n_samples)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "audio_decode: invalid argument");
    *pcm = NULL;
    *n_samples = 0;
    pthread_once(&g_av_once, av_setup);

    struct decoder d = {.path = path, .stream = -1};
    enum auris_err rc = open_input(&d, err);
    if (rc != AURIS_OK)
        goto fail;

    int read_ret;
    while ((read_ret = av_read_frame(d.fmt, d.pkt)) >= 0) {
        if (d.pkt->stream_index == d.stream) {
            int ret = avcodec_send_packet(d.dec, d.pkt);
            if (ret < 0 && ret != AVERROR(EAGAIN))
                d.n_decode_errors++; /* corrupt packet: skip it, as the CLI does */
            rc = drain_decoder(&d, err);
        }
        av_packet_unref(d.pkt);
        if (rc != AURIS_OK)
            goto fail;
    }
    /* a read error ends the input like EOF does (the CLI's behaviour); keep what we have */
    if (read_ret != AVERROR_EOF)
        auris__log(AURIS_LOG_DEBUG, "%s: read stopped early", path);
    avcodec_send_packet(d.dec, NULL);
    rc = drain_decoder(&d, err);
    if (rc == AURIS_OK && d.swr)
        rc = resample(&d, NULL, err);
    if (rc != AURIS_OK)
        goto fail;
    if (d.n_pcm == 0) {
        rc = auris__fail(err, AURIS_ERR_AUDIO, "%s: no audio samples could be decoded%s", path,
                         d.n_decode_errors ? " (corrupt data)" : "");
        goto fail;
    }
    if (d.n_decode_errors)
        auris__log(AURIS_LOG_WARN, "%s: %d corrupt packets or frames skipped", path,
                   d.n_decode_errors);
    /* hand back exactly n_pcm samples; shrinking cannot lose data even if realloc fails */
    float *shrunk = realloc(d.pcm, d.n_pcm * sizeof(float));
    *pcm = shrunk ? shrunk : d.pcm;
    *n_samples = d.n_pcm;
    d.pcm = NULL;
    rc = AURIS_OK;
fail:
    free(d.pcm);
    free(d.tmp);
    swr_free(&d.swr);
    av_channel_layout_uninit(&d.in_layout);
    av_frame_free(&d.frame);
    av_packet_free(&d.pkt);
    avcodec_free_context(&d.dec);
    avformat_close_input(&d.fmt);
    return rc;
}

enum auris_err auris_audio_load(const char *path, float **pcm, size_t *n_samples,
                                struct auris_error *err)
{
    return auris__audio_decode(path, pcm, n_samples, err);
}
