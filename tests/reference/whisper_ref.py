#!/usr/bin/python3
"""whisper_ref.py — an independent PyTorch reference of Whisper for auris's parity tests.

Written from the published architecture; facts (constants, filter order, decoding rules) follow
openai/whisper audio.py (log_mel_spectrogram), model.py (AudioEncoder, TextDecoder,
ResidualAttentionBlock, sinusoids) and decoding.py (DecodingTask with temperature 0 and one beam:
SuppressBlank, SuppressTokens("-1"), GreedyDecoder, no_speech_prob, avg_logprob,
compression_ratio), and tokenizer.py through tests/reference/ref_tokenizer.py.

Invariants: everything is computed in float32 on the CPU from the checkpoint's (possibly f16)
values converted exactly to float32; the network is a plain functional implementation (no
nn.Module), so it shares no code with either openai/whisper or auris.

CLI (debugging): whisper_ref.py --model M.pt --audio FILE [--language en] prints the greedy result.
"""
import argparse
import os
import subprocess
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_model import shared_data_dir  # noqa: E402
import ref_tokenizer  # noqa: E402

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_SAMPLES = 30 * SAMPLE_RATE  # 480000: one window, also the padding appended before the STFT
N_FRAMES = N_SAMPLES // HOP   # 3000 mel frames per window


# ---- audio -------------------------------------------------------------------------------------

def load_audio_ffmpeg(path):
    """16 kHz mono float32 through the ffmpeg CLI, as the reference's load_audio."""
    cmd = ["ffmpeg", "-nostdin", "-threads", "0", "-i", path, "-f", "s16le", "-ac", "1",
           "-acodec", "pcm_s16le", "-ar", str(SAMPLE_RATE), "-"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768.0


def load_mel_filters(n_mels, data_dir=None):
    with np.load(os.path.join(data_dir or shared_data_dir(), "mel_filters.npz")) as f:
        return torch.from_numpy(np.asarray(f[f"mel_{n_mels}"], dtype=np.float32))


def log_mel(pcm, filters, padding=N_SAMPLES):
    """[n_mels][n_frames] log-Mel spectrogram of pcm followed by `padding` zeros."""
    x = torch.as_tensor(np.asarray(pcm, dtype=np.float32))
    if padding > 0:
        x = torch.cat([x, torch.zeros(padding, dtype=torch.float32)])
    win = torch.hann_window(N_FFT, periodic=True, dtype=torch.float32)
    spec = torch.stft(x, N_FFT, HOP, window=win, center=True, pad_mode="reflect",
                      return_complex=True)
    power = spec[:, :-1].abs() ** 2           # the last frame is dropped
    mel = filters @ power
    logm = torch.clamp(mel, min=1e-10).log10()
    logm = torch.maximum(logm, logm.max() - 8.0)
    return (logm + 4.0) / 4.0


def mel_window(mel, seek=0):
    """Frames [seek, seek+3000) zero-padded to 3000."""
    w = mel[:, seek:seek + N_FRAMES]
    if w.shape[1] < N_FRAMES:
        w = F.pad(w, (0, N_FRAMES - w.shape[1]))
    return w.contiguous()


# ---- network -----------------------------------------------------------------------------------

def _mkldnn_ok():
    try:
        a = torch.ones(2, 3)
        torch._C._nn.mkldnn_linear(a.to_mkldnn(), a.to_mkldnn(), None).to_dense()
        return True
    except Exception:  # torch built without oneDNN: plain (slower) matmul
        return False


_MKLDNN = _mkldnn_ok()


def _as_mk(b):
    return b.contiguous().to_mkldnn() if _MKLDNN else None


def mm_t(a, b, bias=None, b_mk=None):
    """a [m][k] times b [n][k] transposed (+ bias [n]). Large products go through oneDNN when
    available (Debian's torch links the netlib reference BLAS, ~50x slower for fp32 GEMM); small
    ones stay on the plain path, where oneDNN's per-shape set-up cost would dominate. b_mk is b
    already converted to oneDNN's layout, if the caller keeps one."""
    if _MKLDNN and a.shape[0] * b.shape[0] * b.shape[1] >= (1 << 21):
        if b_mk is None:
            b_mk = b.contiguous().to_mkldnn()
        bm = None if bias is None else bias.contiguous().to_mkldnn()
        return torch._C._nn.mkldnn_linear(a.contiguous().to_mkldnn(), b_mk, bm).to_dense()
    return F.linear(a, b, bias)


class Model:
    """Functional Whisper over a state dict of float32 tensors."""

    def __init__(self, path=None, dims=None, state_dict=None):
        if path is not None:
            ck = torch.load(path, map_location="cpu")
            dims, state_dict = ck["dims"], ck["model_state_dict"]
        self.dims = dict(dims)
        self.w = {k: v.to(torch.float32) for k, v in state_dict.items()}
        self.multilingual = self.dims["n_vocab"] >= 51865
        self.mk = {k: _as_mk(v) for k, v in self.w.items() if v.dim() == 2}

    def _ln(self, x, p):
        return F.layer_norm(x, (x.shape[-1],), self.w[p + ".weight"], self.w[p + ".bias"], 1e-5)

    def _lin(self, x, p, bias=True):
        return mm_t(x, self.w[p + ".weight"], self.w[p + ".bias"] if bias else None,
                    self.mk[p + ".weight"])

    def _attend(self, q, k, v, n_head, causal_offset=None):
        """q [nq][S], k/v [nk][S]; causal_offset = position of q[0] when causally masked."""
        nq, S = q.shape
        nk = k.shape[0]
        dh = S // n_head
        s = dh ** -0.25
        out = []
        for h in range(n_head):
            qh = q[:, h * dh:(h + 1) * dh] * s               # [nq][dh]
            kh = k[:, h * dh:(h + 1) * dh] * s               # [nk][dh]
            vh = v[:, h * dh:(h + 1) * dh]                   # [nk][dh]
            a = mm_t(qh, kh)                                 # [nq][nk]
            if causal_offset is not None:
                qpos = torch.arange(nq)[:, None] + causal_offset
                kpos = torch.arange(nk)[None, :]
                a = a.masked_fill(kpos > qpos, float("-inf"))
            a = torch.softmax(a, dim=-1)
            out.append(mm_t(a, vh.t()))                      # [nq][dh]
        return torch.cat(out, dim=1)

    def _mlp(self, x, p):
        h = self._ln(x, p + ".mlp_ln")
        return self._lin(F.gelu(self._lin(h, p + ".mlp.0")), p + ".mlp.2")

    @torch.no_grad()
    def encode(self, window):
        """window [n_mels][3000] -> audio features [n_audio_ctx][n_audio_state]."""
        x = torch.as_tensor(window, dtype=torch.float32)[None]
        x = F.gelu(F.conv1d(x, self.w["encoder.conv1.weight"], self.w["encoder.conv1.bias"],
                            padding=1))
        x = F.gelu(F.conv1d(x, self.w["encoder.conv2.weight"], self.w["encoder.conv2.bias"],
                            stride=2, padding=1))
        x = x[0].transpose(0, 1) + self.w["encoder.positional_embedding"]
        H = self.dims["n_audio_head"]
        for i in range(self.dims["n_audio_layer"]):
            p = f"encoder.blocks.{i}"
            h = self._ln(x, p + ".attn_ln")
            a = self._attend(self._lin(h, p + ".attn.query"), self._lin(h, p + ".attn.key", False),
                             self._lin(h, p + ".attn.value"), H)
            x = x + self._lin(a, p + ".attn.out")
            x = x + self._mlp(x, p)
        return self._ln(x, "encoder.ln_post").contiguous()

    def new_cache(self, audio):
        """Per-layer cross K/V (computed once) and empty self K/V."""
        cache = {"n": 0, "self": [], "cross": []}
        for i in range(self.dims["n_text_layer"]):
            p = f"decoder.blocks.{i}.cross_attn"
            cache["cross"].append((self._lin(audio, p + ".key", False),
                                   self._lin(audio, p + ".value")))
            cache["self"].append(None)
        return cache

    @torch.no_grad()
    def decode(self, tokens, cache):
        """Logits [len(tokens)][n_vocab] for new tokens at positions cache['n'] ..."""
        off = cache["n"]
        ids = torch.as_tensor(tokens, dtype=torch.long)
        emb = self.w["decoder.token_embedding.weight"]
        x = emb[ids] + self.w["decoder.positional_embedding"][off:off + len(tokens)]
        H = self.dims["n_text_head"]
        for i in range(self.dims["n_text_layer"]):
            p = f"decoder.blocks.{i}"
            h = self._ln(x, p + ".attn_ln")
            k = self._lin(h, p + ".attn.key", False)
            v = self._lin(h, p + ".attn.value")
            if cache["self"][i] is not None:
                k = torch.cat([cache["self"][i][0], k])
                v = torch.cat([cache["self"][i][1], v])
            cache["self"][i] = (k, v)
            a = self._attend(self._lin(h, p + ".attn.query"), k, v, H, causal_offset=off)
            x = x + self._lin(a, p + ".attn.out")
            h = self._ln(x, p + ".cross_attn_ln")
            ck, cv = cache["cross"][i]
            a = self._attend(self._lin(h, p + ".cross_attn.query"), ck, cv, H)
            x = x + self._lin(a, p + ".cross_attn.out")
            x = x + self._mlp(x, p)
        cache["n"] = off + len(tokens)
        x = self._ln(x, "decoder.ln")
        return mm_t(x, emb, None, self.mk["decoder.token_embedding.weight"])


# ---- decoding ----------------------------------------------------------------------------------

def load_tokenizer(n_vocab, data_dir=None):
    name = "multilingual.tiktoken" if n_vocab >= 51865 else "gpt2.tiktoken"
    ranks = ref_tokenizer.load_tiktoken(os.path.join(data_dir or shared_data_dir(), name))
    return ref_tokenizer.RefTokenizer(ranks, n_vocab)


def compression_ratio(text):
    b = text.encode("utf-8")
    return len(b) / len(zlib.compress(b))


class Decoder:
    """Greedy decoding of one window, as DecodingTask at temperature 0 with one beam."""

    def __init__(self, model, data_dir=None):
        self.model = model
        self.tok = load_tokenizer(model.dims["n_vocab"], data_dir)
        t = self.tok
        sup = set(t.non_speech_tokens())
        sup |= {t.transcribe, t.translate, t.sot, t.sot_prev, t.sot_lm, t.no_speech}
        self.suppress = sorted(sup)
        self.blank = t.encode(" ") + [t.eot]
        self.lang_tokens = [t.sot + 1 + i for i in range(t.num_languages)]

    def detect_language(self, audio):
        """(token, code, probs over languages) from the logits at <|startoftranscript|>."""
        logits = self.model.decode([self.tok.sot], self.model.new_cache(audio))[0]
        lt = torch.tensor(self.lang_tokens)
        sub = logits[lt]
        best = int(torch.argmax(sub))
        return self.lang_tokens[best], ref_tokenizer.LANGUAGE_CODES[best], torch.softmax(sub, -1)

    def start_sequence(self, audio, language="en", task="transcribe"):
        t = self.tok
        if not t.multilingual:
            return [t.sot, t.no_timestamps], None
        if language is None:
            lang_tok, code, _ = self.detect_language(audio)
        else:
            lang_tok, code = t.special_ids[f"<|{language}|>"], language
        task_tok = t.transcribe if task == "transcribe" else t.translate
        return [t.sot, lang_tok, task_tok, t.no_timestamps], code

    @torch.no_grad()
    def greedy(self, audio, language="en", task="transcribe", sample_len=None):
        t = self.tok
        sample_len = sample_len or self.model.dims["n_text_ctx"] // 2
        init, code = self.start_sequence(audio, language, task)
        sot_index = init.index(t.sot)
        cache = self.model.new_cache(audio)
        seq = list(init)
        new = list(init)
        sum_logprob = 0.0
        no_speech = float("nan")
        for i in range(sample_len):
            logits = self.model.decode(new, cache)
            if i == 0:
                no_speech = float(torch.softmax(logits[sot_index], -1)[t.no_speech])
            lg = logits[-1].clone()
            if len(seq) == len(init):
                lg[self.blank] = float("-inf")
            lg[self.suppress] = float("-inf")
            nxt = int(torch.argmax(lg))
            sum_logprob += float(F.log_softmax(lg, -1)[nxt])
            seq.append(nxt)
            new = [nxt]
            if nxt == t.eot or len(seq) > self.model.dims["n_text_ctx"]:
                break
        out = seq[len(init):]
        if t.eot in out:
            out = out[:out.index(t.eot)]
        text = t.decode(out).strip()
        return {
            "start": init, "language": code, "tokens": out, "text": text,
            "sum_logprob": sum_logprob, "avg_logprob": sum_logprob / (len(out) + 1),
            "no_speech_prob": no_speech, "compression_ratio": compression_ratio(text),
        }

    @torch.no_grad()
    def teacher_forced(self, audio, tokens):
        """Logits [len(tokens)][n_vocab] of the whole sequence in one pass."""
        return self.model.decode(list(tokens), self.model.new_cache(audio))


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch reference greedy decode of one window")
    ap.add_argument("--model", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--language", default=None)
    ap.add_argument("--data", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    m = Model(a.model)
    pcm = load_audio_ffmpeg(a.audio)
    mel = log_mel(pcm, load_mel_filters(m.dims["n_mels"], a.data))
    audio = m.encode(mel_window(mel))
    r = Decoder(m, a.data).greedy(audio, a.language if m.multilingual else None)
    for k in ("start", "language", "tokens", "text", "avg_logprob", "no_speech_prob",
              "compression_ratio"):
        print(f"{k}: {r[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
