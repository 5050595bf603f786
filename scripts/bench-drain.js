// Benchmarks (not tests) for issue 4, "every byte, bounded time": the native supervisor
// beside Node's child_process and our legacy baseline, in the same run.
//   node scripts/bench-drain.js [--runs 50] [--cancels 200] [--gb 2] [--only timeout,lost,memory]
//
// 1. Timeout overshoot: a run-time limit of 200 ms; how long after it the call settles
//    (p50/p99 over --runs). native: supervise({ timeoutMs }) until `outcome`;
//    child_process: spawn({ timeout }) until 'close' (what a caller reading the output
//    waits for); legacy: the baseline's way (AbortSignal fired by a timer, Process.run
//    until it settles). Two trees: a lone `sleep`, and a `sleep` that left a grandchild
//    holding stdout for 1.5 s (what stalled PawWork's shell tool).
// 2. Bytes lost to a cancel at a random moment (--cancels runs): fixtures/numbered-writer.js
//    records outside the pipe how many bytes it wrote before the SIGTERM; lost = written
//    minus what is in the JS stream (read, or buffered in a paused one) when the API says
//    the child is done; "never delivered" counts at the stream's end. Patterns: spawn + abort, output
//    read when `exited` resolves (the shell tool's pattern), the same with a slow reader,
//    and run() + abort.
// 3. Host memory with a --gb writer (head -c) and a reader that pauses 50 ms every 64 MB
//    and once for 2 s: peak RSS growth of a fresh Node process (its consumed Buffers
//    included, until V8 collects them).
const cp = require("node:child_process")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { supervise, legacy, native } = require("..")

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : def
}
const RUNS = Number(opt("runs", 50))
const CANCELS = Number(opt("cancels", 200))
const GB = Number(opt("gb", 2))
const ONLY = new Set(String(opt("only", "timeout,lost,memory")).split(","))
const WRITER = path.join(__dirname, "..", "fixtures", "numbered-writer.js")

const now = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const rows = []
const row = (...cells) => {
  rows.push(cells)
  if (!process.env.PWS_BENCH_MEMORY_CHILD) console.error("  " + cells.join(" | "))
}

// ---------------------------------------------------------------------------------------
// 1. timeout overshoot

const LIMIT = 200
const TREES = {
  "lone sleep": ["sleep", "30"],
  "grandchild holds stdout 1.5 s": ["sh", "-c", "sleep 1.5 & exec sleep 30"],
}

function overshootNative(cmd) {
  const t0 = now()
  const c = supervise(cmd, { stdout: "pipe", stderr: "pipe", timeoutMs: LIMIT, graceMs: 2000 })
  c.stdout.resume()
  c.stderr.resume()
  return c.outcome.then((o) => {
    if (o.reason !== "timeout") throw new Error(`native: reason ${o.reason}`)
    return now() - t0 - LIMIT
  })
}

function overshootNode(cmd) {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const c = cp.spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"], timeout: LIMIT })
    c.stdout.resume()
    c.stderr.resume()
    c.once("error", reject)
    c.once("close", () => resolve(now() - t0 - LIMIT))
  })
}

async function overshootLegacy(cmd) {
  const t0 = now()
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), LIMIT)
  await legacy.run(cmd, { abort: ac.signal, timeout: 2000, nothrow: true })
  clearTimeout(timer)
  return now() - t0 - LIMIT
}

async function benchTimeout() {
  console.error(`timeout overshoot: limit ${LIMIT} ms, ${RUNS} runs each`)
  for (const [tree, cmd] of Object.entries(TREES)) {
    for (const [impl, fn] of [["native", overshootNative], ["child_process timeout", overshootNode], ["legacy (abort + run)", overshootLegacy]]) {
      const xs = []
      for (let i = 0; i < RUNS; i++) xs.push(await fn(cmd))
      row(`timeout overshoot, ${tree} (ms)`, impl, pct(xs, 50).toFixed(1), pct(xs, 99).toFixed(1))
    }
  }
}

// ---------------------------------------------------------------------------------------
// 2. bytes lost to a random cancel

async function waitReady(file) {
  const deadline = Date.now() + 20_000
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`)
    await sleep(2)
  }
}

/**
 * spawn + abort; received is counted when `exited` resolves, and again at stdout's 'end'. A
 * slow consumer (paused 20 ms after every MB) leaves output in the pipe at the exit.
 */
async function lostSpawn(P, dir, i, slow = false) {
  const progress = path.join(dir, `spawn-${i}`)
  const ac = new AbortController()
  const c = P.spawn([process.execPath, WRITER, progress], { stdout: "pipe", abort: ac.signal, timeout: 10_000 })
  let received = 0
  c.stdout.on("data", (b) => {
    const before = received
    received += b.length
    if (slow && before >> 20 !== received >> 20) {
      c.stdout.pause()
      setTimeout(() => c.stdout.resume(), 20)
    }
  })
  // 'end', not 'close': a paused stream does not hold 'close', its data is still coming.
  const closed = new Promise((r) => c.stdout.once("end", r))
  await waitReady(progress + ".ready")
  await sleep(Math.random() * 200)
  ac.abort()
  await c.exited
  // In the stream: read, or buffered in it while the reader is paused.
  const atExited = received + c.stdout.readableLength
  await closed
  const written = Number(fs.readFileSync(progress, "utf8"))
  return [written - atExited, written - received, written]
}

/** run() + abort: what the result holds. */
async function lostRun(P, dir, i) {
  const progress = path.join(dir, `run-${i}`)
  const ac = new AbortController()
  const run = P.run([process.execPath, WRITER, progress], { abort: ac.signal, timeout: 10_000, nothrow: true })
  await waitReady(progress + ".ready")
  await sleep(Math.random() * 200)
  ac.abort()
  const r = await run
  const written = Number(fs.readFileSync(progress, "utf8"))
  return [written - r.stdout.length, written - r.stdout.length, written]
}

async function benchLost() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pws-bench-drain-"))
  console.error(`bytes lost: ${CANCELS} random cancels per pattern and implementation`)
  try {
    const slowSpawn = (P, d, i) => lostSpawn(P, d, i, true)
    for (const [pattern, fn] of [["spawn + abort, read at exited", lostSpawn], ["spawn + abort, slow reader, read at exited", slowSpawn], ["run + abort", lostRun]]) {
      for (const [impl, P] of [["native", native], ["legacy", legacy]]) {
        let lostAtSettle = 0, lostForever = 0, runsLosing = 0, written = 0
        for (let i = 0; i < CANCELS; i++) {
          const [a, b, w] = await fn(P, dir, `${pattern.replace(/\W+/g, "-")}-${impl}-${i}`)
          lostAtSettle += a
          lostForever += b
          written += w
          if (a > 0) runsLosing++
        }
        row(`bytes lost, ${pattern}`, impl, `${lostAtSettle} B lost in ${runsLosing}/${CANCELS} runs`, `${lostForever} B never delivered; ${(written / 1e6).toFixed(0)} MB written`)
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------
// 3. host memory with a large writer and a pausing reader

function memoryRun(impl, bytes) {
  return new Promise((resolve, reject) => {
    global.gc?.()
    const rss0 = process.memoryUsage().rss
    let peak = rss0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10)
    const t0 = now()
    const cmd = ["head", "-c", String(bytes), "/dev/zero"]
    const c = impl === "native" ? supervise(cmd, { stdout: "pipe" }) : cp.spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "ignore"] })
    let received = 0
    let longDone = false
    c.stdout.on("data", (b) => {
      const before = received
      received += b.length
      if (Math.floor(before / (64 << 20)) === Math.floor(received / (64 << 20))) return
      c.stdout.pause()
      const long = !longDone && received >= bytes / 2
      if (long) longDone = true
      setTimeout(() => c.stdout.resume(), long ? 2000 : 50)
    })
    c.once("error", reject)
    c.once("close", () => {
      clearInterval(sampler)
      if (received !== bytes) return reject(new Error(`${impl}: received ${received} of ${bytes}`))
      resolve([(peak - rss0) / 1e6, now() - t0])
    })
  })
}

async function benchMemory() {
  if (!process.env.PWS_BENCH_MEMORY_CHILD) {
    // In a fresh process: garbage left by the other measurements would hide growth.
    const r = cp.spawnSync(process.execPath, [__filename, "--only", "memory", "--gb", String(GB)], {
      env: { ...process.env, PWS_BENCH_MEMORY_CHILD: "1" },
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    })
    if (r.status !== 0) throw new Error(`memory benchmark failed: ${r.status ?? r.signal}`)
    for (const line of r.stdout.split("\n")) if (line.startsWith("| peak")) rows.push(line.slice(2, -2).split(" | "))
    return
  }
  const bytes = GB * 2 ** 30
  // Loading the Go runtime (a few MB, once per process) is not growth caused by output.
  await supervise(["true"]).outcome
  console.error(`memory: ${GB} GiB writer, reader pausing 50 ms every 64 MiB and once 2 s`)
  for (const impl of ["native", "child_process"]) {
    const [growth, ms] = await memoryRun(impl, bytes)
    row(`peak RSS growth, ${GB} GiB through a pausing reader (MB)`, impl, growth.toFixed(1), `${(ms / 1000).toFixed(1)} s`)
  }
}

async function main() {
  if (!process.env.PWS_BENCH_MEMORY_CHILD) console.error(`node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`)
  if (ONLY.has("timeout")) await benchTimeout()
  if (ONLY.has("lost")) await benchLost()
  if (ONLY.has("memory")) await benchMemory()
  console.log("\n| measure | implementation | p50 / total | p99 / detail |\n|---|---|---|---|")
  for (const r of rows) console.log(`| ${r.join(" | ")} |`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
