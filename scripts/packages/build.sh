#!/bin/sh
# make packages: one npm package per target this machine can build, each in
# dist-packages/<target>/ and packed to dist-packages/*.tgz, beside the main package's own
# tarball (JS and types only). Each platform package holds, at its root, the stripped addon
# (pawwork_supervisor.node), the Go library (the name build/Release uses), the helper
# (not on win32) and build-id.json.
#
#   scripts/packages/build.sh [target...]      (default: every target buildable here)
#
# Environment (from the Makefile): BUILD_ID, GO_LDFLAGS, GO, NODE.
#
# How each Linux target is built here, on Debian 12:
# - The addon is compiled directly with the target's g++ (no node-gyp): the same few files
#   and flags for the three targets, with no configure step that would rewrite build/.
#   Node-API headers are Node's own (/usr/include/node; Node-API is the same on every
#   architecture), node-addon-api from node_modules.
# - linux-*-gnu: glibc floor 2.28 (Node's own). Everything links against stub libraries
#   of glibc at 2.28 (glibc-stubs.mjs), libstdc++ is linked in statically (no GLIBCXX
#   requirement), and glibc-compat.c defines the two newer glibc symbols GCC 12's
#   libstdc++ refers to. check-glibc.sh verifies the result.
# - linux-arm64-gnu: the same, with Debian's aarch64-linux-gnu cross compilers (cgo: CC,
#   GOARCH=arm64).
# - linux-x64-musl: not made. A Go c-shared library cannot run under musl (make test-musl
#   shows both ways failing on the real library), and Debian has no libstdc++ for musl.
# - win32-x64: staged from build/win32-x64/ when that exists (make win32-addon).
# - darwin-x64, darwin-arm64: built on macOS runners in CI only.
set -eu
root=$(pwd)
GO=${GO:-go}
NODE=${NODE:-node}
: "${BUILD_ID:?BUILD_ID is set by the Makefile}"
: "${GO_LDFLAGS:?GO_LDFLAGS is set by the Makefile}"
out=$root/dist-packages
work=$root/build/packages
version=$($NODE -p 'require("./package.json").version')
FLOOR=2.28

all="linux-x64-gnu linux-arm64-gnu linux-x64-musl win32-x64 darwin-x64 darwin-arm64"
targets=${*:-$all}

rm -rf "$out"
mkdir -p "$out" "$work"

# The binding's sources, as binding.gyp lists them (comments and trailing commas allowed).
sources=$($NODE -e '
  const fs = require("fs")
  const text = fs.readFileSync("binding.gyp", "utf8").replace(/^\s*#.*$/gm, "").replace(/,(\s*[\]}])/g, "$1")
  console.log(JSON.parse(text).targets[0].sources.join(" "))')
napi_inc=$($NODE -p 'require("node-addon-api").include_dir')
# Node's headers (node_api.h, and uv.h while binding/sigchld.cc uses it).
node_inc=${NODE_INCLUDE:-$(dirname "$(dirname "$(readlink -f "$(command -v "$NODE")")")")/include/node}
[ -f "$node_inc/node_api.h" ] || { echo "no node_api.h in $node_inc (set NODE_INCLUDE)" >&2; exit 1; }

CXXFLAGS="-O2 -fPIC -pthread -std=c++17 -fexceptions -fno-rtti -fvisibility=hidden -Wall -Wno-unused-parameter
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=pawwork_supervisor -D_FILE_OFFSET_BITS=64
  -I$node_inc -I$napi_inc -I$root/go/capi"

# package.json of one platform package.
package_json() { # target os cpu libc(or "") files...
  t=$1 os=$2 cpu=$3 libc=$4; shift 4
  $NODE -e '
    const [t, version, os, cpu, libc, ...files] = process.argv.slice(1)
    const p = {
      name: `@pawwork-supervisor/${t}`,
      version,
      description: `The native ${t} files of pawwork-supervisor (addon, Go library, helper where there is one); installed by pawwork-supervisor as an optional dependency`,
      license: "MIT",
      os: [os],
      cpu: [cpu],
      ...(libc ? { libc: [libc] } : {}),
      files: ["build-id.json", ...files],
      preferUnplugged: true,
    }
    process.stdout.write(JSON.stringify(p, null, 2) + "\n")' "$t" "$version" "$os" "$cpu" "$libc" "$@"
}

finish() { # target os cpu libc files...: package.json, build-id.json, LICENSE, README, pack
  t=$1; d=$out/$t
  package_json "$@" >"$d/package.json"
  printf '{ "buildId": "%s" }\n' "$BUILD_ID" >"$d/build-id.json"
  cp "$root/LICENSE" "$d/"
  printf '# @pawwork-supervisor/%s\n\nThe %s binaries of [pawwork-supervisor](https://www.npmjs.com/package/pawwork-supervisor), installed by it as an optional dependency. Do not depend on this package directly.\n' "$t" "$t" >"$d/README.md"
  (cd "$out" && npm pack --silent --ignore-scripts "./$t" >/dev/null)
  built="$built $t"
}

# Go library, addon and helper of one Linux glibc target.
build_linux() { # target goarch cc cxx strip host-libdir
  t=$1 goarch=$2 cc=$3 cxx=$4 strip=$5 libdir=$6
  d=$out/$t; o=$work/$t
  rm -rf "$o"; mkdir -p "$d" "$o"
  $NODE "$root/scripts/packages/glibc-stubs.mjs" "$libdir" "$o/stubs" "$cc" "$FLOOR" >/dev/null
  floor_ld="-L$o/stubs -Wl,--no-as-needed -lpthread -ldl -Wl,--as-needed"
  echo "== $t: Go library ($cc, GOARCH=$goarch)"
  CGO_ENABLED=1 GOOS=linux GOARCH=$goarch CC=$cc $GO build -trimpath \
    -ldflags="$GO_LDFLAGS -extldflags '$floor_ld'" -buildmode=c-shared -o "$d/libpawwork_supervisor.so" ./go/capi
  rm -f "$d/libpawwork_supervisor.h"
  echo "== $t: helper (static, CGO_ENABLED=0)"
  CGO_ENABLED=0 GOOS=linux GOARCH=$goarch $GO build -trimpath -ldflags="$GO_LDFLAGS" -o "$d/pawwork-supervisor-helper" ./go/helper
  echo "== $t: addon ($cxx)"
  objs=""
  for s in $sources; do
    obj=$o/$(basename "$s" .cc).o
    # shellcheck disable=SC2086
    $cxx $CXXFLAGS -c "$root/$s" -o "$obj"
    objs="$objs $obj"
  done
  $cc -O2 -fPIC -c "$root/scripts/packages/glibc-compat.c" -o "$o/glibc-compat.o"
  # shellcheck disable=SC2086
  $cxx -shared -pthread -o "$d/pawwork_supervisor.node" $objs "$o/glibc-compat.o" \
    -static-libstdc++ -Wl,--exclude-libs,ALL $floor_ld -ldl
  $strip --strip-unneeded "$d/pawwork_supervisor.node"
  finish "$t" linux "$(echo "$goarch" | sed 's/amd64/x64/')" glibc \
    pawwork_supervisor.node libpawwork_supervisor.so pawwork-supervisor-helper
}

has() { command -v "$1" >/dev/null 2>&1; }
built=""
skipped=""
skip() { skipped="$skipped
  $1: $2"; }

for t in $targets; do
  case $t in
  linux-x64-gnu)
    if [ "$(uname -m)" = x86_64 ]; then build_linux "$t" amd64 gcc g++ strip /lib/x86_64-linux-gnu
    else skip "$t" "built on x86_64 hosts only"; fi ;;
  linux-arm64-gnu)
    if has aarch64-linux-gnu-gcc && has aarch64-linux-gnu-g++; then
      build_linux "$t" arm64 aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ aarch64-linux-gnu-strip /usr/aarch64-linux-gnu/lib
    else skip "$t" "no aarch64-linux-gnu-gcc/g++ (apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu)"; fi ;;
  linux-x64-musl)
    # make test-musl shows why, on the real library, and fails once it stops being true.
    skip "$t" "the Go c-shared library cannot run under musl (dlopen: musl refuses its initial-exec TLS; linked at start-up: the Go runtime reads the argv musl does not pass); and Debian has no musl libstdc++ for the addon" ;;
  win32-x64)
    if [ -f build/win32-x64/pawwork_supervisor.node ] && [ -f build/win32-x64/pawwork_supervisor.dll ]; then
      echo "== $t: staged from build/win32-x64 (make win32-addon)"
      mkdir -p "$out/$t"
      cp build/win32-x64/pawwork_supervisor.node build/win32-x64/pawwork_supervisor.dll "$out/$t/"
      finish "$t" win32 x64 "" pawwork_supervisor.node pawwork_supervisor.dll
    else skip "$t" "no build/win32-x64/{pawwork_supervisor.node,pawwork_supervisor.dll} (make win32-addon builds them)"; fi ;;
  darwin-x64 | darwin-arm64)
    skip "$t" "built on macOS runners in CI only (no Apple toolchain here)" ;;
  *) echo "unknown target $t (known: $all)" >&2; exit 2 ;;
  esac
done

# The main package: JS and types only (package.json "files"), with optionalDependencies
# on every target's package at this exact version. They are added here, in a staged copy,
# and not in the repository's package.json: there they would make npm ci fetch packages
# that are not published yet, and put the root lock file out of step (esbuild keeps its
# published package.json apart from its repository's for the same reason).
main=$work/main
rm -rf "$main"; mkdir -p "$main"
(npm pack --silent --ignore-scripts --pack-destination "$main" >/dev/null)
tar -xzf "$main"/*.tgz -C "$main"
$NODE -e '
  const fs = require("fs")
  const [file, version, ...targets] = process.argv.slice(1)
  const p = JSON.parse(fs.readFileSync(file, "utf8"))
  p.optionalDependencies = Object.fromEntries(targets.map((t) => [`@pawwork-supervisor/${t}`, version]))
  fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n")' "$main/package/package.json" "$version" $all
(cd "$out" && npm pack --silent --ignore-scripts "$main/package" >/dev/null)

echo "== dist-packages"
for f in "$out"/*.tgz; do
  printf '  %-58s %8s bytes packed, %9s bytes unpacked\n' "$(basename "$f")" "$(wc -c <"$f")" "$(tar -xzOf "$f" | wc -c)"
done
echo "built here:${built:- none}"
[ -z "$skipped" ] || echo "not built here:$skipped"
