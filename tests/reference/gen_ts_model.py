#!/usr/bin/python3
"""gen_ts_model.py — random-weight checkpoints that emit timestamp tokens, for the transcription
parity tests. A wrapper over gen_model.py (whose sizes and weights stay untouched): sizes
"<base>-ts" (micro-ts, tiny-ts, micro.en-ts) take gen_model's weights for <base> and the same seed,
then rewrite only the 1501 timestamp rows of the token embedding.

Why: with gen_model's init every token row is i.i.d., so the total probability of the timestamp
tokens never beats the best text token and, apart from the forced first one, timestamps never
appear — long-form seeking, segment splitting and the timestamp rules would go untested. Each
timestamp row here is a smaller random vector (TS_NOISE relative to a text row) plus a component
along the final layer norm's bias (the trick gen_model uses for <|endoftext|>), which adds a
constant TS_OFFSET to every timestamp logit, minus TS_SLOPE per second so that earlier times are
preferred and windows hold several segments. The values are tuned so that windows contain
several segments, end in <|endoftext|> well before 224 tokens, and keep clear decision margins.

Invariants: deterministic in (size, seed); everything except the timestamp rows equals
gen_model.make_model(base, seed) bit for bit; written as fp16 .pt (and ggml .bin on request) with
the official names and shapes.

CLI: gen_ts_model.py --size micro-ts --seed 1 --out DIR [--formats pt,bin]
"""
import argparse
import math
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_model  # noqa: E402

TS_OFFSET = 60.0
TS_SLOPE = 0.35      # logit per second of timestamp
TS_NOISE = 0.35      # random part of a timestamp row, relative to a text row
EOT_EXTRA = 0.0      # extra <|endoftext|> offset (0: gen_model's row kept; >= 2 ends windows at once)
N_TIMESTAMPS = 1501

SIZES = {f"{b}-ts": b for b in ("micro", "micro.en", "tiny", "tiny.en")}


def make_model(size, seed, dtype="f16"):
    """(dims, state_dict) in the storage dtype."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; known: {', '.join(SIZES)}")
    base = SIZES[size]
    dims = dict(gen_model.SIZES[base])
    sd = gen_model.make_state_dict(dims, seed)
    nv, nt = dims["n_vocab"], dims["n_text_state"]
    tb = nv - N_TIMESTAMPS
    g = torch.Generator().manual_seed(int(seed) * 7919 + 17)
    emb = sd["decoder.token_embedding.weight"]
    b = sd["decoder.ln.bias"]
    rows = torch.randn(N_TIMESTAMPS, nt, generator=g) * (TS_NOISE * gen_model.LOGIT_STD /
                                                         math.sqrt(nt))
    secs = torch.arange(N_TIMESTAMPS, dtype=torch.float32)[:, None] * 0.02
    offset = TS_OFFSET - TS_SLOPE * secs
    emb[tb:] = rows + offset * b[None, :] / float(b @ b)
    eot = 50257 if nv >= 51865 else 50256
    emb[eot] += EOT_EXTRA * b / float(b @ b)
    tdt = torch.float16 if dtype == "f16" else torch.float32
    return dims, {k: v.to(tdt).contiguous() for k, v in sd.items()}


def generate(size, seed, out_dir, formats=("pt",), dtype="f16", data_dir=None):
    os.makedirs(out_dir, exist_ok=True)
    dims, sd = make_model(size, seed, dtype)
    base = os.path.join(out_dir, f"{size}-s{seed}")
    paths = {}
    if "pt" in formats:
        paths["pt"] = base + ".pt"
        tmp_dir = tempfile.mkdtemp(prefix=".gen-", dir=out_dir)
        try:
            tmp = os.path.join(tmp_dir, os.path.basename(paths["pt"]))
            gen_model.write_pt(tmp, dims, sd)
            os.replace(tmp, paths["pt"])
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    if "bin" in formats:
        paths["bin"] = base + ".bin"
        gen_model.write_ggml(paths["bin"], dims, sd, data_dir or gen_model.shared_data_dir())
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", required=True, choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--formats", default="pt")
    ap.add_argument("--dtype", default="f16", choices=["f16", "f32"])
    ap.add_argument("--data", default=None)
    a = ap.parse_args(argv)
    formats = [f for f in a.formats.split(",") if f]
    for p in generate(a.size, a.seed, a.out, formats, a.dtype, a.data).values():
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
