#!/bin/sh
# run.sh — builds the loader fuzz targets with clang + libFuzzer + ASan/UBSan and runs them.
#
#   tests/fuzz/run.sh TARGET|all SECONDS [extra libFuzzer flags...]
#
# TARGET is pt, ggml, safetensors, native, ct2 or vad. Each run starts from the committed seeds
# (tests/fuzz/corpus/TARGET, read-only) and grows a scratch corpus in $BUILD/corpus/TARGET;
# crashes, leaks and timeouts land in $BUILD/artifacts/TARGET/. "all" runs the targets one
# after another, SECONDS each. Environment: BUILD (default /work/build-fuzz, else
# <repo>/build-fuzz), MAX_LEN (default 65536; ggml 131072 so its 64 KB mel filterbank fits),
# JOBS (cmake -j, default 2).
# Exit status: non-zero when any target found something.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 pt|ggml|safetensors|native|ct2|vad|all SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1
secs=$2
shift 2
if [ -z "${BUILD:-}" ]; then
    if [ -d /work ]; then BUILD=/work/build-fuzz; else BUILD=$src/build-fuzz; fi
fi

CC=clang cmake -S "$src" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAURIS_FUZZ=ON \
    -DAURIS_SANITIZE=ON >/dev/null
case $target in
    all) targets="pt ggml safetensors native ct2 vad" ;;
    pt|ggml|safetensors|native|ct2|vad) targets=$target ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
for t in $targets; do
    cmake --build "$BUILD" -j"${JOBS:-2}" --target "fuzz_$t" >/dev/null
done

status=0
for t in $targets; do
    corpus=$BUILD/corpus/$t
    art=$BUILD/artifacts/$t
    mkdir -p "$corpus" "$art"
    len=${MAX_LEN:-}
    if [ -z "$len" ]; then
        # ggml, ct2: a 64 KB mel filterbank or more; vad: a whole model is ~0.9 MB
        if [ "$t" = ggml ] || [ "$t" = ct2 ]; then len=131072; elif [ "$t" = vad ]; then len=1048576; else len=65536; fi
    fi
    echo "== fuzz_$t for ${secs}s (max_len $len)"
    # TMPDIR: fuzz_safetensors writes its Hugging Face folder there
    if ! TMPDIR=$BUILD "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="$len" \
        -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
        "$@" "$corpus" "$here/corpus/$t"; then
        echo "!! fuzz_$t found a problem: see $art/" >&2
        status=1
    fi
done
exit $status
