// supervise()'s child: a Node ChildProcess look-alike for one leader and its tree, backed
// by the Go core (the binding's NativeChild), plus what the baseline cannot say: the
// outcome, cancel(), the bounds.
import { EventEmitter } from "node:events"
import { Readable, Writable } from "node:stream"
import { debug, debugSpawn, debugExit } from "./debug"
import { lineIterator } from "./lines"
import {
  REASON_HOST,
  REASON_TIMEOUT,
  EV_EXIT,
  EV_CLOSE,
  EV_STDERR,
  EV_STDERR_END,
  EV_STDIN_ACK,
  EV_STDOUT,
  EV_STDOUT_END,
  PWS_EBADHANDLE,
  REASON_ABORT,
  REASON_STOP,
  STREAM_STDERR,
  STREAM_STDOUT,
  loadAddon,
  startNative,
  type NativeChild,
} from "./addon"
import type { Capture } from "./capture"
import { forwardFor, unforward } from "./forward-signals"
import { killAtHostExit, spareAtHostExit } from "./host-exit"
import { checkArgv, leaderEnv, piped, shellArgv, stdioMode, superviseSettings, type SuperviseOptions, type SuperviseSettings } from "./options"
import { abortError, checkMs, invalidArg, signalName, signalNumber } from "./validate"

export type { SuperviseOptions } from "./options"

export type Reason = "exit" | "abort" | "timeout" | "stop" | "host"

/** Which output child.lines() iterates: one stream, or both (each split on its own, lines interleaved as they come). */
export type LinesOf = "stdout" | "stderr" | "all"

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
  /** An output stream was cut before EOF because a drain bound fired, or `maxBuffer` discarded the rest of it. */
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
  /** With reason "abort": the AbortSignal's `reason` (an AbortError DOMException when abort() was called without one). */
  abortReason?: unknown
}

const TERMINATING = new Set(["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL"])

type Pending = { cb: (err?: Error | null) => void }

const noop = (): void => {}

/** A promise settled from outside, made only when someone asks for it (see treeEmpty). */
type Deferred<T> = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void }

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void
  let reject!: (e: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * stdout or stderr of a supervised child. Its read and destroy are methods, not closures
 * made per stream: a thousand live children held two thousand of each.
 */
class OutputReadable extends Readable {
  /** Destroyed by its reader: what comes after is read and dropped (the tree is never held by it). */
  discarding = false

  constructor(
    private readonly owner: SupervisedChild,
    private readonly which: typeof STREAM_STDOUT | typeof STREAM_STDERR,
  ) {
    super()
  }

  override _read(): void {
    this.owner.flowOf(this.which, false)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Nobody reads any more: keep draining so the tree is not blocked forever.
    this.discarding = true
    this.owner.flowOf(this.which, false)
    cb(err)
  }
}

/** The children whose leader is running, by the leader's pid. */
const running = new Map<number, SupervisedChild>()

/** The supervised child whose leader has this pid, while it is running. */
export function supervisedByPid(pid: number): SupervisedChild | undefined {
  return running.get(pid)
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
  /** With the `all` option: stdout and stderr interleaved as their chunks arrive; else null. */
  readonly all: Readable | null
  readonly stdio: [Writable | null, Readable | null, Readable | null, undefined, undefined]
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  killed = false
  readonly connected = false
  readonly spawnfile: string
  readonly spawnargs: string[]
  /** Resolves with how the child ended; rejects only on a spawn error. */
  readonly outcome: Promise<Outcome>

  private native: NativeChild | undefined
  private readonly settings: SuperviseSettings
  /** Stdin writes not yet acknowledged by the core, by sequence number (made at the first write). */
  private pending: Map<number, Pending> | undefined
  private seq = 0
  private ended = false
  private settle!: (o: Outcome) => void
  private fail!: (e: Error) => void
  /** exited and treeEmpty, once asked for (most callers never do: no promise per child for them). */
  private exitedPromise: Promise<number> | undefined
  private tree: Deferred<Outcome> | undefined
  /** How the tree ended, once it did: an outcome, or the spawn error. */
  private treeResult: { o: Outcome } | { e: Error } | undefined
  /** holdLeftovers: the leader closed, the tree is still held (EV_CLOSE came, EV_EXIT not yet). */
  private holding = false
  private abortListener: (() => void) | undefined
  /** The stdin pipe: child.stdin, or the one `input` is written to (child.stdin is then null). */
  private readonly sink: Writable | null
  /** Bytes delivered per stream, against maxBuffer (made with maxBuffer only). */
  private delivered: Record<typeof STREAM_STDOUT | typeof STREAM_STDERR, number> | undefined
  /** The streams maxBuffer cut, once one was. */
  private overflowed: string[] | undefined
  /** Failures of `input` (never thrown: reported in the outcome's errors), once one came. */
  private inputErrors: string[] | undefined
  /** What flowOf() last told the core, a bit per stream: paused (the core starts not paused). */
  private pausedFlow = 0
  /** Process.run's captures (captureOutput): the output goes into them, not into the streams. */
  private captures: Record<typeof STREAM_STDOUT | typeof STREAM_STDERR, Capture> | undefined

  constructor(cmd: string[], opts: SuperviseOptions = {}) {
    super()
    checkArgv(cmd)
    const settings = superviseSettings(opts)
    const request = {
      argv: shellArgv(cmd, settings.shell),
      cwd: settings.cwd || undefined,
      env: leaderEnv(settings.env),
      stdin: settings.input !== undefined ? (settings.stdin === "socket" ? "socket" : "pipe") : stdioMode(settings.stdin),
      stdout: stdioMode(settings.stdout),
      stderr: stdioMode(settings.stderr),
      killSignal: settings.killSignal,
      graceMs: settings.graceMs,
      timeoutMs: settings.timeoutMs,
      killTreeOnExit: settings.killTreeOnExit,
      holdLeftovers: settings.holdLeftovers || undefined,
      drainIdleMs: settings.drainIdleMs,
      drainMaxMs: settings.drainMaxMs,
    }
    this.settings = settings
    this.spawnfile = request.argv[0]
    this.spawnargs = request.argv

    this.outcome = new Promise<Outcome>((resolve, reject) => {
      this.settle = resolve
      this.fail = reject
    })

    this.sink = piped(request.stdin) ? this.makeStdin() : null
    this.stdin = settings.input === undefined ? this.sink : null
    this.stdout = piped(request.stdout) ? this.makeReadable(STREAM_STDOUT) : null
    this.stderr = piped(request.stderr) ? this.makeReadable(STREAM_STDERR) : null
    this.all = settings.all ? this.makeAll() : null
    this.stdio = [this.stdin, this.stdout, this.stderr, undefined, undefined]

    if (settings.signal?.aborted) {
      // As child_process.spawn does with an aborted signal: the child object is returned
      // and the AbortError comes asynchronously ('error', and the rejections) — but here
      // nothing is started at all, rather than started and killed.
      this.failSpawn(abortError(settings.signal), null)
      return
    }

    loadAddon() // a library that cannot load throws here, synchronously, not as a spawn error
    try {
      this.native = startNative(request, this)
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
    running.set(this.pid, this)
    if (debug.enabled) debugSpawn(this.pid, request.argv, { stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, timeoutMs: request.timeoutMs, graceMs: request.graceMs, killTreeOnExit: request.killTreeOnExit })
    if (settings.input !== undefined) this.writeInput(settings.input)
    killAtHostExit(this)
    if (settings.forwardSignals) forwardFor(this)
    if (settings.signal) {
      const signal = settings.signal
      this.abortListener = () => this.cancelWith(REASON_ABORT, settings.killSignal, settings.graceMs)
      signal.addEventListener("abort", this.abortListener, { once: true })
    }
    process.nextTick(() => this.emit("spawn"))
  }

  /** Writes `input` to the stdin pipe and closes it; a leader that exits without reading it is not an error. */
  private writeInput(input: string | Uint8Array | Readable): void {
    const sink = this.sink!
    // EPIPE: the leader exited or closed its stdin without reading all of it — its
    // choice. Anything else is reported in the outcome's errors.
    sink.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") (this.inputErrors ??= []).push(`input: writing to stdin failed: ${err.message}`)
    })
    if (input instanceof Readable) {
      input.on("error", (err) => {
        // The leader got what came before: its stdin is closed, the failure reported.
        ;(this.inputErrors ??= []).push(`input: the input stream failed, stdin was closed early: ${err.message}`)
        sink.end()
      })
      input.pipe(sink)
      return
    }
    sink.end(typeof input === "string" ? Buffer.from(input, "utf8") : input)
  }

  /** Ends a child that never started: 'close' gets closeCode (-2 for a failed spawn, as Node's). */
  private failSpawn(err: Error, closeCode: number | null = -2): void {
    this.ended = true
    this.stdout?.push(null)
    this.stderr?.push(null)
    this.all?.push(null)
    this.sink?.destroy()
    // A spawn error reaches callers through 'error' and the promises they await; a
    // promise nobody awaits must not become an unhandled rejection (the handlers are
    // attached here, not per child: a spawn that works never rejects).
    this.outcome.catch(noop)
    this.fail(err)
    this.endTree({ e: err })
    process.nextTick(() => {
      // The failure is also the rejection of `exited`/`outcome`; as an event it is
      // only emitted to listeners, so that nobody listening never crashes the host.
      if (this.listenerCount("error") > 0) this.emit("error", err)
      this.emit("close", closeCode, null)
    })
  }

  private makeReadable(stream: typeof STREAM_STDOUT | typeof STREAM_STDERR): Readable {
    return new OutputReadable(this, stream)
  }

  /**
   * @internal Pauses or resumes a stream's reads in the core, when that changes: a
   * flowing Readable asks to read after every chunk, and each call into the core costs a
   * hop into Go's scheduler (measured: one per batch of a fast stream).
   */
  flowOf(stream: typeof STREAM_STDOUT | typeof STREAM_STDERR, paused: boolean): void {
    const bit = 1 << stream
    if (((this.pausedFlow & bit) !== 0) === paused) return
    this.pausedFlow ^= bit
    this.native?.setFlow(stream, paused)
  }

  /** Resolves with the exit code (1 when killed by a signal); rejects on a spawn error. */
  get exited(): Promise<number> {
    if (!this.exitedPromise) {
      this.exitedPromise = this.outcome.then((o) => o.code ?? 1)
      this.exitedPromise.catch(noop) // as outcome: a spawn error nobody awaits is no unhandled rejection
    }
    return this.exitedPromise
  }

  /**
   * Resolves once the whole tree is gone, with the final outcome (with `holdLeftovers`, after
   * the leftovers exited or were killed; otherwise with `outcome`); rejects only on a
   * spawn error.
   */
  get treeEmpty(): Promise<Outcome> {
    if (!this.tree) {
      this.tree = deferred<Outcome>()
      this.tree.promise.catch(noop)
      if (this.treeResult) this.endTree(this.treeResult)
    }
    return this.tree.promise
  }

  /** The tree ended (treeEmpty settles with it, now or when asked for). */
  private endTree(r: { o: Outcome } | { e: Error }): void {
    this.treeResult = r
    if (!this.tree) return
    if ("o" in r) this.tree.resolve(r.o)
    else this.tree.reject(r.e)
  }

  /** The `all` stream: fed from the stdout and stderr events; its reads resume both. */
  private makeAll(): Readable {
    return new Readable({
      read: () => {
        this.flowOf(STREAM_STDOUT, false)
        this.flowOf(STREAM_STDERR, false)
      },
    })
  }

  private makeStdin(): Writable {
    const w = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        const seq = ++this.seq
        const rc = this.native ? this.native.write(chunk, seq) : PWS_EBADHANDLE
        if (rc !== 0) return this.stdinFailed(cb, "EPIPE", "write to stdin after the child ended")
        ;(this.pending ??= new Map()).set(seq, { cb })
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
   * A stdin write failed (the leader exited or closed its stdin). The error goes to the
   * write's callback; it becomes an 'error' event only when someone listens for it,
   * so a leader that exits without reading never crashes the host with EPIPE.
   */
  private stdinFailed(cb: (err?: Error | null) => void, code: string, message: string): void {
    const err = new Error(`pawwork-supervisor: ${message}`) as NodeJS.ErrnoException
    err.code = code
    err.syscall = "write"
    if (this.sink && this.sink.listenerCount("error") === 0) this.sink.destroy()
    cb(err)
  }

  /**
   * @internal Process.run: from now on stdout's and stderr's chunks go straight into these
   * captures, as views of the binding's memory that each capture copies at once (no chunk
   * of their own, no garbage); the streams get no data, only their end. Called right after
   * construction, before any event can come.
   */
  captureOutput(stdout: Capture, stderr: Capture): void {
    if (!this.native) return
    this.captures = { [STREAM_STDOUT]: stdout, [STREAM_STDERR]: stderr }
    loadAddon().transientOutput(this.native.handle)
  }

  /** @internal An event of the core (the binding's callback, through startNative). */
  onEvent(type: number, aux: number, payload: Buffer | undefined): void {
    switch (type) {
      case EV_STDOUT:
      case EV_STDERR: {
        const stream = type === EV_STDOUT ? STREAM_STDOUT : STREAM_STDERR
        if (this.captures && payload) {
          // A transient view: pushed (copied) now or never.
          const chunk = this.withinMaxBuffer(stream, payload)
          if (chunk) this.captures[stream].push(chunk)
          return
        }
        const s = type === EV_STDOUT ? this.stdout : this.stderr
        if (!s || !payload) return
        const chunk = this.withinMaxBuffer(stream, payload)
        if (!chunk) return
        let full = false
        if (this.all && !this.all.destroyed) full = !this.all.push(chunk)
        if (!(s as OutputReadable).discarding && !s.destroyed) {
          // With `all`, an unread separate stream (never read: readableFlowing null) keeps
          // its chunks without holding the tree back; a read one that is full does.
          if (!s.push(chunk) && (!this.all || s.readableFlowing !== null)) full = true
        }
        if (full) this.flowOf(stream, true)
        return
      }
      case EV_STDOUT_END:
        if (this.stdout && !this.stdout.destroyed) this.stdout.push(null)
        this.endAll(STREAM_STDOUT)
        return
      case EV_STDERR_END:
        if (this.stderr && !this.stderr.destroyed) this.stderr.push(null)
        this.endAll(STREAM_STDERR)
        return
      case EV_STDIN_ACK: {
        const p = this.pending?.get(aux)
        if (!p) return
        this.pending!.delete(aux)
        if (!payload) return p.cb()
        const info = JSON.parse(payload.toString()) as { code: string; message: string }
        return this.stdinFailed(p.cb, info.code, info.message.replace(/^pawwork-supervisor: /, ""))
      }
      case EV_CLOSE:
        this.holding = true
        return this.onExit(JSON.parse(payload!.toString()) as Outcome)
      case EV_EXIT: {
        const o = JSON.parse(payload!.toString()) as Outcome
        if (!this.holding) return this.onExit(o)
        this.holding = false
        if (this.pid !== undefined) running.delete(this.pid)
        spareAtHostExit(this)
        if (this.abortListener) this.settings.signal?.removeEventListener("abort", this.abortListener)
        if (o.reason === "abort" && this.settings.signal) o.abortReason = this.settings.signal.reason
        return this.endTree({ o })
      }
    }
  }

  /** The streams that ended, a bit each (for `all`). */
  private allEnded = 0

  /** `all` ends when both of its sources did. */
  private endAll(stream: number): void {
    this.allEnded |= 1 << stream
    if (this.all && this.allEnded === ((1 << STREAM_STDOUT) | (1 << STREAM_STDERR)) && !this.all.destroyed) this.all.push(null)
  }

  /** What of chunk maxBuffer lets through for this stream (undefined: nothing). */
  private withinMaxBuffer(stream: typeof STREAM_STDOUT | typeof STREAM_STDERR, chunk: Buffer): Buffer | undefined {
    const cap = this.settings.maxBuffer
    if (cap === undefined) return chunk
    const delivered = (this.delivered ??= { [STREAM_STDOUT]: 0, [STREAM_STDERR]: 0 })
    const room = cap - delivered[stream]
    if (chunk.length <= room) {
      delivered[stream] += chunk.length
      return chunk
    }
    const name = stream === STREAM_STDOUT ? "stdout" : "stderr"
    const overflowed = (this.overflowed ??= [])
    if (!overflowed.includes(name)) {
      overflowed.push(name)
      debug("pid %d: bound fired: maxBuffer %d on %s, the rest is discarded", this.pid, cap, name)
    }
    delivered[stream] = cap
    return room > 0 ? chunk.subarray(0, room) : undefined
  }

  private onExit(o: Outcome): void {
    this.ended = true
    // Held: the tree stays in `running` (the host's exit kills it) and the abort still cancels it.
    if (this.pid !== undefined && !this.holding) running.delete(this.pid)
    if (!this.holding) spareAtHostExit(this)
    unforward(this)
    if (this.abortListener && !this.holding) this.settings.signal?.removeEventListener("abort", this.abortListener)
    if (this.pending) {
      for (const [, p] of this.pending) this.stdinFailed(p.cb, "EPIPE", "write to stdin after the child ended")
      this.pending.clear()
    }
    this.exitCode = o.code
    this.signalCode = o.signal
    if (this.overflowed) {
      o.truncated = true
      for (const name of this.overflowed) o.errors.push(`maxBuffer: ${name} passed ${this.settings.maxBuffer} bytes; the rest was read and discarded`)
    }
    if (this.inputErrors) o.errors.push(...this.inputErrors)
    if (o.reason === "abort" && this.settings.signal) o.abortReason = this.settings.signal.reason
    if (debug.enabled) debugExit(o, this.settings.timeoutMs)
    // 'exit' waits for consumers that are reading to have seen every byte ('end'); an
    // unread stream does not hold it (as with Node, its data stays buffered).
    const consumed = [this.stdout, this.stderr, this.all].filter((s): s is Readable => !!s && s.readableFlowing === true && !s.readableEnded && !s.destroyed)
    const held = this.holding
    Promise.all(consumed.map((s) => new Promise<void>((resolve) => {
      s.once("end", resolve)
      s.once("close", resolve)
    }))).then(() => {
      this.emit("exit", o.code, o.signal)
      this.settle(o)
      if (!held) this.endTree({ o })
      this.emit("close", o.code, o.signal)
    })
  }

  /** Cancels the whole tree with the ladder; resolves with the outcome. */
  cancel(opts: { signal?: NodeJS.Signals | number; graceMs?: number } = {}): Promise<Outcome> {
    const sig = opts.signal == null ? this.settings.killSignal : signalNumber(opts.signal, "SIGTERM")
    this.cancelWith(REASON_STOP, sig, checkMs("graceMs", opts.graceMs) ?? this.settings.graceMs)
    return this.outcome
  }

  /** @internal The grace of this child's cancellations (its graceMs option). */
  graceMsOption(): number {
    return this.settings.graceMs
  }

  /** @internal A cancel for a reason (a PWS_REASON_*) with checked numbers: cancel(), kill(), abort, the host's signals. */
  cancelWith(reason: number, sig: number, graceMs: number): boolean {
    if (!this.native || (this.ended && !this.holding)) return false
    const ok = this.native.cancel(reason, sig, graceMs) === 0
    if (debug.enabled) debug("pid %d: cancel (reason %s): signal %s to the tree, SIGKILL after %d ms if any member is left%s", this.pid, REASON_NAMES[reason] ?? reason, signalName(sig) ?? sig, graceMs, ok ? "" : " — refused (already ending)")
    return ok
  }

  /**
   * The lines of stdout, stderr or both ("all": each stream split on its own, lines
   * interleaved as they come), without the newline ("\n" or "\r\n"), as they arrive.
   * A slow loop pauses the stream (the tree is held back, as by any reader); breaking
   * out stops reading, and what comes after is discarded, never blocking the tree.
   */
  lines(which: LinesOf = "stdout"): AsyncIterableIterator<string> {
    const sources = which === "all" ? [this.stdout, this.stderr] : [which === "stdout" ? this.stdout : which === "stderr" ? this.stderr : undefined]
    if (which !== "stdout" && which !== "stderr" && which !== "all") throw invalidArg("ERR_INVALID_ARG_VALUE", `The argument 'which' must be "stdout", "stderr" or "all". Received ${JSON.stringify(which)}`)
    const readable = sources.filter((r): r is Readable => !!r)
    if (readable.length === 0) throw invalidArg("ERR_INVALID_ARG_VALUE", `lines("${which}") needs ${which === "all" ? "stdout or stderr" : which} "pipe"`)
    return lineIterator(readable)
  }

  /**
   * Like ChildProcess.kill: a terminating signal (TERM, INT, HUP, QUIT, KILL) starts the
   * ladder on the whole tree with that signal first; any other signal goes to the
   * leader only. Returns false once the leader has exited.
   */
  kill(signal?: NodeJS.Signals | number): boolean {
    const sig = signalNumber(signal, "SIGTERM", { probe: true })
    if (!this.native || this.ended) return false
    const name = signalName(sig)
    let ok: boolean
    if (sig === 0) ok = this.native.signal(0, false) === 0
    else if (name && TERMINATING.has(name)) ok = this.cancelWith(REASON_STOP, sig, this.settings.graceMs)
    else ok = this.native.signal(sig, false) === 0
    if (ok && sig !== 0) this.killed = true
    return ok
  }

  /** @internal Signals the whole tree now, synchronously, without the ladder (the host is exiting). */
  killTreeNow(sig: number): void {
    if (this.native && (!this.ended || this.holding)) this.native.signal(sig, true)
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

const REASON_NAMES: Record<number, Reason> = { [REASON_ABORT]: "abort", [REASON_TIMEOUT]: "timeout", [REASON_STOP]: "stop", [REASON_HOST]: "host" }

/**
 * supervise()'s child: awaitable. `await supervise(cmd)` is its outcome (a non-zero code
 * or a signal is an outcome, not a rejection — only a spawn error rejects). Process.spawn
 * returns a plain SupervisedChild: a ChildProcess is not a thenable, and a call site that
 * returns one from an async function must still get the child, not its exit.
 */
export class AwaitableChild extends SupervisedChild implements PromiseLike<Outcome> {
  then<A = Outcome, B = never>(onfulfilled?: ((o: Outcome) => A | PromiseLike<A>) | null, onrejected?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.outcome.then(onfulfilled, onrejected)
  }

  catch<B = never>(onrejected?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<Outcome | B> {
    return this.outcome.catch(onrejected)
  }

  finally(onfinally?: (() => void) | null): Promise<Outcome> {
    return this.outcome.finally(onfinally)
  }
}

/** Starts cmd under supervision. Bad arguments throw; spawn failures come as 'error' (and reject the awaited child). */
export function supervise(cmd: string[], options: SuperviseOptions = {}): AwaitableChild {
  return new AwaitableChild(cmd, options)
}

