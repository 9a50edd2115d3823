#!/usr/bin/python3
"""test_http.py — `auris serve` driven by a plain HTTP client (standard library only, so it also
runs in the ASan+UBSan build): every error status in OpenAI's error shape with /health answered
after each, the bounded queue (429 + Retry-After), a client that disconnects cancelling its
running and its queued job, stalled and slow clients timing out without holding a worker, and the
SIGTERM drain (running request finished, 503 on an open connection, exit 0).

Reference (facts only): OpenAI's error object {"error": {"message", "type", "param", "code"}}.
Invariants: loopback only, bounded waits, the server is always stopped.
"""
import argparse
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverlib as sl  # noqa: E402

KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
FAST = [("language", "en"), ("beam_size", "1"), ("temperature_increment_on_fallback", "None")]
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def error_shape(body):
    try:
        e = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (isinstance(e.get("message"), str) and isinstance(e.get("type"), str)
            and "param" in e and "code" in e
            and (e["param"] is None or isinstance(e["param"], str))
            and (e["code"] is None or isinstance(e["code"], str)))


def healthy(srv):
    st, _, b = sl.get(srv, "/health")
    return st == 200 and json.loads(b) == {"status": "ok"}


def expect_error(srv, what, status, resp, param=None, code=None):
    st, hdr, body = resp
    ok = st == status and error_shape(body)
    if ok and param is not None:
        ok = json.loads(body)["error"]["param"] == param
    if ok and code is not None:
        ok = json.loads(body)["error"]["code"] == code
    check(ok, f"{what}: {status} in OpenAI's error shape (got {st} {body[:160]!r})")
    check(healthy(srv), f"{what}: /health still answers 200")
    return hdr


def gauges(srv):
    st, _, b = sl.get(srv, "/metrics")
    g = {}
    for line in b.decode().splitlines():
        if line.startswith("auris_queue_length ") or line.startswith("auris_busy_workers "):
            k, v = line.split()
            g[k] = float(v)
    return g


def raw_post(srv, fields, files):
    """Sends a whole request on a raw socket and returns the socket unread."""
    body, ctype = sl.multipart(fields, files)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    s.sendall((f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
               f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
              + body)
    return s


def statuses(srv):
    return [l.split()[4] for l in srv.access_lines()]


def test_errors(srv, clip):
    audio = open(clip, "rb").read()
    T = "/v1/audio/transcriptions"
    f = [("file", "a.wav", audio)]
    check(healthy(srv), "/health 200 once the model is loaded")
    expect_error(srv, "missing file", 400, sl.post(srv, T, [("model", "whisper-1")], (), AUTH),
                 param="file")
    expect_error(srv, "bad response_format", 400,
                 sl.post(srv, T, [("response_format", "xml")], f, AUTH), param="response_format")
    expect_error(srv, "bad temperature", 400,
                 sl.post(srv, T, [("temperature", "abc")], f, AUTH), param="temperature")
    expect_error(srv, "unknown language", 400,
                 sl.post(srv, T, [("language", "klingon")], f, AUTH), param="language")
    expect_error(srv, "unknown field", 400, sl.post(srv, T, [("colour", "red")], f, AUTH),
                 code="unknown_parameter")
    expect_error(srv, "undecodable audio", 400,
                 sl.post(srv, T, [], [("file", "x.wav", b"this is not audio" * 50)], AUTH),
                 param="file")
    expect_error(srv, "empty file", 400, sl.post(srv, T, [], [("file", "x.wav", b"")], AUTH),
                 param="file")
    expect_error(srv, "no API key", 401, sl.post(srv, T, [], f))
    expect_error(srv, "wrong API key", 401,
                 sl.post(srv, T, [], f, {"Authorization": "Bearer test-key-124"}))
    expect_error(srv, "unknown route", 404, sl.get(srv, "/v1/audio/speech", AUTH))
    expect_error(srv, "model_not_found", 404,
                 sl.post(srv, T, [("model", "whisper-9")], f, AUTH), code="model_not_found")
    expect_error(srv, "unknown model id", 404, sl.get(srv, "/v1/models/whisper-9", AUTH),
                 code="model_not_found")
    hdr = expect_error(srv, "GET on an upload route", 405, sl.get(srv, T, AUTH))
    check(hdr.get("allow") == "POST", "405 names the allowed method")
    expect_error(srv, "POST /health", 405, sl.post(srv, "/health", [], (), AUTH))
    c = srv.conn()
    c.request("POST", T, body=b"{}", headers={"Content-Type": "application/json", **AUTH})
    r = c.getresponse()
    expect_error(srv, "JSON body", 415, (r.status, {}, r.read()))
    c.close()
    # 413 from Content-Length alone: the body is never sent, the answer comes anyway.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall((f"POST {T} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
               "Content-Type: multipart/form-data; boundary=zz\r\n"
               f"Content-Length: {50 << 20}\r\n\r\n").encode())
    t0 = time.monotonic()
    head = s.recv(65536)
    check(head.startswith(b"HTTP/1.1 413") and time.monotonic() - t0 < 10,
          f"declared size over --max_upload_mb: 413 without the body ({head[:40]!r})")
    s.close()
    check(healthy(srv), "413 (declared): /health still answers 200")
    # 413 from received bytes: a chunked upload without Content-Length passing the limit is
    # discarded unread from there on and answered 413 when it ends.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    s.sendall((f"POST {T} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
               "Content-Type: multipart/form-data; boundary=zz\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode())
    chunk = b"x" * 65536
    for _ in range(40):  # 2.5 MiB against a 2 MiB limit
        s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    s.sendall(b"0\r\n\r\n")
    answer = s.recv(65536)
    check(answer.startswith(b"HTTP/1.1 413") and b"file_too_large" in answer,
          f"received bytes over the limit (chunked): 413 ({answer[:40]!r})")
    s.close()
    check(healthy(srv), "413 (received): /health still answers 200")


def test_queue_and_cancel(srv, long_clip, clip):
    """--workers 1 --queue 1: a running and a queued long job, then 429; both cancelled when their
    clients leave."""
    slow = [("language", "en"), ("beam_size", "5")]  # with the fallback schedule: minutes
    a = raw_post(srv, slow, [("file", "long.wav", open(long_clip, "rb").read())])
    check(sl.wait_until(lambda: gauges(srv).get("auris_busy_workers") == 1, 30),
          "first long request runs on the only worker")
    b = raw_post(srv, slow, [("file", "long.wav", open(long_clip, "rb").read())])
    check(sl.wait_until(lambda: gauges(srv).get("auris_queue_length") == 1, 30),
          "second long request waits in the queue")
    hdr = expect_error(srv, "queue full", 429,
                       sl.post(srv, "/v1/audio/transcriptions", FAST,
                               [("file", "a.wav", open(clip, "rb").read())], AUTH))
    check(hdr.get("retry-after") == "1", "429 carries Retry-After")
    t0 = time.monotonic()
    b.close()
    a.close()
    idle = sl.wait_until(lambda: gauges(srv) == {"auris_queue_length": 0,
                                                 "auris_busy_workers": 0}, 30)
    dt = time.monotonic() - t0
    check(idle and dt < 10,
          f"disconnected clients cancel their running and queued jobs ({dt:.1f} s)")
    time.sleep(0.3)
    st = statuses(srv)
    check(st.count("499") >= 2, f"both cancelled requests logged as 499 ({st[-4:]})")
    check(healthy(srv), "after the cancellations /health answers 200")
    # a streaming client that leaves after the first bytes cancels its job too
    st = raw_post(srv, slow + [("stream", "true")],
                  [("file", "long.wav", open(long_clip, "rb").read())])
    st.settimeout(60)
    head = st.recv(256)
    t0 = time.monotonic()
    st.close()
    idle = sl.wait_until(lambda: gauges(srv) == {"auris_queue_length": 0,
                                                 "auris_busy_workers": 0}, 30)
    check(head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head and idle
          and time.monotonic() - t0 < 10,
          f"a streaming client that disconnects cancels its job ({time.monotonic() - t0:.1f} s)")


def test_slow_clients(srv, clip):
    """--timeout 2 --request_timeout 4: a stalled client is closed, a trickling upload gets 408,
    and neither holds a worker: a normal request is served meanwhile."""
    stalled = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    stalled.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n")
    st, _, _ = sl.post(srv, "/v1/audio/transcriptions", FAST,
                       [("file", "a.wav", open(clip, "rb").read())], AUTH)
    check(st == 200, f"a normal request is served while a stalled client is connected ({st})")
    trickle = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    body, ctype = sl.multipart([("language", "en")], [("file", "a.wav", open(clip, "rb").read())])
    trickle.sendall((f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}"
                     f"\r\nAuthorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n")
                    .encode())
    t0 = time.monotonic()
    answer = None
    trickle.settimeout(0.2)
    for i in range(0, len(body), 64):
        try:
            trickle.sendall(body[i:i + 64])
        except OSError:
            break
        try:
            answer = trickle.recv(4096)
            break  # b"": closed by the server
        except socket.timeout:
            pass
        except ConnectionResetError:
            answer = b""
            break
        time.sleep(0.6)
        if time.monotonic() - t0 > 30:
            break
    check(answer == b"" and time.monotonic() - t0 < 15,
          f"trickling upload: closed after {time.monotonic() - t0:.1f} s ({answer[:40]!r})")
    trickle.close()
    stalled.settimeout(15)
    try:
        closed = stalled.recv(100) == b""
    except (socket.timeout, ConnectionResetError):
        closed = False
    check(closed, "stalled client (headers never finished) is disconnected by the timeout")
    stalled.close()
    check(healthy(srv), "after the slow clients /health answers 200")
    g = {}
    check(sl.wait_until(lambda: g.update(gauges(srv)) or g.get("auris_busy_workers") == 0, 10),
          f"no worker held by slow clients ({g})")


def test_drain(srv, clip, long_clip):
    """SIGTERM while two requests run (--workers 2): the server keeps draining while a long one
    runs, an open connection then gets 503, the short one completes with 200, and once the long
    one's client leaves (cancelling it) the server exits 0."""
    keep = srv.conn()
    keep.request("GET", "/health")
    keep.getresponse().read()
    long_run = raw_post(srv, [("language", "en"), ("beam_size", "5")],
                        [("file", "long.wav", open(long_clip, "rb").read())])
    check(sl.wait_until(lambda: gauges(srv).get("auris_busy_workers") == 1, 30),
          "long request running before SIGTERM")
    run = raw_post(srv, [("language", "en"), ("beam_size", "5"),
                         ("temperature_increment_on_fallback", "None")],
                   [("file", "a.wav", open(clip, "rb").read())])
    check(sl.wait_until(lambda: gauges(srv).get("auris_busy_workers") == 2, 30),
          "short request running before SIGTERM")
    srv.proc.send_signal(15)
    time.sleep(0.3)
    body, ctype = sl.multipart([], [("file", "a.wav", b"RIFF")])
    try:
        keep.request("POST", "/v1/audio/transcriptions", body=body,
                     headers={"Content-Type": ctype, **AUTH})
        r = keep.getresponse()
        expect503 = (r.status, r.read())
    except OSError as e:
        expect503 = (0, repr(e).encode())
        print(f"draining request failed: {e!r}")
    check(expect503[0] == 503 and error_shape(expect503[1]),
          f"draining: a new request on an open connection gets 503 ({expect503[0]})")
    st, _, b = sl.get(srv, "/health")
    check(st == 503, f"draining: /health answers 503 ({st})")
    run.settimeout(300)
    got = b""
    while True:
        try:
            d = run.recv(65536)
        except OSError:
            break
        if not d:
            break
        got += d
        if b"\r\n\r\n" in got and b"}" in got.split(b"\r\n\r\n", 1)[1]:
            break
    check(got.startswith(b"HTTP/1.1 200"), f"the running request finished with 200 ({got[:30]!r})")
    run.close()
    keep.close()
    check(srv.proc.poll() is None, "still draining while the long request runs")
    long_run.close()  # its client leaves: cancelled, and the drain can end
    rc = srv.stop(120)
    check(rc == 0, f"server exits 0 after the drain (rc={rc})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    data = sl.shared_data(a.data)
    model = sl.ensure_model(a.work, data)
    clip = sl.make_clip(a.work, data, "clip1.wav", 1, 1)
    long_clip = sl.make_long(a.work, data, "jfk-x4.wav", 4)
    srv = sl.Server(a.auris, model, data, "--workers", "1", "--queue", "1", "--max_upload_mb", "2",
                    "--api_key", KEY, "--timeout", "2", "--request_timeout", "4")
    try:
        test_errors(srv, clip)
        test_queue_and_cancel(srv, long_clip, clip)
        test_slow_clients(srv, clip)
    finally:
        rc = srv.stop(30)
        if FAILS:
            print("\n".join(srv.log[-30:]))
    print(f"server log: {len(srv.access_lines())} access lines; exit {rc}")
    srv = sl.Server(a.auris, model, data, "--workers", "2", "--api_key", KEY)
    try:
        test_drain(srv, clip, long_clip)
    finally:
        srv.stop(30)
        if FAILS:
            print("\n".join(srv.log[-10:]))
    if FAILS:
        print(f"{len(FAILS)} failed: " + "; ".join(FAILS))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
