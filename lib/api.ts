// The `Process` object both implementations export, made by one factory: each brings what
// differs (spawn, run, the tree functions); text, lines and the constants are the same
// code for both, so they cannot drift apart.
import { RunFailedError } from "./capture"
import type { ProcessApi, RunOptions, TextResult } from "./types"

/** Grace between the first signal and SIGKILL used by `stop()` (the baseline's). */
export const TERMINATION_GRACE_MS = 500

/** What an implementation provides itself. */
export type ProcessCore = Pick<ProcessApi, "spawn" | "run" | "stop" | "exists" | "descendants" | "terminateTree">

/** The whole `Process` surface over one implementation's core. */
export function processApi(core: ProcessCore): ProcessApi {
  const text = async (cmd: string[], opts: RunOptions = {}): Promise<TextResult> => {
    const out = await core.run(cmd, opts)
    return { ...out, text: out.stdout.toString("utf8") }
  }
  const lines = async (cmd: string[], opts: RunOptions = {}): Promise<string[]> => (await text(cmd, opts)).text.split(/\r?\n/).filter((l) => l.length > 0)
  return {
    TERMINATION_GRACE_MS,
    RunFailedError,
    spawn: core.spawn,
    run: core.run,
    text,
    lines,
    stop: core.stop,
    exists: core.exists,
    descendants: core.descendants,
    terminateTree: core.terminateTree,
  }
}
