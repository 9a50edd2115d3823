#!/usr/bin/python3
"""vad_hostile.py — `auris vad` against damaged and malicious Silero VAD model files.

Copies of the shared ggml VAD model (../shared/data/silero-v6.2.0-ggml.bin): truncated at every
header and tensor-record boundary and at seeded offsets inside tensor data; seeded bit flips;
targeted corruptions (bad magic, a Whisper ggml header, wrong model type, version,
hyperparameters, n_dims, name length, tensor type, shape, a NaN weight, an unknown, duplicated
or missing tensor, trailing junk); an empty file, a directory and a missing path.

Asserted for every run: exit status 0 or 1 (never a signal or sanitizer abort) and no sanitizer
report; a failure prints exactly one line "auris: error: vad: ..." naming the file, and nothing
on stdout; targeted corruptions and truncations must fail. Bit flips may load (most hit weight
bytes) and then must print a JSON list.

Usage: vad_hostile.py --auris PATH --data SHARED_DATA --work DIR [--quick]
Exit 77 when the shared model or jfk.wav is missing.
"""
import argparse
import os
import random
import struct
import subprocess
import sys

MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehavior")


def records(b):
    """(offset of the first tensor, [(record start, data start, data end, name)])."""
    o = 4
    n = struct.unpack_from("<i", b, o)[0]
    o += 4 + n + 4 * 22
    first = o
    out = []
    while o < len(b):
        nd, nl, tt = struct.unpack_from("<3i", b, o)
        ne = struct.unpack_from(f"<{nd}i", b, o + 12)
        cnt = 1
        for v in ne:
            cnt *= v
        ds = o + 12 + 4 * nd + nl
        de = ds + cnt * (2 if tt == 1 else 4)
        out.append((o, ds, de, b[o + 12 + 4 * nd:ds].decode()))
        o = de
    return first, out


class Runner:
    def __init__(self, args):
        self.args = args
        self.failures = []
        self.runs = 0

    def run(self, path, label, must_fail):
        self.runs += 1
        p = subprocess.run([self.args.auris, "vad", self.args.jfk, "--vad_model", path],
                           capture_output=True, timeout=60)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        bad = None
        if p.returncode not in (0, 1):
            bad = f"exit status {p.returncode}"
        elif any(m in err for m in MARKS):
            bad = "sanitizer report"
        elif p.returncode == 1:
            lines = err.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("auris: error: vad: ") or out:
                bad = f"not one clean error line: {err.strip()!r} / stdout {out[:80]!r}"
        elif must_fail:
            bad = "loaded, but must fail"
        elif not out.startswith("["):
            bad = f"unexpected output {out[:80]!r}"
        if bad:
            self.failures.append(f"{label}: {bad}")

    def bytes_case(self, data, label, must_fail=True):
        path = os.path.join(self.args.work, "bad.bin")
        with open(path, "wb") as f:
            f.write(data)
        self.run(path, label, must_fail)


def patch_i32(b, off, v):
    return b[:off] + struct.pack("<i", v) + b[off + 4:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    model = os.path.join(args.data, "silero-v6.2.0-ggml.bin")
    args.jfk = os.path.join(args.data, "jfk.wav")
    if not os.path.exists(model) or not os.path.exists(args.jfk):
        print("SKIP: shared silero-v6.2.0-ggml.bin or jfk.wav missing")
        return 77
    os.makedirs(args.work, exist_ok=True)
    b = open(model, "rb").read()
    first, recs = records(b)
    r = Runner(args)
    rng = random.Random(9)
    r.bytes_case(b, "intact", must_fail=False)
    cuts = {0, 3, 4, 7, 8, 20, first - 1, first}
    for start, ds, de, _ in recs:
        cuts |= {start + 1, start + 12, ds - 1, ds, ds + 1, de - 1}
    cuts |= {rng.randrange(first, len(b)) for _ in range(8 if args.quick else 20)}
    if args.quick:
        cuts = set(sorted(cuts)[::3]) | {first, len(b) - 1}
    for c in sorted(cuts):
        if c < len(b):
            r.bytes_case(b[:c], f"truncated at {c}")
    for i in range(10 if args.quick else 30):
        pos = rng.randrange(len(b)) if i % 2 else rng.randrange(first + 64)
        flipped = bytearray(b)
        flipped[pos] ^= 1 << rng.randrange(8)
        r.bytes_case(bytes(flipped), f"bit flip at {pos}", must_fail=False)
    nm = recs[0][0]
    nan_at = [x for x in recs if x[3] == "_model.decoder.rnn.weight_ih"][0][1]
    shape_at = [x for x in recs if x[3] == "_model.decoder.rnn.bias_ih"][0][0] + 12
    targeted = {
        "bad magic": patch_i32(b, 0, 0x12345678),
        "whisper ggml header": b[:4] + struct.pack("<11i", 51864, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1) + b[48:],
        "model type": b[:8] + b"silero-8k" + b[18:],
        "type length": patch_i32(b, 4, 100000),
        "version": patch_i32(b, 18, 3),
        "window size": patch_i32(b, 30, 256),
        "channels": patch_i32(b, 46, 65),
        "n_dims": patch_i32(b, nm, 7),
        "name length": patch_i32(b, nm + 4, 1 << 30),
        "tensor type": patch_i32(b, nm + 8, 8),
        "shape": patch_i32(b, shape_at, 511),
        "negative dim": patch_i32(b, shape_at, -512),
        "nan weight": b[:nan_at] + struct.pack("<f", float("nan")) + b[nan_at + 4:],
        "unknown tensor": b[:nm + 12 + 12 + 8] + b"X" + b[nm + 12 + 12 + 9:],
        "duplicate tensor": b + b[recs[1][0]:recs[1][2]],
        "missing tensor": b[:recs[-1][0]],
        "trailing junk": b + b"\x01\x02\x03",
        "empty": b"",
    }
    for label, data in targeted.items():
        r.bytes_case(data, label)
    r.run(args.work, "a directory", True)
    r.run(os.path.join(args.work, "does-not-exist.bin"), "missing path", True)
    for f in r.failures:
        print("FAIL", f)
    print(f"{r.runs - len(r.failures)} passed, {len(r.failures)} failed")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
