// One cell of the report (one fixture row × one implementation column), run in its own
// host process: `node cell.mjs --row R --col C --reps N --mark M --tmp DIR`. It prints
// one JSON object per line on stdout: {t:"pid",pid,start} for every printed pid (so the
// harness can kill them even if this host hangs), {t:"rep",i,...result}, {t:"end"}.
//
// `node cell.mjs --inner COL MARK FIXTURE` is the host of the signal rows: it starts the
// fixture through the column's adapter (forwardSignals on), relays its stdout, and idles
// like an application would until a signal ends it.
import path from "node:path"
import { COLUMNS, loadAdapter } from "./adapters.mjs"
import { BOUNDS, DEFAULT_CONC, FIXTURES, MARK_KEY, ROWS } from "./rows.mjs"
import { busyBetween, cpuSample, whenIdle } from "./load.mjs"
import { sleep } from "./procs.mjs"

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : process.argv[i + 1]
}

const STAGGER_MS = 30

const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n")

async function inner() {
  const [, , , col, mark, fixture] = process.argv
  const adapter = await loadAdapter(col)
  const env = { ...process.env, [MARK_KEY]: mark }
  const h = adapter.start(["/bin/sh", path.join(FIXTURES, fixture)], { env, graceMs: BOUNDS.graceMs, forwardSignals: true })
  if (!h.pid) {
    process.stderr.write(`spawn failed: ${JSON.stringify(await h.result)}\n`)
    process.exit(3)
  }
  process.stdout.write(`pid leader ${h.pid}\n`)
  h.stdout.on("data", (c) => process.stdout.write(c))
  h.result.then(() => {})
  setInterval(() => {}, 1 << 30) // an application keeps running
}

async function cell() {
  const row = ROWS.find((r) => r.id === arg("row"))
  const col = COLUMNS.find((c) => c.id === arg("col"))
  if (!row || !col) throw new Error(`unknown row/column ${arg("row")} ${arg("col")}`)
  const reps = Number(arg("reps", "20"))
  const conc = Math.max(1, Number(arg("conc", String(row.conc ?? DEFAULT_CONC))))
  const markBase = arg("mark")
  const tmp = arg("tmp")
  const adapter = await loadAdapter(col.id)
  // From here on an uncaught error is a finding about the implementation (it would crash
  // a real host), recorded against the repetitions running, not a crash of the cell.
  const uncaught = []
  process.on("uncaughtException", (e) => uncaught.push(`${e?.code ?? e?.name ?? "Error"}: ${String(e?.message ?? e).split("\n")[0]}`))
  process.on("unhandledRejection", (e) => uncaught.push(`unhandled rejection ${e?.code ?? ""} ${String(e?.message ?? e).split("\n")[0]}`))
  // Repetitions start one at a time through the load gate (see load.mjs): at most
  // --busy of the CPUs busy (bounded wait), then STAGGER_MS before the next may start.
  const maxBusy = Number(arg("busy", "1"))
  let gateTail = Promise.resolve()
  const gate = () =>
    (gateTail = gateTail.then(async () => {
      const g = maxBusy < 1 ? await whenIdle(maxBusy, BOUNDS.gateMs) : { waitedMs: 0, gave: false }
      await sleep(STAGGER_MS)
      return g
    }))
  let next = 0
  async function worker() {
    while (next < reps) {
      const i = next++
      const g = await gate()
      const mark = `${markBase}-${i}`
      const ctx = {
        adapter,
        col: col.id,
        rep: i,
        mark,
        scope: `${markBase}-`,
        env: { ...process.env, [MARK_KEY]: mark },
        tmp,
        uncaught,
        announce: (pid, start) => emit({ t: "pid", pid, start }),
      }
      let r
      const before = cpuSample()
      try {
        r = await row.run(ctx)
      } catch (e) {
        r = { pass: false, why: [`harness error: ${e?.stack ?? e}`], leaked: 0, lost: 0, ms: null }
      }
      // The machine's CPU busy fraction while this repetition ran, and whether the gate's
      // bound (not an idle machine) let it start.
      emit({ t: "rep", i, ...r, busy: busyBetween(before, cpuSample()), gateGave: g.gave })
    }
  }
  await Promise.all(Array.from({ length: Math.min(conc, reps) }, worker))
  emit({ t: "end" })
  // Handles of hung children may remain; they were killed, the host has nothing to wait for.
  process.exit(0)
}

try {
  if (process.argv[2] === "--inner") await inner()
  else await cell()
} catch (e) {
  process.stderr.write(`cell.mjs: ${e?.stack ?? e}\n`)
  process.exit(2)
}
