#!/usr/bin/python3
"""test_hostile.py — auris_model_load against damaged and malicious checkpoints.

Takes the micro .pt and ggml .bin from gen_model.py and feeds load_model (tests/reference/
load_model.c) truncated copies (many cut points), seeded bit-flipped copies, .pt files whose
data.pkl names a forbidden global (rewritten inside the zip, and a genuine os.system payload
pickled by torch.save), a compressed .pt, and assorted junk.

Asserted for every run: the process exits 0 or 1 (never a signal or a sanitizer abort), stderr
holds no AddressSanitizer / UndefinedBehaviorSanitizer report, and a failure prints exactly one
line "load_model: <message>". Truncated, forbidden-global and junk inputs must fail; bit flips
may load (most flip weight bytes) but must never crash.

Usage: test_hostile.py --tool PATH/load_model --data SHARED_DATA --work DIR [--quick]
Exit 77 (skipped) when torch or the shared vocabularies are unavailable.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehavior")


class Runner:
    def __init__(self, tool, data):
        self.tool, self.data = tool, data
        self.failures = []
        self.runs = 0

    def load(self, path):
        """Runs load_model; returns (exit code, stdout, stderr) after the universal checks."""
        self.runs += 1
        p = subprocess.run([self.tool, path, self.data], capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode not in (0, 1):
            self.fail(path, f"exit status {p.returncode} (signal or abort)", err)
        elif any(m in err for m in SANITIZER_MARKS):
            self.fail(path, "sanitizer report", err)
        elif p.returncode == 1:
            lines = err.splitlines()
            if len(lines) != 1 or not lines[0].startswith("load_model: ") or len(lines[0]) < 20:
                self.fail(path, "error output is not one 'load_model: <message>' line", err)
        elif not out.startswith("n_mels="):
            self.fail(path, "success without the dims line", out)
        return p.returncode, out, err

    def expect_error(self, path, needle=None):
        rc, _, err = self.load(path)
        if rc == 0:
            self.fail(path, "loaded although it must be rejected", "")
        elif rc == 1 and needle and needle not in err:
            self.fail(path, f"error does not mention {needle!r}", err)

    def fail(self, path, what, detail):
        self.failures.append(f"{os.path.basename(path)}: {what}\n    {detail.strip()[:600]}")


def cut_points(size, structure, rng, n_random, head, window):
    """Every byte of the first `head`, a window around each structural offset, random ones."""
    pts = set(range(0, min(size, head)))
    for s in structure:
        pts.update(p for p in range(s - window, s + window + 1) if 0 <= p < size)
    pts.update(rng.randrange(size) for _ in range(n_random))
    pts.update(size - k for k in range(1, 16) if size - k > 0)
    return sorted(pts)


def zip_structure(path):
    """Offsets of some local headers and data starts, and of the central directory."""
    offs = []
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        for info in infos[:3] + infos[-3:]:
            offs.append(info.header_offset)
            offs.append(info.header_offset + 30 + len(info.filename.encode()))
        offs.append(z.start_dir)
    size = os.path.getsize(path)
    offs.append(size - 22)
    return offs


def ggml_structure(path):
    """Offsets of the filters, the vocabulary and a few tensor records of a ggml file."""
    import struct
    with open(path, "rb") as f:
        d = f.read()
    pos = 4 + 44
    n_mel, n_fft = struct.unpack_from("<ii", d, pos)
    offs = [pos, pos + 8]
    pos += 8 + 4 * n_mel * n_fft
    offs.append(pos)
    (count,) = struct.unpack_from("<i", d, pos)
    pos += 4
    for _ in range(count):
        (n,) = struct.unpack_from("<i", d, pos)
        pos += 4 + n
    offs.append(pos)
    for _ in range(6):  # the first tensors' headers, names and data
        n_dims, name_len, ttype = struct.unpack_from("<iii", d, pos)
        ne = struct.unpack_from(f"<{n_dims}i", d, pos + 12)
        head = pos + 12 + 4 * n_dims
        numel = 1
        for x in ne:
            numel *= x
        offs += [pos, pos + 12, head, head + name_len]
        pos = head + name_len + numel * (4 if ttype == 0 else 2)
    offs.append(pos)
    return offs


def truncations(run, src, structure, work, rng, n_random, head, window):
    with open(src, "rb") as f:
        data = f.read()
    dst = os.path.join(work, "cut-" + os.path.basename(src))
    for cut in cut_points(len(data), structure, rng, n_random, head, window):
        with open(dst, "wb") as f:
            f.write(data[:cut])
        run.expect_error(dst)


def bitflips(run, src, structure, work, rng, n):
    with open(src, "rb") as f:
        data = f.read()
    dst = os.path.join(work, "flip-" + os.path.basename(src))
    loaded = 0
    for i in range(n):
        buf = bytearray(data)
        if i % 3 == 0:  # aim at structure: headers, vocabulary, directory
            pos = min(len(buf) - 1, max(0, rng.choice(structure) + rng.randrange(-64, 64)))
        elif i % 3 == 1:
            pos = rng.randrange(min(len(buf), 4096))
        else:
            pos = rng.randrange(len(buf))
        for _ in range(1 + (i % 4 == 0) * 7):  # sometimes a burst of 8 flips
            buf[min(len(buf) - 1, pos)] ^= 1 << rng.randrange(8)
            pos += rng.randrange(1, 5)
        with open(dst, "wb") as f:
            f.write(buf)
        rc, _, _ = run.load(dst)
        loaded += rc == 0
    return loaded


def rewrite_zip(src, dst, edit_pkl=None, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compress) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if edit_pkl and info.filename.endswith("/data.pkl"):
                body = edit_pkl(body)
            zout.writestr(info.filename, body, compress_type=compress)


def malicious(run, pt, work):
    # 1. data.pkl rewritten to name os.system instead of the tensor rebuild function
    def swap(body):
        old = b"ctorch._utils\n_rebuild_tensor_v2\n"
        assert old in body, "unexpected pickle layout from torch.save"
        return body.replace(old, b"cos\nsystem\n", 1)
    dst = os.path.join(work, "global-os-system.pt")
    rewrite_zip(pt, dst, swap)
    run.expect_error(dst, "forbidden global 'os.system'")

    # 2. the same through protocol-4 STACK_GLOBAL-free variants: builtins.eval in GLOBAL
    def swap_eval(body):
        return body.replace(b"ccollections\nOrderedDict\n", b"cbuiltins\neval\n", 1)
    dst = os.path.join(work, "global-eval.pt")
    rewrite_zip(pt, dst, swap_eval)
    run.expect_error(dst, "forbidden global 'builtins.eval'")

    # 3. a genuine payload: an object whose __reduce__ runs a shell command when unpickled
    marker = os.path.join(work, "PWNED")
    if os.path.exists(marker):
        os.unlink(marker)
    dst = os.path.join(work, "payload.pt")
    code = (
        "import os, sys, torch\n"
        "class P:\n"
        "    def __reduce__(self):\n"
        "        return (os.system, ('touch ' + sys.argv[2],))\n"
        "torch.save({'dims': {'n_mels': 80}, 'model_state_dict': {'x': P()}}, sys.argv[1])\n")
    subprocess.run([sys.executable, "-c", code, dst, marker], check=True)
    run.expect_error(dst, "forbidden global 'posix.system'")
    if os.path.exists(marker):
        run.fail(dst, "the payload ran", "")

    # 4. compressed members (a zip tool re-packed the checkpoint)
    dst = os.path.join(work, "deflated.pt")
    rewrite_zip(pt, dst, None, zipfile.ZIP_DEFLATED)
    run.expect_error(dst, "compressed")

    # 5. a corrupted data.pkl with a valid CRC (the VM itself must catch it)
    dst = os.path.join(work, "pickle-garbage.pt")
    rewrite_zip(pt, dst, lambda body: body[:40] + bytes(range(256)) + body[40:])
    run.expect_error(dst, "pickle")


def junk(run, work):
    cases = {
        "empty.bin": b"",
        "tiny.bin": b"lmgg",
        "ggml-header-only.bin": b"lmgg" + b"\x01\x00\x00\x00" * 11,
        "ggml-neg.bin": b"lmgg" + b"\xff\xff\xff\xff" * 40,
        "zip-magic.pt": b"PK\x03\x04" + bytes(200),
        "gguf.bin": b"GGUF" + bytes(100),
        "text.pt": b"this is not a model\n" * 10,
    }
    for name, body in cases.items():
        p = os.path.join(work, name)
        with open(p, "wb") as f:
            f.write(body)
        run.expect_error(p)
    run.expect_error(work)  # a directory
    run.expect_error(os.path.join(work, "does-not-exist.pt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="fewer cut points and flips")
    args = ap.parse_args()

    for f in ("multilingual.tiktoken", "mel_filters.npz"):
        if not os.path.isfile(os.path.join(args.data, f)):
            print(f"SKIP: {f} not found in {args.data}")
            return 77
    sys.path.insert(0, HERE)
    try:
        import gen_model
    except ImportError as e:
        print(f"SKIP: cannot import gen_model ({e}); needs torch and numpy")
        return 77

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    paths = gen_model.generate("micro", args.seed, args.work, formats=("pt", "bin"),
                               data_dir=args.data)
    pt, binf = paths["pt"], paths["bin"]
    run = Runner(args.tool, args.data)
    rng = random.Random(args.seed)
    n_cuts, n_flips = (20, 30) if args.quick else (60, 100)

    for p in (pt, binf):
        rc, out, err = run.load(p)
        if rc != 0:
            print(f"FAIL: the intact {p} does not load: {err.strip()}")
            return 1
    pt_struct, bin_struct = zip_structure(pt), ggml_structure(binf)
    # A cut .pt loses its end-of-directory record, so few cut points cover it; the ggml reader
    # walks the file front to back, so its structure gets byte-wise windows.
    truncations(run, pt, pt_struct, args.work, rng, n_cuts // 2, 16, 1)
    truncations(run, binf, bin_struct, args.work, rng, n_cuts, *((24, 1) if args.quick else (64, 3)))
    loaded = bitflips(run, pt, pt_struct, args.work, rng, n_flips)
    loaded += bitflips(run, binf, bin_struct, args.work, rng, n_flips)
    malicious(run, pt, args.work)
    junk(run, args.work)

    print(f"{run.runs} loads, {loaded} of {2 * n_flips} bit-flipped copies still loaded")
    if run.failures:
        print(f"FAIL: {len(run.failures)} problems")
        for f in run.failures[:40]:
            print("  " + f)
        return 1
    shutil.rmtree(args.work, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
