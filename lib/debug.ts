// NODE_DEBUG=pawwork-supervisor: what the library decided and what fired, on stderr through
// util.debuglog (silent, and nearly free, otherwise). What happens inside the core (the
// ladder's steps, the drain's bounds) is logged from the outcome it reports, which says
// each phase's length, every bound that fired and the containment used.
import { debuglog } from "node:util"
import { loadAddon, type ContainmentInfo } from "./addon"
import type { Outcome } from "./child"

export const debug = debuglog("pawwork-supervisor")

let lastHelper: number | undefined
let lastMode: string | undefined

/** The containment the next tree gets, with a line when the helper started, was replaced or was lost since the last look. */
function containmentNow(): ContainmentInfo | undefined {
  try {
    const info = loadAddon().containment()
    if (info.helperPid !== undefined && info.helperPid !== lastHelper) {
      debug("helper %s: pid %d (%s)", lastHelper === undefined ? "started" : `restarted (was pid ${lastHelper})`, info.helperPid, info.helperPath ?? "?")
      lastHelper = info.helperPid
    }
    if (lastMode === "helper" && info.mode !== "helper") debug("helper lost: containment is now %s (%s)", info.mode, info.reason ?? "?")
    lastMode = info.mode
    return info
  } catch (err) {
    debug("containment unknown: %s", (err as Error).message)
    return undefined
  }
}

/** One spawn: argv, stdio, bounds, and the containment chosen and why. */
export function debugSpawn(pid: number, argv: string[], settings: Record<string, unknown>): void {
  const info = containmentNow()
  const why = info === undefined ? "" : info.mode === "helper" ? `helper pid ${info.helperPid}${info.cgroup ? `, cgroup ${info.cgroup}` : `, no cgroup: ${info.cgroupReason ?? "?"}`}` : info.reason ?? ""
  debug("spawn pid %d argv %j %j containment %s%s", pid, argv, settings, info?.mode ?? "?", why ? ` (${why})` : "")
}

const ms = (v: number) => Math.round(v)

/** One end: why, the code or signal, the ladder's phases, every bound that fired, the leftovers. */
export function debugExit(o: Outcome, timeoutMs: number | undefined): void {
  const p = o.phases
  debug("exit pid %d reason %s code %s signal %s in %d ms (containment %s)", o.pid, o.reason, o.code, o.signal, ms(o.durationMs), o.containment)
  if (o.reason === "timeout") debug("pid %d: bound fired: timeoutMs %d (run-time limit)", o.pid, timeoutMs)
  if (p.graceMs > 0 || p.killMs > 0) debug("pid %d: ladder: first signal after %d ms, grace %d ms, SIGKILL and confirm %d ms", o.pid, ms(p.runMs), ms(p.graceMs), ms(p.killMs))
  debug("pid %d: drain %d ms, %d bytes stdout, %d bytes stderr%s", o.pid, ms(p.drainMs), o.stdoutBytes, o.stderrBytes, o.truncated ? ", truncated" : "")
  for (const e of o.errors) debug("pid %d: bound fired or failure: %s", o.pid, e)
  if (o.leftovers.length > 0) debug("pid %d: leftovers %j (%s)", o.pid, o.leftovers, o.reason === "exit" ? "let go, or killed with killTreeOnExit" : "still alive after the ladder")
}
