// Benchmarks (not tests): spawn latency and stdout throughput, the native supervisor
// side by side with Node's own child_process in the same run.
//   node scripts/bench.js [--spawns N] [--mb N] [--rounds N]
const cp = require("node:child_process")
const { supervise } = require("..")

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : def
}
const SPAWNS = opt("spawns", 200)
const MB = opt("mb", 200)
const ROUNDS = opt("rounds", 5)

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const median = (xs) => pct(xs, 50)
const now = () => Number(process.hrtime.bigint()) / 1e6

// Spawn latency: from the call to the 'spawn' event (the child exists and runs).
function spawnNative() {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const c = supervise(["/bin/true"])
    let t1
    c.once("spawn", () => (t1 = now()))
    c.once("error", reject)
    c.outcome.then(() => resolve(t1 - t0), reject)
  })
}
function spawnNode() {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const c = cp.spawn("/bin/true", [], { stdio: ["ignore", "pipe", "pipe"] })
    let t1
    c.once("spawn", () => (t1 = now()))
    c.once("error", reject)
    c.once("close", () => resolve(t1 - t0))
  })
}
// Whole round trip: spawn until the exit is known and the output closed.
function roundtrip(fn) {
  return async () => {
    const t0 = now()
    await fn()
    return now() - t0
  }
}

async function series(fn, n) {
  const out = []
  for (let i = 0; i < n; i++) out.push(await fn())
  return out
}

// Host CPU (user + system ms of this process) per run: on a loaded machine a steadier
// measure of our own cost than the wall clock.
const cpuSince = (c0) => {
  const d = process.cpuUsage(c0)
  return (d.user + d.system) / 1000
}

function throughputNative(bytes) {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const c0 = process.cpuUsage()
    let got = 0
    const c = supervise(["head", "-c", String(bytes), "/dev/zero"], { stdout: "pipe" })
    c.stdout.on("data", (b) => (got += b.length))
    c.once("error", reject)
    c.outcome.then(() => {
      if (got !== bytes) return reject(new Error(`native got ${got} of ${bytes}`))
      resolve([bytes / 1e6 / ((now() - t0) / 1000), cpuSince(c0)])
    }, reject)
  })
}
function throughputNode(bytes) {
  return new Promise((resolve, reject) => {
    const t0 = now()
    const c0 = process.cpuUsage()
    let got = 0
    const c = cp.spawn("head", ["-c", String(bytes), "/dev/zero"], { stdio: ["ignore", "pipe", "ignore"] })
    c.stdout.on("data", (b) => (got += b.length))
    c.once("error", reject)
    c.once("close", () => {
      if (got !== bytes) return reject(new Error(`node got ${got} of ${bytes}`))
      resolve([bytes / 1e6 / ((now() - t0) / 1000), cpuSince(c0)])
    })
  })
}

async function main() {
  console.log(`node ${process.version}, ${SPAWNS} spawns, ${MB} MB x ${ROUNDS} rounds`)
  // Warm both paths (loading the addon and the Go runtime is not spawn latency).
  await series(spawnNative, 10)
  await series(spawnNode, 10)
  const rows = []
  const sn = await series(spawnNative, SPAWNS)
  const sc = await series(spawnNode, SPAWNS)
  rows.push(["spawn → 'spawn' (ms)", "native", median(sn), pct(sn, 99)])
  rows.push(["spawn → 'spawn' (ms)", "child_process", median(sc), pct(sc, 99)])
  const rn = await series(roundtrip(spawnNative), SPAWNS)
  const rc = await series(roundtrip(spawnNode), SPAWNS)
  rows.push(["spawn → exit+close (ms)", "native", median(rn), pct(rn, 99)])
  rows.push(["spawn → exit+close (ms)", "child_process", median(rc), pct(rc, 99)])
  const bytes = MB * 1e6
  const tn = [], tc = [], cn = [], cc = []
  for (let i = 0; i < ROUNDS; i++) {
    const [n, ncpu] = await throughputNative(bytes)
    const [c, ccpu] = await throughputNode(bytes)
    tn.push(n), cn.push(ncpu), tc.push(c), cc.push(ccpu)
  }
  rows.push([`stdout ${MB} MB (MB/s)`, "native", median(tn), Math.min(...tn)])
  rows.push([`stdout ${MB} MB (MB/s)`, "child_process", median(tc), Math.min(...tc)])
  rows.push([`stdout ${MB} MB host CPU (ms)`, "native", median(cn), Math.max(...cn)])
  rows.push([`stdout ${MB} MB host CPU (ms)`, "child_process", median(cc), Math.max(...cc)])
  console.log("\n| measure | implementation | p50 / median | p99 / worst |\n|---|---|---|---|")
  for (const [m, impl, a, b] of rows) console.log(`| ${m} | ${impl} | ${a.toFixed(3)} | ${b.toFixed(3)} |`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
