#!/usr/bin/python3
"""make_vad_corpus.py — seed corpus for tests/fuzz/fuzz_vad.c in tests/fuzz/corpus/vad/.

Small files in whisper.cpp's ggml VAD layout (models/convert-silero-vad-to-ggml.py): a valid
header alone; the header with every small tensor (biases, head) in f32 and f16 and a truncated
conv weight; a 0-dim and a 1-dim head bias; wrong model types, versions, hyperparameters, tensor
names, types and shapes; a Whisper ggml header. Full models (~0.9 MB) are left to the hostile CLI
test (vad_hostile.py), which damages the real one.
Invariants: deterministic; every file < 16 KB.

Usage: /usr/bin/python3 tests/fuzz/make_vad_corpus.py [--out tests/fuzz/corpus/vad]
"""
import argparse
import hashlib
import os
import struct

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "corpus", "vad"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for s in seeds():
        assert len(s) < 16384
        with open(os.path.join(args.out, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)


if __name__ == "__main__":
    main()
