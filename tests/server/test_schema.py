#!/usr/bin/env python3
"""test_schema.py — schemathesis (pinned in tests/requirements/server.txt, run from build/venv)
against `auris serve`'s own /openapi.json: at least 500 generated requests (counted by the
server's /metrics), every check except positive_data_acceptance (a schema cannot say which bytes
are decodable audio, so random "valid" files are rightly refused with 400), no 5xx, no crash, and
the server still healthy and exiting 0 afterwards.

Invariants: loopback only; bounded (-n examples per operation, a time limit); skips (77) when the
venv or schemathesis is missing.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverlib as sl  # noqa: E402


def requests_served(srv):
    st, _, b = sl.get(srv, "/metrics")
    return sum(int(m.group(1)) for m in
               re.finditer(rb'^auris_requests_total\{[^}]*\} (\d+)$', b, re.M))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auris", required=True)
    ap.add_argument("--data")
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    exe = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    if not os.path.exists(exe):
        sl.skip("schemathesis is not installed in the venv (scripts/setup-venv.sh)")
    os.makedirs(a.work, exist_ok=True)
    data = sl.shared_data(a.data)
    model = sl.ensure_model(a.work, data)
    srv = sl.Server(a.auris, model, data, "--workers", "2", "--request_timeout", "30")
    fails = []
    try:
        before = requests_served(srv)
        cmd = [exe, "run", srv.url + "/openapi.json", "--checks", "all",
               "--exclude-checks", "positive_data_acceptance", "-n", "45", "--workers", "2",
               "--seed", "1", "--no-shrink", "--generation-database", "none",
               "--request-timeout", "120", "--no-color"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=a.work)
        tail = "\n".join(r.stdout.splitlines()[-25 if r.returncode == 0 else -80:])
        print(tail)
        n = requests_served(srv) - before - 1
        print(f"schemathesis exit {r.returncode}; the server answered {n} requests")
        if r.returncode != 0:
            fails.append(f"schemathesis reported failures (exit {r.returncode})")
        if n < 500:
            fails.append(f"only {n} requests (< 500)")
        st, _, b = sl.get(srv, "/metrics")
        fivexx = re.findall(rb'status="5\d\d"\} (\d+)', b)
        if fivexx:
            fails.append(f"5xx answers: {fivexx}")
        st, _, b = sl.get(srv, "/health")
        if st != 200 or json.loads(b) != {"status": "ok"}:
            fails.append("/health after the run")
    finally:
        rc = srv.stop(60)
        if rc != 0:
            fails.append(f"server exit code {rc}")
    for f in fails:
        print("FAIL " + f)
    if fails:
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
