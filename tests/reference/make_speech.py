#!/usr/bin/python3
"""make_speech.py — synthetic speech clips for the end-to-end transcription tests, made with the
espeak-ng speech synthesizer and sox at test time (never committed).

Clips (16 kHz mono 16-bit WAV):
  short    ~10 s of English, three sentences with pauses;
  german   ~8 s of German (for language detection and translation);
  long     ~3 minutes of English: numbered sentences separated by pauses of varying length,
           including two 4-second gaps, so the seek loop crosses window boundaries mid-sentence
           and meets silence;
  silence  5 s of digital zeros.

Invariants: the text, voices, rates and gap lengths are fixed and sox does not dither (-D), so
with a given espeak-ng/sox the files are byte-identical on every run; files are rebuilt only when
missing or older than this script; every file is written to a temporary name and renamed, so a
half-written clip is never used.

CLI: make_speech.py OUTDIR [--clips short,long,...] (prints name=path lines). Exit 77 when
espeak-ng or sox is missing.
"""
import argparse
import os
import shutil
import subprocess
import sys
import wave

RATE = 16000

SHORT = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese.",
]

GERMAN = [
    "Guten Morgen, wie geht es Ihnen heute?",
    "Das Wetter in Berlin ist kalt, aber die Sonne scheint.",
]

TOPICS = [
    "the river that runs through the old town", "a train leaving the station at dawn",
    "the library on the corner of the square", "seven boats sailing into the harbour",
    "the music playing in the empty hall", "a letter that arrived two weeks late",
    "the garden behind the yellow house", "an engineer who repairs clocks",
    "the market on a busy Saturday morning", "a mountain covered in fresh snow",
]
VERBS = ["remembers", "describes", "imagines", "discovers", "explains"]


def long_sentences():
    """About 3 minutes of numbered, varied sentences (deterministic)."""
    out = []
    for i in range(20):
        topic = TOPICS[i % len(TOPICS)]
        verb = VERBS[(i * 3) % len(VERBS)]
        out.append(f"Sentence number {i + 1}: the speaker {verb} {topic}, "
                   f"and then counts to {3 + i % 5} before moving on.")
    return out


def _gap(i):
    """Pause after sentence i, in seconds: mostly short, two long gaps of silence."""
    if i in (7, 15):
        return 4.0
    return (0.3, 0.8, 1.5, 0.5)[i % 4]


def _tts(text, voice, path):
    tmp = path + ".raw.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", tmp, text], check=True,
                   capture_output=True)
    # -D: sox dithers by default when it resamples to 16 bits, with a random seed per run, so the
    # clips (and the near-ties a random-weight model meets on them) changed from run to run
    subprocess.run(["sox", "-D", tmp, "-r", str(RATE), "-c", "1", "-b", "16", "-e",
                    "signed-integer", path], check=True, capture_output=True)
    os.remove(tmp)


def _read(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise RuntimeError(f"{path}: unexpected format")
        return w.readframes(w.getnframes())


def _write(path, pcm_bytes):
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm_bytes)
    os.replace(tmp, path)


def _speech(path, sentences, voice, gaps):
    parts = []
    work = path + ".parts"
    os.makedirs(work, exist_ok=True)
    try:
        for i, s in enumerate(sentences):
            p = os.path.join(work, f"{i}.wav")
            _tts(s, voice, p)
            parts.append(_read(p))
            parts.append(b"\0\0" * int(round(gaps(i) * RATE)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _write(path, b"".join(parts))


def _fresh(path):
    return os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(__file__)


def make_speech(out_dir, names=("short", "german", "long", "silence")):
    """Writes the requested clips into out_dir (when stale); returns {name: path}."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name in names:
        path = os.path.join(out_dir, f"speech-{name}.wav")
        paths[name] = path
        if _fresh(path):
            continue
        if name == "silence":
            _write(path, b"\0\0" * (5 * RATE))
        elif name == "short":
            _speech(path, SHORT, "en-us", lambda i: 0.6)
        elif name == "german":
            _speech(path, GERMAN, "de", lambda i: 0.5)
        elif name == "long":
            _speech(path, long_sentences(), "en-us", _gap)
        else:
            raise ValueError(f"unknown clip {name!r}")
    return paths


def tools_missing():
    return [t for t in ("espeak-ng", "sox") if not shutil.which(t)]


def main(argv=None):
    ap = argparse.ArgumentParser(description="write espeak-ng speech test clips")
    ap.add_argument("outdir")
    ap.add_argument("--clips", default="short,german,long,silence")
    a = ap.parse_args(argv)
    missing = tools_missing()
    if missing:
        print(f"SKIP: {', '.join(missing)} not installed")
        return 77
    for name, p in make_speech(a.outdir, [c for c in a.clips.split(",") if c]).items():
        with wave.open(p, "rb") as w:
            print(f"{name}={p} ({w.getnframes() / RATE:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
