// Finds and loads the native addon, in a fixed order, and checks that the addon and the
// Go library speak the ABI this facade was written for.
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The numbers of the C ABI this facade uses, as it expects them. go/capi/pws.h is
 * their source: the addon is compiled from it and exports them (`constants`, named
 * without the PWS_ prefix), and loadAddon() refuses an addon whose numbers differ
 * (checkConstants), so a change made in pws.h and not here fails at load, by name.
 */
export const ABI = Object.freeze({
  /** PWS_ABI_VERSION: also what the Go library must answer (abiVersion()). */
  ABI_VERSION: 3,
  EBADHANDLE: -1,
  EINVAL: -3,
  EV_STDOUT: 1,
  EV_STDERR: 2,
  EV_STDIN_ACK: 3,
  EV_EXIT: 4,
  EV_STDOUT_END: 5,
  EV_STDERR_END: 6,
  /** Only with holdLeftovers: the leader's exit and the end of its streams, before EV_EXIT (the tree empty). */
  EV_CLOSE: 7,
  /** Streams, for setFlow. */
  STREAM_STDOUT: 1,
  STREAM_STDERR: 2,
  REASON_ABORT: 1,
  REASON_TIMEOUT: 2,
  REASON_STOP: 3,
  REASON_HOST: 4,
  /** The largest time in milliseconds the core accepts (2^40, about 34 years). */
  MS_MAX: 2 ** 40,
  /** The grace when none is given: supervise()'s graceMs, Process's timeout (the baseline's). */
  DEFAULT_GRACE_MS: 5000,
  /** The drain bounds when none are given (supervise()'s drainIdleMs, drainMaxMs). */
  DEFAULT_DRAIN_IDLE_MS: 1000,
  DEFAULT_DRAIN_MAX_MS: 10000,
  /** The largest rows and cols of a terminal session (spawnTerminal, resize). */
  TERM_SIZE_MAX: 65535,
} as const)

export const {
  ABI_VERSION,
  EV_STDOUT,
  EV_STDERR,
  EV_STDIN_ACK,
  EV_EXIT,
  EV_STDOUT_END,
  EV_STDERR_END,
  EV_CLOSE,
  STREAM_STDOUT,
  STREAM_STDERR,
  REASON_ABORT,
  REASON_TIMEOUT,
  REASON_STOP,
  REASON_HOST,
  DEFAULT_GRACE_MS,
} = ABI

/** Negative returns of the C ABI (pws.h). */
export const PWS_EBADHANDLE = ABI.EBADHANDLE
export const PWS_EINVAL = ABI.EINVAL

/** One number of ABI that the addon has otherwise (undefined: it has none). */
export interface AbiMismatch {
  name: keyof typeof ABI
  expected: number
  actual: unknown
}

/**
 * The addon was built from another go/capi/pws.h than this facade was written for:
 * their numbers for events, reasons or limits differ, so they would misread each
 * other. `mismatches` lists each differing number.
 */
export class AbiMismatchError extends Error {
  readonly code = "ERR_PAWWORK_SUPERVISOR_ABI"
  constructor(readonly mismatches: AbiMismatch[]) {
    super(
      "pawwork-supervisor: the native addon was built from another go/capi/pws.h than this facade: " +
        mismatches.map((m) => `PWS_${m.name} is ${m.actual === undefined ? "missing" : String(m.actual)} there, ${m.expected} here`).join("; "),
    )
    this.name = "AbiMismatchError"
  }
}

/** Checks an addon's exported `constants` against ABI; throws AbiMismatchError on any difference. */
export function checkConstants(exported: unknown): void {
  const got = (typeof exported === "object" && exported !== null ? exported : {}) as Record<string, unknown>
  const mismatches: AbiMismatch[] = []
  for (const [name, expected] of Object.entries(ABI) as [keyof typeof ABI, number][]) {
    if (got[name] !== expected) mismatches.push({ name, expected, actual: got[name] })
  }
  if (mismatches.length > 0) throw new AbiMismatchError(mismatches)
}

/** How trees are contained (see containment() in index.ts). */
export interface ContainmentInfo {
  /** "helper": the per-host subreaper helper spawns and guards every tree (Linux).
   *  "fallback": no helper — session, group, /proc ancestry and the inherited marker only:
   *  a double-forked daemon that cleared its environment escapes a cancel, and nothing
   *  is cleaned up if the host dies. "job": Windows Job Objects. */
  mode: "helper" | "fallback" | "job"
  helperPid?: number
  helperPath?: string
  /** Why the helper is not used, when it is not. */
  reason?: string
  /** The helper's cgroup v2 subtree (each tree gets its own cgroup below it), when one is writable. */
  cgroup?: string
  /** Why there is no cgroup subtree (not writable without delegation, disabled, old kernel). */
  cgroupReason?: string
  /** What holds in this mode. */
  guarantees: string[]
}

export type EventCallback = (type: number, aux: number, payload: Buffer | undefined) => void

/** A process's state as the core sees it (pws_process_state). A zombie has ended: it only waits to be reaped. */
export type ProcessState = "gone" | "alive" | "zombie"

/** One native child (the binding's NativeChild): JS holds its integer handle only; the native side owns the rest. */
export interface NativeChild {
  readonly pid: number
  readonly handle: number
  write(data: Uint8Array, seq: number): number
  closeStdin(): number
  setFlow(stream: number, paused: boolean): number
  signal(sig: number, tree: boolean): number
  cancel(reason: number, sig: number, graceMs: number): number
  ref(): void
  unref(): void
}

export interface Addon {
  /** The numbers of go/capi/pws.h the addon was compiled with (see ABI). */
  readonly constants: Readonly<Record<string, number>>
  abiVersion(): number
  containment(): ContainmentInfo
  configure(json: string): void
  descendants(pid: number): number[]
  /** pid's state; throws on a pid that names no single process. */
  processState(pid: number): ProcessState
  /**
   * Sends sig to pid's group if pid leads one, to pid and to every descendant of the
   * core's tree walk, through the core's ownership checks (never pid ≤ 1, never the
   * host); returns the pids it signalled.
   */
  signalTree(pid: number, sig: number): number[]
  Child: new (request: Buffer, onEvent: EventCallback) => NativeChild
}

let cached: Addon | undefined
let cachedError: Error | undefined

/** Places the addon is looked for, in order. */
export function addonCandidates(): string[] {
  const root = path.resolve(__dirname, "..")
  const name = "pawwork_supervisor.node"
  const out: string[] = []
  if (process.env.PAWWORK_SUPERVISOR_ADDON) out.push(path.resolve(process.env.PAWWORK_SUPERVISOR_ADDON))
  out.push(path.join(root, "build", "Release", name))
  return out
}

/**
 * The library was not loaded for want of threads (the binding's EAGAIN, see
 * binding/loader.h): an addon whose every call fails with a fresh copy of that error,
 * so that a spawn fails like any spawn EAGAIN. Not cached: the next loadAddon() tries
 * again.
 */
function refusing(err: NodeJS.ErrnoException): Addon {
  // A function, not an arrow: `new addon.Child(…)` must reach the throw.
  function fail(): never {
    throw Object.assign(new Error(err.message), { code: err.code, errno: err.errno, syscall: err.syscall })
  }
  return { constants: ABI, abiVersion: fail, containment: fail, configure: fail, descendants: fail, processState: fail, signalTree: fail, Child: fail as unknown as Addon["Child"] }
}

/** Loads the addon once; every later call returns it or throws the same error. */
export function loadAddon(): Addon {
  if (cached) return cached
  if (cachedError) throw cachedError
  const tried: string[] = []
  let mismatch: AbiMismatchError | undefined
  for (const file of addonCandidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file}: not found`)
      continue
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(file) as Addon
      checkConstants(addon.constants)
      const abi = addon.abiVersion()
      if (abi !== ABI_VERSION) {
        tried.push(`${file}: native ABI ${abi}, this facade needs ${ABI_VERSION}`)
        continue
      }
      // The Go library saw the environment as it was when it loaded; pass the helper
      // choice as the host's environment says it now.
      addon.configure(JSON.stringify({ helper: process.env.PAWWORK_SUPERVISOR_HELPER ?? "", cgroup: process.env.PAWWORK_SUPERVISOR_CGROUP ?? "" }))
      cached = addon
      return addon
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") return refusing(err as NodeJS.ErrnoException)
      if (err instanceof AbiMismatchError) mismatch = err
      tried.push(`${file}: ${(err as Error).message}`)
    }
  }
  const err = new Error(
    "pawwork-supervisor: could not load the native addon. Tried:\n  " +
      tried.join("\n  ") +
      "\nBuild it with `make` or set PAWWORK_SUPERVISOR=legacy.",
    mismatch ? { cause: mismatch } : undefined,
  ) as Error & { code: string }
  err.code = "ERR_PAWWORK_SUPERVISOR_LOAD"
  cachedError = err
  throw err
}
