// The `Process` surface of BASELINE.md on the native supervisor: same names, types and
// results as the baseline, but exits come after the output drained, cancellation covers
// the whole tree, and bounds are never unbounded.
import type { ChildProcess } from "node:child_process"
import { loadAddon } from "./addon"
import { SupervisedChild, signalNumber, supervisedByPid, type SuperviseOptions } from "./supervise"
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

/** The baseline's default grace after an abort (its `timeout` option). */
const ABORT_GRACE_MS = 5000

function toSupervise(opts: Options): SuperviseOptions {
  const { abort, kill, timeout, ...rest } = opts
  return { ...rest, signal: abort, killSignal: kill, graceMs: timeout ?? ABORT_GRACE_MS }
}

export function spawn(cmd: string[], opts: Options = {}): Child {
  return new SupervisedChild(cmd, toSupervise(opts)) as unknown as Child
}

export async function run(cmd: string[], opts: RunOptions = {}): Promise<Result> {
  const { nothrow, maxBuffer, ...rest } = opts
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

/** Signal-0 probe; unlike the baseline, EPERM means the process exists. */
export function exists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"
  }
}

export async function descendants(pid: number): Promise<number[]> {
  if (process.platform === "win32") return []
  return loadAddon().descendants(pid)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Live and not a zombie: /proc's state where there is one, else a signal-0 probe. */
function alive(pid: number): boolean {
  if (!exists(pid)) return false
  if (process.platform !== "linux") return true
  try {
    const stat = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

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
  const grace = input.graceMs ?? TERMINATION_GRACE_MS
  const sup = supervisedByPid(input.pid)
  if (sup) {
    sup.cancelWith(3, signalNumber("SIGTERM", "SIGTERM"), grace)
    await sup.outcome.catch(() => undefined)
    return
  }
  const find = async (): Promise<number[]> => {
    try {
      return await (input.findDescendants ?? descendants)(input.pid)
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
    proc.cancelWith(3, signalNumber("SIGTERM", "SIGTERM"), TERMINATION_GRACE_MS)
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
