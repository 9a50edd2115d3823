#!/usr/bin/python3
"""parity.py — stage-by-stage parity of auris with the PyTorch reference (whisper_ref.py).

For each (random model, clip) it runs auris_dump (the C pipeline) and the reference and checks:
  PCM (auris vs the ffmpeg CLI) within 1/32768; full log-Mel and the 3000-frame window max abs
  diff <= 2e-4; encoder output <= 2e-3; teacher-forced decoder logits over the whole sequence
  <= 2e-3; identical greedy tokens and text; avg_logprob / no_speech_prob / compression_ratio
  within 1e-3. Suites:
    micro   : micro seeds 1, 2, 3 (+ micro.en and language detection) on jfk, silence, noise
    tiny    : tiny seed 1 on jfk, silence, noise
    formats : PCM of jfk.wav/.flac/.mp3 vs ffmpeg; tiny from .pt vs from ggml .bin -> same tokens
Every check prints one line with the measured figure. Exit 0 pass, 1 fail, 77 skipped (shared
data, torch, numpy or ffmpeg missing). Random models are cached under --work and regenerated
when gen_model.py is newer than them.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TOL_PCM = 1.0 / 32768.0
TOL_MEL = 2e-4
TOL_ENC = 2e-3
TOL_LOGITS = 2e-3
TOL_SCALAR = 1e-3

FAILURES = []


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(77)


def check(ok, label, detail):
    print(f"{'PASS' if ok else 'FAIL'} {label}: {detail}", flush=True)
    if not ok:
        FAILURES.append(label)
    return ok


def maxdiff(a, b):
    import numpy as np
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


class Dump:
    """Reads what auris_dump wrote into one directory."""

    def __init__(self, d):
        import numpy as np
        self.dir = d
        with open(os.path.join(d, "meta.json")) as f:
            self.meta = json.load(f)
        m = self.meta
        self.pcm = np.fromfile(os.path.join(d, "pcm.f32"), "<f4")
        self.mel = np.fromfile(os.path.join(d, "mel.f32"), "<f4").reshape(m["n_mels"], -1)
        self.window = np.fromfile(os.path.join(d, "window.f32"), "<f4").reshape(m["n_mels"], -1)
        if "n_vocab" in m:
            self.encoder = np.fromfile(os.path.join(d, "encoder.f32"), "<f4").reshape(
                m["n_audio_ctx"], m["n_audio_state"])
            self.sequence = np.fromfile(os.path.join(d, "sequence.i32"), "<i4").tolist()
            self.logits = np.fromfile(os.path.join(d, "logits.f32"), "<f4").reshape(
                m["n_rows"], m["n_vocab"])
            self.start = self.sequence[:m["n_start"]]
            self.tokens = self.sequence[m["n_start"]:]
            with open(os.path.join(d, "text.txt"), "rb") as f:
                self.text = f.read().decode("utf-8")


def run_dump(exe, audio, outdir, model=None, language="en", threads=2, assets=None):
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    cmd = [exe, "--audio", audio, "--outdir", outdir, "--threads", str(threads)]
    if model:
        cmd += ["--model", model, "--language", language]
    if assets:
        cmd += ["--assets", assets]
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    return Dump(outdir), time.time() - t


def ensure_model(work, size, seed, data):
    import gen_model
    d = os.path.join(work, "models")
    base = os.path.join(d, f"{size}-s{seed}")
    src_mtime = os.path.getmtime(gen_model.__file__)
    if all(os.path.exists(base + e) and os.path.getmtime(base + e) >= src_mtime
           for e in (".pt", ".bin")):
        return base + ".pt", base + ".bin"
    p = gen_model.generate(size, seed, d, ("pt", "bin"), "f16", data)
    return p["pt"], p["bin"]


class RefCache:
    """Reference model, decoder and per-clip mel, kept across checks of one model."""

    def __init__(self, data):
        self.data = data
        self.pcm = {}
        self.filters = None

    def mel(self, audio):
        import whisper_ref as R
        if audio not in self.pcm:
            self.pcm[audio] = R.load_audio_ffmpeg(audio)
        if self.filters is None:
            self.filters = R.load_mel_filters(80, self.data)
        mel = R.log_mel(self.pcm[audio], self.filters)
        return self.pcm[audio], mel, R.mel_window(mel)


def compare_front(label, dump, ref, audio):
    """PCM and mel checks; returns the reference window tensor."""
    import numpy as np
    pcm, mel, win = ref.mel(audio)
    check(dump.pcm.shape == pcm.shape and maxdiff(dump.pcm, pcm) <= TOL_PCM,
          f"{label} pcm", f"{dump.pcm.size} vs {pcm.size} samples, "
          f"max|diff| = {maxdiff(dump.pcm, pcm) if dump.pcm.shape == pcm.shape else 'n/a'} "
          f"(tol {TOL_PCM:.3g})")
    dm = maxdiff(dump.mel, mel.numpy())
    check(dm <= TOL_MEL, f"{label} mel", f"shape {dump.mel.shape} vs {tuple(mel.shape)}, "
          f"max|diff| = {dm:.3g} (tol {TOL_MEL:g})")
    dw = maxdiff(dump.window, win.numpy())
    check(dw <= TOL_MEL, f"{label} mel window", f"max|diff| = {dw:.3g} (tol {TOL_MEL:g})")
    return win if np.isfinite(dw) else None


def compare_model(label, dump, model, decoder, win, language="en"):
    """Encoder, greedy result and teacher-forced logits; returns the reference greedy result."""
    import torch
    audio = model.encode(win)
    de = maxdiff(dump.encoder, audio.numpy())
    check(de <= TOL_ENC, f"{label} encoder", f"max|diff| = {de:.3g} (tol {TOL_ENC:g})")
    r = decoder.greedy(audio, language if model.multilingual else None)
    same = r["start"] == dump.start and r["tokens"] == dump.tokens
    first = next((i for i, (x, y) in enumerate(zip(r["tokens"], dump.tokens)) if x != y), None)
    check(same, f"{label} greedy tokens",
          f"{len(dump.tokens)} tokens (ref {len(r['tokens'])}), start {dump.start}"
          + ("" if same else f" vs ref {r['start']}, first difference at {first}"))
    check(r["text"] == dump.text, f"{label} text", repr(dump.text[:60]) +
          ("" if r["text"] == dump.text else f" vs ref {r['text'][:60]!r}"))
    for k in ("avg_logprob", "no_speech_prob", "compression_ratio"):
        a, b = dump.meta[k], r[k]
        d = abs(a - b)
        check(d <= TOL_SCALAR, f"{label} {k}", f"{a:.6g} vs ref {b:.6g}, |diff| = {d:.3g}")
    lg = decoder.teacher_forced(audio, dump.sequence)
    dl = maxdiff(dump.logits, lg.numpy())
    check(dl <= TOL_LOGITS, f"{label} logits",
          f"{len(dump.sequence)} rows, max|diff| = {dl:.3g} (tol {TOL_LOGITS:g}, "
          f"max|logit| {float(torch.max(torch.abs(lg))):.1f}, "
          f"smallest top-1 margin {min_margin(decoder, lg, len(dump.start)):.3g})")
    return r


def min_margin(decoder, logits, n_start):
    """Smallest gap between the best and second-best filtered logit over the sampled steps: how
    far the model is from an argmax flip (compare with the logits max|diff|)."""
    import torch
    best = float("inf")
    for i in range(n_start - 1, logits.shape[0]):
        lg = logits[i].clone()
        if i == n_start - 1:
            lg[decoder.blank] = float("-inf")
        lg[decoder.suppress] = float("-inf")
        top = torch.topk(lg, 2).values
        best = min(best, float(top[0] - top[1]))
    return best


def run_model_suite(a, models, clips, ref, extra=None):
    import whisper_ref as R
    for size, seed in models:
        pt, _ = ensure_model(a.work, size, seed, a.data)
        model = R.Model(pt)
        decoder = R.Decoder(model, a.data)
        for cname, cpath in clips.items():
            label = f"{size}-s{seed} {cname}"
            out = os.path.join(a.work, "out", f"{size}-s{seed}", cname)
            try:
                dump, dt = run_dump(a.dump, cpath, out, pt, "en", a.threads, a.data)
            except RuntimeError as e:
                check(False, f"{label} auris_dump", str(e))
                continue
            print(f"     {label}: auris_dump took {dt:.1f} s", flush=True)
            win = compare_front(label, dump, ref, cpath)
            if win is not None:
                compare_model(label, dump, model, decoder, win)
    for fn in extra or []:
        fn()


def suite_micro(a, clips, ref):
    import whisper_ref as R

    def lang_detect():
        pt, _ = ensure_model(a.work, "micro", 1, a.data)
        out = os.path.join(a.work, "out", "micro-s1", "jfk-auto")
        try:
            dump, _ = run_dump(a.dump, clips["jfk"], out, pt, "auto", a.threads, a.data)
        except RuntimeError as e:
            check(False, "micro-s1 jfk language detection", str(e))
            return
        model = R.Model(pt)
        dec = R.Decoder(model, a.data)
        _, _, win = ref.mel(clips["jfk"])
        tok, code, _ = dec.detect_language(model.encode(win))
        check(dump.meta["language_token"] == tok, "micro-s1 jfk language detection",
              f"auris {dump.meta['language_token']} vs ref {tok} (<|{code}|>)")
        compare_model("micro-s1 jfk (detected language)", dump, model, dec, win, None)

    run_model_suite(a, [("micro", 1), ("micro", 2), ("micro", 3)], clips, ref)
    run_model_suite(a, [("micro.en", 1)], {"jfk": clips["jfk"]}, ref, [lang_detect])


def suite_tiny(a, clips, ref):
    run_model_suite(a, [("tiny", 1)], {"jfk": clips["jfk"]} if a.quick else clips, ref)


def suite_formats(a, clips, ref):
    import whisper_ref as R
    for ext in ("wav", "flac", "mp3"):
        path = os.path.join(a.data, f"jfk.{ext}")
        out = os.path.join(a.work, "out", "formats", ext)
        try:
            dump, _ = run_dump(a.dump, path, out, None, threads=a.threads)
        except RuntimeError as e:
            check(False, f"pcm jfk.{ext}", str(e))
            continue
        pcm = R.load_audio_ffmpeg(path)
        ok = dump.pcm.shape == pcm.shape
        d = maxdiff(dump.pcm, pcm) if ok else float("inf")
        check(ok and d <= TOL_PCM, f"pcm jfk.{ext}",
              f"{dump.pcm.size} vs ffmpeg {pcm.size} samples, max|diff| = {d:.3g} "
              f"(tol 1/32768 = {TOL_PCM:.3g})")
    pt, binf = ensure_model(a.work, "tiny", 1, a.data)
    for cname in (("jfk",) if a.quick else ("jfk", "noise")):
        res = {}
        for fmt, path in (("pt", pt), ("bin", binf)):
            out = os.path.join(a.work, "out", "formats", f"tiny-{fmt}-{cname}")
            try:
                res[fmt], _ = run_dump(a.dump, clips[cname], out, path, "en", a.threads, a.data)
            except RuntimeError as e:
                check(False, f"tiny-s1 {cname} .{fmt}", str(e))
        if len(res) == 2:
            same = res["pt"].sequence == res["bin"].sequence
            dl = maxdiff(res["pt"].logits, res["bin"].logits)
            check(same and dl == 0.0, f"tiny-s1 {cname} .pt vs .bin",
                  f"{len(res['pt'].tokens)} tokens, identical={same}, "
                  f"logits max|diff| = {dl:.3g} (want 0)")


def main(argv=None):
    ap = argparse.ArgumentParser(description="auris vs PyTorch reference parity")
    ap.add_argument("--suite", required=True, choices=["micro", "tiny", "formats"])
    ap.add_argument("--dump", required=True, help="path of the auris_dump executable")
    ap.add_argument("--data", default=None, help="shared data dir")
    ap.add_argument("--work", required=True, help="scratch dir (models are cached here)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true",
                    help="sanitizer builds: tiny runs on jfk only (each check still runs)")
    a = ap.parse_args(argv)
    try:
        import numpy  # noqa: F401
        import torch
    except ImportError as e:
        skip(f"python module missing ({e}); run with Debian's /usr/bin/python3 "
             "(python3-torch, python3-numpy)")
    try:
        import regex  # noqa: F401
    except ImportError:
        skip("python3-regex missing (needed by ref_tokenizer.py)")
    import gen_model
    a.data = a.data or gen_model.shared_data_dir()
    need = ["jfk.wav", "jfk.flac", "jfk.mp3", "mel_filters.npz", "gpt2.tiktoken",
            "multilingual.tiktoken"]
    missing = [n for n in need if not os.path.isfile(os.path.join(a.data, n))]
    if missing:
        skip(f"shared data folder {a.data} lacks {', '.join(missing)}")
    if not shutil.which("ffmpeg"):
        skip("the ffmpeg command is needed to decode audio for the reference")
    if not os.access(a.dump, os.X_OK):
        print(f"FAIL: {a.dump} is not executable")
        return 1
    torch.set_num_threads(max(1, a.threads))
    os.makedirs(a.work, exist_ok=True)
    import make_clips
    clips = {"jfk": os.path.join(a.data, "jfk.wav")}
    clips.update(make_clips.make_clips(os.path.join(a.work, "clips"), seed=1))
    ref = RefCache(a.data)
    t = time.time()
    {"micro": suite_micro, "tiny": suite_tiny, "formats": suite_formats}[a.suite](a, clips, ref)
    print(f"{a.suite}: {len(FAILURES)} failure(s) in {time.time() - t:.1f} s")
    if FAILURES:
        print("failed: " + "; ".join(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
