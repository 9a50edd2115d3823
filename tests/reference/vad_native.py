#!/usr/bin/python3
"""vad_native.py — the native Silero VAD file (see vad.cmake and docs/FORMAT.md).

`auris convert` of the shared ggml model (../shared/data/silero-v6.2.0-ggml.bin) writes a
native file; checked:
  * `auris vad` on jfk.wav gives byte-identical output with either file: the segments (json and
    tsv) and the probabilities (printed with 9 significant digits, so equal text = equal float32
    bits), with default and non-default options;
  * converting twice gives the same bytes, and converting the native file again gives the same
    tensors (only general.name differs);
  * `auris info --model` describes both as a Silero VAD model (version 6.2.0, format ggml /
    native) instead of failing as a Whisper model, and `auris transcribe --model VAD` says the
    file is a VAD model;
  * `--type f16` is refused for a VAD model.
Usage: vad_native.py --auris PATH --data SHARED_DATA --work DIR
Exit 77 when the shared model or jfk.wav is missing.
"""
import argparse
import json
import os
import subprocess
import sys


def run(cmd, ok=True):
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    if ok and p.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode()[-300:]}")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    ggml = os.path.join(a.data, "silero-v6.2.0-ggml.bin")
    jfk = os.path.join(a.data, "jfk.wav")
    if not os.path.exists(ggml) or not os.path.exists(jfk):
        print("SKIP: shared silero-v6.2.0-ggml.bin or jfk.wav missing")
        return 77
    os.makedirs(a.work, exist_ok=True)
    nat, nat2, nat3 = (os.path.join(a.work, f) for f in ("vad.gguf", "vad-again.gguf", "vad-of-native.gguf"))
    run([a.auris, "convert", ggml, "-o", nat])
    run([a.auris, "convert", ggml, "-o", nat2])
    run([a.auris, "convert", nat, "-o", nat3])
    bad = []
    if open(nat, "rb").read() != open(nat2, "rb").read():
        bad.append("two conversions differ")
    cases = [[], ["-f", "tsv"], ["-f", "probs"],
             ["--vad_threshold", "0.3", "--vad_min_silence_duration_ms", "300",
              "--vad_speech_pad_ms", "100", "--vad_max_speech_duration_s", "3"]]
    for extra in cases:
        outs = [run([a.auris, "vad", jfk, "--vad_model", m] + extra).stdout for m in (ggml, nat, nat3)]
        label = " ".join(extra) or "json"
        if not outs[0] or outs[0] != outs[1] or outs[1] != outs[2]:
            bad.append(f"{label}: ggml and native outputs differ")
        else:
            print(f"{label}: identical ({len(outs[0].splitlines())} lines)")
    infos = {}
    for m, kind in ((ggml, "ggml"), (nat, "native")):
        p = run([a.auris, "info", "--model", m], ok=False)
        try:
            d = json.loads(p.stdout)
        except ValueError:
            d = {}
        infos[kind] = d
        if p.returncode != 0 or d.get("model") != "silero-vad" or d.get("version") != "6.2.0" \
                or d.get("format") != kind or d.get("n_parameters") != 309633:
            bad.append(f"auris info on the {kind} file: exit {p.returncode}, {p.stdout!r} "
                       f"{p.stderr.decode().strip()!r}")
    print(f"info: {infos['native']}")
    p = run([a.auris, "transcribe", jfk, "--model", nat], ok=False)
    if p.returncode == 0 or b"is a Silero VAD model" not in p.stderr:
        bad.append(f"transcribe --model VAD: exit {p.returncode}, {p.stderr.decode().strip()!r}")
    p = run([a.auris, "convert", ggml, "-o", os.path.join(a.work, "f16.gguf"), "--type", "f16"],
            ok=False)
    if p.returncode != 2 or os.path.exists(os.path.join(a.work, "f16.gguf")):
        bad.append(f"convert --type f16 of a VAD model: exit {p.returncode}")
    for b in bad:
        print("FAIL", b)
    print("ok" if not bad else f"{len(bad)} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
