// pawwork-supervisor/dsh: the DeepSeek Harness subprocess seam (`ctx.subprocess`, from
// @deepseek-ai/dsh-subprocess) served by the supervisor. PawWork swaps providers with one
// line: `await ctx.plugin(SupervisorSubprocessRuntime)` instead of the local provider.
//
// What it adds over @deepseek-ai/dsh-subprocess-local: every tree is contained by the core
// (cgroup/subreaper through the helper on Linux), so daemons that re-parent or setsid away
// are still members; a handle keeps owning its leftovers after the leader's exit (holdLeftovers),
// so terminate() still reaches them and waitForExit() waits for them; and when the host dies
// without running JavaScript (SIGKILL, OOM, a crash, an unhandled SIGTERM) the helper kills
// every tree it holds.
import { closeSync, constants, mkdtempSync, openSync, rmdirSync, unlinkSync, writeSync } from "node:fs"
import { access, stat } from "node:fs/promises"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { delimiter, extname, isAbsolute, join, resolve } from "node:path"
import type { Readable, Writable } from "node:stream"
import type { Context } from "@deepseek-ai/cordis"
import { SubprocessRuntime, scrubbedParentEnv } from "@deepseek-ai/dsh-subprocess"
import type {
  SubprocessHandle,
  SubprocessCollect,
  SubprocessOutcome,
  SubprocessOutputRead,
  SubprocessOutputReader,
  SubprocessSpawnSpec,
  SubprocessTerminalForeground,
  SubprocessTerminalHandle,
  SubprocessTerminalSignal,
  SubprocessTerminalSpawnSpec,
} from "@deepseek-ai/dsh-subprocess"
import { supervise, spawnTerminal } from "../index.js"
import type { Outcome, SupervisedChild, TerminalSession } from "../index.js"

/** The largest delay one Node timer can represent (the seam's bound on graceMs). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1
const PREFIX = "pawwork-supervisor/dsh"

/**
 * The child's environment: the seam's scrubbed parent base, the spec's entries merged
 * after it (`undefined` removes one). Returned with a tombstone for every other host
 * entry, because supervise()/spawnTerminal() merge what they are given over process.env.
 */
function childEnv(extra: Readonly<NodeJS.ProcessEnv> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = scrubbedParentEnv()
  for (const [k, v] of Object.entries(extra ?? {})) {
    // Windows names are case-insensitive: an override replaces every spelling.
    if (process.platform === "win32") for (const key of Object.keys(env)) if (key.toUpperCase() === k.toUpperCase()) delete env[key]
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const out: NodeJS.ProcessEnv = {}
  for (const k of Object.keys(process.env)) out[k] = undefined
  return Object.assign(out, env)
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (process.platform !== "win32") return env[name]
  return Object.entries(env).find(([k, v]) => v !== undefined && k.toUpperCase() === name.toUpperCase())?.[1]
}

let spillDir: string | undefined
/**
 * The per-process spill directory, made on first use (mkdtemp: 0700, random name). It is
 * removed when the process exits if it is empty then (every spill discarded or deleted by
 * its owner); completed spill files are the caller's and are never deleted, so a directory
 * holding one stays.
 */
function spillDirectory(): string {
  if (spillDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), `pawwork-dsh-${process.pid}-`))
    spillDir = dir
    process.once("exit", () => {
      try {
        rmdirSync(dir) // ENOTEMPTY while a completed spill is in it: left for its owner
      } catch {}
    })
  }
  return spillDir
}

/**
 * Collect mode for one stream: an in-memory tail of at most maxBytes (exact: the head of
 * an over-cap chunk is cut), and with `spill` the whole stream appended to a 0600 file up
 * to its cap (from the first overflow of the tail on; a stream larger than the cap
 * discards its incomplete spill). Reads take whole-stream offsets and never consume.
 */
class Collector implements SubprocessOutputReader {
  private chunks: Buffer[] = []
  private retained = 0
  private total = 0
  private spillFd: number | undefined
  private spillPath: string | undefined
  private spillOff = false
  private sealed = false

  constructor(private readonly spec: SubprocessCollect, private readonly label: string) {
    if (!Number.isSafeInteger(spec.maxBytes) || spec.maxBytes < 0) throw new RangeError(`${PREFIX}: ${label} maxBytes must be a non-negative integer`)
    if (spec.spill && (!Number.isSafeInteger(spec.spill.maxBytes) || spec.spill.maxBytes < 0)) throw new RangeError(`${PREFIX}: ${label} spill.maxBytes must be a non-negative integer`)
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    const before = this.total
    this.total += chunk.length
    this.chunks.push(chunk)
    this.retained += chunk.length
    if (this.spec.spill && !this.spillOff) {
      if (this.total > this.spec.spill.maxBytes) this.discardSpill()
      else if (this.spillFd !== undefined) this.append(chunk)
      else if (this.total > this.spec.maxBytes) this.openSpill(before === 0 ? [] : this.chunks.slice(0, -1), chunk)
    }
    while (this.retained > this.spec.maxBytes) {
      const over = this.retained - this.spec.maxBytes
      const head = this.chunks[0]
      if (head.length <= over) {
        this.chunks.shift()
        this.retained -= head.length
      } else {
        this.chunks[0] = head.subarray(over)
        this.retained -= over
      }
    }
  }

  private openSpill(earlier: Buffer[], chunk: Buffer): void {
    try {
      const path = join(spillDirectory(), `${this.label}-${randomBytes(12).toString("hex")}`)
      this.spillFd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
      this.spillPath = path
      // Nothing was dropped before the first overflow: the chunks held are the stream's head.
      for (const c of earlier) this.append(c)
      this.append(chunk)
    } catch {
      this.discardSpill()
    }
  }

  private append(chunk: Buffer): void {
    try {
      for (let off = 0; off < chunk.length; ) off += writeSync(this.spillFd!, chunk, off)
    } catch {
      this.discardSpill()
    }
  }

  private discardSpill(): void {
    this.spillOff = true
    if (this.spillFd !== undefined) {
      try {
        closeSync(this.spillFd)
      } catch {}
      this.spillFd = undefined
    }
    if (this.spillPath !== undefined) {
      try {
        unlinkSync(this.spillPath)
      } catch {}
      this.spillPath = undefined
    }
  }

  /** At settlement: close the spill file; a failed close withholds its path. */
  seal(): void {
    if (this.sealed) return
    this.sealed = true
    if (this.spillFd === undefined) return
    try {
      closeSync(this.spillFd)
    } catch {
      this.spillPath = undefined
    }
    this.spillFd = undefined
  }

  readFrom(fromByte: number): SubprocessOutputRead {
    const start = this.total - this.retained
    const from = Math.min(Math.max(0, Math.floor(Number(fromByte) || 0)), this.total)
    const lossy = from < start
    const tail = Buffer.concat(this.chunks, this.retained)
    const text = (lossy ? tail : tail.subarray(from - start)).toString("utf8")
    const read: SubprocessOutputRead = { text, nextOffset: this.total, lossy }
    if (this.spillPath !== undefined && (this.sealed || this.spillFd !== undefined)) read.spillPath = this.spillPath
    return read
  }
}

class SupervisorHandle implements SubprocessHandle {
  readonly pid: number
  readonly stdin: Writable | undefined
  readonly stdout: Readable | undefined
  readonly stderr: Readable | undefined
  readonly collected: { stdout?: SubprocessOutputReader; stderr?: SubprocessOutputReader }
  readonly done: Promise<SubprocessOutcome>
  /** Resolves with the final outcome once the whole tree is gone (also after a failed spawn). */
  readonly gone: Promise<Outcome | undefined>
  private treeGone = false

  constructor(readonly child: SupervisedChild & { treeEmpty: Promise<Outcome> }, spec: SubprocessSpawnSpec, collectors: { stdout?: Collector; stderr?: Collector }) {
    this.pid = child.pid ?? -1
    this.stdin = spec.stdio.stdin === "pipe" ? child.stdin ?? undefined : undefined
    this.stdout = spec.stdio.stdout === "pipe" ? child.stdout ?? undefined : undefined
    this.stderr = spec.stdio.stderr === "pipe" ? child.stderr ?? undefined : undefined
    this.collected = {}
    for (const name of ["stdout", "stderr"] as const) {
      const c = collectors[name]
      if (!c) continue
      child[name]!.on("data", (chunk: Buffer) => c.push(chunk))
      this.collected[name] = c
    }
    const seal = () => {
      collectors.stdout?.seal()
      collectors.stderr?.seal()
    }
    this.done = child.outcome.then(
      (o) => {
        seal()
        return { exitCode: o.code, signal: o.signal }
      },
      (e: NodeJS.ErrnoException) => {
        seal()
        // Node's shape: "spawn bash ENOENT", syscall "spawn bash", path, spawnargs, errno.
        if (typeof e.code === "string" && typeof e.syscall === "string" && e.syscall.startsWith("spawn")) {
          e.message = `${e.syscall} ${e.code}`
        }
        throw e
      },
    )
    this.done.catch(() => {}) // a spawn failure is reported to whoever awaits done
    this.gone = child.treeEmpty.then(
      (o) => o,
      () => undefined,
    )
    this.gone.then(() => (this.treeGone = true))
  }

  terminate(): void {
    if (this.treeGone) return
    // Idempotent: a second call, or one once the tree is gone, is refused by the core.
    try {
      this.child.cancel({ signal: "SIGTERM" }).catch(() => {})
    } catch {}
  }

  /** Synchronous SIGKILL of the whole tree (the host is exiting). */
  killNow(): void {
    if (!this.treeGone) this.child.killTreeNow(9)
  }

  async waitForExit(signal?: AbortSignal): Promise<boolean> {
    if (this.treeGone) return true
    if (!signal) {
      await this.gone
      return true
    }
    if (signal.aborted) return false
    return new Promise<boolean>((resolve) => {
      const onAbort = () => resolve(false)
      signal.addEventListener("abort", onAbort, { once: true })
      this.gone.then(() => {
        signal.removeEventListener("abort", onAbort)
        resolve(true)
      })
    })
  }
}

const TERMINAL_SIGNALS = new Set<SubprocessTerminalSignal>(["SIGINT", "SIGTERM", "SIGKILL", "SIGTSTP", "SIGHUP"])

class SupervisorTerminal implements SubprocessTerminalHandle {
  readonly pid: number
  readonly output: Readable
  readonly done: Promise<SubprocessOutcome>
  private terminating: Promise<void> | undefined

  constructor(readonly session: TerminalSession) {
    this.pid = session.pid
    this.output = session.output
    this.output.setEncoding("utf8") // UTF-8 text, never a character split across chunks
    this.done = session.outcome.then((o) => ({ exitCode: o.code, signal: o.signal }))
  }

  write(data: string): Promise<void> {
    return this.session.write(data)
  }

  async inspectForeground(): Promise<SubprocessTerminalForeground | undefined> {
    const f = this.session.foreground()
    if (!f || f.processGroupId <= 0) return undefined
    return { processGroupId: f.processGroupId, inputWaiting: f.inputWaiting }
  }

  async signalForeground(signal: SubprocessTerminalSignal): Promise<number> {
    if (!TERMINAL_SIGNALS.has(signal)) throw new TypeError(`${PREFIX}: terminal signal ${JSON.stringify(signal)} is not one of ${[...TERMINAL_SIGNALS].join(", ")}`)
    const r = this.session.signalForeground(signal)
    if (r.processGroupId <= 0) throw new Error(`${PREFIX}: cannot resolve foreground process group for terminal ${this.pid}`)
    return r.processGroupId
  }

  /** The whole session (leader, tree, whatever left the session) gone; awaited; idempotent. */
  terminate(): Promise<void> {
    return (this.terminating ??= this.session.terminate().then((o) => {
      const left = o.errors.find((e) => e.startsWith("tree not empty"))
      if (left) throw new Error(`${PREFIX}: terminal cleanup failed: ${left}`)
    }))
  }

  /** Synchronous SIGKILL of the whole session (the host is exiting). */
  killNow(): void {
    const native = (this.session as unknown as { native?: { signal(sig: number, tree: boolean): number } }).native
    native?.signal(9, true)
  }
}

/**
 * The seam's provider on pawwork-supervisor. Load it as a cordis plugin; it registers as
 * `ctx.subprocess`.
 */
export default class SupervisorSubprocessRuntime extends SubprocessRuntime {
  /** Handles whose tree is not gone yet, and terminals not yet quiescent. */
  private readonly live = new Set<SupervisorHandle>()
  private readonly terminals = new Set<SupervisorTerminal>()

  constructor(ctx: Context) {
    super(ctx)
    ctx.effect(() => {
      // The host's exit ('exit': process.exit(), an uncaught exception, an unhandled
      // rejection): SIGKILL every tree still held, synchronously. Whatever ends the host
      // without JavaScript is the helper's: it kills every tree when the host's socket closes.
      const onExit = () => this.killAllNow()
      process.prependListener("exit", onExit)
      return async () => {
        try {
          await this.disposeAll()
        } finally {
          process.off("exit", onExit)
        }
      }
    }, "pawwork-supervisor subprocess teardown")
  }

  private killAllNow(): void {
    for (const h of this.live) {
      try {
        h.killNow()
      } catch {}
    }
    for (const t of this.terminals) {
      try {
        t.killNow()
      } catch {}
    }
  }

  /** Terminates every live handle and terminal and awaits quiescence; one failure is thrown as is, several as an AggregateError. */
  private async disposeAll(): Promise<void> {
    const pending: Promise<unknown>[] = []
    for (const h of this.live) {
      h.terminate()
      pending.push(
        h.gone.then((o) => {
          const left = o?.errors.find((e) => e.startsWith("tree not empty"))
          if (left) throw new Error(`${PREFIX}: cleanup of pid ${h.pid} failed: ${left}`)
        }),
      )
    }
    for (const t of this.terminals) pending.push(t.terminate())
    const failures = (await Promise.allSettled(pending)).flatMap((r) => (r.status === "rejected" ? [r.reason] : []))
    if (failures.length > 0) this.killAllNow()
    this.live.clear()
    this.terminals.clear()
    if (failures.length === 1) throw failures[0]
    if (failures.length > 1) throw new AggregateError(failures, `${PREFIX}: subprocess teardown failed`)
  }

  async resolveExecutable(command: string, env?: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<string> {
    if (typeof command !== "string" || command.length === 0) throw new Error(`${PREFIX}: executable must be non-empty`)
    signal?.throwIfAborted()
    const absolute = isAbsolute(command)
    if (!absolute && (command.includes("/") || (process.platform === "win32" && command.includes("\\")))) {
      throw new Error(`${PREFIX}: command ${JSON.stringify(command)} is a relative path; use an absolute path or a bare PATH name`)
    }
    let candidates = [command]
    if (!absolute) {
      const environment = childEnv(env)
      const exts = process.platform === "win32" && extname(command) === "" ? (envValue(environment, "PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").split(";") : [""]
      candidates = (envValue(environment, "PATH") ?? "")
        .split(delimiter)
        .flatMap((dir) => exts.map((ext) => resolve(process.cwd(), dir, command + ext)))
    }
    for (const candidate of candidates) {
      signal?.throwIfAborted()
      try {
        if (!(await stat(candidate)).isFile()) continue
        await access(candidate, constants.X_OK)
        signal?.throwIfAborted()
        return candidate
      } catch (e) {
        if (signal?.aborted) throw signal.reason
      }
    }
    signal?.throwIfAborted()
    throw new Error(absolute ? `${PREFIX}: command ${JSON.stringify(command)} is not an executable file` : `${PREFIX}: command ${JSON.stringify(command)} was not found on PATH`)
  }

  spawn(spec: SubprocessSpawnSpec): SubprocessHandle {
    if (!Number.isFinite(spec.graceMs) || spec.graceMs <= 0 || spec.graceMs > MAX_TIMER_DELAY_MS) {
      throw new RangeError(`${PREFIX}: graceMs must be a positive finite number no greater than ${MAX_TIMER_DELAY_MS}`)
    }
    if (spec.signal?.aborted) throw new Error(`${PREFIX}: aborted before spawn: ${String(spec.signal.reason ?? "aborted")}`)
    const file = spec.argv[0]
    if (typeof file !== "string" || file.length === 0) throw new Error(`${PREFIX}: invalid argv: expected a non-empty program name at argv[0]`)
    const collectors: { stdout?: Collector; stderr?: Collector } = {}
    const out = (name: "stdout" | "stderr"): "pipe" | "inherit" => {
      const mode = spec.stdio[name]
      if (mode === "pipe" || mode === "inherit") return mode
      collectors[name] = new Collector(mode, name)
      return "pipe"
    }
    const stdin = spec.stdio.stdin
    const grace = Math.ceil(spec.graceMs)
    const child = supervise([...spec.argv], {
      cwd: spec.cwd,
      env: childEnv(spec.env),
      stdin: stdin === "pipe" ? "pipe" : typeof stdin === "object" ? "pipe" : "ignore",
      input: typeof stdin === "object" ? stdin.data : undefined,
      stdout: out("stdout"),
      stderr: out("stderr"),
      graceMs: grace,
      killSignal: "SIGTERM",
      // graceMs also bounds the drain of pipes a surviving descendant still holds.
      drainIdleMs: grace,
      drainMaxMs: grace,
      holdLeftovers: true,
      signal: spec.signal,
    }) as SupervisedChild & { treeEmpty: Promise<Outcome> }
    const handle = new SupervisorHandle(child, spec, collectors)
    this.live.add(handle)
    handle.gone.then(() => this.live.delete(handle))
    return handle
  }

  async spawnTerminal(spec: SubprocessTerminalSpawnSpec): Promise<SubprocessTerminalHandle> {
    const file = spec.argv[0]
    if (typeof file !== "string" || file.length === 0) throw new Error(`${PREFIX}: terminal argv must contain a program`)
    spec.signal?.throwIfAborted()
    const env = childEnv(spec.env)
    if (env.TERM === undefined) env.TERM = "dumb"
    const session = spawnTerminal([...spec.argv], {
      cwd: spec.cwd,
      env,
      rows: spec.rows,
      cols: spec.cols,
      graceMs: Math.ceil(spec.graceMs),
      killSignal: "SIGTERM",
    })
    const handle = new SupervisorTerminal(session)
    this.terminals.add(handle)
    // A terminal leaves the live set once its session is quiescent (killTreeOnExit: the
    // leader's exit ends the session; its outcome comes after the tree was emptied).
    session.outcome.then(() => this.terminals.delete(handle))
    return handle
  }
}

export { SupervisorSubprocessRuntime }
