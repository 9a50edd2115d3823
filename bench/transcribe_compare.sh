#!/usr/bin/env bash
# bench/transcribe_compare.sh — `auris transcribe` against whisper.cpp's `whisper-cli` on one audio
# file and one ggml model, greedy, timestamps on, no temperature fallback, interleaved rounds
# (auris, whisper-cli, auris, ...) so that load on a shared machine hits both alike; prints the
# medians of wall time, peak RSS, windows and decoded tokens, and wall time per window and per
# decoded token, with the ratios (whisper.cpp / auris: > 1 means auris is faster or smaller).
#
#   bench/transcribe_compare.sh MODEL.bin AUDIO.wav [ROUNDS]
#
# Environment: AURIS (default build/auris), WHISPER_CLI (a whisper-cli binary; unset: auris only),
# AURIS_MODEL (the model auris loads, default MODEL.bin: e.g. the same weights as .pt or native,
# to compare load paths), THREADS (default 2), LANG_CODE (default en). Builds and downloads nothing.
# Options: auris --beam_size None --best_of None --temperature 0
# --temperature_increment_on_fallback None; whisper-cli -bs 1 -bo 1 -nf -tp 0. Both condition on
# the previous text (their defaults). Counts: auris's windows are the distinct "seek" values of its
# JSON segments and its tokens the segments' tokens (timestamps included; tokens after a window's
# last timestamp, which the next window re-decodes, are not counted); whisper-cli's windows are its
# "encode" runs and its tokens its single-token "decode" runs plus one per window (the first token
# comes from the prompt pass). On random weights the texts differ, so compare per window and
# per token; with real weights "same_text" says whether the two transcripts (round 1's, lower
# case, punctuation dropped, words rejoined) are identical, and "words" counts each one's words. Wall time and peak RSS come from GNU time (/usr/bin/time) and include model loading.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
if [[ $# -lt 2 || "$1" == "-h" || "$1" == "--help" ]]; then
    usage
    [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]] && exit 0 || exit 2
fi
model=$1
audio=$2
rounds=${3:-5}
auris=${AURIS:-$(dirname "$0")/../build/auris}
amodel=${AURIS_MODEL:-$model}
threads=${THREADS:-2}
lang=${LANG_CODE:-en}
gtime=/usr/bin/time
[[ -f "$model" ]] || { echo "transcribe_compare.sh: error: no such model file: $model" >&2; exit 2; }
[[ -e "$amodel" ]] || { echo "transcribe_compare.sh: error: no such model: $amodel" >&2; exit 2; }
[[ -f "$audio" ]] || { echo "transcribe_compare.sh: error: no such audio file: $audio" >&2; exit 2; }
[[ -x "$auris" ]] || { echo "transcribe_compare.sh: error: auris binary not found: $auris (set AURIS)" >&2; exit 2; }
[[ -x "$gtime" ]] || { echo "transcribe_compare.sh: error: GNU time ($gtime) is needed" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "transcribe_compare.sh: error: ROUNDS must be a positive integer" >&2; exit 2; }
wc=${WHISPER_CLI:-}
if [[ -z "$wc" ]]; then
    echo "transcribe_compare.sh: WHISPER_CLI is unset: measuring auris only" >&2
elif [[ ! -x "$wc" ]]; then
    echo "transcribe_compare.sh: error: WHISPER_CLI is not an executable: $wc" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stem=$(basename "${audio%.*}")
for ((r = 1; r <= rounds; r++)); do
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
    mkdir -p "$tmp/a.$r"
    "$gtime" -f "wall %e rss_kb %M" -o "$tmp/a.$r.time" "$auris" transcribe "$audio" --model "$amodel" \
        --threads "$threads" --language "$lang" --beam_size None --best_of None --temperature 0 \
        --temperature_increment_on_fallback None --verbose False --output_format json \
        --output_dir "$tmp/a.$r" > "$tmp/a.$r.log" 2>&1 ||
        { echo "transcribe_compare.sh: error: auris failed:" >&2; tail -5 "$tmp/a.$r.log" >&2; exit 1; }
    echo "round $r (load $load): auris $(cat "$tmp/a.$r.time")" >&2
    if [[ -n "$wc" ]]; then
        load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
        "$gtime" -f "wall %e rss_kb %M" -o "$tmp/w.$r.time" "$wc" -m "$model" -f "$audio" -t "$threads" \
            -l "$lang" -bs 1 -bo 1 -nf -tp 0 > "$tmp/w.$r.log" 2>&1 ||
            { echo "transcribe_compare.sh: error: $wc failed:" >&2; tail -5 "$tmp/w.$r.log" >&2; exit 1; }
        echo "round $r (load $load): whisper-cli $(cat "$tmp/w.$r.time")" >&2
    fi
done

python3 - "$tmp" "$rounds" "$stem" "$model" "$amodel" "$audio" "$threads" "${wc:-}" <<'PY'
import json, re, statistics, sys
tmp, rounds, stem, model, amodel, audio, threads, wc = sys.argv[1:9]
rounds = int(rounds)
def gtime(path):
    t = open(path).read().split()
    return float(t[t.index("wall") + 1]), int(t[t.index("rss_kb") + 1]) / 1024
def words(text):
    return re.sub(r"[^\w' ]+", " ", text.lower()).split()
def summary(rows):
    m = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    m["ms_per_window"] = round(1e3 * m["wall_s"] / m["windows"], 1) if m["windows"] else None
    m["ms_per_token"] = round(1e3 * m["wall_s"] / m["tokens"], 2) if m["tokens"] else None
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in m.items()}
rows = []
for r in range(1, rounds + 1):
    wall, rss = gtime(f"{tmp}/a.{r}.time")
    segs = json.load(open(f"{tmp}/a.{r}/{stem}.json"))["segments"]
    rows.append({"wall_s": wall, "peak_rss_mb": rss, "windows": len({s["seek"] for s in segs}),
                 "tokens": sum(len(s["tokens"]) for s in segs)})
    if r == 1:
        a_words = words(" ".join(s["text"] for s in segs))
out = {"model": model, "auris_model": amodel, "audio": audio, "threads": int(threads),
       "rounds": rounds, "auris": summary(rows)}
if wc:
    rows = []
    for r in range(1, rounds + 1):
        wall, rss = gtime(f"{tmp}/w.{r}.time")
        log = open(f"{tmp}/w.{r}.log", errors="replace").read()
        def runs(what):
            m = re.search(what + r" time\s*=\s*[\d.]+ ms\s*/\s*(\d+) runs", log)
            return int(m.group(1)) if m else 0
        windows = runs("encode")
        rows.append({"wall_s": wall, "peak_rss_mb": rss, "windows": windows,
                     "tokens": runs("decode") + windows})
        if r == 1: # whisper-cli's transcript lines: "[00:00:00.000 --> 00:00:05.000]  text"
            w_words = words(" ".join(re.findall(r"^\[[\d:.]+ --> [\d:.]+\]\s*(.*)$", log, re.M)))
    w = summary(rows)
    w["binary"] = wc
    out["whisper_cpp"] = w
    a = out["auris"]
    out["ratios"] = {k: round(w[k] / a[k], 2) for k in ("wall_s", "ms_per_window", "ms_per_token", "peak_rss_mb")
                     if w.get(k) and a.get(k)}
    out["same_text"] = a_words == w_words
    out["words"] = {"auris": len(a_words), "whisper_cpp": len(w_words)}
print(json.dumps(out))
PY
