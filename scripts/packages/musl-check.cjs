// make test-musl, second half: what a user on musl (Alpine) meets today, run by a musl
// JS runtime (Bun's linux-x64-musl build, under musl's loader) in a fresh project that
// installed the packed tarballs. No linux-x64-musl package exists (see test-musl: the Go
// core cannot run as a shared library under musl), so:
//  1. the resolver detects musl and looks for @pawwork-supervisor/linux-x64-musl;
//  2. the native API fails with a typed NativeLoadError naming that package and
//     PAWWORK_SUPERVISOR=legacy — never a crash, never a glibc binary loaded into musl;
//  3. with PAWWORK_SUPERVISOR=legacy, Process runs a child (output and exit code).
// Prints one line per check; exits 1 on any failure. Every wait is bounded.
"use strict"
const results = []
function check(name, fn) {
  return Promise.resolve()
    .then(fn)
    .then((detail) => results.push(`ok   ${name.padEnd(10)} ${detail}`), (err) => results.push(`FAIL ${name.padEnd(10)} ${err && err.message}`))
}
function assert(cond, message) {
  if (!cond) throw new Error(message)
}
function bounded(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`bound fired: ${what} took over ${ms} ms`)), ms) }),
  ])
}

async function main() {
  const runtime = process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.version}`
  const pkg = require("pawwork-supervisor")
  await check("libc", () => {
    const maps = require("node:fs").readFileSync("/proc/self/maps", "utf8")
    assert(/ld-musl-x86_64\.so\.1/.test(maps), "this runtime is not running on musl (no ld-musl in /proc/self/maps)")
    return `${runtime} runs on musl (ld-musl-x86_64.so.1 mapped)`
  })
  await check("typed", () => {
    let err
    try {
      pkg.containment()
    } catch (e) {
      err = e
    }
    assert(err, "containment() did not throw: something native was loaded on musl")
    assert(err.code === "ERR_PAWWORK_SUPERVISOR_LOAD" && err.name === "NativeLoadError", `error ${err.name} ${err.code}: ${err.message}`)
    const tried = (err.tried || []).map((t) => `${t.path}: ${t.why}`)
    assert(tried.some((t) => /@pawwork-supervisor[\\/]linux-x64-musl: @pawwork-supervisor\/linux-x64-musl is not installed/.test(t)), `tried: ${tried.join("; ")}`)
    assert(err.message.includes("PAWWORK_SUPERVISOR=legacy"), `message without PAWWORK_SUPERVISOR=legacy: ${err.message}`)
    return `NativeLoadError, tried ${tried.join("; ")}`
  })
  await check("legacy", async () => {
    assert(pkg.implementation() === "legacy", `implementation ${pkg.implementation()}: PAWWORK_SUPERVISOR=legacy is not set`)
    const r = await bounded(pkg.Process.run(["sh", "-c", "echo from-legacy; exit 3"], { nothrow: true }), 10_000, "Process.run")
    assert(r.code === 3 && r.stdout.toString() === "from-legacy\n", `code ${r.code} stdout ${JSON.stringify(r.stdout.toString())}`)
    return "PAWWORK_SUPERVISOR=legacy: Process.run gave code 3 and the output"
  })
  for (const line of results) console.log(line)
  const failed = results.filter((l) => l.startsWith("FAIL")).length
  console.log(`${failed === 0 ? "ok  " : "FAIL"} musl: ${results.length - failed} passed, ${failed} failed`)
  process.exit(failed === 0 ? 0 : 1)
}
main()
