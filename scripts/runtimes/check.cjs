// One script, every runtime (make test-runtimes): Node 20/22/24, Bun, Deno, each loading
// pawwork-supervisor from a fresh project's node_modules (the packed tarball installed),
// with PATH holding only that runtime. Plain CommonJS so that every runtime runs it as is.
//
//   <runtime> check.cjs            every check; prints one line per check, exits 1 on any failure
//   <runtime> check.cjs --host     (internal) a host that starts trees and waits to be killed
//   worker mode                    (internal) the Worker check's body
//
// Every wait is bounded; a fired bound is a failure that says which bound.
"use strict"
const fs = require("node:fs")
const path = require("node:path")
const { spawn } = require("node:child_process")
const { Worker, isMainThread, parentPort, workerData } = require("node:worker_threads")

const pkg = require("pawwork-supervisor")
const { supervise, containment } = pkg

const runtime = process.versions.bun ? `bun ${process.versions.bun}` : process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`
// How this runtime runs a script (Deno needs `run -A`).
const runArgs = (file, ...rest) => (process.versions.deno ? ["run", "-A", file, ...rest] : [file, ...rest])

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function bounded(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`bound fired: ${what} took over ${ms} ms`)), ms) }),
  ])
}

function alive(pid) {
  // A zombie has ended: only /proc tells it apart.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

function children(pid) {
  const out = []
  let tasks = []
  try { tasks = fs.readdirSync(`/proc/${pid}/task`) } catch { return out }
  for (const t of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(" ")) if (c.trim()) out.push(Number(c))
    } catch {}
  }
  return out
}

function tree(pid) {
  const all = [pid]
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]))
  return all
}

async function waitFor(what, ms, test) {
  const until = Date.now() + ms
  for (;;) {
    const v = test()
    if (v) return v
    if (Date.now() > until) throw new Error(`bound fired: ${what} not within ${ms} ms`)
    await sleep(20)
  }
}

function collect(stream) {
  const chunks = []
  stream.on("data", (d) => chunks.push(Buffer.from(d)))
  return () => Buffer.concat(chunks).toString()
}

function assert(cond, message) {
  if (!cond) throw new Error(message)
}

// A tree of three: sh and two sleeps; resolves with all three pids once they exist.
async function startTree(options) {
  const child = supervise(["sh", "-c", "sleep 60 & sleep 60 & wait"], { stdout: "ignore", stderr: "ignore", ...options })
  await bounded(new Promise((resolve, reject) => { child.once("spawn", resolve); child.once("error", reject) }), 5000, "spawn")
  const pids = await waitFor("the tree's two sleeps", 5000, () => { const t = tree(child.pid); return t.length >= 3 ? t : undefined })
  return { child, pids }
}

const checks = {
  async output() {
    const child = supervise(["sh", "-c", "echo out; echo err >&2; exit 3"], { stdout: "pipe", stderr: "pipe" })
    const out = collect(child.stdout)
    const err = collect(child.stderr)
    const o = await bounded(child.outcome, 10_000, "outcome")
    assert(o.code === 3 && o.reason === "exit", `code ${o.code} reason ${o.reason}, want 3 exit`)
    assert(out() === "out\n" && err() === "err\n", `stdout ${JSON.stringify(out())} stderr ${JSON.stringify(err())}`)
    return `code 3, stdout and stderr whole, ${o.containment}`
  },

  async cancelTree() {
    const ac = new AbortController()
    const { child, pids } = await startTree({ signal: ac.signal, graceMs: 1000 })
    ac.abort()
    const o = await bounded(child.outcome, 10_000, "outcome after abort")
    assert(o.reason === "abort", `reason ${o.reason}, want abort`)
    await waitFor(`tree ${pids.join(",")} gone`, 5000, () => pids.every((p) => !alive(p)))
    return `reason abort, ${pids.length} members gone`
  },

  async timeout() {
    const { child, pids } = await startTree({ timeoutMs: 300, graceMs: 500 })
    const o = await bounded(child.outcome, 10_000, "outcome after timeoutMs 300")
    assert(o.reason === "timeout", `reason ${o.reason}, want timeout`)
    await waitFor(`tree ${pids.join(",")} gone`, 5000, () => pids.every((p) => !alive(p)))
    return `reason timeout, ${pids.length} members gone`
  },

  async hostKilled() {
    const host = spawn(process.execPath, runArgs(__filename, "--host"), { stdio: ["ignore", "pipe", "inherit"] })
    const line = await bounded(new Promise((resolve, reject) => {
      let text = ""
      host.stdout.on("data", (d) => { text += d; const nl = text.indexOf("\n"); if (nl >= 0) resolve(text.slice(0, nl)) })
      host.once("exit", (code, sig) => reject(new Error(`host ended early: ${code ?? sig}`)))
    }), 15_000, "the host's trees")
    const { mode, reason, pids } = JSON.parse(line)
    const exited = new Promise((r) => host.once("exit", r))
    process.kill(host.pid, "SIGKILL")
    await bounded(exited, 5000, "host exit after SIGKILL")
    try {
      assert(mode === "helper", `containment ${mode} (${reason}), want helper`)
      await waitFor(`orphaned trees ${pids.join(",")} gone`, 10_000, () => pids.every((p) => !alive(p)))
    } finally {
      // Whatever the helper did not clean up, this check does (the trees are ours).
      for (const p of pids) if (alive(p)) try { process.kill(p, "SIGKILL") } catch {}
    }
    return `${pids.length} members of 3 trees gone after the host's SIGKILL`
  },

  // binding/sigchld.h: under Node the SIGCHLD handler libuv installs for child_process
  // is pinned and has SA_ONSTACK (Go's threads need it), also after Node's own children
  // came and went; Bun and Deno install none, and nothing of libuv is touched there.
  async sigchld() {
    const addon = require(path.join(path.dirname(require.resolve("pawwork-supervisor/package.json")), "build", "Release", "pawwork_supervisor.node"))
    await bounded(new Promise((resolve, reject) => spawn("true").once("exit", resolve).once("error", reject)), 5000, "child_process spawn")
    const s = addon.childSignalState()
    if (process.versions.bun || process.versions.deno) {
      assert(s.host === (process.versions.bun ? "bun" : "deno") && s.pinned === false, `state ${JSON.stringify(s)}`)
    } else {
      assert(s.host === "node" && s.pinned === true && s.handler === "handler" && s.onStack === true, `state ${JSON.stringify(s)}`)
    }
    return `${s.host}: pinned ${s.pinned}, handler ${s.handler}, SA_ONSTACK ${s.onStack}`
  },

  async worker() {
    const w = new Worker(__filename, { workerData: { mode: "worker" } })
    const result = await bounded(new Promise((resolve, reject) => {
      w.once("message", resolve)
      w.once("error", reject)
      w.once("exit", (code) => reject(new Error(`worker exited ${code} without an answer`)))
    }), 15_000, "the worker's answer")
    await bounded(w.terminate(), 5000, "worker terminate")
    assert(result.ok, `worker: ${result.error}`)
    return result.detail
  },
}

async function host() {
  const trees = []
  for (let i = 0; i < 3; i++) trees.push(await startTree({}))
  const c = containment()
  process.stdout.write(JSON.stringify({ mode: c.mode, reason: c.reason, pids: trees.flatMap((t) => t.pids) }) + "\n")
  setInterval(() => {}, 1000) // wait to be killed
}

async function inWorker() {
  try {
    const child = supervise(["sh", "-c", "echo from-worker"], { stdout: "pipe" })
    const out = collect(child.stdout)
    const o = await bounded(child.outcome, 10_000, "outcome in the worker")
    if (o.code !== 0 || out() !== "from-worker\n") throw new Error(`code ${o.code} stdout ${JSON.stringify(out())}`)
    parentPort.postMessage({ ok: true, detail: `output read in a Worker, ${o.containment}` })
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.stack || err) })
  }
}

async function main() {
  let failed = 0
  const started = Date.now()
  for (const [name, check] of Object.entries(checks)) {
    const t0 = Date.now()
    try {
      const detail = await check()
      console.log(`ok   ${runtime.padEnd(14)} ${name.padEnd(11)} ${detail} (${Date.now() - t0} ms)`)
    } catch (err) {
      failed++
      console.log(`FAIL ${runtime.padEnd(14)} ${name.padEnd(11)} ${err && err.message} (${Date.now() - t0} ms)`)
    }
  }
  // The per-host helper is ours and stays while we run; anything else is a leak.
  const helper = containment().helperPid
  const leftover = children(process.pid).filter((p) => p !== helper && alive(p))
  if (leftover.length > 0) {
    failed++
    console.log(`FAIL ${runtime.padEnd(14)} leftovers   children still alive: ${leftover.join(",")}`)
  }
  console.log(`${failed === 0 ? "ok  " : "FAIL"} ${runtime.padEnd(14)} all         ${failed} failed, ${Date.now() - started} ms`)
  process.exit(failed === 0 ? 0 : 1)
}

if (!isMainThread && workerData && workerData.mode === "worker") inWorker()
else if (process.argv.includes("--host")) host()
else main()
