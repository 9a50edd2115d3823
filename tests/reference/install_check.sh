#!/usr/bin/env bash
# install_check.sh — the installed library as another project sees it.
#   install_check.sh prefix BUILD_DIR SOURCE_DIR WORK
#       cmake --install into WORK/prefix; compile install_demo.c with
#       `pkg-config --cflags --libs auris` (PKG_CONFIG_PATH into the prefix) and run it against
#       libauris.so; again statically (`pkg-config --static`, libauris.a); check that
#       `nm -D --defined-only libauris.so` exports exactly the functions auris.h declares
#       (auris_*, never an auris__ internal); run the installed `auris --version`.
#   install_check.sh deb BUILD_DIR SOURCE_DIR WORK
#       cpack -G DEB, dpkg -i the package, the same pkg-config build against /usr, dpkg -r, and
#       check that nothing of it is left. Needs root and dpkg (CI runs as root): exit 77 if not,
#       or if a package named auris is already installed (not ours to replace).
# Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail
mode=$1 build=$2 src=$3 work=$4
demo=$src/tests/reference/install_demo.c
fail=0
pass() { echo "PASS $*"; }
failm() { echo "FAIL $*"; fail=1; }
version=$(sed -n 's/^#define AURIS_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$src/include/auris.h" | paste -sd.)
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config missing"; exit 77; }
rm -rf "$work" && mkdir -p "$work"

build_demo() { # build_demo NAME FLAGS...: compiles the demo with FLAGS and runs it
  local name=$1; shift
  local flags="$*"
  # -lm: the demo itself calls sinf
  if ! cc -std=c11 -Wall -Wextra -Werror -o "$work/$name" "$demo" $flags -lm; then
    failm "$name: cc install_demo.c $flags"; return 1
  fi
  if LD_LIBRARY_PATH=${run_libdir:-} "$work/$name" > "$work/$name.out" 2>&1; then
    pass "$name runs: $(head -1 "$work/$name.out") [flags: $flags]"
  else
    failm "$name: $(cat "$work/$name.out")"; return 1
  fi
}

if [ "$mode" = prefix ]; then
  prefix=$work/prefix
  cmake --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 ||
    { failm "cmake --install: $(tail -3 "$work/install.log")"; exit 1; }
  libdir=$(dirname "$(find "$prefix" -name auris.pc | head -1)")/..
  libdir=$(cd "$libdir" && pwd)
  for f in "$prefix/include/auris.h" "$libdir/libauris.a" "$libdir/libauris.so" "$prefix/bin/auris"; do
    [ -e "$f" ] && pass "installed ${f#$prefix/}" || failm "missing ${f#$prefix/}"
  done
  soname=$(objdump -p "$libdir/libauris.so" | awk '/SONAME/ {print $2}')
  [ -n "$soname" ] && [ -e "$libdir/$soname" ] && pass "soname $soname -> $(readlink "$libdir/$soname")" ||
    failm "soname '$soname'"
  export PKG_CONFIG_PATH=$libdir/pkgconfig
  [ "$(pkg-config --modversion auris)" = "$version" ] && pass "auris.pc version $version" ||
    failm "auris.pc version $(pkg-config --modversion auris) != $version"
  run_libdir=$libdir # the prefix is not on the loader's path
  if build_demo demo-shared $(pkg-config --cflags --libs auris); then
    # ldd's output is captured first: `ldd | grep -q` under pipefail fails at random when grep
    # exits on its match and ldd dies of SIGPIPE
    deps=$(ldd "$work/demo-shared")
    grep -q "libauris.so" <<<"$deps" && pass "demo-shared needs libauris.so" ||
      failm "demo-shared does not link libauris.so"
  fi
  # libauris.a: `pkg-config --static` adds its dependencies; -l:libauris.a picks the archive
  # although libauris.so sits beside it
  if build_demo demo-static $(pkg-config --cflags auris) \
       $(pkg-config --static --libs auris | sed 's/-lauris\b/-l:libauris.a/'); then
    deps=$(ldd "$work/demo-static")
    grep -q libauris <<<"$deps" && failm "demo-static links libauris.so" ||
      pass "demo-static has libauris.a inside"
  fi
  # exported symbols == the header's declarations
  nm -D --defined-only "$libdir/libauris.so" | awk '{print $3}' | sort -u > "$work/exported.txt"
  grep -v '(\*auris_' "$src/include/auris.h" | grep -o '\bauris_[a-z0-9_]*(' | tr -d '(' |
    sort -u > "$work/declared.txt"
  bad=$(grep -v '^auris_[a-z0-9]' "$work/exported.txt" | grep -v '^_\(init\|fini\)$' | tr '\n' ' ')
  [ -z "$bad" ] && pass "nm -D: only auris_* symbols ($(wc -l < "$work/exported.txt") exported)" ||
    failm "nm -D exports non-API symbols: $bad"
  internal=$(grep '^auris__' "$work/exported.txt" | tr '\n' ' ')
  [ -z "$internal" ] || failm "nm -D exports internals: $internal"
  extra=$(comm -23 <(grep '^auris_' "$work/exported.txt") "$work/declared.txt" | tr '\n' ' ')
  missing=$(comm -13 <(grep '^auris_' "$work/exported.txt") "$work/declared.txt" | tr '\n' ' ')
  [ -z "$extra" ] && [ -z "$missing" ] && pass "exports == auris.h declarations ($(wc -l < "$work/declared.txt"))" ||
    failm "exported but not declared: [$extra]; declared but not exported: [$missing]"
  out=$("$prefix/bin/auris" --version 2>&1)
  [ "$out" = "auris $version" ] && pass "installed auris --version: $out" || failm "auris --version: $out"
  exit $fail
fi

if [ "$mode" = deb ]; then
  [ "$(id -u)" = 0 ] || { echo "SKIP: installing a .deb needs root (CI runs as root)"; exit 77; }
  command -v dpkg >/dev/null && command -v cpack >/dev/null || { echo "SKIP: dpkg or cpack missing"; exit 77; }
  if dpkg-query -W -f='${Status}' auris 2>/dev/null | grep -q "install ok installed"; then
    echo "SKIP: a package named auris is already installed; not replacing it"; exit 77
  fi
  (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg") > "$work/cpack.log" 2>&1 ||
    { failm "cpack -G DEB: $(tail -5 "$work/cpack.log")"; exit 1; }
  deb=$(ls "$work"/pkg/auris_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || { failm "no .deb in $work/pkg"; exit 1; }
  pass "cpack: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
  echo "Depends: $(dpkg-deb -f "$deb" Depends)"
  dpkg -i "$deb" > "$work/dpkg-i.log" 2>&1 && pass "dpkg -i" || { failm "dpkg -i: $(tail -5 "$work/dpkg-i.log")"; exit 1; }
  files=$(dpkg -L auris | sort)
  echo "$files" | grep -q '/libauris\.so\.' && echo "$files" | grep -q '/auris\.pc$' &&
    echo "$files" | grep -q '/usr/include/auris.h$' && echo "$files" | grep -q '/usr/bin/auris$' &&
    pass "package holds libauris.so.*, libauris.a, auris.h, auris.pc, auris" || failm "package contents: $files"
  out=$(/usr/bin/auris --version 2>&1)
  [ "$out" = "auris $version" ] && pass "/usr/bin/auris --version: $out" || failm "/usr/bin/auris --version: $out"
  PKG_CONFIG_PATH= build_demo demo-deb $(PKG_CONFIG_PATH= pkg-config --cflags --libs auris)
  dpkg -r auris > "$work/dpkg-r.log" 2>&1 && pass "dpkg -r" || failm "dpkg -r: $(tail -5 "$work/dpkg-r.log")"
  left=""
  for f in $files; do [ -f "$f" ] || [ -L "$f" ] && left="$left $f"; done
  [ -z "$left" ] && pass "dpkg -r leaves none of the package's files" || failm "left behind:$left"
  dpkg-query -W -f='${Status}' auris 2>/dev/null | grep -q "install ok installed" &&
    failm "auris still installed" || pass "auris is no longer installed"
  exit $fail
fi
echo "usage: install_check.sh prefix|deb BUILD_DIR SOURCE_DIR WORK" >&2
exit 2
