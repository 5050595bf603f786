// Benchmarks (not tests) for tree containment:
//  - spawn latency of /bin/true through the helper, without it, and with child_process;
//  - time from cancel to a confirmed-empty tree for spawn-tree.sh (1), stubborn-members.sh
//    (5) and fork-storm.sh (7), with and without the helper (graceMs 300);
//  - time from SIGKILL of a host holding a dozen trees to none of their processes alive.
//   node scripts/bench-tree.js [--spawns N] [--cancels N] [--deaths N]
// Each mode runs in its own Node process: the helper choice is made once per process.
const cp = require("node:child_process")
const path = require("node:path")
const { alive } = require("./procfs.cjs")

const ROOT = path.resolve(__dirname, "..")
const fx = (n) => path.join(ROOT, "fixtures", n)
const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : def
}
const SPAWNS = Number(opt("spawns", 200))
const CANCELS = Number(opt("cancels", 20))
const DEATHS = Number(opt("deaths", 5))

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const now = () => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const fmt = (xs) => `p50 ${pct(xs, 50).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms`

async function worker(mode) {
  const out = {}
  if (mode === "cp") {
    const lat = []
    for (let i = 0; i < SPAWNS; i++) {
      await new Promise((resolve, reject) => {
        const t0 = now()
        const c = cp.spawn("/bin/true", [], { stdio: ["ignore", "pipe", "pipe"] })
        c.once("spawn", () => lat.push(now() - t0))
        c.once("error", reject)
        c.once("close", resolve)
      })
    }
    out.spawn = lat
    return out
  }
  process.env.PAWWORK_SUPERVISOR_HELPER = mode === "helper" ? "" : "0"
  const { supervise, containment } = require(ROOT)
  out.mode = containment().mode
  const lat = []
  for (let i = 0; i < SPAWNS; i++) {
    const t0 = now()
    const c = supervise(["/bin/true"], { stdout: "pipe", stderr: "pipe" })
    c.once("spawn", () => lat.push(now() - t0))
    c.stdout.resume()
    c.stderr.resume()
    await c.outcome
  }
  out.spawn = lat
  out.cancel = {}
  for (const [name, fxArgs, settle] of [["spawn-tree.sh", [], 0], ["stubborn-members.sh", [], 0], ["fork-storm.sh", ["8"], 150]]) {
    const times = []
    let leaked = 0
    for (let i = 0; i < CANCELS; i++) {
      const c = supervise(["sh", fx(name), ...fxArgs], { stdout: "pipe", graceMs: 300 })
      let text = ""
      c.stdout.on("data", (b) => (text += b))
      const t = now()
      while (!text.includes("ready") && now() - t < 10_000) await sleep(5)
      if (settle) await sleep(settle)
      const pids = [...text.matchAll(/^pid \w+ (\d+)$/gm)].map((m) => Number(m[1]))
      const t0 = now()
      await c.cancel()
      times.push(now() - t0)
      leaked += pids.filter(alive).length
    }
    out.cancel[name] = { times, leaked }
  }
  return out
}

async function hostDeath() {
  const times = []
  let leaked = 0
  for (let i = 0; i < DEATHS; i++) {
    // A dozen trees under the helper; the host waits for the SIGKILL below.
    const h = cp.spawn(process.execPath, [fx("tree-host.js"), ROOT, "", "wait"], { stdio: ["ignore", "pipe", "inherit"] })
    let text = ""
    h.stdout.on("data", (b) => (text += b))
    const t = now()
    while (!text.includes("ALLREADY") && now() - t < 20_000) await sleep(5)
    const pids = [...text.matchAll(/^pid \w+ (\d+)$/gm)].map((m) => Number(m[1]))
    const t0 = now()
    h.kill("SIGKILL")
    while (pids.some(alive) && now() - t0 < 5000) await sleep(1)
    times.push(now() - t0)
    const left = pids.filter(alive)
    leaked += left.length
    for (const p of left) try { process.kill(p, "SIGKILL") } catch {}
  }
  return { times, leaked }
}

async function main() {
  const mode = opt("worker", "")
  if (mode) {
    process.stdout.write(JSON.stringify(await worker(mode)))
    return
  }
  const run = (m) => JSON.parse(cp.execFileSync(process.execPath, [__filename, "--worker", m, ...args], { maxBuffer: 64 << 20 }).toString())
  const res = { cp: run("cp"), helper: run("helper"), fallback: run("fallback") }
  console.log(`spawn of /bin/true, call → 'spawn' (${SPAWNS} runs)`)
  console.log(`  child_process         ${fmt(res.cp.spawn)}`)
  console.log(`  native, helper        ${fmt(res.helper.spawn)}   (mode ${res.helper.mode})`)
  console.log(`  native, no helper     ${fmt(res.fallback.spawn)}   (mode ${res.fallback.mode})`)
  console.log(`cancel → confirmed-empty tree, graceMs 300 (${CANCELS} runs each)`)
  for (const name of Object.keys(res.helper.cancel)) {
    for (const m of ["helper", "fallback"]) {
      const { times, leaked } = res[m].cancel[name]
      console.log(`  ${name.padEnd(20)} ${m.padEnd(8)} median ${pct(times, 50).toFixed(1)} ms  p99 ${pct(times, 99).toFixed(1)} ms  leaked ${leaked}`)
    }
  }
  const d = await hostDeath()
  console.log(`SIGKILL of a host holding 12 trees → none alive (helper, ${DEATHS} runs): median ${pct(d.times, 50).toFixed(1)} ms, max ${Math.max(...d.times).toFixed(1)} ms, leaked ${d.leaked}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
