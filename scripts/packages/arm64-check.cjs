// make test-arm64: what can be proven of linux-arm64-gnu under Debian 12's qemu-aarch64
// (7.2) with Node 20 for arm64, from a fresh project that installed the packed tarballs.
//
// qemu-user 7.2 refuses clone(CLONE_PIDFD) with EINVAL (the core then forks without it and
// opens the pidfd after the fork: go/internal/pidfd), and an arm64 executable started
// from inside (the helper) cannot be exec'd by the x86-64 kernel without binfmt_misc.
// Must pass:
//  1. the resolver picks @pawwork-supervisor/linux-arm64-gnu, and its addon and Go
//     library (built against the glibc 2.28 stubs) load in an arm64 process;
//  2. the ABI numbers match and containment() answers (the helper's absence is a reason,
//     not a crash);
//  3. a Worker loads the same addon;
//  4. a child is spawned and its exit reported (before the pidfd fallback, every spawn
//     failed here with EINVAL).
// Prints one line per check; exits 1 on any failure. Every wait is bounded.
"use strict"
const path = require("node:path")
const { Worker, isMainThread, parentPort } = require("node:worker_threads")

function bounded(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`bound fired: ${what} took over ${ms} ms`)), ms) }),
  ])
}
function assert(cond, message) {
  if (!cond) throw new Error(message)
}

if (!isMainThread) {
  try {
    const c = require("pawwork-supervisor").containment()
    parentPort.postMessage({ ok: true, mode: c.mode })
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message) })
  }
} else {
  main()
}

async function main() {
  const results = []
  const check = async (name, fn) => {
    try {
      results.push(`ok   ${name.padEnd(9)} ${await fn()}`)
    } catch (err) {
      results.push(`FAIL ${name.padEnd(9)} ${err && err.message}`)
    }
  }
  const pkg = require("pawwork-supervisor")
  const pkgDir = path.dirname(require.resolve("pawwork-supervisor/package.json"))
  const addonJs = require(path.join(pkgDir, "dist", "addon.js"))
  await check("arch", () => {
    assert(process.arch === "arm64", `process.arch ${process.arch}`)
    return `node ${process.version} ${process.platform}-${process.arch}, target ${addonJs.platformTarget()}`
  })
  let c
  await check("load", () => {
    c = pkg.containment()
    const p = addonJs.loadedPaths
    assert(p && p.origin === "@pawwork-supervisor/linux-arm64-gnu", `loaded from ${p && p.origin}`)
    assert(addonJs.loadAddon().abiVersion() === addonJs.ABI_VERSION, "ABI version differs")
    return `addon and library of ${p.origin} loaded (ABI ${addonJs.ABI_VERSION}): ${p.addon}`
  })
  await check("contain", () => {
    assert(c && (c.mode === "helper" || c.mode === "fallback"), `containment ${JSON.stringify(c)}`)
    return `containment ${c.mode}${c.reason ? ` (${c.reason})` : ""}`
  })
  await check("worker", async () => {
    const w = new Worker(__filename)
    const r = await bounded(new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject) }), 60_000, "the worker's answer")
    await bounded(w.terminate(), 10_000, "worker terminate")
    assert(r.ok, `worker: ${r.error}`)
    return `a Worker loaded the addon (containment ${r.mode})`
  })
  await check("spawn", async () => {
    const child = pkg.supervise(["true"], { stdout: "ignore", stderr: "ignore" })
    const o = await bounded(child.outcome, 30_000, "outcome")
    assert(o.reason === "exit" && o.code === 0, `reason ${o.reason} code ${o.code}, want exit 0`)
    return `spawned and exited (code 0), ${o.containment}`
  })
  for (const line of results) console.log(line)
  const failed = results.filter((l) => l.startsWith("FAIL")).length
  console.log(`${failed === 0 ? "ok  " : "FAIL"} linux-arm64-gnu under qemu: ${results.length - failed} passed, ${failed} failed`)
  process.exit(failed === 0 ? 0 : 1)
}
