"""serverlib.py — shared pieces of the `auris serve` tests: a random tiny model, short clips, a
server process on 127.0.0.1 (a free port, read from its stderr), multipart requests with the
standard library only, and `auris transcribe` JSON for comparison.

Reference (facts only): RFC 7578 multipart/form-data; tests/reference/gen_ts_model.py for the
seeded random checkpoints (micro-ts: windows split into short segments that end early).
Invariants: loopback only; every wait is bounded; the server is always stopped (SIGTERM, then
SIGKILL after a timeout) and its exit code and stderr are returned to the caller.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(os.path.dirname(HERE), "reference")
SKIP = 77


def skip(msg):
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


def shared_data(arg):
    d = arg or os.environ.get("AURIS_SHARED_DATA") or os.path.join(HERE, "..", "..", "..",
                                                                   "shared", "data")
    d = os.path.abspath(d)
    if not os.path.exists(os.path.join(d, "jfk.wav")):
        skip(f"shared data (jfk.wav, *.tiktoken) not found in {d}")
    return d


def ensure_model(work, data, size="micro-ts", seed=1):
    """Cached seeded random checkpoint (torch from Debian's /usr/bin/python3 makes it)."""
    d = os.path.join(work, "models")
    path = os.path.join(d, f"{size}-s{seed}.pt")
    if os.path.exists(path):
        return path
    os.makedirs(d, exist_ok=True)
    gen = os.path.join(REF, "gen_ts_model.py" if size.endswith("-ts") else "gen_model.py")
    py = "/usr/bin/python3"
    r = subprocess.run([py, "-c", "import torch, numpy"], capture_output=True)
    if r.returncode != 0:
        skip("Debian's python3-torch/numpy are needed to generate the random model")
    tmp = d + f"/tmp-{os.getpid()}"
    subprocess.run([py, gen, "--size", size, "--seed", str(seed), "--out", tmp, "--formats", "pt"],
                   check=True, capture_output=True)
    os.replace(os.path.join(tmp, f"{size}-s{seed}.pt"), path)
    shutil.rmtree(tmp, ignore_errors=True)
    return path


def make_clip(work, data, name, start, dur):
    """A slice of jfk.wav as 16 kHz mono wav (ffmpeg CLI)."""
    path = os.path.join(work, name)
    if not os.path.exists(path):
        if not shutil.which("ffmpeg"):
            skip("ffmpeg CLI not found")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", os.path.join(data, "jfk.wav"),
                        "-ss", str(start), "-t", str(dur), "-ar", "16000", "-ac", "1",
                        path + ".tmp.wav"], check=True)
        os.replace(path + ".tmp.wav", path)
    return path


def make_long(work, data, name, copies):
    """jfk.wav repeated `copies` times (a long file)."""
    path = os.path.join(work, name)
    if not os.path.exists(path):
        lst = os.path.join(work, name + ".txt")
        with open(lst, "w") as f:
            for _ in range(copies):
                f.write(f"file '{os.path.join(data, 'jfk.wav')}'\n")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                        lst, "-ar", "16000", "-ac", "1", path + ".tmp.wav"], check=True)
        os.replace(path + ".tmp.wav", path)
    return path


class Server:
    """`auris serve` on 127.0.0.1, port 0 (it prints the port it got)."""

    def __init__(self, auris, model, data, *extra, env=None):
        self.log = []
        self.cmd = [auris, "serve", "--model", model, "--assets", data, "--host", "127.0.0.1",
                    "--port", "0", *extra]
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(self.cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     env=e, text=True)
        self.port = None
        got = threading.Event()

        def reader():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                if "listening on http://" in line and not self.port:
                    self.port = int(line.rsplit(":", 1)[1])
                    got.set()
            got.set()

        self.reader = threading.Thread(target=reader, daemon=True)
        self.reader.start()
        if not got.wait(120) or not self.port:
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + "\n".join(self.log))
        self.url = f"http://127.0.0.1:{self.port}"

    def conn(self, timeout=120):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self, timeout=120):
        """SIGTERM and wait: returns the exit code (None when it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.reader.join(5)
        return rc

    def access_lines(self):
        return [l for l in self.log if l.startswith("auris serve: ") and " audio_s=" in l]


def multipart(fields, files=()):
    """(body, content_type) for fields [(name, value)] and files [(name, filename, bytes)]."""
    b = "auris" + uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    for k, fn, data in files:
        out.append(f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{fn}\"\r\n"
                   f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{b}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={b}"


def post(srv, path, fields, files=(), headers=None, timeout=300):
    """POST a multipart form; returns (status, headers dict, body bytes)."""
    body, ctype = multipart(fields, files)
    c = srv.conn(timeout)
    h = {"Content-Type": ctype}
    h.update(headers or {})
    c.request("POST", path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def get(srv, path, headers=None, method="GET"):
    c = srv.conn(30)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def cli_json(auris, model, data, audio, work, opts):
    """`auris transcribe AUDIO --output_format json` with the CLI's spelling of the options."""
    out = os.path.join(work, "cli-" + uuid.uuid4().hex[:8])
    os.makedirs(out)
    cmd = [auris, "transcribe", audio, "--model", model, "--assets", data, "--output_format",
           "json", "--output_dir", out, "--verbose", "False", "--threads", "1", *opts]
    subprocess.run(cmd, check=True, capture_output=True)
    stem = os.path.splitext(os.path.basename(audio))[0]
    with open(os.path.join(out, stem + ".json")) as f:
        d = json.load(f)
    shutil.rmtree(out, ignore_errors=True)
    return d


def same_segments(server_segments, cli_segments):
    """Text, times and tokens of every segment equal."""
    if len(server_segments) != len(cli_segments):
        return False
    for a, b in zip(server_segments, cli_segments):
        for k in ("id", "seek", "start", "end", "text", "tokens"):
            if a[k] != b[k]:
                return False
    return True


def peak_rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def wait_until(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False
