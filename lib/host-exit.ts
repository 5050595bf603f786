// The host's exit ('exit': process.exit(), the event loop's end, an uncaught exception)
// kills every running tree — supervised children and terminal sessions alike — at once
// and synchronously. With the helper this only comes first (the helper kills what it
// holds when the host's socket closes, whatever ended the host); without it (fallback
// containment) it is the only cleanup a normal exit gets. A leader that exited by
// itself is no longer registered: what it left was let go (or killed: killTreeOnExit),
// unless its handle holds the leftovers (holdLeftovers), which stays registered.
import { signalNumber } from "./validate"

/** A handle whose tree the host's exit kills. */
export interface KilledAtHostExit {
  /** Signals the whole tree now, synchronously, without the ladder. */
  killTreeNow(sig: number): void
}

const registered = new Set<KilledAtHostExit>()
let hooked = false

/** The host's exit kills this handle's tree (until spareAtHostExit). */
export function killAtHostExit(handle: KilledAtHostExit): void {
  registered.add(handle)
  if (hooked) return
  hooked = true
  process.once("exit", () => {
    const sigkill = signalNumber("SIGKILL", "SIGKILL")
    for (const h of registered) h.killTreeNow(sigkill)
  })
}

/** The handle's tree is no longer the host's to kill at its exit. */
export function spareAtHostExit(handle: KilledAtHostExit): void {
  registered.delete(handle)
}
