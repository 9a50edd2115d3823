#!/usr/bin/env bash
# bench/compare.sh — `auris bench` against whisper.cpp's `whisper-bench` on the same ggml model,
# interleaved (auris, whisper.cpp, auris, ...) so that load on a shared machine hits both alike,
# then the medians and the ratios (whisper.cpp time / auris time: > 1 means auris is faster).
#
#   bench/compare.sh MODEL.bin [ROUNDS]
#
# Environment: AURIS (the auris binary, default build/auris), WHISPER_BENCH (a whisper-bench
# binary; unset: only auris is measured, and the script says so), THREADS (default 2), RUNS
# (auris bench --runs per round, default 1), COMPUTE_TYPE (auris bench --compute_type, e.g.
# int8; default: the model's own). It builds nothing and downloads nothing.
# Figures read: auris's JSON line (encode_ms, decode_ms_per_token, ...) and whisper-bench's
# "encode time" / "decode time" lines (the "ms per run" figure; older versions print only a
# total, used as is). whisper-bench's decode line is its 256 single-token steps, like auris's;
# its "batchd" line counts tokens of 5-row steps (one sequence, positions 0..4): 5 x its per-run
# figure is set beside auris's beam-5 step (5 sequences) as batch5_ms_per_step, a rough match.
# Under load from other processes whisper.cpp's spinning barriers degrade far more at 2 threads
# than at 1: state the load average (printed per round) with every figure.
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    usage
    [[ $# -ge 1 ]] && exit 0 || exit 2
fi
model=$1
rounds=${2:-5}
auris=${AURIS:-$(dirname "$0")/../build/auris}
threads=${THREADS:-2}
runs=${RUNS:-1}
[[ -f "$model" ]] || { echo "compare.sh: error: no such model file: $model" >&2; exit 2; }
[[ -x "$auris" ]] || { echo "compare.sh: error: auris binary not found: $auris (set AURIS)" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: error: ROUNDS must be a positive integer" >&2; exit 2; }
wb=${WHISPER_BENCH:-}
if [[ -z "$wb" ]]; then
    echo "compare.sh: WHISPER_BENCH is unset: measuring auris only" >&2
elif [[ ! -x "$wb" ]]; then
    echo "compare.sh: error: WHISPER_BENCH is not an executable: $wb" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 1; r <= rounds; r++)); do
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
    "$auris" bench --model "$model" --threads "$threads" --runs "$runs" \
        ${COMPUTE_TYPE:+--compute_type "$COMPUTE_TYPE"} > "$tmp/auris.$r.json"
    echo "round $r (load $load): auris $(cat "$tmp/auris.$r.json")" >&2
    if [[ -n "$wb" ]]; then
        "$wb" -m "$model" -t "$threads" > "$tmp/wb.$r.txt" 2>&1 ||
            { echo "compare.sh: error: $wb failed:" >&2; tail -5 "$tmp/wb.$r.txt" >&2; exit 1; }
        echo "round $r: whisper-bench $(grep -E 'encode time|decode time|batchd time' "$tmp/wb.$r.txt" | tr -s ' ' | tr '\n' ' ')" >&2
    fi
done

python3 - "$tmp" "$rounds" "$model" "$threads" "${wb:-}" <<'PY'
import json, re, statistics, sys
tmp, rounds, model, threads, wb = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
a = [json.load(open(f"{tmp}/auris.{r}.json")) for r in range(1, rounds + 1)]
def med(key):
    return round(statistics.median(x[key] for x in a), 3)
out = {"model": model, "threads": threads, "rounds": rounds, "isa": a[0]["isa"],
       "auris": {"encode_ms": med("encode_ms"), "encode_gflop": a[0].get("encode_gflop"),
                 "decode_ms_per_token": med("decode_ms_per_token"),
                 "peak_rss_mb": med("peak_rss_mb")}}
if out["auris"]["encode_gflop"]:
    out["auris"]["encode_gflops"] = round(out["auris"]["encode_gflop"] / (out["auris"]["encode_ms"] / 1e3), 1)
if wb:
    def per_run(text, what):
        m = re.search(what + r" time\s*=\s*([\d.]+) ms(?:\s*/\s*(\d+) runs\s*\(\s*([\d.]+) ms per run\))?", text)
        if not m:
            return None
        return float(m.group(3)) if m.group(3) else float(m.group(1))
    enc, dec, bat = [], [], []
    for r in range(1, rounds + 1):
        t = open(f"{tmp}/wb.{r}.txt", errors="replace").read()
        e, d, b = per_run(t, "encode"), per_run(t, "decode"), per_run(t, "batchd")
        if e is not None:
            enc.append(e)
        if d:
            dec.append(d)
        if b and "ms per run" in t:
            bat.append(5 * b)  # its "runs" count tokens: one step of 5 rows = 5 runs
    w = {"binary": wb}
    if enc:
        w["encode_ms"] = statistics.median(enc)
        out["encode_speedup"] = round(w["encode_ms"] / out["auris"]["encode_ms"], 2)
    if dec:
        w["decode_ms_per_token"] = statistics.median(dec)
        out["decode_speedup"] = round(w["decode_ms_per_token"] / out["auris"]["decode_ms_per_token"], 2)
    if bat:
        w["batch5_ms_per_step"] = round(statistics.median(bat), 3)
        if a[0].get("decode_ms_per_step_beam5"):
            out["auris"]["decode_ms_per_step_beam5"] = med("decode_ms_per_step_beam5")
            out["batch5_speedup"] = round(w["batch5_ms_per_step"] / out["auris"]["decode_ms_per_step_beam5"], 2)
    out["whisper_cpp"] = w
print(json.dumps(out))
PY
