// The crash binding/sigchld.h guards against: Node's child_process spawning (libuv's
// SIGCHLD handler registered and removed as its children come and go) beside our own
// spawns (Go threads running, SIGCHLD landing on them). One host run: ~2 s of both at
// once; exit 0 if it survives. Run it many times: node scripts/runtimes/sigchld-repro.cjs --runs 20
// The package is taken from PAWWORK_REPRO_PKG (a directory) or this checkout.
"use strict"
const { spawn, execFileSync } = require("node:child_process")
const path = require("node:path")

const args = process.argv.slice(2)
if (args[0] === "--runs") {
  const runs = Number(args[1] ?? 20)
  let crashed = 0
  const kinds = {}
  for (let i = 0; i < runs; i++) {
    try {
      const self = process.versions.deno ? ["run", "-A", __filename] : [__filename]
      execFileSync(process.execPath, self, { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 })
    } catch (err) {
      crashed++
      const text = String(err.stderr ?? "")
      const kind = /unwind|fatal error: [^\n]*|SIGSEGV|unexpected signal[^\n]*/.exec(text)?.[0] ?? (err.signal ? `killed by ${err.signal}` : `exit ${err.status}`)
      kinds[kind] = (kinds[kind] ?? 0) + 1
    }
  }
  console.log(JSON.stringify({ runtime: process.versions.bun ? `bun ${process.versions.bun}` : process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`, runs, crashed, kinds }))
  process.exit(0)
}

const pkg = process.env.PAWWORK_REPRO_PKG ?? path.resolve(__dirname, "../..")
const { supervise } = require(pkg)
const until = Date.now() + 2000

// Our children stream a little output, so that Go's threads are busy (a SIGCHLD lands
// on a goroutine's stack only while one runs).
async function ours() {
  while (Date.now() < until) {
    const c = supervise(["sh", "-c", "head -c 65536 /dev/zero"], { stdout: "pipe", stderr: "ignore" })
    c.stdout.resume()
    await c.outcome
  }
}

function theirs() {
  return new Promise((resolve) => {
    const next = () => {
      if (Date.now() >= until) return resolve()
      spawn("true", { stdio: "ignore" }).on("exit", () => setImmediate(next))
    }
    next()
  })
}

Promise.all([ours(), ours(), ours(), theirs(), theirs(), theirs()]).then(() => process.exit(0))
