#!/usr/bin/python3
"""gen_model.py — seeded random-weight Whisper checkpoints with the official names and shapes.

Reference (facts only): openai/whisper model.py (ModelDimensions, state-dict names/shapes, the
sinusoids buffer), OpenAI's checkpoint layout (torch.save of {"dims", "model_state_dict"} with
fp16 tensors), whisper.cpp models/convert-pt-to-ggml.py (ggml .bin layout).

Invariants:
  * the same (size, seed) always gives bit-identical weights, whatever the output format;
  * the .bin holds exactly the values of the .pt (f16-rounded unless --dtype f32), so a loader
    reading either must produce identical results;
  * the random init is chosen so greedy decoding is numerically well conditioned and not
    degenerate: logits have a standard deviation around 10 with slightly heavy tails (clear top-1
    margins, so fp32 rounding differences never flip an argmax, while staying well inside the 2e-3
    absolute logits tolerance); layer norms are moderate; a strong decoder positional embedding
    and scaled-up block outputs keep the text from collapsing into one repeated token; and
    <|endoftext|> gets a logit offset so decoding sometimes stops before 224 tokens.

CLI: gen_model.py --size micro --seed 1 --out DIR [--formats pt,bin] [--dtype f16|f32]
writes DIR/<size>-s<seed>.pt and DIR/<size>-s<seed>.bin.
"""
import argparse
import base64
import math
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import torch

# Official ModelDimensions field order as stored in OpenAI's checkpoints.
DIM_KEYS = ["n_mels", "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head",
            "n_audio_layer", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer"]


def _dims(n_state, n_head, n_layer, n_vocab=51865):
    return {"n_mels": 80, "n_vocab": n_vocab, "n_audio_ctx": 1500, "n_audio_state": n_state,
            "n_audio_head": n_head, "n_audio_layer": n_layer, "n_text_ctx": 448,
            "n_text_state": n_state, "n_text_head": n_head, "n_text_layer": n_layer}


SIZES = {
    "micro": _dims(64, 2, 2),
    "micro.en": _dims(64, 2, 2, 51864),
    "tiny": _dims(384, 6, 4),
    "tiny.en": _dims(384, 6, 4, 51864),
    "base": _dims(512, 8, 6),
}

# Token embedding std is LOGIT_STD / sqrt(n_state): the final layer norm output has norm
# ~sqrt(n_state), so logits come out with std ~LOGIT_STD.
LOGIT_STD = 10.0
# <|endoftext|>'s logit gets a constant offset through the final layer norm's bias (its row is
# given a component along that bias), so random models sometimes stop before 224 tokens.
EOT_OFFSET = 30.0
DEC_LN_BIAS_STD = 0.5
# Output projections of attention/MLP are scaled up so the decoder's residual stream is dominated
# by context (position, audio, previous tokens) rather than by the current token's own embedding,
# which would otherwise make the tied output projection repeat the input token forever.
OUT_GAIN = 3.0
# Token-embedding rows get log-normal norms: heavier-tailed logits have wider gaps between the
# best and second-best token, so fp32 rounding differences are less likely to flip an argmax.
EMB_NORM_SIGMA = 0.15
DEC_POS_STD = 4.0


def shared_data_dir():
    env = os.environ.get("AURIS_SHARED_DATA")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "data")


def sinusoids(length, channels, max_timescale=10000.0):
    """Encoder positional embedding: [sin | cos] of position times geometric timescales."""
    half = channels // 2
    inc = math.log(max_timescale) / (half - 1)
    inv = torch.exp(-inc * torch.arange(half, dtype=torch.float32))
    t = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def make_state_dict(dims, seed):
    """Returns an ordered dict name -> float32 tensor, in the official state-dict order."""
    g = torch.Generator().manual_seed(int(seed))

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float32) * std

    def ln(sd, prefix, n):
        sd[prefix + ".weight"] = 1.0 + randn(n, std=0.1)
        sd[prefix + ".bias"] = randn(n, std=0.1)

    def linear(sd, prefix, n_out, n_in, bias=True, gain=1.0):
        sd[prefix + ".weight"] = randn(n_out, n_in, std=gain / math.sqrt(n_in))
        if bias:
            sd[prefix + ".bias"] = randn(n_out, std=0.05)

    def block(sd, prefix, n, cross):
        for att in (["attn"] + (["cross_attn"] if cross else [])):
            linear(sd, f"{prefix}.{att}.query", n, n)
            linear(sd, f"{prefix}.{att}.key", n, n, bias=False)
            linear(sd, f"{prefix}.{att}.value", n, n)
            linear(sd, f"{prefix}.{att}.out", n, n, gain=OUT_GAIN)
            ln(sd, f"{prefix}.{att}_ln", n)
        linear(sd, f"{prefix}.mlp.0", 4 * n, n)
        linear(sd, f"{prefix}.mlp.2", n, 4 * n, gain=OUT_GAIN)
        ln(sd, f"{prefix}.mlp_ln", n)

    sd = {}
    na, nm = dims["n_audio_state"], dims["n_mels"]
    # module-own buffers/parameters come before children in a state dict
    sd["encoder.positional_embedding"] = sinusoids(dims["n_audio_ctx"], na)
    sd["encoder.conv1.weight"] = randn(na, nm, 3, std=1.5 / math.sqrt(3 * nm))
    sd["encoder.conv1.bias"] = randn(na, std=0.1)
    sd["encoder.conv2.weight"] = randn(na, na, 3, std=1.5 / math.sqrt(3 * na))
    sd["encoder.conv2.bias"] = randn(na, std=0.1)
    for i in range(dims["n_audio_layer"]):
        block(sd, f"encoder.blocks.{i}", na, False)
    ln(sd, "encoder.ln_post", na)

    nt, nv = dims["n_text_state"], dims["n_vocab"]
    sd["decoder.positional_embedding"] = randn(dims["n_text_ctx"], nt, std=DEC_POS_STD)
    emb = randn(nv, nt, std=LOGIT_STD / math.sqrt(nt))
    emb *= torch.exp(randn(nv, 1, std=EMB_NORM_SIGMA) - EMB_NORM_SIGMA ** 2)
    eot = 50257 if nv >= 51865 else 50256
    sd["decoder.token_embedding.weight"] = emb
    for i in range(dims["n_text_layer"]):
        block(sd, f"decoder.blocks.{i}", nt, True)
    ln(sd, "decoder.ln", nt)
    b = randn(nt, std=DEC_LN_BIAS_STD)
    sd["decoder.ln.bias"] = b
    emb[eot] += EOT_OFFSET * b / float(b @ b)
    return sd


def make_model(size, seed, dtype="f16"):
    """(dims, state_dict) with tensors in the storage dtype (torch.float16 or float32)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; known: {', '.join(SIZES)}")
    dims = dict(SIZES[size])
    sd = make_state_dict(dims, seed)
    tdt = torch.float16 if dtype == "f16" else torch.float32
    return dims, {k: v.to(tdt).contiguous() for k, v in sd.items()}


def write_pt(path, dims, sd):
    torch.save({"dims": {k: dims[k] for k in DIM_KEYS}, "model_state_dict": sd}, path)


def read_tiktoken(path):
    """Base vocabulary bytes in file order (rank order), as whisper.cpp's converter writes them."""
    toks = []
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            b64, rank = line.split()
            if int(rank) != len(toks):
                raise ValueError(f"{path}: rank {int(rank)} out of order")
            toks.append(base64.b64decode(b64))
    return toks


def write_ggml(path, dims, sd, data_dir):
    """whisper.cpp ggml layout: magic, 11 int32 hparams, mel filters, vocab, tensors."""
    use_f16 = any(v.dtype == torch.float16 for v in sd.values())
    n_mels = dims["n_mels"]
    with np.load(os.path.join(data_dir, "mel_filters.npz")) as f:
        filters = np.asarray(f[f"mel_{n_mels}"], dtype=np.float32)
    vocab_file = "multilingual.tiktoken" if dims["n_vocab"] >= 51865 else "gpt2.tiktoken"
    tokens = read_tiktoken(os.path.join(data_dir, vocab_file))
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<I", 0x67676D6C))
        for k in ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
                  "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"]:
            out.write(struct.pack("<i", dims[k]))
        out.write(struct.pack("<i", 1 if use_f16 else 0))
        out.write(struct.pack("<ii", filters.shape[0], filters.shape[1]))
        out.write(filters.astype("<f4").tobytes())
        out.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            out.write(struct.pack("<i", len(t)))
            out.write(t)
        keep_f32 = {"encoder.conv1.bias", "encoder.conv2.bias",
                    "encoder.positional_embedding", "decoder.positional_embedding"}
        for name, t in sd.items():
            data = t.squeeze().numpy()
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                data = data.reshape(data.shape[0], 1)
            n_dims = data.ndim
            if use_f16 and n_dims >= 2 and name not in keep_f32:
                data, ftype = data.astype("<f2"), 1
            else:
                data, ftype = data.astype("<f4"), 0
            nb = name.encode("utf-8")
            out.write(struct.pack("<iii", n_dims, len(nb), ftype))
            for i in range(n_dims):
                out.write(struct.pack("<i", data.shape[n_dims - 1 - i]))
            out.write(nb)
            out.write(np.ascontiguousarray(data).tobytes())
    os.replace(tmp, path)


def generate(size, seed, out_dir, formats=("pt", "bin"), dtype="f16", data_dir=None):
    """Writes the requested files; returns {format: path}."""
    os.makedirs(out_dir, exist_ok=True)
    dims, sd = make_model(size, seed, dtype)
    paths = {}
    base = os.path.join(out_dir, f"{size}-s{seed}")
    if "pt" in formats:
        paths["pt"] = base + ".pt"
        # written under the final file name in a private folder, then renamed: torch.save names
        # the zip's top-level folder after the file, as in a plain torch.save(obj, "x.pt")
        tmp_dir = tempfile.mkdtemp(prefix=".gen-", dir=out_dir)
        try:
            tmp = os.path.join(tmp_dir, os.path.basename(paths["pt"]))
            write_pt(tmp, dims, sd)
            os.replace(tmp, paths["pt"])
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    if "bin" in formats:
        paths["bin"] = base + ".bin"
        write_ggml(paths["bin"], dims, sd, data_dir or shared_data_dir())
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", required=True, choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--formats", default="pt,bin")
    ap.add_argument("--dtype", default="f16", choices=["f16", "f32"])
    ap.add_argument("--data", default=None, help="shared data dir (mel_filters.npz, *.tiktoken)")
    a = ap.parse_args(argv)
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    for f in formats:
        if f not in ("pt", "bin"):
            ap.error(f"unknown format {f!r}")
    data_dir = a.data or shared_data_dir()
    if "bin" in formats and not os.path.isfile(os.path.join(data_dir, "mel_filters.npz")):
        print(f"gen_model: shared data folder {data_dir} missing (needed for .bin)", file=sys.stderr)
        return 77
    for fmt, p in generate(a.size, a.seed, a.out, formats, a.dtype, data_dir).items():
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
