#!/bin/sh
# make test-runtimes: the packed tarball, installed into a fresh project whose path holds
# two spaces in a row (a path the package must survive), run by scripts/runtimes/check.cjs
# under every runtime of build/runtimes (make runtimes) and the system Node. Each runtime
# runs with PATH holding only itself and the few commands the checks spawn (sh, sleep,
# true): no Go, no gcc, no npm. Each run is bounded (RUN_BOUND seconds).
set -eu
root=$(pwd)
rt="$root/build/runtimes/node_modules"
RUN_BOUND=${RUN_BOUND:-120}

# An executable's path (not the shell's builtin, as `command -v true` gives).
bin_of() {
  for dir in /usr/bin /bin; do
    if [ -x "$dir/$1" ]; then echo "$dir/$1"; return; fi
  done
  echo "no $1 in /usr/bin or /bin" >&2
  exit 1
}

mkdir -p build/pack
rm -f build/pack/pawwork-supervisor-*.tgz
npm pack --silent --pack-destination build/pack >/dev/null
tgz=$(ls "$root"/build/pack/pawwork-supervisor-*.tgz)

tmp=$(mktemp -d /tmp/pawwork-runtimes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
proj="$tmp/fresh  project"
mkdir -p "$proj" "$tmp/home"

# The install itself: only Node and npm on PATH.
mkdir -p "$tmp/bin-install"
ln -s "$(readlink -f "$(command -v node)")" "$tmp/bin-install/node"
ln -s "$(readlink -f "$(command -v npm)")" "$tmp/bin-install/npm"
ln -s "$(bin_of sh)" "$tmp/bin-install/sh"
printf '{ "name": "fresh", "version": "1.0.0", "private": true }\n' >"$proj/package.json"
(cd "$proj" && env -i HOME="$tmp/home" PATH="$tmp/bin-install" npm_config_cache="${npm_config_cache:-$HOME/.npm}" npm_config_update_notifier=false \
  npm install --no-audit --no-fund --loglevel=error "$tgz")
cp "$root/scripts/runtimes/check.cjs" "$proj/"

fail=0
run() { # name, binary, args...
  name=$1; bin=$2; shift 2
  d="$tmp/bin-$name"
  mkdir -p "$d"
  ln -s "$(readlink -f "$bin")" "$d/$(basename "$bin")"
  for c in sh sleep true; do ln -s "$(bin_of $c)" "$d/$c"; done
  set +e
  (cd "$proj" && timeout -k 5 "$RUN_BOUND" env -i HOME="$tmp/home" PATH="$d" DENO_DIR="$tmp/deno" \
    DENO_NO_UPDATE_CHECK=1 "$d/$(basename "$bin")" "$@" check.cjs)
  st=$?
  set -e
  if [ $st -ne 0 ]; then
    echo "FAIL $name (exit status $st; 124 is the ${RUN_BOUND} s bound firing)"
    fail=1
  fi
}

run node20 "$(command -v node)"
run node22 "$rt/node22/bin/node"
run node24 "$rt/node24/bin/node"
run bun "$rt/@oven/bun-linux-x64/bin/bun"
run deno "$rt/@deno/linux-x64-glibc/deno" run -A
exit $fail
