// supervise()'s forwardSignals: SIGINT and SIGTERM delivered to the host, passed on to the
// trees that asked for it.
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
import { REASON_HOST } from "./addon"
import type { SupervisedChild } from "./child"
import { signalNumber } from "./validate"

const FORWARDED = ["SIGINT", "SIGTERM"] as const
type Forwarded = (typeof FORWARDED)[number]
const forwarding = new Set<SupervisedChild>()
const handlers = new Map<Forwarded, () => void>()
const reraising = new Set<Forwarded>()
/** Beyond the longest grace, how long the host waits for forwarded trees before re-raising. */
const FORWARD_MARGIN_MS = 2000

/** child's tree gets the host's SIGINT and SIGTERM from now on. */
export function forwardFor(child: SupervisedChild): void {
  forwarding.add(child)
  if (handlers.size > 0) return
  for (const sig of FORWARDED) {
    const h = () => forwardHostSignal(sig)
    handlers.set(sig, h)
    process.on(sig, h)
  }
}

/** child's tree has ended: it gets nothing more (a no-op for a child that never asked). */
export function unforward(child: SupervisedChild): void {
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

/** What the host does with a forwarded signal. */
function forwardHostSignal(sig: Forwarded): void {
  if (reraising.has(sig)) return reraise(sig)
  const trees = [...forwarding]
  const n = signalNumber(sig, "SIGTERM")
  for (const child of trees) child.cancelWith(REASON_HOST, n, child.graceMsOption())
  const others = process.listeners(sig).filter((l) => l !== handlers.get(sig)).length
  if (others > 0) return
  reraising.add(sig)
  const cap = Math.max(0, ...trees.map((c) => c.graceMsOption())) + FORWARD_MARGIN_MS
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, cap)))
  Promise.race([Promise.allSettled(trees.map((c) => c.outcome)), bound]).then(() => {
    clearTimeout(timer)
    reraising.delete(sig)
    reraise(sig)
  })
}
