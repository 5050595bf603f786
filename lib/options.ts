// The options of supervise() and of Process (native), in one table each: every option
// once, with its type check, its range, its default and its error (esbuild's
// checkForInvalidFlags). Options both APIs share are one entry used by both tables, under
// each API's own key (`graceMs` is Process's `timeout`, `killSignal` its `kill`, `signal`
// its `abort`). A key its table lacks is refused with the nearest known name,
// never dropped. The Go core checks the request it receives again (ParseOptions): that is
// the wire check; this is the one the caller reads.
import { Readable, type Stream } from "node:stream"
import { ABI } from "./addon"
import { checkMaxBuffer } from "./capture"
import type { Options, RunOptions, Stdio } from "./types"
import { checkMs, envEntries, invalidArg, received, signalNumber } from "./validate"

/** One option: what it must be and what it is when omitted (what it means: SuperviseOptions, lib/types.ts Options). */
export interface Option<T> {
  /** The accepted values, as the docs and the errors say them. */
  readonly type: string
  /** What an omitted (or undefined) option is. */
  readonly default: T
  /** Checks a given value (never undefined) as `name` ("options.graceMs"); returns it (signals as numbers). */
  check(v: unknown, name: string): T
}

function option<T>(type: string, def: T, check: (v: unknown, name: string) => T): Option<T> {
  return Object.freeze({ type, default: def, check })
}

/** "socket": as "pipe", over a socketpair, as Node's 'pipe' is on Unix (not on Windows): for programs that tell the two apart. */
const STDIO_VALUES = ["pipe", "inherit", "ignore", "socket"]

/** A mode the library reads or writes itself ("pipe", or "socket": the same stream over a socketpair). */
export const piped = (mode: unknown): boolean => mode === "pipe" || mode === "socket"

function oneOf<T extends string>(values: readonly string[], def: T): Option<T> {
  const shown = values.map((s) => JSON.stringify(s))
  const list = `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`
  return option<T>(shown.join(" | "), def, (v, name) => {
    if (typeof v !== "string" || !values.includes(v)) throw invalidArg("ERR_INVALID_ARG_VALUE", `The property '${name}' must be ${list}. Received ${JSON.stringify(v)}`)
    return v as T
  })
}

function boolean(def: boolean): Option<boolean> {
  return option("boolean", def, (v, name) => {
    if (typeof v !== "boolean") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be of type boolean. ${received(v)}`)
    return v
  })
}

/** Milliseconds, by Node's validateInteger: 0 ≤ v ≤ PWS_MS_MAX. */
function ms<D extends number | undefined>(def: D): Option<number | D> {
  return option<number | D>(`integer ms, 0 to ${ABI.MS_MAX}`, def, (v, name) => checkMs(name, v)!)
}

const CWD = option<string | undefined>("string", undefined, (v, name) => {
  if (typeof v !== "string") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be of type string. ${received(v)}`)
  if (v.includes("\0")) throw invalidArg("ERR_INVALID_ARG_VALUE", `The property '${name}' must be a string without null bytes`)
  return v
})

/** Omitted: the host's environment; an object: merged over it; null: an empty one. */
const ENV = option<NodeJS.ProcessEnv | null | undefined>("object | null", undefined, (v, name) => {
  if (v !== null && typeof v !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be of type object. ${received(v)}`)
  if (v !== null) envEntries(v as NodeJS.ProcessEnv, name)
  return v as NodeJS.ProcessEnv | null
})

/**
 * The host fd a stdio value names, by child_process's rule: a number is an fd; an object
 * with a numeric `fd` (process.stdout, an opened fs stream) or a handle with one (a
 * net.Socket) is that fd; undefined for anything else.
 */
export function stdioFd(v: unknown): number | undefined {
  if (typeof v === "number") return v
  if (v === null || typeof v !== "object") return undefined
  const o = v as { fd?: unknown; _handle?: { fd?: unknown } | null }
  if (typeof o.fd === "number") return o.fd
  if (o._handle && typeof o._handle.fd === "number" && o._handle.fd >= 0) return o._handle.fd
  return undefined
}

/** A stdio value: one of the modes, or a host fd (a number, or a stream that has one), passed to the leader as a duplicate. */
function stdio<T extends string>(values: readonly string[], def: T): Option<T | number | Stream> {
  const modes = oneOf<T>(values, def)
  return option<T | number | Stream>(`${modes.type} | fd | Stream with an fd`, def, (v, name) => {
    if (typeof v === "string" && values.includes(v)) return modes.check(v, name)
    const fd = typeof v === "string" ? undefined : stdioFd(v)
    if (fd === undefined || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
      const what = typeof v === "number" ? String(v) : v !== null && typeof v === "object" ? "an object without a file descriptor" : JSON.stringify(v)
      throw invalidArg("ERR_INVALID_ARG_VALUE", `The property '${name}' must be ${values.map((s) => JSON.stringify(s)).join(", ")}, a file descriptor or a stream that has one. Received ${what}`)
    }
    return v as number | Stream
  })
}

/** What the core's request says for a stdio value: the mode, or "fd:N" for a host fd. */
export function stdioMode(v: string | number | Stream): string {
  return typeof v === "string" ? v : `fd:${stdioFd(v)}`
}

const STDIO = stdio<"pipe" | "inherit" | "ignore" | "socket">(STDIO_VALUES, "ignore")
/** stderr may also be "stdout": merged into the stdout pipe in the order written (2>&1). */
const STDERR_OR_MERGED = stdio<"pipe" | "inherit" | "ignore" | "socket" | "stdout">([...STDIO_VALUES, "stdout"], "ignore")

/** What to write to the leader's stdin, then close it: a string (UTF-8), bytes, or a Readable piped in. */
const INPUT = option<string | Uint8Array | Readable | undefined>("string | Buffer | Uint8Array | Readable", undefined, (v, name) => {
  if (typeof v === "string" || v instanceof Uint8Array || v instanceof Readable) return v
  throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be of type string or an instance of Buffer, Uint8Array or Readable. ${received(v)}`)
})

const SHELL = option<boolean | string>("boolean | string", false, (v, name) => {
  if (typeof v !== "boolean" && typeof v !== "string") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be of type string or boolean. ${received(v)}`)
  return v
})

const ABORT_SIGNAL = option<AbortSignal | undefined>("AbortSignal", undefined, (v, name) => {
  if (!(v instanceof AbortSignal)) throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be an instance of AbortSignal. ${received(v)}`)
  return v
})

/** The first signal of a cancellation, by Node's rule (a name or the number of one; 0 is not a signal). */
const FIRST_SIGNAL = option<number>("signal name or number", signalNumber("SIGTERM", "SIGTERM"), (v, name) => signalNumber(v, "SIGTERM", { name }))

/** Between the first signal and SIGKILL: PWS_DEFAULT_GRACE_MS (go/capi/pws.h; lib/addon.ts checks its copy at load), the baseline's 5000. */
const GRACE = ms(ABI.DEFAULT_GRACE_MS)

const MAX_BUFFER = option<number | undefined>("number ≥ 0 (bytes)", undefined, (v) => checkMaxBuffer(v))

/** supervise()'s options (see SuperviseOptions for what each one means). */
export const SUPERVISE_OPTIONS = Object.freeze({
  cwd: CWD,
  env: ENV,
  stdin: STDIO,
  stdout: STDIO,
  stderr: STDERR_OR_MERGED,
  shell: SHELL,
  signal: ABORT_SIGNAL,
  /** Run-time limit; omitted or 0: none. */
  timeoutMs: ms(undefined),
  graceMs: GRACE,
  killSignal: FIRST_SIGNAL,
  killTreeOnExit: boolean(false),
  holdLeftovers: boolean(false),
  drainIdleMs: ms(ABI.DEFAULT_DRAIN_IDLE_MS),
  drainMaxMs: ms(ABI.DEFAULT_DRAIN_MAX_MS),
  forwardSignals: boolean(false),
  input: INPUT,
  all: boolean(false),
  maxBuffer: MAX_BUFFER,
} satisfies { [K in keyof Required<SuperviseOptions>]: Option<unknown> })

/** Process.spawn's options, the baseline's keys and meanings (BASELINE.md). */
export const PROCESS_OPTIONS = Object.freeze({
  cwd: CWD,
  env: ENV,
  stdin: STDIO,
  stdout: STDIO,
  stderr: STDERR_OR_MERGED,
  shell: SHELL,
  /** The one cancellation name of both APIs; `abort` is the baseline's alias of it. */
  signal: ABORT_SIGNAL,
  abort: ABORT_SIGNAL,
  kill: FIRST_SIGNAL,
  /** NOT a run-time limit: the grace after an abort. */
  timeout: GRACE,
} satisfies { [K in keyof Required<Options>]: Option<unknown> })

/** Process.run/text/lines's options: spawn's but stdout and stderr (always piped; run() sets them), plus its own. */
export const RUN_OPTIONS = Object.freeze({
  cwd: CWD,
  env: ENV,
  stdin: STDIO,
  shell: SHELL,
  signal: ABORT_SIGNAL,
  abort: ABORT_SIGNAL,
  kill: FIRST_SIGNAL,
  timeout: GRACE,
  nothrow: boolean(false),
  /** An extension of the baseline: written to stdin, which is then closed (stdin must be omitted or "pipe"). */
  input: INPUT,
  /** An extension of the baseline: a cap on what run() keeps of each stream. */
  maxBuffer: MAX_BUFFER,
} satisfies { [K in keyof Required<Omit<RunOptions, "stdout" | "stderr">>]: Option<unknown> })

export type OptionTable = Readonly<Record<string, Option<unknown>>>
/** A table's options, checked, with their defaults applied. */
export type Resolved<T extends OptionTable> = { [K in keyof T]: T[K] extends Option<infer V> ? V : never }

/**
 * Keys another API (or Node, or execa) spells differently, refused with what to write
 * instead: the nearest name alone could mislead (`timeout` is a run limit to execa and
 * Node, the grace to Process).
 */
const FOREIGN: Record<"supervise" | "Process", Record<string, string>> = {
  supervise: {
    timeout: 'supervise() has no "timeout": use "timeoutMs" for a run-time limit (the tree is cancelled after it) or "graceMs" for the time between the first signal and SIGKILL',
    abort: 'supervise() takes its AbortSignal as "signal" (Process takes "signal" too, and "abort" as its baseline alias)',
    cancelSignal: 'supervise() takes its AbortSignal as "signal" (execa\'s "cancelSignal")',
    reject: 'supervise() never rejects on a non-zero code: read the outcome\'s "code" (execa\'s "reject")',
    buffer: 'supervise() does not buffer output: read child.stdout/stderr/all or iterate child.lines() (execa\'s "buffer")',
    kill: 'supervise() takes the first signal as "killSignal" (Process\'s "kill")',
    forceKillAfterDelay: 'supervise() takes the time between the first signal and SIGKILL as "graceMs" (execa\'s "forceKillAfterDelay")',
    stdio: 'supervise() takes "stdin", "stdout" and "stderr" one by one',
  },
  Process: {
    cancelSignal: 'Process takes its AbortSignal as "signal" (or the baseline\'s "abort"; execa\'s "cancelSignal")',
    killSignal: 'Process takes the first signal as "kill" (supervise()\'s "killSignal")',
    graceMs: 'Process takes the grace after an abort as "timeout" (supervise()\'s "graceMs")',
    timeoutMs: 'Process has no run-time limit (its "timeout" is the grace after an abort): use supervise() and its "timeoutMs"',
    stdio: 'Process takes "stdin", "stdout" and "stderr" one by one',
    input: 'Process.spawn has no "input": write to child.stdin (stdin: "pipe"), or use Process.run/text/lines, which take "input"',
    all: 'Process has no "all": use stderr "stdout" for one merged stream in write order, or supervise() and its "all"',
  },
}

/** Edit distance between a and b (insert, delete, substitute: one each), case-insensitive. */
export function distance(a: string, b: string): number {
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j)
  for (let i = 1; i <= x.length; i++) {
    const cur = [i]
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[y.length]
}

function commonPrefix(a: string, b: string): number {
  let n = 0
  while (n < a.length && n < b.length && a[n].toLowerCase() === b[n].toLowerCase()) n++
  return n
}

/** The known name nearest to key: the least distance, then the longest common prefix, then the table's order. */
export function nearest(key: string, known: readonly string[]): string {
  let best = known[0]
  for (const k of known) {
    const d = distance(key, k) - distance(key, best)
    if (d < 0 || (d === 0 && commonPrefix(key, k) > commonPrefix(key, best))) best = k
  }
  return best
}

function unknownOption(key: string, table: OptionTable, api: "supervise" | "Process"): Error {
  const foreign = Object.hasOwn(FOREIGN[api], key) ? FOREIGN[api][key] : undefined
  return invalidArg("ERR_INVALID_ARG_VALUE", `Unknown option "${key}" — ${foreign ?? `did you mean "${nearest(key, Object.keys(table))}"?`}`)
}

/**
 * Checks opts against a table: an object (undefined: {}), no key the table lacks, each
 * given option by its entry; returns every option of the table, defaults applied. Errors
 * name the option as `${name}.${key}` ("options.graceMs", "opts.timeout").
 */
export function resolveOptions<T extends OptionTable>(table: T, opts: unknown, api: "supervise" | "Process", name: string): Resolved<T> {
  if (opts === undefined) opts = {}
  if (opts === null || typeof opts !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" argument must be of type object. ${received(opts)}`)
  for (const key of Object.keys(opts)) if (!Object.hasOwn(table, key)) throw unknownOption(key, table, api)
  const given = opts as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [key, o] of Object.entries(table)) out[key] = given[key] === undefined ? o.default : o.check(given[key], `${name}.${key}`)
  return out as Resolved<T>
}

export interface SuperviseOptions extends Omit<Options, "stderr" | "abort" | "kill" | "timeout" | "signal"> {
  /** "stdout" merges stderr into the stdout stream in the order the tree wrote (2>&1). */
  stderr?: Stdio | "stdout"
  /**
   * Written to the leader's stdin, which is then closed: a string (UTF-8), bytes, or a
   * Readable piped in. `stdin` must be omitted or "pipe"; child.stdin is then null.
   */
  input?: string | Uint8Array | Readable
  /**
   * child.all: stdout and stderr interleaved as their chunks arrive, beside the separate
   * child.stdout and child.stderr (both must be "pipe"). With `all`, only `all` and a
   * separate stream being read hold the tree back when full; an unread separate stream
   * keeps its chunks (as an unread Node stream does).
   */
  all?: boolean
  /**
   * Bytes delivered per stream (stdout, stderr; `all` gets what they get); the rest is
   * read and discarded — the tree is never blocked by it — and the outcome says so
   * (`truncated: true`, a line in `errors`). Process.run's `maxBuffer` means the same.
   */
  maxBuffer?: number
  /** Cancels the tree (reason "abort") when it fires. */
  signal?: AbortSignal
  /** Run-time limit: the tree is cancelled (reason "timeout") after this many ms (default: none). */
  timeoutMs?: number
  /** Between the first signal and SIGKILL (default PWS_DEFAULT_GRACE_MS, 5000). */
  graceMs?: number
  /** First signal of a cancellation (default SIGTERM). */
  killSignal?: NodeJS.Signals | number
  /** Kill the leftovers when the leader exits by itself (default false: let them go). */
  killTreeOnExit?: boolean
  /**
   * Keep owning the leftovers when the leader exits by itself (default false): they are
   * not let go — cancel()/kill() still reach the whole tree, the helper still kills them
   * if the host dies — and `treeEmpty` resolves (with the final outcome) once the tree is
   * empty. 'exit', 'close' and `outcome` still come at the leader's exit and the end of
   * its streams.
   */
  holdLeftovers?: boolean
  /** After the leader's exit, how long the drain waits for the next output chunk (default PWS_DEFAULT_DRAIN_IDLE_MS, 1000). */
  drainIdleMs?: number
  /** After the leader's exit, the most the drain may take (default PWS_DEFAULT_DRAIN_MAX_MS, 10000). */
  drainMaxMs?: number
  /**
   * Forward SIGINT and SIGTERM delivered to the host to this tree, as a cancel whose first
   * signal is the one received (reason "host"; the ladder with `graceMs` follows). Default
   * false: the host's signals are not ours to handle. See lib/forward-signals.ts for what
   * the host does afterwards.
   */
  forwardSignals?: boolean
}

/** supervise()'s options, checked and resolved. */
export type SuperviseSettings = Resolved<typeof SUPERVISE_OPTIONS>

/** Checks supervise()'s options, including the one rule across two of them. */
export function superviseSettings(opts: unknown): SuperviseSettings {
  const s = resolveOptions(SUPERVISE_OPTIONS, opts, "supervise", "options")
  if (s.stderr === "stdout" && !piped(s.stdout)) throw invalidArg("ERR_INVALID_ARG_VALUE", `options.stderr "stdout" needs options.stdout "pipe"`)
  if (s.input !== undefined && (opts as { stdin?: unknown }).stdin !== undefined && !piped(s.stdin)) throw invalidArg("ERR_INVALID_ARG_VALUE", `options.input needs options.stdin omitted or "pipe"`)
  if (s.all && (!piped(s.stdout) || !piped(s.stderr))) throw invalidArg("ERR_INVALID_ARG_VALUE", `options.all needs options.stdout and options.stderr "pipe"`)
  return s
}

/** Validates argv like child_process.spawn does (synchronously). */
export function checkArgv(cmd: unknown): asserts cmd is string[] {
  if (!Array.isArray(cmd)) throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "cmd" argument must be an array of strings')
  // The baseline's message, with Node's type and code (child_process: "cannot be empty").
  if (cmd.length === 0) throw invalidArg("ERR_INVALID_ARG_VALUE", "Command is required")
  cmd.forEach((a, i) => {
    if (typeof a !== "string") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "cmd[${i}]" argument must be of type string. Received ${typeof a}`)
    if (a.includes("\0")) throw invalidArg("ERR_INVALID_ARG_VALUE", `The argument 'cmd[${i}]' must be a string without null bytes. Received ${JSON.stringify(a)}`)
  })
  if (cmd[0] === "") throw invalidArg("ERR_INVALID_ARG_VALUE", "The argument 'cmd[0]' cannot be empty")
}

/** The leader's environment by the baseline's rule: omitted → process.env, object → merged, null → empty. */
export function leaderEnv(env: NodeJS.ProcessEnv | null | undefined): string[] {
  return envEntries(env === null ? {} : env === undefined ? process.env : { ...process.env, ...env })
}

/** argv with the shell applied the way child_process does it. */
export function shellArgv(cmd: string[], shell: boolean | string): string[] {
  if (!shell) return cmd
  const line = cmd.join(" ")
  if (process.platform === "win32") {
    const comspec = typeof shell === "string" ? shell : process.env.ComSpec || "cmd.exe"
    return [comspec, "/d", "/s", "/c", `"${line}"`]
  }
  return [typeof shell === "string" ? shell : "/bin/sh", "-c", line]
}
