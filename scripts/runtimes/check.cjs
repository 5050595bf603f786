// One script, every runtime (make test-runtimes): Node 20/22/24, Bun, Deno, each loading
// pawwork-supervisor from a fresh project's node_modules (the packed tarball installed),
// with PATH holding only that runtime. Plain CommonJS so that every runtime runs it as is.
//
//   <runtime> check.cjs            every check; prints one line per check, exits 1 on any failure
//   <runtime> check.cjs --host     (internal) a host that starts trees and waits to be killed
//   <runtime> check.cjs --tree     (internal, Windows) a tree's leader: starts two escapers
//   worker mode                    (internal) the Worker check's body
//
// Every wait is bounded; a fired bound is a failure that says which bound.
//
// Windows (make test-windows-node: node.exe under Wine, loading the mingw-built addon):
// the same checks, with Windows fixtures. A tree is this script's --tree leader (Node),
// whose two `ping` children are started detached (out of libuv's own job, in a new
// process group) and whose pids it prints; containment is a Job Object ("job"), also for
// the host's death (kill-on-close). What only POSIX has is skipped, by name, with why.
"use strict"
const fs = require("node:fs")
const path = require("node:path")
const { spawn } = require("node:child_process")
const { Worker, isMainThread, parentPort, workerData } = require("node:worker_threads")

const pkg = require("pawwork-supervisor")
const { supervise, containment } = pkg

const win = process.platform === "win32"
// Under Wine a Node start takes about a second (several under load): Windows bounds are wider.
const slow = win ? 4 : 1
const runtime = process.versions.bun ? `bun ${process.versions.bun}` : process.versions.deno ? `deno ${process.versions.deno}` : `node ${process.version}`
// How this runtime runs a script (Deno needs `run -A`).
const runArgs = (file, ...rest) => (process.versions.deno ? ["run", "-A", file, ...rest] : [file, ...rest])

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function bounded(promise, ms, what) {
  ms *= slow
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`bound fired: ${what} took over ${ms} ms`)), ms) }),
  ])
}

function alive(pid) {
  if (win) {
    // libuv's kill(pid, 0): OpenProcess, then "still active" from GetExitCodeProcess.
    try {
      process.kill(pid, 0)
      return true
    } catch (err) {
      return err.code === "EPERM"
    }
  }
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
  ms *= slow
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

// Every pid a check saw, for the final leftover check.
const seen = new Set()

// Windows: a tree of three, this script's --tree leader and its two detached pings; the
// leader prints their pids on its stdout.
async function startWinTree(options) {
  const child = supervise([process.execPath, __filename, "--tree"], { stdout: "pipe", stderr: "ignore", ...options })
  let text = ""
  child.stdout.on("data", (d) => { text += d })
  await bounded(new Promise((resolve, reject) => { child.once("spawn", resolve); child.once("error", reject) }), 5000, "spawn")
  const line = await waitFor("the leader's two pings", 15_000, () => text.includes("\n") && text.slice(0, text.indexOf("\n")))
  const pids = [child.pid, ...JSON.parse(line).pids]
  for (const p of pids) seen.add(p)
  assert(pids.every(alive), `tree ${pids.join(",")}: not every member alive at start`)
  return { child, pids }
}

// A tree of three: sh and two sleeps; resolves with all three pids once they exist.
async function startTree(options) {
  if (win) return startWinTree(options)
  const child = supervise(["sh", "-c", "sleep 60 & sleep 60 & wait"], { stdout: "ignore", stderr: "ignore", ...options })
  await bounded(new Promise((resolve, reject) => { child.once("spawn", resolve); child.once("error", reject) }), 5000, "spawn")
  const pids = await waitFor("the tree's two sleeps", 5000, () => { const t = tree(child.pid); return t.length >= 3 ? t : undefined })
  for (const p of pids) seen.add(p)
  return { child, pids }
}

// Windows: the tree leader started by child_process and ended alone (TerminateProcess):
// its two detached pings must still run, else the tree checks prove nothing.
async function escapersOutliveLeader() {
  const leader = spawn(process.execPath, [__filename, "--tree"], { stdio: ["ignore", "pipe", "ignore"] })
  let text = ""
  leader.stdout.on("data", (d) => { text += d })
  const line = await waitFor("the control leader's two pings", 15_000, () => text.includes("\n") && text.slice(0, text.indexOf("\n")))
  const pings = JSON.parse(line).pids
  for (const p of pings) seen.add(p)
  const exited = new Promise((r) => leader.once("exit", r))
  leader.kill("SIGKILL")
  await bounded(exited, 5000, "the control leader's exit")
  await sleep(1000)
  const survivors = pings.filter(alive)
  for (const p of pings) try { process.kill(p, "SIGKILL") } catch {}
  await waitFor(`control pings ${pings.join(",")} gone after their own kill`, 5000, () => !pings.some(alive))
  assert(survivors.length === pings.length, `control: only ${survivors.length} of 2 escapers outlived their leader: the tree checks would prove nothing`)
  return "; control: 2 detached escapers outlived their unsupervised leader"
}

// A check that cannot run on this platform: printed as "skip", with why.
class Skip extends Error {}

const checks = {
  async output() {
    const argv = win ? ["cmd.exe", "/d", "/c", "echo out& echo err>&2& exit 3"] : ["sh", "-c", "echo out; echo err >&2; exit 3"]
    const nl = win ? "\r\n" : "\n"
    const child = supervise(argv, { stdout: "pipe", stderr: "pipe" })
    const out = collect(child.stdout)
    const err = collect(child.stderr)
    const o = await bounded(child.outcome, 10_000, "outcome")
    assert(o.code === 3 && o.reason === "exit", `code ${o.code} reason ${o.reason}, want 3 exit`)
    assert(out() === `out${nl}` && err() === `err${nl}`, `stdout ${JSON.stringify(out())} stderr ${JSON.stringify(err())}`)
    return `code 3, stdout and stderr whole, ${o.containment}`
  },

  // 4 MiB through the stream, every chunk kept and checked only at the end: a runtime
  // whose Buffers the binding fills wrongly, or memory reused while JS still holds a
  // chunk, shows here as bytes out of place.
  async bulk() {
    if (win) throw new Skip("POSIX sh only (the producer is a shell loop; Windows' output path is the same binding)")
    const block = "0123456789abcdef"
    const script = `s=${block}; n=0; while [ $n -lt 14 ]; do s="$s$s"; n=$((n+1)); done; i=0; while [ $i -lt 16 ]; do printf %s "$s"; i=$((i+1)); done`
    const total = block.length * 2 ** 14 * 16
    const child = supervise(["sh", "-c", script], { stdout: "pipe", stderr: "ignore" })
    const kept = []
    child.stdout.on("data", (d) => kept.push(d))
    const o = await bounded(child.outcome, 30_000, "outcome")
    await waitFor("stdout 'end'", 5000, () => child.stdout.readableEnded)
    assert(o.code === 0 && o.stdoutBytes === total, `code ${o.code}, stdoutBytes ${o.stdoutBytes}, want 0 and ${total}`)
    let at = 0
    for (const d of kept) {
      assert(Buffer.isBuffer(d), `a chunk is a ${Object.prototype.toString.call(d)}, not a Buffer`)
      for (let i = 0; i < d.length; i++) {
        if (d[i] !== block.charCodeAt((at + i) % block.length)) throw new Error(`byte ${at + i} is ${d[i]}, not ${block.charCodeAt((at + i) % block.length)}`)
      }
      at += d.length
    }
    assert(at === total, `${at} bytes kept, want ${total}`)
    return `${total} bytes whole in ${kept.length} chunks kept to the end`
  },

  async cancelTree() {
    // Windows: first a control, so that this check can fail: the same leader started by
    // child_process (no Job Object of ours) and ended alone leaves its pings running.
    const control = win ? await escapersOutliveLeader() : ""
    const ac = new AbortController()
    const { child, pids } = await startTree({ signal: ac.signal, graceMs: 1000 })
    ac.abort()
    const o = await bounded(child.outcome, 10_000, "outcome after abort")
    assert(o.reason === "abort", `reason ${o.reason}, want abort`)
    await waitFor(`tree ${pids.join(",")} gone`, 5000, () => pids.every((p) => !alive(p)))
    return `reason abort, ${pids.length} members gone${control}`
  },

  async timeout() {
    // Windows: the leader (a Node) must have started its pings before the timeout fires.
    const timeoutMs = win ? 10_000 : 300
    const { child, pids } = await startTree({ timeoutMs, graceMs: 500 })
    const o = await bounded(child.outcome, 10_000 + timeoutMs, `outcome after timeoutMs ${timeoutMs}`)
    assert(o.reason === "timeout", `reason ${o.reason}, want timeout`)
    await waitFor(`tree ${pids.join(",")} gone`, 5000, () => pids.every((p) => !alive(p)))
    return `reason timeout, ${pids.length} members gone`
  },

  async hostKilled() {
    // Under qemu-user (make test-arm64) only the first Node is emulated: a second one,
    // started here, is exec'd by the host kernel, which cannot run an arm64 binary
    // without binfmt_misc (machine-wide state a test must not change).
    if (process.env.PWS_CHECK_EMULATED) throw new Skip(`a second ${process.arch} Node cannot be exec'd under qemu-user without binfmt_misc`)
    const host = spawn(process.execPath, runArgs(__filename, "--host"), { stdio: ["ignore", "pipe", "inherit"] })
    const line = await bounded(new Promise((resolve, reject) => {
      let text = ""
      host.stdout.on("data", (d) => { text += d; const nl = text.indexOf("\n"); if (nl >= 0) resolve(text.slice(0, nl)) })
      host.once("exit", (code, sig) => reject(new Error(`host ended early: ${code ?? sig}`)))
    }), 15_000, "the host's trees")
    const { mode, reason, pids } = JSON.parse(line)
    for (const p of pids) seen.add(p)
    const exited = new Promise((r) => host.once("exit", r))
    process.kill(host.pid, "SIGKILL")
    await bounded(exited, 5000, "host exit after SIGKILL")
    try {
      const want = win ? "job" : "helper"
      assert(mode === want, `containment ${mode} (${reason}), want ${want}`)
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
    if (win) throw new Skip("POSIX only: Windows has no SIGCHLD (the addon pins nothing there)")
    // The addon the resolver loads in an installed project: the platform package's (the
    // main package ships no binaries; this project runs on glibc, not musl).
    const target = `${process.platform}-${process.arch}${process.platform === "linux" ? "-gnu" : ""}`
    const addon = require(path.join(path.dirname(require.resolve(`@pawwork-supervisor/${target}/package.json`)), "pawwork_supervisor.node"))
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
    const argv = win ? ["cmd.exe", "/d", "/c", "echo from-worker"] : ["sh", "-c", "echo from-worker"]
    const child = supervise(argv, { stdout: "pipe" })
    const out = collect(child.stdout)
    const o = await bounded(child.outcome, 10_000, "outcome in the worker")
    if (o.code !== 0 || out() !== (win ? "from-worker\r\n" : "from-worker\n")) throw new Error(`code ${o.code} stdout ${JSON.stringify(out())}`)
    parentPort.postMessage({ ok: true, detail: `output read in a Worker, ${o.containment}` })
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.stack || err) })
  }
}

// Windows: a tree's leader. Its two pings are detached (DETACHED_PROCESS, a new process
// group, and outside the job libuv puts its own children in), so only the supervisor's
// Job Object holds them.
function treeLeader() {
  const pids = []
  for (let i = 0; i < 2; i++) {
    const p = spawn("ping.exe", ["-n", "300", "127.0.0.1"], { detached: true, stdio: "ignore" })
    p.unref()
    pids.push(p.pid)
  }
  process.stdout.write(JSON.stringify({ pids }) + "\n")
  setInterval(() => {}, 1000) // wait to be ended with the tree
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
      if (err instanceof Skip) {
        console.log(`skip ${runtime.padEnd(14)} ${name.padEnd(11)} ${err.message}`)
        continue
      }
      failed++
      console.log(`FAIL ${runtime.padEnd(14)} ${name.padEnd(11)} ${err && err.message} (${Date.now() - t0} ms)`)
    }
  }
  // The per-host helper is ours and stays while we run; anything else is a leak.
  const helper = containment().helperPid
  // Windows has no /proc: every process a check started must be gone.
  const leftover = win ? [...seen].filter(alive) : children(process.pid).filter((p) => p !== helper && alive(p))
  if (leftover.length > 0) {
    failed++
    console.log(`FAIL ${runtime.padEnd(14)} leftovers   children still alive: ${leftover.join(",")}`)
  }
  console.log(`${failed === 0 ? "ok  " : "FAIL"} ${runtime.padEnd(14)} all         ${failed} failed, ${Date.now() - started} ms`)
  process.exit(failed === 0 ? 0 : 1)
}

if (!isMainThread && workerData && workerData.mode === "worker") inWorker()
else if (process.argv.includes("--host")) host()
else if (process.argv.includes("--tree")) treeLeader()
else main()
