"""auris.audio — audio input and the log-Mel spectrogram, as openai/whisper's ``whisper.audio``.

Decoding (FFmpeg's libraries, downmixed and resampled as ``ffmpeg -ac 1 -ar 16000``) and the
spectrogram run in libauris with the GIL released. Arrays are NumPy float32; where the reference
returns a ``torch.Tensor``, these functions return a ``numpy.ndarray`` of the same shape.
"""
from __future__ import annotations

import os
from typing import Union

import numpy as np

from . import _auris

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
CHUNK_LENGTH = 30
N_SAMPLES = CHUNK_LENGTH * SAMPLE_RATE  # 480000 samples in a 30-second chunk
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 frames in a mel spectrogram input
N_SAMPLES_PER_TOKEN = HOP_LENGTH * 2  # the encoder's convolutions have stride 2
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 10 ms per audio frame
TOKENS_PER_SECOND = SAMPLE_RATE // N_SAMPLES_PER_TOKEN  # 20 ms per audio token

AudioLike = Union[str, "os.PathLike[str]", np.ndarray]


def load_audio(file: Union[str, "os.PathLike[str]"], sr: int = SAMPLE_RATE) -> np.ndarray:
    """Decode an audio (or video) file to 16 kHz mono float32 samples in [-1, 1).

    Any format FFmpeg's libraries read; ``"-"`` reads standard input.

    Raises:
        AurisError: the file is missing, unreadable, empty or not audio (the message says which).
        ValueError: ``sr`` is not 16000 (the only rate Whisper models take).
    """
    if sr != SAMPLE_RATE:
        raise ValueError(f"auris decodes to {SAMPLE_RATE} Hz only, got sr={sr}")
    buf = _auris.load_audio(os.fspath(file))
    return np.frombuffer(buf, dtype=np.float32)


def as_pcm(audio: AudioLike) -> np.ndarray:
    """A path is decoded with :func:`load_audio`; an array (NumPy, or anything convertible such
    as a CPU ``torch.Tensor``) becomes a contiguous 1-D float32 array of 16 kHz samples."""
    if isinstance(audio, (str, os.PathLike)):
        return load_audio(audio)
    pcm = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    if pcm.ndim != 1:
        raise ValueError(f"audio must be a 1-D array of 16 kHz samples, got shape {pcm.shape}")
    return pcm


def pad_or_trim(array: np.ndarray, length: int = N_SAMPLES, *, axis: int = -1) -> np.ndarray:
    """Pad with zeros or trim ``array`` along ``axis`` to ``length`` (the encoder's 30 s)."""
    array = np.asarray(array)
    n = array.shape[axis]
    if n > length:
        array = array.take(indices=range(length), axis=axis)
    if n < length:
        widths = [(0, 0)] * array.ndim
        widths[axis] = (0, length - n)
        array = np.pad(array, widths)
    return array


def log_mel_spectrogram(audio: AudioLike, n_mels: int = 80, padding: int = 0,
                        device: object = None) -> np.ndarray:
    """The log-Mel spectrogram of ``audio`` followed by ``padding`` zero samples.

    Computed as the reference computes it (periodic Hann 400, hop 160, Slaney mel filters,
    log10, dynamic range 8, (x + 4) / 4); see ``auris_log_mel_spectrogram`` in auris.h.

    Args:
        audio: a path, or 16 kHz float32 samples.
        n_mels: 80, or 128 for large-v3 and turbo.
        padding: zero samples appended before the transform.
        device: accepted for compatibility; only ``None`` or ``"cpu"``.

    Returns:
        float32 array of shape ``(n_mels, (len(audio) + padding) // 160)``.
    """
    if device is not None and str(device) != "cpu":
        raise ValueError(f"auris runs on the CPU only, got device={device!r}")
    pcm = as_pcm(audio)
    buf, n_frames = _auris.log_mel_spectrogram(pcm, int(n_mels), int(padding), 0)
    return np.frombuffer(buf, dtype=np.float32).reshape(int(n_mels), n_frames)
