// The native supervisor's child: a Node ChildProcess look-alike backed by the Go core,
// plus what the baseline cannot say (the outcome, cancel(), bounds).
import { EventEmitter } from "node:events"
import { Readable, Writable } from "node:stream"
import {
  DEFAULT_GRACE_MS,
  EV_EXIT,
  EV_STDERR,
  EV_STDERR_END,
  EV_STDIN_ACK,
  EV_STDOUT,
  EV_STDOUT_END,
  PWS_EBADHANDLE,
  REASON_ABORT,
  REASON_HOST,
  REASON_STOP,
  STDERR,
  STDOUT,
  loadAddon,
  type NativeChild,
} from "./addon"
import type { Options, Stdio } from "./types"
import { abortError, checkMs, envEntries, invalidArg, signalName, signalNumber } from "./validate"

export type Reason = "exit" | "abort" | "timeout" | "stop" | "host"

/** How a supervised child ended. */
export interface Outcome {
  /** The leader's pid. */
  pid: number
  /** Exit code, or null when the leader was killed by a signal. */
  code: number | null
  /** Signal that killed the leader (e.g. "SIGTERM"), or null. */
  signal: NodeJS.Signals | null
  /** Why it ended. */
  reason: Reason
  stdoutBytes: number
  stderrBytes: number
  /** An output stream was cut before EOF because a drain bound fired. */
  truncated: boolean
  /** Tree members the leader left behind: let go (default) or killed (`killTreeOnExit`). */
  leftovers: number[]
  durationMs: number
  /** Milliseconds per phase: run (spawn → leader exit), grace, kill, drain. */
  phases: { runMs: number; graceMs: number; killMs: number; drainMs: number }
  /** Bounds that fired and internal failures, reported instead of swallowed. */
  errors: string[]
  /** How the tree was contained, e.g. "session+pgroup+pidfd". */
  containment: string
}

export interface SuperviseOptions extends Omit<Options, "stderr" | "abort" | "kill" | "timeout"> {
  /** "stdout" merges stderr into the stdout stream in the order the child wrote (2>&1). */
  stderr?: Stdio | "stdout"
  /** Cancels the tree (reason "abort") when it fires. */
  signal?: AbortSignal
  /** Run-time limit: the tree is cancelled (reason "timeout") after this many ms. */
  timeoutMs?: number
  /** Between the first signal and SIGKILL (default 5000). */
  graceMs?: number
  /** First signal of a cancellation (default SIGTERM). */
  killSignal?: NodeJS.Signals | number
  /** Kill what the leader leaves behind when it exits by itself (default false: let go). */
  killTreeOnExit?: boolean
  /** After the leader's exit, how long to wait for the next output chunk (default 1000). */
  drainIdleMs?: number
  /** After the leader's exit, the most the drain may take (default 10000). */
  drainMaxMs?: number
  /**
   * Forward SIGINT and SIGTERM delivered to the host to this tree, as a cancel whose first
   * signal is the one received (reason "host"; the ladder with `graceMs` follows). Default
   * false: the host's signals are not ours to handle. See `forwardHostSignal` for what the
   * host does afterwards.
   */
  forwardSignals?: boolean
}

const STDIO = new Set(["pipe", "inherit", "ignore"])
const TERMINATING = new Set(["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL"])

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

/** The child's environment by the baseline's rule: omitted → process.env, object → merged, null → empty. */
export function childEnv(env: NodeJS.ProcessEnv | null | undefined): string[] {
  if (env !== undefined && env !== null && typeof env !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options.env" property must be of type object')
  return envEntries(env === null ? {} : env === undefined ? process.env : { ...process.env, ...env })
}

/** argv with the shell applied the way child_process does it. */
export function shellArgv(cmd: string[], shell: boolean | string | undefined): string[] {
  if (!shell) return cmd
  const line = cmd.join(" ")
  if (process.platform === "win32") {
    const comspec = typeof shell === "string" ? shell : process.env.ComSpec || "cmd.exe"
    return [comspec, "/d", "/s", "/c", `"${line}"`]
  }
  return [typeof shell === "string" ? shell : "/bin/sh", "-c", line]
}

type Pending = { cb: (err?: Error | null) => void }

let spawnCount = 0
const live = new Map<number, SupervisedChild>()

/** The supervised child whose leader has this pid, while it is alive. */
export function supervisedByPid(pid: number): SupervisedChild | undefined {
  return live.get(pid)
}

/**
 * A supervised child. It behaves as a Node ChildProcess ('spawn', 'exit'(code, signal),
 * 'close', 'error'; pid, exitCode, signalCode, killed, kill(); stdio streams) with one
 * difference that is the point: 'exit' comes only after stdout and stderr ended.
 */
export class SupervisedChild extends EventEmitter {
  pid: number | undefined
  readonly stdin: Writable | null
  readonly stdout: Readable | null
  readonly stderr: Readable | null
  readonly stdio: [Writable | null, Readable | null, Readable | null, undefined, undefined]
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  killed = false
  readonly connected = false
  readonly spawnfile: string
  readonly spawnargs: string[]
  /** Resolves with the exit code (1 when killed by a signal); rejects on a spawn error. */
  readonly exited: Promise<number>
  /** Resolves with how the child ended; rejects only on a spawn error. */
  readonly outcome: Promise<Outcome>

  private native: NativeChild | undefined
  private readonly opts: SuperviseOptions
  private readonly pending = new Map<number, Pending>()
  private seq = 0
  private ended = false
  private settle!: (o: Outcome) => void
  private fail!: (e: Error) => void
  private abortListener: (() => void) | undefined

  constructor(cmd: string[], opts: SuperviseOptions = {}) {
    super()
    checkArgv(cmd)
    if (opts === null || typeof opts !== "object") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options" argument must be of type object')
    for (const k of ["stdin", "stdout"] as const) {
      const v = opts[k]
      if (v !== undefined && !STDIO.has(v)) throw invalidArg("ERR_INVALID_ARG_VALUE", `The property 'options.${k}' must be "pipe", "inherit" or "ignore". Received ${JSON.stringify(v)}`)
    }
    if (opts.stderr !== undefined && !STDIO.has(opts.stderr) && opts.stderr !== "stdout") {
      throw invalidArg("ERR_INVALID_ARG_VALUE", `The property 'options.stderr' must be "pipe", "inherit", "ignore" or "stdout". Received ${JSON.stringify(opts.stderr)}`)
    }
    if (opts.stderr === "stdout" && opts.stdout !== "pipe") throw invalidArg("ERR_INVALID_ARG_VALUE", `options.stderr "stdout" needs options.stdout "pipe"`)
    if (opts.cwd !== undefined && typeof opts.cwd !== "string") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options.cwd" property must be of type string')
    if (opts.cwd?.includes("\0")) throw invalidArg("ERR_INVALID_ARG_VALUE", "The property 'options.cwd' must be a string without null bytes")
    if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options.signal" property must be an AbortSignal')
    if (opts.shell !== undefined && typeof opts.shell !== "boolean" && typeof opts.shell !== "string") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options.shell" property must be of type string or boolean')
    const killSignal = signalNumber(opts.killSignal, "SIGTERM", { name: "options.killSignal" })
    const request = {
      argv: shellArgv(cmd, opts.shell),
      cwd: opts.cwd || undefined,
      env: childEnv(opts.env),
      stdin: opts.stdin ?? "ignore",
      stdout: opts.stdout ?? "ignore",
      stderr: opts.stderr ?? "ignore",
      killSignal,
      graceMs: checkMs("graceMs", opts.graceMs),
      timeoutMs: checkMs("timeoutMs", opts.timeoutMs),
      killTreeOnExit: !!opts.killTreeOnExit,
      drainIdleMs: checkMs("drainIdleMs", opts.drainIdleMs),
      drainMaxMs: checkMs("drainMaxMs", opts.drainMaxMs),
    }
    if (opts.killTreeOnExit !== undefined && typeof opts.killTreeOnExit !== "boolean") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options.killTreeOnExit" property must be of type boolean')
    if (opts.forwardSignals !== undefined && typeof opts.forwardSignals !== "boolean") throw invalidArg("ERR_INVALID_ARG_TYPE", 'The "options.forwardSignals" property must be of type boolean')
    this.opts = opts
    this.spawnfile = request.argv[0]
    this.spawnargs = request.argv

    this.outcome = new Promise<Outcome>((resolve, reject) => {
      this.settle = resolve
      this.fail = reject
    })
    this.exited = this.outcome.then((o) => o.code ?? 1)
    // A spawn error reaches callers through 'error' and the promises they await; a
    // promise nobody awaits must not become an unhandled rejection.
    this.outcome.catch(() => {})
    this.exited.catch(() => {})

    this.stdin = request.stdin === "pipe" ? this.makeStdin() : null
    this.stdout = request.stdout === "pipe" ? this.makeReadable(STDOUT) : null
    this.stderr = request.stderr === "pipe" ? this.makeReadable(STDERR) : null
    this.stdio = [this.stdin, this.stdout, this.stderr, undefined, undefined]

    if (opts.signal?.aborted) {
      // As child_process.spawn does with an aborted signal: the child object is returned
      // and the AbortError comes asynchronously ('error', and the rejections) — but here
      // nothing is started at all, rather than started and killed.
      this.failSpawn(abortError(opts.signal), null)
      return
    }

    const addon = loadAddon()
    try {
      this.native = new addon.Child(Buffer.from(JSON.stringify(request)), (type, aux, payload) => {
        // A listener that throws (a 'data' or 'exit' handler of the app) must surface as
        // an uncaught exception, as it would from child_process — not vanish into the
        // thread-safe function, where Node-API only prints a deprecation warning.
        try {
          this.onEvent(type, aux, payload)
        } catch (err) {
          process.nextTick(() => {
            throw err
          })
        }
      })
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { spawnargs?: string[] }
      if (err.code === "EINVAL" && err.syscall === "spawn") {
        // The core refused the request itself: a usage error, thrown like Node's.
        throw invalidArg("ERR_INVALID_ARG_VALUE", err.message)
      }
      if (typeof err.errno === "number" && err.errno > 0) err.errno = -err.errno
      err.spawnargs = request.argv.slice(1)
      this.failSpawn(err)
      return
    }
    this.pid = this.native.pid
    live.set(this.pid, this)
    spawnCount++
    if (opts.forwardSignals) forwardFor(this)
    if (opts.signal) {
      const signal = opts.signal
      this.abortListener = () => this.cancelWith(REASON_ABORT, killSignal, opts.graceMs)
      signal.addEventListener("abort", this.abortListener, { once: true })
    }
    process.nextTick(() => this.emit("spawn"))
  }

  /** Ends a child that never started: 'close' gets closeCode (-2 for a failed spawn, as Node's). */
  private failSpawn(err: Error, closeCode: number | null = -2): void {
    this.ended = true
    this.stdout?.push(null)
    this.stderr?.push(null)
    this.stdin?.destroy()
    this.fail(err)
    process.nextTick(() => {
      // The failure is also the rejection of `exited`/`outcome`; as an event it is
      // only emitted to listeners, so that nobody listening never crashes the host.
      if (this.listenerCount("error") > 0) this.emit("error", err)
      this.emit("close", closeCode, null)
    })
  }

  private makeReadable(stream: typeof STDOUT | typeof STDERR): Readable {
    let discarding = false
    const r = new Readable({
      read: () => {
        this.native?.setFlow(stream, false)
      },
      destroy: (err, cb) => {
        // Nobody reads any more: keep draining so the child is not blocked forever.
        discarding = true
        this.native?.setFlow(stream, false)
        cb(err)
      },
    })
    ;(r as Readable & { discarding: () => boolean }).discarding = () => discarding
    return r
  }

  private makeStdin(): Writable {
    const w = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        const seq = ++this.seq
        const rc = this.native ? this.native.write(chunk, seq) : PWS_EBADHANDLE
        if (rc !== 0) return this.stdinFailed(cb, "EPIPE", "write to stdin after the child ended")
        this.pending.set(seq, { cb })
      },
      final: (cb) => {
        this.native?.closeStdin()
        cb()
      },
      destroy: (err, cb) => {
        this.native?.closeStdin()
        cb(err)
      },
    })
    return w
  }

  /**
   * A stdin write failed (the child ended or closed its stdin). The error goes to the
   * write's callback; it becomes an 'error' event only when someone listens for it,
   * so a child that exits without reading never crashes the host with EPIPE.
   */
  private stdinFailed(cb: (err?: Error | null) => void, code: string, message: string): void {
    const err = new Error(`pawwork-supervisor: ${message}`) as NodeJS.ErrnoException
    err.code = code
    err.syscall = "write"
    if (this.stdin && this.stdin.listenerCount("error") === 0) this.stdin.destroy()
    cb(err)
  }

  private onEvent(type: number, aux: number, payload: Buffer | undefined): void {
    switch (type) {
      case EV_STDOUT:
      case EV_STDERR: {
        const s = type === EV_STDOUT ? this.stdout : this.stderr
        if (!s || !payload) return
        if ((s as Readable & { discarding?: () => boolean }).discarding?.() || s.destroyed) return
        if (!s.push(payload)) this.native?.setFlow(type === EV_STDOUT ? STDOUT : STDERR, true)
        return
      }
      case EV_STDOUT_END:
        if (this.stdout && !this.stdout.destroyed) this.stdout.push(null)
        return
      case EV_STDERR_END:
        if (this.stderr && !this.stderr.destroyed) this.stderr.push(null)
        return
      case EV_STDIN_ACK: {
        const p = this.pending.get(aux)
        if (!p) return
        this.pending.delete(aux)
        if (!payload) return p.cb()
        const info = JSON.parse(payload.toString()) as { code: string; message: string }
        return this.stdinFailed(p.cb, info.code, info.message.replace(/^pawwork-supervisor: /, ""))
      }
      case EV_EXIT:
        return this.onExit(JSON.parse(payload!.toString()) as Outcome)
    }
  }

  private onExit(o: Outcome): void {
    this.ended = true
    if (this.pid !== undefined) live.delete(this.pid)
    unforward(this)
    if (this.abortListener) this.opts.signal?.removeEventListener("abort", this.abortListener)
    for (const [, p] of this.pending) this.stdinFailed(p.cb, "EPIPE", "write to stdin after the child ended")
    this.pending.clear()
    this.exitCode = o.code
    this.signalCode = o.signal
    // 'exit' waits for consumers that are reading to have seen every byte ('end'); an
    // unread stream does not hold it (as with Node, its data stays buffered).
    const consumed = [this.stdout, this.stderr].filter((s): s is Readable => !!s && s.readableFlowing === true && !s.readableEnded && !s.destroyed)
    Promise.all(consumed.map((s) => new Promise<void>((resolve) => {
      s.once("end", resolve)
      s.once("close", resolve)
    }))).then(() => {
      this.emit("exit", o.code, o.signal)
      this.settle(o)
      this.emit("close", o.code, o.signal)
    })
  }

  /** Cancels the whole tree with the ladder; resolves with the outcome. */
  cancel(opts: { signal?: NodeJS.Signals | number; graceMs?: number } = {}): Promise<Outcome> {
    this.cancelWith(REASON_STOP, signalNumber(opts.signal ?? this.opts.killSignal, "SIGTERM"), checkMs("graceMs", opts.graceMs) ?? this.opts.graceMs)
    return this.outcome
  }

  /** @internal */
  graceMsOption(): number | undefined {
    return this.opts.graceMs
  }

  /** @internal */
  cancelWith(reason: number, sig: number, graceMs: number | undefined): boolean {
    if (!this.native || this.ended) return false
    const grace = graceMs === undefined ? DEFAULT_GRACE_MS : checkMs("graceMs", graceMs)!
    return this.native.cancel(reason, sig, grace) === 0
  }

  /**
   * Like ChildProcess.kill: a terminating signal (TERM, INT, HUP, QUIT, KILL) starts the
   * ladder on the whole tree with that signal first; any other signal goes to the
   * leader only. Returns false once the child has exited.
   */
  kill(signal?: NodeJS.Signals | number): boolean {
    const sig = signalNumber(signal, "SIGTERM", { probe: true })
    if (!this.native || this.ended) return false
    const name = signalName(sig)
    let ok: boolean
    if (sig === 0) ok = this.native.signal(0, false) === 0
    else if (name && TERMINATING.has(name)) ok = this.cancelWith(REASON_STOP, sig, this.opts.graceMs)
    else ok = this.native.signal(sig, false) === 0
    if (ok && sig !== 0) this.killed = true
    return ok
  }

  /** Forwards a signal to every member of the tree, once, without the ladder. */
  signalTree(signal: NodeJS.Signals | number): boolean {
    if (!this.native || this.ended) return false
    return this.native.signal(signalNumber(signal, "SIGTERM", { probe: true }), true) === 0
  }

  ref(): void {
    this.native?.ref()
  }

  unref(): void {
    this.native?.unref()
  }

  disconnect(): void {}

  send(): boolean {
    throw new Error("pawwork-supervisor: IPC channels are not supported")
  }

  [Symbol.dispose](): void {
    this.kill("SIGKILL")
  }
}

// --- forwardSignals -------------------------------------------------------------------
//
// Installing a Node listener for SIGINT/SIGTERM replaces Node's default action (the host
// dies by that signal). So: our listener is installed only while a tree that asked for
// forwarding lives (it never keeps Node alive: signal handles are unref'd) and removed
// with the last such tree. When a signal arrives, every forwarding tree is cancelled with
// that signal first. If the application has its own listener for the signal, that is
// all: the application decides what the host does. If ours was the only listener, the
// host would have died by default, so it still does: once the forwarded trees have ended
// (bounded by their grace plus a margin, so a stuck tree cannot keep the host alive), our
// listener is removed and the signal is raised again, now with Node's default action. A
// second identical signal during that wait re-raises at once (a second Ctrl-C).

const FORWARDED = ["SIGINT", "SIGTERM"] as const
type Forwarded = (typeof FORWARDED)[number]
const forwarding = new Set<SupervisedChild>()
const handlers = new Map<Forwarded, () => void>()
const reraising = new Set<Forwarded>()
/** Beyond the longest grace, how long the host waits for forwarded trees before re-raising. */
const FORWARD_MARGIN_MS = 2000

function forwardFor(child: SupervisedChild): void {
  forwarding.add(child)
  if (handlers.size > 0) return
  for (const sig of FORWARDED) {
    const h = () => forwardHostSignal(sig)
    handlers.set(sig, h)
    process.on(sig, h)
  }
}

function unforward(child: SupervisedChild): void {
  if (!forwarding.delete(child) || forwarding.size > 0) return
  // Trees are gone; a re-raise pending for them happens when its wait settles.
  if (reraising.size === 0) removeHandlers()
}

function removeHandlers(): void {
  for (const [sig, h] of handlers) process.removeListener(sig, h)
  handlers.clear()
}

function reraise(sig: Forwarded): void {
  removeHandlers()
  // No listener left: Node restored the default action, so this ends the host the way
  // the first signal would have without us (unless the application added its own since).
  process.kill(process.pid, sig)
}

/** @internal What the host does with a forwarded signal. */
function forwardHostSignal(sig: Forwarded): void {
  if (reraising.has(sig)) return reraise(sig)
  const trees = [...forwarding]
  const n = signalNumber(sig, "SIGTERM")
  for (const child of trees) child.cancelWith(REASON_HOST, n, child.graceMsOption())
  const others = process.listeners(sig).filter((l) => l !== handlers.get(sig)).length
  if (others > 0) return
  reraising.add(sig)
  const cap = Math.max(0, ...trees.map((c) => c.graceMsOption() ?? DEFAULT_GRACE_MS)) + FORWARD_MARGIN_MS
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, cap)))
  Promise.race([Promise.allSettled(trees.map((c) => c.outcome)), bound]).then(() => {
    clearTimeout(timer)
    reraising.delete(sig)
    reraise(sig)
  })
}

/** Starts cmd under supervision. Bad arguments throw; spawn failures come as 'error'. */
export function supervise(cmd: string[], options: SuperviseOptions = {}): SupervisedChild {
  return new SupervisedChild(cmd, options)
}

/** How many children this process has supervised (for tests and diagnostics). */
export function supervisedCount(): number {
  return spawnCount
}
