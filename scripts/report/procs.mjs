// /proc helpers for the report: who is alive, who carries a marker, killing what we
// started. A zombie counts as dead (pid 1 here reaps orphans slowly); a pid is matched
// with its start time, so a re-used pid is never mistaken for (or killed as) ours.
import fs from "node:fs"
import { parseStat } from "../procfs.cjs"

export const MARK_KEY = "PWS_REPORT_MARK"

// /proc files report a size of 0, so fs.readFileSync reads them through a fresh 64 KiB
// buffer each time; the harness reads thousands per second while a fork storm runs, so
// every read here goes through one reused buffer instead.
let buf = Buffer.allocUnsafe(1 << 16)

/**
 * The bytes of a /proc file in the shared buffer: its length, or the errno code
 * ("ENOENT": gone; "ESRCH": no memory to read, as for kernel threads and exiting processes).
 */
function readProc(file) {
  let fd
  try {
    fd = fs.openSync(file, "r")
  } catch (e) {
    return e.code ?? "EIO"
  }
  try {
    let len = 0
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, len)
        buf = bigger
      }
      const n = fs.readSync(fd, buf, len, buf.length - len, null)
      if (n === 0) return len
      len += n
    }
  } catch (e) {
    return e.code ?? "EIO"
  } finally {
    fs.closeSync(fd)
  }
}

/** { state, ppid, pgid, sid, start } of pid, or undefined when it is gone. */
export function stat(pid) {
  const len = readProc(`/proc/${pid}/stat`)
  if (typeof len !== "number") return undefined
  return parseStat(buf.latin1Slice(0, len))
}

/** Alive, not a zombie, and (when start is given) the same process as recorded. */
export function alive(pid, start) {
  const s = stat(pid)
  if (!s || s.state === "Z" || s.state === "X") return false
  return start === undefined || s.start === start
}

const NEEDLE = Buffer.from(`\0${MARK_KEY}=`, "latin1")

/**
 * The marker value in pid's environment: a string, null (none, or nothing to read: a
 * kernel thread, or a process we may not read), or undefined (gone).
 */
function markOf(pid) {
  const len = readProc(`/proc/${pid}/environ`)
  if (len === "ENOENT") return undefined
  if (typeof len !== "number") return null
  // Match at the start of the block or after a NUL: buf[-1] is taken as a NUL by
  // searching from one byte before the block when it starts with the key.
  const env = buf.subarray(0, len)
  let at = env.indexOf(NEEDLE)
  if (at >= 0) at += 1
  else if (env.subarray(0, NEEDLE.length - 1).equals(NEEDLE.subarray(1))) at = 0
  else return null
  const from = at + NEEDLE.length - 1
  const end = env.indexOf(0, from)
  return env.latin1Slice(from, end < 0 ? len : end)
}

// Which /proc pid carries which marker (null: none). A process's environment changes only
// by exec, and the only processes that gain the marker by exec are the leaders, which every
// row tracks by pid; so a verdict holds for as long as the pid is the same process. The
// kernel hands out pids cyclically: a pid seen in two consecutive scans is the same process
// unless the allocator went once round the whole pid space in between, which takes about
// pid_max forks. /proc/stat counts every fork of the system ("processes"), so verdicts are
// kept while fewer than a quarter of pid_max forks happened since the previous scan
// (threads and other processes hold pids too; a quarter leaves room for 24k of them).
// Without the counter, verdicts live 50 ms.
let verdicts = new Map()
let lastScan = { at: 0, forks: NaN }
const PID_MAX = (() => {
  try {
    return Number(fs.readFileSync("/proc/sys/kernel/pid_max", "latin1")) || 32768
  } catch {
    return 32768
  }
})()
const PROCESSES = Buffer.from("\nprocesses ", "latin1")

function forkCount() {
  const len = readProc("/proc/stat")
  if (typeof len !== "number") return NaN
  const at = buf.subarray(0, len).indexOf(PROCESSES)
  return at < 0 ? NaN : parseInt(buf.latin1Slice(at + PROCESSES.length, Math.min(len, at + PROCESSES.length + 24)), 10)
}

function verdictsStillValid(at, forks) {
  if (Number.isFinite(forks) && Number.isFinite(lastScan.forks)) return forks - lastScan.forks < PID_MAX / 4
  return at - lastScan.at < 50
}

// One walk of /proc serves every repetition of a cell host: scans younger than SHARE_MS
// are reused (unless fresh is asked for), per scope (the cell's marker prefix).
const shared = new Map() // scope → { at, list }
const SHARE_MS = 8

/**
 * Live processes whose environment carries MARK_KEY=<value starting with prefix>:
 * [{pid, start, mark}]. scope (a prefix of prefix, default prefix itself) is what one
 * walk of /proc collects; only processes in scope are stat'ed, so a cell host does not
 * pay for the processes of other cells.
 */
export function scanMarked(prefix, { fresh = false, scope = prefix } = {}) {
  const last = shared.get(scope)
  if (!fresh && last && performance.now() - last.at < SHARE_MS) return last.list.filter((p) => p.mark.startsWith(prefix) && alive(p.pid, p.start))
  const list = scanAll(scope)
  shared.set(scope, { at: performance.now(), list })
  return list.filter((p) => p.mark.startsWith(prefix))
}

function scanAll(scope) {
  const t = performance.now()
  const forks = forkCount()
  if (!verdictsStillValid(t, forks)) verdicts = new Map()
  lastScan = { at: t, forks }
  const next = new Map()
  const out = []
  for (const name of fs.readdirSync("/proc")) {
    const c = name.charCodeAt(0)
    if (c < 48 || c > 57) continue
    const pid = Number(name)
    if (pid === process.pid) continue
    let mark = verdicts.get(pid)
    if (mark === undefined) mark = markOf(pid)
    if (mark === undefined) continue // gone
    next.set(pid, mark)
    if (mark === null || !mark.startsWith(scope)) continue
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
