// The `Process` surface of BASELINE.md on the native supervisor: same names, types and
// results as the baseline, but exits come after the output drained, cancellation covers
// the whole tree, and bounds are never unbounded.
import type { ChildProcess } from "node:child_process"
import { constants as osConstants } from "node:os"
import { ABI, loadAddon } from "./addon"
import { debug } from "./debug"
import { TERMINATION_GRACE_MS, processApi } from "./api"
import { Capture, RunFailedError } from "./capture"
import { SupervisedChild, supervisedByPid } from "./child"
import { PROCESS_OPTIONS, RUN_OPTIONS, resolveOptions } from "./options"
import type { Child, Options, Result, RunOptions, TerminateTreeInput } from "./types"
import { checkMs, checkPid, checkTreePid, invalidArg, signalName, signallable } from "./validate"

export { RunFailedError, TERMINATION_GRACE_MS }

const GRACE_DEFAULT = ABI.DEFAULT_GRACE_MS

/**
 * Process's options, checked, under supervise()'s names. An already aborted `abort` throws
 * synchronously, as the baseline's spawn does (supervise() reports it asynchronously,
 * like Node).
 */
function superviseOptions<T extends { signal: AbortSignal | undefined; abort: AbortSignal | undefined; kill: number; timeout: number }>({ signal, abort, kill, timeout, ...rest }: T) {
  if (signal !== undefined && abort !== undefined && signal !== abort) throw invalidArg("ERR_INVALID_ARG_VALUE", 'opts.signal and opts.abort are one option ("abort" is the baseline\'s name of "signal"): give one')
  const cancel = signal ?? abort
  cancel?.throwIfAborted()
  if (cancel === undefined && timeout !== GRACE_DEFAULT) debug("Process: timeout %d is the grace between the first signal and SIGKILL after an abort (the baseline's meaning), not a run-time limit, and there is no abort signal: it has no effect (a run limit: supervise()'s timeoutMs)", timeout)
  return { ...rest, signal: cancel, killSignal: kill, graceMs: timeout }
}

export function spawn(cmd: string[], opts: Options = {}): Child {
  return new SupervisedChild(cmd, superviseOptions(resolveOptions(PROCESS_OPTIONS, opts, "Process", "opts"))) as unknown as Child
}

export async function run(cmd: string[], opts: RunOptions = {}): Promise<Result> {
  // stdout and stderr are run()'s to set (piped), whatever the caller passed: the baseline's rule.
  const { stdout: _out, stderr: _err, ...given } = (opts ?? {}) as Options & RunOptions
  const { nothrow, maxBuffer: cap, input, ...shared } = resolveOptions(RUN_OPTIONS, given, "Process", "opts")
  if (input !== undefined && given.stdin !== undefined && shared.stdin !== "pipe" && shared.stdin !== "socket") throw invalidArg("ERR_INVALID_ARG_VALUE", `opts.input needs opts.stdin omitted or "pipe"`)
  const base = superviseOptions(shared)
  const proc = new SupervisedChild(cmd, { ...base, ...(input !== undefined ? { input, stdin: shared.stdin === "socket" ? ("socket" as const) : ("pipe" as const) } : {}), stdout: "pipe", stderr: "pipe" })
  // The output goes straight into the captures (no chunk per read, no stream in between).
  const [stdout, stderr] = [new Capture(cap, true), new Capture(cap, true)]
  proc.captureOutput(stdout, stderr)
  let code: number
  try {
    code = await proc.exited
  } catch (err) {
    if (!nothrow) throw err
    return { code: 1, stdout: Buffer.alloc(0), stderr: Buffer.from(String((err as Error).message)) }
  }
  // 'exit' came after both streams ended, so everything captured is here, including
  // what a cancelled tree wrote before it died.
  const [o, e] = [stdout.take(), stderr.take()]
  const truncated = o.truncated || e.truncated
  const out: Result = { code, stdout: o.buffer, stderr: e.buffer }
  if (cap !== undefined) out.truncated = truncated
  if (code === 0 || nothrow) return out
  throw new RunFailedError(cmd, code, out.stdout, out.stderr, truncated)
}

/**
 * Is pid a live process? The core's answer (pws_process_state) where, unlike the
 * baseline's signal-0 probe, another user's process exists (EPERM) and a zombie does
 * not: it has ended and only waits to be reaped. A pid that cannot name one process (0,
 * negative, not an integer, beyond the largest pid) throws ERR_INVALID_ARG_VALUE:
 * kill(-1, 0) and kill(0, 0) probe groups, not a process.
 */
export function exists(pid: number): boolean {
  // `exists(child.pid)` of a child whose spawn failed: the baseline answered false
  // (Node's own check of the undefined pid threw inside its try), and so do we.
  if (pid === undefined) return false
  checkPid(pid)
  return loadAddon().processState(pid) === "alive"
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

/** Alive and not a zombie (the core's answer). */
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

const { SIGTERM, SIGKILL } = osConstants.signals

/**
 * Terminates a tree. A supervised child is cancelled like cancel() does (the core's
 * ladder: group, session, pidfds, cgroup). Any other pid goes through the core's tree
 * signalling (its group if it leads one, it, and every descendant of the core's walk,
 * read again for SIGKILL so that what forked during the grace is not missed), with the
 * grace polled for the whole tree rather than only the root. Custom `findDescendants` or
 * `signalRoot` hooks are honoured: then the tree is the root and what the finder returns.
 */
export async function terminateTree(input: TerminateTreeInput): Promise<void> {
  if (input === null || typeof input !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "input" argument must be of type object')
  // Never 0, -1, 1 or this process: kill(-pid) of those is a group or the machine.
  checkTreePid(input.pid, "input.pid")
  const grace = checkMs("graceMs", input.graceMs) ?? TERMINATION_GRACE_MS
  const sup = supervisedByPid(input.pid)
  if (sup) {
    await sup.cancel({ signal: "SIGTERM", graceMs: grace }).catch(() => undefined)
    return
  }
  const kill = input.findDescendants || input.signalRoot ? hookedKill(input) : coreKill(input.pid)
  const first = await kill(SIGTERM)
  if (input.waitForExit) await Promise.race([input.waitForExit.catch(() => undefined), sleep(0)])
  if (await waitGone([input.pid, ...first], grace)) return
  const second = await kill(SIGKILL)
  await waitGone([input.pid, ...first, ...second], grace)
}

/** One round of signals to a tree: the pids it signalled beside the root. */
type TreeKill = (sig: number) => Promise<number[]>

/** The core's: pws_signal_tree, through the core's ownership checks. */
function coreKill(pid: number): TreeKill {
  const addon = loadAddon()
  return async (sig) => addon.signalTree(pid, sig).filter((p) => p !== pid)
}

/** With the caller's hooks: its finder's pids (only those naming one process of ours), its way of signalling the root. */
function hookedKill(input: TerminateTreeInput): TreeKill {
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
  return async (n) => {
    const sig = signalName(n)!
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
}

export async function stop(proc: ChildProcess): Promise<void> {
  if (proc instanceof SupervisedChild) {
    await proc.cancel({ signal: "SIGTERM", graceMs: TERMINATION_GRACE_MS }).catch(() => undefined)
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

export const native = processApi({ spawn, run, stop, exists, descendants, terminateTree })
export const { text, lines } = native
