// Finds and loads the native addon, in a fixed order, and checks that the addon and the
// Go library speak the ABI this facade was written for.
import * as fs from "node:fs"
import * as path from "node:path"

/** The C ABI version this facade expects (PWS_ABI_VERSION in binding/pws.h). */
export const ABI_VERSION = 1

export const EV_STDOUT = 1
export const EV_STDERR = 2
export const EV_STDIN_ACK = 3
export const EV_EXIT = 4
export const EV_STDOUT_END = 5
export const EV_STDERR_END = 6

export const REASON_ABORT = 1
export const REASON_TIMEOUT = 2
export const REASON_STOP = 3
export const REASON_HOST = 4

/** Negative returns of the C ABI (pws.h). */
export const PWS_EBADHANDLE = -1
export const PWS_EINVAL = -3

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

/** One native child: JS holds its integer handle only; the native side owns the rest. */
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
  abiVersion(): number
  libraryPath(): string
  containment(): ContainmentInfo
  configure(json: string): void
  descendants(pid: number): number[]
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
  return { abiVersion: fail, libraryPath: fail, containment: fail, configure: fail, descendants: fail, Child: fail as unknown as Addon["Child"] }
}

/** Loads the addon once; every later call returns it or throws the same error. */
export function loadAddon(): Addon {
  if (cached) return cached
  if (cachedError) throw cachedError
  const tried: string[] = []
  for (const file of addonCandidates()) {
    if (!fs.existsSync(file)) {
      tried.push(`${file}: not found`)
      continue
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(file) as Addon
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
      tried.push(`${file}: ${(err as Error).message}`)
    }
  }
  const err = new Error(
    "pawwork-supervisor: could not load the native addon. Tried:\n  " +
      tried.join("\n  ") +
      "\nBuild it with `make` or set PAWWORK_SUPERVISOR=legacy.",
  ) as Error & { code: string }
  err.code = "ERR_PAWWORK_SUPERVISOR_LOAD"
  cachedError = err
  throw err
}
