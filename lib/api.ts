// The `Process` object both implementations export, made by one factory: each brings what
// differs (spawn, run, the tree functions); text, lines and the constants are the same
// code for both, so they cannot drift apart.
import { RunFailedError } from "./capture"
import type { ProcessApi, RunOptions, TextResult } from "./types"
import { invalidArg } from "./validate"

/** Grace between the first signal and SIGKILL used by `stop()` (the baseline's). */
export const TERMINATION_GRACE_MS = 500

/** The most safeExit waits for each of stdout and stderr to take what was written. */
export const SAFE_EXIT_FLUSH_MS = 2000

/** Resolves once what was written to w before now was handed to the OS, or after ms (a stuck reader never holds the exit). */
function flushed(w: NodeJS.WriteStream | undefined, ms: number): Promise<void> {
  if (!w || w.destroyed || !w.writable) return Promise.resolve()
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    t.unref()
    try {
      w.write("", () => {
        clearTimeout(t)
        resolve()
      })
    } catch {
      clearTimeout(t)
      resolve()
    }
  })
}

/**
 * process.exit(code) once stdout and stderr took what was written to them (each wait
 * bounded by SAFE_EXIT_FLUSH_MS): process.exit alone can cut a piped stdout short.
 * code omitted: process.exitCode (0 when unset). The exit then runs the 'exit' hooks
 * as process.exit does — the native trees still running are killed there.
 */
export async function safeExit(code?: number): Promise<never> {
  if (code !== undefined && !Number.isInteger(code)) throw invalidArg("ERR_INVALID_ARG_TYPE", `The "code" argument must be an integer. Received ${String(code)}`)
  await Promise.all([flushed(process.stdout, SAFE_EXIT_FLUSH_MS), flushed(process.stderr, SAFE_EXIT_FLUSH_MS)])
  return process.exit(code)
}

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
    safeExit,
  }
}
