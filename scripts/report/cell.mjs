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

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : process.argv[i + 1]
}

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
  let next = 0
  async function worker() {
    while (next < reps) {
      const i = next++
      const mark = `${markBase}-${i}`
      const ctx = {
        adapter,
        col: col.id,
        rep: i,
        mark,
        env: { ...process.env, [MARK_KEY]: mark },
        tmp,
        uncaught,
        announce: (pid, start) => emit({ t: "pid", pid, start }),
      }
      let r
      try {
        r = await row.run(ctx)
      } catch (e) {
        r = { pass: false, why: [`harness error: ${e?.stack ?? e}`], leaked: 0, lost: 0, ms: null }
      }
      emit({ t: "rep", i, ...r })
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
