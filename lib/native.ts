// The `Process` surface of BASELINE.md on the native supervisor: same names, types and
// results as the baseline, but exits come after the output drained, cancellation covers
// the whole tree, and bounds are never unbounded.
import type { ChildProcess } from "node:child_process"
import { loadAddon } from "./addon"
import { DEFAULT_GRACE_MS, REASON_STOP } from "./addon"
import { SupervisedChild, supervisedByPid, type SuperviseOptions } from "./supervise"
import { checkMs, checkPid, checkTreePid, invalidArg, procState, signalNumber, signallable } from "./validate"
import {
  RunFailedError,
  TERMINATION_GRACE_MS,
  checkMaxBuffer,
  collectCapped,
  type Child,
  type Options,
  type ProcessApi,
  type Result,
  type RunOptions,
  type TerminateTreeInput,
  type TextResult,
} from "./types"

export { RunFailedError, TERMINATION_GRACE_MS }

/** The baseline's default grace after an abort (its `timeout` option): the core's default, chosen to be it. */
const ABORT_GRACE_MS = DEFAULT_GRACE_MS

/**
 * Process options → supervise options, validated under the names the caller used
 * (`timeout`, `kill`). An already aborted `abort` throws synchronously, as the
 * baseline's spawn does (supervise() itself reports it asynchronously, like Node).
 */
function toSupervise(opts: Options): SuperviseOptions {
  if (opts === null || typeof opts !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "opts" argument must be of type object')
  const { abort, kill, timeout, ...rest } = opts
  if (abort !== undefined && !(abort instanceof AbortSignal)) throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "opts.abort" property must be an AbortSignal')
  abort?.throwIfAborted()
  if (kill !== undefined) signalNumber(kill, "SIGTERM", { name: "opts.kill" })
  return { ...rest, signal: abort, killSignal: kill, graceMs: checkMs("timeout", timeout) ?? ABORT_GRACE_MS }
}

export function spawn(cmd: string[], opts: Options = {}): Child {
  return new SupervisedChild(cmd, toSupervise(opts)) as unknown as Child
}

export async function run(cmd: string[], opts: RunOptions = {}): Promise<Result> {
  const { nothrow, maxBuffer, ...rest } = opts ?? {}
  const cap = checkMaxBuffer(maxBuffer)
  const proc = new SupervisedChild(cmd, { ...toSupervise(rest), stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr] = [collectCapped(proc.stdout!, cap), collectCapped(proc.stderr!, cap)]
  let code: number
  try {
    code = await proc.exited
  } catch (err) {
    if (!nothrow) throw err
    return { code: 1, stdout: Buffer.alloc(0), stderr: Buffer.from(String((err as Error).message)) }
  }
  // 'exit' came after both streams ended, so everything captured is here, including
  // what a cancelled child wrote before it died.
  const [o, e] = [await stdout, await stderr]
  const truncated = o.truncated || e.truncated
  const out: Result = { code, stdout: o.buffer, stderr: e.buffer }
  if (cap !== undefined) out.truncated = truncated
  if (code === 0 || nothrow) return out
  throw new RunFailedError(cmd, code, out.stdout, out.stderr, truncated)
}

export async function text(cmd: string[], opts: RunOptions = {}): Promise<TextResult> {
  const out = await run(cmd, opts)
  return { ...out, text: out.stdout.toString("utf8") }
}

export async function lines(cmd: string[], opts: RunOptions = {}): Promise<string[]> {
  return (await text(cmd, opts)).text.split(/\r?\n/).filter((l) => l.length > 0)
}

/**
 * Is pid a live process? A signal-0 probe where, unlike the baseline, EPERM means it
 * exists (someone else's) and, on Linux, a zombie means it does not: it has ended and
 * only waits to be reaped. A pid that cannot name one process (0, negative, not an
 * integer, beyond the largest pid) throws ERR_INVALID_ARG_VALUE: kill(-1, 0) and
 * kill(0, 0) probe groups, not a process.
 */
export function exists(pid: number): boolean {
  // `exists(child.pid)` of a child whose spawn failed: the baseline answered false
  // (Node's own check of the undefined pid threw inside its try), and so do we.
  if (pid === undefined) return false
  checkPid(pid)
  let permitted = true
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false
    permitted = false
  }
  const state = procState(pid)
  if (state === "Z" || state === "X") return false
  // No /proc entry: reaped since the probe — unless the process is someone else's and
  // /proc hides it (hidepid), where the EPERM answer stands.
  return !(state === "gone" && permitted)
}

/**
 * pid's descendants from the core's tree walk (the process table on every platform,
 * Windows included). Rejects (never throws) a bad pid: the async functions report errors
 * by rejection.
 */
export async function descendants(pid: number): Promise<number[]> {
  checkPid(pid)
  return loadAddon().descendants(pid)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Live and not a zombie. */
const alive = exists

/** Polls until none of pids is alive or ms passed; true when all are gone. */
async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  let pause = 2
  for (;;) {
    if (!pids.some(alive)) return true
    if (Date.now() >= deadline) return false
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())))
    pause = Math.min(pause * 2, 25)
  }
}

function signalAll(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig)
    } catch {
      // gone already
    }
  }
}

/**
 * Terminates a tree. A supervised child is cancelled with the native ladder (group,
 * session, pidfds). Any other pid gets the best a JS walk can do: its descendants from
 * the process table (re-read before SIGKILL, so what forked during the grace is not
 * missed), its group if it leads one, a grace polled for the whole tree rather than
 * only the root.
 */
export async function terminateTree(input: TerminateTreeInput): Promise<void> {
  if (input === null || typeof input !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "input" argument must be of type object')
  // Never 0, -1, 1 or this process: kill(-pid) of those is a group or the machine.
  checkTreePid(input.pid, "input.pid")
  const grace = checkMs("graceMs", input.graceMs) ?? TERMINATION_GRACE_MS
  const sup = supervisedByPid(input.pid)
  if (sup) {
    sup.cancelWith(REASON_STOP, signalNumber("SIGTERM", "SIGTERM"), grace)
    await sup.outcome.catch(() => undefined)
    return
  }
  // Whatever a custom finder returns, only pids naming one process of ours are signalled.
  const find = async (): Promise<number[]> => {
    try {
      return signallable(await (input.findDescendants ?? descendants)(input.pid))
    } catch {
      return []
    }
  }
  const signalRoot = (sig: NodeJS.Signals) => {
    try {
      if (input.signalRoot) input.signalRoot(sig)
      else process.kill(input.pid, sig)
    } catch {
      // gone already
    }
  }
  const kill = async (sig: NodeJS.Signals) => {
    const tree = await find()
    try {
      process.kill(-input.pid, sig)
    } catch {
      // not a group leader: members one by one
    }
    signalRoot(sig)
    signalAll(tree, sig)
    return tree
  }
  const first = await kill("SIGTERM")
  if (input.waitForExit) await Promise.race([input.waitForExit.catch(() => undefined), sleep(0)])
  if (await waitGone([input.pid, ...first], grace)) return
  const second = await kill("SIGKILL")
  await waitGone([input.pid, ...first, ...second], grace)
}

export async function stop(proc: ChildProcess): Promise<void> {
  if (proc instanceof SupervisedChild) {
    proc.cancelWith(REASON_STOP, signalNumber("SIGTERM", "SIGTERM"), TERMINATION_GRACE_MS)
    await proc.outcome.catch(() => undefined)
    return
  }
  if (proc.pid === undefined) return
  if (proc.exitCode !== null || proc.signalCode !== null) {
    // The root is gone; what it left in its group may not be.
    return terminateTree({ pid: proc.pid, graceMs: TERMINATION_GRACE_MS })
  }
  const waitForExit = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
  return terminateTree({ pid: proc.pid, graceMs: TERMINATION_GRACE_MS, signalRoot: (s) => proc.kill(s), waitForExit })
}

export const native: ProcessApi = {
  TERMINATION_GRACE_MS,
  RunFailedError,
  spawn,
  run,
  text,
  lines,
  stop,
  exists,
  descendants,
  terminateTree,
}
