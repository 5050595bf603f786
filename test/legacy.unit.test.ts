// Unit tests for lib/legacy.ts (the baseline re-implementation) with real processes.
// Every process a test starts is tracked and SIGKILLed in afterEach if still alive.
import { spawn as nodeSpawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { afterEach, describe, expect, it, vi } from "vitest"
import { alive as procAlive } from "./procfs"
import {
  RunFailedError,
  TERMINATION_GRACE_MS,
  descendants,
  exists,
  legacy,
  lines,
  run,
  spawn,
  stop,
  terminateTree,
  text,
} from "../lib/legacy"

const unix = process.platform !== "win32"
const NODE = process.execPath
const TEST_TIMEOUT = 30_000

/**
 * Really alive: on Linux a zombie counts as dead. (Orphans re-parented to a PID 1 that does
 * not reap them stay zombies forever, and a signal-0 probe still succeeds on a zombie.)
 */
function alive(pid: number): boolean {
  if (process.platform === "linux") return procAlive(pid)
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim()
  } catch {
    return ""
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(25)
  }
  return check()
}

// ---- cleanup: every pid a test starts (roots and the descendants it saw) -------------------
const tracked = new Set<number>()
function track<T extends { pid?: number }>(proc: T): T {
  if (proc.pid !== undefined) tracked.add(proc.pid)
  return proc
}
function trackPids(pids: number[]): void {
  for (const pid of pids) tracked.add(pid)
}

afterEach(async () => {
  const roots = [...tracked]
  tracked.clear()
  // Collect descendants of anything still alive before killing it.
  const all = new Set<number>(roots)
  if (unix) {
    for (const pid of roots) if (alive(pid)) for (const d of await descendants(pid)) all.add(d)
  }
  for (const pid of all) {
    if (!alive(pid)) continue
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  await waitUntil(() => [...all].every((pid) => !alive(pid)), 5_000)
  vi.restoreAllMocks()
})

// A node child that ignores SIGTERM and prints "ready" once its handler is installed.
const IGNORE_TERM = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"

async function waitForReady(proc: { stdout: NodeJS.ReadableStream | null }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = ""
    proc.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes("ready")) resolve()
    })
    proc.stdout!.once("end", () => reject(new Error("child ended before ready")))
  })
}

describe("legacy: surface", () => {
  it("exports the ProcessApi object and the individual functions", () => {
    expect(legacy.TERMINATION_GRACE_MS).toBe(500)
    expect(TERMINATION_GRACE_MS).toBe(500)
    expect(legacy.RunFailedError).toBe(RunFailedError)
    expect(legacy.spawn).toBe(spawn)
    expect(legacy.run).toBe(run)
    expect(legacy.text).toBe(text)
    expect(legacy.lines).toBe(lines)
    expect(legacy.stop).toBe(stop)
    expect(legacy.exists).toBe(exists)
    expect(legacy.descendants).toBe(descendants)
    expect(legacy.terminateTree).toBe(terminateTree)
  })
})

describe.skipIf(!unix)("legacy: spawn", () => {
  it("throws synchronously on an empty command, with the baseline's message and a code", () => {
    expect(() => spawn([])).toThrow("Command is required")
    expect(() => spawn([])).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }))
  })

  it("throws synchronously when the abort signal is already aborted", () => {
    const ac = new AbortController()
    ac.abort()
    expect(() => spawn(["sleep", "30"], { abort: ac.signal })).toThrow()
  })

  it("defaults all stdio to ignore and resolves exited with the exit code", async () => {
    const proc = track(spawn(["sh", "-c", "exit 7"]))
    expect(proc.stdin).toBeNull()
    expect(proc.stdout).toBeNull()
    expect(proc.stderr).toBeNull()
    expect(await proc.exited).toBe(7)
  }, TEST_TIMEOUT)

  it("resolves exited with 1 when the child is killed by a signal", async () => {
    const proc = track(spawn(["sleep", "30"]))
    proc.kill("SIGKILL")
    expect(await proc.exited).toBe(1)
    expect(proc.signalCode).toBe("SIGKILL")
  }, TEST_TIMEOUT)

  it("rejects exited with ENOENT for a missing command, never unhandled", async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    const onUncaught = (err: unknown) => unhandled.push(err)
    process.on("unhandledRejection", onUnhandled)
    process.on("uncaughtException", onUncaught)
    try {
      // One whose exited promise is never observed and that has no 'error' listener.
      const ignored = spawn(["pawwork-definitely-not-a-command-xyz"])
      expect(ignored.pid).toBeUndefined()
      // One observed through exited.
      const proc = spawn(["pawwork-definitely-not-a-command-xyz"], { stdout: "pipe", stderr: "pipe" })
      await expect(proc.exited).rejects.toMatchObject({ code: "ENOENT" })
      await sleep(200)
      await new Promise((resolve) => setImmediate(resolve))
      expect(unhandled).toEqual([])
    } finally {
      process.off("unhandledRejection", onUnhandled)
      process.off("uncaughtException", onUncaught)
    }
  }, TEST_TIMEOUT)

  it("on abort sends the `kill` option (name) as first signal", async () => {
    const ac = new AbortController()
    const proc = track(spawn(["sleep", "30"], { abort: ac.signal, kill: "SIGINT" }))
    ac.abort()
    expect(await proc.exited).toBe(1)
    expect(proc.signalCode).toBe("SIGINT")
  }, TEST_TIMEOUT)

  it("on abort accepts a numeric `kill` option", async () => {
    const ac = new AbortController()
    const proc = track(spawn(["sleep", "30"], { abort: ac.signal, kill: 9 }))
    ac.abort()
    expect(await proc.exited).toBe(1)
    expect(proc.signalCode).toBe("SIGKILL")
  }, TEST_TIMEOUT)

  it("on abort escalates to SIGKILL after the `timeout` grace", async () => {
    const ac = new AbortController()
    const proc = track(spawn([NODE, "-e", IGNORE_TERM], { abort: ac.signal, stdout: "pipe", timeout: 300 }))
    await waitForReady(proc)
    ac.abort()
    expect(await proc.exited).toBe(1)
    expect(proc.signalCode).toBe("SIGKILL")
  }, TEST_TIMEOUT)

  it("aborting after the child exited does nothing", async () => {
    const ac = new AbortController()
    const proc = track(spawn(["true"], { abort: ac.signal }))
    expect(await proc.exited).toBe(0)
    expect(() => ac.abort()).not.toThrow()
  }, TEST_TIMEOUT)
})

describe.skipIf(!unix)("legacy: run / text / lines", () => {
  it("collects stdout and stderr", async () => {
    const out = await run(["sh", "-c", "printf out; printf err >&2"])
    expect(out.code).toBe(0)
    expect(out.stdout.toString()).toBe("out")
    expect(out.stderr.toString()).toBe("err")
  }, TEST_TIMEOUT)

  it("stdin defaults to ignore (the child sees EOF)", async () => {
    const out = await run(["cat"])
    expect(out).toMatchObject({ code: 0 })
    expect(out.stdout.length).toBe(0)
  }, TEST_TIMEOUT)

  it("returns a non-zero code with nothrow", async () => {
    const out = await run(["sh", "-c", "printf out; printf err >&2; exit 3"], { nothrow: true })
    expect(out.code).toBe(3)
    expect(out.stdout.toString()).toBe("out")
    expect(out.stderr.toString()).toBe("err")
  }, TEST_TIMEOUT)

  it("throws RunFailedError with its fields and message otherwise", async () => {
    const cmd = ["sh", "-c", "printf out; printf '  bad news \\n' >&2; exit 3"]
    const err = await run(cmd).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(RunFailedError)
    const failure = err as RunFailedError
    expect(failure.name).toBe("ProcessRunFailedError")
    expect(failure.cmd).toEqual(cmd)
    expect(failure.code).toBe(3)
    expect(failure.stdout.toString()).toBe("out")
    expect(failure.stderr.toString()).toBe("  bad news \n")
    expect(failure.message).toBe(`Command failed with code 3: ${cmd.join(" ")}\nbad news`)
  }, TEST_TIMEOUT)

  it("RunFailedError message has no stderr part when stderr is empty", async () => {
    await expect(run(["sh", "-c", "exit 2"])).rejects.toThrow(/^Command failed with code 2: sh -c exit 2$/)
  }, TEST_TIMEOUT)

  it("turns a spawn failure into { code: 1, empty stdout, stderr message } with nothrow", async () => {
    const out = await run(["pawwork-definitely-not-a-command-xyz"], { nothrow: true })
    expect(out.code).toBe(1)
    expect(out.stdout.length).toBe(0)
    expect(out.stderr.toString()).toContain("ENOENT")
  }, TEST_TIMEOUT)

  it("rejects with the spawn error (not RunFailedError) without nothrow", async () => {
    const err = await run(["pawwork-definitely-not-a-command-xyz"]).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).not.toBeInstanceOf(RunFailedError)
    expect(err).toMatchObject({ code: "ENOENT" })
  }, TEST_TIMEOUT)

  it("text adds the UTF-8 text of stdout", async () => {
    const out = await text(["printf", "h\\303\\251llo"])
    expect(out.code).toBe(0)
    expect(out.text).toBe("héllo")
    expect(out.stdout.toString("utf8")).toBe("héllo")
  }, TEST_TIMEOUT)

  it("lines splits on \\r?\\n and drops empty lines", async () => {
    expect(await lines(["printf", "a\\r\\nb\\n\\n\\nc\\n"])).toEqual(["a", "b", "c"])
    expect(await lines(["true"])).toEqual([])
  }, TEST_TIMEOUT)

  it("passes shell through", async () => {
    const out = await text(["echo $((40 + 2))"], { shell: true })
    expect(out.text.trim()).toBe("42")
  }, TEST_TIMEOUT)

  it("honours cwd", async () => {
    const out = await text(["pwd"], { cwd: "/" })
    expect(out.text.trim()).toBe("/")
  }, TEST_TIMEOUT)
})

describe.skipIf(!unix)("legacy: env", () => {
  const printEnv = [NODE, "-e", "process.stdout.write(JSON.stringify(process.env))"]

  it("null gives an empty environment", async () => {
    const env = JSON.parse((await text(printEnv, { env: null })).text)
    expect(env).toEqual({})
  }, TEST_TIMEOUT)

  it("an object is merged over process.env", async () => {
    const env = JSON.parse((await text(printEnv, { env: { PAWWORK_LEGACY_TEST: "merged" } })).text)
    expect(env.PAWWORK_LEGACY_TEST).toBe("merged")
    expect(env.PATH).toBe(process.env.PATH)
  }, TEST_TIMEOUT)

  it("omitted inherits process.env", async () => {
    const env = JSON.parse((await text(printEnv)).text)
    expect(env.PATH).toBe(process.env.PATH)
    expect(env.PAWWORK_LEGACY_TEST).toBeUndefined()
  }, TEST_TIMEOUT)
})

describe.skipIf(!unix)("legacy: exists", () => {
  it("is true for a live pid", () => {
    expect(exists(process.pid)).toBe(true)
  })

  it("is false once a child exited", async () => {
    const proc = track(spawn(["true"]))
    const pid = proc.pid!
    await proc.exited
    expect(exists(pid)).toBe(false)
  }, TEST_TIMEOUT)

  it("treats EPERM as dead (baseline gap)", () => {
    vi.spyOn(process, "kill").mockImplementation(() => {
      throw Object.assign(new Error("kill EPERM"), { code: "EPERM" })
    })
    expect(exists(12345)).toBe(false)
  })

  it("treats ESRCH as dead", () => {
    vi.spyOn(process, "kill").mockImplementation(() => {
      throw Object.assign(new Error("kill ESRCH"), { code: "ESRCH" })
    })
    expect(exists(12345)).toBe(false)
  })
})

describe.skipIf(!unix)("legacy: descendants", () => {
  it("lists the children of a sh tree", async () => {
    const proc = track(spawn(["sh", "-c", "sleep 30 & sleep 30 & wait"]))
    const pid = proc.pid!
    let found: number[] = []
    await waitUntil(async () => (found = await descendants(pid)).length >= 2)
    trackPids(found)
    expect(found).toHaveLength(2)
    if (process.platform === "linux") for (const d of found) expect(commOf(d)).toBe("sleep")
  }, TEST_TIMEOUT)

  it("walks more than one level", async () => {
    const proc = track(spawn(["sh", "-c", "sh -c 'sleep 30 & wait' & wait"]))
    const pid = proc.pid!
    let found: number[] = []
    await waitUntil(async () => (found = await descendants(pid)).length >= 2)
    trackPids(found)
    expect(found).toHaveLength(2)
    if (process.platform === "linux") expect(found.map(commOf).sort()).toEqual(["sh", "sleep"])
  }, TEST_TIMEOUT)

  it("is empty for a childless process and for a missing pid", async () => {
    const proc = track(spawn(["sleep", "30"]))
    expect(await descendants(proc.pid!)).toEqual([])
    const gone = track(spawn(["true"]))
    const gonePid = gone.pid!
    await gone.exited
    expect(await descendants(gonePid)).toEqual([])
  }, TEST_TIMEOUT)
})

describe.skipIf(!unix)("legacy: terminateTree / stop", () => {
  async function startTree() {
    const proc = track(spawn(["sh", "-c", "sleep 30 & sleep 30 & wait"]))
    const pid = proc.pid!
    let snapshot: number[] = []
    await waitUntil(async () => (snapshot = await descendants(pid)).length >= 2)
    trackPids(snapshot)
    expect(snapshot).toHaveLength(2)
    return { proc, pid, snapshot }
  }

  it("kills the root and the snapshot (non-detached child, signalRoot + waitForExit)", async () => {
    const { proc, pid, snapshot } = await startTree()
    const signals: string[] = []
    await terminateTree({
      pid,
      graceMs: 1000,
      signalRoot: (signal) => {
        signals.push(signal)
        proc.kill(signal)
      },
      waitForExit: proc.exited,
    })
    expect(signals[0]).toBe("SIGTERM")
    expect(await waitUntil(() => !alive(pid) && snapshot.every((p) => !alive(p)))).toBe(true)
  }, TEST_TIMEOUT)

  it("kills the root and the snapshot without signalRoot/waitForExit (sleeps the grace)", async () => {
    const { pid, snapshot } = await startTree()
    await terminateTree({ pid, graceMs: 200 })
    expect(await waitUntil(() => !alive(pid) && snapshot.every((p) => !alive(p)))).toBe(true)
  }, TEST_TIMEOUT)

  it("signals the whole group when the root leads one (detached)", async () => {
    const proc = nodeSpawn("sh", ["-c", "sleep 30 & sleep 30 & wait"], { detached: true, stdio: "ignore" })
    track(proc)
    const pid = proc.pid!
    let kids: number[] = []
    await waitUntil(async () => (kids = await descendants(pid)).length >= 2)
    trackPids(kids)
    let rootSignalled = false
    await terminateTree({
      pid,
      graceMs: 1000,
      signalRoot: () => {
        rootSignalled = true
      },
      // The group kill is used, so an empty snapshot must not matter.
      findDescendants: async () => [],
    })
    expect(rootSignalled).toBe(false)
    expect(await waitUntil(() => !alive(pid) && kids.every((p) => !alive(p)))).toBe(true)
  }, TEST_TIMEOUT)

  it("escalates to SIGKILL when the root ignores SIGTERM", async () => {
    const proc = track(spawn([NODE, "-e", IGNORE_TERM], { stdout: "pipe" }))
    await waitForReady(proc)
    const signals: string[] = []
    await terminateTree({
      pid: proc.pid!,
      graceMs: 300,
      signalRoot: (signal) => {
        signals.push(signal)
        proc.kill(signal)
      },
      waitForExit: proc.exited,
    })
    expect(signals).toEqual(["SIGTERM", "SIGKILL"])
    expect(await proc.exited).toBe(1)
    expect(proc.signalCode).toBe("SIGKILL")
  }, TEST_TIMEOUT)

  it("uses findDescendants for the snapshot and tolerates its failure", async () => {
    const root = track(spawn(["sleep", "30"]))
    const other = track(spawn(["sleep", "30"]))
    await terminateTree({
      pid: root.pid!,
      graceMs: 1000,
      waitForExit: root.exited,
      findDescendants: async () => [other.pid!],
    })
    expect(await other.exited).toBe(1)
    expect(await root.exited).toBe(1)

    const lone = track(spawn(["sleep", "30"]))
    await terminateTree({
      pid: lone.pid!,
      graceMs: 1000,
      waitForExit: lone.exited,
      findDescendants: () => Promise.reject(new Error("no pgrep")),
    })
    expect(await lone.exited).toBe(1)
  }, TEST_TIMEOUT)

  it("stop() terminates a tree", async () => {
    const { proc, pid, snapshot } = await startTree()
    await stop(proc)
    expect(await waitUntil(() => !alive(pid) && snapshot.every((p) => !alive(p)))).toBe(true)
  }, TEST_TIMEOUT)

  it("stop() on an exited child resolves", async () => {
    const proc = track(spawn(["true"]))
    await proc.exited
    await expect(stop(proc)).resolves.toBeUndefined()
  }, TEST_TIMEOUT)

  it("stop() on a child that never spawned resolves", async () => {
    const proc = spawn(["pawwork-definitely-not-a-command-xyz"])
    await proc.exited.catch(() => {})
    await expect(stop(proc)).resolves.toBeUndefined()
  }, TEST_TIMEOUT)
})
