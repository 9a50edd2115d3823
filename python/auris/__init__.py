"""auris — OpenAI Whisper speech recognition in C, with openai/whisper's Python API.

Switch from the reference with one changed import::

    import auris as whisper          # instead of: import whisper
    model = whisper.load_model("base")
    result = model.transcribe("talk.mp3")
    print(result["text"])

Everything runs in libauris (no PyTorch): load_model, Whisper.transcribe (the reference's
keyword arguments, defaults and result dict), Whisper.detect_language, load_audio,
log_mel_spectrogram (NumPy arrays), pad_or_trim. The GIL is released while libauris works, so
Python threads transcribe at the same time; errors raise :class:`AurisError` with libauris's
one-line message.
"""
from __future__ import annotations

import logging

from . import _auris
from ._auris import AurisError
from .audio import (CHUNK_LENGTH, FRAMES_PER_SECOND, HOP_LENGTH, N_FFT, N_FRAMES, N_SAMPLES,
                    N_SAMPLES_PER_TOKEN, SAMPLE_RATE, TOKENS_PER_SECOND, load_audio,
                    log_mel_spectrogram, pad_or_trim)
from .model import (LANGUAGES, TO_LANGUAGE_CODE, ModelDimensions, Whisper, available_models,
                    format_timestamp, load_model, transcribe)

__version__: str = _auris.version()
"""The version of libauris inside this package (the AURIS_VERSION_* macros of auris.h)."""

__all__ = [
    "AurisError", "Whisper", "ModelDimensions", "LANGUAGES", "TO_LANGUAGE_CODE",
    "available_models", "load_model", "transcribe", "load_audio", "log_mel_spectrogram",
    "pad_or_trim", "format_timestamp", "kernels_isa", "__version__", "SAMPLE_RATE", "N_FFT",
    "HOP_LENGTH", "CHUNK_LENGTH", "N_SAMPLES", "N_FRAMES", "N_SAMPLES_PER_TOKEN",
    "FRAMES_PER_SECOND", "TOKENS_PER_SECOND",
]


def kernels_isa() -> str:
    """The matrix-product kernels libauris uses on this CPU: ``"avx512"``, ``"avx2"`` or
    ``"generic"``."""
    return _auris.kernels_isa()


_logger = logging.getLogger("auris")
_LEVELS = (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)


def _log(level: int, message: str) -> None:
    _logger.log(_LEVELS[level] if 0 <= level < len(_LEVELS) else logging.DEBUG, "%s", message)


# libauris's diagnostics (never printed by the library itself) go to logging.getLogger("auris").
_auris.set_log_callback(_log)
