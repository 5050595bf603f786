#!/usr/bin/env node
// The comparison report: every fixture row × every implementation column, N repetitions
// per cell, each cell in its own host process bounded by this harness. Writes
// <out>/REPORT.md, <out>/report.html and <out>/results.json.
//
//   node scripts/report/run.mjs [--n 20] [--jobs 4] [--busy 0.9] [--out report] [--rows a,b] [--cols x,y]
//                               [--check]   (exit 1 unless native passes MUST_PASS, see below)
import { spawn } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { COLUMNS, NODE24, ROOT } from "./adapters.mjs"
import { alive, killRecorded, scanMarked, sleep } from "./procs.mjs"
import { busyBetween, cpuSample, whenIdle } from "./load.mjs"
import { cellCgroup, cpuMs, inCgroup, killAll, members, removeTree, runCgroup } from "./cgroup.mjs"
import { BOUNDS, DEFAULT_CONC, ROWS } from "./rows.mjs"
import { render, summarize } from "./render.mjs"
import { loadPerf } from "./perf.mjs"

/**
 * Rows the native column must pass in every repetition for --check (make test): all of
 * them — the design (../shared/DESIGN.md) promises each one on Linux.
 */
export const MUST_PASS = ROWS.map((r) => r.id)

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : process.argv[i + 1]
}

const N = Number(arg("n", "20"))
const JOBS = Number(arg("jobs", "4"))
// New cells and repetitions start only while at most this fraction of the CPUs is busy
// (bounded waits; see load.mjs). 1 turns the gate off.
const BUSY = Number(arg("busy", "0.9"))
const OUT = path.resolve(arg("out", path.join(ROOT, "report")))
const rows = arg("rows") ? ROWS.filter((r) => arg("rows").split(",").includes(r.id)) : ROWS
const cols = arg("cols") ? COLUMNS.filter((c) => arg("cols").split(",").includes(c.id)) : COLUMNS
const CHECK = process.argv.includes("--check")

if (!fs.existsSync(path.join(ROOT, "dist", "index.js"))) {
  console.error("report: dist/ is missing; run `make` first (`make report` does)")
  process.exit(2)
}

const RUN = `r${process.pid}x${Date.now().toString(36)}`
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "pws-report-"))

/** A PATH without pgrep (or pkill/pidwait): every other command of /usr/bin and /bin. */
function pathWithoutPgrep() {
  const dir = path.join(TMP, "bin-nopgrep")
  fs.mkdirSync(dir)
  for (const src of ["/usr/local/bin", "/usr/bin", "/bin"]) {
    let names = []
    try {
      names = fs.readdirSync(src)
    } catch {
      continue
    }
    for (const n of names) {
      if (["pgrep", "pkill", "pidwait"].includes(n) || fs.existsSync(path.join(dir, n))) continue
      fs.symlinkSync(path.join(src, n), path.join(dir, n))
    }
  }
  return dir
}
const CGROUP = runCgroup(RUN) // per-cell CPU figures, when cgroups can be made here
const NOPGREP = rows.some((r) => r.noPgrep) ? pathWithoutPgrep() : undefined

/** Rough cost of a cell, so that the heaviest start first. */
function cellBoundMs(row) {
  const conc = Math.min(row.conc ?? DEFAULT_CONC, N)
  const perRep = BOUNDS.readyMs + BOUNDS.hangMs + BOUNDS.afterResultMs + 3000
  // Repetitions pass the load gate one at a time, each after at most gateMs.
  return Math.ceil(N / conc) * perRep + N * (BOUNDS.gateMs + 50) + 15000
}

const running = new Set() // cell hosts' pids (each leads its own group)

// Interrupted (Ctrl-C, SIGTERM): end every cell host and whatever carries the run's marker.
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    for (const pid of running) {
      try {
        process.kill(-pid, "SIGKILL")
      } catch {
        // gone
      }
    }
    killRecorded(scanMarked(RUN))
    killAll(CGROUP.dir)
    fs.rmSync(TMP, { recursive: true, force: true })
    console.error(`report: interrupted by ${sig}; cells and their processes killed`)
    process.exit(130)
  })
}

function runCell(row, col, index) {
  return new Promise((resolve) => {
    const mark = `${RUN}-${index}`
    const env = { ...process.env, ...col.env }
    if (row.noPgrep) env.PATH = NOPGREP
    const node = col.node24 ? NODE24 : process.execPath
    if (col.node24) env.PATH = `${path.dirname(NODE24)}:${env.PATH}`
    const args = [path.join(ROOT, "scripts", "report", "cell.mjs"), "--row", row.id, "--col", col.id, "--reps", String(N), "--mark", mark, "--tmp", TMP, "--busy", String(BUSY)]
    const t0 = Date.now()
    const cpu0 = cpuSample()
    const cg = cellCgroup(CGROUP.dir, `c${index}`)
    const [cmd, ...argv] = inCgroup(cg, [node, ...args])
    const child = spawn(cmd, argv, { env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    running.add(child.pid)
    const reps = []
    const pids = []
    let stderr = ""
    let buf = ""
    let ended = false
    child.stdout.on("data", (c) => {
      buf += c
      let nl
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let o
        try {
          o = JSON.parse(line)
        } catch {
          continue
        }
        if (o.t === "pid") pids.push({ pid: o.pid, start: o.start })
        else if (o.t === "rep") reps.push(o)
        else if (o.t === "end") ended = true
      }
    })
    child.stderr.on("data", (c) => (stderr = (stderr + c).slice(-4000)))
    let timedOut = false
    const bound = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // gone
      }
    }, cellBoundMs(row))
    child.on("close", async (code, signal) => {
      clearTimeout(bound)
      running.delete(child.pid)
      // Whatever the cell left behind — its own group, printed pids, anything carrying
      // its marker — is killed here and counted as leaked by the harness.
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        // the group is gone
      }
      await sleep(50)
      const left = [...scanMarked(mark), ...pids.filter((p) => alive(p.pid, p.start))]
      const uniq = [...new Map(left.map((p) => [p.pid, p])).values()]
      killRecorded(uniq)
      // What is still in the cell's cgroup carries no marker and printed no pid (a helper
      // shutting down, a ps a peer started): killed, counted apart, not as leaked.
      const unmarked = members(cg).length
      if (unmarked) killAll(cg)
      for (const until = Date.now() + 2000; members(cg).length && Date.now() < until; ) await sleep(20)
      const cpu = cpuMs(cg)
      removeTree(cg) // a populated one is retried at the end of the run
      const problems = []
      if (timedOut) problems.push(`cell exceeded the harness bound of ${cellBoundMs(row)} ms and was killed`)
      else if (!ended) problems.push(`cell host ended early (${signal ?? "code " + code}): ${stderr.trim().split("\n").slice(-1)[0] ?? ""}`)
      const done = new Set(reps.map((r) => r.i))
      for (let i = 0; i < N; i++) if (!done.has(i)) reps.push({ i, pass: false, why: problems.length ? problems : ["no result from the cell"], leaked: 0, lost: 0, ms: null })
      resolve({ row: row.id, col: col.id, reps, harnessLeaked: uniq.length, unmarkedKilled: unmarked, wallMs: Date.now() - t0, cpuMs: cpu, busy: busyBetween(cpu0, cpuSample()), stderr: stderr.trim() })
    })
  })
}

async function main() {
  const started = Date.now()
  const cells = []
  // A terminal row runs only in the columns with terminal sessions; a terminal-only column only in those rows.
  for (const row of rows) for (const col of cols) if (row.terminal ? col.terminal : !col.terminalOnly) cells.push({ row, col })
  // Longest first, so the tail of the run is short.
  const order = cells.map((c, i) => ({ ...c, i })).sort((a, b) => cellBoundMs(b.row) - cellBoundMs(a.row))
  console.log(`report: ${rows.length} fixtures × ${cols.length} implementations, N=${N}, up to ${JOBS} cells at a time while the CPUs are at most ${Math.round(BUSY * 100)}% busy, ${os.cpus().length} cores → ${OUT}`)
  const results = new Array(cells.length)
  let next = 0
  let finished = 0
  let active = 0
  let cellsPastGate = 0 // cells started because the gate's bound ran out, not because the CPUs had room
  async function worker(w) {
    // Workers start staggered; each further cell waits (bounded) for the CPUs to have room.
    await sleep(w * 500)
    while (next < order.length) {
      if (active > 0 && (await whenIdle(BUSY, BOUNDS.cellGateMs)).gave) cellsPastGate++
      if (next >= order.length) break
      const c = order[next++]
      active++
      const res = await runCell(c.row, c.col, c.i)
      active--
      results[c.i] = res
      finished++
      const s = summarize(res)
      const el = ((Date.now() - started) / 1000).toFixed(1)
      console.log(
        `[${String(finished).padStart(3)}/${cells.length}] ${el.padStart(6)}s  ${c.row.id.padEnd(20)} ${c.col.id.padEnd(16)} ${String(s.passes).padStart(2)}/${s.n} pass  leaked ${s.leaked}  lost ${s.lost}  median ${s.median === null ? "-" : Math.round(s.median) + " ms"}  (${(res.wallMs / 1000).toFixed(1)} s${res.cpuMs === null ? "" : `, CPU ${(res.cpuMs / 1000).toFixed(1)} s`}, machine ${Math.round((res.busy ?? 0) * 100)}% busy)`,
      )
    }
  }
  await Promise.all(Array.from({ length: JOBS }, (_, w) => worker(w)))
  const totalMs = Date.now() - started
  fs.rmSync(TMP, { recursive: true, force: true })
  let cgroupLeft = false
  for (const until = Date.now() + 2000; !removeTree(CGROUP.dir); await sleep(50)) {
    if (Date.now() > until) {
      cgroupLeft = true
      console.error(`report: ${CGROUP.dir} still holds processes; killed, left in place`)
      killAll(CGROUP.dir)
      break
    }
  }
  // The run ends with nothing of it alive: a last sweep over the run's marker.
  const stray = scanMarked(RUN)
  killRecorded(stray)
  const meta = {
    date: new Date().toISOString(),
    n: N,
    jobs: JOBS,
    busyGate: BUSY,
    cellsPastGate,
    cores: os.cpus().length,
    node: process.version,
    node24: COLUMNS.some((c) => c.node24) ? fs.existsSync(NODE24) : false,
    kernel: os.release(),
    totalMs,
    bounds: BOUNDS,
    strayAtEnd: stray.length,
    cpu: CGROUP.dir ? "per cell, from a cgroup v2 per cell host (cpu.stat usage)" : `not measured: ${CGROUP.why}`,
    cpuTotalMs: results.every((r) => r.cpuMs !== null) ? results.reduce((a, r) => a + r.cpuMs, 0) : null,
    cgroupLeft,
  }
  const data = { meta, rows: rows.map((r) => ({ id: r.id, title: r.title, drain: !!r.drain })), cols: cols.map((c) => ({ id: c.id, about: c.about, node24: !!c.node24 })), cells: results.map((r) => ({ ...r, summary: summarize(r) })) }
  fs.mkdirSync(OUT, { recursive: true })
  fs.writeFileSync(path.join(OUT, "results.json"), JSON.stringify(data, null, 1))
  const { md, html, svg } = render(data, loadPerf(ROOT))
  fs.writeFileSync(path.join(OUT, "REPORT.md"), md)
  fs.writeFileSync(path.join(OUT, "report.html"), html)
  if (svg) fs.writeFileSync(path.join(OUT, "performance.svg"), svg)
  console.log(`report: done in ${(totalMs / 1000).toFixed(1)} s; ${stray.length} stray processes at the end; wrote ${path.join(OUT, "REPORT.md")} and report.html`)
  if (CHECK) {
    const bad = data.cells.filter((c) => c.col === "native" && MUST_PASS.includes(c.row) && c.summary.passes !== c.summary.n)
    const missing = ["REPORT.md", "report.html"].filter((f) => !(fs.statSync(path.join(OUT, f), { throwIfNoEntry: false })?.size > 0))
    for (const c of bad) console.error(`report --check: native failed ${c.row}: ${c.summary.whys.map(([w, k]) => `${w} (${k}×)`).join("; ")}`)
    for (const f of missing) console.error(`report --check: ${f} was not written`)
    if (stray.length) console.error(`report --check: ${stray.length} processes of the run were still alive at the end`)
    if (bad.length || missing.length || stray.length || !data.cells.every((c) => c.reps.length === N)) process.exit(1)
    console.log("report --check: native passed every must-pass row; report files written; nothing left alive")
  }
}

await main()
