#!/usr/bin/python3
"""make_vad_corpus.py — seed corpus for tests/fuzz/fuzz_vad.c in tests/fuzz/corpus/vad/.

Small files in whisper.cpp's ggml VAD layout (models/convert-silero-vad-to-ggml.py): a valid
header alone; the header with every small tensor (biases, head) in f32 and f16 and a truncated
conv weight; a 0-dim and a 1-dim head bias; wrong model types, versions, hyperparameters, tensor
names, types and shapes; a Whisper ggml header. Then auris's native VAD files (GGUF, f32,
CRC-32): all tensor infos with the data cut short, a wrong checksum, missing tensors, another
architecture or version, extra and bad keys, misaligned, out-of-range and overlapping offsets, a
bad type or shape, a duplicate, a bad alignment, a cut inside the infos. Full models (~0.9 MB
ggml, 1.2 MB native) are left to the hostile CLI test (vad_hostile.py), which damages real ones.
Invariants: deterministic; every file < 16 KB.

Usage: /usr/bin/python3 tests/fuzz/make_vad_corpus.py [--out tests/fuzz/corpus/vad]
"""
import argparse
import hashlib
import os
import struct
import zlib

import numpy as np


def i32(*v):
    return struct.pack("<" + "i" * len(v), *v)


def header(kind=b"silero-16k", version=(6, 2, 0), hp=None):
    hp = hp or [512, 64, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128, 128, 1]
    return i32(0x67676D6C, len(kind)) + kind + i32(*version) + i32(*hp)


def tensor(name, shape, ftype=0, fill=0.25, data_len=None):
    n = int(np.prod(shape)) if shape else 1
    a = np.full(n, fill, np.float16 if ftype else np.float32).tobytes()
    if data_len is not None:
        a = a[:data_len]
    nb = name.encode()
    return i32(len(shape), len(nb), ftype, *reversed(shape)) + nb + a


SMALL = [(f"_model.encoder.{i}.reparam_conv.bias", [c]) for i, c in enumerate((128, 64, 64, 128))] + [
    ("_model.decoder.rnn.bias_ih", [512]), ("_model.decoder.rnn.bias_hh", [512]),
    ("_model.decoder.decoder.2.weight", [128]), ("_model.decoder.decoder.2.bias", [])]


def seeds():
    small = b"".join(tensor(n, s) for n, s in SMALL)
    small16 = b"".join(tensor(n, s, 1 if n.endswith("weight") else 0) for n, s in SMALL)
    yield header()
    yield header() + small
    yield header() + small16
    yield header() + small + tensor("_model.encoder.0.reparam_conv.weight", [128, 129, 3], 1,
                                    data_len=1000)
    yield header() + tensor("_model.decoder.decoder.2.bias", [1]) + small[:200]
    yield header() + tensor("_model.stft.forward_basis_buffer", [258, 1, 256], 1, data_len=64)
    yield header() + tensor("_model.decoder.rnn.bias_ih", [256])
    yield header() + tensor("_model.decoder.rnn.bias_ih", [512], 7)
    yield header() + tensor("_model.unknown", [4])
    yield header() + small + small[:600]
    yield header() + tensor("_model.decoder.decoder.2.bias", [], fill=float("nan"))
    yield header(kind=b"silero-8k")
    yield header(version=(4, 0, 0))
    yield header(hp=[256, 32, 4, 65, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3, 128, 128, 128, 1])
    yield i32(0x67676D6C, 51864, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1)
    yield header()[:37]


# ---- auris's native VAD file (src/vad/vad_native.c, docs/FORMAT.md) ----------------------------

def gstr(t):
    t = t.encode() if isinstance(t, str) else t
    return struct.pack("<Q", len(t)) + t


def native(tensors, version=(6, 2, 0), arch="silero-vad", extra=b"", n_kv_extra=0, crc=True,
           align=64, n_tensors=None, data_len=None):
    """A GGUF native VAD file with the given [(name, pytorch shape, type, offset or None)]; tensor
    data filled with 0.25 (f32) up to data_len bytes. The CRC-32 key is correct unless crc=False."""
    kv = gstr("general.architecture") + struct.pack("<I", 8) + gstr(arch)
    kv += gstr("general.alignment") + struct.pack("<II", 4, align)
    kv += gstr("silero.version") + struct.pack("<IIQ3I", 9, 4, 3, *version) + extra
    kv += gstr("silero.crc32") + struct.pack("<I", 4)
    sum_at = 24 + len(kv)
    kv += b"\0\0\0\0"
    infos, off = b"", 0
    for name, shape, ftype, o in tensors:
        dims = list(reversed(shape)) or [1]
        infos += gstr(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        n = int(np.prod(shape)) if shape else 1
        infos += struct.pack("<IQ", ftype, off if o is None else o)
        off += (n * (2 if ftype == 1 else 4) + 63) // 64 * 64
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors) if n_tensors is None else n_tensors,
                                 4 + n_kv_extra) + kv + infos
    head += b"\0" * (-len(head) % align)
    body = np.full(off // 4, 0.25, np.float32).tobytes()
    b = bytearray(head + (body if data_len is None else body[:data_len]))
    if crc:
        c = zlib.crc32(bytes(b[:sum_at]) + bytes(b[sum_at + 4:]))
        b[sum_at:sum_at + 4] = struct.pack("<I", c)
    return bytes(b)


ALL = SMALL + [(f"_model.encoder.{i}.reparam_conv.weight", [o, c, 3]) for i, (c, o) in
               enumerate(((129, 128), (128, 64), (64, 64), (64, 128)))] + [
    ("_model.decoder.rnn.weight_ih", [512, 128]), ("_model.decoder.rnn.weight_hh", [512, 128]),
    ("_model.stft.forward_basis_buffer", [258, 256])]


def native_seeds():
    full = [(n, s, 0, None) for n, s in ALL]
    yield native(full, data_len=2000)                       # every info, data truncated
    yield native(full, data_len=2000, crc=False)            # damaged checksum
    yield native([(n, s, 0, None) for n, s in SMALL], n_tensors=15)
    yield native(full[:8], n_tensors=15, data_len=8000)
    yield native(full, arch="whisper", data_len=100)
    yield native(full, version=(4, 0, 0), data_len=100)
    yield native(full, extra=gstr("general.name") + struct.pack("<I", 8) + gstr("x"), n_kv_extra=1,
                 data_len=100)
    yield native(full, extra=gstr("silero.sample_rate") + struct.pack("<II", 4, 8000),
                 n_kv_extra=1, data_len=100)
    yield native([(n, s, 0, 7 if i == 3 else None) for i, (n, s) in enumerate(ALL)], data_len=100)
    yield native([(n, s, 0, 1 << 40 if i == 3 else None) for i, (n, s) in enumerate(ALL)],
                 data_len=100)
    yield native([(n, s, 0, 0) for n, s in ALL], data_len=4096)  # overlapping
    yield native([(n, s, 8 if i == 2 else 0, None) for i, (n, s) in enumerate(ALL)], data_len=100)
    yield native([(n, s if i != 4 else [511], 0, None) for i, (n, s) in enumerate(ALL)], data_len=100)
    yield native(full + full[:1], data_len=100)             # duplicate
    yield native(full, align=48, data_len=100)
    yield native(full, data_len=100)[:300]                  # truncated inside the infos


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "corpus", "vad"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for s in list(seeds()) + list(native_seeds()):
        assert len(s) < 16384
        with open(os.path.join(args.out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)


if __name__ == "__main__":
    main()
