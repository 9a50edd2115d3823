#!/usr/bin/python3
"""words_parity.py — parity of `auris transcribe --word_timestamps True` (JSON output) with the
PyTorch reference in timing_ref.py (itself checked against openai-whisper's timing.py /
transcribe.py), on random-weight checkpoints that emit timestamps (gen_ts_model.py) and
synthetic speech (make_speech.py).

Each case runs
  auris transcribe CLIP --model M --output_format json --word_timestamps True --beam_size 1
        --temperature_increment_on_fallback None [--hallucination_silence_threshold 2] ...
and compares with timing_ref.transcribe_words(): the number of segments, each segment's seek,
tokens and text exactly and start/end within 0.02 s; each segment's word list: the count and
every word's text exactly, start/end within 0.02 s and probability within 1e-3. Cases: jfk.wav
(English), a 2-minute clip (the first 120 s of make_speech's 3-minute clip, cut here) and
non-space-language transcripts (--language ja / zh, so words are split at unicode boundaries
rather than spaces), each with and without --hallucination_silence_threshold 2. Random models
give improbable, oddly timed words, so the guard treats most segments as hallucinations: on
jfk.wav in English it drops every segment (the seek arithmetic still runs window after window),
while the 2-minute clip and jfk.wav in Japanese keep segments and words. Every case prints its
word count and largest differences; a failure names the first differing segment/word with the
expected and actual values.

Suites: short (jfk in English), cjk (jfk in Japanese, the short clip in Chinese), long and
long-hst (the 2-minute clip without / with the guard).
Exit 0 pass, 1 fail, 77 skipped (torch/numpy/regex, shared data, espeak-ng/sox or ffmpeg
missing).
"""
import argparse
import os
import shutil
import sys
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import transcribe_parity as P  # noqa: E402

TOL_TIME = 0.02 + 1e-9
TOL_PROB = 1e-3
HST = ["--hallucination_silence_threshold", "2"]
GREEDY = ["--beam_size", "1"]

# name, model, clip, CLI options (besides --word_timestamps True / json / fallback None)
SUITES = {
    "short": [
        ("jfk-en", "micro-ts", "jfk", ["--language", "en"] + GREEDY),
        ("jfk-en-hst", "micro-ts", "jfk", ["--language", "en"] + GREEDY + HST),
    ],
    "cjk": [
        ("jfk-ja", "micro-ts", "jfk", ["--language", "ja"] + GREEDY),
        ("jfk-ja-hst", "micro-ts", "jfk", ["--language", "ja"] + GREEDY + HST),
        ("short-zh", "micro-ts", "short", ["--language", "zh"] + GREEDY),
    ],
    "long": [
        ("2min-en", "micro-ts", "2min", ["--language", "en"] + GREEDY),
    ],
    "long-hst": [
        ("2min-en-hst", "micro-ts", "2min", ["--language", "en"] + GREEDY + HST),
    ],
}


def cut_clip(src, dst, seconds):
    """dst = the first `seconds` of the 16-bit WAV src (rebuilt when older than src)."""
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        return dst
    with wave.open(src, "rb") as r:
        params = r.getparams()
        frames = r.readframes(int(seconds * r.getframerate()))
    tmp = dst + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setparams(params)
        w.writeframes(frames)
    os.replace(tmp, dst)
    return dst


def ref_kwargs(opts):
    a = dict(zip(opts[::2], opts[1::2]))
    kw = {"temperature": [0.0], "language": a.get("--language"),
          "beam_size": int(a.get("--beam_size", 5)), "word_timestamps": True}
    if "--hallucination_silence_threshold" in a:
        kw["hallucination_silence_threshold"] = float(a["--hallucination_silence_threshold"])
    return kw


def compare(got, ref):
    """(ok, detail): segments then words, with the first differences spelled out."""
    problems = []
    gs, rs = got.get("segments", []), ref["segments"]
    if len(gs) != len(rs):
        problems.append(f"{len(gs)} segments vs ref {len(rs)}")
    md = {"seg": 0.0, "start": 0.0, "end": 0.0, "prob": 0.0}
    n_words = 0
    for g, r in zip(gs, rs):
        sid = r["id"]
        for k in ("seek", "tokens", "text"):
            if g.get(k) != r[k]:
                gv, rv = g.get(k), r[k]
                if k == "tokens":
                    gv, rv = f"{len(gv or [])} tokens", f"{len(rv)} tokens"
                problems.append(f"segment {sid} {k}: {gv!r} vs ref {rv!r}")
        for k in ("start", "end"):
            d = abs(float(g.get(k, 1e9)) - r[k])
            md["seg"] = max(md["seg"], d)
            if d > TOL_TIME:
                problems.append(f"segment {sid} {k}: {g.get(k)} vs ref {r[k]:.3f}")
        gw, rw = g.get("words") or [], r.get("words") or []
        n_words += len(rw)
        if len(gw) != len(rw):
            problems.append(f"segment {sid}: {len(gw)} words vs ref {len(rw)} "
                            f"(got {[w.get('word') for w in gw][:6]}, "
                            f"ref {[w['word'] for w in rw][:6]})")
        for i, (x, y) in enumerate(zip(gw, rw)):
            where = f"segment {sid} word {i} ({y['word']!r})"
            if x.get("word") != y["word"]:
                problems.append(f"{where} text {x.get('word')!r} vs ref {y['word']!r}")
            for k, tol, key in (("start", TOL_TIME, "start"), ("end", TOL_TIME, "end"),
                                ("probability", TOL_PROB, "prob")):
                d = abs(float(x.get(k, 1e9)) - float(y[k]))
                md[key] = max(md[key], d)
                if d > tol:
                    problems.append(f"{where} {k}: {x.get(k)} vs ref {float(y[k]):.4f}")
        if len(problems) > 8:
            break
    if got.get("text") != ref["text"]:
        problems.append(f"text {got.get('text', '')[:50]!r} vs ref {ref['text'][:50]!r}")
    detail = (f"{len(rs)} segments ({sum(1 for s in rs if s['tokens'])} non-empty, "
              f"{len(set(s['seek'] for s in rs))} windows), {n_words} words; max|diff| segment "
              f"time {md['seg']:.3g}, word start {md['start']:.3g}, end {md['end']:.3g}, "
              f"probability {md['prob']:.3g}")
    if problems:
        detail += "\n    " + "\n    ".join(problems[:10])
    return not problems, detail


def main(argv=None):
    ap = argparse.ArgumentParser(description="auris word timestamps vs the PyTorch reference")
    ap.add_argument("--suite", required=True, choices=sorted(SUITES))
    ap.add_argument("--auris", required=True, help="path of the auris CLI")
    ap.add_argument("--data", default=None, help="shared data dir")
    ap.add_argument("--work", required=True, help="scratch dir (models and clips cached)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--case", action="append", help="run only these case names")
    a = ap.parse_args(argv)
    try:
        import numpy  # noqa: F401
        import regex  # noqa: F401
        import torch
    except ImportError as e:
        P.skip(f"python module missing ({e}); run with Debian's /usr/bin/python3 "
               "(python3-torch, python3-numpy, python3-regex)")
    import gen_model
    a.data = a.data or gen_model.shared_data_dir()
    need = ["jfk.wav", "mel_filters.npz", "gpt2.tiktoken", "multilingual.tiktoken"]
    missing = [n for n in need if not os.path.isfile(os.path.join(a.data, n))]
    if missing:
        P.skip(f"shared data folder {a.data} lacks {', '.join(missing)}")
    if not shutil.which("ffmpeg"):
        P.skip("the ffmpeg command is needed to decode audio for the reference")
    import make_speech
    if make_speech.tools_missing():
        P.skip(f"{', '.join(make_speech.tools_missing())} needed to synthesize speech clips")
    if not os.access(a.auris, os.X_OK):
        print(f"FAIL: {a.auris} is not executable")
        return 1
    torch.set_num_threads(1)  # see transcribe_parity.py: small ops, busy machine
    import timing_ref as R
    import transcribe_ref as T
    import whisper_ref as W
    os.makedirs(a.work, exist_ok=True)
    cdir = os.path.join(a.work, "clips")
    clips = make_speech.make_speech(cdir)
    clips["jfk"] = os.path.join(a.data, "jfk.wav")
    clips["2min"] = cut_clip(clips["long"], os.path.join(cdir, "speech-2min.wav"), 120)
    filters = W.load_mel_filters(80, a.data)
    models, toks, pcms = {}, {}, {}
    t0 = time.time()
    for name, size, clip, opts in SUITES[a.suite]:
        if a.case and name not in a.case:
            continue
        label = f"{a.suite}/{name} ({size}, {clip})"
        path = P.ensure_model(a.work, size, 1, a.data)
        if size not in models:
            models[size] = T.Model(path)
            toks[size] = W.load_tokenizer(models[size].dims["n_vocab"], a.data)
        if clip not in pcms:
            pcms[clip] = W.load_audio_ffmpeg(clips[clip])
        out = os.path.join(a.work, "out", "words", a.suite, name)
        job = P.start_auris(a.auris, clips[clip], path, out,
                            ["--word_timestamps", "True"] + opts, a.data, a.threads)
        t = time.time()  # the reference (one core) runs while auris does
        ref = R.transcribe_words(models[size], pcms[clip], filters=filters, base_tok=toks[size],
                                 **ref_kwargs(opts))
        rt = time.time() - t
        try:
            got, dt = P.finish_auris(job)
        except RuntimeError as e:
            P.check(False, label, f"auris failed: {e}")
            continue
        ok, detail = compare(got, ref)
        P.check(ok, label, f"{detail}\n    auris {dt:.1f} s, reference {rt:.1f} s "
                               "(side by side)")
    print(f"{a.suite}: {len(P.FAILURES)} failure(s) in {time.time() - t0:.1f} s")
    if P.FAILURES:
        print("failed: " + "; ".join(P.FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
