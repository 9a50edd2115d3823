"""auris.model — load_model() and Whisper.transcribe() with openai/whisper's signatures.

Reference: openai/whisper ``__init__.py`` (load_model, available_models), ``transcribe.py``
(transcribe()'s keyword arguments, defaults, verbose printing and progress bar) and
``decoding.py`` (DecodingOptions, accepted through ``**decode_options``). The work itself is
libauris's ``auris_transcribe_pcm``, run with the GIL released; this module only maps the
reference's Python values onto its parameters (None -> NaN, tuples -> arrays, names -> codes).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _auris
from .audio import AudioLike, as_pcm

LANGUAGES: Dict[str, str] = dict(_auris.languages())
"""Language code -> English name, in the reference's order (``whisper.tokenizer.LANGUAGES``)."""
TO_LANGUAGE_CODE: Dict[str, str] = {name: code for code, name in LANGUAGES.items()}
"""English name -> code (``whisper.tokenizer.TO_LANGUAGE_CODE`` without its aliases)."""

DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
PREPEND_PUNCTUATIONS = "\"'\u201c\u00bf([{-"
APPEND_PUNCTUATIONS = "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001"

# DecodingOptions fields (plus auris's seed) that transcribe() accepts as **decode_options.
_DECODE_OPTIONS = {"task", "language", "sample_len", "best_of", "beam_size", "patience",
                   "length_penalty", "prompt", "prefix", "suppress_tokens", "suppress_blank",
                   "without_timestamps", "max_initial_timestamp", "fp16", "seed"}


@dataclass(frozen=True)
class ModelDimensions:
    """The checkpoint's dimensions, as ``whisper.model.ModelDimensions``."""
    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int


def _none_nan(x: Optional[float]) -> float:
    return math.nan if x is None else float(x)


def _language_code(language: str) -> str:
    lang = language.lower()
    if lang in LANGUAGES:
        return lang
    for name, code in TO_LANGUAGE_CODE.items():
        if name.lower() == lang:
            return code
    raise ValueError(f"Unsupported language: {language}")


def format_timestamp(seconds: float, always_include_hours: bool = False,
                     decimal_marker: str = ".") -> str:
    """``[hh:]mm:ss.mmm`` as the reference's ``whisper.utils.format_timestamp``."""
    ms = round(max(seconds, 0.0) * 1000.0)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1_000)
    hh = f"{hours:02d}:" if always_include_hours or hours > 0 else ""
    return f"{hh}{minutes:02d}:{secs:02d}{decimal_marker}{ms:03d}"


def _make_safe(text: str) -> str:
    enc = sys.stdout.encoding or "utf-8"
    return text.encode(enc, errors="replace").decode(enc)


def _suppress_spec(tokens: Union[None, str, Iterable[int]]) -> str:
    if tokens is None:
        return ""
    if isinstance(tokens, str):
        return tokens
    return ",".join(str(int(t)) for t in tokens)


def _clip_list(clip_timestamps: Union[str, Sequence[float]]) -> List[float]:
    if isinstance(clip_timestamps, str):
        return [float(t) for t in (clip_timestamps.split(",") if clip_timestamps else [])]
    return [float(t) for t in clip_timestamps]


class _Progress:
    """A tqdm bar over content frames (verbose=False), when tqdm is installed."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            try:
                import tqdm
            except ImportError:
                self.bar = False
                return
            self.bar = tqdm.tqdm(total=total, unit="frames")
        if self.bar is not False:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar:
            self.bar.close()


class Whisper:
    """A loaded checkpoint. Immutable and shareable: any number of Python threads may call
    :meth:`transcribe` and :meth:`detect_language` on one model at the same time (each call
    uses its own libauris session; the GIL is released while it works).

    Attributes:
        dims: the model's :class:`ModelDimensions`.
        is_multilingual: True for the multilingual vocabulary.
        num_languages: language tokens the model knows (99, 100, or 0 for ``.en`` models).
        device: always ``"cpu"``.
        path: the checkpoint that was loaded.
        compute_type: the compute type it was loaded with (``"default"`` unless given).
    """

    def __init__(self, path: str, *, assets_dir: Optional[str] = None,
                 official_name: Optional[str] = None, threads: int = 0,
                 compute_type: str = "default") -> None:
        """Load ``path`` (OpenAI .pt, whisper.cpp ggml .bin, auris native file, Hugging Face
        directory). ``official_name`` selects that model's alignment heads; ``threads`` is the
        number of worker threads of each call (0: every online CPU); ``compute_type`` is
        faster-whisper's (``"default"``, ``"float32"``, ``"float16"``, ``"int8"``,
        ``"int8_float32"``, ``"int8_float16"``; ``"bfloat16"`` is refused). Raises AurisError,
        or ValueError for an unknown compute type."""
        self._model = _auris.Model(os.fspath(path), assets_dir, official_name, int(threads),
                                   str(compute_type))
        self.compute_type = str(compute_type)
        self.dims = ModelDimensions(**self._model.dims())
        self.num_languages: int = self._model.n_languages()
        self.is_multilingual: bool = self.dims.n_vocab >= 51865
        self.device = "cpu"
        self.path = os.fspath(path)
        self.name = official_name

    def __repr__(self) -> str:
        return f"<auris.Whisper {self.name or self.path!r} n_text_layer={self.dims.n_text_layer}>"

    def detect_language(self, audio: AudioLike) -> Tuple[str, Dict[str, float]]:
        """The language spoken in the first 30 s of ``audio`` (a path or 16 kHz float32
        samples) and the probability of every language the model knows, code -> probability,
        as the second value of the reference's ``model.detect_language(mel)``.

        Raises AurisError for English-only models."""
        pcm = as_pcm(audio)
        index, probs = self._model.detect_language(pcm)
        codes = list(LANGUAGES)
        return codes[index], {codes[i]: p for i, p in enumerate(probs)}

    def transcribe(
        self,
        audio: AudioLike,
        *,
        verbose: Optional[bool] = None,
        temperature: Union[float, Tuple[float, ...]] = DEFAULT_TEMPERATURES,
        compression_ratio_threshold: Optional[float] = 2.4,
        logprob_threshold: Optional[float] = -1.0,
        no_speech_threshold: Optional[float] = 0.6,
        condition_on_previous_text: bool = True,
        initial_prompt: Optional[str] = None,
        carry_initial_prompt: bool = False,
        word_timestamps: bool = False,
        prepend_punctuations: str = PREPEND_PUNCTUATIONS,
        append_punctuations: str = APPEND_PUNCTUATIONS,
        clip_timestamps: Union[str, List[float]] = "0",
        hallucination_silence_threshold: Optional[float] = None,
        **decode_options: Any,
    ) -> Dict[str, Any]:
        """Transcribe ``audio`` as openai/whisper's ``transcribe()`` does, with its keyword
        arguments and defaults.

        Args:
            audio: a path (any format FFmpeg reads) or 16 kHz mono float32 samples.
            verbose: True prints each segment (and the detected language); False shows a tqdm
                progress bar (when tqdm is installed); None prints nothing.
            temperature: one temperature, or the fallback schedule tried in order.
            compression_ratio_threshold, logprob_threshold, no_speech_threshold: the fallback
                and silence rules (None disables each).
            condition_on_previous_text, initial_prompt, carry_initial_prompt: prompting.
            word_timestamps, prepend_punctuations, append_punctuations: word-level timings.
            clip_timestamps: "start,end,..." seconds, or a list of them.
            hallucination_silence_threshold: with word_timestamps, skip silences this long
                around suspected hallucinations.
            **decode_options: DecodingOptions fields: task ("transcribe" or "translate"),
                language (code or name; None detects it), beam_size (None: greedy), best_of,
                sample_len (most tokens per window; None: n_text_ctx // 2), patience, length_penalty, prefix (text), suppress_tokens, suppress_blank,
                without_timestamps, max_initial_timestamp, fp16 (ignored: auris computes in
                fp32), prompt (ignored, as transcribe() overrides it), and auris's seed for
                sampling at temperature > 0.

        Returns:
            ``{"text": str, "segments": [{"id", "seek", "start", "end", "text", "tokens",
            "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"[, "words"]}],
            "language": str}`` — the reference's dict (``words`` entries are ``{"word",
            "start", "end", "probability"}``).

        Raises:
            AurisError: unreadable audio or a value libauris rejects, with its message.
            TypeError: an unknown keyword argument. ValueError: an invalid value.
        """
        unknown = set(decode_options) - _DECODE_OPTIONS
        if unknown:
            raise TypeError(f"transcribe() got an unexpected keyword argument "
                            f"'{sorted(unknown)[0]}'")
        opts = dict(decode_options)
        sample_len = opts.get("sample_len")
        if sample_len is not None and int(sample_len) < 1:
            raise ValueError(f"sample_len must be >= 1 (or None), got {sample_len!r}")
        task = opts.get("task", "transcribe")
        if task not in ("transcribe", "translate"):
            raise ValueError(f"task must be 'transcribe' or 'translate', got {task!r}")
        language = opts.get("language")
        code = None
        if language is not None:
            code = _language_code(language)
            if not self.is_multilingual and code != "en":
                code = "en"  # as the reference's English-only tokenizer
        prefix = opts.get("prefix")
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError("prefix must be text (token lists are not supported)")
        temps = (float(temperature),) if isinstance(temperature, (int, float)) \
            else tuple(float(t) for t in temperature)
        beam_size = opts.get("beam_size")
        best_of = opts.get("best_of")

        pcm = as_pcm(audio)
        progress = _Progress() if verbose is False else None

        def on_segment(seg: Dict[str, Any]) -> None:
            line = (f"[{format_timestamp(seg['start'])} --> {format_timestamp(seg['end'])}] "
                    f"{seg['text']}")
            print(_make_safe(line), flush=True)

        def on_language(lang: str, probs: List[float]) -> None:
            print(f"Detected language: {LANGUAGES[lang].title()}", flush=True)

        if code is None and self.is_multilingual and verbose:
            print("Detecting language using up to the first 30 seconds. "
                  "Use `--language` to specify the language")
        try:
            result: Dict[str, Any] = self._model.transcribe(
                pcm,
                language=code,
                task=1 if task == "translate" else 0,
                temperatures=temps,
                beam_size=0 if beam_size is None else int(beam_size),
                best_of=1 if best_of is None else int(best_of),
                sample_len=0 if sample_len is None else int(sample_len),
                patience=_none_nan(opts.get("patience")),
                length_penalty=_none_nan(opts.get("length_penalty")),
                seed=int(opts.get("seed", 0)),
                without_timestamps=bool(opts.get("without_timestamps", False)),
                max_initial_timestamp=_none_nan(opts.get("max_initial_timestamp", 1.0)),
                suppress_tokens=_suppress_spec(opts.get("suppress_tokens", "-1")),
                suppress_blank=bool(opts.get("suppress_blank", True)),
                initial_prompt=initial_prompt,
                carry_initial_prompt=bool(carry_initial_prompt),
                prefix=prefix,
                condition_on_previous_text=bool(condition_on_previous_text),
                compression_ratio_threshold=_none_nan(compression_ratio_threshold),
                logprob_threshold=_none_nan(logprob_threshold),
                no_speech_threshold=_none_nan(no_speech_threshold),
                clip_timestamps=_clip_list(clip_timestamps),
                word_timestamps=bool(word_timestamps),
                prepend_punctuations=prepend_punctuations,
                append_punctuations=append_punctuations,
                hallucination_silence_threshold=_none_nan(hallucination_silence_threshold),
                on_segment=on_segment if verbose else None,
                on_progress=progress,
                on_language=on_language if verbose is not None else None,
            )
        finally:
            if progress is not None:
                progress.close()
        if language is not None and self.is_multilingual:
            result["language"] = language  # the reference returns the language as given
        return result


def available_models() -> List[str]:
    """The official model names ``load_model`` downloads (``whisper.available_models()``)."""
    return list(_auris.official_models())


def _download_bar() -> Optional[Callable[[str, str, int, int], None]]:
    try:
        import tqdm
    except ImportError:
        return None
    bars: Dict[Tuple[str, str], Any] = {}
    seen: Dict[Tuple[str, str], int] = {}

    def progress(phase: str, file: str, done: int, total: int) -> None:
        key = (phase, file)
        if key not in bars:
            bars[key] = tqdm.tqdm(total=total or None, unit="iB", unit_scale=True,
                                  unit_divisor=1024, desc=f"{phase} {file}")
            seen[key] = 0
        bars[key].update(done - seen[key])
        seen[key] = done
        if total and done >= total:
            bars[key].close()

    return progress


def load_model(name: str, device: Any = None, download_root: Optional[str] = None,
               in_memory: bool = False, *, threads: int = 0,
               assets_dir: Optional[str] = None, compute_type: str = "default") -> Whisper:
    """Load a Whisper model: an official name (``available_models()``; downloaded and verified
    into ``download_root`` when missing, as the ``auris`` program does) or a checkpoint path.

    Args:
        name: official name such as ``"base.en"`` or ``"large-v3"``, or a path to an OpenAI .pt,
            whisper.cpp ggml .bin, auris native file or Hugging Face directory.
        device: accepted for compatibility; only ``None`` or ``"cpu"``.
        download_root: where official models are kept (default: $AURIS_CACHE,
            $XDG_CACHE_HOME/auris or ~/.cache/auris; the reference's ~/.cache/whisper files are
            reused when they verify).
        in_memory: accepted for compatibility (checkpoints are memory-mapped where possible).
        threads: worker threads per transcription (0: every online CPU).
        assets_dir: where ``multilingual.tiktoken`` / ``gpt2.tiktoken`` are for .pt files
            (default: $AURIS_ASSETS, the model's directory, the cache).
        compute_type: how the weights are held, faster-whisper's names (``"int8"``: int8 rows
            with per-row scales, as CTranslate2; ``"default"``: as stored). See auris.h.

    Raises:
        AurisError: unknown name, failed download, malformed checkpoint (with the message).
    """
    del in_memory
    if device is not None and str(device) != "cpu":
        raise ValueError(f"auris runs on the CPU only, got device={device!r}")
    root = os.fspath(download_root) if download_root is not None else None
    path, official = _auris.resolve_model(os.fspath(name), root, _download_bar(), True)
    return Whisper(path, assets_dir=assets_dir, official_name=official, threads=threads,
                   compute_type=compute_type)


def transcribe(model: Whisper, audio: AudioLike, **kwargs: Any) -> Dict[str, Any]:
    """``whisper.transcribe(model, audio, ...)``: the same as ``model.transcribe(audio, ...)``."""
    return model.transcribe(audio, **kwargs)
