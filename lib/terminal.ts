// spawnTerminal(): a terminal session — the leader on a pseudo-terminal the core opened,
// contained like every supervised tree (through the helper: cgroup, subreaper, host-death
// cleanup). A sibling of supervise() rather than one of its options: the handle differs
// (one output stream that is the terminal, not stdout/stderr; resize, the foreground
// group), and supervise()'s stdio options have no meaning on a terminal, so each keeps
// a strict option table of its own.
import { EventEmitter } from "node:events"
import { Readable } from "node:stream"
import { ABI, EV_EXIT, EV_STDIN_ACK, EV_STDOUT, EV_STDOUT_END, PWS_EBADHANDLE, REASON_ABORT, REASON_STOP, STREAM_STDOUT, startNative, type NativeChild } from "./addon"
import type { Outcome } from "./child"
import { killAtHostExit, spareAtHostExit } from "./host-exit"
import { checkArgv, leaderEnv, nearest } from "./options"
import { abortError, checkMs, invalidArg, received, signalNumber } from "./validate"

export interface TerminalOptions {
  /** Rows and columns of the terminal (default 24 × 80). */
  rows?: number
  cols?: number
  /** The leader's working directory (default: the host's). */
  cwd?: string
  /** Merged over process.env (null: an empty environment). TERM defaults to `name`. */
  env?: NodeJS.ProcessEnv | null
  /** TERM when env does not set it (default "xterm-256color"). */
  name?: string
  /** Decode output as this encoding (e.g. "utf8"): string chunks, never a character split across two. Default: Buffers, the bytes exactly. */
  encoding?: BufferEncoding
  /** killSignal → graceMs → SIGKILL (default 5000). */
  graceMs?: number
  /**
   * First signal of terminate() and of a timeout (default SIGHUP: what closing a terminal
   * sends; an interactive shell ignores SIGTERM, and would hold the ladder for its grace).
   */
  killSignal?: NodeJS.Signals | number
  /** Run-time limit: terminate with reason "timeout". */
  timeoutMs?: number
  /** What the leader leaves behind when it exits by itself is killed (default true: a session that cannot escape). */
  killTreeOnExit?: boolean
  /** After the leader's exit: wait for the next chunk (default 1000), the whole drain (default 10000). */
  drainIdleMs?: number
  drainMaxMs?: number
  /** Abort: terminate with reason "abort". */
  signal?: AbortSignal
}

const KNOWN = ["rows", "cols", "cwd", "env", "name", "encoding", "graceMs", "killSignal", "timeoutMs", "killTreeOnExit", "drainIdleMs", "drainMaxMs", "signal"] as const

/** What the terminal says of its foreground process group (foreground()). */
export interface ForegroundInfo {
  /** The foreground process group (tcgetpgrp); 0 when there is none. */
  processGroupId: number
  /** The session's members in that group. */
  members: number[]
  /** Those proved blocked in a read of this terminal. */
  waiting: number[]
  /** Some member of the group is proved waiting for terminal input. */
  inputWaiting: boolean
  /** How: "procfs" (Linux) or "unsupported" (no proof here: inputWaiting is always false). */
  proof: "procfs" | "unsupported"
}

function checkSize(name: string, v: unknown, def: number): number {
  if (v === undefined) return def
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > ABI.TERM_SIZE_MAX) {
    throw invalidArg("ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be an integer from 1 to ${ABI.TERM_SIZE_MAX}. ${received(v)}`)
  }
  return v
}

/** Native returns of the terminal calls that are pws.h codes, not answers. */
function failed(rc: unknown, what: string): never {
  const err = new Error(`pawwork-supervisor: ${what}: ${rc === PWS_EBADHANDLE ? "the session has ended" : "not available (the session has ended)"}`) as NodeJS.ErrnoException
  err.code = "ERR_TERMINAL_ENDED"
  throw err
}

type NativeTerminal = NativeChild & {
  resize(rows: number, cols: number): number
  foreground(): ForegroundInfo | number
  signalForeground(sig: number): { processGroupId: number; reached: number[] } | number
}

/**
 * A terminal session: `output` (the terminal's bytes; ends after the queued output once the
 * session's last holder of the terminal is gone), `write()`, `resize()`, `foreground()`,
 * `signalForeground()`, `terminate()`, and the same `outcome` as supervise().
 */
export class TerminalSession extends EventEmitter {
  readonly pid: number
  readonly output: Readable
  /** Resolves with how the session ended (as supervise()'s outcome). */
  readonly outcome: Promise<Outcome>
  rows: number
  cols: number

  private readonly native: NativeTerminal
  private readonly graceMs: number
  private readonly killSignal: number
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  private seq = 0
  private ended = false
  private settle!: (o: Outcome) => void
  private abortListener: (() => void) | undefined

  constructor(argv: string[], opts: TerminalOptions = {}) {
    super()
    checkArgv(argv)
    if (opts === null || typeof opts !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "options" argument must be of type object. ${received(opts)}`)
    for (const key of Object.keys(opts)) {
      if (!(KNOWN as readonly string[]).includes(key)) {
        throw invalidArg("ERR_INVALID_ARG_VALUE", `Unknown option "${key}" — did you mean "${nearest(key, KNOWN)}"?`)
      }
    }
    this.rows = checkSize("rows", opts.rows, 24)
    this.cols = checkSize("cols", opts.cols, 80)
    this.graceMs = checkMs("graceMs", opts.graceMs) ?? ABI.DEFAULT_GRACE_MS
    this.killSignal = signalNumber(opts.killSignal, "SIGHUP", { name: "killSignal" })
    const env = opts.env === null ? {} : { ...process.env, ...opts.env }
    if (env.TERM === undefined) env.TERM = opts.name ?? "xterm-256color"
    const request = {
      argv,
      cwd: opts.cwd || undefined,
      env: leaderEnv(env),
      terminal: { rows: this.rows, cols: this.cols },
      killSignal: this.killSignal,
      graceMs: this.graceMs,
      timeoutMs: checkMs("timeoutMs", opts.timeoutMs),
      killTreeOnExit: opts.killTreeOnExit ?? true,
      drainIdleMs: checkMs("drainIdleMs", opts.drainIdleMs),
      drainMaxMs: checkMs("drainMaxMs", opts.drainMaxMs),
    }
    if (opts.signal?.aborted) throw abortError(opts.signal)

    this.outcome = new Promise<Outcome>((resolve) => (this.settle = resolve))
    this.output = new Readable({
      read: () => {
        this.native?.setFlow(STREAM_STDOUT, false)
      },
      destroy: (err, cb) => {
        this.native?.setFlow(STREAM_STDOUT, false)
        cb(err)
      },
    })
    if (opts.encoding) this.output.setEncoding(opts.encoding) // a StringDecoder: never splits a character

    // Spawn failures throw (ENOENT, EACCES, ENOSYS where terminals are not implemented).
    this.native = startNative(request, this) as NativeTerminal
    this.pid = this.native.pid
    killAtHostExit(this)
    if (opts.signal) {
      const signal = opts.signal
      this.abortListener = () => this.cancelWith(REASON_ABORT, this.killSignal, this.graceMs)
      signal.addEventListener("abort", this.abortListener, { once: true })
      this.outcome.then(() => signal.removeEventListener("abort", this.abortListener!))
    }
  }

  /** @internal An event of the core (the binding's callback, through startNative). */
  onEvent(type: number, aux: number, payload: Buffer | undefined): void {
    switch (type) {
      case EV_STDOUT:
        if (!payload || this.output.destroyed) return
        if (!this.output.push(payload)) this.native.setFlow(STREAM_STDOUT, true)
        return
      case EV_STDOUT_END:
        if (!this.output.destroyed) this.output.push(null)
        return
      case EV_STDIN_ACK: {
        const p = this.pending.get(aux)
        if (!p) return
        this.pending.delete(aux)
        if (!payload) return p.resolve()
        const info = JSON.parse(payload.toString()) as { code: string; message: string }
        return p.reject(Object.assign(new Error(info.message), { code: info.code }))
      }
      case EV_EXIT: {
        const o = JSON.parse(payload!.toString()) as Outcome
        this.ended = true
        spareAtHostExit(this)
        for (const [, p] of this.pending) p.reject(Object.assign(new Error("pawwork-supervisor: write to a terminal session that ended"), { code: "EPIPE" }))
        this.pending.clear()
        this.settle(o)
        this.emit("exit", o)
        return
      }
    }
  }

  /**
   * Writes to the terminal (its input: the line discipline echoes it, ^C is SIGINT, …);
   * resolves once written, rejects (EPIPE) once the session ended. A caller that does not
   * await it never gets an unhandled rejection.
   */
  write(data: string | Uint8Array): Promise<void> {
    const buf = typeof data === "string" ? Buffer.from(data) : data
    const seq = ++this.seq
    const rc = this.ended ? PWS_EBADHANDLE : this.native.write(buf, seq)
    const p =
      rc !== 0
        ? Promise.reject(Object.assign(new Error("pawwork-supervisor: write to a terminal session that ended"), { code: "EPIPE" }))
        : new Promise<void>((resolve, reject) => this.pending.set(seq, { resolve, reject }))
    p.catch(() => {})
    return p
  }

  /** Sets the terminal's size; the kernel sends SIGWINCH to the foreground group. */
  resize(rows: number, cols: number): void {
    const r = checkSize("rows", rows, 0)
    const c = checkSize("cols", cols, 0)
    const rc = this.native.resize(r, c)
    if (rc !== 0) failed(rc, "resize")
    this.rows = r
    this.cols = c
  }

  /** The foreground process group and whether it is proved waiting for input; undefined once the session ended. */
  foreground(): ForegroundInfo | undefined {
    if (this.ended) return undefined
    const f = this.native.foreground()
    return typeof f === "number" ? undefined : f
  }

  /**
   * Sends sig once to every member of the session in the foreground process group (SIGINT,
   * SIGTERM, SIGKILL, SIGTSTP, SIGHUP, …); returns the group and the members it reached
   * (none once the session ended).
   */
  signalForeground(sig: NodeJS.Signals | number): { processGroupId: number; reached: number[] } {
    const n = signalNumber(sig, "SIGINT", { name: "sig" })
    if (this.ended) return { processGroupId: 0, reached: [] }
    const r = this.native.signalForeground(n)
    return typeof r === "number" ? { processGroupId: 0, reached: [] } : r
  }

  /**
   * Ends the whole session — the leader, everything in its tree, and whatever left the
   * session (setsid, double forks): the ladder (killSignal, SIGHUP by default → graceMs → SIGKILL), then the
   * tree confirmed empty. Resolves with the outcome once it is quiescent. Idempotent.
   */
  terminate(opts: { signal?: NodeJS.Signals | number; graceMs?: number } = {}): Promise<Outcome> {
    const sig = opts.signal == null ? this.killSignal : signalNumber(opts.signal, "SIGTERM")
    this.cancelWith(REASON_STOP, sig, checkMs("graceMs", opts.graceMs) ?? this.graceMs)
    return this.outcome
  }

  private cancelWith(reason: number, sig: number, graceMs: number): void {
    if (!this.ended) this.native.cancel(reason, sig, graceMs)
  }

  /** @internal Signals the whole session's tree now, synchronously, without the ladder (the host is exiting). */
  killTreeNow(sig: number): void {
    if (!this.ended) this.native.signal(sig, true)
  }

  ref(): void {
    this.native.ref()
  }

  unref(): void {
    this.native.unref()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate()
  }
}

/** Starts argv on a new terminal, contained as supervise() contains a tree. Bad arguments and spawn failures throw. */
export function spawnTerminal(argv: string[], options: TerminalOptions = {}): TerminalSession {
  return new TerminalSession(argv, options)
}
