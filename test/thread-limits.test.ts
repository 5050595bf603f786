// Issue 10, defect 2: the embedded Go runtime aborts the whole process when it cannot
// create a thread. Under a tight RLIMIT_NPROC (which counts every thread and process
// of the user, Node's own included) the host must survive every time: each spawn that
// cannot be had fails with a typed EAGAIN, as child_process does, and a spawn after
// the children ended works. Each case runs a fresh Node host (fixtures/
// thread-limits-host.js) as `nobody` (when root; else as this user, the limit then
// counted above what the user already runs) under `prlimit --nproc`.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { fixture } from "./helpers"

const ROOT = path.resolve(__dirname, "..")
const SPAWNS = 80
const root = process.getuid?.() === 0
const USER = root ? "nobody" : undefined

// What the binding reserves before it loads the Go runtime (kThreadsToLoad in
// binding/loader.cc) and what the host checks before it starts the helper
// (HelperThreads in go/core/threads.go).
const LOAD_THREADS = 22
const HELPER_THREADS = 12

function uidOf(user: string | undefined): number {
  if (user === undefined) return process.getuid!()
  const r = spawnSync("id", ["-u", user], { encoding: "utf8" })
  if (r.status !== 0) {
    // Create the user the test runs as (root only).
    const add = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user], { encoding: "utf8" })
    if (add.status !== 0) throw new Error(`cannot create user ${user}: ${add.stderr}`)
    return uidOf(user)
  }
  return Number(r.stdout.trim())
}

/** Threads and processes of uid alive now (what RLIMIT_NPROC counts, as far as /proc shows). */
function tasksOf(uid: number): number {
  let n = 0
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const st = fs.readFileSync(`/proc/${name}/status`, "utf8")
      if (Number(/^Uid:\s+(\d+)/m.exec(st)![1]) !== uid) continue
      n += Number(/^Threads:\s+(\d+)/m.exec(st)![1])
    } catch {
      // gone
    }
  }
  return n
}

/** Live (non-zombie) processes of uid; waits up to bound for them to go. */
function leftOf(uid: number, except: number[], boundMs: number): number[] {
  const deadline = Date.now() + boundMs
  for (;;) {
    const left: number[] = []
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name) || except.includes(Number(name))) continue
      try {
        const st = fs.readFileSync(`/proc/${name}/status`, "utf8")
        if (Number(/^Uid:\s+(\d+)/m.exec(st)![1]) !== uid) continue
        if (/^State:\s+[ZX]/m.test(st)) continue
        left.push(Number(name))
      } catch {
        // gone
      }
    }
    if (left.length === 0 || Date.now() > deadline) return left
    spawnSync("sleep", ["0.05"])
  }
}

interface Failure {
  where: string
  code?: string
  errno?: number
  syscall?: string
  message: string
}
interface Report {
  start: number
  loaded: number | null
  hostMax: number
  helperMax: number
  helperPid: number
  mode: string | null
  ok: number
  failures: Failure[]
  later: { code: number | string; out?: string; errno?: number; syscall?: string; message?: string }
}

function runHost(limit: number, env: NodeJS.ProcessEnv, args: string[] = [String(SPAWNS)]) {
  const uid = uidOf(USER)
  const before = root ? [] : [process.pid]
  const base = tasksOf(uid) // the user's tasks already counted against the limit
  const nproc = base + limit
  const cmd = [...(USER ? ["setpriv", `--reuid=${USER}`, `--regid=${USER === "nobody" ? "nogroup" : USER}`, "--clear-groups"] : []), "prlimit", `--nproc=${nproc}`, process.execPath, fixture("thread-limits-host.js"), ROOT, ...args]
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 64 << 20 })
  const line = r.stdout.trim().split("\n").pop() ?? ""
  let report: Report | undefined
  try {
    report = JSON.parse(line) as Report
  } catch {
    report = undefined
  }
  // Everything the host started is gone once it exited (the helper kills what it
  // held; the rounds waited for every child). Only checked as nobody: this user
  // runs other things.
  const left = root ? leftOf(uid, before, 10_000) : []
  return { r, report, nproc, base, left }
}

// The limits, above what the user already runs: below what loading needs (the load is
// refused), around it, where the helper cannot or can just start, and roomier ones.
const CASES: { limit: number; env: NodeJS.ProcessEnv; loads: boolean | undefined }[] = [
  { limit: 12, env: {}, loads: false },
  { limit: 30, env: {}, loads: false }, // Node's own 11 threads + the 22 loading needs > 30
  { limit: 34, env: {}, loads: true }, // loads; the helper's threads cannot be had: fallback
  { limit: 40, env: {}, loads: true }, // the helper just fits, or just does not
  { limit: 40, env: { PAWWORK_SUPERVISOR_HELPER: "0" }, loads: true },
  { limit: 64, env: {}, loads: true },
]
const TRIES = 2

describe("thread limits: the host survives RLIMIT_NPROC", () => {
  for (const { limit, env, loads } of CASES) {
    const label = `--nproc=+${limit}${env.PAWWORK_SUPERVISOR_HELPER === "0" ? " without the helper" : ""}`
    it(
      `${SPAWNS}×2 spawns under ${label}: no signal, typed EAGAIN only, a later spawn works (${TRIES} tries)`,
      () => {
        for (let t = 0; t < TRIES; t++) {
          const { r, report, nproc, left } = runHost(limit, env)
          const where = `${label} (nproc ${nproc}), try ${t + 1}; stderr:\n${r.stderr.slice(0, 2000)}`
          expect(r.signal, where).toBeNull()
          expect(r.status, where).toBe(0)
          expect(r.stderr, where).not.toMatch(/fatal error|pthread_create failed|terminate called|newosproc/)
          expect(report, `no report: ${r.stdout.slice(0, 500)} ${where}`).toBeDefined()
          const rep = report!
          // Every spawn settled: started and ended, or failed with a typed EAGAIN.
          const spawnFailures = rep.failures.filter((f) => f.where !== "containment")
          expect(rep.ok + spawnFailures.length, where).toBe(2 * SPAWNS)
          for (const f of rep.failures) {
            expect({ where: f.where, code: f.code, errno: f.errno }, `${f.message} ${where}`).toEqual({ where: f.where === "containment" ? "containment" : "spawn", code: "EAGAIN", errno: f.where === "containment" ? 11 : -11 })
            expect(f.syscall, where).toMatch(/^(spawn|pthread_create)/)
          }
          const loaded = rep.loaded !== null && rep.mode !== null
          if (loads !== undefined) expect(loaded, where).toBe(loads)
          if (loaded) {
            // The spawn after everything ended works, and the Go side's threads did not
            // grow with the work: what loading made (and the helper at start) is all.
            expect(rep.later, where).toEqual({ code: 0, out: "later" })
            expect(rep.ok, where).toBeGreaterThan(0)
            expect(rep.hostMax - rep.start, where).toBeLessThanOrEqual(LOAD_THREADS)
            if (rep.helperPid) expect(rep.helperMax, where).toBeLessThanOrEqual(HELPER_THREADS)
          } else {
            // Loading was refused every time, never attempted halfway: the later spawn is
            // refused the same way (the refusal is not remembered; the limit still holds).
            expect(rep.ok, where).toBe(0)
            expect({ code: rep.later.code, errno: rep.later.errno, syscall: rep.later.syscall }, where).toEqual({ code: "EAGAIN", errno: -11, syscall: "pthread_create" })
          }
          expect(left, `processes of ${USER} left after the host exited; ${where}`).toEqual([])
        }
      },
      TRIES * 130_000,
    )
  }

  it("a refused load is not remembered: the same host loads once threads can be had", () => {
    // Sleeping child_process children fill every slot the limit leaves: the first spawn
    // (the library's load) is refused; once they are killed, the next one loads and works.
    const { r, report, left } = runHost(40, {}, ["hold", "fill"])
    const rep = report as unknown as { holders: number; refused: string; first: Record<string, unknown>; later: Record<string, unknown> }
    expect(r.signal, r.stderr).toBeNull()
    expect(r.status, r.stderr).toBe(0)
    expect(rep.refused).toBe("EAGAIN") // child_process reached the limit
    expect(rep.first).toEqual({ code: "EAGAIN", errno: -11, syscall: "pthread_create" })
    expect(rep.later).toEqual({ code: 0, out: "later" })
    expect(left).toEqual([])
  }, 130_000)

  it("with the library loaded, a spawn that finds no thread for the event pump is a typed EAGAIN", () => {
    // Loaded (and the helper started) first; then the limit is filled: the first spawn
    // of the environment cannot start its pump thread (this aborted the host through
    // std::terminate), or cannot fork.
    const { r, report, left } = runHost(64, {}, ["hold", "fill", "preload"])
    const rep = report as unknown as { mode: string; refused: string; first: Record<string, unknown>; later: Record<string, unknown> }
    expect(r.signal, r.stderr).toBeNull()
    expect(r.status, r.stderr).toBe(0)
    expect(rep.mode).toBe("helper")
    expect(rep.refused).toBe("EAGAIN")
    expect(rep.first.code).toBe("EAGAIN")
    expect(rep.first.errno).toBe(-11)
    expect(rep.first.syscall).toMatch(/^(spawn|pthread_create)/)
    expect(rep.later).toEqual({ code: 0, out: "later" })
    expect(left).toEqual([])
  }, 130_000)
})
