// The contract of PawWork's `Process` helper (../shared/BASELINE.md): names, types and
// results that every call site relies on. Both implementations (native and legacy)
// satisfy exactly this surface. Extensions beyond the baseline are opt-in and marked.
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
  /**
   * Opt-in cap, in bytes, on what `run`/`text`/`lines` keep of each of stdout and stderr
   * (an extension of the baseline; default: no cap). Beyond it output is discarded: the
   * child keeps running and its pipes keep being drained (never blocked), the captured
   * prefix is returned, and the result (or the `RunFailedError`) has `truncated: true`.
   */
  maxBuffer?: number
}

export interface Result {
  code: number
  stdout: Buffer
  stderr: Buffer
  /** Present only with `maxBuffer`: true when stdout or stderr was cut at the cap. */
  truncated?: boolean
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
  /** `maxBuffer` cut stdout or stderr (false without `maxBuffer`). */
  readonly truncated: boolean

  constructor(cmd: string[], code: number, stdout: Buffer, stderr: Buffer, truncated = false) {
    const detail = stderr.toString().trim()
    super(`Command failed with code ${code}: ${cmd.join(" ")}` + (detail ? `\n${detail}` : ""))
    this.name = "ProcessRunFailedError"
    this.cmd = [...cmd]
    this.code = code
    this.stdout = stdout
    this.stderr = stderr
    this.truncated = truncated
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

/** What `run` keeps of one output stream: everything, or the first `cap` bytes. */
export interface Captured {
  buffer: Buffer
  truncated: boolean
}

/**
 * Validates `maxBuffer` (undefined: no cap); throws like Node's validators. Shared by
 * both implementations so that they refuse the same values.
 */
export function checkMaxBuffer(v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== "number" || Number.isNaN(v) || v < 0) {
    const err = new RangeError(`The value of "maxBuffer" is out of range. It must be a number >= 0. Received ${String(v)}`) as RangeError & { code: string }
    err.code = "ERR_OUT_OF_RANGE"
    throw err
  }
  return v
}

/**
 * Collects a stream's chunks, keeping at most `cap` bytes (undefined: all). The stream
 * is consumed to its end either way, so a child is never blocked by a full buffer.
 * Settles on 'end' or 'close' (a pipe destroyed without 'end' still ended); an 'error'
 * rejects with `errors: "reject"`, else settles with what was captured.
 */
export function collectCapped(stream: import("node:stream").Readable, cap: number | undefined, errors: "reject" | "resolve" = "resolve"): Promise<Captured> {
  return new Promise<Captured>((resolve, reject) => {
    const chunks: Buffer[] = []
    let kept = 0
    let truncated = false
    stream.on("data", (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      if (cap === undefined) {
        chunks.push(b)
        return
      }
      const room = cap - kept
      if (b.length > room) {
        truncated = true
        if (room > 0) chunks.push(b.subarray(0, room))
        kept = cap
        return
      }
      chunks.push(b)
      kept += b.length
    })
    const done = () => resolve({ buffer: Buffer.concat(chunks), truncated })
    stream.once("end", done)
    stream.once("close", done)
    stream.once("error", errors === "reject" ? reject : done)
  })
}
