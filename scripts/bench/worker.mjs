// One round of one measure for one implementation, in a fresh host process (so that RSS,
// fds and the library's state start clean): `node worker.mjs '<json job>'`. Prints one JSON
// object on its last stdout line. Started by scripts/bench.js, under Node 24.
//   job: { measure, impl, root, benchDir, floor, ...sizes }
// Every wait is bounded; a bound that fires is said in the result (bound: true).
import cp from "node:child_process"
import fs from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"

const job = JSON.parse(process.argv[2])
const require = createRequire(import.meta.url)
const { alive } = require(path.join(job.root, "scripts", "procfs.cjs"))
const BOUND_MS = job.boundMs ?? 60_000

const now = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const withBound = (p, ms, what) =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(Object.assign(new Error(`bound ${ms} ms fired: ${what}`), { bound: true })))])

function status(pid = "self") {
  const text = fs.readFileSync(`/proc/${pid}/status`, "latin1")
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN)
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), threads: kb("Threads") }
}
const fdCount = () => fs.readdirSync("/proc/self/fd").length
// CPU (ms) of a process from /proc/<pid>/stat: utime+stime, and cutime+cstime (its reaped children).
const TICK = 100
function procCpu(pid = "self") {
  try {
    const t = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
    const f = t.slice(t.lastIndexOf(")") + 2).split(" ")
    return { own: ((+f[11] + +f[12]) * 1000) / TICK, children: ((+f[13] + +f[14]) * 1000) / TICK }
  } catch {
    return { own: 0, children: 0 }
  }
}
// Everything this measure burns that we can see: the host (precise, cpuUsage), its reaped
// children (ticks), and the helper with its reaped children when the implementation uses one.
// ownOnly leaves out the helper's reaped children: where they were started before the mark
// (the tree measure), their whole life's CPU (a hundred execs) would land in the helper's
// children at their reap, while another implementation's orphans are reaped by init,
// out of sight; counting them made the helper's tree cancel look ten times dearer.
function cpuMark(helperPid, ownOnly = false) {
  const u = process.cpuUsage()
  const self = procCpu()
  // The helper's own CPU and its reaped children's: in helper mode the children are its.
  const h = helperPid ? procCpu(helperPid) : { own: 0, children: 0 }
  const helper = h.own + (ownOnly ? 0 : h.children)
  return { host: (u.user + u.system) / 1000, children: self.children, helper }
}
function cpuSince(m0, helperPid, ownOnly = false) {
  const m1 = cpuMark(helperPid, ownOnly)
  return { host: m1.host - m0.host, children: m1.children - m0.children, helper: m1.helper - m0.helper, total: m1.host - m0.host + m1.children - m0.children + m1.helper - m0.helper }
}
// Resets VmHWM to the current RSS (Linux ≥ 4.0), so that a later VmHWM is this phase's peak.
function resetPeak() {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5")
    return true
  } catch {
    return false
  }
}

async function waitGone(pids, ms) {
  const t0 = now()
  let i = 0
  while (i < pids.length) {
    if (!alive(pids[i])) {
      i++
      continue
    }
    if (now() - t0 > ms) break
    await sleep(1)
  }
  const left = pids.filter(alive)
  for (const p of left) {
    try {
      process.kill(p, "SIGKILL")
    } catch {}
  }
  return left.length
}

// --- the implementations, each used the way its documentation says -------------------
let lib
async function impl(name) {
  switch (name) {
    case "ours":
    case "ours-nohelper": {
      lib ??= require(job.root)
      const info = lib.containment()
      return { lib, helperPid: info.helperPid, mode: info.mode, cgroup: info.cgroup || "" }
    }
    case "execa":
      return { execa: (await import("execa")).execa }
    case "nano-spawn":
      return { spawn: (await import(path.join(job.benchDir, "node_modules", "nano-spawn", "source", "index.js"))).default }
    case "tinyexec":
      return { x: (await import(path.join(job.benchDir, "node_modules", "tinyexec", "dist", "main.mjs"))).x }
    case "tree-kill":
      return { treeKill: require("tree-kill") }
    default:
      return {}
  }
}

// Spawn /bin/true (stdout and stderr piped) until exit + close: one promise.
function spawnTrue(name, m) {
  switch (name) {
    case "ours":
    case "ours-nohelper": {
      const c = m.lib.supervise(["/bin/true"], { stdout: "pipe", stderr: "pipe" })
      c.stdout.resume()
      c.stderr.resume()
      return c.outcome
    }
    case "cp":
      return new Promise((resolve, reject) => {
        const c = cp.spawn("/bin/true", [], { stdio: ["ignore", "pipe", "pipe"] })
        c.once("error", reject)
        c.once("close", resolve)
      })
    case "execa":
      return m.execa("/bin/true")
    case "nano-spawn":
      return m.spawn("/bin/true")
    case "tinyexec":
      return m.x("/bin/true", [], { throwOnError: true })
  }
  throw new Error(`spawn: no implementation ${name}`)
}

async function measureSpawn(name) {
  const m = await impl(name)
  const n = job.spawns
  // Live children of the same implementation held while measuring (bench-scale).
  const held = []
  for (let i = 0; i < (job.live ?? 0); i++) held.push(startSleeper(name, m))
  await withBound(Promise.all(held.map((h) => h.spawned)), BOUND_MS, "held children spawned")
  for (let i = 0; i < 10; i++) await spawnTrue(name, m) // warm: loading a library is not a spawn
  const ms = []
  const c0 = cpuMark(m.helperPid)
  const t = now()
  for (let i = 0; i < n && now() - t < BOUND_MS; i++) {
    const t0 = now()
    await withBound(spawnTrue(name, m), BOUND_MS, "spawn → exit+close")
    ms.push(now() - t0)
  }
  const cpu = cpuSince(c0, m.helperPid)
  const perSpawn = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / ms.length]))
  await cancelAll(name, m, held)
  return { ms, cpuMs: perSpawn, mode: m.mode, bound: ms.length < n }
}

// A live `sleep 1000` with stdout and stderr piped: { pid, spawned, cancel(), done }.
function startSleeper(name, m) {
  const argv = ["/bin/sleep", "1000"]
  switch (name) {
    case "ours":
    case "ours-nohelper": {
      const c = m.lib.supervise(argv, { stdout: "pipe", stderr: "pipe" })
      c.stdout.resume()
      c.stderr.resume()
      c.outcome.catch(() => {})
      const spawned = new Promise((r) => c.once("spawn", r))
      return { pid: c.pid, spawned, cancel: () => c.cancel(), done: c.outcome }
    }
    case "cp": {
      const c = cp.spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
      const done = new Promise((r) => c.once("close", r))
      return { pid: c.pid, spawned: new Promise((r) => c.once("spawn", r)), cancel: () => (c.kill("SIGTERM"), done), done }
    }
    case "execa": {
      const s = m.execa(argv[0], argv.slice(1), { reject: false })
      // execa's subprocess is no EventEmitter: a pid means the fork succeeded.
      const spawned = s.pid ? Promise.resolve() : Promise.reject(new Error("execa: no pid"))
      return { pid: s.pid, spawned, cancel: () => (s.kill(), s), done: s }
    }
    case "nano-spawn": {
      const s = m.spawn(argv[0], argv.slice(1))
      s.catch(() => {})
      const node = s.nodeChildProcess
      const h = { pid: undefined, spawned: node.then((c) => (h.pid = c.pid)), cancel: () => node.then((c) => c.kill()).then(() => s.catch(() => {})), done: s.catch(() => {}) }
      return h
    }
    case "tinyexec": {
      const p = m.x(argv[0], argv.slice(1))
      const done = Promise.resolve(p).catch(() => {})
      const spawned = new Promise((r) => (p.process.pid ? r() : p.process.once("spawn", r)))
      return { pid: p.pid, spawned, cancel: () => (p.kill(), done), done }
    }
  }
  throw new Error(`sleeper: no implementation ${name}`)
}

async function cancelAll(name, m, held) {
  if (!held.length) return 0
  await Promise.all(held.map((h) => h.cancel()))
  return waitGone(held.map((h) => h.pid).filter(Boolean), 10_000)
}

// 1000 live children: host RSS and fds per child, then all cancelled at once → all gone.
async function measureLive(name) {
  const n = job.live
  if (name === "floor") {
    const r = JSON.parse(cp.execFileSync(job.floor, ["cancel", String(n)], { timeout: BOUND_MS * 2 }).toString())
    return { cancelMs: r.ms, cancelCpuMs: { total: r.cpuMs }, spawnMs: r.spawnMs, left: 0 }
  }
  const m = await impl(name)
  await cancelAll(name, m, [startSleeper(name, m)]) // warm: the library is loaded
  await sleep(100)
  const helper0 = m.helperPid ? status(m.helperPid).rss : 0
  const s0 = status(), f0 = fdCount()
  const held = []
  const t0 = now()
  for (let i = 0; i < n; i++) held.push(startSleeper(name, m))
  let bound = false
  try {
    await withBound(Promise.all(held.map((h) => h.spawned)), BOUND_MS, "1000 spawned")
  } catch {
    bound = true
  }
  const spawnMs = now() - t0
  await sleep(300)
  const s1 = status(), f1 = fdCount()
  const helper1 = m.helperPid ? status(m.helperPid).rss : 0
  const pids = held.map((h) => h.pid).filter(Boolean)
  resetPeak()
  const c0 = cpuMark(m.helperPid)
  const t1 = now()
  let left = 0
  try {
    await withBound(Promise.all(held.map((h) => h.cancel())), BOUND_MS, "cancel of all")
    left = await waitGone(pids, BOUND_MS)
  } catch {
    bound = true
    left = await waitGone(pids, 1000)
  }
  const cancelMs = now() - t1
  const cancelCpuMs = cpuSince(c0, m.helperPid)
  const s2 = status()
  return {
    mode: m.mode,
    n,
    spawnMs,
    rssKbPerChild: (s1.rss - s0.rss) / n,
    rssMb: (s1.rss - s0.rss) / 1024,
    helperRssMb: (helper1 - helper0) / 1024,
    fdsPerChild: (f1 - f0) / n,
    threads: s1.threads,
    cancelMs,
    cancelCpuMs,
    cancelPeakMb: (s2.hwm - s1.rss) / 1024,
    left,
    bound,
  }
}

// Cancel a 101-process TERM-respecting tree → no member left in /proc (time and CPU).
async function measureTree(name) {
  const script = path.join(job.benchDir0, "tree101.sh")
  const k = job.trees
  if (name === "floor") {
    const r = JSON.parse(cp.execFileSync(job.floor, ["tree", script, String(k), "101"], { timeout: BOUND_MS * 2 }).toString())
    return { ms: r.ms, cpuMs: r.cpuMs, left: r.left, bound: !!r.bound }
  }
  const m = await impl(name)
  const ms = [], cpuMs = []
  let left = 0, bound = false
  for (let r = 0; r < k; r++) {
    const h = startTree(name, m, script)
    let text = ""
    h.stdout.on("data", (b) => (text += b))
    const t = now()
    while ((text.match(/^pid /gm)?.length ?? 0) < 101 && now() - t < BOUND_MS) await sleep(2)
    const pids = [...text.matchAll(/^pid \w+ (\d+)$/gm)].map((x) => Number(x[1]))
    const c0 = cpuMark(m.helperPid, true)
    const t0 = now()
    try {
      await withBound(h.cancel(), BOUND_MS, "tree cancel")
    } catch {
      bound = true
    }
    const l = await waitGone(pids, BOUND_MS)
    ms.push(now() - t0)
    cpuMs.push(cpuSince(c0, m.helperPid, true).total)
    if (l) bound = true
    left += l
  }
  return { ms, cpuMs, left, bound, mode: m.mode }
}

function startTree(name, m, script) {
  const argv = ["/bin/sh", script]
  const closed = (c) => new Promise((r) => c.once("close", r))
  switch (name) {
    case "ours":
    case "ours-nohelper": {
      const c = m.lib.supervise(argv, { stdout: "pipe", stderr: "ignore", graceMs: 2000 })
      c.outcome.catch(() => {})
      return { stdout: c.stdout, cancel: () => c.cancel() }
    }
    case "cp": {
      const c = cp.spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", "pipe", "ignore"] })
      const done = closed(c)
      return { stdout: c.stdout, cancel: () => (process.kill(-c.pid, "SIGTERM"), done) }
    }
    case "tree-kill": {
      const c = cp.spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] })
      const done = closed(c)
      return { stdout: c.stdout, cancel: () => new Promise((r) => m.treeKill(c.pid, "SIGTERM", r)).then(() => done) }
    }
    case "execa": {
      const ac = new AbortController()
      const s = m.execa(argv[0], argv.slice(1), { stdout: "pipe", stderr: "ignore", buffer: false, reject: false, cancelSignal: ac.signal, killDescendants: true, forceKillAfterDelay: 2000 })
      return { stdout: s.stdout, cancel: () => (ac.abort(), s) }
    }
  }
  throw new Error(`tree: no implementation ${name}`)
}

// N bytes of stdout counted in JS: MB/s, host CPU per GiB.
async function measureThroughput(name) {
  const bytes = job.bytes
  const argv = ["head", "-c", String(bytes), "/dev/zero"]
  if (name === "floor") {
    const r = JSON.parse(cp.execFileSync(job.floor, ["read", String(bytes)], { timeout: BOUND_MS * 2 }).toString())
    return { mbps: bytes / 1e6 / (r.ms / 1000), cpuMsPerGiB: { host: (r.cpuMs * 2 ** 30) / bytes } }
  }
  const m = await impl(name)
  await throughputOnce(name, m, ["head", "-c", "1000000", "/dev/zero"], 1e6) // warm
  const c0 = cpuMark(m.helperPid)
  const t0 = now()
  await withBound(throughputOnce(name, m, argv, bytes), BOUND_MS, "throughput")
  const ms = now() - t0
  const cpu = cpuSince(c0, m.helperPid)
  const perGiB = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, (v * 2 ** 30) / bytes]))
  return { mbps: bytes / 1e6 / (ms / 1000), cpuMsPerGiB: perGiB }
}

function throughputOnce(name, m, argv, bytes) {
  let got = 0
  const count = (b) => (got += b.length)
  const check = () => {
    if (got !== bytes) throw new Error(`${name} got ${got} of ${bytes} bytes`)
  }
  switch (name) {
    case "ours":
    case "ours-nohelper": {
      const c = m.lib.supervise(argv, { stdout: "pipe", stderr: "ignore" })
      c.stdout.on("data", count)
      return c.outcome.then(check)
    }
    case "cp":
      return new Promise((resolve, reject) => {
        const c = cp.spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] })
        c.stdout.on("data", count)
        c.once("error", reject)
        c.once("close", () => resolve(check()))
      })
    case "execa": {
      const s = m.execa(argv[0], argv.slice(1), { stdout: "pipe", stderr: "ignore", buffer: false })
      s.stdout.on("data", count)
      return s.then(check)
    }
  }
  throw new Error(`throughput: no implementation ${name}`)
}

// run() of N bytes: peak RSS above the host's before, per byte of output.
async function measureRun(name) {
  const bytes = job.runBytes
  const argv = ["head", "-c", String(bytes), "/dev/zero"]
  if (name === "floor") {
    const r = JSON.parse(cp.execFileSync(job.floor, ["collect", String(bytes)], { timeout: BOUND_MS * 2 }).toString())
    return { peakMb: (r.peakKb - r.baseKb) / 1024, ms: r.ms }
  }
  const m = await impl(name)
  const runOnce = (a) => {
    switch (name) {
      case "ours":
        return m.lib.Process.run(a).then((r) => r.stdout.length)
      case "cp":
        return new Promise((resolve, reject) =>
          cp.execFile(a[0], a.slice(1), { encoding: "buffer", maxBuffer: Infinity }, (err, out) => (err ? reject(err) : resolve(out.length))),
        )
      case "execa":
        return m.execa(a[0], a.slice(1), { encoding: "buffer" }).then((r) => r.stdout.length)
      case "nano-spawn":
        return m.spawn(a[0], a.slice(1)).then((r) => r.stdout.length)
      case "tinyexec":
        return m.x(a[0], a.slice(1), { throwOnError: true }).then((r) => r.stdout.length)
    }
    throw new Error(`run: no implementation ${name}`)
  }
  await runOnce(["head", "-c", "1000", "/dev/zero"]) // warm: the library is loaded
  globalThis.gc?.()
  await sleep(50)
  const s0 = status()
  resetPeak()
  const t0 = now()
  const len = await withBound(runOnce(argv), BOUND_MS, "run")
  const ms = now() - t0
  const s1 = status()
  if (len !== bytes && !(name === "nano-spawn" || name === "tinyexec")) throw new Error(`${name} run kept ${len} of ${bytes}`)
  return { peakMb: (s1.hwm - s0.rss) / 1024, ms, kept: len }
}

const MEASURES = { spawn: measureSpawn, live: measureLive, tree: measureTree, throughput: measureThroughput, run: measureRun }

async function main() {
  if (job.measure === "spawn" && job.impl === "floor") {
    const r = JSON.parse(cp.execFileSync(job.floor, ["spawn", String(job.spawns)], { timeout: BOUND_MS * 2 }).toString())
    return r
  }
  return MEASURES[job.measure](job.impl)
}

main().then(
  (r) => {
    process.stdout.write("\n" + JSON.stringify(r) + "\n")
    process.exit(0)
  },
  (err) => {
    process.stdout.write("\n" + JSON.stringify({ error: String(err?.stack ?? err), bound: !!err?.bound }) + "\n")
    process.exit(0)
  },
)
