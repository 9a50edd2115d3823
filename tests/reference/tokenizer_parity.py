#!/usr/bin/python3
"""tokenizer_parity.py — compares auris's tokenizer (through tok_tool) with ref_tokenizer.py.

For each Whisper vocabulary (gpt2 / 51864, multilingual / 51865, multilingual / 51866) it checks:
special token ids and the non-speech list; encoding of every corpus file, whole and line by
line, plus edge cases (text spelling special tokens must be refused by both); decode(encode(t))
== t; decoding of every prefix/suffix split of multibyte strings; decoding of random id
sequences (lone UTF-8 bytes, specials, timestamps) where U+FFFD replacement must agree.
Exits 0 when everything matches, 1 otherwise, 77 (skip) without the data or the regex module.
Usage: tokenizer_parity.py --tool PATH/tok_tool --data DIR
"""
import argparse
import glob
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

VOCABS = [("gpt2", 51864), ("multilingual", 51865), ("multilingual", 51866)]

EDGE_TEXTS = [
    "", " ", "  ", "\n", "\n\n", " \n ", "\t", "a", " a", "'s", "'S", "don't", "x's'll'd",
    " Hello world", "Hello world", "<|endoftext|>", "hi <|startoftranscript|>", "<|en|> text",
    "<|notimestamps|>", "<|0.00|>", "<|30.00|>", "<|1.50|>", "<|yue|>", "<|haw|>",
    "<|endoftext", "endoftext|>", "<<|endoftext|>>", "\u00e9", "\u20ac", "\U0001f600",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\x00", "a\x00b",
]

SPLIT_TEXTS = [
    "\u00e9t\u00e9", "\u4e2d\u6587\u6d4b\u8bd5", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5", "\u0928\u092e\u0938\u094d\u0924\u0947", "\uc548\ub155\ud558\uc138\uc694",
    "\u266a\u266b\u266c", "Nguy\u1ec5n \u0110\u01b0\u1eddng", "\U00020000\U0002a6a5",
]


# Code points that stress the split pattern: every White_Space character and near misses
# (U+180E, U+200B, U+001C), apostrophes and contraction letters, letters, digits, marks, symbols.
RANDOM_CPS = [0x20, 0x20, 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x180E, 0x2000,
              0x200B, 0x2028, 0x3000, 0x27, 0x27, 0x1C, 0x1F] + [ord(ch) for ch in "strelvdmSaZ5!?<|>-"] + \
             [0xE9, 0x4E2D, 0x0661, 0x1F600, 0x200D, 0x0301, 0x2160, 0xFF11, 0x266A, 0x1F1FA]


def random_texts(n):
    rng = random.Random(7)
    return ["".join(chr(rng.choice(RANDOM_CPS)) for _ in range(rng.randint(1, 15)))
            for _ in range(n)]


class Counter:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.shown = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            return
        self.failed += 1
        if self.shown < 20:
            print("FAIL:", what)
            self.shown += 1


def run_tool(tool, vocab, n_vocab, mode, lines):
    data = "".join(line + "\n" for line in lines)
    out = subprocess.run([tool, vocab, str(n_vocab), mode], input=data.encode(),
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    res = out.split("\n")[:-1] if out else []
    if mode != "info" and len(res) != len(lines):
        raise RuntimeError("tok_tool printed %d lines for %d inputs" % (len(res), len(lines)))
    return res


def tool_encode(args, vocab, n_vocab, texts):
    res = run_tool(args.tool, vocab, n_vocab, "encode", [t.encode().hex() for t in texts])
    return [None if r.startswith("ERR") else [int(x) for x in r.split()] for r in res]


def tool_decode(args, vocab, n_vocab, seqs):
    res = run_tool(args.tool, vocab, n_vocab, "decode", [" ".join(map(str, s)) for s in seqs])
    return [None if r.startswith("ERR") else bytes.fromhex(r).decode("utf-8") for r in res]


def corpus_texts():
    texts = []
    for path in sorted(glob.glob(os.path.join(HERE, "corpus", "*.txt"))):
        with open(path, encoding="utf-8", newline="") as f:
            whole = f.read()
        texts.append(whole)
        texts.extend(whole.splitlines(keepends=True))
        texts.extend(line.rstrip("\n") for line in whole.splitlines(keepends=True))
    return texts


def check_vocab(args, name, n_vocab, c):
    from ref_tokenizer import EncodeError, RefTokenizer, load_tiktoken

    vocab = os.path.join(args.data, name + ".tiktoken")
    ref = RefTokenizer(load_tiktoken(vocab), n_vocab)
    tag = "%s/%d" % (name, n_vocab)

    info = dict(line.split(" ", 1) for line in run_tool(args.tool, vocab, n_vocab, "info", []))
    for key in ["eot", "sot", "translate", "transcribe", "sot_lm", "sot_prev", "no_speech",
                "no_timestamps", "timestamp_begin"]:
        c.check(int(info[key]) == getattr(ref, key),
                "%s %s: %s vs reference %d" % (tag, key, info[key], getattr(ref, key)))
    c.check(int(info["lang_begin"]) == ref.sot + 1, tag + " lang_begin")
    c.check(int(info["n_lang_tokens"]) == ref.num_languages, tag + " n_lang_tokens")
    c.check(int(info["n_langs"]) == (ref.num_languages if ref.multilingual else 0),
            tag + " n_langs")
    ns = [int(x) for x in info["non_speech"].split()]
    c.check(ns == ref.non_speech_tokens(), "%s non_speech %s" % (tag, ns[:8]))

    texts = corpus_texts() + EDGE_TEXTS + random_texts(1500)
    got = tool_encode(args, vocab, n_vocab, texts)
    want = []
    for t in texts:
        try:
            want.append(ref.encode(t))
        except EncodeError:
            want.append(None)
    for t, g, w in zip(texts, got, want):
        c.check(g == w, "%s encode %r: %s vs reference %s" % (tag, t[:40], g and g[:12], w and w[:12]))

    seqs = [w for w in want if w is not None]
    dec = tool_decode(args, vocab, n_vocab, seqs)
    for s, d in zip(seqs, dec):
        r = ref.decode(s)
        c.check(d == r, "%s decode %s: %r vs reference %r" % (tag, s[:8], d, r))
    for t, w in zip(texts, want):
        if w is not None:
            c.check(ref.decode(w) == t, "%s reference round trip %r" % (tag, t[:40]))
    for t, d in zip([t for t, w in zip(texts, want) if w is not None], dec):
        c.check(d == t, "%s round trip %r" % (tag, t[:40]))

    split_seqs = []
    for t in SPLIT_TEXTS:
        ids = ref.encode(t)
        for k in range(len(ids) + 1):
            split_seqs += [ids[:k], ids[k:]]
        # byte-level tokens: each UTF-8 byte as its own token, split everywhere
        byte_ids = [ref.ranks[bytes([b])] for b in t.encode()]
        for k in range(len(byte_ids) + 1):
            split_seqs += [byte_ids[:k], byte_ids[k:], byte_ids]
    rng = random.Random(1234)
    high = [ref.ranks[bytes([b])] for b in range(0x80, 0x100)]
    pool = high + [ref.ranks[bytes([b])] for b in b"a \n"] + list(range(ref.eot, ref.timestamp_begin + 3)) + \
        [ref.n_vocab - 1]
    for _ in range(400):
        n = rng.randint(1, 10)
        split_seqs.append([rng.choice(pool) if rng.random() < 0.8 else rng.randrange(ref.n_vocab)
                           for _ in range(n)])
    dec = tool_decode(args, vocab, n_vocab, split_seqs)
    for s, d in zip(split_seqs, dec):
        r = ref.decode(s)
        c.check(d == r, "%s decode %s: %r vs reference %r" % (tag, s, d, r))

    bad = tool_decode(args, vocab, n_vocab, [[-1], [n_vocab], [0, n_vocab + 5]])
    c.check(bad == [None, None, None], "%s out-of-range ids must be refused: %s" % (tag, bad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--data", required=True)
    args = ap.parse_args()
    try:
        import regex  # noqa: F401
    except ImportError:
        print("SKIP: the python3 'regex' module is not installed")
        return 77
    for name, _ in VOCABS:
        if not os.path.isfile(os.path.join(args.data, name + ".tiktoken")):
            print("SKIP: %s.tiktoken not found in %s" % (name, args.data))
            return 77
    c = Counter()
    for name, n_vocab in VOCABS:
        before = c.failed
        check_vocab(args, name, n_vocab, c)
        print("%s/%d: %s" % (name, n_vocab, "ok" if c.failed == before else "MISMATCH"))
    print("tokenizer parity: %d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
