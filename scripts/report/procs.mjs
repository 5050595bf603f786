// /proc helpers for the report: who is alive, who carries a marker, killing what we
// started. A zombie counts as dead (pid 1 here reaps orphans slowly); a pid is matched
// with its start time, so a re-used pid is never mistaken for (or killed as) ours.
import fs from "node:fs"

export const MARK_KEY = "PWS_REPORT_MARK"

/** { state, ppid, pgid, sid, start } of pid, or undefined when it is gone. */
export function stat(pid) {
  let s
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
  } catch {
    return undefined
  }
  const rest = s.slice(s.lastIndexOf(")") + 2).split(" ")
  return { state: rest[0], ppid: Number(rest[1]), pgid: Number(rest[2]), sid: Number(rest[3]), start: rest[19] }
}

/** Alive, not a zombie, and (when start is given) the same process as recorded. */
export function alive(pid, start) {
  const s = stat(pid)
  if (!s || s.state === "Z" || s.state === "X") return false
  return start === undefined || s.start === start
}

// Which /proc pid carries which marker (null: none). A process's environment only changes
// by exec, and a pid can be re-used only after the pid counter wrapped (32768 forks here),
// so verdicts are kept between scans that are close together and dropped otherwise.
let verdicts = new Map()
let lastScan = 0
const KEEP_MS = 50

let shared = { at: -1e9, list: [] }
const SHARE_MS = 8

/**
 * Live processes whose environment carries MARK_KEY=<value starting with prefix>:
 * [{pid, start, mark}]. Repetitions running at once in one host share a scan younger
 * than SHARE_MS (one walk of /proc serves them all) unless fresh is asked for.
 */
export function scanMarked(prefix, fresh = false) {
  if (!fresh && performance.now() - shared.at < SHARE_MS) return shared.list.filter((p) => p.mark.startsWith(prefix) && alive(p.pid, p.start))
  shared = { at: performance.now(), list: scanAll() }
  return shared.list.filter((p) => p.mark.startsWith(prefix))
}

function scanAll() {
  const t = performance.now()
  if (t - lastScan > KEEP_MS) verdicts = new Map()
  lastScan = t
  const needle = `${MARK_KEY}=`
  const next = new Map()
  const out = []
  for (const name of fs.readdirSync("/proc")) {
    const c = name.charCodeAt(0)
    if (c < 48 || c > 57) continue
    const pid = Number(name)
    if (pid === process.pid) continue
    let mark = verdicts.get(pid)
    if (mark === undefined) {
      let env
      try {
        env = fs.readFileSync(`/proc/${pid}/environ`, "latin1")
      } catch {
        continue // gone, or not ours to read: no verdict
      }
      mark = null
      const i = env.indexOf(needle)
      if (i >= 0 && (i === 0 || env.charCodeAt(i - 1) === 0)) {
        const end = env.indexOf("\0", i)
        mark = env.slice(i + needle.length, end < 0 ? undefined : end)
      }
    }
    next.set(pid, mark)
    if (mark === null) continue
    const s = stat(pid)
    if (!s || s.state === "Z" || s.state === "X") continue
    out.push({ pid, start: s.start, mark })
  }
  verdicts = next
  return out
}

/** SIGKILL each {pid, start} that is still the recorded process; returns how many were hit. */
export function killRecorded(list) {
  let n = 0
  for (const { pid, start } of list) {
    if (!alive(pid, start)) continue
    try {
      process.kill(pid, "SIGKILL")
      n++
    } catch {
      // gone meanwhile
    }
  }
  return n
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
