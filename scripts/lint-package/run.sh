#!/bin/sh
# make lint-package: the packed main package as a consumer gets it, checked by
# arethetypeswrong (types per resolution mode), publint (package.json vs files) and
# check.mjs (size, source maps, the ES module entry's names). Any finding fails.
set -eu
root=$(pwd)
out="$root/build/lint"
rm -rf "$out"
mkdir -p "$out"
# --ignore-scripts: make built dist/ already (the prepare script would run make again).
npm pack --silent --json --ignore-scripts --pack-destination "$out" >"$out/pack.json"
tgz=$(ls "$out"/pawwork-supervisor-*.tgz)
attw="$root/node_modules/.bin/attw"
publint="$root/node_modules/.bin/publint"

# "." and "./package.json" under every resolution (node10, node16 from CJS and from
# ESM, bundler). "./dsh" is an ES module only (its base class comes from the ES-module-only
# @deepseek-ai/dsh-subprocess, so there is no require() entry to give): checked under the
# resolutions that can import it (node16 from ESM, bundler) with attw's esm-only profile.
echo "== arethetypeswrong: . and ./package.json (profile strict)"
"$attw" "$tgz" --exclude-entrypoints ./dsh --format table-flipped --no-color
echo "== arethetypeswrong: ./dsh (profile esm-only)"
"$attw" "$tgz" --entrypoints ./dsh --profile esm-only --format table-flipped --no-color

# publint exits 0 on suggestions and (without --strict) on warnings: "clean" here is its
# own "All good!" and nothing else. NO_COLOR: its colour library turns colours on wherever
# CI is set, even into a file, and the line would not match.
echo "== publint (strict, every level)"
NO_COLOR=1 "$publint" run "$tgz" --strict --level suggestion >"$out/publint.txt" 2>&1 || { cat "$out/publint.txt"; exit 1; }
cat "$out/publint.txt"
grep -q '^All good!$' "$out/publint.txt" || { echo "publint: not clean (see above)"; exit 1; }

echo "== size, source maps, ES module names"
mkdir -p "$out/consumer/node_modules/pawwork-supervisor"
tar -xzf "$tgz" -C "$out/consumer/node_modules/pawwork-supervisor" --strip-components=1
# Its own package.json: without one, the nearest is this repository's, and Node resolves
# "pawwork-supervisor" to the repository itself (a package's self-reference), not the tarball.
printf '{ "name": "consumer", "private": true }\n' >"$out/consumer/package.json"
node "$root/scripts/lint-package/check.mjs" "$out/pack.json" "$out/consumer"

# The types as consumers compile against them, through the exports map.
echo "== tsc: an ES module and a CommonJS consumer"
cp "$root/scripts/lint-package/consumer.mts" "$root/scripts/lint-package/consumer.cts" "$out/consumer/"
tsc="node $root/node_modules/typescript/bin/tsc --noEmit --strict --target es2022 --types node --typeRoots $root/node_modules/@types"
cd "$out/consumer"
$tsc --module node16 --moduleResolution node16 consumer.mts consumer.cts
echo "tsc --moduleResolution node16: ok"
$tsc --module esnext --moduleResolution bundler consumer.mts
echo "tsc --moduleResolution bundler: ok"
