// Legacy implementation: a faithful re-implementation of PawWork's baseline `Process`
// helper, written from the description in ../shared/BASELINE.md. It deliberately keeps the
// baseline's known gaps (no `detached`, pgrep snapshot walk, check-then-act SIGKILL,
// EPERM-as-dead, `exited` on 'exit' rather than 'close', ...): it is the yardstick the
// comparison report measures against and PawWork's rollback path. Do not "fix" it. One
// exception, because it is a hazard rather than a gap: a pid that names no single process
// (0, negative, 1, non-integer) is refused, never passed to kill() (see terminateTree).
import { execFile, spawn as nodeSpawn } from "node:child_process"
import type { ChildProcess, SpawnOptions } from "node:child_process"
import { Readable } from "node:stream"
import crossSpawn from "cross-spawn"
import { ABI } from "./addon"
import { TERMINATION_GRACE_MS, processApi } from "./api"
import { RunFailedError, checkMaxBuffer, collectCapped } from "./capture"
import type { Child, Options, Result, RunOptions, TerminateTreeInput } from "./types"
import { checkPid, checkTreePid, invalidArg, signallable } from "./validate"

export { RunFailedError, TERMINATION_GRACE_MS }

/**
 * Grace between the first signal and SIGKILL after an abort, when `timeout` is omitted:
 * the baseline's 5000, which the core's PWS_DEFAULT_GRACE_MS was chosen to be (one number).
 */
const ABORT_GRACE_MS = ABI.DEFAULT_GRACE_MS

const isWindows = process.platform === "win32"

// ---------------------------------------------------------------------------------------
// small helpers

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Send a signal, ignoring every error (ESRCH, EPERM, ...). */
function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // ignored: individual kill errors never abort the algorithm
  }
}

/** Resolve after `ms`; the timer is ref'd while pending (the caller awaits it). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

/**
 * Wait for `promise` (its rejection counts as settled) or `ms`, whichever comes first.
 * The timer is cleared as soon as either side wins, so nothing is left behind.
 */
function raceGrace(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms))
    const done = () => {
      clearTimeout(timer)
      resolve()
    }
    promise.then(done, done)
  })
}

function collect(stream: Readable): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on("data", (chunk: Buffer | string) => {
      chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
    })
    const finish = () => resolve(Buffer.concat(chunks))
    stream.once("end", finish)
    // A pipe destroyed without 'end' still counts as ended (settling twice is a no-op).
    stream.once("close", finish)
    stream.once("error", reject)
  })
}

// ---------------------------------------------------------------------------------------
// spawn

export function spawn(cmd: string[], opts: Options = {}): Child {
  // The baseline's throw and message; typed (ERR_INVALID_ARG_VALUE) like every usage error.
  if (cmd.length === 0) throw invalidArg("ERR_INVALID_ARG_VALUE", "Command is required")
  // `signal` is the name both APIs take (an extension); `abort` the baseline's.
  if (opts.signal !== undefined && opts.abort === undefined) opts = { ...opts, abort: opts.signal }
  opts.abort?.throwIfAborted()

  const env =
    opts.env === null ? {} : opts.env === undefined ? undefined : { ...process.env, ...opts.env }

  const spawnOptions: SpawnOptions = {
    cwd: opts.cwd,
    env,
    // "socket" (an extension native offers) is what Node's 'pipe' already is on Unix.
    stdio: [opts.stdin, opts.stdout, opts.stderr].map((m) => (m === "socket" ? "pipe" : (m ?? "ignore"))) as SpawnOptions["stdio"],
    shell: opts.shell,
    windowsHide: true,
  }
  const proc = crossSpawn(cmd[0], cmd.slice(1), spawnOptions)

  let onAbort: (() => void) | undefined
  const detachAbort = () => {
    if (onAbort) opts.abort?.removeEventListener("abort", onAbort)
    onAbort = undefined
  }

  const exited = new Promise<number>((resolve, reject) => {
    proc.once("exit", (code) => {
      detachAbort()
      resolve(code ?? 1)
    })
    // `on`, not `once`: a later 'error' (e.g. a failed kill) must never be unhandled.
    proc.on("error", (err) => {
      if (proc.pid === undefined) detachAbort()
      reject(err)
    })
  })
  // The rejection is the caller's to observe; it must never be reported as unhandled.
  exited.catch(() => {})

  if (opts.abort) {
    const firstSignal = opts.kill ?? "SIGTERM"
    const grace = opts.timeout ?? ABORT_GRACE_MS
    onAbort = () => {
      detachAbort()
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const pid = proc.pid
      if (pid === undefined) return
      // Not awaited, and the streams are never destroyed (baseline behaviour).
      void terminateTree({
        pid,
        graceMs: grace,
        signalRoot: (signal) => {
          proc.kill(signal === "SIGTERM" ? firstSignal : signal)
        },
        waitForExit: exited,
      }).catch(() => {})
    }
    opts.abort.addEventListener("abort", onAbort, { once: true })
  }

  return Object.assign(proc, { exited })
}

// ---------------------------------------------------------------------------------------
// run (text and lines are lib/api.ts's, over it)

export async function run(cmd: string[], opts: RunOptions = {}): Promise<Result> {
  const { nothrow, maxBuffer, input, ...rest } = opts
  // maxBuffer and input are extensions of the baseline (opt-in, absent from PawWork's
  // calls): without them, this is the baseline's run unchanged.
  const cap = checkMaxBuffer(maxBuffer)
  const proc = spawn(cmd, { ...rest, ...(input !== undefined ? { stdin: "pipe" as const } : {}), stdout: "pipe", stderr: "pipe" })
  if (!proc.stdout || !proc.stderr) throw new Error("Process output not available")
  if (input !== undefined && proc.stdin) {
    // A leader that exits without reading its input is not an error (EPIPE ignored).
    proc.stdin.on("error", () => {})
    if (input instanceof Readable) input.pipe(proc.stdin)
    else proc.stdin.end(input)
  }

  let out: Result
  let truncated = false
  try {
    if (cap === undefined) {
      const [code, stdout, stderr] = await Promise.all([
        proc.exited,
        collect(proc.stdout),
        collect(proc.stderr),
      ])
      out = { code, stdout, stderr }
    } else {
      const [code, o, e] = await Promise.all([
        proc.exited,
        collectCapped(proc.stdout, cap, "reject"),
        collectCapped(proc.stderr, cap, "reject"),
      ])
      truncated = o.truncated || e.truncated
      out = { code, stdout: o.buffer, stderr: e.buffer, truncated }
    }
  } catch (err) {
    if (!nothrow) throw err
    return { code: 1, stdout: Buffer.alloc(0), stderr: Buffer.from(errorMessage(err)) }
  }

  if (out.code === 0 || nothrow) return out
  throw new RunFailedError(cmd, out.code, out.stdout, out.stderr, truncated)
}

// ---------------------------------------------------------------------------------------
// process-tree helpers

/**
 * Signal-0 probe. Any error, EPERM included, counts as "not alive", and a zombie as
 * alive (baseline gaps). Not kept: a pid that names no single process (0, negative,
 * non-integer, absurd) throws ERR_INVALID_ARG_VALUE instead of probing a group.
 */
export function exists(pid: number): boolean {
  // `exists(child.pid)` of a child whose spawn failed: the baseline answered false
  // (Node's own check of the undefined pid threw inside its try), and so do we.
  if (pid === undefined) return false
  checkPid(pid)
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Direct children of `pid` via one `pgrep -P` process; exit code 1 means "none". */
function childrenOf(pid: number): Promise<number[]> {
  return new Promise<number[]>((resolve, reject) => {
    execFile("pgrep", ["-P", String(pid)], { windowsHide: true }, (err, stdout) => {
      if (err) {
        if ((err as { code?: unknown }).code === 1) return resolve([])
        return reject(err)
      }
      const pids = String(stdout)
        .split(/\s+/)
        .filter((s) => s.length > 0)
        .map((s) => Number.parseInt(s, 10))
        .filter((n) => Number.isInteger(n) && n > 0)
      resolve(pids)
    })
  })
}

/** Breadth-first walk of `pgrep -P`, one pgrep per node; [] on failure and on Windows. */
export async function descendants(pid: number): Promise<number[]> {
  checkPid(pid)
  if (isWindows) return []
  try {
    const found: number[] = []
    const seen = new Set<number>([pid])
    const queue: number[] = [pid]
    while (queue.length > 0) {
      const current = queue.shift() as number
      for (const child of await childrenOf(current)) {
        if (seen.has(child)) continue
        seen.add(child)
        found.push(child)
        queue.push(child)
      }
    }
    return found
  } catch {
    return []
  }
}

function terminateTreeWindows(pid: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let proc: ChildProcess
    try {
      proc = nodeSpawn("taskkill", ["/pid", String(pid), "/f", "/t"], {
        stdio: "ignore",
        windowsHide: true,
      })
    } catch {
      return resolve()
    }
    // Exit code deliberately unchecked.
    proc.once("exit", () => resolve())
    proc.once("error", () => resolve())
  })
}

export async function terminateTree(input: TerminateTreeInput): Promise<void> {
  // Not kept from the baseline: kill(-pid) with pid 0, -1 or 1 signals the host's group or
  // every process on the machine. Such pids are refused (ERR_INVALID_ARG_VALUE), and a
  // snapshot never holds them.
  checkTreePid(input?.pid, "input.pid")
  const { pid, signalRoot, waitForExit } = input
  const graceMs = input.graceMs ?? TERMINATION_GRACE_MS

  if (isWindows) return terminateTreeWindows(pid)

  const signalTheRoot = (signal: NodeJS.Signals) => {
    if (signalRoot) {
      try {
        signalRoot(signal)
      } catch {
        // ignored
      }
    } else {
      signalPid(pid, signal)
    }
  }
  const wait = () => (waitForExit ? raceGrace(waitForExit, graceMs) : sleep(graceMs))

  // 1. Snapshot the descendants before any signal.
  let snapshot: number[] = []
  try {
    snapshot = signallable(await (input.findDescendants ?? descendants)(pid))
  } catch {
    snapshot = []
  }

  // 2. SIGTERM the group; if that fails, the root and every snapshot pid still alive.
  let groupSignalled = false
  try {
    process.kill(-pid, "SIGTERM")
    groupSignalled = true
  } catch {
    signalTheRoot("SIGTERM")
    for (const p of snapshot) if (exists(p)) signalPid(p, "SIGTERM")
  }

  // 3. Grace.
  await wait()

  // 4. Done when the root and the whole snapshot are gone.
  if (!exists(pid) && snapshot.every((p) => !exists(p))) return

  // 5. Escalate, then wait once more.
  if (groupSignalled && exists(pid)) signalPid(-pid, "SIGKILL")
  else signalTheRoot("SIGKILL")
  for (const p of snapshot) if (exists(p)) signalPid(p, "SIGKILL")
  await wait()
}

export function stop(proc: ChildProcess): Promise<void> {
  const pid = proc.pid
  if (pid === undefined) return Promise.resolve()
  const waitForExit =
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => proc.once("exit", () => resolve()))
  return terminateTree({
    pid,
    graceMs: TERMINATION_GRACE_MS,
    signalRoot: (signal) => {
      proc.kill(signal)
    },
    waitForExit,
  })
}

// ---------------------------------------------------------------------------------------

export const legacy = processApi({ spawn, run, stop, exists, descendants, terminateTree })
export const { text, lines } = legacy
