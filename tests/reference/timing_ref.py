#!/usr/bin/python3
"""timing_ref.py — an independent PyTorch reference of Whisper's word-level timestamps and of the
hallucination-silence guard, for auris's word parity tests.

Facts follow openai/whisper timing.py (find_alignment: one teacher-forced decoder pass over
sot_sequence + <|notimestamps|> + text + <|endoftext|>, the pre-softmax cross-attention scores
of the alignment heads — by default every head of the decoder's second half — cut to
num_frames // 2 audio positions, softmax, normalisation along tokens with the population std,
median filter of width 7 with reflect padding, mean over heads, DTW of the negated matrix with
float32 costs and its tie order, word boundaries at token jumps, 50 time steps per second; word
probabilities as the mean softmax probability of its tokens over the text vocabulary;
merge_punctuations; add_word_timestamps with the median/max duration clamps and segment start/end
adjustments), tokenizer.py (split_tokens_on_unicode / split_tokens_on_spaces, unicode splitting for
zh ja th lo my yue) and transcribe.py (seek update from the last word, hallucination_silence_
threshold with word_anomaly_score / is_segment_anomaly, clearing of empty segments).

The network, mel and tokenizer come from whisper_ref.py / ref_tokenizer.py and the decoding of each
window from transcribe_ref.py; the seek loop is transcribe_ref.transcribe's, restated here in
transcribe_words() with the word-timing steps added (so transcribe_ref stays untouched).

Invariants: temperature 0 only (as transcribe_ref); the DTW reproduces the reference's float32
cost accumulation and strict-inequality tie order exactly (vectorised along anti-diagonals, whose
cells depend only on earlier diagonals); word times are rounded to 0.01 s like the reference.

CLI (debugging): timing_ref.py --model M.pt --audio FILE [--language en]
[--hallucination_silence_threshold S] prints the result (with words) as JSON.
"""
import argparse
import itertools
import json
import os
import string
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transcribe_ref as T  # noqa: E402
import whisper_ref as W  # noqa: E402

TOKENS_PER_SECOND = W.SAMPLE_RATE // (2 * W.HOP)  # 50 audio positions per second
PREPEND = "\"'“¿([{-"
APPEND = "\"'.。,，!！?？:：”)]}、"
PUNCTUATION = "\"'“¿([{-\"'.。,，!！?？:：”)]}、"
UNICODE_SPLIT_LANGUAGES = {"zh", "ja", "th", "lo", "my", "yue"}


# ---- alignment ---------------------------------------------------------------------------------

def default_alignment_heads(dims):
    """(layer, head) pairs: all heads of the second half of the decoder layers."""
    L, H = dims["n_text_layer"], dims["n_text_head"]
    return [(l, h) for l in range(L // 2, L) for h in range(H)]


@torch.no_grad()
def forward_with_qk(model, tokens, audio):
    """Teacher-forced decoder pass: logits [n][n_vocab] and, per layer, the pre-softmax
    cross-attention scores [n_head][n][n_audio_ctx]."""
    w = model.w
    n = len(tokens)
    ids = torch.as_tensor(tokens, dtype=torch.long)
    x = w["decoder.token_embedding.weight"][ids] + w["decoder.positional_embedding"][:n]
    H = model.dims["n_text_head"]
    qks = []
    for i in range(model.dims["n_text_layer"]):
        p = f"decoder.blocks.{i}"
        h = model._ln(x, p + ".attn_ln")
        a = model._attend(model._lin(h, p + ".attn.query"), model._lin(h, p + ".attn.key", False),
                          model._lin(h, p + ".attn.value"), H, causal_offset=0)
        x = x + model._lin(a, p + ".attn.out")
        h = model._ln(x, p + ".cross_attn_ln")
        q = model._lin(h, p + ".cross_attn.query")           # [n][S]
        k = model._lin(audio, p + ".cross_attn.key", False)  # [n_audio_ctx][S]
        v = model._lin(audio, p + ".cross_attn.value")       # [n_audio_ctx][S]
        S = q.shape[1]
        dh = S // H
        s = dh ** -0.25
        outs, layer_qk = [], []
        for hd in range(H):
            sl = slice(hd * dh, (hd + 1) * dh)
            qk = W.mm_t(q[:, sl] * s, k[:, sl] * s)             # [n][n_audio_ctx]
            layer_qk.append(qk)
            outs.append(W.mm_t(torch.softmax(qk, dim=-1), v[:, sl].t()))
        qks.append(torch.stack(layer_qk))
        x = x + model._lin(torch.cat(outs, dim=1), p + ".cross_attn.out")
        x = x + model._mlp(x, p)
    x = model._ln(x, "decoder.ln")
    return W.mm_t(x, w["decoder.token_embedding.weight"]), qks


def median_filter(x, width):
    """Median over a sliding window of `width` along the last axis, reflect-padded; inputs with
    at most width // 2 columns are returned unchanged (the reference's guard)."""
    pad = width // 2
    if x.shape[-1] <= pad:
        return x
    shape = x.shape
    xp = F.pad(x.reshape(1, -1, shape[-1]), (pad, pad), mode="reflect")
    xp = xp.reshape(*shape[:-1], shape[-1] + 2 * pad)
    return xp.unfold(-1, width, 1).sort()[0][..., pad]


def dtw(x):
    """(text_indices, time_indices) of the minimum-cost path through x [N][M] (float64), with
    float32 accumulated costs and the reference's tie order (diagonal, then up, else left)."""
    N, M = x.shape
    cost = np.full((N + 1, M + 1), np.inf, dtype=np.float32)
    trace = np.full((N + 1, M + 1), -1, dtype=np.int8)
    cost[0, 0] = 0
    for d in range(2, N + M + 1):           # cells (i, j) with i + j = d, i, j >= 1
        i = np.arange(max(1, d - M), min(N, d - 1) + 1)
        j = d - i
        c0, c1, c2 = cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]
        t = np.full(i.shape, 2, dtype=np.int8)
        t[(c1 < c0) & (c1 < c2)] = 1
        t[(c0 < c1) & (c0 < c2)] = 0
        c = np.where(t == 0, c0, np.where(t == 1, c1, c2))
        cost[i, j] = x[i - 1, j - 1] + c.astype(np.float64)
        trace[i, j] = t
    trace[0, :] = 2
    trace[:, 0] = 1
    i, j = N, M
    path = []
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        t = trace[i, j]
        if t == 0:
            i, j = i - 1, j - 1
        elif t == 1:
            i -= 1
        elif t == 2:
            j -= 1
        else:
            raise ValueError("bad DTW trace")
    path = np.array(path[::-1])
    return path[:, 0], path[:, 1]


def _decode_all(t, ids):
    """The reference tokenizer's decode_with_timestamps for text and special (< timestamp) ids."""
    return b"".join(t.by_id[i] for i in ids).decode("utf-8", errors="replace")


def split_on_unicode(t, tokens):
    full = _decode_all(t, tokens)
    words, groups, cur, off = [], [], [], 0
    for tk in tokens:
        cur.append(tk)
        s = _decode_all(t, cur)
        if "\ufffd" not in s or full[off + s.index("\ufffd")] == "\ufffd":
            words.append(s)
            groups.append(cur)
            cur = []
            off += len(s)
    return words, groups


def split_on_spaces(t, tokens):
    words, groups = [], []
    for sw, st in zip(*split_on_unicode(t, tokens)):
        if st[0] >= t.eot or sw.startswith(" ") or sw.strip() in string.punctuation or not words:
            words.append(sw)
            groups.append(list(st))
        else:
            words[-1] += sw
            groups[-1].extend(st)
    return words, groups


def split_to_word_tokens(tok, tokens):
    if tok.language in UNICODE_SPLIT_LANGUAGES:
        return split_on_unicode(tok.t, tokens)
    return split_on_spaces(tok.t, tokens)


@torch.no_grad()
def find_alignment(model, tok, text_tokens, audio, num_frames, medfilt_width=7, heads=None):
    """Word timings [{word, tokens, start, end, probability}] (times relative to the window)."""
    if not text_tokens:
        return []
    t = tok.t
    sot = list(tok.sot_sequence)
    tokens = sot + [t.no_timestamps] + list(text_tokens) + [t.eot]
    logits, qks = forward_with_qk(model, tokens, audio)
    probs = logits[len(sot):, :t.eot].float().softmax(dim=-1)
    text_probs = probs[np.arange(len(text_tokens)), text_tokens].tolist()

    heads = heads or default_alignment_heads(model.dims)
    wts = torch.stack([qks[l][h] for l, h in heads])       # [heads][n][n_audio_ctx]
    wts = wts[:, :, :num_frames // 2].softmax(dim=-1)
    std, mean = torch.std_mean(wts, dim=-2, keepdim=True, unbiased=False)
    wts = median_filter((wts - mean) / std, medfilt_width)
    matrix = wts.mean(dim=0)[len(sot):-1]
    text_idx, time_idx = dtw((-matrix).double().numpy())

    words, groups = split_to_word_tokens(tok, list(text_tokens) + [t.eot])
    if len(groups) <= 1:
        return []
    bounds = np.pad(np.cumsum([len(g) for g in groups[:-1]]), (1, 0))
    jumps = np.pad(np.diff(text_idx), (1, 0), constant_values=1).astype(bool)
    jump_times = time_idx[jumps] / TOKENS_PER_SECOND
    starts, ends = jump_times[bounds[:-1]], jump_times[bounds[1:]]
    wprob = [np.mean(text_probs[i:j]) for i, j in zip(bounds[:-1], bounds[1:])]
    return [{"word": w, "tokens": g, "start": s, "end": e, "probability": p}
            for w, g, s, e, p in zip(words, groups, starts, ends, wprob)]


def merge_punctuations(al, prepended, appended):
    i, j = len(al) - 2, len(al) - 1
    while i >= 0:
        prev, nxt = al[i], al[j]
        if prev["word"].startswith(" ") and prev["word"].strip() in prepended:
            nxt["word"] = prev["word"] + nxt["word"]
            nxt["tokens"] = prev["tokens"] + nxt["tokens"]
            prev["word"], prev["tokens"] = "", []
        else:
            j = i
        i -= 1
    i, j = 0, 1
    while j < len(al):
        prev, nxt = al[i], al[j]
        if not prev["word"].endswith(" ") and nxt["word"] in appended:
            prev["word"] = prev["word"] + nxt["word"]
            prev["tokens"] = prev["tokens"] + nxt["tokens"]
            nxt["word"], nxt["tokens"] = "", []
        else:
            i = j
        j += 1


def add_word_timestamps(segments, model, tok, audio, num_frames, last_speech_timestamp,
                        prepend=PREPEND, append=APPEND, heads=None):
    """Adds "words" to each segment of one window and adjusts segment start/end in place."""
    if not segments:
        return
    eot = tok.t.eot
    per_seg = [[x for x in s["tokens"] if x < eot] for s in segments]
    al = find_alignment(model, tok, list(itertools.chain.from_iterable(per_seg)), audio,
                        num_frames, heads=heads)
    durs = np.array([a["end"] - a["start"] for a in al])
    durs = durs[durs.nonzero()]
    median = min(0.7, float(np.median(durs) if len(durs) > 0 else 0.0))
    max_dur = median * 2
    if len(durs) > 0:
        marks = ".。!！?？"
        for i in range(1, len(al)):
            if al[i]["end"] - al[i]["start"] > max_dur:
                if al[i]["word"] in marks:
                    al[i]["end"] = al[i]["start"] + max_dur
                elif al[i - 1]["word"] in marks:
                    al[i]["start"] = al[i]["end"] - max_dur
    merge_punctuations(al, prepend, append)

    offset = segments[0]["seek"] * W.HOP / W.SAMPLE_RATE
    wi = 0
    for seg, toks in zip(segments, per_seg):
        saved, words = 0, []
        while wi < len(al) and saved < len(toks):
            a = al[wi]
            if a["word"]:
                words.append({"word": a["word"], "start": round(offset + a["start"], 2),
                              "end": round(offset + a["end"], 2),
                              "probability": a["probability"]})
            saved += len(a["tokens"])
            wi += 1
        if words:
            w0 = words[0]
            if w0["end"] - last_speech_timestamp > median * 4 and (
                    w0["end"] - w0["start"] > max_dur
                    or (len(words) > 1 and words[1]["end"] - w0["start"] > max_dur * 2)):
                if len(words) > 1 and words[1]["end"] - words[1]["start"] > max_dur:
                    b = max(words[1]["end"] / 2, words[1]["end"] - max_dur)
                    w0["end"] = words[1]["start"] = b
                w0["start"] = max(0, w0["end"] - max_dur)
            if seg["start"] < w0["end"] and seg["start"] - 0.5 > w0["start"]:
                w0["start"] = max(0, min(w0["end"] - median, seg["start"]))
            else:
                seg["start"] = w0["start"]
            wl = words[-1]
            if seg["end"] > wl["start"] and seg["end"] + 0.5 < wl["end"]:
                wl["end"] = max(wl["start"] + median, seg["end"])
            else:
                seg["end"] = wl["end"]
            last_speech_timestamp = seg["end"]
        seg["words"] = words


# ---- transcribe with words ---------------------------------------------------------------------

def get_end(segments):
    return next((w["end"] for s in reversed(segments) for w in reversed(s["words"])),
                segments[-1]["end"] if segments else None)


def word_anomaly_score(w):
    p = w.get("probability", 0.0)
    d = w["end"] - w["start"]
    score = 0.0
    if p < 0.15:
        score += 1.0
    if d < 0.133:
        score += (0.133 - d) * 15
    if d > 2.0:
        score += d - 2.0
    return score


def is_segment_anomaly(seg):
    if seg is None or not seg["words"]:
        return False
    words = [w for w in seg["words"] if w["word"] not in PUNCTUATION][:8]
    score = sum(word_anomaly_score(w) for w in words)
    return score >= 3 or score + 0.01 >= len(words)


def next_words_segment(segs):
    return next((s for s in segs if s["words"]), None)


def _split_window(tokens, tb, seek, time_offset, segment_size, segment_duration, make):
    """Segments of one decoded window and the next seek, as transcribe() slices them."""
    is_ts = [x >= tb for x in tokens]
    single_ending = is_ts[-2:] == [False, True]
    consecutive = [i + 1 for i in range(len(tokens) - 1) if is_ts[i] and is_ts[i + 1]]
    input_stride = 2
    precision = 0.02
    cur = []
    if consecutive:
        slices = list(consecutive) + ([len(tokens)] if single_ending else [])
        last = 0
        for c in slices:
            part = tokens[last:c]
            cur.append(make(time_offset + (part[0] - tb) * precision,
                            time_offset + (part[-1] - tb) * precision, part))
            last = c
        seek = seek + segment_size if single_ending else \
            seek + (tokens[last - 1] - tb) * input_stride
    else:
        duration = segment_duration
        stamps = [x for x in tokens if x >= tb]
        if stamps and stamps[-1] != tb:
            duration = (stamps[-1] - tb) * precision
        cur.append(make(time_offset, time_offset + duration, tokens))
        seek += segment_size
    return cur, seek, single_ending


@torch.no_grad()
def transcribe_words(model, pcm, *, filters=None, data_dir=None, base_tok=None,
                     temperature=(0.0,), compression_ratio_threshold=2.4, logprob_threshold=-1.0,
                     no_speech_threshold=0.6, condition_on_previous_text=True,
                     initial_prompt=None, clip_timestamps="0", word_timestamps=True,
                     prepend_punctuations=PREPEND, append_punctuations=APPEND,
                     hallucination_silence_threshold=None, alignment_heads=None, stats=None,
                     **decode_options):
    """transcribe_ref.transcribe() plus the reference's word_timestamps and
    hallucination_silence_threshold steps; segments carry "words" when word_timestamps."""
    stats = stats if stats is not None else T.DecodeStats()
    dims = model.dims
    if filters is None:
        filters = W.load_mel_filters(dims["n_mels"], data_dir)
    base_tok = base_tok or W.load_tokenizer(dims["n_vocab"], data_dir)
    mel = W.log_mel(pcm, filters, padding=W.N_SAMPLES)
    content_frames = mel.shape[-1] - W.N_FRAMES
    content_duration = float(content_frames * W.HOP / W.SAMPLE_RATE)
    if decode_options.get("language") is None:
        if not model.multilingual:
            decode_options["language"] = "en"
        else:
            a0 = model.encode(T._pad_window(mel[:, :W.N_FRAMES]))
            decode_options["language"], _ = T.detect_language(model, base_tok, a0, stats)
    language = decode_options["language"]
    tok = T.Tok(base_tok, language, decode_options.get("task", "transcribe"))
    t = base_tok
    fps = T.FRAMES_PER_SECOND

    if isinstance(clip_timestamps, str):
        clip_timestamps = [float(x) for x in clip_timestamps.split(",") if clip_timestamps]
    points = [round(x * fps) for x in clip_timestamps] or [0]
    if len(points) % 2 == 1:
        points.append(content_frames)
    clips = list(zip(points[::2], points[1::2]))
    temps = [temperature] if isinstance(temperature, (int, float)) else list(temperature)

    def decode_with_fallback(audio):
        r = None
        for temp in temps:
            kw = dict(decode_options)
            kw.pop("best_of", None)
            r = T.decode_window(model, tok, audio, T.Options(**kw, temperature=temp), stats)
            T._threshold_margin(stats, r, compression_ratio_threshold, logprob_threshold,
                                no_speech_threshold)
            fb = (compression_ratio_threshold is not None
                  and r["compression_ratio"] > compression_ratio_threshold) or \
                 (logprob_threshold is not None and r["avg_logprob"] < logprob_threshold)
            if no_speech_threshold is not None and r["no_speech_prob"] > no_speech_threshold \
                    and logprob_threshold is not None and r["avg_logprob"] < logprob_threshold:
                fb = False
            if not fb:
                break
        return r

    all_tokens, all_segments = [], []
    prompt_reset_since = 0
    initial_prompt_tokens = t.encode(" " + initial_prompt.strip()) if initial_prompt else []
    all_tokens.extend(initial_prompt_tokens)
    last_speech_timestamp = 0.0
    clip_idx = 0
    seek = clips[0][0]
    while clip_idx < len(clips):
        clip_start, clip_end = clips[clip_idx]
        if seek < clip_start:
            seek = clip_start
        if seek >= clip_end:
            clip_idx += 1
            if clip_idx < len(clips):
                seek = clips[clip_idx][0]
            continue
        time_offset = float(seek * W.HOP / W.SAMPLE_RATE)
        window_end_time = float((seek + W.N_FRAMES) * W.HOP / W.SAMPLE_RATE)
        segment_size = min(W.N_FRAMES, content_frames - seek, clip_end - seek)
        segment_duration = segment_size * W.HOP / W.SAMPLE_RATE
        audio = model.encode(T._pad_window(mel[:, seek:seek + segment_size]))
        decode_options["prompt"] = all_tokens[prompt_reset_since:]
        result = decode_with_fallback(audio)
        if no_speech_threshold is not None and result["no_speech_prob"] > no_speech_threshold \
                and not (logprob_threshold is not None
                         and result["avg_logprob"] > logprob_threshold):
            seek += segment_size
            continue
        previous_seek = seek

        def make(start, end, toks, _seek=seek, _r=result):
            return {"seek": _seek, "start": start, "end": end,
                    "text": t.decode([x for x in toks if x < t.eot]), "tokens": list(toks),
                    "temperature": _r["temperature"], "avg_logprob": _r["avg_logprob"],
                    "compression_ratio": _r["compression_ratio"],
                    "no_speech_prob": _r["no_speech_prob"]}

        current, seek, single_ending = _split_window(result["tokens"], t.timestamp_begin, seek,
                                                     time_offset, segment_size,
                                                     segment_duration, make)
        if word_timestamps:
            add_word_timestamps(current, model, tok, audio, segment_size, last_speech_timestamp,
                                prepend_punctuations, append_punctuations, alignment_heads)
            if not single_ending:
                lwe = get_end(current)
                if lwe is not None and lwe > time_offset:
                    seek = round(lwe * fps)
            th = hallucination_silence_threshold
            if th is not None:
                if not single_ending:
                    lwe = get_end(current)
                    if lwe is not None and lwe > time_offset:
                        seek = round(lwe * fps) if window_end_time - lwe > th else \
                            previous_seek + segment_size
                first = next_words_segment(current)
                if first is not None and is_segment_anomaly(first):
                    gap = first["start"] - time_offset
                    if gap > th:
                        seek = previous_seek + round(gap * fps)
                        continue
                hal_last_end = last_speech_timestamp
                for si in range(len(current)):
                    seg = current[si]
                    if not seg["words"]:
                        continue
                    if is_segment_anomaly(seg):
                        nxt = next_words_segment(current[si + 1:])
                        hal_next_start = nxt["words"][0]["start"] if nxt is not None else \
                            time_offset + segment_duration
                        before = seg["start"] - hal_last_end > th or seg["start"] < th or \
                            seg["start"] - time_offset < 2.0
                        after = hal_next_start - seg["end"] > th or is_segment_anomaly(nxt) or \
                            window_end_time - seg["end"] < 2.0
                        if before and after:
                            seek = round(max(time_offset + 1, seg["start"]) * fps)
                            if content_duration - seg["end"] < th:
                                seek = content_frames
                            current[si:] = []
                            break
                    hal_last_end = seg["end"]
            lwe = get_end(current)
            if lwe is not None:
                last_speech_timestamp = lwe

        for s in current:
            if s["start"] == s["end"] or s["text"].strip() == "":
                s["text"], s["tokens"] = "", []
                if word_timestamps:
                    s["words"] = []
        for s in current:
            all_segments.append({"id": len(all_segments), **s})
        all_tokens.extend(x for s in current for x in s["tokens"])
        if not condition_on_previous_text or result["temperature"] > 0.5:
            prompt_reset_since = len(all_tokens)

    return {"text": t.decode(all_tokens[len(initial_prompt_tokens):]),
            "segments": all_segments, "language": language}


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch reference transcribe() with word timings")
    ap.add_argument("--model", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--data", default=None)
    ap.add_argument("--language", default=None)
    ap.add_argument("--hallucination_silence_threshold", type=float, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    m = T.Model(a.model)
    r = transcribe_words(m, W.load_audio_ffmpeg(a.audio), data_dir=a.data, temperature=[0.0],
                         language=a.language,
                         hallucination_silence_threshold=a.hallucination_silence_threshold)
    print(json.dumps(r, indent=1, ensure_ascii=False, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
