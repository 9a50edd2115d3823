#!/usr/bin/python3
"""transcribe_ref.py — an independent PyTorch reference of Whisper's full window decoding and of
the long-form transcribe() loop, for auris's end-to-end JSON parity tests.

Facts follow openai/whisper decoding.py (DecodingTask: initial tokens with prompt/prefix,
SuppressBlank, SuppressTokens, ApplyTimestampRules with max_initial_timestamp, greedy and beam
search with patience / length penalty and cache reordering, MaximumLikelihoodRanker, avg_logprob,
no_speech_prob) and transcribe.py (mel with 30 s of padding, language detection on the first
window, clip_timestamps, the sequential seek loop, segments split at consecutive timestamps,
single_timestamp_ending, no-speech skip, temperature fallback, prompt conditioning and
carry_initial_prompt, clearing empty segments, final text). The network, mel and tokenizer come
from whisper_ref.py / ref_tokenizer.py (functional code that shares nothing with either openai's
package or auris).

Invariants: only temperature 0 is decoded (samples drawn at T > 0 cannot match another program's
random numbers; reaching one raises NotImplementedError). Cumulative log probabilities are kept in
float32 like the reference's tensors so beam ranking sees the same numbers. Every decision that
depends on a floating-point comparison records its margin (DecodeStats) so a test can tell a real
mismatch from an ill-conditioned case.

CLI (debugging): transcribe_ref.py --model M.pt --audio FILE [--language en] [--beam_size 5]
[--without_timestamps] [--task translate] [--initial_prompt TEXT] prints the result as JSON.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_tokenizer  # noqa: E402
import whisper_ref as W  # noqa: E402

HOP_LENGTH = W.HOP
SAMPLE_RATE = W.SAMPLE_RATE
N_FRAMES = W.N_FRAMES
N_SAMPLES = W.N_SAMPLES
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100
CHUNK_LENGTH = 30
NEG_INF = float("-inf")


class Model(W.Model):
    """whisper_ref.Model with a decoder step tuned for one-token calls: the vocabulary projection
    of a few rows goes through a pre-transposed embedding (Debian's torch makes oneDNN's
    per-call set-up ~7x slower than a plain matrix-vector product at this shape). Same maths."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.emb_t = self.w["decoder.token_embedding.weight"].t().contiguous()  # [n_state][n_vocab]

    @torch.no_grad()
    def decode(self, tokens, cache):
        if len(tokens) > 4:
            return super().decode(tokens, cache)
        off = cache["n"]
        ids = torch.as_tensor(tokens, dtype=torch.long)
        x = self.w["decoder.token_embedding.weight"][ids] + \
            self.w["decoder.positional_embedding"][off:off + len(tokens)]
        H = self.dims["n_text_head"]
        for i in range(self.dims["n_text_layer"]):
            p = f"decoder.blocks.{i}"
            h = self._ln(x, p + ".attn_ln")
            k = self._lin(h, p + ".attn.key", False)
            v = self._lin(h, p + ".attn.value")
            if cache["self"][i] is not None:
                k = torch.cat([cache["self"][i][0], k])
                v = torch.cat([cache["self"][i][1], v])
            cache["self"][i] = (k, v)
            a = self._attend(self._lin(h, p + ".attn.query"), k, v, H, causal_offset=off)
            x = x + self._lin(a, p + ".attn.out")
            h = self._ln(x, p + ".cross_attn_ln")
            ck, cv = cache["cross"][i]
            a = self._attend(self._lin(h, p + ".cross_attn.query"), ck, cv, H)
            x = x + self._lin(a, p + ".cross_attn.out")
            x = x + self._mlp(x, p)
        cache["n"] = off + len(tokens)
        return self._ln(x, "decoder.ln") @ self.emb_t


class DecodeStats:
    """Smallest margins seen by the decisions of one or more decodes (how close to a flip)."""

    def __init__(self):
        self.token = math.inf       # greedy: top-1 minus top-2 filtered logit
        self.beam = math.inf        # beam: gap between consecutive ranked candidate scores
        self.timestamp = math.inf   # |log P(any timestamp) - max text logprob|
        self.threshold = math.inf   # distance of avg_logprob / no_speech / ratio to thresholds
        self.language = math.inf    # top-1 minus top-2 language probability
        self.steps = 0

    def merge(self, o):
        for k in ("token", "beam", "timestamp", "threshold", "language"):
            setattr(self, k, min(getattr(self, k), getattr(o, k)))
        self.steps += o.steps

    def as_dict(self):
        return {k: getattr(self, k) for k in ("token", "beam", "timestamp", "threshold",
                                              "language", "steps")}


class Options:
    """DecodingOptions with the reference's defaults."""

    def __init__(self, **kw):
        self.task = "transcribe"
        self.language = None
        self.temperature = 0.0
        self.sample_len = None
        self.best_of = None
        self.beam_size = None
        self.patience = None
        self.length_penalty = None
        self.prompt = None
        self.prefix = None
        self.suppress_tokens = "-1"
        self.suppress_blank = True
        self.without_timestamps = False
        self.max_initial_timestamp = 1.0
        for k, v in kw.items():
            if not hasattr(self, k):
                raise TypeError(f"unknown decoding option {k}")
            setattr(self, k, v)


class Tok:
    """The tokenizer facts a decode needs, for one (language, task)."""

    def __init__(self, base, language, task):
        self.t = base
        t = base
        self.multilingual = t.multilingual
        if t.multilingual:
            self.language = (language or "en").lower()
            self.task = task or "transcribe"
            lang_tok = t.special_ids[f"<|{self.language}|>"]
            task_tok = t.transcribe if self.task == "transcribe" else t.translate
            self.sot_sequence = [t.sot, lang_tok, task_tok]
        else:
            self.language, self.task = None, None
            self.sot_sequence = [t.sot]
        self.lang_tokens = [t.special_ids[f"<|{c}|>"]
                            for c in ref_tokenizer.LANGUAGE_CODES[:t.num_languages]]
        self.lang_codes = list(ref_tokenizer.LANGUAGE_CODES[:t.num_languages])


def _suppress_list(tok, spec):
    t = tok.t
    if isinstance(spec, str):
        spec = [int(x) for x in spec.split(",")] if spec else []
    spec = list(spec or [])
    if -1 in spec:
        spec = [x for x in spec if x >= 0] + list(t.non_speech_tokens())
    spec += [t.transcribe, t.translate, t.sot, t.sot_prev, t.sot_lm, t.no_speech]
    return sorted(set(spec))


def initial_tokens(tok, opts, n_ctx, sample_len):
    t = tok.t
    seq = list(tok.sot_sequence)
    if opts.without_timestamps:
        seq.append(t.no_timestamps)
    if opts.prefix:
        pre = t.encode(" " + opts.prefix.strip()) if isinstance(opts.prefix, str) else \
            list(opts.prefix)
        if sample_len is not None:
            keep = n_ctx // 2 - sample_len
            pre = pre[-keep:]          # keep == 0 keeps everything, as in the reference
        seq += pre
    if opts.prompt:
        pr = t.encode(" " + opts.prompt.strip()) if isinstance(opts.prompt, str) else \
            list(opts.prompt)
        seq = [t.sot_prev] + pr[-(n_ctx // 2 - 1):] + seq
    return seq


def _apply_filters(lg, seq, sample_begin, tok, suppress, blank, opts, max_init_idx, stats):
    """In-place logit filters for one sequence, in the reference's order."""
    t = tok.t
    tb = t.timestamp_begin
    if opts.suppress_blank and len(seq) == sample_begin:
        lg[blank] = NEG_INF
    if suppress:
        lg[suppress] = NEG_INF
    if opts.without_timestamps:
        return
    lg[t.no_timestamps] = NEG_INF
    sampled = seq[sample_begin:]
    last_ts = len(sampled) >= 1 and sampled[-1] >= tb
    pen_ts = len(sampled) < 2 or sampled[-2] >= tb
    if last_ts:
        if pen_ts:
            lg[tb:] = NEG_INF
        else:
            lg[:t.eot] = NEG_INF
    stamps = [x for x in sampled if x >= tb]
    if stamps:
        # monotonic timestamps; a segment may not end where it starts
        lim = stamps[-1] if (last_ts and not pen_ts) else stamps[-1] + 1
        lg[tb:lim] = NEG_INF
    if len(seq) == sample_begin:
        lg[:tb] = NEG_INF
        if max_init_idx is not None:
            lg[tb + max_init_idx + 1:] = NEG_INF
    lp = F.log_softmax(lg.float(), dim=-1)
    ts_lp = lp[tb:].logsumexp(dim=-1)
    text_max = lp[:tb].max()
    if torch.isfinite(ts_lp) and torch.isfinite(text_max):
        stats.timestamp = min(stats.timestamp, abs(float(ts_lp - text_max)))
    if ts_lp > text_max:
        lg[:tb] = NEG_INF


def _fork(cache):
    return {"n": cache["n"], "self": list(cache["self"]), "cross": cache["cross"]}


@torch.no_grad()
def decode_window(model, tok, audio, opts, stats=None):
    """One 30 s window (encoder output `audio`) -> dict like DecodingResult, at temperature 0."""
    stats = stats or DecodeStats()
    if opts.temperature != 0:
        raise NotImplementedError("only temperature 0 is reproducible")
    if opts.beam_size is not None and opts.best_of is not None:
        raise ValueError("beam_size and best_of can't be given together")
    if opts.length_penalty is not None and not 0 <= opts.length_penalty <= 1:
        raise ValueError("length_penalty must be in [0, 1]")
    t = tok.t
    eot = t.eot
    n_ctx = model.dims["n_text_ctx"]
    sample_len = opts.sample_len or n_ctx // 2
    init = initial_tokens(tok, opts, n_ctx, sample_len)
    sample_begin = len(init)
    sot_index = init.index(t.sot)
    suppress = _suppress_list(tok, opts.suppress_tokens) if opts.suppress_tokens else []
    blank = t.encode(" ") + [eot]
    max_init_idx = None
    if not opts.without_timestamps and opts.max_initial_timestamp:
        precision = CHUNK_LENGTH / model.dims["n_audio_ctx"]
        max_init_idx = round(opts.max_initial_timestamp / precision)

    beam = opts.beam_size
    n_group = beam or 1
    cache0 = model.new_cache(audio)
    first = model.decode(init, cache0)
    no_speech = float(torch.softmax(first[sot_index].float(), -1)[t.no_speech])
    seqs = [list(init) for _ in range(n_group)]
    caches = [cache0] + [_fork(cache0) for _ in range(n_group - 1)]
    sums = torch.zeros(n_group, dtype=torch.float32)
    finished = {}
    max_cand = round(beam * (opts.patience or 1.0)) if beam else 0
    if beam and max_cand <= 0:
        raise ValueError("invalid beam size or patience")
    last_logits = [first[-1]] * n_group

    for step in range(sample_len):
        if step > 0:
            last_logits = [model.decode([s[-1]], c)[-1] for s, c in zip(seqs, caches)]
        rows = []
        for k in range(n_group):
            lg = last_logits[k].clone()
            _apply_filters(lg, seqs[k], sample_begin, tok, suppress, blank, opts,
                           max_init_idx, stats)
            rows.append(lg)
        stats.steps += 1
        if not beam:
            lg = rows[0]
            if seqs[0][-1] == eot:
                nxt = eot
            else:
                top = torch.topk(lg, 2).values
                if torch.isfinite(top[1]):
                    stats.token = min(stats.token, float(top[0] - top[1]))
                nxt = int(torch.argmax(lg))
                lp = F.log_softmax(lg.float(), dim=-1)[nxt]
                sums[0] += lp
            seqs[0] = seqs[0] + [nxt]
            done = seqs[0][-1] == eot
        else:
            scores, sources = {}, {}
            for j in range(n_group):
                lp = F.log_softmax(rows[j].float(), dim=-1)
                vals, idx = lp.topk(beam + 1)
                for v, tk in zip(vals, idx):
                    s = tuple(seqs[j] + [int(tk)])
                    scores[s] = float(sums[j] + v)
                    sources[s] = j
            ranked = sorted(scores, key=scores.get, reverse=True)
            new_seqs, new_src, new_sums, newly = [], [], [], {}
            examined = 0
            for s in ranked:
                examined += 1
                if s[-1] == eot:
                    newly[s] = scores[s]
                else:
                    new_sums.append(scores[s])
                    new_seqs.append(list(s))
                    new_src.append(sources[s])
                    if len(new_seqs) == beam:
                        break
            # ranking decisions: gaps between consecutive examined candidates (+ the next one)
            sc = [scores[s] for s in ranked[:examined + 1]]
            for a, b in zip(sc, sc[1:]):
                if math.isfinite(a) and math.isfinite(b):
                    stats.beam = min(stats.beam, a - b)
            caches = [_fork(caches[j]) for j in new_src]
            seqs = new_seqs
            sums = torch.tensor(new_sums, dtype=torch.float32)
            for s in sorted(newly, key=newly.get, reverse=True):
                if len(finished) >= max_cand:
                    break
                finished[s] = newly[s]
            done = len(finished) >= max_cand
        if done or len(seqs[0]) > n_ctx:
            break

    # finalize: candidate sequences and their cumulative log probabilities
    if not beam:
        cands = [(seqs[0] + [eot], float(sums[0]))]
    else:
        if len(finished) < beam:
            for j in list(np.argsort(sums.numpy()))[::-1]:
                finished[tuple(seqs[j] + [eot])] = float(sums[j])
                if len(finished) >= beam:
                    break
        cands = [(list(s), v) for s, v in finished.items()]
    toks = []
    for s, _ in cands:
        body = s[sample_begin:]
        toks.append(body[:body.index(eot)])
    best, best_score = 0, None
    for i, ((_, lp), tk) in enumerate(zip(cands, toks)):
        pen = len(tk) if opts.length_penalty is None else \
            ((5 + len(tk)) / 6) ** opts.length_penalty
        sc = lp / pen
        if best_score is None or sc > best_score:
            best, best_score = i, sc
    tokens = toks[best]
    sum_lp = cands[best][1]
    text = t.decode(tokens).strip()
    return {"tokens": tokens, "text": text, "sum_logprob": sum_lp,
            "avg_logprob": sum_lp / (len(tokens) + 1), "no_speech_prob": no_speech,
            "temperature": opts.temperature, "compression_ratio": W.compression_ratio(text),
            "language": tok.language, "initial_tokens": init}


@torch.no_grad()
def detect_language(model, base_tok, audio, stats=None):
    """(code, {code: prob}) from the logits at <|startoftranscript|> masked to languages."""
    tok = Tok(base_tok, None, None)
    logits = model.decode([base_tok.sot], model.new_cache(audio))[0].clone()
    mask = torch.ones(logits.shape[-1], dtype=torch.bool)
    mask[tok.lang_tokens] = False
    logits[mask] = NEG_INF
    probs = logits.softmax(-1)
    table = {c: float(probs[i]) for i, c in zip(tok.lang_tokens, tok.lang_codes)}
    code = max(table, key=table.get)
    if stats is not None:
        top = sorted(table.values(), reverse=True)
        stats.language = min(stats.language, top[0] - top[1])
    return code, table


def _pad_window(mel_seg):
    if mel_seg.shape[1] < N_FRAMES:
        mel_seg = F.pad(mel_seg, (0, N_FRAMES - mel_seg.shape[1]))
    return mel_seg[:, :N_FRAMES].contiguous()


def _threshold_margin(stats, r, cr_th, lp_th, ns_th):
    if cr_th is not None:
        stats.threshold = min(stats.threshold, abs(r["compression_ratio"] - cr_th))
    if lp_th is not None:
        stats.threshold = min(stats.threshold, abs(r["avg_logprob"] - lp_th))
    if ns_th is not None:
        stats.threshold = min(stats.threshold, abs(r["no_speech_prob"] - ns_th))


@torch.no_grad()
def transcribe(model, pcm, *, filters=None, data_dir=None, base_tok=None,
               temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), compression_ratio_threshold=2.4,
               logprob_threshold=-1.0, no_speech_threshold=0.6,
               condition_on_previous_text=True, initial_prompt=None,
               carry_initial_prompt=False, clip_timestamps="0", stats=None, **decode_options):
    """The reference transcribe() without word timestamps; returns
    {"text", "segments", "language", "language_probs"} (language_probs only when detected)."""
    stats = stats if stats is not None else DecodeStats()
    dims = model.dims
    if filters is None:
        filters = W.load_mel_filters(dims["n_mels"], data_dir)
    base_tok = base_tok or W.load_tokenizer(dims["n_vocab"], data_dir)
    mel = W.log_mel(pcm, filters, padding=N_SAMPLES)
    content_frames = mel.shape[-1] - N_FRAMES
    lang_probs = None
    if decode_options.get("language") is None:
        if not model.multilingual:
            decode_options["language"] = "en"
        else:
            audio0 = model.encode(_pad_window(mel[:, :N_FRAMES]))
            decode_options["language"], lang_probs = detect_language(model, base_tok, audio0,
                                                                    stats)
    language = decode_options["language"]
    task = decode_options.get("task", "transcribe")
    tok = Tok(base_tok, language, task)
    t = base_tok

    if isinstance(clip_timestamps, str):
        clip_timestamps = [float(x) for x in (clip_timestamps.split(",") if clip_timestamps
                                              else [])]
    points = [round(ts * FRAMES_PER_SECOND) for ts in clip_timestamps]
    if not points:
        points.append(0)
    if len(points) % 2 == 1:
        points.append(content_frames)
    clips = list(zip(points[::2], points[1::2]))

    temps = [temperature] if isinstance(temperature, (int, float)) else list(temperature)

    def decode_with_fallback(audio):
        result = None
        for temp in temps:
            kw = dict(decode_options)
            if temp > 0:
                kw.pop("beam_size", None)
                kw.pop("patience", None)
            else:
                kw.pop("best_of", None)
            result = decode_window(model, tok, audio, Options(**kw, temperature=temp), stats)
            _threshold_margin(stats, result, compression_ratio_threshold, logprob_threshold,
                              no_speech_threshold)
            fallback = False
            if compression_ratio_threshold is not None and \
                    result["compression_ratio"] > compression_ratio_threshold:
                fallback = True
            if logprob_threshold is not None and result["avg_logprob"] < logprob_threshold:
                fallback = True
            if no_speech_threshold is not None and \
                    result["no_speech_prob"] > no_speech_threshold and \
                    logprob_threshold is not None and result["avg_logprob"] < logprob_threshold:
                fallback = False
            if not fallback:
                break
        return result

    input_stride = N_FRAMES // dims["n_audio_ctx"]
    time_precision = input_stride * HOP_LENGTH / SAMPLE_RATE
    all_tokens, all_segments = [], []
    prompt_reset_since = 0
    remaining_prompt_length = dims["n_text_ctx"] // 2 - 1
    if initial_prompt is not None:
        initial_prompt_tokens = t.encode(" " + initial_prompt.strip())
        all_tokens.extend(initial_prompt_tokens)
        remaining_prompt_length -= len(initial_prompt_tokens)
    else:
        initial_prompt_tokens = []

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
        time_offset = float(seek * HOP_LENGTH / SAMPLE_RATE)
        segment_size = min(N_FRAMES, content_frames - seek, clip_end - seek)
        segment_duration = segment_size * HOP_LENGTH / SAMPLE_RATE
        audio = model.encode(_pad_window(mel[:, seek:seek + segment_size]))

        if carry_initial_prompt:
            nignored = max(len(initial_prompt_tokens), prompt_reset_since)
            rest = all_tokens[nignored:][-remaining_prompt_length:]
            decode_options["prompt"] = initial_prompt_tokens + rest
        else:
            decode_options["prompt"] = all_tokens[prompt_reset_since:]

        result = decode_with_fallback(audio)
        tokens = result["tokens"]

        if no_speech_threshold is not None:
            skip = result["no_speech_prob"] > no_speech_threshold
            if logprob_threshold is not None and result["avg_logprob"] > logprob_threshold:
                skip = False
            if skip:
                seek += segment_size
                continue

        def segment(start, end, toks):
            return {"seek": seek, "start": start, "end": end,
                    "text": t.decode([x for x in toks if x < t.eot]), "tokens": list(toks),
                    "temperature": result["temperature"],
                    "avg_logprob": result["avg_logprob"],
                    "compression_ratio": result["compression_ratio"],
                    "no_speech_prob": result["no_speech_prob"]}

        tb = t.timestamp_begin
        is_ts = [x >= tb for x in tokens]
        single_ending = is_ts[-2:] == [False, True]
        consecutive = [i + 1 for i in range(len(tokens) - 1) if is_ts[i] and is_ts[i + 1]]
        current = []
        if consecutive:
            slices = list(consecutive)
            if single_ending:
                slices.append(len(tokens))
            last = 0
            for cur in slices:
                part = tokens[last:cur]
                current.append(segment(time_offset + (part[0] - tb) * time_precision,
                                       time_offset + (part[-1] - tb) * time_precision, part))
                last = cur
            if single_ending:
                seek += segment_size
            else:
                seek += (tokens[last - 1] - tb) * input_stride
        else:
            duration = segment_duration
            stamps = [x for x in tokens if x >= tb]
            if stamps and stamps[-1] != tb:
                duration = (stamps[-1] - tb) * time_precision
            current.append(segment(time_offset, time_offset + duration, tokens))
            seek += segment_size

        for s in current:
            if s["start"] == s["end"] or s["text"].strip() == "":
                s["text"] = ""
                s["tokens"] = []
        for s in current:
            all_segments.append({"id": len(all_segments), **s})
        all_tokens.extend(x for s in current for x in s["tokens"])
        if not condition_on_previous_text or result["temperature"] > 0.5:
            prompt_reset_since = len(all_tokens)

    out = {"text": t.decode(all_tokens[len(initial_prompt_tokens):]),
           "segments": all_segments, "language": language}
    if lang_probs is not None:
        out["language_probs"] = lang_probs
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch reference transcribe() (temperature 0)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--data", default=None)
    ap.add_argument("--language", default=None)
    ap.add_argument("--task", default="transcribe")
    ap.add_argument("--beam_size", type=int, default=None)
    ap.add_argument("--patience", type=float, default=None)
    ap.add_argument("--length_penalty", type=float, default=None)
    ap.add_argument("--without_timestamps", action="store_true")
    ap.add_argument("--initial_prompt", default=None)
    ap.add_argument("--carry_initial_prompt", action="store_true")
    ap.add_argument("--no_condition", action="store_true")
    ap.add_argument("--clip_timestamps", default="0")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    m = Model(a.model)
    pcm = W.load_audio_ffmpeg(a.audio)
    stats = DecodeStats()
    opts = {"task": a.task, "without_timestamps": a.without_timestamps, "language": a.language}
    if a.beam_size and a.beam_size > 1:
        opts["beam_size"] = a.beam_size
        opts["patience"] = a.patience
    opts["length_penalty"] = a.length_penalty
    r = transcribe(m, pcm, data_dir=a.data, temperature=0.0, initial_prompt=a.initial_prompt,
                   carry_initial_prompt=a.carry_initial_prompt,
                   condition_on_previous_text=not a.no_condition,
                   clip_timestamps=a.clip_timestamps, stats=stats, **opts)
    r["margins"] = stats.as_dict()
    print(json.dumps(r, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
