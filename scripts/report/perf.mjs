// The report's performance section, from `make bench`'s build/bench/results.json (and
// `make bench-scale`'s scale.json) when they exist: one table per measure and an SVG chart
// of every implementation's cost relative to child_process (log scale, lower is better).
import fs from "node:fs"
import path from "node:path"

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c])
const f = (v, d = 2) => (v === undefined || v === null || !Number.isFinite(v) ? "–" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(d))
const COLORS = { ours: "#1565c0", "ours-nohelper": "#64b5f6", floor: "#2e7d32" }

/** Reads the bench results beside the report; null where a file is absent or unreadable. */
export function loadPerf(root, env = process.env) {
  const read = (p) => {
    try {
      return JSON.parse(fs.readFileSync(p, "utf8"))
    } catch {
      return null
    }
  }
  const dir = path.resolve(root, env.BENCH_OUT || "build/bench")
  return { bench: read(path.join(dir, "results.json")), scale: read(path.join(dir, "scale.json")), dir }
}

// Cost relative to cp: time, MB and CPU as measured; throughput inverted (cp's MB/s ÷ ours).
const cost = (t, r) => (t.higherIsBetter ? 1 / r.xcp : r.xcp)

/** One SVG: a block per measure, a bar per implementation, log2 scale around cp = 1. */
export function perfChart(bench) {
  const tables = bench.tables.filter((t) => t.rows.some((r) => Number.isFinite(r.xcp)))
  const W = 760, left = 250, right = 70, barH = 12, gap = 3, blockGap = 22, top = 40
  const lo = -4, hi = 6 // 1/16 … 64 × cp
  const x = (v) => left + ((Math.min(hi, Math.max(lo, Math.log2(v))) - lo) / (hi - lo)) * (W - left - right)
  let h = top
  for (const t of tables) h += 16 + t.rows.length * (barH + gap) + blockGap
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h + 10}" viewBox="0 0 ${W} ${h + 10}" font-family="sans-serif" font-size="11" role="img" aria-label="cost relative to child_process per measure">`
  svg += `<text x="8" y="16" font-weight="bold">Cost relative to child_process (median; log scale; left of the line is cheaper; throughput as cp's MB/s ÷ theirs)</text>`
  for (let e = lo; e <= hi; e++) {
    const xx = x(2 ** e)
    svg += `<line x1="${xx}" y1="${top - 8}" x2="${xx}" y2="${h}" stroke="${e === 0 ? "#000" : "#ddd"}" stroke-width="${e === 0 ? 1.5 : 1}"/>`
    svg += `<text x="${xx}" y="${top - 12}" text-anchor="middle" fill="#555">${e >= 0 ? 2 ** e : `1/${2 ** -e}`}</text>`
  }
  let y = top
  for (const t of tables) {
    svg += `<text x="8" y="${y + 11}" font-weight="bold">${esc(t.title.length > 95 ? t.title.slice(0, 94) + "…" : t.title)}</text>`
    y += 16
    for (const r of t.rows) {
      const v = cost(t, r)
      svg += `<text x="${left - 6}" y="${y + barH - 2}" text-anchor="end">${esc(r.impl)}</text>`
      if (Number.isFinite(v) && v > 0) {
        const x0 = x(1), x1 = x(v)
        svg += `<rect x="${Math.min(x0, x1)}" y="${y}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${barH}" fill="${COLORS[r.impl] ?? "#9e9e9e"}"/>`
        svg += `<text x="${Math.max(x0, x1) + 4}" y="${y + barH - 2}">${f(v)}×</text>`
      } else {
        svg += `<text x="${x(1) + 4}" y="${y + barH - 2}" fill="#999">no result</text>`
      }
      y += barH + gap
    }
    y += blockGap
  }
  return svg + `</svg>`
}

function tableMd(t) {
  const extra = Object.entries(t.extraLabels ?? {})
  const head = ["implementation", "median", "p99", "×cp", "×floor", ...(t.cpuLabel ? [t.cpuLabel] : []), ...extra.map(([, l]) => l)]
  let md = `**${t.title}** (${t.unit}${t.higherIsBetter ? ", higher is better" : ""}; load ${t.load[0].join(" ")} → ${t.load[1].join(" ")})\n\n`
  md += `| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|\n`
  for (const r of t.rows) {
    const name = r.impl + (r.mode && r.impl.startsWith("ours") ? ` (${r.mode})` : "") + (r.bound ? " — bound fired" : "") + (r.errors?.length ? ` — ${r.errors.length} failed round(s)` : "")
    md += `| ${[name, f(r.median), f(r.p99), f(r.xcp), f(r.xfloor), ...(t.cpuLabel ? [f(r.cpu)] : []), ...extra.map(([k]) => f(r.extra?.[k]))].join(" | ")} |\n`
  }
  return md
}

// Growth tables: one row per implementation, one column per size, medians.
function scaleMd(scale) {
  const groups = new Map()
  for (const t of scale.tables) {
    if (!groups.has(t.group)) groups.set(t.group, [])
    groups.get(t.group).push(t)
  }
  let md = ""
  for (const [group, ts] of groups) {
    ts.sort((a, b) => a.x - b.x)
    const impls = [...new Set(ts.flatMap((t) => t.rows.map((r) => r.impl)))]
    md += `**${group}** (median ${ts[0].unit}; load ${ts[0].load[0][0]} → ${ts[ts.length - 1].load[1][0]})\n\n| implementation | ${ts.map((t) => `N=${t.x}`).join(" | ")} |\n|---|${ts.map(() => "---").join("|")}|\n`
    for (const impl of impls) md += `| ${impl} | ${ts.map((t) => f(t.rows.find((r) => r.impl === impl)?.median)).join(" | ")} |\n`
    md += "\n"
  }
  return md
}

/** The section as markdown and HTML (the SVG inline in HTML, beside REPORT.md as a file). */
export function perfSection(perf) {
  if (!perf?.bench) {
    const md = `No bench results (${path.join(perf?.dir ?? "build/bench", "results.json")} is absent): run \`make bench\` before \`make report\`.\n`
    return { md, html: `<p>${esc(md)}</p>`, svg: null }
  }
  const b = perf.bench
  const intro =
    `From \`make bench\` (${b.date}, Node ${b.node}, ${b.cpus} cpus, ${b.rounds} rounds, ${Math.round(b.seconds)} s; load ${b.load[0].join(" ")} → ${b.load[1].join(" ")}). ` +
    `Implementations alternate round by round, each round in a fresh host process; ratios are what hold across machines, absolute times drift with load. ` +
    `ours = pawwork-supervisor with its helper, ours-nohelper = PAWWORK_SUPERVISOR_HELPER=0, cp = Node's child_process, floor = the C programs in scripts/bench/floor.c.`
  let md = `${intro}\n\n![cost relative to child_process](performance.svg)\n\n`
  for (const t of b.tables) md += tableMd(t) + (t.note ? `\n${t.note}\n` : "") + "\n"
  if (perf.scale) md += `### Growth (\`make bench-scale\`, ${perf.scale.date})\n\n` + scaleMd(perf.scale)
  const svg = perfChart(b)
  const mdHtml = (s) =>
    s
      .split("\n\n")
      .map((p) => (p.startsWith("|") ? tableHtml(p) : `<p>${esc(p).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>")}</p>`))
      .join("")
  let html = `<p>${esc(intro)}</p>${svg}`
  for (const t of b.tables) html += mdHtml(tableMd(t)) + (t.note ? `<p><small>${esc(t.note)}</small></p>` : "")
  if (perf.scale) html += `<h3>Growth (make bench-scale, ${esc(perf.scale.date)})</h3>` + mdHtml(scaleMd(perf.scale))
  return { md, html, svg }
}

function tableHtml(block) {
  const lines = block.trim().split("\n").filter((l) => !/^\|[-|]+\|$/.test(l))
  const cells = (l) => l.slice(1, -1).split(" | ").map((c) => c.trim())
  const [head, ...rows] = lines
  return `<table><tr>${cells(head).map((c) => `<th>${esc(c)}</th>`).join("")}</tr>${rows.map((r) => `<tr>${cells(r).map((c, i) => `<td${i ? ' style="text-align:right"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("")}</table>`
}
