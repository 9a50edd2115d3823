#!/usr/bin/env bash
# Installs every Debian package that building auris and running its tests needs.
# Build: compiler, CMake, FFmpeg's libraries (audio input), PCRE2 (tokenizer), zlib (compression
# ratio), cJSON (JSON output), libcurl and OpenSSL's libcrypto (model downloads, SHA-256),
# libmicrohttpd (the HTTP server of `auris serve`).
# Tests: cmocka, clang (the second compiler CI checks), and for the reference tests Debian's
# python3-torch/numpy/regex, the ffmpeg CLI, sox and espeak-ng; python3-torchaudio because
# silero-vad's utils (get_speech_timestamps, the VAD oracle) import it.
# Packaging: python3-dev (headers of the Python extension built by `pip install .`), dpkg-dev
# and file (CPack's .deb: dpkg-shlibdeps computes its dependencies).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config clang \
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev \
  libpcre2-dev zlib1g-dev libcjson-dev libmicrohttpd-dev \
  libcurl4-openssl-dev libssl-dev \
  libcmocka-dev \
  python3 python3-venv python3-dev python3-torch python3-numpy python3-regex python3-torchaudio \
  dpkg-dev file \
  ffmpeg sox espeak-ng
