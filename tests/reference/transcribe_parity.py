#!/usr/bin/python3
"""transcribe_parity.py — end-to-end parity of `auris transcribe` (JSON output) with the PyTorch
reference transcribe() in transcribe_ref.py, on random-weight checkpoints and synthetic speech.

Each case runs
  auris transcribe CLIP --model M --output_format json --output_dir D
        --temperature_increment_on_fallback None --verbose False [options]
and compares with transcribe_ref.transcribe() segment by segment: id, seek, tokens, text and
temperature exactly, start/end within 1e-6, avg_logprob / compression_ratio / no_speech_prob
within 1e-3, plus the language and the full text. Timestamp cases use the "-ts" checkpoints of
gen_ts_model.py (gen_model's weights with timestamp-friendly timestamp rows, so windows really
split into segments and the seek loop moves by timestamps); text-only cases use gen_model's
plain checkpoints. Every case prints the number of segments and timestamp tokens it produced
and the smallest decision margins of the reference (greedy/beam ranking gaps, the
timestamp-probability rule, language top-1/top-2, distance to the fallback thresholds): a
mismatch with a healthy margin is a real bug.

Suites: micro (short clips, micro models), tiny (two short tiny cases), long (3-minute file).
Exit 0 pass, 1 fail, 77 skipped (torch/numpy/regex, shared data, espeak-ng/sox or ffmpeg
missing).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TOL_TIME = 1e-6
TOL_SCALAR = 1e-3
FAILURES = []

PROMPT = "Hello there, this is a test of the prompt."


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


def check(ok, label, detail):
    print(f"{'PASS' if ok else 'FAIL'} {label}: {detail}", flush=True)
    if not ok:
        FAILURES.append(label)
    return ok


def ensure_model(work, size, seed, data):
    """Cached .pt of gen_model (plain sizes) or gen_ts_model ("-ts" sizes)."""
    import gen_model
    import gen_ts_model
    d = os.path.join(work, "models")
    path = os.path.join(d, f"{size}-s{seed}.pt")
    src = max(os.path.getmtime(gen_model.__file__), os.path.getmtime(gen_ts_model.__file__))
    if os.path.exists(path) and os.path.getmtime(path) >= src:
        return path
    if size in gen_ts_model.SIZES:
        return gen_ts_model.generate(size, seed, d, ("pt",), "f16", data)["pt"]
    return gen_model.generate(size, seed, d, ("pt",), "f16", data)["pt"]


# name, model, clip, CLI options (the reference CLI's spelling; beam_size always explicit)
SUITES = {
    "micro": [
        ("greedy-ts", "micro-ts", "short", ["--language", "en", "--beam_size", "1"]),
        ("beam5-ts", "micro-ts", "short", ["--language", "en", "--beam_size", "5"]),
        ("greedy-nots", "micro", "short", ["--language", "en", "--beam_size", "1",
                                           "--without_timestamps", "True"]),
        ("beam5-nots", "micro", "short", ["--language", "en", "--beam_size", "5",
                                          "--without_timestamps", "True"]),
        ("translate", "micro-ts", "german", ["--language", "de", "--task", "translate",
                                             "--beam_size", "5"]),
        ("langdetect", "micro-ts", "german", ["--beam_size", "5"]),
        ("initial-prompt", "micro-ts", "short", ["--language", "en", "--beam_size", "5",
                                                 "--initial_prompt", PROMPT]),
        ("silence", "micro-ts", "silence", ["--language", "en", "--beam_size", "5"]),
        ("jfk-beam5-plain", "micro", "jfk", ["--language", "en", "--beam_size", "5"]),
    ],
    "tiny": [
        ("tiny-greedy-ts", "tiny-ts", "short", ["--language", "en", "--beam_size", "1"]),
        ("tiny-greedy-nots", "tiny", "short", ["--language", "en", "--beam_size", "1",
                                               "--without_timestamps", "True"]),
    ],
    "long": [
        ("long-greedy-ts", "micro-ts", "long", ["--language", "en", "--beam_size", "1"]),
        ("long-carry-clips", "micro-ts", "long",
         ["--language", "en", "--beam_size", "1", "--initial_prompt", PROMPT,
          "--carry_initial_prompt", "True", "--clip_timestamps", "3,40,70"]),
        ("long-beam5-patience", "micro-ts", "long",
         ["--language", "en", "--beam_size", "5", "--patience", "2", "--length_penalty",
          "0.5", "--condition_on_previous_text", "False"]),
    ],
}


def ref_kwargs(opts):
    """transcribe_ref.transcribe() arguments equivalent to the reference CLI options."""
    a = dict(zip(opts[::2], opts[1::2]))
    kw = {"temperature": [0.0], "language": a.get("--language"),
          "task": a.get("--task", "transcribe"),
          "beam_size": int(a.get("--beam_size", 5)),
          "without_timestamps": a.get("--without_timestamps", "False") == "True",
          "initial_prompt": a.get("--initial_prompt"),
          "carry_initial_prompt": a.get("--carry_initial_prompt", "False") == "True",
          "condition_on_previous_text": a.get("--condition_on_previous_text", "True") == "True",
          "clip_timestamps": a.get("--clip_timestamps", "0")}
    if "--patience" in a:
        kw["patience"] = float(a["--patience"])
    if "--length_penalty" in a:
        kw["length_penalty"] = float(a["--length_penalty"])
    return kw


def start_auris(exe, clip, model, out_dir, opts, data, threads):
    """Starts `auris transcribe` in the background (the caller computes the reference, which
    runs on one core, meanwhile); finish_auris() waits for it."""
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    cmd = [exe, "transcribe", clip, "--model", model, "--assets", data, "--output_format",
           "json", "--output_dir", out_dir, "--temperature_increment_on_fallback", "None",
           "--verbose", "False", "--threads", str(threads)] + opts
    stem = os.path.splitext(os.path.basename(clip))[0]
    job = {"cmd": cmd, "path": os.path.join(out_dir, stem + ".json"), "t": time.time()}
    job["p"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)

    def wait():  # drains stderr and notes when auris itself ended
        job["err"] = job["p"].communicate()[1]
        job["dt"] = time.time() - job["t"]

    job["waiter"] = threading.Thread(target=wait, daemon=True)
    job["waiter"].start()
    return job


def finish_auris(job):
    """(result JSON, auris's wall seconds); RuntimeError when auris failed."""
    job["waiter"].join()
    err, dt = job["err"], job["dt"]
    rc, path = job["p"].returncode, job["path"]
    if rc != 0 or not os.path.exists(path):
        raise RuntimeError(f"exit {rc}: {(err or '').strip()[-400:]}\n  cmd: "
                           + " ".join(job["cmd"]))
    with open(path, encoding="utf-8") as f:
        return json.load(f), dt


def run_auris(exe, clip, model, out_dir, opts, data, threads):
    return finish_auris(start_auris(exe, clip, model, out_dir, opts, data, threads))


def compare(label, got, ref, timestamp_begin):
    """Segment-by-segment comparison; returns (ok, detail)."""
    problems = []
    gs, rs = got.get("segments", []), ref["segments"]
    if len(gs) != len(rs):
        problems.append(f"{len(gs)} segments vs ref {len(rs)}")
    md = {"time": 0.0, "avg_logprob": 0.0, "compression_ratio": 0.0, "no_speech_prob": 0.0}
    for g, r in zip(gs, rs):
        for k in ("id", "seek", "tokens", "text", "temperature"):
            if g.get(k) != r[k]:
                if k == "tokens":
                    gt, rt = g.get(k) or [], r[k]
                    i = next((i for i, (x, y) in enumerate(zip(gt, rt)) if x != y),
                             min(len(gt), len(rt)))
                    problems.append(f"segment {r['id']} (seek {r['seek']}) tokens differ at "
                                    f"{i}: {gt[i:i + 4]} vs ref {rt[i:i + 4]} "
                                    f"(lengths {len(gt)}/{len(rt)})")
                else:
                    problems.append(f"segment {r['id']} {k}: {g.get(k)!r} vs ref {r[k]!r}")
        for k in ("start", "end"):
            md["time"] = max(md["time"], abs(float(g.get(k, 1e9)) - r[k]))
        for k in ("avg_logprob", "compression_ratio", "no_speech_prob"):
            md[k] = max(md[k], abs(float(g.get(k, 1e9)) - r[k]))
        if len(problems) > 6:
            break
    if md["time"] > TOL_TIME:
        problems.append(f"start/end max|diff| {md['time']:.3g}")
    for k in ("avg_logprob", "compression_ratio", "no_speech_prob"):
        if md[k] > TOL_SCALAR:
            problems.append(f"{k} max|diff| {md[k]:.3g}")
    if got.get("language") != ref["language"]:
        problems.append(f"language {got.get('language')!r} vs ref {ref['language']!r}")
    if got.get("text") != ref["text"]:
        problems.append(f"text {got.get('text', '')[:50]!r} vs ref {ref['text'][:50]!r}")
    n_ts = sum(1 for s in rs for x in s["tokens"] if x >= timestamp_begin)
    n_text = sum(1 for s in rs if s["tokens"])
    detail = (f"{len(rs)} segments ({n_text} non-empty, {len(set(s['seek'] for s in rs))} "
              f"windows), {n_ts} timestamp tokens, language {ref['language']}; max|diff| "
              f"time {md['time']:.2g}, avg_logprob {md['avg_logprob']:.2g}, "
              f"compression_ratio {md['compression_ratio']:.2g}, "
              f"no_speech_prob {md['no_speech_prob']:.2g}")
    if problems:
        detail += "\n    " + "\n    ".join(problems[:8])
    return not problems, detail


def main(argv=None):
    ap = argparse.ArgumentParser(description="auris transcribe vs reference transcribe()")
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
        skip(f"python module missing ({e}); run with Debian's /usr/bin/python3 "
             "(python3-torch, python3-numpy, python3-regex)")
    import gen_model
    a.data = a.data or gen_model.shared_data_dir()
    need = ["jfk.wav", "mel_filters.npz", "gpt2.tiktoken", "multilingual.tiktoken"]
    missing = [n for n in need if not os.path.isfile(os.path.join(a.data, n))]
    if missing:
        skip(f"shared data folder {a.data} lacks {', '.join(missing)}")
    if not shutil.which("ffmpeg"):
        skip("the ffmpeg command is needed to decode audio for the reference")
    import make_speech
    if make_speech.tools_missing():
        skip(f"{', '.join(make_speech.tools_missing())} needed to synthesize speech clips")
    if not os.access(a.auris, os.X_OK):
        print(f"FAIL: {a.auris} is not executable")
        return 1
    # one thread: the reference's small per-token ops gain nothing from more, and OpenMP
    # spinning makes them many times slower when the machine is busy with other tests
    torch.set_num_threads(1)
    import transcribe_ref as T
    import whisper_ref as W
    os.makedirs(a.work, exist_ok=True)
    clips = make_speech.make_speech(os.path.join(a.work, "clips"))
    clips["jfk"] = os.path.join(a.data, "jfk.wav")
    filters = W.load_mel_filters(80, a.data)
    models, toks, pcms = {}, {}, {}
    t0 = time.time()
    for name, size, clip, opts in SUITES[a.suite]:
        if a.case and name not in a.case:
            continue
        label = f"{a.suite}/{name} ({size}, {clip})"
        path = ensure_model(a.work, size, 1, a.data)
        if size not in models:
            models[size] = T.Model(path)
            toks[size] = W.load_tokenizer(models[size].dims["n_vocab"], a.data)
        if clip not in pcms:
            pcms[clip] = W.load_audio_ffmpeg(clips[clip])
        out = os.path.join(a.work, "out", a.suite, name)
        job = start_auris(a.auris, clips[clip], path, out, opts, a.data, a.threads)
        t = time.time()
        stats = T.DecodeStats()
        ref = T.transcribe(models[size], pcms[clip], filters=filters, base_tok=toks[size],
                           stats=stats, **ref_kwargs(opts))
        rt = time.time() - t
        try:
            got, dt = finish_auris(job)
        except RuntimeError as e:
            check(False, label, f"auris failed: {e}")
            continue
        ok, detail = compare(label, got, ref, toks[size].timestamp_begin)
        m = stats.as_dict()
        margins = ", ".join(f"{k} {v:.3g}" for k, v in m.items()
                            if k != "steps" and v != float("inf"))
        check(ok, label, f"{detail}\n    reference margins: {margins} ({m['steps']} steps); "
                         f"auris {dt:.1f} s, reference {rt:.1f} s (side by side)")
    print(f"{a.suite}: {len(FAILURES)} failure(s) in {time.time() - t0:.1f} s")
    if FAILURES:
        print("failed: " + "; ".join(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
