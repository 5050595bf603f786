// Run in the fresh project after a git install (scripts/git-install/run.sh), PATH holding
// only node and sh: the package from node_modules, its native files from its own
// build/Release (what the git install built), a real spawn with output and exit code,
// and a tree cancelled. Exits 1 on any failure; every wait bounded.
"use strict"
const path = require("node:path")
const fs = require("node:fs")

function bounded(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`bound fired: ${what} took over ${ms} ms`)), ms) }),
  ])
}
const collect = (s) => { const c = []; s.on("data", (d) => c.push(Buffer.from(d))); return () => Buffer.concat(c).toString() }

async function main() {
  const entry = require.resolve("pawwork-supervisor")
  const pkgDir = path.dirname(path.dirname(entry))
  if (!entry.startsWith(path.join(__dirname, "node_modules") + path.sep)) throw new Error(`resolved to ${entry}, not this project's node_modules`)
  const { supervise, containment } = require("pawwork-supervisor")

  const child = supervise(["sh", "-c", "echo out; echo err >&2; exit 3"], { stdout: "pipe", stderr: "pipe" })
  const out = collect(child.stdout), err = collect(child.stderr)
  const o = await bounded(child.outcome, 20_000, "outcome")
  if (o.code !== 3 || out() !== "out\n" || err() !== "err\n") throw new Error(`code ${o.code} stdout ${JSON.stringify(out())} stderr ${JSON.stringify(err())}`)

  const ac = new AbortController()
  const tree = supervise(["sh", "-c", "sleep 60 & sleep 60 & wait"], { signal: ac.signal, graceMs: 500 })
  await bounded(new Promise((res, rej) => { tree.once("spawn", res); tree.once("error", rej) }), 10_000, "spawn")
  ac.abort()
  const t = await bounded(tree.outcome, 20_000, "outcome after abort")
  if (t.reason !== "abort") throw new Error(`tree reason ${t.reason}, want abort`)

  // Which files the resolver loaded (dist/addon.js by path: the exports map hides it).
  const { loadedPaths } = require(path.join(pkgDir, "dist", "addon.js"))
  const want = path.join(pkgDir, "build", "Release")
  for (const k of ["addon", "library", "helper"]) {
    if (!loadedPaths || path.dirname(loadedPaths[k]) !== want) throw new Error(`${k} loaded from ${loadedPaths && loadedPaths[k]}, want ${want}`)
  }
  if (!fs.existsSync(loadedPaths.helper)) throw new Error(`no helper at ${loadedPaths.helper}`)
  const c = containment()
  console.log(`ok   require(): exit code 3 with stdout and stderr whole; a tree aborted; native files from ${path.relative(__dirname, want)}; containment ${c.mode}${c.reason ? ` (${c.reason})` : ""}`)
}
main().catch((e) => { console.log(`FAIL require(): ${e && e.stack || e}`); process.exit(1) })
