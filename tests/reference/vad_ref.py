#!/usr/bin/python3
"""vad_ref.py — oracles for the Silero VAD tests (tests/reference/vad.cmake).

* The official model: silero-vad 6.2.0 from PyPI, its ONNX model run by onnxruntime through the
  package's own OnnxWrapper, windows fed as get_speech_timestamps feeds them.
* get_speech_timestamps itself (the package's, on Debian's torch), given any probabilities.
* A small numpy re-implementation of the same network (written from the TorchScript graph: 64
  samples of context + 512, right reflect pad 64, conv STFT, four convs, LSTM cell, 1x1 head)
  that runs the weights of whisper.cpp's ggml file, whose conv weights are the PyPI ones rounded
  to f16; `whispercpp=True` computes what whisper.cpp computes instead (no context: the 512
  samples reflect-padded by 64 on both sides; conv inputs rounded to f16 as ggml's im2col does).
* whisper.cpp's whisper_vad_segments_from_probs, transcribed to Python, for its segment list.
* A writer of the ggml VAD layout with every tensor f32 (the PyPI weights, unrounded).
"""
import struct

import numpy as np

RATE = 16000
WINDOW = 512
CONTEXT = 64
NAMES = ([f"_model.encoder.{i}.reparam_conv.{p}" for i in range(4) for p in ("weight", "bias")]
         + ["_model.decoder.rnn.weight_ih", "_model.decoder.rnn.weight_hh",
            "_model.decoder.rnn.bias_ih", "_model.decoder.rnn.bias_hh",
            "_model.decoder.decoder.2.weight", "_model.decoder.decoder.2.bias",
            "_model.stft.forward_basis_buffer"])


def read_ggml(path):
    """{name: float32 array in PyTorch shape} from a ggml VAD file."""
    b = open(path, "rb").read()
    o = 0

    def i32():
        nonlocal o
        v = struct.unpack_from("<i", b, o)[0]
        o += 4
        return v
    assert i32() == 0x67676D6C
    n = i32()
    o += n
    for _ in range(6 + 12 + 4):
        i32()
    out = {}
    while o < len(b):
        nd, nl, tt = i32(), i32(), i32()
        ne = [i32() for _ in range(nd)]
        name = b[o:o + nl].decode()
        o += nl
        cnt = int(np.prod(ne)) if ne else 1
        a = np.frombuffer(b, dtype=np.float16 if tt == 1 else np.float32, count=cnt, offset=o)
        o += a.nbytes
        out[name] = a.astype(np.float32).reshape(list(reversed(ne)) or [1])
    return out


def official_state_dict():
    import importlib.resources as res
    import torch
    path = str(res.files("silero_vad.data").joinpath("silero_vad.jit"))
    sd = torch.jit.load(path, map_location="cpu").state_dict()
    return {k: v.numpy().astype(np.float32) for k, v in sd.items() if not k.startswith("_model_8k")}


def write_ggml_f32(sd, path, version=(6, 2, 0)):
    """The ggml VAD layout (models/convert-silero-vad-to-ggml.py) with every tensor f32."""
    with open(path, "wb") as f:
        w = lambda *v: f.write(struct.pack("<" + "i" * len(v), *v))
        w(0x67676D6C, 10)
        f.write(b"silero-16k")
        w(*version, WINDOW, CONTEXT, 4, 129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3,
          128, 128, 128, 1)
        for name in NAMES:
            a = np.ascontiguousarray(sd[name], dtype=np.float32)
            shape = list(a.shape) if name.endswith("basis_buffer") else list(a.squeeze().shape)
            nb = name.encode()
            w(len(shape), len(nb), 0, *reversed(shape))
            f.write(nb)
            f.write(a.tobytes())


def _conv(x, w, b, stride, pad, f16):
    """x [C][T], w [O][C][K] -> [O][T'] (PyTorch conv1d)."""
    if f16:
        x = x.astype(np.float16).astype(np.float32)
    x = np.pad(x, ((0, 0), (pad, pad)))
    k = w.shape[2]
    n = (x.shape[1] - k) // stride + 1
    cols = np.stack([x[:, t * stride:t * stride + k].reshape(-1) for t in range(n)], axis=1)
    y = w.reshape(w.shape[0], -1).astype(np.float64) @ cols.astype(np.float64)
    if b is not None:
        y = y + b.reshape(-1, 1)
    return y.astype(np.float32)


def numpy_probs(sd, pcm, whispercpp=False):
    """Per-window probabilities of pcm (float32) with weights sd."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    h = np.zeros(128, np.float32)
    c = np.zeros(128, np.float32)
    ctx = np.zeros(CONTEXT, np.float32)
    wih, whh = sd["_model.decoder.rnn.weight_ih"], sd["_model.decoder.rnn.weight_hh"]
    bias = sd["_model.decoder.rnn.bias_ih"] + sd["_model.decoder.rnn.bias_hh"]
    hw = sd["_model.decoder.decoder.2.weight"].reshape(-1)
    hb = float(sd["_model.decoder.decoder.2.bias"].reshape(-1)[0])
    basis = sd["_model.stft.forward_basis_buffer"].reshape(258, 1, 256)
    out = []
    for s in range(0, len(pcm), WINDOW):
        win = np.zeros(WINDOW, np.float32)
        chunk = pcm[s:s + WINDOW]
        win[:len(chunk)] = chunk
        if whispercpp:
            x = np.pad(win, (64, 64), mode="reflect")
        else:
            x = np.pad(np.concatenate([ctx, win]), (0, 64), mode="reflect")
            ctx = win[-CONTEXT:]
        spec = _conv(x.reshape(1, -1), basis, None, 128, 0, whispercpp)
        cur = np.sqrt(spec[:129] ** 2 + spec[129:] ** 2)
        for i, st in enumerate((1, 2, 2, 1)):
            cur = _conv(cur, sd[f"_model.encoder.{i}.reparam_conv.weight"],
                        sd[f"_model.encoder.{i}.reparam_conv.bias"], st, 1, whispercpp)
            cur = np.maximum(cur, 0)
        xin = cur[:, 0]
        g = (wih.astype(np.float64) @ xin + whh.astype(np.float64) @ h + bias).astype(np.float32)
        i_, f_, g_, o_ = sig(g[:128]), sig(g[128:256]), np.tanh(g[256:384]), sig(g[384:])
        c = (f_ * c + i_ * g_).astype(np.float32)
        h = (o_ * np.tanh(c)).astype(np.float32)
        r = np.maximum(h, 0)
        if whispercpp:
            r = r.astype(np.float16).astype(np.float32)
        out.append(float(sig(float(np.dot(hw.astype(np.float64), r)) + hb)))
    return np.array(out, np.float64)


def onnx_probs(pcm):
    """The official model's probabilities (onnxruntime), windows as get_speech_timestamps."""
    import torch
    from silero_vad import load_silero_vad
    model = load_silero_vad(onnx=True)
    model.reset_states()
    x = torch.from_numpy(pcm.astype(np.float32))
    out = []
    for s in range(0, len(x), WINDOW):
        chunk = x[s:s + WINDOW]
        if len(chunk) < WINDOW:
            chunk = torch.nn.functional.pad(chunk, (0, WINDOW - len(chunk)))
        out.append(model(chunk, RATE).item())
    return np.array(out, np.float64)


class _Replay:
    """A stand-in model for get_speech_timestamps that returns given probabilities."""

    def __init__(self, probs):
        self.probs = list(probs)
        self.i = 0

    def reset_states(self):
        self.i = 0

    def __call__(self, chunk, sr):
        import torch
        p = self.probs[self.i]
        self.i += 1
        return torch.tensor([[p]], dtype=torch.float32)


def speech_timestamps(pcm, probs=None, **opts):
    """get_speech_timestamps (samples) on given probabilities, or the ONNX model when None."""
    import torch
    from silero_vad import get_speech_timestamps, load_silero_vad
    model = load_silero_vad(onnx=True) if probs is None else _Replay(probs)
    return [(d["start"], d["end"]) for d in
            get_speech_timestamps(torch.from_numpy(pcm.astype(np.float32)), model, **opts)]


def whispercpp_segments(probs, threshold=0.5, min_speech_ms=250, min_silence_ms=100,
                        max_speech_s=float("inf"), speech_pad_ms=30):
    """whisper.cpp's whisper_vad_segments_from_probs (src/whisper.cpp), in centiseconds."""
    f32 = lambda v: float(np.float32(v))
    n = len(probs)
    min_sil = RATE * min_silence_ms // 1000
    length = n * WINDOW
    min_speech = RATE * min_speech_ms // 1000
    pad = RATE * speech_pad_ms // 1000
    max_speech = 2 ** 30 - 1 if max_speech_s > 100000 else RATE * int(max_speech_s) - WINDOW - 2 * pad
    min_sil_max = RATE * 98 // 1000
    neg = max(f32(f32(threshold) - f32(0.15)), f32(0.01))
    thr = f32(threshold)
    sp = []
    trig = False
    temp_end = prev_end = next_start = cur_start = 0
    has = False
    for i, p in enumerate(probs):
        p = f32(p)
        cur = WINDOW * i
        if p >= thr and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = cur
        if p >= thr and not trig:
            trig, cur_start, has = True, cur, True
            continue
        if trig and cur - cur_start > max_speech:
            if prev_end:
                sp.append([cur_start, prev_end])
                has = True
                if next_start < prev_end:
                    trig = has = False
                else:
                    cur_start = next_start
                prev_end = next_start = temp_end = 0
            else:
                sp.append([cur_start, cur])
                prev_end = next_start = temp_end = 0
                trig = has = False
                continue
        if p < neg and trig:
            if not temp_end:
                temp_end = cur
            if cur - temp_end > min_sil_max:
                prev_end = temp_end
            if cur - temp_end < min_sil:
                continue
            if temp_end - cur_start > min_speech:
                sp.append([cur_start, temp_end])
            prev_end = next_start = temp_end = 0
            trig = has = False
            continue
    if has and length - cur_start > min_speech:
        sp.append([cur_start, length])
    i = 0
    while len(sp) > 1 and i < len(sp) - 1:
        if sp[i + 1][0] - sp[i][1] < RATE * 200 // 1000:
            sp[i][1] = sp[i + 1][1]
            del sp[i + 1]
        else:
            i += 1
    sp = [s for s in sp if s[1] - s[0] >= min_speech]
    cs = lambda v: int((v / RATE) * 100.0 + 0.5)
    for i, s in enumerate(sp):
        if i == 0:
            s[0] = s[0] - pad if s[0] > pad else 0
        if i < len(sp) - 1:
            sil = sp[i + 1][0] - s[1]
            if sil < 2 * pad:
                s[1] += sil // 2
                sp[i + 1][0] = sp[i + 1][0] - sil // 2 if sp[i + 1][0] > sil // 2 else 0
            else:
                s[1] = min(s[1] + pad, length)
                sp[i + 1][0] = sp[i + 1][0] - pad if sp[i + 1][0] > pad else 0
        else:
            s[1] = min(s[1] + pad, length)
    return [(cs(a), cs(b)) for a, b in sp]
