#!/usr/bin/env python3
"""test_openai.py — `auris serve` driven by the official OpenAI Python client (`openai`, pinned in
tests/requirements/server.txt, run from build/venv): transcription and translation in every
response_format, word + segment granularities and stream=True, each result equal to
`auris transcribe` on the same file with the same options (text, segment times, tokens; srt and
vtt byte for byte).

Reference (facts only): the openai client's audio.transcriptions / audio.translations API.
Invariants: loopback only; skips (77) when the venv or the openai package is missing.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverlib as sl  # noqa: E402

try:
    import openai
except ImportError:
    sl.skip("the openai package is not installed (scripts/setup-venv.sh, build/venv)")

FAILS = []
KEY = "sk-auris-test"
# Options shared by both sides: greedy, no temperature fallback (keeps the random model fast).
EXTRA = {"beam_size": "1", "temperature_increment_on_fallback": "None"}
CLI_EXTRA = ["--beam_size", "1", "--temperature_increment_on_fallback", "None"]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def cli_text_file(a, model, data, audio, fmt, opts):
    out = os.path.join(a.work, f"cli-{fmt}-{os.getpid()}")
    os.makedirs(out, exist_ok=True)
    import subprocess
    subprocess.run([a.auris, "transcribe", audio, "--model", model, "--assets", data,
                    "--output_format", fmt, "--output_dir", out, "--verbose", "False",
                    "--threads", "1", *opts], check=True, capture_output=True)
    stem = os.path.splitext(os.path.basename(audio))[0]
    with open(os.path.join(out, f"{stem}.{fmt}"), encoding="utf-8") as f:
        return f.read()


def run_task(a, client, model, data, audio, task, lang_opts, lang_extra):
    api = client.audio.transcriptions if task == "transcribe" else client.audio.translations
    cli_opts = CLI_EXTRA + lang_opts + (["--task", "translate"] if task == "translate" else [])
    ref = sl.cli_json(a.auris, model, data, audio, a.work, cli_opts)
    extra = dict(EXTRA, **lang_extra)

    def call(**kw):
        with open(audio, "rb") as f:
            return api.create(model="whisper-1", file=f, extra_body=extra, **kw)

    r = call(response_format="json")
    check(r.text == ref["text"], f"{task} json: text equals the CLI's ({r.text[:50]!r})")
    r = call(response_format="text")
    check(isinstance(r, str) and r.rstrip("\n") == ref["text"], f"{task} text equals the CLI's")
    for fmt in ("srt", "vtt"):
        r = call(response_format=fmt)
        want = cli_text_file(a, model, data, audio, fmt, cli_opts)
        check(r == want, f"{task} {fmt} equals the CLI's {fmt} file byte for byte")
    r = call(response_format="verbose_json")
    segs = [s.model_dump() for s in (r.segments or [])]
    check(r.text == ref["text"] and sl.same_segments(segs, ref["segments"]),
          f"{task} verbose_json: text and {len(segs)} segments (times, tokens) equal the CLI's")
    check(r.task == task if hasattr(r, "task") else True, f"{task} verbose_json: task field")
    check(isinstance(r.duration, float) and abs(r.duration - 3.0) < 0.01,
          f"{task} verbose_json: duration {r.duration}")
    for k in ("temperature", "avg_logprob", "compression_ratio", "no_speech_prob"):
        ok = all(abs(s[k] - c[k]) <= 1e-9 * max(1, abs(c[k])) for s, c in zip(segs, ref["segments"]))
        check(ok, f"{task} verbose_json: segment {k} equal the CLI's")
    # word + segment granularities: word timing on, as the CLI's --word_timestamps True
    ref_w = sl.cli_json(a.auris, model, data, audio, a.work, cli_opts + ["--word_timestamps", "True"])
    gran = ["word", "segment"]
    if task == "transcribe":
        r = call(response_format="verbose_json", timestamp_granularities=gran)
    else:  # the client's translations.create has no such argument: send it as a form field
        extra = dict(extra, **{"timestamp_granularities": gran})
        r = call(response_format="verbose_json")
    segs = [s.model_dump() for s in (r.segments or [])]
    words = [(w["word"], w["start"], w["end"]) if isinstance(w, dict) else (w.word, w.start, w.end)
             for w in (getattr(r, "words", None) or [])]
    ref_words = [(w["word"].lstrip(), w["start"], w["end"])
                 for s in ref_w["segments"] for w in s.get("words", [])]
    check(sl.same_segments(segs, ref_w["segments"]),
          f"{task} word+segment granularities: segments equal the CLI's with word timestamps")
    check(len(words) > 0 and words == ref_words,
          f"{task} word granularity: {len(words)} words (text, start, end) equal the CLI's")
    # stream=True: one delta per segment, then the whole text
    with open(audio, "rb") as f:
        events = list(api.create(model="whisper-1", file=f, extra_body=dict(extra, stream="true"),
                                 stream=True)) if task == "transcribe" else None
    if events is not None:
        deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
        done = [e.text for e in events if e.type == "transcript.text.done"]
        check(len(deltas) >= len(ref["segments"]) and "".join(deltas) == ref["text"],
              f"stream: {len(deltas)} transcript.text.delta events add up to the CLI's text")
        check(done == [ref["text"]] and events[-1].type == "transcript.text.done",
              "stream: transcript.text.done last, with the whole text")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = sl.shared_data(a.data)
    model = sl.ensure_model(a.work, data)
    audio = sl.make_clip(a.work, data, "clip3.wav", 2, 3)
    srv = sl.Server(a.auris, model, data, "--workers", "2", "--api_key", KEY)
    try:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key=KEY, max_retries=0, timeout=300)
        ids = [m.id for m in client.models.list()]
        check(ids == ["whisper-1"], f"models.list: {ids}")
        run_task(a, client, model, data, audio, "transcribe", ["--language", "en"],
                 {"language": "en"})
        run_task(a, client, model, data, audio, "translate", [], {})
        bad = openai.OpenAI(base_url=srv.url + "/v1", api_key="wrong", max_retries=0)
        try:
            with open(audio, "rb") as f:
                bad.audio.transcriptions.create(model="whisper-1", file=f)
            check(False, "wrong key refused")
        except openai.AuthenticationError as e:
            check(e.status_code == 401, "wrong key: the client raises AuthenticationError (401)")
        try:
            with open(audio, "rb") as f:
                client.audio.transcriptions.create(model="gpt-9", file=f)
            check(False, "unknown model refused")
        except openai.NotFoundError as e:
            check(e.code == "model_not_found", f"unknown model: NotFoundError code {e.code}")
        try:
            client.audio.transcriptions.create(model="whisper-1", file=("x.wav", b"junk" * 9))
            check(False, "junk audio refused")
        except openai.BadRequestError as e:
            check(e.param == "file", f"junk audio: BadRequestError param {e.param}")
    finally:
        rc = srv.stop(60)
        check(rc == 0, f"server exit code {rc}")
        if FAILS:
            print("\n".join(srv.log[-20:]))
    if FAILS:
        print(f"{len(FAILS)} failed: " + "; ".join(FAILS))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
