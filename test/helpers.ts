// Shared test helpers: real processes, real /proc. Every suite marks the processes it
// starts with an environment variable, and checks afterwards that none of them (and no
// descendant of the test process) is alive and that no fd leaked.
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, expect } from "vitest"
import { pids as allPids, stat } from "./procfs"

export { PROCFS, alive, stat } from "./procfs"
export const FIXTURES = path.resolve(__dirname, "..", "fixtures")
export const fixture = (name: string) => path.join(FIXTURES, name)

/** The marker every process a suite starts carries in its environment. */
export const MARK = `PWS_TEST_MARK=${process.pid}-${Date.now()}`
const [MARK_KEY, MARK_VALUE] = MARK.split("=")
/** Env for spawns in tests: inherited env plus the marker. */
export const markedEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...extra, [MARK_KEY]: MARK_VALUE })
process.env[MARK_KEY] = MARK_VALUE

/** Live processes carrying this run's marker, or descending from the test process. */
export function ourProcesses(): number[] {
  const out = new Set<number>()
  const kids = new Map<number, number[]>()
  for (const pid of allPids()) {
    if (pid === process.pid) continue
    const s = stat(pid)
    if (!s || s.state === "Z" || s.state === "X") continue
    kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), pid])
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(MARK)) out.add(pid)
    } catch {
      // gone, or not ours to read
    }
  }
  const queue = [process.pid]
  while (queue.length) {
    for (const k of kids.get(queue.shift()!) ?? []) {
      // The library's per-host helper lives as long as this process: not a leak (its
      // descendants, the supervised trees, still count).
      if (!isHelper(k)) out.add(k)
      queue.push(k)
    }
  }
  return [...out]
}

/** Is pid the library's helper executable (started with its marker argument)? */
export function isHelper(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("--pawwork-supervisor-helper")
  } catch {
    return false
  }
}

export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone
    }
  }
}

export function fdCount(): number {
  return fs.readdirSync("/proc/self/fd").length
}

export async function waitFor(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Resolves with the value, or rejects if it takes longer than ms: a hang detector. */
export function within<T>(p: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
    }),
  ])
}

/**
 * Installs the after-suite leak check: no process of this suite alive, no fd leaked.
 * Processes a test deliberately lets go (leftovers) are passed to `allow` and killed.
 */
export function leakCheck(allow: () => number[] = () => []): void {
  let fdsBefore = 0
  beforeAll(async () => {
    // Load the addon and let the Go runtime settle its own fds before counting.
    const { supervise } = await import("../lib/index")
    const c = supervise(["/bin/true"])
    await c.outcome
    fdsBefore = fdCount()
  })
  afterAll(async () => {
    const allowed = new Set(allow())
    killAll([...allowed])
    // Cancellations settle asynchronously; give stragglers a bounded moment.
    const deadline = Date.now() + 3000
    let left = ourProcesses()
    while (left.length && Date.now() < deadline) {
      await sleep(25)
      left = ourProcesses()
    }
    const descr = left.map((p) => `${p} ${fs.existsSync(`/proc/${p}/cmdline`) ? fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ") : ""}`)
    killAll(left)
    expect(descr, "processes of this suite still alive").toEqual([])
    await sleep(50)
    expect(fdCount(), "fds leaked by this suite").toBeLessThanOrEqual(fdsBefore)
  })
}

/** Parses "pid <role> <pid>" lines printed by the fixtures. */
export function pidsFrom(text: string): number[] {
  return [...text.matchAll(/^pid (?:\w+ )?(\d+)$/gm)].map((m) => Number(m[1]))
}

/** The error f throws synchronously (fails the test if it does not throw). */
export function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f()
  } catch (e) {
    return e as Error & { code?: string }
  }
  throw new Error("expected a synchronous throw")
}
