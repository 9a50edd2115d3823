#!/usr/bin/python3
"""make_corpus.py — seed corpus for the loader fuzz targets (tests/fuzz/fuzz_*.c).

Writes small synthetic checkpoints into tests/fuzz/corpus/<target>/: valid files of a "nano"
Whisper (width 1, one block each side, 4 text positions) in every layout the loaders accept,
the same without the token embedding (small enough for libFuzzer's -max_len while still
reaching deep into auris__model_bind), and odd-but-legal variants (f32/bf16, strided and
offset storages, every ggml block type, every GGUF value type). One full model per target is
kept so that replay also walks the successful load and free path.

Reference (facts only): torch.save's zip layout (written by torch itself), whisper.cpp's
ggml layout (models/convert-pt-to-ggml.py), ggml-common.h block sizes, docs/FORMAT.md (native
GGUF), the safetensors header layout, HF transformers' Whisper tensor names.
Invariants: deterministic output (fixed seeds); every file < ~200 KB and the whole corpus
< 1 MB; the bind-deep files need n_audio_ctx 1500 and n_vocab 51864 because bind checks them.

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py [--out tests/fuzz/corpus]
"""
import argparse
import io
import json
import os
import struct
import sys

import numpy as np

F32 = np.float32

NANO = {"n_mels": 80, "n_vocab": 51864, "n_audio_ctx": 1500, "n_audio_state": 1,
        "n_audio_head": 1, "n_audio_layer": 1, "n_text_ctx": 4, "n_text_state": 1,
        "n_text_head": 1, "n_text_layer": 1}
DIM_KEYS = ["n_mels", "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head",
            "n_audio_layer", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer"]
TOK = "decoder.token_embedding.weight"


def state_dict(d, seed=0):
    """Official names and shapes, in state-dict order, as float32 numpy arrays."""
    rng = np.random.default_rng(seed)
    sd = {}

    def r(*shape):
        return rng.standard_normal(shape).astype(F32)

    def block(p, n, cross):
        for att in ["attn"] + (["cross_attn"] if cross else []):
            sd[f"{p}.{att}.query.weight"], sd[f"{p}.{att}.query.bias"] = r(n, n), r(n)
            sd[f"{p}.{att}.key.weight"] = r(n, n)
            sd[f"{p}.{att}.value.weight"], sd[f"{p}.{att}.value.bias"] = r(n, n), r(n)
            sd[f"{p}.{att}.out.weight"], sd[f"{p}.{att}.out.bias"] = r(n, n), r(n)
            sd[f"{p}.{att}_ln.weight"], sd[f"{p}.{att}_ln.bias"] = r(n), r(n)
        sd[f"{p}.mlp.0.weight"], sd[f"{p}.mlp.0.bias"] = r(4 * n, n), r(4 * n)
        sd[f"{p}.mlp.2.weight"], sd[f"{p}.mlp.2.bias"] = r(n, 4 * n), r(n)
        sd[f"{p}.mlp_ln.weight"], sd[f"{p}.mlp_ln.bias"] = r(n), r(n)

    s, t = d["n_audio_state"], d["n_text_state"]
    sd["encoder.positional_embedding"] = r(d["n_audio_ctx"], s)
    sd["encoder.conv1.weight"], sd["encoder.conv1.bias"] = r(s, d["n_mels"], 3), r(s)
    sd["encoder.conv2.weight"], sd["encoder.conv2.bias"] = r(s, s, 3), r(s)
    for i in range(d["n_audio_layer"]):
        block(f"encoder.blocks.{i}", s, False)
    sd["encoder.ln_post.weight"], sd["encoder.ln_post.bias"] = r(s), r(s)
    sd["decoder.positional_embedding"] = r(d["n_text_ctx"], t)
    sd[TOK] = r(d["n_vocab"], t)
    for i in range(d["n_text_layer"]):
        block(f"decoder.blocks.{i}", t, True)
    sd["decoder.ln.weight"], sd["decoder.ln.bias"] = r(t), r(t)
    return sd


def without_tok(sd):
    return {k: v for k, v in sd.items() if k != TOK}


def put(out, target, name, blob):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


# ---- .pt (torch.save itself) ------------------------------------------------------------------

def pt_blob(obj):
    import torch
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def pt_seeds(out):
    import torch
    sd = state_dict(NANO)
    dims = {k: NANO[k] for k in DIM_KEYS}

    def tsd(s, dt):
        return {k: torch.from_numpy(v).to(dt) for k, v in s.items()}

    put(out, "pt", "full_f16.pt", pt_blob({"dims": dims, "model_state_dict": tsd(sd, torch.float16)}))
    small = without_tok(sd)
    for dt, tag in ((torch.float16, "f16"), (torch.float32, "f32"), (torch.bfloat16, "bf16")):
        put(out, "pt", f"notok_{tag}.pt",
            pt_blob({"dims": dims, "model_state_dict": tsd(small, dt)}))
    # storage sharing: views with offsets and a transposed (non-contiguous) one
    base = torch.arange(64, dtype=torch.float32)
    views = {"a.weight": base[8:24].view(4, 4), "b.bias": base[0:4], "c.weight": base[:16].view(4, 4).t(),
             "d": base[60:64]}
    put(out, "pt", "views.pt", pt_blob({"dims": dims, "model_state_dict": views}))
    del views["c.weight"]
    put(out, "pt", "views_ok.pt", pt_blob({"dims": dims, "model_state_dict": views}))
    # a few tensors only, one of each dtype, and an empty one
    few = {"encoder.conv1.bias": torch.ones(1, dtype=torch.float32),
           "encoder.ln_post.weight": torch.ones(1, dtype=torch.float16),
           "decoder.ln.bias": torch.ones(1, dtype=torch.bfloat16),
           "x.empty": torch.zeros(0, dtype=torch.float32),
           "x.4d": torch.zeros(1, 2, 1, 2, dtype=torch.float16)}
    put(out, "pt", "few.pt", pt_blob({"dims": dims, "model_state_dict": few}))
    # an OrderedDict and legacy-looking extras around the two keys
    import collections
    od = collections.OrderedDict([("decoder.ln.weight", torch.ones(1))])
    put(out, "pt", "ordered.pt", pt_blob({"dims": dims, "model_state_dict": od, "extra": None}))
    put(out, "pt", "empty_sd.pt", pt_blob({"dims": dims, "model_state_dict": {}}))


# ---- ggml (whisper.cpp) -----------------------------------------------------------------------

QBLOCK = {2: 18, 3: 20, 6: 22, 7: 24, 8: 34}  # ggml type -> bytes per block of 32


def ggml_blob(d, tensors, filters=(80, 201), vocab=(b"a", b"b", b" c"), ftype=1):
    """tensors: list of (name, pytorch-order shape, ggml type, raw bytes)."""
    b = bytearray(struct.pack("<I", 0x67676D6C))
    for k in ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
              "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"]:
        b += struct.pack("<i", d[k])
    b += struct.pack("<i", ftype)
    b += struct.pack("<ii", *filters)
    b += np.full(filters[0] * filters[1], 0.01, dtype="<f4").tobytes()
    b += struct.pack("<i", len(vocab))
    for tok in vocab:
        b += struct.pack("<i", len(tok)) + tok
    for name, shape, ttype, raw in tensors:
        nb = name.encode()
        b += struct.pack("<iii", len(shape), len(nb), ttype)
        for n in reversed(shape):
            b += struct.pack("<i", n)
        b += nb + raw
    return bytes(b)


def ggml_tensors(sd):
    """whisper.cpp's converter: squeeze, conv biases as [n][1], 2-D+ f16, the rest f32."""
    ts = []
    for name, v in sd.items():
        a = v.squeeze().reshape(-1) if v.size == 1 else (v.squeeze() if v.ndim > 1 else v)
        if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
            a = a.reshape(-1, 1)
        if (a.ndim >= 2 and "positional" not in name) or name == TOK:  # TOK squeezes to 1-D
            ts.append((name, a.shape, 1, a.astype("<f2").tobytes()))
        else:
            ts.append((name, a.shape, 0, a.astype("<f4").tobytes()))
    return ts


def ggml_seeds(out):
    sd = state_dict(NANO, 1)
    put(out, "ggml", "full_f16.bin", ggml_blob(NANO, ggml_tensors(sd)))
    put(out, "ggml", "notok_f16.bin", ggml_blob(NANO, ggml_tensors(without_tok(sd))))
    put(out, "ggml", "notok_badfilters.bin",
        ggml_blob(NANO, ggml_tensors(without_tok(sd))[:12], filters=(1, 1)))
    rng = np.random.default_rng(2)
    ts = [("f32", (2, 32), 0, rng.standard_normal(64).astype("<f4").tobytes()),
          ("f16", (2, 32), 1, rng.standard_normal(64).astype("<f2").tobytes()),
          ("bf16", (1, 32), 30, rng.integers(0, 65535, 32, dtype="<u2").tobytes())]
    for t, bs in QBLOCK.items():
        blk = bytearray(rng.integers(0, 256, 2 * bs, dtype=np.uint8).tobytes())
        for j in range(2):  # finite f16 scales
            blk[j * bs:j * bs + 2] = struct.pack("<e", 0.5)
            if t in (3, 7):
                blk[j * bs + 2:j * bs + 4] = struct.pack("<e", -0.25)
        ts.append((f"q{t}", (2, 32), t, bytes(blk)))
    put(out, "ggml", "types.bin", ggml_blob(NANO, ts, filters=(1, 1), ftype=2007))
    put(out, "ggml", "header_only.bin", ggml_blob(NANO, [], filters=(1, 1), vocab=()))
    put(out, "ggml", "quant_names.bin",
        ggml_blob(NANO, [(n, (1, 32), 8, struct.pack("<e", 1.0) + bytes(range(32)))
                         for n in ("encoder.blocks.0.attn.query.weight", "encoder.conv1.weight")],
                  filters=(1, 1), ftype=2007))


# ---- native (GGUF, docs/FORMAT.md) ------------------------------------------------------------

def gstr(s):
    s = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(s)) + s


def gguf_blob(kvs, tensors, align=64):
    """kvs: list of (key, type id, encoded value bytes); tensors: (name, pytorch shape, ggml
    type, raw bytes)."""
    b = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)))
    for k, t, v in kvs:
        b += gstr(k) + struct.pack("<I", t) + v
    off, datas = 0, []
    for name, shape, ttype, raw in tensors:
        b += gstr(name) + struct.pack("<I", len(shape))
        for n in reversed(shape):
            b += struct.pack("<Q", n)
        b += struct.pack("<IQ", ttype, off)
        datas.append((off, raw))
        off += (len(raw) + align - 1) // align * align
    b += bytes((-len(b)) % align)
    start = len(b)
    for o, raw in datas:
        b += bytes(start + o - len(b)) + raw
    return bytes(b)


def native_kvs(d, vocab=(b"a", b"b", b""), heads=True, align=64):
    kv = [("general.architecture", 8, gstr("whisper")), ("general.name", 8, gstr("nano.pt")),
          ("general.alignment", 4, struct.pack("<I", align))]
    kv += [("whisper." + k, 4, struct.pack("<I", d[k])) for k in DIM_KEYS]
    if vocab is not None:
        kv.append(("tokenizer.ggml.tokens", 9,
                   struct.pack("<IQ", 8, len(vocab)) + b"".join(gstr(t) for t in vocab)))
    if heads:
        n = d["n_text_layer"] * d["n_text_head"]
        kv.append(("whisper.alignment_heads", 9, struct.pack("<IQ", 0, n) + bytes([1] * n)))
    return kv


def native_tensors(sd, wtype=1):
    ts = []
    for name, v in sd.items():
        if v.ndim >= 2 and "positional" not in name:
            if wtype == 30:
                raw = (v.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
            else:
                raw = v.astype("<f2" if wtype == 1 else "<f4").tobytes()
            ts.append((name, v.shape, wtype, raw))
        else:
            ts.append((name, v.shape, 0, v.astype("<f4").tobytes()))
    return ts


def native_seeds(out):
    sd = state_dict(NANO, 3)
    put(out, "native", "full_f16.gguf", gguf_blob(native_kvs(NANO), native_tensors(sd)))
    small = without_tok(sd)
    put(out, "native", "notok_f16.gguf", gguf_blob(native_kvs(NANO), native_tensors(small)))
    put(out, "native", "notok_bf16.gguf",
        gguf_blob(native_kvs(NANO, heads=False, align=32), native_tensors(small, 30), align=32))
    put(out, "native", "notok_f32_novocab.gguf",
        gguf_blob(native_kvs(NANO, vocab=None), native_tensors(small, 0)))
    # every value type GGUF defines, as unknown (skipped) keys
    extra = [("x.u8", 0, b"\x01"), ("x.i8", 1, b"\xff"), ("x.u16", 2, b"\x01\x00"),
             ("x.i16", 3, b"\xff\xff"), ("x.u32", 4, b"\x01\0\0\0"), ("x.i32", 5, b"\xff" * 4),
             ("x.f32", 6, struct.pack("<f", 1.5)), ("x.bool", 7, b"\x01"), ("x.str", 8, gstr("hi")),
             ("x.arr", 9, struct.pack("<IQ", 4, 2) + struct.pack("<II", 1, 2)),
             ("x.sarr", 9, struct.pack("<IQ", 8, 2) + gstr("a") + gstr("bc")),
             ("x.u64", 10, struct.pack("<Q", 7)), ("x.i64", 11, struct.pack("<q", -7)),
             ("x.f64", 12, struct.pack("<d", 2.5))]
    rng = np.random.default_rng(4)
    q8 = b"".join(struct.pack("<e", 0.5) + rng.integers(-127, 128, 32, dtype=np.int8).tobytes()
                  for _ in range(2))
    ts = [("encoder.conv1.bias", (1,), 0, b"\0\0\x80\x3f"),
          ("q8", (2, 32), 8, q8),
          ("f16", (1, 2, 3), 1, bytes(12)), ("bf16", (1, 1, 2, 2), 30, bytes(8))]
    put(out, "native", "types.gguf", gguf_blob(native_kvs(NANO) + extra, ts))
    put(out, "native", "filters.gguf",
        gguf_blob(native_kvs(NANO), [("mel_filters", (1, 201), 0, bytes(201 * 4))]))
    put(out, "native", "header_only.gguf", gguf_blob(native_kvs(NANO, vocab=None, heads=False), []))


# ---- safetensors (+ Hugging Face names) -------------------------------------------------------

HF_SUB = [("attn.query.", "self_attn.q_proj."), ("attn.key.", "self_attn.k_proj."),
          ("attn.value.", "self_attn.v_proj."), ("attn.out.", "self_attn.out_proj."),
          ("attn_ln.", "self_attn_layer_norm."), ("cross_attn.query.", "encoder_attn.q_proj."),
          ("cross_attn.key.", "encoder_attn.k_proj."), ("cross_attn.value.", "encoder_attn.v_proj."),
          ("cross_attn.out.", "encoder_attn.out_proj."),
          ("cross_attn_ln.", "encoder_attn_layer_norm."), ("mlp.0.", "fc1."), ("mlp.2.", "fc2."),
          ("mlp_ln.", "final_layer_norm.")]
HF_FIXED = {"encoder.positional_embedding": "model.encoder.embed_positions.weight",
            "decoder.positional_embedding": "model.decoder.embed_positions.weight",
            TOK: "model.decoder.embed_tokens.weight",
            "encoder.ln_post.weight": "model.encoder.layer_norm.weight",
            "encoder.ln_post.bias": "model.encoder.layer_norm.bias",
            "decoder.ln.weight": "model.decoder.layer_norm.weight",
            "decoder.ln.bias": "model.decoder.layer_norm.bias"}


def hf_name(name):
    if name in HF_FIXED:
        return HF_FIXED[name]
    if name.startswith("encoder.conv"):
        return "model." + name
    stack, _, i, rest = name.split(".", 3)
    for ours, theirs in sorted(HF_SUB, key=lambda p: -len(p[0])):
        if rest.startswith(ours):
            return f"model.{stack}.layers.{i}.{theirs}{rest[len(ours):]}"
    raise ValueError(name)


def st_blob(items, meta=True):
    """items: (name, dtype string, shape, raw bytes)."""
    header, off, blobs = ({"__metadata__": {"format": "pt"}} if meta else {}), 0, []
    for name, dt, shape, raw in items:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def st_items(sd, dt="F16", tie=False):
    items = []
    for name, v in sd.items():
        if dt == "BF16":
            raw = (v.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            raw = v.astype("<f2" if dt == "F16" else "<f4").tobytes()
        items.append((hf_name(name), dt, v.shape, raw))
        if tie and name == TOK:
            items.append(("proj_out.weight", dt, v.shape, raw))
    return items


def st_seeds(out):
    sd = state_dict(NANO, 5)
    put(out, "safetensors", "full_f16.safetensors", st_blob(st_items(sd)))
    small = without_tok(sd)
    put(out, "safetensors", "notok_f16.safetensors", st_blob(st_items(small)))
    put(out, "safetensors", "notok_bf16.safetensors", st_blob(st_items(small, "BF16"), meta=False))
    put(out, "safetensors", "notok_f32.safetensors", st_blob(st_items(small, "F32")))
    odd = [("a", "F32", [2, 2], bytes(16)), ("empty", "F16", [0, 3], b""), ("scalar", "F32", [], bytes(4)),
           ("b", "BF16", [1, 1, 1, 2], bytes(4)), ("i", "I64", [1], bytes(8))]
    put(out, "safetensors", "odd.safetensors", st_blob(odd[:4]))
    put(out, "safetensors", "unsupported.safetensors", st_blob(odd))
    put(out, "safetensors", "empty.safetensors", st_blob([], meta=False))
    put(out, "safetensors", "unicode.safetensors",
        st_blob([("model.decoder.layer_norm.weight\u00e9\\\"", "F32", [1], bytes(4))]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "corpus"))
    a = ap.parse_args(argv)
    pt_seeds(a.out)
    ggml_seeds(a.out)
    native_seeds(a.out)
    st_seeds(a.out)
    total = 0
    for root, _, files in os.walk(a.out):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print(f"corpus in {a.out}: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
