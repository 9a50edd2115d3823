#!/usr/bin/python3
"""gen_alignment.py — prints the C table of src/model/alignment.c from the reference.

Reference (facts only): openai/whisper whisper/__init__.py _ALIGNMENT_HEADS: per official model
a base85-encoded, gzip-compressed numpy bool array [n_text_layer][n_text_head] (model.py
set_alignment_heads). The decoder shapes below are the official ModelDimensions.

Usage: gen_alignment.py [/path/to/whisper/__init__.py] > table.inc
"""
import base64
import gzip
import re
import sys

import numpy as np

# (n_text_layer, n_text_head) of each official model
SHAPES = {
    "tiny.en": (4, 6), "tiny": (4, 6), "base.en": (6, 8), "base": (6, 8),
    "small.en": (12, 12), "small": (12, 12), "medium.en": (24, 16), "medium": (24, 16),
    "large-v1": (32, 20), "large-v2": (32, 20), "large-v3": (32, 20), "large": (32, 20),
    "large-v3-turbo": (4, 20), "turbo": (4, 20),
}


def decode(src):
    i = src.index("_ALIGNMENT_HEADS = {")
    j = src.index("\n}", i)
    table = dict(re.findall(r'"([^"]+)": b"([^"]+)"', src[i:j]))
    out = {}
    for name, dump in table.items():
        layers, heads = SHAPES[name]
        mask = np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)
        out[name] = (layers, heads, [tuple(map(int, p)) for p in zip(*np.nonzero(mask.reshape(layers, heads)))])
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ref/openai+whisper/whisper/__init__.py"
    with open(path) as f:
        table = decode(f.read())
    for name, (layers, heads, pairs) in table.items():
        items = [f"{{{l}, {h}}}" for l, h in pairs]
        rows = [", ".join(items[k:k + 8]) for k in range(0, len(items), 8)]
        body = (",\n" + " " * 8).join(rows)
        print(f'    {{"{name}", {layers}, {heads}, {len(pairs)},\n        {{{body}}}}},')
    return 0


if __name__ == "__main__":
    sys.exit(main())
