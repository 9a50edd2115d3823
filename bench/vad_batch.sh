#!/usr/bin/env bash
# vad_batch.sh — wall time of `auris transcribe --vad True --batch_size 1` against
# `--batch_size 8` on a >= 2-minute file of many speech parts, and the VAD's own cost per minute
# of audio (`auris vad`, probabilities and segments only).
#
# Usage: bench/vad_batch.sh [MODEL] [ROUNDS]   (run from the repository root after a build)
#   MODEL   a Whisper checkpoint (default: a random-weight tiny checkpoint made by
#           tests/reference/gen_ts_model.py, whose decoder emits timestamps, in build/bench-vad)
#   ROUNDS  interleaved rounds (default 5); medians are reported.
# Environment: AURIS (binary, default build/auris), THREADS (default 2), SHARED (default
# ../shared/data, holding silero-v6.2.0-ggml.bin and the vocabularies).
# The audio is make_speech.py's "long" clip (~3 minutes: 20 espeak-ng sentences separated by
# pauses of 0.3-4 s). Rounds interleave the two settings so that load changes hit both; the
# script prints each run, the medians, the speed-up, the load average, and checks that both
# settings give the same tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
AURIS=${AURIS:-build/auris}
THREADS=${THREADS:-2}
SHARED=${SHARED:-../shared/data}
ROUNDS=${2:-5}
WORK=build/bench-vad
mkdir -p "$WORK"
VAD="$SHARED/silero-v6.2.0-ggml.bin"
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  MODEL="$WORK/tiny-ts-s1.pt"
  [ -f "$MODEL" ] || /usr/bin/python3 tests/reference/gen_ts_model.py --size tiny-ts --seed 1 \
    --out "$WORK" --data "$SHARED" >/dev/null
fi
/usr/bin/python3 tests/reference/make_speech.py "$WORK" --clips long >/dev/null
AUDIO="$WORK/speech-long.wav"
echo "audio: $AUDIO ($(soxi -D "$AUDIO") s); model: $MODEL; threads: $THREADS; rounds: $ROUNDS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# prints "wall cpu" seconds (cpu = user + system of the process: less sensitive to other load)
timed() {
  /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$WORK/time.txt"
}
run_batch() { # $1 = batch size
  timed "$AURIS" transcribe "$AUDIO" --model "$MODEL" --assets "$SHARED" --language en -f json \
    -o "$WORK/out-b$1" --verbose False --threads "$THREADS" --vad True --vad_model "$VAD" \
    --batch_size "$1"
}
run_vad() {
  timed "$AURIS" vad "$AUDIO" --vad_model "$VAD"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

b1=(); b8=(); vd=(); c1=(); c8=(); cv=()
for r in $(seq 1 "$ROUNDS"); do
  read -r x xc < <(run_batch 1); read -r y yc < <(run_batch 8); read -r z zc < <(run_vad)
  b1+=("$x"); b8+=("$y"); vd+=("$z"); c1+=("$xc"); c8+=("$yc"); cv+=("$zc")
  echo "round $r: batch 1 ${x}s (cpu ${xc}s), batch 8 ${y}s (cpu ${yc}s), vad ${z}s (cpu ${zc}s)"
done
med() { printf '%s\n' "$@" | median; }
m1=$(med "${b1[@]}"); m8=$(med "${b8[@]}"); mv=$(med "${vd[@]}")
n1=$(med "${c1[@]}"); n8=$(med "${c8[@]}"); nv=$(med "${cv[@]}")
dur=$(soxi -D "$AUDIO")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "median wall: batch 1 ${m1}s, batch 8 ${m8}s, speed-up $(ratio "$m1" "$m8")x"
echo "median cpu:  batch 1 ${n1}s, batch 8 ${n8}s, ratio $(ratio "$n1" "$n8")x"
echo "VAD (auris vad: start-up, audio decoding, probabilities, segments): wall ${mv}s, cpu" \
     "${nv}s for ${dur}s = $(awk -v a="$nv" -v d="$dur" 'BEGIN { printf "%.3f", a * 60 / d }')s" \
     "cpu per minute of audio"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
a = json.load(open(f"{w}/out-b1/speech-long.json"))["segments"]
b = json.load(open(f"{w}/out-b8/speech-long.json"))["segments"]
same = [s["tokens"] for s in a] == [s["tokens"] for s in b]
print(f"tokens: {'identical' if same else 'DIFFERENT'} ({len(a)} segments, "
      f"{sum(len(s['tokens']) for s in a)} tokens)")
sys.exit(0 if same else 1)
PY
