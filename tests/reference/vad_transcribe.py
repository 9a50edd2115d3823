#!/usr/bin/python3
"""vad_transcribe.py — `auris transcribe --vad True` (see vad.cmake).

Files (16 kHz WAV, built here): three espeak-ng sentences separated by 20 s of digital silence,
the same separated by 20 s of noise, 25 s of silence and 25 s of noise. Model: gen_ts_model's
random timestamp-emitting micro checkpoint (tokens are meaningless but deterministic).

Checked:
  * the plan: speech segments from get_speech_timestamps (silero-vad's own code) replayed on
    auris's probabilities with max_speech_duration_s=30, the overlap and faster-whisper's
    collect_chunks applied here independently; every VAD piece lies inside one real part (within
    the 30 ms pad plus one 32 ms window) and every part is covered;
  * tokens: each chunk cut out by hand (the pieces concatenated, written as a WAV) and run through
    plain `auris transcribe` gives exactly the tokens --vad True gives for that chunk;
  * times: every --vad True segment's start/end is the hand-cut chunk's time mapped onto the
    original timeline (within 20 ms);
  * silence and noise: no segments, empty text and no language (no decoder pass ran, not even
    language detection), while plain transcription of the noise does produce segments.
  * --batch_size: make_speech.py's 3-minute "long" clip (several chunks, one of which ends
    early and leaves the decoder batch) gives the same tokens with batch sizes 1, 3 and 8, and
    contradicting flags are refused.
Exit 77 when the venv packages, torch, espeak-ng/sox or shared data are missing.
"""
import argparse
import json
import os
import subprocess
import sys
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import numpy as np
    import torch  # noqa: F401
    import silero_vad  # noqa: F401
except Exception as e:  # pragma: no cover
    print(f"SKIP: {e} (needs tests/requirements/vad.txt in build/venv)")
    sys.exit(77)
import make_speech as MS  # noqa: E402
import vad_ref as R  # noqa: E402

RATE = 16000
OPTS = ["--language", "en", "--beam_size", "1", "--temperature_increment_on_fallback", "None"]


def read_wav(path):
    with wave.open(path, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def write_i16(path, a):
    MS._write(path, a.astype("<i2").tobytes())


def build(work):
    """{name: (path, [(start, end) samples of each real part])}"""
    parts = []
    for i, s in enumerate(MS.SHORT):
        p = os.path.join(work, f"part{i}.wav")
        if not os.path.exists(p):
            MS._tts(s, "en-us", p)
        parts.append(np.frombuffer(MS._read(p), "<i2"))
    rng = np.random.RandomState(7)
    out = {}
    for gap_kind in ("silence", "noise"):
        pieces, spans, pos = [], [], RATE // 2
        pieces.append(np.zeros(RATE // 2, np.int16))
        for i, part in enumerate(parts):
            nz = np.nonzero(np.abs(part.astype(np.int32)) > 64)[0]
            spans.append((pos + int(nz[0]), pos + int(nz[-1]) + 1))
            pieces.append(part)
            pos += len(part)
            gap = np.zeros(20 * RATE, np.int16) if gap_kind == "silence" else \
                (0.02 * 32768 * rng.randn(20 * RATE)).astype(np.int16)
            if i + 1 < len(parts):
                pieces.append(gap)
                pos += len(gap)
        pieces.append(np.zeros(RATE // 2, np.int16))
        path = os.path.join(work, f"vadtx-{gap_kind}.wav")
        write_i16(path, np.concatenate(pieces))
        out[gap_kind] = (path, spans)
    out["silent"] = (os.path.join(work, "vadtx-silent.wav"), [])
    write_i16(out["silent"][0], np.zeros(25 * RATE, np.int16))
    out["noise-only"] = (os.path.join(work, "vadtx-noise-only.wav"), [])
    write_i16(out["noise-only"][0], (0.02 * 32768 * rng.randn(25 * RATE)).astype(np.int16))
    return out


def plan(pcm, probs, overlap=0.1):
    """Chunks as lists of (start, end) pieces, computed independently of auris."""
    segs = R.speech_timestamps(pcm, probs, max_speech_duration_s=30)
    n = len(pcm)
    pieces = []
    for i, (s, e) in enumerate(segs):
        if i + 1 < len(segs):
            e = max(e, min(n, e + int(round(overlap * RATE)), segs[i + 1][0]))
        e = min(e, s + 30 * RATE)
        pieces.append((s, e))
    chunks, cur, dur = [], [], 0
    for s, e in pieces:
        if cur and dur + (e - s) > 30 * RATE:
            chunks.append(cur)
            cur, dur = [], 0
        cur.append((s, e))
        dur += e - s
    if cur:
        chunks.append(cur)
    return chunks


def map_time(chunk, t, is_end):
    local = 0.0
    for i, (s, e) in enumerate(chunk):
        ln = (e - s) / RATE
        if i + 1 == len(chunk) or (t <= local + ln if is_end else t < local + ln):
            return s / RATE + min(ln, max(0.0, t - local))
        local += ln


def transcribe(args, path, out_dir, extra):
    os.makedirs(out_dir, exist_ok=True)
    cmd = [args.auris, "transcribe", path, "--model", args.model, "--assets", args.data,
           "-f", "json", "-o", out_dir, "--verbose", "False"] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}: {r.stderr.strip()}")
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(os.path.join(out_dir, stem + ".json")) as f:
        return json.load(f)


def check_speech(args, name, path, spans, bad):
    pcm = read_wav(path)
    probs = np.array([float(v) for v in subprocess.run(
        [args.auris, "vad", path, "--vad_model", args.vad_model, "-f", "probs"],
        capture_output=True, text=True, check=True).stdout.split()])
    chunks = plan(pcm, probs)
    # every piece inside one real part (pad 30 ms + one window), every part covered
    slack = 0.030 * RATE + 512
    for c in chunks:
        for s, e in c:
            # the end may trail by the overlap (0.1 s), the pad and the 100 ms of silence the
            # VAD waits for before it ends speech
            inside = [k for k, (a, b) in enumerate(spans) if s >= a - slack and e <= b + 0.3 * RATE]
            if len(inside) != 1:
                bad.append(f"{name}: piece {s / RATE:.3f}-{e / RATE:.3f} s is not inside one part "
                           f"({', '.join(f'{a / RATE:.3f}-{b / RATE:.3f}' for a, b in spans)})")
    covered = {k for c in chunks for s, e in c for k, (a, b) in enumerate(spans) if s < b and e > a}
    if covered != set(range(len(spans))):
        bad.append(f"{name}: parts {sorted(set(range(len(spans))) - covered)} not found")
    starts = [min(s for c in chunks for s, e in c if a - slack <= s <= b) / RATE - a / RATE
              for a, b in spans]
    ends = [max(e for c in chunks for s, e in c if a <= e <= b + 0.3 * RATE) / RATE - b / RATE
            for a, b in spans]
    print(f"{name}: {len(chunks)} chunk(s), {sum(len(c) for c in chunks)} pieces; speech found "
          f"from {', '.join(f'{d * 1000:+.0f}' for d in starts)} ms to "
          f"{', '.join(f'{d * 1000:+.0f}' for d in ends)} ms around each real part")
    got = transcribe(args, path, os.path.join(args.work, "out-" + name),
                     OPTS + ["--vad", "True", "--vad_model", args.vad_model])
    segs = got["segments"]
    k = 0
    for ci, c in enumerate(chunks):
        cut = os.path.join(args.work, f"cut-{name}-{ci}.wav")
        write_i16(cut, np.concatenate([(pcm[s:e] * 32768).astype(np.int16) for s, e in c]))
        ref = transcribe(args, cut, os.path.join(args.work, "out-cut"), OPTS)["segments"]
        mine = segs[k:k + len(ref)]
        k += len(ref)
        if [s["tokens"] for s in mine] != [s["tokens"] for s in ref]:
            bad.append(f"{name}: chunk {ci}: tokens differ from the hand-cut chunk")
            continue
        t_max = len(pcm) / RATE
        worst = 0.0
        for m, r in zip(mine, ref):
            ws = min(t_max, map_time(c, r["start"], False))
            we = min(t_max, map_time(c, r["end"], True))
            worst = max(worst, abs(m["start"] - ws), abs(m["end"] - we))
        if worst > 0.020:
            bad.append(f"{name}: chunk {ci}: times off by {worst * 1000:.1f} ms")
        print(f"  chunk {ci}: {len(ref)} segments, tokens equal, times within {worst * 1000:.2f} ms")
    if k != len(segs):
        bad.append(f"{name}: {len(segs)} segments, the hand-cut chunks give {k}")
    return chunks


def check_empty(args, name, path, bad):
    got = transcribe(args, path, os.path.join(args.work, "out-" + name),
                     ["--vad", "True", "--vad_model", args.vad_model])
    if got["segments"] or got["text"] or got["language"]:
        bad.append(f"{name}: expected no segments, no text and no language, got "
                   f"{len(got['segments'])} segments, language {got['language']!r}")
    plain = transcribe(args, path, os.path.join(args.work, "out-plain-" + name), OPTS)
    print(f"{name}: --vad True: {len(got['segments'])} segments, language "
          f"{got['language']!r}; without VAD: {len(plain['segments'])} segments")


def check_batch(args, path, bad):
    outs = {}
    # 3 and 8: a chunk that ends early leaves the decoder batch from the middle (compaction)
    for b in (1, 3, 8):
        out_dir = os.path.join(args.work, f"out-b{b}")
        got = transcribe(args, path, out_dir, ["--language", "en", "--vad", "True", "--vad_model",
                                               args.vad_model, "--batch_size", str(b)])
        outs[b] = [s["tokens"] for s in got["segments"]]
        starts = [s["start"] for s in got["segments"]]
        if starts != sorted(starts):
            bad.append(f"batch_size {b}: segments not in time order")
    ok = outs[1] == outs[8] == outs[3] and len(outs[1]) > 0
    if not ok:
        bad.append("batch_size 3 or 8 tokens differ from batch_size 1")
    print(f"batched: batch_size 1, 3 and 8 give {'the same' if ok else 'DIFFERENT'} tokens "
          f"({len(outs[1])} segments)")
    for flags in (["--beam_size", "5"], ["--temperature", "0.4"], ["--word_timestamps", "True"],
                  ["--condition_on_previous_text", "True"], ["--initial_prompt", "hello"]):
        r = subprocess.run([args.auris, "transcribe", path, "--model", args.model, "--vad", "True",
                            "--vad_model", args.vad_model, "--batch_size", "4"] + flags,
                           capture_output=True, text=True)
        if r.returncode != 2 or "contradicts --batch_size" not in r.stderr:
            bad.append(f"{' '.join(flags)} with --batch_size: exit {r.returncode}, {r.stderr.strip()!r}")
    r = subprocess.run([args.auris, "transcribe", path, "--model", args.model, "--batch_size", "4"],
                       capture_output=True, text=True)
    if r.returncode != 2 or "requires --vad True" not in r.stderr:
        bad.append(f"--batch_size without --vad: exit {r.returncode}, {r.stderr.strip()!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    args.vad_model = os.path.join(args.data, "silero-v6.2.0-ggml.bin")
    if not os.path.exists(args.vad_model) or MS.tools_missing():
        print("SKIP: shared VAD model, espeak-ng or sox missing")
        return 77
    os.makedirs(args.work, exist_ok=True)
    import gen_ts_model
    args.model = os.path.join(args.work, "micro-ts-s1.pt")
    if not os.path.exists(args.model):
        gen_ts_model.main(["--size", "micro-ts", "--seed", "1", "--out", args.work, "--data", args.data])
    files = build(args.work)
    bad = []
    for name in ("silence", "noise"):
        check_speech(args, name, *files[name], bad)
    for name in ("silent", "noise-only"):
        check_empty(args, name, files[name][0], bad)
    long_clip = MS.make_speech(args.work, ("long",))["long"]
    check_batch(args, long_clip, bad)
    for b in bad:
        print("FAIL", b)
    print(f"{'FAIL' if bad else 'PASS'}: {len(bad)} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
