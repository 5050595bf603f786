// Benchmarks (not tests) of issue 16's goals, every implementation side by side in one run:
// ours (with the helper, and without: PAWWORK_SUPERVISOR_HELPER=0), child_process (cp),
// execa 10, nano-spawn, tinyexec, tree-kill where it applies, and C floors
// (scripts/bench/floor.c). Implementations alternate round by round (the order rotates),
// and every round of every measure runs in a fresh host process (scripts/bench/worker.mjs),
// so that RSS, fds and the library's state start clean. One table per measure
// (implementation | median | p99 | ×cp | ×floor | CPU …) with the load average at its start
// and end, and build/bench/results.json for the report's chart.
//   node scripts/bench.js            the goals table's measures  (make bench)
//   node scripts/bench.js --scale    the growth tables           (make bench-scale)
// Environment: BENCH_ROUNDS (3; the 1000-children measure runs one round fewer),
// BENCH_SPAWNS (100), BENCH_LIVE (1000), BENCH_TREES (4 per round), BENCH_MB (1024),
// BENCH_RUN_MB (100), BENCH_OUT (build/bench), BENCH_ONLY (comma-separated measure ids),
// BENCH_ALL=1 (nano-spawn and tinyexec in the 1000-children measure too).
// Needs: make bench's build/bench/floor and build/bench/node_modules; Node ≥ 22 (execa 10).
"use strict"
const cp = require("node:child_process")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { stat: procStat } = require("./procfs.cjs")

const ROOT = path.resolve(__dirname, "..")
const OUT = path.resolve(ROOT, process.env.BENCH_OUT || "build/bench")
const BENCH_DIR = path.join(ROOT, "build", "bench") // nano-spawn, tinyexec, floor
const FLOOR = path.join(BENCH_DIR, "floor")
const WORKER = path.join(__dirname, "bench", "worker.mjs")
const SCALE = process.argv.includes("--scale")
const env = (k, d) => (process.env[k] ? Number(process.env[k]) : d)
const ROUNDS = env("BENCH_ROUNDS", SCALE ? 2 : 3)
const SPAWNS = env("BENCH_SPAWNS", SCALE ? 50 : 100)
const LIVE = env("BENCH_LIVE", 1000)
const TREES = env("BENCH_TREES", 4)
const BYTES = env("BENCH_MB", 1024) * 2 ** 20
const RUN_BYTES = env("BENCH_RUN_MB", 100) * 1e6
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(",") : null
const WORKER_BOUND_MS = 180_000

const pct = (xs, p) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN
}
const median = (xs) => pct(xs, 50)
const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number)
// The zombies pid 1 holds: an init that reaps slowly keeps every orphan that ended under
// it, and each of our looks without a cgroup lists pid 1's children (a stat read per
// zombie once every pid_max microseconds): context for the tree and cancel figures.
function initZombies() {
  let n = 0
  try {
    for (const t of fs.readdirSync("/proc/1/task")) {
      for (const pid of fs.readFileSync(`/proc/1/task/${t}/children`, "utf8").split(" ").filter(Boolean)) {
        if (procStat(Number(pid))?.state === "Z") n++
      }
    }
  } catch {
    return undefined
  }
  return n
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// One worker: a fresh host for one round of one measure of one implementation.
function runWorker(job) {
  const impl = job.impl
  const envv = { ...process.env }
  if (impl === "ours-nohelper") envv.PAWWORK_SUPERVISOR_HELPER = "0"
  else delete envv.PAWWORK_SUPERVISOR_HELPER
  const full = { root: ROOT, benchDir: BENCH_DIR, benchDir0: path.join(__dirname, "bench"), floor: FLOOR, ...job }
  return new Promise((resolve) => {
    const argv = [process.execPath, "--expose-gc", WORKER, JSON.stringify(full)]
    // reapingInit: the worker runs in a private pid namespace under a shell as its
    // init, which reaps every orphan at once (as systemd, tini or a desktop's
    // subreaper do); the worker's own pid namespace also keeps what it signals there.
    const [cmd, ...args] = job.reapingInit ? [...REAPING_INIT, ...argv] : argv
    const c = cp.spawn(cmd, args, { env: envv, stdio: ["ignore", "pipe", "pipe"] })
    let out = "", err = ""
    c.stdout.on("data", (b) => (out += b))
    c.stderr.on("data", (b) => (err += b))
    const timer = setTimeout(() => c.kill("SIGKILL"), WORKER_BOUND_MS)
    c.once("close", (code, sig) => {
      clearTimeout(timer)
      const last = out.trim().split("\n").pop()
      try {
        resolve(JSON.parse(last))
      } catch {
        resolve({ error: `worker ${impl}/${job.measure} ended ${code ?? sig} without a result${sig === "SIGKILL" ? ` (bound ${WORKER_BOUND_MS} ms fired)` : ""}: ${err.slice(-400)}`, bound: sig === "SIGKILL" })
      }
    })
  })
}

// A private pid namespace whose init is bash: `wait` there reaps any child, orphans
// included. setsid first, so that no signal of the namespace's reaches our group.
const REAPING_INIT = ["setsid", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "/bin/bash", "-c", '"$@" & wait $!', "bash"]

// Whether this machine lets us make one (root, or a kernel that lets us: else the
// measure that needs it is left out, and says so).
function reapingInitWorks() {
  try {
    cp.execFileSync(REAPING_INIT[0], [...REAPING_INIT.slice(1), "true"], { stdio: "ignore", timeout: 10_000 })
    return true
  } catch {
    return false
  }
}

const REAPING_INIT_OK = (!ONLY || ONLY.includes("tree-init")) && reapingInitWorks()

// Background load: processes on the machine that are not ours to measure.
async function withProcs(kind, n, fn) {
  if (!n) return fn()
  const hold = []
  for (let i = 0; i < n; i++) {
    const h = cp.spawn(FLOOR, kind === "hold" ? ["hold", String(n)] : ["busy"], { stdio: ["pipe", "pipe", "inherit"], detached: true })
    hold.push(h)
    if (kind === "hold") break
  }
  if (kind === "hold") {
    const h = hold[0]
    let text = ""
    h.stdout.on("data", (b) => (text += b))
    const t0 = Date.now()
    while (!text.includes("ready") && Date.now() - t0 < 30_000) await sleep(10)
    if (!text.includes("ready")) throw new Error("floor hold: not ready within 30 s")
  }
  try {
    return await fn()
  } finally {
    for (const h of hold) {
      h.stdin.end() // the holder ends its children and exits
      if (kind === "busy") h.kill("SIGKILL")
      await new Promise((r) => (h.exitCode !== null || h.signalCode !== null ? r() : h.once("close", r)))
    }
  }
}

// Runs one measure: rounds × implementations (rotated each round), each in a fresh worker.
async function measure(spec) {
  const load0 = loadavg()
  const z0 = initZombies()
  const byImpl = Object.fromEntries(spec.impls.map((i) => [i, []]))
  const t0 = Date.now()
  const rounds = spec.rounds ?? ROUNDS
  for (let r = 0; r < rounds; r++) {
    const order = spec.impls.map((_, k) => spec.impls[(k + r) % spec.impls.length])
    await withProcs(spec.background?.kind, spec.background?.n ?? 0, async () => {
      for (const impl of order) {
        const res = await runWorker({ measure: spec.worker, impl, ...spec.job })
        byImpl[impl].push(res)
        if (res.error) console.error(`  ${spec.id} ${impl} round ${r + 1}: ${res.error.split("\n")[0]}`)
      }
    })
  }
  const load1 = loadavg()
  return { byImpl, load: [load0, load1], initZombies: [z0, initZombies()], seconds: (Date.now() - t0) / 1000 }
}

const ok = (rs) => rs.filter((r) => !r.error)
const flat = (rs, f) => ok(rs).flatMap((r) => [].concat(f(r) ?? []))

// A table: rows of { impl, samples, cpu, extra }; ratios against cp and the floor.
function table(spec, run, pick) {
  const rows = spec.impls.map((impl) => {
    const rs = run.byImpl[impl]
    const p = pick(rs, impl)
    return {
      impl,
      median: median(p.samples),
      p99: pct(p.samples, 99),
      n: p.samples.length,
      cpu: p.cpu && p.cpu.length ? median(p.cpu) : undefined,
      extra: p.extra ?? {},
      errors: rs.filter((r) => r.error).map((r) => r.error.split("\n")[0]),
      bound: rs.some((r) => r.bound),
      mode: ok(rs)[0]?.mode,
    }
  })
  const ref = (id) => rows.find((r) => r.impl === id)?.median
  for (const r of rows) {
    r.xcp = r.median / ref("cp")
    r.xfloor = r.median / ref("floor")
  }
  return { id: spec.id, title: spec.title, unit: spec.unit, higherIsBetter: !!spec.higherIsBetter, cpuLabel: spec.cpuLabel, extraLabels: spec.extraLabels ?? {}, rows, load: run.load, initZombies: run.initZombies, seconds: run.seconds, note: spec.note }
}

const f = (v, d = 2) => (v === undefined || !Number.isFinite(v) ? "–" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(d))

function printTable(t) {
  const extra = Object.entries(t.extraLabels)
  const z = t.initZombies?.some((n) => n > 0) ? `, pid 1 held ${t.initZombies.join(" → ")} zombies` : ""
  console.log(`\n### ${t.title} (${t.unit}${t.higherIsBetter ? ", higher is better" : ""}) — load ${t.load[0].join(" ")} → ${t.load[1].join(" ")}${z}, ${t.seconds.toFixed(0)} s`)
  if (t.note) console.log(t.note)
  const head = ["implementation", "median", "p99", "×cp", "×floor", ...(t.cpuLabel ? [t.cpuLabel] : []), ...extra.map(([, l]) => l)]
  console.log(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`)
  for (const r of t.rows) {
    const name = r.impl + (r.mode && r.impl.startsWith("ours") ? ` (${r.mode})` : "") + (r.n === 0 && r.errors.length ? " — no result" : "") + (r.bound ? " — bound fired" : "")
    const cells = [name, f(r.median), f(r.p99), f(r.xcp), f(r.xfloor), ...(t.cpuLabel ? [f(r.cpu)] : []), ...extra.map(([k]) => f(r.extra[k]))]
    console.log(`| ${cells.join(" | ")} |`)
  }
  for (const r of t.rows) for (const e of new Set(r.errors)) console.log(`  ${r.impl}: ${e}`)
}

// --- the goals table's measures -----------------------------------------------------
const SPAWN_IMPLS = ["ours", "ours-nohelper", "cp", "execa", "nano-spawn", "tinyexec", "floor"]
const spawnPick = (rs) => ({ samples: flat(rs, (r) => r.ms), cpu: flat(rs, (r) => r.cpuMs?.total) })

function goals() {
  const live = ["ours", "ours-nohelper", "cp", "execa", ...(process.env.BENCH_ALL ? ["nano-spawn", "tinyexec"] : []), "floor"]
  return [
    { id: "spawn", worker: "spawn", title: "spawn /bin/true → exit + close", unit: "ms", impls: SPAWN_IMPLS, job: { spawns: SPAWNS }, cpuLabel: "CPU ms/spawn", tables: [[null, spawnPick]] },
    {
      id: "spawn-others",
      worker: "spawn",
      title: `spawn /bin/true → exit + close with ${LIVE} other idle processes on the machine`,
      unit: "ms",
      impls: ["ours", "ours-nohelper", "cp", "floor"],
      job: { spawns: SPAWNS },
      background: { kind: "hold", n: LIVE },
      cpuLabel: "CPU ms/spawn",
      extraLabels: { plus: "+ms vs none" },
      tables: [[null, spawnPick]],
    },
    {
      id: "cancel-live",
      worker: "live",
      title: `cancel ${LIVE} live children at once → all confirmed gone in /proc`,
      unit: "ms",
      impls: live,
      rounds: Math.max(1, ROUNDS - 1),
      // A cancel still unconfirmed after 30 s is reported as a bound fired (the quadratic
      // fallback needed 23.6 s for 1000 on a quiet machine): the run stays within minutes.
      job: { live: LIVE, boundMs: 30_000 },
      cpuLabel: "CPU ms",
      extraLabels: { peakMb: "RSS peak during cancel, MB", left: "left alive" },
      tables: [
        [null, (rs) => ({ samples: flat(rs, (r) => r.cancelMs), cpu: flat(rs, (r) => r.cancelCpuMs?.total), extra: { peakMb: median(flat(rs, (r) => r.cancelPeakMb)), left: flat(rs, (r) => r.left).reduce((a, b) => a + b, 0) } })],
        [
          { id: "live-rss", title: `${LIVE} live children (sleep, stdout+stderr piped): host RSS growth`, unit: "MB", cpuLabel: undefined, extraLabels: { fds: "fds per child", kbPerChild: "KB per child", helperMb: "helper RSS +MB", spawnMs: `spawn all ${LIVE}, ms` } },
          (rs) => ({ samples: flat(rs, (r) => r.rssMb), extra: { fds: median(flat(rs, (r) => r.fdsPerChild)), kbPerChild: median(flat(rs, (r) => r.rssKbPerChild)), helperMb: median(flat(rs, (r) => r.helperRssMb)), spawnMs: median(flat(rs, (r) => r.spawnMs)) } }),
        ],
      ],
    },
    ...[
      ["tree", "", false],
      // This machine's pid 1 may not reap orphans (this VM's does not): then every
      // killed member that outlived its parent stays its zombie for the rest of the
      // run, and a cancel without a cgroup, which lists the children of each place
      // an orphan can land, reads a pile that grows round by round. The same measure
      // under an init that reaps at once shows what a machine with one costs.
      ["tree-init", ", in a private pid namespace whose init reaps orphans at once", true],
    ]
      .filter(([, , init]) => !init || REAPING_INIT_OK)
      .map(([id, where, reapingInit]) => ({
        id,
        worker: "tree",
        title: `cancel a TERM-respecting 101-process tree → no member left in /proc${where}`,
        unit: "ms",
        impls: ["ours", "ours-nohelper", "cp", "execa", "tree-kill", "floor"],
        job: { trees: TREES, reapingInit },
        cpuLabel: "CPU ms (host+its reaped children+helper, not the helper's reaped members)",
        note: "cp: detached + process.kill(-pid, SIGTERM); execa: killDescendants via cancelSignal; tree-kill: treeKill(pid, SIGTERM); floor: killpg(SIGTERM).",
        tables: [[null, (rs) => ({ samples: flat(rs, (r) => r.ms), cpu: flat(rs, (r) => r.cpuMs), extra: {} })]],
      })),
    ...[
      ["throughput", "quiet", 0],
      ["throughput-loaded", "with two busy loops on the machine", 2],
    ].map(([id, what, busy]) => ({
      id,
      worker: "throughput",
      title: `${BYTES / 2 ** 20} MiB of stdout to a JS byte counter, ${what}`,
      unit: "MB/s",
      higherIsBetter: true,
      impls: ["ours", "cp", "execa", "floor"],
      job: { bytes: BYTES },
      background: { kind: "busy", n: busy },
      cpuLabel: "host CPU ms/GiB",
      extraLabels: { total: "CPU ms/GiB incl. head" },
      note: "nano-spawn and tinyexec hand out child_process's own stdout stream for this (the cp row); ours-nohelper reads output by the same path as ours.",
      tables: [[null, (rs) => ({ samples: flat(rs, (r) => r.mbps), cpu: flat(rs, (r) => r.cpuMsPerGiB?.host), extra: { total: median(flat(rs, (r) => r.cpuMsPerGiB?.total)) } })]],
    })),
    {
      id: "run",
      worker: "run",
      title: `Process.run (and each library's buffered run) of ${RUN_BYTES / 1e6} MB of stdout: peak RSS growth`,
      unit: "MB",
      impls: ["ours", "cp", "execa", "nano-spawn", "tinyexec", "floor"],
      job: { runBytes: RUN_BYTES },
      extraLabels: { xout: "× output", ms: "ms" },
      note: "cp: execFile, encoding buffer, maxBuffer Infinity; execa: encoding buffer; nano-spawn and tinyexec keep a string; floor: realloc-doubling C buffer.",
      tables: [[null, (rs) => ({ samples: flat(rs, (r) => r.peakMb), extra: { xout: median(flat(rs, (r) => r.peakMb)) / (RUN_BYTES / 2 ** 20), ms: median(flat(rs, (r) => r.ms)) } })]],
    },
  ]
}

// --- bench-scale: growth tables -------------------------------------------------------
function scale() {
  const specs = []
  for (const live of [0, 100, 1000]) {
    specs.push({ id: `scale-live-${live}`, group: "spawn cost with N live children of the host", x: live, worker: "spawn", title: `spawn → exit + close with ${live} live children of the same host`, unit: "ms", impls: ["ours", "ours-nohelper", "cp"], job: { spawns: SPAWNS, live }, cpuLabel: "CPU ms/spawn", tables: [[null, spawnPick]] })
  }
  for (const others of [0, 1000]) {
    specs.push({ id: `scale-others-${others}`, group: "spawn cost with N other processes on the machine", x: others, worker: "spawn", title: `spawn → exit + close with ${others} other processes on the machine`, unit: "ms", impls: ["ours", "ours-nohelper", "cp", "floor"], job: { spawns: SPAWNS }, background: { kind: "hold", n: others }, cpuLabel: "CPU ms/spawn", tables: [[null, spawnPick]] })
  }
  for (const n of [100, 250, 500, 1000]) {
    specs.push({
      id: `scale-cancel-${n}`,
      group: "cancel all of N live children",
      x: n,
      worker: "live",
      title: `cancel ${n} live children at once → all gone`,
      unit: "ms",
      impls: ["ours", "ours-nohelper", "cp", "floor"],
      rounds: Math.max(1, ROUNDS - 1),
      job: { live: n, boundMs: 30_000 },
      cpuLabel: "CPU ms",
      extraLabels: { peakMb: "RSS peak during cancel, MB", left: "left alive" },
      tables: [[null, (rs) => ({ samples: flat(rs, (r) => r.cancelMs), cpu: flat(rs, (r) => r.cancelCpuMs?.total), extra: { peakMb: median(flat(rs, (r) => r.cancelPeakMb)), left: flat(rs, (r) => r.left).reduce((a, b) => a + b, 0) } })]],
    })
  }
  return specs
}

async function main() {
  for (const need of [FLOOR, path.join(BENCH_DIR, "node_modules", "nano-spawn"), path.join(BENCH_DIR, "node_modules", "tinyexec")]) {
    if (!fs.existsSync(need)) throw new Error(`${need} is missing: run through make bench (it builds the floors and installs the bench dependencies)`)
  }
  if (!SCALE && !REAPING_INIT_OK) console.log("(no private pid namespace here: the tree-init measure is left out)")
  const specs = (SCALE ? scale() : goals()).filter((s) => !ONLY || ONLY.includes(s.id))
  const load0 = loadavg()
  const t0 = Date.now()
  console.log(`${SCALE ? "bench-scale" : "bench"}: node ${process.version}, ${os.cpus().length} cpus, ${ROUNDS} rounds, load ${load0.join(" ")}`)
  const tables = []
  for (const spec of specs) {
    const run = await measure(spec)
    for (const [over, pick] of spec.tables) {
      const t = table({ ...spec, ...(over ?? {}) }, run, pick)
      t.group = spec.group
      t.x = spec.x
      tables.push(t)
      printTable(t)
    }
  }
  // Spawn with others on the machine: the cost those others add, against the plain spawn table.
  const plain = tables.find((t) => t.id === "spawn")
  const others = tables.find((t) => t.id === "spawn-others")
  if (plain && others) {
    for (const r of others.rows) r.extra.plus = r.median - (plain.rows.find((p) => p.impl === r.impl)?.median ?? NaN)
    console.log(`\n(spawn with ${LIVE} others, +ms vs none: ${others.rows.map((r) => `${r.impl} ${f(r.extra.plus)}`).join(", ")})`)
  }
  const load1 = loadavg()
  const seconds = (Date.now() - t0) / 1000
  console.log(`\nload ${load0.join(" ")} → ${load1.join(" ")}; ${seconds.toFixed(0)} s`)
  const results = { kind: SCALE ? "bench-scale" : "bench", date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, rounds: ROUNDS, load: [load0, load1], seconds, tables }
  fs.mkdirSync(OUT, { recursive: true })
  const file = path.join(OUT, SCALE ? "scale.json" : "results.json")
  fs.writeFileSync(file, JSON.stringify(results, null, 1))
  console.log(`wrote ${path.relative(ROOT, file)}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
