#!/usr/bin/python3
"""ct2_model.py — writes CTranslate2 Whisper model directories (model.bin, config.json,
vocabulary.txt) for the tests, without ctranslate2 itself.

Reference (facts only): CTranslate2 python/ctranslate2/specs/model_spec.py (_serialize: u32
binary version 6, u16-length NUL-terminated strings, spec "WhisperSpec", u32 revision 3, the
variables sorted by name with u8 rank, u32 dims, u8 dtype id in the order float32, int8, int16,
int32, float16, bfloat16, u32 byte count and data, then the aliases; _quantize: int8 weights per
row, scale = 127 / max|row| (127 where the row is all zero, so the scale is 1), values
rint(w * scale), conv weights flattened to [out][in*k] for the scale), specs/whisper_spec.py and
transformer_spec.py (the variable names; fused QKV and KV with a zero key bias; the projection
aliased to the embeddings).
Invariants: deterministic output for a given state dict; numpy only (Debian's /usr/bin/python3).

Used as a module (write_dir, variables_from_state_dict, write_model_bin, read_model_bin) by
test_ct2.py and fuzz corpus generation, and as a command:
  ct2_model.py requant IN_DIR OUT_DIR --type int8|float16|float32|bfloat16   (re-quantize a
      model.bin, copying the side files; for trying real models locally)
  ct2_model.py corpus OUT_DIR                                                 (fuzz seeds)
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

DTYPES = ["float32", "int8", "int16", "int32", "float16", "bfloat16"]


class BF16:
    """A bfloat16 array kept as its uint16 bit patterns (numpy has no bfloat16)."""

    def __init__(self, bits):
        self.bits = np.ascontiguousarray(bits, dtype=np.uint16)
        self.shape = self.bits.shape

    @staticmethod
    def from_f32(x):
        u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
        # round to nearest even, as torch's .to(bfloat16) does (no NaNs here)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        return BF16(u.astype(np.uint16))

    def to_f32(self):
        return (self.bits.astype(np.uint32) << 16).view(np.float32)


def dtype_id(v):
    if isinstance(v, BF16):
        return 5
    return {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2,
            np.dtype(np.int32): 3, np.dtype(np.float16): 4}[v.dtype]


def to_bytes(v):
    return v.bits.tobytes() if isinstance(v, BF16) else np.ascontiguousarray(v).tobytes()


def _string(s):
    b = s.encode("utf-8")
    return struct.pack("<H", len(b) + 1) + b + b"\0"


def model_bin_bytes(variables, aliases, version=6, spec="WhisperSpec", revision=3,
                    sort=True):
    """variables: list of (name, array); aliases: list of (alias, target)."""
    out = [struct.pack("<I", version), _string(spec), struct.pack("<I", revision)]
    items = sorted(variables, key=lambda x: x[0]) if sort else list(variables)
    out.append(struct.pack("<I", len(items)))
    for name, v in items:
        shape = v.shape
        data = to_bytes(v)
        out.append(_string(name))
        out.append(struct.pack("<B", len(shape)))
        out.extend(struct.pack("<I", d) for d in shape)
        out.append(struct.pack("<B", dtype_id(v)))
        out.append(struct.pack("<I", len(data)))
        out.append(data)
    out.append(struct.pack("<I", len(aliases)))
    for a, t in sorted(aliases):
        out.append(_string(a) + _string(t))
    return b"".join(out)


def write_model_bin(path, variables, aliases, **kw):
    with open(path, "wb") as f:
        f.write(model_bin_bytes(variables, aliases, **kw))


def read_model_bin(path):
    """Returns (version, spec, revision, [(name, array)], [(alias, target)])."""
    d = open(path, "rb").read()
    o = 0

    def take(fmt):
        nonlocal o
        v = struct.unpack_from(fmt, d, o)
        o += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal o
        n = take("<H")
        s = d[o:o + n - 1].decode()
        o += n
        return s

    version = take("<I")
    spec = string()
    revision = take("<I")
    variables = []
    for _ in range(take("<I")):
        name = string()
        shape = tuple(take("<I") for _ in range(take("<B")))
        dt = take("<B")
        n = take("<I")
        raw = d[o:o + n]
        o += n
        if dt == 5:
            v = BF16(np.frombuffer(raw, dtype=np.uint16).reshape(shape))
        else:
            v = np.frombuffer(raw, dtype=[np.float32, np.int8, np.int16, np.int32,
                                          np.float16][dt]).reshape(shape)
        variables.append((name, v))
    aliases = [(string(), string()) for _ in range(take("<I"))]
    return version, spec, revision, variables, aliases


# ---- Whisper's layout ---------------------------------------------------------------------------

def scalars(n_audio_head, n_text_head):
    return [("decoder/activation", np.array(3, np.int8)), ("decoder/alibi", np.array(0, np.int8)),
            ("decoder/alignment_heads", np.array(1, np.int16)),
            ("decoder/alignment_layer", np.array(-1, np.int16)),
            ("decoder/num_heads", np.array(n_text_head, np.int16)),
            ("decoder/pre_norm", np.array(1, np.int8)),
            ("decoder/scale_embeddings", np.array(0, np.int8)),
            ("decoder/start_from_zero_embedding", np.array(0, np.int8)),
            ("encoder/num_heads", np.array(n_audio_head, np.int16))]


def variables_from_state_dict(sd, dims):
    """OpenAI state dict (name -> float32 array) to CTranslate2's float32 variables."""
    v = []

    def attn(prefix, src, fused):
        q, k, val = (sd[f"{src}.{x}.weight"] for x in ("query", "key", "value"))
        qb, vb = sd[f"{src}.query.bias"], sd[f"{src}.value.bias"]
        zero = np.zeros_like(qb)
        if fused == 3:
            v.append((f"{prefix}/linear_0/weight", np.concatenate([q, k, val])))
            v.append((f"{prefix}/linear_0/bias", np.concatenate([qb, zero, vb])))
            out = 1
        else:
            v.append((f"{prefix}/linear_0/weight", q))
            v.append((f"{prefix}/linear_0/bias", qb))
            v.append((f"{prefix}/linear_1/weight", np.concatenate([k, val])))
            v.append((f"{prefix}/linear_1/bias", np.concatenate([zero, vb])))
            out = 2
        v.append((f"{prefix}/linear_{out}/weight", sd[f"{src}.out.weight"]))
        v.append((f"{prefix}/linear_{out}/bias", sd[f"{src}.out.bias"]))
        v.append((f"{prefix}/layer_norm/gamma", sd[f"{src}_ln.weight"]))
        v.append((f"{prefix}/layer_norm/beta", sd[f"{src}_ln.bias"]))

    def ffn(prefix, src):
        v.append((f"{prefix}/linear_0/weight", sd[f"{src}.mlp.0.weight"]))
        v.append((f"{prefix}/linear_0/bias", sd[f"{src}.mlp.0.bias"]))
        v.append((f"{prefix}/linear_1/weight", sd[f"{src}.mlp.2.weight"]))
        v.append((f"{prefix}/linear_1/bias", sd[f"{src}.mlp.2.bias"]))
        v.append((f"{prefix}/layer_norm/gamma", sd[f"{src}.mlp_ln.weight"]))
        v.append((f"{prefix}/layer_norm/beta", sd[f"{src}.mlp_ln.bias"]))

    for c in ("conv1", "conv2"):
        v.append((f"encoder/{c}/weight", sd[f"encoder.{c}.weight"]))
        v.append((f"encoder/{c}/bias", sd[f"encoder.{c}.bias"]))
    v.append(("encoder/position_encodings/encodings", sd["encoder.positional_embedding"]))
    for i in range(dims["n_audio_layer"]):
        attn(f"encoder/layer_{i}/self_attention", f"encoder.blocks.{i}.attn", 3)
        ffn(f"encoder/layer_{i}/ffn", f"encoder.blocks.{i}")
    v.append(("encoder/layer_norm/gamma", sd["encoder.ln_post.weight"]))
    v.append(("encoder/layer_norm/beta", sd["encoder.ln_post.bias"]))
    v.append(("decoder/embeddings/weight", sd["decoder.token_embedding.weight"]))
    v.append(("decoder/position_encodings/encodings", sd["decoder.positional_embedding"]))
    for i in range(dims["n_text_layer"]):
        attn(f"decoder/layer_{i}/self_attention", f"decoder.blocks.{i}.attn", 3)
        attn(f"decoder/layer_{i}/attention", f"decoder.blocks.{i}.cross_attn", 2)
        ffn(f"decoder/layer_{i}/ffn", f"decoder.blocks.{i}")
    v.append(("decoder/layer_norm/gamma", sd["decoder.ln.weight"]))
    v.append(("decoder/layer_norm/beta", sd["decoder.ln.bias"]))
    v = [(n, np.ascontiguousarray(a, dtype=np.float32)) for n, a in v]
    return v + scalars(dims["n_audio_head"], dims["n_text_head"])


def is_quantizable(name):
    """The variables whose spec declares a weight_scale (Linear, Conv1D, Embeddings)."""
    return name.endswith("/weight")


def quantize_int8(w):
    """CTranslate2's int8 weights: per row of the 2-D view, scale = 127 / amax."""
    w = w.astype(np.float32)
    flat = w.reshape(w.shape[0], -1)
    amax = np.amax(np.absolute(flat), axis=1)
    amax[amax == 0] = 127.0
    scale = (np.float32(127.0) / amax).astype(np.float32)
    q = np.rint(flat * np.expand_dims(scale, 1)).astype(np.int8)
    return q.reshape(w.shape), scale


def convert(variables, quantization):
    """As model_spec._quantize: quantization in float32, float16, bfloat16, int8,
    int8_float32, int8_float16, int8_bfloat16."""
    out = []
    for name, a in variables:
        if isinstance(a, np.ndarray) and a.ndim == 0:
            out.append((name, a))
            continue
        x = a.to_f32() if isinstance(a, BF16) else a.astype(np.float32)
        if is_quantizable(name) and quantization.startswith("int8"):
            q, s = quantize_int8(x)
            out.append((name, q))
            out.append((name + "_scale", s))
            continue
        target = {"float16": "float16", "int8_float16": "float16", "bfloat16": "bfloat16",
                  "int8_bfloat16": "bfloat16", "float32": "float32",
                  "int8_float32": "float32"}.get(quantization)
        if target == "float16":
            out.append((name, x.astype(np.float16)))
        elif target == "bfloat16":
            out.append((name, BF16.from_f32(x)))
        elif target == "float32":
            out.append((name, x))
        else:  # plain int8 leaves the other variables as they are
            out.append((name, a))
    return out


PROJECTION = [("decoder/projection/weight", "decoder/embeddings/weight")]


def write_dir(out, variables, aliases=PROJECTION, config=None, vocab_lines=None, **kw):
    os.makedirs(out, exist_ok=True)
    write_model_bin(os.path.join(out, "model.bin"), variables, aliases, **kw)
    if config is not None:
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
    if vocab_lines is not None:
        with open(os.path.join(out, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in vocab_lines))


# ---- commands ---------------------------------------------------------------------------------

def cmd_requant(args):
    version, spec, revision, variables, aliases = read_model_bin(
        os.path.join(args.src, "model.bin"))
    deq = []
    scales = {n[:-6]: a for n, a in variables if n.endswith("_scale")}
    for n, a in variables:
        if n.endswith("_scale"):
            continue
        if isinstance(a, np.ndarray) and a.dtype == np.int8 and a.ndim > 0:
            s = scales[n]
            a = (a.reshape(a.shape[0], -1).astype(np.float32) *
                 (np.float32(1) / s)[:, None]).reshape(a.shape)
        deq.append((n, a))
    os.makedirs(args.dst, exist_ok=True)
    write_model_bin(os.path.join(args.dst, "model.bin"), convert(deq, args.type), aliases,
                    version=version, spec=spec, revision=revision)
    for fn in os.listdir(args.src):
        if fn != "model.bin":
            shutil.copyfile(os.path.join(args.src, fn), os.path.join(args.dst, fn))


def nano_state_dict(seed=0, n_vocab=51864, n_text_ctx=4):
    """Width-1 Whisper (one block each side) with bind's required n_audio_ctx and n_vocab."""
    rng = np.random.default_rng(seed)
    d = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 1, "n_audio_head": 1,
         "n_audio_layer": 1, "n_vocab": n_vocab, "n_text_ctx": n_text_ctx, "n_text_state": 1,
         "n_text_head": 1, "n_text_layer": 1}
    sd = {}

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    for side, cross in (("encoder", False), ("decoder", True)):
        p = f"{side}.blocks.0"
        for att in ["attn"] + (["cross_attn"] if cross else []):
            for x in ("query", "key", "value", "out"):
                sd[f"{p}.{att}.{x}.weight"] = r(1, 1)
                sd[f"{p}.{att}.{x}.bias"] = r(1)
            sd[f"{p}.{att}_ln.weight"], sd[f"{p}.{att}_ln.bias"] = r(1), r(1)
        sd[f"{p}.mlp.0.weight"], sd[f"{p}.mlp.0.bias"] = r(4, 1), r(4)
        sd[f"{p}.mlp.2.weight"], sd[f"{p}.mlp.2.bias"] = r(1, 4), r(1)
        sd[f"{p}.mlp_ln.weight"], sd[f"{p}.mlp_ln.bias"] = r(1), r(1)
    sd["encoder.conv1.weight"], sd["encoder.conv1.bias"] = r(1, 80, 3), r(1)
    sd["encoder.conv2.weight"], sd["encoder.conv2.bias"] = r(1, 1, 3), r(1)
    sd["encoder.positional_embedding"] = r(1500, 1)
    sd["encoder.ln_post.weight"], sd["encoder.ln_post.bias"] = r(1), r(1)
    sd["decoder.token_embedding.weight"] = r(n_vocab, 1)
    sd["decoder.positional_embedding"] = r(n_text_ctx, 1)
    sd["decoder.ln.weight"], sd["decoder.ln.bias"] = r(1), r(1)
    return sd, d


def cmd_corpus(args):
    """Fuzz seeds (tests/fuzz/corpus/ct2): a whole nano model in float16 and, smaller, every
    dtype with a 4-token vocabulary, plus an untied-projection alias and unsorted variables."""
    os.makedirs(args.out, exist_ok=True)
    sd, d = nano_state_dict()
    full = variables_from_state_dict(sd, d)
    seeds = {"full-f16": (convert(full, "float16"), PROJECTION)}
    # a 4-token vocabulary: the whole mapping runs (bind then rejects n_vocab)
    small = variables_from_state_dict(*nano_state_dict(n_vocab=4))
    for q in ("float32", "float16", "bfloat16", "int8", "int8_float16"):
        seeds["vocab4-" + q] = (convert(small, q), PROJECTION)
    seeds["alias-other"] = (convert(small, "float16"),
                            [("decoder/projection/weight", "encoder/conv1/weight")])
    seeds["unsorted"] = (convert(small, "int8")[::-1], PROJECTION)
    for name, (variables, aliases) in seeds.items():
        data = model_bin_bytes(variables, aliases, sort=name != "unsorted")
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("requant")
    r.add_argument("src")
    r.add_argument("dst")
    r.add_argument("--type", default="int8")
    c = sub.add_parser("corpus")
    c.add_argument("out")
    args = ap.parse_args()
    {"requant": cmd_requant, "corpus": cmd_corpus}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
