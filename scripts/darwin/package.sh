#!/bin/sh
# The darwin platform package of this Mac's architecture, in the layout make packages
# gives the others (scripts/packages/build.sh): dist-packages/darwin-<arch>/ and
# dist-packages/pawwork-supervisor-darwin-<arch>-<version>.tgz, holding at its root the
# stripped addon, the Go library, the helper, build-id.json, LICENSE and a README.
#
#   make all && scripts/darwin/package.sh          (on macOS; the release workflow runs it)
#
# Built natively (the addon is compiled by node-gyp for the running Node's architecture):
# darwin-arm64 on an Apple silicon runner, darwin-x64 on an Intel one.
set -eu
[ "$(uname -s)" = Darwin ] || { echo "scripts/darwin/package.sh: macOS only (darwin packages are built on macOS runners)" >&2; exit 2; }
NODE=${NODE:-node}
case $(uname -m) in
  arm64) t=darwin-arm64 cpu=arm64 ;;
  x86_64) t=darwin-x64 cpu=x64 ;;
  *) echo "unsupported architecture $(uname -m)" >&2; exit 2 ;;
esac
node_arch=$($NODE -p process.arch)
[ "$node_arch" = "$cpu" ] || { echo "node is $node_arch, the machine $cpu: the addon would be built for the wrong one" >&2; exit 2; }

rel=build/Release
out=dist-packages
d=$out/$t
files="pawwork_supervisor.node libpawwork_supervisor.dylib pawwork-supervisor-helper"
for f in $files; do [ -f "$rel/$f" ] || { echo "no $rel/$f: run make all first" >&2; exit 1; }; done
[ -f dist/build-id.json ] || { echo "no dist/build-id.json: run make all first" >&2; exit 1; }
rm -rf "$d"; mkdir -p "$d"
for f in $files; do cp "$rel/$f" "$d/"; done

# The Go binaries are built with -s -w (no symbol table, no DWARF); strip -x drops the
# local symbols left in the addon and the library. Stripping breaks the ad-hoc code
# signature arm64 requires, so each file is signed again.
strip -x "$d/pawwork_supervisor.node" "$d/libpawwork_supervisor.dylib"
for f in $files; do codesign --force --sign - "$d/$f"; done
for f in $files; do
  archs=$(lipo -archs "$d/$f")
  want=$cpu; [ "$cpu" = x64 ] && want=x86_64
  [ "$archs" = "$want" ] || { echo "$d/$f is built for '$archs', not $want" >&2; exit 1; }
done
# The real helper, not the stub other platforms get: it refuses to be run by hand.
if "$d/pawwork-supervisor-helper" 2>"$d/.helper-err"; then echo "the helper ran by hand without refusing" >&2; exit 1; fi
grep -q "started by the pawwork-supervisor library" "$d/.helper-err" || { echo "the helper is not the real one:" >&2; cat "$d/.helper-err" >&2; exit 1; }
rm -f "$d/.helper-err"

cp dist/build-id.json LICENSE "$d/"
printf '# @pawwork-supervisor/%s\n\nThe %s binaries of [pawwork-supervisor](https://www.npmjs.com/package/pawwork-supervisor), installed by it as an optional dependency. Do not depend on this package directly.\n' "$t" "$t" >"$d/README.md"
# shellcheck disable=SC2016,SC2086 # JavaScript in single quotes; $files split on purpose
$NODE -e '
  const [t, cpu, ...files] = process.argv.slice(1)
  const main = require("./package.json")
  const p = {
    name: `@pawwork-supervisor/${t}`,
    version: main.version,
    description: `The ${t} binaries of pawwork-supervisor (the addon, the Go library and the helper); installed by pawwork-supervisor as an optional dependency`,
    license: "MIT",
    ...(main.repository ? { repository: main.repository } : {}),
    os: ["darwin"],
    cpu: [cpu],
    files: ["build-id.json", ...files],
    preferUnplugged: true,
  }
  require("fs").writeFileSync(`dist-packages/${t}/package.json`, JSON.stringify(p, null, 2) + "\n")' "$t" "$cpu" $files
(cd "$out" && npm pack --silent "./$t" >/dev/null)
for f in "$out"/*"$t"*.tgz; do
  printf '%s: %s bytes packed, %s bytes unpacked\n' "$(basename "$f")" "$(wc -c <"$f" | tr -d ' ')" "$(tar -xzOf "$f" | wc -c | tr -d ' ')"
done
