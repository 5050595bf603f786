// pawwork-supervisor: a process supervisor for Node and Electron.
//
//   import { Process, supervise } from "pawwork-supervisor"
//
// `Process` is a drop-in for PawWork's process.ts (../shared/BASELINE.md). Which
// implementation serves it is one feature flag: PAWWORK_SUPERVISOR=native|legacy in the
// environment (native by default), or setImplementation() in tests.
import type { ChildProcess } from "node:child_process"
import { loadAddon } from "./addon"
import { TERMINATION_GRACE_MS as GRACE_OF_STOP } from "./api"
import { legacy } from "./legacy"
import { native } from "./native"
import type { ProcessApi, TerminateTreeInput } from "./types"

export type { Child, Options, RunOptions, Result, TextResult, Stdio, Shell, TerminateTreeInput, ProcessApi } from "./types"
export { TERMINATION_GRACE_MS } from "./api"
export { RunFailedError } from "./capture"
export { supervise, SupervisedChild, AwaitableChild } from "./child"
export type { Outcome, Reason, SuperviseOptions, LinesOf } from "./child"
export { safeExit } from "./api"
export { spawnTerminal, TerminalSession } from "./terminal"
export type { TerminalOptions, ForegroundInfo } from "./terminal"
export { legacy } from "./legacy"
export type { ContainmentInfo } from "./addon"
export { BuildMismatchError, NativeLoadError, RuntimeUnsupportedError } from "./addon"

/**
 * How the next native spawn's tree will be contained: with the helper (airtight, and
 * cleaned up when the host dies) or the weaker fallback, and why. Starts the helper if it
 * is not running yet, so the answer is a fact, not a guess. The helper is looked for
 * beside the library, or named by PAWWORK_SUPERVISOR_HELPER ("0" disables it).
 */
export function containment(): import("./addon").ContainmentInfo {
  return loadAddon().containment()
}
export { native } from "./native"

export type Implementation = "native" | "legacy"

function fromEnv(): Implementation {
  const v = process.env.PAWWORK_SUPERVISOR
  if (v === undefined || v === "" || v === "native") return "native"
  if (v === "legacy") return "legacy"
  throw new Error(`pawwork-supervisor: PAWWORK_SUPERVISOR must be "native" or "legacy", not ${JSON.stringify(v)}`)
}

let current: Implementation | undefined

/** The implementation `Process` uses now. */
export function implementation(): Implementation {
  return (current ??= fromEnv())
}

/** Switches `Process` to another implementation (for tests and rollback). */
export function setImplementation(impl: Implementation): void {
  if (impl !== "native" && impl !== "legacy") throw new TypeError(`pawwork-supervisor: unknown implementation ${JSON.stringify(impl)}`)
  current = impl
}

function impl(): ProcessApi {
  return implementation() === "legacy" ? legacy : native
}

/** PawWork's `Process` namespace, served by the implementation the flag selects. */
export namespace Process {
  export const TERMINATION_GRACE_MS = GRACE_OF_STOP
  export const RunFailedError = native.RunFailedError
  export type RunFailedError = import("./capture").RunFailedError
  export type Stdio = import("./types").Stdio
  export type Shell = import("./types").Shell
  export type Options = import("./types").Options
  export type RunOptions = import("./types").RunOptions
  export type Result = import("./types").Result
  export type TextResult = import("./types").TextResult
  export type Child = import("./types").Child
  export const spawn = (cmd: string[], opts?: Options): Child => impl().spawn(cmd, opts)
  export const run = (cmd: string[], opts?: RunOptions): Promise<Result> => impl().run(cmd, opts)
  export const text = (cmd: string[], opts?: RunOptions): Promise<TextResult> => impl().text(cmd, opts)
  export const lines = (cmd: string[], opts?: RunOptions): Promise<string[]> => impl().lines(cmd, opts)
  export const stop = (proc: ChildProcess): Promise<void> => impl().stop(proc)
  export const exists = (pid: number): boolean => impl().exists(pid)
  export const descendants = (pid: number): Promise<number[]> => impl().descendants(pid)
  export const terminateTree = (input: TerminateTreeInput): Promise<void> => impl().terminateTree(input)
  export const safeExit = (code?: number): Promise<never> => impl().safeExit(code)
}
