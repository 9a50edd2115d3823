#!/usr/bin/python3
"""make_clips.py — synthetic test clips for the parity tests: 5 s of digital silence and 5 s of
seeded white noise, 16 kHz mono 16-bit WAV.

Invariants: the same seed always writes byte-identical files; the noise is Gaussian with std
0.1 full scale, clipped to the int16 range, so every sample is exactly representable and the
decoded PCM is the same whichever decoder reads the file.

CLI: make_clips.py OUTDIR [--seed 1]  (prints the two paths)
"""
import argparse
import os
import sys
import wave

import numpy as np

RATE = 16000
SECONDS = 5


def _write_wav(path, samples_i16):
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples_i16.astype("<i2").tobytes())
    os.replace(tmp, path)


def make_clips(out_dir, seed=1):
    """Writes silence.wav and noise.wav into out_dir; returns {"silence": path, "noise": path}."""
    os.makedirs(out_dir, exist_ok=True)
    n = RATE * SECONDS
    paths = {"silence": os.path.join(out_dir, "silence.wav"),
             "noise": os.path.join(out_dir, f"noise-s{seed}.wav")}
    _write_wav(paths["silence"], np.zeros(n, dtype=np.int16))
    rng = np.random.RandomState(seed)
    noise = np.clip(np.round(rng.randn(n) * 0.1 * 32768.0), -32768, 32767)
    _write_wav(paths["noise"], noise.astype(np.int16))
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description="write silence/noise test clips")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    for p in make_clips(a.outdir, a.seed).values():
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
