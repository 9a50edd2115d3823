#!/usr/bin/env bash
# Creates the test virtual environment build/venv (Debian's /usr/bin/python3 with
# --system-site-packages, so Debian's python3-torch and numpy stay the ones in use) and installs
# the pinned PyPI packages listed in tests/requirements/*.txt, one file per concern.
# Every file lists its full closure pinned with ==, installed with --no-deps so that pip never
# pulls torch (or a numpy that would shadow Debian's); a file with --hash lines is hash-checked.
# Without network this prints why and exits 0: the tests that need these packages then skip with a
# message. Under CI (CI=true) a failed install is an error, since CI does reach PyPI.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=build/venv
mkdir -p build
if [ ! -x "$venv/bin/python" ]; then
  if ! /usr/bin/python3 -m venv --system-site-packages "$venv"; then
    echo "setup-venv: cannot create $venv (is python3-venv installed?); PyPI-based tests will skip"
    [ "${CI:-}" = true ] && exit 1
    exit 0
  fi
fi
status=0
for req in tests/requirements/*.txt; do
  [ -e "$req" ] || continue
  stamp="$venv/.installed-$(basename "$req" .txt)"
  if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
    continue
  fi
  echo "setup-venv: installing $req"
  if "$venv/bin/pip" install --disable-pip-version-check --no-deps -q -r "$req"; then
    cp "$req" "$stamp"
  else
    echo "setup-venv: could not install $req (no network?); the tests needing it will skip"
    status=1
  fi
done
if [ "$status" != 0 ] && [ "${CI:-}" = true ]; then
  exit 1
fi
exit 0
