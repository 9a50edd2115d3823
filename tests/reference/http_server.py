#!/usr/bin/env python3
"""http_server.py — a small loopback HTTP server for the model download tests.

Serves byte strings at fixed paths ("/<base>/<sha256>/<file>", the layout AURIS_MODEL_BASE_URL
expects) with per-route behaviour a test can change between runs:
  ok         200, or 206 + Content-Range for "Range: bytes=N-" (416 when N is past the end)
  mismatch   the same length of different bytes (the SHA-256 in the URL cannot match)
  drop_once  the first GET announces the whole length, sends `drop_after` bytes and closes the
             connection; later GETs behave as "ok"
  norange    ignores Range: always 200 with the whole body
  slow       "ok", sent in small chunks with pauses (keeps a download running for a while)
  500 / 404  that status, no body
Every request is recorded as (path, Range header or None). Binds 127.0.0.1 only, on an
ephemeral port (port 0); serve_forever runs in a daemon thread, and standalone use stops after
--timeout seconds, so the server always ends by itself. Standard library only.
"""
import argparse
import hashlib
import http.server
import os
import re
import socket
import sys
import threading
import time


class Route:
    def __init__(self, data, mode="ok", drop_after=0):
        self.data = data
        self.mode = mode
        self.drop_after = drop_after
        self.dropped = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: a drop ends exactly one transfer

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _status(self, code, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def do_GET(self):
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.requests.append((self.path, rng))
            route = srv.routes.get(self.path)
        if route is None or route.mode == "404":
            return self._status(404, [("Content-Length", "0")])
        if route.mode == "500":
            return self._status(500, [("Content-Length", "0")])
        data = route.data
        if route.mode == "mismatch":
            data = bytes(b ^ 0x5A for b in data)
        if route.mode == "drop_once" and not route.dropped:
            route.dropped = True
            self._status(200, [("Content-Length", str(len(data)))])
            self.wfile.write(data[: route.drop_after])
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and route.mode != "norange":
            start = int(m.group(1))
            if start >= len(data):
                return self._status(416, [("Content-Range", "bytes */%d" % len(data)),
                                          ("Content-Length", "0")])
            crange = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
            self._status(206, [("Content-Range", crange),
                               ("Content-Length", str(len(data) - start))])
        else:
            self._status(200, [("Content-Length", str(len(data)))])
        body = data[start:]
        if route.mode == "slow":
            step = max(1, len(body) // 20)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.03)
        else:
            self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        self.thread = None

    @property
    def port(self):
        return self.server_address[1]

    def url(self, prefix="base"):
        return "http://127.0.0.1:%d/%s" % (self.port, prefix)

    def add(self, path, data, mode="ok", drop_after=0):
        with self.lock:
            self.routes[path] = Route(data, mode, drop_after)
            return self.routes[path]

    def take_requests(self):
        with self.lock:
            r, self.requests = self.requests, []
            return r

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()


def main():
    ap = argparse.ArgumentParser(description="serve every file of DIR at /base/<sha256>/<name>")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--timeout", type=float, default=60.0, help="stop after this many seconds")
    args = ap.parse_args()
    srv = Server()
    for name in sorted(os.listdir(args.dir)):
        path = os.path.join(args.dir, name)
        if os.path.isfile(path):
            data = open(path, "rb").read()
            srv.add("/base/%s/%s" % (hashlib.sha256(data).hexdigest(), name), data)
    srv.start()
    print(srv.url(), flush=True)
    time.sleep(args.timeout)
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
