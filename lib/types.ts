// The contract of PawWork's `Process` helper (../shared/BASELINE.md): names, types and
// results that every call site relies on. Both implementations (native and legacy)
// satisfy exactly this surface.
import type { ChildProcess } from "node:child_process"

/** Grace between the first signal and SIGKILL used by `stop()`. */
export const TERMINATION_GRACE_MS = 500

export type Stdio = "inherit" | "pipe" | "ignore"
export type Shell = boolean | string

export interface Options {
  cwd?: string
  /** Omitted: inherit `process.env`; an object: merged over `process.env`; `null`: empty. */
  env?: NodeJS.ProcessEnv | null
  stdin?: Stdio
  stdout?: Stdio
  stderr?: Stdio
  shell?: Shell
  abort?: AbortSignal
  /** First signal of a cancellation (default SIGTERM). */
  kill?: NodeJS.Signals | number
  /** NOT a run-time limit: grace between the first signal and SIGKILL after an abort (default 5000). */
  timeout?: number
}

export interface RunOptions extends Omit<Options, "stdout" | "stderr"> {
  nothrow?: boolean
}

export interface Result {
  code: number
  stdout: Buffer
  stderr: Buffer
}

export interface TextResult extends Result {
  text: string
}

export type Child = ChildProcess & { exited: Promise<number> }

export interface TerminateTreeInput {
  pid: number
  graceMs?: number
  signalRoot?: (signal: NodeJS.Signals) => void
  waitForExit?: Promise<unknown>
  findDescendants?: (pid: number) => Promise<number[]>
}

export class RunFailedError extends Error {
  readonly cmd: string[]
  readonly code: number
  readonly stdout: Buffer
  readonly stderr: Buffer

  constructor(cmd: string[], code: number, stdout: Buffer, stderr: Buffer) {
    const detail = stderr.toString().trim()
    super(`Command failed with code ${code}: ${cmd.join(" ")}` + (detail ? `\n${detail}` : ""))
    this.name = "ProcessRunFailedError"
    this.cmd = [...cmd]
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
  }
}

/** The `Process` namespace's surface; both implementations provide it. */
export interface ProcessApi {
  readonly TERMINATION_GRACE_MS: number
  readonly RunFailedError: typeof RunFailedError
  spawn(cmd: string[], opts?: Options): Child
  run(cmd: string[], opts?: RunOptions): Promise<Result>
  text(cmd: string[], opts?: RunOptions): Promise<TextResult>
  lines(cmd: string[], opts?: RunOptions): Promise<string[]>
  stop(proc: ChildProcess): Promise<void>
  exists(pid: number): boolean
  descendants(pid: number): Promise<number[]>
  terminateTree(input: TerminateTreeInput): Promise<void>
}
