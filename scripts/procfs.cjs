// The one parser of /proc/<pid>/stat for the tests and the scripts (Linux only); the
// report's scanner (scripts/report/procs.mjs) reads the file through a buffer of its own,
// for speed, and parses it here. CommonJS, so that every caller takes it as it is, without
// a build step: the .cjs/.js scripts and the host scripts the tests start (require), the
// .mjs scripts (import), the vitest suites (test/procfs.ts). The library does not parse
// /proc: it asks the addon (processState).
"use strict"
const fs = require("node:fs")

/**
 * The fields of a /proc/<pid>/stat line that the tests and scripts read, or undefined
 * when it is not one. "pid (comm) S ppid pgid sid …": comm may hold spaces and ')', and
 * what follows the state is numbers only, so the last ')' ends comm. start is field 22
 * (the start time in clock ticks since boot), kept as text: with the pid it names one
 * process, never a later one that re-uses the pid.
 * @param {string} text
 * @returns {{ state: string, ppid: number, pgid: number, sid: number, start: string } | undefined}
 */
function parseStat(text) {
  const close = text.lastIndexOf(")")
  if (close < 0) return undefined
  const f = text.slice(close + 2).split(" ")
  return { state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]), start: f[19] }
}

/**
 * pid's stat fields, or undefined when it has no /proc entry (gone, reaped) or cannot be read.
 * @param {number} pid
 */
function stat(pid) {
  let text
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "latin1")
  } catch {
    return undefined
  }
  const s = parseStat(text)
  return s && { pid, ...s }
}

/**
 * Alive and not a zombie: a zombie ("Z") or a dying process ("X") has ended and only waits
 * to be reaped (pid 1 in a container may reap orphans slowly, or never), so it counts as dead.
 * @param {number} pid
 */
function alive(pid) {
  const s = stat(pid)
  return s !== undefined && s.state !== "Z" && s.state !== "X"
}

/** Every pid in /proc now. */
function pids() {
  return fs
    .readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
}

exports.parseStat = parseStat
exports.stat = stat
exports.alive = alive
exports.pids = pids
