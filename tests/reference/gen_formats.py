#!/usr/bin/python3
"""gen_formats.py — the same seeded random Whisper weights in every file format auris reads.

Builds on gen_model.py (random state dicts, .pt and ggml f16 writers) and adds:
  * shape families beyond gen_model's sizes (turbo-, distil- and large-v3-shaped, reduced width);
  * whisper.cpp quantized ggml files (q4_0, q4_1, q5_0, q5_1, q8_0), bit-exact with ggml's
    reference quantizers;
  * Hugging Face directories (config.json, model.safetensors or shards + index, vocab.json +
    added_tokens.json or tokenizer.json).

Reference (facts only): whisper.cpp ggml/src/ggml-common.h (block layouts), ggml-quants.c
(quantize_row_*_ref: per-block scale from the f32 values, f32 arithmetic, truncating or roundf
rounding, f16 scales), examples/quantize (what is quantized: 2-D tensors except the conv biases
and positional embeddings; header ftype = 1000 * qntvr 2 + file type); HF transformers'
convert_openai_to_hf.py (tensor names), the safetensors layout, GPT-2's bytes_to_unicode.

Invariants: every format holds exactly the .pt's f16 values (quantized files excepted), so a
loader reading any of them must give the same tokens; quantization is deterministic.

CLI: gen_formats.py --family tiny --seed 1 --out DIR [--formats pt,bin,hf,q8_0,...]
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_model as gm  # noqa: E402
from ref_tokenizer import LANGUAGE_CODES  # noqa: E402


def _fam(n_state, n_head, n_audio_layer, n_text_layer, n_mels=80, n_vocab=51865):
    d = gm._dims(n_state, n_head, n_audio_layer, n_vocab)
    d.update(n_mels=n_mels, n_text_layer=n_text_layer)
    return d


FAMILIES = {
    "tiny": _fam(384, 6, 4, 4),
    "base": _fam(512, 8, 6, 6),
    # large-v3-turbo: 128 mels, 100 languages, a deep encoder and 4 decoder layers
    "turbo-mini": _fam(64, 2, 6, 4, n_mels=128, n_vocab=51866),
    # distil-whisper: 2 decoder layers (here English-only, as distil-small.en / medium.en)
    "distil-mini": _fam(64, 2, 4, 2, n_vocab=51864),
    # large-v3: 128 mels, 51866 tokens
    "large-v3-mini": _fam(64, 2, 2, 2, n_mels=128, n_vocab=51866),
}

QUANT_TYPES = {"q4_0": (2, 18, 2), "q4_1": (3, 20, 3), "q5_0": (6, 22, 8), "q5_1": (7, 24, 9),
               "q8_0": (8, 34, 7)}  # name: (ggml type, block bytes, file type)
QK = 32
GGML_SKIP = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
             "decoder.positional_embedding"}

F32 = np.float32


# ---- ggml quantization (ggml-quants.c quantize_row_*_ref) --------------------------------------

def _inv(d):
    with np.errstate(divide="ignore"):
        return np.where(d != 0, F32(1.0) / np.where(d != 0, d, F32(1.0)), F32(0.0)).astype(F32)


def _trunc_i(x):
    """C's (int8_t)/(uint8_t) conversion of a non-negative float: truncation toward zero."""
    return np.trunc(x).astype(np.int32)


def _abs_max_signed(x):
    """Per block, the value with the largest magnitude (first one on ties), as ggml finds it."""
    idx = np.argmax(np.abs(x), axis=1)
    return x[np.arange(x.shape[0]), idx]


def _qh_and_qs(xi):
    lo, hi = xi[:, :16], xi[:, 16:]
    qs = ((lo & 0x0F) | ((hi & 0x0F) << 4)).astype(np.uint8)
    bits = np.concatenate([(lo >> 4) & 1, (hi >> 4) & 1], axis=1).astype(np.uint64)
    qh = (bits << np.arange(32, dtype=np.uint64)).sum(axis=1).astype("<u4")
    return qh, qs


def quantize(x, qtype):
    """Rows of float32 values (length a multiple of 32) -> the ggml block bytes."""
    x = np.ascontiguousarray(x, dtype=F32).reshape(-1, QK)
    nb = x.shape[0]
    if qtype == "q8_0":
        amax = np.abs(x).max(axis=1)
        d = (amax / F32(127)).astype(F32)
        x0 = (x * _inv(d)[:, None]).astype(F32).astype(np.float64)
        q = (np.sign(x0) * np.floor(np.abs(x0) + 0.5)).astype(np.int8)  # roundf
        rec = np.zeros(nb, dtype=[("d", "<f2"), ("qs", "i1", 32)])
        rec["d"], rec["qs"] = d.astype(np.float16), q
    elif qtype in ("q4_0", "q5_0"):
        top = 8 if qtype == "q4_0" else 16
        d = (_abs_max_signed(x) / F32(-top)).astype(F32)
        x0 = (x * _inv(d)[:, None]).astype(F32)
        xi = np.minimum(2 * top - 1, _trunc_i((x0 + F32(top + 0.5)).astype(F32)))
        if qtype == "q4_0":
            rec = np.zeros(nb, dtype=[("d", "<f2"), ("qs", "u1", 16)])
            rec["qs"] = (xi[:, :16] | (xi[:, 16:] << 4)).astype(np.uint8)
        else:
            rec = np.zeros(nb, dtype=[("d", "<f2"), ("qh", "<u4"), ("qs", "u1", 16)])
            rec["qh"], rec["qs"] = _qh_and_qs(xi)
        rec["d"] = d.astype(np.float16)
    else:  # q4_1, q5_1
        levels = 15 if qtype == "q4_1" else 31
        mn, mx = x.min(axis=1), x.max(axis=1)
        d = ((mx - mn) / F32(levels)).astype(F32)
        x0 = ((x - mn[:, None]).astype(F32) * _inv(d)[:, None]).astype(F32)
        xi = _trunc_i((x0 + F32(0.5)).astype(F32))
        if qtype == "q4_1":
            xi = np.minimum(15, xi)
            rec = np.zeros(nb, dtype=[("d", "<f2"), ("m", "<f2"), ("qs", "u1", 16)])
            rec["qs"] = (xi[:, :16] | (xi[:, 16:] << 4)).astype(np.uint8)
        else:
            xi = xi & 0xFF  # (uint8_t) conversion
            rec = np.zeros(nb, dtype=[("d", "<f2"), ("m", "<f2"), ("qh", "<u4"), ("qs", "u1", 16)])
            rec["qh"], rec["qs"] = _qh_and_qs(xi)
        rec["d"], rec["m"] = d.astype(np.float16), mn.astype(np.float16)
    return rec.tobytes()


def dequantize(blob, qtype):
    """ggml's dequantize_row_* (for self-checks)."""
    gtype, bs, _ = QUANT_TYPES[qtype]
    b = np.frombuffer(blob, dtype=np.uint8).reshape(-1, bs)
    d = b[:, 0:2].copy().view("<f2").astype(F32)[:, 0]
    if qtype == "q8_0":
        return (b[:, 2:].view(np.int8).astype(F32) * d[:, None]).reshape(-1)
    m = b[:, 2:4].copy().view("<f2").astype(F32)[:, 0] if qtype in ("q4_1", "q5_1") else None
    off = 4 if m is not None else 2
    if qtype in ("q5_0", "q5_1"):
        qh = b[:, off:off + 4].copy().view("<u4")[:, 0].astype(np.uint64)
        off += 4
    qs = b[:, off:off + 16].astype(np.int32)
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1)
    if qtype in ("q5_0", "q5_1"):
        q |= (((qh[:, None] >> np.arange(32, dtype=np.uint64)) & 1) << 4).astype(np.int32)
    if m is None:
        q -= 8 if qtype == "q4_0" else 16
        return (q.astype(F32) * d[:, None]).reshape(-1)
    return (q.astype(F32) * d[:, None] + m[:, None]).astype(F32).reshape(-1)


def write_ggml(path, dims, sd, data_dir, qtype=None):
    """whisper.cpp's layout; with qtype, 2-D tensors (after squeezing) are quantized as
    examples/quantize does, and the header's ftype is 1000 * 2 + the file type."""
    if qtype is None:
        return gm.write_ggml(path, dims, sd, data_dir)
    gtype, _, ftype = QUANT_TYPES[qtype]
    n_mels = dims["n_mels"]
    with np.load(os.path.join(data_dir, "mel_filters.npz")) as f:
        filters = np.asarray(f[f"mel_{n_mels}"], dtype=F32)
    vocab_file = "multilingual.tiktoken" if dims["n_vocab"] >= 51865 else "gpt2.tiktoken"
    tokens = gm.read_tiktoken(os.path.join(data_dir, vocab_file))
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<I", 0x67676D6C))
        for k in ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                  "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"]:
            out.write(struct.pack("<i", dims[k]))
        out.write(struct.pack("<i", 2 * 1000 + ftype))
        out.write(struct.pack("<ii", filters.shape[0], filters.shape[1]))
        out.write(filters.astype("<f4").tobytes())
        out.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            out.write(struct.pack("<i", len(t)))
            out.write(t)
        for name, t in sd.items():
            data = t.float().squeeze().numpy()
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                data = data.reshape(data.shape[0], 1)
            n_dims = data.ndim
            if n_dims == 2 and name not in GGML_SKIP:
                raw, ttype = quantize(data, qtype), gtype
            elif n_dims >= 2 and name not in GGML_SKIP:
                raw, ttype = data.astype("<f2").tobytes(), 1
            else:
                raw, ttype = data.astype("<f4").tobytes(), 0
            nb = name.encode()
            out.write(struct.pack("<iii", n_dims, len(nb), ttype))
            for i in range(n_dims):
                out.write(struct.pack("<i", data.shape[n_dims - 1 - i]))
            out.write(nb)
            out.write(raw)
    os.replace(tmp, path)


# ---- Hugging Face layout --------------------------------------------------------------------

_HF_SUB = [("attn.query.", "self_attn.q_proj."), ("attn.key.", "self_attn.k_proj."),
           ("attn.value.", "self_attn.v_proj."), ("attn.out.", "self_attn.out_proj."),
           ("attn_ln.", "self_attn_layer_norm."), ("cross_attn.query.", "encoder_attn.q_proj."),
           ("cross_attn.key.", "encoder_attn.k_proj."), ("cross_attn.value.", "encoder_attn.v_proj."),
           ("cross_attn.out.", "encoder_attn.out_proj."),
           ("cross_attn_ln.", "encoder_attn_layer_norm."), ("mlp.0.", "fc1."), ("mlp.2.", "fc2."),
           ("mlp_ln.", "final_layer_norm.")]


def hf_name(name):
    fixed = {"encoder.positional_embedding": "model.encoder.embed_positions.weight",
             "decoder.positional_embedding": "model.decoder.embed_positions.weight",
             "decoder.token_embedding.weight": "model.decoder.embed_tokens.weight",
             "encoder.ln_post.weight": "model.encoder.layer_norm.weight",
             "encoder.ln_post.bias": "model.encoder.layer_norm.bias",
             "decoder.ln.weight": "model.decoder.layer_norm.weight",
             "decoder.ln.bias": "model.decoder.layer_norm.bias"}
    if name in fixed:
        return fixed[name]
    if name.startswith("encoder.conv"):
        return "model." + name
    stack, _, i, rest = name.split(".", 3)  # encoder.blocks.N.rest
    for ours, theirs in sorted(_HF_SUB, key=lambda p: -len(p[0])):
        if rest.startswith(ours):
            return f"model.{stack}.layers.{i}.{theirs}{rest[len(ours):]}"
    raise ValueError(name)


def write_safetensors(path, tensors):
    """tensors: list of (name, numpy array); dtype F32/F16 from the array, 'bf16' arrays are
    given as (name, uint16 array, 'BF16')."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for item in tensors:
        name, arr = item[0], item[1]
        dtype = item[2] if len(item) > 2 else {np.dtype(F32): "F32",
                                                np.dtype(np.float16): "F16"}[arr.dtype]
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def special_tokens(n_vocab, hf_names=True):
    multilingual = n_vocab >= 51865
    n_langs = n_vocab - 51765 - int(multilingual)
    sp = ["<|endoftext|>", "<|startoftranscript|>"] + [f"<|{c}|>" for c in LANGUAGE_CODES[:n_langs]]
    # older HF tokenizers call <|nospeech|> <|nocaptions|>; auris must tolerate the alias
    sp += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
           "<|nocaptions|>" if hf_names else "<|nospeech|>", "<|notimestamps|>"]
    sp += ["<|%.2f|>" % (i * 0.02) for i in range(1501)]
    return sp


def write_hf(out_dir, dims, sd, data_dir, dtype="f16", shards=1, tokenizer="vocab",
             tie=True):
    """A WhisperForConditionalGeneration directory holding the state dict's values."""
    os.makedirs(out_dir, exist_ok=True)
    cfg = {"model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"],
           "activation_function": "gelu", "num_mel_bins": dims["n_mels"],
           "max_source_positions": dims["n_audio_ctx"], "d_model": dims["n_audio_state"],
           "encoder_attention_heads": dims["n_audio_head"], "encoder_layers": dims["n_audio_layer"],
           "encoder_ffn_dim": 4 * dims["n_audio_state"], "vocab_size": dims["n_vocab"],
           "max_target_positions": dims["n_text_ctx"], "decoder_attention_heads": dims["n_text_head"],
           "decoder_layers": dims["n_text_layer"], "decoder_ffn_dim": 4 * dims["n_text_state"],
           "torch_dtype": {"f16": "float16", "bf16": "bfloat16", "f32": "float32"}[dtype]}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    items = []
    for name, t in sd.items():
        if dtype == "bf16":
            u = t.float().contiguous().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
            items.append((hf_name(name), u, "BF16"))
        else:
            items.append((hf_name(name), t.numpy().astype(np.float16 if dtype == "f16" else F32)))
    if tie:
        emb = [it for it in items if it[0] == "model.decoder.embed_tokens.weight"][0]
        items.append(("proj_out.weight",) + tuple(emb[1:]))
    for fn in ("model.safetensors", "model.safetensors.index.json"):
        if os.path.exists(os.path.join(out_dir, fn)):
            os.remove(os.path.join(out_dir, fn))
    if shards == 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), items)
    else:
        per = (len(items) + shards - 1) // shards
        wm = {}
        for s in range(shards):
            fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = items[s * per:(s + 1) * per]
            write_safetensors(os.path.join(out_dir, fn), part)
            wm.update({it[0]: fn for it in part})
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f, indent=2)
    # vocabulary: tiktoken ranks -> GPT-2 byte-level strings
    vocab_file = "multilingual.tiktoken" if dims["n_vocab"] >= 51865 else "gpt2.tiktoken"
    b2u = bytes_to_unicode()
    base = gm.read_tiktoken(os.path.join(data_dir, vocab_file))
    vocab = {"".join(b2u[b] for b in tok): i for i, tok in enumerate(base)}
    sp = special_tokens(dims["n_vocab"])
    vocab["<|endoftext|>"] = len(base)
    added = {s: len(base) + k for k, s in enumerate(sp)}
    for fn in ("vocab.json", "added_tokens.json", "tokenizer.json"):
        if os.path.exists(os.path.join(out_dir, fn)):
            os.remove(os.path.join(out_dir, fn))
    if tokenizer == "vocab":
        with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(out_dir, "added_tokens.json"), "w", encoding="utf-8") as f:
            json.dump(added, f, ensure_ascii=False)
    else:
        tj = {"version": "1.0", "added_tokens": [{"id": i, "content": s, "special": True}
                                                 for s, i in added.items()],
              "model": {"type": "BPE", "vocab": vocab, "merges": []}}
        with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
    return out_dir


def make_family(family, seed):
    dims = dict(FAMILIES[family])
    sd = gm.make_state_dict(dims, seed)
    return dims, {k: v.to(torch.float16).contiguous() for k, v in sd.items()}


def generate(family, seed, out_dir, formats, data_dir, **hf_kw):
    """Writes the requested formats of one family; returns {format: path}."""
    os.makedirs(out_dir, exist_ok=True)
    dims, sd = make_family(family, seed)
    base = os.path.join(out_dir, f"{family}-s{seed}")
    paths = {}
    for fmt in formats:
        if fmt == "pt":
            paths[fmt] = base + ".pt"
            gm.write_pt(paths[fmt], dims, sd)
        elif fmt == "bin":
            paths[fmt] = base + ".bin"
            write_ggml(paths[fmt], dims, sd, data_dir)
        elif fmt in QUANT_TYPES:
            paths[fmt] = f"{base}-{fmt}.bin"
            write_ggml(paths[fmt], dims, sd, data_dir, fmt)
        elif fmt.startswith("hf"):  # hf, hf-bf16, hf-sharded, hf-tokjson
            kw = dict(hf_kw)
            if fmt == "hf-bf16":
                kw["dtype"] = "bf16"
            if fmt == "hf-sharded":
                kw["shards"] = 3
            if fmt == "hf-tokjson":
                kw["tokenizer"] = "json"
            paths[fmt] = write_hf(f"{base}-{fmt}", dims, sd, data_dir, **kw)
        else:
            raise ValueError(f"unknown format {fmt!r}")
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", required=True, choices=sorted(FAMILIES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--formats", default="pt,bin,hf")
    ap.add_argument("--data", default=None)
    a = ap.parse_args(argv)
    data_dir = a.data or gm.shared_data_dir()
    if not os.path.isfile(os.path.join(data_dir, "mel_filters.npz")):
        print(f"gen_formats: shared data folder {data_dir} missing", file=sys.stderr)
        return 77
    formats = [f for f in a.formats.split(",") if f]
    for fmt, p in generate(a.family, a.seed, a.out, formats, data_dir).items():
        print(fmt, p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
