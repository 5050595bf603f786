// The contract of PawWork's `Process` helper (../shared/BASELINE.md): names, types and
// results that every call site relies on. Both implementations (native and legacy)
// satisfy exactly this surface. Extensions beyond the baseline are opt-in and marked.
// Types only: what runs is in lib/api.ts (the object both build) and lib/capture.ts.
import type { ChildProcess } from "node:child_process"
import type { Readable, Stream } from "node:stream"
import type { RunFailedError } from "./capture"

/** A mode ("socket": as "pipe" over a socketpair — Node's 'pipe' on Unix — an extension; not on Windows), or a host fd given to the child as a duplicate: a number, or a stream that has one (as child_process takes them). */
export type Stdio = "inherit" | "pipe" | "ignore" | number | Stream | "socket"
export type Shell = boolean | string

export interface Options {
  cwd?: string
  /** Omitted: inherit `process.env`; an object: merged over `process.env`; `null`: empty. */
  env?: NodeJS.ProcessEnv | null
  stdin?: Stdio
  stdout?: Stdio
  stderr?: Stdio
  shell?: Shell
  /** Cancels the whole tree: the one name both APIs take (an extension; the baseline's is `abort`). */
  signal?: AbortSignal
  /** The baseline's name of `signal` (give one of them). */
  abort?: AbortSignal
  /** First signal of a cancellation (default SIGTERM). */
  kill?: NodeJS.Signals | number
  /** NOT a run-time limit: grace between the first signal and SIGKILL after an abort (default 5000). */
  timeout?: number
}

export interface RunOptions extends Omit<Options, "stdout" | "stderr"> {
  nothrow?: boolean
  /**
   * Written to stdin, which is then closed: a string (UTF-8), bytes, or a Readable piped
   * in (an extension of the baseline, native only; `stdin` must be omitted or "pipe").
   */
  input?: string | Uint8Array | Readable
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
  /** process.exit(code) after stdout and stderr were flushed (opencode's newer surface; bounded waits). */
  safeExit(code?: number): Promise<never>
}
