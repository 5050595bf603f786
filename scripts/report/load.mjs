// How busy the machine's CPUs are, from /proc/stat, and a gate that holds back new work
// while they are saturated.
//
// Why: the columns that spawn a pgrep/ps per tree node (legacy, tree-kill) get slower as
// the machine gets busier, and past the hang bound a slow kill is a failure. A harness
// that starts repetitions regardless of load measures its own load as much as the
// implementations. The gate keeps the machine below a busy fraction while repetitions
// start; the busy fraction each repetition ran under is recorded and reported.
import fs from "node:fs"
import { sleep } from "./procs.mjs"

/** { t, busy, total } in clock ticks summed over all CPUs (idle and iowait are not busy). */
export function cpuSample() {
  const line = fs.readFileSync("/proc/stat", "latin1").slice(0, 256).split("\n")[0]
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0) // user … steal; guest is inside user
  const idle = f[3] + (f[4] || 0)
  return { t: performance.now(), busy: total - idle, total }
}

/** Busy fraction (0..1) of all CPUs between two samples; null when no tick passed. */
export function busyBetween(a, b) {
  const total = b.total - a.total
  return total > 0 ? (b.busy - a.busy) / total : null
}

const WINDOW_MS = 150
let last = cpuSample()
let recent = 0

/** The busy fraction over the last ~WINDOW_MS (at least that long a window). */
export function busyNow() {
  const now = cpuSample()
  if (now.t - last.t >= WINDOW_MS) {
    recent = busyBetween(last, now) ?? recent
    last = now
  }
  return recent
}

/**
 * Waits until the CPUs are at most maxBusy busy, for at most maxWaitMs (every wait of
 * the harness has a bound). Returns { waitedMs, gave: true when the bound ended the wait }.
 * The jitter keeps the waiters of several hosts from all starting at the same instant.
 */
export async function whenIdle(maxBusy, maxWaitMs) {
  const t0 = performance.now()
  while (busyNow() > maxBusy) {
    if (performance.now() - t0 > maxWaitMs) return { waitedMs: performance.now() - t0, gave: true }
    await sleep(40 + Math.random() * 80)
  }
  return { waitedMs: performance.now() - t0, gave: false }
}
