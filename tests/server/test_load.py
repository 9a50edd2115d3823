#!/usr/bin/python3
"""test_load.py — a bounded load test of `auris serve` on the loopback interface: 16 concurrent
clients send at least 300 requests on short clips; no errors, every answer byte-identical to the
single-request answer for its clip, peak RSS reported and bounded; and with 2 workers a 3 s clip
sent while a long file is being transcribed finishes before the long one.

Invariants: loopback only; bounded in count (N_REQUESTS) and time (DEADLINE_S), stops by itself.
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverlib as sl  # noqa: E402

N_REQUESTS = 304
N_CLIENTS = 16
DEADLINE_S = 420  # generous for a shared machine; the CPU time it needs is about 2 core-minutes
RSS_BOUND_MB = 600
FAST = [("language", "en"), ("beam_size", "1"), ("temperature_increment_on_fallback", "None"),
        ("response_format", "verbose_json")]
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def load(srv, clips):
    bodies = {c: open(c, "rb").read() for c in clips}
    single = {}
    for c in clips:
        st, _, b = sl.post(srv, "/v1/audio/transcriptions", FAST, [("file", "a.wav", bodies[c])])
        check(st == 200, f"single request on {os.path.basename(c)}: {st}")
        single[c] = b
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "errors": [], "mismatch": 0, "lat": []}
    t_end = time.monotonic() + DEADLINE_S

    def client():
        while time.monotonic() < t_end:
            with lock:
                i = state["next"]
                if i >= N_REQUESTS:
                    return
                state["next"] += 1
            c = clips[i % len(clips)]
            t0 = time.monotonic()
            try:
                st, _, b = sl.post(srv, "/v1/audio/transcriptions", FAST,
                                   [("file", "a.wav", bodies[c])], timeout=DEADLINE_S)
            except OSError as e:
                st, b = -1, repr(e).encode()
            with lock:
                state["lat"].append(time.monotonic() - t0)
                if st != 200:
                    state["errors"].append((st, b[:100]))
                elif b != single[c]:
                    state["mismatch"] += 1
                else:
                    state["ok"] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S + 60)
    dt = time.monotonic() - t0
    lat = sorted(state["lat"]) or [0]
    print(f"load: {state['ok']} ok, {len(state['errors'])} errors, {state['mismatch']} "
          f"mismatches in {dt:.1f} s ({len(lat) / dt:.1f} req/s), latency p50 "
          f"{lat[len(lat) // 2]:.2f} s p99 {lat[int(len(lat) * 0.99) - 1]:.2f} s")
    check(state["ok"] >= 300 and not state["errors"] and not state["mismatch"],
          f">= 300 requests from {N_CLIENTS} clients, no errors, all identical to the single "
          f"request ({state['ok']} ok, errors {state['errors'][:3]})")


def short_before_long(srv, long_clip, short_clip):
    """2 workers: the short clip, sent while the long file runs, finishes first."""
    import socket
    body, ctype = sl.multipart([("language", "en"), ("beam_size", "5")],
                               [("file", "long.wav", open(long_clip, "rb").read())])
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    s.sendall((f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body)

    def busy():
        st, _, b = sl.get(srv, "/metrics")
        return b"auris_busy_workers 1" in b
    check(sl.wait_until(busy, 30), "long file is being transcribed")
    t0 = time.monotonic()
    st, _, b = sl.post(srv, "/v1/audio/transcriptions", FAST,
                       [("file", "s.wav", open(short_clip, "rb").read())])
    dt = time.monotonic() - t0
    s.settimeout(0)
    try:
        long_done = s.recv(1) != b""
    except BlockingIOError:
        long_done = False
    check(st == 200 and not long_done,
          f"3 s clip answered in {dt:.2f} s while the long file still runs")
    s.close()  # cancels the long one


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = sl.shared_data(a.data)
    model = sl.ensure_model(a.work, data)
    clips = [sl.make_clip(a.work, data, f"load{i}.wav", 1 + 2 * i, 0.5 + 0.25 * i)
             for i in range(3)]
    short = sl.make_clip(a.work, data, "clip3.wav", 2, 3)
    long_clip = sl.make_long(a.work, data, "jfk-x4.wav", 4)
    srv = sl.Server(a.auris, model, data, "--workers", "2", "--threads", "1", "--queue", "64")
    try:
        rss0 = sl.peak_rss_kb(srv.proc.pid)
        load(srv, clips)
        rss1 = sl.peak_rss_kb(srv.proc.pid)
        print(f"peak RSS: {rss0 / 1024:.0f} MB after start, {rss1 / 1024:.0f} MB after the load")
        check(0 < rss1 < RSS_BOUND_MB * 1024, f"peak RSS {rss1 / 1024:.0f} MB < {RSS_BOUND_MB} MB")
        short_before_long(srv, long_clip, short)
    finally:
        rc = srv.stop(120)
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
