#!/bin/sh
# make test-git-install: `npm install git+file://…` of this working tree (tracked and
# untracked-but-not-ignored files, committed into a throwaway repository and served from
# a bare clone), into a fresh project, twice:
#   1. with the toolchain on PATH (Go, gcc/g++, make, python3): npm prepares the git
#      dependency (scripts/git-install/prepare.cjs builds everything); the installed
#      package then loads the real addon from its build/Release and runs a real spawn,
#      from require() and from import;
#   2. with PATH lacking go (everything else still there): the install must fail, with
#      the prepare script's message naming Go, and leave no package behind.
# Each npm install is bounded (BOUND seconds; 124 in a FAIL line is the bound firing).
set -eu
root=$(pwd)
BOUND=${BOUND:-900}
tmp=$(mktemp -d /tmp/pawwork-git-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

# The working tree as one commit, served from a bare clone (what a git URL gives npm).
mkdir "$tmp/src"
git -C "$root" ls-files -z --cached --others --exclude-standard | (cd "$root" && xargs -0 cp --parents -t "$tmp/src" 2>/dev/null || true)
git -C "$root" ls-files -z --cached --others --exclude-standard | (cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] || echo "deleted in the working tree: $f"; done' sh)
(cd "$tmp/src" && git init -q && git add -A && git -c user.name=test -c user.email=test@invalid commit -qm "working tree")
git clone -q --bare "$tmp/src" "$tmp/repo.git"
url="git+file://$tmp/repo.git"

# PATH for the npm runs: this PATH as it is (the toolchain), and this PATH without every
# directory that holds a `go` (everything else — gcc, make, python3, node, git — stays).
path_full=$PATH
path_nogo=$(printf '%s\n' "$PATH" | tr ':' '\n' | while read -r d; do [ -x "$d/go" ] || printf '%s:' "$d"; done | sed 's/:$//')
if PATH=$path_nogo command -v go >/dev/null 2>&1; then echo "run.sh: cannot take go off PATH" >&2; exit 1; fi
for c in node npm git make gcc g++ python3; do
  PATH=$path_nogo command -v $c >/dev/null 2>&1 || { echo "run.sh: $c is not on PATH without go's directory" >&2; exit 1; }
done
echo "PATH without go: $path_nogo"

# Go's caches as they are here (a fresh cache would rebuild the standard library).
gocache=$(go env GOCACHE); gomodcache=$(go env GOMODCACHE)

npm_install() { # name, PATH dir
  proj="$tmp/$1"
  mkdir -p "$proj"
  printf '{ "name": "fresh-%s", "version": "1.0.0", "private": true }\n' "$1" >"$proj/package.json"
  set +e
  (cd "$proj" && timeout -k 10 "$BOUND" env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u GOFLAGS \
    PATH="$2" GOCACHE="$gocache" GOMODCACHE="$gomodcache" GOTOOLCHAIN=local \
    npm_config_update_notifier=false \
    npm install --no-audit --no-fund "$url" >"$tmp/$1.log" 2>&1)
  st=$?
  set -e
  return $st
}

echo "== 1. git install with the toolchain on PATH"
start=$(date +%s)
if npm_install with-toolchain "$path_full"; then
  echo "npm install: exit 0 in $(($(date +%s) - start)) s"
  grep -E '^pawwork-supervisor:' "$tmp/with-toolchain.log" || true
  pkg="$tmp/with-toolchain/node_modules/pawwork-supervisor"
  echo "installed: $(cd "$pkg" && find . -type f -not -path './node_modules/*' | sort | grep -v '^./dist/' | tr '\n' ' ')+ dist/ ($(find "$pkg/dist" -type f | wc -l) files)"
  cp "$root/scripts/git-install/use.cjs" "$root/scripts/git-install/use.mjs" "$tmp/with-toolchain/"
  # Only node and sh on PATH now: the installed package needs no toolchain to run.
  mkdir "$tmp/path-run"
  ln -s "$(readlink -f "$(command -v node)")" "$tmp/path-run/node"
  ln -s "$(readlink -f "$(command -v sh)")" "$tmp/path-run/sh"
  for f in use.cjs use.mjs; do
    if (cd "$tmp/with-toolchain" && timeout -k 5 120 env -i HOME="$HOME" PATH="$tmp/path-run" node "$f"); then :; else
      echo "FAIL git install with toolchain: $f (exit $?)"; fail=1
    fi
  done
else
  st=$?
  echo "FAIL git install with toolchain: npm install exit $st after $(($(date +%s) - start)) s; its output:"
  cat "$tmp/with-toolchain.log"
  fail=1
fi

echo "== 2. git install with PATH lacking go"
start=$(date +%s)
if npm_install without-go "$path_nogo"; then
  echo "FAIL git install without go: npm install exited 0; its output:"
  cat "$tmp/without-go.log"
  fail=1
else
  st=$?
  echo "npm install: exit $st in $(($(date +%s) - start)) s (a failure, as it must be); npm's output:"
  sed 's/^/  /' "$tmp/without-go.log"
  if [ $st -eq 124 ]; then echo "FAIL git install without go: the ${BOUND} s bound fired"; fail=1; fi
  if ! grep -q 'pawwork-supervisor: .*Go 1\.[0-9.]* or later' "$tmp/without-go.log"; then
    echo "FAIL git install without go: the message does not name Go; npm's output:"; cat "$tmp/without-go.log"; fail=1
  fi
  if [ -e "$tmp/without-go/node_modules/pawwork-supervisor" ]; then
    echo "FAIL git install without go: a package was left in node_modules"; fail=1
  fi
fi
[ $fail -eq 0 ] && echo "git install: ok" || echo "git install: FAILED"
exit $fail
