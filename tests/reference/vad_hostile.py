#!/usr/bin/python3
"""vad_hostile.py — `auris vad` against damaged and malicious Silero VAD model files.

Copies of the shared ggml VAD model (../shared/data/silero-v6.2.0-ggml.bin): truncated at every
header and tensor-record boundary and at seeded offsets inside tensor data; seeded bit flips;
targeted corruptions (bad magic, a Whisper ggml header, wrong model type, version,
hyperparameters, n_dims, name length, tensor type, shape, a NaN weight, an unknown, duplicated
or missing tensor, trailing junk); an empty file, a directory and a missing path. Then the
native file `auris convert` makes of it: truncations at every key, tensor-info and data
boundary, seeded bit flips (all must fail: the CRC-32 sees them), targeted corruptions with the
checksum recomputed (architecture, versions, counts, tensor type, shape, offsets, a NaN, a
name), a zeroed checksum; and `auris convert` of a damaged model must fail leaving no file.

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
import zlib

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


# ---- auris's native VAD file (what `auris convert` writes; docs/FORMAT.md) -------------------

def native_layout(b):
    """{'kv': [(key, value type offset, value offset)], 'sum': CRC offset, 'infos': [(name, start,
    dims offset, type offset, offset offset)], 'end': end of the infos}."""
    def u(fmt, o):
        return struct.unpack_from(fmt, b, o)[0]
    n_t, n_kv = u("<Q", 8), u("<Q", 16)
    o, kv = 24, []
    for _ in range(n_kv):
        kl = u("<Q", o)
        key = b[o + 8:o + 8 + kl].decode()
        t = o + 8 + kl
        kv.append((key, t, t + 4))
        vt, o = u("<I", t), t + 4
        if vt == 8:
            o += 8 + u("<Q", o)
        elif vt == 9:
            o += 12 + 4 * u("<Q", o + 4)  # arrays of uint32 only
        else:
            o += 4
    infos = []
    for _ in range(n_t):
        start, nl = o, u("<Q", o)
        name = b[o + 8:o + 8 + nl].decode()
        o += 8 + nl
        nd = u("<I", o)
        infos.append((name, start, o + 4, o + 4 + 8 * nd, o + 8 + 8 * nd))
        o += 4 + 8 * nd + 4 + 8
    return {"kv": kv, "sum": [v for k, t, v in kv if k == "silero.crc32"][0], "infos": infos,
            "end": o}


def recrc(b, lay):
    """b with its silero.crc32 value recomputed (a corruption the checksum cannot tell)."""
    s = lay["sum"]
    return b[:s] + struct.pack("<I", zlib.crc32(b[:s] + b[s + 4:])) + b[s + 4:]


def native_cases(r, args, model, rng):
    """Converts the shared model with `auris convert` and damages the result; every case must
    fail (the CRC-32 catches what the structure checks do not)."""
    nat = os.path.join(args.work, "native.gguf")
    p = subprocess.run([args.auris, "convert", model, "-o", nat], capture_output=True, timeout=60)
    if p.returncode != 0 or not os.path.exists(nat):
        r.failures.append(f"auris convert: exit {p.returncode}, {p.stderr.decode()[-200:]!r}")
        return
    b = open(nat, "rb").read()
    lay = native_layout(b)
    r.bytes_case(b, "native: intact", must_fail=False)
    data0 = (lay["end"] + 63) // 64 * 64
    cuts = {0, 3, 4, 8, 23, 24, lay["sum"], lay["sum"] + 2, lay["end"] - 1, data0, data0 + 1,
            len(b) - 1}
    for _, start, dims, _, offp in lay["infos"]:
        cuts |= {start, dims, offp + 4}
    for k, t, v in lay["kv"]:
        cuts |= {t, v}
    cuts |= {rng.randrange(data0, len(b)) for _ in range(6 if args.quick else 16)}
    if args.quick:
        cuts = set(sorted(cuts)[::3]) | {data0, len(b) - 1}
    for c in sorted(cuts):
        r.bytes_case(b[:c], f"native: truncated at {c}")
    for i in range(10 if args.quick else 30):
        pos = rng.randrange(len(b)) if i % 2 else rng.randrange(data0 + 64)
        flipped = bytearray(b)
        flipped[pos] ^= 1 << rng.randrange(8)
        r.bytes_case(bytes(flipped), f"native: bit flip at {pos}")  # the checksum must catch it
    info = {name: (dims, typ, offp) for name, _, dims, typ, offp in lay["infos"]}
    arch_v = [v for k, t, v in lay["kv"] if k == "general.architecture"][0]
    ver_v = [v for k, t, v in lay["kv"] if k == "silero.version"][0]
    nan_at = data0 + struct.unpack_from("<Q", b, info["_model.decoder.rnn.weight_ih"][2])[0]

    def q(off, v):
        return b[:off] + struct.pack("<Q", v) + b[off + 8:]

    def i(off, v):
        return b[:off] + struct.pack("<I", v) + b[off + 4:]
    bias = info["_model.decoder.rnn.bias_ih"]
    targeted = {
        "architecture": b[:arch_v + 8] + b"whisper\0\0\0" + b[arch_v + 18:],
        "version": i(ver_v + 12, 4),
        "gguf version": i(4, 2),
        "tensor count": q(8, 14),
        "key count": q(16, 1 << 40),
        "tensor type": i(bias[1], 8),
        "shape": q(bias[0], 511),
        "zero dim": q(bias[0], 0),
        "misaligned offset": q(bias[2], struct.unpack_from("<Q", b, bias[2])[0] + 4),
        "offset past the end": q(bias[2], 1 << 30),
        "overlapping offsets": q(bias[2], 0),
        "nan weight": b[:nan_at] + struct.pack("<f", float("nan")) + b[nan_at + 4:],
        "tensor name": b[:lay["infos"][0][1] + 8] + b"X" + b[lay["infos"][0][1] + 9:],
    }
    for label, data in targeted.items():
        r.bytes_case(recrc(data, lay) if len(data) == len(b) else data, f"native: {label}")
    r.bytes_case(b[:lay["sum"]] + b"\0\0\0\0" + b[lay["sum"] + 4:], "native: zero checksum")
    # a damaged input converts to nothing: an error and no output file
    bad = os.path.join(args.work, "bad-in.bin")
    out = os.path.join(args.work, "bad-out.gguf")
    with open(bad, "wb") as f:
        f.write(open(model, "rb").read()[:5000])
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.run([args.auris, "convert", bad, "-o", out], capture_output=True, timeout=60)
    left = [f for f in os.listdir(args.work) if f.startswith("bad-out.gguf")]
    if p.returncode != 1 or left or not p.stderr.decode().startswith("auris: error: vad: "):
        r.failures.append(f"convert of a truncated model: exit {p.returncode}, left {left}, "
                          f"{p.stderr.decode().strip()!r}")
    r.runs += 1


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
    native_cases(r, args, model, rng)
    r.run(args.work, "a directory", True)
    r.run(os.path.join(args.work, "does-not-exist.bin"), "missing path", True)
    for f in r.failures:
        print("FAIL", f)
    print(f"{r.runs - len(r.failures)} passed, {len(r.failures)} failed")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
