"""ref_tokenizer.py — an independent Python model of Whisper's tokenizer, for parity tests.

Follows openai/whisper tokenizer.py (get_encoding's special-token list and pattern, Tokenizer.decode,
non_speech_tokens) and tiktoken's semantics (regex split, then byte-pair merge of each piece by
lowest rank, leftmost on ties; disallowed_special="all"). Written from the algorithm description,
deliberately naive (quadratic merge loop, plain dicts) so that it shares no structure with the C
implementation it checks. Needs the `regex` module for \\p{L} / \\p{N}.
"""
import base64

import regex

PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

LANGUAGE_CODES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su yue"
).split()
assert len(LANGUAGE_CODES) == 100


class EncodeError(Exception):
    pass


def load_tiktoken(path):
    ranks = {}
    with open(path) as f:
        for line in f:
            if not line:
                continue
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return ranks


class RefTokenizer:
    def __init__(self, ranks, n_vocab):
        self.ranks = ranks
        self.by_id = {r: b for b, r in ranks.items()}
        n_base = len(ranks)
        multilingual = n_vocab >= 51865
        self.num_languages = n_vocab - 51765 - int(multilingual)
        self.multilingual = multilingual
        specials = ["<|endoftext|>", "<|startoftranscript|>"]
        specials += ["<|%s|>" % c for c in LANGUAGE_CODES[: self.num_languages]]
        specials += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                     "<|nospeech|>", "<|notimestamps|>"]
        specials += ["<|%.2f|>" % (i * 0.02) for i in range(1501)]
        self.special_ids = {}
        for k, s in enumerate(specials):
            self.special_ids[s] = n_base + k
            self.by_id[n_base + k] = s.encode()
        if n_base + len(specials) != n_vocab:
            raise ValueError("n_vocab does not match the vocabulary")
        self.n_vocab = n_vocab
        self.eot = self.special_ids["<|endoftext|>"]
        self.sot = self.special_ids["<|startoftranscript|>"]
        self.translate = self.special_ids["<|translate|>"]
        self.transcribe = self.special_ids["<|transcribe|>"]
        self.sot_lm = self.special_ids["<|startoflm|>"]
        self.sot_prev = self.special_ids["<|startofprev|>"]
        self.no_speech = self.special_ids["<|nospeech|>"]
        self.no_timestamps = self.special_ids["<|notimestamps|>"]
        self.timestamp_begin = self.special_ids["<|0.00|>"]
        self.regex = regex.compile(PATTERN)

    def _merge(self, piece):
        parts = [piece[i:i + 1] for i in range(len(piece))]
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get(parts[i] + parts[i + 1])
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        return [self.ranks[p] for p in parts]

    def encode(self, text):
        for s in self.special_ids:
            if s in text:
                raise EncodeError("disallowed special token " + s)
        out = []
        for m in self.regex.finditer(text):
            piece = m.group(0).encode("utf-8")
            if piece in self.ranks:
                out.append(self.ranks[piece])
            else:
                out.extend(self._merge(piece))
        return out

    def decode(self, ids):
        data = b"".join(self.by_id[i] for i in ids if i < self.timestamp_begin)
        return data.decode("utf-8", errors="replace")

    def non_speech_tokens(self):
        symbols = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
        symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
        misc = set("♩♪♫♬♭♮♯")
        result = {self.encode(" -")[0], self.encode(" '")[0]}
        for sym in symbols + list(misc):
            for toks in (self.encode(sym), self.encode(" " + sym)):
                if len(toks) == 1 or sym in misc:
                    result.add(toks[0])
        return sorted(result)
