#!/usr/bin/env bash
# Builds auris (Release) into ./build; the program is ./build/auris.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
