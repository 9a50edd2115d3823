#!/usr/bin/python3
"""test_cli.py — the auris command as a user meets it: flag errors, bad inputs, several files.

Checks that every wrong flag value or unusable input gives a clear one-line error and a non-zero
exit status, that no partial output file is left behind, that a multi-file run where one file is
corrupt still writes the other outputs and exits non-zero, and that stdin and JSON output work.
Uses a seeded random micro model from gen_model.py (its transcripts are gibberish by design).

Usage: test_cli.py --auris PATH --data SHARED_DATA --work DIR
Exit 0 on success, 1 on failure, 77 when torch or the shared data folder is missing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def run(args, stdin=None, cwd=None):
    p = subprocess.run(args, stdin=stdin, capture_output=True, cwd=cwd, timeout=600)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def one_line_error(err):
    lines = [l for l in err.splitlines() if l.strip()]
    return len(lines) >= 1 and all(not l.startswith("==") for l in lines) and \
        "runtime error" not in err and "Sanitizer" not in err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        print("SKIP: python3-torch is not installed")
        return 77
    jfk = os.path.join(a.data, "jfk.wav")
    if not os.path.exists(jfk) or not os.path.exists(os.path.join(a.data, "mel_filters.npz")):
        print(f"SKIP: shared data folder {a.data} is absent")
        return 77
    os.makedirs(a.work, exist_ok=True)
    model = os.path.join(a.work, "micro-s7.bin")
    if not os.path.exists(model):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_model.py"), "--size", "micro",
                        "--seed", "7", "--out", a.work, "--formats", "pt,bin",
                        "--data", a.data], check=True)
    pt = os.path.join(a.work, "micro-s7.pt")
    out = os.path.join(a.work, "cli-out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    A = a.auris
    base = [A, "transcribe", "--model", model, "--output_dir", out, "--language", "en"]

    # flag errors: exit 2, one line, nothing written
    for extra, what in [
        (["--temperature", "abc"], "non-numeric temperature"),
        (["--temperature", "0.4"], "temperature > 0 (not implemented)"),
        (["--beam_size", "5"], "beam search (not implemented)"),
        (["--beam_size", "x"], "non-integer beam size"),
        (["--output_format", "srt"], "srt output (not implemented)"),
        (["--output_format", "docx"], "unknown output format"),
        (["--language", "klingon"], "unknown language"),
        (["--task", "summarize"], "unknown task"),
        (["--without_timestamps", "maybe"], "malformed boolean"),
        (["--without_timestamps", "False"], "timestamps (not implemented)"),
        (["--word_timestamps", "True"], "word timestamps (not implemented)"),
        (["--suppress_tokens", "1,x"], "malformed suppress list"),
        (["--no-such-flag"], "unknown flag"),
        (["--threads"], "missing value"),
    ]:
        rc, so, se = run(base + extra + [jfk])
        check(rc == 2 and one_line_error(se), f"{what}: exit 2 with an error line ({rc}: {se.strip()[:80]})")
    check(os.listdir(out) == [], "flag errors wrote nothing")

    rc, so, se = run([A, "transcribe", jfk])
    check(rc == 2 and "--model" in se, "missing --model is reported")
    rc, so, se = run([A])
    check(rc == 2 and "usage" in se, "no command prints usage and exits 2")
    rc, so, se = run([A, "frobnicate"])
    check(rc == 2 and one_line_error(se), "unknown command")
    rc, so, se = run([A, "transcribe", "--help"])
    check(rc == 0 and "--output_format" in so, "transcribe --help")

    # bad inputs
    empty = os.path.join(a.work, "empty.wav")
    open(empty, "wb").close()
    text = os.path.join(a.work, "notes.wav")
    with open(text, "w") as f:
        f.write("this is not audio\n" * 50)
    trunc = os.path.join(a.work, "trunc.wav")
    with open(jfk, "rb") as f:
        head = f.read(30)
    with open(trunc, "wb") as f:
        f.write(head)
    for path, what in [(empty, "zero-byte audio"), (text, "text file as audio"),
                       (trunc, "truncated wav header"), (os.path.join(a.work, "missing.wav"),
                                                          "missing audio file")]:
        rc, so, se = run(base + [path])
        stem = os.path.splitext(os.path.basename(path))[0]
        check(rc == 1 and one_line_error(se) and os.path.basename(path) in se,
              f"{what}: exit 1 naming the file ({se.strip()[:90]})")
        check(not os.path.exists(os.path.join(out, stem + ".txt")), f"{what}: no output file")

    badmodel = os.path.join(a.work, "bad-model.bin")
    with open(model, "rb") as f:
        blob = f.read(1000)
    with open(badmodel, "wb") as f:
        f.write(blob)
    rc, so, se = run([A, "transcribe", "--model", badmodel, "--output_dir", out, jfk])
    check(rc == 1 and one_line_error(se), f"truncated model: exit 1 ({se.strip()[:90]})")
    rc, so, se = run([A, "transcribe", "--model", os.path.join(a.work, "nope.pt"), jfk])
    check(rc == 1 and one_line_error(se), "missing model file: exit 1")

    # several files, one corrupt: the others are written, exit status 1
    good2 = os.path.join(a.work, "second.wav")
    shutil.copy(jfk, good2)
    rc, so, se = run(base + ["--output_format", "json", "--verbose", "False", jfk, text, good2])
    check(rc == 1, f"multi-file run with a corrupt file exits 1 (got {rc})")
    check(os.path.exists(os.path.join(out, "jfk.json")) and
          os.path.exists(os.path.join(out, "second.json")) and
          not os.path.exists(os.path.join(out, "notes.json")),
          "multi-file run wrote the good outputs only")
    leftovers = [n for n in os.listdir(out) if n.startswith(".")]
    check(leftovers == [], f"no temporary files left ({leftovers})")
    if os.path.exists(os.path.join(out, "jfk.json")):
        with open(os.path.join(out, "jfk.json")) as f:
            j = json.load(f)
        seg_keys = ["id", "seek", "start", "end", "text", "tokens", "temperature",
                    "avg_logprob", "compression_ratio", "no_speech_prob"]
        check(set(j) == {"text", "segments", "language"} and j["language"] == "en",
              "json top-level keys")
        check(len(j["segments"]) >= 1 and all(list(s) == seg_keys for s in j["segments"]),
              "json segment keys in the reference's order")
        check(abs(j["segments"][0]["end"] - 11.0) < 1e-9 and j["segments"][0]["start"] == 0,
              "json segment spans the 11 s clip")

    # stdin and .pt input give the same transcript as the file and .bin
    with open(jfk, "rb") as f:
        rc, so, se = run([A, "transcribe", "--model", pt, "--assets", a.data, "--output_dir", out, "--language", "en",
                          "--verbose", "False", "-"], stdin=f)
    check(rc == 0 and os.path.exists(os.path.join(out, "stdin.txt")), f"stdin input ({se.strip()[:90]})")
    if rc == 0:
        with open(os.path.join(out, "stdin.txt")) as f1:
            t_stdin = f1.read()
        rc2, _, _ = run(base + ["--verbose", "False", jfk])
        with open(os.path.join(out, "jfk.txt")) as f2:
            t_file = f2.read()
        check(rc2 == 0 and t_stdin == t_file, ".pt via stdin equals .bin via file")

    rc, so, se = run([A, "info", "--model", model])
    check(rc == 0 and json.loads(so)["n_text_state"] == 64, "info prints dims")
    rc, so, se = run([A, "detect-language", jfk, "--model", model])
    check(rc == 0 and "(" in so, f"detect-language ({so.strip()})")

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
