#!/usr/bin/python3
"""python_package.py — the Python package end to end: a fresh venv, `pip install .`, then the
package against the `auris` CLI and against openai-whisper (the drop-in claim).

Steps
  1. A new venv (Debian's python3 with --system-site-packages, so Debian's numpy is the one in
     use) gets the pinned build backend of tests/requirements/python.txt (--no-deps), then
     `pip install --no-build-isolation --no-deps SOURCE` builds the extension (CMake, Release,
     CMAKE_BUILD_PARALLEL_LEVEL=2). The module is then imported from another directory and must
     come from the venv, its extension linking nothing of the build tree. load_model() of an
     unknown name and of an official name whose download cannot connect (127.0.0.1:9) raise
     AurisError with the CLI's message.
  2. A seeded random checkpoint (gen_ts_model.py micro-ts, timestamp-friendly) and jfk.wav:
     python_dropin.py --module auris --checks transcribes greedy / beam 5, with / without word
     timestamps (temperature 0.0, language en), and each result dict must EQUAL the CLI's JSON
     for the same options (`auris transcribe --output_format json`); its other checks (NumPy
     input, two threads, errors, verbose, detect_language) are compared with the CLI where the
     CLI says the same thing (stdout lines, error messages, detect-language --json).
  3. The same script with --module whisper (openai-whisper in the test venv of
     scripts/setup-venv.sh, on Debian's torch) on the same .pt: the same text, and segment by
     segment the same id, seek, tokens, text, temperature; start/end within 1e-6 (0.02 s with
     word timestamps, as words_parity.py), avg_logprob / compression_ratio / no_speech_prob
     within 1e-3, words' text exactly and their times within 0.02 s, probabilities within 1e-3;
     load_audio and log_mel_spectrogram within 1e-6 / 1e-4.
Exit 0 pass, 1 fail, 77 skipped (PyPI unreachable, python3-venv, torch or shared data missing,
or openai-whisper absent for step 3 — the message says which).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
FAILURES = []
CLI_CASES = {
    "greedy": ["--beam_size", "None"],
    "beam5": ["--beam_size", "5"],
    "greedy-words": ["--beam_size", "None", "--word_timestamps", "True"],
    "beam5-words": ["--beam_size", "5", "--word_timestamps", "True"],
}
CLI_COMMON = ["--language", "en", "--temperature", "0", "--temperature_increment_on_fallback",
              "None"]


def skip(msg):
    print(f"SKIP: {msg}", flush=True)
    sys.exit(77)


def check(ok, label, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        FAILURES.append(label)
    return ok


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def make_venv(work, requirements, source):
    venv = os.path.join(work, "venv")
    shutil.rmtree(venv, ignore_errors=True)
    p = run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv])
    if p.returncode != 0:
        skip(f"cannot create a venv (python3-venv missing?): {p.stderr.strip()[-300:]}")
    py = os.path.join(venv, "bin", "python")
    pip = [py, "-m", "pip", "--disable-pip-version-check", "install", "--no-deps"]
    p = run(pip + ["-q", "-r", requirements])
    if p.returncode != 0:
        skip(f"cannot install {os.path.basename(requirements)} from PyPI (unreachable?): "
             f"{p.stderr.strip()[-300:]}")
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL="2")
    t = time.time()
    p = run(pip + ["--no-build-isolation", source], env=env)
    dt = time.time() - t
    if not check(p.returncode == 0, "pip install . builds the package", f"{dt:.1f} s"):
        print(p.stdout[-3000:], p.stderr[-3000:])
        sys.exit(1)
    return py


def check_isolated(py, work):
    """Imported from elsewhere, auris comes from the venv and needs no build tree."""
    code = ("import auris, auris._auris as m, sys; print(auris.__file__); print(m.__file__); "
            "print(auris.__version__)")
    p = run([py, "-c", code], cwd=work)
    if not check(p.returncode == 0, "import auris in the venv", p.stderr.strip()[-300:]):
        return
    init, ext, version = p.stdout.split()
    venv = os.path.dirname(os.path.dirname(py))
    check(init.startswith(venv) and ext.startswith(venv), "auris is installed in the venv",
          os.path.dirname(init))
    ldd = run(["ldd", ext]).stdout
    check("not found" not in ldd and "libauris" not in ldd,
          "the extension links libauris statically and finds every shared library",
          f"{len(ldd.splitlines())} shared libraries")
    with open(os.path.join(HERE, "..", "..", "include", "auris.h"), encoding="utf-8") as f:
        h = f.read()
    want = ".".join(h.split(f"#define AURIS_VERSION_{k} ")[1].split()[0]
                    for k in ("MAJOR", "MINOR", "PATCH"))
    check(version == want, "package version is auris.h's", version)


def check_hub_errors(py, exe, audio, work):
    """load_model(official name) goes through the CLI's hub: an unknown name and a download
    that cannot connect (a closed loopback port; home and caches moved into WORK so no real
    cache is found) raise AurisError with the CLI's message and leave no file behind."""
    home = os.path.join(work, "home")
    root = os.path.join(work, "download-root")
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    env = dict(os.environ, HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
               AURIS_CACHE=os.path.join(home, "cache"), AURIS_MODEL_BASE_URL="http://127.0.0.1:9")
    code = ("import auris, sys\n"
            "try:\n    auris.load_model(sys.argv[1], download_root=sys.argv[2])\n"
            "except auris.AurisError as e:\n    print(e.code, e)\n")
    for name in ("no-such-model", "tiny"):
        p = run([py, "-c", code, name, root], env=env, cwd=work)
        out = p.stdout.strip()
        cli = run([exe, "transcribe", audio, "--model", name, "--model_dir", root,
                   "--output_dir", os.path.join(work, "cli-hub")], env=env).stderr
        msg = out.split(" ", 1)[1] if " " in out else ""
        same = re.sub(r"\d+ ms", "N ms", msg) in re.sub(r"\d+ ms", "N ms", cli)  # libcurl's time
        check(bool(msg) and same and not os.listdir(root),
              f"load_model({name!r}) raises AurisError with the CLI's message",
              f"{out!r}; CLI: {cli.strip()[:160]!r}; download root {os.listdir(root)}")


def cli_json(exe, audio, model, out_dir, opts, data):
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [exe, "transcribe", audio, "--model", model, "--assets", data, "--output_format",
           "json", "--output_dir", out_dir, "--verbose", "False"] + CLI_COMMON + opts
    p = run(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr[-400:]}")
    with open(os.path.join(out_dir, "jfk.json"), encoding="utf-8") as f:
        return json.load(f)


def first_diff(a, b, path="result"):
    """Where two JSON values differ, for the failure message."""
    if type(a) is not type(b):
        return f"{path}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path} keys {list(a)} vs {list(b)}"
        for k in a:
            d = first_diff(a[k], b[k], f"{path}[{k!r}]")
            if d:
                return d
    elif isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, f"{path}[{i}]")
            if d:
                return d
    elif a != b:
        return f"{path}: {a!r} vs {b!r}"
    return None


def compare_reference(name, got, ref):
    """auris vs openai-whisper on one case (tolerances in the module docstring)."""
    words = "words" in name
    tol_time = 0.02 + 1e-9 if words else 1e-6
    problems = []
    if got["text"] != ref["text"]:
        problems.append(f"text {got['text'][:60]!r} vs {ref['text'][:60]!r}")
    if got["language"] != ref["language"]:
        problems.append(f"language {got['language']} vs {ref['language']}")
    gs, rs = got["segments"], ref["segments"]
    if len(gs) != len(rs):
        problems.append(f"{len(gs)} segments vs {len(rs)}")
    md = {"time": 0.0, "scalar": 0.0, "word_time": 0.0, "prob": 0.0}
    for g, r in zip(gs, rs):
        if list(g) != list(r):
            problems.append(f"segment {r['id']} keys {list(g)} vs {list(r)}")
        for k in ("id", "seek", "tokens", "text", "temperature"):
            if g[k] != r[k]:
                problems.append(f"segment {r['id']} {k}: {g[k]!r} vs {r[k]!r}")
        md["time"] = max(md["time"], abs(g["start"] - r["start"]), abs(g["end"] - r["end"]))
        for k in ("avg_logprob", "compression_ratio", "no_speech_prob"):
            md["scalar"] = max(md["scalar"], abs(g[k] - r[k]))
        gw, rw = g.get("words", []), r.get("words", [])
        if [w["word"] for w in gw] != [w["word"] for w in rw]:
            problems.append(f"segment {r['id']} words {[w['word'] for w in gw][:5]} vs "
                            f"{[w['word'] for w in rw][:5]}")
        for x, y in zip(gw, rw):
            md["word_time"] = max(md["word_time"], abs(x["start"] - y["start"]),
                                  abs(x["end"] - y["end"]))
            md["prob"] = max(md["prob"], abs(x["probability"] - y["probability"]))
    for k, tol in (("time", tol_time), ("scalar", 1e-3), ("word_time", 0.02 + 1e-9),
                   ("prob", 1e-3)):
        if md[k] > tol:
            problems.append(f"max |diff| {k} {md[k]:.3g} > {tol:.3g}")
    n_words = sum(len(s.get("words", [])) for s in rs)
    check(not problems, f"auris == openai-whisper ({name})",
          f"{len(rs)} segments, {n_words} words; max|diff| start/end {md['time']:.2g}, "
          f"scalars {md['scalar']:.2g}, word times {md['word_time']:.2g}, "
          f"probabilities {md['prob']:.2g}" + ("\n    " + "\n    ".join(problems[:6])
                                               if problems else ""))


def main():
    ap = argparse.ArgumentParser(description="the auris Python package end to end")
    ap.add_argument("--source", required=True, help="repository root (pyproject.toml)")
    ap.add_argument("--auris", required=True, help="the auris CLI")
    ap.add_argument("--data", default=None, help="shared data folder")
    ap.add_argument("--work", required=True)
    ap.add_argument("--requirements", required=True)
    ap.add_argument("--whisper-python", default=None, help="python with openai-whisper")
    a = ap.parse_args()
    try:
        import numpy as np
        import torch  # noqa: F401  (gen_ts_model)
    except ImportError as e:
        skip(f"{e}: run with Debian's /usr/bin/python3 (python3-torch, python3-numpy)")
    import gen_model
    import gen_ts_model
    data = a.data or gen_model.shared_data_dir()
    audio = os.path.join(data, "jfk.wav")
    vocab = os.path.join(data, "multilingual.tiktoken")
    if not (os.path.exists(audio) and os.path.exists(vocab)):
        skip(f"shared data missing: {audio} / {vocab}")
    os.makedirs(a.work, exist_ok=True)
    t0 = time.time()

    py = make_venv(a.work, a.requirements, a.source)
    check_isolated(py, a.work)
    check_hub_errors(py, a.auris, audio, a.work)

    models = os.path.join(a.work, "models")
    model = gen_ts_model.generate("micro-ts", 1, models, ("pt",), "f16", data)["pt"]
    link = os.path.join(models, "multilingual.tiktoken")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(vocab), link)
    corrupt_audio = os.path.join(a.work, "corrupt.wav")
    with open(corrupt_audio, "wb") as f:
        f.write(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(range(64)))
    corrupt_model = os.path.join(a.work, "corrupt.pt")
    with open(model, "rb") as f, open(corrupt_model, "wb") as g:
        g.write(f.read(4096))

    # the CLI's answers
    cli = {name: cli_json(a.auris, audio, model, os.path.join(a.work, "cli-" + name), opts,
                          data) for name, opts in CLI_CASES.items()}
    verbose_cli = run([a.auris, "transcribe", audio, "--model", model, "--output_format", "json",
                       "--output_dir", os.path.join(a.work, "cli-verbose"), "--verbose", "True"]
                      + CLI_COMMON + CLI_CASES["greedy"]).stdout
    cli_int8 = cli_json(a.auris, audio, model, os.path.join(a.work, "cli-int8"),
                        CLI_CASES["greedy"] + ["--compute_type", "int8"], data)
    err_audio = run([a.auris, "transcribe", corrupt_audio, "--model", model, "--output_dir",
                     os.path.join(a.work, "cli-corrupt")] + CLI_COMMON).stderr
    err_model = run([a.auris, "info", "--model", corrupt_model]).stderr
    detect = json.loads(run([a.auris, "detect-language", audio, "--model", model,
                             "--json"]).stdout)

    # the package, run from the work directory (not the source tree)
    stem = os.path.join(a.work, "res-auris")
    p = subprocess.run([py, os.path.join(HERE, "python_dropin.py"), "--module", "auris",
                        "--model", model, "--audio", audio, "--out", stem, "--checks",
                        "--corrupt-audio", corrupt_audio, "--corrupt-model", corrupt_model],
                       cwd=a.work)
    check(p.returncode == 0, "python_dropin.py --module auris --checks")
    if not os.path.exists(stem + ".json"):
        return 1
    with open(stem + ".json", encoding="utf-8") as f:
        mine = json.load(f)
    for name in CLI_CASES:
        d = first_diff(mine["results"][name], cli[name])
        n = len(cli[name]["segments"])
        check(d is None, f"transcribe() dict == CLI JSON ({name})",
              d or f"{n} segments, {sum(len(s.get('words', [])) for s in cli[name]['segments'])}"
                   f" words")
    c = mine["checks"]
    d = first_diff(c.get("int8"), cli_int8)
    check(d is None, "compute_type='int8' == CLI --compute_type int8 (greedy)",
          d or f"{len(cli_int8['segments'])} segments")
    lines = [ln for ln in verbose_cli.splitlines() if ln.startswith("[")]
    check(c.get("verbose_stdout", "").splitlines() == lines,
          "verbose=True prints the CLI's segment lines", f"{len(lines)} lines")
    for label, stderr in (("corrupt audio", err_audio), ("corrupt model", err_model)):
        msg = c.get(label, "")
        check(bool(msg) and msg in stderr, f"{label}: the exception carries the CLI's message",
              f"{msg!r} in {stderr.strip()!r}")
    lang, probs = c.get("detect", [None, {}])
    dmax = max(abs(probs[k] - v) for k, v in detect["language_probs"].items())
    check(lang == detect["language"] and dmax < 1e-6, "detect_language == CLI detect-language",
          f"{lang}, max|diff| {dmax:.2g}")

    # the same script on openai-whisper
    wpy = a.whisper_python
    ok = wpy and os.path.exists(wpy) and run([wpy, "-c", "import whisper"]).returncode == 0
    if not ok:
        print(f"SKIP side-by-side: openai-whisper not importable from {wpy!r} "
              "(bash scripts/setup-venv.sh installs tests/requirements/whisper.txt)")
    else:
        wstem = os.path.join(a.work, "res-whisper")
        p = subprocess.run([wpy, os.path.join(HERE, "python_dropin.py"), "--module", "whisper",
                            "--model", model, "--audio", audio, "--out", wstem], cwd=a.work)
        if check(p.returncode == 0, "python_dropin.py --module whisper"):
            with open(wstem + ".json", encoding="utf-8") as f:
                ref = json.load(f)
            for name in CLI_CASES:
                compare_reference(name, mine["results"][name], ref["results"][name])
            for what, tol in (("audio", 1e-6), ("mel", 1e-4)):
                x, y = np.load(f"{stem}-{what}.npy"), np.load(f"{wstem}-{what}.npy")
                d = float(np.abs(x - y).max()) if x.shape == y.shape else float("inf")
                check(d <= tol, f"{what} == openai-whisper's", f"shape {x.shape} vs {y.shape}, "
                      f"max|diff| {d:.2g}")
            t_a = sum(mine["times"].values())
            t_w = sum(ref["times"].values())
            print(f"time of the four transcriptions: auris {t_a:.1f} s, openai-whisper "
                  f"{t_w:.1f} s (noisy, not a benchmark)")
    print(f"total {time.time() - t0:.0f} s")
    if FAILURES:
        print(f"{len(FAILURES)} failed: {', '.join(FAILURES)}")
        return 1
    if not ok:
        skip("all auris checks passed; the openai-whisper side-by-side did not run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
