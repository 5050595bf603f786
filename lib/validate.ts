// Argument validation, one rule for every option: Node's own. A wrong type is a
// TypeError ERR_INVALID_ARG_TYPE; a number outside its range (a non-integer where an
// integer is required included) is a RangeError ERR_OUT_OF_RANGE; a bad value of the
// right type is a TypeError ERR_INVALID_ARG_VALUE; a signal Node does not know is a
// TypeError ERR_UNKNOWN_SIGNAL. The option tables (lib/options.ts) are made of these, and
// the pid checks both Process implementations share, so that
// every API refuses the same values with the same errors.
import { constants as osConstants } from "node:os"
import { ABI } from "./addon"

export type ArgErrorCode = "ERR_INVALID_ARG_TYPE" | "ERR_INVALID_ARG_VALUE" | "ERR_OUT_OF_RANGE" | "ERR_UNKNOWN_SIGNAL"

/** An error shaped like Node's internal validators' (RangeError for ERR_OUT_OF_RANGE). */
export function invalidArg(code: ArgErrorCode, message: string): Error & { code: string } {
  const err = (code === "ERR_OUT_OF_RANGE" ? new RangeError(message) : new TypeError(message)) as Error & { code: string }
  err.code = code
  return err
}

/** How a received value is shown in a message (Node's style, shortened). */
export function received(v: unknown): string {
  if (v === null || v === undefined) return `Received ${v}`
  if (typeof v === "function") return `Received function ${v.name || "<anonymous>"}`
  if (typeof v === "object") return `Received an instance of ${(v as object).constructor?.name ?? "Object"}`
  if (typeof v === "string") return `Received type string (${JSON.stringify(v.length > 28 ? v.slice(0, 25) + "..." : v)})`
  return `Received type ${typeof v} (${String(v)})`
}

/**
 * The largest time value in milliseconds: the core's own bound (PWS_MS_MAX, about 34
 * years). Beyond it is out of range, as beyond MAX_SAFE_INTEGER is for Node's
 * validateInteger.
 */
export const MAX_MS = ABI.MS_MAX

/**
 * A time option in milliseconds (undefined: not given). Like Node's `timeout` options
 * (validateInteger): a number, an integer, 0 ≤ v ≤ MAX_MS. `0.4` is refused rather than
 * rounded to 0, which for timeoutMs would silently mean "no limit".
 */
export function checkMs(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== "number") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" property must be of type number. ${received(v)}`)
  if (!Number.isInteger(v)) throw invalidArg("ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be an integer. Received ${String(v)}`)
  if (v < 0 || v > MAX_MS) throw invalidArg("ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be >= 0 && <= ${MAX_MS}. Received ${String(v)}`)
  return v
}

const SIGNALS = osConstants.signals as Record<string, number>
const SIGNAL_NUMBERS = new Set(Object.values(SIGNALS))

/**
 * Signal name or number → number, by Node's rule (convertToValidSignal): a name Node
 * knows (any case) or the number of one. 0 is not a signal: refused here (as Node
 * refuses `killSignal: 0`) unless `probe` allows it (ChildProcess.kill(0)). Realtime
 * signals have no name in Node and are refused like in child_process.
 */
export function signalNumber(sig: unknown, fallback: NodeJS.Signals, opts: { name?: string; probe?: boolean } = {}): number {
  const s = sig ?? fallback
  if (typeof s === "number") {
    if (s === 0 && opts.probe) return 0
    if (!SIGNAL_NUMBERS.has(s)) throw invalidArg("ERR_UNKNOWN_SIGNAL", `Unknown signal: ${String(s)}`)
    return s
  }
  if (typeof s !== "string") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${opts.name ?? "signal"}" argument must be of type string or number. ${received(s)}`)
  const n = SIGNALS[s.toUpperCase()]
  if (n === undefined) throw invalidArg("ERR_UNKNOWN_SIGNAL", `Unknown signal: ${s}`)
  return n
}

export function signalName(n: number): NodeJS.Signals | undefined {
  for (const [name, num] of Object.entries(SIGNALS)) if (num === n) return name as NodeJS.Signals
  return undefined
}

/**
 * The largest pid that can exist: PID_MAX_LIMIT (2^22) on Linux, pid_t's range
 * elsewhere. A number beyond it is not a process of anybody's.
 */
const PID_MAX = process.platform === "linux" ? 2 ** 22 : 2 ** 31 - 1

/**
 * A pid that names one process: an integer, 1 ≤ pid ≤ PID_MAX. Never 0 or negative:
 * kill(0) is the caller's own group, kill(-1) every process it may signal, kill(-n) a
 * group — no pid argument of ours means any of those.
 */
export function checkPid(pid: unknown, name = "pid"): number {
  if (typeof pid !== "number") throw invalidArg("ERR_INVALID_ARG_TYPE", `The "${name}" argument must be of type number. ${received(pid)}`)
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) {
    throw invalidArg("ERR_INVALID_ARG_VALUE", `The argument '${name}' must be a process id (an integer from 1 to ${PID_MAX}). Received ${String(pid)}`)
  }
  return pid
}

/**
 * A pid whose tree we may terminate: checkPid, and neither init (pid 1: its tree is
 * the whole machine, and it is never a process we started) nor this process (its tree would
 * take the host with it).
 */
export function checkTreePid(pid: unknown, name = "pid"): number {
  checkPid(pid, name)
  if (pid === 1) throw invalidArg("ERR_INVALID_ARG_VALUE", `The argument '${name}' must not be 1 (init: its tree is every process on the machine). Received 1`)
  if (pid === process.pid) throw invalidArg("ERR_INVALID_ARG_VALUE", `The argument '${name}' must not be this process's own pid (its tree includes the host). Received ${String(pid)}`)
  return pid as number
}

/**
 * Of pids a descendant finder returned, those that name one process we may signal:
 * nothing that checkTreePid refuses (0, -1, 1, this process, non-integers) ever reaches
 * kill(), whatever a custom `findDescendants` says.
 */
export function signallable(pids: unknown): number[] {
  if (!Array.isArray(pids)) return []
  return pids.filter((p): p is number => {
    try {
      checkTreePid(p)
      return true
    } catch {
      return false
    }
  })
}

/**
 * The environment as KEY=VALUE entries, refusing what cannot be one: a key that is
 * empty or holds '=' (`{"A=B": "x"}` would reach the leader as A with value "B=x") or a
 * NUL byte, a value with a NUL byte. On Windows a leading '=' is allowed: the
 * per-drive cwd variables (`=C:`) are named that way.
 */
export function envEntries(merged: NodeJS.ProcessEnv, name = "options.env"): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(merged)) {
    if (v === undefined) continue
    const body = process.platform === "win32" && k.startsWith("=") ? k.slice(1) : k
    if (body === "" || body.includes("=") || k.includes("\0")) {
      throw invalidArg("ERR_INVALID_ARG_VALUE", `The property '${name}' must not have a key that is empty or contains '=' or a null byte. Received key ${JSON.stringify(k)}`)
    }
    const val = String(v)
    if (val.includes("\0")) throw invalidArg("ERR_INVALID_ARG_VALUE", `The property '${name}[${JSON.stringify(k)}]' must be a string without null bytes`)
    out.push(`${k}=${val}`)
  }
  return out
}

/** What child_process emits for an aborted spawn: an AbortError, code ABORT_ERR. */
export function abortError(signal: AbortSignal): Error & { code: string } {
  const err = new Error("The operation was aborted", { cause: signal.reason }) as Error & { code: string }
  err.name = "AbortError"
  err.code = "ABORT_ERR"
  return err
}
